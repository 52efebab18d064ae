//! Running a scenario again into the same `--out` (what a user does with the default
//! `sfchaos-out`) starts from a clean integration state directory: the second run is judged on its
//! own, not replayed against the first run's queue (whose event ids the integration would skip as
//! already handled).

mod run_common;

use run_common::{only_scenario, scenario, sfchaos, text, u};

const SCENARIO: &str = r#"
name = "rerun"
duration = "5s"
drain = "5s"

[[load]]
name = "account-upserts"
type = "upsert"
object = "Account"
rate = { constant = 10 }
keys = { pool = 100, prefix = "R-" }
fields = { Name = { fake = "company" } }
"#;

#[test]
fn a_second_run_into_the_same_out_directory_starts_clean() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = scenario(tmp.path(), "rerun", SCENARIO);
    let out = tmp.path().join("out");
    for attempt in 1..=2 {
        let output = sfchaos()
            .arg("run")
            .arg(&path)
            .args(["--integration", "builtin:resilient", "--out"])
            .arg(&out)
            .output()
            .expect("run sfchaos");
        assert_eq!(
            output.status.code(),
            Some(0),
            "run {attempt}: {}",
            text(&output)
        );
        let report = only_scenario(&out);
        let ledger = &report["ledger"];
        assert!(u(&ledger["accepted"]) >= 40, "run {attempt}: {ledger:#}");
        assert_eq!(u(&ledger["lost"]), 0, "run {attempt}: {ledger:#}");
        assert_eq!(
            u(&ledger["landed"]),
            u(&ledger["keys"]),
            "run {attempt}: every key landed: {ledger:#}"
        );
    }
}
