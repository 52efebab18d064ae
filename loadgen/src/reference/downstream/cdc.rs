//! Listening instead of polling: a CometD subscription to `/data/ChangeEvents`.
//!
//! * The position (last replayId delivered) is saved after every delivered batch and the
//!   subscription resumes from it after a restart, so changes made while the integration was down
//!   are delivered, not lost (Salesforce keeps them 72 h).
//! * A `403::Unknown client` re-handshake is handled by [`StreamingClient`] itself; any other failure
//!   reconnects after a jittered pause, re-logging in first if the session died.
//! * Gap events (`GAP_*`: Salesforce could not say what changed) are resolved by reading the
//!   records.
//! * When the org does not offer streaming at all, the replication feed stands in (see `mod.rs`).

use serde_json::{Map, Value};

use crate::retry::Retryability;
use crate::sf::{CometdEvent, ConnectOutcome, ReplayFrom, SfError, StreamingClient};

use super::super::engine::Engine;
use super::feed::{self, Delivered};
use super::{timestamp, Change, ChangeKind, PositionFile, Sink};

/// All change events of the org's selected entities.
const CHANNEL: &str = "/data/ChangeEvents";

enum Stop {
    Shutdown,
    Error(SfError),
}

pub(super) async fn run(engine: &Engine, sink: &Sink, positions: &PositionFile) {
    let mut position = positions.load();
    let mut delivered = Delivered::default();
    let mut failures = 0u32;
    let mut replay_all = false;
    while !engine.shutdown.is_cancelled() {
        let mut streaming = StreamingClient::new(engine.sf.client().clone());
        let from = match position.replay_id {
            _ if replay_all => ReplayFrom::All,
            Some(id) => ReplayFrom::After(id),
            None => ReplayFrom::New,
        };
        let token = engine.sf.client().session().map(|s| s.access_token);
        let error = match subscribe(&mut streaming, from).await {
            Ok(()) => {
                tracing::info!("subscribed to {CHANNEL} ({from:?})");
                failures = 0;
                replay_all = false;
                match stream(engine, sink, positions, &mut position, &mut streaming).await {
                    Stop::Shutdown => {
                        let _ = streaming.disconnect().await;
                        return;
                    }
                    Stop::Error(e) => e,
                }
            }
            Err(e) => e,
        };
        if not_offered(&error) {
            let probe = engine.config.tuning.streaming_probe;
            tracing::warn!(
                "Change Data Capture is not available ({error}); polling the replication API instead, \
                 checking again for /cometd every {probe:?}"
            );
            if !feed::run_for(
                engine,
                sink,
                positions,
                &mut position,
                &mut delivered,
                probe,
            )
            .await
            {
                return;
            }
            continue;
        }
        if is_invalid_replay(&error) {
            tracing::warn!("stored replayId rejected ({error}); replaying every retained event");
            replay_all = true;
        }
        if error.retryability() == Retryability::RetryableAfterReauth {
            if let Err(e) = engine.sf.reauthenticate(token).await {
                tracing::warn!("re-login for streaming failed: {e}");
            }
        }
        failures = failures.saturating_add(1);
        let pause = engine.gate.item_delay(failures);
        tracing::info!("streaming: {error}; reconnecting in {pause:?}");
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = engine.shutdown.cancelled() => return,
        }
    }
}

async fn subscribe(streaming: &mut StreamingClient, from: ReplayFrom) -> Result<(), SfError> {
    streaming.handshake().await?;
    streaming.subscribe(CHANNEL, from).await
}

