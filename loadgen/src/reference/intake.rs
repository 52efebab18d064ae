//! Taking events and batch loads in: validate, take responsibility, answer.
//!
//! `realtime_db` is decided here. Off, an accepted event is queued (durably, unless `rollback` is
//! on) and answered `202` at once — the caller never waits for Salesforce. On, the event is written
//! inline while the caller waits, and answered `200` only after Salesforce did; if that takes longer
//! than `SFCHAOS_SYNC_TIMEOUT`, or fails in a way worth retrying, it is queued and answered `202`.
//!
//! Answers: `200` written (or a re-sent id), `202` queued, `400` malformed, `422` refused by
//! Salesforce (inline only), `503` could not be stored.

use std::sync::atomic::Ordering;

use axum::http::StatusCode;
use chrono::DateTime;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::datagen::Event;

use super::calls::CallError;
use super::engine::Engine;
use super::metrics::{add, inc};
use super::store::{Accepted, BatchLoad, Key};

/// The answer to an inbound request.
pub type Reply = (StatusCode, Value);

/// External id field assumed for `/batch` rows when the body names none.
pub const DEFAULT_EXTERNAL_ID_FIELD: &str = "External_Id__c";

impl Engine {
    /// Take responsibility for `event` (store it, durably when the profile does): `Err` is the
    /// answer when it is a re-sent id or cannot be stored.
    pub(crate) async fn take(&self, event: &Event) -> Result<(), Reply> {
        match self.store.accept(event).await {
            Ok(Accepted::Duplicate) => {
                inc(&self.metrics.events_duplicate);
                Err((
                    StatusCode::OK,
                    json!({"id": event.id, "status": "duplicate"}),
                ))
            }
            Ok(Accepted::New) => Ok(()),
            Err(e) => {
                tracing::error!("cannot store event {}: {e}", event.id);
                Err(self.reject(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("cannot store the event: {e}"),
                ))
            }
        }
    }

    /// `POST /events`.
    pub(crate) async fn intake_event(&self, body: &[u8]) -> Reply {
        let event = match parse_event(body) {
            Ok(e) => e,
            Err(message) => return self.reject(StatusCode::BAD_REQUEST, message),
        };
        if let Err(reply) = self.take(&event).await {
            return reply;
        }
        let inline = self.behaviour.realtime_db
            && *self.logged_in.borrow()
            && !self.store.is_busy(&Key::of(&event));
        if !inline {
            return self.queue(&event);
        }
        let written =
            tokio::time::timeout(self.config.sync_timeout, self.write_inline(&event)).await;
        match written {
            Ok(Ok(())) => {
                self.store.mark_done(vec![event.id.clone()]);
                inc(&self.metrics.events_accepted);
                inc(&self.metrics.events_written);
                (StatusCode::OK, json!({"id": event.id, "status": "written"}))
            }
            Ok(Err(CallError::Rejected(e))) => {
                self.store.mark_done(vec![event.id.clone()]);
                self.store.forget(&event.id);
                self.reject(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!("Salesforce refused it: {e}"),
                )
            }
            Ok(Err(CallError::Unavailable(reason))) if self.behaviour.availability => {
                // The event was "received"; the code never planned for Salesforce being away.
                tracing::error!(
                    "event {}: Salesforce unavailable ({reason}); dropping it",
                    event.id
                );
                self.store.mark_done(vec![event.id.clone()]);
                inc(&self.metrics.events_accepted);
                inc(&self.metrics.events_dropped);
                (
                    StatusCode::OK,
                    json!({"id": event.id, "status": "accepted"}),
                )
            }
            Ok(Err(_)) | Err(_) => self.queue(&event),
        }
    }

    fn queue(&self, event: &Event) -> Reply {
        self.store.enqueue(event);
        inc(&self.metrics.events_accepted);
        (
            StatusCode::ACCEPTED,
            json!({"id": event.id, "status": "queued"}),
        )
    }

    fn reject(&self, status: StatusCode, message: String) -> Reply {
        inc(&self.metrics.events_rejected);
        (status, json!({"error": message}))
    }

    /// `POST /batch`.
    pub(crate) async fn intake_batch(&self, body: &[u8]) -> Reply {
        let load = match parse_batch(body) {
            Ok(l) => l,
            Err(message) => return (StatusCode::BAD_REQUEST, json!({"error": message})),
        };
        let (id, rows) = (load.id.clone(), load.records.len() as u64);
        if let Err(e) = self.store.accept_batch(load).await {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": format!("cannot store the batch: {e}")}),
            );
        }
        add(&self.metrics.batch_accepted, rows);
        (
            StatusCode::ACCEPTED,
            json!({"batch_id": id, "records": rows, "status": "queued"}),
        )
    }

    /// Whether `GET /healthz` should say ready.
    pub(crate) fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }
}

