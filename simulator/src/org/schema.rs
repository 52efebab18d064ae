//! Object and field definitions: what describe reports and what validation enforces.
//!
//! Names are matched case-insensitively everywhere (URLs, SOQL, JSON bodies, CSV headers) and reported
//! in their canonical casing, as Salesforce does. Schema changes at run time (the `schema-change` fault)
//! mutate these definitions in place and bump [`ObjectDef::last_modified_ms`] so describe's
//! `If-Modified-Since` answers truthfully.

use super::value::Value;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Field data types, named as describe's `type` reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    Id,
    Boolean,
    String,
    Textarea,
    Picklist,
    Multipicklist,
    Combobox,
    Reference,
    Currency,
    Double,
    Percent,
    Int,
    Long,
    Date,
    Datetime,
    Time,
    Email,
    Phone,
    Url,
    Encryptedstring,
    Base64,
}

impl FieldType {
    pub fn name(self) -> &'static str {
        use FieldType::*;
        match self {
            Id => "id",
            Boolean => "boolean",
            String => "string",
            Textarea => "textarea",
            Picklist => "picklist",
            Multipicklist => "multipicklist",
            Combobox => "combobox",
            Reference => "reference",
            Currency => "currency",
            Double => "double",
            Percent => "percent",
            Int => "int",
            Long => "long",
            Date => "date",
            Datetime => "datetime",
            Time => "time",
            Email => "email",
            Phone => "phone",
            Url => "url",
            Encryptedstring => "encryptedstring",
            Base64 => "base64",
        }
    }

    pub fn parse(s: &str) -> Option<FieldType> {
        use FieldType::*;
        Some(match s.to_ascii_lowercase().as_str() {
            "id" => Id,
            "boolean" | "checkbox" => Boolean,
            "string" | "text" => String,
            "textarea" | "longtextarea" => Textarea,
            "picklist" => Picklist,
            "multipicklist" => Multipicklist,
            "combobox" => Combobox,
            "reference" | "lookup" => Reference,
            "currency" => Currency,
            "double" | "number" => Double,
            "percent" => Percent,
            "int" | "integer" => Int,
            "long" => Long,
            "date" => Date,
            "datetime" => Datetime,
            "time" => Time,
            "email" => Email,
            "phone" => Phone,
            "url" => Url,
            "encryptedstring" => Encryptedstring,
            "base64" => Base64,
            _ => return None,
        })
    }

    pub fn soap_type(self) -> &'static str {
        use FieldType::*;
        match self {
            Id | Reference => "tns:ID",
            Boolean => "xsd:boolean",
            Currency | Double | Percent => "xsd:double",
            Int => "xsd:int",
            Long => "xsd:long",
            Date => "xsd:date",
            Datetime => "xsd:dateTime",
            Time => "xsd:time",
            Base64 => "xsd:base64Binary",
            _ => "xsd:string",
        }
    }

    pub fn is_textual(self) -> bool {
        use FieldType::*;
        matches!(
            self,
            String
                | Textarea
                | Picklist
                | Multipicklist
                | Combobox
                | Email
                | Phone
                | Url
                | Encryptedstring
                | Id
                | Reference
                | Base64
        )
    }

    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            FieldType::Currency
                | FieldType::Double
                | FieldType::Percent
                | FieldType::Int
                | FieldType::Long
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PicklistValue {
    pub value: String,
    pub label: String,
    pub active: bool,
    pub default: bool,
}

/// One field of an object.
#[derive(Debug, Clone)]
pub struct FieldDef {
    pub name: String,
    pub label: String,
    pub ftype: FieldType,
    /// Character length for text types (0 otherwise).
    pub length: u32,
    pub precision: u32,
    pub scale: u32,
    /// Digits for integer types.
    pub digits: u32,
    pub nillable: bool,
    pub createable: bool,
    pub updateable: bool,
    pub unique: bool,
    pub external_id: bool,
    pub id_lookup: bool,
    pub name_field: bool,
    pub custom: bool,
    pub calculated: bool,
    pub auto_number: bool,
    pub defaulted_on_create: bool,
    pub default_value: Option<Value>,
    pub picklist: Vec<PicklistValue>,
    pub restricted_picklist: bool,
    pub reference_to: Vec<String>,
    /// On a reference field: the parent relationship name (`Account` for `AccountId`).
    pub relationship_name: Option<String>,
    /// On a reference field: the child relationship name on the parent (`Contacts`).
    pub child_relationship_name: Option<String>,
    pub cascade_delete: bool,
    pub filterable: bool,
    pub sortable: bool,
    pub groupable: bool,
    pub case_sensitive: bool,
    /// `false` once a schema change removed the field: it no longer describes, queries or writes.
    pub active: bool,
}

