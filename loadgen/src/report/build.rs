//! Building a [`ScenarioReport`] from a run's facts, its reconciliation and its latency summary,
//! and checking `[expect]`. A live run and `sfchaos report` (one directory or merged shards) go
//! through the same functions, so they produce the same numbers from the same evidence.

use std::collections::BTreeMap;

use indexmap::IndexMap;
use serde_json::Value;

use super::facts::{RunFacts, StreamFacts};
use super::model::{
    unscored_anti_patterns, AntiPatternResult, ExpectationResult, ExpectationStatus, LedgerReport,
    LoadReport, PhaseLoad, ScenarioReport, Status, StreamLoad,
};
use crate::ledger::Reconciliation;
use crate::recorder::RunSummary;

/// Ledger findings copied into report.json; `findings.json` has up to the reconciliation's cap.
const REPORT_FINDINGS: usize = 20;

/// Whether anti-pattern scores exist. They come with the scoring engine; until then every
/// anti-pattern is `not-exercised` and `min_score` expectations are `unevaluated`.
pub const SCORING_AVAILABLE: bool = false;

pub fn scenario_report(
    facts: &RunFacts,
    shards: Vec<String>,
    reconciliation: &Reconciliation,
    summary: &RunSummary,
    evidence: BTreeMap<String, String>,
) -> ScenarioReport {
    let ledger = LedgerReport::from(&reconciliation.totals);
    let load = load_report(facts, &ledger, summary);
    let anti_patterns = unscored_anti_patterns();
    let expectations = evaluate(facts, &ledger, &load, &anti_patterns, SCORING_AVAILABLE);
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
    }
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

/// Checks every `[expect]` entry. `min_score` entries need scores: without scoring they are
/// `unevaluated` (and not passed); with scoring, an anti-pattern the run did not exercise fails
/// its expectation (docs/scenarios.md).
pub fn evaluate(
    facts: &RunFacts,
    ledger: &LedgerReport,
    load: &LoadReport,
    anti_patterns: &IndexMap<String, AntiPatternResult>,
    scored: bool,
) -> Vec<ExpectationResult> {
    let e = &facts.expect;
    let mut out = Vec::new();
    for (id, min) in &e.min_score {
        let name = format!("min_score.{id} >= {min}");
        let result = anti_patterns.get(id);
        out.push(match result {
            _ if !scored => {
                unevaluated(name, "anti-pattern scoring is not available in this build")
            }
            Some(AntiPatternResult {
                score: Some(score),
                status,
                ..
            }) if *status != Status::NotExercised => {
                check(name, f64::from(*score), |v| v >= f64::from(*min))
            }
            _ => ExpectationResult {
                name,
                passed: false,
                actual: Value::Null,
                status: ExpectationStatus::Fail,
                detail: Some("the run did not exercise this anti-pattern".into()),
            },
        });
    }
    let counts = [
        ("lost", e.lost, ledger.lost),
        ("duplicates", e.duplicates, ledger.duplicates),
        ("wrong_value", e.wrong_value, ledger.wrong_value),
    ];
    for (key, max, actual) in counts {
        if let Some(max) = max {
            out.push(check(format!("{key} <= {max}"), actual as f64, |v| {
                v <= max as f64
            }));
        }
    }
    if let Some(max) = e.max_p99_ms {
        let name = format!("p99_ms <= {max}");
        out.push(if load.completed == 0 {
            unevaluated(name, "no event completed")
        } else {
            check(name, load.latency_ms.p99, |v| v <= max)
        });
    }
    if let Some(min) = e.min_achieved_rate {
        let name = format!("achieved_rate_ratio >= {min}");
        out.push(if load.target_rate > 0.0 {
            check(name, load.achieved_rate / load.target_rate, |v| v >= min)
        } else {
            unevaluated(name, "no events were scheduled")
        });
    }
    if let Some(max) = e.max_error_rate {
        let name = format!("error_rate <= {max}");
        out.push(if ledger.sent > 0 {
            check(name, load.error_rate, |v| v <= max)
        } else {
            unevaluated(name, "no events were sent")
        });
    }
    out
}

fn check(name: String, actual: f64, holds: impl Fn(f64) -> bool) -> ExpectationResult {
    let passed = holds(actual);
    ExpectationResult {
        name,
        passed,
        actual: number(actual),
        status: if passed {
            ExpectationStatus::Pass
        } else {
            ExpectationStatus::Fail
        },
        detail: None,
    }
}

fn unevaluated(name: String, why: &str) -> ExpectationResult {
    ExpectationResult {
        name,
        passed: false,
        actual: Value::Null,
        status: ExpectationStatus::Unevaluated,
        detail: Some(why.to_owned()),
    }
}

/// Integers as integers (`0`, not `0.0`), so `"actual": 0` reads like the threshold.
fn number(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        Value::from(v as i64)
    } else {
        serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
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
