//! Per-request decisions: which installed rule, if any, decides a request, and how.
//!
//! Rules are tried in install order; the first whose window, scope and trigger match and that does
//! something other than pass decides (turmoil's model). A rule that cannot apply to a request — a
//! read in a read-only maintenance window, a request without a session under a session lifetime —
//! passes it without counting it, so "first N" means "the first N requests it could affect".

use super::engine::{RuleSet, RuleState};
use super::hooks::Probe;
use super::plan::{
    format_duration, ApiFamily, ConnectionFault, FaultEffect, HttpMethod, LatencyUnit, OutageMode,
    RateLimitFault, RequestCap, Scope, SessionExpiry,
};
use super::respond::error_response;
use crate::auth::session::Session;
use crate::journal::{Api, FaultTag};
use crate::org::limits::TOTAL_REQUESTS_EXCEEDED;
use crate::org::Org;
use axum::response::Response;
use std::cell::OnceCell;
use std::sync::Arc;
use std::time::Duration;

/// What a rule can be matched against: a request at the layer, or a [`Probe`] inside a handler.
pub(crate) trait Subject {
    fn family(&self) -> Option<ApiFamily>;
    fn method(&self) -> Option<HttpMethod>;
    fn path(&self) -> &str;
    /// Whether the caller is `name`: its username, connected app or `Sforce-Call-Options` client.
    fn is_client(&self, name: &str) -> bool;
    fn object(&self) -> Option<&str>;
}

/// Whether a subject is in a rule's scope. Cheap checks first; the object (which may mean parsing a
/// SOQL query) last.
pub(crate) fn in_scope(scope: &Scope, s: &impl Subject) -> bool {
    if !scope.apis.is_empty() && !s.family().is_some_and(|f| scope.apis.contains(&f)) {
        return false;
    }
    if !scope.methods.is_empty() && !s.method().is_some_and(|m| scope.methods.contains(&m)) {
        return false;
    }
    if let Some(route) = &scope.route {
        if !route.matches(s.path()) {
            return false;
        }
    }
    if !scope.clients.is_empty() && !scope.clients.iter().any(|c| s.is_client(c)) {
        return false;
    }
    if !scope.objects.is_empty() {
        let Some(object) = s.object() else {
            return false;
        };
        if !scope.objects.iter().any(|o| o.eq_ignore_ascii_case(object)) {
            return false;
        }
    }
    true
}

/// The fault API family of a journal API class. Admin calls have none and are never faulted.
pub fn family_of(api: Api) -> Option<ApiFamily> {
    match api {
        Api::Rest => Some(ApiFamily::Rest),
        Api::Soap => Some(ApiFamily::Soap),
        Api::Oauth => Some(ApiFamily::Oauth),
        Api::Composite => Some(ApiFamily::Composite),
        Api::Bulk => Some(ApiFamily::Bulk),
        Api::Streaming => Some(ApiFamily::Streaming),
        Api::Admin | Api::Other => None,
    }
}

impl Subject for Probe<'_> {
    fn family(&self) -> Option<ApiFamily> {
        family_of(self.api)
    }
    fn method(&self) -> Option<HttpMethod> {
        HttpMethod::parse(self.method)
    }
    fn path(&self) -> &str {
        self.path
    }
    fn is_client(&self, name: &str) -> bool {
        self.client
            .is_some_and(|c| c.split('|').any(|part| part == name))
    }
    fn object(&self) -> Option<&str> {
        self.object
    }
}

/// One request as the layer sees it.
pub(crate) struct RequestView<'a> {
    pub family: Option<ApiFamily>,
    pub method: Option<HttpMethod>,
    pub path: &'a str,
    pub query: Option<&'a str>,
    /// The request's session and its org, when valid.
    pub session: Option<&'a (Arc<Session>, Arc<Org>)>,
    pub client_name: Option<&'a str>,
    pub now: Duration,
    /// For composite POSTs inspected under a read-only maintenance rule: every subrequest is a GET.
    pub read_only_body: Option<bool>,
    object: OnceCell<Option<String>>,
}

impl<'a> RequestView<'a> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        api: Api,
        method: &axum::http::Method,
        path: &'a str,
        query: Option<&'a str>,
        session: Option<&'a (Arc<Session>, Arc<Org>)>,
        client_name: Option<&'a str>,
        now: Duration,
        read_only_body: Option<bool>,
    ) -> Self {
        RequestView {
            family: family_of(api),
            method: HttpMethod::parse(method.as_str()),
            path,
            query,
            session,
            client_name,
            now,
            read_only_body,
            object: OnceCell::new(),
        }
    }

    /// Whether the request changes data, for read-only maintenance: logins, CometD, Bulk 2.0 query
    /// jobs, composite retrieves and composite calls made only of GETs are reads.
    pub fn is_write(&self) -> bool {
        if !self.method.is_some_and(HttpMethod::is_write) {
            return false;
        }
        match self.family {
            Some(ApiFamily::Oauth | ApiFamily::Soap | ApiFamily::Streaming) => false,
            Some(ApiFamily::Bulk) => {
                !(self.method == Some(HttpMethod::Post)
                    && after_version(self.path).starts_with("jobs/query"))
            }
            Some(ApiFamily::Composite) if self.method == Some(HttpMethod::Post) => {
                let rest = after_version(self.path);
                let retrieve = rest
                    .strip_prefix("composite/sobjects/")
                    .is_some_and(|t| !t.is_empty() && !t.contains('/'));
                !(retrieve || self.read_only_body == Some(true))
            }
            _ => true,
        }
    }
}

