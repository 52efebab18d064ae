//! SOQL engine speed: parsing, an external-id lookup and a LIKE scan over 100,000 accounts, and
//! rendering one 2,000-row REST page.
//!
//! Run with `cargo bench -p simulator --bench soql`. Besides criterion's wall-clock figures, the run
//! ends with each operation's *on-CPU* time per iteration (from `/proc/thread-self/schedstat` on
//! Linux), which stays meaningful when the machine is shared with other busy processes.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use simulator::org::soql::{self, ExecOptions, QueryOutput};
use simulator::org::standard::default_schema;
use simulator::org::store::{OrgData, Writer};
use simulator::org::value::Value;
use std::sync::OnceLock;
use std::time::Instant;

const ACCOUNTS: u64 = 100_000;
const INDUSTRIES: &[&str] = &["Technology", "Banking", "Retail", "Energy", "Media"];
const REGIONS: &[&str] = &["AMER", "EMEA", "APAC", "LATAM"];

/// 100,000 accounts (plus their owner), inserted in transactions of 1,000 like a bulk load.
fn org() -> OrgData {
    let mut data = OrgData::new(default_schema(), 1);
    let writer = Writer {
        user: 1,
        origin: String::new(),
        client: "bench".into(),
    };
    let user = data.schema.object_index("User").expect("User");
    let u = &data.schema.objects[user];
    let fields = ["Username", "LastName", "FirstName", "Email", "Alias"]
        .iter()
        .zip([
            "bench@example.com",
            "Bench",
            "Ada",
            "bench@example.com",
            "bench",
        ])
        .map(|(n, v)| (u.field_index(n).expect("field"), Value::str(v)))
        .collect();
    let mut txn = data.txn();
    txn.insert(user, fields, &writer, 0);
    txn.commit();

    let acc = data.schema.object_index("Account").expect("Account");
    let o = &data.schema.objects[acc];
    let fi = |n: &str| o.field_index(n).expect("field");
    let (name, ext, industry, region, revenue) = (
        fi("Name"),
        fi("External_Id__c"),
        fi("Industry"),
        fi("Region__c"),
        fi("AnnualRevenue"),
    );
    let mut i = 0u64;
    while i < ACCOUNTS {
        let mut txn = data.txn();
        for _ in 0..1_000 {
            let fields = vec![
                (name, Value::str(format!("Company {i} Corp"))),
                (ext, Value::str(format!("A-{i:06}"))),
                (industry, Value::str(INDUSTRIES[(i % 5) as usize])),
                (region, Value::str(REGIONS[(i % 4) as usize])),
                (revenue, Value::Num((i % 1000) as f64 * 1000.0)),
            ];
            txn.insert(acc, fields, &writer, 1_700_000_000_000 + i as i64 * 1000);
            i += 1;
        }
        txn.commit();
    }
    data
}

fn opts() -> ExecOptions {
    ExecOptions {
        now_ms: 1_715_769_000_000,
        include_deleted: false,
        data_path: "/services/data/v62.0".into(),
    }
}

fn rows(out: QueryOutput) -> Vec<u64> {
    match out {
        QueryOutput::Rows { nums, .. } => nums,
        _ => Vec::new(),
    }
}

/// The 100,000-account org, built once for all benchmark functions.
fn data() -> &'static OrgData {
    static DATA: OnceLock<OrgData> = OnceLock::new();
    DATA.get_or_init(org)
}

const TYPICAL: &str = "SELECT Id, Name, Account.Name, Owner.Name FROM Contact WHERE LastModifiedDate > 2024-01-01T00:00:00Z AND (Email LIKE '%@example.com' OR LeadSource IN ('Web', 'Phone Inquiry')) ORDER BY LastModifiedDate DESC NULLS LAST LIMIT 200";
const LOOKUP: &str = "SELECT Id, Name FROM Account WHERE External_Id__c = 'A-000123'";
const LIKE: &str = "SELECT Id, Name FROM Account WHERE Name LIKE '%y 4242%'";
/// The incremental-sync poll: a scan on SystemModstamp returning the few newest rows.
const POLL: &str = "SELECT Id, Name FROM Account WHERE SystemModstamp > 2023-11-16T01:59:39Z ORDER BY SystemModstamp LIMIT 2000";
const PAGE: &str = "SELECT Id, Name, Industry, Region__c, AnnualRevenue, CreatedDate, Owner.Name FROM Account WHERE Industry = 'Technology' ORDER BY CreatedDate DESC LIMIT 2000";

