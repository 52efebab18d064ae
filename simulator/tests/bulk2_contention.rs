//! Batch work really competes with real-time work (docs/contention.md): while a Bulk job writes
//! children of the same parents, real-time updates of those parents wait for their row locks and
//! some time out with UNABLE_TO_LOCK_ROW; while a job fills the org's processing slots, unrelated
//! real-time writes queue for a slot. Both fall back once the job is done. Everything runs on a
//! paused clock, so the latencies are scenario time and the assertions compare phases.

mod bulk2_support;

use axum::http::{Method, StatusCode};
use bulk2_support::Sim;
use serde_json::json;
use simulator::org::capacity::ContentionConfig;
use simulator::SimConfig;
use std::time::Duration;
use tokio::time::Instant;

#[derive(Debug, Default)]
struct Phase {
    probes: u32,
    lock_errors: u32,
    other_errors: u32,
    total: Duration,
    max: Duration,
}

impl Phase {
    fn mean(&self) -> Duration {
        self.total / self.probes.max(1)
    }
}

/// One real-time write: PATCH the record, timed on the scenario clock.
async fn probe(sim: &Sim, account: &str, n: u32, phase: &mut Phase) {
    let start = Instant::now();
    let a = sim
        .call(
            Method::PATCH,
            &format!("/sobjects/Account/{account}"),
            Some(json!({"Phone": format!("555-{n}")})),
        )
        .await;
    let took = start.elapsed();
    phase.probes += 1;
    phase.total += took;
    phase.max = phase.max.max(took);
    match a.status {
        StatusCode::NO_CONTENT => {}
        _ if a.json()[0]["errorCode"] == "UNABLE_TO_LOCK_ROW" => phase.lock_errors += 1,
        _ => phase.other_errors += 1,
    }
}

fn config(contention: ContentionConfig) -> SimConfig {
    let mut c = SimConfig::default();
    c.org.lock_wait = Duration::from_secs(1);
    c.org.contention = contention;
    c
}

