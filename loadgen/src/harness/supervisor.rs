//! The integration supervisor: starts the build with the contract environment, waits for
//! `/healthz`, captures its output, notices when it dies unasked, applies lifecycle actions and
//! stops it at the end.
//!
//! - Each start runs in its **own process group** (`sh -c` may fork the real program), and every
//!   signal goes to the group.
//! - stdout/stderr go straight to `integration.stdout.log` / `.stderr.log` (appended across
//!   restarts, a marker line per start), so output survives even a crash of the harness.
//! - An exit the harness did not ask for is a **crash**: recorded, not restarted. Restarting is
//!   what `crash-restart`, `restart`, `deploy` and `rollback` actions are for.
//! - A graceful stop is SIGTERM (plus SIGCONT, so a paused process can act on it), up to
//!   `stop_timeout` for the whole group to go, then SIGKILL.
//!
//! Every step is a line of `lifecycle.ndjson` ([`LifecycleEvent`]). Times are on the scenario
//! clock; events before load starts (the first start and its health check) have negative
//! `t_us`, measured back from the moment load started.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use http::Uri;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use parking_lot::Mutex;
use serde::Serialize;
use tokio::process::Command;
use tokio::sync::watch;
use tokio::time::Instant;

use super::env::PROXY_VARS;
use super::evidence::{signed_us, ClockedLog, Timed};
use super::http::HttpClient;
use crate::scenario::{ActionKind, IntegrationCommand};

/// How often `/healthz` is polled while waiting for it.
const HEALTHZ_POLL: Duration = Duration::from_millis(50);
/// After SIGKILL, how long to wait for the exit to be reported.
const KILL_WAIT: Duration = Duration::from_secs(5);

/// One line of `lifecycle.ndjson`. `event` is one of: `start`, `start-failed`, `healthy`,
/// `healthz-timeout`, `signal`, `exit`, `action-begin`, `action-end`, `run-start`, `load-end`,
/// `drain-end`. An `exit` with `expected: false` is a crash.
#[derive(Clone, Debug, Serialize)]
pub struct LifecycleEvent {
    #[serde(skip)]
    pub at: Instant,
    /// Microseconds on the scenario clock; negative before load started.
    pub t_us: i64,
    pub event: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generation: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<i32>,
    /// For `exit`: whether the harness had asked for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<bool>,
    /// For `healthy` / `healthz-timeout`: time since the start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ok: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The lifecycle log: held back until load starts, then stamped (see [`ClockedLog`]).
pub type Timeline = ClockedLog<LifecycleEvent>;

impl Timed for LifecycleEvent {
    fn stamp(&mut self, zero: Instant) {
        self.t_us = signed_us(self.at, zero);
    }
}

impl LifecycleEvent {
    /// An event of kind `event` happening now, every other field empty.
    pub fn now(event: &'static str) -> Self {
        LifecycleEvent {
            at: Instant::now(),
            t_us: 0,
            event,
            generation: None,
            pid: None,
            command: None,
            action: None,
            signal: None,
            code: None,
            expected: None,
            after_ms: None,
            ok: None,
            detail: None,
        }
    }
}

/// How to launch the integration.
#[derive(Clone, Debug)]
pub struct LaunchSpec {
    pub env: Vec<(String, String)>,
    pub listen: SocketAddr,
    pub stdout: PathBuf,
    pub stderr: PathBuf,
    pub healthz_timeout: Duration,
    pub stop_timeout: Duration,
    /// The `sfchaos` executable, for `builtin:PROFILE` (`sfchaos reference --profile PROFILE`).
    pub self_exe: PathBuf,
}

/// Why a start did not end healthy.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StartError {
    #[error("cannot start `{command}`: {message}")]
    Spawn { command: String, message: String },
    #[error("`{command}` exited during start-up ({status}); see {log}")]
    Exited {
        command: String,
        status: String,
        log: String,
    },
    #[error("`{command}` did not answer GET /healthz with 200 within {timeout:?}; see {log}")]
    Unhealthy {
        command: String,
        timeout: Duration,
        log: String,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ExitInfo {
    code: Option<i32>,
    signal: Option<i32>,
}

impl std::fmt::Display for ExitInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.code, self.signal) {
            (Some(code), _) => write!(f, "exit code {code}"),
            (None, Some(signal)) => write!(f, "killed by signal {signal}"),
            (None, None) => f.write_str("exit status unknown"),
        }
    }
}

/// One running (or just exited) process group.
#[derive(Debug)]
struct Proc {
    generation: u32,
    pid: i32,
    exited: watch::Receiver<Option<ExitInfo>>,
    expect_exit: Arc<AtomicBool>,
    paused: bool,
}

