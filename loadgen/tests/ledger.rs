//! The event ledger and its reconciliation against the org's final state.

use std::io::Write;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use loadgen::datagen::{
    account_fields, EventBuilder, EventKind, KeyDistribution, KeyPool, StreamSpec,
};
use loadgen::ledger::{
    load_ledgers, values_equal, ExpectedState, Ledger, LedgerEntry, LedgerError, LedgerRecord,
    LedgerWriter, OrgSnapshot, Outcome, Problem, ReconcileOptions, Reconciliation, SentEvent,
};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

const OBJ: &str = "Account";
const EXT: &str = "External_Id__c";

fn fields(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

fn entry(seq: u64, ext: &str, kind: EventKind, f: Value, outcome: Outcome) -> LedgerEntry {
    LedgerEntry {
        event_id: format!("evt-s-{seq}"),
        stream: "s".into(),
        seq,
        sent_us: seq * 1_000,
        object: OBJ.into(),
        external_id_field: EXT.into(),
        external_id: ext.into(),
        kind,
        fields: if kind == EventKind::Upsert {
            fields(f)
        } else {
            Map::new()
        },
        outcome,
        latency_us: 2_000,
    }
}

fn ok() -> Outcome {
    Outcome::Accepted { status: 202 }
}

fn upsert(seq: u64, ext: &str, f: Value) -> LedgerEntry {
    entry(seq, ext, EventKind::Upsert, f, ok())
}

fn delete(seq: u64, ext: &str) -> LedgerEntry {
    entry(seq, ext, EventKind::Delete, Value::Null, ok())
}

fn record(ext: &str, f: Value) -> Value {
    let mut m = fields(f);
    m.insert(EXT.into(), json!(ext));
    m.insert("Id".into(), json!(format!("001{ext}")));
    Value::Object(m)
}

fn ledger_of(entries: &[LedgerEntry]) -> Ledger {
    let mut l = Ledger::new();
    for e in entries {
        l.record(e);
    }
    l
}

fn reconcile(entries: &[LedgerEntry], records: Vec<Value>) -> Reconciliation {
    let mut org = OrgSnapshot::new();
    org.extend(OBJ, EXT, records);
    ledger_of(entries).reconcile(&org, ReconcileOptions::default())
}

/// One upsert per key `K-0 … K-{n-1}`, and the org state a correct integration leaves.
fn simple_run(n: u64) -> (Vec<LedgerEntry>, Vec<Value>) {
    let entries = (0..n)
        .map(|i| {
            upsert(
                i,
                &format!("K-{i}"),
                json!({"Name": format!("n{i}"), "Credit_Limit__c": i * 10}),
            )
        })
        .collect();
    let records = (0..n)
        .map(|i| {
            record(
                &format!("K-{i}"),
                json!({"Name": format!("n{i}"), "Credit_Limit__c": (i * 10) as f64}),
            )
        })
        .collect();
    (entries, records)
}

#[test]
fn a_correct_run_reconciles_cleanly() {
    let (entries, records) = simple_run(100);
    let r = reconcile(&entries, records);
    let t = &r.totals;
    assert_eq!((t.sent, t.accepted, t.rejected), (100, 100, 0));
    assert_eq!(
        (t.landed, t.lost, t.duplicates, t.wrong_value),
        (100, 0, 0, 0)
    );
    assert_eq!(t.keys, 100);
    assert!(r.findings.is_empty());
}

#[test]
fn records_never_written_are_exactly_the_lost_ones() {
    let (entries, records) = simple_run(100);
    let kept: Vec<Value> = records
        .into_iter()
        .enumerate()
        .filter(|(i, _)| i % 10 != 3)
        .map(|(_, r)| r)
        .collect();
    let r = reconcile(&entries, kept);
    assert_eq!(r.totals.lost, 10);
    assert_eq!(r.totals.landed, 90);
    assert_eq!(r.findings.len(), 10);
    let f = &r.findings[0];
    assert_eq!(f.external_id, "K-13");
    assert_eq!(f.last_event_id.as_deref(), Some("evt-s-13"));
    assert_eq!(
        f.problem,
        Problem::Lost {
            expected: ExpectedState::Present
        }
    );
}

#[test]
fn duplicates_count_the_extra_records() {
    let (entries, mut records) = simple_run(20);
    // 7 keys created twice, one key three times: 9 extra records.
    for i in 0..7 {
        records.push(records[i].clone());
    }
    records.push(records[10].clone());
    records.push(records[10].clone());
    let r = reconcile(&entries, records);
    assert_eq!(r.totals.duplicates, 9);
    // The data itself is there, so those keys still landed.
    assert_eq!(
        (r.totals.landed, r.totals.lost, r.totals.wrong_value),
        (20, 0, 0)
    );
    let dup = r
        .findings
        .iter()
        .find(|f| f.external_id == "K-10")
        .expect("finding");
    assert_eq!(dup.problem, Problem::Duplicate { records: 3 });
}

#[test]
fn wrong_values_are_counted_with_what_differed() {
    let (entries, mut records) = simple_run(10);
    records[4] = record("K-4", json!({"Name": "stale", "Credit_Limit__c": 40}));
    records[5] = record("K-5", json!({"Name": "n5"}));
    let r = reconcile(&entries, records);
    assert_eq!(r.totals.wrong_value, 2);
    assert_eq!(r.totals.landed, 8);
    let Problem::WrongValue { diffs } = &r.findings[0].problem else {
        panic!("expected a wrong value, got {:?}", r.findings[0]);
    };
    assert_eq!(diffs.len(), 1);
    assert_eq!(diffs[0].field, "Name");
    assert_eq!(
        (&diffs[0].expected, &diffs[0].actual),
        (&json!("n4"), &json!("stale"))
    );
    let Problem::WrongValue { diffs } = &r.findings[1].problem else {
        panic!("expected a wrong value");
    };
    assert_eq!(diffs[0].field, "Credit_Limit__c");
    assert_eq!(diffs[0].actual, Value::Null, "missing field");
}

#[test]
fn values_compare_with_documented_normalisation() {
    assert!(values_equal(&json!(1500.5), Some(&json!(1500.50))));
    assert!(values_equal(&json!(1500.5), Some(&json!("1500.50"))));
    assert!(values_equal(&json!("1500.50"), Some(&json!(1500.5))));
    assert!(values_equal(&json!(1000), Some(&json!(1000.0))));
    assert!(values_equal(&json!(""), None));
    assert!(values_equal(&json!(null), Some(&json!(""))));
    assert!(values_equal(&json!(true), Some(&json!("TRUE"))));
    assert!(values_equal(
        &json!(9_007_199_254_740_993_i64),
        Some(&json!(9_007_199_254_740_993_i64))
    ));
    assert!(!values_equal(
        &json!(9_007_199_254_740_993_i64),
        Some(&json!(9_007_199_254_740_992_i64))
    ));
    assert!(
        !values_equal(&json!("1500.50"), Some(&json!("1500.5"))),
        "strings are exact"
    );
    assert!(!values_equal(&json!("Acme"), Some(&json!("acme"))));
    assert!(!values_equal(&json!(1), Some(&json!(2))));
    assert!(!values_equal(&json!("x"), None));
    assert!(!values_equal(&json!(1), Some(&json!("one"))));
}

#[test]
fn deletes_expect_absence() {
    let entries = vec![
        upsert(1, "A", json!({"Name": "a1"})),
        delete(2, "A"),
        upsert(3, "B", json!({"Name": "b1"})),
        delete(4, "B"),
        // Re-created after its delete: only the new fields are expected.
        upsert(5, "C", json!({"Name": "c1", "Phone": "111"})),
        delete(6, "C"),
        upsert(7, "C", json!({"Name": "c2"})),
    ];
    let r = reconcile(
        &entries,
        vec![
            // A: deleted, as expected. B: still there, so the delete was lost.
            record("B", json!({"Name": "b1"})),
            record("C", json!({"Name": "c2", "Phone": null})),
        ],
    );
    assert_eq!(
        (r.totals.landed, r.totals.lost, r.totals.wrong_value),
        (2, 1, 0)
    );
    assert_eq!(r.findings.len(), 1);
    assert_eq!(r.findings[0].external_id, "B");
    assert_eq!(
        r.findings[0].problem,
        Problem::Lost {
            expected: ExpectedState::Absent
        }
    );
}

#[test]
fn later_events_win_whatever_order_replies_were_recorded_in() {
    let first = upsert(1, "A", json!({"Name": "old", "Phone": "1"}));
    let second = upsert(2, "A", json!({"Name": "new"}));
    for order in [
        vec![first.clone(), second.clone()],
        vec![second.clone(), first.clone()],
    ] {
        // Phone from the first event still stands: the second did not carry it.
        let good = reconcile(
            &order,
            vec![record("A", json!({"Name": "new", "Phone": "1"}))],
        );
        assert_eq!(good.totals.landed, 1);
        let stale = reconcile(
            &order,
            vec![record("A", json!({"Name": "old", "Phone": "1"}))],
        );
        assert_eq!(stale.totals.wrong_value, 1);
        let Problem::WrongValue { diffs } = &stale.findings[0].problem else {
            panic!("expected a wrong value");
        };
        assert_eq!(diffs[0].expected, json!("new"));
        assert_eq!(stale.findings[0].last_event_id.as_deref(), Some("evt-s-2"));
    }
}

#[test]
fn rejections_are_not_losses() {
    let entries = vec![
        upsert(1, "A", json!({"Name": "a1"})),
        entry(
            2,
            "A",
            EventKind::Upsert,
            json!({"Name": "a2"}),
            Outcome::Rejected { status: 503 },
        ),
        entry(
            3,
            "B",
            EventKind::Upsert,
            json!({"Name": "b"}),
            Outcome::Rejected { status: 400 },
        ),
        entry(
            4,
            "C",
            EventKind::Delete,
            Value::Null,
            Outcome::from_status(429),
        ),
    ];
    let r = reconcile(
        &entries,
        vec![record("A", json!({"Name": "a1"})), record("C", json!({}))],
    );
    let t = &r.totals;
    assert_eq!((t.sent, t.accepted, t.rejected, t.unanswered), (4, 1, 3, 0));
    assert_eq!((t.keys, t.landed, t.lost, t.wrong_value), (1, 1, 0, 0));
    // A rejected event must not be applied: if it was, the value is wrong.
    let applied = reconcile(&entries, vec![record("A", json!({"Name": "a2"}))]);
    assert_eq!(applied.totals.wrong_value, 1);
}

#[test]
fn unanswered_events_may_explain_the_final_state() {
    let entries = vec![
        upsert(1, "A", json!({"Name": "v1"})),
        entry(
            2,
            "A",
            EventKind::Upsert,
            json!({"Name": "v2"}),
            Outcome::Timeout,
        ),
        upsert(3, "B", json!({"Name": "b"})),
        entry(
            4,
            "B",
            EventKind::Delete,
            Value::Null,
            Outcome::TransportError {
                message: "reset".into(),
            },
        ),
    ];
    for a in ["v1", "v2"] {
        let r = reconcile(&entries, vec![record("A", json!({"Name": a}))]);
        // A landed either way; B's absence is explained by the unanswered delete.
        assert_eq!(
            (r.totals.landed, r.totals.lost, r.totals.wrong_value),
            (2, 0, 0),
            "{a}"
        );
        assert_eq!(r.totals.unanswered, 2);
        assert_eq!(r.totals.accepted, 2);
    }
    let wrong = reconcile(
        &entries,
        vec![
            record("A", json!({"Name": "v3"})),
            record("B", json!({"Name": "b"})),
        ],
    );
    assert_eq!((wrong.totals.landed, wrong.totals.wrong_value), (1, 1));
    // An unanswered event sent *before* the last accepted one explains nothing.
    let early = vec![
        entry(
            1,
            "A",
            EventKind::Upsert,
            json!({"Name": "v0"}),
            Outcome::Timeout,
        ),
        upsert(2, "A", json!({"Name": "v1"})),
    ];
    assert_eq!(
        reconcile(&early, vec![record("A", json!({"Name": "v0"}))])
            .totals
            .wrong_value,
        1
    );
}

#[test]
fn findings_are_capped_but_totals_are_not() {
    let (entries, _) = simple_run(30);
    let mut org = OrgSnapshot::new();
    org.extend(OBJ, EXT, Vec::new());
    let r = ledger_of(&entries).reconcile(&org, ReconcileOptions { max_findings: 5 });
    assert_eq!(r.totals.lost, 30);
    assert_eq!((r.findings.len(), r.findings_omitted), (5, 25));
}

#[test]
fn totals_have_the_report_json_shape_and_fetch_plan_lists_fields() {
    let (entries, records) = simple_run(3);
    let r = reconcile(&entries, records);
    let v = serde_json::to_value(&r.totals).expect("json");
    let keys: Vec<&str> = v
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        &keys[..7],
        [
            "sent",
            "accepted",
            "rejected",
            "landed",
            "lost",
            "duplicates",
            "wrong_value"
        ]
    );
    let plan = ledger_of(&entries).fetch_plan();
    assert_eq!(plan.len(), 1);
    assert_eq!(
        (plan[0].object.as_str(), plan[0].external_id_field.as_str()),
        (OBJ, EXT)
    );
    assert_eq!(
        plan[0]
            .fields
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        ["Credit_Limit__c", "Name"]
    );
    let finding = serde_json::to_value(&reconcile(&entries, vec![]).findings[0]).expect("json");
    assert_eq!(finding["problem"], json!("lost"));
    assert_eq!(finding["expected"], json!("present"));
}

