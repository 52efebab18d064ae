//! Latency distributions, shared by `latency` faults and the harness's faultable sinks.
//!
//! Lognormal takes a median and a p99 rather than μ/σ because those are the numbers people
//! read off a latency dashboard: μ = ln(median), σ = (ln(p99) − μ) / z₀.₉₉.

use std::fmt;
use std::time::Duration;

use rand::Rng;
use rand_distr::{Distribution, LogNormal, Normal, Pareto};
use serde::Serialize;

use super::duration::{format_duration, parse_duration, serde_duration};
use super::raw::{RawDelay, RawDuration};
use super::PathError;

/// z-score of the 99th percentile of a standard normal distribution.
const Z_P99: f64 = 2.326_347_874_040_841;

/// Samples are capped here: heavy-tailed distributions (pareto) can otherwise produce delays
/// longer than any run.
pub const MAX_SAMPLED_DELAY: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Delay {
    Fixed(#[serde(with = "serde_duration")] Duration),
    Uniform {
        #[serde(with = "serde_duration")]
        min: Duration,
        #[serde(with = "serde_duration")]
        max: Duration,
    },
    /// Samples below zero are clamped to zero, or mirrored (|N(mean, stddev)|) with `abs`, the
    /// per-hop network delay of Brooker's backoff simulator.
    Normal {
        #[serde(with = "serde_duration")]
        mean: Duration,
        #[serde(with = "serde_duration")]
        stddev: Duration,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        abs: bool,
    },
    #[serde(rename = "lognormal")]
    LogNormal {
        #[serde(with = "serde_duration")]
        median: Duration,
        #[serde(with = "serde_duration")]
        p99: Duration,
    },
    /// Pareto with minimum `scale` and tail index `shape` (smaller shape, heavier tail).
    Pareto {
        #[serde(with = "serde_duration")]
        scale: Duration,
        shape: f64,
    },
}

impl Delay {
    /// Draws one delay. The RNG is a parameter so that every rule draws from its own seeded
    /// stream and runs repeat exactly.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Duration {
        let seconds = match *self {
            Delay::Fixed(d) => return d.min(MAX_SAMPLED_DELAY),
            Delay::Uniform { min, max } => {
                if min >= max {
                    return min.min(MAX_SAMPLED_DELAY);
                }
                rng.random_range(min.as_secs_f64()..=max.as_secs_f64())
            }
            Delay::Normal { mean, stddev, abs } => {
                let x = match Normal::new(mean.as_secs_f64(), stddev.as_secs_f64()) {
                    Ok(normal) => normal.sample(rng),
                    Err(_) => mean.as_secs_f64(),
                };
                if abs {
                    x.abs()
                } else {
                    x
                }
            }
            Delay::LogNormal { median, p99 } => {
                let (mu, sigma) = lognormal_params(median, p99);
                match LogNormal::new(mu, sigma) {
                    Ok(lognormal) => lognormal.sample(rng),
                    Err(_) => median.as_secs_f64(),
                }
            }
            Delay::Pareto { scale, shape } => match Pareto::new(scale.as_secs_f64(), shape) {
                Ok(pareto) => pareto.sample(rng),
                Err(_) => scale.as_secs_f64(),
            },
        };
        clamp_seconds(seconds)
    }
}

/// μ and σ of the underlying normal for a lognormal given its median and p99.
fn lognormal_params(median: Duration, p99: Duration) -> (f64, f64) {
    let mu = median.as_secs_f64().max(f64::MIN_POSITIVE).ln();
    let sigma = (p99.as_secs_f64().max(f64::MIN_POSITIVE).ln() - mu) / Z_P99;
    (mu, sigma.max(0.0))
}

fn clamp_seconds(seconds: f64) -> Duration {
    if seconds.is_nan() || seconds <= 0.0 {
        return Duration::ZERO;
    }
    Duration::try_from_secs_f64(seconds)
        .unwrap_or(MAX_SAMPLED_DELAY)
        .min(MAX_SAMPLED_DELAY)
}

