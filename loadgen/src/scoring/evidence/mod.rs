//! [`Evidence`]: everything a detector may look at, as plain data.
//!
//! The big streams (journal, ledger, record changes, sink deliveries, actor edits) are
//! [`Source`]s: a file the detectors stream through, or records in memory for tests. The small
//! ones (alerts, lifecycle, metrics scrapes, fault windows) are vectors. The scenario's own facts
//! (ownership, actors, streams, peak hours, fault plan) come from [`Evidence::from_scenario`].
//!
//! # Output-directory files ([`Evidence::from_dir`])
//!
//! | file | line type | required |
//! |---|---|---|
//! | `journal.ndjson.zst` | [`simulator::journal::JournalEntry`] | yes |
//! | `ledger.ndjson` | [`crate::ledger::LedgerEntry`] | no (no inbound events) |
//! | `findings.json` | [`crate::ledger::Reconciliation`] (`{totals, findings, findings_omitted}`) | no |
//! | `changes.ndjson` or `changes.ndjson.zst` | [`ChangeRecord`] (the simulator's `Change` + `t_us`) | no |
//! | `actor-edits.ndjson` | [`ActorEdit`] | no |
//! | `sink.ndjson` | [`SinkDelivery`] (`{t_us, status, body: {object, id, …}}`) | no |
//! | `alerts.ndjson` | `{t_us, body, alerts?: [{severity, summary, status}]}` → [`Alert`] | no |
//! | `lifecycle.ndjson` | [`LifecycleEvent`] (`{t_us, event, action?, expected?}`) | no |
//! | `metrics.ndjson` | [`MetricsScrape`] (`{t_us, status, text}`) | no |
//! | `run.json` | `journal_entries_before_start`, `started_at` are read when present | no |
//!
//! Fault windows, peak hours, ownership, actors and streams come from the scenario, not from files.
//! Every `t_us` is microseconds on the scenario clock (0 = load start), as the journal's.

pub(crate) mod journal;
mod records;
mod source;

use std::path::Path;

use simulator::faults::plan::{FaultEffect, FaultRule, Trigger};

pub use records::{
    ActorEdit, ActorInfo, Alert, ChangeRecord, DeliveryBody, FaultWindow, LifecycleEvent,
    MetricsScrape, SinkDelivery, Span, StreamInfo, StreamKind,
};
pub use source::{EvidenceError, Source};

use crate::ledger::{LedgerEntry, Reconciliation};
use crate::recorder::RunSummary;
use crate::scenario::{Ownership, Scenario, Traffic};
use simulator::journal::JournalEntry;

/// File names in a scenario's output directory (see the module docs).
pub use crate::harness::evidence::files;

/// Everything the detectors may look at.
#[derive(Clone, Debug, Default)]
pub struct Evidence {
    /// Scenario name, for messages.
    pub scenario: String,
    pub seed: u64,
    /// Load duration and drain, microseconds.
    pub load_us: u64,
    pub drain_us: u64,
    /// The integration's Salesforce username (its journal `user`); actors have their own.
    pub integration_user: String,
    pub actors: Vec<ActorInfo>,
    pub ownership: Ownership,
    pub streams: Vec<StreamInfo>,
    pub faults: Vec<FaultWindow>,
    /// Declared business peak hours.
    pub peak: Vec<Span>,
    /// The first `journal_before_start` journal entries predate load start (their `t_us` counts
    /// from the simulator's start); they are the integration's start-up and are not scored.
    pub journal_before_start: u64,
    /// Wall-clock epoch milliseconds of scenario time zero, to place changes that only carry
    /// `commit_ms`.
    pub epoch_ms: Option<i64>,
    pub journal: Source<JournalEntry>,
    pub ledger: Source<LedgerEntry>,
    /// Totals and per-key findings after the drain; `None` when the run had no inbound events.
    pub reconciliation: Option<Reconciliation>,
    pub changes: Source<ChangeRecord>,
    pub actor_edits: Source<ActorEdit>,
    pub sink: Source<SinkDelivery>,
    pub alerts: Vec<Alert>,
    pub lifecycle: Vec<LifecycleEvent>,
    pub metrics: Vec<MetricsScrape>,
    /// The recorder's latency summaries and per-interval series (corrected for coordinated
    /// omission), when available.
    pub load: Option<RunSummary>,
}

impl Evidence {
    /// End of the run (load + drain) on the scenario clock.
    pub fn run_end_us(&self) -> u64 {
        self.load_us.saturating_add(self.drain_us)
    }

