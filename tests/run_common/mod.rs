//! Helpers for the `sfchaos run` end-to-end tests: scenario files in temporary directories, the
//! Python fixture integration (`tests/fixtures/integrations/integration.py`), running the built
//! binary and reading what it wrote.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The fixture integration in `mode` (correct, lossy, double, stall, crash) as a shell command.
pub fn fixture(mode: &str) -> String {
    format!(
        "python3 {}/tests/fixtures/integrations/integration.py {mode}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// Writes `body` (TOML) as `name.toml` in `dir`.
pub fn scenario(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, body).expect("write scenario");
    path
}

pub fn sfchaos() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sfchaos"));
    cmd.env_remove("SFCHAOS_LOG");
    cmd
}

/// Runs `sfchaos` with `args` to completion.
pub fn run(args: &[&str]) -> Output {
    sfchaos().args(args).output().expect("run sfchaos")
}

/// `sfchaos run FILE --out OUT`.
pub fn run_into(file: &Path, out: &Path) -> Output {
    run(&[
        "run",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
}

pub fn text(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

pub fn read_json(path: &Path) -> Value {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The only scenario of `out/report.json`.
pub fn only_scenario(out: &Path) -> Value {
    let report = read_json(&out.join("report.json"));
    assert_eq!(report["schema_version"], 1);
    let scenarios = report["scenarios"].as_array().expect("scenarios");
    assert_eq!(scenarios.len(), 1, "{report:#}");
    scenarios[0].clone()
}

/// Lines of an NDJSON file.
pub fn ndjson(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

/// The one scenario directory under `out`.
pub fn scenario_dir(out: &Path) -> PathBuf {
    let dirs: Vec<PathBuf> = std::fs::read_dir(out)
        .expect("out dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("run.json").is_file())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs[0].clone()
}

pub fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

pub fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}
