//! The scenario library (`scenarios/*.toml`): every file validates, and every file runs.
//!
//! Running the library at full length takes half an hour, so each scenario runs shortened with
//! `sfchaos run --time-scale F` (every scenario time multiplied by F, rates kept: see
//! `loadgen/src/scenario/time_scale.rs`), F chosen so the run lasts about [`TARGET`], against
//! `builtin:resilient`, at most [`CONCURRENCY`] at a time. Each must:
//! - finish with a report (exit 0 or 1 — a shortened run is not scored like a full one, so its
//!   expectations may fail — never 2);
//! - record every fault rule of the file in `faults.ndjson`, installed;
//! - exercise the anti-patterns [`LIBRARY`] lists for it (not `not-exercised`). The lists hold
//!   the anti-patterns the shortening keeps faithful; where it does not, the entry says why.
//!
//! The tests read the directory, so a file added without an entry in [`LIBRARY`] fails them.

mod run_common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use loadgen::scenario::Scenario;
use run_common::{ndjson, only_scenario, run, scenario_dir, sfchaos, text};

/// About how long each shortened run's scenario time lasts (load + drain).
const TARGET: Duration = Duration::from_secs(12);
/// Runs at once: the integration, the simulator and the harness share two cores.
const CONCURRENCY: usize = 2;
/// Generous bound per run (start-up, scoring and a loaded CI machine included).
const RUN_LIMIT: Duration = Duration::from_secs(150);

