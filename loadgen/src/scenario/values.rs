//! Field values carried by events, written by actors and seeded into the org: fixed literals or
//! seeded generators. `datagen` turns a [`ValueSpec`] into values; this module only says what
//! the file asked for.

use std::fmt;

use indexmap::IndexMap;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

use super::raw::{RawFields, RawGenerator, RawValue};
use super::spans::{push_index, push_key};
use super::validate::Ctx;

/// A scalar as written in the file.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Literal {
    String(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::String(s) => write!(f, "{s:?}"),
            Literal::Int(i) => write!(f, "{i}"),
            Literal::Float(x) => write!(f, "{x}"),
            Literal::Bool(b) => write!(f, "{b}"),
        }
    }
}

impl<'de> Deserialize<'de> for Literal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LiteralVisitor;

        impl Visitor<'_> for LiteralVisitor {
            type Value = Literal;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, number or boolean")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Literal, E> {
                Ok(Literal::String(v.to_string()))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Literal, E> {
                Ok(Literal::Int(v))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Literal, E> {
                i64::try_from(v)
                    .map(Literal::Int)
                    .map_err(|_| E::custom("integer too large"))
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Literal, E> {
                Ok(Literal::Float(v))
            }

            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Literal, E> {
                Ok(Literal::Bool(v))
            }
        }

        deserializer.deserialize_any(LiteralVisitor)
    }
}

/// How one field's values are produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ValueSpec {
    /// Generated from the field's type in the org schema (the list form `fields = ["Phone"]`).
    Auto,
    /// Always this value.
    Fixed(Literal),
    /// Uniformly one of these.
    OneOf(Vec<Literal>),
    /// Uniform integer in `min..=max`.
    IntRange { min: i64, max: i64 },
    /// Uniform number in `min..=max`.
    FloatRange { min: f64, max: f64 },
    /// Realistic fake data of this kind.
    Fake(FakeKind),
    /// `prefix` followed by the record's index, zero-padded to 6 digits (`A-000042`), the same
    /// shape as load-stream keys so seeded records can be the ones events update.
    Sequence { prefix: String },
}

impl fmt::Display for ValueSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueSpec::Auto => f.write_str("auto"),
            ValueSpec::Fixed(v) => write!(f, "{v}"),
            ValueSpec::OneOf(values) => {
                let values: Vec<String> = values.iter().map(|v| v.to_string()).collect();
                write!(f, "one of [{}]", values.join(", "))
            }
            ValueSpec::IntRange { min, max } => write!(f, "{min}..={max}"),
            ValueSpec::FloatRange { min, max } => write!(f, "{min}..={max}"),
            ValueSpec::Fake(kind) => write!(f, "fake {}", kind.as_str()),
            ValueSpec::Sequence { prefix } => write!(f, "{prefix}000000…"),
        }
    }
}

/// The fake-data generators `datagen` offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FakeKind {
    Company,
    Name,
    FirstName,
    LastName,
    Email,
    Phone,
    Street,
    City,
    Country,
    PostalCode,
    Url,
    Words,
    Sentence,
    Uuid,
    Date,
    Datetime,
}

impl FakeKind {
    pub const ALL: [FakeKind; 16] = [
        FakeKind::Company,
        FakeKind::Name,
        FakeKind::FirstName,
        FakeKind::LastName,
        FakeKind::Email,
        FakeKind::Phone,
        FakeKind::Street,
        FakeKind::City,
        FakeKind::Country,
        FakeKind::PostalCode,
        FakeKind::Url,
        FakeKind::Words,
        FakeKind::Sentence,
        FakeKind::Uuid,
        FakeKind::Date,
        FakeKind::Datetime,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FakeKind::Company => "company",
            FakeKind::Name => "name",
            FakeKind::FirstName => "first-name",
            FakeKind::LastName => "last-name",
            FakeKind::Email => "email",
            FakeKind::Phone => "phone",
            FakeKind::Street => "street",
            FakeKind::City => "city",
            FakeKind::Country => "country",
            FakeKind::PostalCode => "postal-code",
            FakeKind::Url => "url",
            FakeKind::Words => "words",
            FakeKind::Sentence => "sentence",
            FakeKind::Uuid => "uuid",
            FakeKind::Date => "date",
            FakeKind::Datetime => "datetime",
        }
    }
}

