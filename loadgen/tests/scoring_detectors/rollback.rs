use loadgen::scenario::AntiPattern::Rollback;
use loadgen::scoring::Severity;

use super::builder::*;

/// Ten events/s for 60 s, a crash-restart at 30 s, healthy again at 33 s.
fn crash_run(lose_queue: bool) -> Run {
    let mut r = Run::new(60);
    r.lifecycle(30 * S, "action-begin", Some("crash-restart"), None);
    r.lifecycle(30 * S, "exit", None, Some(true));
    r.lifecycle(31 * S, "start", None, None);
    r.lifecycle(33 * S, "healthy", None, None);
    r.lifecycle(33 * S, "action-end", Some("crash-restart"), None);
    for i in 0..600u64 {
        let t = i * 100 * MS;
        let down = (30 * S..33 * S).contains(&t);
        let id = r.event("events", t, i, !down, MS);
        if !down {
            r.write(t + 50 * MS, i, 204);
        }
        // The in-memory queue held the last two seconds of work when the process died.
        if lose_queue && (28 * S..30 * S).contains(&t) {
            r.lost(&id);
        }
    }
    r
}

#[test]
fn losing_the_in_memory_queue_on_a_crash_scores_low() {
    let a = crash_run(true).assess(Rollback);
    assert_score(&a, 0..=40);
    let f = finding(&a, "lost or repeated across restarts");
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(f.count, 20);
    assert!(
        f.evidence[0].starts_with("key Account.External_Id__c=A-"),
        "{f:?}"
    );
}

#[test]
fn a_durable_queue_scores_high() {
    let a = crash_run(false).assess(Rollback);
    assert_score(&a, 95..=100);
    finding(&a, "nothing lost or duplicated across restarts");
    finding(&a, "mean downtime 3.0 s");
}

#[test]
fn a_failed_restart_is_critical() {
    let mut r = crash_run(false);
    r.lifecycle(34 * S, "healthz-timeout", None, None);
    let a = r.assess(Rollback);
    assert_eq!(
        finding(&a, "failed to start again").severity,
        Severity::Critical
    );
    assert!(a.score.unwrap() <= 75);
}

#[test]
fn pauses_alone_do_not_exercise_rollback() {
    let mut r = Run::new(60);
    r.lifecycle(10 * S, "action-begin", Some("pause"), None);
    r.lifecycle(20 * S, "action-begin", Some("resume"), None);
    assert_not_exercised(&r.assess(Rollback));
}
