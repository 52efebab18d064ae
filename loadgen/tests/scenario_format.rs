//! The scenario file format as users meet it: example files parse into the values they say,
//! and broken files fail with the file, line and key of every problem.

use std::num::{NonZeroU32, NonZeroU64};
use std::time::Duration;

use loadgen::scenario::{
    ActionKind, AntiPattern, BatchSchedule, BuiltinBase, Edition, EventMix, FieldRef,
    IntegrationCommand, KeyDistribution, Literal, Owner, RateSpec, RetryStrategyId, Scenario,
    SerDuration, Traffic, ValueSpec, Window,
};
use proptest::prelude::*;
use simulator::faults::plan::{
    Delay, FaultEffect, FaultPlan, OutageMode, RawFault, SchemaChange, Trigger,
};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/scenario_fixtures");

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Loads a fixture under the short name `scenario_fixtures/NAME`, as errors will show it.
fn load(name: &str) -> Result<Scenario, Vec<String>> {
    let source = std::fs::read_to_string(format!("{FIXTURES}/{name}"))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    Scenario::from_str(&source, &format!("scenario_fixtures/{name}"))
        .map_err(|errors| errors.iter().map(|e| e.to_string()).collect())
}

fn errors(name: &str) -> Vec<String> {
    match load(name) {
        Ok(scenario) => panic!("{name} should not validate:\n{}", scenario.summary()),
        Err(errors) => errors,
    }
}

