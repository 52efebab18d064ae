use loadgen::scenario::AntiPattern::BatchRealtimeMixing;
use loadgen::scoring::evidence::{Span, StreamKind};
use loadgen::scoring::Severity;

use super::builder::*;

/// Real-time writes every 100 ms for 60 s, a 500-record batch at 10 s and 12 s, peak 0–60 s.
fn run() -> Run {
    let mut r = Run::new(60);
    r.stream("events", StreamKind::Events);
    r.stream("nightly", StreamKind::Batch);
    r.ev.peak = vec![Span::new(0, Some(60 * S))];
    for i in 0..600u64 {
        r.event("events", i * 100 * MS, i, true, MS);
    }
    for k in 0..1_000u64 {
        r.event(
            "nightly",
            if k < 500 { 10 * S } else { 12 * S },
            10_000 + k,
            true,
            MS,
        );
    }
    r
}

fn bulk_job(r: &mut Run, t: u64, job: &str, rows: u64, takes: u64) {
    let base = "/services/data/v62.0/jobs/ingest";
    r.req(t, "POST", "bulk2.ingest.create", base, 200).job = Some(job.into());
    let p = r.req(
        t + S,
        "PROCESS",
        "bulk2.ingest.process",
        &format!("{base}/{job}"),
        200,
    );
    p.job = Some(job.into());
    p.rows = Some(rows);
    p.latency_us = takes;
}

#[test]
fn small_parallel_bulk_jobs_at_peak_that_slow_real_time_writes_score_low() {
    let mut r = run();
    bulk_job(&mut r, 10 * S, "750A", 500, 15 * S);
    bulk_job(&mut r, 12 * S, "750B", 500, 15 * S);
    for i in 0..600u64 {
        let t = i * 100 * MS;
        let contended = (10 * S..28 * S).contains(&t);
        let e = r.write(
            t + 10 * MS,
            i,
            if contended && i % 4 == 0 { 400 } else { 204 },
        );
        if contended {
            e.latency_us = 2 * S;
            if i % 4 == 0 {
                e.error_code = Some("UNABLE_TO_LOCK_ROW".into());
            }
        }
    }
    let a = r.assess(BatchRealtimeMixing);
    assert_score(&a, 0..=40);
    assert_eq!(
        finding(&a, "real-time writes while Bulk ran").severity,
        Severity::Critical
    );
    assert_eq!(finding(&a, "during declared peak hours").count, 2);
    assert_eq!(finding(&a, "fewer than 2000 rows").count, 2);
    finding(&a, "at most 2 at once");
}

#[test]
fn small_batches_through_collections_score_high() {
    let mut r = run();
    for i in 0..600u64 {
        r.write(i * 100 * MS + 10 * MS, i, 204);
    }
    for b in 0..5u64 {
        r.req(
            10 * S + b * 100 * MS,
            "PATCH",
            "composite.sobjects.upsert",
            "/services/data/v62.0/composite/sobjects/Account/External_Id__c",
            200,
        );
    }
    let a = r.assess(BatchRealtimeMixing);
    assert_score(&a, 100..=100);
}

#[test]
fn batch_records_written_one_by_one_are_flagged() {
    let mut r = run();
    for i in 0..600u64 {
        r.write(i * 100 * MS + 10 * MS, i, 204);
    }
    for k in 0..1_000u64 {
        r.write(10 * S + k * MS, 10_000 + k, 204);
    }
    let a = r.assess(BatchRealtimeMixing);
    assert_eq!(finding(&a, "one record at a time").count, 1_000);
    assert!(a.score.unwrap() <= 80, "{a:#?}");
}

#[test]
fn not_exercised_without_batch_work() {
    let mut r = Run::new(30);
    r.stream("events", StreamKind::Events);
    r.write(0, 1, 204);
    assert_not_exercised(&r.assess(BatchRealtimeMixing));
}
