//! `POST /composite/tree/{T}`: up to 200 records with nested children (`"Contacts":{"records":[…]}`),
//! inserted all or nothing.
//!
//! 201 `{"hasErrors":false,"results":[{"referenceId":…,"id":…}]}` (parents before their children);
//! on any failure everything is rolled back and the answer is 400
//! `{"hasErrors":true,"results":[{"referenceId":…,"errors":[…]}]}` listing the failed records.

use super::unit::Unit;
use super::{ops, Call, MAX_RECORDS};
use crate::error::{ApiError, ApiResult};
use crate::journal::JournalNote;
use crate::rest::body::SfJson;
use crate::rest::ctx::Ctx;
use crate::rest::sobjects::{json_response, object};
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Map, Value as Json};
use std::collections::HashSet;

/// Nesting levels allowed below the top records.
const MAX_DEPTH: usize = 5;

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError::BadRequest(msg.into())
}

/// Count records and check depth, reference ids and shape before anything is written.
fn check(
    records: &[Json],
    depth: usize,
    seen: &mut HashSet<String>,
    count: &mut usize,
) -> ApiResult<()> {
    if depth > MAX_DEPTH {
        return Err(bad(format!(
            "The tree can be at most {MAX_DEPTH} levels deep"
        )));
    }
    for r in records {
        let m = r
            .as_object()
            .ok_or_else(|| bad("Each record must be a JSON object"))?;
        *count += 1;
        let rid = m
            .get("attributes")
            .and_then(|a| a.get("referenceId"))
            .and_then(Json::as_str)
            .ok_or_else(|| bad("Each record needs attributes.referenceId"))?;
        if !seen.insert(rid.to_string()) {
            return Err(bad(format!(
                "Duplicate ReferenceId provided in the request: {rid}"
            )));
        }
        for v in m.values() {
            if let Some(children) = v.get("records").and_then(Json::as_array) {
                check(children, depth + 1, seen, count)?;
            }
        }
    }
    Ok(())
}

struct Walk<'a, 'c> {
    call: &'a Call<'c>,
    unit: Unit,
    ok: Vec<Json>,
    errors: Vec<Json>,
    index: usize,
    ids: Vec<String>,
}

impl Walk<'_, '_> {
    /// Insert `records` of object `obj`, each child after its parent (`parent`: the child's
    /// reference field and the parent's id).
    async fn insert(&mut self, records: &[Json], obj: usize, parent: Option<(String, String)>) {
        for r in records {
            let Some(m) = r.as_object() else { continue };
            let rid = m
                .get("attributes")
                .and_then(|a| a.get("referenceId"))
                .and_then(Json::as_str)
                .unwrap_or_default()
                .to_string();
            let index = self.index;
            self.index += 1;
            let (name, children) = self.unit.read(|d| {
                let o = &d.schema.objects[obj];
                let children: Vec<(String, Option<(usize, String)>)> = m
                    .iter()
                    .filter(|(_, v)| v.get("records").is_some_and(Json::is_array))
                    .map(|(k, _)| {
                        let child = d.schema.child_relationship(obj, k).and_then(|c| {
                            let ci = d.schema.object_index(&c.child_object)?;
                            Some((ci, c.field.clone()))
                        });
                        (k.clone(), child)
                    })
                    .collect();
                (o.name.clone(), children)
            });
            let declared = m
                .get("attributes")
                .and_then(|a| a.get("type"))
                .and_then(Json::as_str)
                .unwrap_or_default();
            let mut fields: Map<String, Json> = m
                .iter()
                .filter(|(k, _)| *k != "attributes" && !children.iter().any(|(c, _)| c == *k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            if let Some((field, id)) = &parent {
                fields.insert(field.clone(), Json::String(id.clone()));
            }
            let result = if !declared.eq_ignore_ascii_case(&name) {
                Err(ApiError::InvalidType(format!(
                    "The record type {declared} does not match the object {name} at this position of the tree"
                )))
            } else if let Some((rel, _)) = children.iter().find(|(_, c)| c.is_none()) {
                Err(ApiError::InvalidField {
                    message: format!("No such relationship '{rel}' on sobject of type {name}"),
                    fields: vec![],
                })
            } else if let Some(e) = self.call.item_failure(Some(&name), index, Some(&rid)) {
                Err(e)
            } else {
                ops::create(
                    &mut self.unit,
                    obj,
                    &fields,
                    &self.call.writer,
                    self.call.now_ms(),
                )
                .await
            };
            match result {
                Ok(r) => {
                    self.ids.push(r.id.clone());
                    self.ok.push(json!({"referenceId": rid, "id": r.id}));
                    for (rel, child) in children {
                        let Some((ci, field)) = child else { continue };
                        let list = m[&rel]["records"].as_array().cloned().unwrap_or_default();
                        Box::pin(self.insert(&list, ci, Some((field, r.id.clone())))).await;
                    }
                }
                Err(e) => self
                    .errors
                    .push(json!({"referenceId": rid, "errors": [e.record_error()]})),
            }
        }
    }
}

/// `POST /composite/tree/{T}`
pub async fn tree(
    ctx: Ctx,
    Path((_, t)): Path<(String, String)>,
    body: SfJson,
) -> ApiResult<Response> {
    let obj = object(&ctx.org.data.read(), &t)?;
    let body = body.object()?;
    let Some(Json::Array(records)) = body.get("records") else {
        return Err(bad("The records array is required"));
    };
    let mut count = 0;
    check(records, 1, &mut HashSet::new(), &mut count)?;
    if count > MAX_RECORDS {
        return Err(ApiError::custom(
            400,
            "EXCEEDED_ID_LIMIT",
            "record limit reached. cannot submit more than 200 records into this call",
        ));
    }
    let path = format!("{}/composite/tree/{t}", ctx.data_path());
    let call = Call::new(&ctx, "POST", &path);
    let mut walk = Walk {
        call: &call,
        unit: Unit::begin(ctx.org.clone(), true),
        ok: vec![],
        errors: vec![],
        index: 0,
        ids: vec![],
    };
    walk.insert(records, obj, None).await;
    let name = ctx.org.data.read().schema.objects[obj].name.clone();
    let Walk {
        unit,
        ok,
        errors,
        ids,
        ..
    } = walk;
    if errors.is_empty() {
        unit.commit();
        let note = JournalNote {
            route: "composite.tree",
            object: Some(name),
            ids: ids.into_iter().take(20).collect(),
            ..Default::default()
        };
        Ok(json_response(
            StatusCode::CREATED,
            &json!({"hasErrors": false, "results": ok}),
            note,
        ))
    } else {
        unit.rollback();
        let note = JournalNote {
            route: "composite.tree",
            object: Some(name),
            item_failures: errors.len() as u32,
            ..Default::default()
        };
        let body = json!({"hasErrors": true, "results": errors});
        let mut r = json_response(StatusCode::BAD_REQUEST, &body, note);
        let code = body["results"][0]["errors"][0]["statusCode"]
            .as_str()
            .unwrap_or("INVALID_INPUT")
            .to_string();
        r.extensions_mut().insert(crate::error::ErrorCodeTag(code));
        Ok(r)
    }
}
