//! The vocabulary shared by ingest and query jobs: states, operations, CSV dialect, who owns a job,
//! and the job-info JSON both kinds answer with (salesforce-api.md §6.1, §6.2).

use crate::error::ApiError;
use crate::org::value::format_datetime;
use crate::rest::ctx::Ctx;
use serde_json::{json, Map, Value as Json};
use std::time::Duration;

/// Job states: `Open → UploadComplete → InProgress → JobComplete | Failed | Aborted`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    Open,
    UploadComplete,
    InProgress,
    JobComplete,
    Failed,
    Aborted,
}

impl JobState {
    pub fn name(self) -> &'static str {
        match self {
            JobState::Open => "Open",
            JobState::UploadComplete => "UploadComplete",
            JobState::InProgress => "InProgress",
            JobState::JobComplete => "JobComplete",
            JobState::Failed => "Failed",
            JobState::Aborted => "Aborted",
        }
    }

    /// No further change will happen.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobState::JobComplete | JobState::Failed | JobState::Aborted
        )
    }
}

/// Ingest operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Insert,
    Update,
    Upsert,
    Delete,
    HardDelete,
}

impl Operation {
    pub fn parse(s: &str) -> Option<Operation> {
        Some(match s {
            "insert" => Operation::Insert,
            "update" => Operation::Update,
            "upsert" => Operation::Upsert,
            "delete" => Operation::Delete,
            "hardDelete" => Operation::HardDelete,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Operation::Insert => "insert",
            Operation::Update => "update",
            Operation::Upsert => "upsert",
            Operation::Delete => "delete",
            Operation::HardDelete => "hardDelete",
        }
    }

    pub fn is_delete(self) -> bool {
        matches!(self, Operation::Delete | Operation::HardDelete)
    }
}

/// `columnDelimiter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delimiter {
    Comma,
    Tab,
    Pipe,
    Semicolon,
    Caret,
    Backquote,
}

impl Delimiter {
    pub fn parse(s: &str) -> Option<Delimiter> {
        Some(match s {
            "COMMA" => Delimiter::Comma,
            "TAB" => Delimiter::Tab,
            "PIPE" => Delimiter::Pipe,
            "SEMICOLON" => Delimiter::Semicolon,
            "CARET" => Delimiter::Caret,
            "BACKQUOTE" => Delimiter::Backquote,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Delimiter::Comma => "COMMA",
            Delimiter::Tab => "TAB",
            Delimiter::Pipe => "PIPE",
            Delimiter::Semicolon => "SEMICOLON",
            Delimiter::Caret => "CARET",
            Delimiter::Backquote => "BACKQUOTE",
        }
    }

    pub fn byte(self) -> u8 {
        match self {
            Delimiter::Comma => b',',
            Delimiter::Tab => b'\t',
            Delimiter::Pipe => b'|',
            Delimiter::Semicolon => b';',
            Delimiter::Caret => b'^',
            Delimiter::Backquote => b'`',
        }
    }
}

/// `lineEnding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineEnding {
    Lf,
    Crlf,
}

impl LineEnding {
    pub fn parse(s: &str) -> Option<LineEnding> {
        match s {
            "LF" => Some(LineEnding::Lf),
            "CRLF" => Some(LineEnding::Crlf),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            LineEnding::Lf => "LF",
            LineEnding::Crlf => "CRLF",
        }
    }
}

/// The CSV dialect of a job: what uploads must use and what result files are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dialect {
    pub delimiter: Delimiter,
    pub line_ending: LineEnding,
}

impl Dialect {
    /// A reader for this dialect (headers are read by the caller).
    pub fn reader<R: std::io::Read>(&self, r: R) -> csv::Reader<R> {
        csv::ReaderBuilder::new()
            .delimiter(self.delimiter.byte())
            .has_headers(false)
            .flexible(true)
            .terminator(match self.line_ending {
                LineEnding::Lf => csv::Terminator::Any(b'\n'),
                LineEnding::Crlf => csv::Terminator::CRLF,
            })
            .from_reader(r)
    }

    /// A writer quoting every value, as Salesforce's result files do.
    pub fn writer<W: std::io::Write>(&self, w: W) -> csv::Writer<W> {
        csv::WriterBuilder::new()
            .delimiter(self.delimiter.byte())
            .quote_style(csv::QuoteStyle::Always)
            .terminator(match self.line_ending {
                LineEnding::Lf => csv::Terminator::Any(b'\n'),
                LineEnding::Crlf => csv::Terminator::CRLF,
            })
            .from_writer(w)
    }

    /// Parse `columnDelimiter` / `lineEnding` of a create-job body (defaults COMMA / LF).
    pub fn from_body(body: &Map<String, Json>) -> Result<Dialect, ApiError> {
        let delimiter = match body.get("columnDelimiter").and_then(Json::as_str) {
            None => Delimiter::Comma,
            Some(s) => Delimiter::parse(s).ok_or_else(|| {
                invalid_job(format!(
                    "InvalidJob : Invalid value for columnDelimiter: {s}. Allowed values are BACKQUOTE, CARET, COMMA, PIPE, SEMICOLON, TAB"
                ))
            })?,
        };
        let line_ending = match body.get("lineEnding").and_then(Json::as_str) {
            None => LineEnding::Lf,
            Some(s) => LineEnding::parse(s).ok_or_else(|| {
                invalid_job(format!(
                    "InvalidJob : Invalid value for lineEnding: {s}. Allowed values are LF, CRLF"
                ))
            })?,
        };
        if let Some(ct) = body.get("contentType").and_then(Json::as_str) {
            if ct != "CSV" {
                return Err(invalid_job(format!(
                    "InvalidJob : contentType {ct} is not supported. Use CSV"
                )));
            }
        }
        Ok(Dialect {
            delimiter,
            line_ending,
        })
    }
}

