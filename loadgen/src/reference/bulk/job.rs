//! Bulk API 2.0 ingest jobs, and what happens to failed rows (`partial_failures`).
//!
//! * **off**: the job is an *upsert* by external id. When it finishes with failures (or fails as a
//!   whole) the integration reads `failedResults` (and `unprocessedrecords`), resubmits only the
//!   rows that failed for transient reasons — as upserts, so rows that did land are not duplicated —
//!   and counts the rest as failed.
//! * **on**: the job is an *insert*; a job that fails as a whole is resubmitted whole (every row
//!   that had landed is inserted again), and per-row failures of a finished job are never read.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::time::Instant;

use crate::retry::Retryability;
use crate::sf::{
    parse_failed_results, BulkOperation, CsvTable, IngestJob, IngestResultSet, JobInfo, JobState,
};

use super::super::calls::CallError;
use super::super::engine::Engine;
use super::super::store::BatchLoad;
use super::rows::ROUNDS;
use super::BULK_MIN_ROWS;

/// A job still running after this long is aborted and its rows treated as unprocessed.
const JOB_TIMEOUT: Duration = Duration::from_secs(30 * 60);

impl Engine {
    /// Load `records` through Bulk 2.0. `None` on shutdown (the load stays queued).
    pub(super) async fn bulk_load(
        &self,
        load: &BatchLoad,
        records: Vec<Map<String, Value>>,
    ) -> Option<()> {
        let rows = self.plan_rows(load, records).await?;
        if self.behaviour.partial_failures {
            self.insert_whole_file(load, rows).await
        } else {
            self.upsert_resubmitting_failures(load, rows).await
        }
    }

    async fn insert_whole_file(
        &self,
        load: &BatchLoad,
        rows: Vec<Map<String, Value>>,
    ) -> Option<()> {
        for attempt in 1..=ROUNDS {
            let job = IngestJob::new(&load.object, BulkOperation::Insert);
            match self.run_job(&job, &rows).await {
                Ok(info) if info.state == JobState::JobComplete => {
                    let processed = info.number_records_processed.unwrap_or(0) as usize;
                    self.count_rows(processed, 0);
                    return Some(());
                }
                Ok(info) => tracing::warn!(
                    "bulk job {} {:?} ({}); resubmitting the whole file",
                    info.id,
                    info.state,
                    info.error_message.unwrap_or_default()
                ),
                Err(CallError::Shutdown) => return None,
                Err(e) => tracing::warn!("bulk load failed ({e}); resubmitting the whole file"),
            }
            if !self.pause(attempt).await {
                return None;
            }
        }
        self.count_rows(0, rows.len());
        Some(())
    }

    async fn upsert_resubmitting_failures(
        &self,
        load: &BatchLoad,
        rows: Vec<Map<String, Value>>,
    ) -> Option<()> {
        let mut pending = rows;
        let mut round = 0;
        while round < ROUNDS {
            round += 1;
            let small = pending.len() < BULK_MIN_ROWS && !self.behaviour.batch_realtime_mixing;
            if small {
                // A handful of failed rows is not worth another job.
                return self.collections_load(load, pending).await;
            }
            let job = IngestJob::upsert(&load.object, &load.external_id_field);
            let info = match self.run_job(&job, &pending).await {
                Ok(info) => info,
                Err(CallError::Shutdown) => return None,
                Err(CallError::Rejected(e)) if e.error_code() == Some("NOT_FOUND") => {
                    tracing::warn!(
                        "Bulk API 2.0 is not available ({e}); loading through Collections"
                    );
                    self.caps.set_bulk(false);
                    return self.collections_load(load, pending).await;
                }
                Err(CallError::Rejected(e)) => {
                    tracing::warn!("bulk job refused: {e}");
                    self.count_rows(0, pending.len());
                    return Some(());
                }
                Err(e) => {
                    tracing::warn!("bulk job did not run ({e}); trying again");
                    if !self.pause(round).await {
                        return None;
                    }
                    continue;
                }
            };
            let (retry, failed) = match self.failed_rows(&info).await {
                Ok(r) => r,
                Err(CallError::Shutdown) => return None,
                Err(e) => {
                    tracing::warn!("cannot read the failed rows of job {}: {e}", info.id);
                    (Vec::new(), info.number_records_failed.unwrap_or(0) as usize)
                }
            };
            let processed = info.number_records_processed.unwrap_or(0) as usize;
            let failed_total = info.number_records_failed.unwrap_or(0) as usize;
            self.count_rows(processed.saturating_sub(failed_total), failed);
            if retry.is_empty() {
                return Some(());
            }
            tracing::info!(
                "bulk job {}: resubmitting {} failed rows as upserts",
                info.id,
                retry.len()
            );
            pending = retry;
            if !self.pause(round).await {
                return None;
            }
        }
        self.count_rows(0, pending.len());
        Some(())
    }

