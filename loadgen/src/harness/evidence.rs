//! Evidence files: append-only NDJSON, one line per thing that happened, written and flushed as it
//! happens so that a crash of the integration, or of the harness, loses nothing already seen.
//!
//! Every line carries `t_us`: microseconds on the **scenario clock** (0 = the moment load
//! starts), the same zero as the simulator's journal (`JournalEntry::t_us`) and the ledger
//! (`sent_us`), so the scorer can line everything up without converting.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use parking_lot::Mutex;
use serde::Serialize;
use tokio::time::Instant;

/// The run's zero, on the tokio clock and on the wall clock.
#[derive(Clone, Copy, Debug)]
pub struct RunClock {
    pub start: Instant,
    pub wall_start: SystemTime,
}

impl RunClock {
    pub fn starting_now() -> Self {
        RunClock {
            start: Instant::now(),
            wall_start: SystemTime::now(),
        }
    }

    /// Scenario time of `at` (zero for instants before the start).
    pub fn offset(&self, at: Instant) -> Duration {
        at.saturating_duration_since(self.start)
    }

    pub fn elapsed(&self) -> Duration {
        self.offset(Instant::now())
    }

    pub fn t_us(&self, at: Instant) -> u64 {
        micros(self.offset(at))
    }

    pub fn now_us(&self) -> u64 {
        self.t_us(Instant::now())
    }

    /// Wall-clock time of a scenario offset, for `occurred_at` stamps.
    pub fn wall_at(&self, offset: Duration) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::<chrono::Utc>::from(self.wall_start + offset)
    }

    /// Wall-clock epoch milliseconds of the start.
    pub fn epoch_ms(&self) -> i64 {
        self.wall_start
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }
}

pub fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// An append-only NDJSON file shared by tasks. Each value is encoded outside the lock and written
/// with one `write_all` inside it; the lock is a plain mutex, never held across an `.await`.
/// The file is unbuffered on purpose (see the module docs).
#[derive(Clone, Debug)]
pub struct NdjsonLog {
    inner: Arc<Mutex<LogInner>>,
}

#[derive(Debug)]
struct LogInner {
    file: File,
    path: PathBuf,
    lines: u64,
    /// The first write error; later lines are still attempted.
    error: Option<String>,
}

impl NdjsonLog {
    /// Creates (truncates) `path`.
    pub fn create(path: &Path) -> std::io::Result<Self> {
        Self::open(path, false)
    }

    /// Opens `path` for appending (creating it).
    pub fn append(path: &Path) -> std::io::Result<Self> {
        Self::open(path, true)
    }

    fn open(path: &Path, append: bool) -> std::io::Result<Self> {
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .append(append)
            .truncate(!append)
            .open(path)?;
        Ok(NdjsonLog {
            inner: Arc::new(Mutex::new(LogInner {
                file,
                path: path.to_path_buf(),
                lines: 0,
                error: None,
            })),
        })
    }

    /// Appends one line. Encoding or I/O failures are kept (see [`NdjsonLog::error`]) rather than
    /// returned: evidence must never stop the run.
    pub fn write<T: Serialize + ?Sized>(&self, value: &T) {
        let mut line = match serde_json::to_vec(value) {
            Ok(line) => line,
            Err(e) => {
                let mut inner = self.inner.lock();
                inner.error.get_or_insert_with(|| format!("encoding: {e}"));
                return;
            }
        };
        line.push(b'\n');
        let mut inner = self.inner.lock();
        match inner.file.write_all(&line) {
            Ok(()) => inner.lines += 1,
            Err(e) => {
                let message = format!("{}: {e}", inner.path.display());
                inner.error.get_or_insert(message);
            }
        }
    }

    pub fn lines(&self) -> u64 {
        self.inner.lock().lines
    }

    pub fn error(&self) -> Option<String> {
        self.inner.lock().error.clone()
    }

    pub fn path(&self) -> PathBuf {
        self.inner.lock().path.clone()
    }
}

