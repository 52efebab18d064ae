//! `sfchaos run` against small integrations with known defects: the ledger's reconciliation must
//! count exactly what each one got wrong.

mod run_common;

use std::collections::BTreeMap;

use run_common::*;

/// A short fault-free scenario: `mixed` exercises deletes as well as upserts.
fn ledger_scenario(dir: &std::path::Path, mode: &str, stream_type: &str) -> std::path::PathBuf {
    let weights = if stream_type == "mixed" {
        "weights = { upsert = 9, delete = 1 }"
    } else {
        ""
    };
    scenario(
        dir,
        mode,
        &format!(
            r#"
name = "ledger-{mode}"
seed = 11
duration = "3s"
drain = "1s"

[integration]
command = "{command}"
healthz_timeout = "20s"
stop_timeout = "2s"

[[load]]
name = "accounts"
type = "{stream_type}"
{weights}
object = "Account"
rate = {{ constant = 60 }}
keys = {{ pool = 300 }}
fields = {{ Name = {{ fake = "company" }}, Phone = {{ fake = "phone" }}, Credit_Limit__c = {{ range = {{ min = 0, max = 100000 }} }} }}

[expect]
lost = 0
duplicates = 0
wrong_value = 0
"#,
            command = fixture(mode)
        ),
    )
}

/// Accepted events per external id, from the ledger file.
fn accepted_per_key(dir: &std::path::Path) -> BTreeMap<String, u64> {
    let mut keys = BTreeMap::new();
    for entry in ndjson(&dir.join("ledger.ndjson")) {
        if entry["outcome"]["kind"] == "accepted" {
            *keys
                .entry(entry["external_id"].as_str().unwrap().to_owned())
                .or_insert(0) += 1;
        }
    }
    keys
}

#[test]
fn a_correct_integration_loses_and_duplicates_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let file = ledger_scenario(tmp.path(), "correct", "mixed");
    let out = tmp.path().join("out");
    // Proxies in the harness's environment must not reach the integration.
    let output = sfchaos()
        .args([
            "run",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .env("http_proxy", "http://10.0.0.1:3128")
        .env("HTTPS_PROXY", "http://10.0.0.1:3128")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let s = only_scenario(&out);
    let ledger = &s["ledger"];
    assert_eq!(u(&ledger["sent"]), 180, "{s:#}");
    assert_eq!(u(&ledger["accepted"]), 180, "{s:#}");
    assert_eq!(u(&ledger["lost"]), 0, "{s:#}");
    assert_eq!(u(&ledger["duplicates"]), 0, "{s:#}");
    assert_eq!(u(&ledger["wrong_value"]), 0, "{s:#}");
    assert!(u(&ledger["landed"]) > 100, "{s:#}");
    assert_eq!(u(&ledger["landed"]), u(&ledger["keys"]));
    assert_eq!(s["passed"], true);
    // Scored from the run's evidence: what a fault-free run exercises, a correct build passes.
    for (id, ap) in s["anti_patterns"].as_object().unwrap() {
        match ap["status"].as_str() {
            Some("not-exercised") => assert!(ap["score"].is_null(), "{id}: {ap:#}"),
            Some("pass") => assert!(ap["score"].as_u64().is_some(), "{id}: {ap:#}"),
            _ => panic!("{id}: a correct integration fails it: {ap:#}"),
        }
    }
    assert_eq!(s["anti_patterns"].as_object().unwrap().len(), 10);
    // The evidence the scorer needs is there.
    let dir = scenario_dir(&out);
    for file in [
        "journal.ndjson.zst",
        "changes.ndjson",
        "lifecycle.ndjson",
        "latency.hlog",
        "org-final.ndjson",
        "integration.stderr.log",
        "ca.pem",
    ] {
        assert!(dir.join(file).is_file(), "{file} missing");
    }
    let stderr = std::fs::read_to_string(dir.join("integration.stderr.log")).unwrap();
    assert!(stderr.contains("proxies {}"), "{stderr}");
    let changes = ndjson(&dir.join("changes.ndjson"));
    assert!(changes.iter().any(|c| c["client"]
        .as_str()
        .unwrap_or("")
        .starts_with("integration@sfchaos.test")));
}

#[test]
fn a_lossy_integration_loses_exactly_the_keys_it_drops() {
    let tmp = tempfile::tempdir().unwrap();
    let file = ledger_scenario(tmp.path(), "lossy", "upsert");
    let out = tmp.path().join("out");
    let output = run_into(&file, &out);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let dropped = accepted_per_key(&scenario_dir(&out))
        .keys()
        .filter(|k| k.ends_with('7'))
        .count() as u64;
    assert!(dropped > 0, "the scenario must touch keys ending in 7");
    let s = only_scenario(&out);
    assert_eq!(u(&s["ledger"]["lost"]), dropped, "{s:#}");
    assert_eq!(u(&s["ledger"]["duplicates"]), 0);
    assert_eq!(s["passed"], false);
    let lost = s["expectations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "lost <= 0")
        .expect("lost expectation");
    assert_eq!(lost["passed"], false);
    assert_eq!(u(&lost["actual"]), dropped);
}

#[test]
fn a_double_writing_integration_duplicates_exactly_once_per_write() {
    let tmp = tempfile::tempdir().unwrap();
    let file = ledger_scenario(tmp.path(), "double", "upsert");
    let out = tmp.path().join("out");
    let output = run_into(&file, &out);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    // Each accepted upsert created two records: a key with k accepted events has 2k records,
    // 2k − 1 of them extra.
    let expected: u64 = accepted_per_key(&scenario_dir(&out))
        .values()
        .map(|k| 2 * k - 1)
        .sum();
    let s = only_scenario(&out);
    assert_eq!(u(&s["ledger"]["duplicates"]), expected, "{s:#}");
    assert_eq!(u(&s["ledger"]["lost"]), 0);
    assert_eq!(u(&s["ledger"]["wrong_value"]), 0);
}

#[test]
fn builtin_profiles_run_as_sfchaos_reference() {
    let tmp = tempfile::tempdir().unwrap();
    let file = ledger_scenario(tmp.path(), "correct", "upsert");
    let out = tmp.path().join("out");
    let output = run(&[
        "run",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--integration",
        "builtin:resilient",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let s = only_scenario(&out);
    assert_eq!(s["integration"], "builtin:resilient");
    assert_eq!(u(&s["ledger"]["accepted"]), 180, "{s:#}");
    assert_eq!(u(&s["ledger"]["lost"]), 0, "{s:#}");
    let events = ndjson(&scenario_dir(&out).join("lifecycle.ndjson"));
    let start = events.iter().find(|e| e["event"] == "start").unwrap();
    assert_eq!(start["command"], "builtin:resilient");
}
