//! Salesforce error codes with the status and message Salesforce sends for them
//! (salesforce-api.md §3), so an `error` fault can name just the code.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct KnownError {
    pub error_code: &'static str,
    pub status: u16,
    pub message: &'static str,
}

const fn known(error_code: &'static str, status: u16, message: &'static str) -> KnownError {
    KnownError {
        error_code,
        status,
        message,
    }
}

/// The codes an `error` fault can use without giving `status` and `message`.
pub const KNOWN_ERRORS: &[KnownError] = &[
    known("INVALID_SESSION_ID", 401, "Session expired or invalid"),
    known(
        "REQUEST_LIMIT_EXCEEDED",
        403,
        "TotalRequests Limit exceeded.",
    ),
    known(
        "API_DISABLED_FOR_ORG",
        403,
        "The REST API is not enabled for this Organization.",
    ),
    known(
        "API_CURRENTLY_DISABLED",
        403,
        "API is disabled for this User",
    ),
    known(
        "INSUFFICIENT_ACCESS_OR_READONLY",
        400,
        "insufficient access rights on object id",
    ),
    known("NOT_FOUND", 404, "The requested resource does not exist"),
    known("ENTITY_IS_DELETED", 404, "entity is deleted"),
    known("MALFORMED_QUERY", 400, "unexpected token: FORM"),
    known("INVALID_FIELD", 400, "No such column on sobject"),
    known(
        "REQUIRED_FIELD_MISSING",
        400,
        "Required fields are missing: [Name]",
    ),
    known("DUPLICATE_VALUE", 400, "duplicate value found"),
    known("DUPLICATES_DETECTED", 400, "Use one of these records?"),
    known(
        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        400,
        "Validation rule failed",
    ),
    known(
        "INVALID_CROSS_REFERENCE_KEY",
        400,
        "invalid cross reference id",
    ),
    known(
        "UNABLE_TO_LOCK_ROW",
        400,
        "unable to obtain exclusive access to this record or 1 records",
    ),
    known(
        "QUERY_TIMEOUT",
        400,
        "Your query request was running for too long.",
    ),
    known(
        "UNKNOWN_EXCEPTION",
        500,
        "An unexpected error occurred. Please include this ErrorId if you contact support",
    ),
    known(
        "SERVER_UNAVAILABLE",
        503,
        "Server temporarily unavailable. Please try again later.",
    ),
    known(
        "INSERT_UPDATE_DELETE_NOT_ALLOWED_DURING_MAINTENANCE",
        503,
        "Updates can't be made during maintenance. Try again when maintenance is complete.",
    ),
];

/// The defaults for a code, if Salesforce documents one.
pub fn known_error(error_code: &str) -> Option<&'static KnownError> {
    KNOWN_ERRORS.iter().find(|k| k.error_code == error_code)
}

/// The code an `error` fault gets when it gives only a status.
pub(crate) fn code_for_status(status: u16) -> Option<&'static KnownError> {
    let code = match status {
        401 => "INVALID_SESSION_ID",
        403 => "REQUEST_LIMIT_EXCEEDED",
        404 => "NOT_FOUND",
        500 => "UNKNOWN_EXCEPTION",
        503 => "SERVER_UNAVAILABLE",
        _ => return None,
    };
    known_error(code)
}
