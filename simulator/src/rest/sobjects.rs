//! `/sobjects/{T}…`: create, read, update, delete, upsert and read by external id, change feeds.
//!
//! A segment after `/sobjects/{T}/` that is ID-shaped (15 or 18 alphanumerics) is a record id; anything
//! else is an external-id field name (salesforce-api.md §2.3).

use super::body::SfJson;
use super::ctx::Ctx;
use super::dml::{self, match_external, DmlResult, Preconditions, UpsertTarget};
use super::render;
use crate::error::{ApiError, ApiResult, JSON_CONTENT_TYPE};
use crate::journal::JournalNote;
use crate::org::ids::{looks_like_id, RecordId};
use crate::org::store::OrgData;
use crate::org::Org;
use crate::state::SimState;
use axum::body::HttpBody;
use axum::extract::{FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{json, Value as Json};
use std::collections::HashMap;
use std::ops::Range;

/// Resolve an object name from the URL (case-insensitive); unknown → 404.
pub fn object(data: &OrgData, name: &str) -> ApiResult<usize> {
    data.schema.object_index(name).ok_or(ApiError::NotFound)
}

/// Parse a record id for object `obj`: malformed or of another object → MALFORMED_ID.
pub fn record_num(data: &OrgData, obj: usize, id: &str) -> ApiResult<u64> {
    let o = &data.schema.objects[obj];
    let malformed = || ApiError::MalformedId {
        message: format!("{} ID: id value of incorrect type: {id}", o.label),
        fields: vec!["Id".into()],
    };
    let rid = RecordId::parse(id).ok_or_else(malformed)?;
    if rid.prefix() != o.key_prefix {
        return Err(malformed());
    }
    Ok(rid.num)
}

/// A JSON response with Salesforce's content type and a journal note.
pub fn json_response(status: StatusCode, body: &Json, note: JournalNote) -> Response {
    bytes_response(status, serde_json::to_vec(body).unwrap_or_default(), note)
}

/// A response from already-serialized JSON.
pub fn bytes_response(status: StatusCode, bytes: Vec<u8>, note: JournalNote) -> Response {
    let mut r = Response::new(axum::body::Body::from(bytes));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(JSON_CONTENT_TYPE),
    );
    r.extensions_mut().insert(note);
    r
}

pub fn empty_response(status: StatusCode, note: JournalNote) -> Response {
    let mut r = status.into_response();
    r.extensions_mut().insert(note);
    r
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

fn object_name(ctx: &Ctx, obj: usize) -> String {
    ctx.org.data.read().schema.objects[obj].name.clone()
}

/// `POST /sobjects/{T}`
pub async fn create(
    ctx: Ctx,
    Path((_, t)): Path<(String, String)>,
    body: SfJson,
) -> ApiResult<Response> {
    let (obj, is_event, createable) = {
        let data = ctx.org.data.read();
        let obj = object(&data, &t)?;
        let o = &data.schema.objects[obj];
        (obj, o.is_platform_event(), o.createable)
    };
    let body = body.object()?;
    let name = object_name(&ctx, obj);
    if !createable {
        return Err(ApiError::EntityNotSupported(format!(
            "entity type {name} does not support create"
        )));
    }
    let writer = ctx.writer("rest");
    if is_event {
        let r = dml::publish_event(&ctx, obj, &body, &writer)?;
        let id = r["id"].as_str().unwrap_or_default().to_string();
        let fields = body.keys().cloned().collect();
        return Ok(json_response(
            StatusCode::CREATED,
            &r,
            note("sobjects.publish", &name, vec![id], fields),
        ));
    }
    let r = dml::create(&ctx, obj, &body, &writer).await?;
    created_response(&ctx, &name, &r, false, "sobjects.create")
}

fn created_response(
    ctx: &Ctx,
    name: &str,
    r: &DmlResult,
    with_created: bool,
    route: &'static str,
) -> ApiResult<Response> {
    let mut resp = json_response(
        StatusCode::CREATED,
        &r.save_result(with_created),
        note(route, name, vec![r.id.clone()], r.fields.clone()),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("{}/sobjects/{name}/{}", ctx.data_path(), r.id)) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

#[derive(Deserialize, Default)]
pub struct FieldsParam {
    fields: Option<String>,
}

/// Resolve `?fields=A,B` to field indexes.
fn field_list(data: &OrgData, obj: usize, fields: Option<&str>) -> ApiResult<Option<Vec<usize>>> {
    let Some(list) = fields.filter(|s| !s.trim().is_empty()) else {
        return Ok(None);
    };
    let o = &data.schema.objects[obj];
    let mut out = Vec::new();
    for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let fi = o.field_index(name).ok_or_else(|| ApiError::InvalidField {
            message: format!(
                "No such column '{name}' on entity '{}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.",
                o.name
            ),
            fields: vec![],
        })?;
        out.push(fi);
    }
    Ok(Some(out))
}

/// The headers of a conditional GET (taken alone: extracting the `HeaderMap` clones all of it).
pub struct ConditionalGet {
    if_none_match: Option<HeaderValue>,
    if_modified_since: Option<HeaderValue>,
}

impl<S: Send + Sync> FromRequestParts<S> for ConditionalGet {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ConditionalGet::of(&parts.headers))
    }
}

