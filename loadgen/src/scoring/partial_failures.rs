//! `partial-failures`: ignoring per-record failures inside answers that succeeded as a whole.
//!
//! Signals:
//! - Bulk 2.0 jobs that processed with failed rows (the simulator's `PROCESS` entry) whose
//!   `failedResults` the integration never fetched;
//! - whole-file resubmits: a Bulk upload, collection or composite body identical to an earlier one
//!   (a re-sent file duplicates inserts and re-applies rows that had succeeded);
//! - the ledger: keys lost or duplicated, placed in time, outside outages
//!   and restarts (those are availability's and rollback's), within partial-failure fault windows
//!   when there are any — item failures never re-sent end up here.
//!
//! Exercised when an answer of the integration carried per-item failures or a Bulk job failed.

use std::collections::{HashMap, HashSet};

use simulator::journal::JournalEntry;

use super::evidence::Evidence;
use super::facts::{Facts, Op};
use super::stats::{ramp, ratio, req, score_from_penalties, Examples};
use super::windows;
use super::{Assessment, Context, Detector, EvidenceError, Finding, Severity};
use crate::scenario::AntiPattern;

#[derive(Default)]
pub struct PartialFailures {
    /// Job id → (failed rows, id of the processing entry).
    failed_jobs: HashMap<String, (u64, u64)>,
    whole_failed_jobs: u64,
    read_failures: HashSet<String>,
    uploads: u64,
    upload_bodies: HashMap<String, String>,
    resubmits: Examples,
    item_failures: u64,
    item_failure_requests: Examples,
    bodies_with_failures: HashSet<String>,
}

impl PartialFailures {
    pub fn new() -> Self {
        PartialFailures {
            failed_jobs: HashMap::new(),
            whole_failed_jobs: 0,
            read_failures: HashSet::new(),
            uploads: 0,
            upload_bodies: HashMap::new(),
            resubmits: Examples::default(),
            item_failures: 0,
            item_failure_requests: Examples::default(),
            bodies_with_failures: HashSet::new(),
        }
    }
}

/// Scores `ev` for ignoring partial failures, alone.
pub fn assess(ev: &Evidence) -> Result<Assessment, EvidenceError> {
    super::assess(ev, AntiPattern::PartialFailures)
}

impl Detector for PartialFailures {
    fn id(&self) -> AntiPattern {
        AntiPattern::PartialFailures
    }

    fn journal(&mut self, e: &JournalEntry, f: &Facts) {
        if !f.by_integration() {
            return;
        }
        let ok = (200..300).contains(&e.status);
        match f.op {
            Op::Process => {
                let Some(job) = &e.job else {
                    return;
                };
                if !ok {
                    self.whole_failed_jobs += 1;
                }
                if e.item_failures > 0 || !ok {
                    self.failed_jobs
                        .insert(job.clone(), (u64::from(e.item_failures), e.id));
                    self.item_failures += u64::from(e.item_failures);
                }
            }
            Op::Bulk => {
                if e.route.ends_with("failedResults") || e.route.ends_with("unprocessedrecords") {
                    if let Some(job) = &e.job {
                        if ok {
                            self.read_failures.insert(job.clone());
                        }
                    }
                } else if e.route.ends_with("upload") {
                    self.uploads += 1;
                    if let (Some(body), Some(job)) = (&e.body_hash, &e.job) {
                        match self.upload_bodies.get(body) {
                            Some(first) if first != job => self.resubmits.push(|| req(e.id)),
                            Some(_) => {}
                            None => {
                                self.upload_bodies.insert(body.clone(), job.clone());
                            }
                        }
                    }
                }
            }
            _ => {
                let failed_items = if f.sub && e.status >= 400 {
                    1
                } else {
                    u64::from(e.item_failures)
                };
                if failed_items > 0 && (ok || f.sub) {
                    self.item_failures += failed_items;
                    self.item_failure_requests.push(|| req(e.id));
                    if let Some(b) = &e.body_hash {
                        if !f.sub {
                            self.bodies_with_failures.insert(b.clone());
                        }
                    }
                } else if f.op == Op::Write && !f.sub {
                    if let Some(b) = &e.body_hash {
                        if self.bodies_with_failures.contains(b) {
                            self.resubmits.push(|| req(e.id));
                        }
                    }
                }
            }
        }
    }

