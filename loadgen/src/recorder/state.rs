//! The recorder's synchronous core: the histograms and the interval clock. The async task in
//! `mod.rs` only feeds it; tests and benches can drive it directly.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use hdrhistogram::Histogram;
use tokio::time::Instant;

use super::interval_log::{Kind, LogSink, SeriesTag};
use super::summary::{new_histogram, HistogramSet, IntervalAggregator, Leaf, TimeSeries};
use super::{Outcome, RecorderError, Recording, Sample};

/// One (stream, phase): run totals plus, while the phase is active, the open interval's histograms.
struct PhaseLive {
    totals: Leaf,
    /// Allocated on the first sample of an interval, dropped after an interval without one, so
    /// phases that ended stop costing memory.
    interval: Option<IntervalHists>,
}

struct IntervalHists {
    corrected: Histogram<u64>,
    raw: Histogram<u64>,
    errors: Option<Histogram<u64>>,
}

struct StreamLive {
    /// Label for this stream's empty lines (the phase of its latest sample).
    last_phase: Arc<str>,
    phases: BTreeMap<Arc<str>, PhaseLive>,
}

/// Owns every histogram of a run. Feed it samples in any order; it closes intervals as the clock
/// passes their end (samples bucket by their `done` instant, and one that arrives after its interval
/// was written goes into the open interval instead, counted in [`Recording::late_samples`]).
pub struct RecorderState {
    start: Instant,
    interval_ms: u64,
    /// Index of the open interval.
    current: u64,
    template: Histogram<u64>,
    empty: Histogram<u64>,
    streams: BTreeMap<Arc<str>, StreamLive>,
    agg: IntervalAggregator,
    series: TimeSeries,
    sink: Option<LogSink>,
    log_error: Option<String>,
    samples: u64,
    late_samples: u64,
}

impl RecorderState {
    /// `streams` are known up front so that they get (empty) lines from the first interval on;
    /// others are added on their first sample. `log`, if given, receives the interval log.
    pub fn new(
        start: Instant,
        wall_start: SystemTime,
        interval: Duration,
        streams: &[String],
        log: Option<Box<dyn Write + Send>>,
    ) -> Result<Self, RecorderError> {
        let interval_ms = u64::try_from(interval.as_millis()).unwrap_or(0);
        if interval_ms == 0 || Duration::from_millis(interval_ms) != interval {
            return Err(RecorderError::Config(format!(
                "interval must be a whole number of milliseconds >= 1ms, got {interval:?}"
            )));
        }
        let template = new_histogram()?;
        let initial: Arc<str> = Arc::from("none");
        let streams = streams
            .iter()
            .map(|s| {
                let live = StreamLive {
                    last_phase: Arc::clone(&initial),
                    phases: BTreeMap::new(),
                };
                (Arc::from(s.as_str()), live)
            })
            .collect();
        let sink = log.map(|out| LogSink::start(out, wall_start)).transpose()?;
        Ok(RecorderState {
            start,
            interval_ms,
            current: 0,
            empty: template.clone(),
            template,
            streams,
            agg: IntervalAggregator::new()?,
            series: TimeSeries::default(),
            sink,
            log_error: None,
            samples: 0,
            late_samples: 0,
        })
    }

    fn index_of(&self, t: Instant) -> u64 {
        let ms = t.saturating_duration_since(self.start).as_millis();
        u64::try_from(ms / u128::from(self.interval_ms)).unwrap_or(u64::MAX)
    }

    /// Records one sample: corrected = done − intended, raw = done − sent, in microseconds
    /// (clamped to the histogram's one-hour ceiling).
    pub fn record(&mut self, s: &Sample) {
        let idx = self.index_of(s.done);
        if idx > self.current {
            self.roll_to(idx);
        } else if idx < self.current {
            self.late_samples += 1;
        }
        self.samples += 1;
        let corrected = micros(s.done.saturating_duration_since(s.intended));
        let raw = micros(s.done.saturating_duration_since(s.sent));
        let is_error = s.outcome == Outcome::Error;

        if !self.streams.contains_key(&*s.stream) {
            let live = StreamLive {
                last_phase: Arc::clone(&s.phase),
                phases: BTreeMap::new(),
            };
            self.streams.insert(Arc::clone(&s.stream), live);
        }
        let Some(stream) = self.streams.get_mut(&*s.stream) else {
            return;
        };
        if *stream.last_phase != *s.phase {
            stream.last_phase = Arc::clone(&s.phase);
        }
        let template = &self.template;
        let phase = stream
            .phases
            .entry(Arc::clone(&s.phase))
            .or_insert_with(|| PhaseLive {
                totals: Leaf {
                    corrected: template.clone(),
                    raw: template.clone(),
                    errors: 0,
                    span_ms: None,
                },
                interval: None,
            });
        phase.totals.corrected.saturating_record(corrected);
        phase.totals.raw.saturating_record(raw);
        let iv = phase.interval.get_or_insert_with(|| IntervalHists {
            corrected: template.clone(),
            raw: template.clone(),
            errors: None,
        });
        iv.corrected.saturating_record(corrected);
        iv.raw.saturating_record(raw);
        if is_error {
            phase.totals.errors += 1;
            iv.errors
                .get_or_insert_with(|| template.clone())
                .saturating_record(corrected);
        }
    }

