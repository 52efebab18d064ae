//! How fast the load generator's own machinery is, so it is never the bottleneck it measures:
//! generating intended instants, and the recorder ingesting samples.
//!
//! `cargo bench -p loadgen --bench schedule` (add `-- --quick` for a short run).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use loadgen::recorder::{self, Outcome, RecorderConfig, RecorderState, Sample};
use loadgen::schedule::{RateSpec, Schedule};
use tokio::time::Instant;

const EVENTS: u64 = 100_000;

fn instants(c: &mut Criterion) {
    let mut g = c.benchmark_group("schedule");
    g.throughput(Throughput::Elements(EVENTS));
    let specs = [
        ("constant", RateSpec::Constant(1_000.0)),
        (
            "ramp",
            RateSpec::Ramp {
                from: 0.0,
                to: 2_000.0,
                over: Duration::from_secs(100),
            },
        ),
        ("poisson", RateSpec::Poisson(1_000.0)),
        (
            "burst",
            RateSpec::Burst {
                base_rate: 900.0,
                every: Duration::from_secs(1),
                size: 100,
            },
        ),
    ];
    for (name, spec) in specs {
        let schedule = Schedule::new(spec, Duration::from_secs(3_600), 7).expect("valid spec");
        g.bench_function(name, |b| {
            b.iter(|| {
                let n = schedule
                    .arrivals()
                    .take(EVENTS as usize)
                    .fold(0u64, |acc, a| acc ^ a.at.subsec_nanos() as u64);
                black_box(n)
            })
        });
    }
    g.finish();
}

fn samples(start: Instant, n: u64) -> Vec<Sample> {
    let streams: [Arc<str>; 4] = ["a", "b", "c", "d"].map(Arc::from);
    let phase: Arc<str> = Arc::from("baseline");
    (0..n)
        .map(|i| {
            // 10,000 events/s over 4 streams; latencies spread over 0.1–100 ms.
            let intended = start + Duration::from_micros(i * 100);
            let sent = intended + Duration::from_micros(i % 500);
            Sample {
                stream: Arc::clone(&streams[(i % 4) as usize]),
                phase: Arc::clone(&phase),
                intended,
                sent,
                done: sent + Duration::from_micros(100 + (i * 7_919) % 100_000),
                outcome: if i % 50 == 0 {
                    Outcome::Error
                } else {
                    Outcome::Ok
                },
            }
        })
        .collect()
}

fn recorder_ingest(c: &mut Criterion) {
    let mut g = c.benchmark_group("recorder");
    g.throughput(Throughput::Elements(EVENTS));
    let start = Instant::now();
    let input = samples(start, EVENTS);
    let wall = SystemTime::UNIX_EPOCH;

    // The synchronous core: histogram updates and interval roll-overs (10 s of intervals),
    // writing the interval log to memory.
    g.bench_function("state", |b| {
        b.iter_batched(
            || {
                RecorderState::new(
                    start,
                    wall,
                    Duration::from_secs(1),
                    &[],
                    Some(Box::new(std::io::sink())),
                )
                .expect("state")
            },
            |mut state| {
                for s in &input {
                    state.record(s);
                }
                black_box(
                    state
                        .finish(start + Duration::from_secs(11))
                        .expect("finish"),
                )
            },
            BatchSize::LargeInput,
        )
    });

    // The whole path workers use: channel send, task, histograms.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    // Samples are rebuilt per batch around the current instant, so the task's interval clock
    // always starts fresh.
    g.bench_function("task", |b| {
        b.to_async(&rt).iter_batched(
            || {
                let start = Instant::now();
                (start, samples(start, EVENTS))
            },
            |(start, batch)| async move {
                let rec = recorder::spawn(RecorderConfig::new(start, wall), None).expect("spawn");
                let tx = rec.sender();
                for s in batch {
                    tx.send(s).await;
                }
                drop(tx);
                black_box(rec.finish().await.expect("finish"))
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

/// What the driver does for each event besides the HTTP exchange: build it from the seed, encode
/// its body, and encode its ledger line.
fn event_work(c: &mut Criterion) {
    use loadgen::datagen::{account_fields, EventBuilder, KeyDistribution, KeyPool, StreamSpec};
    use loadgen::ledger::{LedgerEntry, Outcome as LedgerOutcome};
    let spec = StreamSpec {
        name: "orders".into(),
        object: "Account".into(),
        external_id_field: "External_Id__c".into(),
        kind: Default::default(),
        delete_fraction: 0.0,
        keys: KeyPool::new(100_000, KeyDistribution::Zipf { exponent: 1.1 }),
        fields: account_fields(),
    };
    let builder = EventBuilder::new(&spec, 7).expect("builder");
    let at = chrono::Utc::now();
    let mut g = c.benchmark_group("event");
    g.throughput(Throughput::Elements(1));
    let mut seq = 0u64;
    g.bench_function("build", |b| {
        b.iter(|| {
            seq += 1;
            black_box(builder.build(seq, at))
        })
    });
    let mut body = Vec::with_capacity(1024);
    g.bench_function("encode", |b| {
        b.iter(|| {
            seq += 1;
            body.clear();
            black_box(builder.encode(seq, at, &mut body));
        })
    });
    let event = builder.build(42, at);
    g.bench_function("body", |b| {
        b.iter(|| black_box(serde_json::to_vec(black_box(&event)).expect("json")))
    });
    let entry = LedgerEntry::from_event(
        &event,
        "orders",
        42,
        1_234_567,
        LedgerOutcome::from_status(202),
        Duration::from_micros(250),
    );
    let mut line = Vec::with_capacity(1024);
    g.bench_function("ledger_line", |b| {
        b.iter(|| {
            line.clear();
            serde_json::to_writer(&mut line, black_box(&entry)).expect("json");
            black_box(line.len())
        })
    });
    g.finish();
}

criterion_group!(benches, instants, recorder_ingest, event_work);
criterion_main!(benches);
