//! report.html in a real browser: headless Chromium renders the page from a scored run, with its
//! charts and no console errors, and leaves a screenshot in `target/tmp/report-html/`.
//!
//! Chromium is installed by the README's test command (`scripts/test.sh`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use loadgen::ledger::{
    ExpectedState, KeyFinding, LedgerEntry, LedgerTotals, Outcome, Problem, Reconciliation,
};
use loadgen::recorder::{RunSummary, SeriesPoint, TimeSeries};
use loadgen::report::build::Scored;
use loadgen::report::facts::ExpectSpec;
use loadgen::report::html;
use loadgen::report::model::{LedgerReport, LoadReport};
use loadgen::report::view::{LatencyView, LedgerView, LoadView, ReportView, ScenarioView};
use loadgen::scenario::AntiPattern;
use loadgen::scoring::evidence::{FaultWindow, LifecycleEvent, Span, StreamInfo, StreamKind};
use loadgen::scoring::verdict;
use loadgen::scoring::{self, Evidence};
use simulator::journal::{Api, FaultTag, JournalEntry};

const S: u64 = 1_000_000;
const MS: u64 = 1_000;
const CHROMIUM: &str = "/usr/bin/chromium";
const BROWSER_LIMIT: Duration = Duration::from_secs(90);

fn out_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report-html");
    std::fs::create_dir_all(&dir).expect("create the test output directory");
    dir
}