    fn finish(self: Box<Self>, cx: &Context) -> Assessment {
        if self.item_failures == 0 && self.whole_failed_jobs == 0 {
            return Assessment::not_exercised(
                "no answer carried per-record failures and no Bulk job failed",
            );
        }
        let mut findings = Vec::new();
        let mut penalties = Vec::new();

        let mut unread: Vec<(&String, &(u64, u64))> = self
            .failed_jobs
            .iter()
            .filter(|(job, _)| !self.read_failures.contains(*job))
            .collect();
        unread.sort_by_key(|(_, (_, id))| *id);
        if !self.failed_jobs.is_empty() {
            let share = ratio(unread.len() as f64, self.failed_jobs.len() as f64);
            if !unread.is_empty() {
                penalties.push(10.0 + ramp(share, 0.0, 0.5, 45.0));
                findings.push(
                    Finding::new(
                        Severity::Critical,
                        format!(
                            "{} of {} Bulk jobs with failed rows never had their failedResults read",
                            unread.len(),
                            self.failed_jobs.len()
                        ),
                    )
                    .count(unread.len() as u64)
                    .evidence(
                        unread
                            .iter()
                            .take(super::stats::EXAMPLES)
                            .map(|(job, (rows, id))| format!("job {job} ({rows} failed rows, {})", req(*id)))
                            .collect(),
                    ),
                );
            } else {
                findings.push(
                    Finding::new(
                        Severity::Info,
                        "failedResults read for every Bulk job with failures",
                    )
                    .count(self.failed_jobs.len() as u64),
                );
            }
        }

        if self.resubmits.count > 0 {
            let share = ratio(
                self.resubmits.count as f64,
                (self.uploads + self.item_failure_requests.count).max(1) as f64,
            );
            penalties.push(5.0 + ramp(share, 0.0, 0.3, 15.0));
            findings.push(
                Finding::new(
                    Severity::Warning,
                    "whole files or requests re-sent unchanged after partial failures (rows that had succeeded are applied again)",
                )
                .count(self.resubmits.count)
                .evidence(self.resubmits.items.clone()),
            );
        }

        let partial = windows::spans(cx.ev, |f| f.kind == "partial-failure");
        let scope = if partial.is_empty() {
            vec![(0, u64::MAX)]
        } else {
            partial
        };
        let scope = windows::subtract(&scope, &windows::owned_by_others(cx.ev));
        let problems = cx.losses.within(&scope);
        // Lost and duplicated keys: what unfixed item failures and whole resubmits produce. Wrong
        // values come from ordering, ownership and schema problems, scored elsewhere.
        let bad = problems.lost + problems.duplicates;
        let keys = cx
            .losses
            .totals
            .as_ref()
            .map_or(0, |t| t.keys.max(t.accepted.min(1)));
        if bad >= 0.5 {
            let share = ratio(bad, keys.max(1) as f64);
            penalties.push(10.0 + ramp(share, 0.0, 0.05, 40.0));
            findings.push(
                Finding::new(
                    Severity::Critical,
                    format!(
                        "accepted records that did not end up right: ~{:.0} lost, ~{:.0} duplicated",
                        problems.lost, problems.duplicates
                    ),
                )
                .count(bad.round() as u64)
                .evidence(problems.examples.clone()),
            );
        }
        findings.push(
            Finding::new(
                Severity::Info,
                format!(
                    "{} per-record failures observed ({} Bulk jobs with failures, {} failed whole)",
                    self.item_failures,
                    self.failed_jobs.len(),
                    self.whole_failed_jobs
                ),
            )
            .count(self.item_failures)
            .evidence(self.item_failure_requests.items.clone()),
        );
        Assessment::scored(score_from_penalties(&penalties), findings)
    }
}
