//! [`ReportView`]: what the renderers read — report.json's contract keys (design.md §7) plus the
//! scorer's `timeline`, deserialized leniently.
//!
//! The renderers (terminal summary, JUnit, HTML, baseline comparison) work from report.json, not
//! from the in-memory report type, so that `sfchaos report DIR` re-renders any report.json the
//! same way a run does, and a report written by another version still renders: keys the view
//! does not know are ignored, keys it knows but the file lacks take defaults.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::scoring::verdict::ExpectationResult;
use crate::scoring::{Assessment, Timeline};

/// Problems reading a report for rendering; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a report.json: {message}")]
    Parse { path: PathBuf, message: String },
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReportView {
    #[serde(default)]
    pub schema_version: u32,
    #[serde(default)]
    pub tool_version: String,
    #[serde(default)]
    pub seed: u64,
    pub scenarios: Vec<ScenarioView>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ScenarioView {
    pub name: String,
    #[serde(default)]
    pub integration: String,
    #[serde(default)]
    pub passed: bool,
    /// Anti-pattern id → verdict, in report order.
    #[serde(default)]
    pub anti_patterns: IndexMap<String, Assessment>,
    #[serde(default)]
    pub ledger: LedgerView,
    #[serde(default)]
    pub load: LoadView,
    #[serde(default)]
    pub expectations: Vec<ExpectationResult>,
    #[serde(default)]
    pub seed: Option<u64>,
    #[serde(default)]
    pub file: Option<String>,
    #[serde(default)]
    pub timeline: Option<Timeline>,
    /// Set for a run shortened with `--time-scale`.
    #[serde(default)]
    pub time_scale: Option<f64>,
}

/// report.json's `ledger`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerView {
    #[serde(default)]
    pub sent: u64,
    #[serde(default)]
    pub accepted: u64,
    #[serde(default)]
    pub rejected: u64,
    #[serde(default)]
    pub landed: u64,
    #[serde(default)]
    pub lost: u64,
    #[serde(default)]
    pub duplicates: u64,
    #[serde(default)]
    pub wrong_value: u64,
}

/// report.json's `load`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LoadView {
    #[serde(default)]
    pub achieved_rate: f64,
    #[serde(default)]
    pub target_rate: f64,
    #[serde(default)]
    pub latency_ms: LatencyView,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencyView {
    #[serde(default)]
    pub p50: f64,
    #[serde(default)]
    pub p99: f64,
    #[serde(default)]
    pub p99_uncorrected: f64,
}

impl ReportView {
    /// Reads a report.json.
    pub fn read(path: &Path) -> Result<ReportView, ViewError> {
        let bytes = std::fs::read(path).map_err(|source| ViewError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        serde_json::from_slice(&bytes).map_err(|e| ViewError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }

    /// The view of any report value that serializes to report.json's shape (the harness's
    /// `Report`), without going through a file.
    pub fn of<T: Serialize>(report: &T) -> Result<ReportView, serde_json::Error> {
        serde_json::from_value(serde_json::to_value(report)?)
    }

    /// The scenario with this name, if any.
    pub fn scenario(&self, name: &str) -> Option<&ScenarioView> {
        self.scenarios.iter().find(|s| s.name == name)
    }

    /// Every scenario passed.
    pub fn passed(&self) -> bool {
        self.scenarios.iter().all(|s| s.passed)
    }
}
