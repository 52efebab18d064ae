//! The lean HTTP/1.1 client the harness talks to the integration with (and checks `/healthz`
//! with): keep-alive connections in a small pool, `TCP_NODELAY`, no TLS (the integration
//! listens on loopback), no redirects, no retries. Every request gets a deadline; what came back
//! is a status or a [`SendError`].
//!
//! # Why not a general-purpose client
//!
//! Its speed is a product requirement: the event driver must come close to wrk's request rate
//! against the same endpoint (`benches/event_driver.rs`). A general client hands each request to a
//! connection task over channels and back (two task switches per request, plus header maps);
//! here the task that sends an event does the I/O itself, as wrk does: one `write` of the whole
//! request, then reads into a buffer the connection keeps, parsed with `httparse`.
//!
//! # What it speaks
//!
//! Requests: `GET` / `POST` with `Host`, `Content-Type: application/json` and `Content-Length`.
//! Replies: any status (1xx interim replies are skipped), bodies by `Content-Length`, `chunked`
//! transfer coding, or until the server closes. A connection goes back to the pool only after a
//! complete reply that did not say `Connection: close`.
//!
//! Idle connections the integration closed (it restarted, or timed them out) are noticed before
//! reuse, by a non-blocking read that sees the end of the stream. A request is never resent: an
//! event the integration might have received must not reach it twice.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::Uri;
use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// How long opening a connection may take before the request fails.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Response headers beyond this many are an error (a reply to an event has a handful).
const MAX_HEADERS: usize = 64;
/// A reply head larger than this is an error.
const MAX_HEAD: usize = 64 * 1024;
/// Room made in the read buffer before each read.
const READ_CHUNK: usize = 8192;
/// Reply bodies larger than this are read but not kept.
const MAX_KEPT_BODY: usize = 1024 * 1024;

/// Why a request got no HTTP answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("no reply within {0:?}")]
    Timeout(Duration),
    /// Refused, reset, closed mid-reply, malformed reply.
    #[error("{0}")]
    Transport(String),
}

/// A status and the reply body.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Bytes,
}

/// One keep-alive connection and its read buffer.
#[derive(Debug)]
struct Conn {
    stream: TcpStream,
    /// Reply bytes read but not yet consumed; reused across requests.
    buf: Vec<u8>,
    /// The request being written; reused across requests.
    out: Vec<u8>,
}

/// Cheap to clone; clones share the connection pool.
#[derive(Clone, Debug)]
pub struct HttpClient {
    idle: Arc<Mutex<HashMap<String, Vec<Conn>>>>,
    max_idle: usize,
}

impl HttpClient {
    /// Keeps up to `max_idle` idle connections per host; size it to the in-flight cap so a
    /// steady open-model load never reconnects.
    pub fn new(max_idle: usize) -> Self {
        HttpClient {
            idle: Arc::new(Mutex::new(HashMap::new())),
            max_idle: max_idle.max(1),
        }
    }

    /// `POST uri` with a JSON body.
    pub async fn post_json(
        &self,
        uri: &Uri,
        body: Bytes,
        timeout: Duration,
    ) -> Result<Reply, SendError> {
        let deadline = Instant::now() + timeout;
        self.send("POST", uri, &body, (deadline, timeout), true)
            .await
    }

    /// `POST uri` with a JSON body, for its status only: the reply body is read but not kept
    /// (the event driver's case, once per event). `sent` is when the caller started the request
    /// (it timed it already); the reply is given up on `timeout` after it.
    pub async fn post_json_status(
        &self,
        uri: &Uri,
        body: Bytes,
        sent: Instant,
        timeout: Duration,
    ) -> Result<u16, SendError> {
        let reply = self
            .send("POST", uri, &body, (sent + timeout, timeout), false)
            .await?;
        Ok(reply.status)
    }

    /// `GET uri`.
    pub async fn get(&self, uri: &Uri, timeout: Duration) -> Result<Reply, SendError> {
        self.send("GET", uri, &[], (Instant::now() + timeout, timeout), true)
            .await
    }

