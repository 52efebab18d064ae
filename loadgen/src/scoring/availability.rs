//! `availability`: assuming Salesforce will always be available.
//!
//! Signals, around each injected outage (any mode):
//! - accepted events that never landed: ledger problems whose last event was sent during an outage
//!   or in the 30 s after it (the backlog), as a share of the events accepted then — except in the
//!   30 s before a harness action stopped the integration (losses there are rollback's);
//! - the acceptance rate of events sent during outages (refusing work is honest, but it is not
//!   buffering);
//! - unbounded waits: requests held by a `hang` until the hang ended although at least 30 s of it
//!   remained when they were sent (no client timeout), or any request lasting 120 s or more;
//! - drain time after recovery: how long the integration's request rate stayed above 1.5× its
//!   baseline after an outage (reported; penalised beyond twice the outage or 30 s);
//! - crashes: the process exiting without being asked.
//!
//! Exercised when an outage overlapped the load period, or the integration crashed.

use simulator::journal::JournalEntry;

use super::evidence::Evidence;
use super::facts::Facts;
use super::stats::{ramp, ratio, req, score_from_penalties, secs, window, Examples};
use super::windows;
use super::{Assessment, Context, Detector, EvidenceError, Finding, Severity};
use crate::ledger::LedgerEntry;
use crate::scenario::AntiPattern;

/// After an outage, work accepted this long after it ended is still part of its backlog.
const BACKLOG_US: u64 = 30_000_000;
/// A hang with at least this much left is one a sane client timeout would have cut short.
const HANG_MIN_REMAINING_US: u64 = 30_000_000;
/// Any request lasting this long waited without a timeout.
const UNBOUNDED_US: u64 = 120_000_000;

pub struct Availability<'a> {
    ev: &'a Evidence,
    outages: Vec<(u64, u64)>,
    backlog: Vec<(u64, u64)>,
    /// Fault id → window end, for hangs.
    hang_ends: Vec<(String, u64)>,
    failures_in_outage: u64,
    sent_in_outage: u64,
    accepted_in_outage: u64,
    accepted_in_backlog: u64,
    unbounded: Examples,
}

impl<'a> Availability<'a> {
    pub fn new(ev: &'a Evidence) -> Self {
        let end = ev.run_end_us();
        let outages: Vec<(u64, u64)> = windows::spans(ev, |f| f.kind == "outage")
            .into_iter()
            .filter(|(s, _)| *s < ev.load_us)
            .collect();
        let hang_ends = ev
            .faults
            .iter()
            .filter(|f| f.installed && f.kind == "outage" && f.mode.as_deref() == Some("hang"))
            .map(|f| (f.id.clone(), f.span.end_or(end)))
            .collect();
        let backlog: Vec<(u64, u64)> = outages.iter().map(|(s, e)| (*s, e + BACKLOG_US)).collect();
        // Work accepted shortly before the harness stopped the integration and lost with it is
        // rollback's evidence (a queue that does not survive a restart), not availability's.
        let before_actions: Vec<(u64, u64)> = super::lifecycle::action_spans(ev)
            .iter()
            .map(|(start, _, _)| (start.saturating_sub(BACKLOG_US), *start))
            .collect();
        let backlog = windows::subtract(&backlog, &before_actions);
        Availability {
            ev,
            outages,
            backlog,
            hang_ends,
            failures_in_outage: 0,
            sent_in_outage: 0,
            accepted_in_outage: 0,
            accepted_in_backlog: 0,
            unbounded: Examples::default(),
        }
    }
}

/// Scores `ev` for assuming Salesforce is always available, alone.
pub fn assess(ev: &Evidence) -> Result<Assessment, EvidenceError> {
    super::assess(ev, AntiPattern::Availability)
}

