//! `POST /composite/batch`: up to 25 independent subrequests, run one after another, each its own
//! transaction and each counted as one API call (the outer call is the first; the others are charged
//! here, so `Sforce-Limit-Info` and the journal show the full cost).
//!
//! 200 `{"hasErrors":…,"results":[{"statusCode":…,"result":…}]}`. With `haltOnError: true`, once an
//! item fails the rest answer 412 BATCH_PROCESSING_HALTED without running.

use super::journal::{self, SubRecord};
use super::subrequest::{self, header_map, SubResponse, Target};
use super::unit::Unit;
use super::{graph::leak_method, Call, MAX_SUBREQUESTS};
use crate::error::{ApiError, ApiResult};
use crate::journal::JournalNote;
use crate::org::limits::TOTAL_REQUESTS_EXCEEDED;
use crate::rest::body::SfJson;
use crate::rest::ctx::Ctx;
use crate::rest::sobjects::json_response;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Map, Value as Json};

/// Salesforce's answer for items skipped after a failure with `haltOnError`.
pub const HALTED_MESSAGE: &str = "Batch processing halted per request";

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError::BadRequest(msg.into())
}

/// `v62.0/sobjects/…` (relative to `/services/data/`) → an absolute path.
fn absolute(url: &str) -> String {
    if url.starts_with("/services/data/") {
        url.to_string()
    } else if let Some(rest) = url.strip_prefix('/') {
        format!("/services/data/{rest}")
    } else {
        format!("/services/data/{url}")
    }
}

/// `POST /composite/batch`
pub async fn batch(ctx: Ctx, body: SfJson) -> ApiResult<Response> {
    let Json::Object(mut m) = body.0 else {
        return Err(ApiError::JsonParser(
            "Cannot deserialize instance of complexvalue from START_ARRAY value [ or request may be missing a required field at [line:1, column:1]".into(),
        ));
    };
    let halt_on_error = matches!(m.get("haltOnError"), Some(Json::Bool(true)));
    let Some(Json::Array(raw)) = m.remove("batchRequests") else {
        return Err(bad("The batchRequests array is required"));
    };
    if raw.is_empty() {
        return Err(bad(
            "The batchRequests array must have at least one subrequest",
        ));
    }
    if raw.len() > MAX_SUBREQUESTS {
        return Err(bad(format!(
            "The number of subrequests ({}) exceeds the limit of {MAX_SUBREQUESTS}",
            raw.len()
        )));
    }
    let mut subs = Vec::with_capacity(raw.len());
    for r in raw {
        let Json::Object(mut s) = r else {
            return Err(bad("Each subrequest must be a JSON object"));
        };
        let method = match s.remove("method") {
            Some(Json::String(v)) => v.to_ascii_uppercase(),
            _ => return Err(bad("Each subrequest needs a 'method'")),
        };
        let url = match s.remove("url") {
            Some(Json::String(v)) => absolute(&v),
            _ => return Err(bad("Each subrequest needs a 'url'")),
        };
        let body = s.remove("richInput").filter(|b| !b.is_null());
        subs.push((method, url, body, s.remove("httpHeaders")));
    }

    let path = format!("{}/composite/batch", ctx.data_path());
    let mut call = Call::new(&ctx, "POST", &path);
    let mut done: Vec<(SubRecord, SubResponse)> = Vec::with_capacity(subs.len());
    let mut charged = 1u32;
    let mut halted = false;
    for (i, (method, url, body, headers)) in subs.iter().enumerate() {
        let mut rec = SubRecord::new(&ctx, method, url, body.as_ref());
        if halted {
            let mut r = SubResponse::error(&ApiError::custom(
                412,
                "BATCH_PROCESSING_HALTED",
                HALTED_MESSAGE,
            ));
            r.body = json!([{"errorCode": "BATCH_PROCESSING_HALTED", "message": HALTED_MESSAGE}]);
            done.push((rec, r));
            continue;
        }
        let start = tokio::time::Instant::now();
        // The outer call already paid for the first subrequest.
        let limit = if i == 0 {
            Ok(())
        } else {
            let r = ctx.org.allocation.try_charge(ctx.state.clock.elapsed(), 1);
            if r.is_ok() {
                charged += 1;
            }
            r.map(drop)
        };
        let resp = match (limit, Target::parse(url), header_map(headers.as_ref())) {
            (Err(_), _, _) => SubResponse::error(&ApiError::RequestLimitExceeded(
                TOTAL_REQUESTS_EXCEEDED.into(),
            )),
            (_, Err(e), _) | (_, _, Err(e)) => SubResponse::error(&e),
            (Ok(()), Ok(target), Ok(h)) => {
                rec.conditional =
                    h.contains_key("if-match") || h.contains_key("if-unmodified-since");
                call.method = leak_method(method);
                let object = match target.segments.first().map(String::as_str) {
                    Some("sobjects") => target.segments.get(1).cloned(),
                    _ => None,
                };
                match call.item_failure(object.as_deref(), i, None) {
                    Some(e) => SubResponse::error(&e),
                    None => {
                        let mut unit = Unit::begin(ctx.org.clone(), false);
                        let r =
                            subrequest::run(&call, &mut unit, method, &target, body.as_ref(), &h)
                                .await;
                        unit.commit();
                        r
                    }
                }
            }
        };
        rec.latency = start.elapsed();
        if resp.is_error() && halt_on_error {
            halted = true;
        }
        done.push((rec, resp));
    }
    journal::append(&ctx, &done);
    let mut note = JournalNote {
        route: "composite.batch",
        api_cost: Some(charged),
        ..Default::default()
    };
    let mut results = Vec::with_capacity(done.len());
    for (_, resp) in &done {
        if resp.is_error() {
            note.item_failures += 1;
        } else {
            note.ids.extend(resp.note.ids.iter().cloned());
            if note.object.is_none() {
                note.object = resp.note.object.clone();
            }
        }
        let mut item = Map::new();
        item.insert("statusCode".into(), json!(resp.status));
        item.insert("result".into(), resp.body.clone());
        results.push(Json::Object(item));
    }
    note.ids.truncate(20);
    let has_errors = note.item_failures > 0;
    Ok(json_response(
        StatusCode::OK,
        &json!({"hasErrors": has_errors, "results": results}),
        note,
    ))
}
