//! Coordinated omission, as wrk2 demonstrates it: the integration stalls for one second while
//! events keep arriving at 200/s, with an in-flight cap (10) far below the 200 a one-second stall
//! needs. Timed from the intended send instant (corrected), the stall dominates the p99; timed
//! from the actual send (raw), it hides in the few events that were in flight. report.json shows
//! both side by side.

mod run_common;

use run_common::*;

#[test]
fn a_one_second_stall_shows_in_the_corrected_p99_and_not_in_the_raw_one() {
    let tmp = tempfile::tempdir().unwrap();
    let file = scenario(
        tmp.path(),
        "stall",
        &format!(
            r#"
name = "stall"
seed = 5
duration = "8s"
drain = "1s"

[integration]
command = "{command}"
env = {{ FIXTURE_STALL_AT = "600" }}
healthz_timeout = "20s"
stop_timeout = "2s"

[[load]]
name = "accounts"
type = "upsert"
object = "Account"
rate = {{ constant = 200 }}
keys = {{ pool = 5000 }}
max_in_flight = 10
fields = {{ Name = {{ fake = "company" }} }}
"#,
            command = fixture("stall")
        ),
    );
    let out = tmp.path().join("out");
    let output = run_into(&file, &out);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let s = only_scenario(&out);
    let latency = &s["load"]["latency_ms"];
    let corrected = f(&latency["p99"]);
    let raw = f(&latency["p99_uncorrected"]);
    assert!(
        corrected >= 500.0,
        "corrected p99 {corrected} ms: {latency}"
    );
    assert!(raw < 500.0, "raw p99 {raw} ms shows the stall: {latency}");
    assert!(corrected > 2.0 * raw, "{latency}");
    // The stall made events late (they waited for a slot). Those still without a slot a second
    // after their intended instant are dropped (counted, never sent); every scheduled event is
    // one or the other.
    let load = &s["load"];
    assert!(u(&load["late"]) > 0, "{s:#}");
    assert_eq!(u(&load["scheduled"]), 1600, "{s:#}");
    assert_eq!(u(&load["dispatched"]) + u(&load["dropped"]), 1600, "{s:#}");
    assert_eq!(u(&s["ledger"]["sent"]), u(&load["dispatched"]), "{s:#}");
}
