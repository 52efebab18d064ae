//! REST resources: records, upsert by external id, SOQL, describe and limits (salesforce-api.md §2, §4),
//! plus conditional requests (§2.5) — the tool an integration uses to avoid overwriting a record someone
//! else changed since it last read it.

use chrono::{DateTime, NaiveDateTime, Utc};
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

use super::client::{Call, Reply, SfClient};
use super::error::{ApiErrorItem, SfError};

/// Characters escaped in one URL path segment (external id values may contain anything).
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'\\')
    .add(b'^')
    .add(b'|')
    .add(b'[')
    .add(b']')
    .add(b'+')
    .add(b'&');

pub(crate) fn segment(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// Outcome of a create, update or delete of one record (REST create bodies and collection items).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaveResult {
    /// Record id (absent on failed inserts).
    #[serde(default)]
    pub id: Option<String>,
    /// Whether this record was saved.
    #[serde(default)]
    pub success: bool,
    /// Per-record errors (`statusCode`, `message`, `fields`). A successful platform-event publish
    /// carries an informational `OPERATION_ENQUEUED` entry here.
    #[serde(default)]
    pub errors: Vec<ApiErrorItem>,
    /// For upserts: whether the record was inserted.
    #[serde(default)]
    pub created: Option<bool>,
}

/// Outcome of an upsert by external id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpsertResult {
    /// Record id (empty when an old API version answered 204).
    pub id: String,
    /// `true` for an insert, `false` for an update of an existing record.
    pub created: bool,
}

/// A record as returned by `GET`, with the validators needed for a conditional write.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The JSON fields (including `attributes`).
    pub fields: Map<String, Value>,
    /// `ETag` response header (Salesforce sends it on Account rows).
    pub etag: Option<String>,
    /// `Last-Modified` response header, when sent.
    pub last_modified: Option<String>,
}

impl Record {
    /// The record id.
    pub fn id(&self) -> Option<&str> {
        self.fields.get("Id").and_then(Value::as_str)
    }

    /// One field.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields.get(name)
    }

    /// The `LastModifiedDate` field, parsed.
    pub fn last_modified_date(&self) -> Option<DateTime<Utc>> {
        self.fields
            .get("LastModifiedDate")
            .and_then(Value::as_str)
            .and_then(parse_sf_datetime)
    }
}

/// Conditional-request headers (salesforce-api.md §2.5).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preconditions {
    /// `If-Match`: write only if the ETag still matches (else 412).
    pub if_match: Option<String>,
    /// `If-None-Match`: read returns 304 when it matches.
    pub if_none_match: Option<String>,
    /// `If-Modified-Since` (HTTP-date): read returns 304 when unchanged.
    pub if_modified_since: Option<String>,
    /// `If-Unmodified-Since` (HTTP-date): write fails 412 when changed since.
    pub if_unmodified_since: Option<String>,
}

impl Preconditions {
    /// `If-Match: <etag>`.
    pub fn if_match(etag: impl Into<String>) -> Self {
        Self {
            if_match: Some(etag.into()),
            ..Self::default()
        }
    }

    /// `If-Unmodified-Since: <t>`. HTTP dates have one-second resolution, so a change within the same
    /// second as `t` is not detected — Salesforce's semantics, not ours.
    pub fn if_unmodified_since(t: DateTime<Utc>) -> Self {
        Self {
            if_unmodified_since: Some(http_date(t)),
            ..Self::default()
        }
    }

    /// `If-Modified-Since: <t>`.
    pub fn if_modified_since(t: DateTime<Utc>) -> Self {
        Self {
            if_modified_since: Some(http_date(t)),
            ..Self::default()
        }
    }

    /// The strongest guard a record's validators allow: its ETag, else its `LastModifiedDate`.
    pub fn unchanged_since_read(record: &Record) -> Self {
        match (&record.etag, record.last_modified_date()) {
            (Some(etag), _) => Self::if_match(etag.clone()),
            (None, Some(t)) => Self::if_unmodified_since(t),
            (None, None) => Self::default(),
        }
    }