#[test]
fn org_snapshot_skips_deleted_and_unkeyed_records() {
    let mut org = OrgSnapshot::new();
    let kept = org.extend(
        OBJ,
        EXT,
        vec![
            record("A", json!({})),
            json!({"Name": "no external id"}),
            json!({EXT: "B", "IsDeleted": true}),
            json!({EXT: 12345}),
            json!("not an object"),
        ],
    );
    assert_eq!((kept, org.skipped), (2, 3));
    let r =
        ledger_of(&[upsert(1, "12345", json!({}))]).reconcile(&org, ReconcileOptions::default());
    assert_eq!(r.totals.landed, 1, "numeric external ids match their text");
}

/// Events from the real builder over a disjoint key space per shard, with a deterministic outcome mix.
fn shard_entries(shard: u64, shards: u64) -> Vec<LedgerEntry> {
    let spec = StreamSpec {
        name: "accounts".into(),
        object: OBJ.into(),
        external_id_field: EXT.into(),
        kind: EventKind::Upsert,
        delete_fraction: 0.1,
        keys: KeyPool::new(500, KeyDistribution::Zipf { exponent: 1.1 }),
        fields: account_fields(),
    };
    let builder = EventBuilder::for_shard(&spec, 11, shard, shards).expect("valid");
    let at = Utc.timestamp_opt(0, 0).single().expect("time");
    (0..600)
        .map(|i| {
            let seq = i * shards + shard;
            let outcome = match seq % 13 {
                0 => Outcome::Rejected { status: 503 },
                1 => Outcome::Timeout,
                _ => ok(),
            };
            let event = builder.build(seq, at);
            LedgerEntry::from_event(
                &event,
                "accounts",
                seq,
                seq * 2_000,
                outcome,
                Duration::from_millis(3),
            )
        })
        .collect()
}

