//! `report.json`: serde types in the shape design.md §7 fixes. The names in §7 are a contract
//! (CI parsers rely on them); every other key here is an addition, which §7 welcomes.
//!
//! ```json
//! {"schema_version": 1, "tool_version": "…", "seed": 7,
//!  "scenarios": [{"name": "…", "integration": "builtin:resilient", "passed": true,
//!    "anti_patterns": {"blind-retries": {"score": 92, "grade": "A", "status": "pass", "findings": […]}, …},
//!    "ledger": {"sent", "accepted", "rejected", "landed", "lost", "duplicates", "wrong_value"},
//!    "load": {"achieved_rate": 49.9, "latency_ms": {"p50", "p99", "p99_uncorrected"}},
//!    "expectations": [{"name": "min_score.blind-retries >= 80", "passed": true, "actual": 92}]}]}
//! ```

use std::collections::BTreeMap;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::harness::supervisor::LifecycleCounts;
use crate::ledger::{KeyFinding, LedgerTotals};
use crate::recorder::{LatencyMs, LatencySummary};
use crate::scenario::AntiPattern;

pub const SCHEMA_VERSION: u32 = 1;

/// The whole report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    pub tool_version: String,
    /// `--seed` when given, else the first scenario's seed (each scenario also carries its own).
    pub seed: u64,
    pub scenarios: Vec<ScenarioReport>,
}

/// One scenario's verdict and numbers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScenarioReport {
    pub name: String,
    /// The command as run (`builtin:…` or the shell command).
    pub integration: String,
    /// Every expectation held and the run completed.
    pub passed: bool,
    /// All ten, in design.md §7 order.
    pub anti_patterns: IndexMap<String, AntiPatternResult>,
    pub ledger: LedgerReport,
    pub load: LoadReport,
    pub expectations: Vec<ExpectationResult>,

    // Additions.
    pub file: String,
    pub seed: u64,
    /// `I/N` for one shard; for a merged report, the shards merged (`["0/2", "1/2"]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shards: Vec<String>,
    /// `--time-scale F`: every scenario time was multiplied by F, so this was a shortened run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_scale: Option<f64>,
    pub duration_s: f64,
    pub drain_s: f64,
    /// The run was stopped early (SIGINT/SIGTERM); numbers cover what happened until then.
    pub interrupted: bool,
    /// Problems of the harness itself (an evidence file that could not be written, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    /// Whether the scenario's fault plan was enforced by the simulator.
    pub faults_installed: bool,
    pub lifecycle: LifecycleCounts,
    pub actors: ActorTotals,
    pub sink: EndpointTotals,
    pub alerts: EndpointTotals,
    /// Keys that did not reconcile (capped), as evidence.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ledger_findings: Vec<KeyFinding>,
    /// Evidence files of this scenario, relative to the report's directory.
    #[serde(default)]
    pub evidence: BTreeMap<String, String>,
    /// Per-second series the HTML report charts (requests by status, latency, API usage, retries,
    /// fault windows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeline: Option<crate::scoring::Timeline>,
}

/// One anti-pattern's verdict: the scorer's [`Assessment`](crate::scoring::Assessment), in the
/// shape §7 fixes (`{"score", "grade", "status", "findings"}`).
pub use crate::scoring::{Assessment as AntiPatternResult, Finding, Status};

/// All ten ids, `not-exercised` (a run that could not be scored).
pub fn unscored_anti_patterns(why: &str) -> IndexMap<String, AntiPatternResult> {
    AntiPattern::ALL
        .iter()
        .map(|a| (a.as_str().to_owned(), AntiPatternResult::not_exercised(why)))
        .collect()
}

/// design.md §7's `ledger` (the first seven keys) plus `keys` and `unanswered`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerReport {
    pub sent: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub landed: u64,
    pub lost: u64,
    pub duplicates: u64,
    pub wrong_value: u64,
    /// Keys with at least one accepted event (`landed + lost + wrong_value`).
    pub keys: u64,
    /// Of `rejected`, events that got no reply at all.
    pub unanswered: u64,
}

