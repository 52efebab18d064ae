//! What a change needs to know about its object and writer, shared by many changes.
//!
//! [`ObjMeta`] is a snapshot of one object's schema in the form change events are rendered from: field
//! names, which fields are compound components (`BillingCity` → `BillingAddress.City`), which live in the
//! row header, and the event schema id. Changes hold it by `Arc`, so a million changes share one copy, and
//! an event published before a schema change (a renamed field) keeps rendering with the schema it was
//! published under — as Salesforce's per-event schema ids do.
//!
//! [`ChangeCache`] lives in the org's data and hands out the current snapshot (rebuilt when the object's
//! fields change) and interned writer identities.

use crate::org::schema::{ObjectDef, ObjectKind, Schema};
use crate::org::store::{sys_field, SysField, Writer};
use parking_lot::Mutex;
use std::sync::Arc;

/// How a field appears in change events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// Sent under its own name.
    Plain,
    /// `OwnerId`: kept in the row header; change bodies store the user's row number.
    Owner,
    /// A component of a compound field: `BillingCity` is `City` inside `BillingAddress`, `FirstName` is
    /// `FirstName` inside `Name`.
    Component { parent: Box<str>, name: Box<str> },
    /// Never in a payload: `Id`, `IsDeleted`, `SystemModstamp`, formula fields, the person `Name` (sent as
    /// its components) and the audit fields, which are rendered from the change header.
    Hidden,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldMeta {
    pub name: Box<str>,
    pub active: bool,
    pub role: Role,
}

/// One object's schema as change events need it.
#[derive(Debug)]
pub struct ObjMeta {
    pub name: Box<str>,
    pub key_prefix: Box<str>,
    pub org_num: u16,
    pub kind: ObjectKind,
    pub fields: Box<[FieldMeta]>,
    /// `data.schema` of every event of this object (22 characters, URL-safe base64 of a hash).
    pub schema_id: Box<str>,
    /// Index of `OwnerId`, when the object has one.
    pub owner_field: Option<u16>,
}

const ADDRESS_PARTS: &[&str] = &[
    "Street",
    "City",
    "State",
    "PostalCode",
    "Country",
    "StateCode",
    "CountryCode",
    "Latitude",
    "Longitude",
    "GeocodeAccuracy",
];
const ADDRESS_PREFIXES: &[&str] = &["Billing", "Shipping", "Mailing", "Other", ""];
const NAME_PARTS: &[&str] = &[
    "Salutation",
    "FirstName",
    "MiddleName",
    "LastName",
    "Suffix",
];

impl ObjMeta {
    pub fn build(o: &ObjectDef, org_num: u16) -> ObjMeta {
        let person_name = sys_field(o, "Name") == Some(SysField::FullName);
        let fields: Box<[FieldMeta]> = o
            .fields
            .iter()
            .map(|f| FieldMeta {
                name: f.name.as_str().into(),
                active: f.active,
                role: role_of(o, &f.name, f.calculated, person_name),
            })
            .collect();
        let owner_field = o
            .fields
            .iter()
            .position(|f| f.name == "OwnerId")
            .and_then(|i| u16::try_from(i).ok());
        ObjMeta {
            schema_id: schema_id(o).into(),
            name: o.name.as_str().into(),
            key_prefix: o.key_prefix.as_str().into(),
            org_num,
            kind: o.kind,
            fields,
            owner_field,
        }
    }

    /// Whether this snapshot still describes `o` (same fields, same names, same active flags).
    pub fn matches(&self, o: &ObjectDef) -> bool {
        *self.name == *o.name
            && self.fields.len() == o.fields.len()
            && self
                .fields
                .iter()
                .zip(&o.fields)
                .all(|(m, f)| m.active == f.active && *m.name == *f.name)
    }

    pub fn field(&self, index: u16) -> Option<&FieldMeta> {
        self.fields.get(usize::from(index))
    }

    /// `/data/AccountChangeEvent`, `/data/MyObj__ChangeEvent` (for `MyObj__c`).
    pub fn change_channel(&self) -> String {
        format!("/data/{}", change_event_name(&self.name))
    }
}

/// The change event entity of an object: `AccountChangeEvent`, `MyObj__ChangeEvent` for `MyObj__c`.
pub fn change_event_name(object: &str) -> String {
    match object.strip_suffix("__c") {
        Some(base) => format!("{base}__ChangeEvent"),
        None => format!("{object}ChangeEvent"),
    }
}

