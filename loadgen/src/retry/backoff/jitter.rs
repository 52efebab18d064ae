//! Full and equal jitter. Full jitter spreads a cohort of failed clients uniformly over the whole
//! backoff window (CV of the first sleep = 1/√3 ≈ 0.577); equal jitter keeps half of the exponential
//! sleep and randomises the other half (CV ≈ 0.192), trading more work for a guaranteed minimum wait.

use std::time::Duration;

use rand::Rng;

use super::{ceiling, uniform};

pub(super) fn full<R: Rng + ?Sized>(
    base: Duration,
    cap: Duration,
    n: u32,
    rng: &mut R,
) -> Duration {
    uniform(Duration::ZERO, ceiling(base, cap, n), rng)
}

pub(super) fn equal<R: Rng + ?Sized>(
    base: Duration,
    cap: Duration,
    n: u32,
    rng: &mut R,
) -> Duration {
    let v = ceiling(base, cap, n);
    let half = v / 2;
    half + uniform(Duration::ZERO, v - half, rng)
}
