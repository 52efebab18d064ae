use loadgen::scenario::AntiPattern::RealtimeDb;
use loadgen::scoring::evidence::StreamKind;
use loadgen::scoring::Severity;

use super::builder::*;

#[test]
fn describe_read_write_per_event_while_the_caller_waits_scores_low() {
    let mut r = Run::new(30);
    r.stream("events", StreamKind::Events);
    for i in 0..100u64 {
        let t = i * 200 * MS;
        r.event("events", t, i, true, 320 * MS);
        let d = r.req(
            t,
            "GET",
            "describe.object",
            "/services/data/v62.0/sobjects/Account/describe",
            200,
        );
        d.latency_us = 100 * MS;
        let q = r.req(
            t + 100 * MS,
            "GET",
            "query",
            &format!("/services/data/v62.0/query?q=SELECT+Id+FROM+Account+WHERE+External_Id__c='A-{i:06}'"),
            200,
        );
        q.query = Some("SELECT Id FROM Account WHERE External_Id__c = ?".into());
        q.result_hash = Some(format!("r{i}"));
        q.rows = Some(1);
        q.latency_us = 100 * MS;
        r.write(t + 200 * MS, i, 204).latency_us = 100 * MS;
    }
    let a = r.assess(RealtimeDb);
    assert_score(&a, 0..=30);
    assert_eq!(
        finding(&a, "calls per record written").severity,
        Severity::Critical
    );
    assert!(finding(&a, "could not have changed").count >= 99);
    assert_eq!(
        finding(&a, "callers wait on Salesforce").severity,
        Severity::Critical
    );
}

#[test]
fn queued_events_written_in_collections_score_high() {
    let mut r = Run::new(30);
    r.stream("events", StreamKind::Events);
    r.req(
        0,
        "GET",
        "describe.object",
        "/services/data/v62.0/sobjects/Account/describe",
        200,
    );
    for i in 0..100u64 {
        r.event("events", i * 200 * MS, i, true, 2 * MS);
    }
    for b in 0..10u64 {
        let e = r.req(
            b * 2 * S + S,
            "PATCH",
            "composite.sobjects.upsert",
            "/services/data/v62.0/composite/sobjects/Account/External_Id__c",
            200,
        );
        e.latency_us = 100 * MS;
        e.fields = vec!["Name".into()];
        e.ids = (0..10).map(|k| format!("001{:015}", b * 10 + k)).collect();
    }
    let a = r.assess(RealtimeDb);
    assert_score(&a, 95..=100);
    finding(&a, "callers do not wait on Salesforce");
}

#[test]
fn batch_only_runs_are_not_exercised() {
    let mut r = Run::new(30);
    r.stream("nightly", StreamKind::Batch);
    for i in 0..100u64 {
        r.event("nightly", 0, i, true, 2 * MS);
    }
    assert_not_exercised(&r.assess(RealtimeDb));
}