fn role_of(o: &ObjectDef, name: &str, calculated: bool, person_name: bool) -> Role {
    match sys_field(o, name) {
        Some(SysField::OwnerId) => return Role::Owner,
        Some(_) => return Role::Hidden,
        None => {}
    }
    if o.kind == ObjectKind::PlatformEvent && (name == "EventUuid" || name == "ReplayId") {
        return Role::Hidden;
    }
    if person_name && NAME_PARTS.contains(&name) {
        return Role::Component {
            parent: "Name".into(),
            name: name.into(),
        };
    }
    for prefix in ADDRESS_PREFIXES {
        let Some(part) = name.strip_prefix(prefix) else {
            continue;
        };
        // An address needs its city or street beside the part (Lead's bare `City`/`State`/`Country`).
        let has_address = o.field(&format!("{prefix}City")).is_some()
            || o.field(&format!("{prefix}Street")).is_some();
        if ADDRESS_PARTS.contains(&part) && has_address {
            return Role::Component {
                parent: format!("{prefix}Address").into(),
                name: part.into(),
            };
        }
    }
    if calculated {
        return Role::Hidden;
    }
    Role::Plain
}

/// A stable id for the object's event schema: changes whenever its fields do.
fn schema_id(o: &ObjectDef) -> String {
    use base64::Engine;
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(o.name.as_bytes());
    for f in o.fields.iter().filter(|f| f.active) {
        h.update([0]);
        h.update(f.name.as_bytes());
        h.update(f.ftype.name().as_bytes());
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&h.finalize()[..16])
}

/// The writer of a change, shared by the changes of one writer.
#[derive(Debug, PartialEq, Eq)]
pub struct WriterInfo {
    /// CDC `changeOrigin`.
    pub origin: Box<str>,
    /// The journal's client identity.
    pub client: Box<str>,
}

/// Per-org cache of [`ObjMeta`] snapshots and writer identities. Interior mutability because changes
/// are built under the org's data lock in either mode (transactions write, platform events read).
#[derive(Debug, Default)]
pub struct ChangeCache {
    metas: Mutex<Vec<Option<Arc<ObjMeta>>>>,
    writer: Mutex<Option<Arc<WriterInfo>>>,
}

impl ChangeCache {
    /// The current snapshot of object `obj`, rebuilt if its schema changed since the last call.
    pub fn meta(&self, schema: &Schema, org_num: u16, obj: usize) -> Arc<ObjMeta> {
        let o = &schema.objects[obj];
        let mut metas = self.metas.lock();
        if metas.len() <= obj {
            metas.resize(obj + 1, None);
        }
        match &metas[obj] {
            Some(m) if m.matches(o) => m.clone(),
            _ => {
                let m = Arc::new(ObjMeta::build(o, org_num));
                metas[obj] = Some(m.clone());
                m
            }
        }
    }

    /// The interned identity of `writer` (the last one is reused while the same writer keeps writing).
    pub fn writer(&self, writer: &Writer) -> Arc<WriterInfo> {
        let mut last = self.writer.lock();
        if let Some(w) = last.as_ref() {
            if *w.origin == *writer.origin && *w.client == *writer.client {
                return w.clone();
            }
        }
        let w = Arc::new(WriterInfo {
            origin: writer.origin.as_str().into(),
            client: writer.client.as_str().into(),
        });
        *last = Some(w.clone());
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::org::standard;

    #[test]
    fn roles_follow_salesforce_compound_fields() {
        let contact = ObjMeta::build(&standard::contact(), 1);
        let role = |n: &str| {
            contact
                .fields
                .iter()
                .find(|f| &*f.name == n)
                .map(|f| f.role.clone())
        };
        assert_eq!(role("Id"), Some(Role::Hidden));
        assert_eq!(role("Name"), Some(Role::Hidden));
        assert_eq!(role("OwnerId"), Some(Role::Owner));
        assert_eq!(
            role("FirstName"),
            Some(Role::Component {
                parent: "Name".into(),
                name: "FirstName".into()
            })
        );
        assert_eq!(
            role("MailingCity"),
            Some(Role::Component {
                parent: "MailingAddress".into(),
                name: "City".into()
            })
        );
        assert_eq!(role("Email"), Some(Role::Plain));
        let lead = ObjMeta::build(&standard::lead(), 1);
        let city = lead
            .fields
            .iter()
            .find(|f| &*f.name == "City")
            .map(|f| &f.role);
        assert_eq!(
            city,
            Some(&Role::Component {
                parent: "Address".into(),
                name: "City".into()
            })
        );
    }

    #[test]
    fn channel_names() {
        assert_eq!(change_event_name("Account"), "AccountChangeEvent");
        assert_eq!(change_event_name("MyObj__c"), "MyObj__ChangeEvent");
    }

    #[test]
    fn cache_rebuilds_after_a_rename() {
        let schema = standard::default_schema();
        let cache = ChangeCache::default();
        let a = cache.meta(&schema, 1, 0);
        let b = cache.meta(&schema, 1, 0);
        assert!(Arc::ptr_eq(&a, &b));
        let mut renamed = schema.clone();
        let fi = renamed.objects[0].fields.len() - 1;
        renamed.objects[0].fields[fi].name = "Renamed__c".into();
        let c = cache.meta(&renamed, 1, 0);
        assert!(!Arc::ptr_eq(&a, &c));
        assert_ne!(a.schema_id, c.schema_id);
    }
}
