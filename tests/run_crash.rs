//! The integration dies mid-run (the fixture exits abruptly after 40 events): the harness keeps
//! going, records the crash, and a `crash-restart` action brings the integration back, told when
//! the run started.

mod run_common;

use run_common::*;

#[test]
fn a_crash_is_survived_recorded_and_recovered_by_crash_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let file = scenario(
        tmp.path(),
        "crash",
        &format!(
            r#"
name = "crash"
seed = 2
duration = "6s"
drain = "1s"

[integration]
command = "{command}"
env = {{ FIXTURE_CRASH_AFTER = "40" }}
healthz_timeout = "20s"
stop_timeout = "2s"

[[load]]
name = "accounts"
type = "upsert"
object = "Account"
rate = {{ constant = 40 }}
keys = {{ pool = 1000 }}
fields = {{ Name = {{ fake = "company" }} }}

[[actions]]
at = "3s"
kind = "crash-restart"
"#,
            command = fixture("crash")
        ),
    );
    let out = tmp.path().join("out");
    let output = run_into(&file, &out);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let s = only_scenario(&out);
    assert_eq!(u(&s["lifecycle"]["crashes"]), 1, "{s:#}");
    assert_eq!(u(&s["lifecycle"]["starts"]), 2, "{s:#}");
    let dir = scenario_dir(&out);

    // The lifecycle: start, healthy, an unexpected exit, the action, a second start, healthy.
    let events = ndjson(&dir.join("lifecycle.ndjson"));
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    let crash = events
        .iter()
        .position(|e| e["event"] == "exit" && e["expected"] == false)
        .unwrap_or_else(|| panic!("no crash recorded: {kinds:?}"));
    assert_eq!(events[crash]["code"], 3);
    let restart = events
        .iter()
        .position(|e| e["event"] == "action-begin" && e["action"] == "crash-restart")
        .expect("the action");
    assert!(crash < restart, "{kinds:?}");
    let second_start = events
        .iter()
        .position(|e| e["event"] == "start" && e["generation"] == 2)
        .expect("a second start");
    let healthy_again = events
        .iter()
        .position(|e| e["event"] == "healthy" && e["generation"] == 2)
        .expect("healthy again");
    assert!(
        restart < second_start && second_start < healthy_again,
        "{kinds:?}"
    );
    let recovered_us = events[healthy_again]["t_us"].as_i64().unwrap();
    assert!(
        (3_000_000..6_000_000).contains(&recovered_us),
        "{recovered_us}"
    );

    // While it was down, events went unanswered; after the restart they were accepted again.
    let ledger = ndjson(&dir.join("ledger.ndjson"));
    let refused = ledger
        .iter()
        .filter(|e| e["outcome"]["kind"] == "transport_error")
        .count();
    assert!(refused > 0, "no event met the dead integration");
    let accepted_after = ledger
        .iter()
        .filter(|e| u(&e["sent_us"]) as i64 > recovered_us && e["outcome"]["kind"] == "accepted")
        .count();
    assert!(
        accepted_after > 50,
        "only {accepted_after} events accepted after the restart"
    );
    assert_eq!(u(&s["ledger"]["lost"]), 0, "{s:#}");
    assert!(
        s["load"]["phases"]["action:crash-restart"].is_object(),
        "{s:#}"
    );

    // Output of both starts, with a marker line each, and the fixture's last words.
    let stderr = std::fs::read_to_string(dir.join("integration.stderr.log")).unwrap();
    assert!(stderr.contains("=== sfchaos: start #1"), "{stderr}");
    assert!(stderr.contains("=== sfchaos: start #2"), "{stderr}");
    assert!(stderr.contains("crashing on purpose"), "{stderr}");

    // The first start comes before scenario time zero; the restart is told when zero was, so the
    // peak windows it reads count from the run's start, not its own.
    let zero = events
        .iter()
        .find(|e| e["event"] == "run-start")
        .and_then(|e| e["detail"].as_str())
        .expect("run-start with its wall-clock time");
    let zero_ms = chrono::DateTime::parse_from_rfc3339(zero)
        .unwrap()
        .timestamp_millis();
    let run_starts: Vec<&str> = stderr
        .lines()
        .filter_map(|l| l.split_once(", run start ").map(|(_, v)| v))
        .collect();
    assert_eq!(
        run_starts,
        ["unset", zero_ms.to_string().as_str()],
        "{stderr}"
    );
}
