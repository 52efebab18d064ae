//! One run's numbers, from the evidence `sfchaos run` leaves: the simulator's journal (what the
//! integration asked Salesforce, when, and how it was answered), the ledger reconciliation (whether
//! the work landed) and the load summary (what the upstream system saw).

use std::path::Path;

use simulator::journal::JournalEntry;

use crate::ledger::Reconciliation;
use crate::recorder::RunSummary;
use crate::scenario::Scenario;
use crate::scoring::evidence::Evidence;

/// What one run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct RunMeasure {
    /// Requests of the integration user after start-up (CometD long-polls excluded).
    pub calls: u64,
    /// Of those, writes (non-GET data API requests).
    pub writes: u64,
    /// End of the last successful write, scenario seconds.
    pub completion_time_s: f64,
    pub success_rate: f64,
    pub amplification: f64,
    pub p99_ms: f64,
}

/// Counts journal entries one at a time (the journal of a long run does not fit in memory).
#[derive(Debug, Clone)]
pub struct JournalTally {
    user: String,
    /// Fault windows, `[start, end)` in scenario microseconds.
    windows: Vec<(u64, u64)>,
    pub requests: u64,
    pub writes: u64,
    pub ok_writes: u64,
    pub last_ok_write_end_us: u64,
    pub window_requests: u64,
    pub window_ok_writes: u64,
}

impl JournalTally {
    /// Tally the requests of `user`; `windows` are where amplification is measured (the whole run
    /// when empty).
    pub fn new(user: &str, windows: Vec<(u64, u64)>) -> Self {
        Self {
            user: user.to_string(),
            windows,
            requests: 0,
            writes: 0,
            ok_writes: 0,
            last_ok_write_end_us: 0,
            window_requests: 0,
            window_ok_writes: 0,
        }
    }

    /// Count one entry (start-up entries must be skipped by the caller).
    pub fn add(&mut self, e: &JournalEntry) {
        // Composite subrequests are part of their parent's request, not calls of their own;
        // CometD long-polls are not API calls (Salesforce does not count them against the
        // allocation) and their number follows the poll timeout, not the retry strategy.
        if e.user.as_deref() != Some(self.user.as_str())
            || e.parent.is_some()
            || e.api == simulator::journal::Api::Streaming
        {
            return;
        }
        let in_window = self.windows.is_empty()
            || self
                .windows
                .iter()
                .any(|&(start, end)| (start..end).contains(&e.t_us));
        self.requests += 1;
        if in_window {
            self.window_requests += 1;
        }
        if !is_write(e) {
            return;
        }
        self.writes += 1;
        if (200..300).contains(&e.status) {
            self.ok_writes += 1;
            self.last_ok_write_end_us = self
                .last_ok_write_end_us
                .max(e.t_us.saturating_add(e.latency_us));
            if in_window {
                self.window_ok_writes += 1;
            }
        }
    }

    /// Requests per unit of useful work (a successful write) inside the windows; with no useful
    /// work at all, every request counts as wasted against one unit.
    pub fn amplification(&self) -> f64 {
        self.window_requests as f64 / self.window_ok_writes.max(1) as f64
    }
}

/// A write: anything but a read on the data APIs (REST, composite, Bulk).
fn is_write(e: &JournalEntry) -> bool {
    let data_api = e.path.starts_with("/services/data/");
    data_api && !matches!(e.method.as_str(), "GET" | "HEAD" | "OPTIONS")
}

/// Share of the events sent whose work reached Salesforce intact: accepted/sent × landed/keys.
/// A run that sent no events has nothing to fail: 1.
pub fn success_rate(reconciliation: &Reconciliation) -> f64 {
    let t = &reconciliation.totals;
    if t.sent == 0 {
        return 1.0;
    }
    let accepted = t.accepted as f64 / t.sent as f64;
    let landed = if t.keys == 0 {
        0.0
    } else {
        t.landed as f64 / t.keys as f64
    };
    accepted * landed
}

