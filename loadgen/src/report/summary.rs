//! The terminal summary: per scenario, a header (name, integration, seed, verdict), ten rows (id,
//! score, grade, status, top finding), the ledger and latency line, and the expectations that did
//! not hold. Plain text, never wider than [`WIDTH`] columns, so CI logs stay readable.

use std::fmt::Write as _;

use super::view::{ReportView, ScenarioView};
use crate::scoring::{Assessment, Status};

/// Widest line written.
pub const WIDTH: usize = 100;

/// The summary of every scenario in the report.
pub fn render(report: &ReportView) -> String {
    let mut out = String::new();
    for (i, s) in report.scenarios.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        scenario(&mut out, s, report.seed);
    }
    if report.scenarios.len() > 1 {
        let passed = report.scenarios.iter().filter(|s| s.passed).count();
        line(
            &mut out,
            &format!("{passed} of {} scenarios passed", report.scenarios.len()),
        );
    }
    out
}

fn scenario(out: &mut String, s: &ScenarioView, report_seed: u64) {
    let verdict = if s.passed { "PASSED" } else { "FAILED" };
    let scale = s
        .time_scale
        .map(|f| format!(" | time scale {f} (shortened run)"))
        .unwrap_or_default();
    line(
        out,
        &format!(
            "scenario {} | {} | seed {}{scale} | {verdict}",
            s.name,
            if s.integration.is_empty() {
                "-"
            } else {
                &s.integration
            },
            s.seed.unwrap_or(report_seed)
        ),
    );
    line(
        out,
        &format!(
            "  {:<22} {:>5} {:<5} {:<13} {}",
            "anti-pattern", "score", "grade", "status", "top finding"
        ),
    );
    for (id, a) in &s.anti_patterns {
        line(out, &row(id, a));
    }
    let l = &s.ledger;
    line(
        out,
        &format!(
            "  ledger: sent {} accepted {} rejected {} landed {} lost {} duplicates {} wrong {}",
            l.sent, l.accepted, l.rejected, l.landed, l.lost, l.duplicates, l.wrong_value
        ),
    );
    let lat = &s.load.latency_ms;
    line(
        out,
        &format!(
            "  load: {:.1} events/s; latency p50 {:.1} ms, p99 {:.1} ms (uncorrected p99 {:.1} ms)",
            s.load.achieved_rate, lat.p50, lat.p99, lat.p99_uncorrected
        ),
    );
    let failed: Vec<_> = s.expectations.iter().filter(|e| !e.passed).collect();
    line(
        out,
        &format!(
            "  expectations: {} of {} held",
            s.expectations.len() - failed.len(),
            s.expectations.len()
        ),
    );
    for e in failed {
        let actual = if e.actual.is_null() {
            e.detail.clone().unwrap_or_else(|| "not measured".into())
        } else {
            format!("actual {}", e.actual)
        };
        line(out, &format!("    FAIL {} ({actual})", e.name));
    }
}

fn row(id: &str, a: &Assessment) -> String {
    let score = a.score.map_or("-".to_string(), |s| s.to_string());
    let grade = a.grade.map_or("-", |g| g.as_str());
    let status = match a.status {
        Status::NotExercised => "not exercised",
        s => s.as_str(),
    };
    let top = a.top_finding().map_or("", |f| f.message.as_str());
    format!("  {id:<22} {score:>5} {grade:<5} {status:<13} {top}")
}

/// Appends `text` cut to [`WIDTH`] characters (with `…` when cut).
fn line(out: &mut String, text: &str) {
    let text = text.replace(['\n', '\r'], " ");
    if text.chars().count() > WIDTH {
        let cut: String = text.chars().take(WIDTH - 1).collect();
        let _ = writeln!(out, "{}…", cut.trim_end());
    } else {
        let _ = writeln!(out, "{}", text.trim_end());
    }
}
