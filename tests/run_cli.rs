//! `sfchaos run` and `sfchaos report` as a user meets them: exit codes, messages, an
//! integration that never starts, and Ctrl-C in the middle of a run.

mod run_common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use run_common::*;

fn quick(dir: &std::path::Path, name: &str, command: &str, duration: &str) -> std::path::PathBuf {
    scenario(
        dir,
        name,
        &format!(
            r#"
name = "{name}"
duration = "{duration}"
drain = "1s"

[integration]
command = "{command}"
healthz_timeout = "2s"
stop_timeout = "2s"

[[load]]
name = "accounts"
type = "upsert"
object = "Account"
rate = {{ constant = 20 }}
keys = {{ pool = 50 }}
fields = {{ Name = {{ fake = "company" }} }}
"#
        ),
    )
}

#[test]
fn an_invalid_scenario_is_exit_2_with_file_line_and_key() {
    let tmp = tempfile::tempdir().unwrap();
    let file = scenario(
        tmp.path(),
        "bad",
        "name = \"bad\"\nduration = \"5s\"\n\n[[load]]\nname = \"a\"\ntype = \"upsert\"\nobject = \"Account\"\nrate = { constant = -5 }\n",
    );
    let output = run(&[
        "run",
        file.to_str().unwrap(),
        "--out",
        tmp.path().join("out").to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("bad.toml:8: load[0].rate.constant"),
        "{stderr}"
    );
    assert!(!tmp.path().join("out").join("report.json").exists());
}

#[test]
fn bad_flags_are_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let file = quick(tmp.path(), "flags", &fixture("correct"), "2s");
    let file = file.to_str().unwrap();
    for (args, needle) in [
        (vec!["run", file, "--shard", "2/2"], "--shard"),
        (
            vec!["run", file, "--integration", "builtin:clever"],
            "--integration",
        ),
        (
            vec!["report", tmp.path().join("nothing").to_str().unwrap()],
            "nothing",
        ),
    ] {
        let output = run(&args);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", text(&output));
        assert!(
            String::from_utf8_lossy(&output.stderr).contains(needle),
            "{}",
            text(&output)
        );
    }
}

#[test]
fn an_integration_that_never_gets_healthy_is_a_harness_error() {
    let tmp = tempfile::tempdir().unwrap();
    let file = quick(
        tmp.path(),
        "never-healthy",
        "echo starting; exec sleep 30",
        "2s",
    );
    let out = tmp.path().join("out");
    let started = Instant::now();
    let output = run_into(&file, &out);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the harness waited for sleep 30"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("/healthz"), "{stderr}");
    let dir = out.join("never-healthy");
    let events = ndjson(&dir.join("lifecycle.ndjson"));
    assert!(
        events.iter().any(|e| e["event"] == "healthz-timeout"),
        "{events:?}"
    );
    let stdout = std::fs::read_to_string(dir.join("integration.stdout.log")).unwrap();
    assert!(stdout.contains("starting"), "{stdout}");
}

#[test]
fn ctrl_c_stops_the_run_and_still_writes_the_report() {
    let tmp = tempfile::tempdir().unwrap();
    let file = quick(tmp.path(), "interrupted", &fixture("correct"), "60s");
    let out = tmp.path().join("out");
    let mut child = sfchaos()
        .args([
            "run",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait (bounded) until events are flowing.
    let ledger = out.join("interrupted").join("ledger.ndjson");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::fs::read_to_string(&ledger).map_or(0, |t| t.lines().count()) < 10 {
        assert!(Instant::now() < deadline, "no events within 30 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        assert!(
            Instant::now() < deadline,
            "sfchaos did not stop within 30 s of SIGINT"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let output = child.wait_with_output().unwrap();
    assert_eq!(code, Some(2), "{}", text(&output));
    let s = only_scenario(&out);
    assert_eq!(s["interrupted"], true);
    assert_eq!(s["passed"], false);
    let sent = u(&s["ledger"]["sent"]);
    assert!(sent >= 10, "{s:#}");
    assert_eq!(
        ndjson(&ledger).len() as u64,
        sent,
        "every sent event is in the ledger"
    );
    // The integration was stopped, not orphaned.
    let events = ndjson(&out.join("interrupted").join("lifecycle.ndjson"));
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "exit" && e["expected"] == true),
        "{events:?}"
    );
}

#[test]
fn junit_html_and_a_baseline_that_the_run_falls_below() {
    let tmp = tempfile::tempdir().unwrap();
    let file = quick(tmp.path(), "hooks", &fixture("correct"), "1s");
    let out = tmp.path().join("out");
    let missing = tmp.path().join("missing.json");
    let output = run(&[
        "run",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--baseline",
        missing.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("missing.json"));

    let junit = tmp.path().join("junit.xml");
    let output = run(&[
        "run",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let xml = std::fs::read_to_string(&junit).expect("junit.xml is written");
    assert!(xml.contains("<testsuite name=\"hooks\""), "{xml}");
    assert!(
        xml.contains("blind-retries"),
        "a testcase per anti-pattern: {xml}"
    );
    let html = std::fs::read_to_string(out.join("report.html")).expect("report.html");
    assert!(html.contains("<svg"), "the report has charts");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("availability"), "the scorecard: {stdout}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert!(out.join("hooks").join("scores.json").is_file());

    // A baseline that scored an anti-pattern this run did not exercise: the run fails (exit 1)
    // and says which.
    let scenario = &report["scenarios"][0];
    let (id, _) = scenario["anti_patterns"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(_, a)| a["status"] == "not-exercised")
        .expect("a 1 s fault-free run leaves some anti-pattern unexercised");
    let mut baseline = report.clone();
    baseline["scenarios"][0]["anti_patterns"][id]["status"] = "pass".into();
    baseline["scenarios"][0]["anti_patterns"][id]["score"] = 97.into();
    let baseline_path = tmp.path().join("baseline.json");
    std::fs::write(&baseline_path, baseline.to_string()).unwrap();
    let output = run(&[
        "run",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
        "--baseline",
        baseline_path.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains(&format!("baseline.{id} &gt;= 92")), "{xml}");
}
