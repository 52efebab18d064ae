//! Turning a request's field map into validated values, with Salesforce's errors.
//!
//! The checks and their wording follow salesforce-api.md §3: unknown fields (INVALID_FIELD), read-only
//! fields (INVALID_FIELD_FOR_INSERT_UPDATE), types (JSON_PARSER_ERROR), lengths (STRING_TOO_LONG),
//! restricted picklists, e-mail format, numeric range, references (MALFORMED_ID /
//! INVALID_CROSS_REFERENCE_KEY), required fields on create and unique values (DUPLICATE_VALUE).
//! Parent references by external id (`"Account": {"External_Id__c": "A-1"}`) resolve here too.

use super::ids::RecordId;
use super::schema::{FieldDef, FieldType, ObjectDef};
use super::store::OrgData;
use super::value::{self, Value};
use crate::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOp {
    Create,
    Update,
}

/// Where the input comes from: JSON allows typed values; CSV (Bulk 2.0) gives strings, with empty meaning
/// "leave unchanged" and `#N/A` meaning null.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    Json,
    Csv,
}

/// Validate `input` for a write to object `obj`. `skip` names keys the caller handles itself (`Id` on a
/// collection update, the external-id field on upsert is *kept*). `existing` is the row being updated (for
/// uniqueness checks against itself).
pub fn prepare(
    data: &OrgData,
    obj: usize,
    input: &serde_json::Map<String, serde_json::Value>,
    op: WriteOp,
    existing: Option<u64>,
) -> Result<Vec<(usize, Value)>, ApiError> {
    prepare_kind(data, obj, input, op, existing, InputKind::Json)
}

pub fn prepare_kind(
    data: &OrgData,
    obj: usize,
    input: &serde_json::Map<String, serde_json::Value>,
    op: WriteOp,
    existing: Option<u64>,
    kind: InputKind,
) -> Result<Vec<(usize, Value)>, ApiError> {
    let o = &data.schema.objects[obj];
    let mut out: Vec<(usize, Value)> = Vec::with_capacity(input.len());
    for (key, raw) in input {
        if key == "attributes" {
            continue;
        }
        if key.eq_ignore_ascii_case("Id") && op == WriteOp::Update {
            continue;
        }
        // Parent reference by external id: `Account: {External_Id__c: "A-1"}` or CSV `Account.External_Id__c`.
        if let Some((fi, v)) = parent_reference(data, o, key, raw)? {
            out.push((fi, v));
            continue;
        }
        let Some(fi) = o.field_index(key) else {
            return Err(ApiError::no_such_column(key, &o.name));
        };
        let f = &o.fields[fi];
        let allowed = match op {
            WriteOp::Create => f.createable,
            WriteOp::Update => f.updateable,
        };
        if !allowed {
            return Err(ApiError::InvalidFieldForInsertUpdate {
                message: format!(
                    "Unable to create/update fields: {}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.",
                    f.name
                ),
                fields: vec![f.name.clone()],
            });
        }
        let v = match kind {
            InputKind::Json => convert_json(data, o, f, raw)?,
            InputKind::Csv => match raw.as_str() {
                Some("") => continue,
                Some("#N/A") => Value::Null,
                Some(s) => convert_str(data, o, f, s)?,
                None => convert_json(data, o, f, raw)?,
            },
        };
        if v.is_null() && !f.nillable && f.ftype != FieldType::Boolean {
            return Err(ApiError::RequiredFieldMissing(vec![f.name.clone()]));
        }
        out.push((fi, v));
    }
    if op == WriteOp::Create {
        let missing: Vec<String> = o
            .active_fields()
            .filter(|(fi, f)| f.required_on_create() && o.sys_field(*fi).is_none())
            .filter(|(fi, _)| !out.iter().any(|(i, v)| i == fi && !v.is_null()))
            .map(|(_, f)| f.name.clone())
            .collect();
        if !missing.is_empty() {
            return Err(ApiError::RequiredFieldMissing(missing));
        }
    }
    for (fi, v) in &out {
        let f = &o.fields[*fi];
        if !f.unique {
            continue;
        }
        if let Some(s) = v.as_str() {
            let others: Vec<u64> = data.tables[obj]
                .find_by_index(*fi, s)
                .into_iter()
                .filter(|n| Some(*n) != existing)
                .collect();
            if let Some(other) = others.first() {
                return Err(ApiError::DuplicateValue {
                    message: format!(
                        "duplicate value found: {} duplicates value on record with id: {}",
                        f.name,
                        data.id_of(obj, *other).to18()
                    ),
                    fields: vec![],
                });
            }
        }
    }
    Ok(out)
}

