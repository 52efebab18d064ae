//! `--time-scale F`: the same scenario on a shorter (or longer) clock, so that a suite of
//! minutes-long scenarios can run in CI in seconds each and still go through every phase.
//!
//! The transform multiplies every *time of the scenario* by `F` and keeps every *rate*, so each
//! phase still happens, in the same order and the same proportions of the run, at the same
//! intensity — just for less time:
//! - scaled: `duration`, `drain`, `peak` windows; stream and actor `start`/`duration`, ramp
//!   `over`, step lengths, burst `every`, batch `every`/`at`; action times; fault windows,
//!   schema-change times and `revoke_at`; session lifetimes; lock `hold`/`wait` and the org's
//!   `lock_wait`; Bulk `extra`; sink and alert-sink outage windows;
//! - kept, because they are rates or shapes rather than times: event and actor rates, burst and
//!   batch sizes, key pools, seed data, probabilities and `every`/`first` triggers, and
//!   `per_window` request caps (requests per short window is a rate);
//! - kept, because they measure the integration or the network rather than the scenario:
//!   injected latency, sink latency, `healthz_timeout`, `stop_timeout`, `max_p99`;
//! - the API allocation is a rate too (requests per `api_window`): the window is scaled and
//!   the counts that fill it (`daily_api_requests`, `api_usage_start`, a rate-limit fault's
//!   `daily_max` and `remaining`) are scaled with it, so an allocation that ran out after 80 %
//!   of the load still runs out after 80 % of the shorter load.
//!
//! What cannot shrink: process start-up and restarts, the integration's own timers (client
//! timeouts, backoff caps, poll periods) and the scorer's absolute thresholds (alert within
//! 30 s, drain after an outage). Shortened runs therefore go through the same phases but are not
//! scored like full ones; the report records the scale so nobody mistakes one for the other.

use std::time::Duration;

use simulator::faults::plan::{BulkSlowdownFault, FaultEffect, SessionExpiry, Window};

use super::error::ScenarioError;
use super::model::{BatchSchedule, Scenario, SerDuration, Traffic};
use super::rate::{RateSpec, RateStep};

/// The smallest and largest factors accepted: beyond these a minutes-long scenario would last
/// microseconds, or days.
pub const TIME_SCALE_RANGE: (f64, f64) = (0.001, 100.0);

impl Scenario {
    /// The scenario with every scenario time multiplied by `factor` (see the module docs).
    pub fn time_scaled(&self, factor: f64) -> Result<Scenario, ScenarioError> {
        let (min, max) = TIME_SCALE_RANGE;
        if !(factor.is_finite() && (min..=max).contains(&factor)) {
            return Err(ScenarioError::new(
                self.file.clone(),
                None,
                "--time-scale",
                format!("must be a number from {min} to {max}, got {factor}"),
            ));
        }
        if self.time_scale.is_some() {
            return Err(ScenarioError::new(
                self.file.clone(),
                None,
                "--time-scale",
                "the scenario is already time-scaled",
            ));
        }
        let t = |d: Duration| scale(d, factor);
        let count = |n: u64| ((n as f64 * factor).round() as u64).max(1);
        let mut out = self.clone();
        out.time_scale = Some(factor);
        out.duration = t(self.duration);
        out.drain = t(self.drain);
        out.peak = self.peak.iter().map(|w| window(w, factor)).collect();

        for stream in &mut out.load {
            stream.start = t(stream.start);
            stream.duration = t(stream.duration);
            stream.traffic = match &stream.traffic {
                Traffic::Events { mix, rate } => Traffic::Events {
                    mix: *mix,
                    rate: rate_scaled(rate, factor),
                },
                Traffic::Batches {
                    batch_size,
                    schedule,
                } => Traffic::Batches {
                    batch_size: *batch_size,
                    schedule: match schedule {
                        BatchSchedule::Every(every) => BatchSchedule::Every(t(*every)),
                        BatchSchedule::At(times) => {
                            BatchSchedule::At(times.iter().map(|d| SerDuration(t(d.0))).collect())
                        }
                    },
                },
            };
        }
        for actor in &mut out.actors {
            actor.start = t(actor.start);
            actor.duration = t(actor.duration);
            actor.rate = rate_scaled(&actor.rate, factor);
        }
        for action in &mut out.actions {
            action.at = t(action.at);
        }

        let org = &mut out.org;
        org.api_window = t(org.api_window);
        org.daily_api_requests = count(org.daily_api_requests);
        org.api_usage_start =
            ((org.api_usage_start as f64 * factor).round() as u64).min(org.daily_api_requests);
        org.lock_wait = t(org.lock_wait);
        org.session_lifetime = t(org.session_lifetime);

        for rule in &mut out.faults.rules {
            rule.window = window(&rule.window, factor);
            match &mut rule.effect {
                FaultEffect::RateLimit(limit) => {
                    limit.window = limit.window.map(t);
                    limit.daily_max = limit.daily_max.map(count);
                    limit.remaining = limit.remaining.map(|r| (r as f64 * factor).round() as u64);
                }
                FaultEffect::Session(SessionExpiry::Lifetime(d))
                | FaultEffect::Session(SessionExpiry::RevokeAt(d))
                | FaultEffect::BulkSlowdown(BulkSlowdownFault::Extra(d)) => *d = t(*d),
                FaultEffect::LockContention(lock) => {
                    lock.hold = t(lock.hold);
                    lock.wait = lock.wait.map(t);
                }
                _ => {}
            }
        }
        for endpoint in [&mut out.sink, &mut out.alerts] {
            endpoint.outages = endpoint.outages.iter().map(|w| window(w, factor)).collect();
        }
        Ok(out)
    }
}

