//! `--baseline REPORT.json`: a run fails when an anti-pattern's score drops more than the
//! scenario's `baseline_margin` (default 5) below the same scenario's score in the baseline.
//!
//! Per anti-pattern the baseline scored: `baseline.<id> >= <baseline − margin>` must hold. An
//! anti-pattern the baseline scored but this run did not exercise fails (the scenario stopped
//! testing it); one the baseline did not score is not compared. A scenario missing from the
//! baseline is not compared either (a note says so): new scenarios must not fail CI.

use super::view::ReportView;
use crate::scoring::verdict::ExpectationResult;
use crate::scoring::{Assessment, Status};

/// The comparison of one scenario with the baseline.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Comparison {
    pub results: Vec<ExpectationResult>,
    /// Why nothing was compared, when that is the case.
    pub note: Option<String>,
}

/// Compares `current` (anti-pattern id → verdict) of scenario `name` with `baseline`.
pub fn compare<'a>(
    name: &str,
    current: impl IntoIterator<Item = (&'a str, &'a Assessment)>,
    baseline: &ReportView,
    margin: u8,
) -> Comparison {
    let Some(base) = baseline.scenario(name) else {
        return Comparison {
            results: Vec::new(),
            note: Some(format!(
                "scenario \"{name}\" is not in the baseline report; nothing compared"
            )),
        };
    };
    let current: Vec<(&str, &Assessment)> = current.into_iter().collect();
    let mut results = Vec::new();
    for (id, b) in &base.anti_patterns {
        let (Some(bs), true) = (b.score, b.status != Status::NotExercised) else {
            continue;
        };
        let floor = bs.saturating_sub(margin);
        let label = format!("baseline.{id} >= {floor}");
        let now = current.iter().find(|(cid, _)| cid == id).map(|(_, a)| *a);
        results.push(match now {
            Some(a) if a.status != Status::NotExercised && a.score.is_some() => {
                let s = a.score.unwrap_or(0);
                let mut r = ExpectationResult::check(label, f64::from(s), s >= floor);
                r.detail = Some(format!("baseline {bs}, margin {margin}"));
                r
            }
            _ => ExpectationResult::failed(
                label,
                format!("scored {bs} in the baseline but not exercised in this run"),
            ),
        });
    }
    Comparison {
        results,
        note: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::view::ScenarioView;

    fn scored(score: u8) -> Assessment {
        Assessment::scored(score, vec![])
    }

    fn baseline() -> ReportView {
        let mut s = ScenarioView {
            name: "outage".into(),
            ..ScenarioView::default()
        };
        s.anti_patterns.insert("blind-retries".into(), scored(92));
        s.anti_patterns.insert("availability".into(), scored(80));
        s.anti_patterns
            .insert("polling".into(), Assessment::not_exercised("x"));
        ReportView {
            scenarios: vec![s],
            ..ReportView::default()
        }
    }

    #[test]
    fn drops_beyond_the_margin_fail() {
        let br = scored(86);
        let av = scored(75);
        let c = compare(
            "outage",
            [("blind-retries", &br), ("availability", &av)],
            &baseline(),
            5,
        );
        assert_eq!(c.results.len(), 2, "polling was not scored in the baseline");
        assert_eq!(c.results[0].name, "baseline.blind-retries >= 87");
        assert!(!c.results[0].passed);
        assert_eq!(c.results[1].name, "baseline.availability >= 75");
        assert!(c.results[1].passed);
    }

    #[test]
    fn no_longer_exercised_fails_and_unknown_scenarios_are_not_compared() {
        let ne = Assessment::not_exercised("gone");
        let c = compare("outage", [("blind-retries", &ne)], &baseline(), 5);
        assert!(c.results.iter().all(|r| !r.passed));
        let c = compare("new-one", [("blind-retries", &ne)], &baseline(), 5);
        assert!(c.results.is_empty());
        assert!(c.note.unwrap().contains("not in the baseline"));
    }
}
