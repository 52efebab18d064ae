//! [`RetryPolicy`]: one strategy's backoff, attempt limit, budget and gate, shared by every task of a
//! client.
//!
//! Budgets, quotas, breakers and throttles only work if every request of a client sees the same state,
//! so the policy is a cheap `Clone` handle over shared state. Per-operation state (attempt count, the
//! previous sleep for decorrelated jitter, tokens taken) lives in a [`RetryState`] the caller owns.
//!
//! The protocol for one logical operation:
//!
//! 1. [`RetryPolicy::begin`] — once; deposits into the budget.
//! 2. [`RetryPolicy::admit`] — before every attempt; breakers, adaptive throttling and an exhausted daily
//!    allocation reject here, locally, without touching the network.
//! 3. After the attempt: [`RetryPolicy::on_success`], or [`RetryPolicy::should_retry`] which returns
//!    [`Decision::RetryAfter`] (sleep, then go to 2) or [`Decision::GiveUp`] with the reason.
//!
//! [`super::run_with_retry`] runs this loop for you.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tokio::time::Instant;

use super::adaptive::AdaptiveThrottle;
use super::breaker::{Admission, BreakerState, CircuitBreaker};
use super::budget::RetryBudget;
use super::classify::{Classify, Retryability};
use super::spec::{Gate, RetrySpec, SpecError};
use super::token_bucket::TokenBucket;

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Sleep this long, then try again (after [`RetryPolicy::admit`]). A reauth-class failure yields
    /// `RetryAfter(ZERO)`: log in again before retrying.
    RetryAfter(Duration),
    /// Stop; the reason says whose decision it was.
    GiveUp(GiveUpReason),
}

/// Why an operation stopped without success.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GiveUpReason {
    /// The failure cannot be cured by repetition (validation, not found, …).
    #[error("the error is not retryable")]
    NotRetryable,
    /// The per-operation attempt limit was reached.
    #[error("reached the limit of {attempts} attempts")]
    MaxAttempts { attempts: u32 },
    /// The client-wide retry budget is spent.
    #[error("retry budget exhausted")]
    BudgetExhausted,
    /// The token-bucket retry quota is empty.
    #[error("retry quota exhausted")]
    QuotaExhausted,
    /// The circuit breaker is open; it will probe again after `retry_in`.
    #[error("circuit breaker open (next probe in {retry_in:?})")]
    BreakerOpen { retry_in: Duration },
    /// Adaptive throttling rejected the attempt locally.
    #[error("rejected locally by adaptive throttling")]
    Throttled,
    /// The org's daily API allocation is exhausted; nothing is sent before `retry_not_before`.
    #[error("daily API allocation exhausted; not sending before the hold expires")]
    LimitExhausted { retry_not_before: Instant },
    /// The session stayed invalid after the allowed re-logins.
    #[error("session still invalid after re-authenticating")]
    ReauthExhausted,
    /// The session is invalid and the caller gave no way to log in again.
    #[error("session invalid and no re-authentication hook was given")]
    ReauthRequired,
    /// Logging in again failed.
    #[error("re-authentication failed")]
    ReauthFailed,
}

impl GiveUpReason {
    /// Whether the policy (not the server's answer) stopped the operation: the signature of a budget,
    /// quota, breaker or throttle doing its job.
    pub fn is_local_rejection(&self) -> bool {
        matches!(
            self,
            GiveUpReason::BudgetExhausted
                | GiveUpReason::QuotaExhausted
                | GiveUpReason::BreakerOpen { .. }
                | GiveUpReason::Throttled
                | GiveUpReason::LimitExhausted { .. }
        )
    }
}

/// Counters a reference integration reports as metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetryStats {
    /// Logical operations begun.
    pub operations: u64,
    /// Attempts admitted (sent).
    pub attempts: u64,
    /// Retries scheduled.
    pub retries: u64,
    /// Operations that succeeded.
    pub successes: u64,
    /// Attempts rejected locally (breaker, throttle, limit hold).
    pub rejected_locally: u64,
    /// Retries refused by the budget.
    pub budget_denied: u64,
    /// Retries refused by the token bucket.
    pub quota_denied: u64,
    /// Times the daily-allocation hold was (re)started.
    pub limit_holds: u64,
}

/// Per-operation state; create with [`RetryPolicy::begin`].
#[derive(Debug, Clone)]
pub struct RetryState {
    attempts: u32,
    retries: u32,
    reauths: u32,
    prev_delay: Duration,
    quota_taken: f64,
    admission: Admission,
}

impl RetryState {
    /// Attempts admitted so far.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Retries scheduled so far.
    pub fn retries(&self) -> u32 {
        self.retries
    }

    /// The last sleep scheduled (zero before the first retry).
    pub fn last_delay(&self) -> Duration {
        self.prev_delay
    }
}