impl FieldDef {
    pub fn new(name: &str, ftype: FieldType) -> FieldDef {
        let length = match ftype {
            FieldType::Id | FieldType::Reference => 18,
            FieldType::String | FieldType::Picklist | FieldType::Combobox => 255,
            FieldType::Textarea => 32_000,
            FieldType::Email => 80,
            FieldType::Phone => 40,
            FieldType::Url => 255,
            FieldType::Multipicklist => 4_099,
            _ => 0,
        };
        FieldDef {
            name: name.to_string(),
            label: label_of(name),
            ftype,
            length,
            precision: if ftype == FieldType::Currency || ftype == FieldType::Double {
                18
            } else {
                0
            },
            scale: if ftype == FieldType::Currency { 2 } else { 0 },
            digits: if ftype == FieldType::Int { 9 } else { 0 },
            nillable: ftype != FieldType::Boolean && ftype != FieldType::Id,
            createable: ftype != FieldType::Id,
            updateable: ftype != FieldType::Id,
            unique: false,
            external_id: false,
            id_lookup: ftype == FieldType::Id,
            name_field: false,
            custom: name.ends_with("__c"),
            calculated: false,
            auto_number: false,
            defaulted_on_create: ftype == FieldType::Boolean,
            default_value: if ftype == FieldType::Boolean {
                Some(Value::Bool(false))
            } else {
                None
            },
            picklist: vec![],
            restricted_picklist: false,
            reference_to: vec![],
            relationship_name: None,
            child_relationship_name: None,
            cascade_delete: false,
            filterable: ftype != FieldType::Textarea,
            sortable: ftype != FieldType::Textarea && ftype != FieldType::Multipicklist,
            groupable: !matches!(
                ftype,
                FieldType::Textarea
                    | FieldType::Double
                    | FieldType::Currency
                    | FieldType::Percent
                    | FieldType::Datetime
                    | FieldType::Multipicklist
            ),
            case_sensitive: false,
            active: true,
        }
    }

    /// A field a user must supply on create.
    pub fn required_on_create(&self) -> bool {
        self.active
            && self.createable
            && !self.nillable
            && !self.defaulted_on_create
            && self.ftype != FieldType::Boolean
    }