/// Field name → how its values are made, in the order written (list form) or by name (table
/// form; TOML tables carry no order).
pub type FieldSpecs = IndexMap<String, ValueSpec>;

pub(crate) fn validate_fields(ctx: &mut Ctx, path: &str, raw: Option<&RawFields>) -> FieldSpecs {
    let mut fields = FieldSpecs::new();
    match raw {
        None => {}
        Some(RawFields::List(names)) => {
            for (i, name) in names.iter().enumerate() {
                let element = push_index(path, i);
                if let Some(name) = ctx.api_name(&element, name) {
                    if fields.insert(name.clone(), ValueSpec::Auto).is_some() {
                        ctx.error(&element, format!("field \"{name}\" is listed twice"));
                    }
                }
            }
        }
        Some(RawFields::Table(table)) => {
            for (name, value) in table {
                let key = push_key(path, name);
                let valid_name = ctx.api_name(&key, name);
                let spec = validate_value(ctx, &key, value);
                if let (Some(name), Some(spec)) = (valid_name, spec) {
                    fields.insert(name, spec);
                }
            }
        }
    }
    fields
}

fn validate_value(ctx: &mut Ctx, path: &str, raw: &RawValue) -> Option<ValueSpec> {
    let generator = match raw {
        RawValue::Literal(Literal::Float(x)) if !x.is_finite() => {
            ctx.error(path, format!("must be a finite number, got {x}"));
            return None;
        }
        RawValue::Literal(literal) => return Some(ValueSpec::Fixed(literal.clone())),
        RawValue::Generator(generator) => generator,
    };
    let RawGenerator {
        one_of,
        range,
        fake,
        sequence,
    } = generator;
    let given: Vec<&str> = [
        ("one_of", one_of.is_some()),
        ("range", range.is_some()),
        ("fake", fake.is_some()),
        ("sequence", sequence.is_some()),
    ]
    .into_iter()
    .filter_map(|(key, present)| present.then_some(key))
    .collect();
    if given.len() != 1 {
        let got = if given.is_empty() {
            String::new()
        } else {
            format!("; got {}", given.join(" and "))
        };
        ctx.error(
            path,
            format!("a generator table needs exactly one of one_of, range, fake, sequence{got}"),
        );
        return None;
    }
    if let Some(values) = one_of {
        if values.is_empty() {
            ctx.error(&push_key(path, "one_of"), "must not be empty");
            return None;
        }
        return Some(ValueSpec::OneOf(values.clone()));
    }
    if let Some(range) = range {
        let path = push_key(path, "range");
        return match (&range.min, &range.max) {
            (Literal::Int(min), Literal::Int(max)) if min <= max => Some(ValueSpec::IntRange {
                min: *min,
                max: *max,
            }),
            (min, max) => match (as_number(min), as_number(max)) {
                (Some(min), Some(max)) if min <= max && min.is_finite() && max.is_finite() => {
                    Some(ValueSpec::FloatRange { min, max })
                }
                (Some(_), Some(_)) => {
                    ctx.error(
                        &push_key(&path, "max"),
                        format!("must be a finite number at least min ({min}), got {max}"),
                    );
                    None
                }
                _ => {
                    ctx.error(&path, "min and max must be numbers");
                    None
                }
            },
        };
    }
    if let Some(fake) = fake {
        let choices: Vec<(&str, FakeKind)> =
            FakeKind::ALL.iter().map(|k| (k.as_str(), *k)).collect();
        return ctx
            .choice(&push_key(path, "fake"), fake, &choices)
            .map(ValueSpec::Fake);
    }
    sequence.as_ref().map(|prefix| ValueSpec::Sequence {
        prefix: prefix.clone(),
    })
}

fn as_number(literal: &Literal) -> Option<f64> {
    match literal {
        Literal::Int(i) => Some(*i as f64),
        Literal::Float(x) => Some(*x),
        _ => None,
    }
}
