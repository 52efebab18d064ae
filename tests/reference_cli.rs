//! `sfchaos reference` as the harness runs it: the built binary, configured only by the design.md §4
//! environment, pointed at an in-test simulator over HTTPS.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::TestSim;
use tokio::io::{AsyncBufReadExt, BufReader};

const LIMIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resilient_starts_answers_healthz_and_stops_cleanly_on_sigterm() {
    let sim = TestSim::start().await;
    let state = tempfile::tempdir().expect("state dir");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_sfchaos"))
        .args(["reference", "--profile", "resilient"])
        .envs(sim.client_env(&sim.https_url()))
        .env("SFCHAOS_LISTEN", "127.0.0.1:0")
        .env("SFCHAOS_STATE_DIR", state.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn sfchaos reference");

    let stdout = child.stdout.take().expect("stdout");
    let line = tokio::time::timeout(LIMIT, BufReader::new(stdout).lines().next_line())
        .await
        .expect("ready line in time")
        .expect("read stdout")
        .expect("a ready line");
    let base = line
        .split_once("listening on ")
        .map(|(_, url)| url.trim().to_string())
        .unwrap_or_else(|| panic!("unexpected ready line: {line}"));
    assert!(line.starts_with("builtin:resilient "), "{line}");

    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let health = http
        .get(format!("{base}/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
    let event = serde_json::json!({
        "id": "cli-1", "type": "upsert", "object": "Account", "external_id_field": "External_Id__c",
        "external_id": "CLI-1", "fields": {"Name": "From the CLI"},
        "occurred_at": "2024-05-01T10:00:00.000Z"
    });
    let accepted = http
        .post(format!("{base}/events"))
        .json(&event)
        .send()
        .await
        .expect("event");
    assert_eq!(accepted.status(), 202);

    let pid = nix::unistd::Pid::from_raw(child.id().expect("pid") as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
    let status = tokio::time::timeout(LIMIT, child.wait())
        .await
        .expect("exits after SIGTERM")
        .expect("wait");
    assert_eq!(status.code(), Some(0), "graceful stop exits 0");
    let log = std::fs::read_to_string(state.path().join("queue.log")).expect("durable queue");
    assert!(
        log.contains("cli-1"),
        "the accepted event is on disk: {log}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_bad_profile_is_a_usage_error() {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_sfchaos"))
        .args(["reference", "--profile", "clever"])
        .env("SF_LOGIN_URL", "https://127.0.0.1:9")
        .env("SFCHAOS_LISTEN", "127.0.0.1:0")
        .output()
        .await
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--profile clever"), "{stderr}");
}
