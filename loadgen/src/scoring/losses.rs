//! Placing the ledger's problems in time: which lost, duplicated or wrong keys had their last
//! accepted event sent inside a window (an outage, a restart, after a schema change).
//!
//! The reconciliation's findings name each problem key's last accepted event; the ledger stream
//! gives that event's send time. Findings may be capped (the reconciliation keeps a sample and
//! counts the rest), so counts inside a window are estimated by scaling the located sample up to
//! the totals: `in_window × total / located`. With an uncapped findings list the estimate is exact.

use std::collections::HashMap;

use crate::ledger::{LedgerEntry, LedgerTotals, Problem, Reconciliation};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProblemKind {
    Lost,
    Duplicate,
    WrongValue,
}

/// A finding whose last event was found in the ledger.
#[derive(Clone, Debug)]
pub struct Located {
    pub sent_us: u64,
    pub kind: ProblemKind,
    /// Extra records, for duplicates; 1 otherwise.
    pub weight: u64,
    /// `key Account.External_Id__c=A-000123`.
    pub key: String,
}

/// Problems attributed to a set of windows (estimates, see the module docs).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Attributed {
    pub lost: f64,
    pub duplicates: f64,
    pub wrong_value: f64,
    pub examples: Vec<String>,
}

impl Attributed {
    pub fn total(&self) -> f64 {
        self.lost + self.duplicates + self.wrong_value
    }
}

/// The ledger's problems with send times.
#[derive(Clone, Debug, Default)]
pub struct Losses {
    pub totals: Option<LedgerTotals>,
    located: Vec<Located>,
    /// Findings still looking for their event: event id → (kind, weight, key).
    wanted: HashMap<String, Vec<(ProblemKind, u64, String)>>,
}

impl Losses {
    pub fn new(rec: Option<&Reconciliation>) -> Self {
        let mut wanted: HashMap<String, Vec<(ProblemKind, u64, String)>> = HashMap::new();
        if let Some(rec) = rec {
            for f in &rec.findings {
                let Some(event) = &f.last_event_id else {
                    continue;
                };
                let (kind, weight) = match &f.problem {
                    Problem::Lost { .. } => (ProblemKind::Lost, 1),
                    Problem::Duplicate { records } => (ProblemKind::Duplicate, (*records).max(1)),
                    Problem::WrongValue { .. } => (ProblemKind::WrongValue, 1),
                };
                let key = format!("key {}.{}={}", f.object, f.external_id_field, f.external_id);
                wanted
                    .entry(event.clone())
                    .or_default()
                    .push((kind, weight, key));
            }
        }
        Losses {
            totals: rec.map(|r| r.totals.clone()),
            located: Vec::new(),
            wanted,
        }
    }

    /// Called for every ledger entry.
    pub fn ledger(&mut self, l: &LedgerEntry) {
        if self.wanted.is_empty() {
            return;
        }
        if let Some(items) = self.wanted.remove(&l.event_id) {
            for (kind, weight, key) in items {
                self.located.push(Located {
                    sent_us: l.sent_us,
                    kind,
                    weight,
                    key,
                });
            }
        }
    }

    fn scale(&self, kind: ProblemKind) -> f64 {
        let Some(t) = &self.totals else {
            return 1.0;
        };
        let total = match kind {
            ProblemKind::Lost => t.lost,
            ProblemKind::Duplicate => t.duplicates,
            ProblemKind::WrongValue => t.wrong_value,
        } as f64;
        let located: u64 = self
            .located
            .iter()
            .filter(|l| l.kind == kind)
            .map(|l| l.weight)
            .sum();
        if located == 0 {
            0.0
        } else {
            (total / located as f64).max(1.0)
        }
    }

    /// Problems whose last event was sent in any of `spans` (`[start, end)` in µs).
    pub fn within(&self, spans: &[(u64, u64)]) -> Attributed {
        let mut a = Attributed::default();
        let scales = [
            self.scale(ProblemKind::Lost),
            self.scale(ProblemKind::Duplicate),
            self.scale(ProblemKind::WrongValue),
        ];
        for l in &self.located {
            if !spans.iter().any(|(s, e)| l.sent_us >= *s && l.sent_us < *e) {
                continue;
            }
            let w = l.weight as f64;
            match l.kind {
                ProblemKind::Lost => a.lost += w * scales[0],
                ProblemKind::Duplicate => a.duplicates += w * scales[1],
                ProblemKind::WrongValue => a.wrong_value += w * scales[2],
            }
            if a.examples.len() < super::stats::EXAMPLES {
                a.examples.push(l.key.clone());
            }
        }
        a
    }

    pub fn located(&self) -> &[Located] {
        &self.located
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datagen::EventKind;
    use crate::ledger::{ExpectedState, KeyFinding, Outcome};

    fn finding(key: &str, event: &str, problem: Problem) -> KeyFinding {
        KeyFinding {
            object: "Account".into(),
            external_id_field: "External_Id__c".into(),
            external_id: key.into(),
            last_event_id: Some(event.into()),
            problem,
        }
    }

    fn entry(event: &str, sent_s: u64) -> LedgerEntry {
        LedgerEntry {
            event_id: event.into(),
            stream: "s".into(),
            seq: 0,
            sent_us: sent_s * 1_000_000,
            object: "Account".into(),
            external_id_field: "External_Id__c".into(),
            external_id: "k".into(),
            kind: EventKind::Upsert,
            fields: Default::default(),
            outcome: Outcome::Accepted { status: 202 },
            latency_us: 1,
        }
    }

    #[test]
    fn capped_findings_scale_up_to_the_totals() {
        let rec = Reconciliation {
            totals: LedgerTotals {
                lost: 4,
                ..LedgerTotals::default()
            },
            findings: vec![
                finding(
                    "A-1",
                    "e1",
                    Problem::Lost {
                        expected: ExpectedState::Present,
                    },
                ),
                finding(
                    "A-2",
                    "e2",
                    Problem::Lost {
                        expected: ExpectedState::Present,
                    },
                ),
            ],
            findings_omitted: 2,
        };
        let mut l = Losses::new(Some(&rec));
        l.ledger(&entry("e0", 1));
        l.ledger(&entry("e1", 10));
        l.ledger(&entry("e2", 50));
        let a = l.within(&[(5_000_000, 20_000_000)]);
        assert_eq!(a.lost, 2.0);
        assert_eq!(
            a.examples,
            vec!["key Account.External_Id__c=A-1".to_string()]
        );
        assert_eq!(l.within(&[(0, 1)]).total(), 0.0);
    }
}
