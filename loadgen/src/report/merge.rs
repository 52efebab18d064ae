//! `sfchaos report DIR…`: rebuild report.json from output directories. Each scenario directory
//! (one holding `run.json`) is read back; directories of the same scenario (the shards of one
//! `--shard I/N` run) are merged:
//! - interval logs with [`merge_interval_logs`] (histograms add exactly),
//! - ledgers with [`load_ledgers`] (key folds merge; overlapping keys are reported),
//! - final org records by union (shards' key spaces are disjoint),
//!
//! then reconciled and checked against `[expect]` again, exactly as a live run is. Each shard's
//! scores (`scores.json`, written when it ran) merge worst-first.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::build::{merge_facts, merge_scores, read_scores, scenario_report};
use super::facts::RunFacts;
use super::view::ReportView;
use super::{report, Report, ReportError, ScenarioReport};
use crate::harness::evidence::files;
use crate::harness::reconcile::load_snapshots;
use crate::harness::run::evidence_files;
use crate::ledger::{load_ledgers, ReconcileOptions};
use crate::recorder::merge_interval_logs;

/// Scenario directories under `dir`: `dir` itself if it holds `run.json`, else its direct
/// subdirectories that do (the layout `sfchaos run --out DIR` writes), in name order.
pub fn scenario_dirs(dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    if dir.join(files::RUN).is_file() {
        return Ok(vec![dir.to_path_buf()]);
    }
    let entries = std::fs::read_dir(dir).map_err(|source| ReportError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut found: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join(files::RUN).is_file())
        .collect();
    found.sort();
    if found.is_empty() {
        return Err(ReportError::Merge(format!(
            "{}: no scenario output here (no {} in it or in its subdirectories)",
            dir.display(),
            files::RUN
        )));
    }
    Ok(found)
}

fn read_facts(dir: &Path) -> Result<RunFacts, ReportError> {
    let path = dir.join(files::RUN);
    let bytes = std::fs::read(&path).map_err(|source| ReportError::Io {
        path: path.clone(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|e| ReportError::Parse {
        path,
        message: format!("not a run.json: {e}"),
    })
}

/// Rebuilds the report of `dirs` (scenario directories or `--out` directories), with evidence
/// paths relative to `base`, compared with `baseline` when given.
pub fn render_dirs(
    dirs: &[PathBuf],
    base: &Path,
    baseline: Option<&ReportView>,
) -> Result<Report, ReportError> {
    let mut groups: Vec<(String, Vec<(PathBuf, RunFacts)>)> = Vec::new();
    for dir in dirs {
        for scenario_dir in scenario_dirs(dir)? {
            let facts = read_facts(&scenario_dir)?;
            match groups.iter_mut().find(|(name, _)| *name == facts.name) {
                Some((_, members)) => members.push((scenario_dir, facts)),
                None => groups.push((facts.name.clone(), vec![(scenario_dir, facts)])),
            }
        }
    }
    let mut scenarios = Vec::with_capacity(groups.len());
    for (_, members) in groups {
        scenarios.push(merge_group(&members, base, baseline)?);
    }
    Ok(report(None, scenarios))
}

fn merge_group(
    members: &[(PathBuf, RunFacts)],
    base: &Path,
    baseline: Option<&ReportView>,
) -> Result<ScenarioReport, ReportError> {
    let io_error = |e: &dyn std::fmt::Display| ReportError::Merge(e.to_string());
    let paths = |name: &str| -> Vec<PathBuf> {
        members
            .iter()
            .map(|(d, _)| d.join(name))
            .filter(|p| p.exists())
            .collect()
    };
    let all_facts: Vec<RunFacts> = members.iter().map(|(_, f)| f.clone()).collect();
    let mut facts = merge_facts(&all_facts)
        .ok_or_else(|| ReportError::Merge("no scenario directories".into()))?;
    let mut shards: Vec<String> = all_facts.iter().filter_map(|f| f.shard.clone()).collect();
    shards.sort();
    if shards.len()
        != shards
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    {
        return Err(ReportError::Merge(format!(
            "scenario \"{}\": the same shard appears twice ({})",
            facts.name,
            shards.join(", ")
        )));
    }
    if members.len() > 1 && shards.len() != members.len() {
        return Err(ReportError::Merge(format!(
            "scenario \"{}\": {} directories to merge but not all are shards of one run",
            facts.name,
            members.len()
        )));
    }
    let logs = paths(files::LATENCY_LOG);
    let merged = merge_interval_logs(&logs).map_err(|e| io_error(&e))?;
    let summary = merged.summary().map_err(|e| io_error(&e))?;
    let (ledger, load) = load_ledgers(&paths(files::LEDGER)).map_err(|e| io_error(&e))?;
    if load.overlap.count > 0 {
        facts.errors.push(format!(
            "{} key(s) appear in more than one shard's ledger (shards should be disjoint), e.g. {}",
            load.overlap.count,
            load.overlap.examples.join(", ")
        ));
    }
    for path in load.truncated.iter().chain(&merged.truncated) {
        facts.errors.push(format!(
            "{}: the last line was cut short (the writer stopped mid-line); the rest was merged",
            path.display()
        ));
    }
    let snapshot = load_snapshots(&paths(files::ORG_FINAL)).map_err(ReportError::Merge)?;
    let reconciliation = ledger.reconcile(&snapshot, ReconcileOptions::default());
    let mut evidence = BTreeMap::new();
    for (dir, f) in members {
        for (kind, path) in evidence_files(dir, base) {
            let key = match &f.shard {
                Some(shard) if members.len() > 1 => format!("{kind}[{shard}]"),
                _ => kind,
            };
            evidence.insert(key, path);
        }
    }
    let mut scores = Vec::with_capacity(members.len());
    for (dir, _) in members {
        match read_scores(dir).map_err(|e| io_error(&e))? {
            Some(s) => scores.push(s),
            None => facts.errors.push(format!(
                "{}: no {} (the run was not scored); anti-patterns are not-exercised",
                dir.display(),
                files::SCORES
            )),
        }
    }
    let scoring = if scores.len() == members.len() {
        merge_scores(scores)
    } else {
        None
    };
    Ok(scenario_report(
        &facts,
        shards,
        &reconciliation,
        &summary,
        evidence,
        scoring,
        baseline,
    ))
}
