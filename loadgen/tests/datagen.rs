//! Deterministic data: key pools, field generators, event bodies.

use std::collections::HashSet;

use chrono::{TimeZone, Utc};
use indexmap::IndexMap;
use loadgen::datagen::{
    account_fields, preset, DatagenError, EventBuilder, EventKind, FieldContext, FieldSpec,
    KeyDistribution, KeyPool, StreamSpec,
};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

fn ctx(key_index: u64, version: u64) -> FieldContext<'static> {
    FieldContext {
        seed: 42,
        key_index,
        external_id: "A-000123",
        index_text: "000123",
        version,
    }
}

fn stream(fields: IndexMap<String, FieldSpec>) -> StreamSpec {
    StreamSpec {
        name: "account-upserts".into(),
        object: "Account".into(),
        external_id_field: "External_Id__c".into(),
        kind: EventKind::Upsert,
        delete_fraction: 0.0,
        keys: KeyPool::new(10_000, KeyDistribution::Zipf { exponent: 1.1 }),
        fields,
    }
}

#[test]
fn external_ids_are_zero_padded_to_the_pool_width() {
    let pool = KeyPool::new(10_000, KeyDistribution::Uniform);
    assert_eq!(pool.external_id(123), "A-0123");
    assert_eq!(pool.external_id(9_999), "A-9999");
    let wide = KeyPool {
        width: Some(6),
        ..pool.clone()
    };
    assert_eq!(wide.external_id(123), "A-000123");
    let custom = KeyPool {
        prefix: "CUST".into(),
        ..KeyPool::new(1_000_000, KeyDistribution::Uniform)
    };
    assert_eq!(custom.external_id(42), "CUST000042");
    assert_eq!(pool.index_of("A-0123"), Some(123));
    assert_eq!(pool.index_of("B-0123"), None);
    assert_eq!(pool.index_of("A-12x4"), None);
    assert_eq!(pool.index_of("A-10000"), None, "outside the pool");
}

#[test]
fn uniform_draws_are_seeded_and_cover_the_pool() {
    let sampler = KeyPool::new(100, KeyDistribution::Uniform)
        .sampler()
        .expect("valid");
    let draw = |seed| {
        let mut r = rng(seed);
        (0..5_000).map(|_| sampler.draw(&mut r)).collect::<Vec<_>>()
    };
    assert_eq!(draw(1), draw(1));
    assert_ne!(draw(1), draw(2));
    let seen: HashSet<u64> = draw(1).into_iter().collect();
    assert_eq!(seen.len(), 100);
    assert!(seen.iter().all(|k| *k < 100));
}

#[test]
fn zipf_draws_follow_the_power_law_with_key_zero_hottest() {
    let n = 10_000u64;
    let s = 1.1;
    let sampler = KeyPool::new(n, KeyDistribution::Zipf { exponent: s })
        .sampler()
        .expect("valid");
    let mut r = rng(7);
    let draws = 200_000;
    let mut counts = vec![0u64; n as usize];
    for _ in 0..draws {
        counts[sampler.draw(&mut r) as usize] += 1;
    }
    let h: f64 = (1..=n).map(|k| (k as f64).powf(-s)).sum();
    for rank in [1u64, 2, 10] {
        let expected = draws as f64 * (rank as f64).powf(-s) / h;
        let got = counts[(rank - 1) as usize] as f64;
        assert!(
            (got - expected).abs() < 5.0 * expected.sqrt() + 0.02 * expected,
            "rank {rank}: {got} vs {expected}"
        );
    }
    assert!(counts[0] > counts[1] && counts[1] > counts[9] && counts[9] > counts[999]);
}

#[test]
fn shards_have_disjoint_key_spaces_covering_the_pool() {
    for distribution in [
        KeyDistribution::Uniform,
        KeyDistribution::Zipf { exponent: 1.1 },
    ] {
        let pool = KeyPool::new(1_001, distribution);
        let mut all = HashSet::new();
        for i in 0..4 {
            let shard = pool.shard(i, 4).expect("valid");
            let mut r = rng(i);
            for _ in 0..2_000 {
                let k = shard.draw(&mut r);
                assert_eq!(k % 4, i);
                assert!(k < 1_001 && shard.contains(k));
            }
            for local in 0..shard.len() {
                assert!(all.insert(shard.key_at(local)), "keys are disjoint");
            }
        }
        assert_eq!(all.len(), 1_001, "and cover the pool");
    }
}

#[test]
fn invalid_pools_are_rejected() {
    let pool = |size| KeyPool::new(size, KeyDistribution::Uniform);
    assert!(matches!(
        pool(0).sampler(),
        Err(DatagenError::InvalidPool(_))
    ));
    assert_eq!(
        pool(10).shard(3, 3).err(),
        Some(DatagenError::InvalidShard { index: 3, count: 3 })
    );
    assert!(
        pool(2).shard(2, 3).is_err(),
        "shard 2 of 3 has no key among 2"
    );
    assert!(KeyPool::new(10, KeyDistribution::Zipf { exponent: -1.0 })
        .sampler()
        .is_err());
}

