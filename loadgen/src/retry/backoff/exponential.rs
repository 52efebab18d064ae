//! Capped exponential backoff without jitter: `min(cap, base·2^n)`. Every client that failed together
//! retries together, which is why Brooker's table shows it 10–13× slower than full jitter.

use std::time::Duration;

/// `min(cap, base·2^n)`, saturating instead of overflowing for large `n`.
pub fn ceiling(base: Duration, cap: Duration, n: u32) -> Duration {
    let factor = 1u32.checked_shl(n).unwrap_or(0);
    if factor == 0 {
        return cap;
    }
    base.checked_mul(factor).map_or(cap, |v| v.min(cap))
}

pub(super) fn delay(base: Duration, cap: Duration, n: u32) -> Duration {
    ceiling(base, cap, n)
}
