//! sObject Collections: `POST/PATCH/DELETE /composite/sobjects`, `PATCH /composite/sobjects/{T}/{Ext}`
//! (upsert), `GET|POST /composite/sobjects/{T}` (retrieve).
//!
//! A call carries at most 200 records (else 400 EXCEEDED_ID_LIMIT) and answers 200 with one result
//! per record, in input order. With `allOrNone` every record is written in one transaction: if any
//! fails, all are rolled back and the others report ALL_OR_NONE_OPERATION_ROLLED_BACK. Failed inserts
//! carry no `id`.

use super::unit::Unit;
use super::{ops, Call, MAX_RECORDS};
use crate::error::{ApiError, ApiResult};
use crate::journal::JournalNote;
use crate::org::ids::RecordId;
use crate::rest::body::SfJson;
use crate::rest::ctx::Ctx;
use crate::rest::dml::{self, DmlResult, Preconditions};
use crate::rest::render;
use crate::rest::sobjects::{json_response, object, record_num};
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Map, Value as Json};
use std::collections::HashMap;

/// Salesforce's message for a record undone by an all-or-none failure elsewhere.
pub const ROLLED_BACK: &str =
    "Record rolled back because not all records were valid and the request was using AllOrNone header";

/// Which write a collection performs.
#[derive(Debug, Clone, Copy)]
pub enum SaveKind {
    Create,
    Update,
    /// By external id field `field` of `obj` (the `{T}/{Ext}` of the URL).
    Upsert {
        obj: usize,
        field: usize,
    },
}

/// The results of a collection, with what the journal needs.
#[derive(Debug, Default)]
pub struct Outcome {
    pub results: Vec<Json>,
    pub failures: u32,
    pub ids: Vec<String>,
    pub object: Option<String>,
    pub fields: Vec<String>,
}

impl Outcome {
    pub fn note(&self, route: &'static str) -> JournalNote {
        JournalNote {
            route,
            object: self.object.clone(),
            ids: self.ids.iter().take(20).cloned().collect(),
            fields: self.fields.clone(),
            item_failures: self.failures,
            ..Default::default()
        }
    }
}

/// One record's result before all-or-none is applied.
struct Item {
    result: ApiResult<DmlResult>,
    /// The id the input named (updates, deletes), reported on rolled-back and failed deletes.
    input_id: Option<String>,
    upsert: bool,
}

fn exceeded() -> ApiError {
    ApiError::custom(
        400,
        "EXCEEDED_ID_LIMIT",
        "record limit reached. cannot submit more than 200 records into this call",
    )
}

fn invalid_type(name: &str) -> ApiError {
    ApiError::InvalidType(format!(
        "sObject type '{name}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names."
    ))
}

/// Parse `{"allOrNone":…,"records":[…]}`.
pub fn parse_body(body: Json) -> ApiResult<(bool, Vec<Json>)> {
    let mut m = match body {
        Json::Object(m) => m,
        _ => {
            return Err(ApiError::JsonParser(
                "Cannot deserialize instance of complexvalue from START_ARRAY value [ or request may be missing a required field at [line:1, column:1]".into(),
            ))
        }
    };
    let all_or_none = match m.get("allOrNone") {
        None | Some(Json::Null) => false,
        Some(Json::Bool(b)) => *b,
        Some(other) => {
            return Err(ApiError::JsonParser(format!(
                "Cannot deserialize instance of boolean from {other} value or request may be missing a required field"
            )))
        }
    };
    match m.remove("records") {
        Some(Json::Array(records)) => Ok((all_or_none, records)),
        _ => Err(ApiError::BadRequest(
            "The request must have a 'records' array".into(),
        )),
    }
}

/// Resolve the object a record names in `attributes.type` (or `default`).
fn record_object(unit: &Unit, rec: &Map<String, Json>, default: Option<usize>) -> ApiResult<usize> {
    let named = rec
        .get("attributes")
        .and_then(|a| a.get("type"))
        .and_then(Json::as_str);
    match (named, default) {
        (Some(t), _) => unit
            .read(|d| d.schema.object_index(t))
            .ok_or_else(|| invalid_type(t)),
        (None, Some(obj)) => Ok(obj),
        (None, None) => Err(ApiError::InvalidType(
            "No SObject Type defined in the request".into(),
        )),
    }
}

