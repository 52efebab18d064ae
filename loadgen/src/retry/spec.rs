//! Strategy strings: the one textual form of a retry policy, used by scenario files,
//! `builtin:resilient?retry=…` and `sfchaos compare --strategies`.
//!
//! # Grammar
//!
//! ```text
//! spec   := name [ "?" param { sep param } ]
//! sep    := "&" | "," | ";"          (use "," inside another query string: builtin:resilient?retry=exponential?base=5ms,cap=2s)
//! param  := key "=" value
//! name   := none | fixed | exponential | full-jitter | equal-jitter | decorrelated
//!         | token-bucket | circuit-breaker | adaptive
//! ```
//!
//! Durations use humantime (`5ms`, `2s`, `1m30s`); ratios accept `0.2` or `20%`. Unknown names and keys
//! are errors, so a typo never silently means "default".
//!
//! | key | applies to | default |
//! |---|---|---|
//! | `base` | all but none/fixed | 5ms (Brooker) |
//! | `cap` | all but none/fixed | 2s (Brooker) |
//! | `delay` (alias `base`) | fixed | 1s |
//! | `max-attempts` | all; `inf` = unlimited | 3 (SRE book, AWS standard) |
//! | `budget` | all; `off`, `finagle`, `sre` | `finagle` for the backoff strategies, `off` for token-bucket, circuit-breaker, adaptive (they bound retries themselves) |
//! | `budget-percent`, `budget-min` (retries/s), `budget-ttl` | all; override the preset | — |
//! | `limit-hold` | all; how long to stop sending after `TotalRequests Limit exceeded.` | 5m |
//! | `reauth` | all; re-logins per operation | 1 |
//! | `backoff` | token-bucket, circuit-breaker, adaptive | `full-jitter` |
//! | `flavor` (`aws`/`brooker`), `capacity`, `cost`, `timeout-cost`, `refund`, `fill` | token-bucket | aws: 500/5/10/1; brooker: 5/1/–/–/0.1 |
//! | `failure-ratio`, `min-calls`, `window`, `open`, `probes` | circuit-breaker | 0.1, 100, 30s, 5s, 1 (Polly v8) |
//! | `k`, `window` | adaptive | 2, 2m (SRE book) |

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use super::adaptive::AdaptiveConfig;
use super::backoff::Backoff;
use super::breaker::BreakerConfig;
use super::budget::BudgetConfig;
use super::token_bucket::TokenBucketConfig;

/// Brooker's simulator base.
pub const DEFAULT_BASE: Duration = Duration::from_millis(5);
/// Brooker's simulator cap.
pub const DEFAULT_CAP: Duration = Duration::from_secs(2);
/// The fixed strategy's default sleep (the log-forensics reference's "fixed 1 s").
pub const DEFAULT_FIXED_DELAY: Duration = Duration::from_secs(1);
/// Attempts per operation, original included.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
/// Pause after the daily allocation is exhausted before letting one request test it again.
pub const DEFAULT_LIMIT_HOLD: Duration = Duration::from_secs(300);

/// The strategy names accepted by [`RetrySpec`].
pub const STRATEGY_NAMES: [&str; 9] = [
    "none",
    "fixed",
    "exponential",
    "full-jitter",
    "equal-jitter",
    "decorrelated",
    "token-bucket",
    "circuit-breaker",
    "adaptive",
];

/// Admission control layered on top of the backoff.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Gate {
    /// Only backoff, attempts and budget.
    None,
    /// A retry quota.
    TokenBucket(TokenBucketConfig),
    /// A circuit breaker (gates first attempts too).
    CircuitBreaker(BreakerConfig),
    /// SRE adaptive throttling (gates first attempts too).
    Adaptive(AdaptiveConfig),
}

/// A parsed strategy string: everything needed to build a [`super::RetryPolicy`].
#[derive(Debug, Clone, PartialEq)]
pub struct RetrySpec {
    /// The strategy name as written (one of [`STRATEGY_NAMES`]).
    pub name: &'static str,
    /// Sleep formula between attempts.
    pub backoff: Backoff,
    /// Admission control.
    pub gate: Gate,
    /// Attempts per operation including the first; `None` = unlimited.
    pub max_attempts: Option<u32>,
    /// Retry budget, if any.
    pub budget: Option<BudgetConfig>,
    /// Stop-sending period after the daily allocation runs out.
    pub limit_hold: Duration,
    /// Re-logins allowed per operation.
    pub max_reauth: u32,
}

