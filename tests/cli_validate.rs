//! `sfchaos validate`: valid files print a summary and exit 0; bad files exit 2 naming the file,
//! line and key of every problem. Runs the built binary.

use std::path::Path;
use std::process::{Command, Output};

fn validate(files: &[&str]) -> Output {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/validate");
    Command::new(env!("CARGO_BIN_EXE_sfchaos"))
        .arg("validate")
        .args(files.iter().map(|f| dir.join(f)))
        .output()
        .expect("sfchaos runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

#[test]
fn a_valid_file_prints_its_summary() {
    let o = validate(&["good.toml"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("scenario \"good\""), "{out}");
    assert!(out.contains("seed 42"), "{out}");
    assert!(out.contains("5000 API requests per 10m"), "{out}");
    assert!(out.contains("down  outage http-503  30s..45s"), "{out}");
    assert!(
        out.contains("latency-1  latency lognormal(median 80ms, p99 900ms)  api=rest"),
        "{out}"
    );
}

/// Each bad file: exit 2, and stderr names `file:line: key: message`.
#[test]
fn bad_files_exit_2_naming_file_line_and_key() {
    let cases = [
        (
            "unknown_key.toml",
            7,
            "faults[0].probabilty",
            "unknown key `probabilty` (did you mean `probability`?)",
        ),
        (
            "wrong_type.toml",
            7,
            "faults[0].probability",
            "invalid type: string \"often\", expected f64",
        ),
        (
            "negative_duration.toml",
            7,
            "faults[0].duration",
            "must not be negative, got \"-30s\"",
        ),
        (
            "probability.toml",
            11,
            "faults[1].probability",
            "must be between 0 and 1, got 1.5",
        ),
        (
            "contradictory.toml",
            14,
            "faults[1].mode",
            "contradicts fault \"outage-0\"",
        ),
    ];
    for (file, line, key, message) in cases {
        let o = validate(&[file]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{file}: {err}");
        let expected = format!("validate/{file}:{line}: {key}: {message}");
        assert!(
            err.contains(&expected),
            "{file}: expected `{expected}` in:\n{err}"
        );
        assert!(o.stdout.is_empty(), "{file}: no summary for a bad file");
    }
}

#[test]
fn every_file_is_checked_and_any_bad_one_fails_the_run() {
    let o = validate(&["good.toml", "probability.toml", "unknown_key.toml"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("probability.toml:11"), "{err}");
    assert!(err.contains("unknown_key.toml:7"), "{err}");
    assert!(err.contains("2 of 3 scenario files are invalid"), "{err}");
    assert!(String::from_utf8_lossy(&o.stdout).contains("scenario \"good\""));
}

#[test]
fn a_missing_file_is_a_usage_error() {
    let o = validate(&["no_such_file.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no_such_file.toml: cannot read the file"),
        "{}",
        stderr(&o)
    );
}
