//! Inline SVG charts for report.html: time series over the run (stacked bars or lines) with
//! fault windows, actions and peak hours shaded behind them, and the ledger as horizontal bars.
//! Plain SVG text, no scripts, no external references, so the report is one self-contained file.

use std::fmt::Write as _;

use super::junit::esc;
use super::view::LedgerView;
use crate::scoring::timeline::{TimelineMark, TimelineWindow};

const W: f64 = 1100.0;
const H: f64 = 230.0;
const ML: f64 = 64.0;
const MR: f64 = 16.0;
const MT: f64 = 30.0;
const MB: f64 = 30.0;

/// How a series is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// Stacked with the other `Bars` series of the chart.
    Bars,
    Line,
    /// A dashed line (reference values such as a limit).
    Dashed,
}

/// One series: a value per bucket (`None`: no data, drawn as a gap).
#[derive(Clone, Debug)]
pub struct Series<'a> {
    pub name: &'a str,
    pub color: &'a str,
    pub style: Style,
    pub values: Vec<Option<f64>>,
}

/// A chart over the run's timeline.
pub struct TimeChart<'a> {
    pub title: &'a str,
    pub y_label: &'a str,
    pub bucket_s: f64,
    pub end_s: f64,
    pub series: Vec<Series<'a>>,
    pub windows: &'a [TimelineWindow],
    pub marks: &'a [TimelineMark],
}

/// Background colour of a shaded window by its kind.
pub fn window_color(kind: &str) -> &'static str {
    match kind {
        "outage" => "#f6c9cd",
        "error" | "connection" => "#fbdcc0",
        "rate-limit" => "#ddd2f0",
        "lock-contention" | "bulk-slowdown" | "partial-failure" => "#f3e6b5",
        "schema-change" => "#cfe3f5",
        "session" | "streaming" => "#d9ecd9",
        "latency" => "#eeeeee",
        "action" => "#c9dcf0",
        "peak" => "#e8f3df",
        "sink-outage" => "#f3d0e7",
        _ => "#e6e6e6",
    }
}

/// A round number ≥ `x` for an axis maximum (1, 2, 2.5, 5 × 10^k).
pub fn nice_max(x: f64) -> f64 {
    if !x.is_finite() || x <= 0.0 {
        return 1.0;
    }
    let p = 10f64.powf(x.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if m * p >= x {
            return m * p;
        }
    }
    10.0 * p
}