    /// The rows of a finished job worth resubmitting, and how many failed for good.
    async fn failed_rows(
        &self,
        info: &JobInfo,
    ) -> Result<(Vec<Map<String, Value>>, usize), CallError> {
        let mut retry = Vec::new();
        let mut failed = 0;
        let id = info.id.as_str();
        let text = self
            .sf
            .call(|c| async move { c.ingest_results(id, IngestResultSet::Failed).await })
            .await?;
        let rows = parse_failed_results(&text).map_err(CallError::Rejected)?;
        for row in rows {
            if row.error.retryability(400) == Retryability::Retryable {
                retry.push(to_map(row.row.into_iter()));
            } else {
                failed += 1;
            }
        }
        if info.state != JobState::JobComplete {
            let text = self
                .sf
                .call(|c| async move { c.ingest_results(id, IngestResultSet::Unprocessed).await })
                .await?;
            let table = CsvTable::parse(&text).map_err(CallError::Rejected)?;
            for row in table.rows {
                retry.push(to_map(table.headers.iter().cloned().zip(row)));
            }
        }
        Ok((retry, failed))
    }

    /// Create, upload, close and watch one ingest job.
    async fn run_job(
        &self,
        job: &IngestJob,
        rows: &[Map<String, Value>],
    ) -> Result<JobInfo, CallError> {
        let columns: BTreeSet<&str> = rows
            .iter()
            .flat_map(|r| r.keys().map(String::as_str))
            .collect();
        let columns: Vec<&str> = columns.into_iter().collect();
        let csv = CsvTable::from_records(&columns, rows)
            .to_csv()
            .map_err(CallError::Rejected)?;
        let info = self
            .sf
            .call(|c| async move { c.create_ingest_job(job).await })
            .await?;
        super::super::metrics::inc(&self.metrics.bulk_jobs);
        let id = info.id.as_str();
        tracing::info!("bulk job {id}: {:?} of {} rows", job.operation, rows.len());
        self.sf
            .call(|c| {
                let csv = csv.clone();
                async move { c.upload_job_data(id, csv).await }
            })
            .await?;
        self.sf
            .call(|c| async move { c.close_ingest_job(id).await })
            .await?;
        let deadline = Instant::now() + JOB_TIMEOUT;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(self.config.tuning.bulk_poll) => {}
                _ = self.shutdown.cancelled() => return Err(CallError::Shutdown),
            }
            let info = self
                .sf
                .call(|c| async move { c.get_ingest_job(id).await })
                .await?;
            if info.state.is_terminal() {
                return Ok(info);
            }
            if Instant::now() >= deadline {
                let _ = self
                    .sf
                    .call(|c| async move { c.abort_ingest_job(id).await })
                    .await;
                return Ok(JobInfo {
                    state: JobState::Aborted,
                    ..info
                });
            }
        }
    }
}

fn to_map(pairs: impl Iterator<Item = (String, String)>) -> Map<String, Value> {
    pairs.map(|(k, v)| (k, Value::String(v))).collect()
}
