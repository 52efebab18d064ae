//! Real clients meet injected faults as they would meet Salesforce: simple-salesforce raises
//! `SalesforceRefusedRequest` on REQUEST_LIMIT_EXCEEDED, jsforce logs in again after a revoked
//! session. The faults are installed through the admin API, as a user of `sfchaos sim` would.

mod common;

use common::{require_node_client, require_python_client, root, run_script, TestSim};
use serde_json::json;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const LIMIT: Duration = Duration::from_secs(180);

/// Install the client libraries when they are missing (the README's test command does it too).
fn ensure_clients() {
    let python = std::process::Command::new("python3")
        .args(["-c", "import simple_salesforce"])
        .status();
    if !python.is_ok_and(|s| s.success()) {
        let _ = std::process::Command::new("python3")
            .args(["-m", "pip", "install", "--user", "--quiet", "-r"])
            .arg(root().join("tests/clients/python/requirements.txt"))
            .status();
    }
    if !root()
        .join("tests/clients/node/node_modules/jsforce")
        .exists()
    {
        let _ = std::process::Command::new("npm")
            .args([
                "ci",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                "--prefix",
            ])
            .arg(root().join("tests/clients/node"))
            .status();
    }
}

async fn install_fault(sim: &TestSim, rule: serde_json::Value) {
    let r = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(format!("{}/__admin/faults", sim.http_url()))
        .json(&rule)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simple_salesforce_raises_refused_request_on_request_limit_exceeded() {
    ensure_clients();
    require_python_client();
    let sim = TestSim::start().await;
    install_fault(
        &sim,
        json!({"kind": "rate-limit", "id": "squeeze", "remaining": 1}),
    )
    .await;
    let env = sim.client_env(&sim.https_url());
    let script = root().join("tests/clients/python/fault_rate_limit.py");
    let run = run_script("python3", &script, &env, LIMIT).await;
    run.assert_passed("simple-salesforce under a rate-limit fault");
    assert!(run
        .stdout
        .contains("ok SalesforceRefusedRequest on REQUEST_LIMIT_EXCEEDED"));
    let refused = sim
        .running
        .state
        .journal
        .recent(0, 1000)
        .into_iter()
        .find(|e| e.status == 403)
        .expect("a refusal");
    assert_eq!(
        refused.fault.as_ref().map(|f| f.rule.as_str()),
        Some("squeeze")
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsforce_logs_in_again_after_its_session_is_revoked() {
    ensure_clients();
    require_node_client();
    let sim = TestSim::start().await;
    let script = root().join("tests/clients/node/fault_revoked_session.mjs");
    let mut cmd = tokio::process::Command::new("node");
    cmd.arg(&script)
        .current_dir(script.parent().unwrap())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
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
    cmd.envs(sim.client_env(&sim.http_url()));
    let mut child = cmd.spawn().expect("node runs");
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = tokio::time::timeout(LIMIT, async {
        while let Some(line) = stdout.next_line().await.unwrap() {
            if line == "READY" {
                return true;
            }
        }
        false
    })
    .await;
    if ready != Ok(true) {
        let out = child.wait_with_output().await.unwrap();
        panic!(
            "the script did not get ready: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Revoke every session now: `revoke_at` is a scenario time, and one already past applies at once.
    let now = sim.running.state.clock.elapsed().as_millis();
    install_fault(
        &sim,
        json!({"kind": "session", "id": "revoke", "revoke_at": format!("{now}ms")}),
    )
    .await;
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"go\n").await.unwrap();
    drop(stdin);
    let mut rest = String::new();
    while let Ok(Ok(Some(line))) = tokio::time::timeout(LIMIT, stdout.next_line()).await {
        rest.push_str(&line);
        rest.push('\n');
    }
    let status = child.wait().await.unwrap();
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        use tokio::io::AsyncReadExt;
        let _ = e.read_to_string(&mut stderr).await;
    }
    assert!(
        status.success(),
        "jsforce under a session fault failed\n{rest}\n{stderr}"
    );
    assert!(
        rest.contains("ok jsforce logged in again by itself"),
        "{rest}"
    );

    let entries = sim.running.state.journal.recent(0, 1000);
    let refused = entries.iter().position(|e| e.status == 401).expect("a 401");
    let tag = entries[refused]
        .fault
        .clone()
        .expect("the 401 names the fault");
    assert_eq!(tag.rule, "revoke");
    assert_eq!(
        entries[refused].error_code.as_deref(),
        Some("INVALID_SESSION_ID")
    );
    assert!(
        entries[refused + 1..]
            .iter()
            .any(|e| e.path.starts_with("/services/Soap/u/") && e.status == 200),
        "logged in again"
    );
    sim.shutdown().await;
}
