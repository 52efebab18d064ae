//! `/query`, `/queryAll` and locator paging.
//!
//! A query's matching rows are fixed when it runs; pages are rendered on demand from the cursor, so a
//! million-row `query_all` never materialises a million JSON records at once. Cursors follow Salesforce's
//! rules: batches of 2,000 by default (`Sforce-Query-Options: batchSize=N`, 200–2,000), at most 10 open
//! per user (the 11th evicts the oldest, whose locator then fails with INVALID_QUERY_LOCATOR), idle ones
//! expire after 15 minutes. `nextRecordsUrl` is server-relative (simple-salesforce prefixes the host).

use super::ctx::Ctx;
use super::sobjects::json_response;
use crate::error::{ApiError, ApiResult};
use crate::journal::JournalNote;
use crate::org::ids::RecordId;
use crate::org::soql::{self, ExecOptions, Plan, QueryOutput};
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Value as Json};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

const DEFAULT_BATCH: usize = 2_000;
const MAX_CURSORS_PER_USER: usize = 10;
const CURSOR_IDLE: Duration = Duration::from_secs(15 * 60);

struct Cursor {
    plan: Arc<Plan>,
    nums: Arc<Vec<u64>>,
    total_size: usize,
    include_deleted: bool,
    batch: usize,
    user: u64,
    last_used: Duration,
    fingerprint: String,
}

/// Open query cursors of one org.
#[derive(Default)]
pub struct Cursors {
    map: HashMap<String, Cursor>,
    by_user: HashMap<u64, VecDeque<String>>,
    next: u64,
}

impl std::fmt::Debug for Cursors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cursors")
            .field("open", &self.map.len())
            .finish()
    }
}

impl Cursors {
    fn open(&mut self, org: u16, c: Cursor) -> String {
        self.next += 1;
        let id = RecordId::new("01g", org, self.next).to18();
        let user = c.user;
        self.map.insert(id.clone(), c);
        let q = self.by_user.entry(user).or_default();
        q.push_back(id.clone());
        while q.len() > MAX_CURSORS_PER_USER {
            if let Some(old) = q.pop_front() {
                self.map.remove(&old);
            }
        }
        id
    }

