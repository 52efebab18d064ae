//! The plain-data records of a run that are not already types elsewhere: one serde struct per
//! evidence file line. Each is tolerant of extra keys (the harness may write more than the scorer
//! reads) and defaults the keys the scorer can do without, so an older or newer output directory
//! still scores.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A stretch of the scenario clock, in microseconds. `end_us: None` means "until the end of the
/// run".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub start_us: u64,
    #[serde(default)]
    pub end_us: Option<u64>,
}

impl Span {
    pub fn new(start_us: u64, end_us: Option<u64>) -> Self {
        Span { start_us, end_us }
    }

    /// End, or `run_end_us` when open.
    pub fn end_or(&self, run_end_us: u64) -> u64 {
        self.end_us.unwrap_or(run_end_us).max(self.start_us)
    }

    pub fn contains(&self, t_us: u64) -> bool {
        t_us >= self.start_us && self.end_us.is_none_or(|end| t_us < end)
    }
}

/// One fault rule's window and the details the detectors need.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultWindow {
    /// The rule id, as in the journal's `fault.rule`.
    pub id: String,
    /// `outage`, `error`, `rate-limit`, `schema-change`, … (design.md §6), or `sink-outage` for the
    /// harness's downstream sink.
    pub kind: String,
    #[serde(flatten)]
    pub span: Span,
    /// Outage mode: `http-503`, `reset`, `refuse`, `hang`, `read-only-maintenance`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Schema changes: the object and field changed, and the change (`rename-field`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<String>,
    /// Error faults: the share of matching requests affected (1 for count triggers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// When the fault's responses carry `Retry-After`, its value in milliseconds. Salesforce never
    /// sends one, but a maintenance page or proxy in front of it may; a client that waits that long
    /// is doing the right thing, whatever its backoff looks like.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
    /// Whether the simulator enforced the rule (a rule that was never installed exercises
    /// nothing).
    #[serde(default = "yes")]
    pub installed: bool,
}

fn yes() -> bool {
    true
}

/// An actor's identity and what it edits (from the scenario).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ActorInfo {
    pub name: String,
    pub username: String,
    pub object: String,
    #[serde(default)]
    pub fields: Vec<String>,
}

/// Whether a load stream sends single events or batches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StreamKind {
    #[default]
    Events,
    Batch,
}

/// A load stream (from the scenario).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StreamInfo {
    pub name: String,
    pub kind: StreamKind,
    pub object: String,
    /// Records per batch, for batch streams.
    #[serde(default)]
    pub batch_size: Option<u32>,
}

/// One line of `actor-edits.ndjson`: an edit an actor made (or tried) directly in Salesforce.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ActorEdit {
    /// When the edit was sent, scenario clock.
    pub t_us: u64,
    #[serde(default)]
    pub actor: String,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub object: String,
    #[serde(default)]
    pub record_id: Option<String>,
    #[serde(default)]
    pub external_id: Option<String>,
    #[serde(default)]
    pub fields: Map<String, Value>,
    /// `ok`, `error` or `skipped`.
    #[serde(default = "ok")]
    pub status: String,
}

fn ok() -> String {
    "ok".into()
}

impl ActorEdit {
    pub fn succeeded(&self) -> bool {
        self.status == "ok"
    }
}

/// The body the integration posted to the downstream sink (design.md §4).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DeliveryBody {
    #[serde(default)]
    pub object: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub external_id: Option<String>,
    /// `create`, `update` or `delete`.
    #[serde(default)]
    pub change: Option<String>,
    #[serde(default)]
    pub fields: Map<String, Value>,
    #[serde(default)]
    pub source_commit_timestamp: Option<Value>,
}

/// One line of `sink.ndjson`: a request the integration made to the downstream sink.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SinkDelivery {
    /// Arrival, scenario clock (negative before load started).
    pub t_us: i64,
    /// What the sink answered (a sink fault answers non-2xx on purpose).
    #[serde(default = "ok_status")]
    pub status: u16,
    /// Not a JSON object when the integration sent something else.
    #[serde(default, deserialize_with = "lenient_body")]
    pub body: DeliveryBody,
}

fn ok_status() -> u16 {
    200
}

