//! The one error type of the REST surface, rendered exactly as Salesforce renders errors.
//!
//! Salesforce answers REST errors with a JSON **array** of `{"message","errorCode","fields"}`; real
//! clients depend on that shape (simple-salesforce indexes `[0]['errorCode']` on every 401, jsforce
//! treats an array whose first element has `errorCode` as an error even on 2xx). Per-record results
//! (collections, composite tree, bulk rows) use `statusCode` instead of `errorCode`; see
//! [`ApiError::record_error`].
//!
//! Each variant maps to one status and one errorCode in [`ApiError::parts`]; the message wording follows
//! Salesforce's (salesforce-api.md §3).

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The `errorCode` carried into the journal through response extensions, so the journal layer can record
/// what a handler answered without re-parsing bodies.
#[derive(Debug, Clone)]
pub struct ErrorCodeTag(pub String);

/// A REST error as Salesforce reports it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    #[error("Session expired or invalid")]
    InvalidSession,
    #[error("INVALID_HEADER_TYPE")]
    InvalidAuthHeader,
    #[error("The requested resource does not exist")]
    NotFound,
    #[error("{0}")]
    NotFoundMessage(String),
    #[error("entity is deleted")]
    EntityIsDeleted,
    #[error("{message}")]
    MalformedId {
        message: String,
        fields: Vec<String>,
    },
    #[error("{0}")]
    MalformedQuery(String),
    #[error("{message}")]
    InvalidField {
        message: String,
        fields: Vec<String>,
    },
    #[error("{0}")]
    InvalidType(String),
    #[error("{message}")]
    InvalidFieldForInsertUpdate {
        message: String,
        fields: Vec<String>,
    },
    #[error("Required fields are missing: [{}]", .0.join(", "))]
    RequiredFieldMissing(Vec<String>),
    #[error("{message}")]
    DuplicateValue {
        message: String,
        fields: Vec<String>,
    },
    #[error("{message}")]
    InvalidPicklist {
        message: String,
        fields: Vec<String>,
    },
    #[error("{message}")]
    StringTooLong {
        message: String,
        fields: Vec<String>,
    },
    #[error("{message}")]
    InvalidEmail {
        message: String,
        fields: Vec<String>,
    },
    #[error("{message}")]
    NumberOutsideRange {
        message: String,
        fields: Vec<String>,
    },
    #[error("{message}")]
    InvalidCrossReference {
        message: String,
        fields: Vec<String>,
    },
    #[error("{0}")]
    JsonParser(String),
    #[error("{0}")]
    InvalidSearch(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("HTTP Method '{method}' not allowed. Allowed are {allowed}")]
    MethodNotAllowed { method: String, allowed: String },
    #[error("{0}")]
    RequestLimitExceeded(String),
    #[error("{0}")]
    UnableToLockRow(String),
    #[error("{0}")]
    InvalidQueryLocator(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("Request body too large: the limit is {limit} bytes")]
    BodyTooLarge { limit: usize },
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    ApiVersionRetired(String),
    #[error("{0}")]
    ServerUnavailable(String),
    #[error("Updates can't be made during maintenance. Try again when maintenance is complete.")]
    Maintenance,
    #[error("{0}")]
    EntityNotSupported(String),
    #[error("{0}")]
    InsufficientAccess(String),
    #[error("{0}")]
    Internal(String),
    /// Anything else: an injected fault or a rare code, with its own status.
    #[error("{message}")]
    Custom {
        status: u16,
        code: String,
        message: String,
        fields: Vec<String>,
    },
}

