//! The HTTP side of `/cometd/{version}`: version and size checks, body parsing, cookies, the order of
//! replies and events in the answer, the HTTP status, and the journal note. Each message is handled by
//! [`super::exchange`].

use super::bayeux::{self, parse_body, Message};
use super::client::Delivery;
use super::exchange::{Exchange, Outcome};
use crate::error::ErrorCodeTag;
use crate::journal::JournalNote;
use crate::recording::RequestMeta;
use crate::rest::ctx::MAX_VERSION;
use crate::server::Scheme;
use crate::state::SimState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

/// Largest request body Salesforce's CometD endpoint accepts.
pub const MAX_REQUEST: usize = 32_768;
/// Oldest API version with a CometD endpoint.
const MIN_VERSION: u32 = 23;

fn current_version() -> String {
    format!("{MAX_VERSION}.0")
}

/// `POST /cometd/{version}` (and sub-paths such as `/cometd/62.0/connect`, which some CometD clients
/// append per message type).
pub async fn cometd(State(state): State<SimState>, req: Request) -> Response {
    let segment = req
        .uri()
        .path()
        .trim_start_matches("/cometd")
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default()
        .to_string();
    if segment.is_empty() {
        return version_error(req, &bayeux::missing_version(&current_version())).await;
    }
    if !version_supported(&segment) {
        return version_error(req, &bayeux::unsupported_version(&current_version())).await;
    }
    if req.method() != Method::POST {
        return method_not_allowed();
    }
    let meta = req.extensions().get::<RequestMeta>().cloned();
    let headers = req.headers().clone();
    let body = match axum::body::to_bytes(req.into_body(), MAX_REQUEST).await {
        Ok(b) => b,
        Err(_) => return too_large(),
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let messages = match parse_body(&body, content_type) {
        Ok(m) => m,
        Err(e) => {
            let reply = json!([{"successful": false, "error": e.to_string()}]);
            return answer(
                StatusCode::BAD_REQUEST,
                reply.to_string().into_bytes(),
                vec![],
            );
        }
    };
    let https = meta
        .as_ref()
        .and_then(|m| m.conn.as_ref())
        .is_some_and(|c| c.scheme == Scheme::Https);
    let mut ex = Exchange::new(state, meta, &headers, https, &segment);
    let mut out = Vec::with_capacity(messages.len() + 1);
    let mut note = NoteBuilder::default();
    for m in &messages {
        let outcome = ex.handle(m).await;
        note.add(m, &outcome);
        out.push(outcome);
    }
    let status = if out.iter().any(|o| o.unauthorized) {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    let mut resp = answer(status, render(&ex, &out), ex.take_cookies());
    note.finish(&mut resp, &out);
    resp
}

/// `/cometd` without a version.
pub async fn missing_version(req: Request) -> Response {
    version_error(req, &bayeux::missing_version(&current_version())).await
}

fn version_supported(seg: &str) -> bool {
    let Some((major, minor)) = seg.split_once('.') else {
        return false;
    };
    minor == "0"
        && major
            .parse::<u32>()
            .is_ok_and(|v| (MIN_VERSION..=MAX_VERSION).contains(&v))
}

/// A 400 answering every message of the request (if it parses) with `error`.
async fn version_error(req: Request, error: &str) -> Response {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = axum::body::to_bytes(req.into_body(), MAX_REQUEST)
        .await
        .unwrap_or_default();
    let replies: Vec<Value> = match parse_body(&body, content_type.as_deref()) {
        Ok(msgs) => msgs
            .iter()
            .map(|m| Value::Object(bayeux::failure(m, error, None)))
            .collect(),
        Err(_) => vec![json!({"successful": false, "error": error})],
    };
    let mut resp = answer(
        StatusCode::BAD_REQUEST,
        Value::Array(replies).to_string().into_bytes(),
        vec![],
    );
    resp.extensions_mut()
        .insert(ErrorCodeTag(error.to_string()));
    resp
}

fn method_not_allowed() -> Response {
    let mut resp = answer(
        StatusCode::METHOD_NOT_ALLOWED,
        br#"[{"successful":false,"error":"405::Only POST is supported"}]"#.to_vec(),
        vec![],
    );
    resp.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("POST"));
    resp
}

fn too_large() -> Response {
    let body = format!(
        r#"[{{"successful":false,"error":"413::Request body exceeds {MAX_REQUEST} bytes"}}]"#
    );
    let mut resp = answer(StatusCode::PAYLOAD_TOO_LARGE, body.into_bytes(), vec![]);
    resp.extensions_mut()
        .insert(ErrorCodeTag("413::Request Entity Too Large".into()));
    resp
}

fn answer(status: StatusCode, body: Vec<u8>, cookies: Vec<String>) -> Response {
    let mut resp = (status, Body::from(body)).into_response();
    let h: &mut HeaderMap = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(&c) {
            h.append(header::SET_COOKIE, v);
        }
    }
    resp
}

