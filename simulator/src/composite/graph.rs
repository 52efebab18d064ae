//! `POST /composite`: up to 25 subrequests, later ones naming earlier results with `@{ref.field}`,
//! run in order as one API call.
//!
//! Always answers 200 `{"compositeResponse":[…]}` once the call itself is well-formed. With
//! `allOrNone: true` the subrequests share one transaction: the first failure rolls everything back,
//! the failing item keeps its error and every other item answers 400 PROCESSING_HALTED ("The
//! transaction was rolled back since another operation in the same transaction failed."). With
//! `allOrNone: false` each subrequest commits on its own and only the ones that depend on a failed
//! one are halted ("Invalid reference specified. No value for refX.id found in refX. …").
//! `collateSubrequests` is accepted; subrequests always run one after another.

use super::journal::{self, SubRecord};
use super::reference::{valid_reference_id, Refs};
use super::subrequest::{self, header_map, SubResponse, Target};
use super::unit::Unit;
use super::{Call, MAX_COLLECTION_SUBREQUESTS, MAX_SUBREQUESTS};
use crate::error::{ApiError, ApiResult};
use crate::journal::JournalNote;
use crate::rest::body::SfJson;
use crate::rest::ctx::Ctx;
use crate::rest::sobjects::json_response;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Map, Value as Json};
use std::collections::HashSet;

/// Salesforce's message for the items of a rolled-back all-or-none composite call.
pub const ROLLED_BACK: &str =
    "The transaction was rolled back since another operation in the same transaction failed.";

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// One subrequest as sent.
struct Sub {
    method: String,
    url: String,
    reference_id: String,
    body: Option<Json>,
    headers: Option<Json>,
}

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError::BadRequest(msg.into())
}

fn parse(body: Json) -> ApiResult<(bool, Vec<Sub>)> {
    let Json::Object(mut m) = body else {
        return Err(ApiError::JsonParser(
            "Cannot deserialize instance of complexvalue from START_ARRAY value [ or request may be missing a required field at [line:1, column:1]".into(),
        ));
    };
    let all_or_none = match m.get("allOrNone") {
        None | Some(Json::Null) => false,
        Some(Json::Bool(b)) => *b,
        Some(_) => return Err(bad("allOrNone must be true or false")),
    };
    let Some(Json::Array(raw)) = m.remove("compositeRequest") else {
        return Err(bad("The compositeRequest array is required"));
    };
    if raw.is_empty() {
        return Err(bad(
            "The compositeRequest array must have at least one subrequest",
        ));
    }
    if raw.len() > MAX_SUBREQUESTS {
        return Err(bad(format!(
            "The number of subrequests ({}) exceeds the limit of {MAX_SUBREQUESTS}",
            raw.len()
        )));
    }
    let mut subs = Vec::with_capacity(raw.len());
    let mut seen = HashSet::new();
    let mut heavy = 0;
    for r in raw {
        let Json::Object(mut s) = r else {
            return Err(bad("Each subrequest must be a JSON object"));
        };
        let text = |s: &mut Map<String, Json>, k: &str| match s.remove(k) {
            Some(Json::String(v)) => Ok(v),
            _ => Err(bad(format!("Each subrequest needs a '{k}'"))),
        };
        let method = text(&mut s, "method")?.to_ascii_uppercase();
        let url = text(&mut s, "url")?;
        let reference_id = text(&mut s, "referenceId")?;
        if !METHODS.contains(&method.as_str()) {
            return Err(bad(format!("Unsupported method in subrequest: {method}")));
        }
        if !valid_reference_id(&reference_id) {
            return Err(bad(format!(
                "Provided referenceId ('{reference_id}') must start with a letter or a number, and it can contain only letters, numbers and underscores ('_')."
            )));
        }
        if !seen.insert(reference_id.clone()) {
            return Err(bad(format!(
                "Duplicate referenceId provided in the request: {reference_id}"
            )));
        }
        if Target::parse(&url).is_ok_and(|t| t.is_collection_or_query()) {
            heavy += 1;
        }
        subs.push(Sub {
            method,
            url,
            reference_id,
            body: s.remove("body").filter(|b| !b.is_null()),
            headers: s.remove("httpHeaders"),
        });
    }
    if heavy > MAX_COLLECTION_SUBREQUESTS {
        return Err(bad(format!(
            "A composite request can have at most {MAX_COLLECTION_SUBREQUESTS} sObject Collections or query subrequests"
        )));
    }
    Ok((all_or_none, subs))
}

