use loadgen::scenario::AntiPattern::PartialFailures;
use loadgen::scoring::evidence::StreamKind;
use loadgen::scoring::Severity;

use super::builder::*;

fn bulk_job(r: &mut Run, t: u64, job: &str, body: &str, rows: u64, failed: u32) {
    let base = "/services/data/v62.0/jobs/ingest";
    r.req(t, "POST", "bulk2.ingest.create", base, 200).job = Some(job.into());
    let up = r.req(
        t + MS,
        "PUT",
        "bulk2.ingest.upload",
        &format!("{base}/{job}/batches"),
        201,
    );
    up.job = Some(job.into());
    up.body_hash = Some(body.into());
    let p = r.req(
        t + 2 * S,
        "PROCESS",
        "bulk2.ingest.process",
        &format!("{base}/{job}"),
        200,
    );
    p.job = Some(job.into());
    p.rows = Some(rows);
    p.item_failures = failed;
}

/// 2,500 batch records; 50 fail in the first job.
fn batch_run() -> (Run, Vec<String>) {
    let mut r = Run::new(60);
    r.stream("nightly", StreamKind::Batch);
    r.fault("partial-0", "partial-failure", 0, None);
    let events = (0..2_500)
        .map(|k| r.event("nightly", 5 * S, k, true, 10 * MS))
        .collect();
    bulk_job(&mut r, 5 * S, "750A", "file-1", 2_500, 50);
    (r, events)
}

#[test]
fn ignored_failed_rows_and_whole_file_resubmits_score_low() {
    let (mut r, events) = batch_run();
    // The same file again (nothing learnt), and the failed rows are never fixed.
    bulk_job(&mut r, 20 * S, "750B", "file-1", 2_500, 50);
    for e in events.iter().take(50) {
        r.lost(e);
    }
    let a = r.assess(PartialFailures);
    assert_score(&a, 0..=30);
    let unread = finding(&a, "never had their failedResults read");
    assert_eq!(unread.severity, Severity::Critical);
    assert!(unread.evidence[0].starts_with("job 750A"), "{unread:?}");
    assert_eq!(finding(&a, "re-sent unchanged").count, 1);
    assert_eq!(finding(&a, "did not end up right").count, 50);
}

#[test]
fn reading_failed_results_and_resending_only_those_rows_scores_high() {
    let (mut r, _) = batch_run();
    r.req(
        8 * S,
        "GET",
        "bulk2.ingest.failedResults",
        "/services/data/v62.0/jobs/ingest/750A/failedResults",
        200,
    )
    .job = Some("750A".into());
    bulk_job(&mut r, 10 * S, "750B", "failed-rows-of-750A", 50, 0);
    let a = r.assess(PartialFailures);
    assert_score(&a, 100..=100);
    finding(&a, "failedResults read for every Bulk job");
}

#[test]
fn collection_item_failures_never_resent_show_in_the_ledger() {
    let mut r = Run::new(30);
    let mut events = Vec::new();
    for b in 0..10u64 {
        for k in 0..10 {
            events.push(r.event("events", b * S, b * 10 + k, true, MS));
        }
        let e = r.req(
            b * S + 100 * MS,
            "POST",
            "composite.sobjects.upsert",
            "/services/data/v62.0/composite/sobjects/Account/External_Id__c",
            200,
        );
        e.item_failures = 2;
    }
    for e in events.iter().step_by(5) {
        r.lost(e);
    }
    let a = r.assess(PartialFailures);
    assert_score(&a, 0..=50);
    assert_eq!(finding(&a, "per-record failures observed").count, 20);
}

#[test]
fn losses_during_an_outage_are_availability_s_not_ours() {
    let mut r = Run::new(60);
    r.fault("outage-0", "outage", 20, Some(30));
    let mut during = Vec::new();
    for k in 0..100u64 {
        let id = r.event("events", k * 500 * MS, k, true, MS);
        if (20 * S..30 * S).contains(&(k * 500 * MS)) {
            during.push(id);
        }
    }
    let e = r.req(
        S,
        "POST",
        "composite.sobjects.upsert",
        "/services/data/v62.0/composite/sobjects/Account/External_Id__c",
        200,
    );
    e.item_failures = 1;
    for id in &during {
        r.lost(id);
    }
    let a = r.assess(PartialFailures);
    assert!(
        a.findings
            .iter()
            .all(|f| !f.message.contains("did not end up right")),
        "{a:#?}"
    );
}

#[test]
fn not_exercised_without_item_failures() {
    let mut r = Run::new(30);
    bulk_job(&mut r, S, "750A", "f", 2_500, 0);
    assert_not_exercised(&r.assess(PartialFailures));
}
