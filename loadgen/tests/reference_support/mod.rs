//! The world around a reference integration in a test: the simulator (HTTPS, its CA in a temp file),
//! a TCP proxy in front of it that can refuse connections, recording sink and alert servers, and the
//! design.md §4 environment — every server on 127.0.0.1:0.

#![allow(dead_code)]

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use loadgen::reference::{self, Config, Running};
use loadgen::scenario::{BuiltinProfile, IntegrationCommand};
use loadgen::sf::{SfClient, SfConfig};
use parking_lot::Mutex;
use serde_json::{json, Value};
use simulator::state::{SimConfig, SimState};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

pub const ADMIN: &str = "admin@sfchaos.test";

/// A running simulator with HTTPS and its CA on disk.
pub struct Sim {
    pub running: simulator::Running,
    pub ca_file: tempfile::NamedTempFile,
    http: reqwest::Client,
}

impl Sim {
    pub async fn start() -> Sim {
        let state = SimState::new(SimConfig::default()).expect("simulator state");
        let http = TcpListener::bind("127.0.0.1:0").await.expect("bind http");
        let https = TcpListener::bind("127.0.0.1:0").await.expect("bind https");
        let running = simulator::start(state, http, Some(https), &[])
            .await
            .expect("simulator starts");
        let ca_file = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::write(ca_file.path(), running.ca_pem.as_bytes()).expect("write CA");
        Sim {
            running,
            ca_file,
            http: reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("http client"),
        }
    }

    pub fn https_addr(&self) -> SocketAddr {
        self.running.https.expect("https listener")
    }

    fn admin(&self, path: &str) -> String {
        format!("{}/__admin/{path}", self.running.http_url())
    }

    /// Every live record of `object`, from the admin export.
    pub async fn export(&self, object: &str) -> Vec<Value> {
        let text = self
            .http
            .get(self.admin(&format!("export/{object}")))
            .send()
            .await
            .expect("export")
            .text()
            .await
            .expect("export body");
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).expect("export line"))
            .collect()
    }

    /// The live record of `object` with `External_Id__c = ext`.
    pub async fn record(&self, object: &str, ext: &str) -> Option<Value> {
        self.export(object)
            .await
            .into_iter()
            .find(|r| r["External_Id__c"] == ext)
    }

    /// Add a user to the default org (an "actor").
    pub async fn add_user(&self, username: &str) {
        let r = self
            .http
            .post(self.admin("users"))
            .json(&json!({"username": username, "password": "sfchaos", "last_name": username}))
            .send()
            .await
            .expect("add user");
        assert!(r.status().is_success(), "add user: {}", r.status());
    }

    /// Revoke every session of `username`.
    pub async fn revoke(&self, username: &str) {
        let r = self
            .http
            .post(self.admin("sessions/revoke"))
            .json(&json!({"username": username}))
            .send()
            .await
            .expect("revoke");
        assert!(r.status().is_success());
    }

    /// A logged-in client for `username` over HTTPS.
    pub async fn client(&self, username: &str) -> SfClient {
        let config = SfConfig::new(format!("https://{}", self.https_addr()))
            .with_credentials(username, "sfchaos")
            .with_client("sfchaos-client", "sfchaos-secret")
            .with_ca_file(self.ca_file.path())
            .with_client_name(username);
        let client = SfClient::new(config).expect("client");
        client.login().await.expect("actor login");
        client
    }

    /// Whether this simulator build runs SOQL (the engine is merged separately).
    pub async fn soql_available(&self) -> bool {
        self.client(ADMIN)
            .await
            .query("SELECT Id FROM Account LIMIT 1")
            .await
            .is_ok()
    }
}

/// A TCP proxy that can stop passing traffic: refused/reset connections, as in an outage.
pub struct Proxy {
    pub addr: SocketAddr,
    open: Arc<AtomicBool>,
    connections: Arc<Mutex<JoinSet<()>>>,
}

impl Proxy {
    pub async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let open = Arc::new(AtomicBool::new(true));
        let connections: Arc<Mutex<JoinSet<()>>> = Arc::default();
        let (o, c) = (Arc::clone(&open), Arc::clone(&connections));
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !o.load(Ordering::SeqCst) {
                    // Closed at once: the client's TLS handshake fails.
                    drop(inbound);
                    continue;
                }
                c.lock().spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        Proxy {
            addr,
            open,
            connections,
        }
    }

    /// Cut every connection and refuse new ones.
    pub fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        self.connections.lock().abort_all();
    }

    /// Pass traffic again.
    pub fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

