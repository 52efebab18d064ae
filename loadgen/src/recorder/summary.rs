//! Totals per (stream, phase) and what the report shows of them: latency summaries, achieved rate
//! and the per-interval time series.
//!
//! The live recorder and [`super::merge_interval_logs`] both end in a [`HistogramSet`] and a
//! [`TimeSeries`] built by the same code, so a report rendered from merged shard logs has exactly the
//! shape (and, for one shard, exactly the numbers) of one rendered from a live run.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::RecorderError;

/// Lowest recordable latency, in microseconds. Zero is recordable too (it shares the first bucket).
pub const LOWEST_US: u64 = 1;
/// Highest trackable latency (one hour, in microseconds); longer values are clamped to it.
pub const HIGHEST_US: u64 = 3_600_000_000;
/// Significant digits: quantiles are within 0.1% of the recorded value.
pub const SIGFIG: u8 = 3;

/// A fresh histogram with the recorder's bounds. Callers clone a template instead of calling this
/// per leaf, so the one fallible construction happens at start-up.
pub(crate) fn new_histogram() -> Result<Histogram<u64>, RecorderError> {
    Histogram::new_with_bounds(LOWEST_US, HIGHEST_US, SIGFIG)
        .map_err(|e| RecorderError::Histogram(format!("{e:?}")))
}

/// Adds `from` into `into`, growing `into` if a foreign log used a wider range.
pub(crate) fn add_into(
    into: &mut Histogram<u64>,
    from: &Histogram<u64>,
) -> Result<(), RecorderError> {
    into.auto(true);
    into.add(from)
        .map_err(|e| RecorderError::Histogram(format!("adding histograms: {e:?}")))
}

/// Latency quantiles in milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    pub mean: f64,
    pub count: u64,
}

impl LatencySummary {
    /// Summarises a microsecond histogram; an empty one gives all zeros.
    pub fn from_histogram(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return LatencySummary::default();
        }
        let ms = |us: u64| us as f64 / 1_000.0;
        LatencySummary {
            p50: ms(h.value_at_quantile(0.50)),
            p90: ms(h.value_at_quantile(0.90)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
            mean: h.mean() / 1_000.0,
            count: h.len(),
        }
    }
}

/// The three latency numbers `report.json` fixes under `load.latency_ms` (design.md §7).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencyMs {
    pub p50: f64,
    pub p99: f64,
    pub p99_uncorrected: f64,
}

/// Everything the report says about one slice of the load (overall, a stream, a phase).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LoadSummary {
    /// Completed events (any outcome).
    pub count: u64,
    /// Completed events whose outcome was an error.
    pub errors: u64,
    /// `count` over the active span.
    pub achieved_rate: f64,
    /// From the start of the first interval with a completion to the end of the last one. Measured
    /// in whole intervals, so it can be computed identically from merged interval logs.
    pub active_s: f64,
    /// Latency from the intended send instant (coordinated omission corrected).
    pub corrected: LatencySummary,
    /// Latency from the actual send instant (what a closed-loop tool would report).
    pub raw: LatencySummary,
}

impl LoadSummary {
    pub fn latency_ms(&self) -> LatencyMs {
        LatencyMs {
            p50: self.corrected.p50,
            p99: self.corrected.p99,
            p99_uncorrected: self.raw.p99,
        }
    }
}

/// Totals of one (stream, phase) pair.
#[derive(Clone, Debug)]
pub struct Leaf {
    pub corrected: Histogram<u64>,
    pub raw: Histogram<u64>,
    pub errors: u64,
    /// Active span in milliseconds from the run start: `[first, last_end)`.
    pub(crate) span_ms: Option<(u64, u64)>,
}

impl Leaf {
    pub(crate) fn note_interval(&mut self, start_ms: u64, len_ms: u64) {
        let end = start_ms.saturating_add(len_ms);
        self.span_ms = Some(match self.span_ms {
            Some((a, b)) => (a.min(start_ms), b.max(end)),
            None => (start_ms, end),
        });
    }
}

