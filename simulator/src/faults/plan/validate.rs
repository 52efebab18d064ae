//! One raw rule → one [`FaultRule`]: the parts every kind shares (window, scope, trigger) and
//! the small checking toolkit the kind-specific code in `kinds.rs` uses.

use std::num::{NonZeroU32, NonZeroU64};
use std::time::Duration;

use super::duration::parse_duration;
use super::effect::{FaultEffect, SessionExpiry};
use super::keys;
use super::kinds;
use super::model::{ApiFamily, FaultKind, FaultRule, HttpMethod, Scope, Trigger, Window};
use super::raw::{RawDuration, RawFault, RawScope, StringList};
use super::route::RoutePattern;
use super::PathError;

/// Validates one rule. Error paths are relative to the rule (`probability`, `scope.api[1]`).
///
/// Reports every problem it can find rather than stopping at the first. A rule without an `id`
/// gets its kind as id; [`super::FaultPlan::compile`] replaces that with `{kind}-{index}`.
pub fn validate(raw: &RawFault) -> Result<FaultRule, Vec<PathError>> {
    let mut check = Checker::default();
    keys::check(raw, &mut check.errors);

    let id = match &raw.id {
        Some(id) => check.identifier("id", id),
        None => Some(raw.kind.to_string()),
    };
    let name = raw.name.clone();
    let window = if raw.kind == FaultKind::SchemaChange {
        let at = check.opt_duration("at", raw.at.as_ref());
        at.map(|at| Window::new(at.unwrap_or(Duration::ZERO), None))
    } else {
        window(&mut check, raw)
    };
    let scope = match &raw.scope {
        Some(scope) => scope_of(&mut check, scope),
        None => Some(Scope::default()),
    };
    let trigger = trigger(&mut check, raw);
    let effect = kinds::effect(&mut check, raw);
    // A revocation is an instant: the rule's window starts there and never closes.
    let window = match effect {
        Some(FaultEffect::Session(SessionExpiry::RevokeAt(at))) => Some(Window::new(at, None)),
        _ => window,
    };

    match (id, window, scope, trigger, effect) {
        (Some(id), Some(window), Some(scope), Some(trigger), Some(effect))
            if check.errors.is_empty() =>
        {
            Ok(FaultRule {
                id,
                name,
                window,
                scope,
                trigger,
                effect,
            })
        }
        _ => Err(check.errors),
    }
}

fn window(check: &mut Checker, raw: &RawFault) -> Option<Window> {
    let start = check.opt_duration("start", raw.start.as_ref())?;
    let duration = check.opt_duration("duration", raw.duration.as_ref())?;
    if duration.is_some_and(|d| d.is_zero()) {
        check.error(
            "duration",
            "must be greater than 0 (omit it for the whole run)",
        );
        return None;
    }
    Some(Window::new(start.unwrap_or(Duration::ZERO), duration))
}

fn trigger(check: &mut Checker, raw: &RawFault) -> Option<Trigger> {
    let given: Vec<&str> = [
        ("probability", raw.probability.is_some()),
        ("first", raw.first.is_some()),
        ("every", raw.every.is_some()),
    ]
    .into_iter()
    .filter_map(|(key, present)| present.then_some(key))
    .collect();
    if given.len() > 1 {
        check.error(
            given[1],
            format!(
                "give only one of probability, first, every; got {}",
                given.join(" and ")
            ),
        );
        return None;
    }
    if let Some(p) = raw.probability {
        return check
            .probability("probability", p)
            .map(Trigger::Probability);
    }
    if let Some(n) = raw.first {
        return check.nonzero_u64("first", n).map(Trigger::First);
    }
    if let Some(n) = raw.every {
        return check.nonzero_u64("every", n).map(Trigger::Every);
    }
    Some(Trigger::ALWAYS)
}

fn scope_of(check: &mut Checker, raw: &RawScope) -> Option<Scope> {
    let errors_before = check.errors.len();
    let mut scope = Scope::default();
    if let Some(apis) = &raw.api {
        scope.apis = check.parse_list("scope.api", apis, "API family", |text| {
            ApiFamily::parse(text).ok_or_else(|| {
                let names: Vec<_> = ApiFamily::ALL.iter().map(|a| a.as_str()).collect();
                names.join(", ")
            })
        });
    }
    if let Some(objects) = &raw.object {
        scope.objects = check.names("scope.object", objects);
    }
    if let Some(route) = &raw.route {
        match RoutePattern::parse(route) {
            Ok(pattern) => scope.route = Some(pattern),
            Err(message) => check.error("scope.route", message),
        }
    }
    if let Some(clients) = &raw.client {
        scope.clients = check.names("scope.client", clients);
    }
    if let Some(methods) = &raw.method {
        scope.methods = check.parse_list("scope.method", methods, "HTTP method", |text| {
            HttpMethod::parse(text).ok_or_else(|| {
                let names: Vec<_> = HttpMethod::ALL.iter().map(|m| m.as_str()).collect();
                names.join(", ")
            })
        });
    }
    (check.errors.len() == errors_before).then_some(scope)
}