/// What a correct integration leaves: the fold of accepted events, in send order.
fn correct_org(entries: &[LedgerEntry]) -> Vec<Value> {
    let mut sorted: Vec<&LedgerEntry> =
        entries.iter().filter(|e| e.outcome.is_accepted()).collect();
    sorted.sort_by_key(|e| (e.sent_us, e.seq));
    let mut state: std::collections::BTreeMap<String, Option<Map<String, Value>>> =
        Default::default();
    for e in sorted {
        let slot = state.entry(e.external_id.clone()).or_default();
        match e.kind {
            EventKind::Delete => *slot = None,
            EventKind::Upsert => slot.get_or_insert_with(Map::new).extend(e.fields.clone()),
        }
    }
    state
        .into_iter()
        .filter_map(|(k, v)| v.map(|f| record(&k, Value::Object(f))))
        .collect()
}

#[test]
fn shard_ledgers_merge_into_the_single_ledger() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (shard_entries(0, 2), shard_entries(1, 2));
    let mut paths = Vec::new();
    for (i, entries) in [&a, &b].into_iter().enumerate() {
        let path = dir.path().join(format!("ledger-{i}.ndjson"));
        let mut w = LedgerWriter::create(&path).expect("create");
        for e in entries {
            w.append(e).expect("append");
        }
        assert_eq!(w.written(), 600);
        paths.push(path);
    }
    let (merged, report) = load_ledgers(&paths).expect("load");
    assert_eq!(report.entries, 1_200);
    assert_eq!(report.overlap.count, 0, "shards have disjoint keys");
    assert!(report.truncated.is_empty());

    let all: Vec<LedgerEntry> = a.iter().chain(&b).cloned().collect();
    let single = ledger_of(&all);
    let mut records = correct_org(&all);
    // Damage the org a little so the comparison covers every outcome.
    records.remove(3);
    records.push(records[0].clone());
    let mut org = OrgSnapshot::new();
    org.extend(OBJ, EXT, records);
    let (m, s) = (
        merged.reconcile(&org, ReconcileOptions::default()),
        single.reconcile(&org, ReconcileOptions::default()),
    );
    assert_eq!(m, s);
    assert_eq!(s.totals.sent, 1_200);
    assert_eq!(s.totals.lost + s.totals.wrong_value, 1);
    assert_eq!(s.totals.duplicates, 1);
    assert_eq!(
        s.totals.landed + s.totals.lost + s.totals.wrong_value,
        s.totals.keys
    );
}

