//! `sfchaos report DIR... [--out DIR]`: rebuild report.json from output directories; the
//! directories of one scenario's shards are merged (see [`crate::report::merge`]); report.html,
//! `--junit` and the terminal scorecard are rendered again from it.

use std::path::PathBuf;

use super::{Outcome, UsageError};
use crate::harness::evidence::files;
use crate::report::{self, merge};

/// Options of `sfchaos report`.
#[derive(Debug, Clone, Default)]
pub struct ReportCliOptions {
    pub dirs: Vec<PathBuf>,
    pub out: Option<PathBuf>,
    pub junit: Option<PathBuf>,
    pub baseline: Option<PathBuf>,
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
    let baseline = super::baseline_opt(opts.baseline.as_deref())?;
    let built = merge::render_dirs(&opts.dirs, &out, baseline.as_ref())
        .map_err(|e| UsageError::new(e.to_string()))?;
    let path = out.join(files::REPORT);
    report::write(&path, &built).map_err(|e| UsageError::new(e.to_string()))?;
    let hooks = report::OutputHooks {
        junit: opts.junit.clone(),
    };
    let summary =
        report::after_report(&built, &path, &hooks).map_err(|e| UsageError::new(e.to_string()))?;
    print!("{summary}");
    eprintln!("sfchaos: report written to {}", path.display());
    if built.scenarios.iter().all(|s| s.passed) {
        Ok(Outcome::Ok)
    } else {
        Ok(Outcome::Fell)
    }
}