impl ApiError {
    /// Status, errorCode and `fields` of this error. The single source of truth for the mapping.
    pub fn parts(&self) -> (StatusCode, &str, &[String]) {
        use ApiError::*;
        const NONE: &[String] = &[];
        match self {
            InvalidSession => (StatusCode::UNAUTHORIZED, "INVALID_SESSION_ID", NONE),
            InvalidAuthHeader => (StatusCode::UNAUTHORIZED, "INVALID_AUTH_HEADER", NONE),
            NotFound | NotFoundMessage(_) => (StatusCode::NOT_FOUND, "NOT_FOUND", NONE),
            EntityIsDeleted => (StatusCode::NOT_FOUND, "ENTITY_IS_DELETED", NONE),
            MalformedId { fields, .. } => (StatusCode::BAD_REQUEST, "MALFORMED_ID", fields),
            MalformedQuery(_) => (StatusCode::BAD_REQUEST, "MALFORMED_QUERY", NONE),
            InvalidField { fields, .. } => (StatusCode::BAD_REQUEST, "INVALID_FIELD", fields),
            InvalidType(_) => (StatusCode::BAD_REQUEST, "INVALID_TYPE", NONE),
            InvalidFieldForInsertUpdate { fields, .. } => (
                StatusCode::BAD_REQUEST,
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                fields,
            ),
            RequiredFieldMissing(fields) => {
                (StatusCode::BAD_REQUEST, "REQUIRED_FIELD_MISSING", fields)
            }
            DuplicateValue { fields, .. } => (StatusCode::BAD_REQUEST, "DUPLICATE_VALUE", fields),
            InvalidPicklist { fields, .. } => (
                StatusCode::BAD_REQUEST,
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                fields,
            ),
            StringTooLong { fields, .. } => (StatusCode::BAD_REQUEST, "STRING_TOO_LONG", fields),
            InvalidEmail { fields, .. } => {
                (StatusCode::BAD_REQUEST, "INVALID_EMAIL_ADDRESS", fields)
            }
            NumberOutsideRange { fields, .. } => (
                StatusCode::BAD_REQUEST,
                "NUMBER_OUTSIDE_VALID_RANGE",
                fields,
            ),
            InvalidCrossReference { fields, .. } => (
                StatusCode::BAD_REQUEST,
                "INVALID_CROSS_REFERENCE_KEY",
                fields,
            ),
            JsonParser(_) => (StatusCode::BAD_REQUEST, "JSON_PARSER_ERROR", NONE),
            InvalidSearch(_) => (StatusCode::BAD_REQUEST, "INVALID_SEARCH", NONE),
            BadRequest(_) => (StatusCode::BAD_REQUEST, "INVALID_INPUT", NONE),
            MethodNotAllowed { .. } => (StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED", NONE),
            RequestLimitExceeded(_) => (StatusCode::FORBIDDEN, "REQUEST_LIMIT_EXCEEDED", NONE),
            UnableToLockRow(_) => (StatusCode::BAD_REQUEST, "UNABLE_TO_LOCK_ROW", NONE),
            InvalidQueryLocator(_) => (StatusCode::BAD_REQUEST, "INVALID_QUERY_LOCATOR", NONE),
            UnsupportedMediaType(_) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UNSUPPORTED_MEDIA_TYPE",
                NONE,
            ),
            BodyTooLarge { .. } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "REQUEST_ENTITY_TOO_LARGE",
                NONE,
            ),
            PreconditionFailed(_) => (StatusCode::PRECONDITION_FAILED, "PRECONDITION_FAILED", NONE),
            Conflict(_) => (StatusCode::CONFLICT, "CONFLICT", NONE),
            ApiVersionRetired(_) => (StatusCode::GONE, "API_VERSION_RETIRED", NONE),
            ServerUnavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "SERVER_UNAVAILABLE", NONE),
            Maintenance => (
                StatusCode::SERVICE_UNAVAILABLE,
                "INSERT_UPDATE_DELETE_NOT_ALLOWED_DURING_MAINTENANCE",
                NONE,
            ),
            EntityNotSupported(_) => (StatusCode::BAD_REQUEST, "NOT_SUPPORTED", NONE),
            InsufficientAccess(_) => (
                StatusCode::FORBIDDEN,
                "INSUFFICIENT_ACCESS_OR_READONLY",
                NONE,
            ),
            Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "UNKNOWN_EXCEPTION", NONE),
            Custom {
                status,
                code,
                fields,
                ..
            } => (
                StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_REQUEST),
                code.as_str(),
                fields,
            ),
        }
    }

    pub fn status(&self) -> StatusCode {
        self.parts().0
    }

    pub fn error_code(&self) -> &str {
        self.parts().1
    }

    /// The REST body: a one-element array. `fields` appears when the error names fields (and on
    /// ENTITY_IS_DELETED, where Salesforce sends an empty list); otherwise it is left out, as Salesforce
    /// does for query, parse and session errors.
    pub fn body(&self) -> serde_json::Value {
        let (_, code, fields) = self.parts();
        let message = self.to_string();
        if fields.is_empty() && !matches!(self, ApiError::EntityIsDeleted) {
            json!([{ "message": message, "errorCode": code }])
        } else {
            json!([{ "message": message, "errorCode": code, "fields": fields }])
        }
    }

    /// The per-record form used inside collections, composite tree and bulk results.
    pub fn record_error(&self) -> serde_json::Value {
        let (_, code, fields) = self.parts();
        json!({ "statusCode": code, "message": self.to_string(), "fields": fields })
    }

    /// Convenience for the common "No such column" DML error.
    pub fn no_such_column(field: &str, object: &str) -> Self {
        ApiError::InvalidField {
            message: format!("No such column '{field}' on sobject of type {object}"),
            fields: vec![],
        }
    }

    pub fn custom(status: u16, code: &str, message: &str) -> Self {
        ApiError::Custom {
            status,
            code: code.to_string(),
            message: message.to_string(),
            fields: vec![],
        }
    }

    /// Whether Salesforce's guidance calls this transient (retry with backoff).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ApiError::UnableToLockRow(_)
                | ApiError::ServerUnavailable(_)
                | ApiError::Internal(_)
                | ApiError::Maintenance
        ) || self.status().is_server_error()
    }
}

/// The JSON content type Salesforce sends; jsforce parses JSON only on `^application/json(;|$)`.
pub const JSON_CONTENT_TYPE: &str = "application/json;charset=UTF-8";

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let code = self.error_code().to_string();
        let body = serde_json::to_vec(&self.body()).unwrap_or_default();
        let mut resp = (status, body).into_response();
        resp.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            HeaderValue::from_static(JSON_CONTENT_TYPE),
        );
        resp.extensions_mut().insert(ErrorCodeTag(code));
        resp
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_session_body_is_exactly_salesforces() {
        assert_eq!(
            ApiError::InvalidSession.body(),
            json!([{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}])
        );
        assert_eq!(ApiError::InvalidSession.status(), StatusCode::UNAUTHORIZED);
    }

    #[test]
    fn required_field_lists_fields() {
        let e = ApiError::RequiredFieldMissing(vec!["Name".into()]);
        assert_eq!(
            e.body(),
            json!([{"message":"Required fields are missing: [Name]","errorCode":"REQUIRED_FIELD_MISSING","fields":["Name"]}])
        );
        assert_eq!(
            e.record_error(),
            json!({"statusCode":"REQUIRED_FIELD_MISSING","message":"Required fields are missing: [Name]","fields":["Name"]})
        );
    }
}