/// The object a subrequest URL names, for fault scopes.
fn url_object(t: &Target) -> Option<&str> {
    match t.segments.first().map(String::as_str) {
        Some("sobjects") => t.segments.get(1).map(String::as_str),
        _ => None,
    }
}

/// `POST /composite`
pub async fn composite(ctx: Ctx, body: SfJson) -> ApiResult<Response> {
    let (all_or_none, subs) = parse(body.0)?;
    let path = format!("{}/composite", ctx.data_path());
    let mut call = Call::new(&ctx, "POST", &path);
    let mut unit = Unit::begin(ctx.org.clone(), all_or_none);
    let mut refs = Refs::default();
    let mut done: Vec<(SubRecord, SubResponse)> = Vec::with_capacity(subs.len());
    let mut failed_at = None;
    for (i, sub) in subs.iter().enumerate() {
        let mut rec = SubRecord::new(&ctx, &sub.method, &sub.url, sub.body.as_ref());
        if all_or_none && failed_at.is_some() {
            done.push((rec, SubResponse::halted(ROLLED_BACK)));
            continue;
        }
        let start = tokio::time::Instant::now();
        let resolved = refs.resolve_str(&sub.url).and_then(|u| {
            let body = sub
                .body
                .as_ref()
                .map(|b| refs.resolve_json(b))
                .transpose()?;
            let headers = sub
                .headers
                .as_ref()
                .map(|h| refs.resolve_json(h))
                .transpose()?;
            Ok((u, body, headers))
        });
        let resp = match resolved {
            Err(unresolved) => SubResponse::halted(&unresolved.message()),
            Ok((url, body, headers)) => {
                rec.url = url.as_str().unwrap_or_default().to_string();
                match (Target::parse(&rec.url), header_map(headers.as_ref())) {
                    (Err(e), _) | (_, Err(e)) => SubResponse::error(&e),
                    (Ok(target), Ok(h)) => {
                        rec.conditional =
                            h.contains_key("if-match") || h.contains_key("if-unmodified-since");
                        call.method = leak_method(&sub.method);
                        match call.item_failure(url_object(&target), i, None) {
                            Some(e) => SubResponse::error(&e),
                            None => {
                                subrequest::run(
                                    &call,
                                    &mut unit,
                                    &sub.method,
                                    &target,
                                    body.as_ref(),
                                    &h,
                                )
                                .await
                            }
                        }
                    }
                }
            }
        };
        rec.latency = start.elapsed();
        refs.insert(
            &sub.reference_id,
            (!resp.is_error()).then(|| resp.body.clone()),
        );
        if resp.is_error() && all_or_none {
            failed_at = Some(i);
        }
        done.push((rec, resp));
    }
    match failed_at {
        Some(f) => {
            unit.rollback();
            for (i, (_, resp)) in done.iter_mut().enumerate() {
                if i != f {
                    let note = std::mem::take(&mut resp.note);
                    *resp = SubResponse::halted(ROLLED_BACK);
                    resp.note = JournalNote {
                        route: note.route,
                        object: note.object,
                        ..Default::default()
                    };
                }
            }
        }
        None => unit.commit(),
    }
    journal::append(&ctx, &done);
    let mut note = JournalNote {
        route: "composite",
        api_cost: Some(1),
        ..Default::default()
    };
    let mut items = Vec::with_capacity(done.len());
    for ((_, resp), sub) in done.iter().zip(&subs) {
        if resp.is_error() {
            note.item_failures += 1;
        } else {
            note.ids.extend(resp.note.ids.iter().cloned());
            if note.object.is_none() {
                note.object = resp.note.object.clone();
            }
        }
        items.push(json!({
            "body": resp.body,
            "httpHeaders": resp.headers,
            "httpStatusCode": resp.status,
            "referenceId": sub.reference_id,
        }));
    }
    note.ids.truncate(20);
    Ok(json_response(
        StatusCode::OK,
        &json!({ "compositeResponse": items }),
        note,
    ))
}

/// The method as a `'static` string for fault probes (one of the five allowed).
pub fn leak_method(m: &str) -> &'static str {
    METHODS.iter().find(|x| **x == m).copied().unwrap_or("POST")
}
