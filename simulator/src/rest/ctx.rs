//! The context of an authenticated, versioned REST call, and the layer that establishes it.
//!
//! For every route under `/services/data/vXX.X/` the layer: checks the API version (31.0–66.0; retired
//! versions answer 410), requires a valid session (401 `INVALID_SESSION_ID` otherwise), charges the daily
//! allocation (403 `REQUEST_LIMIT_EXCEEDED` once spent) and stamps `Sforce-Limit-Info` on the answer.
//! Handlers then take [`Ctx`] as an extractor.

use crate::auth::session::Session;
use crate::error::{ApiError, ApiResult};
use crate::journal::JournalNote;
use crate::org::limits::TOTAL_REQUESTS_EXCEEDED;
use crate::org::store::Writer;
use crate::org::Org;
use crate::recording::{RequestMeta, UsageNote};
use crate::server::Scheme;
use crate::state::SimState;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

pub const MIN_VERSION: u32 = 31;
pub const MAX_VERSION: u32 = 66;

/// An authenticated, versioned REST call.
#[derive(Clone)]
pub struct Ctx {
    pub state: SimState,
    pub org: Arc<Org>,
    pub session: Arc<Session>,
    /// `62.0`
    pub version: String,
    /// `https://127.0.0.1:8443`, from the request's Host and the listener's scheme.
    pub base_url: String,
    pub client_name: Option<String>,
    pub request_id: u64,
}

impl Ctx {
    /// `/services/data/v62.0`
    pub fn data_path(&self) -> String {
        format!("/services/data/v{}", self.version)
    }

    pub fn now_ms(&self) -> i64 {
        self.state.clock.now_ms()
    }

    /// The writer identity for record audit fields and CDC `changeOrigin`.
    pub fn writer(&self, api: &str) -> Writer {
        let mut origin = format!("com/salesforce/api/{api}/{}", self.version);
        if let Some(c) = &self.client_name {
            origin.push_str(";client=");
            origin.push_str(c);
        }
        Writer {
            user: self.session.user,
            origin,
            client: self.identity(),
        }
    }

    /// The journal's client identity.
    pub fn identity(&self) -> String {
        let mut s = self.session.identity();
        if let Some(c) = &self.client_name {
            s.push('|');
            s.push_str(c);
        }
        s
    }

    /// API version as a number (`62.0` → 62).
    pub fn version_major(&self) -> u32 {
        self.version
            .split('.')
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or(MAX_VERSION)
    }
}

/// Parse `v62.0` into `62.0`, checking the supported range.
pub fn parse_version(seg: &str) -> ApiResult<String> {
    parse_major(seg).map(|major| format!("{major}.0"))
}

/// The major version of `v62.0`, checking the supported range (see [`parse_version`]).
pub fn parse_major(seg: &str) -> ApiResult<u32> {
    let v = seg.strip_prefix('v').ok_or(ApiError::NotFound)?;
    let (major, minor) = v.split_once('.').ok_or(ApiError::NotFound)?;
    let major: u32 = major.parse().map_err(|_| ApiError::NotFound)?;
    if minor != "0" {
        return Err(ApiError::NotFound);
    }
    if (20..MIN_VERSION).contains(&major) {
        return Err(ApiError::ApiVersionRetired(format!(
            "API version {major}.0 has been retired. Use API version {MIN_VERSION}.0 or later."
        )));
    }
    if !(MIN_VERSION..=MAX_VERSION).contains(&major) {
        return Err(ApiError::NotFound);
    }
    Ok(major)
}

/// `scheme://host` for URLs the client will follow.
pub fn base_url(headers: &HeaderMap, meta: Option<&RequestMeta>) -> String {
    let scheme = meta
        .and_then(|m| m.conn.as_ref())
        .map(|c| c.scheme)
        .unwrap_or(Scheme::Http);
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok());
    let mut url = String::with_capacity(scheme.as_str().len() + 3 + host.map_or(21, str::len));
    url.push_str(scheme.as_str());
    url.push_str("://");
    match (host, meta.and_then(|m| m.conn.as_ref())) {
        (Some(h), _) => url.push_str(h),
        (None, Some(c)) => {
            use std::fmt::Write;
            let _ = write!(url, "{}", c.local);
        }
        (None, None) => url.push_str("127.0.0.1"),
    }
    url
}

/// The layer for `/services/data/{version}/…` routes.
pub async fn rest_ctx(State(state): State<SimState>, mut req: Request, next: Next) -> Response {
    let (ctx, org) = match admit(&state, &req) {
        Ok(a) => {
            let ctx = Ctx {
                base_url: base_url(req.headers(), Some(a.meta)),
                client_name: a.meta.client_name.clone(),
                request_id: a.meta.id,
                state: state.clone(),
                org: a.org.clone(),
                session: a.session.clone(),
                version: format!("{}.0", a.major),
            };
            (ctx, a.org.clone())
        }
        Err(resp) => return resp,
    };
    req.extensions_mut().insert(ctx);
    let mut resp = next.run(req).await;
    finish(&state, &org, &mut resp);
    resp
}

