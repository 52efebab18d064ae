//! The integration supervisor with real processes: start and `/healthz`, output capture, crash
//! detection, crash-restart, deploy and rollback, pause and resume, graceful and forced stops.

use std::path::Path;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use loadgen::harness::evidence::{ClockedLog, NdjsonLog};
use loadgen::harness::supervisor::{LaunchSpec, Supervisor};
use loadgen::scenario::{ActionKind, IntegrationCommand};
use serde_json::Value;
use tokio::time::Instant;

/// A minimal integration: serves `/healthz` on SFCHAOS_LISTEN, prints its first argument and
/// `FIXTURE_GREETING`, and exits with code 4 after `FIXTURE_EXIT_AFTER` seconds if set.
const HEALTH: &str = r#"
import http.server, os, sys, threading
print("version", sys.argv[1], "greeting", os.environ.get("FIXTURE_GREETING"), flush=True)
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/healthz" else 404)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *args):
        pass
after = os.environ.get("FIXTURE_EXIT_AFTER")
if after:
    threading.Timer(float(after), lambda: os._exit(4)).start()
host, port = os.environ["SFCHAOS_LISTEN"].rsplit(":", 1)
http.server.HTTPServer.allow_reuse_address = True
http.server.HTTPServer((host, int(port)), H).serve_forever()
"#;

struct Setup {
    _tmp: tempfile::TempDir,
    dir: std::path::PathBuf,
    script: String,
}

fn setup() -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let script = dir.join("health.py");
    std::fs::write(&script, HEALTH).unwrap();
    Setup {
        script: script.display().to_string(),
        dir,
        _tmp: tmp,
    }
}

fn command(setup: &Setup, version: &str) -> IntegrationCommand {
    IntegrationCommand::Shell(format!("python3 {} {version}", setup.script))
}

fn supervisor(
    setup: &Setup,
    command: IntegrationCommand,
    extra: &[(&str, &str)],
) -> (
    Supervisor,
    ClockedLog<loadgen::harness::supervisor::LifecycleEvent>,
    Arc<AtomicI32>,
) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut env = vec![("SFCHAOS_LISTEN".to_string(), port.to_string())];
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let timeline = ClockedLog::new(NdjsonLog::create(&setup.dir.join("lifecycle.ndjson")).unwrap());
    timeline.set_zero(Instant::now());
    let pgid = Arc::new(AtomicI32::new(0));
    let spec = LaunchSpec {
        env,
        listen: port,
        stdout: setup.dir.join("out.log"),
        stderr: setup.dir.join("err.log"),
        healthz_timeout: Duration::from_secs(10),
        stop_timeout: Duration::from_millis(500),
        self_exe: "/nonexistent".into(),
    };
    (
        Supervisor::new(spec, command, timeline.clone(), Arc::clone(&pgid)),
        timeline,
        pgid,
    )
}