/// Totals for every (stream, phase) pair seen; aggregates are derived by adding, never recorded
/// twice, so recording stays at one histogram update per kind.
#[derive(Clone, Debug)]
pub struct HistogramSet {
    template: Histogram<u64>,
    leaves: BTreeMap<(String, String), Leaf>,
}

impl HistogramSet {
    pub fn new() -> Result<Self, RecorderError> {
        Ok(HistogramSet {
            template: new_histogram()?,
            leaves: BTreeMap::new(),
        })
    }

    /// The totals of one (stream, phase), created empty on first use.
    pub fn leaf_mut(&mut self, stream: &str, phase: &str) -> &mut Leaf {
        let template = &self.template;
        self.leaves
            .entry((stream.to_owned(), phase.to_owned()))
            .or_insert_with(|| Leaf {
                corrected: template.clone(),
                raw: template.clone(),
                errors: 0,
                span_ms: None,
            })
    }

    /// `(stream, phase) → totals`, in name order.
    pub fn leaves(&self) -> impl Iterator<Item = (&str, &str, &Leaf)> {
        self.leaves
            .iter()
            .map(|((s, p), l)| (s.as_str(), p.as_str(), l))
    }

    /// Adds every leaf of `other` (shards, or the two halves of a split run).
    pub fn merge(&mut self, other: &HistogramSet) -> Result<(), RecorderError> {
        for (stream, phase, leaf) in other.leaves() {
            let mine = self.leaf_mut(stream, phase);
            add_into(&mut mine.corrected, &leaf.corrected)?;
            add_into(&mut mine.raw, &leaf.raw)?;
            mine.errors += leaf.errors;
            if let Some((a, b)) = leaf.span_ms {
                mine.note_interval(a, b.saturating_sub(a));
            }
        }
        Ok(())
    }

    /// Summary of the leaves `keep` selects, added together.
    pub fn summarize(
        &self,
        mut keep: impl FnMut(&str, &str) -> bool,
    ) -> Result<LoadSummary, RecorderError> {
        let mut corrected = self.template.clone();
        let mut raw = self.template.clone();
        let mut errors = 0;
        let mut span: Option<(u64, u64)> = None;
        for (stream, phase, leaf) in self.leaves() {
            if !keep(stream, phase) {
                continue;
            }
            add_into(&mut corrected, &leaf.corrected)?;
            add_into(&mut raw, &leaf.raw)?;
            errors += leaf.errors;
            if let Some((a, b)) = leaf.span_ms {
                span = Some(span.map_or((a, b), |(x, y)| (x.min(a), y.max(b))));
            }
        }
        let active_s = span.map_or(0.0, |(a, b)| b.saturating_sub(a) as f64 / 1_000.0);
        let count = corrected.len();
        Ok(LoadSummary {
            count,
            errors,
            achieved_rate: if active_s > 0.0 {
                count as f64 / active_s
            } else {
                0.0
            },
            active_s,
            corrected: LatencySummary::from_histogram(&corrected),
            raw: LatencySummary::from_histogram(&raw),
        })
    }

    /// Overall, per stream, per phase, and per stream and phase.
    pub fn summary(&self, series: TimeSeries) -> Result<RunSummary, RecorderError> {
        let mut streams = BTreeMap::new();
        let mut phases = BTreeMap::new();
        let mut by_stream_phase: BTreeMap<String, BTreeMap<String, LoadSummary>> = BTreeMap::new();
        for (stream, phase, _) in self.leaves() {
            if !streams.contains_key(stream) {
                streams.insert(stream.to_owned(), self.summarize(|s, _| s == stream)?);
            }
            if !phases.contains_key(phase) {
                phases.insert(phase.to_owned(), self.summarize(|_, p| p == phase)?);
            }
            by_stream_phase
                .entry(stream.to_owned())
                .or_default()
                .insert(
                    phase.to_owned(),
                    self.summarize(|s, p| s == stream && p == phase)?,
                );
        }
        Ok(RunSummary {
            overall: self.summarize(|_, _| true)?,
            streams,
            phases,
            by_stream_phase,
            series,
        })
    }
}