    fn apply(&self, mut call: Call) -> Call {
        let pairs = [
            ("If-Match", &self.if_match),
            ("If-None-Match", &self.if_none_match),
            ("If-Modified-Since", &self.if_modified_since),
            ("If-Unmodified-Since", &self.if_unmodified_since),
        ];
        for (name, value) in pairs {
            if let Some(v) = value {
                call = call.header(name, v.clone());
            }
        }
        call
    }
}

/// The answer to a conditional read.
#[derive(Debug, Clone, PartialEq)]
pub enum Conditional<T> {
    /// The resource changed (or no precondition applied).
    Modified(T),
    /// 304: the copy the caller holds is current.
    NotModified,
}

/// Format an HTTP-date (`Tue, 10 Aug 2015 00:00:00 GMT`).
pub fn http_date(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// Parse Salesforce's datetime output (`2024-01-15T10:30:00.000+0000`), also accepting RFC 3339.
pub fn parse_sf_datetime(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z")
        .or_else(|_| DateTime::parse_from_rfc3339(s))
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(s.trim_end_matches('Z'), "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|n| n.and_utc())
        })
}

/// One page of a SOQL result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryResult {
    /// Rows matching the whole query (same on every page).
    pub total_size: u64,
    /// Whether this is the last page.
    pub done: bool,
    /// Server-relative URL of the next page.
    #[serde(default)]
    pub next_records_url: Option<String>,
    /// The rows of this page.
    #[serde(default)]
    pub records: Vec<Value>,
}

/// `GET /sobjects`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeGlobal {
    /// Character encoding.
    #[serde(default)]
    pub encoding: String,
    /// Maximum records per call.
    #[serde(default)]
    pub max_batch_size: u32,
    /// One entry per object.
    #[serde(default)]
    pub sobjects: Vec<SObjectSummary>,
}

/// An object in describe-global.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SObjectSummary {
    /// API name.
    pub name: String,
    /// Label.
    #[serde(default)]
    pub label: String,
    /// 3-character id prefix.
    #[serde(default)]
    pub key_prefix: Option<String>,
    /// Custom object.
    #[serde(default)]
    pub custom: bool,
    /// Records can be created.
    #[serde(default)]
    pub createable: bool,
    /// Records can be updated.
    #[serde(default)]
    pub updateable: bool,
    /// Records can be deleted.
    #[serde(default)]
    pub deletable: bool,
    /// Can be queried.
    #[serde(default)]
    pub queryable: bool,
}

/// `GET /sobjects/{T}/describe` — the parts an integration maps fields with; the full JSON is kept in
/// `raw` for anything else.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SObjectDescribe {
    /// API name.
    pub name: String,
    /// Label.
    #[serde(default)]
    pub label: String,
    /// Id prefix.
    #[serde(default)]
    pub key_prefix: Option<String>,
    /// Records can be created.
    #[serde(default)]
    pub createable: bool,
    /// Records can be updated.
    #[serde(default)]
    pub updateable: bool,
    /// The fields.
    #[serde(default)]
    pub fields: Vec<FieldDescribe>,
    /// The whole body.
    #[serde(skip)]
    pub raw: Value,
}

impl SObjectDescribe {
    /// A field by name, case-insensitively (as Salesforce matches names).
    pub fn field(&self, name: &str) -> Option<&FieldDescribe> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }
}

/// One field of a describe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldDescribe {
    /// API name.
    pub name: String,
    /// Field type (`string`, `picklist`, `reference`, …).
    #[serde(rename = "type", default)]
    pub field_type: String,
    /// Label.
    #[serde(default)]
    pub label: String,
    /// Max length for text types.
    #[serde(default)]
    pub length: u32,
    /// Accepts null.
    #[serde(default)]
    pub nillable: bool,
    /// Settable on insert.
    #[serde(default)]
    pub createable: bool,
    /// Settable on update.
    #[serde(default)]
    pub updateable: bool,
    /// Given a default on insert.
    #[serde(default)]
    pub defaulted_on_create: bool,
    /// An external-id field.
    #[serde(default)]
    pub external_id: bool,
    /// Custom field.
    #[serde(default)]
    pub custom: bool,
    /// Only listed picklist values accepted.
    #[serde(default)]
    pub restricted_picklist: bool,
    /// Picklist values.
    #[serde(default)]
    pub picklist_values: Vec<PicklistValue>,
    /// Target objects of a reference.
    #[serde(default)]
    pub reference_to: Vec<String>,
}

