//! SOQL engine speed: parsing, an external-id lookup and a LIKE scan over 100,000 accounts, and
//! rendering one 2,000-row REST page.
//!
//! Run with `cargo bench -p simulator --bench soql`.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use simulator::org::soql::{self, ExecOptions, QueryOutput};
use simulator::org::standard::default_schema;
use simulator::org::store::{OrgData, Writer};
use simulator::org::value::Value;

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

fn benches(c: &mut Criterion) {
    let data = org();
    let opts = opts();

    let typical = "SELECT Id, Name, Account.Name, Owner.Name FROM Contact WHERE LastModifiedDate > 2024-01-01T00:00:00Z AND (Email LIKE '%@example.com' OR LeadSource IN ('Web', 'Phone Inquiry')) ORDER BY LastModifiedDate DESC NULLS LAST LIMIT 200";
    c.bench_function("parse typical query", |b| {
        b.iter(|| soql::parse(black_box(typical)).expect("parse"))
    });
    c.bench_function("compile typical query", |b| {
        b.iter(|| soql::compile(&data, black_box(typical)).expect("compile"))
    });

    let lookup = "SELECT Id, Name FROM Account WHERE External_Id__c = 'A-000123'";
    let plan = soql::compile(&data, lookup).expect("compile");
    assert_eq!(
        rows(soql::execute(&data, &plan, &opts).expect("execute")).len(),
        1
    );
    c.bench_function("external-id lookup, 100k accounts: execute", |b| {
        b.iter(|| soql::execute(&data, black_box(&plan), &opts).expect("execute"))
    });
    c.bench_function(
        "external-id lookup, 100k accounts: compile+execute+render",
        |b| {
            b.iter(|| {
                let plan = soql::compile(&data, black_box(lookup)).expect("compile");
                let nums = rows(soql::execute(&data, &plan, &opts).expect("execute"));
                soql::render(&data, &plan, &nums, &opts)
            })
        },
    );

    let like = "SELECT Id, Name FROM Account WHERE Name LIKE '%y 4242%'";
    let plan = soql::compile(&data, like).expect("compile");
    assert_eq!(
        rows(soql::execute(&data, &plan, &opts).expect("execute")).len(),
        11
    );
    c.bench_function("LIKE full scan, 100k accounts", |b| {
        b.iter(|| soql::execute(&data, black_box(&plan), &opts).expect("execute"))
    });

    // The incremental-sync poll: a scan on SystemModstamp returning the few newest rows.
    let poll = "SELECT Id, Name FROM Account WHERE SystemModstamp > 2023-11-16T01:59:39Z ORDER BY SystemModstamp LIMIT 2000";
    let plan = soql::compile(&data, poll).expect("compile");
    assert_eq!(
        rows(soql::execute(&data, &plan, &opts).expect("execute")).len(),
        20
    );
    c.bench_function("SystemModstamp poll, 100k accounts", |b| {
        b.iter(|| soql::execute(&data, black_box(&plan), &opts).expect("execute"))
    });

    let page = "SELECT Id, Name, Industry, Region__c, AnnualRevenue, CreatedDate, Owner.Name FROM Account WHERE Industry = 'Technology' ORDER BY CreatedDate DESC LIMIT 2000";
    let plan = soql::compile(&data, page).expect("compile");
    let nums = rows(soql::execute(&data, &plan, &opts).expect("execute"));
    assert_eq!(nums.len(), 2000);
    c.bench_function("filter+sort 100k accounts to a 2,000-row page", |b| {
        b.iter(|| soql::execute(&data, black_box(&plan), &opts).expect("execute"))
    });
    c.bench_function("render 2,000-row page", |b| {
        b.iter(|| soql::render(&data, black_box(&plan), &nums, &opts))
    });
}

criterion_group!(soql_benches, benches);
criterion_main!(soql_benches);
