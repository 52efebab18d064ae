//! Client-side adaptive throttling from the Google SRE book ("Handling Overload"), chosen over AWS's
//! CUBIC send-rate bucket because it needs no rate measurement and AWS recommends its own only for
//! single-resource clients (resilience-reference.md §2).
//!
//! Each client keeps, over a 2-minute window, `requests` (every attempt the application made, including
//! those rejected locally) and `accepts` (attempts the backend answered without an overload-type
//! failure), and rejects a new attempt locally with probability
//!
//! `p = max(0, (requests − K·accepts) / (requests + 1))`
//!
//! With K = 2 roughly one rejected request reaches the backend per accepted one; under sustained failure
//! `accepts` stays 0 and `p → 1`, so the client sheds its own load. It applies to first attempts and
//! retries alike.

use std::time::Duration;

use rand::Rng;
use tokio::time::Instant;

use super::window::Window;

/// Adaptive-throttling parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdaptiveConfig {
    /// The multiplier K (2 typical, 1.1 aggressive).
    pub k: f64,
    /// How long requests and accepts are remembered.
    pub window: Duration,
}

impl Default for AdaptiveConfig {
    fn default() -> Self {
        Self {
            k: 2.0,
            window: Duration::from_secs(120),
        }
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    requests: u64,
    accepts: u64,
}

/// A live throttle; the policy keeps it behind its lock.
#[derive(Debug, Clone)]
pub struct AdaptiveThrottle {
    config: AdaptiveConfig,
    window: Window<Tally>,
}

/// One-second buckets over the default 2-minute window.
const BUCKETS: u32 = 120;

impl AdaptiveThrottle {
    /// An empty throttle whose clock starts at `now`.
    pub fn new(config: AdaptiveConfig, now: Instant) -> Self {
        Self {
            config,
            window: Window::new(now, config.window, BUCKETS),
        }
    }

    /// The current local-rejection probability.
    pub fn reject_probability(&self, now: Instant) -> f64 {
        let (requests, accepts) = self
            .window
            .live(now)
            .fold((0u64, 0u64), |(r, a), t| (r + t.requests, a + t.accepts));
        let requests = requests as f64;
        ((requests - self.config.k * accepts as f64) / (requests + 1.0)).max(0.0)
    }

    /// Count an attempt and decide whether it may go out (`false` = rejected locally).
    pub fn admit<R: Rng + ?Sized>(&mut self, now: Instant, rng: &mut R) -> bool {
        let p = self.reject_probability(now);
        self.window.add(now, |t| t.requests += 1);
        p <= 0.0 || rng.random::<f64>() >= p
    }

    /// The backend accepted an attempt.
    pub fn on_accepted(&mut self, now: Instant) {
        self.window.add(now, |t| t.accepts += 1);
    }
}
