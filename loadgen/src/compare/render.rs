//! The terminal table and `compare.svg`: two bar panels (Salesforce calls, completion time), one
//! bar per strategy, so the usual trade-off — fewer calls for a later finish — reads at a glance.
//! The SVG is self-contained (no scripts, fonts or external references).

use std::fmt::Write as _;

use super::CompareReport;

/// The table printed on stdout.
pub fn table(report: &CompareReport) -> String {
    let seeds: Vec<String> = report.seeds.iter().map(u64::to_string).collect();
    let mut out = format!(
        "{}: mean over seed(s) {}\n",
        report.scenario,
        seeds.join(", ")
    );
    let width = report
        .strategies
        .iter()
        .map(|s| s.name.chars().count())
        .max()
        .unwrap_or(0)
        .max("strategy".len());
    let _ = writeln!(
        out,
        "{:<width$}  {:>9}  {:>9}  {:>12}  {:>8}  {:>13}  {:>9}",
        "strategy", "calls", "writes", "completion", "success", "amplification", "p99"
    );
    for s in &report.strategies {
        let _ = writeln!(
            out,
            "{:<width$}  {:>9.1}  {:>9.1}  {:>11.2}s  {:>7.1}%  {:>12.2}x  {:>7.1}ms",
            s.name,
            s.calls,
            s.writes,
            s.completion_time_s,
            s.success_rate * 100.0,
            s.amplification,
            s.p99_ms
        );
    }
    out
}

const BAR_H: f64 = 22.0;
const GAP: f64 = 8.0;
const LABEL_W: f64 = 230.0;
const PANEL_W: f64 = 360.0;
const COLORS: [&str; 9] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f",
];

/// `compare.svg`.
pub fn svg(report: &CompareReport) -> String {
    let n = report.strategies.len().max(1) as f64;
    let top = 56.0;
    let height = top + n * (BAR_H + GAP) + 30.0;
    let width = LABEL_W + 2.0 * PANEL_W + 60.0;
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = write!(
        out,
        r#"<rect width="100%" height="100%" fill="white"/><text x="10" y="20" font-size="15" font-weight="bold">{}</text>"#,
        escape(&format!(
            "{}: retry strategies (mean over {} seed(s))",
            report.scenario,
            report.seeds.len()
        ))
    );
    let calls: Vec<f64> = report.strategies.iter().map(|s| s.calls).collect();
    let times: Vec<f64> = report
        .strategies
        .iter()
        .map(|s| s.completion_time_s)
        .collect();
    let panels = [
        ("Salesforce calls", calls, ""),
        ("completion time", times, "s"),
    ];
    for (p, (title, values, unit)) in panels.iter().enumerate() {
        let value = |i: usize| values[i];
        let x0 = LABEL_W + p as f64 * (PANEL_W + 30.0);
        let _ = write!(
            out,
            r#"<text x="{x0}" y="44" font-weight="bold">{}</text>"#,
            escape(title)
        );
        let max = (0..report.strategies.len())
            .map(value)
            .fold(0.0_f64, f64::max);
        for i in 0..report.strategies.len() {
            let v = value(i);
            let y = top + i as f64 * (BAR_H + GAP);
            let w = if max > 0.0 {
                (v / max) * (PANEL_W - 80.0)
            } else {
                0.0
            };
            let _ = write!(
                out,
                r#"<rect x="{x0}" y="{y}" width="{w:.1}" height="{BAR_H}" fill="{}"><title>{}</title></rect><text x="{:.1}" y="{:.1}">{}</text>"#,
                COLORS[i % COLORS.len()],
                escape(&format!("{}: {v:.2}{unit}", report.strategies[i].name)),
                x0 + w + 4.0,
                y + BAR_H * 0.7,
                escape(&format!("{v:.1}{unit}"))
            );
        }
    }
    for (i, s) in report.strategies.iter().enumerate() {
        let y = top + i as f64 * (BAR_H + GAP) + BAR_H * 0.7;
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{y:.1}" text-anchor="end">{}</text>"#,
            LABEL_W - 10.0,
            escape(&s.name)
        );
    }
    out.push_str("</svg>\n");
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::super::StrategySummary;
    use super::*;

    fn report() -> CompareReport {
        let s = |name: &str, calls: f64, t: f64| StrategySummary {
            name: name.into(),
            calls,
            completion_time_s: t,
            success_rate: 1.0,
            amplification: calls / 10.0,
            p99_ms: 4.0,
            writes: calls / 2.0,
        };
        CompareReport {
            scenario: "occ".into(),
            seeds: vec![7],
            strategies: vec![
                s("none", 300.0, 0.5),
                s("full-jitter?cap=2s&x<y", 120.0, 1.5),
            ],
        }
    }

    #[test]
    fn the_table_has_a_row_per_strategy() {
        let t = table(&report());
        assert!(
            t.contains("none") && t.contains("300.0") && t.contains("1.50s"),
            "{t}"
        );
        assert_eq!(t.lines().count(), 4);
    }

    #[test]
    fn the_svg_is_self_contained_and_escaped() {
        let svg = svg(&report());
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.contains("full-jitter?cap=2s&amp;x&lt;y"));
        assert!(!svg.contains("<script") && !svg.contains("href"));
        // Two panels, one bar each per strategy, plus the background.
        assert_eq!(svg.matches("<rect").count(), 5);
    }
}
