//! Error answers the engine gives in place of a handler, in the shape each API family uses:
//! REST-style JSON arrays (`[{"message","errorCode"}]`) for REST, composite, Bulk 2.0 and CometD,
//! SOAP faults for the partner API, `{"error","error_description"}` for OAuth.

use super::plan::ApiFamily;
use crate::error::{ErrorCodeTag, JSON_CONTENT_TYPE};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error response as `family` would render it, with `status`.
pub fn error_response(
    family: Option<ApiFamily>,
    status: u16,
    code: &str,
    message: &str,
) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = match family {
        Some(ApiFamily::Soap) => {
            let mut r = crate::auth::soap::fault(code, message);
            *r.status_mut() = status;
            return r;
        }
        Some(ApiFamily::Oauth) => json_body(
            status,
            &json!({"error": code.to_ascii_lowercase(), "error_description": message}),
        ),
        _ => json_body(status, &json!([{ "message": message, "errorCode": code }])),
    };
    resp.extensions_mut().insert(ErrorCodeTag(code.to_string()));
    resp
}

fn json_body(status: StatusCode, body: &serde_json::Value) -> Response {
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(JSON_CONTENT_TYPE),
    );
    r
}

/// `Sforce-Limit-Info: api-usage=used/max`, which Salesforce sends on metered answers, refusals
/// included.
pub fn stamp_usage(resp: &mut Response, used: u64, max: u64) {
    resp.headers_mut()
        .insert("sforce-limit-info", crate::rest::ctx::limit_info(used, max));
}
