//! Checking and defaulting the kind-specific keys of each fault kind: one builder per kind.
//!
//! Keys that belong to another kind were already rejected by `keys.rs`; here each builder
//! checks its own keys, applies defaults and rejects keys that belong to a different `mode`
//! or `change` of the same kind.

use std::time::Duration;

use super::codes::{code_for_status, known_error};
use super::delay::validate_delay;
use super::effect::{
    BulkSlowdownFault, ConnectionFault, DropEvents, ErrorFault, FaultEffect, FieldType,
    LatencyFault, LatencyUnit, LockContentionFault, OutageFault, OutageMode, PartialFailureFault,
    RateLimitFault, RequestCap, SchemaChange, SessionExpiry, StreamingFault,
};
use super::model::FaultKind;
use super::raw::RawFault;
use super::validate::Checker;

/// Default for `long_running_threshold`: Salesforce counts calls of 20 s or more.
const LONG_RUNNING_THRESHOLD: Duration = Duration::from_secs(20);
/// Default for `hold`: longer than the default 10 s lock wait, so contended writes fail.
const DEFAULT_HOLD: Duration = Duration::from_secs(15);
const DEFAULT_PARTIAL_FAILURE_CODE: &str = "UNABLE_TO_LOCK_ROW";
const DEFAULT_BULK_FAILURE: &str =
    "InternalServerError : An unexpected error occurred while processing the job";

pub(crate) fn effect(check: &mut Checker, raw: &RawFault) -> Option<FaultEffect> {
    match raw.kind {
        FaultKind::Latency => latency(check, raw).map(FaultEffect::Latency),
        FaultKind::Error => error(check, raw).map(FaultEffect::Error),
        FaultKind::Outage => outage(check, raw).map(FaultEffect::Outage),
        FaultKind::RateLimit => rate_limit(check, raw).map(FaultEffect::RateLimit),
        FaultKind::Session => session(check, raw).map(FaultEffect::Session),
        FaultKind::LockContention => lock_contention(check, raw).map(FaultEffect::LockContention),
        FaultKind::PartialFailure => partial_failure(check, raw).map(FaultEffect::PartialFailure),
        FaultKind::SchemaChange => schema_change(check, raw).map(FaultEffect::SchemaChange),
        FaultKind::BulkSlowdown => bulk_slowdown(check, raw).map(FaultEffect::BulkSlowdown),
        FaultKind::Connection => connection(check, raw).map(FaultEffect::Connection),
        FaultKind::Streaming => streaming(check, raw).map(FaultEffect::Streaming),
    }
}

fn latency(check: &mut Checker, raw: &RawFault) -> Option<LatencyFault> {
    let per = match raw.per.as_deref() {
        None => Some(LatencyUnit::Request),
        Some(text) => check.choice(
            "per",
            text,
            &[
                ("request", LatencyUnit::Request),
                ("kb", LatencyUnit::Kb),
                ("hop", LatencyUnit::Hop),
            ],
        ),
    };
    let Some(delay) = &raw.delay else {
        check.error(
            "delay",
            "missing: a latency fault needs `delay`, e.g. delay = \"80ms\"",
        );
        return None;
    };
    let delay = match validate_delay(delay) {
        Ok(delay) => Some(delay),
        Err(errors) => {
            check
                .errors
                .extend(errors.into_iter().map(|e| e.prefixed("delay")));
            None
        }
    };
    Some(LatencyFault {
        delay: delay?,
        per: per?,
    })
}

