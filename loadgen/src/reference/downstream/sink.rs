//! [`Sink`]: `POST` each change to `SFCHAOS_SINK_URL`, retrying until it is taken.
//!
//! The sink is another system that can be slow or down. With `blind_retries` off, transient failures
//! (no answer, 5xx, 429) are retried with full jitter, without limit (a change must not be lost),
//! each attempt bounded by a timeout; a 4xx means the sink will never take this change, which is
//! logged and skipped. With it on, every failure is retried at once.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::retry::{Classify, Decision, RetryPolicy, Retryability};

use super::super::calls::BLIND_RETRY_FLOOR;
use super::super::health::Health;
use super::super::metrics::{inc, Metrics};
use super::Change;

/// Per-delivery timeout.
const SINK_TIMEOUT: Duration = Duration::from_secs(10);

/// A delivery failure, judged by its HTTP status.
struct SinkFailure(Option<u16>);

impl Classify for SinkFailure {
    fn retryability(&self) -> Retryability {
        match self.0 {
            None | Some(429) => Retryability::Retryable,
            Some(s) if s >= 500 => Retryability::Retryable,
            Some(_) => Retryability::NotRetryable,
        }
    }
}

/// The downstream system.
#[derive(Debug, Clone)]
pub struct Sink {
    url: String,
    http: reqwest::Client,
    policy: RetryPolicy,
    blind: bool,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    shutdown: CancellationToken,
}

impl Sink {
    pub fn new(
        url: String,
        blind: bool,
        seed: u64,
        metrics: Arc<Metrics>,
        health: Arc<Health>,
        shutdown: CancellationToken,
    ) -> Result<Self, String> {
        let spec = if blind {
            "none?max-attempts=inf&budget=off"
        } else {
            "full-jitter?base=100ms&cap=10s&max-attempts=inf&budget=off"
        };
        let policy = RetryPolicy::parse(spec, seed).map_err(|e| e.to_string())?;
        let http = reqwest::Client::builder()
            .timeout(SINK_TIMEOUT)
            .no_proxy()
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            url,
            http,
            policy,
            blind,
            metrics,
            health,
            shutdown,
        })
    }

    /// Deliver `change`. `false` only on shutdown (the change was not delivered).
    pub async fn deliver(&self, change: &Change) -> bool {
        let mut state = self.policy.begin();
        loop {
            if self.shutdown.is_cancelled() {
                return false;
            }
            // No gate in these strategies: admission always succeeds.
            let _ = self.policy.admit(&mut state);
            let status = match self.http.post(&self.url).json(change).send().await {
                Ok(r) if r.status().is_success() => {
                    self.policy.on_success(&state);
                    inc(&self.metrics.sink_ok);
                    self.health.record(true);
                    if let Some(ms) = change.commit_ms() {
                        let lag = (chrono::Utc::now().timestamp_millis() - ms).max(0) as u64;
                        self.metrics.sync_lag_ms.store(lag, Ordering::Relaxed);
                    }
                    return true;
                }
                Ok(r) => Some(r.status().as_u16()),
                Err(_) => None,
            };
            inc(&self.metrics.sink_error);
            self.health.record(false);
            let failure = SinkFailure(if self.blind { None } else { status });
            let delay = match self.policy.should_retry(&mut state, &failure) {
                Decision::RetryAfter(d) if self.blind => d.max(BLIND_RETRY_FLOOR),
                Decision::RetryAfter(d) => d,
                Decision::GiveUp(reason) => {
                    tracing::warn!(
                        "sink refused the change to {} {} (HTTP {status:?}, {reason}); skipping it",
                        change.object,
                        change.id
                    );
                    return true;
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = self.shutdown.cancelled() => return false,
            }
        }
    }
}
