//! Decorrelated jitter: `min(cap, U(base, 3·prev))` with `prev` starting at `base`. Its state is the
//! previous sleep of the same operation, kept per operation as in Brooker's simulator (one client = one
//! operation there). Known caveat (Polly #530): clamping at the cap makes sleeps pile up at `cap`.

use std::time::Duration;

use rand::Rng;

use super::uniform;

pub(super) fn bounds(base: Duration, cap: Duration, prev: Duration) -> (Duration, Duration) {
    let prev = if prev.is_zero() { base } else { prev };
    let hi = prev.saturating_mul(3);
    (base.min(cap), hi.max(base).min(cap))
}

pub(super) fn delay<R: Rng + ?Sized>(
    base: Duration,
    cap: Duration,
    prev: Duration,
    rng: &mut R,
) -> Duration {
    let prev = if prev.is_zero() { base } else { prev };
    let hi = prev.saturating_mul(3).max(base);
    uniform(base, hi, rng).min(cap)
}
