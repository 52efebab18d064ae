//! Bulk API 2.0 (salesforce-api.md §6): ingest jobs (create → PUT CSV → UploadComplete → poll →
//! results) and query jobs (create → poll → page results with `Sforce-Locator` until it is the string
//! `null`). Each method is one HTTP call, and each counts toward the daily allocation; the poll helpers
//! make one call per poll and say so.
//!
//! A job can finish `JobComplete` with failed rows: only `failedResults` tells which, and re-sending
//! the whole file instead of those rows is how duplicates are made.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::client::{Body, Call, SfClient};
use super::error::{ApiErrorItem, SfError, TransportKind};
use super::rest::segment;

/// Ingest operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum BulkOperation {
    /// Create records.
    Insert,
    /// Update by `Id`.
    Update,
    /// Upsert by external id.
    Upsert,
    /// Soft delete by `Id`.
    Delete,
    /// Delete bypassing the recycle bin.
    HardDelete,
}

/// Job states; `Unknown` keeps an unexpected value from failing the whole decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobState {
    /// Accepting data.
    Open,
    /// Data complete, queued.
    UploadComplete,
    /// Being processed.
    InProgress,
    /// Finished (rows may still have failed).
    JobComplete,
    /// Failed as a whole; see `errorMessage`.
    Failed,
    /// Aborted by a client.
    Aborted,
    /// Anything else.
    #[serde(other)]
    Unknown,
}

impl JobState {
    /// No further change will happen.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobState::JobComplete | JobState::Failed | JobState::Aborted
        )
    }
}

/// Job info, for ingest and query jobs alike.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobInfo {
    /// Job id (`750…`).
    pub id: String,
    /// State.
    pub state: JobState,
    /// Operation (`insert`, `upsert`, `query`, …).
    #[serde(default)]
    pub operation: Option<String>,
    /// Object.
    #[serde(default)]
    pub object: Option<String>,
    /// External id field of an upsert.
    #[serde(default)]
    pub external_id_field_name: Option<String>,
    /// `V2Ingest` / `V2Query`.
    #[serde(default)]
    pub job_type: Option<String>,
    /// Rows processed (successes + failures).
    #[serde(default)]
    pub number_records_processed: Option<u64>,
    /// Rows failed.
    #[serde(default)]
    pub number_records_failed: Option<u64>,
    /// Internal batch retries.
    #[serde(default)]
    pub retries: Option<u64>,
    /// Why a job failed.
    #[serde(default)]
    pub error_message: Option<String>,
    /// Upload URL (no leading slash).
    #[serde(default)]
    pub content_url: Option<String>,
    /// `Parallel` / `Serial`.
    #[serde(default)]
    pub concurrency_mode: Option<String>,
}

/// What to create with [`SfClient::create_ingest_job`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestJob {
    /// Object API name.
    pub object: String,
    /// Operation.
    pub operation: BulkOperation,
    /// Required for upserts.
    pub external_id_field_name: Option<String>,
    /// `LF` (default) or `CRLF`; must match the uploaded file.
    pub line_ending: Option<String>,
}

impl IngestJob {
    /// A job for `operation` on `object`.
    pub fn new(object: impl Into<String>, operation: BulkOperation) -> Self {
        Self {
            object: object.into(),
            operation,
            external_id_field_name: None,
            line_ending: None,
        }
    }

    /// An upsert job keyed on `ext_field`.
    pub fn upsert(object: impl Into<String>, ext_field: impl Into<String>) -> Self {
        Self {
            external_id_field_name: Some(ext_field.into()),
            ..Self::new(object, BulkOperation::Upsert)
        }
    }
}

/// Which ingest result set to fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestResultSet {
    /// `successfulResults/`: `sf__Id`, `sf__Created`, original columns.
    Successful,
    /// `failedResults/`: `sf__Id`, `sf__Error`, original columns.
    Failed,
    /// `unprocessedrecords/`: original columns of rows never attempted.
    Unprocessed,
}

impl IngestResultSet {
    fn path(self) -> &'static str {
        match self {
            IngestResultSet::Successful => "successfulResults",
            IngestResultSet::Failed => "failedResults",
            IngestResultSet::Unprocessed => "unprocessedrecords",
        }
    }
}

/// One page of query-job results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultsPage {
    /// CSV text, header included.
    pub csv: String,
    /// `Sforce-NumberOfRecords`.
    pub number_of_records: Option<u64>,
    /// The locator for the next page; `None` once Salesforce sent the string `null`.
    pub next_locator: Option<String>,
}

