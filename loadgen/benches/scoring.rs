//! Scoring throughput and memory: one full scoring pass (all ten detectors, the timeline) over a
//! synthetic run of 10,000,000 journal entries, 1,000,000 ledger events and 500,000 record
//! changes, read from compressed files exactly as `sfchaos run` leaves them.
//!
//! Target (issue 8): under 30 s and under 2 GiB. Run with
//! `cargo bench -p loadgen --bench scoring` (`SCORING_BENCH_ENTRIES=N` for another size,
//! `SCORING_BENCH_RUNS=N` for more passes). The data is generated once into
//! `target/bench-data/` and reused. Peak memory is the process's `VmHWM`, reset after generation
//! (`/proc/self/clear_refs`), so it is the scoring pass's own high-water mark.

// `x.is_multiple_of(n)` needs Rust 1.87; the workspace supports 1.85.
#![allow(clippy::manual_is_multiple_of)]

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use loadgen::datagen::EventKind;
use loadgen::ledger::{
    ExpectedState, KeyFinding, LedgerEntry, LedgerTotals, Outcome, Problem, Reconciliation,
};
use loadgen::scenario::{FieldRef, Owner, Ownership};
use loadgen::scoring::evidence::{
    ActorInfo, ChangeRecord, FaultWindow, LifecycleEvent, Span, StreamInfo, StreamKind,
};
use loadgen::scoring::{self, Evidence, Source};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use simulator::journal::{Api, FaultTag, JournalEntry};

const INTEGRATION: &str = "admin@sfchaos.test";
const ACTOR: &str = "sales@sfchaos.test";
const S: u64 = 1_000_000;

fn data_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("bench-data")
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Requests per second of scenario time in the synthetic run.
const RATE: u64 = 10_000;

struct Shape {
    entries: u64,
    duration_us: u64,
    outage: (u64, u64),
}

impl Shape {
    fn new(entries: u64) -> Self {
        let duration_us = entries * S / RATE;
        Shape {
            entries,
            duration_us,
            outage: (duration_us * 4 / 10, duration_us * 45 / 100),
        }
    }
}

fn encoder(path: &Path) -> zstd::stream::write::Encoder<'static, BufWriter<File>> {
    let f = BufWriter::with_capacity(1 << 20, File::create(path).expect("create bench data"));
    zstd::stream::write::Encoder::new(f, 1).expect("zstd encoder")
}

