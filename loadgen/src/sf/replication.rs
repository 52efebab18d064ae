//! The replication resources `GET /sobjects/{T}/updated` and `/deleted` (the REST form of SOAP
//! `getUpdated()` / `getDeleted()`): which records of an object changed in a time window. A poller
//! that cannot subscribe to Change Data Capture uses them to find what to re-read.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::client::{Call, SfClient};
use super::error::SfError;
use super::rest::segment;

/// `GET /sobjects/{T}/updated` → ids changed in the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdatedRecords {
    /// Record ids.
    #[serde(default)]
    pub ids: Vec<String>,
    /// The end of the window the answer covers.
    #[serde(default)]
    pub latest_date_covered: Option<String>,
}

/// `GET /sobjects/{T}/deleted` → records deleted in the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletedRecords {
    /// The deleted records.
    #[serde(default)]
    pub deleted_records: Vec<DeletedRecord>,
    /// The earliest date the org still has deletions for.
    #[serde(default)]
    pub earliest_date_available: Option<String>,
    /// The end of the window the answer covers.
    #[serde(default)]
    pub latest_date_covered: Option<String>,
}

/// One entry of [`DeletedRecords`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletedRecord {
    /// Record id.
    pub id: String,
    /// When it was deleted.
    #[serde(default)]
    pub deleted_date: Option<String>,
}

impl SfClient {
    /// `GET /sobjects/{T}/updated?start=&end=`: ids of records changed between `start` and `end`.
    pub async fn updated(
        &self,
        sobject: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<UpdatedRecords, SfError> {
        self.send(window(
            self.data_path(&format!("sobjects/{}/updated", segment(sobject))),
            start,
            end,
        ))
        .await?
        .json("updated records")
    }

    /// `GET /sobjects/{T}/deleted?start=&end=`: records deleted between `start` and `end`.
    pub async fn deleted(
        &self,
        sobject: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<DeletedRecords, SfError> {
        self.send(window(
            self.data_path(&format!("sobjects/{}/deleted", segment(sobject))),
            start,
            end,
        ))
        .await?
        .json("deleted records")
    }
}

fn window(path: String, start: DateTime<Utc>, end: DateTime<Utc>) -> Call {
    Call::get(path)
        .query("start", start.to_rfc3339_opts(SecondsFormat::Millis, true))
        .query("end", end.to_rfc3339_opts(SecondsFormat::Millis, true))
}
