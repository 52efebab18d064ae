//! Processing an ingest job in the background, the way Salesforce does: the data is split into
//! internal batches of 10,000 records, several batches run at once (`contention.bulk_parallelism`),
//! and each batch commits in transactions of 200 records.
//!
//! Each 200-record chunk is one write transaction competing with real-time traffic (see
//! [`crate::org::capacity`]): it locks the records it writes **and their parents** (waiting up to
//! the org's lock wait; a chunk that times out is retried `contention.bulk_lock_retries` times,
//! counted in the job's `retries`, after which its rows fail with `UNABLE_TO_LOCK_ROW`), then waits
//! for a processing slot of the org, holds slot and locks for the chunk's processing time
//! (`bulk_chunk_time + rows × bulk_row_time`, on `tokio::time`), then validates and writes each row
//! with a savepoint — a bad row fails alone — commits, and publishes the chunk's changes as one
//! transaction.
//!
//! Fault hooks: `bulk_slowdown` is asked once per job (extra time `InProgress`, or the whole job
//! `Failed` with an `errorMessage`); `item_failure` once per row (index = the row's position in the
//! upload, key = its `Id` or external id).

use super::ingest::{IngestJob, Outcome};
use super::job::{JobState, Operation};
use super::rows::{self, Columns, RowInput};
use super::upload::Upload;
use crate::error::ApiError;
use crate::faults::hooks::Probe;
use crate::faults::plan::BulkSlowdownFault;
use crate::journal::{Api, JournalEntry};
use crate::org::locks::LockGuard;
use crate::rest::dml;
use crate::state::SimState;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Records per internal batch.
pub const BATCH: usize = 10_000;
/// Records per transaction.
pub const CHUNK: usize = 200;

/// Process `job` until it ends or is cancelled (abort, delete, shutdown).
pub async fn run(state: SimState, job: Arc<IngestJob>) {
    let cancel = job.cancel.clone();
    tokio::select! {
        _ = cancel.cancelled() => {}
        _ = process(&state, &job) => {}
    }
}

fn fail(state: &SimState, job: &IngestJob, message: String) {
    {
        let mut p = job.progress.lock();
        p.error_message = Some(message);
    }
    job.set_state(JobState::Failed, state.clock.now_ms());
}

async fn process(state: &SimState, job: &Arc<IngestJob>) {
    let started = state.clock.elapsed();
    {
        let mut p = job.progress.lock();
        p.state = JobState::InProgress;
        p.modified_ms = state.clock.now_ms();
        p.started = Some(tokio::time::Instant::now());
    }
    let content_path = format!("/{}", job.header.content_url.clone().unwrap_or_default());
    let probe = Probe {
        api: Api::Bulk,
        object: Some(&job.header.object),
        client: Some(&job.owner.identity),
        method: "PATCH",
        path: &content_path,
        now: started,
    };
    match state.faults.bulk_slowdown(&probe) {
        Some(BulkSlowdownFault::Fail { error_message }) => {
            fail(state, job, error_message);
            journal(state, job, started);
            return;
        }
        Some(BulkSlowdownFault::Extra(d)) => tokio::time::sleep(d).await,
        None => {}
    }
    match prepare(job).await {
        Ok((upload, cols, obj)) => {
            let workers = job.org.config.contention.bulk_parallelism.max(1) as usize;
            let batches = upload.rows().div_ceil(BATCH);
            let next = Arc::new(AtomicUsize::new(0));
            let cols = Arc::new(cols);
            let mut set = tokio::task::JoinSet::new();
            for _ in 0..workers.min(batches.max(1)) {
                let (st, j, up, c, n) = (
                    state.clone(),
                    job.clone(),
                    upload.clone(),
                    cols.clone(),
                    next.clone(),
                );
                set.spawn(async move {
                    loop {
                        let b = n.fetch_add(1, Ordering::Relaxed);
                        if b >= batches {
                            break;
                        }
                        let end = ((b + 1) * BATCH).min(up.rows());
                        let mut start = b * BATCH;
                        while start < end {
                            let stop = (start + CHUNK).min(end);
                            chunk(&st, &j, &up, &c, obj, start..stop).await;
                            start = stop;
                        }
                    }
                });
            }
            while set.join_next().await.is_some() {}
            if job.progress.lock().state == JobState::InProgress {
                job.set_state(JobState::JobComplete, state.clock.now_ms());
            }
        }
        Err(message) => fail(state, job, message),
    }
    journal(state, job, started);
}

/// Index the upload and check its header. `Err` is the job's `errorMessage`.
async fn prepare(job: &Arc<IngestJob>) -> Result<(Arc<Upload>, Columns, usize), String> {
    let data = job.progress.lock().data.clone();
    let Some(data) = data else {
        return Err("InvalidBatch : No data was uploaded to the job before it was closed".into());
    };
    let dialect = job.dialect();
    let upload = tokio::task::spawn_blocking(move || Upload::index(data, &dialect))
        .await
        .map_err(|e| format!("InternalServerError : {e}"))??;
    let upload = Arc::new(upload);
    let (cols, obj) = {
        let data = job.org.data.read();
        let obj = data
            .schema
            .object_index(&job.header.object)
            .ok_or_else(|| format!("InvalidJob : Unable to find object: {}", job.header.object))?;
        let cols = rows::check_header(
            &data,
            obj,
            job.operation,
            job.header.external_id_field.as_deref(),
            &upload.header,
        );
        (cols, obj)
    };
    let mut p = job.progress.lock();
    p.upload = Some(upload.clone());
    p.outcomes = vec![Outcome::Pending; upload.rows()];
    let cols = cols?;
    Ok((upload, cols, obj))
}

