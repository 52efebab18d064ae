//! The fallback when Change Data Capture is not available: the replication API. Every poll interval,
//! per synced object, ask which records changed (`/updated`) or were deleted (`/deleted`) since the
//! last window, read each changed record, and deliver it. Windows overlap by a few seconds (clocks
//! and commit times are not perfectly aligned); what was already delivered is skipped.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use tokio::time::Instant;

use crate::sf::parse_sf_datetime;

use super::super::engine::Engine;
use super::{timestamp, Change, ChangeKind, Position, PositionFile, Sink};

/// How far back each window reaches past the previous one.
const OVERLAP_MS: i64 = 2_000;

/// What the feed already delivered: record id → `SystemModstamp` (epoch ms); `-1` marks a delete.
#[derive(Debug, Default)]
pub(super) struct Delivered(HashMap<String, i64>);

impl Delivered {
    /// Forget entries far behind the watermark (they can no longer reappear in a window).
    fn prune(&mut self, watermark_ms: i64) {
        if self.0.len() > 100_000 {
            self.0.retain(|_, t| *t < 0 || *t >= watermark_ms - 60_000);
        }
    }
}

/// Poll the feed for `window`; `false` on shutdown.
pub(super) async fn run_for(
    engine: &Engine,
    sink: &Sink,
    positions: &PositionFile,
    position: &mut Position,
    delivered: &mut Delivered,
    window: Duration,
) -> bool {
    let until = Instant::now() + window;
    let mut tick = tokio::time::interval(engine.config.poll_interval);
    while Instant::now() < until {
        tokio::select! {
            _ = tick.tick() => {}
            _ = engine.shutdown.cancelled() => return false,
        }
        for object in &engine.config.sync_objects {
            let now = Utc::now().timestamp_millis();
            let default_from = now - engine.config.poll_interval.as_millis() as i64;
            let from = *position.watermarks.get(object).unwrap_or(&default_from);
            match poll_window(engine, sink, object, from - OVERLAP_MS, now, delivered).await {
                Some(true) => {
                    position.watermarks.insert(object.clone(), now);
                    positions.save(position);
                    delivered.prune(now);
                }
                Some(false) => {}
                None => return false,
            }
        }
    }
    true
}

/// `Some(true)` when the window was fully delivered, `Some(false)` when a call failed (the window
/// is asked again next time), `None` on shutdown.
async fn poll_window(
    engine: &Engine,
    sink: &Sink,
    object: &str,
    from_ms: i64,
    to_ms: i64,
    delivered: &mut Delivered,
) -> Option<bool> {
    let (Some(from), Some(to)) = (
        DateTime::<Utc>::from_timestamp_millis(from_ms),
        DateTime::<Utc>::from_timestamp_millis(to_ms),
    ) else {
        return Some(false);
    };
    let updated = engine
        .sf
        .call(|c| async move { c.updated(object, from, to).await })
        .await;
    let deleted = engine
        .sf
        .call(|c| async move { c.deleted(object, from, to).await })
        .await;
    let (updated, deleted) = match (updated, deleted) {
        (Ok(u), Ok(d)) => (u, d),
        (Err(e), _) | (_, Err(e)) => {
            tracing::warn!("replication feed of {object} failed: {e}");
            return Some(false);
        }
    };
    for id in updated.ids {
        let record = engine
            .sf
            .call(|c| {
                let id = &id;
                async move { c.get(object, id, &[]).await }
            })
            .await;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!("cannot read {object} {id}: {e}");
                return Some(false);
            }
        };
        let Some(change) = record_change(object, &id, record.fields) else {
            continue;
        };
        let stamp = change.commit_ms().unwrap_or(0);
        if delivered.0.get(&id).is_some_and(|t| *t >= stamp) {
            continue;
        }
        if !sink.deliver(&change).await {
            return None;
        }
        delivered.0.insert(id, stamp);
    }
    for gone in deleted.deleted_records {
        if delivered.0.get(&gone.id) == Some(&-1) {
            continue;
        }
        let change = Change {
            object: object.to_string(),
            id: gone.id.clone(),
            external_id: None,
            change: ChangeKind::Delete,
            fields: Map::new(),
            source_commit_timestamp: gone
                .deleted_date
                .as_deref()
                .and_then(parse_sf_datetime)
                .and_then(|t| timestamp(t.timestamp_millis())),
        };
        if !sink.deliver(&change).await {
            return None;
        }
        delivered.0.insert(gone.id, -1);
    }
    Some(true)
}

fn record_change(object: &str, id: &str, mut fields: Map<String, Value>) -> Option<Change> {
    fields.remove("attributes");
    let modified = fields
        .get("SystemModstamp")
        .and_then(Value::as_str)
        .and_then(parse_sf_datetime)?;
    let created = fields
        .get("CreatedDate")
        .and_then(Value::as_str)
        .and_then(parse_sf_datetime);
    let external_id = fields
        .get("External_Id__c")
        .and_then(Value::as_str)
        .map(str::to_string);
    Some(Change {
        object: object.to_string(),
        id: id.to_string(),
        external_id,
        change: if created == Some(modified) {
            ChangeKind::Create
        } else {
            ChangeKind::Update
        },
        fields,
        source_commit_timestamp: timestamp(modified.timestamp_millis()),
    })
}
