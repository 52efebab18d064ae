//! Arrival rates for load streams and actors (open model: events arrive on schedule whether or
//! not earlier ones have finished).
//!
//! | written | meaning |
//! |---|---|
//! | `{ constant = 50 }` | 50 events/s, evenly spaced |
//! | `{ poisson = 50 }` | 50 events/s on average, exponential gaps |
//! | `{ ramp = { from = 10, to = 100, over = "1m" } }` | linear from 10/s to 100/s over 1 min, then 100/s |
//! | `{ steps = [{ rate = 10, for = "30s" }, { rate = 50, for = "1m" }] }` | 10/s for 30 s, then 50/s; the last rate holds after the last step |
//! | `{ burst = { size = 200, every = "30s", rate = 5 } }` | 200 events at once at the start and every 30 s after, 5/s in between (`rate` defaults to 0) |
//!
//! Times are relative to the stream's own start.

use std::fmt;
use std::num::NonZeroU32;
use std::time::Duration;

use serde::Serialize;
use simulator::faults::plan::{format_duration, serde_duration};

use super::raw::RawRate;
use super::spans::{push_index, push_key};
use super::validate::Ctx;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RateSpec {
    Constant {
        rate: f64,
    },
    Poisson {
        rate: f64,
    },
    Ramp {
        from: f64,
        to: f64,
        #[serde(with = "serde_duration")]
        over: Duration,
    },
    Steps {
        steps: Vec<RateStep>,
    },
    Burst {
        /// Background rate between bursts.
        rate: f64,
        #[serde(with = "serde_duration")]
        every: Duration,
        size: NonZeroU32,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RateStep {
    pub rate: f64,
    #[serde(rename = "for", with = "serde_duration")]
    pub hold: Duration,
}

impl RateSpec {
    /// The intended rate (events/s) at `elapsed` since the stream started, bursts excluded.
    pub fn rate_at(&self, elapsed: Duration) -> f64 {
        match self {
            RateSpec::Constant { rate } | RateSpec::Poisson { rate } => *rate,
            RateSpec::Ramp { from, to, over } => {
                if elapsed >= *over || over.is_zero() {
                    *to
                } else {
                    from + (to - from) * elapsed.as_secs_f64() / over.as_secs_f64()
                }
            }
            RateSpec::Steps { steps } => {
                let mut end = Duration::ZERO;
                for step in steps {
                    end = end.saturating_add(step.hold);
                    if elapsed < end {
                        return step.rate;
                    }
                }
                steps.last().map_or(0.0, |s| s.rate)
            }
            RateSpec::Burst { rate, .. } => *rate,
        }
    }

    /// How many events the rate produces over `duration` (bursts included), for summaries and
    /// sanity checks.
    pub fn expected_events(&self, duration: Duration) -> f64 {
        let secs = duration.as_secs_f64();
        match self {
            RateSpec::Constant { rate } | RateSpec::Poisson { rate } => rate * secs,
            RateSpec::Ramp { from, to, over } => {
                let ramp = over.as_secs_f64().min(secs);
                let ramp_end = Duration::try_from_secs_f64(ramp).unwrap_or(*over);
                let at_end = self.rate_at(ramp_end);
                (from + at_end) / 2.0 * ramp + to * (secs - ramp).max(0.0)
            }
            RateSpec::Steps { steps } => {
                let mut total = 0.0;
                let mut left = secs;
                for step in steps {
                    let span = step.hold.as_secs_f64().min(left);
                    total += step.rate * span;
                    left -= span;
                }
                total + steps.last().map_or(0.0, |s| s.rate) * left.max(0.0)
            }
            RateSpec::Burst { rate, every, size } => {
                let bursts = if every.is_zero() {
                    1.0
                } else {
                    (secs / every.as_secs_f64()).ceil().max(1.0)
                };
                rate * secs + f64::from(size.get()) * bursts
            }
        }
    }

    /// The share of this rate that shard `index` of `count` sends: every rate divided by
    /// `count`; burst sizes split as evenly as integers allow (shards with a smaller share
    /// come last).
    pub fn for_shard(&self, index: u32, count: NonZeroU32) -> RateSpec {
        let n = f64::from(count.get());
        match self {
            RateSpec::Constant { rate } => RateSpec::Constant { rate: rate / n },
            RateSpec::Poisson { rate } => RateSpec::Poisson { rate: rate / n },
            RateSpec::Ramp { from, to, over } => RateSpec::Ramp {
                from: from / n,
                to: to / n,
                over: *over,
            },
            RateSpec::Steps { steps } => RateSpec::Steps {
                steps: steps
                    .iter()
                    .map(|s| RateStep {
                        rate: s.rate / n,
                        hold: s.hold,
                    })
                    .collect(),
            },
            RateSpec::Burst { rate, every, size } => {
                match NonZeroU32::new(share(size.get(), index, count.get())) {
                    Some(size) => RateSpec::Burst {
                        rate: rate / n,
                        every: *every,
                        size,
                    },
                    None => RateSpec::Constant { rate: rate / n },
                }
            }
        }
    }
}

/// Shard `index`'s share of `total` items split over `count` shards.
pub(crate) fn share(total: u32, index: u32, count: u32) -> u32 {
    total / count + u32::from(index < total % count)
}

impl fmt::Display for RateSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RateSpec::Constant { rate } => write!(f, "constant {rate}/s"),
            RateSpec::Poisson { rate } => write!(f, "poisson {rate}/s"),
            RateSpec::Ramp { from, to, over } => {
                write!(f, "ramp {from}/s → {to}/s over {}", format_duration(*over))
            }
            RateSpec::Steps { steps } => {
                let steps: Vec<String> = steps
                    .iter()
                    .map(|s| format!("{}/s for {}", s.rate, format_duration(s.hold)))
                    .collect();
                write!(f, "steps {}", steps.join(", "))
            }
            RateSpec::Burst { rate, every, size } => {
                write!(f, "burst {size} every {}", format_duration(*every))?;
                if *rate > 0.0 {
                    write!(f, " + {rate}/s")?;
                }
                Ok(())
            }
        }
    }
}