fn parent_reference(
    data: &OrgData,
    o: &ObjectDef,
    key: &str,
    raw: &serde_json::Value,
) -> Result<Option<(usize, Value)>, ApiError> {
    let (rel, ext_field, ext_value) = match (key.split_once('.'), raw) {
        (Some((rel, field)), serde_json::Value::String(s)) => {
            (rel.to_string(), field.to_string(), s.clone())
        }
        (None, serde_json::Value::Object(m)) if o.relationship(key).is_some() => {
            let Some((k, v)) = m.iter().find(|(k, _)| k.as_str() != "attributes") else {
                return Ok(None);
            };
            let vs = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (key.to_string(), k.clone(), vs)
        }
        _ => return Ok(None),
    };
    let Some(reff) = o.relationship(&rel) else {
        return Ok(None);
    };
    let fi = o.field_index(&reff.name).unwrap_or(0);
    let Some(parent_obj) = reff
        .reference_to
        .first()
        .and_then(|p| data.schema.object_index(p))
    else {
        return Ok(None);
    };
    let po = &data.schema.objects[parent_obj];
    let Some(pfi) = po
        .field_index(&ext_field)
        .filter(|i| po.fields[*i].id_lookup)
    else {
        return Err(ApiError::InvalidField {
            message: format!(
                "Invalid foreign key relationship name {rel} or field {ext_field} is not an external id"
            ),
            fields: vec![],
        });
    };
    let matches: Vec<u64> = if po.fields[pfi].ftype == FieldType::Id {
        RecordId::parse(&ext_value)
            .filter(|r| data.row(parent_obj, r.num).is_some_and(|row| !row.deleted))
            .map(|r| vec![r.num])
            .unwrap_or_default()
    } else {
        data.tables[parent_obj]
            .find_by_index(pfi, &ext_value)
            .into_iter()
            .collect()
    };
    match matches.as_slice() {
        [one] => Ok(Some((fi, Value::str(data.id_of(parent_obj, *one).to18())))),
        [] => Err(ApiError::InvalidField {
            message: format!(
                "Foreign key external ID: {} not found for field {} in entity {}",
                ext_value.to_lowercase(),
                po.fields[pfi].name,
                po.name
            ),
            fields: vec![],
        }),
        _ => Err(ApiError::InvalidField {
            message: format!(
                "More than 1 record found for external id field {}: {}",
                po.fields[pfi].name, ext_value
            ),
            fields: vec![],
        }),
    }
}

fn type_error(kind: &str, token: &str, shown: &str) -> ApiError {
    ApiError::JsonParser(format!(
        "Cannot deserialize instance of {kind} from {token} value {shown} or request may be missing a required field"
    ))
}

fn json_token(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::String(_) => "VALUE_STRING",
        serde_json::Value::Number(n) if n.is_f64() => "VALUE_NUMBER_FLOAT",
        serde_json::Value::Number(_) => "VALUE_NUMBER_INT",
        serde_json::Value::Bool(true) => "VALUE_TRUE",
        serde_json::Value::Bool(false) => "VALUE_FALSE",
        serde_json::Value::Array(_) => "START_ARRAY",
        serde_json::Value::Object(_) => "START_OBJECT",
        serde_json::Value::Null => "VALUE_NULL",
    }
}

fn convert_json(
    data: &OrgData,
    o: &ObjectDef,
    f: &FieldDef,
    raw: &serde_json::Value,
) -> Result<Value, ApiError> {
    use serde_json::Value as J;
    match raw {
        J::Null => Ok(Value::Null),
        J::String(s) => convert_str(data, o, f, s),
        J::Bool(b) => match f.ftype {
            FieldType::Boolean => Ok(Value::Bool(*b)),
            t if t.is_textual() && t != FieldType::Reference && t != FieldType::Id => {
                convert_str(data, o, f, &b.to_string())
            }
            _ => Err(type_error(
                json_kind(f.ftype),
                json_token(raw),
                &b.to_string(),
            )),
        },
        J::Number(n) => match f.ftype {
            FieldType::Int | FieldType::Long => match n.as_i64() {
                Some(i) => check_range(f, Value::Int(i)),
                None => Err(type_error(
                    json_kind(f.ftype),
                    json_token(raw),
                    &n.to_string(),
                )),
            },
            t if t.is_numeric() => check_range(f, Value::Num(n.as_f64().unwrap_or(0.0))),
            t if t.is_textual() && t != FieldType::Reference && t != FieldType::Id => {
                convert_str(data, o, f, &n.to_string())
            }
            _ => Err(type_error(
                json_kind(f.ftype),
                json_token(raw),
                &n.to_string(),
            )),
        },
        J::Array(_) | J::Object(_) => Err(type_error(
            json_kind(f.ftype),
            json_token(raw),
            &truncate(&raw.to_string(), 40),
        )),
    }
}