#[test]
fn field_values_are_reproducible_and_distinct_per_event() {
    let name = preset("Name")
        .expect("preset")
        .compile("Name")
        .expect("valid");
    assert_eq!(name.value(&ctx(123, 7)), json!("Acme 000123 v7"));
    assert_eq!(name.value(&ctx(123, 7)), name.value(&ctx(123, 7)));
    assert_ne!(name.value(&ctx(123, 7)), name.value(&ctx(123, 8)));

    let phone = preset("Phone")
        .expect("preset")
        .compile("Phone")
        .expect("valid");
    let p = phone.value(&ctx(1, 1));
    let p = p.as_str().expect("string");
    assert_eq!(p.len(), "+1-555-123-4567".len());
    assert!(p.starts_with("+1-555-"));
    assert_eq!(phone.value(&ctx(1, 1)), phone.value(&ctx(1, 1)));

    let region = preset("Region__c")
        .expect("preset")
        .compile("Region__c")
        .expect("valid");
    let seen: HashSet<String> = (0..200)
        .map(|v| {
            region
                .value(&ctx(5, v))
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    let picklist: HashSet<String> = ["AMER", "EMEA", "APAC", "LATAM"].map(String::from).into();
    assert_eq!(seen, picklist);

    let credit = preset("Credit_Limit__c")
        .expect("preset")
        .compile("Credit_Limit__c")
        .expect("valid");
    for v in 0..200 {
        let x = credit.value(&ctx(9, v)).as_f64().expect("number");
        assert!((1_000.0..=1_000_000.0).contains(&x));
        assert!(
            ((x * 100.0).round() - x * 100.0).abs() < 1e-6,
            "two decimals: {x}"
        );
    }
    let employees = preset("NumberOfEmployees")
        .expect("preset")
        .compile("NumberOfEmployees")
        .expect("valid");
    assert!(employees.value(&ctx(1, 1)).is_i64());
    assert!(preset("Website").is_some() && preset("Industry").is_some());
    assert!(preset("NoSuchField__c").is_none());
}

#[test]
fn generic_field_specs() {
    let gen = |spec: FieldSpec| spec.compile("F").expect("valid");
    assert_eq!(
        gen(FieldSpec::Fixed(json!("x"))).value(&ctx(1, 9)),
        json!("x")
    );
    assert_eq!(
        gen(FieldSpec::Sequence {
            start: 100,
            step: 5
        })
        .value(&ctx(1, 9)),
        json!(145)
    );
    let pattern = gen(FieldSpec::Pattern(
        "{external_id}/{index}/v{version}/{letters:3}/{choice:x|y}/{{lit}}".into(),
    ));
    let v = pattern.value(&ctx(123, 4));
    let parts: Vec<&str> = v.as_str().expect("string").split('/').collect();
    assert_eq!(&parts[..3], &["A-000123", "000123", "v4"]);
    assert!(parts[3].len() == 3 && parts[3].chars().all(|c| c.is_ascii_uppercase()));
    assert!(parts[4] == "x" || parts[4] == "y");
    assert_eq!(parts[5], "{lit}");
    let number = gen(FieldSpec::Number {
        min: 5.0,
        max: 5.0,
        decimals: 0,
    });
    assert_eq!(number.value(&ctx(1, 1)), json!(5));

    for (spec, needle) in [
        (FieldSpec::Pattern("{nope}".into()), "unknown placeholder"),
        (FieldSpec::Pattern("{index".into()), "unclosed"),
        (FieldSpec::Pattern("a}b".into()), "unmatched"),
        (FieldSpec::Pattern("{digits:0}".into()), "count"),
        (FieldSpec::Choice(vec![]), "at least one"),
        (
            FieldSpec::Number {
                min: 2.0,
                max: 1.0,
                decimals: 0,
            },
            "min <= max",
        ),
    ] {
        let err = spec.compile("Bad__c").expect_err("invalid").to_string();
        assert!(err.contains("Bad__c") && err.contains(needle), "{err}");
    }
}

#[test]
fn events_have_the_contract_shape() {
    let builder = EventBuilder::new(&stream(account_fields()), 7).expect("valid");
    let at = Utc
        .with_ymd_and_hms(2024, 5, 1, 12, 0, 0)
        .single()
        .expect("time");
    let event = builder.build(42, at);
    let body = serde_json::to_value(&event).expect("serialise");
    let keys: Vec<&str> = body
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "id",
            "type",
            "object",
            "external_id_field",
            "external_id",
            "fields",
            "occurred_at"
        ]
    );
    assert_eq!(body["id"], json!("evt-account-upserts-42"));
    assert_eq!(body["type"], json!("upsert"));
    assert_eq!(body["object"], json!("Account"));
    assert_eq!(body["external_id_field"], json!("External_Id__c"));
    assert_eq!(body["occurred_at"], json!("2024-05-01T12:00:00.000Z"));
    let ext = body["external_id"].as_str().expect("string");
    assert!(ext.starts_with("A-") && ext.len() == 6, "{ext}");
    let fields: Vec<&str> = body["fields"]
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        fields,
        [
            "Name",
            "Phone",
            "Region__c",
            "Credit_Limit__c",
            "Industry",
            "Website"
        ]
    );
    assert_eq!(
        body["fields"]["Name"],
        json!(format!("Acme {} v42", &ext[2..]))
    );
    let back: loadgen::datagen::Event = serde_json::from_value(body).expect("round trip");
    assert_eq!(back, event);
}