    /// The scenario's facts, with every stream empty: fill the sources from a run.
    pub fn from_scenario(scenario: &Scenario) -> Evidence {
        let us = |d: std::time::Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        let mut faults: Vec<FaultWindow> = scenario.faults.rules.iter().map(fault_window).collect();
        for (i, w) in scenario.sink.outages.iter().enumerate() {
            faults.push(FaultWindow {
                id: format!("sink-outage-{i}"),
                kind: "sink-outage".into(),
                span: Span::new(us(w.start), w.end().map(us)),
                ..FaultWindow::default()
            });
        }
        Evidence {
            scenario: scenario.name.clone(),
            seed: scenario.seed,
            load_us: us(scenario.duration),
            drain_us: us(scenario.drain),
            // The identity `sfchaos run` gives the integration.
            integration_user: crate::harness::world::INTEGRATION_USER.into(),
            actors: scenario
                .actors
                .iter()
                .map(|a| ActorInfo {
                    name: a.name.clone(),
                    username: a.username.clone(),
                    object: a.object.clone(),
                    fields: a.fields.keys().cloned().collect(),
                })
                .collect(),
            ownership: scenario.ownership.clone(),
            streams: scenario
                .load
                .iter()
                .map(|s| StreamInfo {
                    name: s.name.clone(),
                    kind: match s.traffic {
                        Traffic::Events { .. } => StreamKind::Events,
                        Traffic::Batches { .. } => StreamKind::Batch,
                    },
                    object: s.object.clone(),
                    batch_size: match &s.traffic {
                        Traffic::Batches { batch_size, .. } => Some(batch_size.get()),
                        Traffic::Events { .. } => None,
                    },
                })
                .collect(),
            faults,
            peak: scenario
                .peak
                .iter()
                .map(|w| Span::new(us(w.start), w.end().map(us)))
                .collect(),
            ..Evidence::default()
        }
    }

    /// The scenario's facts plus the evidence files of an output directory (see the module
    /// docs). Only the journal is required; absent files mean "nothing of that kind happened".
    pub fn from_dir(dir: &Path, scenario: &Scenario) -> Result<Evidence, EvidenceError> {
        let mut ev = Evidence::from_scenario(scenario);
        let journal = dir.join(files::JOURNAL);
        if !journal.exists() {
            return Err(EvidenceError::Io {
                path: journal,
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no journal"),
            });
        }
        ev.journal = Source::File(journal);
        let file = |name: &str| {
            let p = dir.join(name);
            p.exists().then_some(p)
        };
        if let Some(p) = file(files::LEDGER) {
            ev.ledger = Source::File(p);
        }
        if let Some(p) = file(files::CHANGES).or_else(|| file(files::CHANGES_ZST)) {
            ev.changes = Source::File(p);
        }
        if let Some(p) = file(files::ACTOR_EDITS) {
            ev.actor_edits = Source::File(p);
        }
        if let Some(p) = file(files::SINK) {
            ev.sink = Source::File(p);
        }
        if let Some(p) = file(files::ALERTS) {
            let requests = Source::<records::AlertRequest>::File(p).collect_lines()?;
            ev.alerts = requests.into_iter().flat_map(|r| r.flatten()).collect();
        }
        if let Some(p) = file(files::LIFECYCLE) {
            ev.lifecycle = Source::File(p).collect()?;
        }
        if let Some(p) = file(files::METRICS) {
            ev.metrics = Source::File(p).collect()?;
        }
        if let Some(p) = file(files::FINDINGS) {
            let text = std::fs::read(&p).map_err(|source| EvidenceError::Io {
                path: p.clone(),
                source,
            })?;
            ev.reconciliation =
                Some(
                    serde_json::from_slice(&text).map_err(|e| EvidenceError::Parse {
                        path: p.clone(),
                        line: e.line() as u64,
                        message: format!("not a reconciliation: {e}"),
                    })?,
                );
        }
        if let Some(p) = file(files::RUN) {
            if let Ok(text) = std::fs::read(&p) {
                if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&text) {
                    ev.journal_before_start = v
                        .get("journal_entries_before_start")
                        .and_then(serde_json::Value::as_u64)
                        .unwrap_or(0);
                    ev.epoch_ms = v
                        .get("started_at")
                        .and_then(serde_json::Value::as_str)
                        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                        .map(|t| t.timestamp_millis());
                }
            }
        }
        Ok(ev)
    }

    /// The actor whose username this is.
    pub fn actor_by_user(&self, username: &str) -> Option<usize> {
        self.actors.iter().position(|a| a.username == username)
    }

    /// Fault windows of these kinds that the simulator enforced.
    pub fn windows_of<'a>(&'a self, kinds: &'a [&str]) -> impl Iterator<Item = &'a FaultWindow> {
        self.faults
            .iter()
            .filter(move |f| f.installed && kinds.contains(&f.kind.as_str()))
    }
}

impl Source<records::AlertRequest> {
    fn collect_lines(&self) -> Result<Vec<records::AlertRequest>, EvidenceError> {
        let mut out = Vec::new();
        if let Source::File(path) = self {
            let mut reader = source::LineReader::open(path)?;
            while let Some(r) = reader.next_record::<records::AlertRequest>()? {
                out.push(r);
            }
        }
        Ok(out)
    }
}

/// A fault rule as the detectors see it.
pub fn fault_window(rule: &FaultRule) -> FaultWindow {
    let us = |d: std::time::Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
    let mut w = FaultWindow {
        id: rule.id.clone(),
        kind: rule.kind().as_str().to_owned(),
        span: Span::new(us(rule.window.start), rule.window.end().map(us)),
        installed: true,
        ..FaultWindow::default()
    };
    w.probability = Some(match rule.trigger {
        Trigger::Probability(p) => p,
        _ => 1.0,
    });
    match &rule.effect {
        FaultEffect::Outage(o) => w.mode = Some(o.mode.as_str().to_owned()),
        FaultEffect::SchemaChange(c) => {
            w.object = Some(c.object().to_owned());
            w.field = c.field().map(str::to_owned);
            w.change = Some(c.name().to_owned());
            // A schema change lasts for the rest of the run.
            w.span.end_us = None;
        }
        _ => {}
    }
    w
}
