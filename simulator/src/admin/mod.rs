//! The control API under `/__admin/`: health, reset, load and seed data, export org state, read the
//! journal, counters, users and sessions. Fault rules are installed here too (see [`crate::faults`]).
//!
//! Open on loopback; when an admin token is configured (always, when bound to another address), every
//! call needs `Authorization: Bearer <token>` or `X-Admin-Token: <token>`.

pub mod faults;

use crate::error::{ApiError, ApiResult};
use crate::org::store::Writer;
use crate::state::SimState;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value as JsonValue};
use std::collections::HashMap;

/// Routes under `/__admin`.
pub fn routes(state: SimState) -> Router<SimState> {
    Router::new()
        .route("/__admin/health", get(health))
        .route("/__admin/reset", post(reset))
        .route("/__admin/orgs", get(list_orgs).post(add_org))
        .route("/__admin/seed", post(seed))
        .route("/__admin/data/{object}", post(load))
        .route("/__admin/export/{object}", get(export))
        .route("/__admin/journal", get(journal))
        .route("/__admin/journal/flush", post(flush_journal))
        .route("/__admin/counters", get(counters))
        .route("/__admin/users", post(add_user))
        .route("/__admin/sessions/revoke", post(revoke_sessions))
        .route("/__admin/changes", get(changes))
        .merge(faults::routes())
        .route_layer(axum::middleware::from_fn_with_state(state, require_token))
}

async fn require_token(State(state): State<SimState>, req: Request, next: Next) -> Response {
    if let Some(expected) = &state.config.admin_token {
        let h = req.headers();
        let given = h
            .get("x-admin-token")
            .and_then(|v| v.to_str().ok())
            .or_else(|| crate::recording::bearer(h));
        if given != Some(expected.as_str()) {
            return (
                StatusCode::UNAUTHORIZED,
                Json(
                    json!([{"message": "admin token required", "errorCode": "INVALID_SESSION_ID"}]),
                ),
            )
                .into_response();
        }
    }
    next.run(req).await
}

#[derive(Deserialize, Default)]
struct OrgParam {
    org: Option<u16>,
}

fn org_of(state: &SimState, p: &OrgParam) -> ApiResult<std::sync::Arc<crate::org::Org>> {
    state
        .org(p.org.unwrap_or(1))
        .ok_or_else(|| ApiError::NotFoundMessage("no such org".into()))
}

fn admin_writer() -> Writer {
    Writer {
        user: 1,
        origin: "com.salesforce.core".into(),
        client: "admin".into(),
    }
}

async fn health(State(state): State<SimState>) -> Json<JsonValue> {
    Json(json!({"status": "ok", "elapsed_ms": state.clock.elapsed().as_millis() as u64}))
}

async fn reset(
    State(state): State<SimState>,
    Query(p): Query<OrgParam>,
) -> ApiResult<Json<JsonValue>> {
    let old = org_of(&state, &p)?;
    let config = old.config.clone();
    let schema = crate::org::standard::default_schema();
    let fresh = crate::org::Org::new(old.num, config, schema, state.clock.now_ms());
    for u in old.usernames() {
        if let Some(c) = old.user(&u) {
            fresh.add_user(
                &c.username,
                &c.password,
                "",
                &c.username,
                state.clock.now_ms(),
            );
        }
    }
    state.replace_org(old.num, fresh);
    Ok(Json(json!({"reset": true, "org": old.id})))
}

async fn list_orgs(State(state): State<SimState>) -> Json<JsonValue> {
    let orgs: Vec<JsonValue> = state
        .orgs()
        .iter()
        .map(|o| json!({"num": o.num, "id": o.id, "name": o.config.name, "users": o.usernames()}))
        .collect();
    Json(JsonValue::Array(orgs))
}

#[derive(Deserialize)]
struct NewOrg {
    name: String,
    admin_username: String,
    #[serde(default = "default_password")]
    admin_password: String,
    daily_api_requests: Option<u64>,
}

fn default_password() -> String {
    "sfchaos".into()
}

