//! Records as REST JSON: `attributes` first, then fields in describe order; nulls present as `null`.
//!
//! Records are serialized straight from storage through borrowing views ([`RecordView`]), because
//! rendering is the simulator's hottest path: building a `serde_json::Map` per record cost one allocation
//! per field name.

use crate::org::ids::Id18;
use crate::org::store::{OrgData, Row, SysField};
use crate::org::value::{Text, Value};
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::Value as Json;

/// A record as it serializes: `{"attributes":{…},"Field":value,…}`.
pub struct RecordView<'a> {
    pub data: &'a OrgData,
    pub obj: usize,
    pub row: &'a Row,
    /// `None`: every active field.
    pub fields: Option<&'a [usize]>,
    pub data_path: &'a str,
}

struct Attributes<'a> {
    name: &'a str,
    url: String,
}

impl Serialize for Attributes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("type", self.name)?;
        m.serialize_entry("url", &self.url)?;
        m.end()
    }
}

impl RecordView<'_> {
    fn attributes(&self) -> Attributes<'_> {
        let name = self.data.schema.objects[self.obj].name.as_str();
        let id = self.data.id_of(self.obj, self.row.num).encode();
        let parts = [self.data_path, "/sobjects/", name, "/", id.as_str()];
        let mut url = String::with_capacity(parts.iter().map(|p| p.len()).sum());
        for p in parts {
            url.push_str(p);
        }
        Attributes { name, url }
    }
}

impl Serialize for RecordView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let o = &self.data.schema.objects[self.obj];
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("attributes", &self.attributes())?;
        let mut entry = |fi: usize| {
            let name = o.fields[fi].name.as_str();
            match self.data.sys_id(self.obj, self.row, fi) {
                Some(id) => m.serialize_entry(name, id.as_str()),
                None => m.serialize_entry(name, &*self.data.value_ref(self.obj, self.row, fi)),
            }
        };
        match self.fields {
            Some(list) => {
                for &fi in list {
                    entry(fi)?;
                }
            }
            None => {
                for (fi, _) in o.active_fields() {
                    entry(fi)?;
                }
            }
        }
        m.end()
    }
}

/// `{"type":"Account","url":"/services/data/v62.0/sobjects/Account/001…"}`
pub fn attributes(data: &OrgData, obj: usize, row: &Row, data_path: &str) -> Json {
    let view = RecordView {
        data,
        obj,
        row,
        fields: Some(&[]),
        data_path,
    };
    serde_json::to_value(view.attributes()).unwrap_or(Json::Null)
}

/// A record with the given fields (all active fields when `fields` is `None`), as a JSON value.
pub fn record(
    data: &OrgData,
    obj: usize,
    row: &Row,
    fields: Option<&[usize]>,
    data_path: &str,
) -> Json {
    serde_json::to_value(RecordView {
        data,
        obj,
        row,
        fields,
        data_path,
    })
    .unwrap_or(Json::Null)
}

/// A record serialized to bytes: the same bytes as serializing [`RecordView`] with serde_json, written
/// directly. This is the body of every record read: the keys come pre-escaped from the schema, the
/// row's stored values are walked alongside the field list instead of looked up one by one, and only
/// the values go through serde_json.
pub fn record_bytes(
    data: &OrgData,
    obj: usize,
    row: &Row,
    fields: Option<&[usize]>,
    data_path: &str,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    let o = &data.schema.objects[obj];
    let Some(order) = o.render_order() else {
        let view = RecordView {
            data,
            obj,
            row,
            fields,
            data_path,
        };
        let _ = serde_json::to_writer(&mut out, &view);
        return out;
    };
    let id = data.id_of(obj, row.num).encode();
    out.extend_from_slice(b"{\"attributes\":{\"type\":");
    let _ = serde_json::to_writer(&mut out, &o.name);
    out.extend_from_slice(b",\"url\":");
    let url = [data_path, "/sobjects/", o.name.as_str(), "/", id.as_str()].concat();
    let _ = serde_json::to_writer(&mut out, &url);
    out.push(b'}');
    // Owner, creator and last modifier are usually one user: encode each distinct id once.
    let mut user: Option<(u64, Id18)> = None;
    let mut entry = |out: &mut Vec<u8>, fi: usize, stored: Option<&Value>| {
        match o.json_key(fi) {
            Some(key) => out.extend_from_slice(key),
            None => {
                out.push(b',');
                let _ = serde_json::to_writer(&mut *out, &o.fields[fi].name);
                out.push(b':');
            }
        }
        let user_num = match o.sys_field(fi) {
            None => {
                write_value(out, stored.unwrap_or(&Value::Null));
                return;
            }
            Some(SysField::Id) => {
                let _ = serde_json::to_writer(&mut *out, id.as_str());
                return;
            }
            Some(SysField::OwnerId) => row.owner,
            Some(SysField::CreatedById) => row.created_by,
            Some(SysField::LastModifiedById) => row.modified_by,
            Some(_) => {
                let _ = serde_json::to_writer(&mut *out, &*data.value_ref(obj, row, fi));
                return;
            }
        };
        let encoded = match user {
            Some((num, encoded)) if num == user_num => encoded,
            _ => {
                let encoded = data.user_record_id(user_num).encode();
                user = Some((user_num, encoded));
                encoded
            }
        };
        let _ = serde_json::to_writer(&mut *out, encoded.as_str());
    };
    match fields {
        Some(list) => {
            for &fi in list {
                entry(&mut out, fi, row.get_raw(fi));
            }
        }
        None => {
            // Both lists are sorted by field index.
            let mut stored = row.fields.iter().peekable();
            for &fi in order {
                while stored.next_if(|(i, _)| usize::from(*i) < fi).is_some() {}
                let value = stored
                    .next_if(|(i, _)| usize::from(*i) == fi)
                    .map(|(_, v)| v);
                entry(&mut out, fi, value);
            }
        }
    }
    out.push(b'}');
    out
}