/// An HTTP endpoint that records every JSON body posted to it (the sink, the pager).
#[derive(Clone, Default)]
pub struct Recorder {
    pub bodies: Arc<Mutex<Vec<Value>>>,
}

impl Recorder {
    pub async fn start() -> (Recorder, String) {
        let recorder = Recorder::default();
        let app = Router::new()
            .route(
                "/",
                post(
                    |State(r): State<Recorder>, Json(body): Json<Value>| async move {
                        r.bodies.lock().push(body);
                        Json(json!({"ok": true}))
                    },
                ),
            )
            .with_state(recorder.clone());
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind recorder");
        let url = format!("http://{}/", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (recorder, url)
    }

    pub fn all(&self) -> Vec<Value> {
        self.bodies.lock().clone()
    }
}

/// The profile `text` (`naive`, `resilient?blind-retries=on`, …).
pub fn profile(text: &str) -> BuiltinProfile {
    match format!("builtin:{text}").parse::<IntegrationCommand>() {
        Ok(IntegrationCommand::Builtin(p)) => p,
        other => panic!("{text}: {other:?}"),
    }
}

/// The design.md §4 environment for an integration reaching Salesforce at `sf` (an HTTPS address).
/// [`environment`] with a fresh `SFCHAOS_STATE_DIR` (kept while the returned directory lives).
pub fn environment_with_state(
    sf: SocketAddr,
    ca: &Path,
) -> (tempfile::TempDir, HashMap<String, String>) {
    let state = tempfile::tempdir().expect("state dir");
    let mut env = environment(sf, ca);
    env.insert(
        "SFCHAOS_STATE_DIR".into(),
        state.path().display().to_string(),
    );
    (state, env)
}

pub fn environment(sf: SocketAddr, ca: &Path) -> HashMap<String, String> {
    let url = format!("https://{sf}");
    [
        ("SF_LOGIN_URL", url.as_str()),
        ("SF_INSTANCE_URL", url.as_str()),
        ("SF_USERNAME", ADMIN),
        ("SF_PASSWORD", "sfchaos"),
        ("SF_CLIENT_ID", "sfchaos-client"),
        ("SF_CLIENT_SECRET", "sfchaos-secret"),
        ("SF_API_VERSION", "62.0"),
        ("SF_CA_FILE", &ca.display().to_string()),
        ("SFCHAOS_SEED", "7"),
        ("SFCHAOS_POLL_INTERVAL", "200ms"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// A configuration read from `env` the way the binary reads the process environment, with pacing
/// shrunk so a test takes seconds.
pub fn config(profile_text: &str, env: &HashMap<String, String>) -> Config {
    let mut config = Config::from_vars(profile(profile_text), None, |k| env.get(k).cloned())
        .expect("configuration");
    config.tuning.outage_backoff_cap = Duration::from_millis(200);
    config.tuning.alert_interval = Duration::from_millis(100);
    config.tuning.streaming_probe = Duration::from_secs(2);
    config.tuning.bulk_poll = Duration::from_millis(100);
    config
}

/// Start an integration on a fresh loopback port.
pub async fn start(config: Config) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind inbound");
    reference::start(config, listener)
        .await
        .expect("integration starts")
}

/// A design.md §4 event body.
pub fn event(id: &str, key: &str, fields: Value) -> Value {
    json!({
        "id": id,
        "type": "upsert",
        "object": "Account",
        "external_id_field": "External_Id__c",
        "external_id": key,
        "fields": fields,
        "occurred_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    })
}

/// A delete event.
pub fn delete(id: &str, key: &str) -> Value {
    let mut e = event(id, key, json!({}));
    e["type"] = json!("delete");
    e
}

/// `POST /events`; the status and the body.
pub async fn post_event(http: &reqwest::Client, running: &Running, body: &Value) -> (u16, Value) {
    let r = http
        .post(format!("http://{}/events", running.local_addr()))
        .json(body)
        .send()
        .await
        .expect("post event");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Poll `check` until it holds or `limit` passes (then panic with `what`).
pub async fn eventually<F, Fut>(limit: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if check().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {limit:?} waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("http client")
}
