use loadgen::scenario::AntiPattern;
use loadgen::scoring::evidence::StreamKind;
use loadgen::scoring::{self, Evidence, Status};

use super::builder::*;

#[test]
fn no_traffic_exercises_nothing_and_scores_without_error() {
    let s = scoring::score(&Evidence::default()).unwrap();
    assert_eq!(s.anti_patterns.len(), 10);
    for (id, a) in &s.anti_patterns {
        assert_eq!(a.status, Status::NotExercised, "{id}: {a:#?}");
        assert!(!a.findings.is_empty(), "{id} says why it was not exercised");
    }
    // In report order.
    let ids: Vec<AntiPattern> = s.anti_patterns.keys().copied().collect();
    assert_eq!(ids, AntiPattern::ALL.to_vec());
    assert!(s.timeline.is_empty());
}

#[test]
fn a_run_where_every_request_failed() {
    let mut r = Run::new(60);
    r.stream("events", StreamKind::Events);
    r.fault("outage-0", "outage", 0, None).mode = Some("http-503".into());
    for i in 0..600u64 {
        let t = i * 100 * MS;
        let id = r.event("events", t, i % 50, true, MS);
        let e = r.write(t + MS, i % 50, 503);
        e.fault = tag("outage-0", "outage", "respond:503");
        r.lost(&id);
    }
    let s = r.score();
    let get = |id| &s.anti_patterns[&id];
    // Everything that can be judged is judged, and none of it passes.
    let br = get(AntiPattern::BlindRetries);
    assert_ne!(br.status, Status::NotExercised);
    let av = get(AntiPattern::Availability);
    assert_eq!(av.status, Status::Fail, "{av:#?}");
    assert!(av
        .findings
        .iter()
        .any(|f| f.message.contains("never landed")));
    let ob = get(AntiPattern::Observability);
    assert_eq!(ob.status, Status::Fail, "{ob:#?}");
    // With no quiet stretch there is no baseline, so no amplification claim is made.
    assert!(
        br.findings
            .iter()
            .all(|f| !f.message.contains("amplification")),
        "{br:#?}"
    );
    // The timeline counts every failure.
    let t = &s.timeline;
    assert_eq!(
        t.requests
            .server_error
            .iter()
            .map(|&c| u64::from(c))
            .sum::<u64>(),
        600
    );
    assert_eq!(t.requests.ok.iter().sum::<u32>(), 0);
}

#[test]
fn timeline_series_line_up() {
    let mut r = Run::new(20);
    r.fault("outage-0", "outage", 5, Some(10));
    for i in 0..20u64 {
        r.write(i * S, i, if (5..10).contains(&i) { 503 } else { 204 })
            .api_usage = Some((100 + i, 1_000));
        r.event("events", i * S, i, i % 2 == 0, 3 * MS);
    }
    let s = r.score();
    let t = &s.timeline;
    assert_eq!(t.bucket_s, 1.0);
    assert_eq!(t.len(), 30, "20 s load + 10 s drain");
    for series in [&t.requests.client_error, &t.retries, &t.events_accepted] {
        assert_eq!(series.len(), t.len());
    }
    assert_eq!(t.latency.raw_p50_ms.len(), t.len());
    assert_eq!(t.requests.server_error[5], 1);
    assert_eq!(t.api_used[19], Some(119));
    assert_eq!(t.api_max, Some(1_000));
    assert_eq!(t.events_accepted[0], 1);
    assert_eq!(t.events_rejected[1], 1);
    let p50 = t.latency.raw_p50_ms[0].unwrap();
    assert!((p50 - 3.0).abs() < 0.2, "{p50}");
    assert_eq!(t.windows.len(), 1);
    assert_eq!((t.windows[0].start_s, t.windows[0].end_s), (5.0, 10.0));
    // The timeline survives a JSON round trip (it travels in report.json).
    let json = serde_json::to_string(&s).unwrap();
    let back: scoring::Scoring = serde_json::from_str(&json).unwrap();
    assert_eq!(back, s);
}
