//! `run.json`: what one scenario run knew that its evidence files do not say (targets,
//! expectations, driver counters, lifecycle counts), so that `sfchaos report` can rebuild
//! `report.json` from a directory, and merge the directories of several shards.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use super::model::{ActorTotals, EndpointTotals};
use crate::harness::supervisor::LifecycleCounts;
use crate::scenario::Scenario;
use crate::schedule::DriverStats;

/// The facts of one run of one scenario (one shard).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunFacts {
    pub name: String,
    pub file: String,
    pub integration: String,
    pub seed: u64,
    /// `I/N` when sharded.
    #[serde(default)]
    pub shard: Option<String>,
    /// `--time-scale F`: every scenario time was multiplied by F (a shortened run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_scale: Option<f64>,
    pub duration_s: f64,
    pub drain_s: f64,
    /// Wall-clock time of scenario time zero (load start), RFC 3339.
    pub started_at: String,
    pub streams: Vec<StreamFacts>,
    pub expect: ExpectSpec,
    pub lifecycle: LifecycleCounts,
    pub actors: ActorTotals,
    pub sink: EndpointTotals,
    pub alerts: EndpointTotals,
    pub faults_installed: bool,
    pub interrupted: bool,
    #[serde(default)]
    pub errors: Vec<String>,
    /// Journal entries written before load started (the integration's start-up), whose `t_us`
    /// count from the simulator's start rather than from load start.
    pub journal_entries_before_start: u64,
    /// Changes streamed to `changes.ndjson`.
    pub changes: u64,
}

/// One `[[load]]` stream's target and what its driver did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StreamFacts {
    pub name: String,
    /// `events` or `batch`.
    pub kind: String,
    /// Events (records, for batches) the stream was meant to send.
    pub target_events: f64,
    /// Records per request: 1 for events, `batch_size` for batches.
    pub per_request: u64,
    pub duration_s: f64,
    pub stats: DriverStats,
}

/// `[expect]` in a form that round-trips through JSON.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ExpectSpec {
    #[serde(default)]
    pub min_score: IndexMap<String, u8>,
    pub lost: Option<u64>,
    pub duplicates: Option<u64>,
    pub wrong_value: Option<u64>,
    pub max_p99_ms: Option<f64>,
    pub min_achieved_rate: Option<f64>,
    pub max_error_rate: Option<f64>,
    pub baseline_margin: u8,
}

impl ExpectSpec {
    pub fn of(scenario: &Scenario) -> Self {
        let e = &scenario.expect;
        ExpectSpec {
            min_score: e
                .min_score
                .iter()
                .map(|(a, s)| (a.as_str().to_owned(), *s))
                .collect(),
            lost: e.lost,
            duplicates: e.duplicates,
            wrong_value: e.wrong_value,
            max_p99_ms: e.max_p99.map(|d| d.as_secs_f64() * 1_000.0),
            min_achieved_rate: e.min_achieved_rate,
            max_error_rate: e.max_error_rate,
            baseline_margin: e.baseline_margin,
        }
    }
}
