//! The integration contract (design.md §4), end to end: each reference profile runs in-process
//! against the simulator over HTTPS, with recording sink and alert servers, configured from the §4
//! environment. Events must land, actor edits must reach the sink, and a crash must cost the
//! resilient profile nothing — and the naive one its in-memory queue.

mod reference_support;

use std::time::Duration;

use reference_support::*;
use serde_json::{json, Value};

const LAND: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resilient_lands_events_and_syncs_actor_edits_downstream() {
    let sim = Sim::start().await;
    let (sink, sink_url) = Recorder::start().await;
    let (_alerts, alert_url) = Recorder::start().await;
    let state = tempfile::tempdir().expect("state dir");
    let mut env = environment(sim.https_addr(), sim.ca_file.path());
    env.insert("SFCHAOS_SINK_URL".into(), sink_url);
    env.insert("SFCHAOS_ALERT_URL".into(), alert_url);
    env.insert(
        "SFCHAOS_STATE_DIR".into(),
        state.path().display().to_string(),
    );
    env.insert(
        "SFCHAOS_OWNED_FIELDS".into(),
        "Account.Name,Account.Region__c,Account.Credit_Limit__c".into(),
    );
    env.insert("SFCHAOS_FOREIGN_FIELDS".into(), "Account.Phone".into());
    let running = start(config("resilient", &env)).await;
    let http = http();

    let health = http
        .get(format!("http://{}/healthz", running.local_addr()))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);

    // Three keys; the second gets two events (later wins, field by field); the third is deleted.
    let events = [
        event(
            "evt-1",
            "A-1",
            json!({"Name": "Acme", "Region__c": "EMEA", "Credit_Limit__c": 1000}),
        ),
        event(
            "evt-2",
            "A-2",
            json!({"Name": "Globex", "Region__c": "AMER"}),
        ),
        event(
            "evt-3",
            "A-2",
            json!({"Credit_Limit__c": 2500, "Phone": "+1 555 0100"}),
        ),
        event("evt-4", "A-3", json!({"Name": "Initech"})),
    ];
    for e in &events {
        let (status, body) = post_event(&http, &running, e).await;
        assert_eq!(status, 202, "{body}");
        assert_eq!(body["status"], "queued");
    }
    let (status, body) = post_event(&http, &running, &events[0]).await;
    assert_eq!((status, body["status"].clone()), (200, json!("duplicate")));

    eventually(LAND, "A-2 carries both events' owned fields", || async {
        sim.record("Account", "A-2").await.is_some_and(|r| {
            r["Name"] == "Globex" && r["Region__c"] == "AMER" && r["Credit_Limit__c"] == 2500.0
        })
    })
    .await;
    let a2 = sim.record("Account", "A-2").await.expect("A-2");
    assert!(
        a2["Phone"].is_null(),
        "Phone is owned by someone else: {a2}"
    );
    eventually(LAND, "A-1 and A-3 land", || async {
        sim.record("Account", "A-1").await.is_some() && sim.record("Account", "A-3").await.is_some()
    })
    .await;

    let (status, _) = post_event(&http, &running, &delete("evt-5", "A-3")).await;
    assert_eq!(status, 202);
    eventually(LAND, "A-3 deleted", || async {
        sim.record("Account", "A-3").await.is_none()
    })
    .await;

    // Another user edits A-1 in Salesforce: the change reaches the sink.
    sim.add_user("sales.rep@sfchaos.test").await;
    let actor = sim.client("sales.rep@sfchaos.test").await;
    let id = a2_id(&sim, "A-1").await;
    actor
        .update("Account", &id, &json!({"Phone": "+44 20 7946 0000"}))
        .await
        .expect("actor edit");
    eventually(LAND, "the actor's edit at the sink", || async {
        sink.all().iter().any(|c| {
            c["id"] == id.as_str()
                && c["object"] == "Account"
                && c["fields"]["Phone"] == "+44 20 7946 0000"
        })
    })
    .await;
    let change = sink
        .all()
        .into_iter()
        .find(|c| c["id"] == id.as_str() && c["fields"]["Phone"] == "+44 20 7946 0000")
        .expect("change");
    assert!(
        matches!(change["change"].as_str(), Some("update" | "create")),
        "{change}"
    );
    assert!(change["source_commit_timestamp"].is_string(), "{change}");

    // The integration's own metrics agree with what happened.
    let metrics = http
        .get(format!("http://{}/metrics", running.local_addr()))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    assert!(
        metrics.contains("integration_events_accepted_total 5\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("integration_events_duplicate_total 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("integration_events_written_total 5\n"),
        "{metrics}"
    );
    running.shutdown().await.expect("graceful stop");
}

