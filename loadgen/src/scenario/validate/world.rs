//! The rest of the world around the integration: `[ownership]`, `[[faults]]`, `[[actions]]`,
//! `[expect]`, `[sink]`, `[alerts]` and `peak`.

use std::collections::BTreeMap;

use indexmap::IndexMap;
use simulator::faults::plan::{
    format_duration, validate, validate_delay, FaultEffect, FaultKind, FaultPlan, FaultRule,
    RawFault, SessionExpiry, Window,
};

use super::super::anti_pattern::AntiPattern;
use super::super::integration::IntegrationCommand;
use super::super::model::{
    Action, ActionKind, Actor, EndpointSpec, Expectations, FieldRef, OrgSpec, Owner, Ownership,
};
use super::super::raw::{RawAction, RawActionKind, RawActor, RawEndpoint, RawExpect, RawWindow};
use super::super::spans::{push_index, push_key};
use super::{Ctx, Run};

const DEFAULT_BASELINE_MARGIN: u8 = 5;

pub(super) fn ownership(
    ctx: &mut Ctx,
    raw: &BTreeMap<String, String>,
    actors: &[RawActor],
) -> Option<Ownership> {
    let before = ctx.errors.len();
    let mut ownership = IndexMap::new();
    for (field_ref, owner) in raw {
        let path = push_key("ownership", field_ref);
        let Some((object, field)) = field_ref.split_once('.') else {
            ctx.error(&path, "keys are \"Object.Field\", e.g. \"Account.Phone\"");
            continue;
        };
        let (Some(object), Some(field)) = (ctx.api_name(&path, object), ctx.api_name(&path, field))
        else {
            continue;
        };
        let owner = if owner == "integration" {
            Owner::Integration
        } else if actors.iter().any(|a| &a.name == owner) {
            Owner::Actor(owner.clone())
        } else {
            let names: Vec<String> = actors.iter().map(|a| format!("\"{}\"", a.name)).collect();
            let known = if names.is_empty() {
                "there are no [[actors]]".to_string()
            } else {
                format!("actors: {}", names.join(", "))
            };
            ctx.error(
                &path,
                format!("unknown owner \"{owner}\": expected \"integration\" or an actor name ({known})"),
            );
            continue;
        };
        ownership.insert(FieldRef { object, field }, owner);
    }
    (ctx.errors.len() == before).then_some(Ownership(ownership))
}

/// An actor editing a field the integration owns is legal (it sets up a conflict on purpose)
/// but worth saying out loud.
pub(super) fn check_actor_ownership(ctx: &mut Ctx, actors: &[Actor], ownership: &Ownership) {
    for (i, actor) in actors.iter().enumerate() {
        for field in actor.fields.keys() {
            if ownership.owner_of(&actor.object, field) == Some(&Owner::Integration) {
                ctx.warn(
                    &push_key(&push_index("actors", i), "fields"),
                    format!(
                        "actor \"{}\" edits {}.{field}, which [ownership] gives to the integration",
                        actor.name, actor.object
                    ),
                );
            }
        }
    }
}

pub(super) fn faults(
    ctx: &mut Ctx,
    raw: &[RawFault],
    run: &Run,
    org: Option<&OrgSpec>,
) -> Option<FaultPlan> {
    let before = ctx.errors.len();
    let plan = FaultPlan::compile(raw);
    // Rules that validate on their own still get the checks below when another rule is broken,
    // so one run of `sfchaos validate` shows everything.
    let rules: Vec<(usize, FaultRule)> = match &plan {
        Ok(plan) => plan.rules.iter().cloned().enumerate().collect(),
        Err(errors) => {
            for error in errors {
                ctx.errors.push(error.clone().prefixed("faults"));
            }
            raw.iter()
                .enumerate()
                .filter_map(|(i, r)| validate(r).ok().map(|rule| (i, rule)))
                .collect()
        }
    };
    if let Ok(plan) = &plan {
        ctx.warnings
            .extend(plan.lint().into_iter().map(|w| w.prefixed("faults")));
    }
    for (i, rule) in &rules {
        let path = push_index("faults", *i);
        fault_window(ctx, &path, rule, run);
        if let (FaultEffect::RateLimit(limit), Some(org)) = (&rule.effect, org) {
            if let (None, Some(remaining)) = (limit.daily_max, limit.remaining) {
                if remaining > org.daily_api_requests {
                    ctx.error(
                        &push_key(&path, "remaining"),
                        format!(
                            "must not exceed the org's daily allocation ({}), got {remaining}; \
                             set daily_max too to change the allocation",
                            org.daily_api_requests
                        ),
                    );
                }
            }
        }
    }
    match plan {
        Ok(plan) if ctx.errors.len() == before => Some(plan),
        _ => None,
    }
}

