//! What the user sees while a scenario runs: on a terminal, a live bar (phase, elapsed/total,
//! live event rate and error rate); otherwise a plain log line every few seconds, so CI logs
//! stay readable.

use std::io::IsTerminal;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::evidence::RunClock;
use super::inbound::LiveStats;
use super::phase::Phases;

/// How progress is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgressMode {
    /// A live bar on stderr.
    Bar,
    /// A line on stderr every few seconds.
    Lines,
    /// Nothing (tests, benchmarks).
    Quiet,
}

impl ProgressMode {
    /// A bar when stderr is a terminal, lines otherwise.
    pub fn detect() -> Self {
        if std::io::stderr().is_terminal() {
            ProgressMode::Bar
        } else {
            ProgressMode::Lines
        }
    }
}

/// Messages outside the live display (above the bar on a terminal).
#[derive(Clone, Debug)]
pub struct Progress {
    mode: ProgressMode,
    bar: Option<ProgressBar>,
}

impl Progress {
    pub fn new(mode: ProgressMode, name: &str, total: Duration) -> Self {
        let bar = (mode == ProgressMode::Bar).then(|| {
            let bar = ProgressBar::with_draw_target(
                Some(total.as_millis() as u64),
                ProgressDrawTarget::stderr_with_hz(4),
            );
            bar.set_style(
                ProgressStyle::with_template("{prefix:.bold} [{bar:30}] {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.set_prefix(name.to_owned());
            bar
        });
        Progress { mode, bar }
    }

    pub fn say(&self, line: &str) {
        match (&self.bar, self.mode) {
            (Some(bar), _) => bar.println(line),
            (None, ProgressMode::Quiet) => {}
            (None, _) => eprintln!("{line}"),
        }
    }

    /// Starts the ticker; it stops with `stop`.
    pub fn spawn(
        &self,
        name: String,
        clock: RunClock,
        total: Duration,
        phases: Arc<Phases>,
        live: Arc<LiveStats>,
        stop: CancellationToken,
    ) -> JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            if this.mode == ProgressMode::Quiet {
                return;
            }
            let every = if this.bar.is_some() {
                Duration::from_millis(250)
            } else {
                Duration::from_secs(5)
            };
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            let mut last_completed = 0u64;
            let mut last_at = clock.elapsed();
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tick.tick() => {}
                }
                let elapsed = clock.elapsed();
                let completed = live.completed.load(Ordering::Relaxed);
                let errors = live.errors.load(Ordering::Relaxed);
                let span = elapsed.saturating_sub(last_at).as_secs_f64();
                let rate = if span > 0.0 {
                    completed.saturating_sub(last_completed) as f64 / span
                } else {
                    0.0
                };
                last_completed = completed;
                last_at = elapsed;
                let error_rate = if completed > 0 {
                    errors as f64 / completed as f64 * 100.0
                } else {
                    0.0
                };
                let phase = phases.at(elapsed);
                let message = format!(
                    "{phase} {:.0}s/{:.0}s {rate:.1} ev/s, errors {error_rate:.1}%",
                    elapsed.as_secs_f64(),
                    total.as_secs_f64()
                );
                match &this.bar {
                    Some(bar) => {
                        bar.set_position(elapsed.min(total).as_millis() as u64);
                        bar.set_message(message);
                    }
                    None => eprintln!("sfchaos: {name}: {message}"),
                }
            }
            if let Some(bar) = &this.bar {
                bar.finish_and_clear();
            }
        })
    }
}
