//! SOQL: parser and evaluator (interface stub; the engine lands separately).

use super::store::OrgData;
use crate::error::ApiError;
use std::io::Write;
use std::sync::Arc;

pub struct ExecOptions {
    pub now_ms: i64,
    pub include_deleted: bool,
    pub data_path: String,
}

pub struct Plan {
    object: usize,
    name: String,
}

impl Plan {
    pub fn object(&self) -> usize {
        self.object
    }
    pub fn object_name(&self) -> &str {
        &self.name
    }
    pub fn is_count(&self) -> bool {
        false
    }
}

pub enum QueryOutput {
    Rows { nums: Vec<u64>, total_size: usize },
    Count { total_size: usize },
    Aggregate { records: Vec<serde_json::Value> },
}

pub fn compile(_data: &OrgData, soql: &str) -> Result<Arc<Plan>, ApiError> {
    if soql.trim().is_empty() {
        return Err(ApiError::MalformedQuery(
            "A query string has to be specified".into(),
        ));
    }
    Err(ApiError::MalformedQuery("unsupported".into()))
}

pub fn execute(
    _data: &OrgData,
    _plan: &Arc<Plan>,
    _opts: &ExecOptions,
) -> Result<QueryOutput, ApiError> {
    Ok(QueryOutput::Count { total_size: 0 })
}

pub fn render(
    _data: &OrgData,
    _plan: &Plan,
    _nums: &[u64],
    _opts: &ExecOptions,
) -> Vec<serde_json::Value> {
    vec![]
}

pub fn render_csv(
    _data: &OrgData,
    _plan: &Plan,
    _nums: &[u64],
    _header: bool,
    _out: &mut csv::Writer<impl Write>,
) -> Result<(), csv::Error> {
    Ok(())
}

pub fn csv_columns(_plan: &Plan) -> Vec<String> {
    vec![]
}

pub fn fingerprint(soql: &str) -> String {
    soql.split_whitespace().collect::<Vec<_>>().join(" ")
}