fn fmt_num(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if v >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if v >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else if v.fract() == 0.0 || v >= 10.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

impl TimeChart<'_> {
    pub fn render(&self) -> String {
        let n = self
            .series
            .iter()
            .map(|s| s.values.len())
            .max()
            .unwrap_or(0);
        let end_s = (n as f64 * self.bucket_s).max(self.end_s).max(1.0);
        let pw = W - ML - MR;
        let ph = H - MT - MB;
        let x = |t: f64| ML + (t / end_s).clamp(0.0, 1.0) * pw;
        // Largest stacked bar or line value.
        let mut max: f64 = 0.0;
        for i in 0..n {
            let stack: f64 = self
                .series
                .iter()
                .filter(|s| s.style == Style::Bars)
                .filter_map(|s| s.values.get(i).copied().flatten())
                .sum();
            max = max.max(stack);
            for s in self.series.iter().filter(|s| s.style != Style::Bars) {
                if let Some(Some(v)) = s.values.get(i) {
                    max = max.max(*v);
                }
            }
        }
        let ymax = nice_max(max);
        let y = |v: f64| MT + ph - (v / ymax).clamp(0.0, 1.0) * ph;

        let mut svg = String::new();
        let _ = write!(
            svg,
            "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {H}\" width=\"100%\" role=\"img\" aria-label=\"{}\">",
            esc(self.title)
        );
        let _ = write!(
            svg,
            "<text x=\"{ML}\" y=\"18\" class=\"ct\">{}</text>",
            esc(self.title)
        );
        // Shaded windows.
        for w in self.windows {
            let (x0, x1) = (x(w.start_s), x(w.end_s.max(w.start_s)));
            let _ = write!(
                svg,
                "<rect x=\"{x0:.1}\" y=\"{MT}\" width=\"{:.1}\" height=\"{ph}\" fill=\"{}\" opacity=\"0.7\"><title>{} {:.0}s–{:.0}s</title></rect>",
                (x1 - x0).max(1.0),
                window_color(&w.kind),
                esc(&w.label),
                w.start_s,
                w.end_s
            );
            let _ = write!(
                svg,
                "<text x=\"{:.1}\" y=\"{:.1}\" class=\"wl\">{}</text>",
                x0 + 3.0,
                MT + 11.0,
                esc(&w.label)
            );
        }
        // Grid and y axis.
        for k in 0..=4 {
            let v = ymax * f64::from(k) / 4.0;
            let yy = y(v);
            let _ = write!(
                svg,
                "<line x1=\"{ML}\" x2=\"{:.1}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" class=\"grid\"/><text x=\"{:.1}\" y=\"{:.1}\" class=\"ax\" text-anchor=\"end\">{}</text>",
                W - MR,
                ML - 6.0,
                yy + 4.0,
                fmt_num(v)
            );
        }
        let _ = write!(
            svg,
            "<text transform=\"translate(14 {:.1}) rotate(-90)\" class=\"ax\" text-anchor=\"middle\">{}</text>",
            MT + ph / 2.0,
            esc(self.y_label)
        );
        // x axis ticks.
        let step = [
            1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0,
        ]
        .into_iter()
        .find(|s| end_s / s <= 12.0)
        .unwrap_or(7200.0);
        let mut t = 0.0;
        while t <= end_s + 1e-9 {
            let xx = x(t);
            let _ = write!(
                svg,
                "<line x1=\"{xx:.1}\" x2=\"{xx:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" class=\"axl\"/><text x=\"{xx:.1}\" y=\"{:.1}\" class=\"ax\" text-anchor=\"middle\">{}s</text>",
                MT + ph,
                MT + ph + 4.0,
                MT + ph + 16.0,
                fmt_num(t)
            );
            t += step;
        }
        // Stacked bars.
        let bw = (pw / (end_s / self.bucket_s)).max(0.5);
        let mut base = vec![0.0f64; n];
        for s in self.series.iter().filter(|s| s.style == Style::Bars) {
            let mut path = String::new();
            for (i, v) in s.values.iter().enumerate() {
                let Some(v) = v.filter(|v| *v > 0.0) else {
                    continue;
                };
                let x0 = x(i as f64 * self.bucket_s);
                let (y1, y0) = (y(base[i] + v), y(base[i]));
                base[i] += v;
                let _ = write!(
                    path,
                    "M{x0:.1} {y0:.1}h{:.2}V{y1:.1}h{:.2}Z",
                    (bw - 0.3).max(0.3),
                    -(bw - 0.3).max(0.3)
                );
            }
            if !path.is_empty() {
                let _ = write!(
                    svg,
                    "<path d=\"{path}\" fill=\"{}\"><title>{}</title></path>",
                    s.color,
                    esc(s.name)
                );
            }
        }
        // Lines.
        for s in self.series.iter().filter(|s| s.style != Style::Bars) {
            let mut path = String::new();
            let mut pen_down = false;
            for (i, v) in s.values.iter().enumerate() {
                match v {
                    Some(v) if v.is_finite() => {
                        let xx = x((i as f64 + 0.5) * self.bucket_s);
                        let _ = write!(
                            path,
                            "{}{xx:.1} {:.1}",
                            if pen_down { "L" } else { "M" },
                            y(*v)
                        );
                        pen_down = true;
                    }
                    _ => pen_down = false,
                }
            }
            if !path.is_empty() {
                let dash = if s.style == Style::Dashed {
                    " stroke-dasharray=\"6 4\""
                } else {
                    ""
                };
                let _ = write!(
                    svg,
                    "<path d=\"{path}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.6\"{dash}><title>{}</title></path>",
                    s.color,
                    esc(s.name)
                );
            }
        }
        for m in self.marks {
            let xx = x(m.t_s);
            let _ = write!(
                svg,
                "<line x1=\"{xx:.1}\" x2=\"{xx:.1}\" y1=\"{MT}\" y2=\"{:.1}\" stroke=\"#b71c1c\" stroke-dasharray=\"3 3\"/><text x=\"{:.1}\" y=\"{:.1}\" class=\"mk\">{}</text>",
                MT + ph,
                xx + 3.0,
                MT + ph - 4.0,
                esc(&m.label)
            );
        }
        // Legend.
        let mut lx = W - MR;
        for s in self.series.iter().rev() {
            let label_w = 7.0 * s.name.chars().count() as f64 + 22.0;
            lx -= label_w;
            let _ = write!(
                svg,
                "<rect x=\"{lx:.1}\" y=\"9\" width=\"12\" height=\"10\" fill=\"{}\"/><text x=\"{:.1}\" y=\"18\" class=\"lg\">{}</text>",
                s.color,
                lx + 16.0,
                esc(s.name)
            );
        }
        if n == 0 {
            let _ = write!(
                svg,
                "<text x=\"{:.1}\" y=\"{:.1}\" class=\"ax\" text-anchor=\"middle\">no data</text>",
                ML + pw / 2.0,
                MT + ph / 2.0
            );
        }
        svg.push_str("</svg>");
        svg
    }
}

