use loadgen::scenario::AntiPattern::Availability;
use loadgen::scoring::Severity;

use super::builder::*;

/// Ten events/s for 90 s; connections reset from 20 s to 40 s; a hang from 50 s to 90 s.
fn run(buffering: bool) -> Run {
    let mut r = Run::new(90);
    r.fault("outage-0", "outage", 20, Some(40)).mode = Some("reset".into());
    r.fault("hang-1", "outage", 50, Some(90)).mode = Some("hang".into());
    for i in 0..900u64 {
        let t = i * 100 * MS;
        let id = r.event("events", t, i, true, MS);
        let reset = (20 * S..40 * S).contains(&t);
        if reset {
            let e = r.write(t + 10 * MS, i, 0);
            e.fault = tag("outage-0", "outage", "reset");
            if buffering {
                r.write(40 * S + i * MS, i, 204);
            } else {
                r.lost(&id);
            }
        } else if t < 50 * S {
            r.write(t + 10 * MS, i, 204);
        }
    }
    // Writes sent into the hang: held until it ends, or cut short by a 20 s timeout.
    for k in 0..5u64 {
        let t = 50 * S + k * S;
        let e = r.write(t, 5_000 + k, if buffering { 0 } else { 503 });
        e.fault = tag("hang-1", "outage", "hang");
        e.latency_us = if buffering { 20 * S } else { 90 * S - t };
    }
    r
}

#[test]
fn dropping_work_and_waiting_forever_scores_low() {
    let a = run(false).assess(Availability);
    assert_score(&a, 0..=30);
    let lost = finding(&a, "never landed");
    assert_eq!(lost.severity, Severity::Critical);
    assert_eq!(lost.count, 200);
    assert_eq!(finding(&a, "hung connections").count, 5);
}

#[test]
fn buffering_through_the_outage_with_timeouts_scores_high() {
    let a = run(true).assess(Availability);
    assert_score(&a, 85..=100);
    finding(&a, "accepted 100% of the");
    assert!(
        a.findings.iter().all(|f| !f.message.contains("hung")),
        "{a:#?}"
    );
}

#[test]
fn a_crash_exercises_availability_without_an_outage() {
    let mut r = Run::new(30);
    r.write(0, 1, 204);
    r.lifecycle(10 * S, "exit", None, Some(false));
    let a = r.assess(Availability);
    assert_eq!(finding(&a, "crashed").severity, Severity::Critical);
    assert_score(&a, 80..=80);
}

#[test]
fn not_exercised_without_outage_or_crash() {
    let mut r = Run::new(30);
    r.write(0, 1, 204);
    r.lifecycle(10 * S, "exit", None, Some(true));
    assert_not_exercised(&r.assess(Availability));
}
