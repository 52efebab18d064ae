//! Data ownership, read from the simulator's journal: the resilient profile writes the fields it
//! owns, writes shared fields only conditionally and never over a newer edit, and never touches
//! fields someone else owns; the naive profile writes everything it knows.

mod reference_support;

use std::time::Duration;

use reference_support::*;
use serde_json::{json, Value};

const LAND: Duration = Duration::from_secs(20);

fn at(offset_secs: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(offset_secs))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn event_at(id: &str, key: &str, fields: Value, occurred_at: String) -> Value {
    let mut e = event(id, key, fields);
    e["occurred_at"] = json!(occurred_at);
    e
}

/// Journal entries of requests made by `client`.
async fn journal_of(sim: &Sim, client: &str) -> Vec<Value> {
    let url = format!("{}/__admin/journal?limit=100000", sim.running.http_url());
    let body: Value = http()
        .get(url)
        .send()
        .await
        .expect("journal")
        .json()
        .await
        .expect("journal json");
    body["entries"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e["client"] == client)
        .collect()
}

fn wrote(entries: &[Value], field: &str) -> bool {
    entries.iter().any(|e| {
        e["method"] != "GET"
            && e["fields"]
                .as_array()
                .is_some_and(|f| f.iter().any(|x| x == field))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resilient_respects_owners_and_newer_edits() {
    let sim = Sim::start().await;
    let (_state, mut env) = environment_with_state(sim.https_addr(), sim.ca_file.path());
    env.insert("SFCHAOS_OWNED_FIELDS".into(), "Account.Name".into());
    env.insert("SFCHAOS_FOREIGN_FIELDS".into(), "Account.Phone".into());
    let running = start(config("resilient", &env)).await;
    let http = http();

    // A new record takes every non-foreign field.
    let first = event_at(
        "o-1",
        "W-1",
        json!({"Name": "Wayne", "Website": "first.example", "Phone": "1"}),
        at(0),
    );
    assert_eq!(post_event(&http, &running, &first).await.0, 202);
    eventually(LAND, "W-1 created", || async {
        sim.record("Account", "W-1")
            .await
            .is_some_and(|r| r["Website"] == "first.example")
    })
    .await;

    // Someone else edits the shared field.
    sim.add_user("web.team@sfchaos.test").await;
    let actor = sim.client("web.team@sfchaos.test").await;
    let id = sim.record("Account", "W-1").await.expect("W-1")["Id"]
        .as_str()
        .expect("Id")
        .to_string();
    actor
        .update("Account", &id, &json!({"Website": "actor.example"}))
        .await
        .expect("actor edit");

    // An event that happened before that edit must not undo it; its owned field still lands.
    let stale = event_at(
        "o-2",
        "W-1",
        json!({"Name": "Wayne Enterprises", "Website": "stale.example"}),
        at(-3600),
    );
    assert_eq!(post_event(&http, &running, &stale).await.0, 202);
    eventually(LAND, "the owned field lands", || async {
        sim.record("Account", "W-1")
            .await
            .is_some_and(|r| r["Name"] == "Wayne Enterprises")
    })
    .await;
    assert_eq!(
        sim.record("Account", "W-1").await.expect("W-1")["Website"],
        "actor.example"
    );

    // A later event wins, written conditionally.
    let newer = event_at("o-3", "W-1", json!({"Website": "newer.example"}), at(5));
    assert_eq!(post_event(&http, &running, &newer).await.0, 202);
    eventually(LAND, "the newer shared value", || async {
        sim.record("Account", "W-1")
            .await
            .is_some_and(|r| r["Website"] == "newer.example")
    })
    .await;

    let journal = journal_of(&sim, "sfchaos-resilient").await;
    assert!(
        !wrote(&journal, "Phone"),
        "never writes a field someone else owns"
    );
    assert!(
        journal
            .iter()
            .any(|e| e["conditional"] == true && e["method"] == "PATCH"),
        "shared fields go out with a precondition"
    );
    running.shutdown().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn naive_writes_every_field_it_knows() {
    let sim = Sim::start().await;
    let mut env = environment(sim.https_addr(), sim.ca_file.path());
    env.insert("SFCHAOS_OWNED_FIELDS".into(), "Account.Name".into());
    env.insert("SFCHAOS_FOREIGN_FIELDS".into(), "Account.Phone".into());
    let running = start(config("naive", &env)).await;
    let http = http();
    let (status, _) = post_event(
        &http,
        &running,
        &event("n-1", "K-1", json!({"Name": "Kent"})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = post_event(
        &http,
        &running,
        &event("n-2", "K-1", json!({"Name": "Kent Farms"})),
    )
    .await;
    assert_eq!(status, 200);
    let journal = journal_of(&sim, "sfchaos-naive").await;
    assert!(
        wrote(&journal, "Phone"),
        "the whole known record goes back, Phone included"
    );
    assert!(!journal.iter().any(|e| e["conditional"] == true));
    running.shutdown().await.expect("stop");
}