async fn a2_id(sim: &Sim, ext: &str) -> String {
    sim.record("Account", ext).await.expect("record")["Id"]
        .as_str()
        .expect("Id")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn naive_writes_inline_and_polls_with_soql() {
    let sim = Sim::start().await;
    let (sink, sink_url) = Recorder::start().await;
    let mut env = environment(sim.https_addr(), sim.ca_file.path());
    env.insert("SFCHAOS_SINK_URL".into(), sink_url);
    let running = start(config("naive", &env)).await;
    let http = http();

    // Naive answers only after Salesforce did: the record exists when the answer arrives.
    let (status, body) = post_event(
        &http,
        &running,
        &event(
            "n-1",
            "N-1",
            json!({"Name": "Umbrella", "Region__c": "APAC"}),
        ),
    )
    .await;
    assert_eq!((status, body["status"].clone()), (200, json!("written")));
    let record = sim
        .record("Account", "N-1")
        .await
        .expect("written before the answer");
    assert_eq!(record["Region__c"], "APAC");
    let (status, body) = post_event(
        &http,
        &running,
        &event("n-2", "N-1", json!({"Region__c": "EMEA"})),
    )
    .await;
    assert_eq!((status, body["status"].clone()), (200, json!("written")));
    assert_eq!(
        sim.record("Account", "N-1").await.expect("N-1")["Region__c"],
        "EMEA"
    );

    // No observability.
    let metrics = http
        .get(format!("http://{}/metrics", running.local_addr()))
        .send()
        .await
        .expect("metrics");
    assert_eq!(metrics.status(), 404);

    if !sim.soql_available().await {
        eprintln!(
            "this simulator build has no SOQL engine yet; skipping the naive poller's sink check"
        );
        running.shutdown().await.expect("stop");
        return;
    }
    sim.add_user("ops@sfchaos.test").await;
    let actor = sim.client("ops@sfchaos.test").await;
    let id = a2_id(&sim, "N-1").await;
    actor
        .update("Account", &id, &json!({"Phone": "+1 555 0199"}))
        .await
        .expect("actor edit");
    eventually(
        LAND,
        "the poller's delivery of the actor's edit",
        || async {
            sink.all()
                .iter()
                .any(|c| c["id"] == id.as_str() && c["fields"]["Phone"] == "+1 555 0199")
        },
    )
    .await;
    running.shutdown().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resilient_loses_nothing_across_a_crash() {
    let sim = Sim::start().await;
    let proxy = Proxy::start(sim.https_addr()).await;
    let (_state, env) = environment_with_state(proxy.addr, sim.ca_file.path());
    let first = start(config("resilient", &env)).await;
    assert!(first.salesforce_ready().await);
    let http = http();

    // Salesforce becomes unreachable; events are still accepted, and only queued.
    proxy.cut();
    // More than the batching threshold: after the restart the backlog goes out in collections.
    let keys: Vec<String> = (0..30).map(|i| format!("C-{i}")).collect();
    for (i, key) in keys.iter().enumerate() {
        let (status, body) = post_event(
            &http,
            &first,
            &event(&format!("c-{i}"), key, json!({"Name": key})),
        )
        .await;
        assert_eq!(status, 202, "{body}");
    }
    assert_eq!(first.queue_depth(), keys.len());
    first.crash();

    // Back up, same state directory: everything accepted lands, re-sends stay duplicates.
    proxy.restore();
    let second = start(config("resilient", &env)).await;
    let (status, body) =
        post_event(&http, &second, &event("c-0", "C-0", json!({"Name": "C-0"}))).await;
    assert_eq!((status, body["status"].clone()), (200, json!("duplicate")));
    eventually(LAND, "every event accepted before the crash", || async {
        let landed = sim.export("Account").await;
        keys.iter()
            .all(|k| landed.iter().any(|r| r["External_Id__c"] == k.as_str()))
    })
    .await;
    second.shutdown().await.expect("stop");

    // A graceful restart after the drain has nothing left to replay.
    let third = start(config("resilient", &env)).await;
    assert_eq!(third.queue_depth(), 0);
    third.shutdown().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn naive_loses_its_in_memory_queue_in_a_crash() {
    let sim = Sim::start().await;
    let mut env = environment(sim.https_addr(), sim.ca_file.path());
    env.insert("SFCHAOS_SYNC_TIMEOUT".into(), "300ms".into());
    let first = start(config("naive", &env)).await;
    let http = http();

    // Its session dies and it never logs in again: inline writes time out, events go to memory.
    sim.revoke(ADMIN).await;
    let keys: Vec<String> = (0..4).map(|i| format!("L-{i}")).collect();
    for (i, key) in keys.iter().enumerate() {
        let (status, body) = post_event(
            &http,
            &first,
            &event(&format!("l-{i}"), key, json!({"Name": key})),
        )
        .await;
        assert_eq!(
            (status, body["status"].clone()),
            (202, json!("queued")),
            "{body}"
        );
    }
    assert_eq!(first.queue_depth(), keys.len());
    assert!(
        first.retry_stats().retries > 0,
        "naive keeps retrying the dead session"
    );
    first.crash();

    let second = start(config("naive", &env)).await;
    let (status, body) = post_event(
        &http,
        &second,
        &event("l-after", "L-after", json!({"Name": "after"})),
    )
    .await;
    assert_eq!((status, body["status"].clone()), (200, json!("written")));
    let landed: Vec<Value> = sim.export("Account").await;
    assert!(landed.iter().any(|r| r["External_Id__c"] == "L-after"));
    for key in &keys {
        assert!(
            !landed.iter().any(|r| r["External_Id__c"] == key.as_str()),
            "{key} was accepted before the crash and should be lost"
        );
    }
    assert_eq!(second.queue_depth(), 0);
    second.shutdown().await.expect("stop");
}
