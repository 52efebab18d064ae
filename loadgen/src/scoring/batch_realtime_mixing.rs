//! `batch-realtime-mixing`: running batch work carelessly beside real-time traffic.
//!
//! Signals:
//! - real-time harm: p99 latency and error rate of the integration's own non-bulk writes in the
//!   seconds a Bulk job of its was running, against the seconds none was;
//! - Bulk jobs created during declared peak hours;
//! - Bulk jobs of fewer than 2,000 rows (Composite or sObject Collections are the tool below that);
//! - Bulk jobs running in parallel (contention on shared parents);
//! - batch records pushed as single-record writes: single-record REST writes beyond the real-time
//!   events accepted, as a share of the batch records accepted.
//!
//! Exercised when batch work (a batch stream, or Bulk jobs) ran beside real-time events (at least
//! 10 accepted).

use std::collections::HashMap;

use simulator::journal::JournalEntry;

use super::evidence::{Evidence, StreamKind};
use super::facts::{Facts, Op};
use super::stats::{ramp, ratio, req, score_from_penalties, LogHistogram};
use super::windows;
use super::{Assessment, Context, Detector, EvidenceError, Finding, Severity};
use crate::ledger::LedgerEntry;
use crate::scenario::AntiPattern;

/// A job is "during peak" only this far inside a peak window: the integration reads the windows
/// as offsets from its own start, which precedes the harness's scenario time zero by its start-up.
const PEAK_EDGE_US: u64 = 2_000_000;

/// Salesforce's guidance: Bulk above 2,000 records, Composite/Collections below.
pub const BULK_MIN_ROWS: u64 = 2_000;

#[derive(Default)]
struct Job {
    created: Option<(u64, u64)>,
    processed: Option<(u64, u64, u64)>,
}

#[derive(Default, Clone)]
struct Bucket {
    writes: u64,
    errors: u64,
    latency: Option<Box<LogHistogram>>,
}

pub struct BatchRealtimeMixing<'a> {
    ev: &'a Evidence,
    bucket_us: u64,
    jobs: HashMap<String, Job>,
    buckets: Vec<Bucket>,
    single_writes: u64,
    realtime_events: u64,
    batch_records: u64,
}

impl<'a> BatchRealtimeMixing<'a> {
    pub fn new(ev: &'a Evidence) -> Self {
        let end_s = ev.run_end_us() as f64 / 1e6;
        let bucket_s = (end_s / super::timeline::MAX_POINTS as f64).ceil().max(1.0);
        BatchRealtimeMixing {
            ev,
            bucket_us: (bucket_s * 1e6) as u64,
            jobs: HashMap::new(),
            buckets: Vec::new(),
            single_writes: 0,
            realtime_events: 0,
            batch_records: 0,
        }
    }

    fn job_spans(&self) -> Vec<(u64, u64)> {
        self.jobs
            .values()
            .filter_map(|j| {
                let (pt, plat, _) = j.processed?;
                let start = j.created.map_or(pt, |(t, _)| t.min(pt));
                Some((start, pt + plat))
            })
            .collect()
    }
}

/// Scores `ev` for mixing batch and real-time work carelessly, alone.
pub fn assess(ev: &Evidence) -> Result<Assessment, EvidenceError> {
    super::assess(ev, AntiPattern::BatchRealtimeMixing)
}

fn is_single_record_write(route: &str) -> bool {
    matches!(
        route,
        "sobjects.create" | "sobjects.update" | "sobjects.upsert" | "sobjects.delete"
    )
}

