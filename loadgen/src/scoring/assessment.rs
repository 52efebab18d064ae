//! The verdict types: an [`Assessment`] per anti-pattern with its [`Finding`]s. They serialize in
//! the shape report.json fixes (design.md §7): `{"score": 92, "grade": "A", "status": "pass",
//! "findings": [{"severity": "warning", "message": "…", "count": 3, "evidence": ["req-000123"]}]}`.

use serde::{Deserialize, Serialize};

/// Scores below this fail (status `fail`); at or above it pass. The reference integrations are
/// calibrated around it: naive scores below 50 on every exercised anti-pattern, resilient 85 or more.
pub const PASS_SCORE: u8 = 70;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Pass,
    Fail,
    NotExercised,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::NotExercised => "not-exercised",
        }
    }
}

/// A ≥ 90, B ≥ 80, C ≥ 70, D ≥ 60, F below.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Grade {
    A,
    B,
    C,
    D,
    F,
}

impl Grade {
    pub fn of(score: u8) -> Grade {
        match score {
            90.. => Grade::A,
            80..=89 => Grade::B,
            70..=79 => Grade::C,
            60..=69 => Grade::D,
            _ => Grade::F,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Grade::A => "A",
            Grade::B => "B",
            Grade::C => "C",
            Grade::D => "D",
            Grade::F => "F",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// One observation behind a score.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub severity: Severity,
    pub message: String,
    /// How many times it happened (requests, keys, incidents…), 0 when not countable.
    #[serde(default, deserialize_with = "null_as_zero")]
    pub count: u64,
    /// Example request ids (`req-000123`), keys (`key Account.External_Id__c=A-000123`), jobs,
    /// windows (`window 60.0s–90.0s`).
    #[serde(default)]
    pub evidence: Vec<String>,
}

fn null_as_zero<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    Ok(Option::<u64>::deserialize(d)?.unwrap_or(0))
}

impl Finding {
    pub fn new(severity: Severity, message: impl Into<String>) -> Self {
        Finding {
            severity,
            message: message.into(),
            count: 0,
            evidence: Vec::new(),
        }
    }

    pub fn count(mut self, count: u64) -> Self {
        self.count = count;
        self
    }

    pub fn evidence(mut self, evidence: Vec<String>) -> Self {
        self.evidence = evidence;
        self
    }
}

/// One anti-pattern's verdict.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    pub score: Option<u8>,
    pub grade: Option<Grade>,
    pub status: Status,
    pub findings: Vec<Finding>,
}

impl Assessment {
    /// The scenario gave the anti-pattern no chance to show; `why` says what was missing.
    pub fn not_exercised(why: impl Into<String>) -> Self {
        Assessment {
            score: None,
            grade: None,
            status: Status::NotExercised,
            findings: vec![Finding::new(Severity::Info, why)],
        }
    }

    /// A score with its findings, most severe first.
    pub fn scored(score: u8, mut findings: Vec<Finding>) -> Self {
        findings.sort_by_key(|f| f.severity);
        Assessment {
            score: Some(score),
            grade: Some(Grade::of(score)),
            status: if score >= PASS_SCORE {
                Status::Pass
            } else {
                Status::Fail
            },
            findings,
        }
    }

    /// The most severe finding that is not merely informational, else the first.
    pub fn top_finding(&self) -> Option<&Finding> {
        self.findings
            .iter()
            .find(|f| f.severity != Severity::Info)
            .or_else(|| self.findings.first())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grades_and_status() {
        assert_eq!(Grade::of(90), Grade::A);
        assert_eq!(Grade::of(89), Grade::B);
        assert_eq!(Grade::of(70), Grade::C);
        assert_eq!(Grade::of(0), Grade::F);
        assert_eq!(Assessment::scored(70, vec![]).status, Status::Pass);
        assert_eq!(Assessment::scored(69, vec![]).status, Status::Fail);
    }

    #[test]
    fn serializes_in_the_report_shape() {
        let a = Assessment::scored(
            92,
            vec![Finding::new(Severity::Warning, "m")
                .count(3)
                .evidence(vec!["req-000001".into()])],
        );
        let v = serde_json::to_value(&a).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"score": 92, "grade": "A", "status": "pass", "findings": [
                {"severity": "warning", "message": "m", "count": 3, "evidence": ["req-000001"]}]})
        );
        let n = serde_json::to_value(Assessment::not_exercised("x")).unwrap();
        assert_eq!(n["score"], serde_json::Value::Null);
        assert_eq!(n["grade"], serde_json::Value::Null);
        assert_eq!(n["status"], "not-exercised");
        // Reads back findings written without a count.
        let f: Finding =
            serde_json::from_str(r#"{"severity":"info","message":"m","count":null}"#).unwrap();
        assert_eq!(f.count, 0);
    }
}