/// The ledger as horizontal bars: sent, accepted, rejected, landed, lost, duplicates, wrong values.
pub fn ledger_bars(l: &LedgerView) -> String {
    let rows = [
        ("sent", l.sent, "#607d8b"),
        ("accepted", l.accepted, "#1976d2"),
        ("rejected", l.rejected, "#ff9800"),
        ("landed", l.landed, "#43a047"),
        ("lost", l.lost, "#e53935"),
        ("duplicates", l.duplicates, "#8e24aa"),
        ("wrong value", l.wrong_value, "#6d4c41"),
    ];
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1) as f64;
    let row_h = 22.0;
    let h = 30.0 + row_h * rows.len() as f64;
    let (label_w, bar_w) = (110.0, W - 110.0 - 120.0);
    let mut svg = format!(
        "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {h}\" width=\"100%\" role=\"img\" aria-label=\"Ledger\"><text x=\"10\" y=\"18\" class=\"ct\">Ledger: what was sent, accepted and what ended up in Salesforce</text>"
    );
    for (i, (name, v, color)) in rows.iter().enumerate() {
        let yy = 28.0 + i as f64 * row_h;
        let w = (*v as f64 / max * bar_w).max(if *v > 0 { 1.5 } else { 0.0 });
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" class=\"ax\" text-anchor=\"end\">{name}</text><rect x=\"{label_w}\" y=\"{yy:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"{color}\"><title>{name}: {v}</title></rect><text x=\"{:.1}\" y=\"{:.1}\" class=\"ax\">{v}</text>",
            label_w - 8.0,
            yy + 13.0,
            row_h - 6.0,
            label_w + w + 6.0,
            yy + 13.0
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_axis_maxima() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(7.0), 10.0);
        assert_eq!(nice_max(180.0), 200.0);
        assert_eq!(nice_max(2.2), 2.5);
    }

    #[test]
    fn a_chart_with_gaps_and_windows() {
        let windows = [TimelineWindow {
            label: "outage-0 (http-503)".into(),
            kind: "outage".into(),
            start_s: 2.0,
            end_s: 4.0,
        }];
        let c = TimeChart {
            title: "t <&>",
            y_label: "req/s",
            bucket_s: 1.0,
            end_s: 6.0,
            series: vec![
                Series {
                    name: "ok",
                    color: "#0a0",
                    style: Style::Bars,
                    values: vec![Some(3.0), Some(1.0), None, Some(2.0)],
                },
                Series {
                    name: "p99",
                    color: "#00a",
                    style: Style::Line,
                    values: vec![Some(1.0), None, Some(2.0), Some(3.0)],
                },
            ],
            windows: &windows,
            marks: &[],
        }
        .render();
        assert!(c.starts_with("<svg") && c.ends_with("</svg>"));
        assert!(c.contains("t &lt;&amp;&gt;"));
        assert!(c.contains("outage-0 (http-503)"));
        // The line is broken at the gap: two "M" moves.
        let line = c.split("stroke=\"#00a\"").next().unwrap();
        let d = &line[line.rfind("d=\"").unwrap()..];
        assert_eq!(d.matches('M').count(), 2, "{d}");
    }
}