#[test]
fn full_example_parses_into_the_values_it_says() {
    let s = load("full.toml").unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(s.name, "peak-hour-outage");
    assert_eq!(s.seed, 7);
    assert_eq!((s.duration, s.drain), (secs(180), secs(60)));
    assert_eq!(s.peak, [Window::new(secs(0), Some(secs(60)))]);
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);

    let org = &s.org;
    assert_eq!(org.edition, Edition::Enterprise);
    assert_eq!(org.licences, 15);
    assert_eq!(
        org.daily_api_requests, 100_000,
        "explicit value wins over the edition default"
    );
    assert_eq!(org.api_window, secs(600));
    assert_eq!(org.api_usage_start, 1_000);
    assert_eq!(org.long_running_cap, 25);
    assert_eq!(org.lock_wait, secs(5));
    assert_eq!(org.session_lifetime, secs(1800));
    assert_eq!(org.api_version, "61.0");
    assert_eq!(org.cdc_objects, ["Account", "Contact"]);
    assert_eq!(org.seed[0].object, "Account");
    assert_eq!(org.seed[0].count.get(), 5_000);
    assert_eq!(
        org.seed[0].fields["External_Id__c"],
        ValueSpec::Sequence {
            prefix: "A-".into()
        }
    );

    let IntegrationCommand::Builtin(profile) = &s.integration.command else {
        panic!("{:?}", s.integration.command);
    };
    assert_eq!(profile.base, BuiltinBase::Naive);
    assert_eq!(profile.toggles.get(&AntiPattern::BlindRetries), Some(&true));
    assert_eq!(profile.retry, Some(RetryStrategyId::FullJitter));
    assert_eq!(s.integration.healthz_timeout, secs(20));
    assert_eq!(s.integration.stop_timeout, secs(5));
    assert_eq!(s.integration.env["RUST_LOG"], "info");

    let upserts = &s.load[0];
    assert_eq!(upserts.name, "account-upserts");
    assert_eq!(upserts.type_name(), "upsert");
    assert_eq!(upserts.external_id_field, "External_Id__c");
    assert!(matches!(
        upserts.traffic,
        Traffic::Events {
            mix: EventMix::Upsert,
            rate: RateSpec::Constant { rate } } if rate == 50.0
    ));
    assert_eq!(upserts.keys.pool, NonZeroU64::new(10_000).unwrap());
    assert_eq!(
        upserts.keys.distribution,
        KeyDistribution::Zipf { exponent: 1.1 }
    );
    assert_eq!(upserts.keys.key(123), "A-000123");
    assert_eq!(
        upserts.fields["Phone"],
        ValueSpec::Fixed(Literal::String("555-0100".into()))
    );
    assert_eq!(
        upserts.fields["Credit_Limit__c"],
        ValueSpec::IntRange {
            min: 0,
            max: 100_000
        }
    );
    assert_eq!(upserts.max_in_flight.get(), 200);
    assert_eq!((upserts.start, upserts.duration), (secs(0), secs(180)));

    let churn = &s.load[1];
    assert!(matches!(
        churn.traffic,
        Traffic::Events { mix: EventMix::Mixed { upsert, delete }, .. } if upsert == 9.0 && delete == 1.0
    ));
    assert_eq!(churn.keys.prefix, "C-", "default prefix from the object");
    assert_eq!(churn.max_in_flight.get(), 100, "default cap");
    assert_eq!((churn.start, churn.duration), (secs(30), secs(120)));

    let nightly = &s.load[2];
    assert!(matches!(
        &nightly.traffic,
        Traffic::Batches { batch_size, schedule: BatchSchedule::At(times) }
            if batch_size.get() == 5_000 && times == &[SerDuration(secs(10)), SerDuration(secs(120))]
    ));

    let actor = &s.actors[0];
    assert_eq!(actor.name, "sales-users");
    assert_eq!(actor.username, "sales-users@sfchaos.test");
    assert_eq!(actor.fields["Phone"], ValueSpec::Auto);
    assert_eq!(actor.rate, RateSpec::Poisson { rate: 2.0 });

    assert_eq!(
        s.ownership.owner_of("Account", "Phone"),
        Some(&Owner::Actor("sales-users".into()))
    );
    assert_eq!(
        s.ownership.0.get(&FieldRef {
            object: "Account".into(),
            field: "Credit_Limit__c".into()
        }),
        Some(&Owner::Integration)
    );

    let rules = &s.faults.rules;
    let ids: Vec<&str> = rules.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["outage-0", "latency-1", "squeeze", "schema-change-3"]);
    assert_eq!(rules[0].window, Window::new(secs(60), Some(secs(30))));
    assert!(matches!(&rules[0].effect, FaultEffect::Outage(o) if o.mode == OutageMode::Http503));
    assert_eq!(rules[1].trigger, Trigger::ALWAYS);
    assert!(matches!(
        &rules[1].effect,
        FaultEffect::Latency(l) if l.delay == Delay::LogNormal {
            median: Duration::from_millis(80),
            p99: Duration::from_millis(900)
        }
    ));
    assert!(matches!(&rules[2].effect, FaultEffect::RateLimit(r) if r.remaining == Some(500)));
    assert_eq!(rules[3].window.start, secs(150));
    assert!(matches!(
        &rules[3].effect,
        FaultEffect::SchemaChange(SchemaChange::RenameField { to, .. }) if to == "Sales_Region__c"
    ));

    let actions: Vec<(Duration, &str)> = s.actions.iter().map(|a| (a.at, a.kind.name())).collect();
    assert_eq!(
        actions,
        [
            (secs(100), "crash-restart"),
            (secs(110), "deploy"),
            (secs(140), "rollback")
        ]
    );
    assert!(matches!(
        &s.actions[1].kind,
        ActionKind::Deploy { command } if command.to_string() == "builtin:resilient"
    ));

    assert_eq!(s.sink.error_probability, 0.05);
    assert_eq!(
        s.sink.latency,
        Some(Delay::Fixed(Duration::from_millis(20)))
    );
    assert_eq!(s.sink.outages, [Window::new(secs(90), Some(secs(10)))]);
    assert_eq!(s.alerts.error_status, 500);

    let expect = &s.expect;
    assert_eq!(expect.min_score[&AntiPattern::BlindRetries], 80);
    assert_eq!(expect.min_score[&AntiPattern::Availability], 90);
    assert_eq!(
        (expect.lost, expect.duplicates, expect.wrong_value),
        (Some(0), Some(0), Some(0))
    );
    assert_eq!(expect.max_p99, Some(secs(2)));
    assert_eq!(expect.min_achieved_rate, Some(0.99));
    assert_eq!(expect.max_error_rate, Some(0.01));
    assert_eq!(expect.baseline_margin, 3);
}

