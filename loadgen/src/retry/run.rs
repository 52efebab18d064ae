//! The retry loop as a function: the policy protocol (`begin` → `admit` → attempt → `should_retry` →
//! sleep) in one place, sleeping through `tokio::time` so tests can run it on a paused clock.

use std::fmt;
use std::future::Future;

use super::classify::{Classify, Retryability};
use super::policy::{Decision, GiveUpReason, RetryPolicy};

/// An operation that did not succeed: why the loop stopped, how many attempts went out, and the last
/// error seen (absent when the very first attempt was rejected locally).
#[derive(Debug)]
pub struct RetryError<E> {
    /// Who stopped the operation and why.
    pub reason: GiveUpReason,
    /// Attempts actually sent.
    pub attempts: u32,
    /// The last error returned by the operation (or by the re-login, for `ReauthFailed`).
    pub last_error: Option<E>,
}

impl<E> RetryError<E> {
    /// The last error, if any attempt was made.
    pub fn into_last_error(self) -> Option<E> {
        self.last_error
    }
}

impl<E: fmt::Display> fmt::Display for RetryError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "gave up after {} attempt(s): {}",
            self.attempts, self.reason
        )?;
        if let Some(e) = &self.last_error {
            write!(f, " (last error: {e})")?;
        }
        Ok(())
    }
}

impl<E: std::error::Error + 'static> std::error::Error for RetryError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.last_error
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Run `op` under `policy`. A session-expired failure ends the loop with
/// [`GiveUpReason::ReauthRequired`]; use [`run_with_retry_reauth`] to log in again instead.
pub async fn run_with_retry<T, E, F, Fut>(policy: &RetryPolicy, op: F) -> Result<T, RetryError<E>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: Classify,
{
    run(
        policy,
        op,
        None::<fn() -> std::future::Ready<Result<(), E>>>,
    )
    .await
}

/// Like [`run_with_retry`], calling `reauth` (e.g. `client.reauthenticate()`) before retrying a call
/// that failed with an invalid session. Re-logins per operation are limited by the policy (`reauth=`).
pub async fn run_with_retry_reauth<T, E, F, Fut, R, RFut>(
    policy: &RetryPolicy,
    op: F,
    reauth: R,
) -> Result<T, RetryError<E>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    R: FnMut() -> RFut,
    RFut: Future<Output = Result<(), E>>,
    E: Classify,
{
    run(policy, op, Some(reauth)).await
}

async fn run<T, E, F, Fut, R, RFut>(
    policy: &RetryPolicy,
    mut op: F,
    mut reauth: Option<R>,
) -> Result<T, RetryError<E>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    R: FnMut() -> RFut,
    RFut: Future<Output = Result<(), E>>,
    E: Classify,
{
    let mut st = policy.begin();
    let mut last_error = None;
    loop {
        if let Err(reason) = policy.admit(&mut st) {
            return Err(RetryError {
                reason,
                attempts: st.attempts(),
                last_error,
            });
        }
        let error = match op().await {
            Ok(value) => {
                policy.on_success(&st);
                return Ok(value);
            }
            Err(e) => e,
        };
        let delay = match policy.should_retry(&mut st, &error) {
            Decision::RetryAfter(delay) => delay,
            Decision::GiveUp(reason) => {
                return Err(RetryError {
                    reason,
                    attempts: st.attempts(),
                    last_error: Some(error),
                })
            }
        };
        if error.retryability() == Retryability::RetryableAfterReauth {
            let Some(login) = reauth.as_mut() else {
                return Err(RetryError {
                    reason: GiveUpReason::ReauthRequired,
                    attempts: st.attempts(),
                    last_error: Some(error),
                });
            };
            if let Err(e) = login().await {
                return Err(RetryError {
                    reason: GiveUpReason::ReauthFailed,
                    attempts: st.attempts(),
                    last_error: Some(e),
                });
            }
        }
        last_error = Some(error);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    }
}
