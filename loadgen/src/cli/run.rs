//! `sfchaos run SCENARIO...`: run each scenario against the integration and write report.json.
//!
//! Every scenario file is validated before anything runs (one bad file is exit 2 with
//! `file:line: key: message`, not a failure twenty minutes in). Scenarios then run one after
//! another, each in its own directory under `--out`; report.json is rewritten after each, so a
//! long suite leaves a usable report even if it is stopped.
//!
//! Ctrl-C (or SIGTERM) stops the current scenario the graceful way: its report is written and
//! the command exits 2. A second Ctrl-C kills the integration's process group and exits at once.

use std::path::PathBuf;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::{interrupted, Outcome, UsageError};
use crate::harness::evidence::files;
use crate::harness::progress::ProgressMode;
use crate::harness::run::evidence_files;
use crate::harness::{run_scenario, HarnessError, RunOptions};
use crate::report::build::{scenario_report, score_dir};
use crate::report::{self, OutputHooks, ScenarioReport};
use crate::scenario::{IntegrationCommand, Scenario, Shard};

/// Options of `sfchaos run`.
#[derive(Debug, Clone, Default)]
pub struct RunCliOptions {
    pub scenarios: Vec<PathBuf>,
    pub integration: Option<String>,
    pub out: Option<PathBuf>,
    pub seed: Option<u64>,
    pub junit: Option<PathBuf>,
    pub baseline: Option<PathBuf>,
    pub shard: Option<String>,
    /// `--time-scale F`: every scenario time multiplied by F (see `Scenario::time_scaled`).
    pub time_scale: Option<f64>,
    /// `None`: a bar on a terminal, log lines otherwise.
    pub progress: Option<ProgressMode>,
}

/// Where output goes without `--out`.
pub const DEFAULT_OUT: &str = "sfchaos-out";

pub async fn run(opts: RunCliOptions) -> Result<Outcome, UsageError> {
    if opts.scenarios.is_empty() {
        return Err(UsageError::new("run: give at least one scenario file"));
    }
    let integration = opts
        .integration
        .as_deref()
        .map(|text| {
            text.parse::<IntegrationCommand>()
                .map_err(|e| UsageError::new(format!("--integration: {e}")))
        })
        .transpose()?;
    let shard = opts
        .shard
        .as_deref()
        .map(|text| {
            text.parse::<Shard>()
                .map_err(|e| UsageError::new(format!("--shard: {e}")))
        })
        .transpose()?;
    let scenarios = load(&opts.scenarios, opts.seed, shard, opts.time_scale)?;
    let baseline = super::baseline_opt(opts.baseline.as_deref())?;
    if let Some(base) = &baseline {
        for s in scenarios
            .iter()
            .filter(|s| base.scenario(&s.name).is_none())
        {
            eprintln!(
                "sfchaos: scenario \"{}\" is not in the baseline report; its scores are not compared",
                s.name
            );
        }
    }
    let (out, self_exe) = super::out_dir_and_self(opts.out.as_deref(), DEFAULT_OUT)?;
    let interrupt = CancellationToken::new();
    let pgid = Arc::new(AtomicI32::new(0));
    let watcher = tokio::spawn(watch_signals(interrupt.clone(), Arc::clone(&pgid)));
    let progress = opts.progress.unwrap_or_else(ProgressMode::detect);
    let hooks = OutputHooks {
        junit: opts.junit.clone(),
    };
    let report_path = out.join(files::REPORT);
    let mut reports: Vec<ScenarioReport> = Vec::new();
    let mut failure: Option<UsageError> = None;
    let dirs = scenario_dir_names(&scenarios);
    for (scenario, dir_name) in scenarios.iter().zip(dirs) {
        if interrupt.is_cancelled() {
            break;
        }
        let dir = out.join(dir_name);
        let run_opts = RunOptions {
            dir: dir.clone(),
            integration: integration.clone(),
            self_exe: self_exe.clone(),
            interrupt: interrupt.clone(),
            progress,
            pgid: Arc::clone(&pgid),
            settle: false,
        };
        if progress != ProgressMode::Quiet {
            let scale = scenario
                .time_scale
                .map(|f| format!(", time scale {f}"))
                .unwrap_or_default();
            eprintln!(
                "sfchaos: running \"{}\" ({}) for {} + {} drain, seed {}{scale}, output in {}",
                scenario.name,
                scenario.file,
                humantime::format_duration(scenario.duration),
                humantime::format_duration(scenario.drain),
                scenario.seed,
                dir.display()
            );
        }
        match run_scenario(scenario, &run_opts).await {
            Ok(run) => {
                let shards = run.facts.shard.iter().cloned().collect();
                let evidence = evidence_files(&dir, &out);
                let mut facts = run.facts;
                if progress != ProgressMode::Quiet {
                    eprintln!("sfchaos: scoring \"{}\"", scenario.name);
                }
                let scoring = match score_dir(&dir, scenario, &run.reconciliation, &run.summary) {
                    Ok(s) => Some(s),
                    Err(e) => {
                        facts.errors.push(format!("scoring: {e}"));
                        None
                    }
                };
                let scenario_report = scenario_report(
                    &facts,
                    shards,
                    &run.reconciliation,
                    &run.summary,
                    evidence,
                    scoring,
                    baseline.as_ref(),
                );
                reports.push(scenario_report);
                let partial = report::report(opts.seed, reports.clone());
                report::write(&report_path, &partial)
                    .map_err(|e| UsageError::new(e.to_string()))?;
            }
            Err(HarnessError::Interrupted) => break,
            Err(e) => {
                failure = Some(UsageError::new(format!("{}: {e}", scenario.file)));
                break;
            }
        }
    }
    watcher.abort();
    let final_report = report::report(opts.seed, reports);
    report::write(&report_path, &final_report).map_err(|e| UsageError::new(e.to_string()))?;
    let summary = report::after_report(&final_report, &report_path, &hooks)
        .map_err(|e| UsageError::new(e.to_string()))?;
    print!("{summary}");
    for s in &final_report.scenarios {
        print_problems(s);
    }
    eprintln!(
        "sfchaos: report written to {} (and {})",
        report_path.display(),
        report_path.with_file_name(files::HTML).display()
    );
    if let Some(e) = failure {
        return Err(e);
    }
    if interrupt.is_cancelled() {
        return Err(UsageError::new(format!(
            "interrupted; the report covers what ran ({})",
            report_path.display()
        )));
    }
    if final_report.scenarios.iter().all(|s| s.passed) {
        Ok(Outcome::Ok)
    } else {
        Ok(Outcome::Fell)
    }
}

