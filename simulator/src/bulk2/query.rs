//! Query jobs (salesforce-api.md §6.2): `POST /jobs/query` (created `UploadComplete`, processed in the
//! background), job info, `GET …/results?locator=&maxRecords=` paging with `Sforce-NumberOfRecords`
//! and `Sforce-Locator` (the literal `null` on the last page), abort, delete.
//!
//! The matching rows are fixed when the job runs; each page is rendered on demand as CSV (quoted
//! header and values, SELECT order, `Account.Name` columns) in the job's dialect.

use super::job::{invalid_job, invalid_state, Dialect, Header, JobState, Owner, Snapshot};
use super::note;
use super::store::Job;
use crate::error::{ApiError, ApiResult};
use crate::faults::hooks::Probe;
use crate::faults::plan::BulkSlowdownFault;
use crate::journal::Api;
use crate::org::soql::{self, ExecOptions, Plan, QueryOutput};
use crate::org::Org;
use crate::rest::body::SfJson;
use crate::rest::ctx::Ctx;
use crate::rest::sobjects::{empty_response, json_response};
use crate::state::SimState;
use axum::extract::{Path, Query};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use parking_lot::Mutex;
use serde_json::Value as Json;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Rows per results page when the client gives no `maxRecords`.
pub const DEFAULT_PAGE: usize = 100_000;
/// Rows rendered per hold of the org's read lock.
const RENDER_BLOCK: usize = 2_000;

/// The mutable part of a query job.
pub struct Progress {
    pub state: JobState,
    pub modified_ms: i64,
    pub error_message: Option<String>,
    pub nums: Arc<Vec<u64>>,
    pub processing: Duration,
    pub started: Option<tokio::time::Instant>,
}

/// One query job.
pub struct QueryJob {
    pub header: Header,
    pub org: Arc<Org>,
    pub soql: String,
    pub plan: Arc<Plan>,
    pub include_deleted: bool,
    pub owner: Owner,
    pub cancel: CancellationToken,
    pub progress: Mutex<Progress>,
}

impl QueryJob {
    pub fn snapshot(&self) -> Snapshot {
        let p = self.progress.lock();
        Snapshot {
            state: p.state,
            modified_ms: p.modified_ms,
            processed: if p.state == JobState::JobComplete {
                p.nums.len() as u64
            } else {
                0
            },
            failed: 0,
            retries: 0,
            processing: match (p.state, p.started) {
                (JobState::InProgress, Some(t)) => t.elapsed(),
                _ => p.processing,
            },
            error_message: p.error_message.clone(),
        }
    }

    fn set_state(&self, state: JobState, now_ms: i64) {
        let mut p = self.progress.lock();
        p.state = state;
        p.modified_ms = now_ms;
        if state.is_terminal() {
            if let Some(t) = p.started.take() {
                p.processing = t.elapsed();
            }
        }
    }
}

fn find(ctx: &Ctx, id: &str) -> ApiResult<Arc<QueryJob>> {
    ctx.state
        .bulk
        .query(ctx.org.num, id)
        .ok_or(ApiError::NotFound)
}

