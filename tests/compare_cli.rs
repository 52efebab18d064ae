//! `sfchaos compare` end to end: strategies run through the harness against the embedded
//! simulator, `compare.json` and `compare.svg` come out, and Brooker's published ordering holds on
//! the optimistic-concurrency contention scenario.

mod run_common;

use std::path::Path;

use run_common::*;
use serde_json::Value;

/// The library's OCC storm, `scenarios/retry-storm-occ.toml`.
const OCC_SCENARIO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/scenarios/retry-storm-occ.toml"
);

/// The OCC storm with `clients` contenders instead of 100.
fn occ_scenario(dir: &Path, clients: u32) -> std::path::PathBuf {
    let original = std::fs::read_to_string(OCC_SCENARIO).expect("read the OCC scenario");
    assert!(
        original.contains("size = 100,"),
        "the burst size moved in retry-storm-occ.toml"
    );
    let body = original.replace("size = 100,", &format!("size = {clients},"));
    scenario(dir, &format!("occ-{clients}"), &body)
}

fn strategies(compare: &Value) -> Vec<Value> {
    compare["strategies"]
        .as_array()
        .expect("strategies")
        .clone()
}

fn by_name<'a>(list: &'a [Value], name: &str) -> &'a Value {
    list.iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {list:?}"))
}

fn num(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number in {v}"))
}

#[test]
fn unknown_strategies_are_exit_2_with_the_valid_names() {
    let tmp = tempfile::tempdir().unwrap();
    let file = occ_scenario(tmp.path(), 5);
    let out = tmp.path().join("out");
    let output = run(&[
        "compare",
        file.to_str().unwrap(),
        "--strategies",
        "none,fastest",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("\"fastest\"") && stderr.contains("none, fixed, exponential, full-jitter"),
        "{stderr}"
    );
    assert!(!out.join("compare.json").exists());
}

#[test]
fn compare_runs_each_strategy_and_writes_json_and_svg() {
    let tmp = tempfile::tempdir().unwrap();
    let file = occ_scenario(tmp.path(), 10);
    let out = tmp.path().join("out");
    let output = run(&[
        "compare",
        file.to_str().unwrap(),
        "--strategies",
        "none,full-jitter?base=5ms,cap=2s,max-attempts=inf,budget=off",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let compare = read_json(&out.join("compare.json"));
    assert_eq!(compare["scenario"], "retry-storm-occ", "{compare:#}");
    assert_eq!(compare["seeds"], serde_json::json!([2015]));
    let list = strategies(&compare);
    let names: Vec<&str> = list.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "none",
            "full-jitter?base=5ms,cap=2s,max-attempts=inf,budget=off"
        ]
    );
    for s in &list {
        // Every client's write landed; each made at least one read and one write.
        assert_eq!(num(s, "success_rate"), 1.0, "{s}");
        assert!(num(s, "writes") >= 10.0, "{s}");
        assert!(num(s, "calls") >= 2.0 * 10.0, "{s}");
        assert!(num(s, "completion_time_s") > 0.0, "{s}");
        assert!(num(s, "amplification") >= 2.0, "{s}");
        assert!(num(s, "p99_ms") >= 0.0, "{s}");
    }
    let svg = std::fs::read_to_string(out.join("compare.svg")).unwrap();
    assert!(
        svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
        "{svg}"
    );
    assert!(svg.contains("full-jitter?base=5ms,cap=2s") && svg.contains("none"));
    // Each run is a complete run directory.
    assert!(out.join("none/seed-2015/journal.ndjson.zst").exists());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("strategy") && stdout.contains("none"),
        "{stdout}"
    );
}

/// The ordering of resilience-reference.md §1 on the simulator, with the command and scenario a
/// user runs: no backoff makes the most calls, un-jittered exponential backoff finishes last, full
/// jitter makes the fewest calls (or within 10% of the fewest). Brooker's own model only separates
/// none from exponential in calls from about 100 clients (they tie at 10 and 20, and are 10% apart
/// at 50), hence the scenario's 100. The experiment runs at its own time scale (exponential backoff
/// takes about 70 s of it; runs end as soon as the last client's write lands): exponential
/// backoff's calls depend on the spread of a hop's duration relative to its mean, and the
/// simulator's and the client's own work per request adds to the mean without adding much spread,
/// more so the shorter the hops. With every duration divided by 1.5, which one of none and
/// exponential made more calls changed between runs of the same seed.
#[test]
fn the_published_ordering_holds_on_the_occ_scenario() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let output = run(&[
        "compare",
        OCC_SCENARIO,
        "--strategies",
        "none,exponential,full-jitter,equal-jitter,decorrelated",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let compare = read_json(&out.join("compare.json"));
    let list = strategies(&compare);
    let table = String::from_utf8_lossy(&output.stdout).to_string();
    let most = |key: &str| {
        list.iter()
            .max_by(|a, b| num(a, key).total_cmp(&num(b, key)))
            .map(|s| s["name"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert_eq!(most("writes"), "none", "{table}");
    assert_eq!(most("calls"), "none", "{table}");
    assert_eq!(most("completion_time_s"), "exponential", "{table}");
    let fewest = list
        .iter()
        .map(|s| num(s, "writes"))
        .fold(f64::INFINITY, f64::min);
    let full = num(by_name(&list, "full-jitter"), "writes");
    assert!(
        full <= fewest * 1.1,
        "full jitter {full} vs fewest {fewest}\n{table}"
    );
    for s in &list {
        assert_eq!(num(s, "success_rate"), 1.0, "{table}");
    }
}
