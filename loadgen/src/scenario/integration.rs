//! What `[integration] command` (and `--integration`, and a `deploy` action's `command`) names:
//! a reference integration with its toggles, or a shell command.
//!
//! `builtin:PROFILE[?key=value&…]` where PROFILE is `naive` or `resilient`, each key is an
//! anti-pattern id set to `on` (exhibit it) or `off` (avoid it), `retry` picks the retry strategy
//! (a name, or a full strategy string with `,`-separated parameters:
//! `retry=full-jitter?base=5ms,cap=2s`), and `write=occ` switches the write path to optimistic
//! concurrency (read the record's ETag, `PATCH` with `If-Match`, back off and re-read on 412 — the
//! contention experiment of `scenarios/retry-storm-occ.toml`). Anything not starting with
//! `builtin:` is a shell command run by `sh -c`.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

use super::anti_pattern::AntiPattern;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntegrationCommand {
    Builtin(BuiltinProfile),
    Shell(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltinProfile {
    pub base: BuiltinBase,
    /// Anti-patterns switched on (`true`) or off (`false`) relative to the base profile.
    pub toggles: BTreeMap<AntiPattern, bool>,
    /// `None`: the base profile's own strategy (none for naive, full jitter for resilient).
    pub retry: Option<RetryStrategyId>,
    /// Parameters given with `retry=NAME?…` (`base=5ms,cap=2s`), `,`-separated; the strategy string
    /// is then taken as written, with the grammar's defaults for what it leaves out.
    pub retry_params: Option<String>,
    /// How events become Salesforce writes.
    pub write: WriteMode,
}

/// How a reference integration turns events into Salesforce writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WriteMode {
    /// The profile's own write path (queued upserts by external id, folded per record).
    #[default]
    Upsert,
    /// Every event is its own client doing optimistic concurrency on its record: read the ETag,
    /// `PATCH` with `If-Match`; a 412 is a conflict, retried (after the strategy's backoff) with a
    /// fresh read until it succeeds or the strategy gives up. Events are not folded.
    Occ,
}

impl WriteMode {
    pub fn as_str(self) -> &'static str {
        match self {
            WriteMode::Upsert => "upsert",
            WriteMode::Occ => "occ",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BuiltinBase {
    /// Exhibits all ten anti-patterns.
    Naive,
    /// Avoids all ten.
    Resilient,
}

impl BuiltinBase {
    pub fn as_str(self) -> &'static str {
        match self {
            BuiltinBase::Naive => "naive",
            BuiltinBase::Resilient => "resilient",
        }
    }
}

/// Retry strategies a reference integration (and `sfchaos compare`) can use; the formulas are
/// in resilience-reference.md §1–3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RetryStrategyId {
    None,
    Fixed,
    Exponential,
    FullJitter,
    EqualJitter,
    Decorrelated,
    TokenBucket,
    CircuitBreaker,
    Adaptive,
}

impl RetryStrategyId {
    pub const ALL: [RetryStrategyId; 9] = [
        RetryStrategyId::None,
        RetryStrategyId::Fixed,
        RetryStrategyId::Exponential,
        RetryStrategyId::FullJitter,
        RetryStrategyId::EqualJitter,
        RetryStrategyId::Decorrelated,
        RetryStrategyId::TokenBucket,
        RetryStrategyId::CircuitBreaker,
        RetryStrategyId::Adaptive,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RetryStrategyId::None => "none",
            RetryStrategyId::Fixed => "fixed",
            RetryStrategyId::Exponential => "exponential",
            RetryStrategyId::FullJitter => "full-jitter",
            RetryStrategyId::EqualJitter => "equal-jitter",
            RetryStrategyId::Decorrelated => "decorrelated",
            RetryStrategyId::TokenBucket => "token-bucket",
            RetryStrategyId::CircuitBreaker => "circuit-breaker",
            RetryStrategyId::Adaptive => "adaptive",
        }
    }
}

impl fmt::Display for RetryStrategyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RetryStrategyId {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|s| s.as_str()).collect();
                format!(
                    "unknown retry strategy \"{text}\" (expected one of {})",
                    names.join(", ")
                )
            })
    }
}