/// Whether a request's body must be read before deciding it (composite calls under read-only
/// maintenance, which are reads when every subrequest is a GET).
pub(crate) fn needs_body(set: &RuleSet, api: Api, method: &axum::http::Method, path: &str) -> bool {
    set.has_maintenance
        && api == Api::Composite
        && method == axum::http::Method::POST
        && matches!(
            after_version(path),
            "composite" | "composite/batch" | "composite/graph"
        )
}

/// Whether a composite, batch or graph body contains only GET subrequests.
pub(crate) fn read_only_composite(body: &[u8]) -> bool {
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(body) else {
        return false;
    };
    fn all_get(list: Option<&serde_json::Value>) -> Option<bool> {
        let list = list?.as_array()?;
        Some(list.iter().all(|r| {
            r.get("method")
                .and_then(|m| m.as_str())
                .is_some_and(|m| m.eq_ignore_ascii_case("GET"))
        }))
    }
    if let Some(ok) =
        all_get(doc.get("compositeRequest")).or_else(|| all_get(doc.get("batchRequests")))
    {
        return ok;
    }
    match doc.get("graphs").and_then(|g| g.as_array()) {
        Some(graphs) => graphs
            .iter()
            .all(|g| all_get(g.get("compositeRequest")) == Some(true)),
        None => false,
    }
}

/// The path below `/services/data/vXX.X/`, or `""`.
fn after_version(path: &str) -> &str {
    path.strip_prefix("/services/data/")
        .and_then(|rest| rest.split_once('/'))
        .map(|(_, rest)| rest)
        .unwrap_or("")
}

impl Subject for RequestView<'_> {
    fn family(&self) -> Option<ApiFamily> {
        self.family
    }
    fn method(&self) -> Option<HttpMethod> {
        self.method
    }
    fn path(&self) -> &str {
        self.path
    }
    fn is_client(&self, name: &str) -> bool {
        self.client_name == Some(name)
            || self.session.is_some_and(|(s, _)| {
                s.username.eq_ignore_ascii_case(name) || s.app.as_deref() == Some(name)
            })
    }
    fn object(&self) -> Option<&str> {
        self.object
            .get_or_init(|| object_of(self.path, self.query))
            .as_deref()
    }
}

/// The sObject a REST/composite URL names (`/sobjects/{T}…`, `/composite/sobjects/{T}`,
/// `/composite/tree/{T}`), or the `FROM` object of a query.
pub(crate) fn object_of(path: &str, query: Option<&str>) -> Option<String> {
    let mut segs = after_version(path).split('/');
    match (segs.next(), segs.next(), segs.next()) {
        (Some("sobjects"), Some(t), _) if !t.is_empty() => Some(t.to_string()),
        (Some("composite"), Some("sobjects" | "tree"), Some(t)) if !t.is_empty() => {
            Some(t.to_string())
        }
        (Some("query" | "queryAll"), None, _) => {
            let q = form_urlencoded::parse(query?.as_bytes())
                .find(|(k, _)| k == "q")?
                .1;
            let words: Vec<&str> = q.split_whitespace().collect();
            let from = words.iter().position(|w| w.eq_ignore_ascii_case("from"))?;
            words
                .get(from + 1)
                .map(|w| w.trim_end_matches([',', ')']).to_string())
        }
        _ => None,
    }
}

/// What the layer does with a request a rule decided.
pub(crate) enum Action {
    /// Serve it, then hold the response this long.
    Delay(Duration),
    /// Hold the request this long, serve it, then hold the response the second duration.
    DelayHops(Duration, Duration),
    /// Serve it, then hold the response this long per KiB of body.
    DelayPerKb(Duration),
    /// Answer with this instead of serving it.
    Respond(Response),
    /// Read the request, then reset the connection.
    Reset,
    /// The listener is down: reset without reading.
    Refuse,
    /// Answer nothing until the client gives up, the window ends (then 503) or shutdown.
    Hang(Option<Duration>),
    /// The session's lifetime is over: serve it as a request without a session.
    ExpireSession,
    /// Serve it, then mangle the response body on the wire.
    Body(ConnectionFault),
}

pub(crate) struct Decision {
    pub action: Action,
    pub tag: FaultTag,
}

