//! `sfchaos compare SCENARIO --strategies a,b,c [--seeds N] [--out DIR]`: the retry-strategy
//! benchmark. Runs the scenario once per strategy per seed through the harness (each run in
//! `DIR/<strategy>/seed-<n>/`, a complete `sfchaos run` output), measures every run from its
//! evidence (`crate::compare`), and writes the means as `compare.json`, `compare.svg` and a table on
//! stdout.
//!
//! A run's drain ends as soon as the integration has written (or given up on) every event and gone
//! quiet (`crate::harness::settle`): the drain is sized for the slowest strategy, the others need
//! not wait it out.
//!
//! Seeds are the scenario's seed and the ones after it (`--seeds 3` with `seed = 7`: 7, 8, 9), so
//! every strategy meets the same faults and the same event sequence.

use std::path::PathBuf;
use std::sync::atomic::AtomicI32;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::sim::write_atomic;
use super::{interrupted, Outcome, UsageError};
use crate::compare::{
    self, integration_for, measure_run, parse_strategies, render, CompareReport, RunMeasure,
};
use crate::harness::progress::ProgressMode;
use crate::harness::world::INTEGRATION_USER;
use crate::harness::{run_scenario, HarnessError, RunOptions};
use crate::scenario::Scenario;

/// Options of `sfchaos compare`.
#[derive(Debug, Clone)]
pub struct CompareCliOptions {
    pub scenario: PathBuf,
    /// As typed: `none,exponential,full-jitter?base=5ms,cap=2s`.
    pub strategies: String,
    /// How many seeds (default 1).
    pub seeds: Option<u32>,
    pub out: Option<PathBuf>,
    /// `None`: a bar on a terminal, log lines otherwise.
    pub progress: Option<ProgressMode>,
}

/// Where output goes without `--out`.
pub const DEFAULT_OUT: &str = "sfchaos-compare";

pub async fn run(opts: CompareCliOptions) -> Result<Outcome, UsageError> {
    let strategies = parse_strategies(&opts.strategies).map_err(UsageError::new)?;
    let seed_count = opts.seeds.unwrap_or(1);
    if seed_count == 0 {
        return Err(UsageError::new("--seeds: must be at least 1"));
    }
    let scenario =
        Scenario::from_file(&opts.scenario).map_err(|e| UsageError::new(e.to_string()))?;
    let seeds: Vec<u64> = (0..u64::from(seed_count))
        .map(|i| scenario.seed.wrapping_add(i))
        .collect();
    let (out, self_exe) = super::out_dir_and_self(opts.out.as_deref(), DEFAULT_OUT)?;
    let interrupt = CancellationToken::new();
    let watcher = {
        let interrupt = interrupt.clone();
        tokio::spawn(async move {
            interrupted().await;
            eprintln!("sfchaos: stopping after the current run");
            interrupt.cancel();
        })
    };
    let progress = opts.progress.unwrap_or_else(ProgressMode::detect);
    let mut summaries = Vec::with_capacity(strategies.len());
    let result: Result<(), UsageError> = async {
        for choice in &strategies {
            let integration = integration_for(&scenario.integration.command, choice);
            let mut runs: Vec<RunMeasure> = Vec::with_capacity(seeds.len());
            for &seed in &seeds {
                if interrupt.is_cancelled() {
                    return Err(UsageError::new("interrupted"));
                }
                let mut seeded = scenario.clone();
                seeded.seed = seed;
                let dir = out
                    .join(dir_name(&choice.label))
                    .join(format!("seed-{seed}"));
                if progress != ProgressMode::Quiet {
                    eprintln!(
                        "sfchaos: {} with {integration}, seed {seed}, output in {}",
                        scenario.name,
                        dir.display()
                    );
                }
                let run_opts = RunOptions {
                    dir: dir.clone(),
                    integration: Some(integration.clone()),
                    self_exe: self_exe.clone(),
                    interrupt: interrupt.clone(),
                    progress,
                    pgid: Arc::new(AtomicI32::new(0)),
                    settle: true,
                };
                let run = match run_scenario(&seeded, &run_opts).await {
                    Ok(run) => run,
                    Err(HarnessError::Interrupted) => return Err(UsageError::new("interrupted")),
                    Err(e) => {
                        return Err(UsageError::new(format!(
                            "{} ({}): {e}",
                            scenario.file, choice.label
                        )))
                    }
                };
                for error in &run.facts.errors {
                    eprintln!("sfchaos: {} seed {seed}: harness: {error}", choice.label);
                }
                let measured = measure_run(
                    &dir,
                    &seeded,
                    INTEGRATION_USER,
                    &run.reconciliation,
                    &run.summary,
                )
                .map_err(|e| UsageError::new(format!("{}: {e}", dir.display())))?;
                if progress != ProgressMode::Quiet {
                    eprintln!(
                        "sfchaos: {} seed {seed}: {} calls ({} writes), done at {:.2}s, success {:.1}%",
                        choice.label,
                        measured.calls,
                        measured.writes,
                        measured.completion_time_s,
                        measured.success_rate * 100.0
                    );
                }
                runs.push(measured);
            }
            if let Some(s) = compare::summarise(&choice.label, &runs) {
                summaries.push(s);
            }
        }
        Ok(())
    }
    .await;
    watcher.abort();
    result?;
    let report = CompareReport {
        scenario: scenario.name.clone(),
        seeds,
        strategies: summaries,
    };
    let json_path = out.join(compare::COMPARE_JSON);
    let json = serde_json::to_vec_pretty(&report).map_err(|e| UsageError::new(e.to_string()))?;
    write_atomic(&json_path, &json)
        .map_err(|e| UsageError::new(format!("{}: {e}", json_path.display())))?;
    let svg_path = out.join(compare::COMPARE_SVG);
    write_atomic(&svg_path, render::svg(&report).as_bytes())
        .map_err(|e| UsageError::new(format!("{}: {e}", svg_path.display())))?;
    print!("{}", render::table(&report));
    eprintln!(
        "sfchaos: comparison written to {} and {}",
        json_path.display(),
        svg_path.display()
    );
    Ok(Outcome::Ok)
}

/// A file-safe directory name for a strategy label.
fn dir_name(label: &str) -> String {
    label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' || c == '=' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