/// 400 INVALIDJOB: a job that cannot be created as asked.
pub fn invalid_job(message: impl Into<String>) -> ApiError {
    ApiError::custom(400, "INVALIDJOB", &message.into())
}

/// 400 INVALIDJOBSTATE: a state change or upload the job's state does not allow.
pub fn invalid_state(message: impl Into<String>) -> ApiError {
    ApiError::custom(400, "INVALIDJOBSTATE", &message.into())
}

/// Who created a job: record audit fields and CDC origin for its writes, and the journal's identity.
#[derive(Debug, Clone)]
pub struct Owner {
    pub user_id: String,
    pub username: String,
    pub app: String,
    pub client_name: Option<String>,
    pub identity: String,
    pub writer: crate::org::store::Writer,
    pub org_id: String,
}

impl Owner {
    pub fn of(ctx: &Ctx) -> Owner {
        Owner {
            user_id: ctx.org.data.read().user_id(ctx.session.user),
            username: ctx.session.username.clone(),
            app: ctx.session.app_label(),
            client_name: ctx.client_name.clone(),
            identity: ctx.identity(),
            writer: ctx.writer("bulkv2"),
            org_id: ctx.org.id.clone(),
        }
    }
}

/// What every job reports, whatever its kind.
#[derive(Debug, Clone)]
pub struct Header {
    pub id: String,
    pub operation: &'static str,
    pub object: String,
    pub created_by: String,
    pub created_ms: i64,
    pub api_version: String,
    pub dialect: Dialect,
    /// `V2Ingest` / `V2Query`.
    pub job_type: &'static str,
    pub content_url: Option<String>,
    pub external_id_field: Option<String>,
}

/// Counters and state of a job at one moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub state: JobState,
    pub modified_ms: i64,
    pub processed: u64,
    pub failed: u64,
    pub retries: u32,
    pub processing: Duration,
    pub error_message: Option<String>,
}

impl Header {
    /// The short form: create/PATCH answers and list records.
    pub fn info(&self, s: &Snapshot) -> Json {
        let mut m = Map::new();
        m.insert("id".into(), json!(self.id));
        m.insert("operation".into(), json!(self.operation));
        m.insert("object".into(), json!(self.object));
        m.insert("createdById".into(), json!(self.created_by));
        m.insert(
            "createdDate".into(),
            json!(format_datetime(self.created_ms)),
        );
        m.insert(
            "systemModstamp".into(),
            json!(format_datetime(s.modified_ms)),
        );
        m.insert("state".into(), json!(s.state.name()));
        if let Some(ext) = &self.external_id_field {
            m.insert("externalIdFieldName".into(), json!(ext));
        }
        m.insert("concurrencyMode".into(), json!("Parallel"));
        m.insert("contentType".into(), json!("CSV"));
        m.insert("apiVersion".into(), api_version_number(&self.api_version));
        if let Some(url) = &self.content_url {
            m.insert("contentUrl".into(), json!(url));
        }
        m.insert("lineEnding".into(), json!(self.dialect.line_ending.name()));
        m.insert(
            "columnDelimiter".into(),
            json!(self.dialect.delimiter.name()),
        );
        Json::Object(m)
    }

    /// The full form `GET /jobs/{kind}/{id}` answers: both counters always present.
    pub fn full_info(&self, s: &Snapshot) -> Json {
        let mut j = self.info(s);
        let ms = s.processing.as_millis() as u64;
        if let Json::Object(m) = &mut j {
            m.insert("jobType".into(), json!(self.job_type));
            m.insert("numberRecordsProcessed".into(), json!(s.processed));
            if self.job_type == "V2Ingest" {
                m.insert("numberRecordsFailed".into(), json!(s.failed));
            }
            m.insert("retries".into(), json!(s.retries));
            m.insert("totalProcessingTime".into(), json!(ms));
            if self.job_type == "V2Ingest" {
                m.insert("apiActiveProcessingTime".into(), json!(ms));
                m.insert("apexProcessingTime".into(), json!(0));
            } else {
                m.insert("isPkChunkingSupported".into(), json!(false));
            }
            m.insert(
                "errorMessage".into(),
                s.error_message
                    .clone()
                    .map(Json::String)
                    .unwrap_or(Json::Null),
            );
        }
        j
    }
}

/// `62.0` as the JSON number Salesforce sends (not a string).
fn api_version_number(v: &str) -> Json {
    v.parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map(Json::Number)
        .unwrap_or_else(|| json!(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_version_is_a_number_and_content_url_has_no_leading_slash() {
        let h = Header {
            id: "750000000000001AAA".into(),
            operation: "insert",
            object: "Account".into(),
            created_by: "005".into(),
            created_ms: 0,
            api_version: "59.0".into(),
            dialect: Dialect {
                delimiter: Delimiter::Comma,
                line_ending: LineEnding::Lf,
            },
            job_type: "V2Ingest",
            content_url: Some("services/data/v59.0/jobs/ingest/750/batches".into()),
            external_id_field: None,
        };
        let s = Snapshot {
            state: JobState::Open,
            modified_ms: 0,
            processed: 0,
            failed: 0,
            retries: 0,
            processing: Duration::ZERO,
            error_message: None,
        };
        let info = h.info(&s);
        assert_eq!(serde_json::to_string(&info["apiVersion"]).unwrap(), "59.0");
        assert!(!info["contentUrl"].as_str().unwrap().starts_with('/'));
        let full = h.full_info(&s);
        assert_eq!(full["numberRecordsProcessed"], 0);
        assert_eq!(full["numberRecordsFailed"], 0);
        assert_eq!(full["jobType"], "V2Ingest");
        assert!(full["errorMessage"].is_null());
    }
}