fn lenient_body<'de, D: serde::Deserializer<'de>>(d: D) -> Result<DeliveryBody, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(serde_json::from_value(v).unwrap_or_default())
}

impl SinkDelivery {
    pub fn delivered(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// One alert the integration posted, flattened from `alerts.ndjson` (a request may carry several,
/// Alertmanager-style).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub t_us: i64,
    /// `critical`, `warning` or `info`.
    #[serde(default)]
    pub severity: String,
    #[serde(default)]
    pub summary: String,
    /// A resolution (`"status": "resolved"`): the integration saying an incident is over.
    #[serde(default)]
    pub resolved: bool,
}

impl Alert {
    /// Whether this alert pages someone: a firing warning or critical (info and resolutions do
    /// not, and are never false alarms).
    pub fn pages(&self) -> bool {
        !self.resolved && !self.severity.eq_ignore_ascii_case("info")
    }
}

/// One line of `alerts.ndjson` as the harness writes it: the request, and the alerts it carried.
#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct AlertRequest {
    pub t_us: i64,
    #[serde(default)]
    pub alerts: Option<Vec<Value>>,
    #[serde(default)]
    pub body: Value,
}

impl AlertRequest {
    /// The alerts in this request: the harness's parsed `alerts` list when present, else the body
    /// itself in the contract's shape.
    pub fn flatten(self) -> Vec<Alert> {
        let items = match self.alerts {
            Some(list) => list,
            None => match self.body {
                Value::Array(list) => list,
                Value::Object(_) => vec![self.body],
                _ => Vec::new(),
            },
        };
        items
            .into_iter()
            .filter_map(|v| {
                let o = v.as_object()?;
                let text = |k: &str| o.get(k).and_then(Value::as_str).map(str::to_owned);
                let labels = o.get("labels").and_then(Value::as_object);
                let severity = text("severity")
                    .or_else(|| {
                        labels
                            .and_then(|l| l.get("severity"))
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                    })
                    .unwrap_or_else(|| "warning".into());
                let summary = text("summary")
                    .or_else(|| {
                        o.get("annotations")
                            .and_then(|a| a.get("summary"))
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                    })
                    .unwrap_or_default();
                let resolved = text("status").is_some_and(|s| s.eq_ignore_ascii_case("resolved"));
                Some(Alert {
                    t_us: self.t_us,
                    severity,
                    summary,
                    resolved,
                })
            })
            .collect()
    }
}

/// One line of `lifecycle.ndjson`: the integration process and the actions applied to it.
///
/// `event` is one of `start`, `start-failed`, `healthy`, `healthz-timeout`, `signal`, `exit`,
/// `action-begin`, `action-end`, `run-start`, `load-end`, `drain-end`. An `exit` with
/// `expected: false` is a crash.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LifecycleEvent {
    pub t_us: i64,
    pub event: String,
    /// For `action-begin`/`action-end`: `crash-restart`, `restart`, `deploy`, `rollback`, `pause`,
    /// `resume`.
    #[serde(default)]
    pub action: Option<String>,
    /// For `exit`: whether the harness asked for it.
    #[serde(default)]
    pub expected: Option<bool>,
    #[serde(default)]
    pub detail: Option<String>,
}

impl LifecycleEvent {
    pub fn is_crash(&self) -> bool {
        self.event == "exit" && self.expected == Some(false)
    }
}

/// One scrape of the integration's `GET /metrics` (one line of `metrics.ndjson`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricsScrape {
    pub t_us: i64,
    /// HTTP status of the scrape; 0 when the integration did not answer.
    #[serde(default = "ok_status")]
    pub status: u16,
    /// Prometheus text exposition format.
    #[serde(default)]
    pub text: String,
}

impl MetricsScrape {
    /// Sum of every sample of the metric family `name` (all label sets), if present.
    pub fn sum(&self, name: &str) -> Option<f64> {
        let mut found = None;
        for line in self.text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (metric, rest) = match line.find(['{', ' ']) {
                Some(i) => (&line[..i], &line[i..]),
                None => continue,
            };
            if metric != name {
                continue;
            }
            let value_text = match rest.strip_prefix('{') {
                Some(r) => r.split_once('}').map_or("", |(_, v)| v),
                None => rest,
            };
            if let Some(v) = value_text
                .split_whitespace()
                .next()
                .and_then(|v| v.parse::<f64>().ok())
            {
                *found.get_or_insert(0.0) += v;
            }
        }
        found
    }
}

