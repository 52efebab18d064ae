//! [`SfError`]: every way a Salesforce call can fail, and what each means for retrying.
//!
//! The classification follows salesforce-api.md §3. Salesforce signals API-limit trouble with
//! 403 REQUEST_LIMIT_EXCEEDED, never 429 or Retry-After, and the *message* separates the rolling 24 h
//! allocation (wait for it to age out) from the long-running-request concurrency cap (back off and
//! retry), so classification has to read the message, not just the code.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::retry::{Classify, Retryability};

/// One entry of a Salesforce error body. REST errors use `errorCode`, per-record results
/// (collections, composite tree, Bulk `sf__Error`) use `statusCode`; both land in `error_code`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiErrorItem {
    /// `errorCode` / `statusCode`, e.g. `UNABLE_TO_LOCK_ROW`.
    #[serde(rename = "errorCode", alias = "statusCode", default)]
    pub error_code: String,
    /// Human-readable message.
    #[serde(default)]
    pub message: String,
    /// Fields the error concerns (often absent).
    #[serde(default)]
    pub fields: Vec<String>,
}

impl ApiErrorItem {
    /// How retryable this per-record error is, as if returned with `status` (400 for record results).
    pub fn retryability(&self, status: u16) -> Retryability {
        classify(Some(status), &self.error_code, &self.message)
    }
}

/// What went wrong below HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportKind {
    /// Could not connect (refused, unreachable, TLS handshake).
    Connect,
    /// The request timed out on our side.
    Timeout,
    /// The connection was reset or closed before a complete response.
    Reset,
    /// The response body could not be read to the end.
    Body,
    /// Anything else reqwest reports.
    Other,
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportKind::Connect => "connect",
            TransportKind::Timeout => "timeout",
            TransportKind::Reset => "connection reset",
            TransportKind::Body => "body",
            TransportKind::Other => "transport",
        })
    }
}

/// Every failure of a Salesforce call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SfError {
    /// Salesforce answered with an error body (`[{"message","errorCode","fields"}]`). A body with several
    /// entries keeps the first here; non-JSON bodies (an HTML maintenance page) get
    /// `ERROR_HTTP_<status>` as jsforce does.
    #[error("HTTP {status} {error_code}: {message}")]
    Api {
        status: u16,
        error_code: String,
        message: String,
        fields: Vec<String>,
    },
    /// Login refused: an OAuth `{"error","error_description"}` body or a SOAP login fault.
    #[error("authentication failed (HTTP {status}): {code}: {message}")]
    Auth {
        status: u16,
        code: String,
        message: String,
    },
    /// No usable HTTP response.
    #[error("{kind} error: {message}")]
    Transport {
        kind: TransportKind,
        message: String,
    },
    /// A response arrived but could not be understood.
    #[error("could not decode {context}: {message}")]
    Decode { context: String, message: String },
    /// The caller asked for something the API cannot do (no session, > 200 records per collection call,
    /// bad configuration). Nothing was sent.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
}