#[test]
fn the_design_sketch_is_a_valid_scenario() {
    let s = load("design_sketch.toml").unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(s.name, "peak-hour-outage");
    assert_eq!(s.org.daily_api_requests, 100_000);
    assert_eq!(s.faults.rules.len(), 2);
    assert_eq!(s.expect.min_score.len(), 2);
}

#[test]
fn defaults_fill_a_minimal_file() {
    let s = Scenario::from_str("name = \"minimal\"\nduration = \"1m\"", "minimal.toml").unwrap();
    assert_eq!(s.seed, 1);
    assert_eq!(s.drain, secs(30));
    assert_eq!(s.org.edition, Edition::Enterprise);
    assert_eq!(s.org.daily_api_requests, 100_000);
    assert_eq!(s.org.api_window, secs(24 * 3600));
    assert_eq!(s.org.long_running_cap, 25);
    assert_eq!(s.org.lock_wait, secs(10));
    assert_eq!(s.org.session_lifetime, secs(2 * 3600));
    assert_eq!(
        s.org.cdc_objects,
        ["Account", "Contact", "Opportunity", "Lead", "Case"]
    );
    assert_eq!(s.integration.command.to_string(), "builtin:resilient");
    assert_eq!(s.integration.healthz_timeout, secs(30));
    assert!(s.faults.is_empty() && s.sink.is_healthy() && s.alerts.is_healthy());
    assert_eq!(s.expect.baseline_margin, 5);
    assert_eq!(
        s.warnings.len(),
        1,
        "a scenario where nothing happens is worth a warning"
    );

    let developer = Scenario::from_str(
        "name = \"dev\"\nduration = \"1m\"\n[org]\nedition = \"developer\"",
        "dev.toml",
    )
    .unwrap();
    assert_eq!(developer.org.daily_api_requests, 15_000);
    assert_eq!(developer.org.long_running_cap, 5);
    let unlimited = Scenario::from_str(
        "name = \"ue\"\nduration = \"1m\"\n[org]\nedition = \"unlimited\"\nlicences = 10",
        "ue.toml",
    )
    .unwrap();
    assert_eq!(unlimited.org.daily_api_requests, 150_000);
}

#[test]
fn unknown_top_level_key() {
    assert_eq!(
        errors("unknown_top_level_key.toml"),
        ["scenario_fixtures/unknown_top_level_key.toml:3: durration: unknown key `durration` (did you mean `duration`?)"]
    );
}

#[test]
fn unknown_key_nested_in_a_fault() {
    assert_eq!(
        errors("unknown_fault_key.toml"),
        ["scenario_fixtures/unknown_fault_key.toml:10: faults[1].probabilty: unknown key `probabilty` (did you mean `probability`?)"]
    );
}

#[test]
fn wrong_type() {
    assert_eq!(
        errors("wrong_type.toml"),
        ["scenario_fixtures/wrong_type.toml:3: seed: invalid type: string \"seven\", expected u64"]
    );
}

#[test]
fn negative_duration() {
    assert_eq!(
        errors("negative_duration.toml"),
        ["scenario_fixtures/negative_duration.toml:6: faults[0].start: must not be negative, got \"-5s\""]
    );
}

#[test]
fn probability_above_one() {
    assert_eq!(
        errors("probability_out_of_range.toml"),
        ["scenario_fixtures/probability_out_of_range.toml:11: faults[1].probability: must be between 0 and 1, got 1.5"]
    );
}