impl Proc {
    fn has_exited(&self) -> bool {
        self.exited.borrow().is_some()
    }
}

/// Counts for the report.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct LifecycleCounts {
    pub starts: u32,
    pub crashes: u32,
    pub healthz_timeouts: u32,
    pub actions: u32,
}

/// The supervisor. Owned by one task at a time (the run hands it to the action runner and back).
#[derive(Debug)]
pub struct Supervisor {
    spec: LaunchSpec,
    timeline: Timeline,
    http: HttpClient,
    healthz: Uri,
    current: IntegrationCommand,
    /// Commands replaced by deploys, for rollbacks.
    previous: Vec<IntegrationCommand>,
    proc: Option<Proc>,
    generation: u32,
    counts: Arc<Mutex<LifecycleCounts>>,
    /// The live process group id (0 when none), for an emergency kill from outside.
    pgid: Arc<AtomicI32>,
}

impl Supervisor {
    /// `pgid` is kept up to date with the live process group (see [`Supervisor::pgid_handle`]).
    pub fn new(
        spec: LaunchSpec,
        command: IntegrationCommand,
        timeline: Timeline,
        pgid: Arc<AtomicI32>,
    ) -> Self {
        let healthz = format!("http://{}/healthz", spec.listen)
            .parse()
            .unwrap_or_else(|_| Uri::from_static("http://127.0.0.1/healthz"));
        Supervisor {
            spec,
            timeline,
            http: HttpClient::new(2),
            healthz,
            current: command,
            previous: Vec::new(),
            proc: None,
            generation: 0,
            counts: Arc::new(Mutex::new(LifecycleCounts::default())),
            pgid,
        }
    }

    pub fn timeline(&self) -> &Timeline {
        &self.timeline
    }

    pub fn counts(&self) -> LifecycleCounts {
        self.counts.lock().clone()
    }

    pub fn current_command(&self) -> &IntegrationCommand {
        &self.current
    }

    /// Shared with whoever may need to kill the group in an emergency (a second Ctrl-C).
    pub fn pgid_handle(&self) -> Arc<AtomicI32> {
        Arc::clone(&self.pgid)
    }