    /// Describe's JSON for this field (jsforce's `Field` keys).
    pub fn describe(&self) -> serde_json::Value {
        let picklist: Vec<_> = self
            .picklist
            .iter()
            .map(|p| {
                serde_json::json!({"active": p.active, "defaultValue": p.default, "label": p.label,
                    "validFor": null, "value": p.value})
            })
            .collect();
        let byte_length = if self.ftype.is_textual() {
            self.length * 3
        } else {
            0
        };
        serde_json::json!({
            "aggregatable": self.ftype != FieldType::Textarea,
            "aiPredictionField": false,
            "autoNumber": self.auto_number,
            "byteLength": byte_length,
            "calculated": self.calculated,
            "calculatedFormula": null,
            "cascadeDelete": self.cascade_delete,
            "caseSensitive": self.case_sensitive,
            "compoundFieldName": null,
            "controllerName": null,
            "createable": self.createable,
            "custom": self.custom,
            "defaultValue": self.default_value.as_ref().map(|v| v.to_json()),
            "defaultValueFormula": null,
            "defaultedOnCreate": self.defaulted_on_create,
            "dependentPicklist": false,
            "deprecatedAndHidden": false,
            "digits": self.digits,
            "displayLocationInDecimal": false,
            "encrypted": false,
            "externalId": self.external_id,
            "extraTypeInfo": null,
            "filterable": self.filterable,
            "filteredLookupInfo": null,
            "formulaTreatNullNumberAsZero": false,
            "groupable": self.groupable,
            "highScaleNumber": false,
            "htmlFormatted": false,
            "idLookup": self.id_lookup,
            "inlineHelpText": null,
            "label": self.label,
            "length": self.length,
            "mask": null,
            "maskType": null,
            "name": self.name,
            "nameField": self.name_field,
            "namePointing": false,
            "nillable": self.nillable,
            "permissionable": self.custom && self.nillable,
            "picklistValues": picklist,
            "polymorphicForeignKey": self.reference_to.len() > 1,
            "precision": self.precision,
            "queryByDistance": false,
            "referenceTargetField": null,
            "referenceTo": self.reference_to,
            "relationshipName": self.relationship_name,
            "relationshipOrder": null,
            "restrictedDelete": false,
            "restrictedPicklist": self.restricted_picklist,
            "scale": self.scale,
            "searchPrefilterable": false,
            "soapType": self.ftype.soap_type(),
            "sortable": self.sortable,
            "type": self.ftype.name(),
            "unique": self.unique,
            "updateable": self.updateable,
            "writeRequiresMasterRead": false,
        })
    }
}

/// "Credit_Limit__c" → "Credit Limit"; "AccountId" → "Account ID".
pub fn label_of(name: &str) -> String {
    let base = name.trim_end_matches("__c").trim_end_matches("__e");
    if base == "Id" {
        return format!("{} ID", "Record");
    }
    let base = base.strip_suffix("Id").map(|b| format!("{b} ID"));
    let base = base.as_deref().unwrap_or(name.trim_end_matches("__c"));
    let mut out = String::new();
    let chars: Vec<char> = base.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if *c == '_' {
            out.push(' ');
            continue;
        }
        if i > 0 && c.is_uppercase() && chars[i - 1].is_lowercase() && !out.ends_with(' ') {
            out.push(' ');
        }
        out.push(*c);
    }
    out
}

/// Fields whose value lives in a row's header rather than in its field list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SysField {
    Id,
    IsDeleted,
    CreatedDate,
    CreatedById,
    LastModifiedDate,
    LastModifiedById,
    SystemModstamp,
    OwnerId,
    /// `Name` of Contact/Lead/User: `FirstName LastName`.
    FullName,
}

/// What kind of sObject this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    Standard,
    Custom,
    /// A platform event (`__e`): createable only, delivered on `/event/<Name>`.
    PlatformEvent,
}

/// One sObject type.
#[derive(Debug, Clone)]
pub struct ObjectDef {
    pub name: String,
    pub label: String,
    pub label_plural: String,
    pub key_prefix: String,
    pub kind: ObjectKind,
    pub fields: Vec<FieldDef>,
    index: HashMap<String, usize>,
    /// Lowercased relationship name → index of the reference field (`account` → `AccountId`).
    rel_index: HashMap<String, usize>,
    /// Per field: its header role, computed once (rendering asks for every field of every row).
    sys: Vec<Option<SysField>>,
    /// The active fields in order, and per field `,"Name":` as serde_json writes it (`json_key_ends`
    /// delimits them in `json_keys`): what rendering a record repeats for every row.
    active_order: Vec<usize>,
    json_keys: Vec<u8>,
    json_key_ends: Vec<usize>,
    pub queryable: bool,
    pub createable: bool,
    pub updateable: bool,
    pub deletable: bool,
    /// `false` after a `deactivate-object` schema change.
    pub active: bool,
    /// Whether Salesforce would send ETags for rows (only Account does).
    pub etags: bool,
    pub last_modified_ms: i64,
}