/// Probe every 500 ms before, during and after a job; the three phases.
async fn run_phases(sim: &Sim, target: &str, job: serde_json::Value, csv: &str) -> [Phase; 3] {
    let mut phases: [Phase; 3] = Default::default();
    let mut n = 0;
    for _ in 0..10 {
        n += 1;
        probe(sim, target, n, &mut phases[0]).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let id = sim.ingest(job, csv).await;
    for _ in 0..2_000 {
        let state = sim.get(&format!("/jobs/ingest/{id}")).await.json()["state"].clone();
        if state == "JobComplete" {
            break;
        }
        n += 1;
        probe(sim, target, n, &mut phases[1]).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let info = sim.wait("ingest", &id).await;
    assert_eq!(info["state"], "JobComplete");
    assert_eq!(info["numberRecordsFailed"], 0, "{info}");
    for _ in 0..10 {
        n += 1;
        probe(sim, target, n, &mut phases[2]).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    for (name, p) in ["before", "during", "after"].iter().zip(&phases) {
        eprintln!(
            "{name:>6}: {} probes, mean {:?}, max {:?}, {} UNABLE_TO_LOCK_ROW",
            p.probes,
            p.mean(),
            p.max,
            p.lock_errors
        );
    }
    phases
}

#[tokio::test(start_paused = true)]
async fn a_bulk_job_on_children_of_hot_parents_blocks_updates_of_the_parents() {
    // Each 200-record chunk takes 2 s and locks the Contacts' Accounts; real-time writers wait 1 s.
    let sim = Sim::with(
        config(ContentionConfig {
            processing_slots: 4,
            bulk_parallelism: 1,
            bulk_chunk_time: Duration::ZERO,
            bulk_row_time: Duration::from_millis(10),
            write_time: Duration::ZERO,
            bulk_lock_retries: 2,
        }),
        Default::default(),
    )
    .await;
    let mut parents = Vec::new();
    for i in 0..5 {
        parents.push(
            sim.create("Account", json!({"Name": format!("Parent {i}")}))
                .await,
        );
    }
    let mut csv = String::from("LastName,AccountId\n");
    for i in 0..6_000 {
        csv.push_str(&format!("Child {i},{}\n", parents[i % parents.len()]));
    }
    let [before, during, after] = run_phases(
        &sim,
        &parents[0],
        json!({"object": "Contact", "operation": "insert"}),
        &csv,
    )
    .await;
    assert_eq!(sim.count("Contact"), 6_000);

    assert_eq!((before.lock_errors, before.other_errors), (0, 0));
    assert_eq!(before.max, Duration::ZERO);
    assert!(during.probes > 50, "{during:?}");
    assert!(
        during.lock_errors > during.probes / 5,
        "updates of a parent time out while the job holds it: {during:?}"
    );
    assert!(
        during.lock_errors < during.probes,
        "some still get through: {during:?}"
    );
    assert!(during.mean() >= Duration::from_millis(300), "{during:?}");
    assert!(
        during.max <= Duration::from_secs(1),
        "nobody waits past the lock wait"
    );
    assert_eq!(during.other_errors, 0);
    assert_eq!((after.lock_errors, after.other_errors), (0, 0));
    assert_eq!(
        after.max,
        Duration::ZERO,
        "latency falls back once the job is done"
    );

    let rejected = sim
        .state
        .journal
        .recent(0, 100_000)
        .iter()
        .filter(|e| e.method == "PATCH" && e.error_code.as_deref() == Some("UNABLE_TO_LOCK_ROW"))
        .count() as u32;
    assert_eq!(
        rejected, during.lock_errors,
        "every timeout is in the journal"
    );
}

#[tokio::test(start_paused = true)]
async fn a_job_filling_the_processing_slots_slows_unrelated_writes() {
    // One slot: the job's chunks and real-time writes take turns; no shared rows, so no lock errors.
    let sim = Sim::with(
        config(ContentionConfig {
            processing_slots: 1,
            bulk_parallelism: 1,
            bulk_chunk_time: Duration::from_millis(500),
            bulk_row_time: Duration::from_millis(5),
            write_time: Duration::ZERO,
            bulk_lock_retries: 2,
        }),
        Default::default(),
    )
    .await;
    let unrelated = sim.create("Account", json!({"Name": "Real-time"})).await;
    let mut csv = String::from("Name\n");
    for i in 0..4_000 {
        csv.push_str(&format!("Batch {i}\n"));
    }
    let [before, during, after] = run_phases(
        &sim,
        &unrelated,
        json!({"object": "Account", "operation": "insert"}),
        &csv,
    )
    .await;
    assert_eq!(before.max, Duration::ZERO);
    assert!(during.probes > 20, "{during:?}");
    assert_eq!(during.lock_errors + during.other_errors, 0, "{during:?}");
    assert!(
        during.mean() >= Duration::from_millis(200),
        "queued for the slot: {during:?}"
    );
    assert!(during.max <= Duration::from_millis(1_500), "{during:?}");
    assert_eq!(after.max, Duration::ZERO);
    assert_eq!(sim.state.default_org().capacity.in_use(), 0);
}

#[tokio::test(start_paused = true)]
async fn writers_queued_on_a_hot_row_do_not_starve_unrelated_writes() {
    // One slot. Five writers wait for a row someone holds; an unrelated write must not queue
    // behind them (waiters hold no slot: row locks come before the slot).
    let sim = std::sync::Arc::new(
        Sim::with(
            config(ContentionConfig {
                processing_slots: 1,
                ..Default::default()
            }),
            Default::default(),
        )
        .await,
    );
    let hot = sim.create("Account", json!({"Name": "Hot"})).await;
    let other = sim.create("Account", json!({"Name": "Other"})).await;
    let org = sim.state.default_org();
    let num = simulator::org::ids::RecordId::parse(&hot).unwrap().num;
    let obj = org.data.read().schema.object_index("Account").unwrap();
    let held = org
        .locks
        .acquire(vec![(obj, num)], Duration::ZERO)
        .await
        .unwrap();
    let mut waiters = Vec::new();
    for i in 0..5 {
        let (s, h) = (sim.clone(), hot.clone());
        waiters.push(tokio::spawn(async move {
            let mut p = Phase::default();
            probe(&s, &h, i, &mut p).await;
            p
        }));
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut unrelated = Phase::default();
    probe(&sim, &other, 99, &mut unrelated).await;
    assert_eq!(unrelated.max, Duration::ZERO, "{unrelated:?}");
    assert_eq!(unrelated.lock_errors + unrelated.other_errors, 0);
    drop(held);
    for w in waiters {
        let p = w.await.unwrap();
        assert_eq!(
            p.lock_errors, 0,
            "the hot-row writers got the row within the lock wait"
        );
    }
}