/// A realistic mix: upserts (60%), polls and reads (20%), describes, actor edits, CDC long polls,
/// composite calls with subrequests, bulk jobs; an outage answered by immediate retries.
fn write_journal(path: &Path, shape: &Shape) {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut out = encoder(path);
    let mut line = Vec::with_capacity(1024);
    let mut e = JournalEntry {
        app: Some("sfchaos-client".into()),
        org: Some("00D000000000001".into()),
        ..JournalEntry::default()
    };
    let step = S as f64 / RATE as f64;
    let mut retry_of: Option<(u64, u32)> = None;
    let mut id = 0u64;
    while id < shape.entries {
        id += 1;
        let t = (id as f64 * step) as u64;
        e.id = id;
        e.t_us = t;
        e.latency_us = rng.random_range(2_000..80_000);
        e.user = Some(INTEGRATION.into());
        e.status = 200;
        e.error_code = None;
        e.fault = None;
        e.query = None;
        e.result_hash = None;
        e.rows = None;
        e.item_failures = 0;
        e.parent = None;
        e.job = None;
        e.conditional = false;
        e.fields.clear();
        e.ids.clear();
        e.api_usage = Some((id / 3, 5_000_000));
        let in_outage = t >= shape.outage.0 && t < shape.outage.1;
        // Keep retrying the same operation while the outage lasts.
        let key = match retry_of {
            Some((k, n)) if in_outage && n < 50 => {
                retry_of = Some((k, n + 1));
                Some(k)
            }
            _ => None,
        };
        let roll: u32 = rng.random_range(0..100);
        if let Some(k) =
            key.or_else(|| (in_outage && roll < 70).then(|| rng.random_range(0..1_000_000)))
        {
            if key.is_none() {
                retry_of = Some((k, 0));
            }
            e.method = "PATCH".into();
            e.path = format!("/services/data/v62.0/sobjects/Account/External_Id__c/A-{k:06}");
            e.route = "sobjects.upsert".into();
            e.api = Api::Rest;
            e.object = Some("Account".into());
            e.status = 503;
            e.error_code = Some("SERVER_UNAVAILABLE".into());
            e.fault = Some(FaultTag {
                rule: "outage-0".into(),
                kind: "outage".into(),
                action: "respond:503".into(),
            });
            e.body_hash = Some(format!("{k:016x}"));
        } else if roll < 60 {
            let k: u64 = rng.random_range(0..1_000_000);
            e.method = "PATCH".into();
            e.path = format!("/services/data/v62.0/sobjects/Account/External_Id__c/A-{k:06}");
            e.route = "sobjects.upsert".into();
            e.api = Api::Rest;
            e.object = Some("Account".into());
            e.ids.push(format!("001{k:015}"));
            e.fields.extend(["Name".to_string(), "Phone".to_string()]);
            e.body_hash = Some(format!("{:016x}", rng.random::<u64>()));
            if rng.random_range(0..50) == 0 {
                e.status = 400;
                e.error_code = Some("UNABLE_TO_LOCK_ROW".into());
            }
        } else if roll < 72 {
            e.method = "GET".into();
            e.path = format!(
                "/services/data/v62.0/query?q=SELECT+Id+FROM+Account+WHERE+SystemModstamp+>+{t}"
            );
            e.route = "query".into();
            e.api = Api::Rest;
            e.query = Some("SELECT Id FROM Account WHERE SystemModstamp > ?".into());
            let rows = rng.random_range(0..3);
            e.rows = Some(rows);
            e.result_hash = Some(if rows == 0 {
                "0".into()
            } else {
                format!("{t:x}")
            });
            e.body_hash = None;
        } else if roll < 80 {
            let k: u64 = rng.random_range(0..1_000_000);
            e.method = "GET".into();
            e.path = format!("/services/data/v62.0/sobjects/Account/001{k:015}");
            e.route = "sobjects.get".into();
            e.api = Api::Rest;
            e.ids.push(format!("001{k:015}"));
            e.body_hash = None;
        } else if roll < 83 {
            e.method = "GET".into();
            e.path = "/services/data/v62.0/sobjects/Account/describe".into();
            e.route = "describe.object".into();
            e.api = Api::Rest;
            e.body_hash = None;
        } else if roll < 91 {
            let k: u64 = rng.random_range(0..1_000_000);
            e.user = Some(ACTOR.into());
            e.method = "PATCH".into();
            e.path = format!("/services/data/v62.0/sobjects/Account/001{k:015}");
            e.route = "sobjects.update".into();
            e.api = Api::Rest;
            e.ids.push(format!("001{k:015}"));
            e.fields.push("Phone".into());
            e.body_hash = Some(format!("{:016x}", rng.random::<u64>()));
        } else if roll < 96 {
            e.method = "POST".into();
            e.path = "/cometd/62.0/connect".into();
            e.route = "streaming.connect".into();
            e.api = Api::Streaming;
            e.body_hash = Some(format!("{:016x}", rng.random::<u64>()));
        } else if roll < 99 {
            e.method = "POST".into();
            e.path = "/services/data/v62.0/composite/sobjects".into();
            e.route = "composite.sobjects.upsert".into();
            e.api = Api::Composite;
            e.fields.push("Name".into());
            e.item_failures = u32::from(rng.random_range(0..20) == 0);
            e.body_hash = Some(format!("{:016x}", rng.random::<u64>()));
        } else {
            let job = format!("750{:015}", id / 100);
            e.method = if roll == 99 && id % 2 == 0 {
                "PROCESS"
            } else {
                "PUT"
            }
            .into();
            e.path = format!("/services/data/v62.0/jobs/ingest/{job}/batches");
            e.route = if e.method == "PROCESS" {
                "bulk2.ingest.process"
            } else {
                "bulk2.ingest.upload"
            }
            .into();
            e.api = Api::Bulk;
            e.rows = Some(2_500);
            e.item_failures = rng.random_range(0..3);
            e.job = Some(job);
            e.body_hash = Some(format!("{:016x}", rng.random::<u64>()));
        }
        line.clear();
        serde_json::to_writer(&mut line, &e).expect("encode");
        line.push(b'\n');
        out.write_all(&line).expect("write bench data");
    }
    out.finish().expect("finish").flush().expect("flush");
}