impl From<&LedgerTotals> for LedgerReport {
    fn from(t: &LedgerTotals) -> Self {
        LedgerReport {
            sent: t.sent,
            accepted: t.accepted,
            rejected: t.rejected,
            landed: t.landed,
            lost: t.lost,
            duplicates: t.duplicates,
            wrong_value: t.wrong_value,
            keys: t.keys,
            unanswered: t.unanswered,
        }
    }
}

/// design.md §7's `load` (`achieved_rate`, `latency_ms`) plus the detail behind them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LoadReport {
    /// Events sent per second of load (batch records count one each).
    pub achieved_rate: f64,
    /// Corrected p50/p99 (from the intended send instant) and the raw p99 beside it.
    pub latency_ms: LatencyMs,
    pub target_rate: f64,
    /// Events the schedules asked for, sent, sent late, and dropped at the in-flight cap.
    pub scheduled: u64,
    pub dispatched: u64,
    pub late: u64,
    pub dropped: u64,
    /// Requests answered (events, and batches counted once each) and how many not with 2xx.
    pub completed: u64,
    pub errors: u64,
    /// `ledger.rejected / ledger.sent`.
    pub error_rate: f64,
    pub corrected: LatencySummary,
    pub raw: LatencySummary,
    pub streams: BTreeMap<String, StreamLoad>,
    pub phases: BTreeMap<String, PhaseLoad>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StreamLoad {
    /// `events` or `batch`.
    pub kind: String,
    pub target_rate: f64,
    pub achieved_rate: f64,
    pub scheduled: u64,
    pub dispatched: u64,
    pub late: u64,
    pub dropped: u64,
    pub completed: u64,
    pub errors: u64,
    pub latency_ms: LatencyMs,
    pub corrected: LatencySummary,
    pub raw: LatencySummary,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PhaseLoad {
    pub completed: u64,
    pub errors: u64,
    pub latency_ms: LatencyMs,
}

/// One `[expect]` entry's outcome.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExpectationResult {
    /// e.g. `lost <= 0`, `p99_ms <= 2000`, `min_score.blind-retries >= 80`.
    pub name: String,
    pub passed: bool,
    /// The measured value; `null` when it could not be measured.
    pub actual: Value,
    /// `pass`, `fail` or `unevaluated` (could not be checked: never counted as passed).
    #[serde(default)]
    pub status: ExpectationStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExpectationStatus {
    Pass,
    Fail,
    Unevaluated,
}

impl Default for ExpectationStatus {
    /// A result read without a status failed (it cannot be assumed to have passed).
    fn default() -> Self {
        ExpectationStatus::Fail
    }
}

impl ExpectationResult {
    /// A measured value checked against its bound.
    pub fn check(name: String, actual: f64, holds: bool) -> Self {
        ExpectationResult {
            name,
            passed: holds,
            actual: number(actual),
            status: if holds {
                ExpectationStatus::Pass
            } else {
                ExpectationStatus::Fail
            },
            detail: None,
        }
    }

    pub fn failed(name: String, detail: impl Into<String>) -> Self {
        ExpectationResult {
            name,
            passed: false,
            actual: Value::Null,
            status: ExpectationStatus::Fail,
            detail: Some(detail.into()),
        }
    }

    /// Could not be checked; never counted as passed.
    pub fn unevaluated(name: String, detail: impl Into<String>) -> Self {
        ExpectationResult {
            name,
            passed: false,
            actual: Value::Null,
            status: ExpectationStatus::Unevaluated,
            detail: Some(detail.into()),
        }
    }
}

/// Integers as integers (`0`, not `0.0`), so `"actual": 0` reads like the threshold.
pub fn number(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        Value::from(v as i64)
    } else {
        serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorTotals {
    pub ok: u64,
    pub errors: u64,
    pub skipped: u64,
}

/// Requests the integration made to a harness endpoint, and how many the endpoint failed on
/// purpose.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointTotals {
    pub requests: u64,
    pub failed: u64,
}
