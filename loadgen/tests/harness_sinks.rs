//! The downstream sink and the alert sink: every request recorded with its time and what it was
//! answered; failures on purpose (outage windows, error probability, latency) drawn from the
//! seed.

use std::time::Duration;

use loadgen::harness::evidence::{ClockedLog, NdjsonLog};
use loadgen::harness::sinks::{normalize_alerts, Delivery, Sink, SinkKind};
use loadgen::scenario::{EndpointSpec, Window};
use serde_json::{json, Value};
use simulator::faults::plan::Delay;
use tokio::time::Instant;

async fn post(client: &reqwest::Client, url: &str, body: Value) -> u16 {
    client
        .post(url)
        .json(&body)
        .send()
        .await
        .expect("sink reachable")
        .status()
        .as_u16()
}

fn lines(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

async fn start(kind: SinkKind, spec: EndpointSpec, seed: u64, path: &std::path::Path) -> Sink {
    let log: ClockedLog<Delivery> = ClockedLog::new(NdjsonLog::create(path).unwrap());
    Sink::start(kind, spec, seed, log).await.unwrap()
}

#[tokio::test]
async fn deliveries_before_load_starts_are_held_back_then_stamped_negative() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("sink.ndjson");
    let sink = start(SinkKind::Downstream, EndpointSpec::default(), 1, &path).await;
    let client = reqwest::Client::new();
    assert_eq!(
        post(
            &client,
            &sink.url,
            json!({"object": "Account", "change": "create"})
        )
        .await,
        200
    );
    assert_eq!(
        lines(&path).len(),
        0,
        "held back until the clock's zero is known"
    );
    // Load starts five seconds from now.
    sink.log.set_zero(Instant::now() + Duration::from_secs(5));
    sink.stop().await;
    let lines = lines(&path);
    assert_eq!(lines.len(), 1);
    let t = lines[0]["t_us"].as_i64().unwrap();
    assert!((-6_000_000..-4_000_000).contains(&t), "{t}");
    assert_eq!(lines[0]["status"], 200);
    assert_eq!(lines[0]["body"]["change"], "create");
}

#[tokio::test]
async fn requests_in_an_outage_window_fail_with_the_error_status() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("sink.ndjson");
    let spec = EndpointSpec {
        outages: vec![Window::new(
            Duration::from_secs(100),
            Some(Duration::from_secs(50)),
        )],
        ..EndpointSpec::default()
    };
    let sink = start(SinkKind::Downstream, spec, 1, &path).await;
    // Scenario time zero was 120 s ago: inside the outage window.
    sink.log.set_zero(Instant::now() - Duration::from_secs(120));
    let client = reqwest::Client::new();
    assert_eq!(
        post(
            &client,
            &sink.url,
            json!({"object": "Account", "change": "update"})
        )
        .await,
        503
    );
    let (requests, failed) = sink.totals();
    sink.stop().await;
    assert_eq!((requests, failed), (1, 1));
    let lines = lines(&path);
    assert_eq!(lines[0]["status"], 503);
    assert_eq!(lines[0]["fault"], "outage");
    let t = lines[0]["t_us"].as_i64().unwrap();
    assert!((120_000_000..125_000_000).contains(&t), "{t}");
}

#[tokio::test]
async fn error_probability_is_seeded_and_latency_is_added() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = EndpointSpec {
        error_probability: 0.5,
        error_status: 500,
        latency: Some(Delay::Fixed(Duration::from_millis(30))),
        outages: Vec::new(),
    };
    let mut runs = Vec::new();
    for run in 0..2 {
        let path = tmp.path().join(format!("sink{run}.ndjson"));
        let sink = start(SinkKind::Downstream, spec.clone(), 42, &path).await;
        sink.log.set_zero(Instant::now());
        let client = reqwest::Client::new();
        let mut statuses = Vec::new();
        for i in 0..20 {
            let started = std::time::Instant::now();
            statuses.push(post(&client, &sink.url, json!({ "i": i })).await);
            assert!(started.elapsed() >= Duration::from_millis(30));
        }
        sink.stop().await;
        assert!(
            statuses.contains(&500) && statuses.contains(&200),
            "{statuses:?}"
        );
        let recorded: Vec<u64> = lines(&path)
            .iter()
            .map(|l| l["status"].as_u64().unwrap())
            .collect();
        assert_eq!(
            recorded,
            statuses.iter().map(|s| u64::from(*s)).collect::<Vec<_>>()
        );
        runs.push(statuses);
    }
    assert_eq!(runs[0], runs[1], "the same seed fails the same requests");
}

#[tokio::test]
async fn alerts_are_normalised_from_both_shapes_and_bad_json_is_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("alerts.ndjson");
    let sink = start(SinkKind::Alerts, EndpointSpec::default(), 1, &path).await;
    sink.log.set_zero(Instant::now());
    let client = reqwest::Client::new();
    post(
        &client,
        &sink.url,
        json!({"severity": "critical", "summary": "Salesforce down", "runbook": "x"}),
    )
    .await;
    post(
        &client,
        &sink.url,
        json!({"status": "firing", "alerts": [{"status": "firing", "labels": {"severity": "warning", "alertname": "Lag"}, "annotations": {"summary": "sync lag"}}]}),
    )
    .await;
    let status = client
        .post(&sink.url)
        .body("not json")
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
    sink.stop().await;
    let lines = lines(&path);
    assert_eq!(
        lines[0]["alerts"],
        json!([{"severity": "critical", "summary": "Salesforce down", "status": "firing"}])
    );
    assert_eq!(lines[0]["body"]["runbook"], "x");
    assert_eq!(
        lines[1]["alerts"],
        json!([{"severity": "warning", "summary": "sync lag", "status": "firing"}])
    );
    assert_eq!(lines[2]["body"]["invalid_json"], true);
    assert_eq!(lines[2]["body"]["raw"], "not json");
    assert_eq!(
        normalize_alerts(&json!({"unrelated": 1})),
        Vec::<Value>::new()
    );
}
