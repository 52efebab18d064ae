//! `schema-assumptions`: hard-coding the schema, so one admin's change stops everything.
//!
//! Signals, around each `schema-change` fault (time `T`, object `O`, field `F`):
//! - the schema-error rate of the integration's first-attempt reads and writes of `O` after `T`
//!   (`INVALID_FIELD`, `REQUIRED_FIELD_MISSING`, `STRING_TOO_LONG`, …, or per-item failures);
//! - adaptation time: from `T` to the last such error, "never" when they continue into the last
//!   tenth of the load period after it;
//! - accepted events after `T` that do not carry `F` (nothing about them changed) but did not end
//!   up right in the org — the cost paid by unaffected records;
//! - describe calls on `O` after `T` (re-reading the schema is how a build adapts).
//!
//! Exercised when a schema change took effect during load and the integration read or wrote the
//! changed object afterwards (at least 5 first attempts).

use std::collections::HashSet;

use simulator::journal::JournalEntry;

use super::evidence::Evidence;
use super::facts::{Facts, Op};
use super::stats::{ramp, ratio, req, score_from_penalties, Examples};
use super::{Assessment, Context, Detector, EvidenceError, Finding, Severity};
use crate::ledger::LedgerEntry;
use crate::scenario::AntiPattern;

/// Error codes that mean "the request assumed a schema the org no longer has".
pub const SCHEMA_ERRORS: [&str; 10] = [
    "INVALID_FIELD",
    "INVALID_FIELD_FOR_INSERT_UPDATE",
    "REQUIRED_FIELD_MISSING",
    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
    "STRING_TOO_LONG",
    "INVALID_TYPE",
    "FIELD_INTEGRITY_EXCEPTION",
    "NO_SUCH_COLUMN",
    "INVALID_FIELD_NAME",
    "NOT_FOUND",
];

/// Fewer writes than this after the change say nothing either way.
const MIN_WRITES: u64 = 5;

pub struct SchemaAssumptions {
    change: Option<(u64, String, Option<String>, String)>,
    before: (u64, u64),
    after_writes: u64,
    /// Successful requests to the object since its latest schema error: a build that stopped
    /// erring because it stopped getting anything through has not adapted.
    ok_since_error: u64,
    after_errors: Examples,
    last_error_us: Option<u64>,
    describes_after: u64,
    problem_events: HashSet<String>,
    unaffected_accepted: u64,
    unaffected_problems: u64,
}

impl SchemaAssumptions {
    pub fn new(ev: &Evidence) -> Self {
        let change = ev
            .faults
            .iter()
            .filter(|f| f.installed && f.kind == "schema-change" && f.span.start_us < ev.load_us)
            .min_by_key(|f| f.span.start_us)
            .and_then(|f| {
                Some((
                    f.span.start_us,
                    f.object.clone()?,
                    f.field.clone(),
                    f.change.clone().unwrap_or_else(|| "schema change".into()),
                ))
            });
        let problem_events = ev
            .reconciliation
            .iter()
            .flat_map(|r| r.findings.iter())
            .filter_map(|f| f.last_event_id.clone())
            .collect();
        SchemaAssumptions {
            change,
            before: (0, 0),
            after_writes: 0,
            ok_since_error: 0,
            after_errors: Examples::default(),
            last_error_us: None,
            describes_after: 0,
            problem_events,
            unaffected_accepted: 0,
            unaffected_problems: 0,
        }
    }
}

/// Scores `ev` for hard-coded schema assumptions, alone.
pub fn assess(ev: &Evidence) -> Result<Assessment, EvidenceError> {
    super::assess(ev, AntiPattern::SchemaAssumptions)
}

impl Detector for SchemaAssumptions {
    fn id(&self) -> AntiPattern {
        AntiPattern::SchemaAssumptions
    }

    fn journal(&mut self, e: &JournalEntry, f: &Facts) {
        let Some((at, object, _, _)) = &self.change else {
            return;
        };
        if !f.by_integration() || f.retry.is_some() || f.op == Op::Process {
            return;
        }
        if !e
            .object
            .as_deref()
            .is_some_and(|o| o.eq_ignore_ascii_case(object))
        {
            return;
        }
        if f.op == Op::Describe {
            if e.t_us >= *at {
                self.describes_after += 1;
            }
            return;
        }
        // Reads count as well as writes: a build that reads its hard-coded field list fails there
        // before it ever writes.
        let is_op = matches!(f.op, Op::Write | Op::Read | Op::Query)
            || (f.op == Op::Bulk && e.route.ends_with("upload"));
        if !is_op || (f.sub && f.op != Op::Write) {
            return;
        }
        // An outer composite request is counted through its subrequests.
        if !f.sub
            && e.api == simulator::journal::Api::Composite
            && e.fields.is_empty()
            && e.item_failures == 0
        {
            return;
        }
        let schema_error = e
            .error_code
            .as_deref()
            .is_some_and(|c| SCHEMA_ERRORS.contains(&c))
            || ((200..300).contains(&e.status) && e.item_failures > 0);
        if e.t_us < *at {
            self.before.0 += 1;
            if f.failure.is_none() {
                self.before.1 += 1;
            }
        } else {
            self.after_writes += 1;
            if schema_error {
                self.after_errors.push(|| req(e.id));
                self.last_error_us = Some(self.last_error_us.map_or(e.t_us, |t| t.max(e.t_us)));
                self.ok_since_error = 0;
            } else if f.failure.is_none() {
                self.ok_since_error += 1;
            }
        }
    }