fn id_of(rec: &Map<String, Json>) -> Option<String> {
    rec.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("id"))
        .and_then(|(_, v)| v.as_str())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn key_string(v: &Json) -> Option<String> {
    match v {
        Json::String(s) if !s.is_empty() => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Write `records` as one collection inside `unit` (see the module docs for all-or-none).
pub async fn save(
    call: &Call<'_>,
    unit: &mut Unit,
    kind: SaveKind,
    records: &[Json],
    all_or_none: bool,
) -> ApiResult<Outcome> {
    if records.len() > MAX_RECORDS {
        return Err(exceeded());
    }
    let scope = all_or_none.then(|| unit.enter());
    // Upsert keys named twice in one call fail on every occurrence, as Salesforce does.
    let mut key_counts: HashMap<String, usize> = HashMap::new();
    if let SaveKind::Upsert { obj, field } = kind {
        let fname = unit.read(|d| d.schema.objects[obj].fields[field].name.clone());
        for rec in records {
            if let Some(k) = rec
                .as_object()
                .and_then(|m| m.iter().find(|(k, _)| k.eq_ignore_ascii_case(&fname)))
                .and_then(|(_, v)| key_string(v))
            {
                *key_counts.entry(k.to_lowercase()).or_default() += 1;
            }
        }
    }
    let mut items = Vec::with_capacity(records.len());
    let mut out = Outcome::default();
    for (i, rec) in records.iter().enumerate() {
        let item = save_one(call, unit, kind, i, rec, &key_counts, &mut out).await;
        items.push(item);
    }
    let failed = items.iter().any(|it| it.result.is_err());
    if let Some(scope) = scope {
        unit.leave(scope, !failed);
    }
    let rolled_back = all_or_none && failed;
    for it in items {
        match it.result {
            Ok(r) if rolled_back => {
                out.failures += 1;
                let mut j = json!({"success": false, "errors": [rolled_back_error()]});
                if let Some(id) = it.input_id.or((!r.created).then_some(r.id)) {
                    j["id"] = Json::String(id);
                }
                out.results.push(reorder(j));
            }
            Ok(r) => {
                out.ids.push(r.id.clone());
                for f in &r.fields {
                    if !out.fields.contains(f) {
                        out.fields.push(f.clone());
                    }
                }
                out.results.push(r.save_result(it.upsert));
            }
            Err(e) => {
                out.failures += 1;
                out.results
                    .push(json!({"success": false, "errors": [e.record_error()]}));
            }
        }
    }
    Ok(out)
}

/// `{"id":…,"success":false,"errors":[…]}` with `id` first, as Salesforce orders it.
fn reorder(j: Json) -> Json {
    let mut m = Map::new();
    if let Some(id) = j.get("id") {
        m.insert("id".into(), id.clone());
    }
    m.insert("success".into(), j["success"].clone());
    m.insert("errors".into(), j["errors"].clone());
    Json::Object(m)
}

fn rolled_back_error() -> Json {
    json!({"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK", "message": ROLLED_BACK, "fields": []})
}

async fn save_one(
    call: &Call<'_>,
    unit: &mut Unit,
    kind: SaveKind,
    index: usize,
    rec: &Json,
    key_counts: &HashMap<String, usize>,
    out: &mut Outcome,
) -> Item {
    let upsert = matches!(kind, SaveKind::Upsert { .. });
    let mut item = Item {
        result: Err(ApiError::NotFound),
        input_id: None,
        upsert,
    };
    let Some(map) = rec.as_object() else {
        item.result = Err(ApiError::JsonParser(
            "Cannot deserialize instance of complexvalue from a non-object value".into(),
        ));
        return item;
    };
    let default_obj = match kind {
        SaveKind::Upsert { obj, .. } => Some(obj),
        _ => None,
    };
    let obj = match record_object(unit, map, default_obj) {
        Ok(o) => o,
        Err(e) => {
            item.result = Err(e);
            return item;
        }
    };
    let (name, createable, is_event) = unit.read(|d| {
        let o = &d.schema.objects[obj];
        (o.name.clone(), o.createable, o.is_platform_event())
    });
    if out.object.is_none() {
        out.object = Some(name.clone());
    }
    let now = call.now_ms();
    item.result = match kind {
        SaveKind::Create => {
            if id_of(map).is_some() {
                Err(ApiError::InvalidField {
                    message: "cannot specify Id in an insert call".into(),
                    fields: vec![],
                })
            } else if !createable {
                Err(ApiError::EntityNotSupported(format!(
                    "entity type {name} does not support create"
                )))
            } else if let Some(e) = call.item_failure(Some(&name), index, None) {
                Err(e)
            } else if is_event {
                dml::publish_event(call.ctx, obj, map, &call.writer).map(|j| DmlResult {
                    id: j["id"].as_str().unwrap_or_default().to_string(),
                    created: true,
                    fields: vec![],
                })
            } else {
                ops::create(unit, obj, map, &call.writer, now).await
            }
        }
        SaveKind::Update => match id_of(map) {
            None => Err(ApiError::custom(
                400,
                "MISSING_ARGUMENT",
                "Id not specified in an update call",
            )),
            Some(id) => {
                item.input_id = Some(id.clone());
                match unit.read(|d| record_num(d, obj, &id)) {
                    Err(e) => Err(e),
                    Ok(num) => match call.item_failure(Some(&name), index, Some(&id)) {
                        Some(e) => Err(e),
                        None => {
                            let pre = Preconditions::default();
                            ops::update(unit, obj, num, map, &pre, &call.writer, now)
                                .await
                                .map_err(not_found_as_cross_reference)
                        }
                    },
                }
            }
        },
        SaveKind::Upsert { obj: uobj, field } => {
            let fname = unit.read(|d| d.schema.objects[uobj].fields[field].name.clone());
            let key = map
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(&fname))
                .and_then(|(_, v)| key_string(v));
            match key {
                _ if obj != uobj => Err(ApiError::InvalidType(format!(
                    "The sObject type {name} does not match the type {} in the URL",
                    unit.read(|d| d.schema.objects[uobj].name.clone())
                ))),
                None => Err(ApiError::custom(
                    400,
                    "MISSING_ARGUMENT",
                    &format!("{fname} not specified"),
                )),
                Some(k) if key_counts.get(&k.to_lowercase()).copied().unwrap_or(0) > 1 => {
                    Err(ApiError::custom(
                        400,
                        "DUPLICATE_EXTERNAL_ID",
                        &format!("Duplicate external id specified: {k}"),
                    ))
                }
                Some(k) => match call.item_failure(Some(&name), index, Some(&k)) {
                    Some(e) => Err(e),
                    None => match ops::upsert(unit, obj, field, &k, map, &call.writer, now).await {
                        Ok(Ok(r)) => Ok(r),
                        Ok(Err(nums)) => {
                            let ids: Vec<String> = unit
                                .read(|d| nums.iter().map(|n| d.id_of(obj, *n).to18()).collect());
                            Err(ApiError::custom(
                                400,
                                "DUPLICATE_EXTERNAL_ID",
                                &format!(
                                    "{fname}: more than one record found for external id field: [{}]",
                                    ids.join(", ")
                                ),
                            ))
                        }
                        Err(e) => Err(e),
                    },
                },
            }
        }
    };
    item
}

fn not_found_as_cross_reference(e: ApiError) -> ApiError {
    match e {
        ApiError::NotFound => ApiError::InvalidCrossReference {
            message: "invalid cross reference id".into(),
            fields: vec![],
        },
        other => other,
    }
}

/// Delete `ids` as one collection inside `unit`.
pub async fn delete_ids(
    call: &Call<'_>,
    unit: &mut Unit,
    ids: &[String],
    all_or_none: bool,
) -> ApiResult<Outcome> {
    if ids.len() > MAX_RECORDS {
        return Err(exceeded());
    }
    let scope = all_or_none.then(|| unit.enter());
    let mut out = Outcome::default();
    let mut items = Vec::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        let target = unit.read(|d| {
            let rid = RecordId::parse(id)?;
            let obj = d.schema.object_by_prefix(rid.prefix())?;
            Some((obj, rid.num, d.schema.objects[obj].name.clone()))
        });
        let result = match target {
            None => Err(ApiError::MalformedId {
                message: format!("malformed id {id}"),
                fields: vec![],
            }),
            Some((obj, num, name)) => {
                if out.object.is_none() {
                    out.object = Some(name.clone());
                }
                match call.item_failure(Some(&name), i, Some(id)) {
                    Some(e) => Err(e),
                    None => ops::delete(unit, obj, num, &call.writer, call.now_ms())
                        .await
                        .map_err(not_found_as_cross_reference),
                }
            }
        };
        items.push((id.clone(), result));
    }
    let failed = items.iter().any(|(_, r)| r.is_err());
    if let Some(scope) = scope {
        unit.leave(scope, !failed);
    }
    for (id, r) in items {
        match r {
            Ok(_) if all_or_none && failed => {
                out.failures += 1;
                out.results
                    .push(json!({"id": id, "success": false, "errors": [rolled_back_error()]}));
            }
            Ok(r) => {
                out.ids.push(r.id.clone());
                out.results.push(r.save_result(false));
            }
            Err(e) => {
                out.failures += 1;
                out.results
                    .push(json!({"id": id, "success": false, "errors": [e.record_error()]}));
            }
        }
    }
    Ok(out)
}

