//! [`Health`]: a rolling window of Salesforce call outcomes — what the alert monitor reads to tell an
//! incident (error rate up) from noise, and to see it end.

use std::collections::VecDeque;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

/// Outcomes per one-second bucket over the last `window`.
#[derive(Debug)]
pub struct Health {
    window: Duration,
    origin: Instant,
    /// `(second since origin, successes, failures)`; short lock, never across an `.await`.
    buckets: Mutex<VecDeque<(u64, u64, u64)>>,
    /// When the last success and the last failure happened.
    last: Mutex<(Option<Instant>, Option<Instant>)>,
}

/// Totals over the window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rates {
    pub successes: u64,
    pub failures: u64,
}

impl Rates {
    pub fn calls(&self) -> u64 {
        self.successes + self.failures
    }

    /// Failures / calls (0 with no calls).
    pub fn failure_ratio(&self) -> f64 {
        if self.calls() == 0 {
            0.0
        } else {
            self.failures as f64 / self.calls() as f64
        }
    }
}

impl Health {
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            origin: Instant::now(),
            buckets: Mutex::new(VecDeque::new()),
            last: Mutex::new((None, None)),
        }
    }

    /// Record one call. A "failure" is a call that says something about Salesforce's health
    /// (unreachable, 5xx, lock timeouts, limits) — not a validation error about our own data.
    pub fn record(&self, ok: bool) {
        {
            let mut last = self.last.lock();
            if ok {
                last.0 = Some(Instant::now());
            } else {
                last.1 = Some(Instant::now());
            }
        }
        let second = self.origin.elapsed().as_secs();
        let mut b = self.buckets.lock();
        match b.back_mut() {
            Some(last) if last.0 == second => {
                if ok {
                    last.1 += 1
                } else {
                    last.2 += 1
                }
            }
            _ => b.push_back((second, u64::from(ok), u64::from(!ok))),
        }
        let oldest = second.saturating_sub(self.window.as_secs());
        while b.front().is_some_and(|f| f.0 < oldest) {
            b.pop_front();
        }
    }

    /// Whether calls succeed again: a success since the last failure, and no failure for `quiet`.
    pub fn recovered(&self, quiet: Duration) -> bool {
        match *self.last.lock() {
            (Some(ok), Some(failed)) => ok > failed && failed.elapsed() >= quiet,
            (Some(_), None) => true,
            (None, _) => false,
        }
    }

    /// Totals over the last `window`.
    pub fn rates(&self) -> Rates {
        let now = self.origin.elapsed().as_secs();
        let oldest = now.saturating_sub(self.window.as_secs());
        self.buckets
            .lock()
            .iter()
            .filter(|b| b.0 >= oldest)
            .fold(Rates::default(), |r, b| Rates {
                successes: r.successes + b.1,
                failures: r.failures + b.2,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn old_outcomes_age_out() {
        let h = Health::new(Duration::from_secs(10));
        h.record(false);
        h.record(false);
        h.record(true);
        assert_eq!(
            h.rates(),
            Rates {
                successes: 1,
                failures: 2
            }
        );
        assert!(!h.recovered(Duration::from_secs(5)));
        tokio::time::sleep(Duration::from_secs(12)).await;
        h.record(true);
        assert_eq!(
            h.rates(),
            Rates {
                successes: 1,
                failures: 0
            }
        );
        assert!(h.recovered(Duration::from_secs(5)));
    }
}