impl ConditionalGet {
    fn of(headers: &HeaderMap) -> ConditionalGet {
        ConditionalGet {
            if_none_match: headers.get(header::IF_NONE_MATCH).cloned(),
            if_modified_since: headers.get(header::IF_MODIFIED_SINCE).cloned(),
        }
    }
}

/// `GET /sobjects/{T}/{id}` — or, for a non-ID segment, the "no such external id field" 404.
pub async fn get_record(
    ctx: Ctx,
    Path((_, t, seg)): Path<(String, String, String)>,
    Query(q): Query<FieldsParam>,
    headers: ConditionalGet,
) -> ApiResult<Response> {
    read_record(
        &ctx.org,
        &ctx.data_path(),
        &t,
        &seg,
        q.fields.as_deref(),
        &headers,
    )
}

fn read_record(
    org: &Org,
    data_path: &str,
    t: &str,
    seg: &str,
    fields: Option<&str>,
    headers: &ConditionalGet,
) -> ApiResult<Response> {
    let data = org.data.read();
    let obj = object(&data, t)?;
    if !looks_like_id(seg) {
        return Err(ApiError::NotFoundMessage(format!(
            "Provided external ID field does not exist or is not accessible: {seg}"
        )));
    }
    let num = record_num(&data, obj, seg)?;
    dml::live_row(&data, obj, num)?;
    let fields = field_list(&data, obj, fields)?;
    render_row(
        data_path,
        &data,
        obj,
        num,
        fields.as_deref(),
        headers,
        "sobjects.get",
    )
}

/// Where the object and the id are in the path of a plain record read:
/// `GET /services/data/{version}/sobjects/{object}/{id}` with an ID-shaped id, no query string and
/// nothing percent-encoded. Such a request is exactly what the router would hand to [`get_record`]
/// (no other route has that shape), so [`direct_get`] can serve it without routing. `None` for
/// anything else.
pub fn plain_record_get(req: &Request) -> Option<(Range<usize>, Range<usize>)> {
    if req.method() != Method::GET || req.uri().query().is_some() {
        return None;
    }
    let path = req.uri().path();
    const PREFIX: &str = "/services/data/";
    let rest = path.strip_prefix(PREFIX)?;
    if rest.contains('%') {
        return None;
    }
    let mut segs = rest.split('/');
    let (version, sobjects, object, id) = (segs.next()?, segs.next()?, segs.next()?, segs.next()?);
    if segs.next().is_some()
        || version.is_empty()
        || sobjects != "sobjects"
        || object.is_empty()
        || !looks_like_id(id)
    {
        return None;
    }
    let object_start = PREFIX.len() + version.len() + 1 + sobjects.len() + 1;
    let id_start = object_start + object.len() + 1;
    Some((
        object_start..object_start + object.len(),
        id_start..id_start + id.len(),
    ))
}

