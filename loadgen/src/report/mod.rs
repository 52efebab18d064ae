//! Reports: `report.json` in the shape of design.md §7, built from a run or re-built from
//! output directories (one run, or the shards of one run merged).
//!
//! # Layout
//!
//! | file | what lives there |
//! |---|---|
//! | `model.rs` | the serde types of report.json |
//! | `facts.rs` | `run.json`: what a run knew beyond its evidence files |
//! | `build.rs` | facts + reconciliation + latency summary → a scenario's report; `[expect]` checks |
//! | `merge.rs` | `sfchaos report DIR…`: reading directories back, merging shards |
//! | `view.rs` | what the renderers read from report.json (so any report can be re-rendered) |
//! | `summary.rs` | the terminal scorecard |
//! | `junit.rs` | junit.xml: a testsuite per scenario, a testcase per anti-pattern and expectation |
//! | `html.rs`, `charts.rs` | report.html: one self-contained file with SVG charts |
//! | `baseline.rs` | `--baseline` comparison |

pub mod baseline;
pub mod build;
pub mod charts;
pub mod facts;
pub mod html;
pub mod junit;
pub mod merge;
pub mod model;
pub mod summary;
pub mod view;

use std::path::{Path, PathBuf};

pub use model::{Report, ScenarioReport, SCHEMA_VERSION};

/// Problems reading or writing reports; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{0}")]
    Merge(String),
}

/// The version written into reports.
pub fn tool_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// A report over `scenarios`. `seed`: `--seed` when given, else the first scenario's.
pub fn report(seed: Option<u64>, scenarios: Vec<ScenarioReport>) -> Report {
    Report {
        schema_version: SCHEMA_VERSION,
        tool_version: tool_version(),
        seed: seed
            .or_else(|| scenarios.first().map(|s| s.seed))
            .unwrap_or(0),
        scenarios,
    }
}

/// Writes `report` as pretty JSON, atomically (a reader never sees half a report).
pub fn write(path: &Path, report: &Report) -> Result<(), ReportError> {
    let bytes = serde_json::to_vec_pretty(report).map_err(|e| ReportError::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    crate::cli::sim::write_atomic(path, &bytes).map_err(|source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads a report.json.
pub fn read(path: &Path) -> Result<Report, ReportError> {
    let bytes = std::fs::read(path).map_err(|source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|e| ReportError::Parse {
        path: path.to_path_buf(),
        message: format!("not a report.json: {e}"),
    })
}

/// Outputs requested beside report.json.
#[derive(Clone, Debug, Default)]
pub struct OutputHooks {
    /// `--junit PATH`.
    pub junit: Option<PathBuf>,
}

/// Reads a baseline report for `--baseline`.
pub fn read_baseline(path: &Path) -> Result<view::ReportView, ReportError> {
    view::ReportView::read(path).map_err(|e| ReportError::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// The outputs that follow report.json: `report.html` beside it, `--junit` when asked, and the
/// terminal scorecard (returned, for the caller to print). All are rendered from report.json's
/// view, exactly as `sfchaos report` re-renders them.
pub fn after_report(
    report: &Report,
    report_path: &Path,
    hooks: &OutputHooks,
) -> Result<String, ReportError> {
    let view = view::ReportView::of(report).map_err(|e| ReportError::Parse {
        path: report_path.to_path_buf(),
        message: e.to_string(),
    })?;
    let html_path = report_path.with_file_name(crate::harness::evidence::files::HTML);
    html::write(&html_path, &view).map_err(|source| ReportError::Io {
        path: html_path.clone(),
        source,
    })?;
    if let Some(path) = &hooks.junit {
        junit::write(path, &view).map_err(|source| ReportError::Io {
            path: path.clone(),
            source,
        })?;
    }
    Ok(summary::render(&view))
}
