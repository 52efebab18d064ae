//! The example integration of the docs (`examples/python-sync/sync.py`, simple-salesforce) is
//! scored the way a user would score it: `sfchaos run SCENARIO --integration "python3
//! examples/python-sync/sync.py"` from the repository root.
//!
//! A short, mild scenario (upserts, a sales user editing phone numbers, a few seconds of 503s)
//! must end with a report in which the example is scored — several anti-patterns exercised —
//! and in which nothing it accepted was lost.

mod common;
mod run_common;

use std::time::{Duration, Instant};

use common::{require_python_client, root};
use run_common::{f, only_scenario, scenario, sfchaos, text, u};

const SCENARIO: &str = r#"
name = "python-example"
description = "Upserts and a sales user's edits, with six seconds of 503s on half the calls"
seed = 11
duration = "20s"
drain = "15s"

[[org.seed]]
object = "Account"
count = 200
fields = { External_Id__c = { sequence = "A-" }, Name = { fake = "company" }, Phone = "555-0100" }

[[load]]
name = "account-upserts"
type = "upsert"
object = "Account"
rate = { constant = 5 }
keys = { pool = 200, prefix = "A-" }
fields = { Name = { fake = "company" }, Credit_Limit__c = { range = { min = 0, max = 100_000 } } }

[[actors]]
name = "sales-users"
object = "Account"
fields = { Phone = { fake = "phone" } }
rate = { constant = 1 }
keys = { pool = 200, prefix = "A-" }

[ownership]
"Account.Phone" = "sales-users"

[[faults]]
id = "blips"
kind = "error"
start = "5s"
duration = "6s"
error_code = "SERVER_UNAVAILABLE"
probability = 0.5

[expect]
lost = 0
duplicates = 0
"#;

/// Start-up of Python and simple-salesforce on a loaded CI machine included.
const RUN_LIMIT: Duration = Duration::from_secs(180);

#[test]
fn the_python_example_is_scored_and_loses_nothing() {
    require_python_client();
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = scenario(tmp.path(), "python-example", SCENARIO);
    let out = tmp.path().join("out");
    let started = Instant::now();
    let output = sfchaos()
        .current_dir(root())
        .arg("run")
        .arg(&path)
        .args([
            "--integration",
            "python3 examples/python-sync/sync.py",
            "--out",
        ])
        .arg(&out)
        .output()
        .expect("run sfchaos");
    assert!(
        started.elapsed() < RUN_LIMIT,
        "took {:?}",
        started.elapsed()
    );
    let code = output.status.code();
    assert!(matches!(code, Some(0) | Some(1)), "{}", text(&output));

    let report = only_scenario(&out);
    assert_eq!(
        report["integration"], "python3 examples/python-sync/sync.py",
        "{report:#}"
    );
    assert_eq!(report["faults_installed"], true);
    let ledger = &report["ledger"];
    assert!(u(&ledger["accepted"]) >= 80, "{}", text(&output));
    assert_eq!(u(&ledger["lost"]), 0, "{ledger:#}\n{}", text(&output));
    assert_eq!(u(&ledger["duplicates"]), 0, "{ledger:#}");
    assert_eq!(
        u(&ledger["landed"]),
        u(&ledger["keys"]),
        "every key the example accepted events for is in Salesforce: {ledger:#}"
    );

    let anti_patterns = report["anti_patterns"].as_object().expect("anti_patterns");
    assert_eq!(anti_patterns.len(), 10, "{report:#}");
    let scored: Vec<(&String, f64)> = anti_patterns
        .iter()
        .filter(|(_, a)| a["status"] != "not-exercised")
        .map(|(id, a)| (id, f(&a["score"])))
        .collect();
    let ids: Vec<&str> = scored.iter().map(|(id, _)| id.as_str()).collect();
    for id in ["realtime-db", "blind-retries", "polling", "data-ownership"] {
        assert!(ids.contains(&id), "{id} not scored: {report:#}");
    }
    // The example retries with backoff and full jitter, makes one call per event and never
    // writes the sales users' field.
    for (id, score) in &scored {
        if ["blind-retries", "realtime-db", "data-ownership"].contains(&id.as_str()) {
            assert!(*score >= 70.0, "{id} scored {score}: {report:#}");
        }
    }
    // It does not sync Salesforce changes downstream (its docstring says so): polling fails.
    assert_eq!(
        report["anti_patterns"]["polling"]["status"], "fail",
        "{report:#}"
    );
}
