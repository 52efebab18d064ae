//! Schema changes happen at their time and then fail writes and describes exactly as Salesforce
//! would; describe's If-Modified-Since tells the truth about them.

mod faults_common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use faults_common::*;
use serde_json::json;
use std::time::{Duration, UNIX_EPOCH};
use tower::ServiceExt;

async fn describe_since(
    state: &simulator::SimState,
    token: &str,
    object: &str,
    since_ms: i64,
) -> (StatusCode, serde_json::Value) {
    let date = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_millis(since_ms as u64));
    let req = Request::builder()
        .uri(format!("{V}/sobjects/{object}/describe"))
        .header("authorization", format!("Bearer {token}"))
        .header("if-modified-since", date)
        .body(Body::empty())
        .unwrap();
    let resp = simulator::app(state.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or_default())
}

fn field_names(describe: &serde_json::Value) -> Vec<String> {
    describe["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(start_paused = true)]
async fn schema_changes_apply_at_their_time_and_writes_fail_as_salesforce_fails_them() {
    let state = state(
        1,
        json!([
            {"kind": "schema-change", "id": "rename", "at": "10s", "change": "rename-field", "object": "Account", "field": "Region__c", "to": "Territory__c"},
            {"kind": "schema-change", "id": "remove", "at": "10s", "change": "remove-field", "object": "Account", "field": "Phone"},
            {"kind": "schema-change", "id": "require", "at": "10s", "change": "add-required-field", "object": "Account", "field": "Tier__c"},
            {"kind": "schema-change", "id": "restrict", "at": "10s", "change": "restrict-picklist", "object": "Account", "field": "Industry", "values": ["Technology"]},
            {"kind": "schema-change", "id": "shorten", "at": "10s", "change": "shorten-length", "object": "Account", "field": "Site", "length": 5},
            {"kind": "schema-change", "id": "gone", "at": "10s", "change": "deactivate-object", "object": "Lead"}
        ]),
    );
    let token = login(&state).await;
    let id = create_account(&state, &token, "Drift").await;
    let record = format!("{V}/sobjects/Account/{id}");
    let patch = |body: serde_json::Value| {
        let (state, token, record) = (state.clone(), token.clone(), record.clone());
        async move { call(&state, Method::PATCH, &record, Some(&token), Some(body)).await }
    };
    assert_eq!(patch(json!({"Region__c": "EMEA", "Phone": "1", "Industry": "Finance", "Site": "Headquarters"})).await.status, StatusCode::NO_CONTENT);
    tokio::time::advance(secs(5)).await;
    let at_5s = state.clock.now_ms();
    assert_eq!(
        describe_since(&state, &token, "Account", at_5s).await.0,
        StatusCode::NOT_MODIFIED
    );

    tokio::time::advance(secs(5)).await;
    let r = patch(json!({"Region__c": "EMEA"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body[0]["errorCode"], "INVALID_FIELD");
    assert_eq!(
        r.body[0]["message"],
        "No such column 'Region__c' on sobject of type Account"
    );
    assert_eq!(
        patch(json!({"Territory__c": "EMEA"})).await.status,
        StatusCode::NO_CONTENT,
        "the new name works"
    );
    assert_eq!(
        patch(json!({"Phone": "2"})).await.body[0]["errorCode"],
        "INVALID_FIELD"
    );
    let r = patch(json!({"Industry": "Finance"})).await;
    assert_eq!(
        r.body[0]["errorCode"],
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    );
    assert_eq!(
        patch(json!({"Industry": "Technology"})).await.status,
        StatusCode::NO_CONTENT
    );
    let r = patch(json!({"Site": "Headquarters"})).await;
    assert_eq!(r.body[0]["errorCode"], "STRING_TOO_LONG");
    let r = call(
        &state,
        Method::POST,
        &format!("{V}/sobjects/Account"),
        Some(&token),
        Some(json!({"Name": "New"})),
    )
    .await;
    assert_eq!(
        r.body[0]["errorCode"], "REQUIRED_FIELD_MISSING",
        "{}",
        r.text
    );
    assert_eq!(r.body[0]["fields"], json!(["Tier__c"]));
    let ok = call(
        &state,
        Method::POST,
        &format!("{V}/sobjects/Account"),
        Some(&token),
        Some(json!({"Name": "New", "Tier__c": "Gold"})),
    )
    .await;
    assert_eq!(ok.status, StatusCode::CREATED);
    let lead = call(
        &state,
        Method::GET,
        &format!("{V}/sobjects/Lead/describe"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(lead.status, StatusCode::NOT_FOUND);

    let (status, describe) = describe_since(&state, &token, "Account", at_5s).await;
    assert_eq!(status, StatusCode::OK, "changed since 5 s");
    let names = field_names(&describe);
    assert!(names.contains(&"Territory__c".to_string()) && names.contains(&"Tier__c".to_string()));
    assert!(!names.contains(&"Region__c".to_string()) && !names.contains(&"Phone".to_string()));
    assert_eq!(
        describe_since(&state, &token, "Account", state.clock.now_ms())
            .await
            .0,
        StatusCode::NOT_MODIFIED
    );

    let events: Vec<_> = state
        .journal
        .recent(0, 1000)
        .into_iter()
        .filter(|e| e.route == "fault.schema-change")
        .map(|e| (e.t_us, e.fault.clone().unwrap().action))
        .collect();
    assert_eq!(events.len(), 6);
    assert!(events.iter().all(|(t, _)| *t == 10_000_000));
    assert!(events
        .iter()
        .any(|(_, a)| a == "renamed Account.Region__c to Territory__c"));
}

#[tokio::test(start_paused = true)]
async fn a_change_the_org_cannot_take_is_journaled_as_not_applied() {
    let state = state(
        1,
        json!([{"kind": "schema-change", "id": "typo", "change": "remove-field", "object": "Account", "field": "Nope__c"}]),
    );
    let token = login(&state).await;
    let _ = call(
        &state,
        Method::GET,
        &format!("{V}/limits"),
        Some(&token),
        None,
    )
    .await;
    let event = state
        .journal
        .recent(0, 100)
        .into_iter()
        .find(|e| e.route == "fault.schema-change")
        .unwrap();
    assert_eq!(
        event.fault.clone().unwrap().action,
        "not applied: Account has no field Nope__c"
    );
}
