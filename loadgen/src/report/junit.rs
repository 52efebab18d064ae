//! `junit.xml`: one `<testsuite>` per scenario; in it one `<testcase>` per anti-pattern (skipped
//! when not exercised, failed when its status is `fail`) and one per expectation (failed when it
//! did not hold, unevaluated ones included). Failure bodies list the findings and their evidence,
//! so a CI page shows why without opening the HTML report.

use std::fmt::Write as _;

use super::view::{ReportView, ScenarioView};
use crate::scoring::{Assessment, Status};

/// Writes the JUnit XML for `report` to `path` atomically.
pub fn write(path: &std::path::Path, report: &ReportView) -> std::io::Result<()> {
    crate::cli::sim::write_atomic(path, render(report).as_bytes())
}

/// The JUnit XML document for `report`.
pub fn render(report: &ReportView) -> String {
    let mut suites = String::new();
    let (mut tests, mut failures, mut skipped) = (0, 0, 0);
    for s in &report.scenarios {
        let (t, f, k) = suite(&mut suites, s, report.seed);
        tests += t;
        failures += f;
        skipped += k;
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"sfchaos\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\">\n{suites}</testsuites>\n"
    )
}

fn suite(out: &mut String, s: &ScenarioView, seed: u64) -> (usize, usize, usize) {
    let mut cases = String::new();
    let (mut failures, mut skipped) = (0, 0);
    let class = format!("sfchaos.{}", s.name);
    for (id, a) in &s.anti_patterns {
        let _ = write!(
            cases,
            "    <testcase classname=\"{}\" name=\"anti-pattern {}\">",
            esc(&format!("{class}.anti-pattern")),
            esc(id)
        );
        match a.status {
            Status::NotExercised => {
                skipped += 1;
                let why = a.findings.first().map_or("", |f| f.message.as_str());
                let _ = write!(
                    cases,
                    "<skipped message=\"{}\"/>",
                    esc(&format!("not exercised: {why}"))
                );
            }
            Status::Fail => {
                failures += 1;
                let _ = write!(
                    cases,
                    "<failure type=\"anti-pattern\" message=\"{}\">{}</failure>",
                    esc(&format!(
                        "score {} ({}) below {}",
                        a.score.unwrap_or(0),
                        a.grade.map_or("-", |g| g.as_str()),
                        crate::scoring::PASS_SCORE
                    )),
                    esc(&findings_text(a))
                );
            }
            Status::Pass => {
                let _ = write!(
                    cases,
                    "<system-out>{}</system-out>",
                    esc(&format!(
                        "score {} ({})\n{}",
                        a.score.unwrap_or(0),
                        a.grade.map_or("-", |g| g.as_str()),
                        findings_text(a)
                    ))
                );
            }
        }
        cases.push_str("</testcase>\n");
    }
    for e in &s.expectations {
        let _ = write!(
            cases,
            "    <testcase classname=\"{}\" name=\"expect {}\">",
            esc(&format!("{class}.expect")),
            esc(&e.name)
        );
        if !e.passed {
            failures += 1;
            let mut message = if e.actual.is_null() {
                "not measured".to_string()
            } else {
                format!("actual {}", e.actual)
            };
            if let Some(d) = &e.detail {
                message = format!("{message}: {d}");
            }
            // A failed min_score carries the anti-pattern's findings.
            let body = e
                .name
                .strip_prefix("min_score.")
                .or_else(|| e.name.strip_prefix("baseline."))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|id| s.anti_patterns.get(id))
                .map(findings_text)
                .unwrap_or_default();
            let _ = write!(
                cases,
                "<failure type=\"expectation\" message=\"{}\">{}</failure>",
                esc(&message),
                esc(&body)
            );
        }
        cases.push_str("</testcase>\n");
    }
    let tests = s.anti_patterns.len() + s.expectations.len();
    let _ = write!(
        out,
        "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\">\n    <properties><property name=\"integration\" value=\"{}\"/><property name=\"seed\" value=\"{}\"/>{}</properties>\n{cases}  </testsuite>\n",
        esc(&s.name),
        esc(&s.integration),
        s.seed.unwrap_or(seed),
        s.file
            .as_deref()
            .map(|f| format!("<property name=\"file\" value=\"{}\"/>", esc(f)))
            .unwrap_or_default()
    );
    (tests, failures, skipped)
}

/// `severity: message (count) — evidence…`, one finding per line.
fn findings_text(a: &Assessment) -> String {
    let mut t = String::new();
    for f in &a.findings {
        let _ = write!(t, "{}: {}", f.severity.as_str(), f.message);
        if f.count > 0 {
            let _ = write!(t, " (×{})", f.count);
        }
        if !f.evidence.is_empty() {
            let _ = write!(t, " — {}", f.evidence.join(", "));
        }
        t.push('\n');
    }
    t
}

/// XML text/attribute escaping; characters XML 1.0 forbids are dropped.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            '\t' | '\n' | '\r' => o.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => o.push(c),
        }
    }
    o
}