#[test]
fn overlapping_shards_are_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut paths = Vec::new();
    for (i, ext) in ["A", "A"].iter().enumerate() {
        let path = dir.path().join(format!("l{i}.ndjson"));
        let mut w = LedgerWriter::create(&path).expect("create");
        w.append(&upsert(i as u64, ext, json!({"Name": i})))
            .expect("append");
        w.append(&upsert(10 + i as u64, &format!("only-{i}"), json!({})))
            .expect("append");
        paths.push(path);
    }
    let (merged, report) = load_ledgers(&paths).expect("load");
    assert_eq!(report.overlap.count, 1);
    assert_eq!(
        report.overlap.examples,
        vec!["Account.External_Id__c=A".to_owned()]
    );
    // Merged by send order all the same: the later event (seq 1) wins.
    let mut org = OrgSnapshot::new();
    org.add(OBJ, EXT, record("A", json!({"Name": 1})));
    org.add(OBJ, EXT, record("only-0", json!({})));
    org.add(OBJ, EXT, record("only-1", json!({})));
    assert_eq!(
        merged
            .reconcile(&org, ReconcileOptions::default())
            .totals
            .landed,
        3
    );
}

#[test]
fn ndjson_survives_a_crash_mid_line_but_names_corrupt_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ledger.ndjson");
    let (entries, _) = simple_run(5);
    let mut w = LedgerWriter::new(Vec::new());
    for e in &entries {
        w.append(e).expect("append");
    }
    let bytes = w.into_inner();
    assert_eq!(bytes.iter().filter(|&&b| b == b'\n').count(), 5);
    std::fs::write(&path, &bytes[..bytes.len() - 10]).expect("write");
    let (ledger, n, truncated) = Ledger::load(&path).expect("load");
    assert_eq!((n, truncated, ledger.sent()), (4, true, 4));

    let mut text = String::from_utf8(bytes).expect("utf-8");
    text.insert_str(0, "{\"not\": \"an entry\"}\n");
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .expect("write");
    let err = Ledger::load(&path).expect_err("corrupt");
    assert!(matches!(err, LedgerError::Parse { line: 1, .. }), "{err}");
    assert!(err.to_string().contains("ledger.ndjson:1:"));
}