#[derive(Debug)]
enum GateState {
    None,
    TokenBucket(TokenBucket),
    Breaker(CircuitBreaker),
    Adaptive(AdaptiveThrottle),
}

#[derive(Debug)]
struct State {
    rng: ChaCha8Rng,
    budget: Option<RetryBudget>,
    gate: GateState,
    limit_hold_until: Option<Instant>,
    stats: RetryStats,
}

#[derive(Debug)]
struct Shared {
    spec: RetrySpec,
    /// parking_lot (no poisoning); held only for arithmetic, never across an `.await`.
    state: Mutex<State>,
}

/// A retry strategy with its shared state. Clone it to share it between tasks.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    shared: Arc<Shared>,
}

impl RetryPolicy {
    /// A policy drawing its randomness from `rng`. Call inside a Tokio runtime (the clock is Tokio's).
    pub fn new(spec: RetrySpec, rng: ChaCha8Rng) -> Self {
        let now = Instant::now();
        let gate = match spec.gate {
            Gate::None => GateState::None,
            Gate::TokenBucket(cfg) => GateState::TokenBucket(TokenBucket::new(cfg)),
            Gate::CircuitBreaker(cfg) => GateState::Breaker(CircuitBreaker::new(cfg, now)),
            Gate::Adaptive(cfg) => GateState::Adaptive(AdaptiveThrottle::new(cfg, now)),
        };
        let state = State {
            rng,
            budget: spec.budget.map(|b| RetryBudget::new(b, now)),
            gate,
            limit_hold_until: None,
            stats: RetryStats::default(),
        };
        Self {
            shared: Arc::new(Shared {
                spec,
                state: Mutex::new(state),
            }),
        }
    }

    /// A policy seeded with `ChaCha8Rng::seed_from_u64(seed)`.
    pub fn from_seed(spec: RetrySpec, seed: u64) -> Self {
        Self::new(spec, ChaCha8Rng::seed_from_u64(seed))
    }

    /// Parse a strategy string (see [`super::spec`]) and seed the policy.
    pub fn parse(spec: &str, seed: u64) -> Result<Self, SpecError> {
        Ok(Self::from_seed(spec.parse()?, seed))
    }

    /// The strategy this policy runs.
    pub fn spec(&self) -> &RetrySpec {
        &self.shared.spec
    }

    /// Start a logical operation: deposit into the budget and fill a Brooker bucket.
    pub fn begin(&self) -> RetryState {
        let now = Instant::now();
        let mut s = self.shared.state.lock();
        if let Some(b) = s.budget.as_mut() {
            b.deposit(now);
        }
        if let GateState::TokenBucket(tb) = &mut s.gate {
            tb.on_call_start();
        }
        s.stats.operations += 1;
        RetryState {
            attempts: 0,
            retries: 0,
            reauths: 0,
            prev_delay: Duration::ZERO,
            quota_taken: 0.0,
            admission: Admission::Normal,
        }
    }

    /// Ask to send the next attempt. `Err` means it must not go out (breaker open, throttled, or the
    /// daily allocation is on hold); nothing was sent.
    pub fn admit(&self, st: &mut RetryState) -> Result<(), GiveUpReason> {
        let now = Instant::now();
        let mut guard = self.shared.state.lock();
        let s = &mut *guard;
        if let Some(until) = s.limit_hold_until {
            if now < until {
                s.stats.rejected_locally += 1;
                return Err(GiveUpReason::LimitExhausted {
                    retry_not_before: until,
                });
            }
            // The hold is over: let traffic test whether usage has aged out.
            s.limit_hold_until = None;
        }
        match &mut s.gate {
            GateState::Breaker(b) => match b.try_acquire(now) {
                Ok(admission) => st.admission = admission,
                Err(retry_in) => {
                    s.stats.rejected_locally += 1;
                    return Err(GiveUpReason::BreakerOpen { retry_in });
                }
            },
            GateState::Adaptive(a) => {
                if !a.admit(now, &mut s.rng) {
                    s.stats.rejected_locally += 1;
                    return Err(GiveUpReason::Throttled);
                }
            }
            GateState::None | GateState::TokenBucket(_) => {}
        }
        st.attempts += 1;
        s.stats.attempts += 1;
        Ok(())
    }

    /// The last attempt succeeded.
    pub fn on_success(&self, st: &RetryState) {
        let now = Instant::now();
        let mut guard = self.shared.state.lock();
        let s = &mut *guard;
        match &mut s.gate {
            GateState::Breaker(b) => b.on_success(now, st.admission),
            GateState::Adaptive(a) => a.on_accepted(now),
            GateState::TokenBucket(tb) => tb.on_success(st.quota_taken),
            GateState::None => {}
        }
        s.limit_hold_until = None;
        s.stats.successes += 1;
    }

