//! Lock contention: a matching write finds its rows held by another transaction and really waits
//! on the org's row locks — so do other writers of those rows — failing with UNABLE_TO_LOCK_ROW
//! after the lock wait, or succeeding once the rows are released.

mod faults_common;

use axum::http::{Method, StatusCode};
use faults_common::*;
use serde_json::json;
use std::time::Duration;
use tokio::time::Instant;

#[tokio::test(start_paused = true)]
async fn a_contended_write_waits_the_lock_wait_then_fails_and_so_do_other_writers() {
    let state = state(
        1,
        json!([{"kind": "lock-contention", "id": "busy", "objects": "Account", "first": 1,
        "scope": {"method": "PATCH"}}]),
    );
    let token = login(&state).await;
    let id = create_account(&state, &token, "Hot").await;
    let path = format!("{V}/sobjects/Account/{id}");
    let start = Instant::now();
    let (s2, t2, p2) = (state.clone(), token.clone(), path.clone());
    let first = tokio::spawn(async move {
        let r = call(
            &s2,
            Method::PATCH,
            &p2,
            Some(&t2),
            Some(json!({"Phone": "1"})),
        )
        .await;
        (r.status, r.body, Instant::now())
    });
    tokio::time::sleep(secs(1)).await;
    // A second writer, not picked by the rule (first = 1), meets the same held rows.
    let second = call(
        &state,
        Method::PATCH,
        &path,
        Some(&token),
        Some(json!({"Phone": "2"})),
    )
    .await;
    assert_eq!(second.status, StatusCode::BAD_REQUEST);
    assert_eq!(second.body[0]["errorCode"], "UNABLE_TO_LOCK_ROW");
    assert_eq!(start.elapsed(), secs(11), "waited the 10 s lock wait");
    let (status, body, done) = first.await.unwrap();
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(done - start, secs(10));
    assert_eq!(
        body[0]["message"],
        format!("unable to obtain exclusive access to this record or 1 records: {id}")
    );
    // The other transaction lets go after its 15 s hold.
    tokio::time::sleep_until(start + secs(15)).await;
    let later = call(
        &state,
        Method::PATCH,
        &path,
        Some(&token),
        Some(json!({"Phone": "3"})),
    )
    .await;
    assert_eq!(later.status, StatusCode::NO_CONTENT);
    assert_eq!(start.elapsed(), secs(15), "no wait once released");

    let entry = state
        .journal
        .recent(0, 100)
        .into_iter()
        .find(|e| e.method == "PATCH" && !e.item_faults.is_empty())
        .expect("the picked write carries the decision");
    assert_eq!(entry.item_faults[0].rule, "busy");
    assert_eq!(entry.item_faults[0].action, "rows held 15s");
    assert_eq!(entry.error_code.as_deref(), Some("UNABLE_TO_LOCK_ROW"));
}

#[tokio::test(start_paused = true)]
async fn a_hold_shorter_than_the_wait_only_delays_the_write() {
    let state = state(
        1,
        json!([{"kind": "lock-contention", "hold": "2s", "scope": {"object": "Account", "method": "PATCH"}}]),
    );
    let token = login(&state).await;
    let id = create_account(&state, &token, "Warm").await;
    let start = Instant::now();
    let r = call(
        &state,
        Method::PATCH,
        &format!("{V}/sobjects/Account/{id}"),
        Some(&token),
        Some(json!({"Phone": "1"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(start.elapsed(), secs(2));
}

#[tokio::test(start_paused = true)]
async fn a_child_write_meets_its_hot_parent() {
    let state = state(
        1,
        json!([{"kind": "lock-contention", "id": "parent", "objects": ["Account"], "wait": "3s",
        "scope": {"object": "Contact"}}]),
    );
    let token = login(&state).await;
    let account = create_account(&state, &token, "Parent").await;
    let start = Instant::now();
    let r = call(
        &state,
        Method::POST,
        &format!("{V}/sobjects/Contact"),
        Some(&token),
        Some(json!({"LastName": "Child", "AccountId": account})),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.body[0]["errorCode"], "UNABLE_TO_LOCK_ROW");
    assert!(
        r.body[0]["message"].as_str().unwrap().ends_with(&account),
        "names the parent: {}",
        r.text
    );
    assert_eq!(start.elapsed(), secs(3), "the rule's own wait");
    // The parent itself is held for everyone meanwhile (org lock wait: 10 s; the hold ends at 15 s).
    let upd = call(
        &state,
        Method::PATCH,
        &format!("{V}/sobjects/Account/{account}"),
        Some(&token),
        Some(json!({"Phone": "9"})),
    )
    .await;
    assert_eq!(upd.status, StatusCode::BAD_REQUEST);
    assert_eq!(start.elapsed(), secs(13));
    // A contact without a parent locks nothing and is not held up.
    let t = Instant::now();
    let lone = call(
        &state,
        Method::POST,
        &format!("{V}/sobjects/Contact"),
        Some(&token),
        Some(json!({"LastName": "Alone"})),
    )
    .await;
    assert_eq!(lone.status, StatusCode::CREATED);
    assert_eq!(t.elapsed(), Duration::ZERO);
}
