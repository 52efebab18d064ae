//! `observability`: no alerts, no metrics — incidents are found by customers.
//!
//! Incidents are injected faults that actually hurt the integration: a fault window in which at
//! least [`MIN_FAILURES`] of its requests failed, and at least [`MIN_SHARE`] of them (onset = when
//! the first failure's answer or timeout came; a schema change counts for its first minute), or a
//! downstream-sink outage that failed at least 3 deliveries and that share of them.
//!
//! Signals:
//! - detection: a paging alert (warning or critical, not a resolution) within [`DETECT_WITHIN_US`]
//!   of each incident's onset, or one still open at onset (the latest alert before it pages);
//!   missed incidents;
//! - time to alert (median over detected incidents);
//! - false alarms: paging alerts outside every incident (from 5 s before onset to 60 s after its
//!   end), fault window and restart;
//! - metrics: when the harness scraped `/metrics`, whether it answered and whether its request
//!   counter (`integration_salesforce_requests_total`) agrees with the journal.
//!
//! Exercised when at least one incident happened.

use simulator::journal::JournalEntry;

use super::evidence::{Evidence, SinkDelivery};
use super::facts::Facts;
use super::lifecycle::action_spans;
use super::stats::{ramp, ratio, score_from_penalties, secs, window};
use super::{Assessment, Context, Detector, EvidenceError, Finding, Severity};
use crate::scenario::AntiPattern;

/// Failures inside a fault window that make it an incident…
pub const MIN_FAILURES: u64 = 5;
/// …when they are also this share of the requests that ended in it.
pub const MIN_SHARE: f64 = 0.2;
/// An alert this soon after an incident's onset detects it.
pub const DETECT_WITHIN_US: u64 = 30_000_000;
/// The counter compared with the journal (see the reference integrations' `/metrics`).
pub const REQUEST_COUNTER: &str = "integration_salesforce_requests_total";

const INCIDENT_KINDS: [&str; 9] = [
    "outage",
    "error",
    "rate-limit",
    "lock-contention",
    "session",
    "schema-change",
    "bulk-slowdown",
    "streaming",
    "connection",
];

struct Window {
    label: String,
    start: u64,
    end: u64,
    /// Requests (or deliveries) that ended inside the window, and how many failed.
    requests: u64,
    failures: u64,
    onset: Option<u64>,
    last: u64,
}

impl Window {
    fn is_sink(&self) -> bool {
        self.label.ends_with("(sink-outage)")
    }

    /// Enough failures, and a large enough share, to hurt.
    fn is_incident(&self) -> bool {
        let min = if self.is_sink() { 3 } else { MIN_FAILURES };
        self.failures >= min && ratio(self.failures as f64, self.requests as f64) >= MIN_SHARE
    }
}

pub struct Observability<'a> {
    ev: &'a Evidence,
    windows: Vec<Window>,
    requests_until_scrape: u64,
    last_scrape_us: Option<u64>,
    /// Harness actions that stop the integration: `(start, end, name)`.
    actions: Vec<(u64, u64, String)>,
}

impl<'a> Observability<'a> {
    pub fn new(ev: &'a Evidence) -> Self {
        let end = ev.run_end_us();
        let mut windows: Vec<Window> = ev
            .faults
            .iter()
            .filter(|f| f.installed)
            .filter(|f| INCIDENT_KINDS.contains(&f.kind.as_str()) || f.kind == "sink-outage")
            .map(|f| {
                let mut e = f.span.end_or(end);
                if f.kind == "schema-change" {
                    e = e.min(f.span.start_us + 60_000_000);
                }
                Window {
                    label: format!("{} ({})", f.id, f.kind),
                    start: f.span.start_us,
                    end: e,
                    requests: 0,
                    failures: 0,
                    onset: None,
                    last: 0,
                }
            })
            .collect();
        windows.retain(|w| w.end > w.start);
        let last_scrape_us = ev
            .metrics
            .iter()
            .filter(|m| m.status == 200)
            .map(|m| m.t_us.max(0) as u64)
            .max();
        Observability {
            ev,
            windows,
            actions: action_spans(ev),
            requests_until_scrape: 0,
            last_scrape_us,
        }
    }

    /// A request (or delivery) that ended at `t`, failed or not.
    fn outcome_at(&mut self, t: u64, sink: bool, failed: bool) {
        for w in &mut self.windows {
            if w.is_sink() == sink && t >= w.start && t < w.end {
                w.requests += 1;
                if failed {
                    w.failures += 1;
                    w.onset = Some(w.onset.map_or(t, |o| o.min(t)));
                    w.last = w.last.max(t);
                }
            }
        }
    }
}

/// Scores `ev` for observability alone.
pub fn assess(ev: &Evidence) -> Result<Assessment, EvidenceError> {
    super::assess(ev, AntiPattern::Observability)
}