impl Detector for Availability<'_> {
    fn id(&self) -> AntiPattern {
        AntiPattern::Availability
    }

    fn journal(&mut self, e: &JournalEntry, f: &Facts) {
        if !f.integration_request() {
            return;
        }
        if f.failure.is_some() && windows::contains(&self.outages, e.t_us) {
            self.failures_in_outage += 1;
        }
        let hung_to_end = e.fault.as_ref().is_some_and(|tag| {
            tag.action.starts_with("hang")
                && self.hang_ends.iter().any(|(id, end)| {
                    *id == tag.rule
                        && end.saturating_sub(e.t_us) >= HANG_MIN_REMAINING_US
                        && e.t_us + e.latency_us + 1_000_000 >= *end
                })
        });
        if hung_to_end || e.latency_us >= UNBOUNDED_US {
            self.unbounded.push(|| req(e.id));
        }
    }

    fn ledger(&mut self, l: &LedgerEntry) {
        if windows::contains(&self.outages, l.sent_us) {
            self.sent_in_outage += 1;
            if l.outcome.is_accepted() {
                self.accepted_in_outage += 1;
            }
        }
        if l.outcome.is_accepted() && windows::contains(&self.backlog, l.sent_us) {
            self.accepted_in_backlog += 1;
        }
    }

    fn finish(self: Box<Self>, cx: &Context) -> Assessment {
        let crashes: Vec<String> = self
            .ev
            .lifecycle
            .iter()
            .filter(|l| l.is_crash())
            .map(|l| format!("crash at {}", secs(l.t_us.max(0) as u64)))
            .collect();
        if self.outages.is_empty() && crashes.is_empty() {
            return Assessment::not_exercised(
                "no outage during load and no crash: availability was never tested",
            );
        }
        let mut findings = Vec::new();
        let mut penalties = Vec::new();

        if !self.outages.is_empty() {
            let problems = cx.losses.within(&self.backlog);
            let bad = problems.lost + problems.wrong_value;
            if bad >= 0.5 {
                let share = ratio(bad, self.accepted_in_backlog.max(1) as f64);
                penalties.push(15.0 + ramp(share, 0.0, 0.05, 45.0));
                findings.push(
                    Finding::new(
                        Severity::Critical,
                        format!(
                            "~{bad:.0} events accepted during or just after outages never landed (of {})",
                            self.accepted_in_backlog
                        ),
                    )
                    .count(bad.round() as u64)
                    .evidence(problems.examples.clone()),
                );
            }
            if self.sent_in_outage > 0 {
                let rate = ratio(self.accepted_in_outage as f64, self.sent_in_outage as f64);
                // Refusing work while Salesforce is away hands the outage to the upstream system:
                // nothing was buffered.
                penalties.push(ramp(1.0 - rate, 0.1, 0.6, 35.0));
                findings.push(
                    Finding::new(
                        if rate < 0.5 {
                            Severity::Critical
                        } else if rate < 0.9 {
                            Severity::Warning
                        } else {
                            Severity::Info
                        },
                        format!(
                            "accepted {:.0}% of the {} events sent during outages",
                            rate * 100.0,
                            self.sent_in_outage
                        ),
                    )
                    .count(self.sent_in_outage),
                );
            }
            // Drain after each outage.
            if let Some(base) = windows::baseline_rate(cx.ev, cx.timeline) {
                let t = cx.timeline;
                for (s, e) in &self.outages {
                    let mut i = t.bucket_of(*e);
                    let mut n = 0;
                    while i < t.len()
                        && (t.requests_at(i) as f64 / t.bucket_s) > 1.5 * base.max(0.1)
                    {
                        n += 1;
                        i += 1;
                    }
                    let drain_s = n as f64 * t.bucket_s;
                    let len_s = (e - s) as f64 / 1e6;
                    let slow = drain_s > (2.0 * len_s).max(30.0);
                    if slow {
                        penalties.push(10.0);
                    }
                    findings.push(Finding::new(
                        if slow {
                            Severity::Warning
                        } else {
                            Severity::Info
                        },
                        format!(
                            "after the outage {}: {drain_s:.0} s above 1.5× the baseline request rate",
                            window(*s, *e)
                        ),
                    ));
                }
            }
            if self.failures_in_outage > 0 {
                findings.push(
                    Finding::new(
                        Severity::Info,
                        format!("{} requests failed during outages", self.failures_in_outage),
                    )
                    .count(self.failures_in_outage),
                );
            }
        }

        if self.unbounded.count > 0 {
            penalties.push(15.0 + ramp(self.unbounded.count as f64, 1.0, 10.0, 15.0));
            findings.push(
                Finding::new(
                    Severity::Critical,
                    "requests waited on hung connections until the server let go (no client timeout)",
                )
                .count(self.unbounded.count)
                .evidence(self.unbounded.items.clone()),
            );
        }
        if !crashes.is_empty() {
            penalties.push((20.0 * crashes.len() as f64).min(40.0));
            findings.push(
                Finding::new(Severity::Critical, "the integration crashed")
                    .count(crashes.len() as u64)
                    .evidence(crashes),
            );
        }
        Assessment::scored(score_from_penalties(&penalties), findings)
    }
}
