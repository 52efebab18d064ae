//! The outermost layer: gives every request an id and identity, and writes its journal entry.
//!
//! It resolves the session once (so the fault engine can scope rules by client and handlers need not look
//! it up again) and stores a [`RequestMeta`] in the request's extensions. The entry is appended when the
//! response is ready — or, through a drop guard, when the request future is dropped before answering
//! (the client gave up on a `hang`, a `reset` killed the connection), so nothing the simulator saw is
//! missing from the journal.

use crate::error::ErrorCodeTag;
use crate::journal::{body_hash, Api, FaultTag, ItemFaultNote, Journal, JournalEntry, JournalNote};
use crate::server::{ConnInfo, ConnKill};
use crate::state::{SessionPair, SimState};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;
use std::sync::Arc;
use std::time::Duration;

/// Bodies up to this size are hashed for the journal (retry detection keys on the body hash); larger
/// uploads (Bulk CSV) are hashed by their handler if at all.
const HASH_LIMIT: usize = 1024 * 1024;

/// Per-request facts shared by the layers and handlers.
#[derive(Clone)]
pub struct RequestMeta {
    pub id: u64,
    /// Arrival on the scenario clock.
    pub arrived: Duration,
    pub api: Api,
    /// The session named by the `Authorization` header, when valid (shared with the connection's
    /// session cache: `as_deref` borrows the pair).
    pub session: Option<Arc<SessionPair>>,
    /// The `Authorization` header carried a token (valid or not).
    pub had_token: bool,
    /// `Sforce-Call-Options: client=`.
    pub client_name: Option<String>,
    /// Set by the fault engine when a rule decided this request.
    pub fault: Arc<Mutex<Option<FaultTag>>>,
    pub conn: Option<ConnInfo>,
}

impl RequestMeta {
    pub fn kill(&self) -> Arc<ConnKill> {
        self.conn
            .as_ref()
            .map(|c| c.kill.clone())
            .unwrap_or_else(ConnKill::detached)
    }
}

/// Extract the bearer token from `Authorization: Bearer …` or `OAuth …` (jsforce's CometD uses the latter).
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = v.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("oauth"))
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The `client=` option of `Sforce-Call-Options`.
pub fn call_options_client(headers: &HeaderMap) -> Option<String> {
    let v = headers.get("sforce-call-options")?.to_str().ok()?;
    v.split(',').find_map(|part| {
        let (k, val) = part.trim().split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("client")
            .then(|| val.trim().to_string())
    })
}

struct EntryGuard<'a> {
    journal: &'a Journal,
    entry: Option<JournalEntry>,
    start: tokio::time::Instant,
    fault: Arc<Mutex<Option<FaultTag>>>,
}

impl Drop for EntryGuard<'_> {
    fn drop(&mut self) {
        if let Some(mut e) = self.entry.take() {
            // Never answered: the connection went away first.
            e.latency_us = self.start.elapsed().as_micros() as u64;
            e.status = 0;
            e.fault = self.fault.lock().clone();
            self.journal.append(e);
        }
    }
}

/// The middleware, for routers assembled by hand (tests); [`crate::app`] runs [`record_with`].
pub async fn record(State(state): State<SimState>, req: Request, next: Next) -> Response {
    record_with(&state, req, |req| next.run(req)).await
}