/// One 200-record transaction.
async fn chunk(
    state: &SimState,
    job: &IngestJob,
    upload: &Upload,
    cols: &Columns,
    obj: usize,
    range: std::ops::Range<usize>,
) {
    if job.cancel.is_cancelled() {
        return;
    }
    let org = &job.org;
    let op = job.operation;
    let mut inputs: Vec<Result<RowInput, ApiError>> = upload
        .records(&job.dialect(), range.clone())
        .iter()
        .map(|r| rows::parse_row(cols, op, r))
        .collect();
    if op == Operation::Upsert {
        rows::fail_duplicate_keys(&mut inputs);
    }
    let contention = org.config.contention.clone();
    let mut attempt = 0;
    let locked: Result<LockGuard, ApiError> = loop {
        let keys = {
            let data = org.data.read();
            inputs
                .iter()
                .flatten()
                .flat_map(|r| rows::row_keys(&data, obj, op, cols, r))
                .collect()
        };
        match dml::lock_rows(org, keys).await {
            Ok(g) => break Ok(g),
            Err(_) if attempt < contention.bulk_lock_retries => {
                attempt += 1;
                job.progress.lock().retries += 1;
            }
            Err(e) => break Err(e),
        }
    };
    let mut outcomes: Vec<Outcome> = Vec::with_capacity(inputs.len());
    match locked {
        Err(lock_error) => {
            let text: Box<str> = rows::sf_error(&lock_error).into();
            for input in &inputs {
                outcomes.push(match input {
                    Err(e) => Outcome::Failed {
                        num: None,
                        error: rows::sf_error(e).into(),
                    },
                    Ok(_) => Outcome::Failed {
                        num: None,
                        error: text.clone(),
                    },
                });
            }
        }
        Ok(_guard) => {
            // Rows first, then a slot (see `org::capacity`): the chunk holds both while it works.
            let _slot = org.capacity.acquire().await;
            tokio::time::sleep(contention.chunk_time(inputs.len())).await;
            let path = format!("/{}", job.header.content_url.clone().unwrap_or_default());
            let probe = Probe {
                api: Api::Bulk,
                object: Some(&job.header.object),
                client: Some(&job.owner.identity),
                method: "PUT",
                path: &path,
                now: state.clock.elapsed(),
            };
            let now = state.clock.now_ms();
            // Fault decisions first: the engine never runs under the org's data lock.
            let injected: Vec<Option<ApiError>> = inputs
                .iter()
                .enumerate()
                .map(|(i, input)| match input {
                    Ok(row) => {
                        state
                            .faults
                            .item_failure(&probe, range.start + i, row.key.as_deref())
                    }
                    Err(_) => None,
                })
                .collect();
            let changes = {
                let mut data = org.data.write();
                let mut txn = data.txn();
                for (input, injected) in inputs.iter().zip(injected) {
                    let result = match input {
                        Err(e) => Err((None, e.clone())),
                        Ok(row) => match injected {
                            Some(e) => Err((None, e)),
                            None => {
                                let sp = txn.savepoint();
                                let r = rows::apply(
                                    &mut txn,
                                    obj,
                                    op,
                                    cols,
                                    row,
                                    &job.owner.writer,
                                    now,
                                );
                                if r.is_err() {
                                    txn.rollback_to(sp);
                                }
                                r
                            }
                        },
                    };
                    outcomes.push(match result {
                        Ok((num, created)) => Outcome::Done { num, created },
                        Err((num, e)) => Outcome::Failed {
                            num,
                            error: rows::sf_error(&e).into(),
                        },
                    });
                }
                txn.commit()
            };
            org.publish(changes);
        }
    }
    let failed = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Failed { .. }))
        .count() as u64;
    let mut p = job.progress.lock();
    p.processed += outcomes.len() as u64;
    p.failed += failed;
    for (i, o) in outcomes.into_iter().enumerate() {
        if let Some(slot) = p.outcomes.get_mut(range.start + i) {
            *slot = o;
        }
    }
}

/// One journal entry for the processing of a job (method `PROCESS`, cost 0): the ground truth of
/// what a job did, whether or not the client ever asks.
fn journal(state: &SimState, job: &IngestJob, started: std::time::Duration) {
    let snap = job.snapshot();
    let failed = snap.state == JobState::Failed;
    let o = &job.owner;
    state.journal.append(JournalEntry {
        id: state.journal.next_id(),
        t_us: started.as_micros() as u64,
        latency_us: state.clock.elapsed().saturating_sub(started).as_micros() as u64,
        org: Some(o.org_id.clone()),
        user: Some(o.username.clone()),
        app: Some(o.app.clone()),
        client: o.client_name.clone(),
        method: "PROCESS".into(),
        path: format!(
            "/services/data/v{}/jobs/ingest/{}",
            job.header.api_version, job.header.id
        ),
        route: "bulk2.ingest.process".into(),
        api: Api::Bulk,
        object: Some(job.header.object.clone()),
        status: if failed { 400 } else { 200 },
        error_code: failed.then(|| "INVALIDBATCH".to_string()),
        rows: Some(snap.processed),
        item_failures: snap.failed as u32,
        job: Some(job.header.id.clone()),
        ..Default::default()
    });
}
