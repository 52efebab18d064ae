use loadgen::scenario::AntiPattern::Observability;
use loadgen::scoring::evidence::MetricsScrape;
use loadgen::scoring::Severity;

use super::builder::*;

/// One write per second for 60 s; an outage from 10 s to 20 s fails ten of them.
fn outage() -> Run {
    let mut r = Run::new(60);
    r.fault("outage-0", "outage", 10, Some(20));
    for i in 0..60u64 {
        let failing = (10..20).contains(&i);
        let e = r.write(i * S, i, if failing { 503 } else { 204 });
        if failing {
            e.fault = tag("outage-0", "outage", "respond:503");
        }
    }
    r
}

fn scrape(t: u64, status: u16, requests: u64) -> MetricsScrape {
    MetricsScrape {
        t_us: t as i64,
        status,
        text: format!("integration_salesforce_requests_total{{status=\"200\"}} {requests}\n"),
    }
}

#[test]
fn silence_during_an_outage_scores_low() {
    let mut r = outage();
    r.ev.metrics = vec![scrape(30 * S, 404, 0)];
    let a = r.assess(Observability);
    assert_score(&a, 0..=40);
    let missed = finding(&a, "raised no alert");
    assert_eq!(missed.severity, Severity::Critical);
    assert!(missed.evidence[0].contains("outage-0"), "{missed:?}");
    finding(&a, "never answered 200");
}

#[test]
fn a_prompt_alert_a_resolution_and_truthful_metrics_score_high() {
    let mut r = outage();
    r.alert(13 * S, "critical", false);
    r.alert(22 * S, "critical", true);
    r.ev.metrics = vec![scrape(40 * S, 200, 41)];
    let a = r.assess(Observability);
    assert_score(&a, 95..=100);
    finding(&a, "median 3.0s after onset");
    finding(&a, "journal saw 41");
}

#[test]
fn alerts_with_no_incident_are_false_alarms() {
    let mut r = outage();
    r.alert(12 * S, "warning", false);
    // Before anything went wrong (the outage's grace starts 5 s before it).
    for t in 1..=4 {
        r.alert(t * S, "critical", false);
    }
    // Informational notes are never alarms.
    r.alert(2 * S, "info", false);
    let a = r.assess(Observability);
    let fa = finding(&a, "false alarms");
    assert_eq!(fa.count, 4);
    assert_eq!(fa.evidence[0], "alert at 1.0s");
    assert_score(&a, 70..=85);
}

#[test]
fn not_exercised_when_nothing_went_wrong() {
    let mut r = Run::new(30);
    r.write(0, 1, 204);
    r.fault("lat", "latency", 0, None);
    assert_not_exercised(&r.assess(Observability));
}