/// One entry per file in `scenarios/`: its name and the anti-patterns a shortened run must
/// still exercise.
const LIBRARY: &[(&str, &[&str])] = &[
    (
        "quickstart",
        &[
            "blind-retries",
            "availability",
            "data-ownership",
            "partial-failures",
        ],
    ),
    // The ten anti-pattern scenarios.
    ("realtime-db", &["realtime-db"]),
    // A sales user edits one record every 30 s: shortened, nobody edits anything, so polling
    // has nothing to deliver. Validated and run, but its anti-pattern needs the full length.
    ("polling", &[]),
    ("data-ownership", &["data-ownership"]),
    ("blind-retries", &["blind-retries"]),
    ("partial-failures", &["partial-failures"]),
    ("schema-assumptions", &["schema-assumptions"]),
    ("observability", &["observability"]),
    ("rollback", &["rollback"]),
    ("batch-realtime-mixing", &["batch-realtime-mixing"]),
    ("availability", &["availability"]),
    // Realistic mixes.
    (
        // Its errors (10 % of calls for 15 s) leave about three failed calls when shortened:
        // too few to count on, so blind-retries needs the full length.
        "peak-hour",
        &["realtime-db", "batch-realtime-mixing", "data-ownership"],
    ),
    (
        "nightly-batch-overlap",
        &["batch-realtime-mixing", "partial-failures", "blind-retries"],
    ),
    ("read-only-maintenance", &["availability", "blind-retries"]),
    (
        "api-allocation-exhaustion",
        &["blind-retries", "realtime-db"],
    ),
    ("schema-release-day", &["schema-assumptions", "realtime-db"]),
    ("outage-and-recovery", &["availability", "blind-retries"]),
    ("token-revocation", &["realtime-db", "data-ownership"]),
    ("retry-storm", &["blind-retries"]),
    // Brooker's contention experiment: its subject is how many calls each retry strategy makes
    // and how long it takes (`sfchaos compare`, tests/compare_cli.rs), not an anti-pattern score;
    // 412 conflicts re-read and retry as they should, which blind-retries does not judge.
    ("retry-storm-occ", &[]),
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `*.toml` in `scenarios/`, sorted.
fn library_files() -> Vec<PathBuf> {
    let dir = root().join("scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn entry(name: &str) -> Option<&'static [&'static str]> {
    LIBRARY.iter().find(|(n, _)| *n == name).map(|(_, a)| *a)
}

#[test]
fn every_file_has_an_entry_and_every_entry_a_file() {
    let files: BTreeSet<String> = library_files().iter().map(|p| stem(p)).collect();
    let listed: BTreeSet<String> = LIBRARY.iter().map(|(n, _)| n.to_string()).collect();
    let unlisted: Vec<_> = files.difference(&listed).collect();
    let missing: Vec<_> = listed.difference(&files).collect();
    assert!(
        unlisted.is_empty(),
        "scenarios/ has files tests/scenario_library.rs does not know: {unlisted:?}; add each to \
         LIBRARY with the anti-patterns a shortened run of it must exercise"
    );
    assert!(
        missing.is_empty(),
        "LIBRARY lists missing files: {missing:?}"
    );
    assert_eq!(listed.len(), LIBRARY.len(), "LIBRARY lists a file twice");
}

#[test]
fn every_file_validates() {
    let files = library_files();
    assert!(files.len() >= LIBRARY.len(), "{files:?}");
    for path in &files {
        let output = run(&["validate", &path.to_string_lossy()]);
        assert_eq!(
            output.status.code(),
            Some(0),
            "sfchaos validate {}:\n{}",
            path.display(),
            text(&output)
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        let scenario = Scenario::from_file(path).expect("validated");
        assert!(
            stdout.contains(&format!("scenario \"{}\"", scenario.name)),
            "{stdout}"
        );
        // A library file names itself after its file, so reports, output directories and
        // `--baseline` comparisons are easy to match with the file.
        assert_eq!(scenario.name, stem(path), "{}", path.display());
        assert!(
            scenario.warnings.is_empty(),
            "{}: warnings: {:?}",
            path.display(),
            scenario.warnings
        );
    }
}

/// The factor that makes `scenario` last about [`TARGET`] (never longer than written).
fn factor_for(scenario: &Scenario) -> f64 {
    let total = scenario.total_duration().as_secs_f64();
    (TARGET.as_secs_f64() / total).min(1.0)
}

/// What went wrong with one shortened run, if anything.
fn check_shortened(path: &Path, out: &Path) -> Result<(), String> {
    let name = stem(path);
    let scenario = Scenario::from_file(path).map_err(|e| e.to_string())?;
    let factor = format!("{:.4}", factor_for(&scenario));
    let started = Instant::now();
    let output = sfchaos()
        .args(["run", &path.to_string_lossy()])
        .args(["--integration", "builtin:resilient"])
        .args(["--time-scale", &factor])
        .arg("--out")
        .arg(out)
        .output()
        .map_err(|e| format!("cannot run sfchaos: {e}"))?;
    let elapsed = started.elapsed();
    let code = output.status.code();
    if !matches!(code, Some(0) | Some(1)) {
        return Err(format!("{name}: exit {code:?}\n{}", text(&output)));
    }
    if elapsed > RUN_LIMIT {
        return Err(format!("{name}: took {elapsed:?}"));
    }
    let report = only_scenario(out);
    let scorecard = String::from_utf8_lossy(&output.stdout);
    if report["time_scale"].as_f64().is_none() || !scorecard.contains("(shortened run)") {
        return Err(format!(
            "{name}: the report and the scorecard must say the run was shortened:\n{scorecard}"
        ));
    }
    if report["faults_installed"] != true {
        return Err(format!("{name}: fault plan not installed: {report:#}"));
    }
    let windows = ndjson(&scenario_dir(out).join("faults.ndjson"));
    let ids: Vec<&str> = windows.iter().filter_map(|w| w["id"].as_str()).collect();
    let expected: Vec<&str> = scenario
        .faults
        .rules
        .iter()
        .map(|r| r.id.as_str())
        .collect();
    if ids != expected || windows.iter().any(|w| w["installed"] != true) {
        return Err(format!(
            "{name}: faults.ndjson records {ids:?}, the file has {expected:?}: {windows:?}"
        ));
    }
    for id in entry(&name).unwrap_or_default() {
        let status = &report["anti_patterns"][*id]["status"];
        if status == "not-exercised" || status.is_null() {
            return Err(format!(
                "{name} at time scale {factor}: {id} was not exercised: {:#}",
                report["anti_patterns"][*id]
            ));
        }
    }
    eprintln!(
        "{name}: time scale {factor}, exit {code:?}, {:.1}s, passed {}",
        elapsed.as_secs_f64(),
        report["passed"]
    );
    Ok(())
}

#[test]
fn every_file_runs_shortened_against_the_resilient_reference() {
    let files = library_files();
    let tmp = tempfile::tempdir().expect("tempdir");
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..CONCURRENCY {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(path) = files.get(i) else { break };
                let out = tmp.path().join(stem(path));
                if let Err(e) = check_shortened(path, &out) {
                    failures.lock().expect("failures").push(e);
                }
            });
        }
    });
    let failures = failures.into_inner().expect("failures");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