/// A picklist entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PicklistValue {
    /// API value.
    pub value: String,
    /// Label.
    #[serde(default)]
    pub label: Option<String>,
    /// Active.
    #[serde(default)]
    pub active: bool,
}

/// One `/limits` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limit {
    /// The allocation.
    #[serde(rename = "Max")]
    pub max: i64,
    /// What is left.
    #[serde(rename = "Remaining")]
    pub remaining: i64,
}

impl SfClient {
    /// `POST /sobjects/{T}` → 201 with the new id.
    pub async fn create(&self, sobject: &str, fields: &Value) -> Result<SaveResult, SfError> {
        let call = Call::new(
            Method::POST,
            self.data_path(&format!("sobjects/{}", segment(sobject))),
        )
        .json(fields)?;
        self.send(call).await?.json("create result")
    }

    /// `GET /sobjects/{T}/{id}[?fields=…]` (an empty `fields` returns every readable field).
    pub async fn get(&self, sobject: &str, id: &str, fields: &[&str]) -> Result<Record, SfError> {
        match self
            .get_if(sobject, id, fields, &Preconditions::default())
            .await?
        {
            Conditional::Modified(r) => Ok(r),
            Conditional::NotModified => {
                Err(SfError::decode("record", "304 without a precondition"))
            }
        }
    }

    /// Conditional read: `If-None-Match` / `If-Modified-Since` may answer [`Conditional::NotModified`].
    pub async fn get_if(
        &self,
        sobject: &str,
        id: &str,
        fields: &[&str],
        pre: &Preconditions,
    ) -> Result<Conditional<Record>, SfError> {
        let path = self.data_path(&format!("sobjects/{}/{}", segment(sobject), segment(id)));
        let call = pre
            .apply(with_fields(Call::get(path), fields))
            .also_ok(&[304]);
        record_reply(self.send(call).await?)
    }

    /// `PATCH /sobjects/{T}/{id}` → 204.
    pub async fn update(&self, sobject: &str, id: &str, fields: &Value) -> Result<(), SfError> {
        self.update_if(sobject, id, fields, &Preconditions::default())
            .await
    }

    /// Conditional update: with `If-Match` / `If-Unmodified-Since`, a record changed since the caller's
    /// read fails with 412 instead of being overwritten.
    pub async fn update_if(
        &self,
        sobject: &str,
        id: &str,
        fields: &Value,
        pre: &Preconditions,
    ) -> Result<(), SfError> {
        let path = self.data_path(&format!("sobjects/{}/{}", segment(sobject), segment(id)));
        let call = pre.apply(Call::new(Method::PATCH, path).json(fields)?);
        self.send(call).await.map(drop)
    }

    /// `DELETE /sobjects/{T}/{id}` → 204.
    pub async fn delete(&self, sobject: &str, id: &str) -> Result<(), SfError> {
        let path = self.data_path(&format!("sobjects/{}/{}", segment(sobject), segment(id)));
        self.send(Call::new(Method::DELETE, path)).await.map(drop)
    }

    /// `PATCH /sobjects/{T}/{Ext}/{value}`: insert (201, `created: true`) or update (200, `false`).
    /// `fields` must not contain the external id field itself.
    pub async fn upsert(
        &self,
        sobject: &str,
        ext_field: &str,
        ext_value: &str,
        fields: &Value,
    ) -> Result<UpsertResult, SfError> {
        let path = self.data_path(&format!(
            "sobjects/{}/{}/{}",
            segment(sobject),
            segment(ext_field),
            segment(ext_value)
        ));
        let reply = self
            .send(Call::new(Method::PATCH, path).json(fields)?)
            .await?;
        if reply.body.is_empty() {
            // API ≤ 45.0 answers an update with 204 and no body.
            return Ok(UpsertResult {
                id: String::new(),
                created: reply.status == 201,
            });
        }
        let r: SaveResult = reply.json("upsert result")?;
        Ok(UpsertResult {
            id: r.id.unwrap_or_default(),
            created: r.created.unwrap_or(reply.status == 201),
        })
    }