fn is_error_code(text: &str) -> bool {
    text.starts_with(|c: char| c.is_ascii_uppercase())
        && text
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

fn error(check: &mut Checker, raw: &RawFault) -> Option<ErrorFault> {
    if let Some(status) = raw.status {
        if !(400..=599).contains(&status) {
            check.error(
                "status",
                format!("must be an error status (400-599), got {status}"),
            );
            return None;
        }
    }
    let (status, error_code, default_message) = match (&raw.error_code, raw.status) {
        (Some(code), status) => {
            if !is_error_code(code) {
                check.error(
                    "error_code",
                    format!("must look like a Salesforce code (e.g. UNABLE_TO_LOCK_ROW), got \"{code}\""),
                );
                return None;
            }
            match (known_error(code), status) {
                (Some(known), status) => {
                    (status.unwrap_or(known.status), code.clone(), known.message)
                }
                (None, Some(status)) => (status, code.clone(), ""),
                (None, None) => {
                    check.error(
                        "status",
                        format!("missing: \"{code}\" has no default status, so give `status`"),
                    );
                    return None;
                }
            }
        }
        (None, Some(status)) => {
            match code_for_status(status) {
                Some(known) => (status, known.error_code.to_string(), known.message),
                None => {
                    check.error(
                    "error_code",
                    format!("missing: status {status} has no default error code, so give `error_code`"),
                );
                    return None;
                }
            }
        }
        (None, None) => {
            check.error(
                "error_code",
                "missing: give `error_code` (e.g. \"UNABLE_TO_LOCK_ROW\"), `status`, or both",
            );
            return None;
        }
    };
    let message = match &raw.message {
        Some(message) => message.clone(),
        None if default_message.is_empty() => error_code.clone(),
        None => default_message.to_string(),
    };
    Some(ErrorFault {
        status,
        error_code,
        message,
    })
}

fn outage(check: &mut Checker, raw: &RawFault) -> Option<OutageFault> {
    let modes: Vec<(&str, OutageMode)> = OutageMode::ALL.iter().map(|m| (m.as_str(), *m)).collect();
    let mode = match raw.mode.as_deref() {
        None => OutageMode::Http503,
        Some(text) => check.choice("mode", text, &modes)?,
    };
    let status = match (raw.status, mode) {
        (None, _) => 503,
        (Some(status), OutageMode::ReadOnlyMaintenance) if (400..=599).contains(&status) => status,
        (Some(status), OutageMode::ReadOnlyMaintenance) => {
            check.error(
                "status",
                format!("must be an error status (400-599), got {status}"),
            );
            return None;
        }
        (Some(_), _) => {
            check.error(
                "status",
                "only applies to mode \"read-only-maintenance\" (the status of refused writes)",
            );
            return None;
        }
    };
    Some(OutageFault { mode, status })
}

fn rate_limit(check: &mut Checker, raw: &RawFault) -> Option<RateLimitFault> {
    let before = check.errors.len();
    if raw.daily_max.is_none()
        && raw.remaining.is_none()
        && raw.window.is_none()
        && raw.per_window.is_none()
        && raw.concurrent_long_running.is_none()
    {
        check.error(
            "",
            "a rate-limit fault needs at least one of daily_max, remaining, window, per_window, \
             concurrent_long_running",
        );
    }
    let daily_max = raw.daily_max;
    if daily_max == Some(0) {
        check.error(
            "daily_max",
            "must be at least 1, got 0 (to exhaust the allocation, set remaining = 0)",
        );
    }
    if let (Some(max), Some(remaining)) = (daily_max, raw.remaining) {
        if remaining > max {
            check.error(
                "remaining",
                format!("must not exceed daily_max ({max}), got {remaining}"),
            );
        }
    }
    let window = match &raw.window {
        Some(w) => check.positive_duration("window", w),
        None => None,
    };
    let per_window = match &raw.per_window {
        Some(cap) => {
            let requests = check.nonzero_u32("per_window.requests", cap.requests);
            let window = check.positive_duration("per_window.window", &cap.window);
            requests
                .zip(window)
                .map(|(requests, window)| RequestCap { requests, window })
        }
        None => None,
    };
    let concurrent_long_running = match raw.concurrent_long_running {
        Some(n) => check.nonzero_u32("concurrent_long_running", n),
        None => None,
    };
    let long_running_threshold = match &raw.long_running_threshold {
        Some(_) if raw.concurrent_long_running.is_none() => {
            check.error(
                "long_running_threshold",
                "only applies together with concurrent_long_running",
            );
            None
        }
        Some(t) => check.positive_duration("long_running_threshold", t),
        None => Some(LONG_RUNNING_THRESHOLD),
    };
    if check.errors.len() != before {
        return None;
    }
    Some(RateLimitFault {
        daily_max,
        remaining: raw.remaining,
        window,
        per_window,
        concurrent_long_running,
        long_running_threshold: long_running_threshold?,
    })
}

fn session(check: &mut Checker, raw: &RawFault) -> Option<SessionExpiry> {
    match (&raw.lifetime, &raw.revoke_at) {
        (Some(_), Some(_)) => {
            check.error("revoke_at", "give either lifetime or revoke_at, not both");
            None
        }
        (None, None) => {
            check.error(
                "lifetime",
                "missing: a session fault needs `lifetime` (e.g. \"5m\") or `revoke_at` (a time)",
            );
            None
        }
        (Some(lifetime), None) => check
            .positive_duration("lifetime", lifetime)
            .map(SessionExpiry::Lifetime),
        (None, Some(at)) => {
            if raw.start.is_some() || raw.duration.is_some() {
                let key = if raw.start.is_some() {
                    "start"
                } else {
                    "duration"
                };
                check.error(key, "revoke_at is itself the time; drop start/duration");
                return None;
            }
            check.duration("revoke_at", at).map(SessionExpiry::RevokeAt)
        }
    }
}

fn lock_contention(check: &mut Checker, raw: &RawFault) -> Option<LockContentionFault> {
    let before = check.errors.len();
    let objects = match &raw.objects {
        Some(list) => check.names("objects", list),
        None => Vec::new(),
    };
    let hold = match &raw.hold {
        Some(hold) => check.positive_duration("hold", hold),
        None => Some(DEFAULT_HOLD),
    };
    let wait = match &raw.wait {
        Some(wait) => check.positive_duration("wait", wait).map(Some),
        None => Some(None),
    };
    if check.errors.len() != before {
        return None;
    }
    Some(LockContentionFault {
        objects,
        hold: hold?,
        wait: wait?,
    })
}

fn partial_failure(check: &mut Checker, raw: &RawFault) -> Option<PartialFailureFault> {
    let before = check.errors.len();
    if raw.fraction.is_none() && raw.rows.is_none() && raw.keys.is_none() {
        check.error(
            "fraction",
            "missing: a partial-failure fault needs `fraction`, `rows` or `keys` to pick the \
             records that fail",
        );
    }
    let fraction = raw.fraction.and_then(|f| {
        let f = check.probability("fraction", f)?;
        if f == 0.0 {
            check.error(
                "fraction",
                "must be greater than 0 (a fraction of 0 fails nothing)",
            );
            return None;
        }
        Some(f)
    });
    let mut rows = Vec::new();
    if let Some(raw_rows) = &raw.rows {
        if raw_rows.is_empty() {
            check.error("rows", "must not be empty");
        }
        for (i, row) in raw_rows.iter().enumerate() {
            if let Some(row) = check.nonzero_u32(&format!("rows[{i}]"), *row) {
                rows.push(row);
            }
        }
    }
    let keys = match &raw.keys {
        Some(list) => check.names("keys", list),
        None => Vec::new(),
    };
    let error_codes = match &raw.error_codes {
        Some(list) => check.parse_list("error_codes", list, "error code", |code| {
            if is_error_code(code) {
                Ok(code.to_string())
            } else {
                Err("Salesforce codes such as UNABLE_TO_LOCK_ROW".to_string())
            }
        }),
        None => vec![DEFAULT_PARTIAL_FAILURE_CODE.to_string()],
    };
    if check.errors.len() != before {
        return None;
    }
    Some(PartialFailureFault {
        fraction,
        rows,
        keys,
        error_codes,
    })
}

fn schema_change(check: &mut Checker, raw: &RawFault) -> Option<SchemaChange> {
    const CHANGES: [&str; 6] = [
        "rename-field",
        "remove-field",
        "add-required-field",
        "restrict-picklist",
        "shorten-length",
        "deactivate-object",
    ];
    let Some(change) = raw.change.as_deref() else {
        check.error(
            "change",
            format!(
                "missing: a schema-change fault needs `change`, one of {}",
                CHANGES.join(", ")
            ),
        );
        return None;
    };
    let choices: Vec<(&str, &str)> = CHANGES.iter().map(|c| (*c, *c)).collect();
    let change = check.choice("change", change, &choices)?;
    // Keys each change takes besides `object` (and `field`, for all but deactivate-object).
    let own: &[&str] = match change {
        "rename-field" => &["to"],
        "add-required-field" => &["field_type"],
        "restrict-picklist" => &["values"],
        "shorten-length" => &["length"],
        _ => &[],
    };
    let extras = [
        ("to", raw.to.is_some()),
        ("field_type", raw.field_type.is_some()),
        ("values", raw.values.is_some()),
        ("length", raw.length.is_some()),
        (
            "field",
            raw.field.is_some() && change == "deactivate-object",
        ),
    ];
    let before = check.errors.len();
    for (key, _) in extras
        .iter()
        .filter(|(k, present)| *present && !own.contains(k))
    {
        check.error(key, format!("does not apply to change \"{change}\""));
    }
    let object = required(check, "object", raw.object.as_deref(), change)?;
    let field = if change == "deactivate-object" {
        String::new()
    } else {
        required(check, "field", raw.field.as_deref(), change)?
    };
    if check.errors.len() != before {
        return None;
    }
    match change {
        "rename-field" => {
            let to = required(check, "to", raw.to.as_deref(), change)?;
            if to == field {
                check.error("to", "is the field's current name");
                return None;
            }
            Some(SchemaChange::RenameField { object, field, to })
        }
        "remove-field" => Some(SchemaChange::RemoveField { object, field }),
        "add-required-field" => {
            let types: Vec<(&str, FieldType)> =
                FieldType::ALL.iter().map(|t| (t.as_str(), *t)).collect();
            let field_type = match raw.field_type.as_deref() {
                Some(text) => check.choice("field_type", text, &types)?,
                None => FieldType::String,
            };
            Some(SchemaChange::AddRequiredField {
                object,
                field,
                field_type,
            })
        }
        "restrict-picklist" => {
            let Some(values) = &raw.values else {
                check.error(
                    "values",
                    "missing: restrict-picklist needs the allowed `values`",
                );
                return None;
            };
            let values = check.names("values", values);
            (check.errors.len() == before).then_some(SchemaChange::RestrictPicklist {
                object,
                field,
                values,
            })
        }
        "shorten-length" => {
            let Some(length) = raw.length else {
                check.error("length", "missing: shorten-length needs the new `length`");
                return None;
            };
            let length = check.nonzero_u32("length", length)?;
            Some(SchemaChange::ShortenLength {
                object,
                field,
                length,
            })
        }
        _ => Some(SchemaChange::DeactivateObject { object }),
    }
}

fn required(check: &mut Checker, key: &str, value: Option<&str>, change: &str) -> Option<String> {
    match value {
        Some(text) => check.name(key, text),
        None => {
            check.error(key, format!("missing: change \"{change}\" needs `{key}`"));
            None
        }
    }
}

fn bulk_slowdown(check: &mut Checker, raw: &RawFault) -> Option<BulkSlowdownFault> {
    let fail = raw.fail.unwrap_or(false);
    match (&raw.extra, fail) {
        (Some(_), true) => {
            check.error("fail", "give either extra or fail = true, not both");
            None
        }
        (Some(extra), false) => {
            if raw.error_message.is_some() {
                check.error("error_message", "only applies with fail = true");
                return None;
            }
            check
                .positive_duration("extra", extra)
                .map(BulkSlowdownFault::Extra)
        }
        (None, true) => Some(BulkSlowdownFault::Fail {
            error_message: raw
                .error_message
                .clone()
                .unwrap_or_else(|| DEFAULT_BULK_FAILURE.to_string()),
        }),
        (None, false) => {
            check.error(
                "extra",
                "missing: a bulk-slowdown fault needs `extra` (e.g. \"30s\") or fail = true",
            );
            None
        }
    }
}

fn connection(check: &mut Checker, raw: &RawFault) -> Option<ConnectionFault> {
    let Some(mode) = raw.mode.as_deref() else {
        check.error(
            "mode",
            "missing: a connection fault needs `mode`: \"slow-body\", \"truncate\" or \"malformed-json\"",
        );
        return None;
    };
    let mode = check.choice(
        "mode",
        mode,
        &[
            ("slow-body", "slow-body"),
            ("truncate", "truncate"),
            ("malformed-json", "malformed-json"),
        ],
    )?;
    let before = check.errors.len();
    if raw.bytes_per_sec.is_some() && mode != "slow-body" {
        check.error("bytes_per_sec", "only applies to mode \"slow-body\"");
    }
    if raw.after_bytes.is_some() && mode != "truncate" {
        check.error("after_bytes", "only applies to mode \"truncate\"");
    }
    if check.errors.len() != before {
        return None;
    }
    match mode {
        "slow-body" => {
            let Some(rate) = raw.bytes_per_sec else {
                check.error(
                    "bytes_per_sec",
                    "missing: mode \"slow-body\" needs `bytes_per_sec`",
                );
                return None;
            };
            let bytes_per_sec = check.nonzero_u32("bytes_per_sec", rate)?;
            Some(ConnectionFault::SlowBody { bytes_per_sec })
        }
        "truncate" => {
            let Some(after_bytes) = raw.after_bytes else {
                check.error(
                    "after_bytes",
                    "missing: mode \"truncate\" needs `after_bytes`",
                );
                return None;
            };
            Some(ConnectionFault::Truncate { after_bytes })
        }
        _ => Some(ConnectionFault::MalformedJson),
    }
}

fn streaming(check: &mut Checker, raw: &RawFault) -> Option<StreamingFault> {
    let Some(mode) = raw.mode.as_deref() else {
        check.error(
            "mode",
            "missing: a streaming fault needs `mode`: \"rehandshake\", \"drop-events\" or \
             \"exhaust-allocation\"",
        );
        return None;
    };
    let mode = check.choice(
        "mode",
        mode,
        &[
            ("rehandshake", "rehandshake"),
            ("drop-events", "drop-events"),
            ("exhaust-allocation", "exhaust-allocation"),
        ],
    )?;
    let before = check.errors.len();
    if mode != "drop-events" {
        for (key, present) in [
            ("count", raw.count.is_some()),
            ("fraction", raw.fraction.is_some()),
        ] {
            if present {
                check.error(key, "only applies to mode \"drop-events\"");
            }
        }
    }
    if mode != "rehandshake" {
        for (key, present) in [
            ("probability", raw.probability.is_some()),
            ("first", raw.first.is_some()),
            ("every", raw.every.is_some()),
        ] {
            if present {
                check.error(
                    key,
                    format!(
                        "mode \"{mode}\" takes no probability/first/every (drop-events uses \
                         count or fraction)"
                    ),
                );
            }
        }
    }
    if check.errors.len() != before {
        return None;
    }
    match mode {
        "rehandshake" => Some(StreamingFault::Rehandshake),
        "exhaust-allocation" => Some(StreamingFault::ExhaustAllocation),
        _ => match (raw.count, raw.fraction) {
            (Some(_), Some(_)) => {
                check.error("fraction", "give either count or fraction, not both");
                None
            }
            (Some(count), None) => check
                .nonzero_u32("count", count)
                .map(|n| StreamingFault::DropEvents(DropEvents::Count(n))),
            (None, Some(fraction)) => {
                let fraction = check.probability("fraction", fraction)?;
                if fraction == 0.0 {
                    check.error(
                        "fraction",
                        "must be greater than 0 (a fraction of 0 drops nothing)",
                    );
                    return None;
                }
                Some(StreamingFault::DropEvents(DropEvents::Fraction(fraction)))
            }
            (None, None) => {
                check.error(
                    "count",
                    "missing: mode \"drop-events\" needs `count` or `fraction`",
                );
                None
            }
        },
    }
}
