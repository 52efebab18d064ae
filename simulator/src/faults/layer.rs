//! [`FaultLayer`] → [`FaultService`]: the fault engine as a tower layer over the whole router.
//!
//! It sits inside the recording layer (so every decision lands on the request's journal entry and a
//! request the client abandons is still journaled) and outside the panic guard. For each request it:
//! 1. journals background decisions waiting in the engine and applies window boundaries that are due
//!    (exactly on the scenario clock, even if the clock task has not woken yet);
//! 2. enforces the org's concurrent long-running request cap;
//! 3. asks the installed rules, in order, and carries out the first decision (`decide.rs`);
//! 4. runs the handler inside a [`super::context`] scope when some rule decides inside handlers.
//!
//! Admin calls (`/__admin/…`) are never faulted: the API that removes a fault must keep working.

use super::body;
use super::context::{self, RequestFacts};
use super::decide::{decide, needs_body, read_only_composite, Action, Decision, RequestView};
use super::engine::RuleSet;
use super::plan::{format_duration, FaultEffect, SessionExpiry};
use super::respond::{error_response, stamp_usage};
use super::schedule;
use crate::error::ErrorCodeTag;
use crate::journal::{Api, FaultTag, ItemFaultNote};
use crate::org::limits::CONCURRENT_LONG_TXN_EXCEEDED;
use crate::recording::RequestMeta;
use crate::state::{SessionPair, SimState};
use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use futures::future::BoxFuture;
use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tower::{Layer, Service, ServiceExt};

/// Installs the fault engine of a [`SimState`] around a service.
#[derive(Clone)]
pub struct FaultLayer {
    state: SimState,
}

impl FaultLayer {
    pub fn new(state: SimState) -> Self {
        FaultLayer { state }
    }
}

impl<S> Layer<S> for FaultLayer {
    type Service = FaultService<S>;

    fn layer(&self, inner: S) -> FaultService<S> {
        FaultService {
            inner,
            state: self.state.clone(),
        }
    }
}

/// The service [`FaultLayer`] produces.
#[derive(Clone)]
pub struct FaultService<S> {
    inner: S,
    state: SimState,
}

impl<S> Service<Request> for FaultService<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        // The ready service answers this request; its clone waits for the next one.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let state = self.state.clone();
        Box::pin(async move { Ok(around(&state, req, |req| oneshot(inner, req)).await) })
    }
}

async fn oneshot<S>(inner: S, req: Request) -> Response
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    match inner.oneshot(req).await {
        Ok(resp) => resp,
        Err(never) => match never {},
    }
}

/// The fault layer around `next`, which answers the request when no fault does (what
/// [`FaultService`] runs; [`crate::SimService`] calls it directly).
pub(crate) async fn around<F, Fut>(state: &SimState, req: Request, next: F) -> Response
where
    F: FnOnce(Request) -> Fut + Send,
    Fut: std::future::Future<Output = Response> + Send,
{
    let engine = &state.fault_engine;
    let Some(meta) = req.extensions().get::<RequestMeta>() else {
        // Not behind the recording layer (a bare router in a unit test): nothing to decide with.
        return next(req).await;
    };
    if meta.api == Api::Admin {
        return next(req).await;
    }
    if !engine.has_rules() {
        // The common case has a short path: only the org's own limits and the timed changes still
        // pending.
        let (id, arrived, slot) = (meta.id, meta.arrived, meta.fault.clone());
        engine.flush_events(&state.journal);
        if engine.is_due(arrived) {
            schedule::tick(state, arrived);
        }
        return match admit(state, &req, id, arrived, arrived) {
            Ok(admission) => {
                let resp = next(req).await;
                drop(admission);
                resp
            }
            Err(refused) => {
                let (resp, tag) = *refused;
                if tag.is_some() {
                    *slot.lock() = tag;
                }
                resp
            }
        };
    }
    // Boxed: this future is a large state machine, and embedding it would make every request's
    // future that large, rules or not.
    Box::pin(handle(state.clone(), Next(Some(next)), req)).await
}

/// `next` as the service [`handle`] runs (it answers one request).
struct Next<F>(Option<F>);

impl<F, Fut> Service<Request> for Next<F>
where
    F: FnOnce(Request) -> Fut,
    Fut: std::future::Future<Output = Response>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = futures::future::Map<Fut, fn(Response) -> Result<Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        use futures::FutureExt;
        let next = self
            .0
            .take()
            .expect("the fault layer answers a request once");
        next(req).map(Ok as fn(Response) -> Result<Response, Infallible>)
    }
}

