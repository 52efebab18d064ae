//! The recorder: coordinated-omission correction, interval logs, lossless merging.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use loadgen::recorder::{
    self, merge_interval_log_bytes, merge_interval_logs, LatencySummary, Outcome, RecorderConfig,
    RecorderState, Recording, Sample, SeriesTag,
};
use loadgen::schedule::{Driver, DriverConfig, RateSpec, Schedule};
use tokio::time::Instant;

const MS: Duration = Duration::from_millis(1);

/// A `Write` that tests can read while the recorder still owns it, counting flushes.
#[derive(Clone, Default)]
struct SharedBuf {
    bytes: Arc<Mutex<Vec<u8>>>,
    flushes: Arc<AtomicUsize>,
}

impl SharedBuf {
    fn text(&self) -> String {
        String::from_utf8(self.bytes.lock().map(|b| b.clone()).unwrap_or_default()).expect("utf-8")
    }
    fn bytes(&self) -> Vec<u8> {
        self.bytes.lock().map(|b| b.clone()).unwrap_or_default()
    }
}

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.bytes
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.flushes.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

fn wall() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

fn sample(
    stream: &str,
    phase: &str,
    intended: Instant,
    sent: Instant,
    done: Instant,
    ok: bool,
) -> Sample {
    Sample {
        stream: Arc::from(stream),
        phase: Arc::from(phase),
        intended,
        sent,
        done,
        outcome: if ok { Outcome::Ok } else { Outcome::Error },
    }
}

/// 200 events/s for 10 s against a target that answers in 1 ms, except that everything arriving in
/// [5 s, 6 s) waits until 6 s; at most 10 events in flight (the stall would need 200). This is
/// wrk2's demonstration: the raw view only sees the 10 stalled requests, the corrected one also sees
/// the ~190 that queued behind them.
#[tokio::test(start_paused = true)]
async fn wrk2_stall_shows_in_corrected_latency_but_not_in_raw() {
    let start = Instant::now();
    let rec = recorder::spawn(RecorderConfig::new(start, wall()), None).expect("spawn");
    let schedule =
        Schedule::new(RateSpec::Constant(200.0), Duration::from_secs(10), 1).expect("valid");
    let driver = Driver::new(DriverConfig {
        max_in_flight: 10,
        max_lateness: None,
        ..DriverConfig::default()
    })
    .expect("valid");
    let stall = (
        start + Duration::from_secs(5),
        start + Duration::from_secs(6),
    );
    let samples = rec.sender();
    let stats = driver
        .run(start, schedule.arrivals(), |ticket| {
            let samples = samples.clone();
            tokio::spawn(async move {
                let sent = Instant::now();
                if sent >= stall.0 && sent < stall.1 {
                    tokio::time::sleep_until(stall.1).await;
                } else {
                    tokio::time::sleep(MS).await;
                }
                let done = Instant::now();
                let s = sample("orders", "baseline", ticket.intended, sent, done, true);
                drop(ticket);
                samples.send(s).await;
            });
        })
        .await;
    driver.wait_idle().await;
    drop(samples);
    let recording = rec.finish().await.expect("finish");
    assert_eq!(stats.dispatched, 2_000);
    assert_eq!(stats.dropped, 0);
    assert_eq!(recording.samples, 2_000);
    let summary = recording.summary().expect("summary");
    let o = &summary.overall;
    assert_eq!(o.count, 2_000);
    assert!(
        o.corrected.p99 >= 500.0,
        "corrected p99 {} ms",
        o.corrected.p99
    );
    assert!(o.raw.p99 <= 2.0, "raw p99 {} ms", o.raw.p99);
    // The raw max still shows the stalled requests themselves.
    assert!(o.raw.max >= 950.0);
    assert!(o.corrected.p99 / o.raw.p99 >= 100.0);
    assert_eq!(o.latency_ms().p99_uncorrected, o.raw.p99);
    assert!(
        (o.achieved_rate - 200.0).abs() < 25.0,
        "rate {}",
        o.achieved_rate
    );
}

/// Deterministic pseudo-random samples over two streams and two phases for 10 s, sorted by `done`.
fn workload(start: Instant) -> Vec<(u64, Sample)> {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut out = Vec::new();
    for seq in 0..4_000u64 {
        let intended = start + Duration::from_micros(seq * 2_500);
        let queue = Duration::from_micros(next() % 3_000);
        let service = Duration::from_micros(200 + next() % 250_000);
        let stream = if seq % 3 == 0 { "contacts" } else { "accounts" };
        let phase = if seq < 2_000 {
            "baseline"
        } else {
            "fault:outage-1"
        };
        let ok = next() % 17 != 0;
        let sent = intended + queue;
        out.push((
            seq,
            sample(stream, phase, intended, sent, sent + service, ok),
        ));
    }
    out.sort_by_key(|(_, s)| s.done);
    out
}