impl fmt::Display for Delay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = |d: &Duration| format_duration(*d);
        match self {
            Delay::Fixed(x) => write!(f, "{}", d(x)),
            Delay::Uniform { min, max } => write!(f, "uniform({}..{})", d(min), d(max)),
            Delay::Normal { mean, stddev, abs } => {
                let (open, close) = if *abs { ("|", "|") } else { ("", "") };
                write!(f, "{open}normal({} ± {}){close}", d(mean), d(stddev))
            }
            Delay::LogNormal { median, p99 } => {
                write!(f, "lognormal(median {}, p99 {})", d(median), d(p99))
            }
            Delay::Pareto { scale, shape } => write!(f, "pareto({}, shape {shape})", d(scale)),
        }
    }
}

/// Validates a delay as written; error paths are relative to the delay (`lognormal.p99`).
pub fn validate_delay(raw: &RawDelay) -> Result<Delay, Vec<PathError>> {
    let mut errors = Vec::new();
    let mut duration = |path: &str, raw: &RawDuration| -> Option<Duration> {
        parse_duration(&raw.0)
            .map_err(|message| errors.push(PathError::new(path, message)))
            .ok()
    };
    let table = match raw {
        RawDelay::Fixed(text) => {
            return duration("", text).map(Delay::Fixed).ok_or(errors);
        }
        RawDelay::Table(table) => table,
    };
    let given: Vec<&str> = [
        ("fixed", table.fixed.is_some()),
        ("uniform", table.uniform.is_some()),
        ("normal", table.normal.is_some()),
        ("lognormal", table.lognormal.is_some()),
        ("pareto", table.pareto.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, present)| present.then_some(name))
    .collect();
    if given.len() != 1 {
        let message = if given.is_empty() {
            "give one of fixed, uniform, normal, lognormal, pareto".to_string()
        } else {
            format!(
                "give exactly one of fixed, uniform, normal, lognormal, pareto; got {}",
                given.join(" and ")
            )
        };
        return Err(vec![PathError::new("", message)]);
    }

    let delay = if let Some(fixed) = &table.fixed {
        duration("fixed", fixed).map(Delay::Fixed)
    } else if let Some(u) = &table.uniform {
        let (min, max) = (
            duration("uniform.min", &u.min),
            duration("uniform.max", &u.max),
        );
        match (min, max) {
            (Some(min), Some(max)) if min > max => {
                errors.push(PathError::new(
                    "uniform.max",
                    format!(
                        "must be at least min ({}), got {}",
                        format_duration(min),
                        format_duration(max)
                    ),
                ));
                None
            }
            (Some(min), Some(max)) => Some(Delay::Uniform { min, max }),
            _ => None,
        }
    } else if let Some(n) = &table.normal {
        let mean = duration("normal.mean", &n.mean);
        let stddev = duration("normal.stddev", &n.stddev);
        mean.zip(stddev).map(|(mean, stddev)| Delay::Normal {
            mean,
            stddev,
            abs: n.abs,
        })
    } else if let Some(l) = &table.lognormal {
        let median = duration("lognormal.median", &l.median);
        let p99 = duration("lognormal.p99", &l.p99);
        match (median, p99) {
            (Some(median), _) if median.is_zero() => {
                errors.push(PathError::new("lognormal.median", "must be greater than 0"));
                None
            }
            (Some(median), Some(p99)) if p99 < median => {
                errors.push(PathError::new(
                    "lognormal.p99",
                    format!(
                        "must be at least the median ({}), got {}",
                        format_duration(median),
                        format_duration(p99)
                    ),
                ));
                None
            }
            (Some(median), Some(p99)) => Some(Delay::LogNormal { median, p99 }),
            _ => None,
        }
    } else if let Some(p) = &table.pareto {
        let scale = duration("pareto.scale", &p.scale);
        if !(p.shape.is_finite() && p.shape > 0.0) {
            errors.push(PathError::new(
                "pareto.shape",
                format!("must be a number greater than 0, got {}", p.shape),
            ));
        }
        match scale {
            Some(scale) if scale.is_zero() => {
                errors.push(PathError::new("pareto.scale", "must be greater than 0"));
                None
            }
            Some(scale) => Some(Delay::Pareto {
                scale,
                shape: p.shape,
            }),
            None => None,
        }
    } else {
        None
    };
    match delay {
        Some(delay) if errors.is_empty() => Ok(delay),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::super::raw::{RawDelayTable, RawLogNormal};
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn lognormal_hits_its_median_and_p99() {
        let delay = Delay::LogNormal {
            median: ms(80),
            p99: ms(900),
        };
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut samples: Vec<Duration> = (0..20_000).map(|_| delay.sample(&mut rng)).collect();
        samples.sort();
        let median = samples[samples.len() / 2];
        let p99 = samples[samples.len() * 99 / 100];
        assert!((70..90).contains(&median.as_millis()), "median {median:?}");
        assert!((750..1100).contains(&p99.as_millis()), "p99 {p99:?}");
    }

    #[test]
    fn samples_are_never_negative_or_unbounded() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let normal = Delay::Normal {
            mean: ms(1),
            stddev: ms(100),
            abs: false,
        };
        let pareto = Delay::Pareto {
            scale: ms(10),
            shape: 0.01,
        };
        for _ in 0..1000 {
            assert!(normal.sample(&mut rng) <= MAX_SAMPLED_DELAY);
            let p = pareto.sample(&mut rng);
            assert!(p >= ms(10) && p <= MAX_SAMPLED_DELAY);
        }
    }

    #[test]
    fn abs_normal_mirrors_negative_draws() {
        // Mean 0: a clamped normal is zero half the time, the folded one almost never.
        let (clamped, folded) = (
            Delay::Normal {
                mean: ms(0),
                stddev: ms(10),
                abs: false,
            },
            Delay::Normal {
                mean: ms(0),
                stddev: ms(10),
                abs: true,
            },
        );
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let zeros = |d: &Delay, rng: &mut ChaCha8Rng| {
            (0..2000).filter(|_| d.sample(&mut *rng).is_zero()).count()
        };
        assert!(zeros(&clamped, &mut rng) > 800);
        assert_eq!(zeros(&folded, &mut rng), 0);
        // E|N(0, σ)| = σ·√(2/π) ≈ 7.98 ms.
        let mean = (0..20_000)
            .map(|_| folded.sample(&mut rng).as_secs_f64())
            .sum::<f64>()
            / 20_000.0;
        assert!((0.0075..0.0085).contains(&mean), "mean {mean}");
        let raw: RawDelay = toml::from_str::<toml::Table>(
            "d = { normal = { mean = \"10ms\", stddev = \"2ms\", abs = true } }",
        )
        .unwrap()["d"]
            .clone()
            .try_into()
            .unwrap();
        assert_eq!(
            validate_delay(&raw).unwrap(),
            Delay::Normal {
                mean: ms(10),
                stddev: ms(2),
                abs: true
            }
        );
    }

    #[test]
    fn table_needs_exactly_one_distribution() {
        let empty = RawDelay::Table(RawDelayTable::default());
        assert!(validate_delay(&empty).is_err());
        let backwards = RawDelay::Table(RawDelayTable {
            lognormal: Some(RawLogNormal {
                median: "900ms".into(),
                p99: "80ms".into(),
            }),
            ..RawDelayTable::default()
        });
        let errors = validate_delay(&backwards).unwrap_err();
        assert_eq!(errors[0].path, "lognormal.p99");
        assert_eq!(
            validate_delay(&RawDelay::Fixed("80ms".into())),
            Ok(Delay::Fixed(ms(80)))
        );
    }
}