/// Collects errors while converting raw values; each helper returns `None` after recording
/// why, so callers can keep going and report everything at once.
#[derive(Debug, Default)]
pub(crate) struct Checker {
    pub(crate) errors: Vec<PathError>,
}

impl Checker {
    pub(crate) fn error(&mut self, path: &str, message: impl Into<String>) {
        self.errors.push(PathError::new(path, message));
    }

    pub(crate) fn duration(&mut self, path: &str, raw: &RawDuration) -> Option<Duration> {
        match parse_duration(&raw.0) {
            Ok(duration) => Some(duration),
            Err(message) => {
                self.error(path, message);
                None
            }
        }
    }

    /// `Some(None)` when absent, `None` when present but invalid.
    pub(crate) fn opt_duration(
        &mut self,
        path: &str,
        raw: Option<&RawDuration>,
    ) -> Option<Option<Duration>> {
        match raw {
            Some(raw) => self.duration(path, raw).map(Some),
            None => Some(None),
        }
    }

    /// A duration that must be longer than zero.
    pub(crate) fn positive_duration(&mut self, path: &str, raw: &RawDuration) -> Option<Duration> {
        let duration = self.duration(path, raw)?;
        if duration.is_zero() {
            self.error(path, "must be greater than 0");
            return None;
        }
        Some(duration)
    }

    pub(crate) fn probability(&mut self, path: &str, value: f64) -> Option<f64> {
        if (0.0..=1.0).contains(&value) {
            Some(value)
        } else {
            self.error(path, format!("must be between 0 and 1, got {value}"));
            None
        }
    }

    pub(crate) fn nonzero_u64(&mut self, path: &str, value: u64) -> Option<NonZeroU64> {
        let nonzero = NonZeroU64::new(value);
        if nonzero.is_none() {
            self.error(path, "must be at least 1, got 0");
        }
        nonzero
    }

    pub(crate) fn nonzero_u32(&mut self, path: &str, value: u32) -> Option<NonZeroU32> {
        let nonzero = NonZeroU32::new(value);
        if nonzero.is_none() {
            self.error(path, "must be at least 1, got 0");
        }
        nonzero
    }

    /// An id: letters, digits, `-`, `_`, `.`, so it is safe in URLs and file names.
    pub(crate) fn identifier(&mut self, path: &str, text: &str) -> Option<String> {
        let valid = !text.is_empty()
            && text.len() <= 100
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if valid {
            Some(text.to_string())
        } else {
            self.error(
                path,
                format!("must be 1-100 letters, digits, '-', '_' or '.', got \"{text}\""),
            );
            None
        }
    }

    /// A non-empty string such as an object or field API name.
    pub(crate) fn name(&mut self, path: &str, text: &str) -> Option<String> {
        if text.trim().is_empty() {
            self.error(path, "must not be empty");
            None
        } else {
            Some(text.to_string())
        }
    }

    /// A non-empty list of non-empty names.
    pub(crate) fn names(&mut self, path: &str, list: &StringList) -> Vec<String> {
        self.parse_list(path, list, "name", |text| {
            if text.trim().is_empty() {
                Err(String::new())
            } else {
                Ok(text.to_string())
            }
        })
    }

    /// Parses each element; reports `path[i]` for bad elements and `path` for an empty list
    /// (an empty list would match nothing, which is never what was meant).
    pub(crate) fn parse_list<T>(
        &mut self,
        path: &str,
        list: &StringList,
        what: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Vec<T> {
        if list.0.is_empty() {
            self.error(path, "must not be empty (omit the key to mean \"any\")");
            return Vec::new();
        }
        let mut out = Vec::with_capacity(list.0.len());
        for (i, text) in list.0.iter().enumerate() {
            match parse(text) {
                Ok(value) => out.push(value),
                Err(options) if options.is_empty() => {
                    self.error(&format!("{path}[{i}]"), format!("empty {what}"))
                }
                Err(options) => self.error(
                    &format!("{path}[{i}]"),
                    format!("unknown {what} \"{text}\" (expected one of {options})"),
                ),
            }
        }
        out
    }

    /// Picks an enum value by its name, listing the choices when the name is unknown.
    pub(crate) fn choice<T: Copy>(
        &mut self,
        path: &str,
        text: &str,
        choices: &[(&str, T)],
    ) -> Option<T> {
        let found = choices
            .iter()
            .find(|(name, _)| *name == text)
            .map(|(_, v)| *v);
        if found.is_none() {
            let names: Vec<String> = choices.iter().map(|(n, _)| format!("\"{n}\"")).collect();
            self.error(
                path,
                format!(
                    "unknown value \"{text}\" (expected one of {})",
                    names.join(", ")
                ),
            );
        }
        found
    }
}
