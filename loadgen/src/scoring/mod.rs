//! Scoring: one detector per anti-pattern of design.md §7, each a pure function from the run's
//! [`Evidence`] to an [`Assessment`] (score 0–100, grade, status, findings with evidence).
//!
//! # How a run is scored
//!
//! Journals reach 10,000,000 entries, so nothing holds them in memory. [`score`] streams each
//! evidence source once — journal, ledger, record changes, actor edits, sink deliveries, in that
//! order — and hands every record to every detector's accumulator; then each detector finishes
//! with a [`Context`] that has what was computed across detectors (the [`Timeline`], ledger problems
//! placed in time). Every journal entry is classified once ([`facts::Classifier`]: who sent it, what
//! operation, how it failed, whether it was a retry) before the detectors see it. The journal is
//! decoded on a second thread while the detectors run.
//!
//! Each detector looks only at its own signals, so a build that changes one behaviour moves one
//! score. Formulas and thresholds, with the reasons for them, are in `docs/scoring.md`.
//!
//! # Layout
//!
//! | file | what lives there |
//! |---|---|
//! | `assessment.rs` | [`Assessment`], [`Finding`], [`Grade`], [`Status`], [`Severity`] |
//! | `evidence/` | [`Evidence`] and its record types and file readers |
//! | `facts.rs` | per-entry classification and retry identification |
//! | `hash.rs` | the fast hasher of the detectors' maps |
//! | `timeline.rs` | per-second series for the report's charts |
//! | `losses.rs` | ledger problems placed in time |
//! | `lifecycle.rs` | action spans and crashes |
//! | `stats.rs` | ramps, running statistics, histograms |
//! | `verdict.rs` | `[expect]` checks |
//! | `windows.rs` | fault windows, quiet stretches, baseline rates |
//! | `realtime_db.rs` … `availability.rs` | the ten detectors |
//!
//! # Adding a detector
//! 1. Add the id to [`crate::scenario::AntiPattern`].
//! 2. Write `scoring/<id>.rs` with a struct implementing [`Detector`] and `pub fn assess`.
//! 3. Add it to [`detector`]; document its signals in `docs/scoring.md`.
//! 4. Unit-test it on hand-built evidence: a clearly bad and a clearly good set, and "not exercised".

mod assessment;
pub mod evidence;
pub mod facts;
pub mod hash;
pub mod lifecycle;
pub mod losses;
pub mod stats;
pub mod timeline;
pub mod verdict;
pub mod windows;

pub mod availability;
pub mod batch_realtime_mixing;
pub mod blind_retries;
pub mod data_ownership;
pub mod observability;
pub mod partial_failures;
pub mod polling;
pub mod realtime_db;
pub mod rollback;
pub mod schema_assumptions;

use std::sync::mpsc;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use simulator::journal::JournalEntry;

pub use assessment::{Assessment, Finding, Grade, Severity, Status, PASS_SCORE};
pub use evidence::{Evidence, EvidenceError, Source};
pub use timeline::Timeline;

use crate::ledger::LedgerEntry;
use crate::scenario::AntiPattern;
use evidence::{ActorEdit, ChangeRecord, SinkDelivery};
use facts::{Classifier, Facts};
use losses::Losses;
use timeline::TimelineBuilder;

/// All ten verdicts, in design.md §7 order.
pub type Scorecard = IndexMap<AntiPattern, Assessment>;

/// What scoring produces for one scenario run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scoring {
    pub anti_patterns: Scorecard,
    pub timeline: Timeline,
}

/// What a detector may use when it finishes, beyond its own accumulators.
pub struct Context<'a> {
    pub ev: &'a Evidence,
    pub timeline: &'a Timeline,
    pub losses: &'a Losses,
}

/// A detector's accumulators. Every method but `finish` has a do-nothing default: a detector
/// implements the streams it reads.
pub trait Detector {
    fn id(&self) -> AntiPattern;
    fn journal(&mut self, _e: &JournalEntry, _f: &Facts) {}
    fn ledger(&mut self, _l: &LedgerEntry) {}
    /// `t_us`: the change's commit time on the scenario clock, when known.
    fn change(&mut self, _c: &ChangeRecord, _t_us: Option<i64>) {}
    fn actor_edit(&mut self, _a: &ActorEdit) {}
    fn delivery(&mut self, _d: &SinkDelivery) {}
    fn finish(self: Box<Self>, cx: &Context) -> Assessment;
}

