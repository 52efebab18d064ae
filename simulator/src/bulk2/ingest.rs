//! Ingest jobs (salesforce-api.md §6.1): `POST /jobs/ingest` (Open), `PUT …/batches` (the CSV, once,
//! 201 empty), `PATCH` to `UploadComplete` (queues processing) or `Aborted`, `GET` job info, result
//! files, `DELETE` (204).

use super::job::{
    invalid_job, invalid_state, Dialect, Header, JobState, Operation, Owner, Snapshot,
};
use super::store::Job;
use super::upload::{read_body, Upload};
use super::{note, process, results};
use crate::error::{ApiError, ApiResult};
use crate::org::Org;
use crate::rest::body::SfJson;
use crate::rest::ctx::Ctx;
use crate::rest::sobjects::{empty_response, json_response};
use axum::extract::{Path, Request};
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use parking_lot::Mutex;
use serde_json::Value as Json;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// What happened to one uploaded row.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Not attempted (yet): listed by `unprocessedrecords`.
    Pending,
    /// Written: record number and whether it was created.
    Done { num: u64, created: bool },
    /// Failed: `sf__Error` text (`CODE:message:fields --`) and the record's number when known.
    Failed { num: Option<u64>, error: Box<str> },
}

/// The mutable part of a job.
#[derive(Debug)]
pub struct Progress {
    pub state: JobState,
    pub modified_ms: i64,
    pub error_message: Option<String>,
    /// The uploaded bytes, until processing indexes them.
    pub data: Option<Bytes>,
    pub upload: Option<Arc<Upload>>,
    pub outcomes: Vec<Outcome>,
    pub processed: u64,
    pub failed: u64,
    pub retries: u32,
    pub processing: Duration,
    pub started: Option<tokio::time::Instant>,
}

/// One ingest job.
pub struct IngestJob {
    pub header: Header,
    pub org: Arc<Org>,
    pub operation: Operation,
    /// Key prefix of the object, for rendering `sf__Id`.
    pub key_prefix: String,
    pub owner: Owner,
    /// Cancelled by abort, delete and simulator shutdown.
    pub cancel: CancellationToken,
    pub progress: Mutex<Progress>,
}

impl IngestJob {
    pub fn snapshot(&self) -> Snapshot {
        let p = self.progress.lock();
        Snapshot {
            state: p.state,
            modified_ms: p.modified_ms,
            processed: p.processed,
            failed: p.failed,
            retries: p.retries,
            processing: match (p.state, p.started) {
                (JobState::InProgress, Some(t)) => t.elapsed(),
                _ => p.processing,
            },
            error_message: p.error_message.clone(),
        }
    }

    /// Move to `state` (and stop the clock of processing when it is terminal).
    pub fn set_state(&self, state: JobState, now_ms: i64) {
        let mut p = self.progress.lock();
        p.state = state;
        p.modified_ms = now_ms;
        if state.is_terminal() {
            if let Some(t) = p.started.take() {
                p.processing = t.elapsed();
            }
        }
    }

    pub fn dialect(&self) -> Dialect {
        self.header.dialect
    }
}

fn find(ctx: &Ctx, id: &str) -> ApiResult<Arc<IngestJob>> {
    ctx.state
        .bulk
        .ingest(ctx.org.num, id)
        .ok_or(ApiError::NotFound)
}

