//! Streaming faults (design.md §6) through a test fault engine: forced re-handshakes, dropped events
//! with gap events, an exhausted allocation.

use crate::support::*;
use parking_lot::Mutex;
use serde_json::{json, Value};
use simulator::error::ApiError;
use simulator::faults::hooks::{Faults, ItemFaults, Probe};
use simulator::faults::plan::{BulkSlowdownFault, DropEvents, StreamingFault};
use simulator::SimConfig;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// One probe the engine saw: (path, object, client).
type ProbeRecord = (String, Option<String>, Option<String>);

/// Decides like the engine would for rules armed by the test.
#[derive(Debug, Default)]
pub struct TestFaults {
    /// Connects still to be answered with a forced re-handshake.
    pub rehandshakes: AtomicU32,
    pub exhaust: AtomicBool,
    /// Events of this object still to be dropped.
    pub drop_object: Mutex<Option<String>>,
    pub drops: AtomicU32,
    /// (path, object, client) of every probe.
    pub probes: Mutex<Vec<ProbeRecord>>,
}

impl ItemFaults for TestFaults {
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
        self.probes.lock().push((
            p.path.to_string(),
            p.object.map(str::to_string),
            p.client.map(str::to_string),
        ));
        let take = |n: &AtomicU32| {
            n.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| v.checked_sub(1))
                .is_ok()
        };
        if p.path.ends_with("/meta/connect") {
            if self.exhaust.load(Ordering::SeqCst) {
                return Some(StreamingFault::ExhaustAllocation);
            }
            return take(&self.rehandshakes).then_some(StreamingFault::Rehandshake);
        }
        let mine = self.drop_object.lock().as_deref() == p.object;
        (mine && take(&self.drops)).then_some(StreamingFault::DropEvents(DropEvents::Count(
            NonZeroU32::MIN,
        )))
    }
}

fn sim_with_faults() -> (Sim, Arc<TestFaults>) {
    let engine = Arc::new(TestFaults::default());
    let sim = Sim::with(SimConfig::default(), Faults::with_engine(engine.clone()));
    (sim, engine)
}

