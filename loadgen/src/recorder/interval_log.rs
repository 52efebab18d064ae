//! HdrHistogram interval logs: writing them during a run, and merging them afterwards.
//!
//! # Format
//!
//! The standard interval log (resilience-reference.md §5), readable by HdrHistogram's own tools:
//!
//! ```text
//! #sfchaos interval log: latency in microseconds
//! #tags: stream=<name>;phase=<label>;kind=corrected|raw|errors
//! #[StartTime: 1700000000.000 (seconds since epoch)]
//! #[BaseTime: 1700000000.000 (seconds since epoch)]
//! "StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"
//! Tag=stream=orders;phase=baseline;kind=corrected,0.000,1.000,41000.000,HISTFAAA…
//! ```
//!
//! Tags cannot contain `,` or spaces (the line format splits on them), so the `key=value` pairs are
//! joined with `;`, and `,` ` ` `;` `=` and line breaks inside names are replaced by `_`.
//! `kind=errors` holds the corrected latency of the interval's failed events, so error counts survive
//! the round trip; it is written only for intervals that had errors.
//!
//! # Merging
//!
//! Histograms add exactly, so merging shard logs is lossless: totals per tag are the sums of every
//! line with that tag in every file. For the time series, each file's intervals are aligned on its
//! own `BaseTime` (its run start): fault windows and phases are offsets from each shard's start, so
//! that is where they line up.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use base64::Engine as _;
use hdrhistogram::serialization::interval_log::{
    IntervalLogIterator, IntervalLogWriterBuilder, LogEntry, LogIteratorError, Tag,
};
use hdrhistogram::serialization::{Deserializer, V2DeflateSerializer};
use hdrhistogram::Histogram;

use super::summary::{add_into, new_histogram, HistogramSet, IntervalAggregator, TimeSeries};
use super::RecorderError;

/// Which histogram of a (stream, phase) a log line carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Corrected,
    Raw,
    Errors,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Corrected => "corrected",
            Kind::Raw => "raw",
            Kind::Errors => "errors",
        }
    }

    fn parse(s: &str) -> Option<Kind> {
        match s {
            "corrected" => Some(Kind::Corrected),
            "raw" => Some(Kind::Raw),
            "errors" => Some(Kind::Errors),
            _ => None,
        }
    }
}

/// The parsed form of an sfchaos line tag.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SeriesTag {
    pub stream: String,
    pub phase: String,
    pub kind: Kind,
}

impl SeriesTag {
    /// `stream=…;phase=…;kind=…`, with names made tag-safe.
    pub fn encode(stream: &str, phase: &str, kind: Kind) -> String {
        format!(
            "stream={};phase={};kind={}",
            tag_safe(stream),
            tag_safe(phase),
            kind.as_str()
        )
    }

    /// `None` for tags not written by sfchaos; those are still merged under their raw text.
    pub fn parse(tag: &str) -> Option<SeriesTag> {
        let (mut stream, mut phase, mut kind) = (None, None, None);
        for part in tag.split(';') {
            match part.split_once('=')? {
                ("stream", v) => stream = Some(v.to_owned()),
                ("phase", v) => phase = Some(v.to_owned()),
                ("kind", v) => kind = Kind::parse(v),
                _ => return None,
            }
        }
        Some(SeriesTag {
            stream: stream?,
            phase: phase?,
            kind: kind?,
        })
    }
}

/// Replaces the characters a tag cannot hold (and our own separators) with `_`.
pub fn tag_safe(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            ',' | ' ' | ';' | '=' | '\r' | '\n' | '\t' => '_',
            c => c,
        })
        .collect()
}

/// The live log: headers once, then one buffered write and flush per interval, so a crash loses at
/// most the interval being recorded and never leaves a half-written line behind a good one.
pub(crate) struct LogSink {
    out: Box<dyn Write + Send>,
    serializer: V2DeflateSerializer,
    buf: Vec<u8>,
}

impl LogSink {
    pub(crate) fn start(
        mut out: Box<dyn Write + Send>,
        wall_start: SystemTime,
    ) -> Result<Self, RecorderError> {
        let mut serializer = V2DeflateSerializer::new();
        let mut buf = Vec::new();
        IntervalLogWriterBuilder::new()
            .add_comment("sfchaos interval log: latency in microseconds")
            .add_comment("tags: stream=<name>;phase=<label>;kind=corrected|raw|errors")
            .with_start_time(wall_start)
            .with_base_time(wall_start)
            .begin_log_with(&mut buf, &mut serializer)
            .map_err(|e| RecorderError::LogWrite(e.to_string()))?;
        buf.extend_from_slice(
            b"\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n",
        );
        out.write_all(&buf)
            .and_then(|()| out.flush())
            .map_err(|e| RecorderError::LogWrite(e.to_string()))?;
        buf.clear();
        Ok(LogSink {
            out,
            serializer,
            buf,
        })
    }