/// `POST /jobs/ingest`
pub async fn create(ctx: Ctx, body: SfJson) -> ApiResult<Response> {
    let body = body.object()?;
    let text = |k: &str| body.get(k).and_then(Json::as_str).map(str::to_string);
    let object_name =
        text("object").ok_or_else(|| invalid_job("InvalidJob : object is required"))?;
    let op_name =
        text("operation").ok_or_else(|| invalid_job("InvalidJob : operation is required"))?;
    let operation = Operation::parse(&op_name).ok_or_else(|| {
        invalid_job(format!(
            "InvalidJob : Invalid value for operation: {op_name}"
        ))
    })?;
    let dialect = Dialect::from_body(&body)?;
    let (object, key_prefix, ext) = {
        let data = ctx.org.data.read();
        let obj = data.schema.object_index(&object_name).ok_or_else(|| {
            invalid_job(format!("InvalidJob : Unable to find object: {object_name}"))
        })?;
        let o = &data.schema.objects[obj];
        let ext = match (operation, text("externalIdFieldName")) {
            (Operation::Upsert, None) => {
                return Err(invalid_job(format!(
                    "InvalidJob : External ID was blank for {}. An External ID must be specified for upsert.",
                    o.name
                )))
            }
            (Operation::Upsert, Some(f)) => {
                let fi = o
                    .field_index(&f)
                    .filter(|i| o.fields[*i].id_lookup || o.fields[*i].name == "Id")
                    .ok_or_else(|| {
                        invalid_job(format!(
                            "InvalidJob : Field name provided, {f} does not match an External ID, Salesforce Id, or indexed field for {}",
                            o.name
                        ))
                    })?;
                Some(o.fields[fi].name.clone())
            }
            (_, _) => None,
        };
        (o.name.clone(), o.key_prefix.clone(), ext)
    };
    let (seq, id) = ctx.state.bulk.new_id(ctx.org.num);
    let owner = Owner::of(&ctx);
    let now = ctx.now_ms();
    let job = Arc::new(IngestJob {
        header: Header {
            id: id.clone(),
            operation: operation.name(),
            object: object.clone(),
            created_by: owner.user_id.clone(),
            created_ms: now,
            api_version: ctx.version.clone(),
            dialect,
            job_type: "V2Ingest",
            content_url: Some(format!(
                "services/data/v{}/jobs/ingest/{id}/batches",
                ctx.version
            )),
            external_id_field: ext,
        },
        org: ctx.org.clone(),
        operation,
        key_prefix,
        owner,
        cancel: ctx.state.shutdown.child_token(),
        progress: Mutex::new(Progress {
            state: JobState::Open,
            modified_ms: now,
            error_message: None,
            data: None,
            upload: None,
            outcomes: Vec::new(),
            processed: 0,
            failed: 0,
            retries: 0,
            processing: Duration::ZERO,
            started: None,
        }),
    });
    ctx.state
        .bulk
        .insert(seq, id.clone(), Job::Ingest(job.clone()));
    let info = job.header.info(&job.snapshot());
    Ok(json_response(
        StatusCode::OK,
        &info,
        note("bulk2.ingest.create", &object, &id),
    ))
}

/// `GET /jobs/ingest/{id}`
pub async fn get(ctx: Ctx, Path((_, id)): Path<(String, String)>) -> ApiResult<Response> {
    let job = find(&ctx, &id)?;
    let snap = job.snapshot();
    let mut n = note("bulk2.ingest.info", &job.header.object, &id);
    if snap.state.is_terminal() {
        n.item_failures = snap.failed as u32;
        n.rows = Some(snap.processed);
    }
    Ok(json_response(
        StatusCode::OK,
        &job.header.full_info(&snap),
        n,
    ))
}

/// `PATCH /jobs/ingest/{id}` `{"state":"UploadComplete"|"Aborted"}`
pub async fn patch(
    ctx: Ctx,
    Path((_, id)): Path<(String, String)>,
    body: SfJson,
) -> ApiResult<Response> {
    let job = find(&ctx, &id)?;
    let body = body.object()?;
    let wanted = body.get("state").and_then(Json::as_str).unwrap_or_default();
    let now = ctx.now_ms();
    match wanted {
        "UploadComplete" => {
            {
                // Check and change under one lock: two racing closes cannot both start processing.
                let mut p = job.progress.lock();
                if p.state != JobState::Open {
                    return Err(invalid_state(format!(
                        "InvalidJobState : Job {id} is not Open (state: {}); only an Open job can be closed",
                        p.state.name()
                    )));
                }
                p.state = JobState::UploadComplete;
                p.modified_ms = now;
            }
            let st = ctx.state.clone();
            let j = job.clone();
            ctx.state.bulk.spawn(process::run(st, j));
        }
        "Aborted" => {
            {
                let p = job.progress.lock();
                if p.state.is_terminal() {
                    return Err(invalid_state(format!(
                        "InvalidJobState : Job {id} is already {}; it cannot be aborted",
                        p.state.name()
                    )));
                }
            }
            job.set_state(JobState::Aborted, now);
            job.cancel.cancel();
        }
        other => {
            return Err(invalid_state(format!(
                "InvalidJobState : Unable to change the state of job {id} to '{other}': use UploadComplete or Aborted"
            )))
        }
    }
    Ok(json_response(
        StatusCode::OK,
        &job.header.info(&job.snapshot()),
        note("bulk2.ingest.state", &job.header.object, &id),
    ))
}