impl SfClient {
    /// `POST /jobs/ingest` → job info in state `Open`.
    pub async fn create_ingest_job(&self, job: &IngestJob) -> Result<JobInfo, SfError> {
        let mut body = json!({
            "object": job.object,
            "operation": job.operation,
            "contentType": "CSV",
            "lineEnding": job.line_ending.as_deref().unwrap_or("LF"),
        });
        if let (Some(ext), Value::Object(map)) = (&job.external_id_field_name, &mut body) {
            map.insert("externalIdFieldName".to_string(), json!(ext));
        }
        let call = Call::new(Method::POST, self.data_path("jobs/ingest")).json(&body)?;
        self.send(call).await?.json("ingest job info")
    }

    /// `PUT /jobs/ingest/{id}/batches` with `text/csv` → 201.
    pub async fn upload_job_data(
        &self,
        job_id: &str,
        csv: impl Into<Bytes>,
    ) -> Result<(), SfError> {
        let path = self.data_path(&format!("jobs/ingest/{}/batches", segment(job_id)));
        let call = Call::new(Method::PUT, path).body(Body::Csv(csv.into()));
        self.send(call).await.map(drop)
    }

    /// `PATCH /jobs/ingest/{id}` `{"state":"UploadComplete"}`: queue the job for processing.
    pub async fn close_ingest_job(&self, job_id: &str) -> Result<JobInfo, SfError> {
        self.set_job_state("ingest", job_id, "UploadComplete").await
    }

    /// `PATCH /jobs/ingest/{id}` `{"state":"Aborted"}`.
    pub async fn abort_ingest_job(&self, job_id: &str) -> Result<JobInfo, SfError> {
        self.set_job_state("ingest", job_id, "Aborted").await
    }

    /// `GET /jobs/ingest/{id}`.
    pub async fn get_ingest_job(&self, job_id: &str) -> Result<JobInfo, SfError> {
        self.get_job("ingest", job_id).await
    }

    /// `DELETE /jobs/ingest/{id}` → 204.
    pub async fn delete_ingest_job(&self, job_id: &str) -> Result<(), SfError> {
        self.delete_job("ingest", job_id).await
    }

    /// `GET /jobs/ingest/{id}/{successfulResults|failedResults|unprocessedrecords}` → CSV text.
    pub async fn ingest_results(
        &self,
        job_id: &str,
        set: IngestResultSet,
    ) -> Result<String, SfError> {
        let path = self.data_path(&format!("jobs/ingest/{}/{}", segment(job_id), set.path()));
        Ok(self.send(Call::get(path).accept("text/csv")).await?.text())
    }

    /// `POST /jobs/query` (`queryAll` when `include_deleted`).
    pub async fn create_query_job(
        &self,
        soql: &str,
        include_deleted: bool,
    ) -> Result<JobInfo, SfError> {
        let body = json!({
            "operation": if include_deleted { "queryAll" } else { "query" },
            "query": soql,
            "contentType": "CSV",
            "columnDelimiter": "COMMA",
            "lineEnding": "LF",
        });
        let call = Call::new(Method::POST, self.data_path("jobs/query")).json(&body)?;
        self.send(call).await?.json("query job info")
    }

    /// `GET /jobs/query/{id}`.
    pub async fn get_query_job(&self, job_id: &str) -> Result<JobInfo, SfError> {
        self.get_job("query", job_id).await
    }

    /// `PATCH /jobs/query/{id}` `{"state":"Aborted"}`.
    pub async fn abort_query_job(&self, job_id: &str) -> Result<JobInfo, SfError> {
        self.set_job_state("query", job_id, "Aborted").await
    }

    /// `DELETE /jobs/query/{id}` → 204.
    pub async fn delete_query_job(&self, job_id: &str) -> Result<(), SfError> {
        self.delete_job("query", job_id).await
    }

    /// `GET /jobs/query/{id}/results[?locator=&maxRecords=]`: one page.
    pub async fn query_results_page(
        &self,
        job_id: &str,
        locator: Option<&str>,
        max_records: Option<u64>,
    ) -> Result<ResultsPage, SfError> {
        let path = self.data_path(&format!("jobs/query/{}/results", segment(job_id)));
        let mut call = Call::get(path).accept("text/csv");
        if let Some(l) = locator {
            call = call.query("locator", l);
        }
        if let Some(m) = max_records {
            call = call.query("maxRecords", m.to_string());
        }
        let reply = self.send(call).await?;
        let next_locator = match reply.header("sforce-locator").map(str::trim) {
            Some(l) if !l.is_empty() && l != "null" => Some(l.to_string()),
            Some(_) => None,
            None => {
                // jsforce would loop forever on a missing header; treat it as a protocol error instead.
                return Err(SfError::decode("query results", "no Sforce-Locator header"));
            }
        };
        Ok(ResultsPage {
            csv: reply.text(),
            number_of_records: reply
                .header("sforce-numberofrecords")
                .and_then(|v| v.trim().parse().ok()),
            next_locator,
        })
    }

