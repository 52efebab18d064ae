//! Bayeux 1.0 messages as Salesforce speaks them: parsing requests, building replies, and the exact
//! error texts of salesforce-api.md §7.1.
//!
//! Every reply echoes the request's `id` (faye matches replies by it) and carries a boolean
//! `successful`; failures are `"<code>::<text>"` strings, sometimes with `advice` telling the client
//! whether to retry, handshake again or give up.

use serde_json::{json, Map, Value};

pub const HANDSHAKE: &str = "/meta/handshake";
pub const CONNECT: &str = "/meta/connect";
pub const SUBSCRIBE: &str = "/meta/subscribe";
pub const UNSUBSCRIBE: &str = "/meta/unsubscribe";
pub const DISCONNECT: &str = "/meta/disconnect";

pub const LONG_POLLING: &str = "long-polling";

pub const UNKNOWN_CLIENT: &str = "403::Unknown client";
pub const HANDSHAKE_DENIED: &str = "403::Handshake denied";
pub const AUTH_INVALID: &str = "401::Authentication invalid";
pub const AUTH_REQUIRED: &str = "401::Request requires authentication";
pub const DAILY_LIMIT: &str = "403::Organization total events daily limit exceeded";
pub const CONCURRENT_LIMIT: &str = "403::Organization concurrent user limit exceeded";
pub const NO_CHANNEL: &str = "400::Channel name not specified";
pub const NO_LEADING_SLASH: &str = "400::Channel subscriptions must start with a leading '/'";
pub const PUBLISH_DENIED: &str = "403::Publish denied";

/// The cookie CometD ties a client to its browser (HTTP client) with.
pub const BROWSER_COOKIE: &str = "BAYEUX_BROWSER";
/// Salesforce's load-balancer stickiness cookie (set, not checked).
pub const STREAM_COOKIE: &str = "sfdc-stream";

pub fn no_such_channel(channel: &str) -> String {
    format!("400::The channel you requested to subscribe to does not exist {{{channel}}}")
}

pub fn invalid_replay(replay: &str) -> String {
    format!(
        "400::The replayId {{{replay}}} you provided was invalid.  Please provide a valid ID, -2 to \
         replay all events, or -1 to replay only new events."
    )
}

pub fn no_cookie(client_id: &str) -> String {
    format!(
        "400::Client {client_id} has established a session, but no {BROWSER_COOKIE} cookie present"
    )
}

pub fn invalid_connection_type(kind: &str) -> String {
    format!("400::Invalid connection type {kind}")
}

pub fn missing_version(current: &str) -> String {
    format!("400::API version in the URI is mandatory. URI format: '/cometd/{current}'")
}

pub fn unsupported_version(current: &str) -> String {
    format!(
        "400::Unsupported API version. Only API versions '23.0' and above are supported. URI format: \
         '/cometd/{current}'"
    )
}

/// One request message.
#[derive(Debug, Clone)]
pub struct Message {
    pub channel: String,
    /// Echoed verbatim (faye sends strings, other clients numbers).
    pub id: Option<Value>,
    pub client_id: Option<String>,
    /// `subscription`: one channel or a list.
    pub subscription: Option<Value>,
    pub connection_type: Option<String>,
    pub supported_types: Option<Vec<String>>,
    pub ext: Option<Value>,
    /// `advice.timeout` of a connect: how long the client lets it be held (faye sends 0 when the
    /// connect rides in a batch with other messages).
    pub advice_timeout: Option<u64>,
}

impl Message {
    fn from_json(v: &Value) -> Option<Message> {
        let m = v.as_object()?;
        let s = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_string);
        Some(Message {
            channel: s("channel").unwrap_or_default(),
            id: m.get("id").cloned(),
            client_id: s("clientId"),
            subscription: m.get("subscription").cloned(),
            connection_type: s("connectionType"),
            supported_types: m.get("supportedConnectionTypes").and_then(|t| {
                t.as_array().map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
            }),
            ext: m.get("ext").cloned(),
            advice_timeout: m
                .get("advice")
                .and_then(|a| a.get("timeout"))
                .and_then(Value::as_u64),
        })
    }

    /// The channels named by `subscription`.
    pub fn subscriptions(&self) -> Vec<String> {
        match &self.subscription {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| v.as_str().unwrap_or_default().to_string())
                .collect(),
            _ => vec![],
        }
    }

    /// `ext.replay[channel]`: a number, or a numeral string.
    pub fn replay_for(&self, channel: &str) -> Option<Result<i64, String>> {
        let v = self.ext.as_ref()?.get("replay")?.get(channel)?;
        Some(match v {
            Value::Number(n) => n.as_i64().ok_or_else(|| n.to_string()),
            Value::String(s) => s.trim().parse().map_err(|_| s.clone()),
            other => Err(other.to_string()),
        })
    }
}

/// Why a request body is not a list of Bayeux messages.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BodyError {
    #[error("400::The request body is not valid JSON: {0}")]
    Json(String),
    #[error("400::A Bayeux request is a JSON array of message objects")]
    Shape,
}