    /// `GET /sobjects/{T}/{Ext}/{value}` (300 when several records match → `SfError::Api`).
    pub async fn get_by_external_id(
        &self,
        sobject: &str,
        ext_field: &str,
        ext_value: &str,
        fields: &[&str],
    ) -> Result<Record, SfError> {
        let path = self.data_path(&format!(
            "sobjects/{}/{}/{}",
            segment(sobject),
            segment(ext_field),
            segment(ext_value)
        ));
        match record_reply(self.send(with_fields(Call::get(path), fields)).await?)? {
            Conditional::Modified(r) => Ok(r),
            Conditional::NotModified => Err(SfError::decode("record", "unexpected 304")),
        }
    }

    /// `DELETE /sobjects/{T}/{Ext}/{value}` → 204.
    pub async fn delete_by_external_id(
        &self,
        sobject: &str,
        ext_field: &str,
        ext_value: &str,
    ) -> Result<(), SfError> {
        let path = self.data_path(&format!(
            "sobjects/{}/{}/{}",
            segment(sobject),
            segment(ext_field),
            segment(ext_value)
        ));
        self.send(Call::new(Method::DELETE, path)).await.map(drop)
    }

    /// `GET /query?q=` — the first page.
    pub async fn query(&self, soql: &str) -> Result<QueryResult, SfError> {
        let call = Call::get(self.data_path("query")).query("q", soql);
        self.send(call).await?.json("query result")
    }

    /// `GET /queryAll?q=` — includes deleted and archived rows.
    pub async fn query_include_deleted(&self, soql: &str) -> Result<QueryResult, SfError> {
        let call = Call::get(self.data_path("queryAll")).query("q", soql);
        self.send(call).await?.json("query result")
    }

    /// Follow a `nextRecordsUrl` (server-relative, as Salesforce sends it).
    pub async fn query_more(&self, next_records_url: &str) -> Result<QueryResult, SfError> {
        self.send(Call::get(next_records_url))
            .await?
            .json("query result")
    }

    /// Run a query and follow every `nextRecordsUrl`: one HTTP call per page.
    pub async fn query_all(&self, soql: &str) -> Result<Vec<Value>, SfError> {
        let mut page = self.query(soql).await?;
        let mut records = std::mem::take(&mut page.records);
        while let (false, Some(next)) = (page.done, page.next_records_url.take()) {
            page = self.query_more(&next).await?;
            records.append(&mut page.records);
        }
        Ok(records)
    }

    /// `GET /sobjects`.
    pub async fn describe_global(&self) -> Result<DescribeGlobal, SfError> {
        self.send(Call::get(self.data_path("sobjects")))
            .await?
            .json("describe global")
    }

    /// `GET /sobjects/{T}/describe`.
    pub async fn describe(&self, sobject: &str) -> Result<SObjectDescribe, SfError> {
        let path = self.data_path(&format!("sobjects/{}/describe", segment(sobject)));
        let reply = self.send(Call::get(path)).await?;
        let raw: Value = reply.json("describe")?;
        let mut d: SObjectDescribe =
            serde_json::from_value(raw.clone()).map_err(|e| SfError::decode("describe", e))?;
        d.raw = raw;
        Ok(d)
    }

    /// `GET /limits`.
    pub async fn limits(&self) -> Result<BTreeMap<String, Limit>, SfError> {
        self.send(Call::get(self.data_path("limits")))
            .await?
            .json("limits")
    }
}

fn with_fields(call: Call, fields: &[&str]) -> Call {
    if fields.is_empty() {
        call
    } else {
        call.query("fields", fields.join(","))
    }
}

fn record_reply(reply: Reply) -> Result<Conditional<Record>, SfError> {
    if reply.status == 304 {
        return Ok(Conditional::NotModified);
    }
    let fields: Map<String, Value> = reply.json("record")?;
    Ok(Conditional::Modified(Record {
        fields,
        etag: reply.header("etag").map(str::to_string),
        last_modified: reply.header("last-modified").map(str::to_string),
    }))
}