    /// Every results page, following `Sforce-Locator` until it is `null` (one call per page).
    pub async fn query_results_all(
        &self,
        job_id: &str,
        max_records: Option<u64>,
    ) -> Result<Vec<ResultsPage>, SfError> {
        let mut pages = Vec::new();
        let mut locator: Option<String> = None;
        loop {
            let page = self
                .query_results_page(job_id, locator.as_deref(), max_records)
                .await?;
            locator = page.next_locator.clone();
            pages.push(page);
            if locator.is_none() {
                return Ok(pages);
            }
        }
    }

    /// Poll `GET /jobs/ingest/{id}` every `interval` until a terminal state (one call per poll).
    /// Gives up with a timeout error after `timeout`.
    pub async fn wait_for_ingest_job(
        &self,
        job_id: &str,
        interval: Duration,
        timeout: Duration,
    ) -> Result<JobInfo, SfError> {
        self.wait_for_job("ingest", job_id, interval, timeout).await
    }

    /// Poll `GET /jobs/query/{id}` every `interval` until a terminal state (one call per poll).
    pub async fn wait_for_query_job(
        &self,
        job_id: &str,
        interval: Duration,
        timeout: Duration,
    ) -> Result<JobInfo, SfError> {
        self.wait_for_job("query", job_id, interval, timeout).await
    }

    async fn wait_for_job(
        &self,
        kind: &str,
        job_id: &str,
        interval: Duration,
        timeout: Duration,
    ) -> Result<JobInfo, SfError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let info = self.get_job(kind, job_id).await?;
            if info.state.is_terminal() {
                return Ok(info);
            }
            if tokio::time::Instant::now() + interval > deadline {
                return Err(SfError::Transport {
                    kind: TransportKind::Timeout,
                    message: format!(
                        "{kind} job {job_id} still {:?} after {timeout:?}",
                        info.state
                    ),
                });
            }
            tokio::time::sleep(interval).await;
        }
    }

    async fn get_job(&self, kind: &str, job_id: &str) -> Result<JobInfo, SfError> {
        let path = self.data_path(&format!("jobs/{kind}/{}", segment(job_id)));
        self.send(Call::get(path)).await?.json("job info")
    }

    async fn set_job_state(
        &self,
        kind: &str,
        job_id: &str,
        state: &str,
    ) -> Result<JobInfo, SfError> {
        let path = self.data_path(&format!("jobs/{kind}/{}", segment(job_id)));
        let call = Call::new(Method::PATCH, path).json(&json!({ "state": state }))?;
        self.send(call).await?.json("job info")
    }

    async fn delete_job(&self, kind: &str, job_id: &str) -> Result<(), SfError> {
        let path = self.data_path(&format!("jobs/{kind}/{}", segment(job_id)));
        self.send(Call::new(Method::DELETE, path)).await.map(drop)
    }
}

/// A parsed CSV file (bulk uploads and results).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CsvTable {
    /// Column names.
    pub headers: Vec<String>,
    /// Rows, each as long as `headers`.
    pub rows: Vec<Vec<String>>,
}