impl Detector for BatchRealtimeMixing<'_> {
    fn id(&self) -> AntiPattern {
        AntiPattern::BatchRealtimeMixing
    }

    fn journal(&mut self, e: &JournalEntry, f: &Facts) {
        if !f.by_integration() {
            return;
        }
        match f.op {
            Op::Process => {
                if let Some(job) = &e.job {
                    self.jobs.entry(job.clone()).or_default().processed =
                        Some((e.t_us, e.latency_us, e.rows.unwrap_or(0)));
                }
            }
            Op::Bulk if e.route.ends_with("ingest.create") && f.failure.is_none() => {
                if let Some(job) = &e.job {
                    self.jobs.entry(job.clone()).or_default().created = Some((e.t_us, e.id));
                }
            }
            Op::Write if !f.sub => {
                if f.retry.is_none() && is_single_record_write(&e.route) {
                    self.single_writes += 1;
                }
                let i = (e.t_us / self.bucket_us.max(1)) as usize;
                if i >= 20_000 {
                    return;
                }
                if self.buckets.len() <= i {
                    self.buckets.resize(i + 1, Bucket::default());
                }
                let b = &mut self.buckets[i];
                b.writes += 1;
                if f.failure.is_some() {
                    b.errors += 1;
                } else {
                    b.latency
                        .get_or_insert_with(Default::default)
                        .record(e.latency_us as f64);
                }
            }
            _ => {}
        }
    }

    fn ledger(&mut self, l: &LedgerEntry) {
        if !l.outcome.is_accepted() {
            return;
        }
        let batch = self
            .ev
            .streams
            .iter()
            .any(|s| s.name == l.stream && s.kind == StreamKind::Batch);
        if batch {
            self.batch_records += 1;
        } else {
            self.realtime_events += 1;
        }
    }

    fn finish(self: Box<Self>, _cx: &Context) -> Assessment {
        let has_batch_stream = self.ev.streams.iter().any(|s| s.kind == StreamKind::Batch);
        let created: Vec<&Job> = self.jobs.values().collect();
        if !has_batch_stream && created.is_empty() {
            return Assessment::not_exercised(
                "no batch stream and no Bulk job: no batch work to mix",
            );
        }
        if self.realtime_events < 10 {
            return Assessment::not_exercised(
                "batch work without real-time events beside it: nothing to mix with",
            );
        }
        let mut findings = Vec::new();
        let mut penalties = Vec::new();
        let spans = self.job_spans();

        // Real-time harm while Bulk runs.
        let (mut during, mut outside) = (
            (0u64, 0u64, LogHistogram::default()),
            (0u64, 0u64, LogHistogram::default()),
        );
        for (i, b) in self.buckets.iter().enumerate() {
            let (s, e) = (i as u64 * self.bucket_us, (i as u64 + 1) * self.bucket_us);
            let busy = spans.iter().any(|(js, je)| s < *je && *js < e);
            let acc = if busy { &mut during } else { &mut outside };
            acc.0 += b.writes;
            acc.1 += b.errors;
            if let Some(h) = &b.latency {
                acc.2.merge(h);
            }
        }
        if during.0 >= 20 && outside.0 >= 20 {
            let err_d = ratio(during.1 as f64, during.0 as f64);
            let err_o = ratio(outside.1 as f64, outside.0 as f64);
            penalties.push(ramp(err_d - err_o, 0.01, 0.1, 20.0));
            let (p_d, p_o) = (during.2.quantile(0.99), outside.2.quantile(0.99));
            let lat_ratio = match (p_d, p_o) {
                (Some(d), Some(o)) if o > 0.0 => d / o,
                _ => 1.0,
            };
            penalties.push(ramp(lat_ratio, 1.5, 5.0, 20.0));
            let harmed = lat_ratio > 1.5 || err_d - err_o > 0.01;
            findings.push(Finding::new(
                if harmed {
                    Severity::Critical
                } else {
                    Severity::Info
                },
                format!(
                    "real-time writes while Bulk ran: p99 {:.0} ms vs {:.0} ms otherwise, errors {:.1}% vs {:.1}%",
                    p_d.unwrap_or(0.0) / 1e3,
                    p_o.unwrap_or(0.0) / 1e3,
                    err_d * 100.0,
                    err_o * 100.0
                ),
            ).count(during.0));
        }

        if !created.is_empty() {
            let n = created.len() as f64;
            let peak = windows::spans_of(&self.ev.peak, self.ev.run_end_us());
            let mut at_peak: Vec<(u64, u64)> = created
                .iter()
                .filter_map(|j| j.created)
                .filter(|(t, _)| {
                    windows::contains(&peak, t.saturating_sub(PEAK_EDGE_US))
                        && windows::contains(&peak, t + PEAK_EDGE_US)
                })
                .collect();
            at_peak.sort_unstable();
            if !at_peak.is_empty() {
                penalties.push(15.0 + ramp(at_peak.len() as f64 / n, 0.0, 0.5, 15.0));
                findings.push(
                    Finding::new(
                        Severity::Critical,
                        "Bulk jobs started during declared peak hours",
                    )
                    .count(at_peak.len() as u64)
                    .evidence(at_peak.iter().take(5).map(|(_, id)| req(*id)).collect()),
                );
            }
            let mut small: Vec<(u64, u64)> = created
                .iter()
                .filter_map(|j| Some((j.processed?.2, j.created?.1)))
                .filter(|(rows, _)| *rows < BULK_MIN_ROWS)
                .collect();
            small.sort_unstable_by_key(|(_, id)| *id);
            if !small.is_empty() {
                penalties.push(ramp(small.len() as f64 / n, 0.0, 0.5, 25.0));
                findings.push(
                    Finding::new(
                        Severity::Warning,
                        format!("Bulk jobs of fewer than {BULK_MIN_ROWS} rows (Collections or Composite would do)"),
                    )
                    .count(small.len() as u64)
                    .evidence(
                        small
                            .iter()
                            .take(5)
                            .map(|(rows, id)| format!("{} ({rows} rows)", req(*id)))
                            .collect(),
                    ),
                );
            }
            let parallel = max_overlap(&spans);
            penalties.push(ramp(parallel as f64, 1.0, 4.0, 10.0));
            findings.push(
                Finding::new(
                    if parallel > 1 {
                        Severity::Warning
                    } else {
                        Severity::Info
                    },
                    format!("{} Bulk jobs, at most {parallel} at once", created.len()),
                )
                .count(created.len() as u64),
            );
        }

        if self.batch_records > 0 {
            let excess = self.single_writes.saturating_sub(self.realtime_events);
            let share = ratio(excess as f64, self.batch_records as f64);
            penalties.push(ramp(share, 0.2, 0.8, 20.0));
            if share > 0.2 {
                findings.push(
                    Finding::new(
                        Severity::Warning,
                        format!(
                            "~{excess} single-record writes beyond the real-time events for {} batch records: batch work sent one record at a time",
                            self.batch_records
                        ),
                    )
                    .count(excess),
                );
            }
        }
        Assessment::scored(score_from_penalties(&penalties), findings)
    }
}

/// The most spans open at once.
fn max_overlap(spans: &[(u64, u64)]) -> usize {
    let mut edges: Vec<(u64, i32)> = spans
        .iter()
        .flat_map(|(s, e)| [(*s, 1), (*e, -1)])
        .collect();
    edges.sort_unstable();
    let (mut cur, mut best) = (0i32, 0i32);
    for (_, d) in edges {
        cur += d;
        best = best.max(cur);
    }
    best.max(0) as usize
}

#[cfg(test)]
mod tests {
    #[test]
    fn overlap() {
        assert_eq!(super::max_overlap(&[(0, 10), (5, 15), (20, 30)]), 2);
        assert_eq!(super::max_overlap(&[(0, 10), (10, 15)]), 1);
    }
}
