//! The JSON body extractor: malformed input gets Salesforce's JSON_PARSER_ERROR body, not axum's text.

use crate::error::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde_json::{Map, Value as Json};

/// A parsed JSON body.
pub struct SfJson(pub Json);

/// Salesforce (Jackson) style position suffix.
pub fn parse_error(e: &serde_json::Error, body: &[u8]) -> ApiError {
    if body.iter().all(u8::is_ascii_whitespace) {
        return ApiError::JsonParser(
            "No content to map due to end-of-input at [line:1, column:0]".into(),
        );
    }
    let msg = e.to_string();
    let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
    ApiError::JsonParser(format!(
        "{msg} at [line:{}, column:{}]",
        e.line(),
        e.column()
    ))
}

impl<S: Send + Sync> FromRequest<S> for SfJson {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::BodyTooLarge {
                    limit: crate::state::SimConfig::default().max_json_body,
                }
            } else {
                ApiError::BadRequest(e.body_text())
            }
        })?;
        serde_json::from_slice(&bytes)
            .map(SfJson)
            .map_err(|e| parse_error(&e, &bytes))
    }
}

impl SfJson {
    /// The body as an object, or Jackson's complaint about what it was instead.
    pub fn object(self) -> Result<Map<String, Json>, ApiError> {
        match self.0 {
            Json::Object(m) => Ok(m),
            other => Err(ApiError::JsonParser(format!(
                "Cannot deserialize instance of complexvalue from {} value {} or request may be missing a required field at [line:1, column:1]",
                match other {
                    Json::Array(_) => "START_ARRAY",
                    Json::String(_) => "VALUE_STRING",
                    Json::Number(_) => "VALUE_NUMBER_INT",
                    Json::Bool(_) => "VALUE_TRUE",
                    _ => "VALUE_NULL",
                },
                if matches!(other, Json::Array(_)) { "[".to_string() } else { other.to_string() }
            ))),
        }
    }
}
