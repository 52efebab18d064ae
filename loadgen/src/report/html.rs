//! `report.html`: one self-contained page (inline CSS and SVG, no scripts, no external fetches)
//! drawn from report.json alone. Per scenario: verdict and score tiles, the run's timeline —
//! Salesforce requests by answer with fault windows shaded, inbound latency (corrected and raw),
//! API-allocation burn, retry waves, inbound acceptance — the ledger, the expectations, and a card
//! per anti-pattern with its findings and evidence.

use std::fmt::Write as _;

use super::charts::{ledger_bars, Series, Style, TimeChart};
use super::junit::esc;
use super::view::{ReportView, ScenarioView};
use crate::scoring::{Assessment, Severity, Status, Timeline};

const CSS: &str = r#"
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2733;background:#f5f7fa}
header{background:#1d2733;color:#fff;padding:18px 28px}
header h1{margin:0 0 4px;font-size:22px}
header p{margin:0;color:#c9d3df}
main{padding:8px 28px 40px;max-width:1240px;margin:0 auto}
section.scenario{background:#fff;border:1px solid #dde3ea;border-radius:8px;padding:18px 22px;margin:18px 0}
h2{margin:0 0 4px;font-size:20px}
h3{margin:22px 0 8px;font-size:16px;border-bottom:1px solid #e3e8ee;padding-bottom:4px}
.meta{color:#5a6b7d;margin:0 0 12px}
.badge{display:inline-block;padding:2px 10px;border-radius:12px;font-size:12px;font-weight:600;vertical-align:middle;margin-left:8px}
.badge.pass{background:#dff3e4;color:#1b6b34}.badge.fail{background:#fde0e0;color:#a61b1b}
.tiles{display:grid;grid-template-columns:repeat(5,minmax(0,1fr));gap:8px}
.tile{display:block;border:1px solid #dde3ea;border-radius:6px;padding:8px 10px;text-decoration:none;color:inherit;background:#fbfcfd}
.tile .id{font-size:12px;color:#5a6b7d}.tile .sc{font-size:24px;font-weight:700}
.tile.pass{border-left:5px solid #2e9d52}.tile.fail{border-left:5px solid #d93636}.tile.ne{border-left:5px solid #aab4bf;color:#7b8794}
.kpis{display:flex;flex-wrap:wrap;gap:18px;margin:12px 0 0;color:#33414f}
.kpis b{font-size:16px}
svg.chart{display:block;margin:6px 0 12px;background:#fff}
svg .ct{font-size:13px;font-weight:600;fill:#1d2733}
svg .ax,svg .lg{font-size:11px;fill:#4a5866}
svg .wl{font-size:10px;fill:#5a3a3a}
svg .mk{font-size:10px;fill:#b71c1c}
svg .grid{stroke:#e9edf1}
svg .axl{stroke:#aab4bf}
table{border-collapse:collapse;width:100%;margin:4px 0}
td,th{border-bottom:1px solid #e3e8ee;padding:4px 8px;text-align:left;vertical-align:top}
th{color:#5a6b7d;font-weight:600;font-size:12px}
.ok{color:#1b6b34;font-weight:600}.bad{color:#a61b1b;font-weight:600}.unev{color:#8a6d00;font-weight:600}
.cards{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:12px}
article.card{border:1px solid #dde3ea;border-radius:6px;padding:10px 14px;background:#fbfcfd}
article.card.pass{border-top:4px solid #2e9d52}article.card.fail{border-top:4px solid #d93636}article.card.ne{border-top:4px solid #aab4bf}
article.card h4{margin:0;font-size:15px}
article.card .what{color:#5a6b7d;margin:0 0 6px;font-size:12px}
article.card .score{float:right;font-weight:700;font-size:18px}
ul.findings{margin:4px 0 0;padding-left:0;list-style:none}
ul.findings li{margin:5px 0}
.sev{display:inline-block;min-width:58px;font-size:11px;font-weight:700;text-transform:uppercase;border-radius:3px;padding:0 4px;margin-right:6px;text-align:center}
.sev.critical{background:#fde0e0;color:#a61b1b}.sev.warning{background:#fff1d6;color:#8a5a00}.sev.info{background:#e7eef6;color:#3c5a78}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;background:#eef2f6;border-radius:3px;padding:0 4px;margin:0 2px;overflow-wrap:anywhere}
.count{color:#5a6b7d}
"#;

/// The seed article's name for each anti-pattern (design.md §7).
fn describe(id: &str) -> &'static str {
    match id {
        "realtime-db" => "treating Salesforce like a real-time database",
        "polling" => "polling instead of listening for events",
        "data-ownership" => "no clear data ownership",
        "blind-retries" => "blind retries without backoff",
        "partial-failures" => "ignoring partial failures",
        "schema-assumptions" => "hard-coding schema assumptions",
        "observability" => "no observability or alerts",
        "rollback" => "deploying without rollback plans",
        "batch-realtime-mixing" => "mixing real-time and batch carelessly",
        "availability" => "assuming Salesforce will always be available",
        _ => "",
    }
}

fn class(a: &Assessment) -> &'static str {
    match a.status {
        Status::Pass => "pass",
        Status::Fail => "fail",
        Status::NotExercised => "ne",
    }
}

/// Writes the page for `report` to `path` atomically.
pub fn write(path: &std::path::Path, report: &ReportView) -> std::io::Result<()> {
    crate::cli::sim::write_atomic(path, render(report).as_bytes())
}

/// The whole page.
pub fn render(report: &ReportView) -> String {
    let mut body = String::new();
    let passed = report.scenarios.iter().filter(|s| s.passed).count();
    let _ = write!(
        body,
        "<header><h1>sfchaos report</h1><p>{} scenario{}, {passed} passed · seed {} · sfchaos {}</p></header><main>",
        report.scenarios.len(),
        if report.scenarios.len() == 1 { "" } else { "s" },
        report.seed,
        esc(&report.tool_version)
    );
    if report.scenarios.len() > 1 {
        body.push_str("<section class=\"scenario\"><h3>Scenarios</h3><table><tr><th>scenario</th><th>integration</th><th>verdict</th></tr>");
        for (i, s) in report.scenarios.iter().enumerate() {
            let _ = write!(
                body,
                "<tr><td><a href=\"#s{i}\">{}</a></td><td>{}</td><td class=\"{}\">{}</td></tr>",
                esc(&s.name),
                esc(&s.integration),
                if s.passed { "ok" } else { "bad" },
                if s.passed { "passed" } else { "failed" }
            );
        }
        body.push_str("</table></section>");
    }
    for (i, s) in report.scenarios.iter().enumerate() {
        scenario(&mut body, i, s, report.seed);
    }
    body.push_str("</main>");
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>sfchaos report</title><style>{CSS}</style></head><body>{body}</body></html>\n"
    )
}

fn scenario(out: &mut String, i: usize, s: &ScenarioView, seed: u64) {
    let _ = write!(
        out,
        "<section class=\"scenario\" id=\"s{i}\"><h2>{}<span class=\"badge {}\">{}</span></h2><p class=\"meta\">integration <code>{}</code> · seed {}{}</p>",
        esc(&s.name),
        if s.passed { "pass" } else { "fail" },
        if s.passed { "PASSED" } else { "FAILED" },
        esc(&s.integration),
        s.seed.unwrap_or(seed),
        s.file
            .as_deref()
            .map(|f| format!(" · <code>{}</code>", esc(f)))
            .unwrap_or_default()
    );
    out.push_str("<div class=\"tiles\">");
    for (id, a) in &s.anti_patterns {
        let _ = write!(
            out,
            "<a class=\"tile {}\" href=\"#s{i}-{}\"><div class=\"id\">{}</div><div class=\"sc\">{}</div><div>{} · {}</div></a>",
            class(a),
            esc(id),
            esc(id),
            a.score.map_or("–".to_string(), |v| v.to_string()),
            a.grade.map_or("–", |g| g.as_str()),
            match a.status {
                Status::NotExercised => "not exercised",
                st => st.as_str(),
            }
        );
    }
    out.push_str("</div>");
    let l = &s.ledger;
    let lat = &s.load.latency_ms;
    let _ = write!(
        out,
        "<div class=\"kpis\"><span>achieved <b>{:.1}</b> events/s</span><span>p50 <b>{:.1}</b> ms</span><span>p99 <b>{:.1}</b> ms</span><span>p99 uncorrected <b>{:.1}</b> ms</span><span>accepted <b>{}</b> / {}</span><span>lost <b>{}</b></span><span>duplicates <b>{}</b></span><span>wrong values <b>{}</b></span></div>",
        s.load.achieved_rate, lat.p50, lat.p99, lat.p99_uncorrected, l.accepted, l.sent, l.lost, l.duplicates, l.wrong_value
    );

    out.push_str("<h3>Timeline</h3>");
    match &s.timeline {
        Some(t) => charts(out, t),
        None => out.push_str("<p class=\"meta\">This report carries no timeline.</p>"),
    }
    out.push_str(&ledger_bars(&s.ledger));

    out.push_str("<h3>Expectations</h3>");
    if s.expectations.is_empty() {
        out.push_str("<p class=\"meta\">The scenario sets no expectations.</p>");
    } else {
        out.push_str("<table><tr><th>expectation</th><th>actual</th><th>result</th></tr>");
        for e in &s.expectations {
            let (cls, word) = if e.passed {
                ("ok", "held")
            } else if e.status == crate::scoring::verdict::ExpectationStatus::Unevaluated {
                ("unev", "not measured")
            } else {
                ("bad", "failed")
            };
            let actual = if e.actual.is_null() {
                "–".to_string()
            } else {
                e.actual.to_string()
            };
            let _ = write!(
                out,
                "<tr><td><code>{}</code></td><td>{}{}</td><td class=\"{cls}\">{word}</td></tr>",
                esc(&e.name),
                esc(&actual),
                e.detail
                    .as_deref()
                    .map(|d| format!(" <span class=\"count\">({})</span>", esc(d)))
                    .unwrap_or_default()
            );
        }
        out.push_str("</table>");
    }

    out.push_str("<h3>Anti-patterns</h3><div class=\"cards\">");
    for (id, a) in &s.anti_patterns {
        card(out, i, id, a);
    }
    out.push_str("</div></section>");
}

fn card(out: &mut String, i: usize, id: &str, a: &Assessment) {
    let _ = write!(
        out,
        "<article class=\"card {}\" id=\"s{i}-{}\"><span class=\"score\">{}</span><h4>{}</h4><p class=\"what\">{} · {}</p><ul class=\"findings\">",
        class(a),
        esc(id),
        match (a.score, a.grade) {
            (Some(s), Some(g)) => format!("{s} · {}", g.as_str()),
            _ => "not exercised".into(),
        },
        esc(id),
        esc(describe(id)),
        a.status.as_str()
    );
    for f in &a.findings {
        let sev = match f.severity {
            Severity::Critical => "critical",
            Severity::Warning => "warning",
            Severity::Info => "info",
        };
        let _ = write!(
            out,
            "<li><span class=\"sev {sev}\">{sev}</span>{}",
            esc(&f.message)
        );
        if f.count > 0 {
            let _ = write!(out, " <span class=\"count\">×{}</span>", f.count);
        }
        if !f.evidence.is_empty() {
            out.push_str("<br>");
            for e in &f.evidence {
                let _ = write!(out, "<code>{}</code>", esc(e));
            }
        }
        out.push_str("</li>");
    }
    out.push_str("</ul></article>");
}

fn per_s(v: &[u32], bucket_s: f64) -> Vec<Option<f64>> {
    v.iter().map(|&c| Some(f64::from(c) / bucket_s)).collect()
}

fn charts(out: &mut String, t: &Timeline) {
    let b = t.bucket_s.max(1e-9);
    let rate = if b == 1.0 {
        "per second"
    } else {
        "per second (averaged)"
    };
    let requests_title = format!("Salesforce requests by the integration, by answer, {rate}");
    let retries_title = format!("Retry waves: requests identified as retries, {rate}");
    let events_title = format!("Inbound events answered by the integration, {rate}");
    let requests = TimeChart {
        title: &requests_title,
        y_label: "requests/s",
        bucket_s: b,
        end_s: t.end_s,
        series: vec![
            Series {
                name: "2xx/3xx",
                color: "#4caf50",
                style: Style::Bars,
                values: per_s(&t.requests.ok, b),
            },
            Series {
                name: "4xx",
                color: "#ff9800",
                style: Style::Bars,
                values: per_s(&t.requests.client_error, b),
            },
            Series {
                name: "5xx",
                color: "#e53935",
                style: Style::Bars,
                values: per_s(&t.requests.server_error, b),
            },
            Series {
                name: "no answer",
                color: "#6d4c41",
                style: Style::Bars,
                values: per_s(&t.requests.no_answer, b),
            },
        ],
        windows: &t.windows,
        marks: &t.marks,
    };
    out.push_str(&requests.render());
    let latency = TimeChart {
        title: "Inbound event latency (ms): corrected for coordinated omission, and raw",
        y_label: "ms",
        bucket_s: b,
        end_s: t.end_s,
        series: vec![
            Series {
                name: "p50",
                color: "#1976d2",
                style: Style::Line,
                values: t.latency.p50_ms.clone(),
            },
            Series {
                name: "p99",
                color: "#c2185b",
                style: Style::Line,
                values: t.latency.p99_ms.clone(),
            },
            Series {
                name: "raw p50",
                color: "#64b5f6",
                style: Style::Dashed,
                values: t.latency.raw_p50_ms.clone(),
            },
            Series {
                name: "raw p99",
                color: "#f48fb1",
                style: Style::Dashed,
                values: t.latency.raw_p99_ms.clone(),
            },
        ],
        windows: &t.windows,
        marks: &t.marks,
    };
    out.push_str(&latency.render());
    let burn = TimeChart {
        title: "API allocation burn: daily requests used (org-wide)",
        y_label: "requests used",
        bucket_s: b,
        end_s: t.end_s,
        series: vec![
            Series {
                name: "used",
                color: "#5e35b1",
                style: Style::Line,
                values: t.api_used.iter().map(|u| u.map(|v| v as f64)).collect(),
            },
            Series {
                name: "allocation",
                color: "#b0a4d6",
                style: Style::Dashed,
                values: match t.api_max {
                    Some(m) => vec![Some(m as f64); t.api_used.len()],
                    None => Vec::new(),
                },
            },
        ],
        windows: &t.windows,
        marks: &t.marks,
    };
    out.push_str(&burn.render());
    let retries = TimeChart {
        title: &retries_title,
        y_label: "retries/s",
        bucket_s: b,
        end_s: t.end_s,
        series: vec![Series {
            name: "retries",
            color: "#ef6c00",
            style: Style::Bars,
            values: per_s(&t.retries, b),
        }],
        windows: &t.windows,
        marks: &t.marks,
    };
    out.push_str(&retries.render());
    let events = TimeChart {
        title: &events_title,
        y_label: "events/s",
        bucket_s: b,
        end_s: t.end_s,
        series: vec![
            Series {
                name: "accepted",
                color: "#1976d2",
                style: Style::Bars,
                values: per_s(&t.events_accepted, b),
            },
            Series {
                name: "rejected or unanswered",
                color: "#ff9800",
                style: Style::Bars,
                values: per_s(&t.events_rejected, b),
            },
        ],
        windows: &t.windows,
        marks: &t.marks,
    };
    out.push_str(&events.render());
}
