//! Building a [`ScenarioReport`] from a run's facts, its reconciliation and its latency summary,
//! and checking `[expect]`. A live run and `sfchaos report` (one directory or merged shards) go
//! through the same functions, so they produce the same numbers from the same evidence.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use super::baseline;
use super::facts::{RunFacts, StreamFacts};
use super::model::{
    unscored_anti_patterns, AntiPatternResult, LedgerReport, LoadReport, PhaseLoad, ScenarioReport,
    StreamLoad,
};
use super::view::ReportView;
use crate::cli::sim::write_atomic;
use crate::harness::evidence::files;
use crate::ledger::Reconciliation;
use crate::recorder::RunSummary;
use crate::scenario::Scenario;
use crate::scoring::{verdict, Evidence, EvidenceError};

/// Ledger findings copied into report.json; `findings.json` has up to the reconciliation's cap.
const REPORT_FINDINGS: usize = 20;

/// A scenario's report. `scoring` is the scorer's verdicts (`None`: the run could not be scored —
/// every anti-pattern `not-exercised`, `min_score` expectations `unevaluated`). With `baseline`,
/// each anti-pattern the baseline scored for this scenario is one more expectation.
pub fn scenario_report(
    facts: &RunFacts,
    shards: Vec<String>,
    reconciliation: &Reconciliation,
    summary: &RunSummary,
    evidence: BTreeMap<String, String>,
    scoring: Option<Scored>,
    baseline: Option<&ReportView>,
) -> ScenarioReport {
    let ledger = LedgerReport::from(&reconciliation.totals);
    let load = load_report(facts, &ledger, summary);
    let scored = scoring.is_some();
    let (anti_patterns, timeline) = match scoring {
        Some(s) => (s.anti_patterns, s.timeline),
        None => (unscored_anti_patterns("the run was not scored"), None),
    };
    let mut expectations = verdict::evaluate(&facts.expect, &ledger, &load, &anti_patterns, scored);
    if let Some(base) = baseline {
        let current = anti_patterns.iter().map(|(id, a)| (id.as_str(), a));
        let comparison =
            baseline::compare(&facts.name, current, base, facts.expect.baseline_margin);
        expectations.extend(comparison.results);
    }
    let passed = !facts.interrupted && expectations.iter().all(|e| e.passed);
    ScenarioReport {
        name: facts.name.clone(),
        integration: facts.integration.clone(),
        passed,
        anti_patterns,
        ledger,
        load,
        expectations,
        file: facts.file.clone(),
        seed: facts.seed,
        shards,
        time_scale: facts.time_scale,
        duration_s: facts.duration_s,
        drain_s: facts.drain_s,
        interrupted: facts.interrupted,
        errors: facts.errors.clone(),
        faults_installed: facts.faults_installed,
        lifecycle: facts.lifecycle.clone(),
        actors: facts.actors.clone(),
        sink: facts.sink.clone(),
        alerts: facts.alerts.clone(),
        ledger_findings: reconciliation
            .findings
            .iter()
            .take(REPORT_FINDINGS)
            .cloned()
            .collect(),
        evidence,
        timeline,
    }
}

/// The scorer's output for one scenario, keyed for the report.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Scored {
    pub anti_patterns: IndexMap<String, AntiPatternResult>,
    #[serde(default)]
    pub timeline: Option<crate::scoring::Timeline>,
}

impl From<crate::scoring::Scoring> for Scored {
    fn from(s: crate::scoring::Scoring) -> Self {
        Scored {
            anti_patterns: s
                .anti_patterns
                .into_iter()
                .map(|(id, a)| (id.as_str().to_owned(), a))
                .collect(),
            timeline: Some(s.timeline),
        }
    }
}

/// Scores the run whose evidence is in `dir` and writes `scores.json` beside it (which
/// `sfchaos report` reads back when it merges shards). The reconciliation and the latency summary
/// are the run's, as the report has them.
pub fn score_dir(
    dir: &Path,
    scenario: &Scenario,
    reconciliation: &Reconciliation,
    summary: &RunSummary,
) -> Result<Scored, ScoreError> {
    let mut ev = Evidence::from_dir(dir, scenario)?;
    ev.reconciliation = Some(reconciliation.clone());
    ev.load = Some(summary.clone());
    let scored = Scored::from(crate::scoring::score(&ev)?);
    let path = dir.join(files::SCORES);
    let json = serde_json::to_vec(&scored).map_err(|e| ScoreError::Write {
        path: path.clone(),
        source: std::io::Error::other(e),
    })?;
    write_atomic(&path, &json).map_err(|source| ScoreError::Write { path, source })?;
    Ok(scored)
}

/// The scores a run wrote with [`score_dir`]; `None` when it wrote none.
pub fn read_scores(dir: &Path) -> Result<Option<Scored>, ScoreError> {
    let path = dir.join(files::SCORES);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| ScoreError::Parse {
                path,
                message: e.to_string(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ScoreError::Write { path, source }),
    }
}

