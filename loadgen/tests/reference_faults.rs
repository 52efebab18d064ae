//! The profiles under trouble: a schema change, an outage the pager must hear about, and a small
//! `/batch` load.

mod reference_support;

use std::time::Duration;

use reference_support::*;
use serde_json::json;

const LAND: Duration = Duration::from_secs(20);

/// Remove `field` from Account, as a `schema-change` fault would.
fn remove_account_field(sim: &Sim, field: &str) {
    let org = sim.running.state.default_org();
    let mut data = org.data.write();
    let account = data.schema.object_mut("Account").expect("Account");
    let i = account.field_index(field).expect("field exists");
    account.fields[i].active = false;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resilient_keeps_records_flowing_after_a_field_is_removed() {
    let sim = Sim::start().await;
    let (alerts, alert_url) = Recorder::start().await;
    let (_state, mut env) = environment_with_state(sim.https_addr(), sim.ca_file.path());
    env.insert("SFCHAOS_ALERT_URL".into(), alert_url);
    let running = start(config("resilient", &env)).await;
    let http = http();

    let (status, _) = post_event(
        &http,
        &running,
        &event(
            "s-1",
            "S-1",
            json!({"Name": "Before", "Credit_Limit__c": 10}),
        ),
    )
    .await;
    assert_eq!(status, 202);
    eventually(LAND, "S-1 lands", || async {
        sim.record("Account", "S-1").await.is_some()
    })
    .await;

    // The describe is cached now; the org changes under it.
    remove_account_field(&sim, "Credit_Limit__c");
    post_event(
        &http,
        &running,
        &event(
            "s-2",
            "S-2",
            json!({"Name": "Touches it", "Credit_Limit__c": 20}),
        ),
    )
    .await;
    post_event(
        &http,
        &running,
        &event("s-3", "S-3", json!({"Name": "Does not"})),
    )
    .await;
    eventually(
        LAND,
        "both records land, the removed field left out",
        || async {
            let s2 = sim.record("Account", "S-2").await;
            let s3 = sim.record("Account", "S-3").await;
            s2.is_some_and(|r| r["Name"] == "Touches it")
                && s3.is_some_and(|r| r["Name"] == "Does not")
        },
    )
    .await;
    eventually(LAND, "a schema-change alert", || async {
        alerts
            .all()
            .iter()
            .any(|a| a["incident"] == "schema-change" && a["severity"] == "warning")
    })
    .await;
    assert_eq!(
        running
            .metrics()
            .events_dead_lettered
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    running.shutdown().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn naive_breaks_on_a_removed_field_even_for_records_without_it() {
    let sim = Sim::start().await;
    let mut env = environment(sim.https_addr(), sim.ca_file.path());
    env.insert("SFCHAOS_SYNC_TIMEOUT".into(), "300ms".into());
    let running = start(config("naive", &env)).await;
    let http = http();
    let (status, _) = post_event(
        &http,
        &running,
        &event("s-1", "S-1", json!({"Name": "Before"})),
    )
    .await;
    assert_eq!(status, 200);

    remove_account_field(&sim, "Credit_Limit__c");
    // Its hard-coded field list still names the removed field, so even this update fails.
    let (status, body) = post_event(
        &http,
        &running,
        &event("s-2", "S-1", json!({"Name": "After"})),
    )
    .await;
    assert_eq!(
        (status, body["status"].clone()),
        (202, json!("queued")),
        "{body}"
    );
    assert_eq!(
        sim.record("Account", "S-1").await.expect("S-1")["Name"],
        "Before"
    );
    running.crash();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resilient_pages_on_an_outage_and_on_its_end() {
    let sim = Sim::start().await;
    let proxy = Proxy::start(sim.https_addr()).await;
    let (alerts, alert_url) = Recorder::start().await;
    let (_state, mut env) = environment_with_state(proxy.addr, sim.ca_file.path());
    env.insert("SFCHAOS_ALERT_URL".into(), alert_url);
    let running = start(config("resilient", &env)).await;
    assert!(running.salesforce_ready().await);
    let http = http();

    proxy.cut();
    for i in 0..3 {
        let key = format!("O-{i}");
        post_event(
            &http,
            &running,
            &event(&format!("o-{i}"), &key, json!({"Name": key})),
        )
        .await;
    }
    eventually(LAND, "an outage alert", || async {
        alerts
            .all()
            .iter()
            .any(|a| a["incident"] == "salesforce-errors" && a["status"] == "firing")
    })
    .await;
    proxy.restore();
    eventually(LAND, "the backlog drains", || async {
        let landed = sim.export("Account").await;
        (0..3).all(|i| {
            landed
                .iter()
                .any(|r| r["External_Id__c"] == format!("O-{i}").as_str())
        })
    })
    .await;
    eventually(LAND, "the resolution", || async {
        alerts
            .all()
            .iter()
            .any(|a| a["incident"] == "salesforce-errors" && a["status"] == "resolved")
    })
    .await;
    let firing: Vec<_> = alerts
        .all()
        .into_iter()
        .filter(|a| a["incident"] == "salesforce-errors" && a["status"] == "firing")
        .collect();
    assert!(
        firing.len() <= 2,
        "one alert per incident (plus an escalation), not a stream: {firing:?}"
    );
    running.shutdown().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resilient_loads_a_small_batch_without_bulk() {
    let sim = Sim::start().await;
    let (_state, env) = environment_with_state(sim.https_addr(), sim.ca_file.path());
    let running = start(config("resilient", &env)).await;
    let records: Vec<_> = (0..5)
        .map(|i| json!({"External_Id__c": format!("B-{i}"), "Name": format!("Batch {i}")}))
        .collect();
    let r = http()
        .post(format!("http://{}/batch", running.local_addr()))
        .json(&json!({"object": "Account", "records": records}))
        .send()
        .await
        .expect("batch");
    assert_eq!(r.status(), 202);
    eventually(LAND, "every batch row lands", || async {
        let landed = sim.export("Account").await;
        (0..5).all(|i| {
            landed
                .iter()
                .any(|r| r["External_Id__c"] == format!("B-{i}").as_str())
        })
    })
    .await;
    assert_eq!(
        running
            .metrics()
            .bulk_jobs
            .load(std::sync::atomic::Ordering::Relaxed),
        0,
        "5 rows are no job for Bulk"
    );
    running.shutdown().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resilient_holds_a_large_load_until_peak_hours_end() {
    let sim = Sim::start().await;
    let (_state, mut env) = environment_with_state(sim.https_addr(), sim.ca_file.path());
    env.insert("SFCHAOS_PEAK".into(), "0s-3s".into());
    let running = start(config("resilient", &env)).await;
    let http = http();
    let records: Vec<_> = (0..2_000)
        .map(|i| json!({"External_Id__c": format!("P-{i}"), "Name": format!("Peak {i}")}))
        .collect();
    let r = http
        .post(format!("http://{}/batch", running.local_addr()))
        .json(&json!({"object": "Account", "records": records}))
        .send()
        .await
        .expect("batch");
    assert_eq!(r.status(), 202);

    // Real-time work flows during the peak; the bulk load waits.
    let (status, _) = post_event(
        &http,
        &running,
        &event("p-rt", "RT-1", json!({"Name": "Real time"})),
    )
    .await;
    assert_eq!(status, 202);
    eventually(LAND, "the real-time event", || async {
        sim.record("Account", "RT-1").await.is_some()
    })
    .await;
    let during: Vec<_> = sim.export("Account").await;
    assert!(
        !during.iter().any(|r| r["External_Id__c"]
            .as_str()
            .is_some_and(|e| e.starts_with("P-"))),
        "no bulk row during peak hours"
    );

    eventually(
        Duration::from_secs(60),
        "the load after the peak",
        || async {
            let landed = sim.export("Account").await;
            landed
                .iter()
                .filter(|r| {
                    r["External_Id__c"]
                        .as_str()
                        .is_some_and(|e| e.starts_with("P-"))
                })
                .count()
                == 2_000
        },
    )
    .await;
    running.shutdown().await.expect("stop");
}
