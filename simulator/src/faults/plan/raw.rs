//! The serde mirror of one `[[faults]]` table / one admin-API JSON fault object.
//!
//! Everything kind-specific is an optional key on one flat struct, because the file format puts
//! `mode = "http-503"` right beside `kind = "outage"`. A tagged enum would need `flatten` for the
//! shared keys, and `flatten` silently disables `deny_unknown_fields` (serde-rs/serde#2283);
//! instead [`super::validate`] checks that each key belongs to the rule's kind.
//!
//! Leaf types that need a friendlier error than serde's default ([`RawDuration`],
//! [`StringList`], [`RawDelay`]) have hand-written visitors; everything else is derived.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::model::FaultKind;

/// One fault rule exactly as written. See `docs/scenarios.md` for every key.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFault {
    pub kind: FaultKind,
    /// Stable identifier (admin API, journal, report); defaults to `{kind}-{index}`.
    pub id: Option<String>,
    /// Free text shown in reports.
    pub name: Option<String>,

    // Window and selection, shared by most kinds.
    pub start: Option<RawDuration>,
    pub duration: Option<RawDuration>,
    pub scope: Option<RawScope>,
    pub probability: Option<f64>,
    pub first: Option<u64>,
    pub every: Option<u64>,

    // latency
    pub delay: Option<RawDelay>,
    pub per: Option<String>,

    // error (and `status` for read-only-maintenance outages)
    pub status: Option<u16>,
    pub error_code: Option<String>,
    pub message: Option<String>,

    // outage, connection, streaming
    pub mode: Option<String>,

    // rate-limit
    pub daily_max: Option<u64>,
    pub remaining: Option<u64>,
    pub window: Option<RawDuration>,
    pub per_window: Option<RawRequestCap>,
    pub concurrent_long_running: Option<u32>,
    pub long_running_threshold: Option<RawDuration>,

    // session
    pub lifetime: Option<RawDuration>,
    pub revoke_at: Option<RawDuration>,

    // lock-contention
    pub objects: Option<StringList>,
    pub hold: Option<RawDuration>,
    pub wait: Option<RawDuration>,

    // partial-failure (and `fraction` for streaming drop-events)
    pub fraction: Option<f64>,
    pub rows: Option<Vec<u32>>,
    pub keys: Option<StringList>,
    pub error_codes: Option<StringList>,

    // schema-change
    pub at: Option<RawDuration>,
    pub change: Option<String>,
    pub object: Option<String>,
    pub field: Option<String>,
    pub to: Option<String>,
    pub field_type: Option<String>,
    pub values: Option<StringList>,
    pub length: Option<u32>,

    // bulk-slowdown
    pub extra: Option<RawDuration>,
    pub fail: Option<bool>,
    pub error_message: Option<String>,

    // connection
    pub bytes_per_sec: Option<u32>,
    pub after_bytes: Option<u64>,

    // streaming
    pub count: Option<u32>,
}

impl RawFault {
    /// The kind-specific keys present in this rule, in declaration order. Used to reject keys
    /// that do not belong to the rule's kind.
    pub(crate) fn present_params(&self) -> Vec<&'static str> {
        let mut present = Vec::new();
        macro_rules! collect {
            ($($field:ident),* $(,)?) => {
                $( if self.$field.is_some() { present.push(stringify!($field)); } )*
            };
        }
        collect!(
            delay,
            per,
            status,
            error_code,
            message,
            mode,
            daily_max,
            remaining,
            window,
            per_window,
            concurrent_long_running,
            long_running_threshold,
            lifetime,
            revoke_at,
            objects,
            hold,
            wait,
            fraction,
            rows,
            keys,
            error_codes,
            at,
            change,
            object,
            field,
            to,
            field_type,
            values,
            length,
            extra,
            fail,
            error_message,
            bytes_per_sec,
            after_bytes,
            count,
        );
        present
    }

    /// A rule of this kind with every other key absent; handy for building rules in code.
    pub fn new(kind: FaultKind) -> Self {
        Self {
            kind,
            id: None,
            name: None,
            start: None,
            duration: None,
            scope: None,
            probability: None,
            first: None,
            every: None,
            delay: None,
            per: None,
            status: None,
            error_code: None,
            message: None,
            mode: None,
            daily_max: None,
            remaining: None,
            window: None,
            per_window: None,
            concurrent_long_running: None,
            long_running_threshold: None,
            lifetime: None,
            revoke_at: None,
            objects: None,
            hold: None,
            wait: None,
            fraction: None,
            rows: None,
            keys: None,
            error_codes: None,
            at: None,
            change: None,
            object: None,
            field: None,
            to: None,
            field_type: None,
            values: None,
            length: None,
            extra: None,
            fail: None,
            error_message: None,
            bytes_per_sec: None,
            after_bytes: None,
            count: None,
        }
    }
}