#[test]
fn events_are_a_pure_function_of_seed_stream_and_seq() {
    let spec = stream(account_fields());
    let a = EventBuilder::new(&spec, 7).expect("valid");
    let b = EventBuilder::new(&spec, 7).expect("valid");
    let at = Utc.timestamp_opt(0, 0).single().expect("time");
    // Building in a different order (or skipping dropped events) changes nothing.
    let forward: Vec<_> = (0..50).map(|s| a.build(s, at)).collect();
    let backward: Vec<_> = (0..50).rev().map(|s| b.build(s, at)).collect();
    assert!(forward.iter().eq(backward.iter().rev()));
    let other_seed = EventBuilder::new(&spec, 8).expect("valid");
    assert_ne!(
        (0..50).map(|s| a.key_of(s).0).collect::<Vec<_>>(),
        (0..50).map(|s| other_seed.key_of(s).0).collect::<Vec<_>>()
    );
    let other_stream = EventBuilder::new(
        &StreamSpec {
            name: "other".into(),
            ..spec.clone()
        },
        7,
    )
    .expect("valid");
    assert_ne!(
        (0..50).map(|s| a.key_of(s).0).collect::<Vec<_>>(),
        (0..50)
            .map(|s| other_stream.key_of(s).0)
            .collect::<Vec<_>>()
    );
}

#[test]
fn adding_a_field_leaves_the_others_unchanged() {
    let mut fields = account_fields();
    let a = EventBuilder::new(&stream(fields.clone()), 3).expect("valid");
    fields.shift_insert(
        0,
        "Description".into(),
        preset("Description").expect("preset"),
    );
    let b = EventBuilder::new(&stream(fields), 3).expect("valid");
    let at = Utc.timestamp_opt(0, 0).single().expect("time");
    for seq in 0..20 {
        let (ea, eb) = (a.build(seq, at), b.build(seq, at));
        assert_eq!(ea.external_id, eb.external_id);
        for (k, v) in &ea.fields {
            assert_eq!(Some(v), eb.fields.get(k));
        }
        assert!(eb.fields.contains_key("Description"));
    }
}

#[test]
fn deletes_carry_no_fields_and_follow_the_configured_share() {
    let spec = StreamSpec {
        delete_fraction: 0.25,
        ..stream(account_fields())
    };
    let builder = EventBuilder::new(&spec, 1).expect("valid");
    let at = Utc.timestamp_opt(0, 0).single().expect("time");
    let events: Vec<_> = (0..4_000).map(|s| builder.build(s, at)).collect();
    let deletes: Vec<_> = events
        .iter()
        .filter(|e| e.kind == EventKind::Delete)
        .collect();
    assert!(
        (deletes.len() as f64 - 1_000.0).abs() < 100.0,
        "{}",
        deletes.len()
    );
    assert!(deletes.iter().all(|e| e.fields.is_empty()));
    assert_eq!(
        serde_json::to_value(deletes[0]).expect("json")["type"],
        json!("delete")
    );
    // The delete share does not move keys.
    let upserts_only = EventBuilder::new(&stream(account_fields()), 1).expect("valid");
    assert!((0..100).all(|s| upserts_only.key_of(s).0 == builder.key_of(s).0));

    let all_deletes = EventBuilder::new(
        &StreamSpec {
            kind: EventKind::Delete,
            ..stream(account_fields())
        },
        1,
    )
    .expect("valid");
    assert!((0..100).all(|s| all_deletes.key_of(s).1 == EventKind::Delete));
    let bad = StreamSpec {
        delete_fraction: 1.5,
        ..stream(account_fields())
    };
    assert!(EventBuilder::new(&bad, 1).is_err());
}

#[test]
fn shard_builders_only_touch_their_keys() {
    let spec = stream(account_fields());
    let builder = EventBuilder::for_shard(&spec, 5, 2, 3).expect("valid");
    for seq in 0..500 {
        assert_eq!(builder.key_of(seq).0 % 3, 2);
    }
}

