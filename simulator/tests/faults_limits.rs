//! Org limits under `rate-limit` faults: per-window caps, a squeezed daily allocation that recovers
//! when the window closes, and the concurrent long-running request cap — each answering 403
//! REQUEST_LIMIT_EXCEEDED with Salesforce's message while `Sforce-Limit-Info` and `/limits` stay
//! truthful.

mod faults_common;

use axum::http::{Method, StatusCode};
use faults_common::*;
use serde_json::json;

fn usage_header(r: &Reply) -> String {
    r.headers
        .get("sforce-limit-info")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

#[tokio::test(start_paused = true)]
async fn per_window_cap_refuses_the_excess_then_lets_requests_through_again() {
    let state = state(
        1,
        json!([{"kind": "rate-limit", "id": "cap", "per_window": {"requests": 3, "window": "10s"},
        "scope": {"api": "rest"}}]),
    );
    let token = login(&state).await;
    let path = format!("{V}/sobjects/Account/describe");
    let mut got = Vec::new();
    for _ in 0..5 {
        got.push(call(&state, Method::GET, &path, Some(&token), None).await);
    }
    let statuses: Vec<u16> = got.iter().map(|r| r.status.as_u16()).collect();
    assert_eq!(statuses, vec![200, 200, 200, 403, 403]);
    let refused = &got[3];
    assert_eq!(
        refused.body,
        json!([{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}])
    );
    assert_eq!(
        usage_header(refused),
        "api-usage=3/115000",
        "refusals are not charged, and say so"
    );
    tokio::time::advance(secs(10)).await;
    assert_eq!(
        call(&state, Method::GET, &path, Some(&token), None)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test(start_paused = true)]
async fn a_squeezed_allocation_is_truthful_and_recovers_when_the_window_closes() {
    let state = state(
        1,
        json!([{"kind": "rate-limit", "id": "squeeze", "start": "5s", "duration": "10s",
        "daily_max": 1000, "remaining": 2}]),
    );
    let token = login(&state).await;
    let limits = format!("{V}/limits");
    let before = call(&state, Method::GET, &limits, Some(&token), None).await;
    assert_eq!(before.body["DailyApiRequests"]["Max"], 115000);

    tokio::time::advance(secs(5)).await;
    let first = call(&state, Method::GET, &limits, Some(&token), None).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.body["DailyApiRequests"]["Max"], 1000);
    assert_eq!(
        first.body["DailyApiRequests"]["Remaining"], 1,
        "2 remaining when the window opened, this call took one"
    );
    assert_eq!(usage_header(&first), "api-usage=999/1000");
    let second = call(&state, Method::GET, &limits, Some(&token), None).await;
    assert_eq!(second.status, StatusCode::OK);
    let refused = call(&state, Method::GET, &limits, Some(&token), None).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.body[0]["message"], "TotalRequests Limit exceeded.");
    assert_eq!(usage_header(&refused), "api-usage=1000/1000");
    let entry = state
        .journal
        .recent(0, 100)
        .into_iter()
        .rev()
        .find(|e| e.path.ends_with("/limits"))
        .unwrap();
    assert_eq!(
        entry.fault.as_ref().map(|f| f.rule.as_str()),
        Some("squeeze"),
        "the refusal is the fault's doing"
    );

    tokio::time::advance(secs(10)).await;
    let after = call(&state, Method::GET, &limits, Some(&token), None).await;
    assert_eq!(after.status, StatusCode::OK);
    assert_eq!(after.body["DailyApiRequests"]["Max"], 115000);
    // The org's own calls (4 admitted so far, this one included) are all that is left.
    assert_eq!(after.body["DailyApiRequests"]["Remaining"], 115000 - 4);
}

#[tokio::test(start_paused = true)]
async fn the_long_running_cap_refuses_new_calls_while_too_many_run_long() {
    let state = state(
        1,
        json!([
            {"kind": "rate-limit", "id": "lr", "concurrent_long_running": 2, "long_running_threshold": "1s"},
            {"kind": "latency", "id": "slow", "delay": "5s", "scope": {"route": "/services/data/*/sobjects/Account/describe"}}
        ]),
    );
    let token = login(&state).await;
    let describe = format!("{V}/sobjects/Account/describe");
    let mut slow = Vec::new();
    for _ in 0..2 {
        let (state, token, path) = (state.clone(), token.clone(), describe.clone());
        slow.push(tokio::spawn(async move {
            call(&state, Method::GET, &path, Some(&token), None)
                .await
                .status
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let short = call(
        &state,
        Method::GET,
        &format!("{V}/limits"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(
        short.status,
        StatusCode::OK,
        "two calls running for 0.5 s are not long-running yet"
    );
    tokio::time::sleep(secs(1)).await;
    let refused = call(
        &state,
        Method::GET,
        &format!("{V}/limits"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        refused.body,
        json!([{"message": "ConcurrentPerOrgLongTxn Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}])
    );
    assert!(usage_header(&refused).starts_with("api-usage="));
    for s in slow {
        assert_eq!(s.await.unwrap(), StatusCode::OK);
    }
    let again = call(
        &state,
        Method::GET,
        &format!("{V}/limits"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(
        again.status,
        StatusCode::OK,
        "admitted again once the long calls ended"
    );
    let tag = state
        .journal
        .recent(0, 100)
        .into_iter()
        .find(|e| e.status == 403)
        .unwrap()
        .fault
        .clone()
        .unwrap();
    assert_eq!(tag.rule, "lr");
}

#[tokio::test(start_paused = true)]
async fn the_default_cap_is_the_orgs() {
    let mut config = simulator::SimConfig::default();
    config.org.long_running_cap = 1;
    config.faults = plan(
        json!([{"kind": "latency", "delay": "30s", "scope": {"route": "/services/data/*/sobjects/Account/describe"}}]),
    );
    let state = simulator::SimState::new(config).unwrap();
    let token = login(&state).await;
    let (s2, t2) = (state.clone(), token.clone());
    let long = tokio::spawn(async move {
        call(
            &s2,
            Method::GET,
            &format!("{V}/sobjects/Account/describe"),
            Some(&t2),
            None,
        )
        .await
        .status
    });
    tokio::time::sleep(secs(21)).await;
    let refused = call(
        &state,
        Method::GET,
        &format!("{V}/limits"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(
        refused.status,
        StatusCode::FORBIDDEN,
        "one call running for 21 s fills a cap of 1 (20 s threshold)"
    );
    assert_eq!(long.await.unwrap(), StatusCode::OK);
}
