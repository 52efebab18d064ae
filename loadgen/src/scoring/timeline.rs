//! [`Timeline`]: per-bucket series computed while scoring, carried in report.json (under each
//! scenario's `timeline` key) so that `report.html` can be drawn from report.json alone.
//!
//! Buckets are one second wide, or wider for long runs so that a timeline never has more than
//! [`MAX_POINTS`] points (bucket `i` covers `[i·bucket_s, (i+1)·bucket_s)` on the scenario clock).

use serde::{Deserialize, Serialize};
use simulator::journal::JournalEntry;

use super::evidence::Evidence;
use super::facts::Facts;
use super::stats::LogHistogram;
use crate::ledger::LedgerEntry;

/// Points per series, at most (before growth past the planned end).
pub const MAX_POINTS: usize = 600;
/// Hard cap on buckets, whatever the timestamps say (a corrupt `t_us` must not allocate GBs).
const HARD_CAP: usize = 20_000;

/// Integration → Salesforce requests per bucket, by answer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StatusSeries {
    /// 1xx–3xx.
    pub ok: Vec<u32>,
    /// 4xx.
    pub client_error: Vec<u32>,
    /// 5xx.
    pub server_error: Vec<u32>,
    /// Status 0: reset, refused mid-request, or abandoned.
    pub no_answer: Vec<u32>,
}

/// Inbound event latency per bucket, milliseconds; `null` where no event completed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencySeries {
    /// From the intended send instant (corrected for coordinated omission), from the recorder.
    pub p50_ms: Vec<Option<f64>>,
    pub p99_ms: Vec<Option<f64>>,
    /// From the actual send (what a closed-loop tool reports), from the ledger.
    pub raw_p50_ms: Vec<Option<f64>>,
    pub raw_p99_ms: Vec<Option<f64>>,
}

/// A shaded stretch: a fault window, an action (from its start until the integration is healthy
/// again), a peak window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimelineWindow {
    pub label: String,
    /// The fault kind, `action` or `peak`.
    pub kind: String,
    pub start_s: f64,
    pub end_s: f64,
}

/// A point in time worth marking (a crash).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimelineMark {
    pub t_s: f64,
    pub label: String,
}

/// The per-bucket series of one scenario run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    pub bucket_s: f64,
    /// Planned end of the run (load + drain), seconds.
    pub end_s: f64,
    pub requests: StatusSeries,
    /// Requests identified as retries.
    pub retries: Vec<u32>,
    /// Daily API usage (largest `used` reported in the bucket, org-wide).
    pub api_used: Vec<Option<u64>>,
    /// The allocation (`max`) last reported.
    pub api_max: Option<u64>,
    pub events_accepted: Vec<u32>,
    /// Rejected or unanswered.
    pub events_rejected: Vec<u32>,
    pub latency: LatencySeries,
    pub windows: Vec<TimelineWindow>,
    pub marks: Vec<TimelineMark>,
}

impl Timeline {
    pub fn len(&self) -> usize {
        self.requests.ok.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Total integration requests in bucket `i`.
    pub fn requests_at(&self, i: usize) -> u64 {
        let r = &self.requests;
        [&r.ok, &r.client_error, &r.server_error, &r.no_answer]
            .iter()
            .map(|s| u64::from(s.get(i).copied().unwrap_or(0)))
            .sum()
    }

    /// The bucket index of `t_us`.
    pub fn bucket_of(&self, t_us: u64) -> usize {
        (t_us as f64 / 1e6 / self.bucket_s) as usize
    }
}

/// Builds a [`Timeline`] during the passes.
pub(crate) struct TimelineBuilder {
    t: Timeline,
    raw: Vec<LogHistogram>,
}

impl TimelineBuilder {
    pub(crate) fn new(ev: &Evidence) -> Self {
        let end_s = ev.run_end_us() as f64 / 1e6;
        let bucket_s = (end_s / MAX_POINTS as f64).ceil().max(1.0);
        TimelineBuilder {
            t: Timeline {
                bucket_s,
                end_s,
                ..Timeline::default()
            },
            raw: Vec::new(),
        }
    }

