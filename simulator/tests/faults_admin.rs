//! The admin fault API: install one rule or a list, list them with their counters, remove one or
//! all; invalid rules are refused with the path and message; admin calls are never faulted.

mod faults_common;

use axum::http::{Method, StatusCode};
use faults_common::*;
use serde_json::json;

async fn admin(
    state: &simulator::SimState,
    method: Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> Reply {
    call(state, method, path, None, body).await
}

#[tokio::test(start_paused = true)]
async fn install_list_and_remove_rules_at_run_time() {
    let state = state(1, json!([]));
    let token = login(&state).await;
    let limits = format!("{V}/limits");

    let r = admin(&state, Method::POST, "/__admin/faults",
        Some(json!({"kind": "error", "error_code": "UNABLE_TO_LOCK_ROW", "every": 2, "scope": {"api": "rest"}}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["installed"], json!(["error-0"]));
    let r = admin(
        &state,
        Method::POST,
        "/__admin/faults",
        Some(json!([
            {"kind": "latency", "id": "slow", "delay": "10ms", "scope": {"api": "oauth"}},
            {"kind": "error", "status": 500, "scope": {"api": "soap"}}
        ])),
    )
    .await;
    assert_eq!(
        r.body["installed"],
        json!(["slow", "error-1"]),
        "unnamed rules get the first free {{kind}}-{{n}}"
    );

    let statuses: Vec<u16> = futures::future::join_all(
        (0..4).map(|_| call(&state, Method::GET, &limits, Some(&token), None)),
    )
    .await
    .iter()
    .map(|r| r.status.as_u16())
    .collect();
    assert_eq!(statuses.iter().filter(|s| **s == 400).count(), 2);

    let list = admin(&state, Method::GET, "/__admin/faults", None).await;
    let rules = list.body["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 3);
    assert_eq!(
        (
            rules[0]["id"].as_str(),
            rules[0]["matched"].as_u64(),
            rules[0]["fired"].as_u64()
        ),
        (Some("error-0"), Some(4), Some(2))
    );
    assert_eq!(rules[0]["active"], true);
    assert_eq!(rules[0]["rule"]["trigger"], json!({"every": 2}));

    let r = admin(&state, Method::DELETE, "/__admin/faults/error-0", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        admin(&state, Method::DELETE, "/__admin/faults/error-0", None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    for _ in 0..4 {
        assert_eq!(
            call(&state, Method::GET, &limits, Some(&token), None)
                .await
                .status,
            StatusCode::OK
        );
    }
    let r = admin(&state, Method::DELETE, "/__admin/faults", None).await;
    assert_eq!(r.body["removed"], 2);
    assert_eq!(
        admin(&state, Method::GET, "/__admin/faults", None)
            .await
            .body["rules"],
        json!([])
    );
}

#[tokio::test(start_paused = true)]
async fn invalid_rules_are_refused_with_path_and_message() {
    let state = state(
        1,
        json!([{"kind": "outage", "id": "down", "mode": "http-503", "scope": {"api": "rest"}}]),
    );
    let cases = [
        (
            json!({"kind": "error", "status": 503, "probability": 1.5}),
            "probability",
            "must be between 0 and 1, got 1.5",
        ),
        (
            json!({"kind": "error", "status": 503, "bogus": 1}),
            "bogus",
            "unknown key `bogus`",
        ),
        (
            json!({"kind": "latency", "delay": "-5s"}),
            "delay",
            "must not be negative, got \"-5s\"",
        ),
        (
            json!({"kind": "outage", "mode": "reset", "scope": {"api": "rest"}}),
            "mode",
            "contradicts fault \"down\"",
        ),
        (
            json!({"kind": "error", "id": "down", "status": 500}),
            "id",
            "already installed",
        ),
    ];
    for (rule, path, message) in cases {
        let r = admin(&state, Method::POST, "/__admin/faults", Some(rule.clone())).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{rule}");
        let e = &r.body["errors"][0];
        assert_eq!(e["path"], path, "{rule}: {}", r.text);
        assert!(
            e["message"].as_str().unwrap().contains(message),
            "{rule}: {}",
            r.text
        );
    }
    let r = admin(
        &state,
        Method::POST,
        "/__admin/faults",
        Some(json!({"kind": "error", "status": "five hundred"})),
    )
    .await;
    assert_eq!(
        r.body["errors"][0]["path"], "status",
        "wrong type names its key: {}",
        r.text
    );
    let r = admin(
        &state,
        Method::POST,
        "/__admin/faults",
        Some(json!([{"kind": "latency", "delay": "1ms"}, {"kind": "outage", "mode": "sideways"}])),
    )
    .await;
    assert_eq!(r.body["errors"][0]["path"], "[1].mode");
    assert_eq!(
        state.fault_engine.snapshot().all.len(),
        1,
        "nothing installed from a refused list"
    );
}

#[tokio::test(start_paused = true)]
async fn admin_calls_are_never_faulted() {
    let state = state(1, json!([{"kind": "outage", "mode": "http-503"}]));
    let r = admin(&state, Method::GET, "/__admin/faults", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        admin(&state, Method::DELETE, "/__admin/faults", None)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        call(&state, Method::GET, "/services/data", None, None)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test(start_paused = true)]
async fn a_rule_installed_at_run_time_changes_the_org_at_once() {
    let state = state(1, json!([]));
    let token = login(&state).await;
    tokio::time::advance(secs(100)).await;
    let r = admin(
        &state,
        Method::POST,
        "/__admin/faults",
        Some(json!({"kind": "rate-limit", "remaining": 0})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let refused = call(
        &state,
        Method::GET,
        &format!("{V}/limits"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    admin(&state, Method::DELETE, "/__admin/faults", None).await;
    assert_eq!(
        call(
            &state,
            Method::GET,
            &format!("{V}/limits"),
            Some(&token),
            None
        )
        .await
        .status,
        StatusCode::OK
    );
}
