//! Salesforce → downstream: finding changes made in Salesforce and delivering them to
//! `SFCHAOS_SINK_URL` as `{"object","id","external_id"?,"change","fields","source_commit_timestamp"?}`.
//!
//! `polling` is decided in [`run`]:
//!
//! * **on** — `poll.rs`: a SOQL query `WHERE SystemModstamp > :t` on a timer, whether or not anything
//!   changed. Deletes are never seen.
//! * **off** — `cdc.rs`: a Change Data Capture subscription on `/data/ChangeEvents`, resumed from the
//!   last delivered replayId after a restart. If the org does not offer streaming (`/cometd` does not
//!   answer), it says so in the log and falls back to `feed.rs` — the replication API
//!   (`/sobjects/{T}/updated`, `/deleted`) — checking every `streaming_probe` whether CDC has become
//!   available.
//!
//! A change counts as delivered once the sink answered 2xx; until then it is retried (the sink can
//! fail too), and a subscription's position only moves past delivered changes.

mod cdc;
mod feed;
mod poll;
mod sink;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::engine::Engine;

pub use sink::Sink;

/// What happened to the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Create,
    Update,
    Delete,
}

/// One change as the sink receives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub object: String,
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    pub change: ChangeKind,
    pub fields: Map<String, Value>,
    /// When Salesforce committed the change (RFC 3339, milliseconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_commit_timestamp: Option<String>,
}

impl Change {
    /// The commit time in epoch milliseconds, if known.
    pub fn commit_ms(&self) -> Option<i64> {
        self.source_commit_timestamp
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.timestamp_millis())
    }
}

/// Format epoch milliseconds as the sink's timestamp.
pub fn timestamp(ms: i64) -> Option<String> {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// Where a subscription or poller stopped, kept in `SFCHAOS_STATE_DIR/downstream.json` when the
/// profile keeps durable state (`rollback` off), so a restart resumes instead of starting from "now".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Position {
    /// Last CDC replayId delivered.
    #[serde(default)]
    pub replay_id: Option<i64>,
    /// Replication-feed / SOQL watermark per object (epoch ms).
    #[serde(default)]
    pub watermarks: std::collections::BTreeMap<String, i64>,
}

/// Loads and saves the [`Position`] (or keeps it in memory only).
#[derive(Debug)]
pub struct PositionFile {
    path: Option<PathBuf>,
}

impl PositionFile {
    pub fn new(state_dir: Option<&Path>) -> Self {
        Self {
            path: state_dir.map(|d| d.join("downstream.json")),
        }
    }

    pub fn load(&self) -> Position {
        let Some(path) = &self.path else {
            return Position::default();
        };
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!("{}: unreadable ({e}); starting from now", path.display());
                Position::default()
            }),
            Err(_) => Position::default(),
        }
    }

    pub fn save(&self, position: &Position) {
        let Some(path) = &self.path else {
            return;
        };
        let bytes = match serde_json::to_vec(position) {
            Ok(b) => b,
            Err(e) => return tracing::warn!("cannot encode the downstream position: {e}"),
        };
        if let Err(e) = crate::cli::sim::write_atomic(path, &bytes) {
            tracing::warn!("{}: {e}", path.display());
        }
    }
}

/// Deliver Salesforce changes to the sink until shutdown.
pub(crate) async fn run(engine: Arc<Engine>, sink: Sink) {
    let state_dir = (!engine.behaviour.rollback)
        .then(|| engine.config.state_dir.clone())
        .flatten();
    let positions = PositionFile::new(state_dir.as_deref());
    if !engine.wait_logged_in().await {
        return;
    }
    if engine.behaviour.polling {
        poll::run(&engine, &sink, &positions).await;
    } else {
        cdc::run(&engine, &sink, &positions).await;
    }
}
