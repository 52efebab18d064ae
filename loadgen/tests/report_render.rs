//! The renderers on a scored run: terminal summary, junit.xml, report.html, and reading
//! report.json back (design.md §7's shape, with unknown keys) for `sfchaos report` and baselines.

use loadgen::ledger::{LedgerTotals, Reconciliation};
use loadgen::report::build::Scored;
use loadgen::report::facts::ExpectSpec;
use loadgen::report::model::{LedgerReport, LoadReport};
use loadgen::report::view::{LedgerView, ReportView, ScenarioView};
use loadgen::report::{baseline, html, junit, summary};
use loadgen::scenario::AntiPattern;
use loadgen::scoring::evidence::FaultWindow;
use loadgen::scoring::verdict;
use loadgen::scoring::{self, Evidence, Status};
use simulator::journal::{Api, FaultTag, JournalEntry};

const S: u64 = 1_000_000;

/// 60 s of writes with a 10 s outage retried at once, scored.
fn scored_view() -> ReportView {
    let mut journal = Vec::new();
    let mut id = 0;
    let mut push = |t: u64, n: u64, status: u16| {
        id += 1;
        journal.push(JournalEntry {
            id,
            t_us: t,
            latency_us: 4_000,
            user: Some("admin@sfchaos.test".into()),
            method: "PATCH".into(),
            path: format!("/services/data/v62.0/sobjects/Account/External_Id__c/A-{n:06}"),
            route: "sobjects.upsert".into(),
            api: Api::Rest,
            object: Some("Account".into()),
            status,
            body_hash: Some(format!("b{n}")),
            api_usage: Some((1_000 + id, 100_000)),
            fault: (status == 503).then(|| FaultTag {
                rule: "outage-0".into(),
                kind: "outage".into(),
                action: "respond:503".into(),
            }),
            ..JournalEntry::default()
        });
    };
    for i in 0..600u64 {
        let t = i * 100_000;
        if (20 * S..30 * S).contains(&t) {
            let mut tt = t;
            while tt < 30 * S {
                push(tt, i, 503);
                tt += 20_000;
            }
            push(tt, i, 200);
        } else {
            push(t, i, 200);
        }
    }
    let ev = Evidence {
        scenario: "outage <demo>".into(),
        seed: 7,
        load_us: 60 * S,
        drain_us: 10 * S,
        integration_user: "admin@sfchaos.test".into(),
        faults: vec![FaultWindow {
            id: "outage-0".into(),
            kind: "outage".into(),
            span: loadgen::scoring::evidence::Span::new(20 * S, Some(30 * S)),
            mode: Some("http-503".into()),
            installed: true,
            ..FaultWindow::default()
        }],
        journal: journal.into(),
        reconciliation: Some(Reconciliation {
            totals: LedgerTotals {
                sent: 600,
                accepted: 600,
                landed: 600,
                keys: 600,
                ..LedgerTotals::default()
            },
            ..Reconciliation::default()
        }),
        ..Evidence::default()
    };
    let scored = scoring::score(&ev).unwrap();
    let mut expect = ExpectSpec {
        min_score: Default::default(),
        lost: Some(0),
        duplicates: None,
        wrong_value: None,
        max_p99_ms: None,
        min_achieved_rate: None,
        max_error_rate: None,
        baseline_margin: 5,
    };
    expect
        .min_score
        .insert(AntiPattern::BlindRetries.as_str().into(), 80);
    expect
        .min_score
        .insert(AntiPattern::Polling.as_str().into(), 50);
    let keyed = Scored::from(scored.clone());
    let results = verdict::evaluate(
        &expect,
        &LedgerReport::from(&ev.reconciliation.as_ref().unwrap().totals),
        &LoadReport::default(),
        &keyed.anti_patterns,
        true,
    );
    let passed = verdict::all_passed(&results);
    ReportView {
        schema_version: 1,
        tool_version: "0.1.0".into(),
        seed: 7,
        scenarios: vec![ScenarioView {
            name: ev.scenario.clone(),
            integration: "builtin:naive".into(),
            passed,
            anti_patterns: scored
                .anti_patterns
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), v.clone()))
                .collect(),
            ledger: LedgerView {
                sent: 600,
                accepted: 600,
                landed: 600,
                ..LedgerView::default()
            },
            expectations: results,
            seed: Some(7),
            timeline: Some(scored.timeline),
            ..ScenarioView::default()
        }],
    }
}

#[test]
fn expectations_name_what_failed() {
    let v = scored_view();
    let e = &v.scenarios[0].expectations;
    let names: Vec<&str> = e.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "min_score.blind-retries >= 80",
            "min_score.polling >= 50",
            "lost <= 0"
        ]
    );
    assert!(!e[0].passed, "immediate endless retries fail: {:?}", e[0]);
    assert!(!e[1].passed);
    assert_eq!(
        e[1].detail.as_deref(),
        Some("the run did not exercise this anti-pattern")
    );
    assert!(e[2].passed);
    assert!(!v.scenarios[0].passed);
}

#[test]
fn terminal_summary_fits_in_100_columns() {
    let text = summary::render(&scored_view());
    for line in text.lines() {
        assert!(line.chars().count() <= summary::WIDTH, "too wide: {line}");
    }
    assert!(text.starts_with("scenario outage <demo> | builtin:naive | seed 7 | FAILED"));
    let rows: Vec<&str> = text
        .lines()
        .filter(|l| {
            AntiPattern::ALL
                .iter()
                .any(|a| l.starts_with(&format!("  {a} ")))
        })
        .collect();
    assert_eq!(rows.len(), 10, "{text}");
    let br = rows.iter().find(|l| l.contains("blind-retries")).unwrap();
    assert!(br.contains(" fail "), "{br}");
    assert!(text.contains("not exercised"));
    assert!(
        text.contains("    FAIL min_score.blind-retries >= 80 (actual "),
        "{text}"
    );
}