#[test]
fn stream_specs_deserialise_from_toml() {
    let spec: StreamSpec = toml::from_str(
        r#"
        name = "account-upserts"
        object = "Account"
        external_id_field = "External_Id__c"
        delete_fraction = 0.1
        keys = { size = 10000, distribution = { kind = "zipf", exponent = 1.1 }, width = 6 }
        [fields]
        Name = { pattern = "Acme {index} v{version}" }
        Region__c = { choice = ["AMER", "EMEA"] }
        Credit_Limit__c = { number = { min = 1000, max = 5000, decimals = 2 } }
        Rank__c = { sequence = { start = 1 } }
        Source__c = { fixed = "sfchaos" }
        "#,
    )
    .expect("parses");
    assert_eq!(spec.keys.width, Some(6));
    assert_eq!(spec.fields.len(), 5);
    assert_eq!(
        spec.fields["Source__c"],
        FieldSpec::Fixed(Value::from("sfchaos"))
    );
    assert_eq!(
        spec.fields["Rank__c"],
        FieldSpec::Sequence { start: 1, step: 1 }
    );
    let event = EventBuilder::new(&spec, 1)
        .expect("valid")
        .build(3, Utc.timestamp_opt(0, 0).single().expect("time"));
    assert_eq!(event.fields["Rank__c"], json!(4));
    assert_eq!(event.external_id.len(), 8);
}

/// A stream whose names and values need JSON escaping, with every kind of field and deletes.
fn awkward_stream(delete_fraction: f64) -> StreamSpec {
    let mut fields = account_fields();
    fields.insert(
        "Fixed__c".into(),
        FieldSpec::Fixed(json!({"nested": [1, "two"]})),
    );
    fields.insert(
        "Quote\"d__c".into(),
        FieldSpec::Pattern("say \"{letters:2}\"\\{version}\u{e9}\t{external_id}".into()),
    );
    fields.insert("Seq__c".into(), FieldSpec::Sequence { start: -3, step: 7 });
    fields.insert(
        "Ratio__c".into(),
        FieldSpec::Number {
            min: 0.0,
            max: 1.0,
            decimals: 3,
        },
    );
    StreamSpec {
        name: "str\"eam/\u{e9}".into(),
        object: "Acc\\ount".into(),
        external_id_field: "Ext\"Id__c".into(),
        delete_fraction,
        ..stream(fields)
    }
}

proptest! {
    /// The driver sends `encode`'s bytes; everything else (tests, batches, the ledger's reading)
    /// knows events through `build`. They must be the same JSON, byte for byte, and the parts must
    /// point at the event's values.
    #[test]
    fn encoded_bodies_are_the_built_events_serialized(
        seed in any::<u64>(),
        seq in any::<u64>(),
        delete_fraction in prop_oneof![Just(0.0), Just(0.5), Just(1.0)],
        millis in prop_oneof![0i64..4_000_000_000_000, -70_000_000_000_000i64..300_000_000_000_000],
    ) {
        let builder = EventBuilder::new(&awkward_stream(delete_fraction), seed).expect("valid");
        let at = Utc.timestamp_millis_opt(millis).single().expect("instant");
        let event = builder.build(seq, at);
        let mut body = b"left over".to_vec();
        let parts = builder.encode(seq, at, &mut body);
        let body = body.split_off(9);
        let parts_shift = |r: &std::ops::Range<usize>| &body[r.start - 9..r.end - 9];
        let serialized = serde_json::to_vec(&event).expect("json");
        prop_assert_eq!(String::from_utf8_lossy(&body), String::from_utf8_lossy(&serialized));
        prop_assert_eq!(parts.kind, event.kind);
        let value = |bytes: &[u8]| serde_json::from_slice::<Value>(bytes).expect("a JSON value");
        prop_assert_eq!(value(parts_shift(&parts.id)), json!(event.id));
        prop_assert_eq!(value(parts_shift(&parts.object)), json!(event.object));
        prop_assert_eq!(value(parts_shift(&parts.external_id_field)), json!(event.external_id_field));
        prop_assert_eq!(value(parts_shift(&parts.external_id)), json!(event.external_id));
        prop_assert_eq!(value(parts_shift(&parts.fields)), Value::Object(event.fields));
    }

    #[test]
    fn external_ids_round_trip(size in 1u64..10_000_000, frac in 0.0f64..1.0, width in proptest::option::of(0usize..12)) {
        let pool = KeyPool { width, ..KeyPool::new(size, KeyDistribution::Uniform) };
        let index = ((size - 1) as f64 * frac) as u64;
        let id = pool.external_id(index);
        prop_assert_eq!(id.len(), 2 + pool.width());
        prop_assert_eq!(pool.index_of(&id), Some(index));
    }
}
