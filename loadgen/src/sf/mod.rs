//! A small, honest Salesforce client: REST, composite, Bulk API 2.0 and CometD, speaking exactly the
//! wire protocol of salesforce-api.md and nothing simulator-specific. Used by the harness's actors and
//! by the reference integrations, which talk to the simulator as they would to Salesforce.
//!
//! Honest means:
//! * **one method call = one HTTP request** ([`SfClient::http_calls`] counts them) — no hidden retries,
//!   redirects or re-logins; retrying is the caller's policy (`crate::retry`);
//! * every failure is an [`SfError`] that says how retryable it is ([`SfError::retryability`]);
//! * the latest `Sforce-Limit-Info` is always available ([`SfClient::limit_info`]).
//!
//! # Layout
//!
//! | file | what lives there |
//! |---|---|
//! | `config.rs` | [`SfConfig`], [`LoginMethod`], reading the `SF_*` contract variables |
//! | `client.rs` | [`SfClient`]: the HTTP client, session, call counter, request plumbing |
//! | `auth.rs` | OAuth (password, client credentials, refresh token) and SOAP login, [`Session`] |
//! | `rest.rs` | records, upsert, query, describe, limits, conditional requests |
//! | `composite.rs` | `/composite`, `/composite/batch`, sObject Collections |
//! | `bulk2.rs` | Bulk API 2.0 ingest and query jobs, CSV helpers |
//! | `cometd.rs` | Streaming API (Bayeux long-polling with replay) |
//! | `limits.rs` | `Sforce-Limit-Info` parsing |
//! | `replication.rs` | `/sobjects/{T}/updated` and `/deleted`: what changed in a time window |
//! | `error.rs` | [`SfError`] and its classification |

mod auth;
mod bulk2;
mod client;
mod cometd;
mod composite;
mod config;
mod error;
mod limits;
mod replication;
mod rest;

pub use crate::retry::Retryability;
pub use auth::Session;
pub use bulk2::{
    parse_failed_results, parse_sf_error, BulkOperation, CsvTable, FailedRecord, IngestJob,
    IngestResultSet, JobInfo, JobState, ResultsPage,
};
pub use client::SfClient;
pub use cometd::{CometdEvent, ConnectOutcome, ReplayFrom, StreamingClient};
pub use composite::{
    BatchResponse, BatchResult, BatchSubrequest, CompositeRequest, CompositeSubrequest,
    CompositeSubresponse, MAX_COLLECTION_RECORDS, MAX_COMPOSITE_SUBREQUESTS,
};
pub use config::{LoginMethod, SfConfig, DEFAULT_API_VERSION, DEFAULT_TIMEOUT};
pub use error::{classify, ApiErrorItem, SfError, TransportKind};
pub use limits::{AppUsage, LimitInfo};
pub use replication::{DeletedRecord, DeletedRecords, UpdatedRecords};
pub use rest::{
    http_date, parse_sf_datetime, Conditional, DescribeGlobal, FieldDescribe, Limit, PicklistValue,
    Preconditions, QueryResult, Record, SObjectDescribe, SObjectSummary, SaveResult, UpsertResult,
};
