//! `Evidence::from_dir`: an output directory in the harness's file formats reads back into
//! evidence the detectors score; missing optional files mean "nothing happened"; bad lines are
//! errors naming file and line.

use std::io::Write;
use std::path::Path;

use loadgen::scenario::{AntiPattern, Scenario};
use loadgen::scoring::{self, Evidence, Status};
use simulator::journal::{Api, FaultTag, JournalEntry};

fn scenario() -> Scenario {
    Scenario::from_file(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/observability.toml"),
    )
    .unwrap()
}

fn write_journal(dir: &Path, entries: &[JournalEntry]) {
    let f = std::fs::File::create(dir.join("journal.ndjson.zst")).unwrap();
    let mut enc = zstd::stream::write::Encoder::new(f, 1).unwrap();
    for e in entries {
        serde_json::to_writer(&mut enc, e).unwrap();
        enc.write_all(b"\n").unwrap();
    }
    enc.finish().unwrap();
}

fn entry(id: u64, t_s: u64, status: u16, rule: Option<&str>) -> JournalEntry {
    JournalEntry {
        id,
        t_us: t_s * 1_000_000,
        latency_us: 2_000,
        user: Some(loadgen::harness::world::INTEGRATION_USER.into()),
        method: "PATCH".into(),
        path: format!("/services/data/v62.0/sobjects/Account/External_Id__c/A-{id:06}"),
        route: "sobjects.upsert".into(),
        api: Api::Rest,
        status,
        fault: rule.map(|r| FaultTag {
            rule: r.into(),
            kind: "outage".into(),
            action: "reset".into(),
        }),
        ..JournalEntry::default()
    }
}

#[test]
fn an_output_directory_reads_back_and_scores() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Start-up entry (before load), then a request per second; the reset window fails 15.
    let mut journal = vec![entry(1, 999, 200, None)];
    for s in 0..70u64 {
        let failing = (15..30).contains(&s);
        journal.push(entry(
            s + 2,
            s,
            if failing { 0 } else { 200 },
            failing.then_some("resets"),
        ));
    }
    write_journal(d, &journal);
    std::fs::write(
        d.join("run.json"),
        r#"{"journal_entries_before_start": 1, "started_at": "2026-01-01T00:00:00Z", "other": 1}"#,
    )
    .unwrap();
    std::fs::write(
        d.join("alerts.ndjson"),
        concat!(
            r#"{"t_us": 20000000, "done_us": 20000001, "method": "POST", "path": "/", "status": 200, "body": {"severity": "critical", "summary": "Salesforce unreachable"}, "alerts": [{"severity": "critical", "summary": "Salesforce unreachable", "status": "firing"}]}"#,
            "\n",
            r#"{"t_us": 31000000, "status": 200, "body": {"severity": "info", "summary": "recovered"}}"#,
            "\n"
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("lifecycle.ndjson"),
        "{\"t_us\": -2000000, \"event\": \"start\", \"generation\": 1}\n{\"t_us\": -1000000, \"event\": \"healthy\", \"after_ms\": 900.0}\n",
    )
    .unwrap();
    std::fs::write(
        d.join("findings.json"),
        r#"{"totals": {"sent": 70, "accepted": 70, "rejected": 0, "landed": 70, "lost": 0, "duplicates": 0, "wrong_value": 0, "keys": 70, "unanswered": 0}, "findings": [], "findings_omitted": 0}"#,
    )
    .unwrap();

    let ev = Evidence::from_dir(d, &scenario()).unwrap();
    assert_eq!(ev.journal_before_start, 1);
    assert_eq!(ev.epoch_ms, Some(1_767_225_600_000));
    assert_eq!(ev.alerts.len(), 2);
    assert!(ev.alerts[0].pages() && !ev.alerts[1].pages());
    assert_eq!(ev.lifecycle.len(), 2);
    assert_eq!(ev.reconciliation.as_ref().unwrap().totals.keys, 70);
    assert_eq!(ev.faults.len(), 2, "from the scenario");

    let s = scoring::score(&ev).unwrap();
    let obs = &s.anti_patterns[&AntiPattern::Observability];
    assert_eq!(obs.status, Status::Pass, "{obs:#?}");
    assert!(obs
        .findings
        .iter()
        .any(|f| f.message.contains("1 incidents alerted")));
    // The start-up entry is not on the timeline.
    assert_eq!(s.timeline.requests.ok.iter().sum::<u32>(), 55);
}

#[test]
fn missing_journal_and_bad_lines_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let err = Evidence::from_dir(dir.path(), &scenario())
        .unwrap_err()
        .to_string();
    assert!(err.contains("journal.ndjson.zst"), "{err}");

    write_journal(dir.path(), &[entry(1, 0, 200, None)]);
    std::fs::write(
        dir.path().join("lifecycle.ndjson"),
        "{\"t_us\": 1, \"event\": \"start\"}\n{oops\n",
    )
    .unwrap();
    let err = Evidence::from_dir(dir.path(), &scenario())
        .unwrap_err()
        .to_string();
    assert!(err.contains("lifecycle.ndjson:2:"), "{err}");

    std::fs::remove_file(dir.path().join("lifecycle.ndjson")).unwrap();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.path().join("journal.ndjson.zst"))
        .unwrap();
    // A second frame whose line is not a journal entry.
    let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 1).unwrap();
    enc.write_all(b"{\"id\": \"x\"}\n").unwrap();
    f.write_all(&enc.finish().unwrap()).unwrap();
    drop(f);
    let ev = Evidence::from_dir(dir.path(), &scenario()).unwrap();
    let err = scoring::score(&ev).unwrap_err().to_string();
    assert!(
        err.contains("journal.ndjson.zst:2: not a journal entry"),
        "{err}"
    );
}