    fn index(&mut self, t_us: u64) -> Option<usize> {
        let i = self.t.bucket_of(t_us);
        if i >= HARD_CAP {
            return None;
        }
        if i >= self.t.len() {
            let n = i + 1;
            let t = &mut self.t;
            for s in [
                &mut t.requests.ok,
                &mut t.requests.client_error,
                &mut t.requests.server_error,
                &mut t.requests.no_answer,
                &mut t.retries,
                &mut t.events_accepted,
                &mut t.events_rejected,
            ] {
                s.resize(n, 0);
            }
            t.api_used.resize(n, None);
        }
        Some(i)
    }

    pub(crate) fn journal(&mut self, e: &JournalEntry, f: &Facts) {
        if f.startup {
            return;
        }
        if let Some((used, max)) = e.api_usage {
            if let Some(i) = self.index(e.t_us) {
                let slot = &mut self.t.api_used[i];
                *slot = Some(slot.map_or(used, |u| u.max(used)));
                self.t.api_max = Some(max);
            }
        }
        if !f.integration_request() {
            return;
        }
        let Some(i) = self.index(e.t_us) else {
            return;
        };
        let r = &mut self.t.requests;
        let series = match e.status {
            0 => &mut r.no_answer,
            s if s >= 500 => &mut r.server_error,
            s if s >= 400 => &mut r.client_error,
            _ => &mut r.ok,
        };
        series[i] += 1;
        if f.retry.is_some() {
            self.t.retries[i] += 1;
        }
    }

    pub(crate) fn ledger(&mut self, l: &LedgerEntry) {
        let Some(i) = self.index(l.sent_us) else {
            return;
        };
        if l.outcome.is_accepted() {
            self.t.events_accepted[i] += 1;
        } else {
            self.t.events_rejected[i] += 1;
        }
        if !l.outcome.is_unanswered() {
            if self.raw.len() <= i {
                self.raw.resize_with(i + 1, LogHistogram::default);
            }
            self.raw[i].record(l.latency_us as f64);
        }
    }

    pub(crate) fn finish(mut self, ev: &Evidence) -> Timeline {
        let end_us = ev.run_end_us();
        if end_us > 0 {
            self.index(end_us.saturating_sub(1));
        }
        let n = self.t.len();
        let ms = |h: &LogHistogram, q: f64| h.quantile(q).map(|us| round2(us / 1e3));
        let lat = &mut self.t.latency;
        lat.raw_p50_ms = (0..n)
            .map(|i| self.raw.get(i).and_then(|h| ms(h, 0.5)))
            .collect();
        lat.raw_p99_ms = (0..n)
            .map(|i| self.raw.get(i).and_then(|h| ms(h, 0.99)))
            .collect();
        lat.p50_ms = vec![None; n];
        lat.p99_ms = vec![None; n];
        if let Some(load) = &ev.load {
            let mut weight = vec![0u64; n];
            for p in &load.series.overall {
                if p.count == 0 {
                    continue;
                }
                let i = (p.start_s / self.t.bucket_s) as usize;
                if i >= n {
                    continue;
                }
                let w = weight[i];
                let p50 = lat.p50_ms[i].unwrap_or(0.0);
                lat.p50_ms[i] = Some(round2(
                    (p50 * w as f64 + p.p50_ms * p.count as f64) / (w + p.count) as f64,
                ));
                lat.p99_ms[i] = Some(lat.p99_ms[i].map_or(p.p99_ms, |v| v.max(p.p99_ms)));
                weight[i] = w + p.count;
            }
        }
        let s = |us: u64| us as f64 / 1e6;
        for f in ev.faults.iter().filter(|f| f.installed) {
            let mut label = f.id.clone();
            if let Some(m) = &f.mode {
                label = format!("{label} ({m})");
            }
            self.t.windows.push(TimelineWindow {
                label,
                kind: f.kind.clone(),
                start_s: s(f.span.start_us),
                end_s: s(f.span.end_or(end_us)),
            });
        }
        for p in &ev.peak {
            self.t.windows.push(TimelineWindow {
                label: "peak".into(),
                kind: "peak".into(),
                start_s: s(p.start_us),
                end_s: s(p.end_or(end_us)),
            });
        }
        for (start, end, action) in super::lifecycle::action_spans(ev) {
            self.t.windows.push(TimelineWindow {
                label: action,
                kind: "action".into(),
                start_s: s(start),
                end_s: s(end),
            });
        }
        for l in ev.lifecycle.iter().filter(|l| l.is_crash()) {
            self.t.marks.push(TimelineMark {
                t_s: l.t_us.max(0) as f64 / 1e6,
                label: "crash".into(),
            });
        }
        self.t
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