fn record_all(
    start: Instant,
    samples: impl IntoIterator<Item = Sample>,
    log: &SharedBuf,
) -> Recording {
    let mut state = RecorderState::new(
        start,
        wall(),
        Duration::from_secs(1),
        &["accounts".to_owned(), "contacts".to_owned()],
        Some(Box::new(log.clone())),
    )
    .expect("state");
    for s in samples {
        state.record(&s);
    }
    state
        .finish(start + Duration::from_secs(11))
        .expect("finish")
}

#[test]
fn merging_two_halves_equals_recording_everything_in_one() {
    let start = Instant::now();
    let all = workload(start);
    let (whole_log, a_log, b_log) = (
        SharedBuf::default(),
        SharedBuf::default(),
        SharedBuf::default(),
    );
    let whole = record_all(start, all.iter().map(|(_, s)| s.clone()), &whole_log);
    record_all(
        start,
        all.iter()
            .filter(|(q, _)| q % 2 == 0)
            .map(|(_, s)| s.clone()),
        &a_log,
    );
    record_all(
        start,
        all.iter()
            .filter(|(q, _)| q % 2 == 1)
            .map(|(_, s)| s.clone()),
        &b_log,
    );
    let merged = merge_interval_log_bytes(&[
        (PathBuf::from("shard-0.hlog"), a_log.bytes()),
        (PathBuf::from("shard-1.hlog"), b_log.bytes()),
    ])
    .expect("merge");
    assert!(merged.truncated.is_empty());

    let leaves = |r: &recorder::HistogramSet| {
        r.leaves()
            .map(|(s, p, l)| {
                (
                    s.to_owned(),
                    p.to_owned(),
                    l.corrected.clone(),
                    l.raw.clone(),
                    l.errors,
                )
            })
            .collect::<Vec<_>>()
    };
    let (w, m) = (leaves(&whole.histograms), leaves(&merged.histograms));
    assert_eq!(w.len(), 4);
    assert_eq!(w.len(), m.len());
    for (a, b) in w.iter().zip(&m) {
        assert_eq!((&a.0, &a.1, a.4), (&b.0, &b.1, b.4));
        // Exact: same counts in every bucket, hence identical quantiles.
        assert!(a.2 == b.2 && a.3 == b.3, "{} {}", a.0, a.1);
        for q in [0.5, 0.9, 0.99, 0.999, 1.0] {
            assert_eq!(a.2.value_at_quantile(q), b.2.value_at_quantile(q));
        }
    }
    let (ws, ms) = (
        whole.summary().expect("summary"),
        merged.summary().expect("summary"),
    );
    assert_eq!(ws, ms, "summaries and time series agree exactly");
    assert_eq!(ws.overall.count, 4_000);
    assert!(ws.overall.errors > 0);
    assert_eq!(
        ws.series.overall.iter().map(|p| p.count).sum::<u64>(),
        4_000
    );

    // The whole run's own log round-trips too.
    let own = merge_interval_log_bytes(&[(PathBuf::from("whole.hlog"), whole_log.bytes())])
        .expect("merge");
    assert_eq!(own.summary().expect("summary"), ws);
    let tag = SeriesTag::encode("accounts", "baseline", recorder::Kind::Corrected);
    assert_eq!(
        own.per_tag.get(&tag).map(|h| h.len()),
        whole
            .histograms
            .leaves()
            .find(|(s, p, _)| *s == "accounts" && *p == "baseline")
            .map(|(_, _, l)| l.corrected.len())
    );
}

#[test]
fn merge_reads_files_from_disk() {
    let start = Instant::now();
    let all = workload(start);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut paths = Vec::new();
    for shard in 0..2u64 {
        let log = SharedBuf::default();
        record_all(
            start,
            all.iter()
                .filter(|(q, _)| q % 2 == shard)
                .map(|(_, s)| s.clone()),
            &log,
        );
        let path = dir.path().join(format!("shard-{shard}.hlog"));
        std::fs::write(&path, log.bytes()).expect("write");
        paths.push(path);
    }
    let merged = merge_interval_logs(&paths).expect("merge");
    assert_eq!(merged.files, paths);
    assert_eq!(merged.summary().expect("summary").overall.count, 4_000);
    let missing = merge_interval_logs(&[dir.path().join("nope.hlog")]).expect_err("missing");
    assert!(missing.to_string().contains("nope.hlog"));
}

