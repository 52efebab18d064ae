//! Loading custom schema and seed records from a directory (`sfchaos sim --data DIR`).
//!
//! The directory holds an optional `schema.toml` (or `schema.json`) and one `<Object>.csv` per object to
//! load. The schema file adds custom objects and adds or overrides fields of existing ones:
//!
//! ```toml
//! [[objects]]
//! name = "Invoice__c"
//! key_prefix = "a01"          # optional; a0x prefixes are assigned in order otherwise
//! [[objects.fields]]
//! name = "Amount__c"
//! type = "currency"
//! required = true
//!
//! [[fields]]                  # fields added to existing objects
//! object = "Account"
//! name = "Tier__c"
//! type = "picklist"
//! values = ["Gold", "Silver", "Bronze"]
//! restricted = true
//! ```
//!
//! CSV headers are API field names (`Account.External_Id__c` sets a parent by external id, as in Bulk
//! API 2.0). Files load parents first: an object referenced by another loads before it.

use super::schema::{FieldDef, FieldType, ObjectDef, ObjectKind, PicklistValue, Schema};
use super::store::{OrgData, Writer};
use super::write::{prepare_kind, InputKind, WriteOp};
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{file}: {message}")]
    File { file: PathBuf, message: String },
    #[error("{file}:{line}: {message}")]
    Row {
        file: PathBuf,
        line: u64,
        message: String,
    },
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SchemaFile {
    #[serde(default)]
    pub objects: Vec<ObjectSpec>,
    #[serde(default)]
    pub fields: Vec<FieldSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectSpec {
    pub name: String,
    pub key_prefix: Option<String>,
    pub label: Option<String>,
    #[serde(default)]
    pub platform_event: bool,
    #[serde(default)]
    pub fields: Vec<FieldSpec>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    /// Only in the top-level `[[fields]]` list.
    pub object: Option<String>,
    pub name: String,
    #[serde(rename = "type")]
    pub ftype: String,
    pub label: Option<String>,
    pub length: Option<u32>,
    pub precision: Option<u32>,
    pub scale: Option<u32>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub unique: bool,
    #[serde(default)]
    pub external_id: bool,
    #[serde(default)]
    pub values: Vec<String>,
    #[serde(default)]
    pub restricted: bool,
    #[serde(default)]
    pub reference_to: Vec<String>,
    pub relationship_name: Option<String>,
    pub child_relationship_name: Option<String>,
    pub default: Option<String>,
}

impl FieldSpec {
    /// Build the field definition; errors name the field.
    pub fn to_def(&self) -> Result<FieldDef, String> {
        let t = FieldType::parse(&self.ftype)
            .ok_or_else(|| format!("field {}: unknown type '{}'", self.name, self.ftype))?;
        let mut f = FieldDef::new(&self.name, t);
        if let Some(l) = &self.label {
            f.label = l.clone();
        }
        if let Some(l) = self.length {
            f.length = l;
        }
        if let Some(p) = self.precision {
            f.precision = p;
        }
        if let Some(s) = self.scale {
            f.scale = s;
        }
        f.nillable = !self.required;
        f.unique = self.unique;
        f.external_id = self.external_id;
        f.id_lookup = self.external_id || self.unique;
        f.picklist = self
            .values
            .iter()
            .map(|v| PicklistValue {
                value: v.clone(),
                label: v.clone(),
                active: true,
                default: false,
            })
            .collect();
        f.restricted_picklist = self.restricted;
        if t == FieldType::Reference {
            if self.reference_to.is_empty() {
                return Err(format!(
                    "field {}: a reference needs reference_to",
                    self.name
                ));
            }
            f.reference_to = self.reference_to.clone();
            f.relationship_name = Some(self.relationship_name.clone().unwrap_or_else(|| {
                self.name
                    .trim_end_matches("__c")
                    .trim_end_matches("Id")
                    .to_string()
                    + if self.name.ends_with("__c") {
                        "__r"
                    } else {
                        ""
                    }
            }));
            f.child_relationship_name = self.child_relationship_name.clone();
        }
        if let Some(d) = &self.default {
            f.default_value = Some(super::value::Value::str(d.as_str()));
            f.defaulted_on_create = true;
        }
        Ok(f)
    }
}

/// Apply a schema file to a schema.
pub fn apply_schema(schema: &mut Schema, spec: &SchemaFile) -> Result<(), String> {
    let mut next_prefix = 0u32;
    for o in &spec.objects {
        let prefix = match &o.key_prefix {
            Some(p) if p.len() == 3 => p.clone(),
            Some(p) => {
                return Err(format!(
                    "object {}: key_prefix must be 3 characters, got '{p}'",
                    o.name
                ))
            }
            None => loop {
                let p = format!("a{next_prefix:02}");
                next_prefix += 1;
                if schema.object_by_prefix(&p).is_none() {
                    break p;
                }
            },
        };
        let kind = if o.platform_event || o.name.ends_with("__e") {
            ObjectKind::PlatformEvent
        } else if o.name.ends_with("__c") {
            ObjectKind::Custom
        } else {
            ObjectKind::Standard
        };
        let mut fields = base_fields(kind);
        for f in &o.fields {
            fields.push(f.to_def()?);
        }
        if !fields.iter().any(|f| f.name_field) && kind != ObjectKind::PlatformEvent {
            let mut name = FieldDef::new("Name", FieldType::String);
            name.length = 80;
            name.name_field = true;
            name.label = format!("{} Name", o.label.clone().unwrap_or_else(|| o.name.clone()));
            fields.insert(1, name);
        }
        let mut def = ObjectDef::new(&o.name, &prefix, kind, fields);
        if let Some(l) = &o.label {
            def.label = l.clone();
            def.label_plural = format!("{l}s");
        }
        schema.upsert_object(def);
    }
    for f in &spec.fields {
        let Some(obj) = &f.object else {
            return Err(format!("field {}: top-level fields need `object`", f.name));
        };
        let def = f.to_def()?;
        let o = schema
            .object_mut(obj)
            .ok_or_else(|| format!("field {}: no object named {obj}", f.name))?;
        match o
            .fields
            .iter()
            .position(|x| x.name.eq_ignore_ascii_case(&def.name))
        {
            Some(i) => o.fields[i] = def,
            None => o.fields.push(def),
        }
    }
    schema.reindex();
    Ok(())
}

/// Audit fields every custom object has.
fn base_fields(kind: ObjectKind) -> Vec<FieldDef> {
    let std = super::standard::account();
    let mut out: Vec<FieldDef> = std
        .fields
        .iter()
        .filter(|f| {
            matches!(
                f.name.as_str(),
                "Id" | "IsDeleted"
                    | "CreatedDate"
                    | "CreatedById"
                    | "LastModifiedDate"
                    | "LastModifiedById"
                    | "SystemModstamp"
                    | "OwnerId"
            )
        })
        .cloned()
        .collect();
    if kind == ObjectKind::PlatformEvent {
        out.retain(|f| f.name == "CreatedDate" || f.name == "CreatedById");
    }
    out
}

/// Read the schema file of a directory, if any.
pub fn read_schema(dir: &Path) -> Result<Option<SchemaFile>, DataError> {
    for name in ["schema.toml", "schema.json"] {
        let p = dir.join(name);
        if !p.exists() {
            continue;
        }
        let text = std::fs::read_to_string(&p).map_err(|e| DataError::File {
            file: p.clone(),
            message: e.to_string(),
        })?;
        let spec: SchemaFile = if name.ends_with(".toml") {
            toml::from_str(&text).map_err(|e| DataError::File {
                file: p.clone(),
                message: e.to_string(),
            })?
        } else {
            serde_json::from_str(&text).map_err(|e| DataError::File {
                file: p.clone(),
                message: e.to_string(),
            })?
        };
        return Ok(Some(spec));
    }
    Ok(None)
}

/// Load every `<Object>.csv` of `dir` into `data`, parents first. Returns (object, rows) loaded.
pub fn load_csvs(
    data: &mut OrgData,
    dir: &Path,
    writer: &Writer,
    now_ms: i64,
) -> Result<Vec<(String, u64)>, DataError> {
    let mut files: Vec<(usize, PathBuf)> = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| DataError::File {
        file: dir.to_path_buf(),
        message: e.to_string(),
    })?;
    for e in entries.flatten() {
        let p = e.path();
        if p.extension().and_then(|x| x.to_str()) != Some("csv") {
            continue;
        }
        let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        let obj = data
            .schema
            .object_index(stem)
            .ok_or_else(|| DataError::File {
                file: p.clone(),
                message: format!("no object named '{stem}' (file names must be object API names)"),
            })?;
        files.push((obj, p));
    }
    // Parents first: depth in the reference graph.
    let depth = |obj: usize| -> usize {
        let mut d = 0;
        let mut cur = vec![obj];
        for _ in 0..5 {
            let next: Vec<usize> = cur
                .iter()
                .flat_map(|o| {
                    data.schema.objects[*o]
                        .active_fields()
                        .filter(|(_, f)| {
                            f.ftype == FieldType::Reference && f.child_relationship_name.is_some()
                        })
                        .flat_map(|(_, f)| f.reference_to.clone())
                        .filter_map(|t| data.schema.object_index(&t))
                        .filter(|t| *t != *o)
                        .collect::<Vec<_>>()
                })
                .collect();
            if next.is_empty() {
                break;
            }
            d += 1;
            cur = next;
        }
        d
    };
    files.sort_by_key(|(o, p)| (depth(*o), p.clone()));
    let mut loaded = Vec::new();
    for (obj, path) in files {
        let n = load_csv(data, obj, &path, writer, now_ms)?;
        loaded.push((data.schema.objects[obj].name.clone(), n));
    }
    Ok(loaded)
}

