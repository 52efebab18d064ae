//! Which of an event's fields to write, and how — where `schema_assumptions` and `data_ownership`
//! are decided for the write path.
//!
//! * `schema_assumptions` off: every field is checked against the describe. A field the org no
//!   longer has, one that cannot be written, a value outside a restricted picklist or longer than the
//!   field are left out *for this record only*, so the rest of the record — and every record that
//!   does not carry the field — keeps flowing. On: names go out as the event spelled them.
//! * `data_ownership` off: owned fields are upserted, shared fields written conditionally, fields
//!   someone else owns never (see `ownership.rs`). On: everything is "ours" (and the writer adds the
//!   rest of the record it knows, see `write/single.rs`).

use serde_json::{Map, Value};

use crate::sf::{FieldDescribe, SObjectDescribe};

use super::super::behaviour::Behaviour;
use super::super::ownership::{FieldClass, FieldOwnership};

/// The fields of one write, sorted by how they may be written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// Written unconditionally.
    pub owned: Map<String, Value>,
    /// Written only if nobody changed the record after the event happened.
    pub shared: Map<String, Value>,
    /// Left out, with the reason.
    pub dropped: Vec<(String, &'static str)>,
}

/// Sort `fields` (of `object`, keyed by `ext_field`, which is never part of a body) into a [`Plan`].
pub fn plan(
    object: &str,
    ext_field: &str,
    fields: &Map<String, Value>,
    behaviour: &Behaviour,
    ownership: &FieldOwnership,
    describe: Option<&SObjectDescribe>,
) -> Plan {
    let mut out = Plan::default();
    for (name, value) in fields {
        if name.eq_ignore_ascii_case(ext_field) {
            continue;
        }
        let name = match describe {
            Some(d) => match check(d, name, value) {
                Ok(canonical) => canonical,
                Err(reason) => {
                    out.dropped.push((name.clone(), reason));
                    continue;
                }
            },
            None => name.clone(),
        };
        if behaviour.data_ownership {
            out.owned.insert(name, value.clone());
            continue;
        }
        match ownership.classify(object, &name) {
            FieldClass::Owned => {
                out.owned.insert(name, value.clone());
            }
            FieldClass::Shared => {
                out.shared.insert(name, value.clone());
            }
            FieldClass::Foreign => out.dropped.push((name, "owned by someone else")),
        }
    }
    out
}

/// The field's canonical name if the org takes this value for it.
fn check(describe: &SObjectDescribe, name: &str, value: &Value) -> Result<String, &'static str> {
    let field = describe.field(name).ok_or("not in the schema")?;
    if !(field.updateable || field.createable) {
        return Err("not writable");
    }
    if let Value::String(text) = value {
        if field.restricted_picklist && !picklist_has(field, text) {
            return Err("not a value of the restricted picklist");
        }
        let limited = matches!(
            field.field_type.as_str(),
            "string" | "textarea" | "phone" | "url" | "email"
        );
        if limited && field.length > 0 && text.chars().count() > field.length as usize {
            return Err("longer than the field");
        }
    }
    Ok(field.name.clone())
}

fn picklist_has(field: &FieldDescribe, value: &str) -> bool {
    field
        .picklist_values
        .iter()
        .any(|p| p.active && p.value == value)
}

/// Error codes that mean "the schema is not what you think": re-describe and try again.
pub fn is_schema_error(code: Option<&str>) -> bool {
    matches!(
        code,
        Some(
            "INVALID_FIELD"
                | "INVALID_FIELD_FOR_INSERT_UPDATE"
                | "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
                | "STRING_TOO_LONG"
                | "NO_SUCH_COLUMN"
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn describe() -> SObjectDescribe {
        serde_json::from_value(json!({
            "name": "Account",
            "fields": [
                {"name": "Name", "type": "string", "length": 10, "updateable": true, "createable": true},
                {"name": "Region__c", "type": "picklist", "updateable": true, "createable": true,
                 "restrictedPicklist": true,
                 "picklistValues": [{"value": "EMEA", "active": true}, {"value": "OLD", "active": false}]},
                {"name": "Phone", "type": "phone", "updateable": true, "createable": true},
                {"name": "CreatedDate", "type": "datetime"}
            ]
        }))
        .unwrap()
    }

    fn fields(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn describe_mapping_drops_only_what_the_org_refuses() {
        let f = fields(json!({
            "name": "Acme", "Region__c": "OLD", "Gone__c": 1, "CreatedDate": "x",
            "External_Id__c": "A-1", "Phone": "1"
        }));
        let p = plan(
            "Account",
            "External_Id__c",
            &f,
            &Behaviour::resilient(),
            &FieldOwnership::default(),
            Some(&describe()),
        );
        assert_eq!(p.owned, fields(json!({"Name": "Acme", "Phone": "1"})));
        let dropped: Vec<&str> = p.dropped.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(dropped, ["Region__c", "Gone__c", "CreatedDate"]);
        let long = fields(json!({"Name": "much too long a name"}));
        let p = plan(
            "Account",
            "External_Id__c",
            &long,
            &Behaviour::resilient(),
            &FieldOwnership::default(),
            Some(&describe()),
        );
        assert_eq!(p.dropped, [("Name".to_string(), "longer than the field")]);
    }

    #[test]
    fn ownership_sorts_fields() {
        let own = FieldOwnership::parse("Account.Name", "Account.Phone").unwrap();
        let f = fields(json!({"Name": "Acme", "Phone": "1", "Website": "w"}));
        let p = plan(
            "Account",
            "External_Id__c",
            &f,
            &Behaviour::resilient(),
            &own,
            None,
        );
        assert_eq!(p.owned, fields(json!({"Name": "Acme"})));
        assert_eq!(p.shared, fields(json!({"Website": "w"})));
        assert_eq!(p.dropped, [("Phone".to_string(), "owned by someone else")]);

        let mut naive = Behaviour::resilient();
        naive.data_ownership = true;
        let p = plan("Account", "External_Id__c", &f, &naive, &own, None);
        assert_eq!(p.owned.len(), 3);
    }
}
