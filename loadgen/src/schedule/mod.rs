//! Open-model arrival schedules: *when* each event is meant to be sent.
//!
//! A load generator that waits for a reply before sending the next request (a closed model) stops
//! sampling exactly when the system under test stalls, and so under-reports the stall
//! ("coordinated omission", resilience-reference.md §5). sfchaos therefore drives an **open model**:
//! a [`Schedule`] fixes every event's *intended* send instant up front, independent of how the
//! integration behaves, and latency is timed from that intended instant.
//!
//! # Layout
//!
//! | file | what lives there |
//! |---|---|
//! | `mod.rs` | [`RateSpec`] (the config shape), [`Schedule`], [`Arrival`], sharding |
//! | `rate.rs` | the lazy generators behind [`Instants`]: piecewise-linear, Poisson, burst |
//! | `driver.rs` | [`Driver`]: waits for each instant and hands [`Ticket`]s out under an in-flight cap |
//!
//! # Determinism
//!
//! Evenly spaced specs (constant, ramp, steps, the base of a burst) need no randomness at all.
//! Poisson gaps come from a `ChaCha8Rng` seeded with the schedule's seed, so the same seed gives the
//! same instants on every platform.
//!
//! # Sharding
//!
//! Two helpers, for two needs:
//! - [`RateSpec::scaled`] multiplies every rate (what `--shard I/N` means in design.md §9: "1/N of
//!   each rate"). Each shard then produces its own evenly spaced or Poisson stream.
//! - [`Schedule::shard`] takes every N-th arrival of the *full* schedule, starting at arrival I. The
//!   union of all N shards is then exactly the unsharded schedule (same instants, same sequence
//!   numbers), so a sharded run offers the integration the very load a single process would. This is
//!   the one to prefer; `scaled` exists for callers that want independent per-shard streams.

mod driver;
mod rate;

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use driver::{Driver, DriverConfig, DriverCounters, DriverStats, Ticket};
pub use rate::Instants;

/// Errors from building schedules and drivers. Messages name the offending setting so the scenario
/// layer can prefix the TOML path.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ScheduleError {
    #[error("{what} must be a finite number >= 0, got {value}")]
    InvalidRate { what: &'static str, value: f64 },
    #[error("{what} must be longer than zero")]
    ZeroDuration { what: &'static str },
    #[error("shard index {index} is out of range for {count} shard(s)")]
    InvalidShard { index: u64, count: u64 },
    #[error("max_in_flight must be between 1 and {max}, got {value}")]
    InvalidInFlight { value: usize, max: usize },
}

/// How fast a stream offers events, in events per second. The serde shape mirrors the scenario
/// TOML (`rate = { constant = 50 }`, `{ ramp = { from = 0, to = 100, over = "30s" } }`, …), so the
/// scenario layer can deserialize straight into it or convert its own raw type.
///
/// Evenly spaced variants place event *k* where the integral of the rate reaches *k* (k6's
/// constant- and ramping-arrival-rate executors do the same), so the first event is at offset 0 and
/// rate changes never produce a gap or a double event at a boundary.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum RateSpec {
    /// A fixed rate, evenly spaced.
    Constant(f64),
    /// The rate moves linearly from `from` to `to` over `over`, then **holds `to`** until the
    /// stream ends ("ramp up, then steady" is the common shape; add a step list for anything else).
    Ramp {
        from: f64,
        to: f64,
        #[serde(with = "duration_serde")]
        over: Duration,
    },
    /// Constant-rate steps one after another. After the last step the stream offers **nothing**:
    /// the list is explicit, so nothing is invented beyond it.
    Steps(Vec<Step>),
    /// A Poisson process with this mean rate: exponential gaps, first event after the first gap.
    Poisson(f64),
    /// `size` events all intended at the same instant, every `every` (at `every`, `2·every`, …, so the
    /// first interval shows the base load alone), **on top of** an evenly spaced `base_rate`. Use
    /// `base_rate = 0` for bursts alone. This is the cron-aligned spike of resilience-reference.md
    /// §5: many events due at once, which the in-flight cap then queues or drops.
    Burst {
        base_rate: f64,
        #[serde(with = "duration_serde")]
        every: Duration,
        size: u32,
    },
}