    fn close(&mut self, id: &str) {
        if let Some(c) = self.map.remove(id) {
            if let Some(q) = self.by_user.get_mut(&c.user) {
                q.retain(|x| x != id);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

fn batch_size(headers: &HeaderMap) -> usize {
    headers
        .get("sforce-query-options")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(',').find_map(|p| {
                let (k, val) = p.trim().split_once('=')?;
                k.trim()
                    .eq_ignore_ascii_case("batchSize")
                    .then(|| val.trim().parse::<usize>().ok())
                    .flatten()
            })
        })
        .map(|n| n.clamp(200, DEFAULT_BATCH))
        .unwrap_or(DEFAULT_BATCH)
}

fn result_hash(records: &[Json]) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for r in records {
        h.update(r.to_string().as_bytes());
    }
    hex::encode(&h.finalize()[..8])
}

fn page_note(
    object: &str,
    fingerprint: &str,
    records: &[Json],
    route: &'static str,
) -> JournalNote {
    JournalNote {
        route,
        object: Some(object.to_string()),
        query: Some(fingerprint.to_string()),
        result_hash: Some(result_hash(records)),
        rows: Some(records.len() as u64),
        ids: records
            .iter()
            .filter_map(|r| r.get("Id").and_then(Json::as_str).map(str::to_string))
            .take(20)
            .collect(),
        ..Default::default()
    }
}

/// Run a SOQL query and answer its first page (shared with composite subrequests).
pub fn run_query(
    ctx: &Ctx,
    q: &str,
    include_deleted: bool,
    batch: usize,
) -> ApiResult<(Json, JournalNote)> {
    if q.trim().is_empty() {
        return Err(ApiError::MalformedQuery(
            "A query string has to be specified".into(),
        ));
    }
    let fingerprint = soql::fingerprint(q);
    let data = ctx.org.data.read();
    let plan = soql::compile(&data, q)?;
    let opts = ExecOptions {
        now_ms: ctx.now_ms(),
        include_deleted,
        data_path: ctx.data_path(),
    };
    let route = if include_deleted { "queryAll" } else { "query" };
    match soql::execute(&data, &plan, &opts)? {
        QueryOutput::Count { total_size } => {
            let body = json!({"totalSize": total_size, "done": true, "records": []});
            let mut n = page_note(plan.object_name(), &fingerprint, &[], route);
            n.result_hash = Some(format!("count:{total_size}"));
            Ok((body, n))
        }
        QueryOutput::Aggregate { records } => {
            let n = page_note(plan.object_name(), &fingerprint, &records, route);
            Ok((
                json!({"totalSize": records.len(), "done": true, "records": records}),
                n,
            ))
        }
        QueryOutput::Rows { nums, total_size } => {
            let first: Vec<Json> =
                soql::render(&data, &plan, &nums[..nums.len().min(batch)], &opts);
            let n = page_note(plan.object_name(), &fingerprint, &first, route);
            if nums.len() <= batch {
                return Ok((
                    json!({"totalSize": total_size, "done": true, "records": first}),
                    n,
                ));
            }
            drop(data);
            let now = ctx.state.clock.elapsed();
            let id = ctx.org.cursors.lock().open(
                ctx.org.num,
                Cursor {
                    plan: plan.clone(),
                    nums: Arc::new(nums),
                    total_size,
                    include_deleted,
                    batch,
                    user: ctx.session.user,
                    last_used: now,
                    fingerprint,
                },
            );
            let next = format!("{}/{route}/{id}-{batch}", ctx.data_path());
            Ok((
                json!({"totalSize": total_size, "done": false, "nextRecordsUrl": next, "records": first}),
                n,
            ))
        }
    }
}

/// `GET /query?q=` and `GET /queryAll?q=`.
pub async fn query(
    ctx: Ctx,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    include_deleted: bool,
) -> ApiResult<Response> {
    if params.contains_key("explain") {
        return Err(ApiError::BadRequest(
            "The query explain option is not supported by this org".into(),
        ));
    }
    let q = params.get("q").map(String::as_str).unwrap_or("");
    let (body, note) = run_query(&ctx, q, include_deleted, batch_size(&headers))?;
    Ok(json_response(StatusCode::OK, &body, note))
}

/// `GET /query/{locator}` (also under `/queryAll/`).
pub async fn more(ctx: Ctx, Path((_, locator)): Path<(String, String)>) -> ApiResult<Response> {
    let invalid = || ApiError::InvalidQueryLocator("invalid query locator".into());
    let (id, offset) = locator.rsplit_once('-').ok_or_else(invalid)?;
    let offset: usize = offset.parse().map_err(|_| invalid())?;
    let now = ctx.state.clock.elapsed();
    let (plan, nums, total_size, include_deleted, batch, fingerprint) = {
        let mut cursors = ctx.org.cursors.lock();
        let expired = cursors
            .map
            .get(id)
            .is_none_or(|c| now.saturating_sub(c.last_used) > CURSOR_IDLE);
        if expired {
            cursors.close(id);
            return Err(invalid());
        }
        let c = cursors.map.get_mut(id).ok_or_else(invalid)?;
        c.last_used = now;
        (
            c.plan.clone(),
            c.nums.clone(),
            c.total_size,
            c.include_deleted,
            c.batch,
            c.fingerprint.clone(),
        )
    };
    if offset > nums.len() {
        return Err(invalid());
    }
    let end = (offset + batch).min(nums.len());
    let opts = ExecOptions {
        now_ms: ctx.now_ms(),
        include_deleted,
        data_path: ctx.data_path(),
    };
    let records = {
        let data = ctx.org.data.read();
        soql::render(&data, &plan, &nums[offset..end], &opts)
    };
    let route = if include_deleted { "queryAll" } else { "query" };
    let note = page_note(plan.object_name(), &fingerprint, &records, "query.more");
    let body = if end >= nums.len() {
        ctx.org.cursors.lock().close(id);
        json!({"totalSize": total_size, "done": true, "records": records})
    } else {
        json!({"totalSize": total_size, "done": false,
               "nextRecordsUrl": format!("{}/{route}/{id}-{end}", ctx.data_path()), "records": records})
    };
    Ok(json_response(StatusCode::OK, &body, note))
}
