//! Fixed delay: the same sleep before every retry. The scorer's "immediate or fixed" class (growth
//! factor ≈ 1): it spaces retries out but never backs off from a sustained failure.

use std::time::Duration;

pub(super) fn delay(delay: Duration) -> Duration {
    delay
}
