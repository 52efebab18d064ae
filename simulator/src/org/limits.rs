//! The org's rolling daily API allocation.
//!
//! Salesforce counts API requests over a rolling 24-hour window, reports usage on every metered response
//! as `Sforce-Limit-Info: api-usage=used/max`, and refuses calls with 403 REQUEST_LIMIT_EXCEEDED
//! (`TotalRequests Limit exceeded.`) once the allocation is spent. Scenarios may squeeze the window
//! (`api_window = "10m"`) so exhaustion and recovery fit in a test run. Usage is counted in buckets of
//! 1/1440 of the window (one minute for a day), so calls age out of the window in order.
//!
//! The same handle carries the org's other request limit, the cap on concurrent long-running
//! requests ([`ConcurrentRequests`]): Salesforce lets any number of short calls run at once, but only
//! 25 (5 in developer orgs) that have been running for 20 s or more; further calls get 403
//! `ConcurrentPerOrgLongTxn Limit exceeded.` until one of them finishes.

use std::collections::VecDeque;
use std::time::Duration;

/// Salesforce's message for the daily allocation.
pub const TOTAL_REQUESTS_EXCEEDED: &str = "TotalRequests Limit exceeded.";

/// Salesforce's message for the concurrent long-running request cap.
pub const CONCURRENT_LONG_TXN_EXCEEDED: &str = "ConcurrentPerOrgLongTxn Limit exceeded.";

/// How long a request must have run to count as long-running (Salesforce: 20 s).
pub const LONG_RUNNING_THRESHOLD: Duration = Duration::from_secs(20);

#[derive(Debug)]
pub struct ApiAllocation {
    inner: parking_lot::Mutex<Inner>,
    /// Requests in flight, for the long-running cap (kept here so that every limit of an org lives
    /// behind one handle).
    pub concurrent: ConcurrentRequests,
}

#[derive(Debug)]
struct Inner {
    max: u64,
    window_ms: u64,
    bucket_ms: u64,
    /// (bucket start on the scenario clock in ms, calls in that bucket)
    buckets: VecDeque<(u64, u64)>,
    used: u64,
    /// Usage that is not the org's own calls: a `rate-limit` fault's `remaining` while its window
    /// is open. Counted with `used`, never ages out, lifted when the window closes.
    offset: u64,
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
                offset: 0,
            }),
            concurrent: ConcurrentRequests::default(),
        }
    }

    /// Charge `n` calls at scenario time `now`. Refused (nothing charged) when the allocation is spent.
    pub fn try_charge(&self, now: Duration, n: u64) -> Result<(u64, u64), (u64, u64)> {
        let now_ms = now.as_millis() as u64;
        let mut g = self.inner.lock();
        g.expire(now_ms);
        if g.used + g.offset >= g.max {
            return Err((g.used + g.offset, g.max));
        }
        g.add(now_ms, n);
        Ok((g.used + g.offset, g.max))
    }

    /// Charge without refusing (calls that were already admitted, e.g. composite/batch subrequests).
    pub fn charge(&self, now: Duration, n: u64) -> (u64, u64) {
        let now_ms = now.as_millis() as u64;
        let mut g = self.inner.lock();
        g.expire(now_ms);
        g.add(now_ms, n);
        (g.used + g.offset, g.max)
    }

    /// (used, max) at scenario time `now`.
    pub fn usage(&self, now: Duration) -> (u64, u64) {
        let mut g = self.inner.lock();
        g.expire(now.as_millis() as u64);
        (g.used + g.offset, g.max)
    }

    /// Make `Remaining` exactly `remaining` now (a `rate-limit` fault opening), or with `None` lift
    /// what an earlier call added, leaving the org's own calls counted.
    pub fn set_remaining(&self, now: Duration, remaining: Option<u64>) {
        let mut g = self.inner.lock();
        g.expire(now.as_millis() as u64);
        g.offset = match remaining {
            Some(r) => g.max.saturating_sub(r).saturating_sub(g.used),
            None => 0,
        };
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

    /// The allocation's current maximum (`Max` of `DailyApiRequests`).
    pub fn max(&self) -> u64 {
        self.inner.lock().max
    }
}

/// Requests in flight on one org, by arrival on the scenario clock, for the long-running cap.
///
/// One mutex over a sorted ring: admission counts the requests that arrived at least `threshold`
/// ago (a binary search), then inserts.
#[derive(Debug, Default)]
pub struct ConcurrentRequests {
    inner: parking_lot::Mutex<Concurrent>,
}