    /// Closes every interval that ended by `now` (call on a timer so idle intervals are written).
    pub fn advance_to(&mut self, now: Instant) {
        let idx = self.index_of(now);
        self.roll_to(idx);
    }

    fn roll_to(&mut self, idx: u64) {
        while self.current < idx {
            let start_ms = self.current.saturating_mul(self.interval_ms);
            self.close_interval(start_ms, self.interval_ms);
            self.current += 1;
        }
    }

    /// Writes the open interval's lines and series points, then empties it.
    fn close_interval(&mut self, start_ms: u64, len_ms: u64) {
        let RecorderState {
            streams,
            agg,
            series,
            sink,
            log_error,
            empty,
            ..
        } = self;
        let mut lines: Vec<(String, &Histogram<u64>)> = Vec::new();
        let mut agg_error = None;
        for (name, stream) in streams.iter_mut() {
            let mut any = false;
            for (phase, live) in stream.phases.iter_mut() {
                if live
                    .interval
                    .as_ref()
                    .is_some_and(|iv| iv.corrected.is_empty())
                {
                    live.interval = None;
                }
                let Some(iv) = live.interval.as_ref() else {
                    continue;
                };
                any = true;
                live.totals.note_interval(start_ms, len_ms);
                if let Err(e) = agg.add_corrected(name, &iv.corrected) {
                    agg_error = Some(e);
                }
                lines.push((
                    SeriesTag::encode(name, phase, Kind::Corrected),
                    &iv.corrected,
                ));
                lines.push((SeriesTag::encode(name, phase, Kind::Raw), &iv.raw));
                if let Some(e) = iv.errors.as_ref().filter(|e| !e.is_empty()) {
                    agg.add_errors(name, e.len());
                    lines.push((SeriesTag::encode(name, phase, Kind::Errors), e));
                }
            }
            if !any {
                agg.touch(name);
                let phase = &stream.last_phase;
                lines.push((SeriesTag::encode(name, phase, Kind::Corrected), &*empty));
                lines.push((SeriesTag::encode(name, phase, Kind::Raw), &*empty));
            }
        }
        if let Some(out) = sink.as_mut() {
            if let Err(e) = out.write_interval(start_ms, len_ms, lines) {
                // Keep recording in memory: a full disk should cost the log, not the run.
                *log_error = Some(e.to_string());
                *sink = None;
            }
        }
        if let (None, Some(e)) = (log_error.as_ref(), agg_error) {
            *log_error = Some(e.to_string());
        }
        for stream in streams.values_mut() {
            for live in stream.phases.values_mut() {
                if let Some(iv) = live.interval.as_mut() {
                    iv.corrected.reset();
                    iv.raw.reset();
                    if let Some(e) = iv.errors.as_mut() {
                        e.reset();
                    }
                }
            }
        }
        agg.emit(start_ms, len_ms, series);
    }

    /// Closes the intervals up to `now`, writes the open one as a final, shorter interval, and
    /// hands back the totals.
    pub fn finish(mut self, now: Instant) -> Result<Recording, RecorderError> {
        self.advance_to(now);
        let open_start = self.current.saturating_mul(self.interval_ms);
        let elapsed_ms = u64::try_from(now.saturating_duration_since(self.start).as_millis())
            .unwrap_or(u64::MAX);
        let has_samples = self.streams.values().any(|s| {
            s.phases
                .values()
                .any(|p| p.interval.as_ref().is_some_and(|i| !i.corrected.is_empty()))
        });
        let len_ms = elapsed_ms.saturating_sub(open_start);
        if len_ms > 0 || has_samples {
            self.close_interval(open_start, len_ms);
        }
        let mut histograms = HistogramSet::new()?;
        for (name, stream) in self.streams {
            for (phase, live) in stream.phases {
                *histograms.leaf_mut(&name, &phase) = live.totals;
            }
        }
        Ok(Recording {
            histograms,
            series: self.series,
            samples: self.samples,
            late_samples: self.late_samples,
            log_error: self.log_error,
        })
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}
