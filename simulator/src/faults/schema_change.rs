//! Applying a `schema-change` fault to an org's schema.
//!
//! The definitions change in place, exactly as an admin editing the org would change them; every
//! check that reads the schema (write validation, SOQL, describe) then behaves as Salesforce does for
//! the new schema: a renamed or removed field is `INVALID_FIELD` in writes and queries, a new required
//! field is `REQUIRED_FIELD_MISSING` on create, a restricted picklist rejects other values with
//! `INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST`, a shorter length is `STRING_TOO_LONG`, and a
//! deactivated object is unknown (`NOT_FOUND` on its URLs, `INVALID_TYPE` in SOQL). Records keep
//! their stored values. The object's and the schema's `last_modified_ms` move to the change time, so
//! describe's `If-Modified-Since` answers truthfully.

use super::plan::{FieldType as PlanFieldType, SchemaChange};
use crate::org::schema::{label_of, FieldDef, FieldType, PicklistValue};
use crate::org::store::OrgData;

/// Apply `change` at epoch `now_ms`. Returns a description of what changed, or why nothing could.
pub fn apply(data: &mut OrgData, change: &SchemaChange, now_ms: i64) -> Result<String, String> {
    let schema = &mut data.schema;
    let object_name = change.object();
    let Some(obj) = schema.object_mut(object_name) else {
        return Err(format!("the org has no object {object_name}"));
    };
    let canonical = obj.name.clone();
    let field_of = |obj: &crate::org::schema::ObjectDef, name: &str| {
        obj.field_index(name)
            .ok_or_else(|| format!("{canonical} has no field {name}"))
    };
    let done = match change {
        SchemaChange::RenameField { field, to, .. } => {
            let i = field_of(obj, field)?;
            if obj.field_index(to).is_some() {
                return Err(format!("{canonical} already has a field {to}"));
            }
            let f = &mut obj.fields[i];
            let old = std::mem::replace(&mut f.name, to.clone());
            f.label = label_of(to);
            format!("renamed {canonical}.{old} to {to}")
        }
        SchemaChange::RemoveField { field, .. } => {
            let i = field_of(obj, field)?;
            obj.fields[i].active = false;
            format!("removed {canonical}.{}", obj.fields[i].name)
        }
        SchemaChange::AddRequiredField {
            field, field_type, ..
        } => match obj.field_index(field) {
            Some(i) => {
                let f = &mut obj.fields[i];
                f.nillable = false;
                f.defaulted_on_create = false;
                format!("made {canonical}.{} required", f.name)
            }
            None => {
                let mut f = FieldDef::new(field, field_type_of(*field_type));
                f.nillable = false;
                f.defaulted_on_create = false;
                f.default_value = None;
                obj.fields.push(f);
                format!("added required field {canonical}.{field}")
            }
        },
        SchemaChange::RestrictPicklist { field, values, .. } => {
            let i = field_of(obj, field)?;
            let f = &mut obj.fields[i];
            if !matches!(f.ftype, FieldType::Picklist | FieldType::Multipicklist) {
                if !f.ftype.is_textual() {
                    return Err(format!(
                        "{canonical}.{} is not a text or picklist field",
                        f.name
                    ));
                }
                f.ftype = FieldType::Picklist;
            }
            for p in &mut f.picklist {
                p.active = values.iter().any(|v| v.eq_ignore_ascii_case(&p.value));
            }
            for v in values {
                if !f.picklist.iter().any(|p| p.value.eq_ignore_ascii_case(v)) {
                    f.picklist.push(PicklistValue {
                        value: v.clone(),
                        label: v.clone(),
                        active: true,
                        default: false,
                    });
                }
            }
            f.restricted_picklist = true;
            format!("restricted {canonical}.{} to {}", f.name, values.join(", "))
        }
        SchemaChange::ShortenLength { field, length, .. } => {
            let i = field_of(obj, field)?;
            let f = &mut obj.fields[i];
            if !f.ftype.is_textual() {
                return Err(format!("{canonical}.{} has no length", f.name));
            }
            f.length = length.get();
            format!("set {canonical}.{} length to {length}", f.name)
        }
        SchemaChange::DeactivateObject { .. } => {
            obj.active = false;
            format!("deactivated {canonical}")
        }
    };
    obj.last_modified_ms = now_ms;
    schema.last_modified_ms = now_ms;
    schema.reindex();
    data.sync_tables();
    Ok(done)
}

fn field_type_of(t: PlanFieldType) -> FieldType {
    FieldType::parse(t.as_str()).unwrap_or(FieldType::String)
}
