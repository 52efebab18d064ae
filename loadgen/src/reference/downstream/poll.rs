//! The `polling` anti-pattern: every `SFCHAOS_POLL_INTERVAL`, for each synced object,
//! `SELECT … FROM {T} WHERE SystemModstamp > {t} ORDER BY SystemModstamp` — the same query again
//! and again, mostly returning nothing, each costing an API call. Deletes never show up.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::sf::parse_sf_datetime;

use super::super::engine::Engine;
use super::super::schema::{known_fields, Schema, KNOWN_EXTERNAL_ID};
use super::{timestamp, Change, ChangeKind, PositionFile, Sink};

pub(super) async fn run(engine: &Engine, sink: &Sink, positions: &PositionFile) {
    let mut position = positions.load();
    let start =
        chrono::Utc::now().timestamp_millis() - engine.config.poll_interval.as_millis() as i64;
    let mut tick = tokio::time::interval(engine.config.poll_interval);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = engine.shutdown.cancelled() => return,
        }
        for object in &engine.config.sync_objects {
            let since = *position.watermarks.entry(object.clone()).or_insert(start);
            match poll_once(engine, sink, object, since).await {
                Some(Some(latest)) => {
                    position.watermarks.insert(object.clone(), latest);
                    positions.save(&position);
                }
                Some(None) => {}
                None => return,
            }
        }
    }
}

/// One poll of `object`: `Some(latest SystemModstamp delivered)`, `Some(None)` when nothing changed
/// or the query failed, `None` on shutdown.
async fn poll_once(
    engine: &Engine,
    sink: &Sink,
    object: &str,
    since_ms: i64,
) -> Option<Option<i64>> {
    let fields = match select_list(engine, object).await {
        Some(f) => f,
        None => return Some(None),
    };
    let soql = format!(
        "SELECT Id, CreatedDate, SystemModstamp{} FROM {object} WHERE SystemModstamp > {} ORDER BY SystemModstamp",
        fields.iter().map(|f| format!(", {f}")).collect::<String>(),
        timestamp(since_ms).unwrap_or_default()
    );
    let rows = match engine
        .sf
        .call(|c| {
            let soql = &soql;
            async move { c.query_all(soql).await }
        })
        .await
    {
        Ok(rows) => rows,
        Err(e) => {
            tracing::warn!("poll of {object} failed: {e}");
            return Some(None);
        }
    };
    let mut latest = None;
    for row in rows {
        let Value::Object(row) = row else { continue };
        let Some(change) = row_change(object, row) else {
            continue;
        };
        let modstamp = change.commit_ms();
        if !sink.deliver(&change).await {
            return None;
        }
        latest = latest.max(modstamp);
    }
    Some(latest)
}

/// The fields the query selects: hard-coded, or everything readable the describe lists.
async fn select_list(engine: &Engine, object: &str) -> Option<Vec<String>> {
    if engine.behaviour.schema_assumptions {
        let mut fields: Vec<String> = known_fields(object).iter().map(|f| f.to_string()).collect();
        if !fields.is_empty() {
            fields.push(KNOWN_EXTERNAL_ID.to_string());
        }
        return Some(fields);
    }
    match engine.schema.describe(&engine.sf, object).await {
        Ok(d) => Some(
            Schema::writable_fields(&d)
                .into_iter()
                .filter(|f| !matches!(f.as_str(), "Id" | "CreatedDate" | "SystemModstamp"))
                .collect(),
        ),
        Err(e) => {
            tracing::warn!("cannot describe {object}: {e}");
            None
        }
    }
}

/// A query row as a change: a create when it was created at its last modification.
fn row_change(object: &str, mut row: Map<String, Value>) -> Option<Change> {
    row.remove("attributes");
    let id = row.get("Id")?.as_str()?.to_string();
    let modified = row
        .get("SystemModstamp")
        .and_then(Value::as_str)
        .and_then(parse_sf_datetime);
    let created = row
        .get("CreatedDate")
        .and_then(Value::as_str)
        .and_then(parse_sf_datetime);
    let change = if created.is_some() && created == modified {
        ChangeKind::Create
    } else {
        ChangeKind::Update
    };
    let external_id = row
        .get(KNOWN_EXTERNAL_ID)
        .and_then(Value::as_str)
        .map(str::to_string);
    let fields: Map<String, Value> = row
        .into_iter()
        .filter(|(k, _)| !matches!(k.as_str(), "Id" | "CreatedDate" | "SystemModstamp"))
        .collect::<BTreeMap<_, _>>()
        .into_iter()
        .collect();
    Some(Change {
        object: object.to_string(),
        id,
        external_id,
        change,
        fields,
        source_commit_timestamp: modified.and_then(|m| timestamp(m.timestamp_millis())),
    })
}