fn events(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("lifecycle.ndjson"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Waits (bounded) until the supervisor's process has exited.
async fn until_exited(s: &Supervisor) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while s.is_running() {
        assert!(Instant::now() < deadline, "the process did not exit");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn starts_with_its_environment_captures_output_and_stops_gracefully() {
    let setup = setup();
    let (mut s, _, pgid) = supervisor(
        &setup,
        command(&setup, "v1"),
        &[("FIXTURE_GREETING", "hello")],
    );
    s.start().await.expect("healthy");
    assert!(s.is_running());
    assert!(pgid.load(Ordering::Relaxed) > 0);
    assert!(s.stop("test").await, "stopped by SIGTERM alone");
    assert_eq!(pgid.load(Ordering::Relaxed), 0);
    let out = std::fs::read_to_string(setup.dir.join("out.log")).unwrap();
    assert!(out.contains("=== sfchaos: start #1"), "{out}");
    assert!(out.contains("version v1 greeting hello"), "{out}");
    let ev = events(&setup.dir);
    let kinds: Vec<&str> = ev.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["start", "healthy", "signal", "exit"]);
    assert_eq!(ev[3]["expected"], true);
    assert_eq!(s.counts().crashes, 0);
}

#[tokio::test]
async fn an_unasked_exit_is_a_crash_and_crash_restart_recovers() {
    let setup = setup();
    let (mut s, _, _) = supervisor(
        &setup,
        command(&setup, "v1"),
        &[("FIXTURE_EXIT_AFTER", "0.3")],
    );
    s.start().await.expect("healthy");
    until_exited(&s).await;
    assert_eq!(s.counts().crashes, 1);
    // The restarted process crashes again later too, but only after being healthy.
    s.apply(&ActionKind::CrashRestart).await.expect("restarted");
    assert_eq!(s.counts().starts, 2);
    s.stop("test").await;
    let ev = events(&setup.dir);
    let crash = ev
        .iter()
        .find(|e| e["event"] == "exit" && e["expected"] == false)
        .expect("crash");
    assert_eq!(crash["code"], 4);
    assert_eq!(crash["generation"], 1);
    assert!(ev
        .iter()
        .any(|e| e["event"] == "healthy" && e["generation"] == 2));
    assert!(ev
        .iter()
        .any(|e| e["event"] == "action-end" && e["action"] == "crash-restart" && e["ok"] == true));
}

#[tokio::test]
async fn deploy_switches_the_command_and_rollback_brings_the_old_one_back() {
    let setup = setup();
    let (mut s, _, _) = supervisor(
        &setup,
        command(&setup, "v1"),
        &[("FIXTURE_GREETING", "first")],
    );
    s.start().await.unwrap();
    // What the harness learns after the first start (the run's zero) reaches every later one.
    s.set_env("FIXTURE_GREETING", "later".into());
    s.apply(&ActionKind::Deploy {
        command: command(&setup, "v2"),
    })
    .await
    .unwrap();
    assert_eq!(s.current_command(), &command(&setup, "v2"));
    s.apply(&ActionKind::Rollback).await.unwrap();
    assert_eq!(s.current_command(), &command(&setup, "v1"));
    assert!(
        s.apply(&ActionKind::Rollback).await.is_err(),
        "nothing left to roll back"
    );
    s.stop("test").await;
    let out = std::fs::read_to_string(setup.dir.join("out.log")).unwrap();
    let versions: Vec<&str> = out.lines().filter(|l| l.starts_with("version")).collect();
    assert_eq!(versions.len(), 3, "{out}");
    assert_eq!(
        versions,
        [
            "version v1 greeting first",
            "version v2 greeting later",
            "version v1 greeting later"
        ]
    );
    assert_eq!(
        s.counts().crashes,
        0,
        "deploys stop the old version on purpose"
    );
}

#[tokio::test]
async fn pause_freezes_and_resume_waits_for_health() {
    let setup = setup();
    let (mut s, _, pgid) = supervisor(&setup, command(&setup, "v1"), &[]);
    s.start().await.unwrap();
    s.apply(&ActionKind::Pause).await.unwrap();
    let pid = pgid.load(Ordering::Relaxed);
    // The state field of /proc/PID/stat: T = stopped (the group leader may be `sh`). Signals
    // are delivered asynchronously, so wait (bounded) for it.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_owned();
        if state == "T" {
            break;
        }
        assert!(Instant::now() < deadline, "not stopped: {stat}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    s.apply(&ActionKind::Resume)
        .await
        .expect("healthy after resume");
    s.stop("test").await;
}

#[tokio::test]
async fn a_process_ignoring_sigterm_is_killed_after_stop_timeout() {
    let setup = setup();
    let stubborn =
        IntegrationCommand::Shell(format!("trap '' TERM; exec python3 {} v1", setup.script));
    let (mut s, _, _) = supervisor(&setup, stubborn, &[]);
    s.start().await.unwrap();
    let started = Instant::now();
    assert!(!s.stop("test").await, "SIGTERM alone must not have worked");
    assert!(started.elapsed() >= Duration::from_millis(500));
    let ev = events(&setup.dir);
    assert!(ev
        .iter()
        .any(|e| e["event"] == "signal" && e["signal"] == "SIGKILL"));
}

#[tokio::test]
async fn an_exit_during_start_up_is_reported_with_its_status() {
    let setup = setup();
    let (mut s, _, _) = supervisor(
        &setup,
        IntegrationCommand::Shell("echo broken >&2; exit 7".into()),
        &[],
    );
    let error = s.start().await.expect_err("never healthy");
    assert!(error.to_string().contains("exit code 7"), "{error}");
    let err = std::fs::read_to_string(setup.dir.join("err.log")).unwrap();
    assert!(err.contains("broken"));
}