/// A line that carries instants and is stamped with scenario-clock times once the clock's zero
/// (the moment load starts) is known.
pub trait Timed: Serialize {
    /// Fills the line's `t_us`-style fields from its instants, relative to `zero` (negative
    /// before it).
    fn stamp(&mut self, zero: Instant);
}

/// Signed microseconds from `zero` to `at`.
pub fn signed_us(at: Instant, zero: Instant) -> i64 {
    if at >= zero {
        i64::try_from(at.duration_since(zero).as_micros()).unwrap_or(i64::MAX)
    } else {
        -i64::try_from(zero.duration_since(at).as_micros()).unwrap_or(i64::MAX)
    }
}

/// An NDJSON log of [`Timed`] lines for things that can happen before load starts (the
/// integration's first start, a delivery during its start-up sync). Until the zero is set, lines
/// wait in memory; then they are stamped (negative times) and written, and later lines go
/// straight to the file.
#[derive(Debug)]
pub struct ClockedLog<T> {
    inner: Arc<Mutex<ClockedInner<T>>>,
}

impl<T> Clone for ClockedLog<T> {
    fn clone(&self) -> Self {
        ClockedLog {
            inner: Arc::clone(&self.inner),
        }
    }
}

#[derive(Debug)]
struct ClockedInner<T> {
    log: NdjsonLog,
    zero: Option<Instant>,
    pending: Vec<T>,
}

impl<T: Timed> ClockedLog<T> {
    pub fn new(log: NdjsonLog) -> Self {
        ClockedLog {
            inner: Arc::new(Mutex::new(ClockedInner {
                log,
                zero: None,
                pending: Vec::new(),
            })),
        }
    }

    pub fn record(&self, mut line: T) {
        let mut inner = self.inner.lock();
        match inner.zero {
            Some(zero) => {
                line.stamp(zero);
                inner.log.write(&line);
            }
            None => inner.pending.push(line),
        }
    }

    /// Fixes the zero (once; later calls are ignored) and writes the lines held back.
    pub fn set_zero(&self, zero: Instant) {
        let mut inner = self.inner.lock();
        if inner.zero.is_some() {
            return;
        }
        inner.zero = Some(zero);
        for mut line in std::mem::take(&mut inner.pending) {
            line.stamp(zero);
            inner.log.write(&line);
        }
    }

    /// The zero, once set.
    pub fn zero(&self) -> Option<Instant> {
        self.inner.lock().zero
    }

    /// Writes held-back lines relative to now, for a run that ends before load started.
    pub fn flush(&self) {
        self.set_zero(Instant::now());
    }

    pub fn log(&self) -> NdjsonLog {
        self.inner.lock().log.clone()
    }
}

/// The file names of a scenario's output directory. One place, so the report, the merge and the
/// docs agree.
pub mod files {
    pub const REPORT: &str = "report.json";
    pub const RUN: &str = "run.json";
    pub const SCENARIO: &str = "scenario.json";
    pub const CA: &str = "ca.pem";
    pub const LEDGER: &str = "ledger.ndjson";
    pub const LATENCY_LOG: &str = "latency.hlog";
    pub const JOURNAL: &str = "journal.ndjson.zst";
    pub const CHANGES: &str = "changes.ndjson";
    pub const CHANGES_ZST: &str = "changes.ndjson.zst";
    pub const METRICS: &str = "metrics.ndjson";
    pub const SCORES: &str = "scores.json";
    pub const HTML: &str = "report.html";
    pub const ACTOR_EDITS: &str = "actor-edits.ndjson";
    pub const SINK: &str = "sink.ndjson";
    pub const ALERTS: &str = "alerts.ndjson";
    pub const LIFECYCLE: &str = "lifecycle.ndjson";
    pub const FAULTS: &str = "faults.ndjson";
    pub const PHASES: &str = "phases.ndjson";
    pub const ORG_FINAL: &str = "org-final.ndjson";
    pub const FINDINGS: &str = "findings.json";
    pub const STDOUT: &str = "integration.stdout.log";
    pub const STDERR: &str = "integration.stderr.log";
    pub const STATE_DIR: &str = "state";
}