/// A versioned REST call that passed the layer's checks, with the session and org it runs as
/// (borrowed from the request's metadata).
pub(crate) struct Admitted<'a> {
    /// `62` for `v62.0`
    pub major: u32,
    pub meta: &'a RequestMeta,
    pub session: &'a Arc<Session>,
    pub org: &'a Arc<Org>,
    /// The org's daily usage (used, max) once this call was charged.
    pub usage: (u64, u64),
}

/// What the layer checks before the handler runs: the API version, the session and the daily
/// allocation (which it charges). `Err` is the answer.
// The answer is handed straight back as the response; boxing it would only add an allocation to
// every refused request.
#[allow(clippy::result_large_err)]
pub(crate) fn admit<'a>(state: &SimState, req: &'a Request) -> Result<Admitted<'a>, Response> {
    let version_seg = req
        .uri()
        .path()
        .trim_start_matches("/services/data/")
        .split('/')
        .next()
        .unwrap_or("");
    let major = parse_major(version_seg).map_err(IntoResponse::into_response)?;
    let meta = req.extensions().get::<RequestMeta>();
    let Some((m, (session, org))) = meta.and_then(|m| Some((m, m.session.as_deref()?))) else {
        let bad_header = req
            .headers()
            .get(axum::http::header::AUTHORIZATION)
            .is_some_and(|_| meta.is_some_and(|m| !m.had_token));
        return Err(if bad_header {
            ApiError::InvalidAuthHeader.into_response()
        } else {
            ApiError::InvalidSession.into_response()
        });
    };
    let now = state.clock.elapsed();
    let usage = match org.allocation.try_charge(now, 1) {
        Ok(usage) => usage,
        Err((used, max)) => {
            let mut resp =
                ApiError::RequestLimitExceeded(TOTAL_REQUESTS_EXCEEDED.into()).into_response();
            stamp_usage(&mut resp, used, max, 0);
            return Err(resp);
        }
    };
    Ok(Admitted {
        major,
        meta: m,
        session,
        org,
        usage,
    })
}

/// What the layer adds to the handler's answer: `Sforce-Limit-Info` with the org's usage now.
pub(crate) fn finish(state: &SimState, org: &Org, resp: &mut Response) {
    // Subrequests a handler charged on top (composite/batch) show in the usage it reports.
    let (used, max) = org.allocation.usage(state.clock.elapsed());
    let cost = resp
        .extensions()
        .get::<JournalNote>()
        .and_then(|n| n.api_cost)
        .unwrap_or(1);
    stamp_usage(resp, used.max(1), max, cost);
}

/// [`finish`] for a handler that charged nothing beyond the call itself: the usage is the one
/// admission charged, without asking the org again.
pub(crate) fn finish_admitted(admitted: &Admitted<'_>, resp: &mut Response) {
    let (used, max) = admitted.usage;
    stamp_usage(resp, used.max(1), max, 1);
}

fn stamp_usage(resp: &mut Response, used: u64, max: u64, cost: u32) {
    resp.headers_mut()
        .insert("sforce-limit-info", limit_info(used, max));
    resp.extensions_mut().insert(UsageNote { cost, used, max });
}

/// `Sforce-Limit-Info: api-usage={used}/{max}`, written without `format!` (every REST answer has one).
pub fn limit_info(used: u64, max: u64) -> HeaderValue {
    const PREFIX: &[u8] = b"api-usage=";
    let mut buf = [0u8; PREFIX.len() + 20 + 1 + 20];
    buf[..PREFIX.len()].copy_from_slice(PREFIX);
    let mut len = PREFIX.len();
    len += write_u64(&mut buf[len..], used);
    buf[len] = b'/';
    len += 1;
    len += write_u64(&mut buf[len..], max);
    HeaderValue::from_bytes(&buf[..len])
        .unwrap_or_else(|_| HeaderValue::from_static("api-usage=0/0"))
}

/// Decimal digits of `v` at the start of `out` (which has room for 20); returns how many.
fn write_u64(out: &mut [u8], mut v: u64) -> usize {
    let mut digits = [0u8; 20];
    let mut n = 0;
    loop {
        digits[n] = b'0' + (v % 10) as u8;
        n += 1;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for (slot, d) in out.iter_mut().zip(digits[..n].iter().rev()) {
        *slot = *d;
    }
    n
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // Each handler takes its context once; taking it out spares a clone of its strings.
        parts
            .extensions
            .remove::<Ctx>()
            .ok_or(ApiError::InvalidSession)
    }
}

#[cfg(test)]
mod tests {
    use super::limit_info;

    #[test]
    fn limit_info_is_used_over_max() {
        for (used, max) in [
            (0, 0),
            (1, 115_000),
            (99_999, 100_000),
            (u64::MAX, u64::MAX),
        ] {
            assert_eq!(
                limit_info(used, max).to_str().unwrap(),
                format!("api-usage={used}/{max}")
            );
        }
    }
}
