//! A mock Salesforce org that real client libraries log into unchanged, with a seeded fault engine.
//!
//! # Layout
//!
//! | module | what lives there |
//! |---|---|
//! | [`server`] | listeners (HTTP + HTTPS on one router), the ready line, graceful shutdown |
//! | [`tls`] | the CA and leaf certificate generated at start |
//! | [`state`] | [`state::SimState`], the handle every handler receives: orgs, sessions, journal, clock |
//! | [`error`] | [`error::ApiError`], the one error type, rendered as Salesforce's error bodies |
//! | [`org`] | one org's schema, records, validation, SOQL, limits, seed data |
//! | [`auth`] | SOAP partner login, OAuth token/revoke, identity URL, session tokens |
//! | [`rest`] | `/services/data` REST: versions, describe, sObject CRUD/upsert, query, limits |
//! | [`composite`] | `/composite`, `/composite/batch`, `/composite/tree`, sObject Collections |
//! | [`bulk2`] | Bulk API 2.0 ingest and query jobs |
//! | [`streaming`] | CometD long-polling, Change Data Capture and platform events |
//! | [`faults`] | the fault engine: a tower Layer deciding each request by ordered, seeded rules |
//! | [`admin`] | the control API under `/__admin/` |
//! | [`journal`] | the ground-truth request journal (bounded memory, spilled to a file) |
//! | [`recording`] | the outermost layer: request ids, identity, one journal entry per request |
//! | [`clock`] | the scenario clock; every timestamp and wait goes through `tokio::time` |

#![recursion_limit = "256"]

pub mod admin;
pub mod auth;
pub mod bulk2;
pub mod clock;
pub mod composite;
pub mod error;
pub mod faults;
pub mod journal;
pub mod org;
pub mod recording;
pub mod rest;
pub mod server;
pub mod state;
pub mod streaming;
pub mod tls;

use axum::extract::Request;
use axum::http::{Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

pub use state::{SimConfig, SimState};

/// The simulator's router: every API family, behind the recording layer (outermost), the fault
/// layer and the panic guard. The caller serves it (see [`server::serve`] or [`start`]).
pub fn app(state: SimState) -> Router {
    Router::new().fallback_service(service(state))
}

/// What [`app`] serves, as a service of its own: the servers call it directly, without the routing
/// of a router that has nothing but a fallback.
pub fn service(state: SimState) -> SimService {
    let router: Router = Router::new()
        .merge(auth::routes())
        .merge(rest::routes(state.clone()))
        .merge(composite::routes(state.clone()))
        .merge(bulk2::routes(state.clone()))
        .merge(streaming::routes(state.clone()))
        .merge(admin::routes(state.clone()))
        .fallback(not_found)
        .layer(axum::extract::DefaultBodyLimit::max(
            state.config.max_json_body,
        ))
        .with_state(state.clone());
    SimService(Arc::new(Stack {
        faults: state.config.fault_layer,
        state,
        router,
    }))
}

/// The simulator: the recording layer (outermost), the fault layer (unless configured off), the panic
/// guard, the rewrite and the routes.
///
/// A request borrows everything from the [`Stack`] its connection holds: the layers are plain async
/// functions rather than cloned tower services, because each clone of a shared `Arc` (the state, the
/// router) is a write to a cache line every worker thread uses. Each connection serves its own copy
/// of the stack (see [`server::App::for_connection`]).
#[derive(Clone)]
pub struct SimService(Arc<Stack>);

#[derive(Clone)]
struct Stack {
    state: SimState,
    router: Router,
    faults: bool,
}

impl server::App for SimService {
    fn for_connection(&self) -> Self {
        SimService(Arc::new((*self.0).clone()))
    }
}

impl tower::Service<Request> for SimService {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = futures::future::BoxFuture<'static, Result<Response, std::convert::Infallible>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        // Routers are always ready.
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let stack = self.0.clone();
        Box::pin(async move { Ok(stack.answer(req).await) })
    }
}

impl Stack {
    async fn answer(&self, req: Request) -> Response {
        recording::record_with(&self.state, req, |req| async move {
            if self.faults {
                faults::layer::around(&self.state, req, |req| self.guarded(req)).await
            } else {
                self.guarded(req).await
            }
        })
        .await
    }

    async fn guarded(&self, req: Request) -> Response {
        guard(self.route(req)).await
    }