/// The answer array: for each message, the events it delivers (a connect's) and then its reply.
fn render(ex: &Exchange, out: &[Outcome]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(256 + out.iter().map(|o| o.events.len() * 600).sum::<usize>());
    buf.push(b'[');
    let mut first = true;
    for o in out {
        for d in &o.events {
            push_sep(&mut buf, &mut first);
            push_event(ex, &mut buf, d);
        }
        push_sep(&mut buf, &mut first);
        let _ = serde_json::to_writer(&mut buf, &o.reply);
    }
    buf.push(b']');
    buf
}

fn push_sep(buf: &mut Vec<u8>, first: &mut bool) {
    if !*first {
        buf.push(b',');
    }
    *first = false;
}

fn push_event(ex: &Exchange, buf: &mut Vec<u8>, d: &Delivery) {
    buf.extend_from_slice(br#"{"channel":"#);
    let _ = serde_json::to_writer(&mut *buf, &d.channel);
    buf.extend_from_slice(br#","data":"#);
    buf.extend_from_slice(&ex.event_data(d));
    buf.push(b'}');
}

/// What the journal learns about a CometD request.
#[derive(Default)]
struct NoteBuilder {
    route: Option<&'static str>,
    channels: Vec<String>,
    error: Option<String>,
}

impl NoteBuilder {
    fn add(&mut self, m: &Message, o: &Outcome) {
        let route = match m.channel.as_str() {
            bayeux::HANDSHAKE => "streaming.handshake",
            bayeux::CONNECT => "streaming.connect",
            bayeux::SUBSCRIBE => "streaming.subscribe",
            bayeux::UNSUBSCRIBE => "streaming.unsubscribe",
            bayeux::DISCONNECT => "streaming.disconnect",
            c if c.starts_with("/meta/") => "streaming.meta",
            _ => "streaming.publish",
        };
        self.route.get_or_insert(route);
        if m.channel == bayeux::SUBSCRIBE || m.channel == bayeux::UNSUBSCRIBE {
            self.channels.extend(m.subscriptions());
        }
        if self.error.is_none() {
            self.error = o
                .reply
                .get("error")
                .and_then(Value::as_str)
                .map(str::to_string);
        }
    }

    fn finish(self, resp: &mut Response, out: &[Outcome]) {
        let delivered: Vec<&Delivery> = out.iter().flat_map(|o| &o.events).collect();
        let note = JournalNote {
            route: self.route.unwrap_or("streaming"),
            object: self.channels.first().cloned(),
            ids: delivered
                .iter()
                .filter_map(|d| d.change.record_id())
                .take(20)
                .collect(),
            fields: self.channels,
            rows: (!delivered.is_empty()).then_some(delivered.len() as u64),
            ..Default::default()
        };
        resp.extensions_mut().insert(note);
        if let Some(e) = self.error {
            resp.extensions_mut().insert(ErrorCodeTag(e));
        }
    }
}

/// A reply object (used by [`Outcome`]).
pub type Reply = Map<String, Value>;
