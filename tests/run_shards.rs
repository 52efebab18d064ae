//! `--shard I/N`: two shards run as separate processes, merged by `sfchaos report`, account for
//! the same events, keys and latency samples as one process running the whole scenario.

mod run_common;

use std::process::Stdio;

use run_common::*;

const LEDGER_KEYS: [&str; 9] = [
    "sent",
    "accepted",
    "rejected",
    "landed",
    "lost",
    "duplicates",
    "wrong_value",
    "keys",
    "unanswered",
];

#[test]
fn two_shards_merge_to_the_totals_of_one_process() {
    let tmp = tempfile::tempdir().unwrap();
    // Every key of the small pool is touched many times, so one process and two shards (each
    // drawing from half of the pool) end with the same keys.
    let file = scenario(
        tmp.path(),
        "shards",
        &format!(
            r#"
name = "shards"
seed = 9
duration = "4s"
drain = "1s"

[integration]
command = "{command}"
healthz_timeout = "20s"
stop_timeout = "2s"

[[load]]
name = "accounts"
type = "upsert"
object = "Account"
rate = {{ constant = 100 }}
keys = {{ pool = 20 }}
fields = {{ Name = {{ fake = "company" }} }}

[expect]
lost = 0
"#,
            command = fixture("correct")
        ),
    );
    let path = |name: &str| tmp.path().join(name);
    let file = file.to_str().unwrap();
    let single = run(&["run", file, "--out", path("single").to_str().unwrap()]);
    assert_eq!(single.status.code(), Some(0), "{}", text(&single));
    // The shards run side by side, as separate processes, as they would on separate machines.
    let shards: Vec<_> = ["0/2", "1/2"]
        .iter()
        .enumerate()
        .map(|(i, shard)| {
            sfchaos()
                .args(["run", file, "--shard", shard, "--out"])
                .arg(path(&format!("shard{i}")))
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start a shard")
        })
        .collect();
    for shard in shards {
        let output = shard.wait_with_output().unwrap();
        assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    }
    let merged = run(&[
        "report",
        path("shard0").to_str().unwrap(),
        path("shard1").to_str().unwrap(),
        "--out",
        path("merged").to_str().unwrap(),
    ]);
    assert_eq!(merged.status.code(), Some(0), "{}", text(&merged));

    let one = only_scenario(&path("single"));
    let two = only_scenario(&path("merged"));
    assert_eq!(two["shards"], serde_json::json!(["0/2", "1/2"]));
    for key in LEDGER_KEYS {
        assert_eq!(
            one["ledger"][key], two["ledger"][key],
            "ledger.{key}: {one:#} vs {two:#}"
        );
    }
    assert_eq!(u(&one["ledger"]["sent"]), 400);
    assert_eq!(u(&one["ledger"]["landed"]), 20);
    // Histogram counts: every completed event was recorded once, in one process or the other.
    assert_eq!(one["load"]["completed"], two["load"]["completed"]);
    assert_eq!(u(&two["load"]["completed"]), 400);
    assert_eq!(
        one["load"]["corrected"]["count"],
        two["load"]["corrected"]["count"]
    );
    assert_eq!(one["load"]["raw"]["count"], two["load"]["raw"]["count"]);
    assert_eq!(
        one["load"]["streams"]["accounts"]["completed"],
        two["load"]["streams"]["accounts"]["completed"]
    );
    assert_eq!(f(&two["load"]["achieved_rate"]), 100.0);
    assert_eq!(two["passed"], true);
}

#[test]
fn re_rendering_a_run_from_its_directory_gives_the_live_numbers() {
    let tmp = tempfile::tempdir().unwrap();
    let file = scenario(
        tmp.path(),
        "rerender",
        &format!(
            r#"
name = "rerender"
seed = 4
duration = "2s"
drain = "1s"

[integration]
command = "{command}"
healthz_timeout = "20s"
stop_timeout = "2s"

[[load]]
name = "accounts"
type = "upsert"
object = "Account"
rate = {{ constant = 50 }}
keys = {{ pool = 100 }}
fields = {{ Name = {{ fake = "company" }} }}
"#,
            command = fixture("lossy")
        ),
    );
    let out = tmp.path().join("out");
    let live = run_into(&file, &out);
    assert_eq!(live.status.code(), Some(0), "{}", text(&live));
    let before = only_scenario(&out);
    let again = tmp.path().join("again");
    let rerun = run(&[
        "report",
        out.to_str().unwrap(),
        "--out",
        again.to_str().unwrap(),
    ]);
    assert_eq!(rerun.status.code(), Some(0), "{}", text(&rerun));
    let after = only_scenario(&again);
    assert_eq!(before["ledger"], after["ledger"]);
    assert!(u(&after["ledger"]["lost"]) > 0, "{after:#}");
    assert_eq!(before["load"]["latency_ms"], after["load"]["latency_ms"]);
    assert_eq!(before["load"]["completed"], after["load"]["completed"]);
    assert_eq!(before["expectations"], after["expectations"]);
}
