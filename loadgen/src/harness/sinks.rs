//! The downstream system (`SFCHAOS_SINK_URL`) and the on-call pager (`SFCHAOS_ALERT_URL`): two
//! small HTTP servers on loopback that record every request with its arrival time and can fail
//! on purpose (`[sink]`, `[alerts]`: error probability and status, added latency, outage
//! windows), with their own seeded randomness.
//!
//! Each request becomes one line of `sink.ndjson` / `alerts.ndjson` ([`Delivery`]), written
//! after the answer is decided and before it is sent, so a recorded line is exactly what the
//! integration was told. Any method and path is accepted.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use parking_lot::Mutex;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::evidence::{micros, signed_us, ClockedLog, Timed};
use crate::scenario::EndpointSpec;

/// Largest body recorded (alert batches and change deliveries can be big, not unbounded).
const MAX_BODY: usize = 16 * 1024 * 1024;

/// Which of the two sinks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SinkKind {
    Downstream,
    Alerts,
}

/// One recorded request.
#[derive(Clone, Debug, Serialize)]
pub struct Delivery {
    #[serde(skip)]
    pub arrived: Instant,
    #[serde(skip)]
    pub done: Instant,
    /// Arrival, scenario clock (negative: before load started).
    pub t_us: i64,
    /// When the answer was sent (after any injected latency).
    pub done_us: i64,
    pub method: String,
    pub path: String,
    /// What the sink answered.
    pub status: u16,
    /// `outage` or `error` when the sink failed on purpose.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<&'static str>,
    /// Injected delay, milliseconds.
    pub delay_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// The body as JSON when it parses; otherwise `{"raw": "...", "invalid_json": true}`.
    pub body: Value,
    /// Alerts only: `[{"severity","summary","status"}]`, from the contract's shape or from an
    /// Alertmanager webhook.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alerts: Option<Vec<Value>>,
}

impl Timed for Delivery {
    fn stamp(&mut self, zero: Instant) {
        self.t_us = signed_us(self.arrived, zero);
        self.done_us = signed_us(self.done, zero);
    }
}

struct SinkState {
    kind: SinkKind,
    spec: EndpointSpec,
    rng: Mutex<ChaCha8Rng>,
    log: ClockedLog<Delivery>,
    requests: AtomicU64,
    failed: AtomicU64,
}

/// A running sink.
pub struct Sink {
    pub addr: SocketAddr,
    /// What the integration is given.
    pub url: String,
    pub log: ClockedLog<Delivery>,
    state: Arc<SinkState>,
    shutdown: CancellationToken,
    task: JoinHandle<std::io::Result<()>>,
}

impl Sink {
    /// Binds `127.0.0.1:0` and serves until [`Sink::stop`].
    pub async fn start(
        kind: SinkKind,
        spec: EndpointSpec,
        seed: u64,
        log: ClockedLog<Delivery>,
    ) -> std::io::Result<Sink> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let path = match kind {
            SinkKind::Downstream => "deliveries",
            SinkKind::Alerts => "alerts",
        };
        let state = Arc::new(SinkState {
            kind,
            spec,
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(seed)),
            log: log.clone(),
            requests: AtomicU64::new(0),
            failed: AtomicU64::new(0),
        });
        let app = Router::new()
            .fallback(receive)
            .layer(DefaultBodyLimit::max(MAX_BODY))
            .with_state(Arc::clone(&state));
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await
        });
        Ok(Sink {
            addr,
            url: format!("http://{addr}/{path}"),
            log,
            state,
            shutdown,
            task,
        })
    }

    /// Requests received so far, and how many were failed on purpose.
    pub fn totals(&self) -> (u64, u64) {
        (
            self.state.requests.load(Ordering::Relaxed),
            self.state.failed.load(Ordering::Relaxed),
        )
    }

    /// Stops serving (in-flight requests finish first).
    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.task).await;
    }
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sink").field("url", &self.url).finish()
    }
}

async fn receive(
    State(sink): State<Arc<SinkState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let arrived = Instant::now();
    // Outage windows are scenario times; before load starts there are none.
    let t = sink
        .log
        .zero()
        .map(|zero| arrived.saturating_duration_since(zero));
    let in_outage = t.is_some_and(|t| sink.spec.outages.iter().any(|w| w.contains(t)));
    // Both draws are taken for every request, so one sink setting never shifts the other's
    // random sequence.
    let (fails, delay) = {
        let mut rng = sink.rng.lock();
        let roll: f64 = rng.random();
        let delay = sink.spec.latency.map(|d| d.sample(&mut *rng));
        (roll < sink.spec.error_probability, delay)
    };
    let fault = if in_outage {
        Some("outage")
    } else if fails {
        Some("error")
    } else {
        None
    };
    if let Some(delay) = delay.filter(|d| !d.is_zero()) {
        tokio::time::sleep(delay).await;
    }
    let status = match fault {
        Some(_) => {
            StatusCode::from_u16(sink.spec.error_status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE)
        }
        None => StatusCode::OK,
    };
    let parsed = serde_json::from_slice::<Value>(&body)
        .unwrap_or_else(|_| json!({"raw": String::from_utf8_lossy(&body), "invalid_json": true}));
    let alerts = (sink.kind == SinkKind::Alerts).then(|| normalize_alerts(&parsed));
    let delivery = Delivery {
        arrived,
        done: Instant::now(),
        t_us: 0,
        done_us: 0,
        method: method.to_string(),
        path: uri.path().to_string(),
        status: status.as_u16(),
        fault,
        delay_ms: delay.map_or(0.0, |d| micros(d) as f64 / 1_000.0),
        content_type: headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: parsed,
        alerts,
    };
    sink.requests.fetch_add(1, Ordering::Relaxed);
    if fault.is_some() {
        sink.failed.fetch_add(1, Ordering::Relaxed);
    }
    sink.log.record(delivery);
    let reply = match fault {
        Some(kind) => json!({"error": format!("injected {kind}")}),
        None => json!({"ok": true}),
    };
    (status, axum::Json(reply)).into_response()
}

/// The contract's `{"severity","summary"}` (extra keys kept by the raw body), or an Alertmanager
/// webhook (`{"alerts":[{"status","labels":{"severity"},"annotations":{"summary"}}]}`).
pub fn normalize_alerts(body: &Value) -> Vec<Value> {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    if let Some(list) = body.get("alerts").and_then(Value::as_array) {
        return list
            .iter()
            .map(|a| {
                let labels = a.get("labels");
                let annotations = a.get("annotations");
                json!({
                    "severity": text(labels.and_then(|l| l.get("severity"))),
                    "summary": text(annotations.and_then(|n| n.get("summary")))
                        .or_else(|| text(annotations.and_then(|n| n.get("description"))))
                        .or_else(|| text(labels.and_then(|l| l.get("alertname")))),
                    "status": text(a.get("status")).or_else(|| text(body.get("status"))),
                })
            })
            .collect();
    }
    if body.get("severity").is_some() || body.get("summary").is_some() {
        return vec![json!({
            "severity": text(body.get("severity")),
            "summary": text(body.get("summary")),
            "status": text(body.get("status")).unwrap_or_else(|| "firing".to_owned()),
        })];
    }
    Vec::new()
}
