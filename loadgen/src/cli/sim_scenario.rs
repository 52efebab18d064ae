//! A scenario's `[org]` and `[[faults]]` as a simulator: what `sfchaos sim --scenario FILE` serves
//! (and what a harness embedding the simulator starts from).
//!
//! The org gets the scenario's edition, allocation and window, starting usage, lock wait, session
//! lifetime, long-running cap and CDC objects; then its `data_dir` (schema and CSV files) and its
//! `[[org.seed]]` records; the fault plan is installed as it is. Seed values are a pure function of
//! the seed, the object, the field and the record's index, so the same file and seed give the same
//! org.

use super::UsageError;
use crate::scenario::{Edition, FakeKind, Literal, OrgSpec, Scenario, SeedSpec, ValueSpec};
use serde_json::{json, Map, Value};
use simulator::org::schema::FieldType;
use simulator::org::store::{OrgData, Writer};
use simulator::org::write::{prepare, WriteOp};
use simulator::org::{self, OrgConfig};
use simulator::state::{SimConfig, SimState};

/// The org configuration a scenario asks for.
pub fn org_config(spec: &OrgSpec) -> OrgConfig {
    OrgConfig {
        edition: match spec.edition {
            Edition::Enterprise => org::Edition::Enterprise,
            Edition::Unlimited => org::Edition::Unlimited,
            Edition::Performance => org::Edition::Performance,
            Edition::Professional => org::Edition::Professional,
            Edition::Developer => org::Edition::Developer,
        },
        daily_api_requests: spec.daily_api_requests,
        api_window: spec.api_window,
        api_usage_start: spec.api_usage_start,
        session_lifetime: spec.session_lifetime,
        lock_wait: spec.lock_wait,
        long_running_cap: spec.long_running_cap,
        cdc_objects: spec.cdc_objects.clone(),
        ..OrgConfig::default()
    }
}

/// `base` with the scenario's org, seed (unless `seed` overrides it) and fault plan.
pub fn sim_config(scenario: &Scenario, seed: Option<u64>, base: SimConfig) -> SimConfig {
    SimConfig {
        seed: seed.unwrap_or(scenario.seed),
        org: org_config(&scenario.org),
        faults: scenario.faults.clone(),
        ..base
    }
}

/// Load the scenario's `data_dir` and create its seed records in the default org.
pub fn populate(state: &SimState, scenario: &Scenario) -> Result<(), UsageError> {
    if let Some(dir) = &scenario.org.data_dir {
        super::sim::load_data_dir(state, dir)
            .map_err(|e| UsageError::new(format!("{}: org.data_dir: {e}", scenario.file)))?;
    }
    let org = state.default_org();
    let writer = Writer {
        user: 1,
        origin: "com.salesforce.core".into(),
        client: "seed".into(),
    };
    let now = state.clock.now_ms();
    let mut data = org.data.write();
    for (i, spec) in scenario.org.seed.iter().enumerate() {
        seed_one(&mut data, spec, state.config.seed, &writer, now).map_err(|e| {
            UsageError::new(format!(
                "{}: org.seed[{i}] ({} {}): {e}",
                scenario.file, spec.count, spec.object
            ))
        })?;
    }
    Ok(())
}

/// Insert one `[[org.seed]]` entry: the simulator's realistic records, with fixed values applied
/// at insert and generated values written record by record after.
fn seed_one(
    data: &mut OrgData,
    spec: &SeedSpec,
    seed: u64,
    writer: &Writer,
    now: i64,
) -> Result<(), String> {
    let obj = data
        .schema
        .object_index(&spec.object)
        .ok_or_else(|| format!("the org has no object {}", spec.object))?;
    let before = data.tables[obj]
        .rows
        .keys()
        .next_back()
        .copied()
        .unwrap_or(0);
    let fixed: Map<String, Value> = spec
        .fields
        .iter()
        .filter_map(|(name, v)| match v {
            ValueSpec::Fixed(lit) => Some((name.clone(), literal(lit))),
            _ => None,
        })
        .collect();
    let count = u64::from(spec.count.get());
    simulator::org::seed::seed(data, &spec.object, count, &fixed, seed, writer, now)
        .map_err(|e| format!("{}: {e}", e.error_code()))?;
    let generated: Vec<(&String, &ValueSpec)> = spec
        .fields
        .iter()
        .filter(|(_, v)| !matches!(v, ValueSpec::Fixed(_)))
        .collect();
    if generated.is_empty() {
        return Ok(());
    }
    let rows: Vec<u64> = data.tables[obj]
        .rows
        .range(before + 1..)
        .map(|(n, _)| *n)
        .collect();
    for (index, num) in rows.into_iter().enumerate() {
        let mut values = Map::new();
        for (name, value) in &generated {
            let ftype = data.schema.objects[obj].field(name).map(|f| f.ftype);
            values.insert(
                (*name).clone(),
                generate(value, ftype, name, seed, index as u64),
            );
        }
        let prepared = prepare(data, obj, &values, WriteOp::Update, Some(num))
            .map_err(|e| format!("record {index}: {}: {e}", e.error_code()))?;
        let mut txn = data.txn_quiet();
        txn.update(obj, num, prepared, writer, now);
        txn.commit();
    }
    Ok(())
}