/// `d × factor`, at least a millisecond when `d` was not zero: a window or hold that vanished
/// would silently drop a phase.
fn scale(d: Duration, factor: f64) -> Duration {
    if d.is_zero() {
        return d;
    }
    d.mul_f64(factor).max(Duration::from_millis(1))
}

fn window(w: &Window, factor: f64) -> Window {
    Window::new(scale(w.start, factor), w.duration.map(|d| scale(d, factor)))
}

/// Rates are kept; the times inside a rate (ramp length, step lengths, burst period) scale.
fn rate_scaled(rate: &RateSpec, factor: f64) -> RateSpec {
    match rate {
        RateSpec::Constant { .. } | RateSpec::Poisson { .. } => rate.clone(),
        RateSpec::Ramp { from, to, over } => RateSpec::Ramp {
            from: *from,
            to: *to,
            over: scale(*over, factor),
        },
        RateSpec::Steps { steps } => RateSpec::Steps {
            steps: steps
                .iter()
                .map(|s| RateStep {
                    rate: s.rate,
                    hold: scale(s.hold, factor),
                })
                .collect(),
        },
        RateSpec::Burst { rate, every, size } => RateSpec::Burst {
            rate: *rate,
            every: scale(*every, factor),
            size: *size,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = r#"
name = "t"
duration = "100s"
drain = "20s"
peak = [{ start = "10s", duration = "30s" }]

[org]
daily_api_requests = 10_000
api_window = "10m"
api_usage_start = 1_000
lock_wait = "10s"

[[load]]
name = "ups"
type = "upsert"
object = "Account"
rate = { ramp = { from = 1, to = 10, over = "50s" } }
start = "10s"
duration = "80s"

[[load]]
name = "nightly"
type = "batch"
object = "Account"
batch_size = 3_000
at = ["20s", "60s"]

[[actors]]
name = "people"
object = "Account"
fields = ["Phone"]
rate = { burst = { size = 20, every = "30s", rate = 1 } }

[[faults]]
kind = "outage"
start = "40s"
duration = "20s"

[[faults]]
kind = "latency"
delay = "80ms"

[[faults]]
kind = "rate-limit"
start = "70s"
remaining = 500
per_window = { requests = 10, window = "1s" }

[[faults]]
kind = "session"
revoke_at = "30s"

[[faults]]
kind = "lock-contention"
start = "10s"
duration = "10s"
hold = "15s"
wait = "5s"

[[actions]]
at = "50s"
kind = "crash-restart"

[sink]
outages = [{ start = "5s", duration = "10s" }]

[expect]
max_p99 = "2s"
"#;

    fn scenario() -> Scenario {
        Scenario::from_str(SOURCE, "t.toml").expect("valid")
    }

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn times_scale_and_rates_stay() {
        let s = scenario().time_scaled(0.1).expect("scaled");
        assert_eq!(s.time_scale, Some(0.1));
        assert_eq!((s.duration, s.drain), (secs(10.0), secs(2.0)));
        assert_eq!(s.peak[0], Window::new(secs(1.0), Some(secs(3.0))));
        assert_eq!(
            (s.load[0].start, s.load[0].duration),
            (secs(1.0), secs(8.0))
        );
        let Traffic::Events { rate, .. } = &s.load[0].traffic else {
            panic!("events")
        };
        assert_eq!(
            rate,
            &RateSpec::Ramp {
                from: 1.0,
                to: 10.0,
                over: secs(5.0)
            }
        );
        let Traffic::Batches {
            batch_size,
            schedule,
        } = &s.load[1].traffic
        else {
            panic!("batches")
        };
        assert_eq!(batch_size.get(), 3_000);
        assert_eq!(
            schedule,
            &BatchSchedule::At(vec![SerDuration(secs(2.0)), SerDuration(secs(6.0))])
        );
        let RateSpec::Burst { rate, every, size } = &s.actors[0].rate else {
            panic!("burst")
        };
        assert_eq!((*rate, *every, size.get()), (1.0, secs(3.0), 20));
        assert_eq!(s.actions[0].at, secs(5.0));
        assert_eq!(s.sink.outages[0], Window::new(secs(0.5), Some(secs(1.0))));
        assert_eq!(s.expect.max_p99, Some(secs(2.0)));
    }

    #[test]
    fn faults_and_allocation_scale_with_the_clock() {
        let s = scenario().time_scaled(0.1).expect("scaled");
        assert_eq!(s.org.api_window, secs(60.0));
        assert_eq!(s.org.daily_api_requests, 1_000);
        assert_eq!(s.org.api_usage_start, 100);
        assert_eq!(s.org.lock_wait, secs(1.0));
        let rules = &s.faults.rules;
        assert_eq!(rules[0].window, Window::new(secs(4.0), Some(secs(2.0))));
        // Injected latency measures the network, not the scenario.
        assert_eq!(rules[1].effect, scenario().faults.rules[1].effect);
        let FaultEffect::RateLimit(limit) = &rules[2].effect else {
            panic!("rate-limit")
        };
        assert_eq!(rules[2].window.start, secs(7.0));
        assert_eq!(limit.remaining, Some(50));
        let cap = limit.per_window.expect("cap");
        assert_eq!((cap.requests.get(), cap.window), (10, secs(1.0)));
        assert_eq!(
            rules[3].effect,
            FaultEffect::Session(SessionExpiry::RevokeAt(secs(3.0)))
        );
        assert_eq!(rules[3].window.start, secs(3.0));
        let FaultEffect::LockContention(lock) = &rules[4].effect else {
            panic!("lock")
        };
        assert_eq!((lock.hold, lock.wait), (secs(1.5), Some(secs(0.5))));
    }

    #[test]
    fn factor_one_changes_nothing_but_the_marker() {
        let original = scenario();
        let same = original.time_scaled(1.0).expect("scaled");
        assert_eq!(same.duration, original.duration);
        assert_eq!(same.faults, original.faults);
        assert_eq!(same.org.daily_api_requests, original.org.daily_api_requests);
    }

    #[test]
    fn bad_factors_are_errors() {
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e6] {
            let e = scenario().time_scaled(bad).expect_err("bad factor");
            assert_eq!(e.key, "--time-scale", "{bad}");
        }
        let once = scenario().time_scaled(0.5).expect("scaled");
        assert!(once.time_scaled(0.5).is_err());
    }
}
