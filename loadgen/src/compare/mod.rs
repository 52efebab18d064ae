//! `sfchaos compare`: the same scenario, seeds and faults, once per retry strategy, side by side.
//!
//! The point is a fair fight: only the retry strategy changes between runs, so differences in
//! calls, completion time and success are the strategy's doing. Each run is an ordinary
//! `sfchaos run` (its own output directory, journal and report), measured afterwards from its
//! evidence, then averaged over seeds.
//!
//! | file | what lives there |
//! |---|---|
//! | `strategies.rs` | parsing `--strategies` (parameters included) and the integration each one runs |
//! | `measure.rs` | one run's numbers, from its journal, reconciliation and load summary |
//! | `render.rs` | the terminal table and `compare.svg` |
//!
//! `compare.json` (design.md §2): `{"scenario", "seeds", "strategies": [{"name", "calls",
//! "completion_time_s", "success_rate", "amplification", "p99_ms", "writes"}]}`, means over seeds.

pub mod measure;
pub mod render;
pub mod strategies;

use serde::{Deserialize, Serialize};

pub use measure::{measure_run, JournalTally, RunMeasure};
pub use strategies::{integration_for, parse_strategies, StrategyChoice};

/// File names in `--out`.
pub const COMPARE_JSON: &str = "compare.json";
pub const COMPARE_SVG: &str = "compare.svg";

/// `compare.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompareReport {
    /// The scenario's name.
    pub scenario: String,
    pub seeds: Vec<u64>,
    /// In the order of `--strategies`.
    pub strategies: Vec<StrategySummary>,
}

/// One strategy's numbers, each the mean over the seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StrategySummary {
    /// The strategy as given on the command line (`full-jitter`, `exponential?base=50ms`).
    pub name: String,
    /// Salesforce requests the integration user made during the run (start-up excluded).
    pub calls: f64,
    /// Scenario seconds until the last successful write of the integration ended.
    pub completion_time_s: f64,
    /// Share of the events sent whose work reached Salesforce intact: accepted/sent times
    /// landed/keys of the ledger reconciliation.
    pub success_rate: f64,
    /// Requests per successful write inside the fault windows (the whole run when there are none).
    pub amplification: f64,
    /// p99 of the event latency the upstream system saw (corrected for coordinated omission).
    pub p99_ms: f64,
    /// Of `calls`, the writes (non-GET data API requests) — what Brooker's simulator counts as
    /// calls.
    pub writes: f64,
}

/// Means over the runs of one strategy (one run per seed). `None` without runs.
pub fn summarise(name: &str, runs: &[RunMeasure]) -> Option<StrategySummary> {
    if runs.is_empty() {
        return None;
    }
    let mean = |f: &dyn Fn(&RunMeasure) -> f64| runs.iter().map(f).sum::<f64>() / runs.len() as f64;
    Some(StrategySummary {
        name: name.to_string(),
        calls: mean(&|r| r.calls as f64),
        completion_time_s: mean(&|r| r.completion_time_s),
        success_rate: mean(&|r| r.success_rate),
        amplification: mean(&|r| r.amplification),
        p99_ms: mean(&|r| r.p99_ms),
        writes: mean(&|r| r.writes as f64),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(calls: u64, writes: u64, t: f64, success: f64, amp: f64, p99: f64) -> RunMeasure {
        RunMeasure {
            calls,
            writes,
            completion_time_s: t,
            success_rate: success,
            amplification: amp,
            p99_ms: p99,
        }
    }

    #[test]
    fn summaries_are_means_over_seeds() {
        let runs = [
            run(100, 40, 2.0, 1.0, 2.0, 10.0),
            run(200, 60, 4.0, 0.5, 4.0, 30.0),
        ];
        let s = summarise("full-jitter", &runs).unwrap();
        assert_eq!(s.name, "full-jitter");
        assert_eq!(s.calls, 150.0);
        assert_eq!(s.writes, 50.0);
        assert_eq!(s.completion_time_s, 3.0);
        assert_eq!(s.success_rate, 0.75);
        assert_eq!(s.amplification, 3.0);
        assert_eq!(s.p99_ms, 20.0);
        assert!(summarise("none", &[]).is_none());
    }

    #[test]
    fn the_json_has_the_documented_shape() {
        let report = CompareReport {
            scenario: "retry-storm-occ".into(),
            seeds: vec![1, 2],
            strategies: vec![summarise("none", &[run(10, 5, 1.0, 1.0, 2.0, 3.0)]).unwrap()],
        };
        let v = serde_json::to_value(&report).unwrap();
        assert_eq!(v["scenario"], "retry-storm-occ");
        assert_eq!(v["seeds"], serde_json::json!([1, 2]));
        let s = &v["strategies"][0];
        for key in [
            "name",
            "calls",
            "completion_time_s",
            "success_rate",
            "amplification",
            "p99_ms",
        ] {
            assert!(s.get(key).is_some(), "{key} missing in {s}");
        }
        assert_eq!(s["calls"], 10.0);
    }
}