/// A two-minute run with an outage answered by immediate retries, a lock-contention spell, a
/// crash-restart, and a latency stall the raw latency hides.
fn sample_report() -> ReportView {
    let mut journal = Vec::new();
    let mut ledger = Vec::new();
    let mut findings = Vec::new();
    let mut used = 20_000u64;
    let mut push = |journal: &mut Vec<JournalEntry>, mut e: JournalEntry| {
        used += 1;
        e.id = journal.len() as u64 + 1;
        e.user = Some("admin@sfchaos.test".into());
        e.api = Api::of_path(&e.path);
        e.object = Some("Account".into());
        e.api_usage = Some((used, 100_000));
        journal.push(e);
    };
    for i in 0..1_200u64 {
        let t = i * 100 * MS;
        let event = format!("evt-{i}");
        let down = (40 * S..60 * S).contains(&t);
        let restarting = (100 * S..103 * S).contains(&t);
        let latency = if (70 * S..72 * S).contains(&t) {
            1_500 * MS
        } else {
            2 * MS + (i * 7_919) % (7 * MS)
        };
        ledger.push(LedgerEntry {
            event_id: event.clone(),
            stream: "account-upserts".into(),
            seq: i,
            sent_us: t,
            object: "Account".into(),
            external_id_field: "External_Id__c".into(),
            external_id: format!("A-{i:06}"),
            kind: loadgen::datagen::EventKind::Upsert,
            fields: Default::default(),
            outcome: if restarting {
                Outcome::TransportError {
                    message: "connection refused".into(),
                }
            } else {
                Outcome::Accepted { status: 200 }
            },
            latency_us: latency,
        });
        let write = |status: u16, at: u64| JournalEntry {
            t_us: at,
            latency_us: rng_latency(at),
            method: "PATCH".into(),
            path: format!("/services/data/v62.0/sobjects/Account/External_Id__c/A-{i:06}"),
            route: "sobjects.upsert".into(),
            status,
            body_hash: Some(format!("b{i}")),
            ids: vec![format!("001000000000{i:06}")],
            fields: vec!["Name".into()],
            ..JournalEntry::default()
        };
        if restarting {
            continue;
        }
        if down {
            // Retried every 25 ms until the outage ends; half the events are dropped after.
            let mut at = t;
            while at < 60 * S {
                let mut e = write(503, at);
                e.error_code = Some("SERVER_UNAVAILABLE".into());
                e.fault = Some(FaultTag {
                    rule: "outage-0".into(),
                    kind: "outage".into(),
                    action: "respond:503".into(),
                });
                push(&mut journal, e);
                at += 25 * MS;
            }
            if i % 2 == 0 {
                findings.push(KeyFinding {
                    object: "Account".into(),
                    external_id_field: "External_Id__c".into(),
                    external_id: format!("A-{i:06}"),
                    last_event_id: Some(event),
                    problem: Problem::Lost {
                        expected: ExpectedState::Present,
                    },
                });
                continue;
            }
            push(&mut journal, write(200, at));
        } else if (80 * S..90 * S).contains(&t) && i % 3 == 0 {
            let mut e = write(400, t);
            e.error_code = Some("UNABLE_TO_LOCK_ROW".into());
            push(&mut journal, e);
            push(&mut journal, write(200, t + 40 * MS));
        } else {
            push(&mut journal, write(200, t));
        }
    }
    // Corrected latency shows the stall at 70 s for every event that should have been sent then.
    let series = (0..120)
        .map(|s| {
            let stalled = (70..74).contains(&s);
            SeriesPoint {
                start_s: s as f64,
                len_s: 1.0,
                count: 10,
                errors: 0,
                p50_ms: if stalled { 900.0 } else { 5.0 },
                p99_ms: if stalled { 1_600.0 } else { 9.0 },
            }
        })
        .collect();
    let lost = findings.len() as u64;
    let ev = Evidence {
        scenario: "peak-hour-outage".into(),
        seed: 7,
        load_us: 120 * S,
        drain_us: 10 * S,
        integration_user: "admin@sfchaos.test".into(),
        streams: vec![StreamInfo {
            name: "account-upserts".into(),
            kind: StreamKind::Events,
            object: "Account".into(),
            batch_size: None,
        }],
        faults: vec![
            window("outage-0", "outage", 40, 60, Some("http-503")),
            window("lock-1", "lock-contention", 80, 90, None),
        ],
        peak: vec![Span::new(0, Some(30 * S))],
        lifecycle: vec![
            lifecycle(100, "action-begin", Some("crash-restart")),
            lifecycle(100, "exit", None),
            lifecycle(101, "start", None),
            lifecycle(103, "healthy", None),
        ],
        journal: journal.into(),
        ledger: ledger.into(),
        reconciliation: Some(Reconciliation {
            totals: LedgerTotals {
                sent: 1_200,
                accepted: 1_170,
                rejected: 30,
                landed: 1_170 - lost,
                lost,
                keys: 1_170,
                unanswered: 30,
                ..LedgerTotals::default()
            },
            findings,
            findings_omitted: 0,
        }),
        load: Some(RunSummary {
            series: TimeSeries {
                overall: series,
                ..TimeSeries::default()
            },
            ..RunSummary::default()
        }),
        ..Evidence::default()
    };
    let scored = scoring::score(&ev).expect("score the sample run");
    let mut expect = ExpectSpec {
        min_score: Default::default(),
        lost: Some(0),
        duplicates: Some(0),
        wrong_value: None,
        max_p99_ms: Some(2_000.0),
        min_achieved_rate: None,
        max_error_rate: None,
        baseline_margin: 5,
    };
    expect
        .min_score
        .insert(AntiPattern::BlindRetries.as_str().into(), 80);
    expect
        .min_score
        .insert(AntiPattern::Availability.as_str().into(), 90);
    let totals = ev.reconciliation.as_ref().map(|r| r.totals.clone());
    let keyed = Scored::from(scored.clone());
    let load = LoadReport {
        completed: 1_170,
        ..LoadReport::default()
    };
    let mut load = load;
    load.latency_ms.p99 = 41.0;
    let results = verdict::evaluate(
        &expect,
        &LedgerReport::from(&totals.clone().unwrap_or_default()),
        &load,
        &keyed.anti_patterns,
        true,
    );
    let t = totals.unwrap_or_default();
    ReportView {
        schema_version: 1,
        tool_version: env!("CARGO_PKG_VERSION").into(),
        seed: 7,
        scenarios: vec![ScenarioView {
            name: ev.scenario.clone(),
            integration: "builtin:naive".into(),
            passed: verdict::all_passed(&results),
            anti_patterns: scored
                .anti_patterns
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), v.clone()))
                .collect(),
            ledger: LedgerView {
                sent: t.sent,
                accepted: t.accepted,
                rejected: t.rejected,
                landed: t.landed,
                lost: t.lost,
                duplicates: t.duplicates,
                wrong_value: t.wrong_value,
            },
            load: LoadView {
                achieved_rate: 10.0,
                target_rate: 10.0,
                latency_ms: LatencyView {
                    p50: 5.1,
                    p99: 41.0,
                    p99_uncorrected: 9.2,
                },
            },
            expectations: results,
            seed: Some(7),
            file: Some("scenarios/peak-hour-outage.toml".into()),
            timeline: Some(scored.timeline),
            time_scale: None,
        }],
    }
}

