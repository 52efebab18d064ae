//! `/composite`, `/composite/batch`, `/composite/tree/{T}` and sObject Collections
//! (salesforce-api.md §5).
//!
//! # Layout
//!
//! | module | what lives there |
//! |---|---|
//! | [`mod@unit`] | [`unit::Unit`]: one transaction over several awaited steps (allOrNone, rollback) |
//! | [`ops`] | single-record writes inside a unit, through `rest::dml` |
//! | [`collections`] | `/composite/sobjects`: create, update, upsert, delete, retrieve (≤ 200 records) |
//! | [`subrequest`] | parsing and running one subrequest of `/composite` or `/composite/batch` |
//! | [`mod@reference`] | `@{ref.field}` / `@{ref.records[0].Id}` resolution |
//! | [`graph`] | `/composite` (≤ 25 dependent subrequests, one API call) |
//! | [`batch`] | `/composite/batch` (≤ 25 independent subrequests, each one API call) |
//! | [`tree`] | `/composite/tree/{T}` (≤ 200 nested records, all or nothing) |
//! | [`journal`] | one journal entry per subrequest, linked to the outer request |
//!
//! Every write goes through the same validation and write path as the REST sObject routes, and
//! through the org's processing capacity and row locks (see [`crate::org::capacity`]). Per-item fault
//! decisions ([`crate::faults::hooks::Faults::item_failure`]) are asked for every record and
//! subrequest before it runs.

pub mod batch;
pub mod collections;
pub mod graph;
pub mod journal;
pub mod ops;
pub mod reference;
pub mod subrequest;
pub mod tree;
pub mod unit;

use crate::error::ApiError;
use crate::faults::hooks::Probe;
use crate::journal::Api;
use crate::org::store::Writer;
use crate::rest::ctx::{rest_ctx, Ctx};
use crate::rest::with_405;
use crate::state::SimState;
use axum::extract::DefaultBodyLimit;
use axum::routing::{patch, post};
use axum::Router;

/// Records per sObject Collections call and per composite tree.
pub const MAX_RECORDS: usize = 200;
/// Subrequests per `/composite` or `/composite/batch` call.
pub const MAX_SUBREQUESTS: usize = 25;
/// Of those, how many may be collections or queries.
pub const MAX_COLLECTION_SUBREQUESTS: usize = 5;

/// Routes of this API family (installed by [`crate::app`]).
pub fn routes(state: SimState) -> Router<SimState> {
    let v = "/services/data/{version}";
    Router::new()
        .route(
            &format!("{v}/composite"),
            with_405(post(graph::composite), "POST"),
        )
        .route(
            &format!("{v}/composite/batch"),
            with_405(post(batch::batch), "POST"),
        )
        .route(
            &format!("{v}/composite/tree/{{object}}"),
            with_405(post(tree::tree), "POST"),
        )
        .route(
            &format!("{v}/composite/sobjects"),
            with_405(
                post(collections::create)
                    .patch(collections::update)
                    .delete(collections::delete),
                "POST,PATCH,DELETE",
            ),
        )
        .route(
            &format!("{v}/composite/sobjects/{{object}}"),
            with_405(
                axum::routing::get(collections::retrieve_get).post(collections::retrieve_post),
                "GET,POST",
            ),
        )
        .route(
            &format!("{v}/composite/sobjects/{{object}}/{{field}}"),
            with_405(patch(collections::upsert), "PATCH"),
        )
        .layer(DefaultBodyLimit::max(state.config.max_json_body))
        .route_layer(axum::middleware::from_fn_with_state(state, rest_ctx))
}

/// What a composite-family call carries to its items: who calls, and how fault rules see it.
pub struct Call<'a> {
    pub ctx: &'a Ctx,
    pub writer: Writer,
    pub identity: String,
    pub method: &'a str,
    pub path: &'a str,
}

impl<'a> Call<'a> {
    pub fn new(ctx: &'a Ctx, method: &'a str, path: &'a str) -> Call<'a> {
        Call {
            ctx,
            writer: ctx.writer("rest"),
            identity: ctx.identity(),
            method,
            path,
        }
    }

    fn probe<'p>(&'p self, object: Option<&'p str>) -> Probe<'p> {
        Probe {
            api: Api::Composite,
            object,
            client: Some(&self.identity),
            method: self.method,
            path: self.path,
            now: self.ctx.state.clock.elapsed(),
        }
    }

    /// The injected failure for item `index` (`key`: its id or external id), if a rule says so.
    pub fn item_failure(
        &self,
        object: Option<&str>,
        index: usize,
        key: Option<&str>,
    ) -> Option<ApiError> {
        self.ctx
            .state
            .faults
            .item_failure(&self.probe(object), index, key)
    }

    pub fn now_ms(&self) -> i64 {
        self.ctx.now_ms()
    }
}