fn load_csv(
    data: &mut OrgData,
    obj: usize,
    path: &Path,
    writer: &Writer,
    now_ms: i64,
) -> Result<u64, DataError> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(false)
        .from_path(path)
        .map_err(|e| DataError::File {
            file: path.to_path_buf(),
            message: e.to_string(),
        })?;
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| DataError::File {
            file: path.to_path_buf(),
            message: e.to_string(),
        })?
        .iter()
        .map(str::to_string)
        .collect();
    let mut n = 0;
    let mut batch = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let line = i as u64 + 2;
        let rec = rec.map_err(|e| DataError::Row {
            file: path.to_path_buf(),
            line,
            message: e.to_string(),
        })?;
        let mut m = serde_json::Map::new();
        for (h, v) in headers.iter().zip(rec.iter()) {
            if h.eq_ignore_ascii_case("Id") {
                continue;
            }
            m.insert(h.clone(), serde_json::Value::String(v.to_string()));
        }
        let fields =
            prepare_kind(data, obj, &m, WriteOp::Create, None, InputKind::Csv).map_err(|e| {
                DataError::Row {
                    file: path.to_path_buf(),
                    line,
                    message: format!("{}: {e}", e.error_code()),
                }
            })?;
        batch.push(fields);
        if batch.len() >= 10_000 {
            n += flush(data, obj, &mut batch, writer, now_ms);
        }
    }
    n += flush(data, obj, &mut batch, writer, now_ms);
    Ok(n)
}

fn flush(
    data: &mut OrgData,
    obj: usize,
    batch: &mut Vec<Vec<(usize, super::value::Value)>>,
    writer: &Writer,
    now_ms: i64,
) -> u64 {
    let n = batch.len() as u64;
    let mut txn = data.txn_quiet();
    for fields in batch.drain(..) {
        txn.insert(obj, fields, writer, now_ms);
    }
    txn.commit();
    n
}