async fn stream(
    engine: &Engine,
    sink: &Sink,
    positions: &PositionFile,
    position: &mut super::Position,
    streaming: &mut StreamingClient,
) -> Stop {
    loop {
        let outcome = tokio::select! {
            r = streaming.connect() => r,
            _ = engine.shutdown.cancelled() => return Stop::Shutdown,
        };
        let (events, rehandshake) = match outcome {
            Ok(ConnectOutcome::Events(e)) => (e, false),
            Ok(ConnectOutcome::Rehandshake(e)) => (e, true),
            Err(e) => return Stop::Error(e),
        };
        let moved = !events.is_empty();
        for event in events {
            for change in changes(engine, &event).await {
                if !sink.deliver(&change).await {
                    positions.save(position);
                    return Stop::Shutdown;
                }
            }
            if let Some(id) = event.replay_id {
                position.replay_id = Some(id);
            }
        }
        if moved {
            positions.save(position);
        }
        if rehandshake {
            if let Err(e) = streaming.rehandshake().await {
                return Stop::Error(e);
            }
        }
    }
}

/// The sink changes one change event stands for (one per record id, only for synced objects).
async fn changes(engine: &Engine, event: &CometdEvent) -> Vec<Change> {
    let Value::Object(payload) = &event.payload else {
        return Vec::new();
    };
    let header = payload
        .get("ChangeEventHeader")
        .cloned()
        .unwrap_or(Value::Null);
    let Some(object) = header.get("entityName").and_then(Value::as_str) else {
        return Vec::new();
    };
    if !engine
        .config
        .sync_objects
        .iter()
        .any(|o| o.eq_ignore_ascii_case(object))
    {
        return Vec::new();
    }
    let change_type = header
        .get("changeType")
        .and_then(Value::as_str)
        .unwrap_or("");
    let commit = header
        .get("commitTimestamp")
        .and_then(Value::as_i64)
        .and_then(timestamp);
    let ids: Vec<String> = header
        .get("recordIds")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let fields: Map<String, Value> = payload
        .iter()
        .filter(|(k, _)| *k != "ChangeEventHeader")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let external_id = fields
        .get("External_Id__c")
        .and_then(Value::as_str)
        .map(str::to_string);
    let kind = match change_type {
        "CREATE" | "UNDELETE" => ChangeKind::Create,
        "UPDATE" => ChangeKind::Update,
        "DELETE" => ChangeKind::Delete,
        gap if gap.starts_with("GAP_") => {
            let mut out = Vec::new();
            for id in &ids {
                out.extend(read_gap(engine, object, id, commit.clone()).await);
            }
            return out;
        }
        other => {
            tracing::warn!("ignoring change event of type {other:?}");
            return Vec::new();
        }
    };
    ids.into_iter()
        .filter(|id| !id.ends_with('*'))
        .map(|id| Change {
            object: object.to_string(),
            id,
            external_id: external_id.clone(),
            change: kind,
            fields: fields.clone(),
            source_commit_timestamp: commit.clone(),
        })
        .collect()
}

/// A gap event says "something changed" without the fields: read the record as it is now.
async fn read_gap(
    engine: &Engine,
    object: &str,
    id: &str,
    commit: Option<String>,
) -> Option<Change> {
    let read = engine
        .sf
        .call(|c| async move {
            match c.get(object, id, &[]).await {
                Ok(r) => Ok(Some(r)),
                Err(e) if e.status() == Some(404) => Ok(None),
                Err(e) => Err(e),
            }
        })
        .await;
    let (change, mut fields) = match read {
        Ok(Some(r)) => (ChangeKind::Update, r.fields),
        Ok(None) => (ChangeKind::Delete, Map::new()),
        Err(e) => {
            tracing::warn!("cannot resolve a gap event for {object} {id}: {e}");
            return None;
        }
    };
    fields.remove("attributes");
    Some(Change {
        object: object.to_string(),
        id: id.to_string(),
        external_id: fields
            .get("External_Id__c")
            .and_then(Value::as_str)
            .map(str::to_string),
        change,
        fields,
        source_commit_timestamp: commit,
    })
}

/// The org has no streaming endpoint or no such channel.
fn not_offered(e: &SfError) -> bool {
    e.status() == Some(404)
        || e.error_code() == Some("NOT_FOUND")
        || (e.status() == Some(400) && e.message().contains("does not exist"))
}

fn is_invalid_replay(e: &SfError) -> bool {
    e.status() == Some(400) && e.message().contains("replayId")
}