/// Parses and validates every file first, then applies `--seed`, `--time-scale` and `--shard`.
fn load(
    paths: &[PathBuf],
    seed: Option<u64>,
    shard: Option<Shard>,
    time_scale: Option<f64>,
) -> Result<Vec<Scenario>, UsageError> {
    let mut scenarios = Vec::with_capacity(paths.len());
    let mut problems = Vec::new();
    for path in paths {
        match Scenario::from_file(path) {
            Ok(mut scenario) => {
                if let Some(seed) = seed {
                    scenario.seed = seed;
                }
                if let Some(factor) = time_scale {
                    match scenario.time_scaled(factor) {
                        Ok(scaled) => scenario = scaled,
                        Err(e) => {
                            problems.push(e.to_string());
                            continue;
                        }
                    }
                }
                match shard {
                    Some(s) => match scenario.shard(s.index, s.count.get()) {
                        Ok(sharded) => scenarios.push(sharded),
                        Err(e) => problems.push(e.to_string()),
                    },
                    None => scenarios.push(scenario),
                }
            }
            Err(errors) => problems.push(errors.to_string()),
        }
    }
    if problems.is_empty() {
        Ok(scenarios)
    } else {
        Err(UsageError::new(problems.join("\n")))
    }
}

/// A directory name per scenario: its name made file-safe, suffixed when two collide.
fn scenario_dir_names(scenarios: &[Scenario]) -> Vec<String> {
    let mut used: Vec<String> = Vec::new();
    scenarios
        .iter()
        .map(|s| {
            let mut base: String = s
                .name
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                        c
                    } else {
                        '-'
                    }
                })
                .collect();
            if base.is_empty() {
                base = "scenario".into();
            }
            if let Some(shard) = s.shard {
                base = format!("{base}-shard-{}-of-{}", shard.index, shard.count);
            }
            let mut name = base.clone();
            let mut n = 2;
            while used.contains(&name) {
                name = format!("{base}-{n}");
                n += 1;
            }
            used.push(name.clone());
            name
        })
        .collect()
}

/// First signal: stop gracefully. Second: kill the integration and leave.
async fn watch_signals(interrupt: CancellationToken, pgid: Arc<AtomicI32>) {
    interrupted().await;
    eprintln!("sfchaos: stopping: finishing the report (Ctrl-C again to quit at once)");
    interrupt.cancel();
    interrupted().await;
    let group = pgid.load(Ordering::Relaxed);
    if group > 0 {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(group),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    eprintln!("sfchaos: stopped at once; the evidence files hold what was recorded");
    std::process::exit(2);
}

/// What the scorecard does not show: crashes and the harness's own errors.
fn print_problems(s: &ScenarioReport) {
    if s.lifecycle.crashes > 0 {
        println!(
            "{}: the integration crashed {} time(s)",
            s.name, s.lifecycle.crashes
        );
    }
    for error in &s.errors {
        println!("{}: harness: {error}", s.name);
    }
}
