//! [`SfClient`]: one HTTP client, one session, one counter. Every public call in `sf` is exactly one
//! HTTP request made through [`SfClient::send`]; nothing here retries, redirects or re-logs-in behind the
//! caller's back, so the number of calls the scorer sees is the number the caller asked for.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use parking_lot::{Mutex, RwLock};
use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::auth::Session;
use super::config::SfConfig;
use super::error::{api_error, SfError};
use super::limits::LimitInfo;

/// A Salesforce client. Cheap to clone; clones share the session, the call counter and the latest
/// limit info.
#[derive(Debug, Clone)]
pub struct SfClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    config: SfConfig,
    /// Cloned out before each request; never held across an `.await`.
    session: RwLock<Option<Session>>,
    calls: AtomicU64,
    limit: Mutex<Option<LimitInfo>>,
}

/// Request body kinds the APIs use.
#[derive(Debug, Clone, Default)]
pub(crate) enum Body {
    #[default]
    Empty,
    Json(Vec<u8>),
    Csv(Bytes),
    Form(String),
    Xml(String),
}

/// One HTTP request to make.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    method: Method,
    /// Absolute URL, or a path resolved against the instance URL (or the login URL when
    /// unauthenticated).
    target: String,
    query: Vec<(String, String)>,
    body: Body,
    headers: Vec<(&'static str, String)>,
    accept: &'static str,
    timeout: Option<Duration>,
    authenticated: bool,
    /// Return the reply whatever its status (login endpoints parse their own error bodies).
    any_status: bool,
    /// Non-2xx statuses that are answers, not errors (304 Not Modified).
    also_ok: &'static [u16],
}

impl Call {
    pub(crate) fn new(method: Method, target: impl Into<String>) -> Self {
        Self {
            method,
            target: target.into(),
            query: Vec::new(),
            body: Body::Empty,
            headers: Vec::new(),
            accept: "application/json",
            timeout: None,
            authenticated: true,
            any_status: false,
            also_ok: &[],
        }
    }

    pub(crate) fn get(target: impl Into<String>) -> Self {
        Self::new(Method::GET, target)
    }

    pub(crate) fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Result<Self, SfError> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| SfError::InvalidRequest(format!("body is not JSON: {e}")))?;
        self.body = Body::Json(bytes);
        Ok(self)
    }

    pub(crate) fn body(mut self, body: Body) -> Self {
        self.body = body;
        self
    }

    pub(crate) fn query(mut self, key: &str, value: impl Into<String>) -> Self {
        self.query.push((key.to_string(), value.into()));
        self
    }

    pub(crate) fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub(crate) fn accept(mut self, accept: &'static str) -> Self {
        self.accept = accept;
        self
    }

    pub(crate) fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    pub(crate) fn unauthenticated(mut self) -> Self {
        self.authenticated = false;
        self
    }

    pub(crate) fn any_status(mut self) -> Self {
        self.any_status = true;
        self
    }

    pub(crate) fn also_ok(mut self, statuses: &'static [u16]) -> Self {
        self.also_ok = statuses;
        self
    }
}

