//! Session faults: revocation at a time and token lifetimes end sessions with 401
//! INVALID_SESSION_ID; logging in again works.

mod faults_common;

use axum::http::{Method, StatusCode};
use faults_common::*;
use serde_json::json;

#[tokio::test(start_paused = true)]
async fn sessions_revoked_at_a_time_get_401_and_a_new_login_works() {
    let state = state(
        1,
        json!([{"kind": "session", "id": "revoke", "revoke_at": "10s"}]),
    );
    let token = login(&state).await;
    let limits = format!("{V}/limits");
    tokio::time::advance(ms(9_999)).await;
    assert_eq!(
        call(&state, Method::GET, &limits, Some(&token), None)
            .await
            .status,
        StatusCode::OK
    );
    tokio::time::advance(ms(1)).await;
    let r = call(&state, Method::GET, &limits, Some(&token), None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        r.body,
        json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])
    );
    let fresh = login(&state).await;
    assert_eq!(
        call(&state, Method::GET, &limits, Some(&fresh), None)
            .await
            .status,
        StatusCode::OK
    );
    let event = state
        .journal
        .recent(0, 100)
        .into_iter()
        .find(|e| e.route == "fault.session")
        .unwrap();
    assert_eq!(
        (event.t_us, event.fault.clone().unwrap().action),
        (10_000_000, "revoked 1 sessions".to_string())
    );
    let refused = state
        .journal
        .recent(0, 100)
        .into_iter()
        .find(|e| e.status == 401)
        .unwrap();
    assert_eq!(
        refused.fault.clone().unwrap().action,
        "respond:401 INVALID_SESSION_ID (revoked at 10s)"
    );
}

#[tokio::test(start_paused = true)]
async fn tokens_expire_a_lifetime_after_issue() {
    let state = state(
        1,
        json!([{"kind": "session", "id": "short", "lifetime": "30s"}]),
    );
    let token = login(&state).await;
    let limits = format!("{V}/limits");
    tokio::time::advance(secs(20)).await;
    let later = login(&state).await;
    tokio::time::advance(ms(9_999)).await;
    assert_eq!(
        call(&state, Method::GET, &limits, Some(&token), None)
            .await
            .status,
        StatusCode::OK
    );
    tokio::time::advance(ms(1)).await;
    let r = call(&state, Method::GET, &limits, Some(&token), None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "30 s after issue");
    assert_eq!(
        call(&state, Method::GET, &limits, Some(&token), None)
            .await
            .status,
        StatusCode::UNAUTHORIZED,
        "and stays expired"
    );
    assert_eq!(
        call(&state, Method::GET, &limits, Some(&later), None)
            .await
            .status,
        StatusCode::OK,
        "issued at 20 s, good until 50 s"
    );
    let tagged: Vec<_> = state
        .journal
        .recent(0, 100)
        .into_iter()
        .filter(|e| e.method != "FAULT")
        .filter_map(|e| {
            e.fault
                .clone()
                .filter(|f| f.rule == "short")
                .map(|f| (e.status, f.action))
        })
        .collect();
    assert_eq!(
        tagged,
        vec![
            (
                401,
                "respond:401 INVALID_SESSION_ID (lifetime 30s)".to_string()
            );
            2
        ],
        "each 401 names the fault"
    );
}

#[tokio::test(start_paused = true)]
async fn a_client_scoped_revocation_spares_other_users() {
    let state = state(
        1,
        json!([{"kind": "session", "revoke_at": "1s", "scope": {"client": "other@sfchaos.test"}}]),
    );
    let token = login(&state).await;
    tokio::time::advance(secs(2)).await;
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
