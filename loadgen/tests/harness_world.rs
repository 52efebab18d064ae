//! The embedded world: the org as `[org]` describes it, seed data with generated values, users,
//! actors editing through REST under their own identity, and the final-state snapshot the
//! ledger is reconciled against.

use std::time::Duration;

use loadgen::datagen::EventKind;
use loadgen::harness::actors::{run_actor, ActorCounts, ActorWorld};
use loadgen::harness::evidence::{files, NdjsonLog, RunClock};
use loadgen::harness::{reconcile, world};
use loadgen::ledger::{Ledger, LedgerEntry, Outcome, ReconcileOptions};
use loadgen::scenario::Scenario;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

const SCENARIO: &str = r#"
name = "world"
seed = 3
duration = "2s"

[org]
daily_api_requests = 12345
lock_wait = "2s"
cdc_objects = ["Account"]

[[org.seed]]
object = "Account"
count = 10
fields = { External_Id__c = { sequence = "A-" }, Region__c = { one_of = ["EMEA"] }, Industry = "Energy" }

[[actors]]
name = "sales"
object = "Account"
fields = { Phone = { one_of = ["555-0100", "555-0101"] } }
rate = { constant = 20 }
keys = { pool = 12, prefix = "A-" }
"#;

fn record(world: &world::World, ext: &str) -> Map<String, Value> {
    let org = world.org();
    let data = org.data.read();
    let obj = data.schema.object_index("Account").unwrap();
    let def = &data.schema.objects[obj];
    let fi = def.field_index("External_Id__c").unwrap();
    let num = *data.tables[obj]
        .find_by_index(fi, ext)
        .first()
        .unwrap_or_else(|| panic!("{ext}"));
    let row = data.row(obj, num).unwrap();
    def.fields
        .iter()
        .enumerate()
        .map(|(i, f)| (f.name.clone(), data.value(obj, row, i).to_json()))
        .collect()
}