    async fn send(
        &self,
        method: &str,
        uri: &Uri,
        body: &[u8],
        (deadline, timeout): (Instant, Duration),
        keep_body: bool,
    ) -> Result<Reply, SendError> {
        let authority = uri
            .authority()
            .ok_or_else(|| SendError::Transport(format!("{uri}: no host")))?
            .as_str();
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let exchange = async {
            let mut conn = match self.checkout(authority) {
                Some(conn) => conn,
                // Boxed: rare, and its future (address resolution included) would otherwise
                // make every request's future larger.
                None => Box::pin(connect(authority)).await?,
            };
            let (reply, reusable) = conn
                .exchange(method, authority, path, body, keep_body)
                .await?;
            if reusable {
                self.checkin(authority, conn);
            }
            Ok(reply)
        };
        match tokio::time::timeout_at(deadline, exchange).await {
            Ok(result) => result,
            Err(_) => Err(SendError::Timeout(timeout)),
        }
    }

    /// The most recently used idle connection the server has not closed.
    fn checkout(&self, authority: &str) -> Option<Conn> {
        let mut idle = self.idle.lock();
        let list = idle.get_mut(authority)?;
        while let Some(conn) = list.pop() {
            let mut probe = [0u8; 1];
            match conn.stream.try_read(&mut probe) {
                // Nothing to read: open and quiet, as an idle keep-alive connection should be.
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Some(conn),
                // Closed (0), unsolicited bytes, or an error: not usable.
                _ => continue,
            }
        }
        None
    }

    fn checkin(&self, authority: &str, conn: Conn) {
        let mut idle = self.idle.lock();
        let list = idle.entry(authority.to_owned()).or_default();
        if list.len() < self.max_idle {
            list.push(conn);
        }
    }
}

async fn connect(authority: &str) -> Result<Conn, SendError> {
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(authority))
        .await
        .map_err(|_| SendError::Transport(format!("connecting to {authority}: timed out")))?
        .map_err(|e| SendError::Transport(format!("connecting to {authority}: {e}")))?;
    let _ = stream.set_nodelay(true);
    Ok(Conn {
        stream,
        buf: Vec::with_capacity(4096),
        out: Vec::with_capacity(1024),
    })
}

/// How the reply body is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Framing {
    Length(usize),
    Chunked,
    UntilClose,
}