impl Detector for Observability<'_> {
    fn id(&self) -> AntiPattern {
        AntiPattern::Observability
    }

    fn journal(&mut self, e: &JournalEntry, f: &Facts) {
        if !f.integration_request() {
            return;
        }
        if self.last_scrape_us.is_some_and(|s| e.t_us <= s) {
            self.requests_until_scrape += 1;
        }
        // A failure is visible to the integration when its answer (or its timeout) comes.
        let end = e.t_us + e.latency_us;
        // A request cut off because the harness stopped the integration (crash-restart, deploy,
        // …) did not fail because of Salesforce: the process that sent it is gone.
        let cut_off = e.status == 0
            && self
                .actions
                .iter()
                .any(|(start, stop, _)| end >= *start && end <= *stop);
        if cut_off {
            return;
        }
        self.outcome_at(end, false, f.failure.is_some());
    }

    fn delivery(&mut self, d: &SinkDelivery) {
        self.outcome_at(d.t_us.max(0) as u64, true, !d.delivered());
    }

    fn finish(self: Box<Self>, _cx: &Context) -> Assessment {
        let incidents: Vec<&Window> = self.windows.iter().filter(|w| w.is_incident()).collect();
        if incidents.is_empty() {
            return Assessment::not_exercised(
                "no injected fault hurt the integration enough to be an incident",
            );
        }
        let pages: Vec<u64> = self
            .ev
            .alerts
            .iter()
            .filter(|a| a.pages())
            .map(|a| a.t_us.max(0) as u64)
            .collect();
        let mut findings = Vec::new();
        let mut penalties = Vec::new();

        let mut missed = Vec::new();
        let mut delays = Vec::new();
        for w in &incidents {
            let onset = w.onset.unwrap_or(w.start);
            let first = pages
                .iter()
                .filter(|&&t| t + 2_000_000 >= onset && t <= onset + DETECT_WITHIN_US)
                .min();
            // An alert still open at onset (the latest alert before it pages, nothing resolved
            // it since) already has someone looking: the incident is detected at once.
            let still_open = || {
                self.ev
                    .alerts
                    .iter()
                    .filter(|a| (a.t_us.max(0) as u64) < onset)
                    .max_by_key(|a| a.t_us)
                    .is_some_and(|a| a.pages())
            };
            match first {
                Some(&t) => delays.push(t.saturating_sub(onset)),
                None if still_open() => delays.push(0),
                None => missed.push(format!("{} {}", w.label, window(onset, w.end))),
            }
        }
        let missed_share = ratio(missed.len() as f64, incidents.len() as f64);
        penalties.push(60.0 * missed_share);
        if !missed.is_empty() {
            findings.push(
                Finding::new(
                    Severity::Critical,
                    format!(
                        "{} of {} incidents raised no alert within {} s",
                        missed.len(),
                        incidents.len(),
                        DETECT_WITHIN_US / 1_000_000
                    ),
                )
                .count(missed.len() as u64)
                .evidence(missed),
            );
        }
        if !delays.is_empty() {
            delays.sort_unstable();
            let median = delays[delays.len() / 2];
            penalties.push(ramp(median as f64 / 1e6, 10.0, 30.0, 10.0));
            findings.push(
                Finding::new(
                    Severity::Info,
                    format!(
                        "{} incidents alerted, median {} after onset",
                        delays.len(),
                        secs(median)
                    ),
                )
                .count(delays.len() as u64),
            );
        }

        // False alarms.
        let end = self.ev.run_end_us();
        let mut excused: Vec<(u64, u64)> = self
            .windows
            .iter()
            .map(|w| {
                (
                    w.start.saturating_sub(5_000_000),
                    w.end.max(w.last) + 60_000_000,
                )
            })
            .collect();
        excused.extend(self.ev.faults.iter().filter(|f| f.installed).map(|f| {
            (
                f.span.start_us.saturating_sub(5_000_000),
                f.span.end_or(end) + 60_000_000,
            )
        }));
        excused.extend(
            action_spans(self.ev)
                .into_iter()
                .map(|(s, e, _)| (s, e + 60_000_000)),
        );
        let false_alarms: Vec<u64> = pages
            .iter()
            .copied()
            .filter(|t| !super::windows::contains(&excused, *t))
            .collect();
        if !false_alarms.is_empty() {
            penalties.push(5.0 + ramp(false_alarms.len() as f64, 1.0, 4.0, 15.0));
            findings.push(
                Finding::new(
                    Severity::Warning,
                    "alerts with no incident behind them (false alarms)",
                )
                .count(false_alarms.len() as u64)
                .evidence(
                    false_alarms
                        .iter()
                        .take(5)
                        .map(|t| format!("alert at {}", secs(*t)))
                        .collect(),
                ),
            );
        }

        // Metrics.
        if !self.ev.metrics.is_empty() {
            let ok: Vec<_> = self.ev.metrics.iter().filter(|m| m.status == 200).collect();
            match ok
                .iter()
                .max_by_key(|m| m.t_us)
                .map(|m| m.sum(REQUEST_COUNTER))
            {
                None => {
                    penalties.push(10.0);
                    findings.push(
                        Finding::new(Severity::Warning, "GET /metrics never answered 200")
                            .count(self.ev.metrics.len() as u64),
                    );
                }
                Some(None) => {
                    penalties.push(5.0);
                    findings.push(Finding::new(
                        Severity::Info,
                        format!("/metrics has no {REQUEST_COUNTER} to compare with the journal"),
                    ));
                }
                Some(Some(reported)) => {
                    let truth = self.requests_until_scrape as f64;
                    let err = (reported - truth).abs() / truth.max(1.0);
                    penalties.push(ramp(err, 0.1, 0.5, 10.0));
                    findings.push(Finding::new(
                        if err > 0.1 {
                            Severity::Warning
                        } else {
                            Severity::Info
                        },
                        format!(
                            "/metrics reports {reported:.0} Salesforce requests; the journal saw {truth:.0} ({:.0}% apart)",
                            err * 100.0
                        ),
                    ));
                }
            }
        }
        Assessment::scored(score_from_penalties(&penalties), findings)
    }
}