#[test]
fn junit_is_well_formed_with_a_case_per_anti_pattern_and_expectation() {
    let v = scored_view();
    let xml = junit::render(&v);
    let mut reader = quick_xml::Reader::from_str(&xml);
    let (mut cases, mut skipped, mut failures) = (0, 0, 0);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e)) => {
                match e.name().as_ref() {
                    b"testcase" => cases += 1,
                    b"skipped" => skipped += 1,
                    b"failure" => failures += 1,
                    _ => {}
                }
            }
            Ok(_) => {}
            Err(e) => panic!("junit.xml is not well-formed: {e}\n{xml}"),
        }
    }
    let s = &v.scenarios[0];
    let not_exercised = s
        .anti_patterns
        .values()
        .filter(|a| a.status == Status::NotExercised)
        .count();
    let failed = s
        .anti_patterns
        .values()
        .filter(|a| a.status == Status::Fail)
        .count()
        + s.expectations.iter().filter(|e| !e.passed).count();
    assert_eq!(cases, 13);
    assert_eq!(skipped, not_exercised);
    assert_eq!(failures, failed);
    assert!(xml.contains("<testsuite name=\"outage &lt;demo&gt;\" tests=\"13\""));
    assert!(xml.contains("name=\"expect min_score.blind-retries &gt;= 80\""));
    // Failures carry the findings, with evidence.
    assert!(xml.contains("critical: retries without backoff"), "{xml}");
    assert!(xml.contains("req-"));
}

#[test]
fn html_is_one_self_contained_file_with_every_chart_and_card() {
    let v = scored_view();
    let page = html::render(&v);
    assert!(page.starts_with("<!DOCTYPE html>"));
    for forbidden in ["<script", "<link", "src=", "url(", "@import", "https://"] {
        assert!(!page.contains(forbidden), "{forbidden} found");
    }
    // The only absolute URL is the SVG namespace, which is never fetched.
    assert_eq!(
        page.matches("http://").count(),
        page.matches("http://www.w3.org/2000/svg").count()
    );
    assert_eq!(page.matches("<svg class=\"chart\"").count(), 6);
    for title in [
        "Salesforce requests by the integration",
        "Inbound event latency",
        "API allocation burn",
        "Retry waves",
        "Ledger",
    ] {
        assert!(page.contains(title), "{title}");
    }
    assert!(
        page.contains("outage-0 (http-503)"),
        "fault window shaded and labelled"
    );
    for id in AntiPattern::ALL {
        assert!(page.contains(&format!("id=\"s0-{id}\"")), "card for {id}");
    }
    assert!(page.contains("outage &lt;demo&gt;"));
}

#[test]
fn a_report_json_in_the_design_shape_reads_back() {
    let json = r#"{"schema_version": 1, "tool_version": "0.1.0", "seed": 7,
      "scenarios": [{"name": "peak-hour-outage", "integration": "builtin:resilient", "passed": true,
        "anti_patterns": {"blind-retries": {"score": 92, "grade": "A", "status": "pass",
                                            "findings": [{"severity": "warning", "message": "m", "count": 3,
                                                          "evidence": ["req-000123"]}]},
                          "polling": {"score": null, "grade": null, "status": "not-exercised", "findings": []}},
        "ledger": {"sent": 9000, "accepted": 8990, "rejected": 10, "landed": 8990, "lost": 0,
                   "duplicates": 0, "wrong_value": 0, "keys": 8990},
        "load": {"achieved_rate": 49.9, "latency_ms": {"p50": 3.1, "p99": 41.0, "p99_uncorrected": 12.0},
                 "streams": {}},
        "expectations": [{"name": "min_score.blind-retries >= 80", "passed": true, "actual": 92}],
        "lifecycle": {"starts": 1}}]}"#;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");
    std::fs::write(&path, json).unwrap();
    let v = ReportView::read(&path).unwrap();
    let s = &v.scenarios[0];
    assert_eq!(s.anti_patterns["blind-retries"].score, Some(92));
    assert_eq!(s.anti_patterns["polling"].status, Status::NotExercised);
    assert_eq!(s.ledger.accepted, 8990);
    assert_eq!(s.load.latency_ms.p99, 41.0);
    assert!(s.timeline.is_none());
    // Renders without a timeline.
    assert!(html::render(&v).contains("carries no timeline"));

    // And serves as a baseline: blind-retries may drop to 87.
    let now = scoring::Assessment::scored(86, vec![]);
    let c = baseline::compare("peak-hour-outage", [("blind-retries", &now)], &v, 5);
    assert_eq!(c.results.len(), 1);
    assert!(!c.results[0].passed);

    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"scenarios\": 3}").unwrap();
    let err = ReportView::read(&bad).unwrap_err().to_string();
    assert!(err.contains("bad.json: not a report.json"), "{err}");
}

#[test]
fn a_scorecard_serializes_under_the_report_keys() {
    let v = scored_view();
    let value = serde_json::to_value(&v).unwrap();
    let ap = &value["scenarios"][0]["anti_patterns"];
    assert_eq!(ap.as_object().unwrap().len(), 10);
    assert_eq!(ap["polling"]["status"], "not-exercised");
    assert_eq!(ap["polling"]["score"], serde_json::Value::Null);
    assert!(ap["blind-retries"]["score"].is_u64());
    let t = &value["scenarios"][0]["timeline"];
    for key in [
        "bucket_s", "end_s", "requests", "retries", "api_used", "latency", "windows",
    ] {
        assert!(!t[key].is_null(), "timeline.{key}");
    }
}
