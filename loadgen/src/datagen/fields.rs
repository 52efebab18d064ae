//! Field values for events.
//!
//! A value is a function of `(seed, field name, key, version)` through a fixed hash, not a draw from
//! a shared RNG stream: adding a field to a scenario, or generating fields in another order, then
//! leaves every other field's values unchanged. `version` is the event's sequence number in its
//! stream, so each event carries values of its own and later events visibly differ from earlier ones
//! for the same key (which is what lets reconciliation tell "later event won" from "earlier event
//! won").

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{combine, hash_str, mix, unit, DatagenError};

fn one() -> i64 {
    1
}

/// How a field's value is generated. Serde shape for scenario files, e.g.
/// `Region__c = { choice = ["AMER", "EMEA"] }`, `Name = { pattern = "Acme {index} v{version}" }`,
/// `Credit_Limit__c = { number = { min = 1000, max = 500000, decimals = 2 } }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum FieldSpec {
    /// The same value on every event.
    Fixed(Value),
    /// `start + step · version`: grows with send order.
    Sequence {
        #[serde(default)]
        start: i64,
        #[serde(default = "one")]
        step: i64,
    },
    /// One of the values, uniformly (a picklist).
    Choice(Vec<Value>),
    /// Uniform in `[min, max]`, rounded to `decimals` places (an integer when 0).
    Number {
        min: f64,
        max: f64,
        #[serde(default)]
        decimals: u32,
    },
    /// Text with placeholders: `{external_id}`, `{index}` (the zero-padded key index),
    /// `{version}`, `{digits:N}` (N random digits), `{letters:N}` (N random capitals),
    /// `{choice:a|b|c}`. `{{` and `}}` are literal braces.
    Pattern(String),
}

/// Inputs of one event's field values.
#[derive(Clone, Copy, Debug)]
pub struct FieldContext<'a> {
    pub seed: u64,
    pub key_index: u64,
    pub external_id: &'a str,
    /// The key index as it appears in the external id (zero padded).
    pub index_text: &'a str,
    pub version: u64,
}

/// A validated, ready-to-run [`FieldSpec`] for one named field.
#[derive(Clone, Debug)]
pub struct FieldGen {
    name_hash: u64,
    kind: Compiled,
}

#[derive(Clone, Debug)]
enum Compiled {
    /// The value, and its JSON.
    Fixed(Value, Box<[u8]>),
    Sequence {
        start: i64,
        step: i64,
    },
    /// The values, and each one's JSON.
    Choice(Vec<Value>, Vec<Box<[u8]>>),
    Number {
        min: f64,
        max: f64,
        scale: f64,
    },
    Pattern(Vec<Token>),
}

/// A generated number: whole when the field has no decimals.
enum Num {
    Int(i64),
    Float(f64),
}

fn json_of(value: &Value) -> Box<[u8]> {
    serde_json::to_vec(value)
        .unwrap_or_default()
        .into_boxed_slice()
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Literal(String),
    ExternalId,
    Index,
    Version,
    Digits(u32),
    Letters(u32),
    Choice(Vec<String>),
}

/// Longest random run a placeholder may ask for; keeps generated values at sane lengths.
const MAX_RANDOM_CHARS: u32 = 64;
const MAX_DECIMALS: u32 = 9;

impl FieldSpec {
    /// Validates the spec for field `field` and prepares it.
    pub fn compile(&self, field: &str) -> Result<FieldGen, DatagenError> {
        let bad = |message: String| DatagenError::InvalidField {
            field: field.to_owned(),
            message,
        };
        let kind = match self {
            FieldSpec::Fixed(v) => Compiled::Fixed(v.clone(), json_of(v)),
            FieldSpec::Sequence { start, step } => Compiled::Sequence {
                start: *start,
                step: *step,
            },
            FieldSpec::Choice(values) => {
                if values.is_empty() {
                    return Err(bad("choice needs at least one value".into()));
                }
                Compiled::Choice(values.clone(), values.iter().map(json_of).collect())
            }
            FieldSpec::Number { min, max, decimals } => {
                if !(min.is_finite() && max.is_finite() && min <= max) {
                    return Err(bad(format!(
                        "number needs finite min <= max, got {min}..{max}"
                    )));
                }
                if *decimals > MAX_DECIMALS {
                    return Err(bad(format!("decimals must be at most {MAX_DECIMALS}")));
                }
                Compiled::Number {
                    min: *min,
                    max: *max,
                    scale: 10f64.powi(i32::try_from(*decimals).unwrap_or(0)),
                }
            }
            FieldSpec::Pattern(p) => Compiled::Pattern(parse_pattern(p).map_err(bad)?),
        };
        Ok(FieldGen {
            name_hash: hash_str(field),
            kind,
        })
    }
}