/// Removes a request from the org's in-flight set when it ends, however it ends.
struct Admission {
    /// The request's session and org (the connection's shared pair: holding it writes to no line
    /// another connection uses).
    session: Arc<SessionPair>,
    arrived: Duration,
    id: u64,
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.session
            .1
            .allocation
            .concurrent
            .leave(self.arrived, self.id);
    }
}

async fn handle<S>(state: SimState, inner: S, mut req: Request) -> Response
where
    S: Service<Request, Response = Response, Error = Infallible> + Send,
    S::Future: Send,
{
    let engine = state.fault_engine.clone();
    let Some(meta) = req.extensions().get::<RequestMeta>() else {
        // Not behind the recording layer (a bare router in a unit test): nothing to decide with.
        return serve(inner, req, None).await;
    };
    if meta.api == Api::Admin {
        return serve(inner, req, None).await;
    }
    let (api, id, arrived, fault_slot) = (meta.api, meta.id, meta.arrived, meta.fault.clone());
    let had_token = meta.had_token;
    engine.flush_events(&state.journal);
    // Decisions are taken at the request's arrival on the scenario clock.
    let now = arrived;
    if engine.is_due(now) {
        schedule::tick(&state, now);
    }
    let snapshot;
    let set: &RuleSet = if engine.has_rules() {
        snapshot = engine.snapshot();
        &snapshot
    } else {
        &RuleSet::EMPTY
    };

    if set.has_session_rules {
        // A timed revocation may have happened after the recording layer looked the session up.
        if let Some(m) = req.extensions_mut().get_mut::<RequestMeta>() {
            if m.session.as_deref().is_some_and(|(s, _)| s.is_revoked()) {
                m.session = None;
            }
        }
        let ended = had_token
            && req
                .extensions()
                .get::<RequestMeta>()
                .is_some_and(|m| m.session.is_none());
        if let Some(tag) = ended
            .then(|| ended_session(&state, set, &req, now))
            .flatten()
        {
            *fault_slot.lock() = Some(tag);
        }
    }

    let admission = match admit(&state, &req, id, arrived, now) {
        Ok(a) => a,
        Err(refused) => {
            let (resp, tag) = *refused;
            if let Some(tag) = tag {
                *fault_slot.lock() = Some(tag);
            }
            return resp;
        }
    };

    let mut read_only_body = None;
    if needs_body(set, api, req.method(), req.uri().path()) {
        let (parts, body) = req.into_parts();
        let bytes = axum::body::to_bytes(body, state.config.max_json_body)
            .await
            .unwrap_or_default();
        read_only_body = Some(read_only_composite(&bytes));
        req = Request::from_parts(parts, Body::from(bytes));
    }

    let decision = if set.request.is_empty() {
        None
    } else {
        let meta = req.extensions().get::<RequestMeta>();
        let view = RequestView::new(
            api,
            req.method(),
            req.uri().path(),
            req.uri().query(),
            meta.and_then(|m| m.session.as_deref()),
            meta.and_then(|m| m.client_name.as_deref()),
            now,
            read_only_body,
        );
        decide(set, &view)
    };

    let facts = set.has_item_rules.then(|| {
        let meta = req.extensions().get::<RequestMeta>();
        let client = meta.and_then(|m| m.session.as_deref()).map(|(s, _)| {
            let mut identity = s.identity();
            if let Some(c) = meta.and_then(|m| m.client_name.as_deref()) {
                identity.push('|');
                identity.push_str(c);
            }
            identity
        });
        Arc::new(RequestFacts::new(
            state.clone(),
            api,
            req.method().as_str(),
            req.uri().path(),
            super::decide::object_of(req.uri().path(), req.uri().query()),
            client,
        ))
    });

    let Some(Decision { action, tag }) = decision else {
        let mut resp = serve(inner, req, facts).await;
        tag_limit_refusal(&state, &mut resp, &fault_slot);
        drop(admission);
        return resp;
    };
    *fault_slot.lock() = Some(tag);
    let resp = match action {
        Action::Respond(resp) => resp,
        Action::Delay(d) => {
            let resp = serve(inner, req, facts).await;
            hold(&state, d).await;
            resp
        }
        Action::DelayHops(there, back) => {
            hold(&state, to_nearest_tick(there)).await;
            let resp = serve(inner, req, facts).await;
            hold(&state, to_nearest_tick(back)).await;
            resp
        }
        Action::DelayPerKb(per_kib) => {
            let (resp, size) = body::sized(serve(inner, req, facts).await).await;
            let total = per_kib.mul_f64(size as f64 / 1024.0);
            if let Some(t) = fault_slot.lock().as_mut() {
                t.action = format!(
                    "delay:{} ({}/KiB x {size} B)",
                    format_duration(total),
                    format_duration(per_kib)
                );
            }
            hold(&state, total).await;
            resp
        }
        Action::ExpireSession => {
            if let Some(m) = req.extensions_mut().get_mut::<RequestMeta>() {
                m.session = None;
            }
            serve(inner, req, facts).await
        }
        Action::Body(fault) => {
            let (resp, note) = body::apply(serve(inner, req, facts).await, fault).await;
            if let (Some(note), Some(t)) = (note, fault_slot.lock().as_mut()) {
                t.action = format!("{} ({note})", t.action);
            }
            resp
        }
        Action::Reset => {
            let kill = req.extensions().get::<RequestMeta>().map(RequestMeta::kill);
            let family = super::decide::family_of(api);
            drain(req.into_body()).await;
            cut(&state, kill, family, &fault_slot).await
        }
        Action::Refuse => {
            let kill = req.extensions().get::<RequestMeta>().map(RequestMeta::kill);
            cut(&state, kill, super::decide::family_of(api), &fault_slot).await
        }
        Action::Hang(end) => {
            let until = async {
                match end {
                    Some(end) => tokio::time::sleep_until(state.clock.start() + end).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = until => {}
                _ = state.shutdown.cancelled() => {}
            }
            unavailable(super::decide::family_of(api))
        }
    };
    drop(admission);
    resp
}

/// Run the handler, inside the request context when there is one; attach in-handler decisions.
async fn serve<S>(inner: S, req: Request, facts: Option<Arc<RequestFacts>>) -> Response
where
    S: Service<Request, Response = Response, Error = Infallible> + Send,
    S::Future: Send,
{
    let Some(facts) = facts else {
        return match inner.oneshot(req).await {
            Ok(resp) => resp,
            Err(never) => match never {},
        };
    };
    let mut resp = match context::scope(facts.clone(), inner.oneshot(req)).await {
        Ok(resp) => resp,
        Err(never) => match never {},
    };
    let tags = facts.tags();
    if !tags.is_empty() {
        resp.extensions_mut().insert(ItemFaultNote(tags));
    }
    resp
}

/// The org's concurrent long-running cap, for calls with a session on the versioned REST surface
/// (the metered calls).
fn admit(
    state: &SimState,
    req: &Request,
    id: u64,
    arrived: Duration,
    now: Duration,
) -> Result<Option<Admission>, Box<(Response, Option<FaultTag>)>> {
    let Some(session) = req
        .extensions()
        .get::<RequestMeta>()
        .and_then(|m| m.session.as_ref())
    else {
        return Ok(None);
    };
    let org = &session.1;
    if !req.uri().path().starts_with("/services/data/v") {
        return Ok(None);
    }
    let default_cap = org.config.long_running_cap;
    match org.allocation.concurrent.admit(arrived, id, default_cap) {
        Ok(()) => Ok(Some(Admission {
            session: session.clone(),
            arrived,
            id,
        })),
        Err(refusal) => {
            let mut resp = error_response(
                super::decide::family_of(Api::of_path(req.uri().path())),
                403,
                "REQUEST_LIMIT_EXCEEDED",
                CONCURRENT_LONG_TXN_EXCEEDED,
            );
            let (used, max) = org.allocation.usage(now);
            stamp_usage(&mut resp, used, max);
            let tag = state.fault_engine.applied.lock().long_running.as_ref().map(
                |(rule, cap, threshold)| FaultTag {
                    rule: rule.clone(),
                    kind: "rate-limit".into(),
                    action: format!(
                        "respond:403 REQUEST_LIMIT_EXCEEDED ({} running >= {}, cap {cap})",
                        refusal.running,
                        format_duration(*threshold)
                    ),
                },
            );
            Err(Box::new((resp, tag)))
        }
    }
}

/// The rule that ended the session a request's token names, if a fault ended it: its 401 is that
/// fault's doing.
fn ended_session(
    state: &SimState,
    set: &RuleSet,
    req: &Request,
    now: Duration,
) -> Option<FaultTag> {
    let token = crate::recording::bearer(req.headers())?;
    let session = state.sessions.peek(token)?;
    let in_scope = |scope: &super::plan::Scope| {
        scope.clients.is_empty()
            || scope.clients.iter().any(|c| {
                c.eq_ignore_ascii_case(&session.username) || session.app.as_deref() == Some(c)
            })
    };
    set.all.iter().find_map(|r| {
        let why = match &r.rule.effect {
            FaultEffect::Session(SessionExpiry::RevokeAt(at))
                if session.is_revoked() && session.issued <= *at && now >= *at =>
            {
                format!("revoked at {}", format_duration(*at))
            }
            FaultEffect::Session(SessionExpiry::Lifetime(lifetime))
                if now >= session.issued.saturating_add(*lifetime)
                    && r.rule
                        .window
                        .contains(session.issued.max(r.rule.window.start)) =>
            {
                format!("lifetime {}", format_duration(*lifetime))
            }
            _ => return None,
        };
        in_scope(&r.rule.scope).then(|| r.tag(format!("respond:401 INVALID_SESSION_ID ({why})")))
    })
}

/// A daily-allocation refusal while a `rate-limit` fault squeezes the allocation is that fault's
/// doing: journal it as such.
fn tag_limit_refusal(
    state: &SimState,
    resp: &mut Response,
    slot: &Arc<parking_lot::Mutex<Option<FaultTag>>>,
) {
    let refused = resp
        .extensions()
        .get::<ErrorCodeTag>()
        .is_some_and(|t| t.0 == "REQUEST_LIMIT_EXCEEDED");
    if !refused {
        return;
    }
    let applied = state.fault_engine.applied.lock();
    let squeezing = applied
        .squeeze
        .as_ref()
        .or(applied.allocation.as_ref().map(|(rule, _, _)| rule));
    if let Some(rule) = squeezing {
        let mut slot = slot.lock();
        if slot.is_none() {
            *slot = Some(FaultTag {
                rule: rule.clone(),
                kind: "rate-limit".into(),
                action: "respond:403 REQUEST_LIMIT_EXCEEDED (daily allocation)".into(),
            });
        }
    }
}

/// The timer fires on the first millisecond tick at or after a deadline, so a hold of `d` lasts
/// `d` plus half a millisecond on average. Per-hop delays are a few milliseconds each and come in
/// pairs, where that bias would be a tenth of the delay: they aim half a tick early, which makes
/// the rounding go to the nearest tick and keeps their mean where the distribution puts it.
fn to_nearest_tick(d: Duration) -> Duration {
    d.saturating_sub(Duration::from_micros(500))
}

/// Hold a response; shutdown cuts the wait short.
async fn hold(state: &SimState, d: Duration) {
    tokio::select! {
        _ = tokio::time::sleep(d) => {}
        _ = state.shutdown.cancelled() => {}
    }
}

/// Read and discard a request body.
async fn drain(body: Body) {
    use futures::StreamExt;
    let mut stream = body.into_data_stream();
    while let Some(Ok(_)) = stream.next().await {}
}

/// Reset the connection. The connection task drops this future once it sees the kill; the answer
/// returned after that is only for requests without a socket (tests driving the router directly).
async fn cut(
    state: &SimState,
    kill: Option<Arc<crate::server::ConnKill>>,
    family: Option<super::plan::ApiFamily>,
    slot: &Arc<parking_lot::Mutex<Option<FaultTag>>>,
) -> Response {
    let attached = kill.as_ref().is_some_and(|k| k.is_attached());
    if let Some(kill) = kill {
        kill.reset();
    }
    if !attached {
        if let Some(t) = slot.lock().as_mut() {
            t.action = format!("{} (no connection to cut: answered 503)", t.action);
        }
        return unavailable(family);
    }
    tokio::select! {
        _ = tokio::time::sleep(Duration::from_secs(10)) => {}
        _ = state.shutdown.cancelled() => {}
    }
    unavailable(family)
}

fn unavailable(family: Option<super::plan::ApiFamily>) -> Response {
    error_response(
        family,
        503,
        "SERVER_UNAVAILABLE",
        "Server temporarily unavailable. Please try again later.",
    )
}
