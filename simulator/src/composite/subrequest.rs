//! One subrequest of `/composite` or `/composite/batch`: its URL parsed and run against the same
//! operations as the REST routes, inside the caller's [`Unit`].
//!
//! Supported targets: `/sobjects/{T}` (POST), `/sobjects/{T}/{id}` (GET, PATCH, DELETE),
//! `/sobjects/{T}/{Ext}/{value}` (GET, PATCH upsert, DELETE), `/query` and `/queryAll` (GET), and the
//! sObject Collections under `/composite/sobjects`. Anything else answers 404 NOT_FOUND.

use super::collections::{self, SaveKind};
use super::unit::Unit;
use super::{ops, Call};
use crate::error::ApiError;
use crate::journal::JournalNote;
use crate::org::ids::looks_like_id;
use crate::rest::ctx::parse_version;
use crate::rest::dml::{self, match_external, DmlResult, Preconditions, UpsertTarget};
use crate::rest::render;
use crate::rest::sobjects::{object, record_num};
use axum::http::HeaderMap;
use serde_json::{json, Map, Value as Json};

/// What a subrequest answered.
#[derive(Debug, Clone)]
pub struct SubResponse {
    pub status: u16,
    /// `null` for 204/304.
    pub body: Json,
    /// `httpHeaders` of the subresponse (`Location`, `ETag`, `Last-Modified`).
    pub headers: Map<String, Json>,
    pub error_code: Option<String>,
    pub note: JournalNote,
    /// Per-item failures inside a 200 (collections).
    pub item_failures: u32,
}

impl SubResponse {
    pub fn error(e: &ApiError) -> SubResponse {
        SubResponse {
            status: e.status().as_u16(),
            body: e.body(),
            headers: Map::new(),
            error_code: Some(e.error_code().to_string()),
            note: JournalNote::default(),
            item_failures: 0,
        }
    }

    /// 400 PROCESSING_HALTED, in the body shape Salesforce uses for it (no `fields`).
    pub fn halted(message: &str) -> SubResponse {
        SubResponse {
            status: 400,
            body: json!([{"errorCode": "PROCESSING_HALTED", "message": message}]),
            headers: Map::new(),
            error_code: Some("PROCESSING_HALTED".into()),
            note: JournalNote::default(),
            item_failures: 0,
        }
    }

    fn ok(status: u16, body: Json, note: JournalNote) -> SubResponse {
        SubResponse {
            status,
            body,
            headers: Map::new(),
            error_code: None,
            note,
            item_failures: 0,
        }
    }

    pub fn is_error(&self) -> bool {
        self.status >= 400
    }
}

/// A parsed subrequest URL.
pub struct Target {
    pub segments: Vec<String>,
    pub query: Vec<(String, String)>,
    pub version: String,
}