/// A fault must start before the run ends (load + drain), or it never fires: an error. One
/// that starts or lasts into the drain is legal (it tests catching up under trouble) but
/// unusual: a warning.
fn fault_window(ctx: &mut Ctx, path: &str, rule: &FaultRule, run: &Run) {
    if !run.known {
        return;
    }
    let start_key = match (&rule.effect, rule.kind()) {
        (_, FaultKind::SchemaChange) => "at",
        (FaultEffect::Session(SessionExpiry::RevokeAt(_)), _) => "revoke_at",
        _ => "start",
    };
    let window = rule.window;
    if window.start >= run.end() {
        ctx.error(
            &push_key(path, start_key),
            format!(
                "never fires: starts at {}, after the run ends at {} ({} of load + {} drain)",
                format_duration(window.start),
                format_duration(run.end()),
                format_duration(run.duration),
                format_duration(run.drain)
            ),
        );
    } else if window.start >= run.duration {
        ctx.warn(
            &push_key(path, start_key),
            format!(
                "starts at {}, after load stops at {}: it only affects the drain",
                format_duration(window.start),
                format_duration(run.duration)
            ),
        );
    } else if let Some(end) = window.end().filter(|end| *end > run.duration) {
        let tail = if end > run.end() {
            format!(
                "; it is cut off when the run ends at {}",
                format_duration(run.end())
            )
        } else {
            String::new()
        };
        ctx.warn(
            &push_key(path, "duration"),
            format!(
                "ends at {}, after load stops at {}: it continues into the drain{tail}",
                format_duration(end),
                format_duration(run.duration)
            ),
        );
    }
}

pub(super) fn actions(ctx: &mut Ctx, raw: &[RawAction], run: &Run) -> Option<Vec<Action>> {
    let before = ctx.errors.len();
    let mut timed = Vec::with_capacity(raw.len());
    for (i, action) in raw.iter().enumerate() {
        let path = push_index("actions", i);
        let key = |k: &str| push_key(&path, k);
        let at = ctx.duration(&key("at"), &action.at);
        if let Some(at) = at.filter(|at| run.known && *at >= run.duration) {
            ctx.error(
                &key("at"),
                format!(
                    "at {} is after load ends at {}; actions happen while load runs",
                    format_duration(at),
                    format_duration(run.duration)
                ),
            );
        }
        let kind = match (action.kind, &action.command) {
            (RawActionKind::Deploy, Some(command)) => match command.parse::<IntegrationCommand>() {
                Ok(command) => Some(ActionKind::Deploy { command }),
                Err(message) => {
                    ctx.error(&key("command"), message);
                    None
                }
            },
            (RawActionKind::Deploy, None) => {
                ctx.error(
                    &key("command"),
                    "missing: a deploy needs the `command` of the new version",
                );
                None
            }
            (_, Some(_)) => {
                ctx.error(&key("command"), "only applies to kind = \"deploy\"");
                None
            }
            (RawActionKind::CrashRestart, None) => Some(ActionKind::CrashRestart),
            (RawActionKind::Restart, None) => Some(ActionKind::Restart),
            (RawActionKind::Rollback, None) => Some(ActionKind::Rollback),
            (RawActionKind::Pause, None) => Some(ActionKind::Pause),
            (RawActionKind::Resume, None) => Some(ActionKind::Resume),
        };
        if let (Some(at), Some(kind)) = (at, kind) {
            timed.push((i, Action { at, kind }));
        }
    }
    // Check the sequence in time order, as the run will apply it.
    timed.sort_by_key(|(i, action)| (action.at, *i));
    let mut deploys = 0usize;
    let mut paused = false;
    for (i, action) in &timed {
        let kind_path = push_key(&push_index("actions", *i), "kind");
        match &action.kind {
            ActionKind::Deploy { .. } => {
                deploys += 1;
                paused = false;
            }
            ActionKind::Rollback if deploys == 0 => {
                ctx.error(&kind_path, "rollback needs an earlier deploy to roll back")
            }
            ActionKind::Rollback => {
                deploys -= 1;
                paused = false;
            }
            ActionKind::Pause if paused => {
                ctx.error(&kind_path, "the integration is already paused")
            }
            ActionKind::Pause => paused = true,
            ActionKind::Resume if !paused => ctx.error(&kind_path, "resume needs an earlier pause"),
            ActionKind::Resume | ActionKind::CrashRestart | ActionKind::Restart => paused = false,
        }
    }
    (ctx.errors.len() == before).then(|| timed.into_iter().map(|(_, a)| a).collect())
}

