//! Alerts: what the on-call person hears about (the `observability` cure). With the switch on, none of
//! this runs and nothing is ever posted.
//!
//! A monitor evaluates a few signals every `alert_interval` and turns each into an incident that
//! fires once when it starts (or gets worse) and posts a resolution when it ends, so a pager sees one
//! alert per incident, not one per tick:
//!
//! | incident | fires | resolves |
//! |---|---|---|
//! | `salesforce-errors` | ≥ 20 % of Salesforce calls in the last 15 s failed for server reasons (warning; ≥ 50 %, critical); or ≥ 3 failures and no success | calls succeed again and none failed for 5 s |
//! | `api-usage` | `Sforce-Limit-Info` usage ≥ 80 % (warning), ≥ 95 % (critical) | below 80 % |
//! | `queue-lag` | the oldest unwritten event is ≥ 30 s old (warning), ≥ 120 s (critical) | below 10 s |
//! | `sync-lag` | the last change reached the sink ≥ 60 s after Salesforce committed it | below 10 s |
//! | `sink-errors` | as `salesforce-errors`, for deliveries to the sink | as `salesforce-errors` |
//! | `schema-change` | Salesforce rejected a field the integration was writing (one alert per object per minute) | — |
//!
//! Alerts are `POST`ed as `{"severity","summary","incident","status":"firing"|"resolved","value"}` to
//! `SFCHAOS_ALERT_URL`, each with a few quick retries; a pager that is down never blocks the
//! integration.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde::Serialize;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::health::Health;
use super::metrics::Metrics;

/// Alert severities of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// One alert as posted.
#[derive(Debug, Clone, Serialize)]
pub struct Alert {
    pub severity: Severity,
    pub summary: String,
    pub incident: &'static str,
    pub status: &'static str,
    pub value: f64,
}

/// Where alerts go. Cloning shares the channel; with alerting off, [`Alerts::send`] does nothing.
#[derive(Debug, Clone)]
pub struct Alerts {
    tx: Option<mpsc::UnboundedSender<Alert>>,
    /// Last schema-change alert per object (rate limit).
    schema: Arc<Mutex<HashMap<String, Instant>>>,
}

impl Alerts {
    /// No alerting at all.
    pub fn disabled() -> Self {
        Self {
            tx: None,
            schema: Arc::default(),
        }
    }

    /// Alerts posted to `url` (only logged when `None`) by a background task.
    pub fn spawn(
        url: Option<String>,
        metrics: Arc<Metrics>,
        shutdown: tokio_util::sync::CancellationToken,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(post_alerts(url, rx, metrics, shutdown));
        (
            Self {
                tx: Some(tx),
                schema: Arc::default(),
            },
            task,
        )
    }

    /// Queue an alert for posting.
    pub fn send(&self, alert: Alert) {
        if let Some(tx) = &self.tx {
            tracing::warn!(
                "alert [{}] {}: {}",
                alert.severity.as_str(),
                alert.status,
                alert.summary
            );
            let _ = tx.send(alert);
        }
    }

    /// Salesforce refused a field of `object`: say so, at most once a minute per object.
    pub fn schema_changed(&self, object: &str, detail: &str) {
        let now = Instant::now();
        let mut last = self.schema.lock();
        if last
            .get(object)
            .is_some_and(|t| now.duration_since(*t) < Duration::from_secs(60))
        {
            return;
        }
        last.insert(object.to_string(), now);
        drop(last);
        self.send(Alert {
            severity: Severity::Warning,
            summary: format!("schema change on {object}: {detail}; re-reading the describe and leaving out fields it no longer takes"),
            incident: "schema-change",
            status: "firing",
            value: 1.0,
        });
    }
}

async fn post_alerts(
    url: Option<String>,
    mut rx: mpsc::UnboundedReceiver<Alert>,
    metrics: Arc<Metrics>,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .no_proxy()
        .build()
        .ok();
    loop {
        let alert = tokio::select! {
            a = rx.recv() => match a {
                Some(a) => a,
                None => return,
            },
            _ = shutdown.cancelled() => return,
        };
        metrics.alert(alert.severity.as_str());
        let (Some(url), Some(http)) = (&url, &http) else {
            continue;
        };
        for attempt in 0..3u32 {
            match http.post(url).json(&alert).send().await {
                Ok(r) if r.status().is_success() => break,
                Ok(r) => tracing::warn!("alert sink answered {}", r.status()),
                Err(e) => tracing::warn!("alert sink: {e}"),
            }
            tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
        }
    }
}

/// How long calls must succeed without a failure before an error incident is resolved.
const QUIET: Duration = Duration::from_secs(5);

/// What one signal says this tick.
enum Level {
    Fire(Severity, String, f64),
    Clear(f64),
    /// Between the fire and clear thresholds: stay as is.
    Hold,
}

/// An incident's state.
struct Incident {
    name: &'static str,
    firing: Option<Severity>,
}

impl Incident {
    fn new(name: &'static str) -> Self {
        Self { name, firing: None }
    }

    fn update(&mut self, level: Level, alerts: &Alerts) {
        match level {
            Level::Fire(sev, summary, value) if self.firing.is_none_or(|f| sev > f) => {
                self.firing = Some(sev);
                alerts.send(Alert {
                    severity: sev,
                    summary,
                    incident: self.name,
                    status: "firing",
                    value,
                });
            }
            Level::Clear(value) if self.firing.is_some() => {
                self.firing = None;
                alerts.send(Alert {
                    severity: Severity::Info,
                    summary: format!("resolved: {}", self.name),
                    incident: self.name,
                    status: "resolved",
                    value,
                });
            }
            _ => {}
        }
    }
}