    /// Writes one interval's lines (`(tag, histogram)`), then flushes.
    pub(crate) fn write_interval<'h>(
        &mut self,
        start_ms: u64,
        len_ms: u64,
        lines: impl IntoIterator<Item = (String, &'h Histogram<u64>)>,
    ) -> Result<(), RecorderError> {
        self.buf.clear();
        let start = std::time::Duration::from_millis(start_ms);
        let len = std::time::Duration::from_millis(len_ms);
        {
            // No headers configured, so this writes nothing until `write_histogram`.
            let mut w = IntervalLogWriterBuilder::new()
                .begin_log_with(&mut self.buf, &mut self.serializer)
                .map_err(|e| RecorderError::LogWrite(e.to_string()))?;
            for (tag, h) in lines {
                w.write_histogram(h, start, len, Tag::new(&tag))
                    .map_err(|e| RecorderError::LogWrite(e.to_string()))?;
            }
        }
        self.out
            .write_all(&self.buf)
            .and_then(|()| self.out.flush())
            .map_err(|e| RecorderError::LogWrite(e.to_string()))
    }
}

/// The result of merging interval logs.
#[derive(Debug)]
pub struct Merged {
    /// Files read, in the order given.
    pub files: Vec<PathBuf>,
    /// Every tag as written, summed over all its lines in all files (including foreign tags).
    pub per_tag: BTreeMap<String, Histogram<u64>>,
    /// sfchaos-tagged lines as (stream, phase) totals, ready for [`HistogramSet::summary`].
    pub histograms: HistogramSet,
    pub series: TimeSeries,
    /// Interval lines read.
    pub lines: u64,
    /// Files whose last line was cut short (the writer crashed mid-write); everything before it
    /// was merged.
    pub truncated: Vec<PathBuf>,
}

impl Merged {
    pub fn summary(&self) -> Result<super::RunSummary, RecorderError> {
        self.histograms.summary(self.series.clone())
    }
}

/// One parsed interval line, pointing into its file's bytes.
struct Line<'a> {
    file: usize,
    tag: Option<&'a str>,
    start_ms: u64,
    len_ms: u64,
    encoded: &'a str,
}

/// Reads and merges interval log files (e.g. one per shard). See the module docs.
pub fn merge_interval_logs<P: AsRef<Path>>(paths: &[P]) -> Result<Merged, RecorderError> {
    let mut inputs = Vec::with_capacity(paths.len());
    for p in paths {
        let path = p.as_ref().to_path_buf();
        let bytes = std::fs::read(&path).map_err(|source| RecorderError::Io {
            path: path.clone(),
            source,
        })?;
        inputs.push((path, bytes));
    }
    merge_interval_log_bytes(&inputs)
}