/// Records (or `null`) for `ids`, with `fields`.
pub fn retrieve(
    ctx: &Ctx,
    object_name: &str,
    ids: &[String],
    fields: &[String],
) -> ApiResult<(Json, JournalNote)> {
    let data = ctx.org.data.read();
    let obj = object(&data, object_name)?;
    let o = &data.schema.objects[obj];
    if fields.is_empty() {
        return Err(ApiError::BadRequest(
            "The 'fields' parameter is required: name the fields to retrieve".into(),
        ));
    }
    let mut fis = Vec::with_capacity(fields.len());
    for f in fields {
        let fi = o.field_index(f.trim()).ok_or_else(|| ApiError::InvalidField {
            message: format!(
                "No such column '{}' on entity '{}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.",
                f.trim(),
                o.name
            ),
            fields: vec![],
        })?;
        fis.push(fi);
    }
    let mut found = Vec::new();
    let records: Vec<Json> = ids
        .iter()
        .map(|id| {
            let row = record_num(&data, obj, id)
                .ok()
                .and_then(|n| data.row(obj, n))
                .filter(|r| !r.deleted);
            match row {
                Some(r) => {
                    found.push(data.id_of(obj, r.num).to18());
                    render::record(&data, obj, r, Some(&fis), &ctx.data_path())
                }
                None => Json::Null,
            }
        })
        .collect();
    let note = JournalNote {
        route: "composite.sobjects.retrieve",
        object: Some(o.name.clone()),
        ids: found.into_iter().take(20).collect(),
        rows: Some(records.iter().filter(|r| !r.is_null()).count() as u64),
        ..Default::default()
    };
    Ok((Json::Array(records), note))
}