    /// The rewrite, then the routes. A plain record read (`GET …/sobjects/{T}/{id}`, the call
    /// integrations make most) goes straight to its handler, behind the same REST context layer,
    /// without a pass through the router: see [`rest::sobjects::plain_record_get`].
    async fn route(&self, req: Request) -> Response {
        let req = rewrite(req);
        match rest::sobjects::plain_record_get(&req) {
            Some((object, id)) => rest::sobjects::direct_get(&self.state, req, object, id).await,
            None => match tower::ServiceExt::oneshot(self.router.clone(), req).await {
                Ok(resp) => resp,
                Err(never) => match never {},
            },
        }
    }
}

async fn not_found() -> error::ApiError {
    error::ApiError::NotFound
}

/// The panic guard: a handler that panics answers 500 with Salesforce's body. (A combinator rather
/// than an async fn, which would hold `answer` twice.)
fn guard(
    answer: impl std::future::Future<Output = Response>,
) -> impl std::future::Future<Output = Response> {
    use futures::FutureExt;
    std::panic::AssertUnwindSafe(answer)
        .catch_unwind()
        .map(|answered| answered.unwrap_or_else(panic_response))
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    error::ApiError::Internal(
        "An unexpected error occurred. Please include this ErrorId if you contact support: 0000000000-0 (0)"
            .into(),
    )
    .into_response()
}

/// Trailing slashes are optional on every route, and `POST …?_HttpMethod=PATCH` is a PATCH
/// (salesforce-api.md §0, §2.3).
fn rewrite(mut req: Request) -> Request {
    let uri = req.uri();
    let path = uri.path();
    let mut new_path = None;
    if path.len() > 1 && path.ends_with('/') {
        new_path = Some(path.trim_end_matches('/').to_string());
    }
    let override_method = (req.method() == Method::POST)
        .then(|| uri.query())
        .flatten()
        .and_then(|q| {
            form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "_HttpMethod")
                .and_then(|(_, v)| Method::from_bytes(v.to_ascii_uppercase().as_bytes()).ok())
        });
    if let Some(p) = new_path {
        let pq = match uri.query() {
            Some(q) => format!("{}?{q}", if p.is_empty() { "/" } else { &p }),
            None => p,
        };
        if let Ok(u) = pq.parse::<Uri>() {
            *req.uri_mut() = u;
        }
    }
    if let Some(m) = override_method {
        *req.method_mut() = m;
    }
    req
}

/// A running simulator.
pub struct Running {
    pub state: SimState,
    pub http: SocketAddr,
    pub https: Option<SocketAddr>,
    pub ca_pem: String,
    pub gate: server::ListenerGate,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    pub fn http_url(&self) -> String {
        format!("http://{}", self.http)
    }

    pub fn https_url(&self) -> Option<String> {
        self.https.map(|a| format!("https://{a}"))
    }

    /// Stop accepting, finish in-flight requests (up to 5 s), flush the journal.
    pub async fn shutdown(self) -> std::io::Result<()> {
        self.state.shutdown.cancel();
        let r = self.task.await.unwrap_or(Ok(()));
        self.state.journal.flush()?;
        r
    }
}

/// Serve `state` on already-bound listeners (HTTPS when `https` is given, with a freshly generated CA).
pub async fn start(
    state: SimState,
    http: TcpListener,
    https: Option<TcpListener>,
    extra_names: &[String],
) -> Result<Running, Box<dyn std::error::Error + Send + Sync>> {
    let identity = tls::TlsIdentity::generate(extra_names)?;
    let http_addr = http.local_addr()?;
    let mut listeners = vec![server::Listener::plain(http)];
    let mut https_addr = None;
    if let Some(l) = https {
        https_addr = Some(l.local_addr()?);
        listeners.push(server::Listener::tls(l, identity.server_config()?));
    }
    let gate = server::ListenerGate::default();
    state.fault_engine.attach_gate(gate.clone());
    faults::schedule::spawn(state.clone());
    let task = tokio::spawn(server::serve(
        listeners,
        service(state.clone()),
        gate.clone(),
        state.shutdown.clone(),
        std::time::Duration::from_secs(5),
    ));
    // Flush the journal every second so a crash loses at most one second of it.
    let st = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = st.shutdown.cancelled() => break,
                _ = tick.tick() => { let _ = st.journal.flush(); }
            }
        }
    });
    Ok(Running {
        state,
        http: http_addr,
        https: https_addr,
        ca_pem: identity.ca_pem,
        gate,
        task,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    #[tokio::test]
    async fn a_panicking_handler_answers_500_with_a_salesforce_body() {
        let resp = guard(async { panic!("handler bug") }).await;
        assert_eq!(resp.status(), 500);
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v[0]["errorCode"], "UNKNOWN_EXCEPTION", "{v}");
        let resp = guard(async { StatusCode::NO_CONTENT.into_response() }).await;
        assert_eq!(resp.status(), 204);
    }
}