impl SfError {
    /// The HTTP status, when there was a response.
    pub fn status(&self) -> Option<u16> {
        match self {
            SfError::Api { status, .. } | SfError::Auth { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The Salesforce `errorCode` (or OAuth `error` / SOAP `exceptionCode`).
    pub fn error_code(&self) -> Option<&str> {
        match self {
            SfError::Api { error_code, .. } => Some(error_code),
            SfError::Auth { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The message, for every variant.
    pub fn message(&self) -> &str {
        match self {
            SfError::Api { message, .. }
            | SfError::Auth { message, .. }
            | SfError::Transport { message, .. }
            | SfError::Decode { message, .. }
            | SfError::InvalidRequest(message) => message,
        }
    }

    /// The fields an API error concerns.
    pub fn fields(&self) -> &[String] {
        match self {
            SfError::Api { fields, .. } => fields,
            _ => &[],
        }
    }

    /// Our side gave up waiting.
    pub fn is_timeout(&self) -> bool {
        matches!(
            self,
            SfError::Transport {
                kind: TransportKind::Timeout,
                ..
            }
        )
    }

    /// No connection could be made (e.g. the listener is closed).
    pub fn is_connect(&self) -> bool {
        matches!(
            self,
            SfError::Transport {
                kind: TransportKind::Connect,
                ..
            }
        )
    }

    /// The connection was reset or closed mid-exchange.
    pub fn is_reset(&self) -> bool {
        matches!(
            self,
            SfError::Transport {
                kind: TransportKind::Reset,
                ..
            }
        )
    }

    /// 401: the session is gone.
    pub fn is_invalid_session(&self) -> bool {
        matches!(self, SfError::Api { status: 401, .. })
    }

    /// How retryable the failure is (salesforce-api.md §3):
    ///
    /// * transport failures, 5xx, `UNABLE_TO_LOCK_ROW`, `SERVER_UNAVAILABLE`, `UNKNOWN_EXCEPTION`,
    ///   maintenance mode, `REQUEST_LIMIT_EXCEEDED` for concurrency (`ConcurrentPerOrgLongTxn …`) → retryable;
    /// * `REQUEST_LIMIT_EXCEEDED` with `TotalRequests Limit exceeded.` → limit exhausted;
    /// * 401 → retryable after re-authentication;
    /// * everything else (validation, not found, malformed, login refused) → not retryable.
    ///
    /// A response that could not be decoded counts as retryable: in practice it is a truncated or
    /// garbled body, a transport fault with a status line.
    pub fn retryability(&self) -> Retryability {
        match self {
            SfError::Api {
                status,
                error_code,
                message,
                ..
            } => classify(Some(*status), error_code, message),
            SfError::Auth { code, .. } => match code.as_str() {
                "rate_limit_exceeded" | "temporarily_unavailable" | "server_error" => {
                    Retryability::Retryable
                }
                _ => Retryability::NotRetryable,
            },
            SfError::Transport { .. } | SfError::Decode { .. } => Retryability::Retryable,
            SfError::InvalidRequest(_) => Retryability::NotRetryable,
        }
    }

    /// Map a reqwest failure onto a transport kind, looking through the source chain for resets.
    pub(crate) fn from_reqwest(err: &reqwest::Error) -> SfError {
        let kind = if err.is_timeout() {
            TransportKind::Timeout
        } else if err.is_connect() {
            TransportKind::Connect
        } else if is_reset(err) {
            TransportKind::Reset
        } else if err.is_body() || err.is_decode() {
            TransportKind::Body
        } else {
            TransportKind::Other
        };
        SfError::Transport {
            kind,
            message: error_chain(err),
        }
    }

    pub(crate) fn decode(context: impl Into<String>, message: impl fmt::Display) -> SfError {
        SfError::Decode {
            context: context.into(),
            message: message.to_string(),
        }
    }
}

impl Classify for SfError {
    fn retryability(&self) -> Retryability {
        SfError::retryability(self)
    }

    fn is_timeout(&self) -> bool {
        SfError::is_timeout(self)
    }
}

/// Classify an error code as salesforce-api.md §3 does. `status` is `None` for codes without an HTTP
/// status of their own.
pub fn classify(status: Option<u16>, code: &str, message: &str) -> Retryability {
    match code {
        "INVALID_SESSION_ID" => return Retryability::RetryableAfterReauth,
        "REQUEST_LIMIT_EXCEEDED" => {
            return if message.contains("TotalRequests") {
                Retryability::LimitExhausted
            } else {
                // ConcurrentPerOrgLongTxn, ConcurrentRequests: a slot frees up within seconds.
                Retryability::Retryable
            };
        }
        "UNABLE_TO_LOCK_ROW"
        | "SERVER_UNAVAILABLE"
        | "UNKNOWN_EXCEPTION"
        | "INSERT_UPDATE_DELETE_NOT_ALLOWED_DURING_MAINTENANCE" => return Retryability::Retryable,
        _ => {}
    }
    match status {
        Some(401) => Retryability::RetryableAfterReauth,
        Some(420 | 429) => Retryability::Retryable,
        Some(s) if s >= 500 => Retryability::Retryable,
        _ => Retryability::NotRetryable,
    }
}

/// Parse an error response body into `SfError::Api`.
pub(crate) fn api_error(status: u16, body: &[u8]) -> SfError {
    let items = parse_error_items(body);
    match items.into_iter().next() {
        Some(item) => SfError::Api {
            status,
            error_code: item.error_code,
            message: item.message,
            fields: item.fields,
        },
        None => SfError::Api {
            status,
            error_code: format!("ERROR_HTTP_{status}"),
            message: String::from_utf8_lossy(body).chars().take(500).collect(),
            fields: Vec::new(),
        },
    }
}

/// The entries of an error body: the usual array, or a lone object some endpoints return.
pub(crate) fn parse_error_items(body: &[u8]) -> Vec<ApiErrorItem> {
    if let Ok(items) = serde_json::from_slice::<Vec<ApiErrorItem>>(body) {
        return items
            .into_iter()
            .filter(|i| !i.error_code.is_empty())
            .collect();
    }
    match serde_json::from_slice::<ApiErrorItem>(body) {
        Ok(item) if !item.error_code.is_empty() => vec![item],
        _ => Vec::new(),
    }
}

fn is_reset(err: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(err);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind as K;
            if matches!(
                io.kind(),
                K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof
            ) {
                return true;
            }
        }
        if let Some(h) = e.downcast_ref::<hyper::Error>() {
            if h.is_incomplete_message() || h.is_canceled() || h.is_closed() {
                return true;
            }
        }
        source = e.source();
    }
    false
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        out.push_str(": ");
        out.push_str(&e.to_string());
        source = e.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_follows_the_reference_table() {
        let c = |status, code, msg| classify(Some(status), code, msg);
        assert_eq!(
            c(401, "INVALID_SESSION_ID", ""),
            Retryability::RetryableAfterReauth
        );
        assert_eq!(
            c(
                403,
                "REQUEST_LIMIT_EXCEEDED",
                "TotalRequests Limit exceeded."
            ),
            Retryability::LimitExhausted
        );
        assert_eq!(
            c(
                403,
                "REQUEST_LIMIT_EXCEEDED",
                "ConcurrentPerOrgLongTxn Limit exceeded."
            ),
            Retryability::Retryable
        );
        assert_eq!(
            c(403, "API_DISABLED_FOR_ORG", ""),
            Retryability::NotRetryable
        );
        assert_eq!(c(400, "UNABLE_TO_LOCK_ROW", ""), Retryability::Retryable);
        assert_eq!(c(400, "DUPLICATE_VALUE", ""), Retryability::NotRetryable);
        assert_eq!(
            c(400, "INVALID_QUERY_LOCATOR", ""),
            Retryability::NotRetryable
        );
        assert_eq!(c(500, "UNKNOWN_EXCEPTION", ""), Retryability::Retryable);
        assert_eq!(c(502, "ERROR_HTTP_502", ""), Retryability::Retryable);
        assert_eq!(c(429, "ERROR_HTTP_429", ""), Retryability::Retryable);
        assert_eq!(
            c(
                503,
                "INSERT_UPDATE_DELETE_NOT_ALLOWED_DURING_MAINTENANCE",
                ""
            ),
            Retryability::Retryable
        );
        assert_eq!(
            c(412, "PRECONDITION_FAILED", ""),
            Retryability::NotRetryable
        );
    }

    #[test]
    fn error_bodies_in_every_shape() {
        let items = parse_error_items(
            br#"[{"statusCode":"MALFORMED_ID","message":"bad id","fields":["Id"]}]"#,
        );
        assert_eq!(items[0].error_code, "MALFORMED_ID");
        assert_eq!(items[0].fields, ["Id"]);
        let items = parse_error_items(br#"{"errorCode":"NOT_FOUND","message":"gone"}"#);
        assert_eq!(items[0].error_code, "NOT_FOUND");
        assert!(parse_error_items(b"<html>down</html>").is_empty());
        assert!(parse_error_items(br#"{"id":"001"}"#).is_empty());
        let e = api_error(502, b"Bad gateway");
        assert_eq!(e.error_code(), Some("ERROR_HTTP_502"));
        assert_eq!(e.message(), "Bad gateway");
    }
}
