//! Counters the integration keeps about itself, rendered as Prometheus text on `GET /metrics`.
//!
//! Every name starts with `integration_`, so a scorer or dashboard can find them without knowing
//! which build produced them:
//!
//! | metric | type | meaning |
//! |---|---|---|
//! | `integration_events_accepted_total` | counter | events answered 2xx (duplicates of accepted ids excluded) |
//! | `integration_events_rejected_total` | counter | events answered non-2xx |
//! | `integration_events_duplicate_total` | counter | re-sent event ids answered 2xx without new work |
//! | `integration_events_written_total` | counter | accepted events whose values reached Salesforce |
//! | `integration_events_dropped_total` | counter | accepted events given up on while Salesforce was unavailable |
//! | `integration_events_dead_lettered_total` | counter | accepted events Salesforce refused for good (validation) |
//! | `integration_batch_records_total{result}` | counter | `/batch` rows `accepted`, `written`, `failed` |
//! | `integration_salesforce_requests_total{status}` | counter | Salesforce HTTP requests by status (`transport` = no response) |
//! | `integration_salesforce_retries_total` | counter | retries scheduled |
//! | `integration_salesforce_retry_delay_seconds_{sum,count}` | summary | waits before retries |
//! | `integration_queue_depth` | gauge | keys waiting to be written |
//! | `integration_queue_lag_seconds` | gauge | age of the oldest waiting event |
//! | `integration_sink_deliveries_total{result}` | counter | downstream deliveries `ok` / `error` |
//! | `integration_sync_lag_seconds` | gauge | Salesforce commit → sink delivery, last change |
//! | `integration_api_usage{kind}` | gauge | `Sforce-Limit-Info` `used` / `max` |
//! | `integration_alerts_total{severity}` | counter | alerts posted |
//! | `integration_bulk_jobs_total` | counter | Bulk 2.0 ingest jobs created |
//! | `integration_fields_dropped_total` | counter | field values left out because the schema no longer takes them |

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

/// Retry waits kept for inspection (tests read them through `Running::retry_delays`).
const RECENT_DELAYS: usize = 256;

/// The integration's counters. Shared behind an `Arc`; every update is a relaxed atomic or a short
/// `parking_lot` lock that is never held across an `.await`.
#[derive(Debug, Default)]
pub struct Metrics {
    pub events_accepted: AtomicU64,
    pub events_rejected: AtomicU64,
    pub events_duplicate: AtomicU64,
    pub events_written: AtomicU64,
    pub events_dropped: AtomicU64,
    pub events_dead_lettered: AtomicU64,
    pub batch_accepted: AtomicU64,
    pub batch_written: AtomicU64,
    pub batch_failed: AtomicU64,
    pub retries: AtomicU64,
    pub sink_ok: AtomicU64,
    pub sink_error: AtomicU64,
    pub sync_lag_ms: AtomicU64,
    pub api_used: AtomicU64,
    pub api_max: AtomicU64,
    pub bulk_jobs: AtomicU64,
    pub fields_dropped: AtomicU64,
    requests: Mutex<BTreeMap<String, u64>>,
    alerts: Mutex<BTreeMap<&'static str, u64>>,
    delays: Mutex<DelayLog>,
}

#[derive(Debug, Default)]
struct DelayLog {
    sum: Duration,
    count: u64,
    recent: VecDeque<Duration>,
}

/// Gauges owned by other parts of the engine, read when rendering.
#[derive(Debug, Clone, Copy, Default)]
pub struct Gauges {
    pub queue_depth: u64,
    pub queue_lag: Duration,
}