impl Conn {
    /// One request and its reply. Returns the reply and whether the connection can be reused.
    async fn exchange(
        &mut self,
        method: &str,
        authority: &str,
        path: &str,
        body: &[u8],
        keep_body: bool,
    ) -> Result<(Reply, bool), SendError> {
        self.out.clear();
        // Writing into a Vec cannot fail.
        let _ = write!(
            self.out,
            "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        self.out.extend_from_slice(body);
        self.stream
            .write_all(&self.out)
            .await
            .map_err(|e| transport("sending the request", &e))?;
        self.buf.clear();
        let (status, framing, close, head_len) = loop {
            let (status, framing, close, head_len) = self.read_head().await?;
            if (100..200).contains(&status) && status != 101 {
                // An interim reply: drop it and read the real one.
                self.buf.drain(..head_len);
                continue;
            }
            break (status, framing, close, head_len);
        };
        self.buf.drain(..head_len);
        let (body, clean) = match framing {
            Framing::Length(n) => (self.read_length(n, keep_body).await?, true),
            Framing::Chunked => (self.read_chunked().await?, true),
            Framing::UntilClose => (self.read_to_close().await?, false),
        };
        // Bytes after the reply would belong to no request: do not reuse such a connection.
        let reusable = clean && !close && self.buf.is_empty();
        Ok((Reply { status, body }, reusable))
    }

    /// Reads more bytes into `buf`; an error at the end of the stream.
    ///
    /// Reads straight into the buffer's spare room: a stack buffer would make every request's
    /// future (and so every spawned event task) kilobytes larger, and copying those is not free.
    async fn fill(&mut self, what: &str) -> Result<(), SendError> {
        self.buf.reserve(READ_CHUNK);
        match self.stream.read_buf(&mut self.buf).await {
            Ok(0) => Err(SendError::Transport(format!(
                "the connection closed {what}"
            ))),
            Ok(_) => Ok(()),
            Err(e) => Err(transport(what, &e)),
        }
    }

    /// Status, framing, `Connection: close`, and the head's length in `buf`.
    async fn read_head(&mut self) -> Result<(u16, Framing, bool, usize), SendError> {
        loop {
            if let Some(head) = parse_head(&self.buf)? {
                return Ok(head);
            }
            if self.buf.len() >= MAX_HEAD {
                return Err(SendError::Transport("the reply head is too large".into()));
            }
            self.fill("before replying").await?;
        }
    }

    async fn read_length(&mut self, n: usize, keep_body: bool) -> Result<Bytes, SendError> {
        while self.buf.len() < n {
            self.fill("in the middle of the reply body").await?;
        }
        if !keep_body {
            self.buf.drain(..n);
            return Ok(Bytes::new());
        }
        let body: Vec<u8> = self.buf.drain(..n).collect();
        Ok(keep(body))
    }

    async fn read_chunked(&mut self) -> Result<Bytes, SendError> {
        let mut body = Vec::new();
        loop {
            // Chunk size line: hex digits, optional extensions, CRLF.
            let line_end = loop {
                if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                    break i;
                }
                self.fill("in the middle of a chunked reply").await?;
            };
            let line = std::str::from_utf8(&self.buf[..line_end]).unwrap_or("");
            let digits = line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(digits, 16)
                .map_err(|_| SendError::Transport(format!("bad chunk size \"{digits}\"")))?;
            self.buf.drain(..line_end + 2);
            if size == 0 {
                // Trailers, then an empty line.
                loop {
                    if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                        let empty = i == 0;
                        self.buf.drain(..i + 2);
                        if empty {
                            return Ok(keep(body));
                        }
                    } else {
                        self.fill("in the chunked reply's trailer").await?;
                    }
                }
            }
            while self.buf.len() < size + 2 {
                self.fill("in the middle of a chunk").await?;
            }
            if body.len() < MAX_KEPT_BODY {
                body.extend_from_slice(&self.buf[..size]);
            }
            self.buf.drain(..size + 2);
        }
    }

    async fn read_to_close(&mut self) -> Result<Bytes, SendError> {
        loop {
            if self.buf.len() > MAX_KEPT_BODY {
                self.buf.truncate(MAX_KEPT_BODY);
            }
            self.buf.reserve(READ_CHUNK);
            match self.stream.read_buf(&mut self.buf).await {
                Ok(0) => return Ok(keep(std::mem::take(&mut self.buf))),
                Ok(_) => {}
                Err(e) => return Err(transport("reading the reply body", &e)),
            }
        }
    }
}

/// Parses a complete reply head at the start of `buf`: status, framing, `Connection: close`, and
/// the head's length; `None` while it is incomplete.
///
/// A plain function rather than part of [`Conn::read_head`]: the parser's header array (2 KiB)
/// then lives on the stack for the parse only, instead of in every request's future, which each
/// event's task is built from.
fn parse_head(buf: &[u8]) -> Result<Option<(u16, Framing, bool, usize)>, SendError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let len = match response.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(SendError::Transport(format!("malformed reply: {e}"))),
    };
    let status = response.code.unwrap_or(0);
    let mut framing = Framing::UntilClose;
    let mut close = response.version == Some(0);
    for h in response.headers.iter() {
        let value = std::str::from_utf8(h.value).unwrap_or("").trim();
        if h.name.eq_ignore_ascii_case("content-length") {
            let n = value
                .parse()
                .map_err(|_| SendError::Transport(format!("bad Content-Length \"{value}\"")))?;
            if framing != Framing::Chunked {
                framing = Framing::Length(n);
            }
        } else if h.name.eq_ignore_ascii_case("transfer-encoding")
            && value.to_ascii_lowercase().ends_with("chunked")
        {
            framing = Framing::Chunked;
        } else if h.name.eq_ignore_ascii_case("connection") {
            let value = value.to_ascii_lowercase();
            if value.contains("close") {
                close = true;
            } else if value.contains("keep-alive") {
                close = false;
            }
        }
    }
    // 204 and 304 never carry a body.
    if status == 204 || status == 304 || (100..200).contains(&status) {
        framing = Framing::Length(0);
    }
    Ok(Some((status, framing, close, len)))
}

fn keep(mut body: Vec<u8>) -> Bytes {
    body.truncate(MAX_KEPT_BODY);
    Bytes::from(body)
}

fn transport(what: &str, error: &std::io::Error) -> SendError {
    SendError::Transport(format!("{what}: {error}"))
}
