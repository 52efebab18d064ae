//! Rules as users write them, in TOML and JSON, and what they validate to.

use std::num::{NonZeroU32, NonZeroU64};
use std::time::Duration;

use super::*;

fn toml_rule(text: &str) -> RawFault {
    toml::from_str(text).unwrap_or_else(|e| panic!("{e}"))
}

fn ok(text: &str) -> FaultRule {
    validate(&toml_rule(text)).unwrap_or_else(|e| panic!("{e:?}"))
}

fn errors(text: &str) -> Vec<(String, String)> {
    match validate(&toml_rule(text)) {
        Ok(rule) => panic!("expected errors, got {rule:?}"),
        Err(errors) => errors.into_iter().map(|e| (e.path, e.message)).collect(),
    }
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[test]
fn outage_defaults_to_http_503_for_the_whole_run() {
    let rule = ok(r#"kind = "outage""#);
    assert_eq!(rule.window, Window::ALWAYS);
    assert_eq!(rule.trigger, Trigger::ALWAYS);
    assert!(rule.scope.is_everything());
    assert_eq!(
        rule.effect,
        FaultEffect::Outage(OutageFault {
            mode: OutageMode::Http503,
            status: 503
        })
    );
}

#[test]
fn latency_with_scope_and_distribution() {
    let rule = ok(r#"
        kind = "latency"
        start = "10s"
        duration = "1m"
        scope = { api = ["rest", "composite"], object = "Account", method = ["patch"], route = "/services/data/**" }
        delay = { lognormal = { median = "80ms", p99 = "900ms" } }
        per = "kb"
        every = 3
    "#);
    assert_eq!(rule.window, Window::new(secs(10), Some(secs(60))));
    assert_eq!(rule.scope.apis, vec![ApiFamily::Rest, ApiFamily::Composite]);
    assert_eq!(rule.scope.objects, vec!["Account".to_string()]);
    assert_eq!(rule.scope.methods, vec![HttpMethod::Patch]);
    assert_eq!(rule.trigger, Trigger::Every(NonZeroU64::new(3).unwrap()));
    assert_eq!(
        rule.effect,
        FaultEffect::Latency(LatencyFault {
            delay: Delay::LogNormal {
                median: Duration::from_millis(80),
                p99: Duration::from_millis(900)
            },
            per: LatencyUnit::Kb,
        })
    );
}

#[test]
fn error_codes_fill_in_status_and_message() {
    let lock = ok(r#"
        kind = "error"
        error_code = "UNABLE_TO_LOCK_ROW"
        probability = 0.1
    "#);
    match lock.effect {
        FaultEffect::Error(e) => {
            assert_eq!(e.status, 400);
            assert!(e.message.starts_with("unable to obtain exclusive access"));
        }
        other => panic!("{other:?}"),
    }
    let by_status = ok(r#"
        kind = "error"
        status = 503
    "#);
    match by_status.effect {
        FaultEffect::Error(e) => assert_eq!(e.error_code, "SERVER_UNAVAILABLE"),
        other => panic!("{other:?}"),
    }
    assert_eq!(errors(r#"kind = "error""#)[0].0, "error_code");
    assert_eq!(
        errors("kind = \"error\"\nerror_code = \"MY_CODE\"")[0].0,
        "status"
    );
}

#[test]
fn every_kind_has_a_minimal_valid_form() {
    let minimal = [
        r#"kind = "latency"
           delay = "80ms""#,
        r#"kind = "error"
           error_code = "UNKNOWN_EXCEPTION""#,
        r#"kind = "outage"
           mode = "read-only-maintenance""#,
        r#"kind = "rate-limit"
           daily_max = 1000
           remaining = 10
           per_window = { requests = 100, window = "10s" }"#,
        r#"kind = "session"
           revoke_at = "90s""#,
        r#"kind = "lock-contention"
           objects = ["Account"]"#,
        r#"kind = "partial-failure"
           fraction = 0.1
           error_codes = ["UNABLE_TO_LOCK_ROW", "DUPLICATE_VALUE"]"#,
        r#"kind = "schema-change"
           at = "60s"
           change = "rename-field"
           object = "Account"
           field = "Region__c"
           to = "Sales_Region__c""#,
        r#"kind = "bulk-slowdown"
           extra = "30s""#,
        r#"kind = "connection"
           mode = "slow-body"
           bytes_per_sec = 512"#,
        r#"kind = "streaming"
           mode = "drop-events"
           count = 5"#,
    ];
    let kinds: Vec<FaultKind> = minimal.iter().map(|text| ok(text).kind()).collect();
    assert_eq!(kinds, FaultKind::ALL.to_vec());
}

#[test]
fn session_revocation_is_an_instant() {
    let rule = ok(r#"
        kind = "session"
        revoke_at = "90s"
    "#);
    assert_eq!(rule.window, Window::new(secs(90), None));
    assert_eq!(
        rule.effect,
        FaultEffect::Session(SessionExpiry::RevokeAt(secs(90)))
    );
}

#[test]
fn schema_change_shapes() {
    let rule = ok(r#"
        kind = "schema-change"
        at = "2m"
        change = "shorten-length"
        object = "Account"
        field = "Name"
        length = 40
    "#);
    assert_eq!(rule.window.start, secs(120));
    assert_eq!(
        rule.effect,
        FaultEffect::SchemaChange(SchemaChange::ShortenLength {
            object: "Account".into(),
            field: "Name".into(),
            length: NonZeroU32::new(40).unwrap(),
        })
    );
    let wrong = errors(
        r#"
        kind = "schema-change"
        change = "remove-field"
        object = "Account"
        field = "Phone"
        to = "Phone2"
        start = "5s"
    "#,
    );
    let paths: Vec<&str> = wrong.iter().map(|(p, _)| p.as_str()).collect();
    assert!(
        paths.contains(&"to") && paths.contains(&"start"),
        "{wrong:?}"
    );
}

#[test]
fn reports_every_problem_in_a_rule() {
    let found = errors(
        r#"
        kind = "latency"
        start = "-5s"
        duration = "ten seconds"
        probability = 1.5
        mode = "hang"
        delay = { uniform = { min = "2s", max = "1s" } }
    "#,
    );
    let paths: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        ["mode", "start", "probability", "delay.uniform.max"],
        "{found:?}"
    );
    let probability = &found[2].1;
    assert_eq!(probability, "must be between 0 and 1, got 1.5");
}

#[test]
fn triggers_are_exclusive_and_counts_nonzero() {
    let both = errors("kind = \"outage\"\nprobability = 0.5\nfirst = 3");
    assert_eq!(both[0].0, "first");
    let zero = errors("kind = \"outage\"\nfirst = 0");
    assert_eq!(
        zero,
        [("first".to_string(), "must be at least 1, got 0".to_string())]
    );
    let org_wide = errors("kind = \"rate-limit\"\ndaily_max = 10\nprobability = 0.5");
    assert_eq!(org_wide[0].0, "probability");
}

#[test]
fn rate_limit_remaining_cannot_exceed_max() {
    let found = errors("kind = \"rate-limit\"\ndaily_max = 100\nremaining = 500");
    assert_eq!(found[0].0, "remaining");
    assert!(found[0].1.contains("daily_max (100)"));
}

#[test]
fn scope_values_are_checked() {
    let found = errors(
        r#"
        kind = "outage"
        scope = { api = ["rest", "graphql"], method = "FETCH", route = "services", object = [] }
    "#,
    );
    let paths: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [
            "scope.api[1]",
            "scope.object",
            "scope.route",
            "scope.method[0]"
        ]
    );
}

#[test]
fn json_and_toml_give_the_same_rule() {
    let from_toml = ok(r#"
        kind = "latency"
        id = "slow-rest"
        start = "1m"
        duration = "30s"
        scope = { api = ["rest"] }
        delay = { normal = { mean = "100ms", stddev = "20ms" } }
        first = 50
    "#);
    let json = r#"{"kind": "latency", "id": "slow-rest", "start": "1m", "duration": "30s",
                   "scope": {"api": ["rest"]},
                   "delay": {"normal": {"mean": "100ms", "stddev": "20ms"}}, "first": 50}"#;
    let raw: RawFault = serde_json::from_str(json).unwrap();
    assert_eq!(validate(&raw), Ok(from_toml));
    let unknown: Result<RawFault, _> = serde_json::from_str(r#"{"kind": "outage", "bogus": 1}"#);
    assert!(unknown
        .unwrap_err()
        .to_string()
        .contains("unknown field `bogus`"));
}

#[test]
fn compile_names_rules_and_finds_contradictions() {
    let raw: Vec<RawFault> = [
        "kind = \"outage\"\nstart = \"60s\"\nduration = \"30s\"",
        "kind = \"outage\"\nmode = \"reset\"\nstart = \"80s\"\nduration = \"30s\"",
        "kind = \"outage\"\nmode = \"hang\"\nstart = \"80s\"\nprobability = 0.5",
        "kind = \"outage\"\nmode = \"refuse\"\nstart = \"2m\"\nscope = { api = \"bulk\" }",
    ]
    .iter()
    .map(|t| toml_rule(t))
    .collect();
    let errors = FaultPlan::compile(&raw).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].path, "[1].mode");
    assert!(
        errors[0].message.contains("\"outage-0\""),
        "{}",
        errors[0].message
    );

    let plan = FaultPlan::compile(&raw[2..]).unwrap();
    let ids: Vec<&str> = plan.rules.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["outage-0", "outage-1"]);
}

#[test]
fn compile_rejects_duplicate_ids_and_conflicting_limits() {
    let raw: Vec<RawFault> = [
        "kind = \"rate-limit\"\nid = \"squeeze\"\ndaily_max = 1000",
        "kind = \"rate-limit\"\nid = \"squeeze\"\ndaily_max = 500\nstart = \"1m\"",
    ]
    .iter()
    .map(|t| toml_rule(t))
    .collect();
    let errors = FaultPlan::compile(&raw).unwrap_err();
    let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["[1].id", "[1].daily_max"]);
}

#[test]
fn lint_finds_shadowed_rules() {
    let raw: Vec<RawFault> = [
        "kind = \"outage\"",
        "kind = \"error\"\nerror_code = \"UNABLE_TO_LOCK_ROW\"\nstart = \"1m\"\nduration = \"10s\"",
    ]
    .iter()
    .map(|t| toml_rule(t))
    .collect();
    let plan = FaultPlan::compile(&raw).unwrap();
    let advice = plan.lint();
    assert_eq!(advice.len(), 1);
    assert_eq!(advice[0].path, "[1]");
}

#[test]
fn validated_rules_serialize_with_duration_strings() {
    let rule = ok(r#"
        kind = "outage"
        start = "90s"
        duration = "30s"
    "#);
    let json = serde_json::to_value(&rule).unwrap();
    assert_eq!(json["window"]["start"], "1m 30s");
    assert_eq!(json["effect"]["outage"]["mode"], "http-503");
    assert_eq!(rule.describe(), "outage  outage http-503  1m 30s..2m");
}