/// Add one to a counter.
pub fn inc(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Add `n` to a counter.
pub fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

impl Metrics {
    /// One Salesforce HTTP request ended with `status` (`"transport"` when there was no response).
    pub fn request(&self, status: &str) {
        *self.requests.lock().entry(status.to_string()).or_default() += 1;
    }

    /// Requests per status so far.
    pub fn requests(&self) -> BTreeMap<String, u64> {
        self.requests.lock().clone()
    }

    /// A retry was scheduled after `delay`.
    pub fn retry(&self, delay: Duration) {
        inc(&self.retries);
        let mut d = self.delays.lock();
        d.sum += delay;
        d.count += 1;
        if d.recent.len() == RECENT_DELAYS {
            d.recent.pop_front();
        }
        d.recent.push_back(delay);
    }

    /// The most recent retry waits, oldest first.
    pub fn recent_delays(&self) -> Vec<Duration> {
        self.delays.lock().recent.iter().copied().collect()
    }

    /// An alert of `severity` was posted.
    pub fn alert(&self, severity: &'static str) {
        *self.alerts.lock().entry(severity).or_default() += 1;
    }

    /// The latest API usage seen in `Sforce-Limit-Info`.
    pub fn api_usage(&self, used: u64, max: u64) {
        self.api_used.store(used, Ordering::Relaxed);
        self.api_max.store(max, Ordering::Relaxed);
    }

    /// Prometheus text exposition format 0.0.4.
    pub fn render(&self, gauges: Gauges) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut out = String::new();
        let mut counter = |name: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
            );
        };
        counter(
            "integration_events_accepted_total",
            "Events answered 2xx.",
            get(&self.events_accepted),
        );
        counter(
            "integration_events_rejected_total",
            "Events answered non-2xx.",
            get(&self.events_rejected),
        );
        counter(
            "integration_events_duplicate_total",
            "Re-sent event ids answered without new work.",
            get(&self.events_duplicate),
        );
        counter(
            "integration_events_written_total",
            "Accepted events whose values reached Salesforce.",
            get(&self.events_written),
        );
        counter(
            "integration_events_dropped_total",
            "Accepted events given up while Salesforce was unavailable.",
            get(&self.events_dropped),
        );
        counter(
            "integration_events_dead_lettered_total",
            "Accepted events Salesforce refused for good.",
            get(&self.events_dead_lettered),
        );
        counter(
            "integration_salesforce_retries_total",
            "Retries scheduled.",
            get(&self.retries),
        );
        counter(
            "integration_bulk_jobs_total",
            "Bulk 2.0 ingest jobs created.",
            get(&self.bulk_jobs),
        );
        counter(
            "integration_fields_dropped_total",
            "Field values left out because the schema no longer takes them.",
            get(&self.fields_dropped),
        );

        family(
            &mut out,
            "integration_batch_records_total",
            "counter",
            "Batch rows by result.",
            "result",
            [
                ("accepted", get(&self.batch_accepted)),
                ("written", get(&self.batch_written)),
                ("failed", get(&self.batch_failed)),
            ],
        );
        let requests = self.requests();
        family(
            &mut out,
            "integration_salesforce_requests_total",
            "counter",
            "Salesforce HTTP requests by status.",
            "status",
            requests.iter().map(|(k, v)| (k.as_str(), *v)),
        );
        family(
            &mut out,
            "integration_sink_deliveries_total",
            "counter",
            "Downstream deliveries by result.",
            "result",
            [("ok", get(&self.sink_ok)), ("error", get(&self.sink_error))],
        );
        let alerts = self.alerts.lock().clone();
        family(
            &mut out,
            "integration_alerts_total",
            "counter",
            "Alerts posted by severity.",
            "severity",
            alerts.iter().map(|(k, v)| (*k, *v)),
        );
        let delays = self.delays.lock();
        let _ = writeln!(
            out,
            "# HELP integration_salesforce_retry_delay_seconds Waits before retries.\n\
             # TYPE integration_salesforce_retry_delay_seconds summary\n\
             integration_salesforce_retry_delay_seconds_sum {}\n\
             integration_salesforce_retry_delay_seconds_count {}",
            delays.sum.as_secs_f64(),
            delays.count
        );
        drop(delays);

        let mut gauge = |name: &str, help: &str, value: f64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        };
        gauge(
            "integration_queue_depth",
            "Keys waiting to be written.",
            gauges.queue_depth as f64,
        );
        gauge(
            "integration_queue_lag_seconds",
            "Age of the oldest waiting event.",
            gauges.queue_lag.as_secs_f64(),
        );
        gauge(
            "integration_sync_lag_seconds",
            "Salesforce commit to sink delivery, last change.",
            get(&self.sync_lag_ms) as f64 / 1000.0,
        );
        family(
            &mut out,
            "integration_api_usage",
            "gauge",
            "Sforce-Limit-Info usage.",
            "kind",
            [("used", get(&self.api_used)), ("max", get(&self.api_max))],
        );
        out
    }
}

fn family<'a>(
    out: &mut String,
    name: &str,
    kind: &str,
    help: &str,
    label: &str,
    values: impl IntoIterator<Item = (&'a str, u64)>,
) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for (value, n) in values {
        let _ = writeln!(out, "{name}{{{label}=\"{}\"}} {n}", escape(value));
    }
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::default();
        inc(&m.events_accepted);
        m.request("201");
        m.request("transport");
        m.request("201");
        m.retry(Duration::from_millis(250));
        m.api_usage(18, 5000);
        let text = m.render(Gauges {
            queue_depth: 3,
            queue_lag: Duration::from_millis(1500),
        });
        assert!(
            text.contains("integration_events_accepted_total 1\n"),
            "{text}"
        );
        assert!(text.contains("integration_salesforce_requests_total{status=\"201\"} 2\n"));
        assert!(text.contains("integration_salesforce_requests_total{status=\"transport\"} 1\n"));
        assert!(text.contains("integration_salesforce_retry_delay_seconds_sum 0.25\n"));
        assert!(text.contains("integration_queue_lag_seconds 1.5\n"));
        assert!(text.contains("integration_api_usage{kind=\"max\"} 5000\n"));
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let value = line.rsplit(' ').next().unwrap_or_default();
            assert!(value.parse::<f64>().is_ok(), "bad sample line: {line}");
        }
    }
}