/// Why a strategy string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// The name is not a known strategy.
    #[error("unknown retry strategy `{0}` (expected one of: {names})", names = STRATEGY_NAMES.join(", "))]
    UnknownStrategy(String),
    /// A key the strategy does not take.
    #[error("retry strategy `{strategy}` has no parameter `{key}`")]
    UnknownParam { strategy: String, key: String },
    /// A value that does not parse or is out of range.
    #[error("retry parameter `{key}`: bad value `{value}`: {reason}")]
    BadValue {
        key: String,
        value: String,
        reason: String,
    },
    /// A parameter without `=`.
    #[error("retry parameter `{0}` is not of the form key=value")]
    Malformed(String),
}

impl RetrySpec {
    /// The defaults for a strategy name.
    pub fn named(name: &str) -> Result<Self, SpecError> {
        let canonical = STRATEGY_NAMES
            .iter()
            .copied()
            .find(|n| *n == name)
            .ok_or_else(|| SpecError::UnknownStrategy(name.to_string()))?;
        let jitter = Backoff::FullJitter {
            base: DEFAULT_BASE,
            cap: DEFAULT_CAP,
        };
        let (backoff, gate, budget) = match canonical {
            "none" => (Backoff::None, Gate::None, Some(BudgetConfig::FINAGLE)),
            "fixed" => (
                Backoff::Fixed {
                    delay: DEFAULT_FIXED_DELAY,
                },
                Gate::None,
                Some(BudgetConfig::FINAGLE),
            ),
            "exponential" => (
                Backoff::Exponential {
                    base: DEFAULT_BASE,
                    cap: DEFAULT_CAP,
                },
                Gate::None,
                Some(BudgetConfig::FINAGLE),
            ),
            "full-jitter" => (jitter, Gate::None, Some(BudgetConfig::FINAGLE)),
            "equal-jitter" => (
                Backoff::EqualJitter {
                    base: DEFAULT_BASE,
                    cap: DEFAULT_CAP,
                },
                Gate::None,
                Some(BudgetConfig::FINAGLE),
            ),
            "decorrelated" => (
                Backoff::Decorrelated {
                    base: DEFAULT_BASE,
                    cap: DEFAULT_CAP,
                },
                Gate::None,
                Some(BudgetConfig::FINAGLE),
            ),
            "token-bucket" => (jitter, Gate::TokenBucket(TokenBucketConfig::AWS), None),
            "circuit-breaker" => (jitter, Gate::CircuitBreaker(BreakerConfig::default()), None),
            _ => (jitter, Gate::Adaptive(AdaptiveConfig::default()), None),
        };
        Ok(Self {
            name: canonical,
            backoff,
            gate,
            max_attempts: Some(DEFAULT_MAX_ATTEMPTS),
            budget,
            limit_hold: DEFAULT_LIMIT_HOLD,
            max_reauth: 1,
        })
    }

    fn apply(&mut self, key: &str, value: &str) -> Result<(), SpecError> {
        let unknown = || SpecError::UnknownParam {
            strategy: self.name.to_string(),
            key: key.to_string(),
        };
        match key {
            "max-attempts" => {
                self.max_attempts = match value {
                    "inf" | "unlimited" => None,
                    _ => {
                        let n: u32 = parse_num(key, value)?;
                        if n == 0 {
                            return Err(bad(key, value, "must be at least 1 (the first attempt)"));
                        }
                        Some(n)
                    }
                }
            }
            "budget" => {
                self.budget = match value {
                    "off" | "none" => None,
                    "finagle" => Some(BudgetConfig::FINAGLE),
                    "sre" => Some(BudgetConfig::SRE),
                    _ => return Err(bad(key, value, "expected off, finagle or sre")),
                }
            }
            "budget-percent" => self.budget_mut().percent = parse_ratio(key, value)?,
            "budget-min" => self.budget_mut().min_retries_per_sec = parse_nonneg(key, value)?,
            "budget-ttl" => self.budget_mut().ttl = parse_duration(key, value)?,
            "limit-hold" => self.limit_hold = parse_duration(key, value)?,
            "reauth" => self.max_reauth = parse_num(key, value)?,
            "base" | "delay" | "cap" => self.set_backoff_param(key, value)?,
            "backoff" => {
                if matches!(self.gate, Gate::None) {
                    return Err(unknown());
                }
                self.backoff = rebase(value, self.backoff)?;
            }
            _ => self.apply_gate_param(key, value).map_err(|e| match e {
                GateParam::Unknown => unknown(),
                GateParam::Bad(err) => err,
            })?,
        }
        Ok(())
    }

    fn budget_mut(&mut self) -> &mut BudgetConfig {
        self.budget.get_or_insert(BudgetConfig::FINAGLE)
    }