async fn add_org(
    State(state): State<SimState>,
    Json(n): Json<NewOrg>,
) -> ApiResult<Json<JsonValue>> {
    if state.find_user(&n.admin_username).is_some() {
        return Err(ApiError::DuplicateValue {
            message: format!(
                "duplicate value found: Username duplicates value {}",
                n.admin_username
            ),
            fields: vec!["Username".into()],
        });
    }
    let mut cfg = state.config.org.clone();
    cfg.name = n.name;
    cfg.admin_username = n.admin_username;
    cfg.admin_password = n.admin_password;
    if let Some(d) = n.daily_api_requests {
        cfg.daily_api_requests = d;
    }
    let org = state.add_org(cfg, crate::org::standard::default_schema());
    Ok(Json(json!({"num": org.num, "id": org.id})))
}

#[derive(Deserialize)]
struct SeedReq {
    object: String,
    count: u64,
    #[serde(default)]
    fields: serde_json::Map<String, JsonValue>,
    org: Option<u16>,
}

async fn seed(State(state): State<SimState>, Json(r): Json<SeedReq>) -> ApiResult<Json<JsonValue>> {
    let org = org_of(&state, &OrgParam { org: r.org })?;
    let now = state.clock.now_ms();
    let n = {
        let mut data = org.data.write();
        crate::org::seed::seed(
            &mut data,
            &r.object,
            r.count,
            &r.fields,
            state.config.seed,
            &admin_writer(),
            now,
        )?
    };
    Ok(Json(json!({"object": r.object, "inserted": n})))
}

/// Load records: a JSON array of field maps, or CSV with API-name headers.
async fn load(
    State(state): State<SimState>,
    Path(object): Path<String>,
    Query(p): Query<OrgParam>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<JsonValue>> {
    let org = org_of(&state, &p)?;
    let is_csv = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/csv"));
    let records: Vec<serde_json::Map<String, JsonValue>> = if is_csv {
        let mut rdr = csv::Reader::from_reader(body.as_ref());
        let hdr: Vec<String> = rdr
            .headers()
            .map_err(|e| ApiError::BadRequest(e.to_string()))?
            .iter()
            .map(str::to_string)
            .collect();
        let mut out = Vec::new();
        for rec in rdr.records() {
            let rec = rec.map_err(|e| ApiError::BadRequest(e.to_string()))?;
            out.push(
                hdr.iter()
                    .zip(rec.iter())
                    .filter(|(_, v)| !v.is_empty())
                    .map(|(h, v)| (h.clone(), JsonValue::String(v.to_string())))
                    .collect(),
            );
        }
        out
    } else {
        serde_json::from_slice(&body).map_err(|e| crate::rest::body::parse_error(&e, &body))?
    };
    let now = state.clock.now_ms();
    // Loads through the admin API are writes like any other: they produce CDC events and history
    // (unlike seed data, which exists before the run starts).
    let (ids, changes) = {
        let mut data = org.data.write();
        let obj = data
            .schema
            .object_index(&object)
            .ok_or(ApiError::NotFound)?;
        let kind = if is_csv {
            crate::org::write::InputKind::Csv
        } else {
            crate::org::write::InputKind::Json
        };
        let mut prepared = Vec::with_capacity(records.len());
        for (i, r) in records.iter().enumerate() {
            let f = crate::org::write::prepare_kind(
                &data,
                obj,
                r,
                crate::org::write::WriteOp::Create,
                None,
                kind,
            )
            .map_err(|e| {
                ApiError::BadRequest(format!("record {}: {}: {e}", i + 1, e.error_code()))
            })?;
            prepared.push(f);
        }
        let mut txn = data.txn();
        let ids: Vec<String> = prepared
            .into_iter()
            .map(|f| txn.insert(obj, f, &admin_writer(), now).to18())
            .collect();
        (ids, txn.commit())
    };
    org.publish(changes);
    Ok(Json(
        json!({"object": object, "inserted": ids.len(), "ids": ids.into_iter().take(1000).collect::<Vec<_>>()}),
    ))
}

/// Export all records of an object as NDJSON (every field; `?deleted=true` includes the recycle bin).
async fn export(
    State(state): State<SimState>,
    Path(object): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let org = org_of(
        &state,
        &OrgParam {
            org: q.get("org").and_then(|o| o.parse().ok()),
        },
    )?;
    let deleted = q.get("deleted").is_some_and(|v| v == "true");
    let data = org.data.read();
    let obj = data
        .schema
        .object_index(&object)
        .ok_or(ApiError::NotFound)?;
    let mut out = Vec::new();
    for row in data.tables[obj]
        .rows
        .values()
        .filter(|r| deleted || !r.deleted)
    {
        let rec = crate::rest::render::record(&data, obj, row, None, "/services/data/v62.0");
        let _ = serde_json::to_writer(&mut out, &rec);
        out.push(b'\n');
    }
    let mut r = (StatusCode::OK, out).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    Ok(r)
}

#[derive(Deserialize)]
struct JournalQuery {
    after: Option<u64>,
    limit: Option<usize>,
}

async fn journal(State(state): State<SimState>, Query(q): Query<JournalQuery>) -> Json<JsonValue> {
    let entries = state
        .journal
        .recent(q.after.unwrap_or(0), q.limit.unwrap_or(1000).min(100_000));
    Json(json!({
        "total": state.journal.len(),
        "path": state.journal.path().map(|p| p.display().to_string()),
        "entries": entries.iter().map(|e| serde_json::to_value(e).unwrap_or(JsonValue::Null)).collect::<Vec<_>>(),
    }))
}

async fn flush_journal(State(state): State<SimState>) -> ApiResult<Json<JsonValue>> {
    state
        .journal
        .flush()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Json(
        json!({"flushed": true, "entries": state.journal.len()}),
    ))
}

