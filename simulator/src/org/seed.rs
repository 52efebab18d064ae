//! Deterministic seed data: `count` realistic records of an object, derived from the seed.
//!
//! Accounts get `External_Id__c` values `A-000001…` (the same key space the load generator draws from),
//! so scenarios can update seeded records by external id. Child objects point at existing parents.
//! Loads are quiet: no CDC events and no history, as for a data migration done before the run.

use super::schema::FieldType;
use super::store::{OrgData, Writer};
use super::value;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const CITIES: &[&str] = &[
    "San Francisco",
    "New York",
    "London",
    "Paris",
    "Berlin",
    "Tokyo",
    "Sydney",
    "Toronto",
    "São Paulo",
    "Singapore",
];
const REGIONS: &[&str] = &["AMER", "EMEA", "APAC", "LATAM"];
const INDUSTRIES: &[&str] = &[
    "Technology",
    "Finance",
    "Healthcare",
    "Retail",
    "Manufacturing",
    "Energy",
];
const FIRST: &[&str] = &[
    "Ada", "Alan", "Grace", "Linus", "Barbara", "Edsger", "Donald", "Frances", "Ken", "Margaret",
];
const LAST: &[&str] = &[
    "Lovelace", "Turing", "Hopper", "Torvalds", "Liskov", "Dijkstra", "Knuth", "Allen", "Thompson",
    "Hamilton",
];

/// Width of zero-padded external ids (`A-000123`).
pub const EXT_ID_WIDTH: usize = 6;

/// The external id of the `n`-th seeded record of an object (`A-000001` for Accounts).
pub fn external_id(object: &str, n: u64) -> String {
    let prefix = match object {
        "Account" => "A",
        "Contact" => "C",
        "Opportunity" => "O",
        "Lead" => "L",
        "Case" => "K",
        other => &other[..1.min(other.len())],
    };
    format!("{prefix}-{n:0width$}", width = EXT_ID_WIDTH)
}

/// Insert `count` generated records of `object` (with `overrides` applied to every record). Returns
/// the number inserted.
pub fn seed(
    data: &mut OrgData,
    object: &str,
    count: u64,
    overrides: &serde_json::Map<String, serde_json::Value>,
    seed: u64,
    writer: &Writer,
    now_ms: i64,
) -> Result<u64, crate::error::ApiError> {
    let obj = data.schema.object_index(object).ok_or_else(|| {
        crate::error::ApiError::InvalidType(format!("sObject type '{object}' is not supported."))
    })?;
    let name = data.schema.objects[obj].name.clone();
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ fxhash(&name));
    // Parents for children: a sample of live Account ids.
    let accounts: Vec<String> = match data.schema.object_index("Account") {
        Some(ai) if name != "Account" => data.tables[ai]
            .rows
            .values()
            .filter(|r| !r.deleted)
            .take(100_000)
            .map(|r| data.id_of(ai, r.num).to18())
            .collect(),
        _ => vec![],
    };
    let start = data.live_count(obj) as u64;
    let mut inserted = 0;
    // Chunks keep each transaction small.
    for chunk_start in (0..count).step_by(10_000) {
        let chunk_end = (chunk_start + 10_000).min(count);
        let mut rows = Vec::with_capacity((chunk_end - chunk_start) as usize);
        for i in chunk_start..chunk_end {
            let n = start + i + 1;
            let mut m = generate(&name, n, &mut rng, &accounts);
            if m.is_empty() {
                m = required_defaults(data, obj, n);
            }
            for (k, v) in overrides {
                m.insert(k.clone(), v.clone());
            }
            rows.push(m);
        }
        let mut prepared = Vec::with_capacity(rows.len());
        for m in &rows {
            prepared.push(super::write::prepare(
                data,
                obj,
                m,
                super::write::WriteOp::Create,
                None,
            )?);
        }
        let mut txn = data.txn_quiet();
        for fields in prepared {
            txn.insert(obj, fields, writer, now_ms);
            inserted += 1;
        }
        txn.commit();
    }
    Ok(inserted)
}