/// [`merge_interval_logs`] over in-memory contents, `(name, bytes)`; the name is only used in
/// errors and in [`Merged::files`].
pub fn merge_interval_log_bytes(inputs: &[(PathBuf, Vec<u8>)]) -> Result<Merged, RecorderError> {
    let mut merged = Merged {
        files: inputs.iter().map(|(p, _)| p.clone()).collect(),
        per_tag: BTreeMap::new(),
        histograms: HistogramSet::new()?,
        series: TimeSeries::default(),
        lines: 0,
        truncated: Vec::new(),
    };
    let mut lines = Vec::new();
    for (file, (path, bytes)) in inputs.iter().enumerate() {
        if parse_file(file, path, bytes, &mut lines)? {
            merged.truncated.push(path.clone());
        }
    }
    merged.lines = lines.len() as u64;
    // Interval by interval, so only one interval's decoded histograms are alive at a time.
    lines.sort_by_key(|l| (l.start_ms, l.file));
    let template = new_histogram()?;
    let mut agg = IntervalAggregator::new()?;
    let mut deserializer = Deserializer::new();
    let mut i = 0;
    while let Some(first) = lines.get(i) {
        let start_ms = first.start_ms;
        let mut len_ms = 0;
        while let Some(line) = lines.get(i).filter(|l| l.start_ms == start_ms) {
            i += 1;
            len_ms = len_ms.max(line.len_ms);
            let h = decode(&mut deserializer, line.encoded).map_err(|message| {
                let (path, bytes) = inputs
                    .get(line.file)
                    .map_or((PathBuf::new(), &[][..]), |(p, b)| {
                        (p.clone(), b.as_slice())
                    });
                RecorderError::Decode {
                    path,
                    line: line_number(bytes, line.encoded),
                    message,
                }
            })?;
            let tag = line.tag.unwrap_or("");
            let total = merged
                .per_tag
                .entry(tag.to_owned())
                .or_insert_with(|| template.clone());
            add_into(total, &h)?;
            let Some(st) = SeriesTag::parse(tag) else {
                continue;
            };
            match st.kind {
                Kind::Corrected => {
                    agg.add_corrected(&st.stream, &h)?;
                    if !h.is_empty() {
                        let leaf = merged.histograms.leaf_mut(&st.stream, &st.phase);
                        add_into(&mut leaf.corrected, &h)?;
                        leaf.note_interval(line.start_ms, line.len_ms);
                    }
                }
                Kind::Raw => {
                    if !h.is_empty() {
                        add_into(
                            &mut merged.histograms.leaf_mut(&st.stream, &st.phase).raw,
                            &h,
                        )?;
                    }
                }
                Kind::Errors => {
                    agg.add_errors(&st.stream, h.len());
                    if !h.is_empty() {
                        merged.histograms.leaf_mut(&st.stream, &st.phase).errors += h.len();
                    }
                }
            }
        }
        agg.emit(start_ms, len_ms, &mut merged.series);
    }
    Ok(merged)
}

/// Appends the file's interval lines to `out`; returns whether its tail was truncated.
fn parse_file<'a>(
    file: usize,
    path: &Path,
    bytes: &'a [u8],
    out: &mut Vec<Line<'a>>,
) -> Result<bool, RecorderError> {
    // Offsets are relative to BaseTime when present (sfchaos always writes it). Foreign logs
    // without it carry absolute timestamps, or deltas from StartTime (Java's reader tells them
    // apart by whether they are more than a year before StartTime); make those run-relative too.
    let mut has_base = false;
    let mut start_time_ms: Option<u64> = None;
    let first = out.len();
    for entry in IntervalLogIterator::new(bytes) {
        match entry {
            Ok(LogEntry::BaseTime(_)) => has_base = true,
            Ok(LogEntry::StartTime(t)) => start_time_ms = Some(millis(t)),
            Ok(LogEntry::Interval(ilh)) => out.push(Line {
                file,
                tag: ilh.tag().map(|t| t.as_str()),
                start_ms: millis(ilh.start_timestamp()),
                len_ms: millis(ilh.duration()),
                encoded: ilh.encoded_histogram(),
            }),
            Err(LogIteratorError::ParseError { offset }) => {
                let before = bytes.get(..offset).unwrap_or(bytes);
                let rest = bytes.get(offset..).unwrap_or_default();
                if !rest.contains(&b'\n') {
                    return Ok(true);
                }
                return Err(RecorderError::Parse {
                    path: path.to_path_buf(),
                    line: before.iter().filter(|&&b| b == b'\n').count() + 1,
                });
            }
        }
    }
    if !has_base {
        const YEAR_MS: u64 = 365 * 24 * 3_600 * 1_000;
        let earliest = out[first..].iter().map(|l| l.start_ms).min().unwrap_or(0);
        let zero = match start_time_ms {
            Some(st) if earliest + YEAR_MS < st => 0,
            Some(st) => st,
            None => earliest,
        };
        for line in &mut out[first..] {
            line.start_ms = line.start_ms.saturating_sub(zero);
        }
    }
    Ok(false)
}

fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn decode(deserializer: &mut Deserializer, encoded: &str) -> Result<Histogram<u64>, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|e| format!("base64: {e}"))?;
    deserializer
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| format!("histogram: {e:?}"))
}

/// 1-based line of `part` (a slice of `bytes`) for error messages.
fn line_number(bytes: &[u8], part: &str) -> usize {
    let offset = (part.as_ptr() as usize)
        .saturating_sub(bytes.as_ptr() as usize)
        .min(bytes.len());
    bytes
        .get(..offset)
        .unwrap_or_default()
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}