/// One step of [`RateSpec::Steps`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub rate: f64,
    #[serde(with = "duration_serde")]
    pub duration: Duration,
}

impl RateSpec {
    /// Checks every rate is finite and non-negative and every period is positive. A zero rate is
    /// allowed (a paused stream); a zero `every` is not, since it would mean infinitely many bursts.
    pub fn validate(&self) -> Result<(), ScheduleError> {
        fn rate(what: &'static str, value: f64) -> Result<(), ScheduleError> {
            if value.is_finite() && value >= 0.0 {
                Ok(())
            } else {
                Err(ScheduleError::InvalidRate { what, value })
            }
        }
        match self {
            RateSpec::Constant(r) => rate("constant", *r),
            RateSpec::Poisson(r) => rate("poisson", *r),
            RateSpec::Ramp { from, to, over } => {
                rate("ramp.from", *from)?;
                rate("ramp.to", *to)?;
                if over.is_zero() {
                    return Err(ScheduleError::ZeroDuration { what: "ramp.over" });
                }
                Ok(())
            }
            RateSpec::Steps(steps) => steps.iter().try_for_each(|s| rate("steps.rate", s.rate)),
            RateSpec::Burst {
                base_rate, every, ..
            } => {
                rate("burst.base_rate", *base_rate)?;
                if every.is_zero() {
                    return Err(ScheduleError::ZeroDuration {
                        what: "burst.every",
                    });
                }
                Ok(())
            }
        }
    }

    /// Every rate multiplied by `factor` (e.g. `1.0 / n` for one of `n` shards). Burst sizes are
    /// rounded to the nearest whole event, so `scaled` is exact only for sizes divisible by the
    /// shard count; [`Schedule::shard`] splits exactly.
    pub fn scaled(&self, factor: f64) -> RateSpec {
        let f = |r: f64| r * factor;
        match self {
            RateSpec::Constant(r) => RateSpec::Constant(f(*r)),
            RateSpec::Poisson(r) => RateSpec::Poisson(f(*r)),
            RateSpec::Ramp { from, to, over } => RateSpec::Ramp {
                from: f(*from),
                to: f(*to),
                over: *over,
            },
            RateSpec::Steps(steps) => RateSpec::Steps(
                steps
                    .iter()
                    .map(|s| Step {
                        rate: f(s.rate),
                        duration: s.duration,
                    })
                    .collect(),
            ),
            RateSpec::Burst {
                base_rate,
                every,
                size,
            } => RateSpec::Burst {
                base_rate: f(*base_rate),
                every: *every,
                // `as` saturates for out-of-range floats, which is the behaviour wanted here.
                size: (f64::from(*size) * factor).round().max(0.0) as u32,
            },
        }
    }

    /// The mean number of events this spec offers in `duration` (exact for evenly spaced specs up
    /// to the rounding of the last event). Useful to size buffers and to check achieved rates.
    pub fn expected_events(&self, duration: Duration) -> f64 {
        let d = duration.as_secs_f64();
        match self {
            RateSpec::Constant(r) | RateSpec::Poisson(r) => r * d,
            RateSpec::Ramp { from, to, over } => {
                let o = over.as_secs_f64();
                if d <= o {
                    from * d + (to - from) * d * d / (2.0 * o)
                } else {
                    (from + to) / 2.0 * o + to * (d - o)
                }
            }
            RateSpec::Steps(steps) => {
                let mut left = d;
                let mut total = 0.0;
                for s in steps {
                    let len = s.duration.as_secs_f64().min(left);
                    total += s.rate * len;
                    left -= len;
                }
                total
            }
            RateSpec::Burst {
                base_rate,
                every,
                size,
            } => {
                // Bursts at every, 2·every, … strictly before the end.
                let bursts = (d / every.as_secs_f64()).ceil() - 1.0;
                base_rate * d + bursts.max(0.0) * f64::from(*size)
            }
        }
    }
}

