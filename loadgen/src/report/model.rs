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
}

/// One anti-pattern's verdict. Scores arrive with the scoring engine; until then every
/// anti-pattern is `not-exercised`, never a pass.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AntiPatternResult {
    pub score: Option<u8>,
    pub grade: Option<String>,
    pub status: Status,
    pub findings: Vec<Finding>,
}

impl AntiPatternResult {
    pub fn not_exercised() -> Self {
        AntiPatternResult {
            score: None,
            grade: None,
            status: Status::NotExercised,
            findings: Vec::new(),
        }
    }
}

/// All ten ids, `not-exercised`.
pub fn unscored_anti_patterns() -> IndexMap<String, AntiPatternResult> {
    AntiPattern::ALL
        .iter()
        .map(|a| (a.as_str().to_owned(), AntiPatternResult::not_exercised()))
        .collect()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Pass,
    Fail,
    NotExercised,
}

/// `{"severity": "warning", "message": "…", "count": 3, "evidence": ["req-000123", …]}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub severity: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    #[serde(default)]
    pub evidence: Vec<String>,
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
