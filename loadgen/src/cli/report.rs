//! `sfchaos report DIR... [--out DIR]`: rebuild report.json from output directories; the
//! directories of one scenario's shards are merged (see [`crate::report::merge`]).

use std::path::PathBuf;

use super::{Outcome, UsageError};
use crate::harness::evidence::files;
use crate::report::{self, merge};

/// Options of `sfchaos report`.
#[derive(Debug, Clone, Default)]
pub struct ReportCliOptions {
    pub dirs: Vec<PathBuf>,
    pub out: Option<PathBuf>,
}

/// Where a merged report goes without `--out` (one directory is re-rendered in place).
pub const DEFAULT_MERGED_OUT: &str = "sfchaos-merged";

pub async fn run(opts: ReportCliOptions) -> Result<Outcome, UsageError> {
    let out = match (&opts.out, opts.dirs.as_slice()) {
        (Some(out), _) => out.clone(),
        (None, [one]) => one.clone(),
        (None, []) => {
            return Err(UsageError::new(
                "report: give at least one output directory",
            ))
        }
        (None, _) => PathBuf::from(DEFAULT_MERGED_OUT),
    };
    let built = merge::render_dirs(&opts.dirs, &out).map_err(|e| UsageError::new(e.to_string()))?;
    let path = out.join(files::REPORT);
    report::write(&path, &built).map_err(|e| UsageError::new(e.to_string()))?;
    for s in &built.scenarios {
        let shards = if s.shards.is_empty() {
            String::new()
        } else {
            format!(" (shards {})", s.shards.join(", "))
        };
        println!(
            "{}{shards}: {} — sent {} landed {} lost {} duplicates {} wrong_value {}; p99 {:.1} ms (uncorrected {:.1} ms)",
            s.name,
            if s.passed { "passed" } else { "FELL SHORT" },
            s.ledger.sent,
            s.ledger.landed,
            s.ledger.lost,
            s.ledger.duplicates,
            s.ledger.wrong_value,
            s.load.latency_ms.p99,
            s.load.latency_ms.p99_uncorrected,
        );
    }
    eprintln!("sfchaos: report written to {}", path.display());
    if built.scenarios.iter().all(|s| s.passed) {
        Ok(Outcome::Ok)
    } else {
        Ok(Outcome::Fell)
    }
}