/// Parse and check a design.md §4 event.
pub fn parse_event(body: &[u8]) -> Result<Event, String> {
    let event: Event = serde_json::from_slice(body).map_err(|e| format!("not an event: {e}"))?;
    if event.id.trim().is_empty() {
        return Err("id must not be empty".into());
    }
    api_name("object", &event.object)?;
    api_name("external_id_field", &event.external_id_field)?;
    if event.external_id.is_empty() {
        return Err("external_id must not be empty".into());
    }
    DateTime::parse_from_rfc3339(&event.occurred_at)
        .map_err(|e| format!("occurred_at \"{}\" is not RFC 3339: {e}", event.occurred_at))?;
    Ok(event)
}

/// Unknown keys are ignored (the harness may send more than this reference uses, as it may to any
/// integration).
#[derive(Deserialize)]
struct RawBatch {
    /// The sender's id for the load (the harness sends one); a fresh one when absent.
    #[serde(default)]
    id: Option<String>,
    object: String,
    #[serde(default)]
    external_id_field: Option<String>,
    records: Vec<Map<String, Value>>,
}

/// Parse and check a `/batch` body: `{"object", "external_id_field"?, "records": [{…}, …]}`; every
/// row carries the external id field (default `External_Id__c`).
pub fn parse_batch(body: &[u8]) -> Result<BatchLoad, String> {
    let raw: RawBatch = serde_json::from_slice(body).map_err(|e| format!("not a batch: {e}"))?;
    api_name("object", &raw.object)?;
    let ext = raw
        .external_id_field
        .unwrap_or_else(|| DEFAULT_EXTERNAL_ID_FIELD.to_string());
    api_name("external_id_field", &ext)?;
    if raw.records.is_empty() {
        return Err("records must not be empty".into());
    }
    if let Some(i) = raw
        .records
        .iter()
        .position(|r| r.get(&ext).is_none_or(|v| v.is_null() || v == ""))
    {
        return Err(format!("records[{i}] has no {ext}"));
    }
    Ok(BatchLoad {
        id: raw
            .id
            .filter(|id| !id.trim().is_empty())
            .unwrap_or_else(|| format!("batch-{}", uuid::Uuid::new_v4())),
        object: raw.object,
        external_id_field: ext,
        records: raw.records,
    })
}

/// Salesforce API names: letters, digits and underscores (they end up in URL paths).
fn api_name(what: &str, name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 80
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!("{what} \"{name}\" is not a Salesforce API name"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_checked() {
        let good = br#"{"id":"evt-1","type":"upsert","object":"Account","external_id_field":"External_Id__c",
            "external_id":"A-1","fields":{"Name":"Acme"},"occurred_at":"2024-05-01T10:00:00.000Z"}"#;
        assert!(parse_event(good).is_ok());
        let bad_object = String::from_utf8_lossy(good).replace("\"Account\"", "\"Account/../x\"");
        assert!(parse_event(bad_object.as_bytes())
            .unwrap_err()
            .contains("API name"));
        let bad_time =
            String::from_utf8_lossy(good).replace("2024-05-01T10:00:00.000Z", "yesterday");
        assert!(parse_event(bad_time.as_bytes())
            .unwrap_err()
            .contains("RFC 3339"));
        assert!(parse_event(b"{}").is_err());
    }

    #[test]
    fn batches_need_their_external_ids() {
        let ok = br#"{"object":"Account","records":[{"External_Id__c":"A-1","Name":"x"}]}"#;
        assert_eq!(parse_batch(ok).unwrap().records.len(), 1);
        let missing = br#"{"object":"Account","records":[{"Name":"x"}]}"#;
        assert_eq!(
            parse_batch(missing).unwrap_err(),
            "records[0] has no External_Id__c"
        );
        assert!(parse_batch(br#"{"object":"Account","records":[]}"#).is_err());
    }

    #[test]
    fn batches_as_the_harness_sends_them() {
        let body = br#"{"id":"batch-nightly-0","object":"Account","external_id_field":"External_Id__c","records":[{"External_Id__c":"A-1"}],"extra":1}"#;
        let load = parse_batch(body).expect("the harness's /batch body");
        assert_eq!(load.id, "batch-nightly-0");
        assert_eq!(load.external_id_field, "External_Id__c");
    }
}
