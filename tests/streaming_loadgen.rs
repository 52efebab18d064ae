//! The load generator's own CometD client (`loadgen::sf::StreamingClient`, used by the harness and the
//! reference integrations) against the real simulator over loopback: CDC and platform events arrive,
//! and a forced re-handshake resumes from the last replayId.

use loadgen::sf::{CometdEvent, ReplayFrom, SfClient, SfConfig, StreamingClient};
use serde_json::json;
use simulator::error::ApiError;
use simulator::faults::hooks::{Faults, ItemFaults, Probe};
use simulator::faults::plan::{BulkSlowdownFault, StreamingFault};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Forces a re-handshake on the next `n` connects.
#[derive(Debug, Default)]
struct Rehandshakes(AtomicU32);

impl ItemFaults for Rehandshakes {
    fn item_failure(&self, _: &Probe<'_>, _: usize, _: Option<&str>) -> Option<ApiError> {
        None
    }
    fn bulk_slowdown(&self, _: &Probe<'_>) -> Option<BulkSlowdownFault> {
        None
    }
    fn lock_hold(&self, _: &Probe<'_>) -> Option<Duration> {
        None
    }
    fn streaming(&self, p: &Probe<'_>) -> Option<StreamingFault> {
        if !p.path.ends_with("/meta/connect") {
            return None;
        }
        self.0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| v.checked_sub(1))
            .is_ok()
            .then_some(StreamingFault::Rehandshake)
    }
}

async fn next(rx: &mut mpsc::Receiver<CometdEvent>) -> CometdEvent {
    tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .expect("an event in time")
        .expect("the client is running")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loadgen_streaming_client_receives_events_across_a_forced_rehandshake() {
    let engine = Arc::new(Rehandshakes::default());
    let state = simulator::SimState::with_faults(
        simulator::SimConfig::default(),
        Faults::with_engine(engine.clone()),
    )
    .expect("state");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let running = simulator::start(state, listener, None, &[])
        .await
        .expect("start");
    let config = SfConfig::new(running.http_url())
        .with_credentials("admin@sfchaos.test", "sfchaos")
        .with_client("sfchaos-client", "sfchaos-secret")
        .with_api_version("62.0")
        .with_client_name("loadgen-test");
    let client = SfClient::new(config).expect("client");
    client.login().await.expect("login");

    let mut streaming = StreamingClient::new(client.clone());
    streaming.handshake().await.expect("handshake");
    streaming
        .subscribe("/data/ChangeEvents", ReplayFrom::New)
        .await
        .expect("subscribe CDC");
    streaming
        // From everything retained: until an event arrives on it, a re-subscription starts where the
        // first one did, and `New` would skip events published while the client was re-handshaking.
        .subscribe("/event/Order_Event__e", ReplayFrom::All)
        .await
        .expect("subscribe events");
    let (tx, mut rx) = mpsc::channel(64);
    let task = tokio::spawn(async move {
        let r = streaming.run(tx).await;
        (r, streaming)
    });

    let first = client
        .create("Account", &json!({"Name": "Loadgen 1"}))
        .await
        .expect("create");
    let e = next(&mut rx).await;
    assert_eq!(e.channel, "/data/ChangeEvents");
    assert_eq!(
        e.payload["ChangeEventHeader"]["recordIds"],
        json!([first.id])
    );
    assert_eq!(
        e.payload["ChangeEventHeader"]["changeOrigin"],
        "com/salesforce/api/rest/62.0;client=loadgen-test"
    );

    // The next connect is refused as an unknown client; the client re-handshakes and resumes.
    engine.0.store(1, Ordering::SeqCst);
    let mut ids = Vec::new();
    for n in 2..=4 {
        let r = client
            .create("Account", &json!({"Name": format!("Loadgen {n}")}))
            .await
            .expect("create");
        ids.push(json!([r.id]));
    }
    let published = client
        .create("Order_Event__e", &json!({"Order_Number__c": "LG-1"}))
        .await
        .expect("publish");
    assert!(published.success);
    let mut got = Vec::new();
    let mut events = Vec::new();
    for _ in 0..4 {
        if got.len() >= 3 && !events.is_empty() {
            break;
        }
        let e = next(&mut rx).await;
        match e.channel.as_str() {
            "/data/ChangeEvents" => got.push(e.payload["ChangeEventHeader"]["recordIds"].clone()),
            _ => events.push(e),
        }
    }
    assert_eq!(events[0].channel, "/event/Order_Event__e");
    assert_eq!(events[0].payload["Order_Number__c"], "LG-1");
    // The connect after that reply met the fault; the client re-handshook and resumed after the last
    // replayId it had, so the next change arrives once.
    let last = client
        .create("Account", &json!({"Name": "Loadgen 5"}))
        .await
        .expect("create");
    ids.push(json!([last.id]));
    let e = next(&mut rx).await;
    got.push(e.payload["ChangeEventHeader"]["recordIds"].clone());
    assert_eq!(got, ids, "nothing lost or repeated across the re-handshake");
    assert_eq!(engine.0.load(Ordering::SeqCst), 0, "the fault fired");

    drop(rx);
    // One more event wakes the held connect so the client sees the dropped receiver and stops.
    client
        .create("Account", &json!({"Name": "Loadgen end"}))
        .await
        .expect("create");
    let (result, streaming) = tokio::time::timeout(Duration::from_secs(20), task)
        .await
        .expect("the client stops")
        .expect("task");
    result.expect("clean stop");
    assert_eq!(streaming.handshakes(), 2);
    let _ = running.shutdown().await;
}