/// A stored value as serde_json writes [`Value`]: nulls, booleans and dates (most of a record) are
/// written here, strings and numbers by serde_json.
fn write_value(out: &mut Vec<u8>, v: &Value) {
    let text = match v {
        Value::Null => return out.extend_from_slice(b"null"),
        Value::Bool(true) => return out.extend_from_slice(b"true"),
        Value::Bool(false) => return out.extend_from_slice(b"false"),
        Value::Date(d) => Text::date(*d),
        Value::DateTime(ms) => Text::datetime(*ms, b"+0000"),
        Value::Time(ms) => Text::time(*ms),
        _ => None,
    };
    match text {
        // Digits and `-:.T+Z` only: nothing to escape.
        Some(t) => {
            out.push(b'"');
            out.extend_from_slice(t.as_str().as_bytes());
            out.push(b'"');
        }
        None => {
            let _ = serde_json::to_writer(&mut *out, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::org::store::OrgData;

    /// The direct writer produces exactly what serde_json makes of a [`RecordView`].
    #[test]
    fn record_bytes_match_the_serde_view() {
        let mut data = OrgData::new(crate::org::standard::default_schema(), 1);
        let mut overrides = serde_json::Map::new();
        overrides.insert(
            "Description".into(),
            "quote \" backslash \\ tab \t é".into(),
        );
        for object in ["Account", "Contact", "Opportunity", "Case", "Lead"] {
            let overrides = match object {
                "Account" => overrides.clone(),
                _ => Default::default(),
            };
            crate::org::seed::seed(
                &mut data,
                object,
                20,
                &overrides,
                7,
                &Default::default(),
                1_700_000_000_000,
            )
            .unwrap();
        }
        // Values of every kind on some rows (seeding stores only some kinds).
        let extra = [
            Value::Int(-42),
            Value::DateTime(-1),
            Value::Time(45_296_789),
            Value::Num(f64::NAN),
            Value::Num(1.5e300),
            Value::Null,
            Value::str("line\nbreak\u{1}"),
        ];
        for (obj, table) in data.tables.iter_mut().enumerate() {
            let o = &data.schema.objects[obj];
            for row in table.rows.values_mut().take(3) {
                let free: Vec<usize> = o
                    .active_order()
                    .iter()
                    .copied()
                    .filter(|&fi| o.sys_field(fi).is_none() && row.get_raw(fi).is_none())
                    .take(extra.len())
                    .collect();
                for (fi, v) in free.into_iter().zip(extra.iter().cloned()) {
                    row.fields.push((fi as u16, v));
                }
                row.fields.sort_by_key(|(fi, _)| *fi);
            }
        }
        let mut checked = 0;
        for (obj, table) in data.tables.iter().enumerate() {
            let o = &data.schema.objects[obj];
            let some: Vec<usize> = o.active_order().iter().rev().step_by(3).copied().collect();
            for row in table.rows.values() {
                for fields in [None, Some(&some[..]), Some(&[][..])] {
                    let view = RecordView {
                        data: &data,
                        obj,
                        row,
                        fields,
                        data_path: "/services/data/v62.0",
                    };
                    let expected = serde_json::to_vec(&view).unwrap();
                    let got = record_bytes(&data, obj, row, fields, "/services/data/v62.0");
                    assert_eq!(
                        String::from_utf8(got).unwrap(),
                        String::from_utf8(expected).unwrap()
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked >= 300, "{checked}");
        // The rows exercised every kind of stored value.
        let kinds: std::collections::BTreeSet<&str> = data
            .tables
            .iter()
            .flat_map(|t| t.rows.values())
            .flat_map(|r| r.fields.iter())
            .map(|(_, v)| match v {
                Value::Null => "null",
                Value::Bool(_) => "bool",
                Value::Int(_) => "int",
                Value::Num(_) => "num",
                Value::Str(_) => "str",
                Value::Date(_) => "date",
                Value::DateTime(_) => "datetime",
                Value::Time(_) => "time",
            })
            .collect();
        assert_eq!(kinds.len(), 8, "{kinds:?}");
    }
}
