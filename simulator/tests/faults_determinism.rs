//! The same seed and the same request sequence give the same fault decisions; another seed gives
//! others.

mod faults_common;

use axum::http::Method;
use faults_common::*;
use serde_json::json;

fn rules() -> serde_json::Value {
    json!([
        {"kind": "error", "id": "lock", "error_code": "UNABLE_TO_LOCK_ROW", "probability": 0.3,
         "scope": {"method": "PATCH"}},
        {"kind": "latency", "id": "slow", "probability": 0.5,
         "delay": {"lognormal": {"median": "80ms", "p99": "900ms"}}, "scope": {"api": "rest"}},
        {"kind": "outage", "id": "blip", "mode": "http-503", "every": 7}
    ])
}

/// A fixed sequence of 60 calls; the journal's fault decisions, in order.
async fn run(seed: u64) -> Vec<(String, Option<String>)> {
    let state = state(seed, rules());
    let token = login(&state).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let r = call(
            &state,
            Method::POST,
            &format!("{V}/sobjects/Account"),
            Some(&token),
            Some(json!({"Name": format!("Acme {i}")})),
        )
        .await;
        if let Some(id) = r.body["id"].as_str() {
            ids.push(id.to_string());
        }
    }
    assert!(!ids.is_empty(), "some creates got through");
    for i in 0..60 {
        let id = &ids[i % ids.len()];
        let path = format!("{V}/sobjects/Account/{id}");
        match i % 3 {
            0 => call(&state, Method::GET, &path, Some(&token), None).await,
            1 => {
                call(
                    &state,
                    Method::PATCH,
                    &path,
                    Some(&token),
                    Some(json!({"Phone": format!("{i}")})),
                )
                .await
            }
            _ => {
                call(
                    &state,
                    Method::GET,
                    &format!("{V}/limits"),
                    Some(&token),
                    None,
                )
                .await
            }
        };
    }
    fault_log(&state)
}

#[tokio::test(start_paused = true)]
async fn same_seed_same_decisions_other_seed_other_decisions() {
    let a = run(7).await;
    let b = run(7).await;
    assert_eq!(a, b, "same seed, same sequence");
    let fired = a.iter().filter(|(_, tag)| tag.is_some()).count();
    assert!(
        fired > 10,
        "the plan fires often enough to compare: {fired}"
    );
    for rule in ["lock:", "slow:", "blip:"] {
        assert!(
            a.iter()
                .any(|(_, t)| t.as_deref().is_some_and(|t| t.starts_with(rule))),
            "{rule} fired"
        );
    }
    let c = run(8).await;
    let tags =
        |log: &[(String, Option<String>)]| log.iter().map(|(_, t)| t.clone()).collect::<Vec<_>>();
    assert_ne!(tags(&a), tags(&c), "another seed decides differently");
}
