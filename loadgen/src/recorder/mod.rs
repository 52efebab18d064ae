//! Latency recording: HdrHistograms corrected for coordinated omission and raw, interval logs
//! written during the run, and lossless merging of those logs across shards.
//!
//! Workers time every event from its *intended* instant (the schedule's, see
//! [`crate::schedule`]) and send one [`Sample`] per completed event to the recorder task, which alone
//! owns the histograms (conventions.md §11): recording never contends on a lock and the hot path is
//! a channel send.
//!
//! - **corrected** = `done − intended`: what a user of the integration waited, including time the
//!   event spent queued behind a stalled integration. This is wrk2's correction.
//! - **raw** = `done − sent`: what a closed-loop tool would report; kept to show how much the
//!   correction matters (report.json's `p99_uncorrected`).
//!
//! Both are kept per stream and per phase (a caller-chosen label such as `baseline`,
//! `fault:outage-1` or `drain`); stream, phase and overall views are sums of those.
//!
//! # Layout
//!
//! | file | what lives there |
//! |---|---|
//! | `mod.rs` | [`Sample`], the task ([`spawn`], [`RecorderHandle`]), [`Recording`], errors |
//! | `state.rs` | [`RecorderState`]: the histograms and the interval clock, synchronous |
//! | `interval_log.rs` | the interval log format, its writer, [`merge_interval_logs`] |
//! | `summary.rs` | [`HistogramSet`], [`LatencySummary`], [`RunSummary`], the time series |

mod interval_log;
mod state;
mod summary;

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

pub use interval_log::{
    merge_interval_log_bytes, merge_interval_logs, tag_safe, Kind, Merged, SeriesTag,
};
pub use state::RecorderState;
pub use summary::{
    HistogramSet, LatencyMs, LatencySummary, Leaf, LoadSummary, RunSummary, SeriesPoint,
    TimeSeries, HIGHEST_US, LOWEST_US, SIGFIG,
};

/// Errors of the recorder and of log merging. Merge errors name the file and line.
#[derive(Debug, thiserror::Error)]
pub enum RecorderError {
    #[error("recorder configuration: {0}")]
    Config(String),
    #[error("histogram: {0}")]
    Histogram(String),
    #[error("writing the interval log: {0}")]
    LogWrite(String),
    #[error("reading {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: not an interval log line")]
    Parse { path: PathBuf, line: usize },
    #[error("{path}:{line}: cannot decode histogram: {message}")]
    Decode {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("the recorder task stopped unexpectedly: {0}")]
    Task(String),
}

/// Whether an event succeeded. The recorder only needs this bit; the ledger keeps the detail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Error,
}

/// One completed event. All instants come from the tokio clock, so a paused test clock gives exact
/// latencies.
#[derive(Clone, Debug)]
pub struct Sample {
    pub stream: Arc<str>,
    pub phase: Arc<str>,
    /// When the schedule meant it to be sent.
    pub intended: Instant,
    /// When it was actually sent (after waiting for an in-flight slot, if any).
    pub sent: Instant,
    /// When its reply, error or timeout came.
    pub done: Instant,
    pub outcome: Outcome,
}

/// Settings of a recorder task.
#[derive(Clone, Debug)]
pub struct RecorderConfig {
    /// The run's zero on the tokio clock; interval `n` covers `[start + n·interval, …)`.
    pub start: Instant,
    /// The same instant on the wall clock, for the log's `StartTime`/`BaseTime` headers. Passed in
    /// rather than read, so tests produce identical logs.
    pub wall_start: SystemTime,
    /// Interval length (whole milliseconds); one log line per stream per interval.
    pub interval: Duration,
    /// Streams that get lines from the first interval on, even before their first sample.
    pub streams: Vec<String>,
    /// Samples buffered between workers and the recorder. Workers wait when it is full, which
    /// only happens if the recorder falls far behind (it ingests millions of samples a second).
    pub channel_capacity: usize,
}

