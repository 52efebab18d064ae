//! `sfchaos sim` as a user runs it: the ready line, HTTPS trusted through `--ca-out`, `--data DIR`, the admin
//! API, and a graceful exit on SIGTERM.

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Sim {
    child: Child,
    http: String,
    https: String,
}

/// Start the binary on ephemeral loopback ports and wait for its ready line.
fn start(extra: &[&str], ca_out: &std::path::Path) -> Sim {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sfchaos"))
        .args([
            "sim",
            "--listen",
            "127.0.0.1:0",
            "--tls-listen",
            "127.0.0.1:0",
            "--ca-out",
        ])
        .arg(ca_out)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sfchaos sim");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read ready line");
    // "sfchaos simulator listening on http://127.0.0.1:P and https://127.0.0.1:Q"
    let rest = line
        .trim()
        .strip_prefix("sfchaos simulator listening on ")
        .unwrap_or_else(|| panic!("unexpected ready line: {line:?}"));
    let (http, https) = rest.split_once(" and ").expect("two URLs");
    Sim {
        child,
        http: http.to_string(),
        https: https.to_string(),
    }
}

fn stop(mut sim: Sim) -> std::process::ExitStatus {
    kill(Pid::from_raw(sim.child.id() as i32), Signal::SIGTERM).expect("SIGTERM");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(status) = sim.child.try_wait().expect("wait") {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "sfchaos sim did not exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn client(ca: &std::path::Path) -> reqwest::Client {
    let pem = std::fs::read(ca).expect("CA written by --ca-out");
    reqwest::Client::builder()
        .no_proxy()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("PEM"))
        .build()
        .unwrap()
}

async fn token(c: &reqwest::Client, base: &str) -> String {
    let v: Value = c
        .post(format!("{base}/services/oauth2/token"))
        .form(&[
            ("grant_type", "password"),
            ("client_id", "sfchaos-client"),
            ("client_secret", "sfchaos-secret"),
            ("username", "admin@sfchaos.test"),
            ("password", "sfchaos"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        v["instance_url"], base,
        "instance_url comes from the request's host and scheme"
    );
    v["access_token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn serves_https_with_its_ca_and_loads_a_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/data");
    let sim = start(&["--data", data], &ca);
    let c = client(&ca);
    let tok = token(&c, &sim.https).await;
    let q = |soql: &str| {
        c.get(format!("{}/services/data/v62.0/query", sim.https))
            .query(&[("q", soql)])
            .bearer_auth(&tok)
            .send()
    };
    let v: Value = q("SELECT Name, Amount__c, Account__r.Name FROM Invoice__c ORDER BY Name")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["totalSize"], 3, "{v}");
    assert_eq!(v["records"][0]["Account__r"]["Name"], "Globex");
    assert_eq!(v["records"][0]["Amount__c"], 100.5);
    let v: Value =
        q("SELECT Name, (SELECT Name FROM Invoices__r) FROM Account WHERE Tier__c = 'Gold'")
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(v["records"][0]["Invoices__r"]["totalSize"], 2, "{v}");
    // The restricted picklist from schema.toml is enforced.
    let r = c
        .post(format!(
            "{}/services/data/v62.0/sobjects/Account",
            sim.https
        ))
        .bearer_auth(&tok)
        .json(&serde_json::json!({"Name": "x", "Tier__c": "Platinum"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body[0]["errorCode"],
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    );
    // Plain HTTP serves the same org; its URLs say http.
    let plain = reqwest::Client::builder().no_proxy().build().unwrap();
    assert!(token(&plain, &sim.http).await.len() > 20);
    let status = stop(sim);
    assert!(status.success(), "graceful exit, got {status:?}");
}

#[tokio::test]
async fn admin_api_resets_exports_and_reads_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    let sim = start(&[], &ca);
    let c = reqwest::Client::builder().no_proxy().build().unwrap();
    let admin = format!("{}/__admin", sim.http);
    let r: Value = c
        .post(format!("{admin}/data/Account"))
        .header("content-type", "text/csv")
        .body("Name,External_Id__c\nA,X-1\nB,X-2\n")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["inserted"], 2, "{r}");
    let export = c
        .get(format!("{admin}/export/Account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(export.lines().count(), 2);
    assert!(export.contains("\"External_Id__c\":\"X-2\""));
    let tok = token(&c, &sim.http).await;
    c.get(format!("{}/services/data/v62.0/limits", sim.http))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap();
    let j: Value = c
        .get(format!("{admin}/journal"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let entries = j["entries"].as_array().unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e["route"] == "limits" && e["status"] == 200),
        "{j}"
    );
    let counters: Value = c
        .get(format!("{admin}/counters"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(counters["orgs"][0]["records"]["Account"], 2);
    c.post(format!("{admin}/reset")).send().await.unwrap();
    let export = c
        .get(format!("{admin}/export/Account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(export, "");
    // The admin user survives a reset.
    token(&c, &sim.http).await;
    assert!(stop(sim).success());
}

#[test]
fn refuses_non_loopback_without_a_token() {
    let out = Command::new(env!("CARGO_BIN_EXE_sfchaos"))
        .args(["sim", "--listen", "0.0.0.0:0", "--no-tls"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--allow-remote"));
}

#[test]
fn usage_errors_exit_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_sfchaos"))
        .args(["sim", "--listen", "not-an-address"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