impl ObjectDef {
    pub fn new(name: &str, key_prefix: &str, kind: ObjectKind, fields: Vec<FieldDef>) -> Self {
        let label = label_of(name);
        let mut o = ObjectDef {
            name: name.to_string(),
            label_plural: plural(&label),
            label,
            key_prefix: key_prefix.to_string(),
            kind,
            fields,
            index: HashMap::new(),
            rel_index: HashMap::new(),
            sys: Vec::new(),
            active_order: Vec::new(),
            json_keys: Vec::new(),
            json_key_ends: Vec::new(),
            queryable: kind != ObjectKind::PlatformEvent,
            createable: true,
            updateable: kind != ObjectKind::PlatformEvent,
            deletable: kind != ObjectKind::PlatformEvent,
            active: true,
            etags: name == "Account",
            last_modified_ms: 0,
        };
        o.reindex();
        o
    }

    /// Rebuild the name indexes after the field list changes.
    pub fn reindex(&mut self) {
        self.index = self
            .fields
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name.to_ascii_lowercase(), i))
            .collect();
        self.rel_index = self
            .fields
            .iter()
            .enumerate()
            .filter_map(|(i, f)| {
                f.relationship_name
                    .as_ref()
                    .map(|r| (r.to_ascii_lowercase(), i))
            })
            .collect();
        let full_name = self.index.contains_key("firstname") && self.index.contains_key("lastname");
        self.sys = self
            .fields
            .iter()
            .map(|f| match f.name.as_str() {
                "Id" => Some(SysField::Id),
                "IsDeleted" => Some(SysField::IsDeleted),
                "CreatedDate" => Some(SysField::CreatedDate),
                "CreatedById" => Some(SysField::CreatedById),
                "LastModifiedDate" => Some(SysField::LastModifiedDate),
                "LastModifiedById" => Some(SysField::LastModifiedById),
                "SystemModstamp" => Some(SysField::SystemModstamp),
                "OwnerId" => Some(SysField::OwnerId),
                "Name" if full_name => Some(SysField::FullName),
                _ => None,
            })
            .collect();
        self.active_order = self.active_fields().map(|(i, _)| i).collect();
        self.json_keys.clear();
        self.json_key_ends.clear();
        for f in &self.fields {
            self.json_keys.push(b',');
            let _ = serde_json::to_writer(&mut self.json_keys, &f.name);
            self.json_keys.push(b':');
            self.json_key_ends.push(self.json_keys.len());
        }
    }

    /// Indexes of the active fields, in order (as of the last [`ObjectDef::reindex`]).
    pub fn active_order(&self) -> &[usize] {
        &self.active_order
    }

    /// [`ObjectDef::active_order`], if the render keys are current (the field list has not changed
    /// since the last [`ObjectDef::reindex`]).
    pub fn render_order(&self) -> Option<&[usize]> {
        (self.json_key_ends.len() == self.fields.len()).then_some(&self.active_order)
    }

    /// `,"Name":` for field `fi`, as a record renders it after the field before it.
    pub fn json_key(&self, fi: usize) -> Option<&[u8]> {
        let end = *self.json_key_ends.get(fi)?;
        let start = match fi {
            0 => 0,
            _ => self.json_key_ends[fi - 1],
        };
        Some(&self.json_keys[start..end])
    }

    /// The header role of field `fi`, if it has one.
    pub fn sys_field(&self, fi: usize) -> Option<SysField> {
        self.sys.get(fi).copied().flatten()
    }

    /// Index of an active field, by case-insensitive name.
    pub fn field_index(&self, name: &str) -> Option<usize> {
        let i = *self.index.get(&name.to_ascii_lowercase())?;
        self.fields[i].active.then_some(i)
    }

    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.field_index(name).map(|i| &self.fields[i])
    }

    /// The reference field behind a parent relationship name (`Account` → `AccountId`).
    pub fn relationship(&self, rel: &str) -> Option<&FieldDef> {
        let i = *self.rel_index.get(&rel.to_ascii_lowercase())?;
        let f = &self.fields[i];
        f.active.then_some(f)
    }

    pub fn active_fields(&self) -> impl Iterator<Item = (usize, &FieldDef)> {
        self.fields.iter().enumerate().filter(|(_, f)| f.active)
    }

    pub fn name_field(&self) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.name_field && f.active)
    }

    pub fn external_id_fields(&self) -> impl Iterator<Item = (usize, &FieldDef)> {
        self.active_fields().filter(|(_, f)| f.external_id)
    }

    pub fn is_platform_event(&self) -> bool {
        self.kind == ObjectKind::PlatformEvent
    }

    pub fn custom(&self) -> bool {
        self.kind != ObjectKind::Standard
    }
}