/// The signals the monitor reads.
pub struct Signals {
    pub health: Arc<Health>,
    pub sink_health: Arc<Health>,
    pub metrics: Arc<Metrics>,
    /// Age of the oldest unwritten event.
    pub queue_lag: Box<dyn Fn() -> Duration + Send + Sync>,
}

/// Evaluate the signals every `every` until `shutdown`.
pub async fn monitor(
    signals: Signals,
    alerts: Alerts,
    every: Duration,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let mut errors = Incident::new("salesforce-errors");
    let mut usage = Incident::new("api-usage");
    let mut lag = Incident::new("queue-lag");
    let mut sync = Incident::new("sync-lag");
    let mut sink = Incident::new("sink-errors");
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.cancelled() => return,
        }
        errors.update(error_level(&signals.health, "Salesforce calls"), &alerts);
        sink.update(
            error_level(&signals.sink_health, "sink deliveries"),
            &alerts,
        );
        let (used, max) = (
            signals.metrics.api_used.load(Ordering::Relaxed),
            signals.metrics.api_max.load(Ordering::Relaxed),
        );
        usage.update(usage_level(used, max), &alerts);
        let age = (signals.queue_lag)().as_secs_f64();
        lag.update(
            threshold(age, 30.0, 120.0, 10.0, |a| {
                format!("events waiting {a:.0} s to be written to Salesforce")
            }),
            &alerts,
        );
        let sync_lag = signals.metrics.sync_lag_ms.load(Ordering::Relaxed) as f64 / 1000.0;
        sync.update(
            threshold(sync_lag, 60.0, f64::INFINITY, 10.0, |a| {
                format!("Salesforce changes reach the downstream system {a:.0} s late")
            }),
            &alerts,
        );
    }
}

fn error_level(health: &Health, what: &str) -> Level {
    let r = health.rates();
    let ratio = r.failure_ratio();
    let summary = |sev: &str| {
        format!(
            "{sev}: {:.0} % of {what} failing ({} of {} in the last 15 s)",
            ratio * 100.0,
            r.failures,
            r.calls()
        )
    };
    if health.recovered(QUIET) {
        Level::Clear(ratio)
    } else if r.failures >= 3 && (ratio >= 0.5 || r.successes == 0) {
        Level::Fire(Severity::Critical, summary("outage"), ratio)
    } else if r.calls() >= 5 && ratio >= 0.2 {
        Level::Fire(Severity::Warning, summary("degraded"), ratio)
    } else {
        Level::Hold
    }
}

fn usage_level(used: u64, max: u64) -> Level {
    if max == 0 {
        return Level::Hold;
    }
    let ratio = used as f64 / max as f64;
    let summary = format!(
        "daily API allocation {:.0} % used ({used} of {max})",
        ratio * 100.0
    );
    if ratio >= 0.95 {
        Level::Fire(Severity::Critical, summary, ratio)
    } else if ratio >= 0.8 {
        Level::Fire(Severity::Warning, summary, ratio)
    } else {
        Level::Clear(ratio)
    }
}

fn threshold(
    value: f64,
    warn: f64,
    crit: f64,
    clear: f64,
    summary: impl Fn(f64) -> String,
) -> Level {
    if value >= crit {
        Level::Fire(Severity::Critical, summary(value), value)
    } else if value >= warn {
        Level::Fire(Severity::Warning, summary(value), value)
    } else if value < clear {
        Level::Clear(value)
    } else {
        Level::Hold
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect() -> (Alerts, mpsc::UnboundedReceiver<Alert>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (
            Alerts {
                tx: Some(tx),
                schema: Arc::default(),
            },
            rx,
        )
    }

    #[tokio::test(start_paused = true)]
    async fn an_incident_fires_escalates_and_resolves_once() {
        let (alerts, mut rx) = collect();
        let health = Health::new(Duration::from_secs(15));
        let mut incident = Incident::new("salesforce-errors");
        for _ in 0..4 {
            health.record(false);
        }
        health.record(true);
        incident.update(error_level(&health, "calls"), &alerts);
        incident.update(error_level(&health, "calls"), &alerts);
        let first = rx.try_recv().expect("fired");
        assert_eq!(
            (first.severity, first.status),
            (Severity::Critical, "firing")
        );
        assert!(rx.try_recv().is_err(), "no repeat while it lasts");
        health.record(true);
        incident.update(error_level(&health, "calls"), &alerts);
        assert!(
            rx.try_recv().is_err(),
            "one success right after failures resolves nothing"
        );
        tokio::time::sleep(QUIET).await;
        health.record(true);
        incident.update(error_level(&health, "calls"), &alerts);
        let resolved = rx.try_recv().expect("resolved");
        assert_eq!(
            (resolved.severity, resolved.status),
            (Severity::Info, "resolved")
        );
    }

    #[test]
    fn usage_thresholds() {
        assert!(matches!(
            usage_level(81, 100),
            Level::Fire(Severity::Warning, ..)
        ));
        assert!(matches!(
            usage_level(96, 100),
            Level::Fire(Severity::Critical, ..)
        ));
        assert!(matches!(usage_level(10, 100), Level::Clear(_)));
        assert!(matches!(usage_level(0, 0), Level::Hold));
    }

    #[tokio::test(start_paused = true)]
    async fn schema_alerts_are_rate_limited() {
        let (alerts, mut rx) = collect();
        alerts.schema_changed("Account", "No such column 'X'");
        alerts.schema_changed("Account", "No such column 'X'");
        assert!(rx.try_recv().is_ok());
        assert!(rx.try_recv().is_err());
    }
}
