//! The inbound HTTP API of design.md §4: `GET /healthz`, `POST /events`, `POST /batch`, and
//! `GET /metrics` — which only exists when the profile has observability (`observability` off).
//!
//! [`serve`] owns every connection in one task set, so aborting the server task (a simulated crash)
//! ends every in-flight request with it, as killing the process would.

use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use super::engine::Engine;
use crate::scenario::WriteMode;

/// Largest `/batch` body (a few hundred thousand rows).
const MAX_BATCH_BODY: usize = 256 * 1024 * 1024;
/// Largest `/events` body.
const MAX_EVENT_BODY: usize = 1024 * 1024;

/// Serve `app` on `listener` until `stop`; then let in-flight requests finish (up to `grace`).
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    stop: CancellationToken,
    grace: Duration,
) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        tracing::debug!("accept failed: {e}");
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let service = TowerToHyperService::new(app.clone());
                let mut builder = hyper::server::conn::http1::Builder::new();
                builder.timer(TokioTimer::new()).header_read_timeout(Duration::from_secs(60));
                let conn = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
                connections.spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::trace!("connection ended: {e}");
                    }
                });
            }
        }
    }
    drop(listener);
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight after {grace:?}; closing them");
    }
    Ok(())
}

/// The router for `engine`.
pub(crate) fn routes(engine: Arc<Engine>) -> Router {
    let mut router = Router::new()
        .route("/healthz", get(healthz))
        .route(
            "/events",
            post(events).layer(DefaultBodyLimit::max(MAX_EVENT_BODY)),
        )
        .route(
            "/batch",
            post(batch).layer(DefaultBodyLimit::max(MAX_BATCH_BODY)),
        );
    if !engine.behaviour.observability {
        router = router.route("/metrics", get(metrics));
    }
    router.with_state(engine)
}

async fn healthz(State(engine): State<Arc<Engine>>) -> Response {
    if engine.is_ready() {
        (StatusCode::OK, "ok\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "starting\n").into_response()
    }
}

async fn events(State(engine): State<Arc<Engine>>, body: Bytes) -> Response {
    let (status, body) = if engine.config.profile.write == WriteMode::Occ {
        engine.intake_occ(&body).await
    } else {
        engine.intake_event(&body).await
    };
    (status, Json(body)).into_response()
}

async fn batch(State(engine): State<Arc<Engine>>, body: Bytes) -> Response {
    let (status, body) = engine.intake_batch(&body).await;
    (status, Json(body)).into_response()
}

async fn metrics(State(engine): State<Arc<Engine>>) -> Response {
    let text = engine.metrics.render(engine.gauges());
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}