/// The detector for `id`.
pub fn detector(id: AntiPattern, ev: &Evidence) -> Box<dyn Detector + '_> {
    match id {
        AntiPattern::RealtimeDb => Box::new(realtime_db::RealtimeDb::new(ev)),
        AntiPattern::Polling => Box::new(polling::Polling::new(ev)),
        AntiPattern::DataOwnership => Box::new(data_ownership::DataOwnership::new(ev)),
        AntiPattern::BlindRetries => Box::new(blind_retries::BlindRetries::new(ev)),
        AntiPattern::PartialFailures => Box::new(partial_failures::PartialFailures::new()),
        AntiPattern::SchemaAssumptions => Box::new(schema_assumptions::SchemaAssumptions::new(ev)),
        AntiPattern::Observability => Box::new(observability::Observability::new(ev)),
        AntiPattern::Rollback => Box::new(rollback::Rollback::new(ev)),
        AntiPattern::BatchRealtimeMixing => {
            Box::new(batch_realtime_mixing::BatchRealtimeMixing::new(ev))
        }
        AntiPattern::Availability => Box::new(availability::Availability::new(ev)),
    }
}

/// Scores all ten anti-patterns.
pub fn score(ev: &Evidence) -> Result<Scoring, EvidenceError> {
    run(ev, &AntiPattern::ALL)
}

/// Scores one anti-pattern (the same passes, one detector).
pub fn assess(ev: &Evidence, id: AntiPattern) -> Result<Assessment, EvidenceError> {
    let mut s = run(ev, &[id])?;
    Ok(s.anti_patterns
        .swap_remove(&id)
        .unwrap_or_else(|| Assessment::not_exercised("not scored")))
}

/// Journal entries decoded per batch handed from the decoding thread.
const BATCH: usize = 2_048;

/// The passes, for the detectors `ids`.
pub fn run(ev: &Evidence, ids: &[AntiPattern]) -> Result<Scoring, EvidenceError> {
    let mut detectors: Vec<Box<dyn Detector + '_>> =
        ids.iter().map(|id| detector(*id, ev)).collect();
    let mut timeline = TimelineBuilder::new(ev);
    let mut classifier = Classifier::new(ev);
    let mut visit = |e: &JournalEntry| {
        let facts = classifier.classify(e);
        timeline.journal(e, &facts);
        for d in detectors.iter_mut() {
            d.journal(e, &facts);
        }
    };
    match &ev.journal {
        Source::Items(items) => items.iter().for_each(&mut visit),
        Source::File(path) => journal_pipelined(path, &mut visit)?,
    }
    drop(classifier);

    let mut losses = Losses::new(ev.reconciliation.as_ref());
    ev.ledger.for_each(|l| {
        losses.ledger(l);
        timeline.ledger(l);
        for d in detectors.iter_mut() {
            d.ledger(l);
        }
    })?;
    ev.changes.for_each(|c| {
        let t = c.time_us(ev.epoch_ms);
        for d in detectors.iter_mut() {
            d.change(c, t);
        }
    })?;
    ev.actor_edits.for_each(|a| {
        for d in detectors.iter_mut() {
            d.actor_edit(a);
        }
    })?;
    ev.sink.for_each(|s| {
        for d in detectors.iter_mut() {
            d.delivery(s);
        }
    })?;

    let timeline = timeline.finish(ev);
    let cx = Context {
        ev,
        timeline: &timeline,
        losses: &losses,
    };
    let mut anti_patterns = Scorecard::new();
    for d in detectors {
        let id = d.id();
        anti_patterns.insert(id, d.finish(&cx));
    }
    // Report order, whatever order `ids` came in.
    anti_patterns.sort_by(|a, _, b, _| a.cmp(b));
    Ok(Scoring {
        anti_patterns,
        timeline,
    })
}

/// Decodes the journal file on a second thread (JSON decoding is most of the cost) and visits the
/// entries here, in order. Batches travel in a bounded channel and come back empty to be refilled,
/// so entries (and their strings) are reused and memory stays at a few batches.
fn journal_pipelined(
    path: &std::path::Path,
    visit: &mut dyn FnMut(&JournalEntry),
) -> Result<(), EvidenceError> {
    let (full_tx, full_rx) = mpsc::sync_channel::<Vec<JournalEntry>>(4);
    let (empty_tx, empty_rx) = mpsc::channel::<Vec<JournalEntry>>();
    std::thread::scope(|scope| {
        let decoder = scope.spawn(move || -> Result<(), EvidenceError> {
            let mut reader = evidence::journal::JournalReader::open(path)?;
            loop {
                let mut batch = empty_rx
                    .try_recv()
                    .unwrap_or_else(|_| Vec::with_capacity(BATCH));
                let mut n = 0;
                while n < BATCH {
                    if n == batch.len() {
                        batch.push(JournalEntry::default());
                    }
                    if !reader.next_into(&mut batch[n])? {
                        break;
                    }
                    n += 1;
                }
                batch.truncate(n);
                let done = n < BATCH;
                // The receiver only goes away if the visitor panicked; nothing left to do then.
                if n > 0 && full_tx.send(batch).is_err() || done {
                    return Ok(());
                }
            }
        });
        for batch in full_rx {
            batch.iter().for_each(&mut *visit);
            let _ = empty_tx.send(batch);
        }
        decoder.join().unwrap_or_else(|_| {
            Err(EvidenceError::Io {
                path: path.to_path_buf(),
                source: std::io::Error::other("the journal decoder stopped unexpectedly"),
            })
        })
    })
}
