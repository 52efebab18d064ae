//! `connection` faults: what happens to a response body on the wire.
//!
//! The handler's answer is buffered, then sent differently: trickled at a byte rate (`slow-body`),
//! cut after N bytes with the connection closed (`truncate`: the body stream fails, so hyper aborts
//! the connection and the client sees fewer bytes than `Content-Length` promised), or cut in half
//! with bytes appended that no JSON parser accepts (`malformed-json`). Pacing goes through
//! `tokio::time`, so a paused test clock drives it.

use super::plan::ConnectionFault;
use axum::body::Body;
use axum::http::{header, HeaderValue};
use axum::response::Response;
use bytes::Bytes;
use std::time::Duration;

/// Largest body the engine buffers to mangle; bigger bodies pass unchanged (they are bulk result
/// downloads, which stream).
const MAX_BUFFERED: usize = 256 * 1024 * 1024;

/// Slow bodies are sent in this many chunks per second.
const CHUNKS_PER_SEC: u32 = 10;

/// Appended to half a JSON body: a control character is invalid anywhere in JSON.
const MANGLE: &[u8] = b"\x01<";

/// The response with its body mangled by `fault`, and a note for the journal when nothing could be
/// done (an empty body cannot be truncated or broken).
pub async fn apply(resp: Response, fault: ConnectionFault) -> (Response, Option<&'static str>) {
    let (mut parts, body) = resp.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BUFFERED).await {
        Ok(b) => b,
        Err(_) => {
            return (
                Response::from_parts(parts, Body::empty()),
                Some("body unreadable"),
            )
        }
    };
    if bytes.is_empty() {
        return (
            Response::from_parts(parts, Body::empty()),
            Some("empty body, unchanged"),
        );
    }
    let body = match fault {
        ConnectionFault::SlowBody { bytes_per_sec } => slow(bytes, bytes_per_sec.get()),
        ConnectionFault::Truncate { after_bytes } => {
            if after_bytes as usize >= bytes.len() {
                return (
                    Response::from_parts(parts, Body::from(bytes)),
                    Some("body shorter than after_bytes, unchanged"),
                );
            }
            truncated(bytes, after_bytes as usize)
        }
        ConnectionFault::MalformedJson => {
            let mut mangled = bytes[..bytes.len() / 2].to_vec();
            mangled.extend_from_slice(MANGLE);
            parts
                .headers
                .insert(header::CONTENT_LENGTH, HeaderValue::from(mangled.len()));
            Body::from(mangled)
        }
    };
    (Response::from_parts(parts, body), None)
}

/// `bytes` trickled out at `rate` bytes per second, in chunks ten times a second.
fn slow(bytes: Bytes, rate: u32) -> Body {
    let chunk = (rate / CHUNKS_PER_SEC).max(1) as usize;
    let stream = futures::stream::unfold(bytes, move |mut rest| async move {
        if rest.is_empty() {
            return None;
        }
        let piece = rest.split_to(chunk.min(rest.len()));
        tokio::time::sleep(Duration::from_secs_f64(
            piece.len() as f64 / f64::from(rate),
        ))
        .await;
        Some((Ok::<_, std::io::Error>(piece), rest))
    });
    Body::from_stream(stream)
}

/// The first `after` bytes, then an error that makes hyper close the connection mid-body. The
/// stream yields once in between so that hyper flushes the bytes before it sees the error.
fn truncated(bytes: Bytes, after: usize) -> Body {
    let head = bytes.slice(..after);
    let stream = futures::stream::unfold(Some(Some(head)), |state| async move {
        match state? {
            Some(head) => Some((Ok(head), Some(None))),
            None => {
                tokio::task::yield_now().await;
                let cut = std::io::Error::new(
                    std::io::ErrorKind::ConnectionAborted,
                    "truncated by a connection fault",
                );
                Some((Err(cut), None))
            }
        }
    });
    Body::from_stream(stream)
}

/// The response body's size in bytes, buffering it when the size is not known up front.
pub async fn sized(resp: Response) -> (Response, usize) {
    use axum::body::HttpBody;
    use http_body_util::BodyExt;
    if let Some(n) = resp.body().size_hint().exact() {
        return (resp, n as usize);
    }
    let (parts, body) = resp.into_parts();
    match body.collect().await {
        Ok(collected) => {
            let bytes = collected.to_bytes();
            let n = bytes.len();
            (Response::from_parts(parts, Body::from(bytes)), n)
        }
        Err(_) => (Response::from_parts(parts, Body::empty()), 0),
    }
}