/// A deterministic spread of Salesforce latencies, 20–80 ms.
fn rng_latency(at: u64) -> u64 {
    20 * MS + (at / MS * 7_919) % (60 * MS)
}

fn window(id: &str, kind: &str, start: u64, end: u64, mode: Option<&str>) -> FaultWindow {
    FaultWindow {
        id: id.into(),
        kind: kind.into(),
        span: Span::new(start * S, Some(end * S)),
        mode: mode.map(str::to_owned),
        probability: Some(1.0),
        installed: true,
        ..FaultWindow::default()
    }
}

fn lifecycle(t_s: i64, event: &str, action: Option<&str>) -> LifecycleEvent {
    LifecycleEvent {
        t_us: t_s * 1_000_000,
        event: event.into(),
        action: action.map(str::to_owned),
        expected: (event == "exit").then_some(true),
        detail: None,
    }
}

struct Browser {
    stdout: String,
    stderr: String,
}

/// Runs headless Chromium on `page` with `extra` flags, bounded in time.
async fn chromium(page: &Path, extra: &[String]) -> Browser {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing; run the README's test command (scripts/test.sh) or `apt-get install -y chromium`"
    );
    let profile = tempfile::tempdir().expect("browser profile directory");
    let mut cmd = tokio::process::Command::new(CHROMIUM);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1280,2000",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()))
    .args(extra)
    .arg(format!("file://{}", page.display()))
    .kill_on_drop(true)
    .stdin(std::process::Stdio::null())
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().expect("start chromium");
    let out = tokio::time::timeout(BROWSER_LIMIT, child.wait_with_output())
        .await
        .expect("chromium finished within the time limit")
        .expect("chromium ran");
    Browser {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Console messages and uncaught exceptions from the page (Chromium logs them as `CONSOLE` lines).
fn console_errors(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Uncaught"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_renders_in_headless_chromium() {
    let dir = out_dir();
    let page = dir.join("report.html");
    let report = sample_report();
    html::write(&page, &report).expect("write report.html");
    let shot = dir.join("report-screenshot.png");
    let _ = std::fs::remove_file(&shot);

    let run = chromium(&page, &[format!("--screenshot={}", shot.display())]).await;
    let errors = console_errors(&run.stderr);
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    let png = std::fs::read(&shot)
        .unwrap_or_else(|e| panic!("no screenshot at {}: {e}\n{}", shot.display(), run.stderr));
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    // A blank page compresses to a few KB; charts and cards do not.
    assert!(
        png.len() > 60_000,
        "screenshot looks empty: {} bytes",
        png.len()
    );

    let dom = chromium(&page, &["--dump-dom".to_string()]).await;
    let errors = console_errors(&dom.stderr);
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    assert_eq!(
        dom.stdout.matches("<svg class=\"chart\"").count(),
        6,
        "five timeline charts and the ledger"
    );
    assert!(
        dom.stdout.matches("<path d=\"M").count() >= 8,
        "charts have drawn series"
    );
    assert!(
        dom.stdout.contains("outage-0 (http-503)"),
        "the outage is shaded"
    );
    assert_eq!(dom.stdout.matches("<article class=\"card").count(), 10);
    println!("report: {}\nscreenshot: {}", page.display(), shot.display());
}