/// The first rule that decides this request, if any.
pub(crate) fn decide(set: &RuleSet, view: &RequestView<'_>) -> Option<Decision> {
    for rule in &set.request {
        let r = &rule.rule;
        if !r.window.contains(view.now) || !in_scope(&r.scope, view) {
            continue;
        }
        let applies = match &r.effect {
            FaultEffect::Outage(o) if o.mode == OutageMode::ReadOnlyMaintenance => view.is_write(),
            FaultEffect::Session(_) => view.session.is_some(),
            _ => true,
        };
        if !applies || !rule.triggered() {
            continue;
        }
        if let Some((action, tag)) = act(rule, view) {
            rule.fire();
            return Some(Decision {
                action,
                tag: rule.tag(tag),
            });
        }
    }
    None
}

/// What a triggered rule does to the request, with the journal's description; `None` passes.
fn act(rule: &RuleState, view: &RequestView<'_>) -> Option<(Action, String)> {
    let r = &rule.rule;
    Some(match &r.effect {
        FaultEffect::Latency(l) => {
            let d = l.delay.sample(&mut *rule.rng.lock());
            match l.per {
                LatencyUnit::Request => (Action::Delay(d), format!("delay:{}", format_duration(d))),
                LatencyUnit::Hop => {
                    let back = l.delay.sample(&mut *rule.rng.lock());
                    (
                        Action::DelayHops(d, back),
                        format!(
                            "delay:{}+{}",
                            format_duration(d),
                            format_duration(back)
                        ),
                    )
                }
                LatencyUnit::Kb => (
                    Action::DelayPerKb(d),
                    format!("delay:{}/KiB", format_duration(d)),
                ),
            }
        }
        FaultEffect::Error(e) => (
            Action::Respond(error_response(view.family, e.status, &e.error_code, &e.message)),
            format!("respond:{} {}", e.status, e.error_code),
        ),
        FaultEffect::Outage(o) => match o.mode {
            OutageMode::Http503 => (
                Action::Respond(error_response(
                    view.family,
                    503,
                    "SERVER_UNAVAILABLE",
                    "Server temporarily unavailable. Please try again later.",
                )),
                "respond:503 SERVER_UNAVAILABLE".into(),
            ),
            OutageMode::Reset => (Action::Reset, "reset".into()),
            OutageMode::Refuse => (Action::Refuse, "refuse".into()),
            OutageMode::Hang => (Action::Hang(r.window.end()), "hang".into()),
            OutageMode::ReadOnlyMaintenance => (
                Action::Respond(error_response(
                    view.family,
                    o.status,
                    "INSERT_UPDATE_DELETE_NOT_ALLOWED_DURING_MAINTENANCE",
                    "Updates can't be made during maintenance. Try again when maintenance is complete.",
                )),
                format!("respond:{} INSERT_UPDATE_DELETE_NOT_ALLOWED_DURING_MAINTENANCE", o.status),
            ),
        },
        FaultEffect::RateLimit(RateLimitFault {
            per_window: Some(cap),
            ..
        }) => {
            if !over_cap(rule, cap, view.now) {
                return None;
            }
            let mut resp = error_response(view.family, 403, "REQUEST_LIMIT_EXCEEDED", TOTAL_REQUESTS_EXCEEDED);
            if let Some((_, org)) = view.session {
                let (used, max) = org.allocation.usage(view.now);
                super::respond::stamp_usage(&mut resp, used, max);
            }
            (
                Action::Respond(resp),
                format!(
                    "respond:403 REQUEST_LIMIT_EXCEEDED ({}/{})",
                    cap.requests,
                    format_duration(cap.window)
                ),
            )
        }
        FaultEffect::Session(SessionExpiry::Lifetime(lifetime)) => {
            let (session, _) = view.session?;
            let ends = session.issued.saturating_add(*lifetime);
            session.expire_at(ends);
            if view.now < ends {
                return None;
            }
            (
                Action::ExpireSession,
                format!(
                    "respond:401 INVALID_SESSION_ID (lifetime {})",
                    format_duration(*lifetime)
                ),
            )
        }
        FaultEffect::Connection(c) => {
            let tag = match c {
                ConnectionFault::SlowBody { bytes_per_sec } => format!("slow-body:{bytes_per_sec}B/s"),
                ConnectionFault::Truncate { after_bytes } => format!("truncate:{after_bytes}B"),
                ConnectionFault::MalformedJson => "malformed-json".into(),
            };
            (Action::Body(*c), tag)
        }
        _ => return None,
    })
}

/// Admits the request under a per-window cap (sliding window over admitted arrivals), or says it is
/// over the cap.
fn over_cap(rule: &RuleState, cap: &RequestCap, now: Duration) -> bool {
    let mut admitted = rule.admitted.lock();
    if let Some(horizon) = now.checked_sub(cap.window) {
        while admitted.front().is_some_and(|t| *t <= horizon) {
            admitted.pop_front();
        }
    }
    if admitted.len() >= cap.requests.get() as usize {
        return true;
    }
    admitted.push_back(now);
    false
}
