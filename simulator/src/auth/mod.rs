//! Authentication: SOAP partner login, OAuth token/revoke, the identity URL, and sessions.

pub mod oauth;
pub mod session;
pub mod soap;

use crate::rest::with_405;
use crate::state::SimState;
use axum::routing::{get, post};
use axum::Router;

pub fn routes() -> Router<SimState> {
    Router::new()
        .route(
            "/services/Soap/u/{version}",
            with_405(post(soap::handle), "POST"),
        )
        .route(
            "/services/Soap/u/{version}/{org}",
            with_405(
                post(
                    |s,
                     axum::extract::Path((v, _org)): axum::extract::Path<(String, String)>,
                     h,
                     m,
                     b| { soap::handle(s, axum::extract::Path(v), h, m, b) },
                ),
                "POST",
            ),
        )
        .route(
            "/services/oauth2/token",
            with_405(post(oauth::token), "POST"),
        )
        .route(
            "/services/oauth2/revoke",
            with_405(post(oauth::revoke).get(oauth::revoke), "GET,POST"),
        )
        .route(
            "/services/oauth2/userinfo",
            with_405(get(oauth::userinfo).post(oauth::userinfo), "GET,POST"),
        )
        .route(
            "/id/{org}/{user}",
            with_405(get(oauth::identity), "GET,HEAD"),
        )
}
