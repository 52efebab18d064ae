//! The lean HTTP/1.1 client the harness talks to the integration with: hyper's pooled client,
//! keep-alive, `TCP_NODELAY`, no redirects, no retries, no TLS (the integration listens on
//! loopback). Every request gets a deadline; what came back is a status or a [`SendError`].
//!
//! It stays this small because its speed is a product requirement: the event driver must reach
//! 90% of wrk's request rate against the same endpoint (`benches/load.rs`).

use std::time::Duration;

use bytes::Bytes;
use http::{header, Method, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

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

/// Cheap to clone; clones share the connection pool.
#[derive(Clone, Debug)]
pub struct HttpClient {
    client: Client<HttpConnector, Full<Bytes>>,
}

impl HttpClient {
    /// `max_idle` idle keep-alive connections are kept per host; size it to the in-flight cap so
    /// a steady open-model load never reconnects.
    pub fn new(max_idle: usize) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(5)));
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(max_idle.max(1))
            .pool_idle_timeout(Duration::from_secs(60))
            .build(connector);
        HttpClient { client }
    }

    /// `POST uri` with a JSON body.
    pub async fn post_json(
        &self,
        uri: &Uri,
        body: Bytes,
        timeout: Duration,
    ) -> Result<Reply, SendError> {
        let request = Request::builder()
            .method(Method::POST)
            .uri(uri.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(body))
            .map_err(|e| SendError::Transport(e.to_string()))?;
        self.send(request, timeout).await
    }

    /// `GET uri`.
    pub async fn get(&self, uri: &Uri, timeout: Duration) -> Result<Reply, SendError> {
        let request = Request::builder()
            .method(Method::GET)
            .uri(uri.clone())
            .body(Full::new(Bytes::new()))
            .map_err(|e| SendError::Transport(e.to_string()))?;
        self.send(request, timeout).await
    }

    async fn send(
        &self,
        request: Request<Full<Bytes>>,
        timeout: Duration,
    ) -> Result<Reply, SendError> {
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| SendError::Transport(describe(&e)))?;
            let status = response.status().as_u16();
            // Read the body to the end, so the connection goes back to the pool.
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| SendError::Transport(format!("reading the reply: {e}")))?
                .to_bytes();
            Ok(Reply { status, body })
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(SendError::Timeout(timeout)),
        }
    }
}

/// hyper-util's error Display is terse ("client error (Connect)"); the source chain says what
/// happened ("Connection refused").
fn describe(error: &hyper_util::client::legacy::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}