/// `scope = { api = [...], object = [...], route = "...", client = [...], method = [...] }`.
/// Every key is optional; an absent key matches everything.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScope {
    pub api: Option<StringList>,
    pub object: Option<StringList>,
    pub route: Option<String>,
    pub client: Option<StringList>,
    pub method: Option<StringList>,
}

/// `per_window = { requests = 100, window = "10s" }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRequestCap {
    pub requests: u32,
    pub window: RawDuration,
}

/// A duration as written (`"250ms"`); parsed during validation so that a malformed value is
/// reported with the other validation errors instead of aborting deserialization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct RawDuration(pub String);

impl From<&str> for RawDuration {
    fn from(text: &str) -> Self {
        Self(text.to_string())
    }
}

impl<'de> Deserialize<'de> for RawDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DurationVisitor;

        impl Visitor<'_> for DurationVisitor {
            type Value = RawDuration;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration string such as \"250ms\", \"90s\" or \"5m\"")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<RawDuration, E> {
                Ok(RawDuration(text.to_string()))
            }
        }

        deserializer.deserialize_str(DurationVisitor)
    }
}

/// A list of strings that may also be written as a single string: `api = "rest"` is
/// `api = ["rest"]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct StringList(pub Vec<String>);

impl<'de> Deserialize<'de> for StringList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListVisitor;

        impl<'de> Visitor<'de> for ListVisitor {
            type Value = StringList;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or a list of strings")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<StringList, E> {
                Ok(StringList(vec![text.to_string()]))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StringList, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<String>()? {
                    items.push(item);
                }
                Ok(StringList(items))
            }
        }

        deserializer.deserialize_any(ListVisitor)
    }
}

/// A latency: either a fixed duration string (`delay = "80ms"`) or a table naming one
/// distribution (`delay = { lognormal = { median = "80ms", p99 = "900ms" } }`).
#[derive(Debug, Clone, PartialEq)]
pub enum RawDelay {
    Fixed(RawDuration),
    Table(RawDelayTable),
}

impl<'de> Deserialize<'de> for RawDelay {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DelayVisitor;

        impl<'de> Visitor<'de> for DelayVisitor {
            type Value = RawDelay;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a duration string such as \"80ms\" or a table such as \
                     { lognormal = { median = \"80ms\", p99 = \"900ms\" } }",
                )
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<RawDelay, E> {
                Ok(RawDelay::Fixed(RawDuration(text.to_string())))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawDelay, A::Error> {
                RawDelayTable::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawDelay::Table)
            }
        }

        deserializer.deserialize_any(DelayVisitor)
    }
}

/// The table form of a delay: exactly one key must be present.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDelayTable {
    pub fixed: Option<RawDuration>,
    pub uniform: Option<RawUniform>,
    pub normal: Option<RawNormal>,
    pub lognormal: Option<RawLogNormal>,
    pub pareto: Option<RawPareto>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUniform {
    pub min: RawDuration,
    pub max: RawDuration,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNormal {
    pub mean: RawDuration,
    pub stddev: RawDuration,
    /// `true`: |N(mean, stddev)| (negative draws are mirrored, as Brooker's simulator does).
    #[serde(default)]
    pub abs: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLogNormal {
    pub median: RawDuration,
    pub p99: RawDuration,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPareto {
    pub scale: RawDuration,
    pub shape: f64,
}