    fn set_backoff_param(&mut self, key: &str, value: &str) -> Result<(), SpecError> {
        let d = parse_duration(key, value)?;
        let unknown = SpecError::UnknownParam {
            strategy: self.name.to_string(),
            key: key.to_string(),
        };
        self.backoff = match (self.backoff, key) {
            (Backoff::None, _) => return Err(unknown),
            (Backoff::Fixed { .. }, "base" | "delay") => Backoff::Fixed { delay: d },
            (Backoff::Fixed { .. }, _) => return Err(unknown),
            (_, "delay") => return Err(unknown),
            (b, "base") => with_base_cap(b, Some(d), None),
            (b, _) => with_base_cap(b, None, Some(d)),
        };
        Ok(())
    }

    fn apply_gate_param(&mut self, key: &str, value: &str) -> Result<(), GateParam> {
        match &mut self.gate {
            Gate::None => Err(GateParam::Unknown),
            Gate::TokenBucket(tb) => {
                if key == "flavor" {
                    *tb = match value {
                        "aws" => TokenBucketConfig::AWS,
                        "brooker" => TokenBucketConfig::BROOKER,
                        _ => {
                            return Err(GateParam::Bad(bad(key, value, "expected aws or brooker")))
                        }
                    };
                    return Ok(());
                }
                let v: f64 = parse_nonneg(key, value).map_err(GateParam::Bad)?;
                match (tb, key) {
                    (TokenBucketConfig::Aws { capacity, .. }, "capacity")
                    | (TokenBucketConfig::Brooker { capacity, .. }, "capacity") => *capacity = v,
                    (TokenBucketConfig::Aws { retry_cost, .. }, "cost")
                    | (TokenBucketConfig::Brooker { retry_cost, .. }, "cost") => *retry_cost = v,
                    (TokenBucketConfig::Aws { timeout_cost, .. }, "timeout-cost") => {
                        *timeout_cost = v
                    }
                    (TokenBucketConfig::Aws { success_refund, .. }, "refund") => {
                        *success_refund = v
                    }
                    (TokenBucketConfig::Brooker { fill_per_call, .. }, "fill") => {
                        *fill_per_call = v
                    }
                    _ => return Err(GateParam::Unknown),
                }
                Ok(())
            }
            Gate::CircuitBreaker(cb) => {
                match key {
                    "failure-ratio" => {
                        cb.failure_ratio = parse_ratio(key, value).map_err(GateParam::Bad)?
                    }
                    "min-calls" => {
                        cb.min_throughput = parse_num(key, value).map_err(GateParam::Bad)?
                    }
                    "window" => cb.sampling = parse_duration(key, value).map_err(GateParam::Bad)?,
                    "open" => {
                        cb.break_duration = parse_duration(key, value).map_err(GateParam::Bad)?
                    }
                    "probes" => {
                        let n: u32 = parse_num(key, value).map_err(GateParam::Bad)?;
                        if n == 0 {
                            return Err(GateParam::Bad(bad(
                                key,
                                value,
                                "at least one probe is needed to close",
                            )));
                        }
                        cb.probes = n;
                    }
                    _ => return Err(GateParam::Unknown),
                }
                Ok(())
            }
            Gate::Adaptive(ad) => {
                match key {
                    "k" => ad.k = parse_nonneg(key, value).map_err(GateParam::Bad)?,
                    "window" => ad.window = parse_duration(key, value).map_err(GateParam::Bad)?,
                    _ => return Err(GateParam::Unknown),
                }
                Ok(())
            }
        }
    }
}

enum GateParam {
    Unknown,
    Bad(SpecError),
}

impl FromStr for RetrySpec {
    type Err = SpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (name, params) = match s.split_once('?') {
            Some((n, p)) => (n.trim(), p),
            None => (s, ""),
        };
        let mut spec = RetrySpec::named(name)?;
        for param in params
            .split(['&', ',', ';'])
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let (key, value) = param
                .split_once('=')
                .ok_or_else(|| SpecError::Malformed(param.to_string()))?;
            spec.apply(key.trim(), value.trim())?;
        }
        Ok(spec)
    }
}

