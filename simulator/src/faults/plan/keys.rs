//! Which keys each fault kind accepts.
//!
//! [`super::RawFault`] is one flat struct shared by all kinds, so serde accepts `mode` on a
//! latency rule; this table is what rejects it, with a message listing the keys that kind does
//! take.

use super::model::FaultKind;
use super::raw::RawFault;
use super::PathError;

/// The kind-specific keys of a kind (beyond `kind`, `id`, `name`, window, scope and trigger).
pub fn params_of(kind: FaultKind) -> &'static [&'static str] {
    match kind {
        FaultKind::Latency => &["delay", "per"],
        FaultKind::Error => &["status", "error_code", "message"],
        FaultKind::Outage => &["mode", "status"],
        FaultKind::RateLimit => &[
            "daily_max",
            "remaining",
            "window",
            "per_window",
            "concurrent_long_running",
            "long_running_threshold",
        ],
        FaultKind::Session => &["lifetime", "revoke_at"],
        FaultKind::LockContention => &["objects", "hold", "wait"],
        FaultKind::PartialFailure => &["fraction", "rows", "keys", "error_codes"],
        FaultKind::SchemaChange => &[
            "at",
            "change",
            "object",
            "field",
            "to",
            "field_type",
            "values",
            "length",
        ],
        FaultKind::BulkSlowdown => &["extra", "fail", "error_message"],
        FaultKind::Connection => &["mode", "bytes_per_sec", "after_bytes"],
        FaultKind::Streaming => &["mode", "count", "fraction"],
    }
}

/// Kinds that act on the org as a whole rather than on individual requests take no trigger.
pub(crate) fn takes_trigger(kind: FaultKind) -> bool {
    !matches!(
        kind,
        FaultKind::RateLimit | FaultKind::Session | FaultKind::SchemaChange
    )
}

/// A schema change happens at one instant (`at`) and stays; it has no window or scope.
pub(crate) fn takes_window_and_scope(kind: FaultKind) -> bool {
    kind != FaultKind::SchemaChange
}

/// Reports every key present on `raw` that its kind does not accept.
pub(crate) fn check(raw: &RawFault, errors: &mut Vec<PathError>) {
    let kind = raw.kind;
    let allowed = params_of(kind);
    for key in raw.present_params() {
        if !allowed.contains(&key) {
            errors.push(PathError::new(
                key,
                format!(
                    "not a key of kind \"{kind}\" (its own keys: {})",
                    allowed.join(", ")
                ),
            ));
        }
    }
    if !takes_window_and_scope(kind) {
        let present = [
            ("start", raw.start.is_some()),
            ("duration", raw.duration.is_some()),
            ("scope", raw.scope.is_some()),
        ];
        for (key, _) in present.into_iter().filter(|(_, p)| *p) {
            errors.push(PathError::new(
                key,
                format!("kind \"{kind}\" happens once at `at` and has no window or scope"),
            ));
        }
    }
    if !takes_trigger(kind) {
        let present = [
            ("probability", raw.probability.is_some()),
            ("first", raw.first.is_some()),
            ("every", raw.every.is_some()),
        ];
        for (key, _) in present.into_iter().filter(|(_, p)| *p) {
            errors.push(PathError::new(
                key,
                format!(
                    "kind \"{kind}\" changes the org for its whole window and takes no \
                     probability/first/every"
                ),
            ));
        }
    }
}