pub(crate) fn validate_rate(ctx: &mut Ctx, path: &str, raw: &RawRate) -> Option<RateSpec> {
    let given: Vec<&str> = [
        ("constant", raw.constant.is_some()),
        ("poisson", raw.poisson.is_some()),
        ("ramp", raw.ramp.is_some()),
        ("steps", raw.steps.is_some()),
        ("burst", raw.burst.is_some()),
    ]
    .into_iter()
    .filter_map(|(key, present)| present.then_some(key))
    .collect();
    if given.len() != 1 {
        let got = if given.is_empty() {
            String::new()
        } else {
            format!("; got {}", given.join(" and "))
        };
        ctx.error(
            path,
            format!("give exactly one of constant, poisson, ramp, steps, burst{got}"),
        );
        return None;
    }
    if let Some(rate) = raw.constant {
        let rate = ctx.positive_rate(&push_key(path, "constant"), rate)?;
        return Some(RateSpec::Constant { rate });
    }
    if let Some(rate) = raw.poisson {
        let rate = ctx.positive_rate(&push_key(path, "poisson"), rate)?;
        return Some(RateSpec::Poisson { rate });
    }
    if let Some(ramp) = &raw.ramp {
        let base = push_key(path, "ramp");
        let from = ctx.rate(&push_key(&base, "from"), ramp.from);
        let to = ctx.rate(&push_key(&base, "to"), ramp.to);
        let over = ctx.positive_duration(&push_key(&base, "over"), &ramp.over);
        let (from, to, over) = (from?, to?, over?);
        if from == 0.0 && to == 0.0 {
            ctx.error(
                &base,
                "from and to are both 0: the stream would send nothing",
            );
            return None;
        }
        return Some(RateSpec::Ramp { from, to, over });
    }
    if let Some(raw_steps) = &raw.steps {
        let base = push_key(path, "steps");
        if raw_steps.is_empty() {
            ctx.error(&base, "must not be empty");
            return None;
        }
        let mut steps = Vec::with_capacity(raw_steps.len());
        for (i, step) in raw_steps.iter().enumerate() {
            let element = push_index(&base, i);
            let rate = ctx.rate(&push_key(&element, "rate"), step.rate);
            let hold = ctx.positive_duration(&push_key(&element, "for"), &step.hold);
            if let (Some(rate), Some(hold)) = (rate, hold) {
                steps.push(RateStep { rate, hold });
            }
        }
        if steps.len() != raw_steps.len() {
            return None;
        }
        if steps.iter().all(|s| s.rate == 0.0) {
            ctx.error(
                &base,
                "every step has rate 0: the stream would send nothing",
            );
            return None;
        }
        return Some(RateSpec::Steps { steps });
    }
    let burst = raw.burst.as_ref()?;
    let base = push_key(path, "burst");
    let rate = ctx.rate(&push_key(&base, "rate"), burst.rate.unwrap_or(0.0));
    let every = ctx.positive_duration(&push_key(&base, "every"), &burst.every);
    let size = ctx.nonzero_u32(&push_key(&base, "size"), burst.size);
    Some(RateSpec::Burst {
        rate: rate?,
        every: every?,
        size: size?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn ramps_and_steps_follow_the_written_shape() {
        let ramp = RateSpec::Ramp {
            from: 10.0,
            to: 100.0,
            over: secs(60),
        };
        assert_eq!(ramp.rate_at(secs(0)), 10.0);
        assert_eq!(ramp.rate_at(secs(30)), 55.0);
        assert_eq!(ramp.rate_at(secs(90)), 100.0);
        assert_eq!(ramp.expected_events(secs(120)), 55.0 * 60.0 + 100.0 * 60.0);

        let steps = RateSpec::Steps {
            steps: vec![
                RateStep {
                    rate: 10.0,
                    hold: secs(30),
                },
                RateStep {
                    rate: 50.0,
                    hold: secs(60),
                },
            ],
        };
        assert_eq!(steps.rate_at(secs(29)), 10.0);
        assert_eq!(steps.rate_at(secs(30)), 50.0);
        assert_eq!(steps.rate_at(secs(500)), 50.0);
        assert_eq!(steps.expected_events(secs(100)), 300.0 + 3500.0);
    }

    #[test]
    fn shards_split_rates_and_bursts() {
        let count = NonZeroU32::new(3).unwrap();
        let constant = RateSpec::Constant { rate: 60.0 };
        assert_eq!(
            constant.for_shard(0, count),
            RateSpec::Constant { rate: 20.0 }
        );
        let burst = RateSpec::Burst {
            rate: 0.0,
            every: secs(30),
            size: NonZeroU32::new(10).unwrap(),
        };
        let sizes: Vec<u32> = (0..3)
            .map(|i| match burst.for_shard(i, count) {
                RateSpec::Burst { size, .. } => size.get(),
                _ => 0,
            })
            .collect();
        assert_eq!(sizes, [4, 3, 3]);
        assert_eq!((0..5).map(|i| share(3, i, 5)).sum::<u32>(), 3);
    }
}