#[test]
fn malformed_duration() {
    let found = errors("malformed_duration.toml");
    assert_eq!(found.len(), 1);
    assert!(
        found[0].starts_with(
            "scenario_fixtures/malformed_duration.toml:3: drain: malformed duration \"soon\""
        ),
        "{}",
        found[0]
    );
}

#[test]
fn first_zero() {
    assert_eq!(
        errors("first_zero.toml"),
        ["scenario_fixtures/first_zero.toml:7: faults[0].first: must be at least 1, got 0"]
    );
}

#[test]
fn contradictory_outages_overlap() {
    let found = errors("contradictory_outages.toml");
    assert_eq!(found.len(), 1);
    assert!(
        found[0].starts_with(
            "scenario_fixtures/contradictory_outages.toml:14: faults[1].mode: contradicts fault \"outage-0\""
        ),
        "{}",
        found[0]
    );
}

#[test]
fn unknown_anti_pattern_in_min_score() {
    let found = errors("unknown_anti_pattern.toml");
    assert_eq!(found.len(), 1);
    assert!(
        found[0].starts_with(
            "scenario_fixtures/unknown_anti_pattern.toml:6: expect.min_score.retry-storms: unknown anti-pattern id \"retry-storms\""
        ),
        "{}",
        found[0]
    );
}

#[test]
fn ownership_names_a_nonexistent_actor() {
    assert_eq!(
        errors("unknown_owner.toml"),
        ["scenario_fixtures/unknown_owner.toml:12: ownership.\"Account.Phone\": unknown owner \"sales-team\": expected \"integration\" or an actor name (actors: \"sales-users\")"]
    );
}

#[test]
fn deploy_without_command() {
    assert_eq!(
        errors("deploy_without_command.toml"),
        [
            "scenario_fixtures/deploy_without_command.toml:4: actions[0].command: missing: a deploy needs the `command` of the new version",
            "scenario_fixtures/deploy_without_command.toml:10: actions[1].kind: rollback needs an earlier deploy to roll back",
        ]
    );
}

#[test]
fn reports_every_validation_error_in_file_order() {
    let found = errors("many_errors.toml");
    let located: Vec<&str> = found
        .iter()
        .map(|e| e.splitn(3, ": ").take(2).last().unwrap_or(""))
        .collect();
    assert_eq!(
        located,
        [
            "load[0].rate",
            "faults[0].mode",
            "faults[1].delay.uniform.max",
            "actions[0].at"
        ]
    );
    let lines: Vec<&str> = found
        .iter()
        .map(|e| e.split(':').nth(1).unwrap_or(""))
        .collect();
    assert_eq!(lines, ["8", "12", "16", "20"]);
}

#[test]
fn reports_every_parse_error_across_sections() {
    let found = errors("many_parse_errors.toml");
    assert_eq!(found.len(), 3, "{found:#?}");
    assert!(found[0].starts_with(
        "scenario_fixtures/many_parse_errors.toml:6: faults[0].colour: unknown key `colour`"
    ));
    assert!(found[1].starts_with(
        "scenario_fixtures/many_parse_errors.toml:10: faults[1].delay: invalid type: integer `80`"
    ));
    assert_eq!(
        found[2],
        "scenario_fixtures/many_parse_errors.toml:13: integration.comand: unknown key `comand` (did you mean `command`?)"
    );
}

#[test]
fn syntax_errors_have_a_line() {
    let found = errors("syntax_error.toml");
    assert!(
        found[0].starts_with("scenario_fixtures/syntax_error.toml:3: seed: "),
        "{found:?}"
    );
}

#[test]
fn missing_required_keys_have_no_line() {
    let found: Vec<String> = Scenario::from_str("seed = 3", "empty.toml")
        .unwrap_err()
        .iter()
        .map(|e| e.to_string())
        .collect();
    assert_eq!(
        found,
        [
            "empty.toml: name: missing: every scenario needs a `name`",
            "empty.toml: duration: missing: how long load runs, e.g. duration = \"3m\"",
        ]
    );
}

