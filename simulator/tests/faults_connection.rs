//! Connection faults on response bodies, seen by a real client: a slow body, a body cut off with
//! the connection closed, and JSON that no longer parses. Plus latency per KiB of body.

mod faults_common;

use faults_common::*;
use serde_json::json;
use simulator::state::SimState;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn get(running: &simulator::Running, path: &str) -> reqwest::Response {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("{}{path}", running.http_url()))
        .send()
        .await
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn malformed_json_keeps_the_content_type_but_does_not_parse() {
    let state = state(
        1,
        json!([{"kind": "connection", "mode": "malformed-json", "scope": {"route": "/services/data"}}]),
    );
    let running = serve(state.clone()).await;
    let r = get(&running, "/services/data").await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let text = r.text().await.unwrap();
    assert!(!text.is_empty());
    assert!(
        serde_json::from_str::<serde_json::Value>(&text).is_err(),
        "{text}"
    );
    running.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn truncate_closes_the_connection_mid_body() {
    let state = state(
        1,
        json!([{"kind": "connection", "mode": "truncate", "after_bytes": 10, "scope": {"route": "/services/data"}}]),
    );
    let running = serve(state.clone()).await;
    let mut s = tokio::net::TcpStream::connect(running.http).await.unwrap();
    s.write_all(b"GET /services/data HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got).await;
    let text = String::from_utf8_lossy(&got);
    let (head, body) = text.split_once("\r\n\r\n").expect("headers arrive");
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .expect("a content-length")
        .parse()
        .unwrap();
    assert!(length > 10);
    assert_eq!(
        body.len(),
        10,
        "exactly after_bytes of the body, then the connection ends"
    );
    running.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn slow_body_trickles_at_the_byte_rate() {
    let state = state(
        1,
        json!([{"kind": "connection", "mode": "slow-body", "bytes_per_sec": 100, "scope": {"route": "/services/data"}}]),
    );
    let running = serve(state.clone()).await;
    let start = tokio::time::Instant::now();
    let r = get(&running, "/services/data").await;
    let body = r.bytes().await.unwrap();
    let took = start.elapsed();
    let expected = Duration::from_secs_f64(body.len() as f64 / 100.0);
    assert!(body.len() > 100, "a body worth trickling: {}", body.len());
    assert!(
        took >= expected && took < expected + Duration::from_millis(200),
        "{took:?} for {} bytes",
        body.len()
    );
    serde_json::from_slice::<serde_json::Value>(&body).expect("the whole body arrives intact");
    running.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn latency_per_kib_scales_with_the_body() {
    let state = state(
        1,
        json!([{"kind": "latency", "id": "kb", "delay": "100ms", "per": "kb", "scope": {"route": "/services/data"}}]),
    );
    let running = serve(state.clone()).await;
    let start = tokio::time::Instant::now();
    let body = get(&running, "/services/data").await.bytes().await.unwrap();
    let expected = Duration::from_millis(100).mul_f64(body.len() as f64 / 1024.0);
    let took = start.elapsed();
    assert!(
        took >= expected && took < expected + Duration::from_millis(5),
        "{took:?} vs {expected:?}"
    );
    running.shutdown().await.unwrap();
    let entry = state
        .journal
        .recent(0, 10)
        .into_iter()
        .find(|e| e.path == "/services/data")
        .unwrap();
    let action = entry.fault.clone().unwrap().action;
    assert!(
        action.ends_with(&format!("(100ms/KiB x {} B)", body.len())),
        "{action}"
    );
}

/// How long `GET /services/data` takes under a per-hop latency rule of `delay`, with the state the
/// simulator ran on (a paused clock: the time is the holds alone).
async fn per_hop_round_trip(delay: &str) -> (Duration, SimState) {
    let state = state(
        1,
        json!([{"kind": "latency", "id": "hops", "delay": delay, "per": "hop", "scope": {"route": "/services/data"}}]),
    );
    let running = serve(state.clone()).await;
    let start = tokio::time::Instant::now();
    let r = get(&running, "/services/data").await;
    assert_eq!(r.status(), 200);
    let took = start.elapsed();
    running.shutdown().await.unwrap();
    (took, state)
}

#[tokio::test(start_paused = true)]
async fn latency_per_hop_holds_the_request_and_the_reply() {
    let (took, state) = per_hop_round_trip("30ms").await;
    // One draw on the way in, one on the way back.
    assert!(
        took >= Duration::from_millis(60) && took < Duration::from_millis(65),
        "{took:?}"
    );
    let entry = state
        .journal
        .recent(0, 10)
        .into_iter()
        .find(|e| e.path == "/services/data")
        .unwrap();
    assert_eq!(entry.fault.clone().unwrap().action, "delay:30ms+30ms");
}

/// The timer fires on millisecond ticks; per-hop delays round to the nearest tick instead of always
/// up, so that a few-millisecond hop's mean is the distribution's (Brooker's contention model,
/// `scenarios/retry-storm-occ.toml`, is sensitive to it).
#[tokio::test(start_paused = true)]
async fn latency_per_hop_rounds_to_the_nearest_millisecond() {
    for (delay, total) in [("10400us", 20), ("10600us", 22)] {
        let (took, _) = per_hop_round_trip(delay).await;
        assert!(
            took >= Duration::from_millis(total) && took < Duration::from_millis(total + 1),
            "{delay} per hop took {took:?}"
        );
    }
}

/// A client that opens a connection and never finishes its request head is disconnected once the
/// connection has been idle for the idle timeout; a connection whose request is being answered
/// slowly (here a latency fault longer than the timeout) is not.
#[tokio::test(start_paused = true)]
async fn idle_connections_close_but_slow_answers_arrive() {
    use simulator::server::IDLE_TIMEOUT;
    let state = state(
        1,
        json!([{"kind": "latency", "delay": "150s", "scope": {"route": "/services/data"}}]),
    );
    let running = serve(state.clone()).await;

    let mut idle = tokio::net::TcpStream::connect(running.http).await.unwrap();
    idle.write_all(b"GET /services/data HTTP/1.1\r\nhost:")
        .await
        .unwrap();
    let mut busy = tokio::net::TcpStream::connect(running.http).await.unwrap();
    busy.write_all(b"GET /services/data HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let start = tokio::time::Instant::now();

    let mut got = Vec::new();
    let closed = tokio::time::timeout(3 * IDLE_TIMEOUT, idle.read_to_end(&mut got)).await;
    assert!(closed.is_ok(), "the idle connection is still open");
    let waited = start.elapsed();
    assert!(got.is_empty(), "{}", String::from_utf8_lossy(&got));
    assert!(
        waited >= IDLE_TIMEOUT && waited <= 2 * IDLE_TIMEOUT + Duration::from_secs(1),
        "closed after {waited:?}"
    );

    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = busy.read(&mut buf).await.unwrap();
        assert!(n > 0, "the connection closed before its answer");
        head.extend_from_slice(&buf[..n]);
    }
    assert!(head.starts_with(b"HTTP/1.1 200"));
    assert!(start.elapsed() >= Duration::from_secs(150));
    running.shutdown().await.unwrap();
}