/// The driver writes an event's line from the body it sent; it must be the line of the entry the
/// event stands for, whatever the event (deletes, escaped names) and outcome.
#[test]
fn sent_events_write_their_entries_lines() {
    let spec = StreamSpec {
        name: "ord\"ers".into(),
        object: OBJ.into(),
        external_id_field: EXT.into(),
        kind: EventKind::Upsert,
        delete_fraction: 0.3,
        keys: KeyPool::new(1_000, KeyDistribution::Uniform),
        fields: account_fields(),
    };
    let builder = EventBuilder::new(&spec, 11).expect("valid");
    let at = Utc
        .with_ymd_and_hms(2024, 5, 1, 12, 0, 0)
        .single()
        .expect("instant");
    let outcomes = [
        ok(),
        Outcome::Rejected { status: 503 },
        Outcome::TransportError {
            message: "reset by \"peer\"".into(),
        },
        Outcome::Timeout,
    ];
    let stream: std::sync::Arc<str> = std::sync::Arc::from(spec.name.as_str());
    let (mut sent_lines, mut entries) =
        (LedgerWriter::new(Vec::new()), LedgerWriter::new(Vec::new()));
    let mut deletes = 0;
    for seq in 0..200u64 {
        let mut body = Vec::new();
        let parts = builder.encode(seq, at, &mut body);
        let outcome = outcomes[(seq % 4) as usize].clone();
        let sent = SentEvent {
            stream: stream.clone(),
            seq,
            sent_us: seq * 997,
            body: body.into(),
            parts,
            outcome: outcome.clone(),
            latency_us: seq * 13,
        };
        let entry = LedgerEntry::from_event(
            &builder.build(seq, at),
            &spec.name,
            seq,
            seq * 997,
            outcome,
            Duration::from_micros(seq * 13),
        );
        deletes += usize::from(entry.kind == EventKind::Delete);
        assert_eq!(sent.to_entry().expect("decodes"), entry);
        sent_lines
            .append_all(&[LedgerRecord::Sent(sent)])
            .expect("write");
        entries.append(&entry).expect("write");
    }
    assert!(deletes > 20, "deletes exercised: {deletes}");
    assert_eq!(
        String::from_utf8(sent_lines.into_inner()).expect("utf-8"),
        String::from_utf8(entries.into_inner()).expect("utf-8")
    );
}

proptest! {
    /// The fold is order-independent: replies may be recorded in any order.
    #[test]
    fn recording_order_does_not_change_the_reconciliation(
        ops in proptest::collection::vec((0u8..3, 0u8..4, 0u8..5), 1..40),
        perm_seed in any::<u64>(),
        present in proptest::collection::vec(0u8..5, 0..6),
    ) {
        let entries: Vec<LedgerEntry> = ops
            .iter()
            .enumerate()
            .map(|(i, (key, what, value))| {
                let ext = format!("K{key}");
                let outcome = match what { 0 => Outcome::Rejected { status: 500 }, 1 => Outcome::Timeout, _ => ok() };
                let kind = if *value == 4 { EventKind::Delete } else { EventKind::Upsert };
                entry(i as u64, &ext, kind, json!({"Name": value}), outcome)
            })
            .collect();
        let mut shuffled = entries.clone();
        let mut x = perm_seed | 1;
        for i in (1..shuffled.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            shuffled.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let records: Vec<Value> = present
            .iter()
            .enumerate()
            .map(|(i, v)| record(&format!("K{}", i % 3), json!({"Name": v})))
            .collect();
        prop_assert_eq!(reconcile(&entries, records.clone()), reconcile(&shuffled, records));
    }
}