async fn changes(
    State(state): State<SimState>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<JsonValue>> {
    let org = org_of(
        &state,
        &OrgParam {
            org: q.get("org").and_then(|o| o.parse().ok()),
        },
    )?;
    let after = q.get("after").and_then(|v| v.parse().ok()).unwrap_or(0);
    let limit = q.get("limit").and_then(|v| v.parse().ok()).unwrap_or(1000);
    let list = org.changes.since(after, limit);
    Ok(Json(json!(list.iter().map(|c| &**c).collect::<Vec<_>>())))
}

async fn counters(State(state): State<SimState>) -> Json<JsonValue> {
    let recent = state.journal.recent(0, usize::MAX);
    let mut by_status: HashMap<String, u64> = HashMap::new();
    let mut by_api: HashMap<String, u64> = HashMap::new();
    for e in &recent {
        *by_status.entry(e.status.to_string()).or_default() += 1;
        *by_api.entry(e.api.name().to_string()).or_default() += 1;
    }
    let orgs: Vec<JsonValue> = state
        .orgs()
        .iter()
        .map(|o| {
            let data = o.data.read();
            let records: serde_json::Map<String, JsonValue> = data
                .schema
                .objects
                .iter()
                .enumerate()
                .map(|(i, ob)| (ob.name.clone(), json!(data.live_count(i))))
                .collect();
            let (used, max) = o.allocation.usage(state.clock.elapsed());
            json!({"id": o.id, "records": records, "api_usage": {"used": used, "max": max},
                   "locked_rows": o.locks.locked_count(), "changes": o.changes.last_seq(),
                   "open_cursors": o.cursors.lock().len()})
        })
        .collect();
    Json(json!({
        "requests": state.journal.len(),
        "recent_by_status": by_status,
        "recent_by_api": by_api,
        "sessions": state.sessions.count(),
        "orgs": orgs,
    }))
}

#[derive(Deserialize)]
struct NewUser {
    username: String,
    password: String,
    #[serde(default)]
    first_name: String,
    last_name: Option<String>,
    org: Option<u16>,
}

async fn add_user(
    State(state): State<SimState>,
    Json(u): Json<NewUser>,
) -> ApiResult<Json<JsonValue>> {
    let org = org_of(&state, &OrgParam { org: u.org })?;
    if let Some((other, _)) = state.find_user(&u.username) {
        if other.num != org.num {
            return Err(ApiError::DuplicateValue {
                message: format!(
                    "duplicate value found: Username duplicates value {}",
                    u.username
                ),
                fields: vec!["Username".into()],
            });
        }
    }
    let last = u.last_name.unwrap_or_else(|| u.username.clone());
    let num = org.add_user(
        &u.username,
        &u.password,
        &u.first_name,
        &last,
        state.clock.now_ms(),
    );
    let id = org.data.read().user_id(num);
    Ok(Json(json!({"id": id, "username": u.username})))
}

#[derive(Deserialize)]
struct RevokeReq {
    org: Option<u16>,
    username: Option<String>,
}

async fn revoke_sessions(
    State(state): State<SimState>,
    Json(r): Json<RevokeReq>,
) -> ApiResult<Json<JsonValue>> {
    let org = org_of(&state, &OrgParam { org: r.org })?;
    let n = state.sessions.revoke_all(org.num, r.username.as_deref());
    Ok(Json(json!({"revoked": n})))
}