/// Parse a request body: a JSON array of messages, one message object, or a form `message=` field.
pub fn parse_body(bytes: &[u8], content_type: Option<&str>) -> Result<Vec<Message>, BodyError> {
    let form = content_type.is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    let json: Value = if form {
        let text = form_urlencoded::parse(bytes)
            .find(|(k, _)| k == "message")
            .map(|(_, v)| v.into_owned())
            .ok_or(BodyError::Shape)?;
        serde_json::from_str(&text).map_err(|e| BodyError::Json(e.to_string()))?
    } else {
        serde_json::from_slice(bytes).map_err(|e| BodyError::Json(e.to_string()))?
    };
    let list = match &json {
        Value::Array(a) => a.iter().map(Message::from_json).collect::<Option<Vec<_>>>(),
        Value::Object(_) => Message::from_json(&json).map(|m| vec![m]),
        _ => None,
    };
    list.filter(|l| !l.is_empty()).ok_or(BodyError::Shape)
}

/// What the server advises after a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Advice {
    /// The first connect's advice: poll again at once, long-polls last up to 110 s.
    Retry { timeout_ms: u64 },
    /// Handshake again (the clientId is gone).
    Handshake,
    /// Stop: authentication failed or the org's allocation is spent.
    None,
}

impl Advice {
    pub fn to_json(self) -> Value {
        match self {
            Advice::Retry { timeout_ms } => {
                json!({"interval": 0, "timeout": timeout_ms, "reconnect": "retry"})
            }
            Advice::Handshake => json!({"interval": 0, "reconnect": "handshake"}),
            Advice::None => json!({"interval": 0, "reconnect": "none"}),
        }
    }
}

/// A reply to `msg`: its channel, id and clientId, and `successful`.
pub fn reply(msg: &Message, successful: bool) -> Map<String, Value> {
    let mut m = Map::new();
    if let Some(c) = &msg.client_id {
        m.insert("clientId".into(), Value::String(c.clone()));
    }
    m.insert("channel".into(), Value::String(msg.channel.clone()));
    if let Some(id) = &msg.id {
        m.insert("id".into(), id.clone());
    }
    m.insert("successful".into(), Value::Bool(successful));
    m
}

/// A failed reply with its error text and optional advice.
pub fn failure(msg: &Message, error: &str, advice: Option<Advice>) -> Map<String, Value> {
    let mut m = reply(msg, false);
    if let Some(a) = advice {
        m.insert("advice".into(), a.to_json());
    }
    m.insert("error".into(), Value::String(error.to_string()));
    m
}

/// A handshake refused: `403::Handshake denied` with the reason in `ext.sfdc.failureReason`.
pub fn handshake_denied(msg: &Message, reason: &str) -> Map<String, Value> {
    let mut m = failure(msg, HANDSHAKE_DENIED, Some(Advice::None));
    m.insert("ext".into(), json!({"sfdc": {"failureReason": reason}}));
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_arrays_objects_and_forms() {
        let a = parse_body(br#"[{"channel":"/meta/handshake","id":"1"}]"#, None).unwrap();
        assert_eq!(a[0].channel, HANDSHAKE);
        assert_eq!(a[0].id, Some(json!("1")));
        let o = parse_body(
            br#"{"channel":"/meta/connect","clientId":"c","id":7}"#,
            None,
        )
        .unwrap();
        assert_eq!(o[0].client_id.as_deref(), Some("c"));
        assert_eq!(o[0].id, Some(json!(7)));
        let f = parse_body(
            b"message=%5B%7B%22channel%22%3A%22%2Fmeta%2Fconnect%22%7D%5D",
            Some("application/x-www-form-urlencoded"),
        )
        .unwrap();
        assert_eq!(f[0].channel, CONNECT);
        assert!(matches!(parse_body(b"[", None), Err(BodyError::Json(_))));
        assert_eq!(parse_body(b"[]", None).unwrap_err(), BodyError::Shape);
        assert_eq!(parse_body(b"[1]", None).unwrap_err(), BodyError::Shape);
    }

    #[test]
    fn replay_values_may_be_numbers_or_numerals() {
        let m = parse_body(
            br#"[{"channel":"/meta/subscribe","ext":{"replay":{"/a":-2,"/b":"15","/c":"x"}}}]"#,
            None,
        )
        .unwrap()
        .remove(0);
        assert_eq!(m.replay_for("/a"), Some(Ok(-2)));
        assert_eq!(m.replay_for("/b"), Some(Ok(15)));
        assert_eq!(m.replay_for("/c"), Some(Err("x".into())));
        assert_eq!(m.replay_for("/d"), None);
    }

    #[test]
    fn error_texts_match_salesforce() {
        assert_eq!(
            no_such_channel("/topic/X"),
            "400::The channel you requested to subscribe to does not exist {/topic/X}"
        );
        assert_eq!(
            invalid_replay("42"),
            "400::The replayId {42} you provided was invalid.  Please provide a valid ID, -2 to replay all \
             events, or -1 to replay only new events."
        );
    }
}