/// Record `req` around `next`, which answers it.
pub async fn record_with<F, Fut>(state: &SimState, mut req: Request, next: F) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: std::future::Future<Output = Response>,
{
    let start = tokio::time::Instant::now();
    let id = state.journal.next_id();
    let arrived = state.clock.elapsed();
    // The connection's facts move into the request's metadata, where everything else reads them.
    let conn = req.extensions_mut().remove::<ConnInfo>();
    let path_q = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let api = Api::of_path(req.uri().path());
    let token = bearer(req.headers());
    let had_token = token.is_some();
    let session = token.and_then(|t| match &conn {
        Some(c) => c.sessions.session(state, t),
        None => state.session(t).map(Arc::new),
    });
    let client_name = call_options_client(req.headers());
    let conditional = req.headers().contains_key(axum::http::header::IF_MATCH)
        || req
            .headers()
            .contains_key(axum::http::header::IF_UNMODIFIED_SINCE);
    let fault = Arc::new(Mutex::new(None));

    let mut entry = JournalEntry {
        id,
        t_us: arrived.as_micros() as u64,
        method: req.method().as_str().to_owned(),
        path: truncate(path_q, 512),
        api,
        peer: conn.as_ref().map(|c| c.peer_text.to_string()),
        client: client_name.clone(),
        conditional,
        ..Default::default()
    };
    if let Some((s, org)) = session.as_deref() {
        entry.user = Some(s.username.clone());
        entry.app = Some(s.app_label());
        entry.org = Some(org.id.clone());
    }

    // Hash small bodies (buffer them, then hand the same bytes on).
    let req = if body_is_small(req.headers()) && has_body(&req) {
        let (parts, body) = req.into_parts();
        match axum::body::to_bytes(body, HASH_LIMIT).await {
            Ok(bytes) => {
                if !bytes.is_empty() {
                    entry.body_hash = Some(body_hash(&bytes));
                }
                Request::from_parts(parts, Body::from(bytes))
            }
            Err(_) => {
                let resp =
                    crate::error::ApiError::BodyTooLarge { limit: HASH_LIMIT }.into_response();
                entry.status = resp.status().as_u16();
                state.journal.append(entry);
                return resp;
            }
        }
    } else {
        req
    };

    let meta = RequestMeta {
        id,
        arrived,
        api,
        session,
        had_token,
        client_name,
        fault: fault.clone(),
        conn,
    };
    let mut req = req;
    req.extensions_mut().insert(meta);

    let mut guard = EntryGuard {
        journal: &state.journal,
        entry: Some(entry),
        start,
        fault: fault.clone(),
    };
    let mut resp = next(req).await;
    if let Some(mut e) = guard.entry.take() {
        e.latency_us = start.elapsed().as_micros() as u64;
        e.status = resp.status().as_u16();
        e.error_code = resp.extensions_mut().remove::<ErrorCodeTag>().map(|t| t.0);
        e.fault = fault.lock().clone();
        if let Some(n) = resp.extensions_mut().remove::<JournalNote>() {
            apply_note(&mut e, n);
        }
        if e.object.is_none() {
            // Requests refused before a handler noted them (limits, sessions, validation errors)
            // still name the object their path does, so "writes to Account" counts them.
            e.object = object_of_path(&e.path);
        }
        if let Some(items) = resp.extensions_mut().remove::<ItemFaultNote>() {
            e.item_faults = items.0;
        }
        if let Some(u) = resp.extensions_mut().remove::<UsageNote>() {
            if e.api_cost == 0 {
                e.api_cost = u.cost;
            }
            e.api_usage = Some((u.used, u.max));
        }
        if e.user.is_none() {
            if let Some(who) = resp.extensions_mut().remove::<Identity>() {
                e.user = Some(who.user);
                e.app = who.app;
                e.org = who.org;
            }
        }
        state.journal.append(e);
    }
    resp
}

/// API usage recorded by the REST context layer.
#[derive(Debug, Clone, Copy)]
pub struct UsageNote {
    pub cost: u32,
    pub used: u64,
    pub max: u64,
}

/// Identity learned by a handler (login endpoints learn who the caller is only from the body).
#[derive(Debug, Clone)]
pub struct Identity {
    pub user: String,
    pub app: Option<String>,
    pub org: Option<String>,
}

/// The sObject a REST path addresses: `/services/data/vNN.N/sobjects/{Object}/…` or
/// `/services/data/vNN.N/composite/sobjects/{Object}/…` (not describeGlobal's bare `/sobjects`).
fn object_of_path(path: &str) -> Option<String> {
    let path = path.split('?').next().unwrap_or(path);
    let rest = path.strip_prefix("/services/data/")?;
    let mut segs = rest.split('/').skip(1).filter(|s| !s.is_empty());
    let mut seg = segs.next()?;
    if seg == "composite" {
        seg = segs.next()?;
    }
    if seg != "sobjects" {
        return None;
    }
    let object = segs.next()?;
    let valid = object
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_');
    valid.then(|| object.to_string())
}

fn apply_note(e: &mut JournalEntry, n: JournalNote) {
    if !n.route.is_empty() {
        e.route = n.route.to_string();
    }
    e.object = n.object;
    e.ids = n.ids.into_iter().take(20).collect();
    e.fields = n.fields;
    e.query = n.query;
    e.result_hash = n.result_hash;
    e.rows = n.rows;
    e.item_failures = n.item_failures;
    e.job = n.job;
    if let Some(c) = n.api_cost {
        e.api_cost = c;
    }
}

fn body_is_small(h: &HeaderMap) -> bool {
    match h
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
    {
        Some(n) => n <= HASH_LIMIT,
        // Chunked bodies are bulk uploads in practice; don't buffer them here.
        None => false,
    }
}

fn has_body(req: &Request) -> bool {
    !matches!(
        *req.method(),
        axum::http::Method::GET | axum::http::Method::HEAD
    )
}

fn truncate(s: &str, n: usize) -> String {
    if s.len() <= n {
        return s.to_string();
    }
    let mut end = n;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::object_of_path;

    #[test]
    fn the_object_comes_from_sobject_paths_only() {
        let of = |p: &str| object_of_path(p);
        assert_eq!(
            of("/services/data/v62.0/sobjects/Account/External_Id__c/A-1").as_deref(),
            Some("Account")
        );
        assert_eq!(
            of("/services/data/v62.0/composite/sobjects/Contact?allOrNone=true").as_deref(),
            Some("Contact")
        );
        assert_eq!(of("/services/data/v62.0/sobjects"), None);
        assert_eq!(of("/services/data/v62.0/sobjects/"), None);
        assert_eq!(
            of("/services/data/v62.0/query?q=SELECT+Id+FROM+Account"),
            None
        );
        assert_eq!(of("/services/oauth2/token"), None);
    }
}
