//! `write=occ`: optimistic concurrency, one client per event — the contention model of Brooker's
//! "Exponential Backoff And Jitter" (resilience-reference.md §1), rebuilt on Salesforce's REST API.
//!
//! Each accepted event is answered `202` at once and becomes its own task, so a burst of N events
//! on one record is N clients racing for it (nothing is folded, no writer pool limits them). A
//! client reads the record (`GET` by external id, which returns its `ETag`), then `PATCH`es it by
//! id with `If-Match: <etag>`. Salesforce answers 412 when another client wrote in between: the
//! client asks the retry policy for a pause (the strategy under test), sleeps, and reads again. It
//! stops after one successful write, or when the policy gives up.
//!
//! The body is the event's fields as given (no describe, no ownership split): the experiment is
//! about contention, and a describe per client would stagger the clients' first reads.
//!
//! An HTTP-date precondition (`If-Unmodified-Since`) would not do here: its one-second resolution
//! lets every write within the same second through, so there would be no contention to back off
//! from.

use std::sync::Arc;

use serde_json::Value;

use crate::datagen::{Event, EventKind};
use crate::sf::Preconditions;

use super::super::calls::CallError;
use super::super::engine::Engine;
use super::super::intake::{parse_event, Reply};
use super::super::metrics::inc;
use super::super::store::Key;
use super::single::{is_gone, record_id};

use axum::http::StatusCode;
use serde_json::json;

impl Engine {
    /// `POST /events` with `write=occ`: store the event, start its client, answer `202`. Deletes
    /// take the ordinary queued path (there is nothing to compare-and-set).
    pub(crate) async fn intake_occ(self: &Arc<Self>, body: &[u8]) -> Reply {
        let event = match parse_event(body) {
            Ok(e) if e.kind == EventKind::Delete => return self.intake_event(body).await,
            Ok(e) => e,
            Err(message) => {
                inc(&self.metrics.events_rejected);
                return (StatusCode::BAD_REQUEST, json!({"error": message}));
            }
        };
        if let Err(reply) = self.take(&event).await {
            return reply;
        }
        inc(&self.metrics.events_accepted);
        let engine = Arc::clone(self);
        let id = event.id.clone();
        tokio::spawn(async move {
            if !engine.wait_logged_in().await {
                return;
            }
            match engine.write_occ(&event).await {
                Ok(()) => {
                    engine.store.mark_done(vec![event.id.clone()]);
                    inc(&engine.metrics.events_written);
                }
                Err(CallError::Shutdown) => {}
                Err(e) => {
                    tracing::warn!("event {}: giving up: {e}", event.id);
                    inc(&engine.metrics.events_dropped);
                    engine.store.mark_done(vec![event.id.clone()]);
                }
            }
        });
        (StatusCode::ACCEPTED, json!({"id": id, "status": "queued"}))
    }

    /// Read, compare-and-set, back off on conflict, read again — until one write lands.
    async fn write_occ(&self, event: &Event) -> Result<(), CallError> {
        let key = Key::of(event);
        // The event's fields as given: no describe first, so that a burst of clients starts racing
        // at once (a describe per client would stagger their first reads and soften the storm).
        let fields: serde_json::Map<String, Value> = event
            .fields
            .iter()
            .filter(|(name, _)| !name.eq_ignore_ascii_case(&key.ext_field))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        let body = Value::Object(fields);
        let mut state = self.sf.policy().begin();
        loop {
            self.sf.admit_conflict_retry(&mut state)?;
            let read = self
                .sf
                .call(|c| {
                    let key = &key;
                    async move {
                        match c
                            .get_by_external_id(
                                &key.object,
                                &key.ext_field,
                                &key.ext_value,
                                &["Id"],
                            )
                            .await
                        {
                            Ok(r) => Ok(Some(r)),
                            Err(e) if is_gone(&e) => Ok(None),
                            Err(e) => Err(e),
                        }
                    }
                })
                .await?;
            let Some(record) = read else {
                // No record to compare against yet: create it by external id.
                self.sf
                    .call(|c| {
                        let (key, body) = (&key, &body);
                        async move {
                            c.upsert(&key.object, &key.ext_field, &key.ext_value, body)
                                .await
                        }
                    })
                    .await?;
                self.sf.policy().on_success(&state);
                return Ok(());
            };
            let id = record_id(&record)?;
            let pre = Preconditions::unchanged_since_read(&record);
            let applied = self.update_if(&key.object, &id, &body, &pre).await?;
            if applied {
                self.sf.policy().on_success(&state);
                return Ok(());
            }
            self.sf.conflict_backoff(&mut state).await?;
        }
    }
}