/// `POST /jobs/query`
pub async fn create(ctx: Ctx, body: SfJson) -> ApiResult<Response> {
    let body = body.object()?;
    let op = body
        .get("operation")
        .and_then(Json::as_str)
        .unwrap_or_default();
    let include_deleted = match op {
        "query" => false,
        "queryAll" => true,
        other => {
            return Err(invalid_job(format!(
                "InvalidJob : Invalid value for operation: '{other}'. Use query or queryAll"
            )))
        }
    };
    let soql_text = body
        .get("query")
        .and_then(Json::as_str)
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| invalid_job("InvalidJob : query is required"))?
        .to_string();
    let dialect = Dialect::from_body(&body)?;
    let plan = soql::compile(&ctx.org.data.read(), &soql_text)?;
    if plan.is_count() {
        return Err(invalid_job(
            "InvalidJob : COUNT() and aggregate queries are not supported by Bulk API 2.0 query jobs",
        ));
    }
    let (seq, id) = ctx.state.bulk.new_id(ctx.org.num);
    let now = ctx.now_ms();
    let owner = Owner::of(&ctx);
    let job = Arc::new(QueryJob {
        header: Header {
            id: id.clone(),
            operation: if include_deleted { "queryAll" } else { "query" },
            object: plan.object_name().to_string(),
            created_by: owner.user_id.clone(),
            created_ms: now,
            api_version: ctx.version.clone(),
            dialect,
            job_type: "V2Query",
            content_url: None,
            external_id_field: None,
        },
        org: ctx.org.clone(),
        soql: soql_text.clone(),
        plan,
        include_deleted,
        owner,
        cancel: ctx.state.shutdown.child_token(),
        progress: Mutex::new(Progress {
            state: JobState::UploadComplete,
            modified_ms: now,
            error_message: None,
            nums: Arc::new(Vec::new()),
            processing: Duration::ZERO,
            started: None,
        }),
    });
    ctx.state
        .bulk
        .insert(seq, id.clone(), Job::Query(job.clone()));
    let (st, j) = (ctx.state.clone(), job.clone());
    ctx.state.bulk.spawn(async move {
        let cancel = j.cancel.clone();
        tokio::select! {
            _ = cancel.cancelled() => {}
            _ = process(&st, &j) => {}
        }
    });
    let mut n = note("bulk2.query.create", &job.header.object, &id);
    n.query = Some(soql::fingerprint(&soql_text));
    Ok(json_response(
        StatusCode::OK,
        &job.header.info(&job.snapshot()),
        n,
    ))
}

async fn process(state: &SimState, job: &QueryJob) {
    {
        let mut p = job.progress.lock();
        p.state = JobState::InProgress;
        p.modified_ms = state.clock.now_ms();
        p.started = Some(tokio::time::Instant::now());
    }
    let path = format!("/services/data/v{}/jobs/query", job.header.api_version);
    let probe = Probe {
        api: Api::Bulk,
        object: Some(&job.header.object),
        client: Some(&job.owner.identity),
        method: "POST",
        path: &path,
        now: state.clock.elapsed(),
    };
    match state.faults.bulk_slowdown(&probe) {
        Some(BulkSlowdownFault::Fail { error_message }) => {
            job.progress.lock().error_message = Some(error_message);
            job.set_state(JobState::Failed, state.clock.now_ms());
            return;
        }
        Some(BulkSlowdownFault::Extra(d)) => tokio::time::sleep(d).await,
        None => {}
    }
    let opts = ExecOptions {
        now_ms: state.clock.now_ms(),
        include_deleted: job.include_deleted,
        data_path: format!("/services/data/v{}", job.header.api_version),
    };
    let out = soql::execute(&job.org.data.read(), &job.plan, &opts);
    match out {
        Ok(QueryOutput::Rows { nums, .. }) => {
            job.progress.lock().nums = Arc::new(nums);
            job.set_state(JobState::JobComplete, state.clock.now_ms());
        }
        Ok(_) => {
            job.progress.lock().error_message = Some(
                "InvalidJob : Aggregate queries are not supported by Bulk API 2.0 query jobs"
                    .into(),
            );
            job.set_state(JobState::Failed, state.clock.now_ms());
        }
        Err(e) => {
            job.progress.lock().error_message = Some(format!("{}: {e}", e.error_code()));
            job.set_state(JobState::Failed, state.clock.now_ms());
        }
    }
}

/// `GET /jobs/query/{id}`
pub async fn get(ctx: Ctx, Path((_, id)): Path<(String, String)>) -> ApiResult<Response> {
    let job = find(&ctx, &id)?;
    let snap = job.snapshot();
    let mut n = note("bulk2.query.info", &job.header.object, &id);
    n.query = Some(soql::fingerprint(&job.soql));
    Ok(json_response(
        StatusCode::OK,
        &job.header.full_info(&snap),
        n,
    ))
}

/// `PATCH /jobs/query/{id}` `{"state":"Aborted"}`
pub async fn patch(
    ctx: Ctx,
    Path((_, id)): Path<(String, String)>,
    body: SfJson,
) -> ApiResult<Response> {
    let job = find(&ctx, &id)?;
    let body = body.object()?;
    let wanted = body.get("state").and_then(Json::as_str).unwrap_or_default();
    if wanted != "Aborted" {
        return Err(invalid_state(format!(
            "InvalidJobState : Unable to change the state of query job {id} to '{wanted}': only Aborted is allowed"
        )));
    }
    let current = job.progress.lock().state;
    if current.is_terminal() {
        return Err(invalid_state(format!(
            "InvalidJobState : Job {id} is already {}; it cannot be aborted",
            current.name()
        )));
    }
    job.cancel.cancel();
    job.set_state(JobState::Aborted, ctx.now_ms());
    Ok(json_response(
        StatusCode::OK,
        &job.header.info(&job.snapshot()),
        note("bulk2.query.state", &job.header.object, &id),
    ))
}