async fn save_handler(
    ctx: Ctx,
    body: SfJson,
    kind: SaveKind,
    method: &str,
    route: &'static str,
) -> ApiResult<Response> {
    let (all_or_none, records) = parse_body(body.0)?;
    if records.len() > MAX_RECORDS {
        return Err(exceeded());
    }
    let path = format!("{}/composite/sobjects", ctx.data_path());
    let call = Call::new(&ctx, method, &path);
    let mut unit = Unit::begin(ctx.org.clone(), false);
    let out = save(&call, &mut unit, kind, &records, all_or_none).await?;
    unit.commit();
    Ok(json_response(
        StatusCode::OK,
        &Json::Array(out.results.clone()),
        out.note(route),
    ))
}

/// `POST /composite/sobjects`
pub async fn create(ctx: Ctx, body: SfJson) -> ApiResult<Response> {
    save_handler(
        ctx,
        body,
        SaveKind::Create,
        "POST",
        "composite.sobjects.create",
    )
    .await
}

/// `PATCH /composite/sobjects`
pub async fn update(ctx: Ctx, body: SfJson) -> ApiResult<Response> {
    save_handler(
        ctx,
        body,
        SaveKind::Update,
        "PATCH",
        "composite.sobjects.update",
    )
    .await
}

/// `PATCH /composite/sobjects/{T}/{Ext}`
pub async fn upsert(
    ctx: Ctx,
    Path((_, t, field)): Path<(String, String, String)>,
    body: SfJson,
) -> ApiResult<Response> {
    let kind = upsert_kind(&ctx, &t, &field)?;
    save_handler(ctx, body, kind, "PATCH", "composite.sobjects.upsert").await
}