impl Target {
    /// Parse `/services/data/v62.0/sobjects/Account/…?…`.
    pub fn parse(url: &str) -> Result<Target, ApiError> {
        let (path, query) = url.split_once('?').unwrap_or((url, ""));
        let rest = path.strip_prefix("/services/data/").ok_or_else(|| {
            ApiError::BadRequest(format!(
                "The URL must start with /services/data/vXX.X/: {url}"
            ))
        })?;
        let mut parts = rest.split('/').filter(|s| !s.is_empty());
        let version = parse_version(parts.next().unwrap_or(""))?;
        let segments = parts
            .map(|s| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .collect();
        let query = form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Ok(Target {
            segments,
            query,
            version,
        })
    }

    fn param(&self, k: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    }

    /// Collections and queries count toward the 5-per-call limit of `/composite`.
    pub fn is_collection_or_query(&self) -> bool {
        matches!(
            self.segments.first().map(String::as_str),
            Some("query") | Some("queryAll")
        ) || (self.segments.first().map(String::as_str) == Some("composite")
            && self.segments.get(1).map(String::as_str) == Some("sobjects"))
    }
}

fn note(route: &'static str, object: &str, ids: Vec<String>, fields: Vec<String>) -> JournalNote {
    JournalNote {
        route,
        object: Some(object.to_string()),
        ids,
        fields,
        ..Default::default()
    }
}

fn not_allowed(method: &str, allowed: &str) -> ApiError {
    ApiError::MethodNotAllowed {
        method: method.to_string(),
        allowed: allowed.to_string(),
    }
}

fn need_body(body: Option<&Json>) -> Result<Map<String, Json>, ApiError> {
    match body {
        Some(Json::Object(m)) => Ok(m.clone()),
        Some(_) => Err(ApiError::JsonParser(
            "Cannot deserialize instance of complexvalue from a non-object value at [line:1, column:1]".into(),
        )),
        None => Err(ApiError::JsonParser(
            "No content to map due to end-of-input at [line:1, column:0]".into(),
        )),
    }
}

/// Run one subrequest.
pub async fn run(
    call: &Call<'_>,
    unit: &mut Unit,
    method: &str,
    target: &Target,
    body: Option<&Json>,
    headers: &HeaderMap,
) -> SubResponse {
    match dispatch(call, unit, method, target, body, headers).await {
        Ok(r) => r,
        Err(e) => SubResponse::error(&e),
    }
}

async fn dispatch(
    call: &Call<'_>,
    unit: &mut Unit,
    method: &str,
    target: &Target,
    body: Option<&Json>,
    headers: &HeaderMap,
) -> Result<SubResponse, ApiError> {
    let data_path = format!("/services/data/v{}", target.version);
    let segs: Vec<&str> = target.segments.iter().map(String::as_str).collect();
    let now = call.now_ms();
    match segs.as_slice() {
        ["sobjects", t] => {
            if method == "GET" {
                return Err(ApiError::NotFoundMessage(format!(
                    "Object metadata ({t}) is not served inside composite calls by this simulator; use GET /sobjects/{t}/describe"
                )));
            }
            if method != "POST" {
                return Err(not_allowed(method, "GET,HEAD,POST"));
            }
            let map = need_body(body)?;
            let (obj, name, createable, is_event) = unit.read(|d| {
                let obj = object(d, t)?;
                let o = &d.schema.objects[obj];
                Ok::<_, ApiError>((obj, o.name.clone(), o.createable, o.is_platform_event()))
            })?;
            if !createable {
                return Err(ApiError::EntityNotSupported(format!(
                    "entity type {name} does not support create"
                )));
            }
            if is_event {
                let r = dml::publish_event(call.ctx, obj, &map, &call.writer)?;
                let id = r["id"].as_str().unwrap_or_default().to_string();
                return Ok(SubResponse::ok(
                    201,
                    r,
                    note("sobjects.publish", &name, vec![id], vec![]),
                ));
            }
            let r = ops::create(unit, obj, &map, &call.writer, now).await?;
            Ok(created(&data_path, &name, &r, false))
        }
        ["sobjects", t, seg] => {
            let (obj, name) = unit.read(|d| {
                let obj = object(d, t)?;
                Ok::<_, ApiError>((obj, d.schema.objects[obj].name.clone()))
            })?;
            if !looks_like_id(seg) {
                return Err(ApiError::NotFoundMessage(format!(
                    "Provided external ID field does not exist or is not accessible: {seg}"
                )));
            }
            let num = unit.read(|d| record_num(d, obj, seg))?;
            match method {
                "GET" => get_row(unit, obj, num, target, headers, &data_path, "sobjects.get"),
                "PATCH" => {
                    let map = need_body(body)?;
                    let pre = Preconditions::from_headers(headers)?;
                    let r = ops::update(unit, obj, num, &map, &pre, &call.writer, now).await?;
                    Ok(SubResponse::ok(
                        204,
                        Json::Null,
                        note("sobjects.update", &name, vec![r.id], r.fields),
                    ))
                }
                "DELETE" => {
                    let r = ops::delete(unit, obj, num, &call.writer, now).await?;
                    Ok(SubResponse::ok(
                        204,
                        Json::Null,
                        note("sobjects.delete", &name, vec![r.id], vec![]),
                    ))
                }
                _ => Err(not_allowed(method, "GET,HEAD,PATCH,DELETE")),
            }
        }
        ["sobjects", t, field, value] => {
            let (obj, fi, name, is_id) = unit.read(|d| {
                let obj = object(d, t)?;
                let o = &d.schema.objects[obj];
                let fi = o
                    .field_index(field)
                    .filter(|i| o.fields[*i].external_id || o.fields[*i].name == "Id")
                    .ok_or_else(|| {
                        ApiError::NotFoundMessage(format!(
                            "Provided external ID field does not exist or is not accessible: {field}"
                        ))
                    })?;
                Ok::<_, ApiError>((obj, fi, o.name.clone(), o.fields[fi].name == "Id"))
            })?;
            match method {
                "GET" => match unit.read(|d| match_external(d, obj, fi, value)) {
                    UpsertTarget::Insert => Err(ApiError::NotFound),
                    UpsertTarget::Update(num) => get_row(
                        unit,
                        obj,
                        num,
                        target,
                        headers,
                        &data_path,
                        "sobjects.get_ext",
                    ),
                    UpsertTarget::Multiple(nums) => Ok(multiple(unit, obj, &nums, &data_path)),
                },
                "PATCH" => {
                    let map = need_body(body)?;
                    if is_id {
                        let num = unit.read(|d| record_num(d, obj, value))?;
                        let pre = Preconditions::from_headers(headers)?;
                        let r = ops::update(unit, obj, num, &map, &pre, &call.writer, now).await?;
                        return Ok(updated(&target.version, &name, &r));
                    }
                    match ops::upsert(unit, obj, fi, value, &map, &call.writer, now).await? {
                        Err(nums) => Ok(multiple(unit, obj, &nums, &data_path)),
                        Ok(r) if r.created => Ok(created(&data_path, &name, &r, true)),
                        Ok(r) => Ok(updated(&target.version, &name, &r)),
                    }
                }
                "DELETE" => match unit.read(|d| match_external(d, obj, fi, value)) {
                    UpsertTarget::Insert => Err(ApiError::NotFound),
                    UpsertTarget::Multiple(nums) => Ok(multiple(unit, obj, &nums, &data_path)),
                    UpsertTarget::Update(num) => {
                        let r = ops::delete(unit, obj, num, &call.writer, now).await?;
                        Ok(SubResponse::ok(
                            204,
                            Json::Null,
                            note("sobjects.delete", &name, vec![r.id], vec![]),
                        ))
                    }
                },
                _ => Err(not_allowed(method, "GET,HEAD,PATCH,DELETE")),
            }
        }
        [q @ ("query" | "queryAll")] => {
            if method != "GET" {
                return Err(not_allowed(method, "GET,HEAD"));
            }
            let soql = target.param("q").unwrap_or("");
            let (body, n) = crate::rest::query::run_query(call.ctx, soql, *q == "queryAll", 2_000)?;
            Ok(SubResponse::ok(200, body, n))
        }
        ["composite", "sobjects", rest @ ..] => {
            collection(call, unit, method, target, rest, body).await
        }
        _ => Err(ApiError::NotFound),
    }
}

async fn collection(
    call: &Call<'_>,
    unit: &mut Unit,
    method: &str,
    target: &Target,
    rest: &[&str],
    body: Option<&Json>,
) -> Result<SubResponse, ApiError> {
    let out = match (method, rest) {
        ("POST" | "PATCH", []) => {
            let (all_or_none, records) =
                collections::parse_body(body.cloned().unwrap_or(Json::Null))?;
            let kind = if method == "POST" {
                SaveKind::Create
            } else {
                SaveKind::Update
            };
            collections::save(call, unit, kind, &records, all_or_none).await?
        }
        ("DELETE", []) => {
            let ids = collections::split_ids(target.param("ids").unwrap_or(""));
            let all_or_none = target
                .param("allOrNone")
                .is_some_and(|v| v.eq_ignore_ascii_case("true"));
            collections::delete_ids(call, unit, &ids, all_or_none).await?
        }
        ("PATCH", [t, field]) => {
            let kind = collections::upsert_kind(call.ctx, t, field)?;
            let (all_or_none, records) =
                collections::parse_body(body.cloned().unwrap_or(Json::Null))?;
            collections::save(call, unit, kind, &records, all_or_none).await?
        }
        ("GET", [t]) => {
            let ids = collections::split_ids(target.param("ids").unwrap_or(""));
            let fields = collections::split_ids(target.param("fields").unwrap_or(""));
            let (body, n) = collections::retrieve(call.ctx, t, &ids, &fields)?;
            return Ok(SubResponse::ok(200, body, n));
        }
        ("POST", [t]) => {
            let m = need_body(body)?;
            let list = |k: &str| -> Vec<String> {
                m.get(k)
                    .and_then(Json::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(Json::as_str)
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let (body, n) = collections::retrieve(call.ctx, t, &list("ids"), &list("fields"))?;
            return Ok(SubResponse::ok(200, body, n));
        }
        (_, []) => return Err(not_allowed(method, "POST,PATCH,DELETE")),
        _ => return Err(ApiError::NotFound),
    };
    let mut r = SubResponse::ok(
        200,
        Json::Array(out.results.clone()),
        out.note("composite.sobjects"),
    );
    r.item_failures = out.failures;
    Ok(r)
}

fn created(data_path: &str, name: &str, r: &DmlResult, with_created: bool) -> SubResponse {
    let mut s = SubResponse::ok(
        201,
        r.save_result(with_created),
        note(
            if with_created {
                "sobjects.upsert"
            } else {
                "sobjects.create"
            },
            name,
            vec![r.id.clone()],
            r.fields.clone(),
        ),
    );
    s.headers.insert(
        "Location".into(),
        Json::String(format!("{data_path}/sobjects/{name}/{}", r.id)),
    );
    s
}

fn updated(version: &str, name: &str, r: &DmlResult) -> SubResponse {
    let n = note(
        "sobjects.upsert",
        name,
        vec![r.id.clone()],
        r.fields.clone(),
    );
    let major: u32 = version
        .split('.')
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(62);
    if major <= 45 {
        SubResponse::ok(204, Json::Null, n)
    } else {
        SubResponse::ok(200, r.save_result(true), n)
    }
}

fn multiple(unit: &Unit, obj: usize, nums: &[u64], data_path: &str) -> SubResponse {
    unit.read(|d| {
        let name = d.schema.objects[obj].name.clone();
        let urls: Vec<Json> = nums
            .iter()
            .map(|n| {
                Json::String(format!(
                    "{data_path}/sobjects/{name}/{}",
                    d.id_of(obj, *n).to18()
                ))
            })
            .collect();
        let ids = nums.iter().map(|n| d.id_of(obj, *n).to18()).collect();
        let mut r = SubResponse::ok(
            300,
            Json::Array(urls),
            note("sobjects.ext", &name, ids, vec![]),
        );
        r.error_code = Some("MULTIPLE_CHOICES".into());
        r
    })
}

fn get_row(
    unit: &Unit,
    obj: usize,
    num: u64,
    target: &Target,
    headers: &HeaderMap,
    data_path: &str,
    route: &'static str,
) -> Result<SubResponse, ApiError> {
    unit.read(|d| {
        dml::live_row(d, obj, num)?;
        let o = &d.schema.objects[obj];
        let row = d.row(obj, num).ok_or(ApiError::NotFound)?;
        let fields = match target.param("fields").filter(|s| !s.trim().is_empty()) {
            None => None,
            Some(list) => {
                let mut v = Vec::new();
                for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    v.push(o.field_index(name).ok_or_else(|| ApiError::InvalidField {
                        message: format!(
                            "No such column '{name}' on entity '{}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.",
                            o.name
                        ),
                        fields: vec![],
                    })?);
                }
                Some(v)
            }
        };
        let id = d.id_of(obj, num).to18();
        let n = note(route, &o.name, vec![id], vec![]);
        let etag = o.etags.then(|| d.etag(obj, row));
        let not_modified = etag.as_ref().is_some_and(|tag| {
            headers
                .get("if-none-match")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"))
        }) || headers
            .get("if-modified-since")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok())
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .is_some_and(|since| row.modified_ms / 1000 <= since.as_millis() as i64 / 1000);
        let mut r = if not_modified {
            SubResponse::ok(304, Json::Null, n)
        } else {
            SubResponse::ok(200, render::record(d, obj, row, fields.as_deref(), data_path), n)
        };
        if let Some(tag) = etag {
            r.headers.insert("ETag".into(), Json::String(tag));
        }
        r.headers.insert(
            "Last-Modified".into(),
            Json::String(httpdate::fmt_http_date(
                std::time::UNIX_EPOCH
                    + std::time::Duration::from_millis(row.modified_ms.max(0) as u64),
            )),
        );
        Ok(r)
    })
}

/// Subrequest `httpHeaders` as a header map (Accept, Authorization and Content-Type are refused by
/// the caller).
pub fn header_map(h: Option<&Json>) -> Result<HeaderMap, ApiError> {
    let mut out = HeaderMap::new();
    let Some(Json::Object(m)) = h else {
        return Ok(out);
    };
    for (k, v) in m {
        let lower = k.to_ascii_lowercase();
        if matches!(lower.as_str(), "accept" | "authorization" | "content-type") {
            return Err(ApiError::BadRequest(format!(
                "The {k} header isn't allowed in a subrequest"
            )));
        }
        let Some(s) = v.as_str() else { continue };
        if let (Ok(name), Ok(val)) = (
            axum::http::HeaderName::from_bytes(lower.as_bytes()),
            axum::http::HeaderValue::from_str(s),
        ) {
            out.insert(name, val);
        }
    }
    Ok(out)
}
