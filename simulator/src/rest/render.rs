//! Records as REST JSON: `attributes` first, then fields in describe order; nulls present as `null`.
//!
//! Records are serialized straight from storage through borrowing views ([`RecordView`]), because
//! rendering is the simulator's hottest path: building a `serde_json::Map` per record cost one allocation
//! per field name.

use crate::org::store::{OrgData, Row};
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

/// A record serialized to bytes.
pub fn record_bytes(
    data: &OrgData,
    obj: usize,
    row: &Row,
    fields: Option<&[usize]>,
    data_path: &str,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    let _ = serde_json::to_writer(
        &mut out,
        &RecordView {
            data,
            obj,
            row,
            fields,
            data_path,
        },
    );
    out
}