pub(super) fn expect(ctx: &mut Ctx, raw: RawExpect) -> Option<Expectations> {
    let before = ctx.errors.len();
    let mut scores = BTreeMap::new();
    for (id, score) in raw.min_score.unwrap_or_default() {
        let path = push_key("expect.min_score", &id);
        match id.parse::<AntiPattern>() {
            Ok(anti_pattern) => match u8::try_from(score).ok().filter(|s| *s <= 100) {
                Some(score) => {
                    scores.insert(anti_pattern, score);
                }
                None => ctx.error(&path, format!("must be a score from 0 to 100, got {score}")),
            },
            Err(message) => ctx.error(&path, message),
        }
    }
    let max_p99 = match &raw.max_p99 {
        Some(d) => ctx.positive_duration("expect.max_p99", d),
        None => None,
    };
    let min_achieved_rate = raw.min_achieved_rate.and_then(|rate| {
        if rate > 0.0 && rate <= 1.0 {
            Some(rate)
        } else {
            ctx.error(
                "expect.min_achieved_rate",
                format!("must be a fraction of the target rate in (0, 1], got {rate}"),
            );
            None
        }
    });
    let max_error_rate = raw
        .max_error_rate
        .and_then(|rate| ctx.fraction("expect.max_error_rate", rate));
    let baseline_margin = match raw.baseline_margin {
        None => DEFAULT_BASELINE_MARGIN,
        Some(margin) => match u8::try_from(margin).ok().filter(|m| *m <= 100) {
            Some(margin) => margin,
            None => {
                ctx.error(
                    "expect.baseline_margin",
                    format!("must be a number of score points from 0 to 100, got {margin}"),
                );
                DEFAULT_BASELINE_MARGIN
            }
        },
    };
    (ctx.errors.len() == before).then(|| Expectations {
        min_score: scores.into_iter().collect(),
        lost: raw.lost,
        duplicates: raw.duplicates,
        wrong_value: raw.wrong_value,
        max_p99,
        min_achieved_rate,
        max_error_rate,
        baseline_margin,
    })
}

pub(super) fn endpoint(
    ctx: &mut Ctx,
    name: &str,
    raw: RawEndpoint,
    run: &Run,
) -> Option<EndpointSpec> {
    let before = ctx.errors.len();
    let key = |k: &str| push_key(name, k);
    let error_probability = ctx.fraction(
        &key("error_probability"),
        raw.error_probability.unwrap_or(0.0),
    );
    let error_status = raw.error_status.unwrap_or(503);
    if !(400..=599).contains(&error_status) {
        ctx.error(
            &key("error_status"),
            format!("must be an error status (400-599), got {error_status}"),
        );
    }
    let latency = match &raw.latency {
        Some(delay) => match validate_delay(delay) {
            Ok(delay) => Some(delay),
            Err(errors) => {
                let prefix = key("latency");
                ctx.errors
                    .extend(errors.into_iter().map(|e| e.prefixed(&prefix)));
                None
            }
        },
        None => None,
    };
    let outages = ctx.windows(
        &key("outages"),
        raw.outages.as_deref().unwrap_or_default(),
        run,
    );
    if ctx.errors.len() != before {
        return None;
    }
    Some(EndpointSpec {
        error_probability: error_probability?,
        error_status,
        latency,
        outages: outages?,
    })
}

pub(super) fn peak(ctx: &mut Ctx, raw: &[RawWindow], run: &Run) -> Option<Vec<Window>> {
    ctx.windows("peak", raw, run)
}