#[test]
fn fault_reaching_into_the_drain_is_a_warning() {
    let s = load("warnings.toml").unwrap_or_else(|e| panic!("{e:#?}"));
    let warnings: Vec<String> = s.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(
        warnings,
        ["scenario_fixtures/warnings.toml:14: faults[0].duration: ends at 2m 20s, after load stops at 2m: it continues into the drain"]
    );
    let never = Scenario::from_str(
        "name = \"n\"\nduration = \"1m\"\ndrain = \"10s\"\n[[faults]]\nkind = \"outage\"\nstart = \"5m\"",
        "never.toml",
    )
    .unwrap_err();
    assert!(
        never
            .to_string()
            .starts_with("never.toml:6: faults[0].start: never fires"),
        "{never}"
    );
}

#[test]
fn from_file_names_the_file_it_read() {
    let path = format!("{FIXTURES}/first_zero.toml");
    let errors = Scenario::from_file(&path).unwrap_err();
    assert!(
        errors.to_string().starts_with(&format!("{path}:7: ")),
        "{errors}"
    );
    let missing = Scenario::from_file(format!("{FIXTURES}/does-not-exist.toml")).unwrap_err();
    assert!(
        missing
            .to_string()
            .contains("does-not-exist.toml: cannot read the file"),
        "{missing}"
    );
    assert!(Scenario::from_file(format!("{FIXTURES}/full.toml")).is_ok());
}

/// The admin API receives faults as JSON; they must mean exactly what the same TOML means.
#[test]
fn json_fault_validates_to_the_same_rule_as_toml() {
    let toml = r#"
name = "json-vs-toml"
duration = "5m"

[[faults]]
kind = "partial-failure"
start = "1m"
duration = "2m"
scope = { api = ["composite", "bulk"], object = "Account" }
fraction = 0.2
rows = [1, 5]
error_codes = ["UNABLE_TO_LOCK_ROW", "DUPLICATE_VALUE"]
every = 4
"#;
    let json = r#"[{
        "kind": "partial-failure", "start": "1m", "duration": "2m",
        "scope": {"api": ["composite", "bulk"], "object": "Account"},
        "fraction": 0.2, "rows": [1, 5],
        "error_codes": ["UNABLE_TO_LOCK_ROW", "DUPLICATE_VALUE"], "every": 4
    }]"#;
    let from_toml = Scenario::from_str(toml, "json-vs-toml.toml")
        .unwrap()
        .faults;
    let raw: Vec<RawFault> = serde_json::from_str(json).unwrap();
    let from_json = FaultPlan::compile(&raw).unwrap();
    assert_eq!(from_json, from_toml);
    assert_eq!(
        from_json.rules[0].trigger,
        Trigger::Every(NonZeroU64::new(4).unwrap())
    );
}

#[test]
fn summary_names_what_the_run_will_do() {
    let summary = load("full.toml").unwrap().summary();
    for needle in [
        "scenario \"peak-hour-outage\"",
        "seed 7, load 3m, drain 1m",
        "100000 API requests per 10m",
        "account-upserts: upsert Account, constant 50/s (~9000 events)",
        "sales-users: edits Account [Phone], poisson 2/s",
        "outage-0  outage http-503  1m..1m 30s",
        "latency-1  latency lognormal(median 80ms, p99 900ms)  api=rest  whole run",
        "1m 50s  deploy builtin:resilient",
        "min_score blind-retries >= 80, availability >= 90",
    ] {
        assert!(summary.contains(needle), "missing {needle:?} in\n{summary}");
    }
}