impl RecorderConfig {
    pub fn new(start: Instant, wall_start: SystemTime) -> Self {
        RecorderConfig {
            start,
            wall_start,
            interval: Duration::from_secs(1),
            streams: Vec::new(),
            channel_capacity: 65_536,
        }
    }
}

/// What a finished recorder hands back.
#[derive(Debug)]
pub struct Recording {
    pub histograms: HistogramSet,
    pub series: TimeSeries,
    pub samples: u64,
    /// Samples that arrived after their interval had been written (recorded in a later one).
    pub late_samples: u64,
    /// Set if the interval log could not be written; recording continued in memory.
    pub log_error: Option<String>,
}

impl Recording {
    pub fn summary(&self) -> Result<RunSummary, RecorderError> {
        self.histograms.summary(self.series.clone())
    }
}

/// A cloneable handle for workers to send samples with.
#[derive(Clone, Debug)]
pub struct SampleSender {
    tx: mpsc::Sender<Sample>,
}

impl SampleSender {
    /// Sends one sample; `false` once the recorder has finished (the sample is not recorded).
    pub async fn send(&self, sample: Sample) -> bool {
        self.tx.send(sample).await.is_ok()
    }

    /// Non-waiting variant for synchronous callers; `false` if the buffer is full or the recorder
    /// has finished.
    pub fn try_send(&self, sample: Sample) -> bool {
        self.tx.try_send(sample).is_ok()
    }
}

/// The running recorder task.
#[derive(Debug)]
pub struct RecorderHandle {
    sender: SampleSender,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<Recording, RecorderError>>,
}

impl RecorderHandle {
    pub fn sender(&self) -> SampleSender {
        self.sender.clone()
    }

    /// Stops the task once the samples already sent are recorded, writes the last (partial)
    /// interval and returns the totals. Call it after the workers are done: samples sent later are
    /// refused.
    pub async fn finish(self) -> Result<Recording, RecorderError> {
        // An error means the task already ended; its result says why.
        let _ = self.stop.send(());
        drop(self.sender);
        self.task
            .await
            .map_err(|e| RecorderError::Task(e.to_string()))?
    }
}

/// Starts the recorder task. `log` receives the interval log (the caller opens the file, so tests
/// can use a buffer); its writes are small and once per interval, so they are done inline.
pub fn spawn(
    config: RecorderConfig,
    log: Option<Box<dyn Write + Send>>,
) -> Result<RecorderHandle, RecorderError> {
    let state = RecorderState::new(
        config.start,
        config.wall_start,
        config.interval,
        &config.streams,
        log,
    )?;
    let (tx, rx) = mpsc::channel(config.channel_capacity.max(1));
    let (stop_tx, stop_rx) = oneshot::channel();
    let task = tokio::spawn(run(state, config.start, config.interval, rx, stop_rx));
    Ok(RecorderHandle {
        sender: SampleSender { tx },
        stop: stop_tx,
        task,
    })
}

async fn run(
    mut state: RecorderState,
    start: Instant,
    interval: Duration,
    mut rx: mpsc::Receiver<Sample>,
    mut stop: oneshot::Receiver<()>,
) -> Result<Recording, RecorderError> {
    let mut ticker = tokio::time::interval_at(start + interval, interval);
    // Missed ticks need no catching up: `advance_to` closes every interval that has ended.
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut batch = Vec::with_capacity(1_024);
    loop {
        tokio::select! {
            // Stop first, so a steady stream of samples cannot delay `finish`; the drain below
            // still records everything sent before it.
            biased;
            _ = &mut stop => break,
            n = rx.recv_many(&mut batch, 1_024) => {
                if n == 0 {
                    break;
                }
                for s in batch.drain(..) {
                    state.record(&s);
                }
            }
            _ = ticker.tick() => state.advance_to(Instant::now()),
        }
    }
    // Whatever was sent before the stop is still recorded.
    rx.close();
    while let Ok(s) = rx.try_recv() {
        state.record(&s);
    }
    state.finish(Instant::now())
}
