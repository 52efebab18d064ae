//! Fidelity of the Streaming API: unmodified jsforce (faye) receives CDC events for create, update and
//! delete with Salesforce's headers, resumes from its last replayId after a forced re-handshake with
//! nothing lost or duplicated, and receives published platform events
//! (`tests/clients/node/streaming.test.mjs`).
//!
//! The fault is armed by a test fault engine when the script asks for it (`arm rehandshake` on its
//! stdout, `armed` back on its stdin), so the re-handshake happens at a known point of the script.

mod common;

use common::{require_node_client, root};
use simulator::error::ApiError;
use simulator::faults::hooks::{Faults, ItemFaults, Probe};
use simulator::faults::plan::{BulkSlowdownFault, StreamingFault};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

const LIMIT: Duration = Duration::from_secs(180);

/// Answers the next `/meta/connect` with a forced re-handshake once armed.
#[derive(Debug, Default)]
struct ArmedRehandshake {
    armed: AtomicBool,
    fired: AtomicU32,
}

impl ItemFaults for ArmedRehandshake {
    fn item_failure(&self, _: &Probe<'_>, _: usize, _: Option<&str>) -> Option<ApiError> {
        None
    }
    fn bulk_slowdown(&self, _: &Probe<'_>) -> Option<BulkSlowdownFault> {
        None
    }
    fn lock_hold(&self, _: &Probe<'_>) -> Option<Duration> {
        None
    }
    fn streaming(&self, probe: &Probe<'_>) -> Option<StreamingFault> {
        if probe.path.ends_with("/meta/connect") && self.armed.swap(false, Ordering::SeqCst) {
            self.fired.fetch_add(1, Ordering::SeqCst);
            return Some(StreamingFault::Rehandshake);
        }
        None
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsforce_streaming_receives_cdc_and_platform_events_across_a_forced_rehandshake() {
    require_node_client();
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = Arc::new(ArmedRehandshake::default());
    let config = simulator::SimConfig {
        journal_path: Some(dir.path().join("journal.ndjson.zst")),
        ..simulator::SimConfig::default()
    };
    let state = simulator::SimState::with_faults(config, Faults::with_engine(engine.clone()))
        .expect("simulator state");
    let http = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let running = simulator::start(state, http, None, &[])
        .await
        .expect("start simulator");
    let url = running.http_url();

    let script = root().join("tests/clients/node/streaming.test.mjs");
    let mut cmd = tokio::process::Command::new("node");
    cmd.arg(&script)
        .current_dir(script.parent().expect("script dir"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    // Loopback only: jsforce would send 127.0.0.1 through a proxy (it ignores NO_PROXY).
    for k in [
        "http_proxy",
        "https_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
    ] {
        cmd.env_remove(k);
    }
    for (k, v) in [
        ("SF_LOGIN_URL", url.as_str()),
        ("SF_USERNAME", "admin@sfchaos.test"),
        ("SF_PASSWORD", "sfchaos"),
        ("SF_API_VERSION", "62.0"),
    ] {
        cmd.env(k, v);
    }
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start node (is it installed?): {e}"));
    let mut stdin = child.stdin.take().expect("stdin");
    let stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");

    let talk = async {
        let mut lines = BufReader::new(stdout).lines();
        let mut seen = Vec::new();
        while let Some(line) = lines.next_line().await.expect("read stdout") {
            if line == "arm rehandshake" {
                engine.armed.store(true, Ordering::SeqCst);
                stdin.write_all(b"armed\n").await.expect("write stdin");
                stdin.flush().await.expect("flush stdin");
            }
            seen.push(line);
        }
        let mut err = String::new();
        let _ = stderr.read_to_string(&mut err).await;
        let status = child.wait().await.expect("wait for node");
        (status, seen, err)
    };
    let (status, seen, err) = tokio::time::timeout(LIMIT, talk)
        .await
        .expect("the jsforce script finishes in time");
    let transcript = format!("--- stdout ---\n{}\n--- stderr ---\n{err}", seen.join("\n"));
    assert!(
        status.success(),
        "jsforce streaming checks failed\n{transcript}"
    );
    for expected in [
        "ok re-handshook once",
        "ok nothing lost or duplicated across the re-handshake",
        "ok replay ids strictly increase",
        "ok CREATE header",
        "ok UPDATE header",
        "ok DELETE header",
        "ok UPDATE payload",
        "ok platform event received",
        "done",
    ] {
        assert!(
            seen.iter().any(|l| l == expected),
            "missing `{expected}`\n{transcript}"
        );
    }
    assert_eq!(engine.fired.load(Ordering::SeqCst), 1, "{transcript}");
    let _ = running.shutdown().await;
}