    fn ledger(&mut self, l: &LedgerEntry) {
        let Some((at, object, field, _)) = &self.change else {
            return;
        };
        if l.sent_us < *at || !l.outcome.is_accepted() || !l.object.eq_ignore_ascii_case(object) {
            return;
        }
        let touches = field
            .as_deref()
            .is_some_and(|f| l.fields.keys().any(|k| k.eq_ignore_ascii_case(f)));
        if touches {
            return;
        }
        self.unaffected_accepted += 1;
        if self.problem_events.contains(&l.event_id) {
            self.unaffected_problems += 1;
        }
    }

    fn finish(self: Box<Self>, cx: &Context) -> Assessment {
        let Some((at, object, field, change)) = &self.change else {
            return Assessment::not_exercised("no schema change took effect during load");
        };
        if self.after_writes < MIN_WRITES {
            return Assessment::not_exercised(format!(
                "the integration read or wrote {object} fewer than {MIN_WRITES} times after the {change}"
            ));
        }
        let what = match field {
            Some(f) => format!("{change} of {object}.{f}"),
            None => format!("{change} of {object}"),
        };
        let mut findings = Vec::new();
        let mut penalties = Vec::new();

        let rate = ratio(self.after_errors.count as f64, self.after_writes as f64);
        penalties.push(ramp(rate, 0.05, 0.5, 40.0));
        if self.after_errors.count > 0 {
            findings.push(
                Finding::new(
                    if rate > 0.2 {
                        Severity::Critical
                    } else {
                        Severity::Warning
                    },
                    format!(
                        "{:.0}% of reads and writes of {object} failed on the schema after the {what} at {} (before: {:.0}% succeeded)",
                        rate * 100.0,
                        super::stats::secs(*at),
                        ratio(self.before.1 as f64, self.before.0 as f64) * 100.0
                    ),
                )
                .count(self.after_errors.count)
                .evidence(self.after_errors.items.clone()),
            );
        }

        // The last tenth of the load period after the change.
        let load_end = cx.ev.load_us.max(*at);
        let tail = load_end.saturating_sub((load_end - *at) / 10);
        match self.last_error_us {
            Some(last) if (last >= tail || self.ok_since_error < MIN_WRITES) && rate > 0.05 => {
                penalties.push(30.0);
                findings.push(Finding::new(
                    Severity::Critical,
                    format!(
                        "never adapted: schema errors continued until {}, and {} request(s) to {object} succeeded after the last",
                        super::stats::secs(last),
                        self.ok_since_error
                    ),
                ));
            }
            Some(last) => {
                let s = last.saturating_sub(*at) as f64 / 1e6;
                penalties.push(ramp(s, 5.0, 30.0, 30.0));
                findings.push(Finding::new(
                    if s > 5.0 {
                        Severity::Warning
                    } else {
                        Severity::Info
                    },
                    format!("adapted {s:.1} s after the change (last schema error)"),
                ));
            }
            None => findings.push(Finding::new(
                Severity::Info,
                "no schema errors after the change",
            )),
        }

        if self.unaffected_accepted > 0 {
            let located = self.problem_events.len().max(1) as f64;
            let total = cx
                .losses
                .totals
                .as_ref()
                .map_or(0, |t| t.lost + t.duplicates + t.wrong_value);
            let scale = (total as f64 / located).max(1.0);
            let bad = self.unaffected_problems as f64 * scale;
            let share = ratio(bad, self.unaffected_accepted as f64);
            penalties.push(ramp(share, 0.01, 0.2, 30.0));
            if bad >= 0.5 {
                findings.push(
                    Finding::new(
                        Severity::Critical,
                        format!(
                            "~{bad:.0} of {} accepted events that did not involve the changed field still did not land right",
                            self.unaffected_accepted
                        ),
                    )
                    .count(bad.round() as u64),
                );
            }
        }
        findings.push(
            Finding::new(
                Severity::Info,
                format!(
                    "{} describe calls on {object} after the change",
                    self.describes_after
                ),
            )
            .count(self.describes_after),
        );
        Assessment::scored(score_from_penalties(&penalties), findings)
    }
}