impl FromStr for IntegrationCommand {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("must not be empty".to_string());
        }
        let Some(spec) = text.strip_prefix("builtin:") else {
            return Ok(IntegrationCommand::Shell(text.to_string()));
        };
        let (name, query) = spec.split_once('?').unwrap_or((spec, ""));
        let base = match name {
            "naive" => BuiltinBase::Naive,
            "resilient" => BuiltinBase::Resilient,
            other => {
                return Err(format!(
                    "unknown builtin profile \"{other}\" (expected \"naive\" or \"resilient\")"
                ))
            }
        };
        let mut profile = BuiltinProfile {
            base,
            toggles: BTreeMap::new(),
            retry: None,
            retry_params: None,
            write: WriteMode::Upsert,
        };
        let mut write_given = false;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let Some((key, value)) = pair.split_once('=') else {
                return Err(format!("\"{pair}\" in \"{text}\" must be key=value"));
            };
            if key == "retry" {
                let (name, params) = match value.split_once('?') {
                    Some((name, params)) => (name, Some(params)),
                    None => (value, None),
                };
                if profile.retry.replace(name.parse()?).is_some() {
                    return Err("retry is given twice".to_string());
                }
                if let Some(params) = params {
                    value
                        .parse::<crate::retry::RetrySpec>()
                        .map_err(|e| format!("retry={value}: {e}"))?;
                    profile.retry_params = Some(params.to_string());
                }
                continue;
            }
            if key == "write" {
                if std::mem::replace(&mut write_given, true) {
                    return Err("write is given twice".to_string());
                }
                profile.write = match value {
                    "occ" => WriteMode::Occ,
                    "upsert" => WriteMode::Upsert,
                    other => {
                        return Err(format!(
                            "write must be \"occ\" or \"upsert\", got \"{other}\""
                        ))
                    }
                };
                continue;
            }
            let anti_pattern: AntiPattern = key
                .parse()
                .map_err(|e| format!("{e}, \"retry\" or \"write\""))?;
            let on = match value {
                "on" => true,
                "off" => false,
                other => return Err(format!("{key} must be \"on\" or \"off\", got \"{other}\"")),
            };
            if profile.toggles.insert(anti_pattern, on).is_some() {
                return Err(format!("{key} is given twice"));
            }
        }
        Ok(IntegrationCommand::Builtin(profile))
    }
}

impl fmt::Display for IntegrationCommand {
    /// The canonical spelling, which parses back to the same command.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IntegrationCommand::Shell(command) => f.write_str(command),
            IntegrationCommand::Builtin(profile) => {
                write!(f, "builtin:{}", profile.base.as_str())?;
                let mut params: Vec<String> = profile
                    .toggles
                    .iter()
                    .map(|(ap, on)| format!("{ap}={}", if *on { "on" } else { "off" }))
                    .collect();
                if profile.write != WriteMode::Upsert {
                    params.push(format!("write={}", profile.write.as_str()));
                }
                if let Some(retry) = profile.retry {
                    match &profile.retry_params {
                        Some(p) => params.push(format!("retry={retry}?{p}")),
                        None => params.push(format!("retry={retry}")),
                    }
                }
                if !params.is_empty() {
                    write!(f, "?{}", params.join("&"))?;
                }
                Ok(())
            }
        }
    }
}

impl Serialize for IntegrationCommand {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_builtin_profiles_with_toggles() {
        let command: IntegrationCommand = "builtin:naive?blind-retries=on&retry=full-jitter"
            .parse()
            .unwrap();
        let IntegrationCommand::Builtin(profile) = &command else {
            panic!("{command:?}");
        };
        assert_eq!(profile.base, BuiltinBase::Naive);
        assert!(profile.toggles[&AntiPattern::BlindRetries]);
        assert_eq!(profile.retry, Some(RetryStrategyId::FullJitter));
        assert_eq!(
            command.to_string().parse::<IntegrationCommand>(),
            Ok(command)
        );
    }

    #[test]
    fn retry_parameters_and_the_occ_write_mode_round_trip() {
        let text = "builtin:resilient?write=occ&retry=exponential?base=5ms,cap=2s,max-attempts=inf";
        let command: IntegrationCommand = text.parse().unwrap();
        let IntegrationCommand::Builtin(profile) = &command else {
            panic!("{command:?}");
        };
        assert_eq!(profile.write, WriteMode::Occ);
        assert_eq!(profile.retry, Some(RetryStrategyId::Exponential));
        assert_eq!(
            profile.retry_params.as_deref(),
            Some("base=5ms,cap=2s,max-attempts=inf")
        );
        assert_eq!(command.to_string(), text);
        for bad in [
            "builtin:resilient?write=pessimistic",
            "builtin:resilient?retry=none?base=5ms",
            "builtin:resilient?retry=exponential?speed=1",
            "builtin:resilient?write=occ&write=occ",
        ] {
            assert!(bad.parse::<IntegrationCommand>().is_err(), "{bad}");
        }
    }

    #[test]
    fn anything_else_is_a_shell_command() {
        assert_eq!(
            "python3 sync.py --fast".parse(),
            Ok(IntegrationCommand::Shell("python3 sync.py --fast".into()))
        );
    }

    #[test]
    fn rejects_unknown_profiles_keys_and_values() {
        for bad in [
            "builtin:clever",
            "builtin:resilient?speed=on",
            "builtin:resilient?polling=maybe",
            "builtin:resilient?retry=yolo",
            "builtin:resilient?polling",
            "builtin:resilient?polling=on&polling=off",
            "  ",
        ] {
            assert!(bad.parse::<IntegrationCommand>().is_err(), "{bad}");
        }
    }
}
