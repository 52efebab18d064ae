//! Checks across rules.
//!
//! Errors ([`check`]) are plans that cannot mean what their author meant: two rules that
//! answer the same requests differently with certainty, or that set the same org limit to two
//! values at once. Advice ([`lint`]) is for plans that are valid but probably not intended, such
//! as a rule that can never fire because an earlier one answers first.
//!
//! Rules are compared pairwise; plans are small (tens of rules), so O(n²) is fine.

use std::collections::HashMap;
use std::fmt::Display;

use super::duration::format_duration;
use super::effect::{FaultEffect, OutageMode, SessionExpiry};
use super::model::{FaultRule, Trigger};
use super::PathError;

/// `rules` pairs each validated rule with its index in the list; paths are `[index].key`.
pub(crate) fn check(rules: &[(usize, FaultRule)]) -> Vec<PathError> {
    let mut errors = Vec::new();
    let mut ids: HashMap<&str, usize> = HashMap::new();
    for (index, rule) in rules {
        if let Some(first) = ids.insert(&rule.id, *index) {
            errors.push(PathError::new(
                format!("[{index}].id"),
                format!("duplicate id \"{}\" (also used by rule [{first}])", rule.id),
            ));
        }
    }
    for (j, (later_index, later)) in rules.iter().enumerate() {
        for (_, earlier) in &rules[..j] {
            if let Some((key, message)) = contradiction(earlier, later) {
                errors.push(PathError::new(format!("[{later_index}].{key}"), message));
            }
        }
    }
    errors
}

/// The key of `later` to blame and why, if the two rules contradict each other.
pub(crate) fn contradiction(
    earlier: &FaultRule,
    later: &FaultRule,
) -> Option<(&'static str, String)> {
    let overlap = earlier.window.overlaps(&later.window);
    if !overlap {
        return None;
    }
    let other = &earlier.id;
    match (&earlier.effect, &later.effect) {
        (FaultEffect::Outage(a), FaultEffect::Outage(b))
            if a.mode != b.mode
                && earlier.trigger == Trigger::ALWAYS
                && later.trigger == Trigger::ALWAYS
                && earlier.scope.overlaps(&later.scope) =>
        {
            Some((
                "mode",
                format!(
                    "contradicts fault \"{other}\": both take down every matching request in \
                     overlapping windows ({} and {}) and scopes, as \"{}\" and \"{}\"; give them \
                     disjoint windows or scopes, or a probability below 1",
                    earlier.window,
                    later.window,
                    a.mode.as_str(),
                    b.mode.as_str()
                ),
            ))
        }
        (FaultEffect::RateLimit(a), FaultEffect::RateLimit(b)) => {
            let differs = |key: &'static str, x: Option<String>, y: Option<String>| match (x, y) {
                (Some(x), Some(y)) if x != y => Some((
                    key,
                    format!(
                        "contradicts fault \"{other}\", which sets {key} = {x} in an overlapping \
                         window ({}); the org has one {key}",
                        earlier.window
                    ),
                )),
                _ => None,
            };
            differs("daily_max", show(a.daily_max), show(b.daily_max))
                .or_else(|| {
                    differs(
                        "window",
                        a.window.map(format_duration),
                        b.window.map(format_duration),
                    )
                })
                .or_else(|| {
                    differs(
                        "concurrent_long_running",
                        show(a.concurrent_long_running),
                        show(b.concurrent_long_running),
                    )
                })
        }
        (
            FaultEffect::Session(SessionExpiry::Lifetime(a)),
            FaultEffect::Session(SessionExpiry::Lifetime(b)),
        ) if a != b && earlier.scope.overlaps(&later.scope) => Some((
            "lifetime",
            format!(
                "contradicts fault \"{other}\", which gives sessions a lifetime of {} in an \
                 overlapping window and scope",
                format_duration(*a)
            ),
        )),
        (FaultEffect::SchemaChange(a), FaultEffect::SchemaChange(b))
            if earlier.window.start == later.window.start
                && a != b
                && a.object() == b.object()
                && (a.field().is_none() || b.field().is_none() || a.field() == b.field()) =>
        {
            Some((
                "change",
                format!(
                    "contradicts fault \"{other}\", which applies {} to {} at the same time ({})",
                    a.name(),
                    a.field()
                        .map(|f| format!("{}.{f}", a.object()))
                        .unwrap_or_else(|| a.object().to_string()),
                    format_duration(earlier.window.start)
                ),
            ))
        }
        _ => None,
    }
}

fn show<T: Display>(value: Option<T>) -> Option<String> {
    value.map(|v| v.to_string())
}

/// Whether a rule answers every request it matches by itself, so that nothing after it sees
/// those requests.
fn answers_everything(rule: &FaultRule) -> bool {
    rule.trigger == Trigger::ALWAYS
        && match &rule.effect {
            FaultEffect::Error(_) => true,
            FaultEffect::Outage(o) => o.mode != OutageMode::ReadOnlyMaintenance,
            _ => false,
        }
}

/// Whether a rule decides requests (rather than shaping the org), so it can be shadowed.
fn decides_requests(rule: &FaultRule) -> bool {
    matches!(
        rule.effect,
        FaultEffect::Error(_) | FaultEffect::Outage(_) | FaultEffect::Connection(_)
    )
}

pub(crate) fn lint(rules: &[FaultRule]) -> Vec<PathError> {
    let mut advice = Vec::new();
    for (j, later) in rules.iter().enumerate() {
        if !decides_requests(later) {
            continue;
        }
        let shadow = rules[..j].iter().find(|earlier| {
            answers_everything(earlier)
                && earlier.window.covers(&later.window)
                && earlier.scope.covers(&later.scope)
        });
        if let Some(earlier) = shadow {
            advice.push(PathError::new(
                format!("[{j}]"),
                format!(
                    "never fires: fault \"{}\" comes first and answers every request this one \
                     would match (rules are tried in order)",
                    earlier.id
                ),
            ));
        }
    }
    advice
}
