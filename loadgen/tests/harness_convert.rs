//! Scenario rates, keys and values as the run uses them: arrivals follow the scenario's own
//! words (a burst at the stream start, the last step holding), shards interleave sequence
//! numbers, and generated keys have the ids the scenario promises.

use std::num::NonZeroU32;
use std::time::Duration;

use loadgen::datagen::EventBuilder;
use loadgen::harness::convert::{field_specs, key_pool, stream_spec, StreamSchedule};
use loadgen::scenario::{RateSpec, RateStep, Scenario, Shard, Traffic, ValueSpec};

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn offsets(rate: &RateSpec, duration: Duration, shard: Option<Shard>) -> Vec<(u64, Duration)> {
    StreamSchedule::new(rate, duration, 1, shard)
        .unwrap()
        .arrivals()
        .map(|a| (a.seq, a.at))
        .collect()
}

#[test]
fn a_burst_fires_at_the_stream_start_and_every_interval_after() {
    let rate = RateSpec::Burst {
        rate: 0.0,
        every: secs(3),
        size: NonZeroU32::new(5).unwrap(),
    };
    let arrivals = offsets(&rate, secs(10), None);
    let at: Vec<u64> = arrivals.iter().map(|(_, at)| at.as_secs()).collect();
    assert_eq!(
        at,
        [0, 0, 0, 0, 0, 3, 3, 3, 3, 3, 6, 6, 6, 6, 6, 9, 9, 9, 9, 9]
    );
    assert_eq!(arrivals.len() as f64, rate.expected_events(secs(10)));
    let seqs: Vec<u64> = arrivals.iter().map(|(seq, _)| *seq).collect();
    assert_eq!(seqs, (0..20).collect::<Vec<_>>());
}

#[test]
fn the_last_step_holds_until_the_stream_ends() {
    let rate = RateSpec::Steps {
        steps: vec![
            RateStep {
                rate: 10.0,
                hold: secs(1),
            },
            RateStep {
                rate: 2.0,
                hold: secs(1),
            },
        ],
    };
    let arrivals = offsets(&rate, secs(5), None);
    // 10 in the first second, then 2/s for the remaining four.
    assert_eq!(arrivals.len(), 18);
    assert_eq!(arrivals.len() as f64, rate.expected_events(secs(5)));
    assert!(arrivals.iter().all(|(_, at)| *at < secs(5)));
}

#[test]
fn shards_number_their_events_apart_and_together_offer_the_whole_rate() {
    let rate = RateSpec::Constant { rate: 50.0 };
    let count = NonZeroU32::new(2).unwrap();
    let mut all: Vec<u64> = Vec::new();
    for index in 0..2 {
        let shard = Shard { index, count };
        let part = offsets(&rate.for_shard(index, count), secs(4), Some(shard));
        assert_eq!(part.len(), 100);
        assert!(part.iter().all(|(seq, _)| seq % 2 == u64::from(index)));
        all.extend(part.iter().map(|(seq, _)| *seq));
    }
    all.sort();
    assert_eq!(all, (0..200).collect::<Vec<_>>());
}

#[test]
fn generated_events_use_the_key_space_and_values_the_scenario_names() {
    let scenario = Scenario::from_str(
        r#"
name = "convert"
duration = "10s"

[[load]]
name = "accounts"
type = "mixed"
weights = { upsert = 3, delete = 1 }
object = "Account"
rate = { constant = 10 }
keys = { pool = 50, prefix = "ACC-" }
fields = { Region__c = { one_of = ["EMEA", "AMER"] }, Tier = "gold", Code = { sequence = "C-" }, Score = { range = { min = 1, max = 3 } } }
"#,
        "convert.toml",
    )
    .unwrap();
    let stream = &scenario.load[0];
    assert!(matches!(stream.traffic, Traffic::Events { .. }));
    let spec = stream_spec(stream, None);
    assert_eq!(spec.delete_fraction, 0.25);
    assert_eq!(key_pool(&stream.keys).external_id(7), stream.keys.key(7));
    let builder = EventBuilder::new(&spec, scenario.seed).unwrap();
    let (mut upserts, mut deletes) = (0, 0);
    for seq in 0..400 {
        let event = builder.build(seq, chrono::Utc::now());
        assert!(
            event.external_id.starts_with("ACC-0000"),
            "{}",
            event.external_id
        );
        if event.kind == loadgen::datagen::EventKind::Delete {
            deletes += 1;
            assert!(event.fields.is_empty());
            continue;
        }
        upserts += 1;
        let region = event.fields["Region__c"].as_str().unwrap();
        assert!(region == "EMEA" || region == "AMER");
        assert_eq!(event.fields["Tier"], "gold");
        let index = event.external_id.trim_start_matches("ACC-");
        assert_eq!(event.fields["Code"], format!("C-{index}"));
        let score = event.fields["Score"].as_i64().unwrap();
        assert!((1..=3).contains(&score));
    }
    assert!(deletes > 60 && deletes < 140, "{deletes} deletes of 400");
    assert_eq!(upserts + deletes, 400);
}

#[test]
fn every_value_spec_has_a_generator_that_compiles() {
    let scenario = Scenario::from_str(
        r#"
name = "fakes"
duration = "1s"

[[load]]
name = "all"
type = "upsert"
object = "Account"
rate = { constant = 1 }
fields = { A = { fake = "company" }, B = { fake = "name" }, C = { fake = "first-name" }, D = { fake = "last-name" }, E = { fake = "email" }, F = { fake = "phone" }, G = { fake = "street" }, H = { fake = "city" }, I = { fake = "country" }, J = { fake = "postal-code" }, K = { fake = "url" }, L = { fake = "words" }, M = { fake = "sentence" }, N = { fake = "uuid" }, O = { fake = "date" }, P = { fake = "datetime" }, Q = 1.5, R = true, S = { range = { min = 0.5, max = 2.5 } } }
"#,
        "fakes.toml",
    )
    .unwrap();
    let specs = field_specs(&scenario.load[0].fields, None);
    assert_eq!(specs.len(), 19);
    for (name, spec) in &specs {
        spec.compile(name).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let listed = field_specs(
        &[
            ("Phone".to_string(), ValueSpec::Auto),
            ("Unknown__c".to_string(), ValueSpec::Auto),
        ]
        .into_iter()
        .collect(),
        None,
    );
    for (name, spec) in &listed {
        spec.compile(name).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}