#[test]
fn interval_log_has_the_standard_headers_and_one_line_per_stream_per_interval() {
    let start = Instant::now();
    let log = SharedBuf::default();
    let mut state = RecorderState::new(
        start,
        wall(),
        Duration::from_secs(1),
        &["idle stream".to_owned()],
        Some(Box::new(log.clone())),
    )
    .expect("state");
    let t = |ms: u64| start + Duration::from_millis(ms);
    state.record(&sample("orders", "baseline", t(100), t(100), t(130), true));
    state.record(&sample(
        "orders",
        "baseline",
        t(1_100),
        t(1_200),
        t(1_250),
        false,
    ));
    let recording = state.finish(t(2_500)).expect("finish");
    let text = log.text();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines
        .iter()
        .any(|l| l.starts_with("#[StartTime: 1700000000.000")));
    assert!(lines
        .iter()
        .any(|l| l.starts_with("#[BaseTime: 1700000000.000")));
    assert!(lines.contains(
        &"\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\""
    ));
    let data: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.starts_with("Tag="))
        .collect();
    let prefixes: Vec<String> = data
        .iter()
        .map(|l| l.splitn(4, ',').take(3).collect::<Vec<_>>().join(","))
        .collect();
    assert_eq!(
        prefixes,
        vec![
            // Interval 0: the idle stream gets empty lines (phase "none" until its first sample).
            "Tag=stream=idle_stream;phase=none;kind=corrected,0.000,1.000",
            "Tag=stream=idle_stream;phase=none;kind=raw,0.000,1.000",
            "Tag=stream=orders;phase=baseline;kind=corrected,0.000,1.000",
            "Tag=stream=orders;phase=baseline;kind=raw,0.000,1.000",
            "Tag=stream=idle_stream;phase=none;kind=corrected,1.000,1.000",
            "Tag=stream=idle_stream;phase=none;kind=raw,1.000,1.000",
            "Tag=stream=orders;phase=baseline;kind=corrected,1.000,1.000",
            "Tag=stream=orders;phase=baseline;kind=raw,1.000,1.000",
            "Tag=stream=orders;phase=baseline;kind=errors,1.000,1.000",
            // The final, partial interval.
            "Tag=stream=idle_stream;phase=none;kind=corrected,2.000,0.500",
            "Tag=stream=idle_stream;phase=none;kind=raw,2.000,0.500",
            "Tag=stream=orders;phase=baseline;kind=corrected,2.000,0.500",
            "Tag=stream=orders;phase=baseline;kind=raw,2.000,0.500",
        ]
    );
    // Interval_Max is in microseconds (the bucket's highest equivalent value, within 0.1%).
    let max: f64 = data[2]
        .split(',')
        .nth(3)
        .and_then(|m| m.parse().ok())
        .expect("max");
    assert!((max - 30_000.0).abs() <= 30.0, "{}", data[2]);
    assert_eq!(recording.series.streams["orders"].len(), 3);
    assert_eq!(recording.series.streams["idle stream"].len(), 3);
    assert_eq!(recording.series.streams["orders"][1].errors, 1);
    assert_eq!(recording.series.overall[2].count, 0);
}

#[tokio::test(start_paused = true)]
async fn intervals_are_written_and_flushed_during_the_run() {
    let start = Instant::now();
    let log = SharedBuf::default();
    let mut config = RecorderConfig::new(start, wall());
    config.streams = vec!["orders".to_owned()];
    let rec = recorder::spawn(config, Some(Box::new(log.clone()))).expect("spawn");
    let tx = rec.sender();
    let now = Instant::now();
    assert!(
        tx.send(sample("orders", "baseline", now, now, now + MS, true))
            .await
    );
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    // Two intervals are closed: written and flushed before the run ends.
    let corrected_lines = log
        .text()
        .lines()
        .filter(|l| l.starts_with("Tag=") && l.contains("kind=corrected"))
        .count();
    assert_eq!(corrected_lines, 2, "{}", log.text());
    let flushes = log.flushes.load(Ordering::SeqCst);
    assert!(flushes >= 3, "header + 2 intervals, got {flushes}");
    let recording = rec.finish().await.expect("finish");
    assert_eq!(recording.samples, 1);
    assert!(
        !tx.send(sample("orders", "baseline", now, now, now, true))
            .await
    );
    assert!(recording.log_error.is_none());
}

