//! A rolling window of bucketed counters, shared by the retry budget, the circuit breaker and adaptive
//! throttling.
//!
//! Buckets rather than one entry per event keep memory fixed whatever the request rate; the price is
//! that an event expires up to one bucket width late. Bucket indexes are computed from a fixed origin, so
//! the window's behaviour depends only on the instants it is given (deterministic under a paused clock).

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug, Clone)]
pub(crate) struct Window<C> {
    origin: Instant,
    bucket: Duration,
    buckets_in_span: u64,
    buckets: VecDeque<(u64, C)>,
}

impl<C: Default> Window<C> {
    /// A window covering `span`, split into `buckets` buckets (at least one; a zero span becomes 1 ms).
    pub(crate) fn new(origin: Instant, span: Duration, buckets: u32) -> Self {
        let buckets = u64::from(buckets.max(1));
        let span = span.max(Duration::from_millis(1));
        let width_ns = (span.as_nanos() / u128::from(buckets)).max(1);
        let bucket = Duration::from_nanos(u64::try_from(width_ns).unwrap_or(u64::MAX));
        Self {
            origin,
            bucket,
            buckets_in_span: buckets,
            buckets: VecDeque::new(),
        }
    }

    fn index(&self, now: Instant) -> u64 {
        let since = now.saturating_duration_since(self.origin).as_nanos();
        u64::try_from(since / self.bucket.as_nanos().max(1)).unwrap_or(u64::MAX)
    }

    fn is_live(&self, bucket_index: u64, current: u64) -> bool {
        bucket_index + self.buckets_in_span > current
    }

    /// Update the counter of the bucket containing `now`, dropping buckets that have left the window.
    pub(crate) fn add(&mut self, now: Instant, update: impl FnOnce(&mut C)) {
        let current = self.index(now);
        while let Some((front, _)) = self.buckets.front() {
            if self.is_live(*front, current) {
                break;
            }
            self.buckets.pop_front();
        }
        let needs_new = self.buckets.back().is_none_or(|(last, _)| *last != current);
        if needs_new {
            self.buckets.push_back((current, C::default()));
        }
        if let Some((_, counter)) = self.buckets.back_mut() {
            update(counter);
        }
    }

    /// Counters of every bucket still inside the window at `now`.
    pub(crate) fn live(&self, now: Instant) -> impl Iterator<Item = &C> {
        let current = self.index(now);
        self.buckets
            .iter()
            .filter(move |(i, _)| self.is_live(*i, current))
            .map(|(_, c)| c)
    }

    /// Forget everything (a breaker closing starts a fresh window).
    pub(crate) fn clear(&mut self) {
        self.buckets.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum(w: &Window<u64>, now: Instant) -> u64 {
        w.live(now).sum()
    }

    #[tokio::test(start_paused = true)]
    async fn counts_expire_after_the_span() {
        let t0 = Instant::now();
        let mut w: Window<u64> = Window::new(t0, Duration::from_secs(10), 10);
        w.add(t0, |c| *c += 3);
        w.add(t0 + Duration::from_secs(5), |c| *c += 2);
        assert_eq!(sum(&w, t0 + Duration::from_secs(9)), 5);
        // The first bucket [0 s, 1 s) leaves the window at 10 s.
        assert_eq!(sum(&w, t0 + Duration::from_secs(10)), 2);
        assert_eq!(sum(&w, t0 + Duration::from_secs(15)), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn memory_stays_bounded_by_the_bucket_count() {
        let t0 = Instant::now();
        let mut w: Window<u64> = Window::new(t0, Duration::from_secs(1), 4);
        for i in 0..10_000u64 {
            w.add(t0 + Duration::from_millis(i), |c| *c += 1);
        }
        assert!(w.buckets.len() <= 4);
        assert_eq!(sum(&w, t0 + Duration::from_millis(9_999)), 1000);
    }
}