impl FieldGen {
    /// The field's value for one event.
    pub fn value(&self, ctx: &FieldContext<'_>) -> Value {
        let h = self.hash(ctx);
        match &self.kind {
            Compiled::Fixed(v, _) => v.clone(),
            Compiled::Sequence { start, step } => Value::from(sequence(*start, *step, ctx)),
            Compiled::Choice(values, _) => pick(values, h).cloned().unwrap_or(Value::Null),
            Compiled::Number { min, max, scale } => match number(*min, *max, *scale, h) {
                Num::Int(n) => Value::from(n),
                Num::Float(x) => serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number),
            },
            Compiled::Pattern(tokens) => {
                let mut out = String::new();
                render(tokens, h, ctx, &mut out);
                Value::String(out)
            }
        }
    }

    /// Appends the JSON of [`FieldGen::value`] to `out`, byte for byte what serializing it would
    /// give, without building it. `scratch` is reused for rendering patterns.
    pub fn write_json(&self, ctx: &FieldContext<'_>, out: &mut Vec<u8>, scratch: &mut String) {
        let h = self.hash(ctx);
        match &self.kind {
            Compiled::Fixed(_, json) => out.extend_from_slice(json),
            Compiled::Sequence { start, step } => {
                out.extend_from_slice(
                    itoa::Buffer::new()
                        .format(sequence(*start, *step, ctx))
                        .as_bytes(),
                );
            }
            Compiled::Choice(_, json) => {
                out.extend_from_slice(pick(json, h).map_or(&b"null"[..], |j| &j[..]));
            }
            Compiled::Number { min, max, scale } => match number(*min, *max, *scale, h) {
                Num::Int(n) => out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes()),
                // As `serde_json::Number::from_f64` then serializing it: null unless finite.
                Num::Float(x) if x.is_finite() => {
                    let _ = serde_json::to_writer(&mut *out, &x);
                }
                Num::Float(_) => out.extend_from_slice(b"null"),
            },
            Compiled::Pattern(tokens) => {
                scratch.clear();
                render(tokens, h, ctx, scratch);
                let _ = serde_json::to_writer(&mut *out, scratch.as_str());
            }
        }
    }

    /// The event's hash for this field: each field, key and version draws differently.
    fn hash(&self, ctx: &FieldContext<'_>) -> u64 {
        combine(
            combine(combine(ctx.seed, self.name_hash), ctx.key_index),
            ctx.version,
        )
    }
}

fn sequence(start: i64, step: i64, ctx: &FieldContext<'_>) -> i64 {
    let version = i64::try_from(ctx.version).unwrap_or(i64::MAX);
    start.saturating_add(step.saturating_mul(version))
}

fn number(min: f64, max: f64, scale: f64, h: u64) -> Num {
    let raw = min + unit(h) * (max - min);
    let rounded = ((raw * scale).round() / scale).clamp(min, max);
    if scale == 1.0 {
        // `as` saturates; the range was validated finite.
        Num::Int(rounded as i64)
    } else {
        Num::Float(rounded)
    }
}

fn pick<T>(values: &[T], h: u64) -> Option<&T> {
    let n = u64::try_from(values.len()).ok()?;
    values.get(usize::try_from(h % n.max(1)).ok()?)
}

fn render(tokens: &[Token], h: u64, ctx: &FieldContext<'_>, out: &mut String) {
    // Each random placeholder draws from its own sub-hash, so editing one part of a pattern does
    // not reshuffle the others.
    for (i, token) in tokens.iter().enumerate() {
        let mut th = combine(h, i as u64);
        let mut next = || {
            th = mix(th);
            th
        };
        match token {
            Token::Literal(s) => out.push_str(s),
            Token::ExternalId => out.push_str(ctx.external_id),
            Token::Index => out.push_str(ctx.index_text),
            Token::Version => out.push_str(itoa::Buffer::new().format(ctx.version)),
            Token::Digits(n) => {
                for _ in 0..*n {
                    out.push(char::from(b'0' + (next() % 10) as u8));
                }
            }
            Token::Letters(n) => {
                for _ in 0..*n {
                    out.push(char::from(b'A' + (next() % 26) as u8));
                }
            }
            Token::Choice(options) => {
                if let Some(s) = pick(options, next()) {
                    out.push_str(s);
                }
            }
        }
    }
}

