//! [`Salesforce`]: every Salesforce call of the engine goes through [`Salesforce::call`], which is the
//! one place retries happen — "retry at a single point in the stack" (Amazon Builders' Library).
//!
//! Two switches are read here:
//!
//! * **`blind_retries`** — on: every error is treated as retryable, attempts are unlimited and the
//!   daily allocation is ignored; the only pause is the strategy's wait (none by default) with a
//!   [`BLIND_RETRY_FLOOR`]. Off: the error's own [`Retryability`] decides, under the configured
//!   [`RetryPolicy`] (backoff, attempt limit, budget, gate), re-logging in after `INVALID_SESSION_ID`,
//!   and `Sforce-Limit-Info` feeds [`RetryPolicy::observe_limit`] so nothing is sent while the daily
//!   allocation is spent.
//! * **`availability`** — on: a connection that is refused, reset or timed out is not something the
//!   code expected, so the call fails at once as [`CallError::Unavailable`] (and the caller drops the
//!   work). Off: such failures are retryable like any other transient error.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::retry::{Classify, Decision, GiveUpReason, RetryPolicy, RetryState, Retryability};
use crate::sf::{SfClient, SfError};

use super::health::Health;
use super::metrics::Metrics;

/// The least a blind retry loop waits between attempts. Not a backoff: it only keeps a reference
/// build from burning a CPU core when Salesforce answers in microseconds on loopback. Timing
/// analysis still sees a fixed, immediate retry.
pub const BLIND_RETRY_FLOOR: Duration = Duration::from_millis(10);

/// Why a call did not succeed, in the terms the caller acts on.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CallError {
    /// Salesforce said no for good (validation, not found, malformed): the work item is wrong.
    #[error("rejected by Salesforce: {0}")]
    Rejected(SfError),
    /// Salesforce could not be reached or kept failing; the work item is still valid.
    #[error("Salesforce unavailable: {0}")]
    Unavailable(String),
    /// The org's daily API allocation is spent; send nothing before the instant.
    #[error("daily API allocation exhausted")]
    LimitHold(tokio::time::Instant),
    /// The integration is shutting down.
    #[error("shutting down")]
    Shutdown,
}

/// How a failure is judged once the profile has had its say (blind retries judge everything
/// retryable).
struct Judged {
    class: Retryability,
    timeout: bool,
}

impl Classify for Judged {
    fn retryability(&self) -> Retryability {
        self.class
    }

    fn is_timeout(&self) -> bool {
        self.timeout
    }
}

/// The Salesforce client with the profile's retry behaviour. Shared by every task.
#[derive(Debug)]
pub struct Salesforce {
    client: SfClient,
    policy: RetryPolicy,
    blind: bool,
    assumes_available: bool,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    shutdown: CancellationToken,
    /// Serialises re-logins so a burst of 401s costs one login, not one per task.
    reauth: tokio::sync::Mutex<()>,
}

impl Salesforce {
    pub fn new(
        client: SfClient,
        policy: RetryPolicy,
        blind: bool,
        assumes_available: bool,
        metrics: Arc<Metrics>,
        health: Arc<Health>,
        shutdown: CancellationToken,
    ) -> Self {
        Self {
            client,
            policy,
            blind,
            assumes_available,
            metrics,
            health,
            shutdown,
            reauth: tokio::sync::Mutex::new(()),
        }
    }

    /// The raw client (for the streaming connection, which has its own reconnect protocol).
    pub fn client(&self) -> &SfClient {
        &self.client
    }

    /// The retry policy (its stats and limit hold are reported as metrics).
    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// The integration user's id, once logged in.
    pub fn user_id(&self) -> Option<String> {
        self.client.session().and_then(|s| s.user_id)
    }