#[tokio::test(start_paused = true)]
async fn finish_records_everything_sent_before_it() {
    let start = Instant::now();
    let rec = recorder::spawn(RecorderConfig::new(start, wall()), None).expect("spawn");
    let tx = rec.sender();
    for i in 0..10_000u64 {
        let t = start + Duration::from_micros(i);
        assert!(
            tx.try_send(sample("s", "p", t, t, t + MS, i % 2 == 0))
                || tx.send(sample("s", "p", t, t, t + MS, i % 2 == 0)).await
        );
    }
    let recording = rec.finish().await.expect("finish");
    assert_eq!(recording.samples, 10_000);
    let summary = recording.summary().expect("summary");
    assert_eq!(summary.overall.errors, 5_000);
    assert_eq!(summary.streams["s"].count, 10_000);
}

#[test]
fn summaries_are_in_milliseconds_per_stream_and_phase() {
    let start = Instant::now();
    let mut state =
        RecorderState::new(start, wall(), Duration::from_secs(1), &[], None).expect("state");
    for i in 1..=100u64 {
        let intended = start + Duration::from_millis(i * 10);
        let done = intended + Duration::from_millis(i);
        let phase = if i <= 50 { "baseline" } else { "drain" };
        state.record(&sample("a", phase, intended, intended, done, true));
    }
    let s = state
        .finish(start + Duration::from_secs(2))
        .expect("finish")
        .summary()
        .expect("summary");
    let c = &s.overall.corrected;
    assert_eq!(c.count, 100);
    let near = |a: f64, b: f64| (a - b).abs() <= b * 0.001 + 1e-9;
    assert!(
        near(c.p50, 50.0) && near(c.p90, 90.0) && near(c.p99, 99.0) && near(c.max, 100.0),
        "{c:?}"
    );
    assert!(near(c.mean, 50.5), "{}", c.mean);
    assert_eq!(s.phases["baseline"].count, 50);
    assert!(near(s.phases["drain"].corrected.p50, 75.0));
    assert_eq!(s.by_stream_phase["a"]["drain"].count, 50);
    assert_eq!(
        LatencySummary::from_histogram(&hdrhistogram::Histogram::new(3).expect("h")),
        LatencySummary::default()
    );
}

#[test]
fn extreme_latencies_are_clamped_not_lost() {
    let start = Instant::now();
    let mut state =
        RecorderState::new(start, wall(), Duration::from_secs(1), &[], None).expect("state");
    state.record(&sample("a", "p", start, start, start, true));
    state.record(&sample(
        "a",
        "p",
        start,
        start,
        start + Duration::from_secs(7_200),
        true,
    ));
    let s = state
        .finish(start + Duration::from_secs(7_201))
        .expect("finish")
        .summary()
        .expect("summary");
    assert_eq!(s.overall.count, 2);
    assert!((s.overall.corrected.max - 3_600_000.0).abs() < 3_600.0 * 2.0);
}

#[test]
fn truncated_tails_are_tolerated_and_corrupt_lines_named() {
    let start = Instant::now();
    let log = SharedBuf::default();
    record_all(start, workload(start).into_iter().map(|(_, s)| s), &log);
    let bytes = log.bytes();
    let cut = bytes.len() - 20;
    let merged =
        merge_interval_log_bytes(&[(PathBuf::from("crashed.hlog"), bytes[..cut].to_vec())])
            .expect("tail tolerated");
    assert_eq!(merged.truncated, vec![PathBuf::from("crashed.hlog")]);
    assert!(merged.summary().expect("summary").overall.count > 3_000);

    let mut text = String::from_utf8(bytes).expect("utf-8");
    text = text.replacen(
        "Tag=stream=accounts",
        "garbage here\nTag=stream=accounts",
        1,
    );
    let err = merge_interval_log_bytes(&[(PathBuf::from("bad.hlog"), text.into_bytes())])
        .expect_err("corrupt");
    assert!(err.to_string().starts_with("bad.hlog:6:"), "{err}");
}

#[test]
fn tags_survive_awkward_stream_names() {
    let tag = SeriesTag::encode(
        "a stream, with=odd;chars",
        "fault:outage-1",
        recorder::Kind::Raw,
    );
    assert_eq!(
        tag,
        "stream=a_stream__with_odd_chars;phase=fault:outage-1;kind=raw"
    );
    let parsed = SeriesTag::parse(&tag).expect("parses");
    assert_eq!(parsed.phase, "fault:outage-1");
    assert_eq!(parsed.kind, recorder::Kind::Raw);
    assert!(SeriesTag::parse("something-else").is_none());
}

#[test]
fn interval_must_be_whole_milliseconds() {
    let start = Instant::now();
    assert!(RecorderState::new(start, wall(), Duration::from_micros(1_500), &[], None).is_err());
    assert!(RecorderState::new(start, wall(), Duration::ZERO, &[], None).is_err());
}