/// `DELETE /jobs/ingest/{id}` → 204
pub async fn delete(ctx: Ctx, Path((_, id)): Path<(String, String)>) -> ApiResult<Response> {
    let job = find(&ctx, &id)?;
    let state = job.progress.lock().state;
    if matches!(state, JobState::Open | JobState::InProgress) {
        return Err(invalid_state(format!(
            "InvalidJobState : Job {id} is {}; only UploadComplete, JobComplete, Aborted or Failed jobs can be deleted",
            state.name()
        )));
    }
    job.cancel.cancel();
    ctx.state.bulk.remove(&id);
    Ok(empty_response(
        StatusCode::NO_CONTENT,
        note("bulk2.ingest.delete", &job.header.object, &id),
    ))
}

/// `PUT /jobs/ingest/{id}/batches` (text/csv) and `GET /jobs/ingest/{id}/{results}`.
pub async fn sub_put(
    ctx: Ctx,
    Path((_, id, sub)): Path<(String, String, String)>,
    req: Request,
) -> ApiResult<Response> {
    if sub != "batches" {
        return Err(ApiError::NotFound);
    }
    let job = find(&ctx, &id)?;
    {
        let p = job.progress.lock();
        if p.state != JobState::Open {
            return Err(invalid_state(format!(
                "InvalidJobState : Job {id} is not Open (state: {}); data can only be uploaded to an Open job",
                p.state.name()
            )));
        }
        if p.data.is_some() {
            return Err(invalid_state(format!(
                "Found multiple contents for job: <{id}>, please 'Close' / 'Abort' / 'Delete' the current Job then create a new Job and make sure you only do 'PUT' once on a given Job."
            )));
        }
    }
    let declared = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let limit = ctx.state.config.max_bulk_upload;
    let bytes = read_body(req.into_body(), limit, declared).await?;
    let mut n = note("bulk2.ingest.upload", &job.header.object, &id);
    n.rows = Some(bytes.len() as u64);
    {
        let mut p = job.progress.lock();
        if p.state != JobState::Open || p.data.is_some() {
            return Err(invalid_state(format!(
                "InvalidJobState : Job {id} changed while its data was uploading"
            )));
        }
        p.data = Some(bytes);
        p.modified_ms = ctx.now_ms();
    }
    Ok(empty_response(StatusCode::CREATED, n))
}

/// `GET /jobs/ingest/{id}/successfulResults|failedResults|unprocessedrecords` (any case).
pub async fn sub_get(
    ctx: Ctx,
    Path((_, id, sub)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    let kind = match sub.to_ascii_lowercase().as_str() {
        "successfulresults" => results::Kind::Successful,
        "failedresults" => results::Kind::Failed,
        "unprocessedrecords" => results::Kind::Unprocessed,
        "batches" => {
            return Err(ApiError::MethodNotAllowed {
                method: "GET".into(),
                allowed: "PUT".into(),
            })
        }
        _ => return Err(ApiError::NotFound),
    };
    let job = find(&ctx, &id)?;
    if job.progress.lock().state == JobState::Open {
        return Err(invalid_state(format!(
            "InvalidJobState : Job {id} is still Open; results are available once it is closed"
        )));
    }
    Ok(results::response(&job, kind))
}