/// Serve a request [`plain_record_get`] recognised as the route would: the REST context layer's
/// checks and `Sforce-Limit-Info` around [`get_record`]'s work, then the `Content-Length` the router's
/// outermost route future adds. The session and org are borrowed from the request's metadata: no
/// [`Ctx`] is built.
pub async fn direct_get(
    state: &SimState,
    req: Request,
    object: Range<usize>,
    id: Range<usize>,
) -> Response {
    let mut resp = match super::ctx::admit(state, &req) {
        Ok(a) => {
            let path = req.uri().path();
            // `/services/data/v62.0`: the path's own prefix when it spells the version the usual
            // way (not `v062.0` or `v+62.0`).
            let seg = path["/services/data/".len()..]
                .split('/')
                .next()
                .unwrap_or("");
            let digits = &seg[1..seg.len() - 2];
            let data_path: std::borrow::Cow<str> =
                if !digits.starts_with('0') && digits.bytes().all(|b| b.is_ascii_digit()) {
                    path[.."/services/data/".len() + seg.len()].into()
                } else {
                    format!("/services/data/v{}.0", a.major).into()
                };
            let headers = ConditionalGet::of(req.headers());
            let mut resp = read_record(a.org, &data_path, &path[object], &path[id], None, &headers)
                .into_response();
            // A record read charges the call and nothing more.
            super::ctx::finish_admitted(&a, &mut resp);
            resp
        }
        Err(resp) => resp,
    };
    if !resp.headers().contains_key(header::CONTENT_LENGTH) {
        if let Some(size) = resp.body().size_hint().exact() {
            resp.headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(size));
        }
    }
    resp
}

fn render_row(
    data_path: &str,
    data: &OrgData,
    obj: usize,
    num: u64,
    fields: Option<&[usize]>,
    headers: &ConditionalGet,
    route: &'static str,
) -> ApiResult<Response> {
    let Some(row) = data.row(obj, num) else {
        return Err(ApiError::NotFound);
    };
    let o = &data.schema.objects[obj];
    let id = data.id_of(obj, num).to18();
    let etag = o.etags.then(|| data.etag(obj, row));
    let last_modified = httpdate::fmt_http_date(
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(row.modified_ms.max(0) as u64),
    );
    let n = note(route, &o.name, vec![id], vec![]);
    // Conditional GET.
    if let (Some(tag), Some(inm)) = (&etag, &headers.if_none_match) {
        if inm
            .to_str()
            .unwrap_or("")
            .split(',')
            .any(|t| t.trim() == tag || t.trim() == "*")
        {
            return Ok(empty_response(StatusCode::NOT_MODIFIED, n));
        }
    }
    if let Some(ims) = headers
        .if_modified_since
        .as_ref()
        .and_then(|v| v.to_str().ok())
    {
        let t = httpdate::parse_http_date(ims).map_err(|_| {
            ApiError::BadRequest(format!("Invalid If-Modified-Since header: {ims}"))
        })?;
        let since = t
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        if row.modified_ms / 1000 <= since / 1000 {
            return Ok(empty_response(StatusCode::NOT_MODIFIED, n));
        }
    }
    let body = render::record_bytes(data, obj, row, fields, data_path);
    let mut resp = bytes_response(StatusCode::OK, body, n);
    // Both are printable ASCII (quoted base64, an HTTP date): the strings become the header values
    // without a copy.
    if let Some(tag) = etag.and_then(|t| HeaderValue::from_maybe_shared(Bytes::from(t)).ok()) {
        resp.headers_mut().insert(header::ETAG, tag);
    }
    if let Ok(v) = HeaderValue::from_maybe_shared(Bytes::from(last_modified)) {
        resp.headers_mut().insert(header::LAST_MODIFIED, v);
    }
    Ok(resp)
}