/// One committed record change, as the harness streams it into `changes.ndjson` (the
/// simulator's `Change` serialization plus `t_us`). Only the keys the scorer reads are declared.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChangeRecord {
    /// Commit time on the scenario clock; when absent, derived from `commit_ms` and the run's
    /// epoch.
    #[serde(default)]
    pub t_us: Option<i64>,
    #[serde(default)]
    pub seq: u64,
    #[serde(default)]
    pub object: String,
    #[serde(default)]
    pub record_id: String,
    /// `CREATE`, `UPDATE`, `DELETE`, `UNDELETE`, `GAP_*`.
    #[serde(default)]
    pub change_type: String,
    #[serde(default)]
    pub commit_ms: i64,
    /// The writer's journal identity: `username|app[|client]`.
    #[serde(default)]
    pub client: String,
    #[serde(default)]
    pub changed_fields: Vec<String>,
    #[serde(default)]
    pub fields: Map<String, Value>,
}

impl ChangeRecord {
    /// The writer's username (the part of `client` before the first `|`).
    pub fn username(&self) -> &str {
        self.client.split('|').next().unwrap_or("")
    }

    /// Commit time on the scenario clock, if known.
    pub fn time_us(&self, epoch_ms: Option<i64>) -> Option<i64> {
        self.t_us
            .or_else(|| epoch_ms.map(|e| (self.commit_ms - e).saturating_mul(1_000)))
    }

    /// Fields whose values this change set: `changed_fields` for updates, every field in the
    /// payload for creates.
    pub fn written_fields(&self) -> impl Iterator<Item = &str> {
        let from_list = !self.changed_fields.is_empty();
        let list = self.changed_fields.iter().map(String::as_str);
        let payload = self.fields.keys().map(String::as_str);
        list.chain(payload.filter(move |_| !from_list)).filter(|f| {
            !matches!(
                *f,
                "LastModifiedDate" | "LastModifiedById" | "SystemModstamp"
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_sum_over_labels() {
        let s = MetricsScrape {
            t_us: 0,
            status: 200,
            text: "# HELP x\n# TYPE integration_salesforce_requests_total counter\n\
                   integration_salesforce_requests_total{status=\"200\"} 10\n\
                   integration_salesforce_requests_total{status=\"503\"} 5\n\
                   integration_salesforce_requests_totally 99\n\
                   integration_queue_depth 3\n"
                .into(),
        };
        assert_eq!(s.sum("integration_salesforce_requests_total"), Some(15.0));
        assert_eq!(s.sum("integration_queue_depth"), Some(3.0));
        assert_eq!(s.sum("missing"), None);
    }

    #[test]
    fn alerts_flatten_contract_and_alertmanager_shapes() {
        let contract: AlertRequest = serde_json::from_str(
            r#"{"t_us": 5, "body": {"severity": "critical", "summary": "down"}}"#,
        )
        .unwrap();
        let a = contract.flatten();
        assert_eq!(a.len(), 1);
        assert!(a[0].pages());
        let am: AlertRequest = serde_json::from_str(
            r#"{"t_us": 7, "body": {}, "alerts": [
                {"status": "resolved", "labels": {"severity": "warning"}, "annotations": {"summary": "ok"}},
                {"status": "firing", "labels": {"severity": "info"}}]}"#,
        )
        .unwrap();
        let a = am.flatten();
        assert_eq!(a.len(), 2);
        assert!(a[0].resolved && !a[0].pages());
        assert!(!a[1].pages());
    }

    #[test]
    fn change_written_fields() {
        let c: ChangeRecord = serde_json::from_str(
            r#"{"object":"Account","record_id":"001","change_type":"UPDATE","commit_ms":5,
                "client":"a@b|app","changed_fields":["Phone","LastModifiedDate"],
                "fields":{"Phone":"1","LastModifiedDate":"x"}}"#,
        )
        .unwrap();
        assert_eq!(c.written_fields().collect::<Vec<_>>(), vec!["Phone"]);
        assert_eq!(c.username(), "a@b");
        assert_eq!(c.time_us(Some(2)), Some(3_000));
    }
}