impl CsvTable {
    /// Parse CSV text with a header row.
    pub fn parse(text: &str) -> Result<Self, SfError> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .from_reader(text.as_bytes());
        let headers = reader
            .headers()
            .map_err(|e| SfError::decode("CSV header", e))?
            .iter()
            .map(str::to_string)
            .collect::<Vec<_>>();
        let mut rows = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| SfError::decode("CSV row", e))?;
            let mut row: Vec<String> = record.iter().map(str::to_string).collect();
            row.resize(headers.len(), String::new());
            rows.push(row);
        }
        Ok(Self { headers, rows })
    }

    /// Several result pages (each with its own header) as one table.
    pub fn parse_pages(pages: &[ResultsPage]) -> Result<Self, SfError> {
        let mut table = CsvTable::default();
        for page in pages {
            let t = CsvTable::parse(&page.csv)?;
            if table.headers.is_empty() {
                table.headers = t.headers;
            }
            table.rows.extend(t.rows);
        }
        Ok(table)
    }

    /// Build an upload file: `columns` from each record; a JSON `null` becomes `#N/A` (set to null), a
    /// missing key an empty cell (leave unchanged).
    pub fn from_records(columns: &[&str], records: &[Map<String, Value>]) -> Self {
        let rows = records
            .iter()
            .map(|r| columns.iter().map(|c| cell(r.get(*c))).collect())
            .collect();
        Self {
            headers: columns.iter().map(|c| c.to_string()).collect(),
            rows,
        }
    }

    /// Index of a column.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.headers.iter().position(|h| h == name)
    }

    /// A cell by row index and column name.
    pub fn value(&self, row: usize, column: &str) -> Option<&str> {
        let c = self.column(column)?;
        self.rows.get(row)?.get(c).map(String::as_str)
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// No rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Write as CSV with LF line endings (the `lineEnding` jobs are created with).
    pub fn to_csv(&self) -> Result<String, SfError> {
        let mut writer = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(Vec::new());
        let write = |w: &mut csv::Writer<Vec<u8>>, row: &[String]| {
            w.write_record(row)
                .map_err(|e| SfError::InvalidRequest(format!("cannot write CSV: {e}")))
        };
        write(&mut writer, &self.headers)?;
        for row in &self.rows {
            write(&mut writer, row)?;
        }
        let bytes = writer
            .into_inner()
            .map_err(|e| SfError::InvalidRequest(format!("cannot write CSV: {e}")))?;
        String::from_utf8(bytes)
            .map_err(|e| SfError::InvalidRequest(format!("CSV is not UTF-8: {e}")))
    }
}

fn cell(v: Option<&Value>) -> String {
    match v {
        None => String::new(),
        Some(Value::Null) => "#N/A".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(other) => other.to_string(),
    }
}

/// One row of `failedResults`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedRecord {
    /// `sf__Id` (empty for failed inserts).
    pub sf_id: String,
    /// `sf__Error`, parsed.
    pub error: ApiErrorItem,
    /// The original columns of the row, ready to be corrected and re-sent.
    pub row: BTreeMap<String, String>,
}

/// Parse a `failedResults` file.
pub fn parse_failed_results(csv_text: &str) -> Result<Vec<FailedRecord>, SfError> {
    let table = CsvTable::parse(csv_text)?;
    let id_col = table.column("sf__Id");
    let err_col = table.column("sf__Error");
    Ok(table
        .rows
        .iter()
        .map(|row| {
            let get = |c: Option<usize>| c.and_then(|i| row.get(i)).cloned().unwrap_or_default();
            let original = table
                .headers
                .iter()
                .zip(row)
                .filter(|(h, _)| !h.starts_with("sf__"))
                .map(|(h, v)| (h.clone(), v.clone()))
                .collect();
            FailedRecord {
                sf_id: get(id_col),
                error: parse_sf_error(&get(err_col)),
                row: original,
            }
        })
        .collect())
}

/// Parse `sf__Error` (`CODE:message:Field1,Field2 --`, or `CODE:message:--` without fields).
pub fn parse_sf_error(s: &str) -> ApiErrorItem {
    let s = s.trim();
    let s = s.strip_suffix("--").unwrap_or(s).trim_end();
    let (code, rest) = s.split_once(':').unwrap_or((s, ""));
    let (message, fields) = match rest.rsplit_once(':') {
        Some((m, f)) if !f.contains(' ') || f.trim().is_empty() => (m, f.trim()),
        _ => (rest, ""),
    };
    ApiErrorItem {
        error_code: code.trim().to_string(),
        message: message.trim().to_string(),
        fields: fields
            .split(',')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(str::to_string)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sf_error_with_fields() {
        let e =
            parse_sf_error("REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --");
        assert_eq!(e.error_code, "REQUIRED_FIELD_MISSING");
        assert_eq!(e.message, "Required fields are missing: [Name]");
        assert_eq!(e.fields, vec!["Name".to_string()]);
    }

    #[test]
    fn sf_error_without_fields() {
        let e = parse_sf_error("UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record or 1 records: 001x:--");
        assert_eq!(e.error_code, "UNABLE_TO_LOCK_ROW");
        assert_eq!(
            e.message,
            "unable to obtain exclusive access to this record or 1 records: 001x"
        );
        assert!(e.fields.is_empty());
    }

    #[test]
    fn csv_round_trip_marks_nulls() {
        let mut r = Map::new();
        r.insert("Name".into(), json!("Acme, Inc"));
        r.insert("Phone".into(), Value::Null);
        let t = CsvTable::from_records(&["Name", "Phone", "Region__c"], &[r]);
        let text = t.to_csv().unwrap_or_default();
        assert_eq!(text, "Name,Phone,Region__c\n\"Acme, Inc\",#N/A,\n");
        assert_eq!(CsvTable::parse(&text).ok(), Some(t));
    }
}