fn fxhash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

fn pick<'a>(rng: &mut ChaCha8Rng, list: &[&'a str]) -> &'a str {
    list[rng.random_range(0..list.len())]
}

fn generate(
    object: &str,
    n: u64,
    rng: &mut ChaCha8Rng,
    accounts: &[String],
) -> serde_json::Map<String, serde_json::Value> {
    use serde_json::json;
    let mut m = serde_json::Map::new();
    let mut set = |k: &str, v: serde_json::Value| {
        m.insert(k.to_string(), v);
    };
    let parent = |rng: &mut ChaCha8Rng| -> serde_json::Value {
        if accounts.is_empty() {
            serde_json::Value::Null
        } else {
            json!(accounts[rng.random_range(0..accounts.len())])
        }
    };
    let first = pick(rng, FIRST);
    let last = pick(rng, LAST);
    match object {
        "Account" => {
            set("Name", json!(format!("Acme {n:06}")));
            set("External_Id__c", json!(external_id(object, n)));
            set("Region__c", json!(pick(rng, REGIONS)));
            set(
                "Credit_Limit__c",
                json!(rng.random_range(10..500) as f64 * 1000.0),
            );
            set("Industry", json!(pick(rng, INDUSTRIES)));
            set("BillingCity", json!(pick(rng, CITIES)));
            set("Phone", json!(format!("+1 415 555 {:04}", n % 10_000)));
        }
        "Contact" => {
            set("FirstName", json!(first));
            set("LastName", json!(format!("{last} {n}")));
            set(
                "Email",
                json!(format!("{}.{n}@example.com", first.to_lowercase())),
            );
            set("External_Id__c", json!(external_id(object, n)));
            let p = parent(rng);
            if !p.is_null() {
                set("AccountId", p);
            }
        }
        "Opportunity" => {
            set("Name", json!(format!("Deal {n:06}")));
            set("StageName", json!("Prospecting"));
            set(
                "CloseDate",
                json!(value::format_date(19_000 + (n % 365) as i32)),
            );
            set("Amount", json!(rng.random_range(1..100) as f64 * 1000.0));
            set("External_Id__c", json!(external_id(object, n)));
            let p = parent(rng);
            if !p.is_null() {
                set("AccountId", p);
            }
        }
        "Lead" => {
            set("FirstName", json!(first));
            set("LastName", json!(format!("{last} {n}")));
            set("Company", json!(format!("Prospect {n:06}")));
            set("External_Id__c", json!(external_id(object, n)));
        }
        "Case" => {
            set("Subject", json!(format!("Case {n:06}")));
            set("Origin", json!("Web"));
            set("External_Id__c", json!(external_id(object, n)));
            let p = parent(rng);
            if !p.is_null() {
                set("AccountId", p);
            }
        }
        _ => {}
    }
    m
}

/// Fill required fields of a custom object generically (used for objects the generator doesn't know).
pub fn required_defaults(
    data: &OrgData,
    obj: usize,
    n: u64,
) -> serde_json::Map<String, serde_json::Value> {
    let o = &data.schema.objects[obj];
    let mut m = serde_json::Map::new();
    for (_, f) in o.active_fields().filter(|(_, f)| f.required_on_create()) {
        let v = match f.ftype {
            FieldType::Int | FieldType::Long => serde_json::json!(n as i64),
            t if t.is_numeric() => serde_json::json!(n as f64),
            FieldType::Date => serde_json::json!(value::format_date(19_000)),
            FieldType::Datetime => serde_json::json!("2024-01-01T00:00:00.000+0000"),
            FieldType::Picklist => f
                .picklist
                .first()
                .map(|p| serde_json::json!(p.value))
                .unwrap_or(serde_json::json!("A")),
            _ => serde_json::json!(format!("{} {n}", f.label)),
        };
        m.insert(f.name.clone(), v);
    }
    m
}
