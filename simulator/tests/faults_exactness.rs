//! Triggers and windows are exact: probability 0 never fires, 1 always does, "first N" fires N
//! times, "every N" every Nth time, and windows open and close on the scenario clock to the
//! microsecond (paused tokio clock).

mod faults_common;

use axum::http::{Method, StatusCode};
use faults_common::*;
use serde_json::json;

async fn statuses(state: &simulator::SimState, token: &str, n: usize) -> Vec<u16> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(
            call(
                state,
                Method::GET,
                &format!("{V}/limits"),
                Some(token),
                None,
            )
            .await
            .status
            .as_u16(),
        );
    }
    out
}

fn rule_counts(state: &simulator::SimState, id: &str) -> (u64, u64) {
    let status = state.fault_engine.status(state.clock.elapsed());
    let r = status.iter().find(|r| r.id == id).expect("rule installed");
    (r.matched, r.fired)
}

#[tokio::test(start_paused = true)]
async fn probability_zero_never_fires_and_one_always_does() {
    let state = state(
        3,
        json!([
            {"kind": "error", "id": "never", "status": 500, "probability": 0.0, "scope": {"api": "rest"}},
            {"kind": "error", "id": "always", "status": 503, "probability": 1.0, "scope": {"route": "/services/data/*/limits"}}
        ]),
    );
    let token = login(&state).await;
    assert_eq!(statuses(&state, &token, 200).await, vec![503; 200]);
    assert_eq!(rule_counts(&state, "never"), (200, 0));
    assert_eq!(rule_counts(&state, "always"), (200, 200));
}

#[tokio::test(start_paused = true)]
async fn first_n_fires_exactly_n_times() {
    let state = state(
        3,
        json!([{"kind": "error", "id": "first", "status": 503, "first": 3, "scope": {"api": "rest"}}]),
    );
    let token = login(&state).await;
    let got = statuses(&state, &token, 10).await;
    assert_eq!(got, vec![503, 503, 503, 200, 200, 200, 200, 200, 200, 200]);
    assert_eq!(rule_counts(&state, "first"), (10, 3));
}

#[tokio::test(start_paused = true)]
async fn every_n_fires_on_each_nth() {
    let state = state(
        3,
        json!([{"kind": "error", "id": "every", "status": 500, "every": 4, "scope": {"api": "rest"}}]),
    );
    let token = login(&state).await;
    let got = statuses(&state, &token, 12).await;
    let fired: Vec<usize> = got
        .iter()
        .enumerate()
        .filter(|(_, s)| **s == 500)
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(fired, vec![4, 8, 12]);
}

#[tokio::test(start_paused = true)]
async fn windows_open_and_close_on_the_scenario_clock() {
    let state = state(
        3,
        json!([{"kind": "outage", "id": "down", "start": "10s", "duration": "5s", "scope": {"api": "rest"}}]),
    );
    let token = login(&state).await;
    let path = format!("{V}/limits");
    for (t_ms, expect) in [
        (9_999u64, 200u16),
        (10_000, 503),
        (14_999, 503),
        (15_000, 200),
    ] {
        let now = state.clock.elapsed();
        tokio::time::advance(ms(t_ms) - now).await;
        assert_eq!(state.clock.elapsed(), ms(t_ms));
        let r = call(&state, Method::GET, &path, Some(&token), None).await;
        assert_eq!(r.status.as_u16(), expect, "at {t_ms} ms: {}", r.text);
        if expect == 503 {
            assert_eq!(r.body[0]["errorCode"], "SERVER_UNAVAILABLE");
        }
    }
    // One microsecond before the window opens is still outside it.
    let state = faults_common::state(
        3,
        json!([{"kind": "outage", "start": "1s", "duration": "1s", "scope": {"api": "rest"}}]),
    );
    let token = login(&state).await;
    tokio::time::advance(ms(1000) - state.clock.elapsed() - std::time::Duration::from_micros(1))
        .await;
    assert_eq!(
        call(&state, Method::GET, &path, Some(&token), None)
            .await
            .status,
        StatusCode::OK
    );
    tokio::time::advance(std::time::Duration::from_micros(1)).await;
    assert_eq!(
        call(&state, Method::GET, &path, Some(&token), None)
            .await
            .status,
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[tokio::test(start_paused = true)]
async fn every_decision_is_journaled_with_its_rule() {
    let state = state(
        3,
        json!([
            {"kind": "error", "id": "e", "error_code": "UNABLE_TO_LOCK_ROW", "every": 2, "scope": {"api": "rest"}}
        ]),
    );
    let token = login(&state).await;
    statuses(&state, &token, 4).await;
    let entries = state.journal.recent(0, 100);
    let rest: Vec<_> = entries
        .iter()
        .filter(|e| e.path.contains("/limits"))
        .collect();
    assert_eq!(rest.len(), 4);
    for (i, e) in rest.iter().enumerate() {
        if i % 2 == 1 {
            let tag = e.fault.as_ref().expect("tagged");
            assert_eq!((tag.rule.as_str(), tag.kind.as_str()), ("e", "error"));
            assert_eq!(tag.action, "respond:400 UNABLE_TO_LOCK_ROW");
            assert_eq!(e.status, 400);
            assert_eq!(e.error_code.as_deref(), Some("UNABLE_TO_LOCK_ROW"));
        } else {
            assert!(e.fault.is_none());
        }
    }
}