/// Resolve `{T}/{Ext}` of an upsert collection: the field must be an external id (or `Id`).
pub fn upsert_kind(ctx: &Ctx, t: &str, field: &str) -> ApiResult<SaveKind> {
    let data = ctx.org.data.read();
    let obj = object(&data, t)?;
    let o = &data.schema.objects[obj];
    let fi = o
        .field_index(field)
        .filter(|i| o.fields[*i].external_id || o.fields[*i].name == "Id")
        .ok_or_else(|| {
            ApiError::NotFoundMessage(format!(
                "Provided external ID field does not exist or is not accessible: {field}"
            ))
        })?;
    Ok(SaveKind::Upsert { obj, field: fi })
}

/// Split `a,b,c` into ids.
pub fn split_ids(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// `DELETE /composite/sobjects?ids=…&allOrNone=…`
pub async fn delete(ctx: Ctx, Query(q): Query<HashMap<String, String>>) -> ApiResult<Response> {
    let ids = split_ids(q.get("ids").map(String::as_str).unwrap_or(""));
    if ids.is_empty() {
        return Err(ApiError::BadRequest(
            "The 'ids' parameter is required: name the records to delete".into(),
        ));
    }
    let all_or_none = q
        .get("allOrNone")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let path = format!("{}/composite/sobjects", ctx.data_path());
    let call = Call::new(&ctx, "DELETE", &path);
    let mut unit = Unit::begin(ctx.org.clone(), false);
    let out = delete_ids(&call, &mut unit, &ids, all_or_none).await?;
    unit.commit();
    Ok(json_response(
        StatusCode::OK,
        &Json::Array(out.results.clone()),
        out.note("composite.sobjects.delete"),
    ))
}

/// `GET /composite/sobjects/{T}?ids=…&fields=…`
pub async fn retrieve_get(
    ctx: Ctx,
    Path((_, t)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let ids = split_ids(q.get("ids").map(String::as_str).unwrap_or(""));
    let fields = split_ids(q.get("fields").map(String::as_str).unwrap_or(""));
    if ids.len() > 800 {
        return Err(exceeded());
    }
    let (body, note) = retrieve(&ctx, &t, &ids, &fields)?;
    Ok(json_response(StatusCode::OK, &body, note))
}

/// `POST /composite/sobjects/{T}` `{"ids":[…],"fields":[…]}`
pub async fn retrieve_post(
    ctx: Ctx,
    Path((_, t)): Path<(String, String)>,
    body: SfJson,
) -> ApiResult<Response> {
    let body = body.object()?;
    let list = |k: &str| -> Vec<String> {
        body.get(k)
            .and_then(Json::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Json::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let (ids, fields) = (list("ids"), list("fields"));
    if ids.len() > 2000 {
        return Err(exceeded());
    }
    let (body, note) = retrieve(&ctx, &t, &ids, &fields)?;
    Ok(json_response(StatusCode::OK, &body, note))
}