/// One scheduled event: its sequence number within the (unsharded) schedule and its intended send
/// offset from the stream's start. Sequence numbers are assigned before any drop decision, so the
/// same seed always gives event *n* the same number, key and data, however the integration behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Arrival {
    pub seq: u64,
    pub at: Duration,
}

/// A validated rate spec bounded by a stream duration, plus the seed for its random parts.
/// Cheap to clone; every call to [`Schedule::instants`] starts a fresh, identical iteration.
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    spec: RateSpec,
    duration: Duration,
    seed: u64,
}

impl Schedule {
    pub fn new(spec: RateSpec, duration: Duration, seed: u64) -> Result<Self, ScheduleError> {
        spec.validate()?;
        Ok(Schedule {
            spec,
            duration,
            seed,
        })
    }

    pub fn spec(&self) -> &RateSpec {
        &self.spec
    }

    pub fn duration(&self) -> Duration {
        self.duration
    }

    /// Intended send offsets in order, lazily; every offset is `< duration`.
    pub fn instants(&self) -> Instants {
        Instants::new(&self.spec, self.duration, self.seed)
    }

    /// [`Schedule::instants`] numbered from 0.
    pub fn arrivals(&self) -> Arrivals {
        Arrivals {
            inner: self.instants(),
            next_seq: 0,
            stride: 1,
            skip_first: 0,
        }
    }

    /// Arrivals `index`, `index + count`, `index + 2·count`, … of the full schedule, keeping their
    /// full-schedule sequence numbers. See the module docs for why this beats scaling the rate.
    pub fn shard(&self, index: u64, count: u64) -> Result<Arrivals, ScheduleError> {
        if count == 0 || index >= count {
            return Err(ScheduleError::InvalidShard { index, count });
        }
        Ok(Arrivals {
            inner: self.instants(),
            next_seq: index,
            stride: count,
            skip_first: index,
        })
    }

    /// See [`RateSpec::expected_events`].
    pub fn expected_events(&self) -> f64 {
        self.spec.expected_events(self.duration)
    }
}

/// Numbered arrivals of a schedule, optionally every N-th one (see [`Schedule::shard`]).
#[derive(Clone, Debug)]
pub struct Arrivals {
    inner: Instants,
    next_seq: u64,
    stride: u64,
    skip_first: u64,
}

impl Iterator for Arrivals {
    type Item = Arrival;

    fn next(&mut self) -> Option<Arrival> {
        let at = if self.skip_first > 0 {
            let skip = std::mem::take(&mut self.skip_first);
            self.inner.nth(usize::try_from(skip).ok()?)?
        } else {
            self.inner.next()?
        };
        let seq = self.next_seq;
        self.next_seq = self.next_seq.saturating_add(self.stride);
        // Skip the other shards' arrivals now, so the next call starts on ours.
        for _ in 1..self.stride {
            if self.inner.next().is_none() {
                break;
            }
        }
        Some(Arrival { seq, at })
    }
}

/// Serde for `Duration` as humantime strings (`"250ms"`, `"1m 30s"`), the way scenario files and
/// reports spell durations.
pub mod duration_serde {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        humantime::parse_duration(&s).map_err(serde::de::Error::custom)
    }

    /// The same for `Option<Duration>`; `None` is written as nothing (use with
    /// `#[serde(default)]`).
    pub mod option {
        use std::time::Duration;

        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
            match d {
                Some(d) => s.serialize_some(&humantime::format_duration(*d).to_string()),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
            Option::<String>::deserialize(d)?
                .map(|s| humantime::parse_duration(&s).map_err(serde::de::Error::custom))
                .transpose()
        }
    }
}