    /// Run one logical operation (`op` makes exactly one HTTP request per invocation) under the
    /// profile's retry behaviour.
    pub async fn call<T, F, Fut>(&self, mut op: F) -> Result<T, CallError>
    where
        F: FnMut(SfClient) -> Fut,
        Fut: Future<Output = Result<T, SfError>>,
    {
        let mut state = self.policy.begin();
        loop {
            if self.shutdown.is_cancelled() {
                return Err(CallError::Shutdown);
            }
            if let Err(reason) = self.policy.admit(&mut state) {
                return Err(match reason {
                    GiveUpReason::LimitExhausted { retry_not_before } => {
                        CallError::LimitHold(retry_not_before)
                    }
                    other => CallError::Unavailable(other.to_string()),
                });
            }
            let token = self.client.session().map(|s| s.access_token);
            let result = op(self.client.clone()).await;
            self.observe(&result);
            let error = match result {
                Ok(value) => {
                    self.policy.on_success(&state);
                    return Ok(value);
                }
                Err(e) => e,
            };
            if self.assumes_available && matches!(error, SfError::Transport { .. }) {
                return Err(CallError::Unavailable(error.to_string()));
            }
            let class = if self.blind {
                Retryability::Retryable
            } else {
                error.retryability()
            };
            let judged = Judged {
                class,
                timeout: error.is_timeout(),
            };
            let delay = match self.policy.should_retry(&mut state, &judged) {
                Decision::RetryAfter(delay) => delay,
                Decision::GiveUp(GiveUpReason::NotRetryable) => {
                    return Err(CallError::Rejected(error))
                }
                Decision::GiveUp(GiveUpReason::LimitExhausted { retry_not_before }) => {
                    return Err(CallError::LimitHold(retry_not_before))
                }
                Decision::GiveUp(reason) => {
                    return Err(CallError::Unavailable(format!(
                        "{reason} (last error: {error})"
                    )))
                }
            };
            if class == Retryability::RetryableAfterReauth {
                if let Err(e) = self.reauthenticate(token).await {
                    return Err(CallError::Unavailable(format!("re-login failed: {e}")));
                }
            }
            let delay = if self.blind {
                delay.max(BLIND_RETRY_FLOOR)
            } else {
                delay
            };
            self.metrics.retry(delay);
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = self.shutdown.cancelled() => return Err(CallError::Shutdown),
            }
        }
    }

    /// Whether another optimistic-concurrency attempt may start (a breaker or adaptive gate can say
    /// no, and nothing is sent while the daily allocation is spent).
    pub fn admit_conflict_retry(&self, state: &mut RetryState) -> Result<(), CallError> {
        self.policy.admit(state).map_err(|reason| match reason {
            GiveUpReason::LimitExhausted { retry_not_before } => {
                CallError::LimitHold(retry_not_before)
            }
            other => CallError::Unavailable(other.to_string()),
        })
    }

    /// A conflict (412 on a conditional write) is retried with a fresh read, paced by the configured
    /// policy exactly like any retryable failure — which is what makes the strategies comparable in
    /// Brooker's contention experiment. `Err` when the policy gives up.
    pub async fn conflict_backoff(&self, state: &mut RetryState) -> Result<(), CallError> {
        let judged = Judged {
            class: Retryability::Retryable,
            timeout: false,
        };
        let delay = match self.policy.should_retry(state, &judged) {
            Decision::RetryAfter(delay) => delay,
            Decision::GiveUp(reason) => {
                return Err(CallError::Unavailable(format!(
                    "{reason} (the record kept changing)"
                )))
            }
        };
        self.metrics.retry(delay);
        tokio::select! {
            _ = tokio::time::sleep(delay) => Ok(()),
            _ = self.shutdown.cancelled() => Err(CallError::Shutdown),
        }
    }

    /// Log in (the first time, or again after the session died). When several tasks saw the same
    /// dead token, only the first logs in; the others find a new token and return.
    pub async fn reauthenticate(&self, stale: Option<String>) -> Result<(), SfError> {
        let _one_at_a_time = self.reauth.lock().await;
        let current = self.client.session().map(|s| s.access_token);
        if current.is_some() && current != stale {
            return Ok(());
        }
        let result = if current.is_none() {
            self.client.login().await
        } else {
            self.client.reauthenticate().await
        };
        match &result {
            Ok(_) => self.metrics.request("2xx"),
            Err(e) => {
                if let Some(label) = request_label(e) {
                    self.metrics.request(&label);
                }
            }
        }
        result.map(drop)
    }

    /// Count the request, feed the health window and (unless retrying blindly) the daily-allocation
    /// guard.
    fn observe<T>(&self, result: &Result<T, SfError>) {
        let (label, healthy) = match result {
            Ok(_) => (Some("2xx".to_string()), true),
            Err(e) => (
                request_label(e),
                !matches!(
                    e.retryability(),
                    Retryability::Retryable | Retryability::LimitExhausted
                ),
            ),
        };
        if let Some(label) = label {
            self.metrics.request(&label);
            self.health.record(healthy);
        }
        if let Some(info) = self.client.limit_info() {
            self.metrics.api_usage(info.used, info.max);
            if !self.blind {
                self.policy.observe_limit(info.used, info.max);
            }
        }
    }
}

/// The `status` label of a failed request: its HTTP status, `transport` / `decode` when there was no
/// usable response, `None` when nothing was sent.
fn request_label(e: &SfError) -> Option<String> {
    match e {
        SfError::Transport { .. } => Some("transport".to_string()),
        SfError::Decode { .. } => Some("decode".to_string()),
        SfError::InvalidRequest(_) => None,
        SfError::Api { status, .. } | SfError::Auth { status, .. } => Some(status.to_string()),
    }
}