/// A response whose body has been read.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Reply {
    pub(crate) fn json<T: DeserializeOwned>(&self, context: &str) -> Result<T, SfError> {
        serde_json::from_slice(&self.body).map_err(|e| SfError::decode(context, e))
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl SfClient {
    /// A client without a session; call one of the login methods next.
    pub fn new(config: SfConfig) -> Result<Self, SfError> {
        let mut builder = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            // One call, one request: never follow redirects silently, and turn off reqwest's own
            // retry of refused HTTP/2 streams, so retries happen only where a policy decides them.
            .redirect(reqwest::redirect::Policy::none())
            .retry(reqwest::retry::never())
            // The simulator is on loopback; an inherited HTTP(S)_PROXY would only get in the way.
            .no_proxy();
        if let Some(path) = &config.ca_file {
            let pem = std::fs::read(path).map_err(|e| {
                SfError::InvalidRequest(format!("cannot read CA file {}: {e}", path.display()))
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                SfError::InvalidRequest(format!("CA file {} is not PEM: {e}", path.display()))
            })?;
            if certs.is_empty() {
                return Err(SfError::InvalidRequest(format!(
                    "CA file {} holds no certificate",
                    path.display()
                )));
            }
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder
            .build()
            .map_err(|e| SfError::InvalidRequest(format!("cannot build HTTP client: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                config,
                session: RwLock::new(None),
                calls: AtomicU64::new(0),
                limit: Mutex::new(None),
            }),
        })
    }

    /// A client using an existing session (e.g. a token from elsewhere).
    pub fn with_session(config: SfConfig, session: Session) -> Result<Self, SfError> {
        let client = Self::new(config)?;
        client.set_session(session);
        Ok(client)
    }

    /// The configuration.
    pub fn config(&self) -> &SfConfig {
        &self.inner.config
    }

    /// The current session, if logged in.
    pub fn session(&self) -> Option<Session> {
        self.inner.session.read().clone()
    }

    /// Replace the session (a login does this).
    pub fn set_session(&self, session: Session) {
        *self.inner.session.write() = Some(session);
    }

    /// HTTP requests sent so far (including logins, failed and timed-out ones): the integration's
    /// own view of the calls the simulator journals.
    pub fn http_calls(&self) -> u64 {
        self.inner.calls.load(Ordering::Relaxed)
    }

    /// The latest `Sforce-Limit-Info` seen on any response.
    pub fn limit_info(&self) -> Option<LimitInfo> {
        self.inner.limit.lock().clone()
    }

    /// `/services/data/v{version}/{rest}`.
    pub fn data_path(&self, rest: &str) -> String {
        format!(
            "/services/data/v{}/{}",
            self.inner.config.api_version,
            rest.trim_start_matches('/')
        )
    }

    /// Send one request. Non-2xx answers become [`SfError::Api`] unless the call says otherwise.
    pub(crate) async fn send(&self, call: Call) -> Result<Reply, SfError> {
        let (url, token) = self.resolve(&call)?;
        let mut req = self.inner.http.request(call.method.clone(), &url);
        if !call.query.is_empty() {
            req = req.query(&call.query);
        }
        if let Some(token) = token {
            req = req.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Some(name) = &self.inner.config.client_name {
            req = req.header("Sforce-Call-Options", format!("client={name}"));
        }
        req = req.header(ACCEPT, call.accept);
        for (name, value) in &call.headers {
            req = req.header(*name, value);
        }
        if let Some(t) = call.timeout {
            req = req.timeout(t);
        }
        req = match call.body {
            Body::Empty => req,
            Body::Json(b) => req.header(CONTENT_TYPE, "application/json").body(b),
            Body::Csv(b) => req.header(CONTENT_TYPE, "text/csv").body(b),
            Body::Form(b) => req
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(b),
            Body::Xml(b) => req.header(CONTENT_TYPE, "text/xml; charset=UTF-8").body(b),
        };

        self.inner.calls.fetch_add(1, Ordering::Relaxed);
        let resp = req.send().await.map_err(|e| SfError::from_reqwest(&e))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        if let Some(info) = headers
            .get("sforce-limit-info")
            .and_then(|v| v.to_str().ok())
            .and_then(LimitInfo::parse)
        {
            *self.inner.limit.lock() = Some(info);
        }
        let body = resp.bytes().await.map_err(|e| SfError::from_reqwest(&e))?;
        let reply = Reply {
            status,
            headers,
            body,
        };
        if call.any_status || (200..300).contains(&status) || call.also_ok.contains(&status) {
            Ok(reply)
        } else {
            Err(api_error(status, &reply.body))
        }
    }

    fn resolve(&self, call: &Call) -> Result<(String, Option<String>), SfError> {
        let absolute = call.target.starts_with("http://") || call.target.starts_with("https://");
        if !call.authenticated {
            let url = if absolute {
                call.target.clone()
            } else {
                format!("{}{}", self.inner.config.login_url, call.target)
            };
            return Ok((url, None));
        }
        let session = self.inner.session.read();
        let Some(session) = session.as_ref() else {
            return Err(SfError::InvalidRequest(
                "not logged in: call a login method first".to_string(),
            ));
        };
        let url = if absolute {
            call.target.clone()
        } else {
            format!("{}{}", session.instance_url, call.target)
        };
        Ok((url, Some(session.access_token.clone())))
    }
}
