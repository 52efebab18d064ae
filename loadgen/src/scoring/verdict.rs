//! CI verdicts: the scenario's `[expect]` checked against the scores and the run's numbers. The
//! exit code 1 of `sfchaos run` comes from [`all_passed`] over these results and the baseline
//! comparison (`report::baseline`).
//!
//! Names are stable strings CI output and JUnit test cases use: `min_score.blind-retries >= 80`,
//! `lost <= 0`, `duplicates <= 0`, `wrong_value <= 0`, `p99_ms <= 2000`,
//! `achieved_rate_ratio >= 0.99`, `error_rate <= 0.01`, `baseline.polling >= 87`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Scorecard, Status};
use crate::ledger::LedgerTotals;
use crate::scenario::Expectations;

/// One expectation's outcome (report.json's `expectations[]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExpectationResult {
    pub name: String,
    pub passed: bool,
    /// The measured value; `null` when it could not be measured.
    pub actual: Value,
    #[serde(default = "fail")]
    pub status: ExpectationStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

fn fail() -> ExpectationStatus {
    ExpectationStatus::Fail
}

/// `unevaluated`: the value could not be measured, which never counts as passing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExpectationStatus {
    Pass,
    Fail,
    Unevaluated,
}

impl ExpectationResult {
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

/// What `[expect]` compares besides scores.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Measured {
    pub ledger: Option<LedgerTotals>,
    /// Corrected p99 of inbound events, milliseconds (`None`: no event completed).
    pub p99_ms: Option<f64>,
    /// Achieved / target event rate (`None`: nothing was scheduled).
    pub achieved_ratio: Option<f64>,
    /// Rejected / sent events (`None`: nothing was sent).
    pub error_rate: Option<f64>,
}

/// Checks every `[expect]` entry. A `min_score` for an anti-pattern the run did not exercise fails:
/// a scenario that expects a score must exercise it.
pub fn evaluate(expect: &Expectations, scores: &Scorecard, m: &Measured) -> Vec<ExpectationResult> {
    let mut out = Vec::new();
    for (id, min) in &expect.min_score {
        let name = format!("min_score.{id} >= {min}");
        out.push(match scores.get(id) {
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
        ("lost", expect.lost, m.ledger.as_ref().map(|l| l.lost)),
        (
            "duplicates",
            expect.duplicates,
            m.ledger.as_ref().map(|l| l.duplicates),
        ),
        (
            "wrong_value",
            expect.wrong_value,
            m.ledger.as_ref().map(|l| l.wrong_value),
        ),
    ];
    for (key, max, actual) in counts {
        let Some(max) = max else {
            continue;
        };
        let name = format!("{key} <= {max}");
        out.push(match actual {
            Some(v) => ExpectationResult::check(name, v as f64, v <= max),
            None => ExpectationResult::unevaluated(name, "no ledger reconciliation"),
        });
    }
    if let Some(max) = expect.max_p99 {
        let max_ms = max.as_secs_f64() * 1e3;
        let name = format!("p99_ms <= {}", trim(max_ms));
        out.push(match m.p99_ms {
            Some(v) => ExpectationResult::check(name, v, v <= max_ms),
            None => ExpectationResult::unevaluated(name, "no event completed"),
        });
    }
    if let Some(min) = expect.min_achieved_rate {
        let name = format!("achieved_rate_ratio >= {min}");
        out.push(match m.achieved_ratio {
            Some(v) => ExpectationResult::check(name, v, v >= min),
            None => ExpectationResult::unevaluated(name, "no events were scheduled"),
        });
    }
    if let Some(max) = expect.max_error_rate {
        let name = format!("error_rate <= {max}");
        out.push(match m.error_rate {
            Some(v) => ExpectationResult::check(name, v, v <= max),
            None => ExpectationResult::unevaluated(name, "no events were sent"),
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

/// Integers as integers (`0`, not `0.0`), so `"actual": 0` reads like the threshold.
pub fn number(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        Value::from(v as i64)
    } else {
        serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
    }
}
