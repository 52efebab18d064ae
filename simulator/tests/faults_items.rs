//! In-handler decisions through the hooks: per-record failures, bulk slowdowns and streaming
//! disruptions, each journaled on the request it affected (or as an event of its own outside
//! requests). A test route stands in for the composite and Bulk 2.0 handlers that call the hooks.

mod faults_common;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::routing::post;
use axum::{Json, Router};
use faults_common::*;
use serde_json::json;
use simulator::faults::hooks::Probe;
use simulator::faults::plan::{BulkSlowdownFault, DropEvents, StreamingFault};
use simulator::faults::FaultLayer;
use simulator::journal::Api;
use simulator::SimState;
use tower::ServiceExt;

/// Ten records with external ids `A-000001…`; answers the error code of each failed record.
async fn collection(State(state): State<SimState>, req: Request) -> Json<Vec<Option<String>>> {
    let path = req.uri().path().to_string();
    let probe = Probe {
        api: Api::Composite,
        object: Some("Account"),
        client: Some("admin@sfchaos.test|sfchaos-client"),
        method: "POST",
        path: &path,
        now: state.clock.elapsed(),
    };
    Json(
        (0..10)
            .map(|i| {
                let key = format!("A-{:06}", i + 1);
                state
                    .faults
                    .item_failure(&probe, i, Some(&key))
                    .map(|e| e.error_code().to_string())
            })
            .collect(),
    )
}

fn app(state: &SimState) -> Router {
    Router::new()
        .route("/services/data/v62.0/composite/sobjects", post(collection))
        .with_state(state.clone())
        .layer(FaultLayer::new(state.clone()))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            simulator::recording::record,
        ))
}

async fn post_collection(state: &SimState) -> Vec<Option<String>> {
    let req = axum::http::Request::builder()
        .method(Method::POST)
        .uri("/services/data/v62.0/composite/sobjects")
        .body(Body::empty())
        .unwrap();
    let resp = app(state).oneshot(req).await.unwrap();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test(start_paused = true)]
async fn rows_and_keys_pick_records_and_codes_are_used_in_turn() {
    let state = state(
        1,
        json!([{"kind": "partial-failure", "id": "pf", "rows": [2, 5], "keys": ["A-000007"],
        "error_codes": ["UNABLE_TO_LOCK_ROW", "DUPLICATE_VALUE"], "first": 1}]),
    );
    let got = post_collection(&state).await;
    let failed: Vec<(usize, String)> = got
        .iter()
        .enumerate()
        .filter_map(|(i, c)| c.clone().map(|c| (i, c)))
        .collect();
    assert_eq!(
        failed,
        vec![
            (1, "UNABLE_TO_LOCK_ROW".into()),
            (4, "DUPLICATE_VALUE".into()),
            (6, "UNABLE_TO_LOCK_ROW".into())
        ]
    );
    assert!(
        post_collection(&state).await.iter().all(Option::is_none),
        "first = 1 picks one request"
    );
    let entries = state.journal.recent(0, 10);
    assert_eq!(entries.len(), 2);
    let tags = &entries[0].item_faults;
    assert_eq!(tags.len(), 1);
    assert_eq!(tags[0].rule, "pf");
    assert_eq!(tags[0].kind, "partial-failure");
    assert_eq!(tags[0].action, "3 items: item 1 (row): UNABLE_TO_LOCK_ROW; item 4 (row): DUPLICATE_VALUE; item 6 (key): UNABLE_TO_LOCK_ROW");
    assert!(entries[1].item_faults.is_empty());
}

#[tokio::test(start_paused = true)]
async fn fractions_are_drawn_from_the_seed() {
    let run = |seed| async move {
        let state = state(seed, json!([{"kind": "partial-failure", "fraction": 0.5}]));
        let mut all = Vec::new();
        for _ in 0..5 {
            all.extend(post_collection(&state).await);
        }
        all
    };
    let a = run(11).await;
    assert_eq!(a, run(11).await);
    assert_ne!(a, run(12).await);
    let failed = a.iter().filter(|c| c.is_some()).count();
    assert!((10..=40).contains(&failed), "about half of 50: {failed}");
}

#[tokio::test(start_paused = true)]
async fn decisions_outside_requests_are_journaled_as_events() {
    let state = state(
        1,
        json!([
            {"kind": "bulk-slowdown", "id": "slow-jobs", "extra": "30s"},
            {"kind": "streaming", "id": "rh", "mode": "rehandshake", "every": 2},
            {"kind": "streaming", "id": "drop", "mode": "drop-events", "count": 2}
        ]),
    );
    let probe = |path: &'static str, api| Probe {
        api,
        object: None,
        client: None,
        method: "POST",
        path,
        now: state.clock.elapsed(),
    };
    assert_eq!(
        state
            .faults
            .bulk_slowdown(&probe("/services/data/v62.0/jobs/ingest/7501", Api::Bulk)),
        Some(BulkSlowdownFault::Extra(secs(30)))
    );
    let connects: Vec<_> = (0..4)
        .map(|_| {
            state
                .faults
                .streaming(&probe("/meta/connect", Api::Streaming))
        })
        .collect();
    assert_eq!(
        connects,
        vec![
            None,
            Some(StreamingFault::Rehandshake),
            None,
            Some(StreamingFault::Rehandshake)
        ]
    );
    let events: Vec<_> = (0..4)
        .map(|_| {
            state
                .faults
                .streaming(&probe("/data/AccountChangeEvent", Api::Streaming))
        })
        .collect();
    let dropped = Some(StreamingFault::DropEvents(DropEvents::Count(
        std::num::NonZeroU32::new(2).unwrap(),
    )));
    assert_eq!(events, vec![dropped, dropped, None, None]);
    state.fault_engine.flush_events(&state.journal);
    let journaled: Vec<(String, String)> = state
        .journal
        .recent(0, 100)
        .into_iter()
        .map(|e| {
            let f = e.fault.clone().unwrap();
            (f.rule, e.path.clone())
        })
        .collect();
    assert_eq!(journaled.len(), 5);
    assert_eq!(
        journaled[0],
        (
            "slow-jobs".into(),
            "POST /services/data/v62.0/jobs/ingest/7501".into()
        )
    );
    assert_eq!(journaled.iter().filter(|(r, _)| r == "rh").count(), 2);
    assert_eq!(journaled.iter().filter(|(r, _)| r == "drop").count(), 2);
}

#[tokio::test(start_paused = true)]
async fn record_failures_outside_requests_make_one_event_per_batch() {
    let state = state(
        1,
        json!([{"kind": "partial-failure", "id": "rows", "rows": [1, 3, 4]}]),
    );
    let probe = Probe {
        api: Api::Bulk,
        object: Some("Account"),
        client: None,
        method: "PUT",
        path: "/services/data/v62.0/jobs/ingest/750x/batches",
        now: state.clock.elapsed(),
    };
    let failed = (0..5)
        .filter(|i| state.faults.item_failure(&probe, *i, None).is_some())
        .count();
    assert_eq!(failed, 3);
    state.fault_engine.flush_events(&state.journal);
    let entries = state.journal.recent(0, 10);
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].item_failures, 3);
    assert_eq!(
        entries[0].fault.as_ref().unwrap().action,
        "3 items: item 0 (row): UNABLE_TO_LOCK_ROW; item 2 (row): UNABLE_TO_LOCK_ROW; item 3 (row): UNABLE_TO_LOCK_ROW"
    );
}
