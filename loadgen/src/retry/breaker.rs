//! A consecutive-window circuit breaker in the Polly v8 / resilience4j mould (resilience-reference.md §3).
//!
//! * **Closed**: outcomes are sampled over a rolling `sampling` window. When at least `min_throughput`
//!   calls were seen and the failure ratio reaches `failure_ratio`, the breaker opens.
//! * **Open**: every call is rejected locally for `break_duration`.
//! * **Half-open**: after the break, up to `probes` calls go through as probes. All probes succeeding
//!   closes the breaker with a fresh window; any probe failing re-opens it for another break.
//!
//! Defaults are Polly v8's (ratio 0.1, 100 calls, 30 s, 5 s break, one probe) because its break is short
//! enough to recover inside a scenario, unlike resilience4j's 60 s. A probe that never reports back
//! (its task was dropped) is presumed lost after one break duration, so the breaker cannot wedge.
//!
//! Which failures count is the policy's decision: server-side trouble (retryable, limit exhausted)
//! counts; a validation error means the server is healthy and counts as a success.

use std::time::Duration;

use tokio::time::Instant;

use super::window::Window;

/// Breaker parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BreakerConfig {
    /// Failure ratio (0–1) at which the breaker opens.
    pub failure_ratio: f64,
    /// Calls the window must hold before the ratio is trusted.
    pub min_throughput: u32,
    /// Length of the rolling sampling window.
    pub sampling: Duration,
    /// How long the breaker stays open before probing.
    pub break_duration: Duration,
    /// Probe calls let through while half-open.
    pub probes: u32,
}

impl Default for BreakerConfig {
    /// Polly v8's defaults.
    fn default() -> Self {
        Self {
            failure_ratio: 0.1,
            min_throughput: 100,
            sampling: Duration::from_secs(30),
            break_duration: Duration::from_secs(5),
            probes: 1,
        }
    }
}

/// Observable breaker state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls flow; outcomes are sampled.
    Closed,
    /// Calls are rejected until `until`.
    Open { until: Instant },
    /// Probes are being let through.
    HalfOpen,
}

/// How a call was admitted; the outcome must be reported with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Admission {
    /// Admitted while closed (or no breaker).
    #[default]
    Normal,
    /// Admitted as a half-open probe.
    Probe,
}

#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    calls: u64,
    failures: u64,
}

#[derive(Debug, Clone)]
enum Phase {
    Closed,
    Open {
        until: Instant,
    },
    HalfOpen {
        in_flight: u32,
        succeeded: u32,
        last_probe: Instant,
    },
}

/// A live breaker; the policy keeps it behind its lock.
#[derive(Debug, Clone)]
pub struct CircuitBreaker {
    config: BreakerConfig,
    window: Window<Tally>,
    phase: Phase,
}

/// Polly splits its sampling window in ten.
const BUCKETS: u32 = 10;

impl CircuitBreaker {
    /// A closed breaker whose clock starts at `now`.
    pub fn new(config: BreakerConfig, now: Instant) -> Self {
        Self {
            config,
            window: Window::new(now, config.sampling, BUCKETS),
            phase: Phase::Closed,
        }
    }

    /// The state at `now` (an expired break reads as half-open).
    pub fn state(&self, now: Instant) -> BreakerState {
        match self.phase {
            Phase::Closed => BreakerState::Closed,
            Phase::Open { until } if now < until => BreakerState::Open { until },
            Phase::Open { .. } | Phase::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    /// Ask to send a call. `Err(remaining)` while open (or while all probes are out).
    pub fn try_acquire(&mut self, now: Instant) -> Result<Admission, Duration> {
        match &mut self.phase {
            Phase::Closed => Ok(Admission::Normal),
            Phase::Open { until } => {
                if now < *until {
                    return Err(*until - now);
                }
                self.phase = Phase::HalfOpen {
                    in_flight: 1,
                    succeeded: 0,
                    last_probe: now,
                };
                Ok(Admission::Probe)
            }
            Phase::HalfOpen {
                in_flight,
                succeeded,
                last_probe,
            } => {
                let lost = now.saturating_duration_since(*last_probe) >= self.config.break_duration;
                if lost {
                    // The outstanding probes never reported: presume them lost.
                    *in_flight = 0;
                }
                if *in_flight + *succeeded < self.config.probes.max(1) {
                    *in_flight += 1;
                    *last_probe = now;
                    Ok(Admission::Probe)
                } else {
                    Err(self
                        .config
                        .break_duration
                        .saturating_sub(now.saturating_duration_since(*last_probe)))
                }
            }
        }
    }

    /// Report a successful (or healthy-server) outcome.
    pub fn on_success(&mut self, now: Instant, admission: Admission) {
        match (&mut self.phase, admission) {
            (Phase::Closed, _) => self.window.add(now, |t| t.calls += 1),
            (
                Phase::HalfOpen {
                    in_flight,
                    succeeded,
                    ..
                },
                Admission::Probe,
            ) => {
                *in_flight = in_flight.saturating_sub(1);
                *succeeded += 1;
                if *succeeded >= self.config.probes.max(1) {
                    self.window.clear();
                    self.phase = Phase::Closed;
                }
            }
            // Stragglers admitted before the breaker opened say nothing about the present.
            _ => {}
        }
    }

    /// Report a failure that indicates server trouble.
    pub fn on_failure(&mut self, now: Instant, admission: Admission) {
        match (&self.phase, admission) {
            (Phase::Closed, _) => {
                self.window.add(now, |t| {
                    t.calls += 1;
                    t.failures += 1;
                });
                let (calls, failures) = self
                    .window
                    .live(now)
                    .fold((0u64, 0u64), |(c, f), t| (c + t.calls, f + t.failures));
                let enough = calls >= u64::from(self.config.min_throughput);
                if enough && failures as f64 / calls as f64 >= self.config.failure_ratio {
                    self.open(now);
                }
            }
            (Phase::HalfOpen { .. }, Admission::Probe) => self.open(now),
            _ => {}
        }
    }

    fn open(&mut self, now: Instant) {
        self.phase = Phase::Open {
            until: now + self.config.break_duration,
        };
    }
}
