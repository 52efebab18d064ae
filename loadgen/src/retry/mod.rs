//! Retry strategies: backoff formulas, budgets, quotas, breakers and adaptive throttling
//! (resilience-reference.md §1–3), as used by `builtin:resilient` and benchmarked by `sfchaos compare`.
//!
//! The Salesforce client never retries; retrying is this module's job, and only the caller decides to
//! use it. That keeps "one call = one HTTP request" true for the scorer and lets one client be run under
//! any strategy.
//!
//! # Layout
//!
//! | file | what lives there |
//! |---|---|
//! | `classify.rs` | [`Retryability`] and the [`Classify`] trait errors implement |
//! | `backoff/` | the six sleep formulas, one file each family, and the attempt-numbering convention |
//! | `budget.rs` | Finagle / SRE retry budgets |
//! | `token_bucket.rs` | AWS-standard and Brooker retry quotas |
//! | `breaker.rs` | the circuit breaker |
//! | `adaptive.rs` | SRE client-side adaptive throttling |
//! | `spec.rs` | the strategy-string grammar and defaults |
//! | `policy.rs` | [`RetryPolicy`]: everything above behind one shared handle |
//! | `run.rs` | [`run_with_retry`]: the loop, sleeping via `tokio::time` |
//! | `window.rs` | the bucketed rolling window the stateful pieces share |
//!
//! # Determinism
//!
//! Every random draw comes from the policy's `ChaCha8Rng` (seeded by the caller), and every clock read is
//! `tokio::time::Instant`, so a seeded policy on a paused clock replays exactly.
//!
//! # To add a strategy
//!
//! 1. Put its state machine in its own file with a doc comment citing where the formula comes from.
//! 2. Add a [`Gate`] variant (or a [`Backoff`] variant for a pure sleep formula) and its defaults in
//!    `RetrySpec::named`; add the name to [`spec::STRATEGY_NAMES`].
//! 3. Parse its parameters in `spec.rs` and print them in `RetrySpec`'s `Display`.
//! 4. Wire it into `RetryPolicy::{admit, on_success, should_retry}` and add tests to
//!    `loadgen/tests/retry_strategies.rs`.

mod adaptive;
pub mod backoff;
mod breaker;
mod budget;
mod classify;
mod policy;
mod run;
pub mod spec;
mod token_bucket;
mod window;

pub use adaptive::{AdaptiveConfig, AdaptiveThrottle};
pub use backoff::Backoff;
pub use breaker::{Admission, BreakerConfig, BreakerState, CircuitBreaker};
pub use budget::{BudgetConfig, RetryBudget};
pub use classify::{Classify, Retryability};
pub use policy::{Decision, GiveUpReason, RetryPolicy, RetryState, RetryStats};
pub use run::{run_with_retry, run_with_retry_reauth, RetryError};
pub use spec::{Gate, RetrySpec, SpecError};
pub use token_bucket::{TokenBucket, TokenBucketConfig};
