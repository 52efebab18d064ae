//! The `/services/data` REST surface: versions, describe, sObject CRUD/upsert, query, limits.
//!
//! Every route under `/services/data/{version}/` runs behind [`ctx::rest_ctx`] (version check, session,
//! daily allocation, `Sforce-Limit-Info`). Wrong methods answer 405 METHOD_NOT_ALLOWED with the allowed
//! list, as Salesforce does.

pub mod body;
pub mod ctx;
pub mod describe;
pub mod dml;
pub mod query;
pub mod render;
pub mod sobjects;

use crate::error::ApiError;
use crate::state::SimState;
use axum::extract::Request;
use axum::routing::{get, MethodRouter};
use axum::Router;

/// Attach the 405 fallback (METHOD_NOT_ALLOWED listing the allowed methods) to a method router.
pub fn with_405(r: MethodRouter<SimState>, allowed: &'static str) -> MethodRouter<SimState> {
    r.fallback(move |req: Request| async move {
        ApiError::MethodNotAllowed {
            method: req.method().to_string(),
            allowed: allowed.to_string(),
        }
    })
}

/// Routes under `/services/data/{version}` (plus the unversioned list).
pub fn routes(state: SimState) -> Router<SimState> {
    use sobjects as s;
    let v = "/services/data/{version}";
    let versioned = Router::new()
        .route(v, with_405(get(describe::resources), "GET,HEAD"))
        .route(
            &format!("{v}/sobjects"),
            with_405(get(describe::describe_global), "GET,HEAD"),
        )
        .route(
            &format!("{v}/sobjects/{{object}}"),
            with_405(get(describe::basic_info).post(s::create), "GET,HEAD,POST"),
        )
        .route(
            &format!("{v}/sobjects/{{object}}/describe"),
            with_405(get(describe::describe), "GET,HEAD"),
        )
        .route(
            &format!("{v}/sobjects/{{object}}/updated"),
            with_405(
                get(
                    |ctx,
                     axum::extract::Path((ver, t)): axum::extract::Path<(String, String)>,
                     q| {
                        s::changes_feed(ctx, axum::extract::Path((ver, t, "updated".into())), q)
                    },
                ),
                "GET,HEAD",
            ),
        )
        .route(
            &format!("{v}/sobjects/{{object}}/deleted"),
            with_405(
                get(
                    |ctx,
                     axum::extract::Path((ver, t)): axum::extract::Path<(String, String)>,
                     q| {
                        s::changes_feed(ctx, axum::extract::Path((ver, t, "deleted".into())), q)
                    },
                ),
                "GET,HEAD",
            ),
        )
        .route(
            &format!("{v}/sobjects/{{object}}/{{id}}"),
            with_405(
                get(s::get_record)
                    .patch(s::update_record)
                    .delete(s::delete_record)
                    .post(s::post_segment),
                "GET,HEAD,PATCH,DELETE",
            ),
        )
        .route(
            &format!("{v}/sobjects/{{object}}/{{field}}/{{value}}"),
            with_405(
                get(s::get_by_ext).patch(s::upsert).delete(s::delete_by_ext),
                "GET,HEAD,PATCH,DELETE",
            ),
        )
        .route(
            &format!("{v}/query"),
            with_405(get(|ctx, q, h| query::query(ctx, q, h, false)), "GET,HEAD"),
        )
        .route(
            &format!("{v}/queryAll"),
            with_405(get(|ctx, q, h| query::query(ctx, q, h, true)), "GET,HEAD"),
        )
        .route(
            &format!("{v}/query/{{locator}}"),
            with_405(get(query::more), "GET,HEAD"),
        )
        .route(
            &format!("{v}/queryAll/{{locator}}"),
            with_405(get(query::more), "GET,HEAD"),
        )
        .route(
            &format!("{v}/limits"),
            with_405(get(describe::limits), "GET,HEAD"),
        )
        .route_layer(axum::middleware::from_fn_with_state(state, ctx::rest_ctx));
    Router::new()
        .route(
            "/services/data",
            with_405(get(describe::versions), "GET,HEAD"),
        )
        .merge(versioned)
}
