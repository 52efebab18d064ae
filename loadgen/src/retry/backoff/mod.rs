//! Backoff formulas (resilience-reference.md §1, after Brooker's "Exponential Backoff And Jitter").
//!
//! # Attempt numbering
//!
//! `retry` counts retries from **1**: the first retry (the second attempt) sleeps with `n = 1`. This is
//! the order of Brooker's simulator, which increments `attempt` *before* sleeping, so the first
//! exponential sleep is `2·base` (10 ms for base 5 ms). `sfchaos compare` reproduces his table with the
//! same numbering, so do not "fix" it to start at zero.
//!
//! | strategy | sleep before retry n |
//! |---|---|
//! | none | 0 |
//! | fixed | `delay` |
//! | exponential | `min(cap, base·2^n)` |
//! | full jitter | `U(0, v)`, `v = min(cap, base·2^n)` |
//! | equal jitter | `v/2 + U(0, v/2)` |
//! | decorrelated | `min(cap, U(base, 3·prev))`, `prev` starting at `base` |
//!
//! Every random draw comes from the RNG passed in, so a seed fixes the sequence.

mod decorrelated;
mod exponential;
mod fixed;
mod jitter;

use std::fmt;
use std::time::Duration;

use rand::Rng;

pub use exponential::ceiling;

/// One backoff formula with its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backoff {
    /// Retry at once.
    None,
    /// The same sleep before every retry.
    Fixed { delay: Duration },
    /// Doubling, capped, no jitter.
    Exponential { base: Duration, cap: Duration },
    /// Uniform over `[0, exponential ceiling]`.
    FullJitter { base: Duration, cap: Duration },
    /// Half the ceiling plus uniform over the other half.
    EqualJitter { base: Duration, cap: Duration },
    /// Each sleep drawn from `[base, 3·previous sleep]`, capped.
    Decorrelated { base: Duration, cap: Duration },
}

impl Backoff {
    /// The sleep before retry number `retry` (1-based). `prev` is the previous sleep of the same
    /// operation (`Duration::ZERO` before the first retry); only decorrelated jitter uses it.
    pub fn delay<R: Rng + ?Sized>(&self, retry: u32, prev: Duration, rng: &mut R) -> Duration {
        match *self {
            Backoff::None => Duration::ZERO,
            Backoff::Fixed { delay } => fixed::delay(delay),
            Backoff::Exponential { base, cap } => exponential::delay(base, cap, retry),
            Backoff::FullJitter { base, cap } => jitter::full(base, cap, retry, rng),
            Backoff::EqualJitter { base, cap } => jitter::equal(base, cap, retry, rng),
            Backoff::Decorrelated { base, cap } => decorrelated::delay(base, cap, prev, rng),
        }
    }

    /// The closed range the formula draws retry `retry` from — what tests and the scorer check a
    /// sleep against.
    pub fn bounds(&self, retry: u32, prev: Duration) -> (Duration, Duration) {
        match *self {
            Backoff::None => (Duration::ZERO, Duration::ZERO),
            Backoff::Fixed { delay } => (delay, delay),
            Backoff::Exponential { base, cap } => {
                let v = ceiling(base, cap, retry);
                (v, v)
            }
            Backoff::FullJitter { base, cap } => (Duration::ZERO, ceiling(base, cap, retry)),
            Backoff::EqualJitter { base, cap } => {
                let v = ceiling(base, cap, retry);
                (v / 2, v)
            }
            Backoff::Decorrelated { base, cap } => decorrelated::bounds(base, cap, prev),
        }
    }

    /// The strategy name as used in strategy strings.
    pub fn name(&self) -> &'static str {
        match self {
            Backoff::None => "none",
            Backoff::Fixed { .. } => "fixed",
            Backoff::Exponential { .. } => "exponential",
            Backoff::FullJitter { .. } => "full-jitter",
            Backoff::EqualJitter { .. } => "equal-jitter",
            Backoff::Decorrelated { .. } => "decorrelated",
        }
    }
}

impl fmt::Display for Backoff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A uniform draw from `[lo, hi]` at nanosecond resolution.
pub(crate) fn uniform<R: Rng + ?Sized>(lo: Duration, hi: Duration, rng: &mut R) -> Duration {
    if hi <= lo {
        return lo;
    }
    let span = (hi - lo).as_nanos() as f64;
    let offset = (span * rng.random::<f64>()) as u64;
    lo + Duration::from_nanos(offset)
}
