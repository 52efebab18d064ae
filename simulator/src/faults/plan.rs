//! Fault plans: the `[[faults]]` rules of a scenario, as data.
//!
//! A plan is an ordered list of [`FaultRule`]s. Order matters: the engine evaluates rules in
//! install order and the first rule that does something other than pass the request wins.
//!
//! Rules arrive in two stages, like every piece of user configuration in sfchaos:
//! 1. [`RawFault`] mirrors one TOML table / JSON object exactly (`deny_unknown_fields`, every
//!    kind-specific key optional), so the same struct serves scenario files and the admin API.
//! 2. [`validate`] turns one raw rule into a [`FaultRule`] with real types (`Duration`,
//!    `NonZeroU64`, enums, a compiled route pattern), and [`FaultPlan::compile`] checks a whole
//!    list, including contradictions between rules.
//!
//! Errors are [`PathError`]s whose path is relative to the rule (`probability`,
//! `scope.api[1]`) or, from [`FaultPlan::compile`], to the list (`[1].probability`). Callers
//! prefix them (`faults[1].probability`) and, for files, add the line.
//!
//! Times are offsets from the start of the run (the scenario clock), never wall-clock times.
//!
//! # Layout
//!
//! | file | what lives there |
//! |---|---|
//! | `raw.rs` | serde mirror of the file/JSON shape |
//! | `model.rs` | validated rule, window, scope and trigger |
//! | `effect.rs` | validated kind-specific parameters ([`FaultEffect`]) |
//! | `delay.rs` | latency distributions and their sampling |
//! | `validate.rs` | one raw rule → one [`FaultRule`] |
//! | `kinds.rs` | checking and defaulting each kind's own keys |
//! | `keys.rs` | which keys each kind accepts |
//! | `conflicts.rs` | checks across rules: contradictions, duplicate ids, shadowed rules |
//! | `codes.rs` | Salesforce error codes with their default status and message |
//! | `route.rs` | route glob patterns |
//! | `duration.rs` | duration strings (`"250ms"`, `"5m"`) in and out |

mod codes;
mod conflicts;
mod delay;
mod duration;
mod effect;
mod keys;
mod kinds;
mod model;
mod raw;
mod route;
mod validate;

use serde::Serialize;

pub use codes::{known_error, KnownError, KNOWN_ERRORS};
pub use delay::{validate_delay, Delay, MAX_SAMPLED_DELAY};
pub use duration::{format_duration, parse_duration, serde_duration, serde_opt_duration};
pub use effect::{
    BulkSlowdownFault, ConnectionFault, DropEvents, ErrorFault, FaultEffect, FieldType,
    LatencyFault, LatencyUnit, LockContentionFault, OutageFault, OutageMode, PartialFailureFault,
    RateLimitFault, RequestCap, SchemaChange, SessionExpiry, StreamingFault,
};
pub use keys::params_of;
pub use model::{ApiFamily, FaultKind, FaultRule, HttpMethod, Scope, Trigger, Window};
pub use raw::{
    RawDelay, RawDelayTable, RawDuration, RawFault, RawLogNormal, RawNormal, RawPareto,
    RawRequestCap, RawScope, RawUniform, StringList,
};
pub use route::RoutePattern;
pub use validate::validate;

/// A problem found while validating configuration, located by a key path.
///
/// The path uses TOML/JSON-style segments: `scope.api[1]`, `per_window.requests`. It is
/// relative to whatever was validated; [`PathError::prefixed`] makes it relative to an outer
/// document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{path}: {message}")]
pub struct PathError {
    /// Where the problem is, e.g. `probability` or `[2].mode`.
    pub path: String,
    /// What is wrong, phrased for the person who wrote the file.
    pub message: String,
}

impl PathError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }

    /// The same error with its path made relative to an outer document:
    /// `prefixed("faults[1]")` turns `probability` into `faults[1].probability`.
    pub fn prefixed(mut self, prefix: &str) -> Self {
        self.path = join_path(prefix, &self.path);
        self
    }
}

/// Joins two key paths: `join_path("faults", "[1].mode")` is `faults[1].mode`,
/// `join_path("faults[1]", "mode")` is `faults[1].mode`.
pub fn join_path(prefix: &str, rest: &str) -> String {
    if prefix.is_empty() {
        rest.to_string()
    } else if rest.is_empty() {
        prefix.to_string()
    } else if rest.starts_with('[') {
        format!("{prefix}{rest}")
    } else {
        format!("{prefix}.{rest}")
    }
}

/// An ordered, validated list of fault rules: what the engine installs.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FaultPlan {
    /// In install order: the engine tries rules front to back and the first one that does not
    /// pass the request decides it.
    pub rules: Vec<FaultRule>,
}

impl FaultPlan {
    /// Validates every rule, gives rules without an `id` the id `{kind}-{index}` (so
    /// `faults[1]` becomes `outage-1`), and checks the rules against each other.
    ///
    /// Reports every problem found, each with a path relative to the list (`[1].mode`).
    pub fn compile(raw: &[RawFault]) -> Result<FaultPlan, Vec<PathError>> {
        let mut errors = Vec::new();
        let mut rules = Vec::with_capacity(raw.len());
        for (index, fault) in raw.iter().enumerate() {
            match validate(fault) {
                Ok(mut rule) => {
                    if fault.id.is_none() {
                        rule.id = format!("{}-{index}", rule.kind());
                    }
                    rules.push((index, rule));
                }
                Err(errs) => {
                    let prefix = format!("[{index}]");
                    errors.extend(errs.into_iter().map(|e| e.prefixed(&prefix)));
                }
            }
        }
        errors.extend(conflicts::check(&rules));
        if errors.is_empty() {
            Ok(FaultPlan {
                rules: rules.into_iter().map(|(_, rule)| rule).collect(),
            })
        } else {
            Err(errors)
        }
    }

    /// Checks rules about to be appended to an installed list (the admin API): ids must be new and
    /// no new rule may contradict an installed one or an earlier new one. Paths are relative to
    /// `new` (`[1].mode`).
    pub fn check_against(installed: &[FaultRule], new: &[FaultRule]) -> Vec<PathError> {
        let mut errors = Vec::new();
        for (index, rule) in new.iter().enumerate() {
            if installed.iter().any(|r| r.id == rule.id) {
                errors.push(PathError::new(
                    format!("[{index}].id"),
                    format!(
                        "a fault with id \"{}\" is already installed; remove it first or pick another id",
                        rule.id
                    ),
                ));
            }
            for earlier in installed {
                if let Some((key, message)) = conflicts::contradiction(earlier, rule) {
                    errors.push(PathError::new(format!("[{index}].{key}"), message));
                }
            }
        }
        let numbered: Vec<(usize, FaultRule)> = new.iter().cloned().enumerate().collect();
        errors.extend(conflicts::check(&numbered));
        errors
    }

    /// Advice that does not make the plan invalid, e.g. a rule that can never fire because an
    /// earlier rule answers every request it would match. Paths are relative to the list.
    pub fn lint(&self) -> Vec<PathError> {
        conflicts::lint(&self.rules)
    }

    /// The rule with this id, if any.
    pub fn get(&self, id: &str) -> Option<&FaultRule> {
        self.rules.iter().find(|rule| rule.id == id)
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }
}

#[cfg(test)]
mod tests;