    /// Sets `key` in the environment of every later start (restart, deploy, rollback).
    pub fn set_env(&mut self, key: &str, value: String) {
        match self.spec.env.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) => *v = value,
            None => self.spec.env.push((key.to_owned(), value)),
        }
    }

    /// Whether a process is running (not exited).
    pub fn is_running(&self) -> bool {
        self.proc.as_ref().is_some_and(|p| !p.has_exited())
    }

    /// Starts the current command and waits for it to be healthy.
    pub async fn start(&mut self) -> Result<(), StartError> {
        let command = self.current.clone();
        let started = Instant::now();
        self.generation += 1;
        let generation = self.generation;
        let text = command.to_string();
        let mut cmd = self.command_for(&command);
        if let Err(message) = self.prepare_output(&mut cmd, generation, &text) {
            return Err(self.start_failed(generation, &text, message));
        }
        let mut child = match cmd.spawn() {
            Ok(child) => child,
            Err(e) => return Err(self.start_failed(generation, &text, e.to_string())),
        };
        let pid = child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .unwrap_or(0);
        self.counts.lock().starts += 1;
        self.pgid.store(pid, Ordering::Relaxed);
        self.timeline.record(LifecycleEvent {
            at: started,
            event: "start",
            generation: Some(generation),
            pid: Some(pid),
            command: Some(text.clone()),
            ..LifecycleEvent::now("")
        });
        let (tx, rx) = watch::channel(None);
        let expect_exit = Arc::new(AtomicBool::new(false));
        let monitor_expect = Arc::clone(&expect_exit);
        let timeline = self.timeline.clone();
        let counts = Arc::clone(&self.counts);
        let pgid = Arc::clone(&self.pgid);
        tokio::spawn(async move {
            let status = child.wait().await;
            let info = match &status {
                Ok(status) => {
                    use std::os::unix::process::ExitStatusExt;
                    ExitInfo {
                        code: status.code(),
                        signal: status.signal(),
                    }
                }
                Err(_) => ExitInfo {
                    code: None,
                    signal: None,
                },
            };
            let expected = monitor_expect.load(Ordering::SeqCst);
            if !expected {
                counts.lock().crashes += 1;
            }
            let _ = pgid.compare_exchange(pid, 0, Ordering::Relaxed, Ordering::Relaxed);
            timeline.record(LifecycleEvent {
                event: "exit",
                generation: Some(generation),
                pid: Some(pid),
                code: info.code,
                signal: info.signal.and_then(signal_name),
                expected: Some(expected),
                detail: status.err().map(|e| e.to_string()),
                ..LifecycleEvent::now("")
            });
            let _ = tx.send(Some(info));
        });
        self.proc = Some(Proc {
            generation,
            pid,
            exited: rx,
            expect_exit,
            paused: false,
        });
        self.wait_healthy(started, generation, &text).await
    }

    fn command_for(&self, command: &IntegrationCommand) -> Command {
        let mut cmd = match command {
            IntegrationCommand::Shell(text) => {
                let mut c = Command::new("sh");
                c.arg("-c").arg(text);
                c
            }
            IntegrationCommand::Builtin(_) => {
                let spelled = command.to_string();
                let profile = spelled.strip_prefix("builtin:").unwrap_or(&spelled);
                let mut c = Command::new(&self.spec.self_exe);
                c.args(["reference", "--profile", profile]);
                c
            }
        };
        for var in PROXY_VARS {
            cmd.env_remove(var);
        }
        cmd.envs(self.spec.env.iter().map(|(k, v)| (k, v)));
        cmd.stdin(Stdio::null()).process_group(0).kill_on_drop(true);
        cmd
    }

    /// Points stdout/stderr at the log files, after a marker line in each.
    fn prepare_output(&self, cmd: &mut Command, generation: u32, text: &str) -> Result<(), String> {
        let marker = format!(
            "=== sfchaos: start #{generation} at {}: {text} ===\n",
            chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        );
        let open = |path: &PathBuf| -> Result<std::fs::File, String> {
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            file.write_all(marker.as_bytes())
                .map_err(|e| format!("{}: {e}", path.display()))?;
            Ok(file)
        };
        cmd.stdout(Stdio::from(open(&self.spec.stdout)?));
        cmd.stderr(Stdio::from(open(&self.spec.stderr)?));
        Ok(())
    }

    fn start_failed(&self, generation: u32, text: &str, message: String) -> StartError {
        self.timeline.record(LifecycleEvent {
            event: "start-failed",
            generation: Some(generation),
            command: Some(text.to_owned()),
            detail: Some(message.clone()),
            ..LifecycleEvent::now("")
        });
        StartError::Spawn {
            command: text.to_owned(),
            message,
        }
    }

    async fn wait_healthy(
        &mut self,
        started: Instant,
        generation: u32,
        text: &str,
    ) -> Result<(), StartError> {
        let deadline = started + self.spec.healthz_timeout;
        let log = self.spec.stderr.display().to_string();
        loop {
            if let Some(info) = self.proc.as_ref().and_then(|p| *p.exited.borrow()) {
                return Err(StartError::Exited {
                    command: text.to_owned(),
                    status: info.to_string(),
                    log,
                });
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let probe = left.min(Duration::from_secs(1));
            if let Ok(reply) = self.http.get(&self.healthz, probe).await {
                if reply.status == 200 {
                    self.timeline.record(LifecycleEvent {
                        event: "healthy",
                        generation: Some(generation),
                        after_ms: Some(started.elapsed().as_secs_f64() * 1_000.0),
                        ..LifecycleEvent::now("")
                    });
                    return Ok(());
                }
            }
            tokio::time::sleep(
                HEALTHZ_POLL.min(deadline.saturating_duration_since(Instant::now())),
            )
            .await;
        }
        self.counts.lock().healthz_timeouts += 1;
        self.timeline.record(LifecycleEvent {
            event: "healthz-timeout",
            generation: Some(generation),
            after_ms: Some(started.elapsed().as_secs_f64() * 1_000.0),
            ..LifecycleEvent::now("")
        });
        Err(StartError::Unhealthy {
            command: text.to_owned(),
            timeout: self.spec.healthz_timeout,
            log,
        })
    }

    fn signal(&self, proc: &Proc, signal: Signal, reason: &'static str) {
        // ESRCH (the group is gone) is not an error here: that is what we wanted.
        let _ = killpg(Pid::from_raw(proc.pid), signal);
        self.timeline.record(LifecycleEvent {
            event: "signal",
            generation: Some(proc.generation),
            pid: Some(proc.pid),
            signal: signal_name(signal as i32),
            detail: Some(reason.to_owned()),
            ..LifecycleEvent::now("")
        });
    }

    /// Waits up to `limit` for the leader's exit and then for the rest of its group.
    async fn wait_gone(proc: &mut Proc, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        let exited = tokio::time::timeout_at(deadline, proc.exited.wait_for(|e| e.is_some()))
            .await
            .is_ok();
        if !exited {
            return false;
        }
        // `sh -c` may have left its child behind; wait for the rest of the group too.
        loop {
            if !group_alive(proc.pid) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGKILL the group and wait for it to go.
    async fn kill(&mut self, reason: &'static str) {
        let Some(mut proc) = self.proc.take() else {
            return;
        };
        proc.expect_exit.store(true, Ordering::SeqCst);
        self.signal(&proc, Signal::SIGKILL, reason);
        Self::wait_gone(&mut proc, KILL_WAIT).await;
    }

    /// SIGTERM (and SIGCONT), up to `stop_timeout`, then SIGKILL. Returns whether it went
    /// gracefully. A process that already exited is just forgotten.
    pub async fn stop(&mut self, reason: &'static str) -> bool {
        let Some(mut proc) = self.proc.take() else {
            return true;
        };
        proc.expect_exit.store(true, Ordering::SeqCst);
        if proc.has_exited() {
            // Its group may outlive it (`sh -c` children); make sure nothing is left.
            let _ = killpg(Pid::from_raw(proc.pid), Signal::SIGKILL);
            return true;
        }
        self.signal(&proc, Signal::SIGTERM, reason);
        if proc.paused {
            self.signal(
                &proc,
                Signal::SIGCONT,
                "so the stopped process can act on SIGTERM",
            );
        }
        if Self::wait_gone(&mut proc, self.spec.stop_timeout).await {
            return true;
        }
        self.signal(&proc, Signal::SIGKILL, "still running after stop_timeout");
        Self::wait_gone(&mut proc, KILL_WAIT).await;
        false
    }

    /// Applies one `[[actions]]` entry. Errors (a restart that never got healthy) are recorded in
    /// the lifecycle log and returned as text; the run goes on either way.
    pub async fn apply(&mut self, action: &ActionKind) -> Result<(), String> {
        self.counts.lock().actions += 1;
        let name = action.name();
        self.timeline.record(LifecycleEvent {
            event: "action-begin",
            action: Some(name),
            command: match action {
                ActionKind::Deploy { command } => Some(command.to_string()),
                _ => None,
            },
            ..LifecycleEvent::now("")
        });
        let result = self.apply_inner(action).await;
        self.timeline.record(LifecycleEvent {
            event: "action-end",
            action: Some(name),
            ok: Some(result.is_ok()),
            detail: result.as_ref().err().cloned(),
            ..LifecycleEvent::now("")
        });
        result
    }

    async fn apply_inner(&mut self, action: &ActionKind) -> Result<(), String> {
        match action {
            ActionKind::CrashRestart => {
                self.kill("crash-restart").await;
                self.start().await.map_err(|e| e.to_string())
            }
            ActionKind::Restart => {
                self.stop("restart").await;
                self.start().await.map_err(|e| e.to_string())
            }
            ActionKind::Deploy { command } => {
                self.stop("deploy").await;
                let old = std::mem::replace(&mut self.current, command.clone());
                self.previous.push(old);
                self.start().await.map_err(|e| e.to_string())
            }
            ActionKind::Rollback => {
                self.stop("rollback").await;
                match self.previous.pop() {
                    Some(command) => self.current = command,
                    None => return Err("nothing to roll back to".into()),
                }
                self.start().await.map_err(|e| e.to_string())
            }
            ActionKind::Pause => match self.proc.as_mut() {
                Some(proc) if !proc.has_exited() => {
                    proc.paused = true;
                    let proc = self.proc.as_ref().ok_or("no process")?;
                    self.signal(proc, Signal::SIGSTOP, "pause");
                    Ok(())
                }
                _ => Err("the integration is not running".into()),
            },
            ActionKind::Resume => match self.proc.as_mut() {
                Some(proc) if !proc.has_exited() => {
                    proc.paused = false;
                    let generation = proc.generation;
                    let proc = self.proc.as_ref().ok_or("no process")?;
                    self.signal(proc, Signal::SIGCONT, "resume");
                    let text = self.current.to_string();
                    self.wait_healthy(Instant::now(), generation, &text)
                        .await
                        .map_err(|e| e.to_string())
                }
                _ => Err("the integration is not running".into()),
            },
        }
    }
}

/// Whether any process of group `pgid` is still running. Zombies do not count: an orphaned
/// child that died is only reaped by init, which in a container may never happen, and a signal
/// to a zombie still "succeeds". Reads /proc; without it, falls back to signal 0.
fn group_alive(pgid: i32) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return killpg(Pid::from_raw(pgid), None).is_ok();
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "pid (comm) state ppid pgrp …": comm may hold spaces, so split after the last ')'.
        let mut fields = stat.rsplit(')').next().unwrap_or("").split_whitespace();
        let state = fields.next().unwrap_or("");
        let pgrp = fields.nth(1).and_then(|f| f.parse::<i32>().ok());
        if pgrp == Some(pgid) && state != "Z" && state != "X" {
            return true;
        }
    }
    false
}

fn signal_name(signal: i32) -> Option<&'static str> {
    Signal::try_from(signal).ok().map(|s| s.as_str())
}