impl fmt::Display for RetrySpec {
    /// The canonical string: the name followed by every parameter, so a report shows exactly what ran.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}?", self.name)?;
        if !matches!(self.gate, Gate::None) {
            write!(f, "backoff={}&", self.backoff.name())?;
        }
        match self.backoff {
            Backoff::None => {}
            Backoff::Fixed { delay } => write!(f, "delay={}&", dur(delay))?,
            Backoff::Exponential { base, cap }
            | Backoff::FullJitter { base, cap }
            | Backoff::EqualJitter { base, cap }
            | Backoff::Decorrelated { base, cap } => {
                write!(f, "base={}&cap={}&", dur(base), dur(cap))?
            }
        }
        match self.max_attempts {
            Some(n) => write!(f, "max-attempts={n}")?,
            None => write!(f, "max-attempts=inf")?,
        }
        match self.budget {
            None => write!(f, "&budget=off")?,
            Some(b) => write!(
                f,
                "&budget-percent={}&budget-min={}&budget-ttl={}",
                b.percent,
                b.min_retries_per_sec,
                dur(b.ttl)
            )?,
        }
        write!(
            f,
            "&limit-hold={}&reauth={}",
            dur(self.limit_hold),
            self.max_reauth
        )?;
        match self.gate {
            Gate::None => Ok(()),
            Gate::TokenBucket(TokenBucketConfig::Aws {
                capacity,
                retry_cost,
                timeout_cost,
                success_refund,
            }) => write!(
                f,
                "&flavor=aws&capacity={capacity}&cost={retry_cost}&timeout-cost={timeout_cost}&refund={success_refund}"
            ),
            Gate::TokenBucket(TokenBucketConfig::Brooker {
                capacity,
                fill_per_call,
                retry_cost,
            }) => write!(
                f,
                "&flavor=brooker&capacity={capacity}&cost={retry_cost}&fill={fill_per_call}"
            ),
            Gate::CircuitBreaker(cb) => write!(
                f,
                "&failure-ratio={}&min-calls={}&window={}&open={}&probes={}",
                cb.failure_ratio,
                cb.min_throughput,
                dur(cb.sampling),
                dur(cb.break_duration),
                cb.probes
            ),
            Gate::Adaptive(ad) => write!(f, "&k={}&window={}", ad.k, dur(ad.window)),
        }
    }
}

fn dur(d: Duration) -> String {
    humantime::format_duration(d).to_string().replace(' ', "")
}

fn with_base_cap(b: Backoff, base: Option<Duration>, cap: Option<Duration>) -> Backoff {
    let pick =
        |old_base: Duration, old_cap: Duration| (base.unwrap_or(old_base), cap.unwrap_or(old_cap));
    match b {
        Backoff::Exponential { base: b0, cap: c0 } => {
            let (base, cap) = pick(b0, c0);
            Backoff::Exponential { base, cap }
        }
        Backoff::FullJitter { base: b0, cap: c0 } => {
            let (base, cap) = pick(b0, c0);
            Backoff::FullJitter { base, cap }
        }
        Backoff::EqualJitter { base: b0, cap: c0 } => {
            let (base, cap) = pick(b0, c0);
            Backoff::EqualJitter { base, cap }
        }
        Backoff::Decorrelated { base: b0, cap: c0 } => {
            let (base, cap) = pick(b0, c0);
            Backoff::Decorrelated { base, cap }
        }
        other => other,
    }
}

/// `backoff=NAME` for gated strategies, keeping base/cap already set.
fn rebase(name: &str, current: Backoff) -> Result<Backoff, SpecError> {
    let (base, cap) = match current {
        Backoff::Exponential { base, cap }
        | Backoff::FullJitter { base, cap }
        | Backoff::EqualJitter { base, cap }
        | Backoff::Decorrelated { base, cap } => (base, cap),
        Backoff::None | Backoff::Fixed { .. } => (DEFAULT_BASE, DEFAULT_CAP),
    };
    Ok(match name {
        "none" => Backoff::None,
        "fixed" => Backoff::Fixed {
            delay: DEFAULT_FIXED_DELAY,
        },
        "exponential" => Backoff::Exponential { base, cap },
        "full-jitter" => Backoff::FullJitter { base, cap },
        "equal-jitter" => Backoff::EqualJitter { base, cap },
        "decorrelated" => Backoff::Decorrelated { base, cap },
        _ => {
            return Err(bad(
                "backoff",
                name,
                "expected none, fixed, exponential, full-jitter, equal-jitter or decorrelated",
            ))
        }
    })
}

fn bad(key: &str, value: &str, reason: &str) -> SpecError {
    SpecError::BadValue {
        key: key.to_string(),
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

fn parse_duration(key: &str, value: &str) -> Result<Duration, SpecError> {
    humantime::parse_duration(value).map_err(|e| bad(key, value, &e.to_string()))
}

fn parse_num<T: FromStr>(key: &str, value: &str) -> Result<T, SpecError>
where
    T::Err: fmt::Display,
{
    value
        .parse()
        .map_err(|e: T::Err| bad(key, value, &e.to_string()))
}

fn parse_nonneg(key: &str, value: &str) -> Result<f64, SpecError> {
    let v: f64 = parse_num(key, value)?;
    if !v.is_finite() || v < 0.0 {
        return Err(bad(key, value, "must be a finite number ≥ 0"));
    }
    Ok(v)
}

fn parse_ratio(key: &str, value: &str) -> Result<f64, SpecError> {
    let v = match value.strip_suffix('%') {
        Some(pct) => parse_nonneg(key, pct)? / 100.0,
        None => parse_nonneg(key, value)?,
    };
    if v > 1.0 {
        return Err(bad(key, value, "a ratio must be within 0–1 (or 0%–100%)"));
    }
    Ok(v)
}