#[tokio::test]
async fn the_org_is_configured_and_seeded_as_the_scenario_says() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = Scenario::from_str(SCENARIO, "world.toml").unwrap();
    let world = world::start(&scenario, 3, tmp.path()).await.unwrap();
    assert!(tmp.path().join(files::CA).is_file());
    assert!(world.https_url.starts_with("https://127.0.0.1:"));
    let org = world.org();
    assert_eq!(org.config.daily_api_requests, 12345);
    assert_eq!(org.config.lock_wait, Duration::from_secs(2));
    assert!(org.user(world::INTEGRATION_USER).is_some());
    assert!(org.user("sales@sfchaos.test").is_some());
    for i in 0..10 {
        let r = record(&world, &format!("A-{i:06}"));
        assert_eq!(r["Region__c"], "EMEA");
        assert_eq!(r["Industry"], "Energy");
    }
    world.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_fault_plan_is_installed_in_the_simulator_and_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    let text = format!(
        "{SCENARIO}\n[[faults]]\nid = \"down\"\nkind = \"outage\"\nstart = \"5s\"\nduration = \"10s\"\nmode = \"http-503\"\n"
    );
    let scenario = Scenario::from_str(&text, "world.toml").unwrap();
    let world = world::start(&scenario, 3, tmp.path()).await.unwrap();
    assert!(!world.state().fault_engine.has_rules());
    world.state().clock.restart();
    let path = tmp.path().join(files::FAULTS);
    let log = NdjsonLog::create(&path).unwrap();
    world::install_faults(world.state(), &scenario.faults, &log).unwrap();
    let plan = world.state().fault_engine.plan();
    assert_eq!(
        plan.rules.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["down"]
    );
    let recorded: Value = serde_json::from_str(
        std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(recorded["id"], "down");
    assert_eq!(recorded["installed"], true);
    assert_eq!(recorded["start_us"], 5_000_000);
    world.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn actors_edit_existing_records_under_their_own_identity() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = Scenario::from_str(SCENARIO, "world.toml").unwrap();
    let world = world::start(&scenario, 3, tmp.path()).await.unwrap();
    let clock = RunClock::starting_now();
    world.state().clock.restart();
    let counts = Arc::new(ActorCounts::default());
    let log_path = tmp.path().join(files::ACTOR_EDITS);
    let actor_world = ActorWorld {
        org: world.org(),
        http_url: world.http_url.clone(),
        api_version: "62.0".into(),
        clock,
        log: NdjsonLog::create(&log_path).unwrap(),
        seed: 3,
        shard: None,
        counts: Arc::clone(&counts),
    };
    run_actor(
        actor_world,
        scenario.actors[0].clone(),
        CancellationToken::new(),
    )
    .await
    .unwrap();
    let edits: Vec<Value> = std::fs::read_to_string(&log_path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(edits.len(), 40, "20/s for 2 s");
    let ok: Vec<&Value> = edits.iter().filter(|e| e["status"] == "ok").collect();
    let skipped = edits.iter().filter(|e| e["status"] == "skipped").count();
    assert_eq!(ok.len() + skipped, 40, "{edits:#?}");
    // Keys 10 and 11 have no record: edits drawn for them are skipped, not invented.
    for e in edits.iter().filter(|e| e["status"] == "skipped") {
        let ext = e["external_id"].as_str().unwrap();
        assert!(ext == "A-000010" || ext == "A-000011", "{e}");
    }
    assert!(ok.len() > 20);
    let actor_user = world.org().user("sales@sfchaos.test").unwrap().num;
    let last = ok.last().unwrap();
    let r = record(&world, last["external_id"].as_str().unwrap());
    let user_id = world.org().data.read().user_id(actor_user);
    assert_eq!(r["LastModifiedById"], user_id.as_str());
    let changes = world.org().changes.since(0, 1_000);
    assert!(!changes.is_empty());
    assert!(
        changes.iter().all(|c| c.client().contains("sales")),
        "{:?}",
        changes[0].client()
    );
    world.running.shutdown().await.unwrap();
}

fn entry(seq: u64, ext: &str, kind: EventKind, fields: Value, status: u16) -> LedgerEntry {
    LedgerEntry {
        event_id: format!("evt-s-{seq}"),
        stream: "s".into(),
        seq,
        sent_us: seq * 1_000,
        object: "Account".into(),
        external_id_field: "External_Id__c".into(),
        external_id: ext.into(),
        kind,
        fields: fields.as_object().cloned().unwrap_or_default(),
        outcome: Outcome::from_status(status),
        latency_us: 100,
    }
}

#[tokio::test]
async fn the_snapshot_reads_exactly_the_ledger_keys_and_reconciles() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = Scenario::from_str(SCENARIO, "world.toml").unwrap();
    let world = world::start(&scenario, 3, tmp.path()).await.unwrap();
    let mut ledger = Ledger::new();
    // Seeded records: A-000001 holds Industry "Energy" (matches), A-000002 does not (wrong
    // value), A-000099 was never created (lost), A-000003 was deleted by an accepted event but
    // is still there (lost), and a rejected event for A-000004 counts for nothing.
    ledger.record(&entry(
        1,
        "A-000001",
        EventKind::Upsert,
        json!({"industry": "Energy"}),
        200,
    ));
    ledger.record(&entry(
        2,
        "A-000002",
        EventKind::Upsert,
        json!({"Industry": "Retail"}),
        202,
    ));
    ledger.record(&entry(
        3,
        "A-000099",
        EventKind::Upsert,
        json!({"Industry": "Retail"}),
        200,
    ));
    ledger.record(&entry(4, "A-000003", EventKind::Delete, json!({}), 200));
    ledger.record(&entry(
        5,
        "A-000004",
        EventKind::Upsert,
        json!({"Industry": "Retail"}),
        500,
    ));
    let log = NdjsonLog::create(&tmp.path().join(files::ORG_FINAL)).unwrap();
    let snapshot = reconcile::snapshot(&world.org(), &ledger, Some(&log));
    let result = ledger.reconcile(&snapshot, ReconcileOptions::default());
    let t = &result.totals;
    assert_eq!((t.sent, t.accepted, t.rejected), (5, 4, 1));
    assert_eq!(
        (t.landed, t.lost, t.wrong_value, t.duplicates),
        (1, 2, 1, 0),
        "{result:#?}"
    );
    // The file holds the three records that exist, and reloads to the same verdicts.
    assert_eq!(log.lines(), 3);
    let reloaded = reconcile::load_snapshots(&[tmp.path().join(files::ORG_FINAL)]).unwrap();
    assert_eq!(
        ledger
            .reconcile(&reloaded, ReconcileOptions::default())
            .totals,
        result.totals
    );
    world.running.shutdown().await.unwrap();
}