#[derive(Debug, Default)]
struct Concurrent {
    /// (arrival in µs, request id), sorted. Requests arrive (nearly) in order and mostly end in
    /// order, so insertions land at the back and removals near the front: a sorted ring costs no
    /// allocation per request, where a tree allocates a node each time.
    in_flight: VecDeque<(u64, u64)>,
    /// A `rate-limit` fault's cap and threshold while its window is open.
    limit_override: Option<(u32, Duration)>,
}

/// Why a request was not admitted: the cap in force and how many long-running requests hold it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LongRunningRefusal {
    pub cap: u32,
    pub running: usize,
}

impl ConcurrentRequests {
    /// Admit request `id` arriving at `now`, unless `cap` requests (the override's, else
    /// `default_cap`) have already been running for the threshold or longer. Admitted requests must
    /// be [`ConcurrentRequests::leave`]n when they end.
    pub fn admit(
        &self,
        now: Duration,
        id: u64,
        default_cap: u32,
    ) -> Result<(), LongRunningRefusal> {
        let now_us = now.as_micros() as u64;
        let mut g = self.inner.lock();
        let (cap, threshold) = g
            .limit_override
            .unwrap_or((default_cap, LONG_RUNNING_THRESHOLD));
        if let Some(cutoff) = now_us.checked_sub(threshold.as_micros() as u64) {
            let running = g
                .in_flight
                .partition_point(|&(arrived, _)| arrived <= cutoff);
            if running >= cap as usize {
                return Err(LongRunningRefusal { cap, running });
            }
        }
        let key = (now_us, id);
        let at = g.in_flight.partition_point(|e| *e < key);
        g.in_flight.insert(at, key);
        Ok(())
    }

    /// The request admitted at `arrived` with `id` has ended.
    pub fn leave(&self, arrived: Duration, id: u64) {
        let key = (arrived.as_micros() as u64, id);
        let mut g = self.inner.lock();
        if let Ok(at) = g.in_flight.binary_search(&key) {
            g.in_flight.remove(at);
        }
    }

    /// Requests in flight that have run for at least `threshold` (the override's when set).
    pub fn long_running(&self, now: Duration) -> usize {
        let g = self.inner.lock();
        let threshold = g.limit_override.map_or(LONG_RUNNING_THRESHOLD, |(_, t)| t);
        match (now.as_micros() as u64).checked_sub(threshold.as_micros() as u64) {
            Some(cutoff) => g
                .in_flight
                .partition_point(|&(arrived, _)| arrived <= cutoff),
            None => 0,
        }
    }

    pub fn in_flight(&self) -> usize {
        self.inner.lock().in_flight.len()
    }

    /// Set (or with `None`, lift) a fault's cap and threshold.
    pub fn set_override(&self, limit: Option<(u32, Duration)>) {
        self.inner.lock().limit_override = limit;
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

    #[test]
    fn remaining_is_set_exactly_and_lifted_after() {
        let a = ApiAllocation::new(100, Duration::from_secs(60));
        let t = Duration::from_secs;
        a.charge(t(0), 10);
        a.set_remaining(t(1), Some(2));
        assert_eq!(a.usage(t(1)), (98, 100));
        assert!(a.try_charge(t(2), 1).is_ok());
        assert!(a.try_charge(t(2), 1).is_ok());
        assert_eq!(a.try_charge(t(2), 1), Err((100, 100)));
        a.set_remaining(t(3), None);
        assert_eq!(a.usage(t(3)), (12, 100));
    }

    #[test]
    fn long_running_cap_counts_only_requests_past_the_threshold() {
        let c = ConcurrentRequests::default();
        let t = Duration::from_secs;
        assert_eq!(c.admit(t(0), 1, 2), Ok(()));
        assert_eq!(c.admit(t(1), 2, 2), Ok(()));
        // Both are younger than 20 s: short calls are never capped.
        assert_eq!(c.admit(t(5), 3, 2), Ok(()));
        assert_eq!(c.long_running(t(21)), 2);
        assert_eq!(
            c.admit(t(21), 4, 2),
            Err(LongRunningRefusal { cap: 2, running: 2 })
        );
        c.leave(t(0), 1);
        assert_eq!(c.admit(t(21), 4, 2), Ok(()));
        c.set_override(Some((1, t(1))));
        assert_eq!(
            c.long_running(t(21)),
            2,
            "the one that just arrived is not long-running"
        );
        assert!(c.admit(t(21), 5, 2).is_err());
        c.set_override(None);
        assert_eq!(c.in_flight(), 3);
    }
}
