//! The org's rolling daily API allocation.
//!
//! Salesforce counts API requests over a rolling 24-hour window, reports usage on every metered response
//! as `Sforce-Limit-Info: api-usage=used/max`, and refuses calls with 403 REQUEST_LIMIT_EXCEEDED
//! (`TotalRequests Limit exceeded.`) once the allocation is spent. Scenarios may squeeze the window
//! (`api_window = "10m"`) so exhaustion and recovery fit in a test run. Usage is counted in buckets of
//! 1/1440 of the window (one minute for a day), so calls age out of the window in order.

use std::collections::VecDeque;
use std::time::Duration;

/// Salesforce's message for the daily allocation.
pub const TOTAL_REQUESTS_EXCEEDED: &str = "TotalRequests Limit exceeded.";

#[derive(Debug)]
pub struct ApiAllocation {
    inner: parking_lot::Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    max: u64,
    window_ms: u64,
    bucket_ms: u64,
    /// (bucket start on the scenario clock in ms, calls in that bucket)
    buckets: VecDeque<(u64, u64)>,
    used: u64,
}

impl Inner {
    fn expire(&mut self, now_ms: u64) {
        let horizon = now_ms.saturating_sub(self.window_ms);
        while let Some((start, n)) = self.buckets.front().copied() {
            // A bucket ages out once its whole span is older than the window.
            if start + self.bucket_ms <= horizon {
                self.buckets.pop_front();
                self.used = self.used.saturating_sub(n);
            } else {
                break;
            }
        }
    }

    fn add(&mut self, now_ms: u64, n: u64) {
        let start = now_ms - now_ms % self.bucket_ms;
        match self.buckets.back_mut() {
            Some((s, c)) if *s == start => *c += n,
            _ => self.buckets.push_back((start, n)),
        }
        self.used += n;
    }
}

impl ApiAllocation {
    pub fn new(max: u64, window: Duration) -> ApiAllocation {
        let window_ms = (window.as_millis() as u64).max(1);
        ApiAllocation {
            inner: parking_lot::Mutex::new(Inner {
                max,
                window_ms,
                bucket_ms: (window_ms / 1440).max(1),
                buckets: VecDeque::new(),
                used: 0,
            }),
        }
    }

    /// Charge `n` calls at scenario time `now`. Refused (nothing charged) when the allocation is spent.
    pub fn try_charge(&self, now: Duration, n: u64) -> Result<(u64, u64), (u64, u64)> {
        let now_ms = now.as_millis() as u64;
        let mut g = self.inner.lock();
        g.expire(now_ms);
        if g.used >= g.max {
            return Err((g.used, g.max));
        }
        g.add(now_ms, n);
        Ok((g.used, g.max))
    }

    /// Charge without refusing (calls that were already admitted, e.g. composite/batch subrequests).
    pub fn charge(&self, now: Duration, n: u64) -> (u64, u64) {
        let now_ms = now.as_millis() as u64;
        let mut g = self.inner.lock();
        g.expire(now_ms);
        g.add(now_ms, n);
        (g.used, g.max)
    }

    /// (used, max) at scenario time `now`.
    pub fn usage(&self, now: Duration) -> (u64, u64) {
        let mut g = self.inner.lock();
        g.expire(now.as_millis() as u64);
        (g.used, g.max)
    }

    /// Reconfigure: a new max, window, and a starting usage placed at `now` (it ages out one window later).
    pub fn configure(&self, now: Duration, max: u64, window: Duration, used: Option<u64>) {
        let mut g = self.inner.lock();
        g.max = max;
        g.window_ms = (window.as_millis() as u64).max(1);
        g.bucket_ms = (g.window_ms / 1440).max(1);
        if let Some(u) = used {
            g.buckets.clear();
            g.used = 0;
            if u > 0 {
                g.add(now.as_millis() as u64, u);
            }
        }
    }

    pub fn window(&self) -> Duration {
        Duration::from_millis(self.inner.lock().window_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_when_spent_and_recovers_after_the_window() {
        let a = ApiAllocation::new(3, Duration::from_secs(60));
        let t = Duration::from_secs;
        assert_eq!(a.try_charge(t(0), 1), Ok((1, 3)));
        assert_eq!(a.try_charge(t(10), 1), Ok((2, 3)));
        assert_eq!(a.try_charge(t(20), 1), Ok((3, 3)));
        assert_eq!(a.try_charge(t(30), 1), Err((3, 3)));
        // The first call ages out 60 s after it was made.
        assert_eq!(a.usage(t(61)), (2, 3));
        assert_eq!(a.try_charge(t(61), 1), Ok((3, 3)));
    }
}
