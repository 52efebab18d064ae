//! CI verdicts: the scenario's `[expect]` checked against the scores and the run's numbers. The
//! exit code 1 of `sfchaos run` comes from these results and the baseline comparison
//! (`report::baseline`).
//!
//! Names are stable strings CI output and JUnit test cases use: `min_score.blind-retries >= 80`,
//! `lost <= 0`, `duplicates <= 0`, `wrong_value <= 0`, `p99_ms <= 2000`,
//! `achieved_rate_ratio >= 0.99`, `error_rate <= 0.01`, `baseline.polling >= 87`.

use indexmap::IndexMap;

use crate::report::facts::ExpectSpec;
use crate::report::model::{AntiPatternResult, LedgerReport, LoadReport, Status};
pub use crate::report::model::{ExpectationResult, ExpectationStatus};

/// Checks every `[expect]` entry. `min_score` entries need scores: when the run was not scored they
/// are `unevaluated` (never passed); a `min_score` for an anti-pattern the run did not exercise
/// fails — a scenario that expects a score must exercise it.
pub fn evaluate(
    e: &ExpectSpec,
    ledger: &LedgerReport,
    load: &LoadReport,
    anti_patterns: &IndexMap<String, AntiPatternResult>,
    scored: bool,
) -> Vec<ExpectationResult> {
    let mut out = Vec::new();
    for (id, min) in &e.min_score {
        let name = format!("min_score.{id} >= {min}");
        out.push(match anti_patterns.get(id) {
            _ if !scored => ExpectationResult::unevaluated(name, "the run was not scored"),
            Some(a) if a.status != Status::NotExercised => match a.score {
                Some(s) => ExpectationResult::check(name, f64::from(s), s >= *min),
                None => ExpectationResult::failed(name, "no score"),
            },
            Some(_) => {
                ExpectationResult::failed(name, "the run did not exercise this anti-pattern")
            }
            None => ExpectationResult::unevaluated(name, "this anti-pattern was not scored"),
        });
    }
    let counts = [
        ("lost", e.lost, ledger.lost),
        ("duplicates", e.duplicates, ledger.duplicates),
        ("wrong_value", e.wrong_value, ledger.wrong_value),
    ];
    for (key, max, actual) in counts {
        if let Some(max) = max {
            out.push(ExpectationResult::check(
                format!("{key} <= {max}"),
                actual as f64,
                actual <= max,
            ));
        }
    }
    if let Some(max) = e.max_p99_ms {
        let name = format!("p99_ms <= {}", trim(max));
        out.push(if load.completed == 0 {
            ExpectationResult::unevaluated(name, "no event completed")
        } else {
            ExpectationResult::check(name, load.latency_ms.p99, load.latency_ms.p99 <= max)
        });
    }
    if let Some(min) = e.min_achieved_rate {
        let name = format!("achieved_rate_ratio >= {min}");
        out.push(if load.target_rate > 0.0 {
            let ratio = load.achieved_rate / load.target_rate;
            ExpectationResult::check(name, ratio, ratio >= min)
        } else {
            ExpectationResult::unevaluated(name, "no events were scheduled")
        });
    }
    if let Some(max) = e.max_error_rate {
        let name = format!("error_rate <= {max}");
        out.push(if ledger.sent > 0 {
            ExpectationResult::check(name, load.error_rate, load.error_rate <= max)
        } else {
            ExpectationResult::unevaluated(name, "no events were sent")
        });
    }
    out
}

/// Every result passed (an empty list passes).
pub fn all_passed(results: &[ExpectationResult]) -> bool {
    results.iter().all(|r| r.passed)
}

fn trim(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}