fn write_ledger(path: &Path, shape: &Shape, events: u64) -> Vec<KeyFinding> {
    let mut out = encoder(path);
    let mut findings = Vec::new();
    let mut fields = serde_json::Map::new();
    fields.insert("Name".into(), serde_json::json!("Acme"));
    for i in 0..events {
        let sent_us = i * shape.duration_us / events;
        let l = LedgerEntry {
            event_id: format!("evt-{i:08}"),
            stream: "account-upserts".into(),
            seq: i,
            sent_us,
            object: "Account".into(),
            external_id_field: "External_Id__c".into(),
            external_id: format!("A-{:06}", i % 1_000_000),
            kind: EventKind::Upsert,
            fields: fields.clone(),
            outcome: Outcome::Accepted { status: 202 },
            latency_us: 1_500 + i % 5_000,
        };
        if i % 2_000 == 0 && findings.len() < 500 {
            findings.push(KeyFinding {
                object: "Account".into(),
                external_id_field: "External_Id__c".into(),
                external_id: l.external_id.clone(),
                last_event_id: Some(l.event_id.clone()),
                problem: Problem::Lost {
                    expected: ExpectedState::Present,
                },
            });
        }
        serde_json::to_writer(&mut out, &l).expect("encode");
        out.write_all(b"\n").expect("write");
    }
    out.finish().expect("finish").flush().expect("flush");
    findings
}

fn write_changes(path: &Path, shape: &Shape, changes: u64) {
    let mut out = encoder(path);
    for i in 0..changes {
        let actor = i % 10 == 0;
        let mut fields = serde_json::Map::new();
        fields.insert(
            "Phone".into(),
            serde_json::json!(format!("555-{:04}", i % 10_000)),
        );
        let c = ChangeRecord {
            t_us: Some((i * shape.duration_us / changes) as i64),
            seq: i + 1,
            object: "Account".into(),
            record_id: format!("001{:015}", i % 1_000_000),
            change_type: "UPDATE".into(),
            commit_ms: 0,
            client: format!("{}|sfchaos-client", if actor { ACTOR } else { INTEGRATION }),
            changed_fields: vec!["Phone".into()],
            fields,
        };
        serde_json::to_writer(&mut out, &c).expect("encode");
        out.write_all(b"\n").expect("write");
    }
    out.finish().expect("finish").flush().expect("flush");
}