fn benches(c: &mut Criterion) {
    let data = data();
    let opts = opts();

    let typical = TYPICAL;
    c.bench_function("parse typical query", |b| {
        b.iter(|| soql::parse(black_box(typical)).expect("parse"))
    });
    c.bench_function("compile typical query", |b| {
        b.iter(|| soql::compile(data, black_box(typical)).expect("compile"))
    });

    let lookup = LOOKUP;
    let plan = soql::compile(data, lookup).expect("compile");
    assert_eq!(
        rows(soql::execute(data, &plan, &opts).expect("execute")).len(),
        1
    );
    c.bench_function("external-id lookup, 100k accounts: execute", |b| {
        b.iter(|| soql::execute(data, black_box(&plan), &opts).expect("execute"))
    });
    c.bench_function(
        "external-id lookup, 100k accounts: compile+execute+render",
        |b| {
            b.iter(|| {
                let plan = soql::compile(data, black_box(lookup)).expect("compile");
                let nums = rows(soql::execute(data, &plan, &opts).expect("execute"));
                soql::render(data, &plan, &nums, &opts)
            })
        },
    );

    let like = LIKE;
    let plan = soql::compile(data, like).expect("compile");
    assert_eq!(
        rows(soql::execute(data, &plan, &opts).expect("execute")).len(),
        11
    );
    c.bench_function("LIKE full scan, 100k accounts", |b| {
        b.iter(|| soql::execute(data, black_box(&plan), &opts).expect("execute"))
    });

    let poll = POLL;
    let plan = soql::compile(data, poll).expect("compile");
    assert_eq!(
        rows(soql::execute(data, &plan, &opts).expect("execute")).len(),
        20
    );
    c.bench_function("SystemModstamp poll, 100k accounts", |b| {
        b.iter(|| soql::execute(data, black_box(&plan), &opts).expect("execute"))
    });

    let page = PAGE;
    let plan = soql::compile(data, page).expect("compile");
    let nums = rows(soql::execute(data, &plan, &opts).expect("execute"));
    assert_eq!(nums.len(), 2000);
    c.bench_function("filter+sort 100k accounts to a 2,000-row page", |b| {
        b.iter(|| soql::execute(data, black_box(&plan), &opts).expect("execute"))
    });
    c.bench_function("render 2,000-row page", |b| {
        b.iter(|| soql::render(data, black_box(&plan), &nums, &opts))
    });
}

/// On-CPU nanoseconds of this thread so far; `None` off Linux.
fn cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn per_iteration<T>(name: &str, iters: u32, mut f: impl FnMut() -> T) {
    let (cpu0, wall0) = (cpu_ns(), Instant::now());
    for _ in 0..iters {
        black_box(f());
    }
    let wall = wall0.elapsed().as_secs_f64() * 1e6 / f64::from(iters);
    match (cpu0, cpu_ns()) {
        (Some(a), Some(b)) => {
            let cpu = (b - a) as f64 / 1e3 / f64::from(iters);
            println!("on-CPU {name}: {cpu:.2} µs/iter (wall {wall:.2} µs)");
        }
        _ => println!("wall {name}: {wall:.2} µs/iter"),
    }
}

/// The same operations, timed by on-CPU time.
fn cpu_time(_: &mut Criterion) {
    let data = data();
    let opts = opts();
    per_iteration("parse typical query", 20_000, || soql::parse(TYPICAL));
    per_iteration("compile typical query", 20_000, || {
        soql::compile(data, TYPICAL)
    });
    let plan = soql::compile(data, LOOKUP).expect("compile");
    per_iteration("external-id lookup: execute", 100_000, || {
        soql::execute(data, &plan, &opts)
    });
    per_iteration("external-id lookup: compile+execute+render", 20_000, || {
        let plan = soql::compile(data, LOOKUP).expect("compile");
        let nums = rows(soql::execute(data, &plan, &opts).expect("execute"));
        soql::render(data, &plan, &nums, &opts)
    });
    // The floor: walking the store's 100,000 rows and touching each Name, without the engine.
    let acc = data.schema.object_index("Account").expect("Account");
    let name_fi = data.schema.objects[acc].field_index("Name").expect("Name");
    per_iteration("baseline: iterate rows reading Name", 20, || {
        data.tables[acc]
            .rows
            .values()
            .filter(|r| {
                r.get_raw(name_fi)
                    .and_then(Value::as_str)
                    .is_some_and(|s| s.len() > 3)
            })
            .count()
    });
    for (name, q) in [
        ("LIKE full scan", LIKE),
        ("SystemModstamp poll", POLL),
        ("filter+sort to 2,000", PAGE),
    ] {
        let plan = soql::compile(data, q).expect("compile");
        per_iteration(name, 20, || soql::execute(data, &plan, &opts));
    }
    let plan = soql::compile(data, PAGE).expect("compile");
    let nums = rows(soql::execute(data, &plan, &opts).expect("execute"));
    per_iteration("render 2,000-row page", 20, || {
        soql::render(data, &plan, &nums, &opts)
    });
}

criterion_group!(soql_benches, benches, cpu_time);
criterion_main!(soql_benches);