#[test]
fn scenario_serializes_for_the_report() {
    let s = load("full.toml").unwrap();
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["duration"], "3m");
    assert_eq!(
        json["load"][0]["traffic"]["events"]["rate"]["constant"]["rate"],
        50.0
    );
    assert_eq!(json["faults"]["rules"][0]["window"]["start"], "1m");
    assert_eq!(json["expect"]["min_score"]["blind-retries"], 80);
    assert_eq!(json["ownership"]["Account.Phone"]["actor"], "sales-users");
    assert_eq!(
        json["integration"]["command"],
        "builtin:naive?blind-retries=on&retry=full-jitter"
    );
}

#[test]
fn shards_split_rates_keys_and_limits_disjointly() {
    let s = load("full.toml").unwrap();
    let shards: Vec<Scenario> = (0..3).map(|i| s.shard(i, 3).unwrap()).collect();
    let rate = |s: &Scenario| match &s.load[0].traffic {
        Traffic::Events { rate, .. } => rate.rate_at(Duration::ZERO),
        Traffic::Batches { .. } => 0.0,
    };
    let total: f64 = shards.iter().map(rate).sum();
    assert!((total - 50.0).abs() < 1e-9);

    let mut owned: Vec<u64> = shards
        .iter()
        .flat_map(|shard| {
            let keys = &shard.load[0].keys;
            (0..keys.local_pool()).map(|local| keys.global_index(local))
        })
        .collect();
    owned.sort();
    assert_eq!(
        owned,
        (0..10_000).collect::<Vec<u64>>(),
        "every key in exactly one shard"
    );

    let batch_total: u32 = shards
        .iter()
        .map(|shard| match &shard.load[2].traffic {
            Traffic::Batches { batch_size, .. } => batch_size.get(),
            Traffic::Events { .. } => 0,
        })
        .sum();
    assert_eq!(batch_total, 5_000);
    let allocation: u64 = shards.iter().map(|s| s.org.daily_api_requests).sum();
    assert_eq!(allocation, 100_000);
    assert_eq!(shards[1].shard.map(|s| s.to_string()), Some("1/3".into()));
    assert_eq!(shards[0].faults.rules.len(), s.faults.rules.len());

    assert!(s.shard(3, 3).is_err());
    assert!(s.shard(0, 0).is_err());
    assert!(
        shards[0].shard(0, 2).is_err(),
        "a shard cannot be sharded again"
    );
    let tiny = Scenario::from_str(
        "name = \"t\"\nduration = \"1m\"\n[[load]]\nname = \"l\"\ntype = \"upsert\"\nobject = \"Account\"\nrate = { constant = 1 }\nkeys = { pool = 2 }",
        "tiny.toml",
    )
    .unwrap();
    let error = tiny.shard(0, 3).unwrap_err();
    assert_eq!(error.key, "load[0].keys.pool");
    assert_eq!(
        "2/4"
            .parse::<loadgen::scenario::Shard>()
            .map(|s| (s.index, s.count)),
        Ok((2, NonZeroU32::new(4).unwrap()))
    );
}

#[test]
fn rates_and_values_reject_nonsense() {
    let found: Vec<String> = Scenario::from_str(
        r#"
name = "rates"
duration = "1m"

[[load]]
name = "a"
type = "upsert"
object = "Account"
rate = { constant = -5 }
fields = { Name = { fake = "unicorn" }, Amount = { range = { min = 10, max = 1 } } }

[[load]]
name = "a"
type = "batch"
object = "Account"
rate = { poisson = 1 }
batch_size = 0
every = "1m"
"#,
        "rates.toml",
    )
    .unwrap_err()
    .iter()
    .map(|e| e.to_string())
    .collect();
    assert_eq!(
        found,
        [
            "rates.toml:9: load[0].rate.constant: must be a rate above 0 events/s, got -5",
            "rates.toml:10: load[0].fields.Amount.range.max: must be a finite number at least min (10), got 1",
            "rates.toml:10: load[0].fields.Name.fake: unknown value \"unicorn\" (expected one of \"company\", \"name\", \"first-name\", \"last-name\", \"email\", \"phone\", \"street\", \"city\", \"country\", \"postal-code\", \"url\", \"words\", \"sentence\", \"uuid\", \"date\", \"datetime\")",
            "rates.toml:13: load[1].name: another [[load]] stream is already named \"a\"",
            "rates.toml:16: load[1].rate: a batch stream sends `batch_size` records on a schedule (`every` or `at`), not at a rate",
            "rates.toml:17: load[1].batch_size: must be at least 1, got 0",
        ]
    );
}

