//! The serde mirror of a scenario file: stage one of two.
//!
//! Every table is `deny_unknown_fields` (and nothing uses `flatten`, which would silently turn
//! that off: serde-rs/serde#2283). Types are as loose as the file: durations are strings,
//! counts may be zero, names are unchecked; `validate` turns this into the typed
//! [`super::Scenario`]. Keys a file may omit are `Option` here and get their defaults during
//! validation, so defaults live in one place, next to the checks, and the docs can list them.
//!
//! Top-level keys are all optional at this stage so that each section can be deserialized on
//! its own when the file has errors (see `parse.rs`); required top-level keys are checked
//! during validation.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use simulator::faults::plan::{RawDelay, RawDuration, RawFault, StringList};

use super::model::Edition;
use super::values::Literal;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawScenario {
    pub name: Option<String>,
    pub description: Option<String>,
    pub seed: Option<u64>,
    pub duration: Option<RawDuration>,
    pub drain: Option<RawDuration>,
    pub org: Option<RawOrg>,
    pub integration: Option<RawIntegration>,
    #[serde(default)]
    pub load: Vec<RawLoad>,
    #[serde(default)]
    pub actors: Vec<RawActor>,
    /// `"Object.Field" = "owner"`. A BTreeMap because toml hands tables over in key order
    /// anyway; the order of ownership entries carries no meaning.
    #[serde(default)]
    pub ownership: BTreeMap<String, String>,
    #[serde(default)]
    pub faults: Vec<RawFault>,
    #[serde(default)]
    pub actions: Vec<RawAction>,
    pub expect: Option<RawExpect>,
    pub sink: Option<RawEndpoint>,
    pub alerts: Option<RawEndpoint>,
    #[serde(default)]
    pub peak: Vec<RawWindow>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOrg {
    pub edition: Option<Edition>,
    pub licences: Option<u32>,
    pub daily_api_requests: Option<u64>,
    pub api_window: Option<RawDuration>,
    pub api_usage_start: Option<u64>,
    pub long_running_cap: Option<u32>,
    pub lock_wait: Option<RawDuration>,
    pub session_lifetime: Option<RawDuration>,
    pub api_version: Option<RawApiVersion>,
    pub cdc_objects: Option<StringList>,
    #[serde(default)]
    pub seed: Vec<RawSeed>,
    pub data_dir: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSeed {
    pub object: String,
    pub count: u32,
    pub fields: Option<RawFields>,
}

/// `api_version = "62.0"` or `api_version = 62.0`: both are natural to write.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RawApiVersion(pub String);

impl<'de> Deserialize<'de> for RawApiVersion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct VersionVisitor;

        impl Visitor<'_> for VersionVisitor {
            type Value = RawApiVersion;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an API version such as \"62.0\"")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<RawApiVersion, E> {
                Ok(RawApiVersion(text.to_string()))
            }

            fn visit_f64<E: de::Error>(self, value: f64) -> Result<RawApiVersion, E> {
                Ok(RawApiVersion(format!("{value:.1}")))
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<RawApiVersion, E> {
                Ok(RawApiVersion(format!("{value}.0")))
            }

            fn visit_u64<E: de::Error>(self, value: u64) -> Result<RawApiVersion, E> {
                Ok(RawApiVersion(format!("{value}.0")))
            }
        }

        deserializer.deserialize_any(VersionVisitor)
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawIntegration {
    pub command: Option<String>,
    pub healthz_timeout: Option<RawDuration>,
    pub env: Option<BTreeMap<String, String>>,
    pub stop_timeout: Option<RawDuration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum RawStreamType {
    Upsert,
    Delete,
    Mixed,
    Batch,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLoad {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: RawStreamType,
    pub object: String,
    pub external_id_field: Option<String>,
    pub rate: Option<RawRate>,
    pub keys: Option<RawKeys>,
    pub fields: Option<RawFields>,
    pub max_in_flight: Option<u32>,
    pub start: Option<RawDuration>,
    pub duration: Option<RawDuration>,
    /// `type = "mixed"` only.
    pub weights: Option<RawWeights>,
    /// `type = "batch"` only.
    pub batch_size: Option<u32>,
    pub every: Option<RawDuration>,
    pub at: Option<Vec<RawDuration>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWeights {
    pub upsert: f64,
    pub delete: f64,
}

/// `rate = { constant = 50 }`: exactly one key, checked during validation so the message can
/// name the choices.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRate {
    pub constant: Option<f64>,
    pub poisson: Option<f64>,
    pub ramp: Option<RawRamp>,
    pub steps: Option<Vec<RawStep>>,
    pub burst: Option<RawBurst>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRamp {
    pub from: f64,
    pub to: f64,
    pub over: RawDuration,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStep {
    pub rate: f64,
    #[serde(rename = "for")]
    pub hold: RawDuration,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBurst {
    /// Background rate between bursts; 0 when absent.
    pub rate: Option<f64>,
    pub every: RawDuration,
    pub size: u32,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawKeys {
    pub pool: Option<u64>,
    pub distribution: Option<String>,
    pub exponent: Option<f64>,
    pub prefix: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawActor {
    pub name: String,
    pub object: String,
    pub fields: Option<RawFields>,
    pub rate: RawRate,
    pub keys: Option<RawKeys>,
    pub external_id_field: Option<String>,
    pub username: Option<String>,
    pub start: Option<RawDuration>,
    pub duration: Option<RawDuration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum RawActionKind {
    CrashRestart,
    Restart,
    Deploy,
    Rollback,
    Pause,
    Resume,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAction {
    pub at: RawDuration,
    pub kind: RawActionKind,
    pub command: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawExpect {
    /// Keyed by anti-pattern id; unknown ids are validation errors, with their line.
    pub min_score: Option<BTreeMap<String, u32>>,
    pub lost: Option<u64>,
    pub duplicates: Option<u64>,
    pub wrong_value: Option<u64>,
    pub max_p99: Option<RawDuration>,
    pub min_achieved_rate: Option<f64>,
    pub max_error_rate: Option<f64>,
    pub baseline_margin: Option<u32>,
}

/// `[sink]` and `[alerts]`: the harness's own HTTP servers, which can fail too.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawEndpoint {
    pub error_probability: Option<f64>,
    pub error_status: Option<u16>,
    pub latency: Option<RawDelay>,
    pub outages: Option<Vec<RawWindow>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWindow {
    pub start: RawDuration,
    pub duration: RawDuration,
}

/// `fields = ["Phone", "Name"]` (values generated from each field's type) or
/// `fields = { Name = { fake = "company" }, Region__c = "EMEA" }`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RawFields {
    List(Vec<String>),
    Table(BTreeMap<String, RawValue>),
}

impl<'de> Deserialize<'de> for RawFields {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldsVisitor;

        impl<'de> Visitor<'de> for FieldsVisitor {
            type Value = RawFields;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of field names or a table of field = value (or generator)")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawFields, A::Error> {
                let mut names = Vec::new();
                while let Some(name) = seq.next_element::<String>()? {
                    names.push(name);
                }
                Ok(RawFields::List(names))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawFields, A::Error> {
                BTreeMap::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawFields::Table)
            }
        }

        deserializer.deserialize_any(FieldsVisitor)
    }
}

/// A field value: a literal, or a table naming one generator.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RawValue {
    Literal(Literal),
    Generator(RawGenerator),
}

impl<'de> Deserialize<'de> for RawValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ValueVisitor;

        impl<'de> Visitor<'de> for ValueVisitor {
            type Value = RawValue;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a string, number or boolean, or a generator table such as \
                     { fake = \"company\" }",
                )
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawValue, E> {
                Ok(RawValue::Literal(Literal::String(v.to_string())))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawValue, E> {
                Ok(RawValue::Literal(Literal::Int(v)))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawValue, E> {
                i64::try_from(v)
                    .map(|v| RawValue::Literal(Literal::Int(v)))
                    .map_err(|_| E::custom("integer too large"))
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawValue, E> {
                Ok(RawValue::Literal(Literal::Float(v)))
            }

            fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawValue, E> {
                Ok(RawValue::Literal(Literal::Bool(v)))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawValue, A::Error> {
                RawGenerator::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawValue::Generator)
            }
        }

        deserializer.deserialize_any(ValueVisitor)
    }
}

/// Exactly one key must be present; checked during validation.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGenerator {
    pub one_of: Option<Vec<Literal>>,
    pub range: Option<RawRange>,
    pub fake: Option<String>,
    pub sequence: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRange {
    pub min: Literal,
    pub max: Literal,
}