fn vm_hwm_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn main() {
    let entries = env_u64("SCORING_BENCH_ENTRIES", 10_000_000);
    let runs = env_u64("SCORING_BENCH_RUNS", 1).max(1);
    let shape = Shape::new(entries);
    let dir = data_dir().join(format!("scoring-{entries}"));
    std::fs::create_dir_all(&dir).expect("bench data directory");
    let journal = dir.join("journal.ndjson.zst");
    let ledger = dir.join("ledger.ndjson.zst");
    let changes = dir.join("changes.ndjson.zst");
    let findings_path = dir.join("findings.json");
    let events = entries / 10;
    if !journal.exists() || !findings_path.exists() {
        let t = Instant::now();
        write_journal(&journal, &shape);
        let findings = write_ledger(&ledger, &shape, events);
        write_changes(&changes, &shape, entries / 20);
        std::fs::write(
            &findings_path,
            serde_json::to_vec(&findings).expect("findings"),
        )
        .expect("write findings");
        println!("generated bench data in {:.1} s", t.elapsed().as_secs_f64());
    }
    let findings: Vec<KeyFinding> =
        serde_json::from_slice(&std::fs::read(&findings_path).expect("read findings"))
            .expect("parse findings");
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0) as f64 / 1e6;
    println!(
        "journal {entries} entries ({:.0} MB zstd), ledger {events} events ({:.0} MB), changes {} ({:.0} MB)",
        size(&journal),
        size(&ledger),
        entries / 20,
        size(&changes)
    );

    let mut ownership = Ownership::default();
    ownership.0.insert(
        FieldRef {
            object: "Account".into(),
            field: "Phone".into(),
        },
        Owner::Actor("sales".into()),
    );
    let lost = findings.len() as u64;
    let ev = Evidence {
        scenario: "bench".into(),
        seed: 1,
        load_us: shape.duration_us,
        drain_us: 30 * S,
        integration_user: INTEGRATION.into(),
        actors: vec![ActorInfo {
            name: "sales".into(),
            username: ACTOR.into(),
            object: "Account".into(),
            fields: vec!["Phone".into()],
        }],
        ownership,
        streams: vec![StreamInfo {
            name: "account-upserts".into(),
            kind: StreamKind::Events,
            object: "Account".into(),
            batch_size: None,
        }],
        faults: vec![FaultWindow {
            id: "outage-0".into(),
            kind: "outage".into(),
            span: Span::new(shape.outage.0, Some(shape.outage.1)),
            mode: Some("http-503".into()),
            installed: true,
            ..FaultWindow::default()
        }],
        peak: vec![Span::new(0, Some(shape.duration_us / 4))],
        lifecycle: vec![
            LifecycleEvent {
                t_us: (shape.duration_us * 7 / 10) as i64,
                event: "action-begin".into(),
                action: Some("crash-restart".into()),
                ..LifecycleEvent::default()
            },
            LifecycleEvent {
                t_us: (shape.duration_us * 7 / 10 + 3 * S) as i64,
                event: "healthy".into(),
                ..LifecycleEvent::default()
            },
        ],
        journal: Source::File(journal),
        ledger: Source::File(ledger),
        changes: Source::File(changes),
        reconciliation: Some(Reconciliation {
            totals: LedgerTotals {
                sent: events,
                accepted: events,
                landed: events - lost,
                lost,
                keys: events.min(1_000_000),
                ..LedgerTotals::default()
            },
            findings,
            findings_omitted: 0,
        }),
        ..Evidence::default()
    };

    if std::env::var_os("SCORING_BENCH_BREAKDOWN").is_some() {
        // Decoding alone, then each detector alone: where the time goes.
        let t = Instant::now();
        scoring::run(&ev, &[]).expect("decode");
        println!(
            "passes without detectors: {:.2} s",
            t.elapsed().as_secs_f64()
        );
        for id in loadgen::scenario::AntiPattern::ALL {
            let t = Instant::now();
            scoring::run(&ev, &[id]).expect("score");
            println!("with {id} alone: {:.2} s", t.elapsed().as_secs_f64());
        }
    }
    // Measure the scoring pass's own peak, not generation's.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    for run in 1..=runs {
        let t = Instant::now();
        let scored = scoring::score(&ev).expect("score the bench run");
        let secs = t.elapsed().as_secs_f64();
        let exercised = scored
            .anti_patterns
            .values()
            .filter(|a| a.score.is_some())
            .count();
        println!(
            "run {run}: scored {entries} journal entries in {secs:.2} s ({:.2} M entries/s), {exercised} of 10 anti-patterns exercised, timeline {} buckets",
            entries as f64 / secs / 1e6,
            scored.timeline.len()
        );
    }
    match vm_hwm_kib() {
        Some(kib) => println!("peak RSS (VmHWM) {:.0} MiB", kib as f64 / 1024.0),
        None => println!("peak RSS unavailable (no /proc/self/status)"),
    }
}
