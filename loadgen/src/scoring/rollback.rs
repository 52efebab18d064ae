//! `rollback`: deploying without a rollback plan — a restart, crash, deploy or rollback loses or
//! duplicates work, or the integration does not come back promptly.
//!
//! Signals, for each `crash-restart`, `restart`, `deploy` and `rollback` action (its span runs from
//! the action until `/healthz` answers again):
//! - ledger problems attributable to the action: keys lost, duplicated or wrong whose last event
//!   was sent from 30 s before the action (work still queued in memory) to 10 s after recovery, as
//!   a share of the events accepted in those windows;
//! - downtime (action → healthy), and time to recover after that: until an event is accepted and a
//!   Salesforce write succeeds again;
//! - failed starts (`start-failed`, `healthz-timeout`).
//!
//! Exercised when the scenario applied at least one such action.

use simulator::journal::JournalEntry;

use super::evidence::Evidence;
use super::facts::{Facts, Op};
use super::lifecycle::{action_spans, RESTARTING_ACTIONS};
use super::stats::{ramp, ratio, score_from_penalties, secs, window};
use super::{Assessment, Context, Detector, EvidenceError, Finding, Severity};
use crate::ledger::LedgerEntry;
use crate::scenario::AntiPattern;

const LOOKBACK_US: u64 = 30_000_000;
const AFTER_US: u64 = 10_000_000;

struct Action {
    label: String,
    start: u64,
    healthy: u64,
    first_accept: Option<u64>,
    first_write: Option<u64>,
    accepted_in_window: u64,
}

pub struct Rollback<'a> {
    ev: &'a Evidence,
    actions: Vec<Action>,
}

impl<'a> Rollback<'a> {
    pub fn new(ev: &'a Evidence) -> Self {
        let actions = action_spans(ev)
            .into_iter()
            .filter(|(_, _, a)| RESTARTING_ACTIONS.contains(&a.as_str()))
            .map(|(start, healthy, label)| Action {
                label,
                start,
                healthy,
                first_accept: None,
                first_write: None,
                accepted_in_window: 0,
            })
            .collect();
        Rollback { ev, actions }
    }

    fn spans(&self) -> Vec<(u64, u64)> {
        self.actions
            .iter()
            .map(|a| (a.start.saturating_sub(LOOKBACK_US), a.healthy + AFTER_US))
            .collect()
    }
}

/// Scores `ev` for deploying without a rollback plan, alone.
pub fn assess(ev: &Evidence) -> Result<Assessment, EvidenceError> {
    super::assess(ev, AntiPattern::Rollback)
}

impl Detector for Rollback<'_> {
    fn id(&self) -> AntiPattern {
        AntiPattern::Rollback
    }

    fn journal(&mut self, e: &JournalEntry, f: &Facts) {
        if !f.integration_request() || f.op != Op::Write || f.failure.is_some() {
            return;
        }
        for a in &mut self.actions {
            if e.t_us >= a.healthy && a.first_write.is_none_or(|t| e.t_us < t) {
                a.first_write = Some(e.t_us);
            }
        }
    }

    fn ledger(&mut self, l: &LedgerEntry) {
        if !l.outcome.is_accepted() {
            return;
        }
        for a in &mut self.actions {
            if l.sent_us >= a.start.saturating_sub(LOOKBACK_US) && l.sent_us < a.healthy + AFTER_US
            {
                a.accepted_in_window += 1;
            }
            if l.sent_us >= a.healthy && a.first_accept.is_none_or(|t| l.sent_us < t) {
                a.first_accept = Some(l.sent_us);
            }
        }
    }

    fn finish(self: Box<Self>, cx: &Context) -> Assessment {
        if self.actions.is_empty() {
            return Assessment::not_exercised(
                "no crash-restart, restart, deploy or rollback action was applied",
            );
        }
        let mut findings = Vec::new();
        let mut penalties = Vec::new();

        let spans = self.spans();
        let problems = cx.losses.within(&spans);
        let accepted: u64 = self.actions.iter().map(|a| a.accepted_in_window).sum();
        if problems.total() >= 0.5 {
            let share = ratio(problems.total(), accepted.max(1) as f64);
            penalties.push(15.0 + ramp(share, 0.0, 0.05, 50.0));
            findings.push(
                Finding::new(
                    Severity::Critical,
                    format!(
                        "work lost or repeated across restarts: ~{:.0} lost, ~{:.0} duplicated, ~{:.0} wrong of {accepted} events accepted around them",
                        problems.lost, problems.duplicates, problems.wrong_value
                    ),
                )
                .count(problems.total().round() as u64)
                .evidence(problems.examples.clone()),
            );
        } else {
            findings.push(
                Finding::new(
                    Severity::Info,
                    format!("nothing lost or duplicated across restarts ({accepted} events accepted around them)"),
                )
                .count(accepted),
            );
        }

        let downtimes: Vec<u64> = self.actions.iter().map(|a| a.healthy - a.start).collect();
        let mean_down = downtimes.iter().sum::<u64>() as f64 / downtimes.len() as f64 / 1e6;
        penalties.push(ramp(mean_down, 15.0, 60.0, 10.0));
        let load_end = self.ev.load_us;
        let mut slow = Vec::new();
        let mut ttrs = Vec::new();
        for a in &self.actions {
            if a.healthy + AFTER_US >= load_end {
                continue;
            }
            let back = [a.first_accept, a.first_write]
                .into_iter()
                .map(|t| t.unwrap_or(load_end).saturating_sub(a.healthy))
                .max()
                .unwrap_or(0);
            ttrs.push(back);
            if back > 5_000_000 {
                slow.push(format!("{} {}", a.label, window(a.start, a.healthy + back)));
            }
        }
        if !ttrs.is_empty() {
            let worst = *ttrs.iter().max().unwrap_or(&0) as f64 / 1e6;
            penalties.push(ramp(worst, 5.0, 30.0, 15.0));
        }
        findings.push(
            Finding::new(
                if slow.is_empty() {
                    Severity::Info
                } else {
                    Severity::Warning
                },
                format!(
                    "{} actions, mean downtime {mean_down:.1} s{}",
                    self.actions.len(),
                    match ttrs.iter().max() {
                        Some(t) => format!(", back to work within {} after healthy", secs(*t)),
                        None => String::new(),
                    }
                ),
            )
            .count(self.actions.len() as u64)
            .evidence(slow),
        );

        let failed_starts: Vec<String> = self
            .ev
            .lifecycle
            .iter()
            .filter(|l| l.event == "start-failed" || l.event == "healthz-timeout")
            .map(|l| format!("{} at {}", l.event, secs(l.t_us.max(0) as u64)))
            .collect();
        if !failed_starts.is_empty() {
            penalties.push((25.0 * failed_starts.len() as f64).min(50.0));
            findings.push(
                Finding::new(Severity::Critical, "the integration failed to start again")
                    .count(failed_starts.len() as u64)
                    .evidence(failed_starts),
            );
        }
        Assessment::scored(score_from_penalties(&penalties), findings)
    }
}
