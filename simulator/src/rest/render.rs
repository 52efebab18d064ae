//! Records as REST JSON: `attributes` first, then fields in describe order; nulls present as `null`.

use crate::org::store::{OrgData, Row};
use serde_json::{Map, Value as Json};

/// `{"type":"Account","url":"/services/data/v62.0/sobjects/Account/001…"}`
pub fn attributes(data: &OrgData, obj: usize, row: &Row, data_path: &str) -> Json {
    let name = &data.schema.objects[obj].name;
    let mut a = Map::new();
    a.insert("type".into(), Json::String(name.clone()));
    a.insert(
        "url".into(),
        Json::String(format!(
            "{data_path}/sobjects/{name}/{}",
            data.id_of(obj, row.num).to18()
        )),
    );
    Json::Object(a)
}

/// A record with the given fields (all active fields when `fields` is `None`).
pub fn record(
    data: &OrgData,
    obj: usize,
    row: &Row,
    fields: Option<&[usize]>,
    data_path: &str,
) -> Json {
    let o = &data.schema.objects[obj];
    let mut m = Map::new();
    m.insert("attributes".into(), attributes(data, obj, row, data_path));
    match fields {
        Some(list) => {
            for &fi in list {
                m.insert(o.fields[fi].name.clone(), data.value(obj, row, fi).to_json());
            }
        }
        None => {
            for (fi, f) in o.active_fields() {
                m.insert(f.name.clone(), data.value(obj, row, fi).to_json());
            }
        }
    }
    Json::Object(m)
}