fn plural(label: &str) -> String {
    if label.ends_with('s') {
        format!("{label}es")
    } else if let Some(stem) = label.strip_suffix('y') {
        format!("{stem}ies")
    } else {
        format!("{label}s")
    }
}

/// All objects of one org.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    pub objects: Vec<ObjectDef>,
    index: HashMap<String, usize>,
    prefix_index: HashMap<String, usize>,
    /// Child relationships, computed: parent object index → (relationship name, child object, field).
    children: HashMap<usize, Vec<ChildRelationship>>,
    pub last_modified_ms: i64,
}

#[derive(Debug, Clone)]
pub struct ChildRelationship {
    pub name: String,
    pub child_object: String,
    pub field: String,
    pub cascade_delete: bool,
}

impl Schema {
    pub fn new(objects: Vec<ObjectDef>) -> Schema {
        let mut s = Schema {
            objects,
            ..Default::default()
        };
        s.reindex();
        s
    }

    pub fn reindex(&mut self) {
        for o in &mut self.objects {
            o.reindex();
        }
        self.index = self
            .objects
            .iter()
            .enumerate()
            .map(|(i, o)| (o.name.to_ascii_lowercase(), i))
            .collect();
        self.prefix_index = self
            .objects
            .iter()
            .enumerate()
            .map(|(i, o)| (o.key_prefix.clone(), i))
            .collect();
        let mut children: HashMap<usize, Vec<ChildRelationship>> = HashMap::new();
        for o in &self.objects {
            for f in o.fields.iter().filter(|f| f.active) {
                let Some(rel) = &f.child_relationship_name else {
                    continue;
                };
                for parent in &f.reference_to {
                    if let Some(pi) = self.index.get(&parent.to_ascii_lowercase()) {
                        children.entry(*pi).or_default().push(ChildRelationship {
                            name: rel.clone(),
                            child_object: o.name.clone(),
                            field: f.name.clone(),
                            cascade_delete: f.cascade_delete,
                        });
                    }
                }
            }
        }
        self.children = children;
    }

    /// Index of an active object by case-insensitive name.
    pub fn object_index(&self, name: &str) -> Option<usize> {
        let i = *self.index.get(&name.to_ascii_lowercase())?;
        self.objects[i].active.then_some(i)
    }

    pub fn object(&self, name: &str) -> Option<&ObjectDef> {
        self.object_index(name).map(|i| &self.objects[i])
    }

    pub fn object_mut(&mut self, name: &str) -> Option<&mut ObjectDef> {
        let i = *self.index.get(&name.to_ascii_lowercase())?;
        Some(&mut self.objects[i])
    }

    pub fn object_by_prefix(&self, prefix: &str) -> Option<usize> {
        self.prefix_index.get(prefix).copied()
    }

    pub fn children_of(&self, object_index: usize) -> &[ChildRelationship] {
        self.children
            .get(&object_index)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Child relationship by name on a parent (`Contacts` on Account).
    pub fn child_relationship(
        &self,
        object_index: usize,
        name: &str,
    ) -> Option<&ChildRelationship> {
        self.children_of(object_index)
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// Add an object, replacing one with the same name.
    pub fn upsert_object(&mut self, obj: ObjectDef) {
        if let Some(i) = self.index.get(&obj.name.to_ascii_lowercase()).copied() {
            self.objects[i] = obj;
        } else {
            self.objects.push(obj);
        }
        self.reindex();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_read_naturally() {
        assert_eq!(label_of("Credit_Limit__c"), "Credit Limit");
        assert_eq!(label_of("AccountId"), "Account ID");
        assert_eq!(label_of("NumberOfEmployees"), "Number Of Employees");
        assert_eq!(plural("Opportunity"), "Opportunities");
    }
}