/// `DELETE /jobs/query/{id}` → 204
pub async fn delete(ctx: Ctx, Path((_, id)): Path<(String, String)>) -> ApiResult<Response> {
    let job = find(&ctx, &id)?;
    let state = job.progress.lock().state;
    if state == JobState::InProgress {
        return Err(invalid_state(format!(
            "InvalidJobState : Job {id} is InProgress; abort it before deleting it"
        )));
    }
    job.cancel.cancel();
    ctx.state.bulk.remove(&id);
    Ok(empty_response(
        StatusCode::NO_CONTENT,
        note("bulk2.query.delete", &job.header.object, &id),
    ))
}

fn encode_locator(offset: usize) -> String {
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(offset.to_string())
}

fn decode_locator(s: &str) -> Option<usize> {
    let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(s.trim_end_matches('='))
        .ok()?;
    std::str::from_utf8(&bytes).ok()?.parse().ok()
}

/// `GET /jobs/query/{id}/results?locator=&maxRecords=`
pub async fn results(
    ctx: Ctx,
    Path((_, id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let job = find(&ctx, &id)?;
    if ctx.version != job.header.api_version {
        return Err(ApiError::Conflict(format!(
            "The results of job {id} must be requested with the job's API version (v{})",
            job.header.api_version
        )));
    }
    let (state, nums) = {
        let p = job.progress.lock();
        (p.state, p.nums.clone())
    };
    if state != JobState::JobComplete {
        return Err(invalid_state(format!(
            "InvalidJobState : Results of job {id} are available once it is JobComplete (state: {})",
            state.name()
        )));
    }
    let offset = match q.get("locator").map(String::as_str) {
        None | Some("") => 0,
        Some(l) => decode_locator(l)
            .filter(|o| *o <= nums.len())
            .ok_or_else(|| {
                ApiError::custom(400, "INVALIDLOCATOR", &format!("Invalid locator: {l}"))
            })?,
    };
    let max = match q.get("maxRecords") {
        None => DEFAULT_PAGE,
        Some(m) => m.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| {
            ApiError::BadRequest(format!("maxRecords must be a positive integer: {m}"))
        })?,
    };
    let end = offset.saturating_add(max).min(nums.len());
    let mut out = Vec::new();
    {
        let mut w = job.header.dialect.writer(&mut out);
        let mut start = offset;
        let mut first = true;
        loop {
            let stop = (start + RENDER_BLOCK).min(end);
            let data = job.org.data.read();
            soql::render_csv(&data, &job.plan, &nums[start..stop], first, &mut w)
                .map_err(|e| ApiError::Internal(format!("CSV rendering failed: {e}")))?;
            drop(data);
            first = false;
            start = stop;
            if start >= end {
                break;
            }
        }
        w.flush().map_err(|e| ApiError::Internal(e.to_string()))?;
    }
    let locator = if end < nums.len() {
        encode_locator(end)
    } else {
        "null".to_string()
    };
    let mut n = note("bulk2.query.results", &job.header.object, &id);
    n.rows = Some((end - offset) as u64);
    n.query = Some(soql::fingerprint(&job.soql));
    n.result_hash = Some({
        use sha2::Digest;
        hex::encode(&sha2::Sha256::digest(&out)[..8])
    });
    let mut r = (StatusCode::OK, out).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv"));
    if let Ok(v) = HeaderValue::from_str(&(end - offset).to_string()) {
        h.insert("sforce-numberofrecords", v);
    }
    if let Ok(v) = HeaderValue::from_str(&locator) {
        h.insert("sforce-locator", v);
    }
    r.extensions_mut().insert(n);
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locators_are_base64_offsets() {
        assert_eq!(encode_locator(10000), "MTAwMDA");
        assert_eq!(decode_locator("MTAwMDA"), Some(10000));
        assert_eq!(decode_locator("not base64!"), None);
    }
}
