//! The composite family (salesforce-api.md §5): `/composite` (≤ 25 subrequests, one API call,
//! referenceIds, allOrNone), `/composite/batch` (≤ 25, each counted), and sObject Collections
//! (≤ 200 records, one call). All three answer 200 with per-item outcomes, so an HTTP success says
//! nothing about the items: callers must read every item — ignoring them is the `partial-failures`
//! anti-pattern the scorer looks for.

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::client::{Call, SfClient};
use super::error::{parse_error_items, ApiErrorItem, SfError};
use super::rest::{segment, SaveResult, UpsertResult};

/// Subrequests per `/composite` or `/composite/batch` call.
pub const MAX_COMPOSITE_SUBREQUESTS: usize = 25;
/// Records per sObject Collections call.
pub const MAX_COLLECTION_RECORDS: usize = 200;

/// One `/composite` subrequest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompositeSubrequest {
    /// `GET`, `POST`, `PATCH`, `PUT` or `DELETE`.
    pub method: String,
    /// Must start with `/services/data/vXX.X/`; may contain `@{ref.field}`.
    pub url: String,
    /// Alphanumeric/underscore, starting alphanumeric.
    pub reference_id: String,
    /// Body for writes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// Extra headers (not Accept/Authorization/Content-Type).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_headers: Option<Map<String, Value>>,
}

impl CompositeSubrequest {
    /// A subrequest without body or headers.
    pub fn new(method: &str, url: impl Into<String>, reference_id: impl Into<String>) -> Self {
        Self {
            method: method.to_string(),
            url: url.into(),
            reference_id: reference_id.into(),
            body: None,
            http_headers: None,
        }
    }

    /// Attach a body.
    pub fn with_body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }
}

/// A `/composite` request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompositeRequest {
    /// Roll everything back if any subrequest fails.
    pub all_or_none: bool,
    /// Let Salesforce group independent subrequests.
    pub collate_subrequests: bool,
    /// The subrequests, at most 25.
    pub composite_request: Vec<CompositeSubrequest>,
}

/// One `/composite` subresponse.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompositeSubresponse {
    /// The subrequest's body (a record, a save result, or an error array).
    #[serde(default)]
    pub body: Value,
    /// Headers such as `Location`.
    #[serde(default)]
    pub http_headers: Map<String, Value>,
    /// The subrequest's own status.
    pub http_status_code: u16,
    /// Echo of the subrequest's referenceId.
    pub reference_id: String,
}

impl CompositeSubresponse {
    /// Whether the subrequest succeeded.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.http_status_code)
    }

    /// The subrequest's errors (empty on success). `PROCESSING_HALTED` marks items that did not fail
    /// themselves but were rolled back or depended on a failure.
    pub fn errors(&self) -> Vec<ApiErrorItem> {
        if self.is_success() {
            return Vec::new();
        }
        serde_json::to_vec(&self.body)
            .map(|b| parse_error_items(&b))
            .unwrap_or_default()
    }
}

/// One `/composite/batch` subrequest (`url` is relative to `/services/data/`, e.g. `v62.0/sobjects/…`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchSubrequest {
    /// HTTP method.
    pub method: String,
    /// `vXX.X/…`.
    pub url: String,
    /// Body for writes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rich_input: Option<Value>,
}

/// A `/composite/batch` reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchResponse {
    /// Whether any item failed.
    pub has_errors: bool,
    /// Items in request order.
    pub results: Vec<BatchResult>,
}

/// One `/composite/batch` item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchResult {
    /// The item's status (412 `BATCH_PROCESSING_HALTED` after a halt).
    pub status_code: u16,
    /// The item's body.
    #[serde(default)]
    pub result: Value,
}

impl SfClient {
    /// `POST /composite`: one API call for up to 25 dependent subrequests.
    pub async fn composite(
        &self,
        request: &CompositeRequest,
    ) -> Result<Vec<CompositeSubresponse>, SfError> {
        check_len(
            "composite subrequests",
            request.composite_request.len(),
            MAX_COMPOSITE_SUBREQUESTS,
        )?;
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Reply {
            composite_response: Vec<CompositeSubresponse>,
        }
        let call = Call::new(Method::POST, self.data_path("composite")).json(request)?;
        let reply: Reply = self.send(call).await?.json("composite response")?;
        Ok(reply.composite_response)
    }