fn literal(lit: &Literal) -> Value {
    match lit {
        Literal::String(s) => json!(s),
        Literal::Int(i) => json!(i),
        Literal::Float(f) => json!(f),
        Literal::Bool(b) => json!(b),
    }
}

/// SplitMix64's finaliser, for values that depend on nothing but their inputs.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn hash(seed: u64, field: &str, index: u64) -> u64 {
    let name = field.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    mix(mix(seed ^ mix(name)) ^ index)
}

const FIRST: &[&str] = &[
    "Ada", "Alan", "Grace", "Linus", "Barbara", "Edsger", "Donald", "Frances",
];
const LAST: &[&str] = &[
    "Lovelace", "Turing", "Hopper", "Torvalds", "Liskov", "Dijkstra", "Knuth",
];
const CITIES: &[&str] = &[
    "London", "Paris", "Berlin", "Tokyo", "Toronto", "Sydney", "Austin",
];
const COUNTRIES: &[&str] = &["GB", "FR", "DE", "JP", "CA", "AU", "US"];
const WORDS: &[&str] = &[
    "alpha", "beta", "gamma", "delta", "omega", "quartz", "cedar", "maple",
];

/// One generated value for record `index` (0-based, as load keys are).
fn generate(
    spec: &ValueSpec,
    ftype: Option<FieldType>,
    field: &str,
    seed: u64,
    index: u64,
) -> Value {
    let h = hash(seed, field, index);
    let pick = |list: &[&str]| list[(h % list.len() as u64) as usize].to_string();
    match spec {
        ValueSpec::Fixed(lit) => literal(lit),
        ValueSpec::OneOf(values) => literal(&values[(h % values.len() as u64) as usize]),
        ValueSpec::IntRange { min, max } => {
            let span = (max - min) as u64 + 1;
            json!(min + (h % span) as i64)
        }
        ValueSpec::FloatRange { min, max } => {
            let unit = (h >> 11) as f64 / (1u64 << 53) as f64;
            json!(min + unit * (max - min))
        }
        ValueSpec::Sequence { prefix } => json!(format!("{prefix}{index:06}")),
        ValueSpec::Fake(kind) => json!(match kind {
            FakeKind::Company => format!(
                "{} {index:06}",
                pick(&["Acme", "Globex", "Initech", "Umbrella"])
            ),
            FakeKind::Name => format!("{} {}", pick(FIRST), LAST[(h >> 8) as usize % LAST.len()]),
            FakeKind::FirstName => pick(FIRST),
            FakeKind::LastName => pick(LAST),
            FakeKind::Email => format!("{}.{index}@example.com", pick(FIRST).to_lowercase()),
            FakeKind::Phone => format!("+1 415 555 {:04}", h % 10_000),
            FakeKind::Street => format!("{} {} Street", 1 + h % 999, pick(WORDS)),
            FakeKind::City => pick(CITIES),
            FakeKind::Country => pick(COUNTRIES),
            FakeKind::PostalCode => format!("{:05}", h % 100_000),
            FakeKind::Url => format!("https://{}{index}.example.com", pick(WORDS)),
            FakeKind::Words =>
                format!("{} {}", pick(WORDS), WORDS[(h >> 8) as usize % WORDS.len()]),
            FakeKind::Sentence => format!("The {} record number {index}.", pick(WORDS)),
            FakeKind::Uuid => {
                let l = mix(h);
                format!(
                    "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
                    h >> 32,
                    h & 0xffff,
                    l & 0xfff,
                    (l >> 12) & 0xfff,
                    l >> 16 & 0xffff_ffff_ffff
                )
            }
            FakeKind::Date => format!("2024-{:02}-{:02}", 1 + h % 12, 1 + (h >> 8) % 28),
            FakeKind::Datetime => format!(
                "2024-{:02}-{:02}T{:02}:00:00.000+0000",
                1 + h % 12,
                1 + (h >> 8) % 28,
                (h >> 16) % 24
            ),
        }),
        ValueSpec::Auto => auto(ftype, field, h, index),
    }
}

/// A value made from the field's type, for the list form `fields = ["Phone"]`.
fn auto(ftype: Option<FieldType>, field: &str, h: u64, index: u64) -> Value {
    match ftype {
        Some(FieldType::Boolean) => json!(h.is_multiple_of(2)),
        Some(FieldType::Int | FieldType::Long) => json!((h % 1000) as i64),
        Some(t) if t.is_numeric() => json!((h % 100_000) as f64),
        Some(FieldType::Date) => json!(format!("2024-{:02}-{:02}", 1 + h % 12, 1 + (h >> 8) % 28)),
        Some(FieldType::Datetime) => json!("2024-01-01T00:00:00.000+0000"),
        Some(FieldType::Email) => json!(format!("user{index}@example.com")),
        Some(FieldType::Phone) => json!(format!("+1 415 555 {:04}", h % 10_000)),
        Some(FieldType::Url) => json!(format!("https://example.com/{index}")),
        _ => json!(format!("{} {index}", field.trim_end_matches("__c"))),
    }
}