fn parse_pattern(p: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut literal = String::new();
    let mut chars = p.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                literal.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                literal.push('}');
            }
            '{' => {
                let mut inner = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(c) => inner.push(c),
                        None => return Err(format!("unclosed `{{` in pattern {p:?}")),
                    }
                }
                if !literal.is_empty() {
                    tokens.push(Token::Literal(std::mem::take(&mut literal)));
                }
                tokens.push(placeholder(&inner)?);
            }
            '}' => return Err(format!("unmatched `}}` in pattern {p:?} (write `}}}}`)")),
            c => literal.push(c),
        }
    }
    if !literal.is_empty() {
        tokens.push(Token::Literal(literal));
    }
    Ok(tokens)
}

fn placeholder(inner: &str) -> Result<Token, String> {
    let count = |n: &str| -> Result<u32, String> {
        match n.trim().parse::<u32>() {
            Ok(n) if (1..=MAX_RANDOM_CHARS).contains(&n) => Ok(n),
            _ => Err(format!(
                "`{{{inner}}}` needs a count from 1 to {MAX_RANDOM_CHARS}"
            )),
        }
    };
    match inner.split_once(':') {
        None => match inner {
            "external_id" => Ok(Token::ExternalId),
            "index" => Ok(Token::Index),
            "version" => Ok(Token::Version),
            _ => Err(format!(
                "unknown placeholder `{{{inner}}}` (known: external_id, index, version, digits:N, letters:N, choice:a|b)"
            )),
        },
        Some(("digits", n)) => Ok(Token::Digits(count(n)?)),
        Some(("letters", n)) => Ok(Token::Letters(count(n)?)),
        Some(("choice", options)) => Ok(Token::Choice(
            options.split('|').map(str::to_owned).collect(),
        )),
        Some(_) => Err(format!("unknown placeholder `{{{inner}}}`")),
    }
}

/// Ready-made generators for Account-like fields, so scenarios can just list field names.
pub fn preset(field: &str) -> Option<FieldSpec> {
    let choice = |vals: &[&str]| FieldSpec::Choice(vals.iter().map(|v| Value::from(*v)).collect());
    Some(match field {
        "Name" => FieldSpec::Pattern("Acme {index} v{version}".into()),
        "Phone" => FieldSpec::Pattern("+1-555-{digits:3}-{digits:4}".into()),
        "Region__c" => choice(&["AMER", "EMEA", "APAC", "LATAM"]),
        "Credit_Limit__c" => FieldSpec::Number {
            min: 1_000.0,
            max: 1_000_000.0,
            decimals: 2,
        },
        "Industry" => choice(&[
            "Technology",
            "Finance",
            "Healthcare",
            "Manufacturing",
            "Retail",
            "Energy",
            "Education",
            "Media",
        ]),
        "Website" => FieldSpec::Pattern("https://acme-{index}.example.com".into()),
        "NumberOfEmployees" => FieldSpec::Number {
            min: 1.0,
            max: 100_000.0,
            decimals: 0,
        },
        "AnnualRevenue" => FieldSpec::Number {
            min: 100_000.0,
            max: 1_000_000_000.0,
            decimals: 0,
        },
        "Description" => {
            FieldSpec::Pattern("Synced account {external_id}, revision {version}".into())
        }
        _ => return None,
    })
}

/// The default Account field set: Name, Phone, Region__c, Credit_Limit__c, Industry, Website.
pub fn account_fields() -> IndexMap<String, FieldSpec> {
    [
        "Name",
        "Phone",
        "Region__c",
        "Credit_Limit__c",
        "Industry",
        "Website",
    ]
    .into_iter()
    .filter_map(|f| preset(f).map(|spec| (f.to_owned(), spec)))
    .collect()
}