/// Measure the run whose evidence is in `dir`.
pub fn measure_run(
    dir: &Path,
    scenario: &Scenario,
    integration_user: &str,
    reconciliation: &Reconciliation,
    summary: &RunSummary,
) -> Result<RunMeasure, String> {
    let ev = Evidence::from_dir(dir, scenario).map_err(|e| e.to_string())?;
    let run_end = ev.run_end_us();
    let windows: Vec<(u64, u64)> = ev
        .faults
        .iter()
        .filter(|f| !f.kind.starts_with("sink"))
        .map(|f| (f.span.start_us, f.span.end_us.unwrap_or(run_end)))
        .collect();
    let mut tally = JournalTally::new(integration_user, windows);
    let mut seen = 0u64;
    ev.journal
        .for_each(|e| {
            seen += 1;
            if seen > ev.journal_before_start {
                tally.add(e);
            }
        })
        .map_err(|e| e.to_string())?;
    Ok(RunMeasure {
        calls: tally.requests,
        writes: tally.writes,
        completion_time_s: tally.last_ok_write_end_us as f64 / 1e6,
        success_rate: success_rate(reconciliation),
        amplification: tally.amplification(),
        p99_ms: summary.overall.corrected.p99,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(t_ms: u64, user: &str, method: &str, status: u16) -> JournalEntry {
        JournalEntry {
            t_us: t_ms * 1000,
            latency_us: 20_000,
            user: Some(user.to_string()),
            method: method.to_string(),
            path: "/services/data/v61.0/sobjects/Account/001000000000001AAA".to_string(),
            status,
            ..JournalEntry::default()
        }
    }

    #[test]
    fn counts_the_integration_users_requests_and_writes() {
        let mut t = JournalTally::new("me", vec![]);
        for e in [
            entry(10, "me", "GET", 200),
            entry(20, "me", "PATCH", 412),
            entry(30, "me", "GET", 200),
            entry(40, "me", "PATCH", 204),
            entry(50, "someone-else", "PATCH", 204),
            JournalEntry {
                api: simulator::journal::Api::Streaming,
                method: "POST".into(),
                path: "/cometd/61.0/connect".into(),
                ..entry(60, "me", "POST", 200)
            },
        ] {
            t.add(&e);
        }
        assert_eq!((t.requests, t.writes, t.ok_writes), (4, 2, 1));
        assert_eq!(t.last_ok_write_end_us, 60_000);
        // Four requests for one landed write.
        assert_eq!(t.amplification(), 4.0);
    }

    #[test]
    fn amplification_only_looks_inside_fault_windows() {
        let mut t = JournalTally::new("me", vec![(100_000, 200_000)]);
        // Outside: one call per write. Inside: three calls for one write.
        for e in [
            entry(10, "me", "PATCH", 204),
            entry(110, "me", "PATCH", 503),
            entry(120, "me", "PATCH", 503),
            entry(130, "me", "PATCH", 204),
            entry(250, "me", "PATCH", 204),
        ] {
            t.add(&e);
        }
        assert_eq!(t.amplification(), 3.0);
        assert_eq!(t.requests, 5);
        // No useful work in the window: every call is wasted against one unit.
        let mut idle = JournalTally::new("me", vec![(0, 1_000_000)]);
        idle.add(&entry(1, "me", "PATCH", 503));
        idle.add(&entry(2, "me", "PATCH", 503));
        assert_eq!(idle.amplification(), 2.0);
    }

    #[test]
    fn success_is_accepted_times_landed() {
        let mut r = Reconciliation::default();
        assert_eq!(success_rate(&r), 1.0);
        r.totals.sent = 10;
        r.totals.accepted = 8;
        r.totals.keys = 4;
        r.totals.landed = 2;
        assert!((success_rate(&r) - 0.4).abs() < 1e-12);
    }
}