    /// `POST /composite/batch`: up to 25 independent subrequests, each counted as an API call.
    pub async fn composite_batch(
        &self,
        halt_on_error: bool,
        requests: &[BatchSubrequest],
    ) -> Result<BatchResponse, SfError> {
        check_len(
            "batch subrequests",
            requests.len(),
            MAX_COMPOSITE_SUBREQUESTS,
        )?;
        let body = json!({"haltOnError": halt_on_error, "batchRequests": requests});
        let call = Call::new(Method::POST, self.data_path("composite/batch")).json(&body)?;
        self.send(call).await?.json("composite batch response")
    }

    /// `POST /composite/sobjects`: insert up to 200 records of `sobject`. Results are in input order.
    pub async fn collections_create(
        &self,
        sobject: &str,
        records: &[Value],
        all_or_none: bool,
    ) -> Result<Vec<SaveResult>, SfError> {
        let body = collection_body(sobject, records, all_or_none)?;
        let call = Call::new(Method::POST, self.data_path("composite/sobjects")).json(&body)?;
        self.send(call).await?.json("collection results")
    }

    /// `PATCH /composite/sobjects`: update up to 200 records (each must carry `Id`).
    pub async fn collections_update(
        &self,
        sobject: &str,
        records: &[Value],
        all_or_none: bool,
    ) -> Result<Vec<SaveResult>, SfError> {
        let body = collection_body(sobject, records, all_or_none)?;
        let call = Call::new(Method::PATCH, self.data_path("composite/sobjects")).json(&body)?;
        self.send(call).await?.json("collection results")
    }

    /// `PATCH /composite/sobjects/{T}/{Ext}`: upsert up to 200 records by external id (each carries it).
    pub async fn collections_upsert(
        &self,
        sobject: &str,
        ext_field: &str,
        records: &[Value],
        all_or_none: bool,
    ) -> Result<Vec<SaveResult>, SfError> {
        let body = collection_body(sobject, records, all_or_none)?;
        let path = self.data_path(&format!(
            "composite/sobjects/{}/{}",
            segment(sobject),
            segment(ext_field)
        ));
        let call = Call::new(Method::PATCH, path).json(&body)?;
        self.send(call).await?.json("collection results")
    }

    /// `DELETE /composite/sobjects?ids=…&allOrNone=…`: delete up to 200 records.
    pub async fn collections_delete(
        &self,
        ids: &[&str],
        all_or_none: bool,
    ) -> Result<Vec<SaveResult>, SfError> {
        check_len("collection records", ids.len(), MAX_COLLECTION_RECORDS)?;
        let call = Call::new(Method::DELETE, self.data_path("composite/sobjects"))
            .query("ids", ids.join(","))
            .query("allOrNone", all_or_none.to_string());
        self.send(call).await?.json("collection results")
    }
}

impl SaveResult {
    /// The upsert view of a collection-upsert item (`None` when it failed).
    pub fn as_upsert(&self) -> Option<UpsertResult> {
        if !self.success {
            return None;
        }
        Some(UpsertResult {
            id: self.id.clone().unwrap_or_default(),
            created: self.created.unwrap_or(false),
        })
    }
}

fn check_len(what: &str, len: usize, max: usize) -> Result<(), SfError> {
    if len > max {
        return Err(SfError::InvalidRequest(format!(
            "{len} {what} in one call; Salesforce accepts at most {max}"
        )));
    }
    Ok(())
}

/// `{"allOrNone":…, "records":[…]}` with `attributes.type` filled in where missing.
fn collection_body(sobject: &str, records: &[Value], all_or_none: bool) -> Result<Value, SfError> {
    check_len("collection records", records.len(), MAX_COLLECTION_RECORDS)?;
    let mut out = Vec::with_capacity(records.len());
    for record in records {
        let Value::Object(fields) = record else {
            return Err(SfError::InvalidRequest(
                "collection records must be JSON objects".to_string(),
            ));
        };
        let mut fields = fields.clone();
        if !fields.contains_key("attributes") {
            fields.insert("attributes".to_string(), json!({ "type": sobject }));
        }
        out.push(Value::Object(fields));
    }
    Ok(json!({"allOrNone": all_or_none, "records": out}))
}