    /// The last attempt failed with `failure`: decide whether and when to retry. Also reports the
    /// outcome to the breaker or throttle, so call it exactly once per failed attempt.
    pub fn should_retry<C: Classify + ?Sized>(&self, st: &mut RetryState, failure: &C) -> Decision {
        let class = failure.retryability();
        let now = Instant::now();
        let spec = &self.shared.spec;
        let mut guard = self.shared.state.lock();
        let s = &mut *guard;

        let server_trouble = matches!(
            class,
            Retryability::Retryable | Retryability::LimitExhausted
        );
        match &mut s.gate {
            GateState::Breaker(b) if server_trouble => b.on_failure(now, st.admission),
            GateState::Breaker(b) => b.on_success(now, st.admission),
            GateState::Adaptive(a) if !server_trouble => a.on_accepted(now),
            _ => {}
        }
        st.admission = Admission::Normal;

        match class {
            Retryability::NotRetryable => Decision::GiveUp(GiveUpReason::NotRetryable),
            Retryability::LimitExhausted => {
                let until = now + spec.limit_hold;
                if !spec.limit_hold.is_zero() {
                    s.limit_hold_until = Some(until);
                    s.stats.limit_holds += 1;
                }
                Decision::GiveUp(GiveUpReason::LimitExhausted {
                    retry_not_before: until,
                })
            }
            Retryability::RetryableAfterReauth => {
                if st.reauths < spec.max_reauth {
                    st.reauths += 1;
                    Decision::RetryAfter(Duration::ZERO)
                } else {
                    Decision::GiveUp(GiveUpReason::ReauthExhausted)
                }
            }
            Retryability::Retryable => {
                let made = st.attempts.max(st.retries + 1);
                if spec.max_attempts.is_some_and(|max| made >= max) {
                    return Decision::GiveUp(GiveUpReason::MaxAttempts { attempts: made });
                }
                if s.budget.as_ref().is_some_and(|b| b.balance(now) < 1.0) {
                    s.stats.budget_denied += 1;
                    return Decision::GiveUp(GiveUpReason::BudgetExhausted);
                }
                if let GateState::TokenBucket(tb) = &mut s.gate {
                    match tb.try_acquire_retry(failure.is_timeout()) {
                        Some(cost) => st.quota_taken += cost,
                        None => {
                            s.stats.quota_denied += 1;
                            return Decision::GiveUp(GiveUpReason::QuotaExhausted);
                        }
                    }
                }
                if let Some(b) = s.budget.as_mut() {
                    b.try_withdraw(now);
                }
                st.retries += 1;
                let delay = spec.backoff.delay(st.retries, st.prev_delay, &mut s.rng);
                st.prev_delay = delay;
                s.stats.retries += 1;
                Decision::RetryAfter(delay)
            }
        }
    }

    /// Feed the latest `Sforce-Limit-Info` (`used`/`max`). Usage at the maximum starts the hold;
    /// usage below it (allocation aged out) ends it early.
    pub fn observe_limit(&self, used: u64, max: u64) {
        let now = Instant::now();
        let mut s = self.shared.state.lock();
        if max > 0 && used >= max {
            if s.limit_hold_until.is_none_or(|u| u <= now) && !self.shared.spec.limit_hold.is_zero()
            {
                s.limit_hold_until = Some(now + self.shared.spec.limit_hold);
                s.stats.limit_holds += 1;
            }
        } else {
            s.limit_hold_until = None;
        }
    }

    /// Until when sending is on hold because the daily allocation is exhausted.
    pub fn limit_exhausted_until(&self) -> Option<Instant> {
        let now = Instant::now();
        self.shared
            .state
            .lock()
            .limit_hold_until
            .filter(|until| *until > now)
    }

    /// Counters so far.
    pub fn stats(&self) -> RetryStats {
        self.shared.state.lock().stats
    }

    /// The breaker's state, for a circuit-breaker policy.
    pub fn breaker_state(&self) -> Option<BreakerState> {
        let now = Instant::now();
        match &self.shared.state.lock().gate {
            GateState::Breaker(b) => Some(b.state(now)),
            _ => None,
        }
    }

    /// The current local-rejection probability, for an adaptive policy.
    pub fn reject_probability(&self) -> Option<f64> {
        let now = Instant::now();
        match &self.shared.state.lock().gate {
            GateState::Adaptive(a) => Some(a.reject_probability(now)),
            _ => None,
        }
    }

    /// Tokens left, for a token-bucket policy.
    pub fn quota_tokens(&self) -> Option<f64> {
        match &self.shared.state.lock().gate {
            GateState::TokenBucket(tb) => Some(tb.tokens()),
            _ => None,
        }
    }

    /// Retries the budget would allow now, if the policy has one.
    pub fn budget_balance(&self) -> Option<f64> {
        let now = Instant::now();
        self.shared
            .state
            .lock()
            .budget
            .as_ref()
            .map(|b| b.balance(now))
    }
}
