//! Journal append cost: every request the simulator answers appends one entry (in-memory ring + zstd file).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use simulator::journal::{Api, Journal, JournalEntry};

fn entry(id: u64) -> JournalEntry {
    JournalEntry {
        id,
        t_us: id * 1_000,
        latency_us: 850,
        org: Some("00D010000000001EAA".into()),
        user: Some("integration@sfchaos.test".into()),
        app: Some("sfchaos-client".into()),
        peer: Some("127.0.0.1:53422".into()),
        method: "PATCH".into(),
        path: "/services/data/v62.0/sobjects/Account/External_Id__c/A-000123".into(),
        route: "sobjects.upsert".into(),
        api: Api::Rest,
        object: Some("Account".into()),
        ids: vec!["001010000000123AAA".into()],
        fields: vec!["Name".into(), "Region__c".into(), "Credit_Limit__c".into()],
        body_hash: Some("9f2c1a7be03d44a1".into()),
        status: 200,
        api_cost: 1,
        api_usage: Some((id, 115_000)),
        ..Default::default()
    }
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut g = c.benchmark_group("journal");
    g.throughput(Throughput::Elements(1));
    let with_file = Journal::new(100_000, Some(&dir.path().join("j.ndjson.zst"))).unwrap();
    g.bench_function("append (ring + zstd file)", |b| {
        b.iter(|| {
            let id = with_file.next_id();
            with_file.append(entry(id));
        })
    });
    let memory_only = Journal::new(100_000, None).unwrap();
    g.bench_function("append (ring only)", |b| {
        b.iter(|| {
            let id = memory_only.next_id();
            memory_only.append(entry(id));
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
