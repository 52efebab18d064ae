use loadgen::scenario::AntiPattern::Polling;
use loadgen::scoring::Severity;
use serde_json::json;

use super::builder::*;

const POLL: &str =
    "SELECT Id, Name, Phone FROM Account WHERE SystemModstamp > ? ORDER BY SystemModstamp";

fn poll(r: &mut Run, t: u64, rows: u64, hash: &str) {
    let e = r.req(
        t,
        "GET",
        "query",
        "/services/data/v62.0/query?q=SELECT...",
        200,
    );
    e.query = Some(POLL.into());
    e.rows = Some(rows);
    e.result_hash = Some(hash.into());
}

/// An actor change every 30 s; a poll every 5 s.
fn wasteful(r: &mut Run) {
    for k in 0..3 {
        r.change(
            k * 30 * S + 2 * S,
            k,
            ACTOR,
            "UPDATE",
            json!({"Phone": format!("555-{k}")}),
        );
    }
    for i in 0..18u64 {
        let t = i * 5 * S + 1_000;
        let found = (0..3).any(|k| {
            let c = k * 30 * S + 2 * S;
            c < t && c + 5 * S >= t
        });
        if found {
            poll(r, t, 1, &format!("h{i}"));
            r.deliver(t + 10 * MS, (t / (30 * S)).min(2));
        } else {
            poll(r, t, 0, "empty");
        }
    }
}

#[test]
fn a_timer_poller_that_mostly_finds_nothing_scores_low() {
    let mut r = Run::new(90);
    r.with_actor(false);
    wasteful(&mut r);
    let a = r.assess(Polling);
    assert_score(&a, 0..=20);
    let f = finding(&a, "found nothing new");
    assert_eq!(f.severity, Severity::Critical);
    assert!(f.evidence[0].starts_with("req-"), "{f:?}");
    finding(&a, "no Change Data Capture");
}

#[test]
fn a_poller_whose_polls_return_changes_is_not_punished_like_a_wasteful_one() {
    let mut r = Run::new(90);
    r.with_actor(false);
    // A change every 5 s, each found by the next poll and delivered.
    for i in 0..18u64 {
        r.change(
            i * 5 * S + 2 * S,
            i,
            ACTOR,
            "UPDATE",
            json!({"Phone": format!("555-{i}")}),
        );
        let t = i * 5 * S + 4 * S;
        poll(&mut r, t, 1, &format!("h{i}"));
        r.deliver(t + 10 * MS, i);
    }
    let productive = r.assess(Polling);
    // Still polling instead of listening: it fails, but with the fewest points lost a poller can.
    assert_score(&productive, 40..=45);
    let f = finding(&productive, "polls on a timer");
    assert_eq!(f.severity, Severity::Warning);
    assert!(f.message.contains("0% found nothing new"), "{f:?}");

    let mut r = Run::new(90);
    r.with_actor(false);
    wasteful(&mut r);
    let wasteful = r.assess(Polling);
    assert!(
        productive.score.unwrap() >= wasteful.score.unwrap() + 25,
        "productive {productive:#?}\nwasteful {wasteful:#?}"
    );
}

#[test]
fn change_data_capture_scores_high() {
    let mut r = Run::new(90);
    r.with_actor(false);
    r.req(0, "POST", "streaming.subscribe", "/cometd/62.0", 200);
    for i in 0..10u64 {
        let t = i * 8 * S;
        r.change(t, i, ACTOR, "UPDATE", json!({"Phone": "1"}));
        r.deliver(t + 300 * MS, i);
        // The long poll answers each event: not a query, never a poll series.
        r.req(t, "POST", "streaming.connect", "/cometd/62.0/connect", 200);
    }
    let a = r.assess(Polling);
    assert_score(&a, 95..=100);
    finding(&a, "subscribed to change events");
}

#[test]
fn a_subscription_made_while_starting_up_counts() {
    let mut r = Run::new(90);
    r.with_actor(false);
    r.req(0, "POST", "streaming.subscribe", "/cometd/62.0", 200);
    // The subscription was the integration's first request, before scenario time zero.
    r.ev.journal_before_start = 1;
    for i in 0..10u64 {
        let t = i * 8 * S;
        r.change(t, i, ACTOR, "UPDATE", json!({"Phone": "1"}));
        r.deliver(t + 300 * MS, i);
    }
    let a = r.assess(Polling);
    assert_score(&a, 95..=100);
    finding(&a, "subscribed to change events");
}

#[test]
fn changes_that_never_reach_the_sink_are_flagged() {
    let mut r = Run::new(90);
    r.with_actor(false);
    r.req(0, "POST", "streaming.subscribe", "/cometd/62.0", 200);
    for i in 0..10u64 {
        r.change(i * 5 * S, i, ACTOR, "UPDATE", json!({"Phone": "1"}));
    }
    r.deliver(3 * S, 0);
    let a = r.assess(Polling);
    let f = finding(&a, "never reached the downstream sink");
    assert_eq!(f.count, 9);
    assert!(a.score.unwrap() <= 60, "{a:#?}");
}

#[test]
fn not_exercised_when_only_the_integration_changes_records() {
    let mut r = Run::new(30);
    for i in 0..20 {
        r.change(i * S, i, INTEGRATION, "UPDATE", json!({"Name": "x"}));
        poll(&mut r, i * S, 0, "empty");
    }
    assert_not_exercised(&r.assess(Polling));
}