fn json_kind(t: FieldType) -> &'static str {
    match t {
        FieldType::Boolean => "boolean",
        FieldType::Int => "int",
        FieldType::Long => "long",
        FieldType::Currency | FieldType::Double | FieldType::Percent => "double",
        FieldType::Date => "date",
        FieldType::Datetime => "datetime",
        FieldType::Time => "time",
        _ => "string",
    }
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// Convert a string input for field `f`.
pub fn convert_str(
    data: &OrgData,
    o: &ObjectDef,
    f: &FieldDef,
    s: &str,
) -> Result<Value, ApiError> {
    match f.ftype {
        FieldType::Boolean => match s.to_ascii_lowercase().as_str() {
            "true" | "1" => Ok(Value::Bool(true)),
            "false" | "0" | "" => Ok(Value::Bool(false)),
            _ => Err(type_error("boolean", "VALUE_STRING", s)),
        },
        FieldType::Int | FieldType::Long => match s.trim().parse::<i64>() {
            Ok(i) => check_range(f, Value::Int(i)),
            Err(_) => match s.trim().parse::<f64>() {
                Ok(x) if x.fract() == 0.0 => check_range(f, Value::Int(x as i64)),
                _ => Err(type_error(json_kind(f.ftype), "VALUE_STRING", s)),
            },
        },
        FieldType::Currency | FieldType::Double | FieldType::Percent => {
            match s.trim().parse::<f64>() {
                Ok(x) if x.is_finite() => check_range(f, Value::Num(x)),
                _ => Err(type_error("double", "VALUE_STRING", s)),
            }
        }
        FieldType::Date => value::parse_date(s)
            .map(Value::Date)
            .ok_or_else(|| type_error("date", "VALUE_STRING", s)),
        FieldType::Datetime => value::parse_datetime(s)
            .map(Value::DateTime)
            .ok_or_else(|| type_error("datetime", "VALUE_STRING", s)),
        FieldType::Time => value::parse_time(s)
            .map(Value::Time)
            .ok_or_else(|| type_error("time", "VALUE_STRING", s)),
        FieldType::Reference | FieldType::Id => reference(data, f, s),
        _ => text(o, f, s),
    }
}

fn check_range(f: &FieldDef, v: Value) -> Result<Value, ApiError> {
    let x = v.as_f64().unwrap_or(0.0);
    let int_digits = match f.ftype {
        FieldType::Int => f.digits.max(1),
        FieldType::Long => 18,
        _ => f.precision.saturating_sub(f.scale).max(1),
    };
    if x.abs() >= 10f64.powi(int_digits as i32) {
        return Err(ApiError::NumberOutsideRange {
            message: format!(
                "{}: value outside of valid range on numeric field: {}",
                f.label,
                value::format_number(x)
            ),
            fields: vec![f.name.clone()],
        });
    }
    Ok(v)
}

fn reference(data: &OrgData, f: &FieldDef, s: &str) -> Result<Value, ApiError> {
    if s.is_empty() {
        return Ok(Value::Null);
    }
    let malformed = || ApiError::MalformedId {
        message: format!("{}: id value of incorrect type: {s}", f.label),
        fields: vec![f.name.clone()],
    };
    let rid = RecordId::parse(s).ok_or_else(malformed)?;
    let target = data
        .schema
        .object_by_prefix(rid.prefix())
        .filter(|oi| {
            f.reference_to
                .iter()
                .any(|t| t.eq_ignore_ascii_case(&data.schema.objects[*oi].name))
        })
        .ok_or_else(malformed)?;
    match data.row(target, rid.num) {
        Some(r) if !r.deleted => Ok(Value::str(rid.to18())),
        Some(_) => Err(ApiError::EntityIsDeleted),
        None => Err(ApiError::InvalidCrossReference {
            message: format!("invalid cross reference id: {s}"),
            fields: vec![f.name.clone()],
        }),
    }
}

fn text(o: &ObjectDef, f: &FieldDef, s: &str) -> Result<Value, ApiError> {
    let _ = o;
    // Salesforce stores empty text as null (so "" for a required field is a missing field).
    if s.is_empty() {
        return Ok(Value::Null);
    }
    if f.length > 0 && s.chars().count() > f.length as usize {
        return Err(ApiError::StringTooLong {
            message: format!(
                "{}: data value too large: {} (max length={})",
                f.label,
                truncate(s, 40),
                f.length
            ),
            fields: vec![f.name.clone()],
        });
    }
    match f.ftype {
        FieldType::Email if !s.is_empty() && !valid_email(s) => Err(ApiError::InvalidEmail {
            message: format!("{}: invalid email address: {s}", f.label),
            fields: vec![f.name.clone()],
        }),
        FieldType::Picklist | FieldType::Multipicklist
            if f.restricted_picklist && !s.is_empty() =>
        {
            let ok = s.split(';').all(|part| {
                f.picklist
                    .iter()
                    .any(|p| p.active && p.value.eq_ignore_ascii_case(part.trim()))
            });
            if ok {
                // Stored in the picklist's canonical casing.
                let canon: Vec<&str> = s
                    .split(';')
                    .filter_map(|part| {
                        f.picklist
                            .iter()
                            .find(|p| p.value.eq_ignore_ascii_case(part.trim()))
                            .map(|p| p.value.as_str())
                    })
                    .collect();
                Ok(Value::str(canon.join(";")))
            } else {
                Err(ApiError::InvalidPicklist {
                    message: format!("{}: bad value for restricted picklist field: {s}", f.label),
                    fields: vec![f.name.clone()],
                })
            }
        }
        _ => Ok(Value::str(s)),
    }
}

fn valid_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(char::is_whitespace)
}