/// What the report needs from the recorder.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub overall: LoadSummary,
    pub streams: BTreeMap<String, LoadSummary>,
    pub phases: BTreeMap<String, LoadSummary>,
    pub by_stream_phase: BTreeMap<String, BTreeMap<String, LoadSummary>>,
    pub series: TimeSeries,
}

/// One interval of the time series (corrected latency).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SeriesPoint {
    /// Interval start, seconds from the run start.
    pub start_s: f64,
    pub len_s: f64,
    pub count: u64,
    pub errors: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// Per-interval points for the report's charts: overall and per stream. Every stream has a point
/// for every interval written, including empty ones, so a stall shows as zero throughput rather
/// than as a gap the chart would interpolate across.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TimeSeries {
    pub overall: Vec<SeriesPoint>,
    pub streams: BTreeMap<String, Vec<SeriesPoint>>,
}

/// Collects one interval's histograms across phases (and across shards, when merging) and turns them
/// into series points. Kept between intervals so its histograms are reused, not reallocated.
#[derive(Debug)]
pub(crate) struct IntervalAggregator {
    template: Histogram<u64>,
    overall: Histogram<u64>,
    overall_errors: u64,
    streams: BTreeMap<String, (Histogram<u64>, u64, bool)>,
}

impl IntervalAggregator {
    pub(crate) fn new() -> Result<Self, RecorderError> {
        let template = new_histogram()?;
        Ok(IntervalAggregator {
            overall: template.clone(),
            template,
            overall_errors: 0,
            streams: BTreeMap::new(),
        })
    }

    fn stream(&mut self, stream: &str) -> &mut (Histogram<u64>, u64, bool) {
        let template = &self.template;
        // One allocation per stream per interval; recording itself never comes through here.
        let entry = self
            .streams
            .entry(stream.to_owned())
            .or_insert_with(|| (template.clone(), 0, false));
        entry.2 = true;
        entry
    }

    /// Marks `stream` as present in this interval even if it had no completions.
    pub(crate) fn touch(&mut self, stream: &str) {
        self.stream(stream);
    }

    pub(crate) fn add_corrected(
        &mut self,
        stream: &str,
        h: &Histogram<u64>,
    ) -> Result<(), RecorderError> {
        add_into(&mut self.stream(stream).0, h)?;
        add_into(&mut self.overall, h)
    }

    pub(crate) fn add_errors(&mut self, stream: &str, n: u64) {
        self.stream(stream).1 += n;
        self.overall_errors += n;
    }

    /// Emits points for every stream touched since the last call, then resets.
    pub(crate) fn emit(&mut self, start_ms: u64, len_ms: u64, series: &mut TimeSeries) {
        let point = |h: &Histogram<u64>, errors: u64| SeriesPoint {
            start_s: start_ms as f64 / 1_000.0,
            len_s: len_ms as f64 / 1_000.0,
            count: h.len(),
            errors,
            p50_ms: if h.is_empty() {
                0.0
            } else {
                h.value_at_quantile(0.50) as f64 / 1_000.0
            },
            p99_ms: if h.is_empty() {
                0.0
            } else {
                h.value_at_quantile(0.99) as f64 / 1_000.0
            },
        };
        let mut any = false;
        for (name, (h, errors, touched)) in &mut self.streams {
            if !*touched {
                continue;
            }
            any = true;
            series
                .streams
                .entry(name.clone())
                .or_default()
                .push(point(h, *errors));
            h.reset();
            *errors = 0;
            *touched = false;
        }
        if any {
            series
                .overall
                .push(point(&self.overall, self.overall_errors));
        }
        self.overall.reset();
        self.overall_errors = 0;
    }
}
