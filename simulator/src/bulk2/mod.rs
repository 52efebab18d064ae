//! Bulk API 2.0: ingest and query jobs (salesforce-api.md §6).
//!
//! # Layout
//!
//! | module | what lives there |
//! |---|---|
//! | [`job`] | states, operations, CSV dialect, job owner, the job-info JSON |
//! | [`store`] | [`Jobs`]: every job of every org, and the tracker of processing tasks |
//! | [`ingest`] | ingest job handlers: create, upload, close/abort, info, delete, results |
//! | [`upload`] | reading the (streamed) upload under the size limit; indexing it by record |
//! | [`rows`] | header checks, CSV row → field map, row locks, the write of one row |
//! | [`process`] | background processing: 10,000-record batches, 200-record transactions, contention |
//! | [`results`] | `successfulResults`, `failedResults`, `unprocessedrecords`, streamed |
//! | [`query`] | query jobs: create, process, page results with `Sforce-Locator` |
//!
//! Every call is an ordinary metered REST call (the context layer charges one API call each) and
//! carries the job id in its journal note. How a running job competes with real-time traffic is
//! described in [`crate::org::capacity`] and `docs/contention.md`.

pub mod ingest;
pub mod job;
pub mod process;
pub mod query;
pub mod results;
pub mod rows;
pub mod store;
pub mod upload;

pub use store::Jobs;

use crate::error::ApiResult;
use crate::journal::JournalNote;
use crate::rest::ctx::{rest_ctx, Ctx};
use crate::rest::sobjects::json_response;
use crate::rest::with_405;
use crate::state::SimState;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value as Json};
use std::collections::HashMap;
use store::Job;

/// Jobs per page of the job list.
pub const LIST_PAGE: usize = 1_000;

/// Routes of this API family (installed by [`crate::app`]).
pub fn routes(state: SimState) -> Router<SimState> {
    let v = "/services/data/{version}/jobs";
    Router::new()
        .route(
            &format!("{v}/ingest"),
            with_405(
                post(ingest::create).get(|c, q| list(c, q, true)),
                "GET,POST",
            ),
        )
        .route(
            &format!("{v}/ingest/{{id}}"),
            with_405(
                get(ingest::get).patch(ingest::patch).delete(ingest::delete),
                "GET,PATCH,DELETE",
            ),
        )
        .route(
            &format!("{v}/ingest/{{id}}/{{sub}}"),
            with_405(get(ingest::sub_get).put(ingest::sub_put), "GET,PUT"),
        )
        .route(
            &format!("{v}/query"),
            with_405(
                post(query::create).get(|c, q| list(c, q, false)),
                "GET,POST",
            ),
        )
        .route(
            &format!("{v}/query/{{id}}"),
            with_405(
                get(query::get).patch(query::patch).delete(query::delete),
                "GET,PATCH,DELETE",
            ),
        )
        .route(
            &format!("{v}/query/{{id}}/results"),
            with_405(get(query::results), "GET"),
        )
        .route_layer(axum::middleware::from_fn_with_state(state, rest_ctx))
}

/// The journal note of a bulk call.
pub fn note(route: &'static str, object: &str, job: &str) -> JournalNote {
    JournalNote {
        route,
        object: Some(object.to_string()),
        job: Some(job.to_string()),
        ..Default::default()
    }
}

/// `GET /jobs/ingest` and `GET /jobs/query`: the org's jobs, 1,000 per page, oldest first.
async fn list(
    ctx: Ctx,
    Query(q): Query<HashMap<String, String>>,
    ingest: bool,
) -> ApiResult<Response> {
    let offset: usize = q
        .get("queryLocator")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let (page, total) = ctx.state.bulk.page(ctx.org.num, ingest, offset, LIST_PAGE);
    let records: Vec<Json> = page
        .iter()
        .map(|j| {
            let (header, snap) = match j {
                Job::Ingest(j) => (&j.header, j.snapshot()),
                Job::Query(j) => (&j.header, j.snapshot()),
            };
            let mut info = header.info(&snap);
            info["jobType"] = json!(header.job_type);
            info
        })
        .collect();
    let next = offset + page.len();
    let done = next >= total;
    let kind = if ingest { "ingest" } else { "query" };
    let body = json!({
        "done": done,
        "records": records,
        "nextRecordsUrl": if done { Json::Null } else {
            json!(format!("{}/jobs/{kind}?queryLocator={next}", ctx.data_path()))
        },
    });
    let n = JournalNote {
        route: if ingest {
            "bulk2.ingest.list"
        } else {
            "bulk2.query.list"
        },
        rows: Some(records.len() as u64),
        ..Default::default()
    };
    Ok(json_response(StatusCode::OK, &body, n))
}