/// `PATCH /sobjects/{T}/{id}` → 204
pub async fn update_record(
    ctx: Ctx,
    Path((_, t, seg)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: SfJson,
) -> ApiResult<Response> {
    let (obj, num) = {
        let data = ctx.org.data.read();
        let obj = object(&data, &t)?;
        if !looks_like_id(&seg) {
            return Err(ApiError::NotFoundMessage(format!(
                "Provided external ID field does not exist or is not accessible: {seg}"
            )));
        }
        (obj, record_num(&data, obj, &seg)?)
    };
    let pre = Preconditions::from_headers(&headers)?;
    let body = body.object()?;
    let writer = ctx.writer("rest");
    let r = dml::update(&ctx, obj, num, &body, &pre, &writer).await?;
    Ok(empty_response(
        StatusCode::NO_CONTENT,
        note(
            "sobjects.update",
            &object_name(&ctx, obj),
            vec![r.id],
            r.fields,
        ),
    ))
}

/// `DELETE /sobjects/{T}/{id}` → 204
pub async fn delete_record(
    ctx: Ctx,
    Path((_, t, seg)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    let (obj, num) = {
        let data = ctx.org.data.read();
        let obj = object(&data, &t)?;
        if !looks_like_id(&seg) {
            return Err(ApiError::NotFoundMessage(format!(
                "Provided external ID field does not exist or is not accessible: {seg}"
            )));
        }
        (obj, record_num(&data, obj, &seg)?)
    };
    let writer = ctx.writer("rest");
    let r = dml::delete(&ctx, obj, num, &writer).await?;
    Ok(empty_response(
        StatusCode::NO_CONTENT,
        note(
            "sobjects.delete",
            &object_name(&ctx, obj),
            vec![r.id],
            vec![],
        ),
    ))
}

/// `POST /sobjects/{T}/Id` — insert through the upsert route (201 with `created`).
pub async fn post_segment(
    ctx: Ctx,
    Path((_, t, seg)): Path<(String, String, String)>,
    body: SfJson,
) -> ApiResult<Response> {
    if !seg.eq_ignore_ascii_case("Id") {
        return Err(ApiError::MethodNotAllowed {
            method: "POST".into(),
            allowed: "GET,HEAD,PATCH,DELETE".into(),
        });
    }
    let obj = object(&ctx.org.data.read(), &t)?;
    let body = body.object()?;
    let writer = ctx.writer("rest");
    let r = dml::create(&ctx, obj, &body, &writer).await?;
    created_response(&ctx, &object_name(&ctx, obj), &r, true, "sobjects.create")
}

/// Resolve `{Ext}` of `/sobjects/{T}/{Ext}/{value}`: must be an id-lookup field (external id, or Id).
fn ext_field(data: &OrgData, obj: usize, name: &str) -> ApiResult<usize> {
    let o = &data.schema.objects[obj];
    o.field_index(name)
        .filter(|i| o.fields[*i].external_id || o.fields[*i].name == "Id")
        .ok_or_else(|| {
            ApiError::NotFoundMessage(format!(
                "Provided external ID field does not exist or is not accessible: {name}"
            ))
        })
}

/// 300 Multiple Choices: the matching records' URLs.
fn multiple(ctx: &Ctx, obj: usize, nums: &[u64]) -> Response {
    let data = ctx.org.data.read();
    let name = data.schema.objects[obj].name.clone();
    let urls: Vec<Json> = nums
        .iter()
        .map(|n| {
            Json::String(format!(
                "{}/sobjects/{name}/{}",
                ctx.data_path(),
                data.id_of(obj, *n).to18()
            ))
        })
        .collect();
    let ids = nums.iter().map(|n| data.id_of(obj, *n).to18()).collect();
    let mut r = json_response(
        StatusCode::MULTIPLE_CHOICES,
        &Json::Array(urls),
        note("sobjects.ext", &name, ids, vec![]),
    );
    r.extensions_mut()
        .insert(crate::error::ErrorCodeTag("MULTIPLE_CHOICES".into()));
    r
}

/// `GET /sobjects/{T}/{Ext}/{value}`
pub async fn get_by_ext(
    ctx: Ctx,
    Path((_, t, field, value)): Path<(String, String, String, String)>,
    Query(q): Query<FieldsParam>,
    headers: ConditionalGet,
) -> ApiResult<Response> {
    let data = ctx.org.data.read();
    let obj = object(&data, &t)?;
    let fi = ext_field(&data, obj, &field)?;
    let fields = field_list(&data, obj, q.fields.as_deref())?;
    match match_external(&data, obj, fi, &value) {
        UpsertTarget::Insert => Err(ApiError::NotFound),
        UpsertTarget::Update(num) => render_row(
            &ctx.data_path(),
            &data,
            obj,
            num,
            fields.as_deref(),
            &headers,
            "sobjects.get_ext",
        ),
        UpsertTarget::Multiple(nums) => {
            drop(data);
            Ok(multiple(&ctx, obj, &nums))
        }
    }
}

#[derive(Deserialize, Default)]
pub struct UpsertParams {
    #[serde(rename = "updateOnly")]
    update_only: Option<bool>,
}

/// `PATCH /sobjects/{T}/{Ext}/{value}` — upsert: 201 created / 200 updated (204 before API 46.0) / 300.
pub async fn upsert(
    ctx: Ctx,
    Path((_, t, field, value)): Path<(String, String, String, String)>,
    Query(p): Query<UpsertParams>,
    headers: HeaderMap,
    body: SfJson,
) -> ApiResult<Response> {
    let (obj, fi, name) = {
        let data = ctx.org.data.read();
        let obj = object(&data, &t)?;
        let fi = ext_field(&data, obj, &field)?;
        (obj, fi, data.schema.objects[obj].name.clone())
    };
    let body = body.object()?;
    let writer = ctx.writer("rest");
    if data_field_is_id(&ctx, obj, fi) {
        // PATCH /sobjects/T/Id/{id}: an update by id.
        let num = record_num(&ctx.org.data.read(), obj, &value)?;
        let pre = Preconditions::from_headers(&headers)?;
        let r = dml::update(&ctx, obj, num, &body, &pre, &writer).await?;
        return Ok(upsert_updated(&ctx, &name, &r));
    }
    match dml::upsert(
        &ctx,
        obj,
        fi,
        &value,
        &body,
        p.update_only.unwrap_or(false),
        &writer,
    )
    .await?
    {
        Err(nums) => Ok(multiple(&ctx, obj, &nums)),
        Ok(r) if r.created => created_response(&ctx, &name, &r, true, "sobjects.upsert"),
        Ok(r) => Ok(upsert_updated(&ctx, &name, &r)),
    }
}

fn data_field_is_id(ctx: &Ctx, obj: usize, fi: usize) -> bool {
    ctx.org.data.read().schema.objects[obj].fields[fi].name == "Id"
}

fn upsert_updated(ctx: &Ctx, name: &str, r: &DmlResult) -> Response {
    let n = note(
        "sobjects.upsert",
        name,
        vec![r.id.clone()],
        r.fields.clone(),
    );
    if ctx.version_major() <= 45 {
        empty_response(StatusCode::NO_CONTENT, n)
    } else {
        json_response(StatusCode::OK, &r.save_result(true), n)
    }
}

/// `DELETE /sobjects/{T}/{Ext}/{value}` → 204
pub async fn delete_by_ext(
    ctx: Ctx,
    Path((_, t, field, value)): Path<(String, String, String, String)>,
) -> ApiResult<Response> {
    let (obj, target) = {
        let data = ctx.org.data.read();
        let obj = object(&data, &t)?;
        let fi = ext_field(&data, obj, &field)?;
        (obj, match_external(&data, obj, fi, &value))
    };
    match target {
        UpsertTarget::Insert => Err(ApiError::NotFound),
        UpsertTarget::Multiple(nums) => Ok(multiple(&ctx, obj, &nums)),
        UpsertTarget::Update(num) => {
            let writer = ctx.writer("rest");
            let r = dml::delete(&ctx, obj, num, &writer).await?;
            Ok(empty_response(
                StatusCode::NO_CONTENT,
                note(
                    "sobjects.delete",
                    &object_name(&ctx, obj),
                    vec![r.id],
                    vec![],
                ),
            ))
        }
    }
}

/// `GET /sobjects/{T}/updated?start=&end=` and `/deleted`.
pub async fn changes_feed(
    ctx: Ctx,
    Path((_, t, kind)): Path<(String, String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let parse = |k: &str| -> ApiResult<i64> {
        let s = q
            .get(k)
            .ok_or_else(|| ApiError::BadRequest(format!("Missing required parameter: {k}")))?;
        crate::org::value::parse_datetime(s)
            .ok_or_else(|| ApiError::BadRequest(format!("Invalid {k} date/time: {s}")))
    };
    let (start, end) = (parse("start")?, parse("end")?);
    if end < start {
        return Err(ApiError::BadRequest(
            "end date cannot be before start date".into(),
        ));
    }
    let data = ctx.org.data.read();
    let obj = object(&data, &t)?;
    let name = data.schema.objects[obj].name.clone();
    let deleted = kind.eq_ignore_ascii_case("deleted");
    let rows = data.tables[obj]
        .rows
        .values()
        .filter(|r| r.deleted == deleted && r.modified_ms >= start && r.modified_ms <= end);
    let fmt = crate::org::value::format_datetime;
    let body = if deleted {
        let recs: Vec<Json> = rows
            .map(
                |r| json!({"id": data.id_of(obj, r.num).to18(), "deletedDate": fmt(r.modified_ms)}),
            )
            .collect();
        json!({"deletedRecords": recs, "earliestDateAvailable": fmt(start), "latestDateCovered": fmt(end)})
    } else {
        let ids: Vec<String> = rows.map(|r| data.id_of(obj, r.num).to18()).collect();
        json!({"ids": ids, "latestDateCovered": fmt(end)})
    };
    Ok(json_response(
        StatusCode::OK,
        &body,
        note("sobjects.changes", &name, vec![], vec![]),
    ))
}