/// A generator of text that looks like scenario TOML often enough to reach deep into parsing
/// and validation, not just the first syntax check.
fn tomlish() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        Just("name = \"p\"".to_string()),
        Just("duration = \"1m\"".to_string()),
        Just("[[faults]]".to_string()),
        Just("[[load]]".to_string()),
        Just("[org]".to_string()),
        Just("[expect]".to_string()),
        Just("[ownership]".to_string()),
        Just("[[actions]]".to_string()),
        Just("kind = \"outage\"".to_string()),
        Just("kind = \"latency\"".to_string()),
        Just("type = \"batch\"".to_string()),
        Just("delay = { pareto = { scale = \"0s\", shape = nan } }".to_string()),
        Just("rate = { steps = [] }".to_string()),
        Just("probability = inf".to_string()),
        Just("\"A.B\" = \"integration\"".to_string()),
        "[a-z_]{1,12} = \"-?[0-9]{0,20}(ms|s|m|h|x)?\"",
        "[a-z_]{1,12} = -?[0-9]{1,20}(\\.[0-9]+)?",
        "[a-z_.\\[\\]\"{}=, ]{0,30}",
    ];
    prop::collection::vec(line, 0..16).prop_map(|lines| lines.join("\n"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics(text in ".*") {
        let _ = Scenario::from_str(&text, "fuzz.toml");
    }

    #[test]
    fn scenario_like_text_never_panics(text in tomlish()) {
        if let Ok(s) = Scenario::from_str(&text, "fuzz.toml") {
            let _ = s.summary();
            let _ = s.shard(0, 2);
        }
    }

    #[test]
    fn every_error_names_the_file(text in tomlish()) {
        if let Err(errors) = Scenario::from_str(&text, "fuzz.toml") {
            prop_assert!(!errors.is_empty());
            for error in &errors {
                prop_assert!(error.to_string().starts_with("fuzz.toml"));
            }
        }
    }
}

/// docs/scenarios.md promises its complete example is valid and prints the summary shown
/// beside it, and that it lists every fault kind and key.
#[test]
fn docs_stay_in_sync_with_the_code() {
    let docs =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/scenarios.md"))
            .unwrap();
    let blocks: Vec<&str> = docs.split("```").skip(1).step_by(2).collect();
    let example = blocks
        .iter()
        .find_map(|b| {
            b.strip_prefix("toml\n")
                .filter(|b| b.starts_with("name = "))
        })
        .expect("a complete ```toml example");
    let scenario = Scenario::from_str(example, "full.toml").unwrap_or_else(|e| panic!("{e}"));
    let printed = blocks
        .iter()
        .find(|b| b.starts_with("\nscenario \""))
        .expect("the printed summary");
    assert_eq!(scenario.summary().trim_end(), printed.trim());

    for kind in simulator::faults::plan::FaultKind::ALL {
        assert!(
            docs.contains(&format!("**`{kind}`**")),
            "fault kind {kind} undocumented"
        );
        for key in simulator::faults::plan::params_of(kind) {
            assert!(
                docs.contains(&format!("`{key}`")),
                "fault key {key} undocumented"
            );
        }
    }
    for anti_pattern in AntiPattern::ALL {
        assert!(docs.contains(&format!("`{anti_pattern}`")));
    }
    for strategy in RetryStrategyId::ALL {
        assert!(docs.contains(&format!("`{strategy}`")));
    }
}