fn record_ids(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            header(e)["recordIds"][0]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

#[tokio::test]
async fn a_forced_rehandshake_resumes_from_the_last_replay_id_without_loss_or_duplicates() {
    let (sim, engine) = sim_with_faults();
    let mut c = Bayeux::ready(&sim, "/data/ChangeEvents", Some(json!(-1))).await;
    let mut created = vec![sim.create("Account", json!({"Name": "A1"})).await];
    let (events, _) = c.connect().await;
    let mut received = events.clone();
    let last = replay_id(events.last().expect("event"));

    engine.rehandshakes.store(1, Ordering::SeqCst);
    let (events, r) = c.connect().await;
    assert!(events.is_empty());
    assert_eq!(r["error"], "403::Unknown client");
    assert_eq!(r["advice"]["reconnect"], "handshake");
    // Written while the client is away.
    for n in 2..=4 {
        created.push(
            sim.create("Account", json!({"Name": format!("A{n}")}))
                .await,
        );
    }
    let (_, r) = c.connect().await;
    assert_eq!(
        r["error"], "403::Unknown client",
        "the old clientId stays gone"
    );
    c.handshake().await;
    let s = c.subscribe("/data/ChangeEvents", Some(json!(last))).await;
    assert_eq!(s["successful"], true, "{s}");
    created.push(sim.create("Account", json!({"Name": "A5"})).await);
    for _ in 0..created.len() {
        if received.len() >= created.len() {
            break;
        }
        let (mut e, r) = c.connect().await;
        assert_eq!(r["successful"], true, "{r}");
        received.append(&mut e);
    }
    assert_eq!(
        record_ids(&received),
        created,
        "nothing lost, nothing twice, in order"
    );
    let connect_probes: Vec<_> = engine
        .probes
        .lock()
        .iter()
        .filter(|(p, _, _)| p == "/cometd/62.0/meta/connect")
        .map(|(_, o, c)| (o.clone(), c.clone()))
        .collect();
    assert!(connect_probes
        .iter()
        .all(|(o, c)| o.is_none() && c.as_deref() == Some("admin@sfchaos.test|sfchaos-client")));
}

#[tokio::test]
async fn a_dropped_change_arrives_as_a_gap_event_for_every_subscriber() {
    let (sim, engine) = sim_with_faults();
    *engine.drop_object.lock() = Some("Account".into());
    engine.drops.store(1, Ordering::SeqCst);
    let mut a = Bayeux::ready(&sim, "/data/ChangeEvents", None).await;
    let mut b = Bayeux::ready(&sim, "/data/AccountChangeEvent", None).await;
    let lost = sim.create("Account", json!({"Name": "Lost"})).await;
    let kept = sim.create("Account", json!({"Name": "Kept"})).await;
    for c in [&mut a, &mut b] {
        let (events, _) = c.connect().await;
        assert_eq!(events.len(), 2);
        let gap = header(&events[0]);
        assert_eq!(gap["changeType"], "GAP_CREATE");
        assert_eq!(gap["recordIds"], json!([lost]));
        assert_eq!(gap["entityName"], "Account");
        assert_eq!(gap["changedFields"], json!([]));
        assert_eq!(
            events[0]["data"]["payload"].as_object().map(|m| m.len()),
            Some(1),
            "a gap event is the header alone"
        );
        assert_eq!(header(&events[1])["changeType"], "CREATE");
        assert_eq!(header(&events[1])["recordIds"], json!([kept]));
        assert_eq!(events[1]["data"]["payload"]["Name"], "Kept");
    }
    // Decided once per change, not once per subscriber; probed with the change's channel.
    let event_probes: Vec<_> = engine
        .probes
        .lock()
        .iter()
        .filter(|(p, _, _)| !p.starts_with("/cometd"))
        .cloned()
        .collect();
    assert_eq!(
        event_probes,
        [
            (
                "/data/AccountChangeEvent".to_string(),
                Some("Account".to_string()),
                None
            ),
            (
                "/data/AccountChangeEvent".to_string(),
                Some("Account".to_string()),
                None
            ),
        ]
    );
    let org = sim.state.default_org();
    let recent = org.changes.since(0, 100);
    let dropped: Vec<Option<bool>> = recent
        .iter()
        .filter(|c| c.object() == "Account")
        .map(|c| c.dropped())
        .collect();
    assert_eq!(dropped, [Some(true), Some(false)]);
}

#[tokio::test]
async fn a_dropped_platform_event_leaves_a_hole_in_the_replay_ids() {
    let (sim, engine) = sim_with_faults();
    *engine.drop_object.lock() = Some("Order_Event__e".into());
    engine.drops.store(1, Ordering::SeqCst);
    let mut c = Bayeux::ready(&sim, "/event/Order_Event__e", None).await;
    for n in 1..=3 {
        let a = sim
            .rest(
                axum::http::Method::POST,
                "/sobjects/Order_Event__e",
                Some(json!({"Order_Number__c": format!("O-{n}")})),
            )
            .await;
        assert_eq!(a.status, axum::http::StatusCode::CREATED);
    }
    let (events, _) = c.connect().await;
    let numbers: Vec<&Value> = events
        .iter()
        .map(|e| &e["data"]["payload"]["Order_Number__c"])
        .collect();
    assert_eq!(numbers, [&json!("O-2"), &json!("O-3")]);
    let ids: Vec<u64> = events.iter().map(replay_id).collect();
    assert_eq!(ids[1], ids[0] + 1);
    // The hole just before: the dropped O-1, marked for the scorer.
    let org = sim.state.default_org();
    let hole = org.changes.since(ids[0] - 2, 1);
    assert_eq!(hole[0].seq, ids[0] - 1);
    assert_eq!(hole[0].object(), "Order_Event__e");
    assert_eq!(hole[0].dropped(), Some(true));
}

#[tokio::test]
async fn an_exhausted_allocation_fault_fails_connects_until_it_ends() {
    let (sim, engine) = sim_with_faults();
    let mut c = Bayeux::ready(&sim, "/data/ChangeEvents", None).await;
    sim.create("Account", json!({"Name": "Pending"})).await;
    engine.exhaust.store(true, Ordering::SeqCst);
    let (events, r) = c.connect().await;
    assert!(events.is_empty());
    assert_eq!(
        r["error"],
        "403::Organization total events daily limit exceeded"
    );
    assert_eq!(r["advice"]["reconnect"], "none");
    engine.exhaust.store(false, Ordering::SeqCst);
    // A client that starts over and replays everything gets the pending change.
    let mut again = sim.client();
    again.handshake().await;
    again.subscribe("/data/ChangeEvents", Some(json!(-2))).await;
    let (events, _) = again.connect().await;
    assert!(events
        .iter()
        .any(|e| e["data"]["payload"]["Name"] == "Pending"));
    let tagged = sim
        .state
        .journal
        .recent(0, 1000)
        .iter()
        .filter(|e| {
            e.fault
                .as_ref()
                .is_some_and(|f| f.action == "exhaust-allocation")
        })
        .count();
    assert_eq!(tagged, 1);
}