/// Why a run could not be scored.
#[derive(Debug, thiserror::Error)]
pub enum ScoreError {
    #[error(transparent)]
    Evidence(#[from] EvidenceError),
    #[error("{path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a scores.json: {message}")]
    Parse { path: PathBuf, message: String },
}

/// Shards of one run are scored separately (each had its own simulator); the merged verdict per
/// anti-pattern is the worst shard's: the lowest score, its findings first, then the others'.
pub fn merge_scores(all: Vec<Scored>) -> Option<Scored> {
    let mut it = all.into_iter();
    let mut merged = it.next()?;
    for s in it {
        for (id, a) in s.anti_patterns {
            match merged.anti_patterns.get_mut(&id) {
                Some(m) => {
                    let worse = match (a.score, m.score) {
                        (Some(x), Some(y)) => x < y,
                        (Some(_), None) => true,
                        _ => false,
                    };
                    if worse {
                        let mut a = a;
                        a.findings.append(&mut m.findings);
                        *m = a;
                    } else {
                        m.findings.extend(a.findings);
                    }
                }
                None => {
                    merged.anti_patterns.insert(id, a);
                }
            }
        }
        // Timelines are per shard; the merged report keeps the first shard's.
    }
    Some(merged)
}

fn rate(count: f64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        count / seconds
    } else {
        0.0
    }
}

fn load_report(facts: &RunFacts, ledger: &LedgerReport, summary: &RunSummary) -> LoadReport {
    let mut streams = BTreeMap::new();
    let (mut target, mut sent) = (0.0, 0.0);
    let (mut scheduled, mut dispatched, mut late, mut dropped) = (0, 0, 0, 0);
    for s in &facts.streams {
        let records = (s.stats.dispatched * s.per_request) as f64;
        target += s.target_events;
        sent += records;
        scheduled += s.stats.scheduled;
        dispatched += s.stats.dispatched;
        late += s.stats.late;
        dropped += s.stats.dropped;
        let latency = summary.streams.get(&s.name).cloned().unwrap_or_default();
        streams.insert(
            s.name.clone(),
            StreamLoad {
                kind: s.kind.clone(),
                target_rate: rate(s.target_events, s.duration_s),
                achieved_rate: rate(records, s.duration_s),
                scheduled: s.stats.scheduled,
                dispatched: s.stats.dispatched,
                late: s.stats.late,
                dropped: s.stats.dropped,
                completed: latency.count,
                errors: latency.errors,
                latency_ms: latency.latency_ms(),
                corrected: latency.corrected,
                raw: latency.raw,
            },
        );
    }
    let phases = summary
        .phases
        .iter()
        .map(|(name, p)| {
            (
                name.clone(),
                PhaseLoad {
                    completed: p.count,
                    errors: p.errors,
                    latency_ms: p.latency_ms(),
                },
            )
        })
        .collect();
    let overall = &summary.overall;
    LoadReport {
        achieved_rate: rate(sent, facts.duration_s),
        latency_ms: overall.latency_ms(),
        target_rate: rate(target, facts.duration_s),
        scheduled,
        dispatched,
        late,
        dropped,
        completed: overall.count,
        errors: overall.errors,
        error_rate: if ledger.sent > 0 {
            ledger.rejected as f64 / ledger.sent as f64
        } else {
            0.0
        },
        corrected: overall.corrected.clone(),
        raw: overall.raw.clone(),
        streams,
        phases,
    }
}

/// Adds up the facts of several shards of one scenario: counters add, flags combine, the
/// scenario's own settings come from the first.
pub fn merge_facts(all: &[RunFacts]) -> Option<RunFacts> {
    let (first, rest) = all.split_first()?;
    let mut merged = first.clone();
    merged.shard = None;
    for f in rest {
        for s in &f.streams {
            match merged.streams.iter_mut().find(|m| m.name == s.name) {
                Some(m) => add_stream(m, s),
                None => merged.streams.push(s.clone()),
            }
        }
        let l = &mut merged.lifecycle;
        l.starts += f.lifecycle.starts;
        l.crashes += f.lifecycle.crashes;
        l.healthz_timeouts += f.lifecycle.healthz_timeouts;
        l.actions += f.lifecycle.actions;
        merged.actors.ok += f.actors.ok;
        merged.actors.errors += f.actors.errors;
        merged.actors.skipped += f.actors.skipped;
        merged.sink.requests += f.sink.requests;
        merged.sink.failed += f.sink.failed;
        merged.alerts.requests += f.alerts.requests;
        merged.alerts.failed += f.alerts.failed;
        merged.faults_installed &= f.faults_installed;
        merged.interrupted |= f.interrupted;
        merged.errors.extend(f.errors.iter().cloned());
        merged.journal_entries_before_start += f.journal_entries_before_start;
        merged.changes += f.changes;
    }
    Some(merged)
}

fn add_stream(into: &mut StreamFacts, s: &StreamFacts) {
    into.target_events += s.target_events;
    into.stats.scheduled += s.stats.scheduled;
    into.stats.dispatched += s.stats.dispatched;
    into.stats.late += s.stats.late;
    into.stats.dropped += s.stats.dropped;
    into.stats.max_late_ms = into.stats.max_late_ms.max(s.stats.max_late_ms);
}
