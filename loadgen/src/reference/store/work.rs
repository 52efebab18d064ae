//! [`Work`]: everything still owed to Salesforce for one record, folded from the accepted events.
//!
//! The contract says later events for a key win. Folding does exactly that, field by field: each
//! field keeps the value of the latest event that set it, and the record is deleted only if a delete
//! came after the latest upsert. "Later" is the event's `occurred_at`, then arrival order, so events
//! that overtake each other on the wire still land in business order, and a coalesced write is one
//! Salesforce call for any number of events.

use std::collections::HashMap;

use chrono::DateTime;
use serde_json::{Map, Value};
use tokio::time::Instant;

use crate::datagen::{Event, EventKind};

/// A record's identity in the upstream system: object, external id field and value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub object: String,
    pub ext_field: String,
    pub ext_value: String,
}

impl Key {
    pub fn of(event: &Event) -> Self {
        Self {
            object: event.object.clone(),
            ext_field: event.external_id_field.clone(),
            ext_value: event.external_id.clone(),
        }
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}={}", self.object, self.ext_field, self.ext_value)
    }
}

/// Business order: `occurred_at` in milliseconds, then arrival.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stamp {
    pub occurred_ms: i64,
    pub arrival: u64,
}

impl Stamp {
    /// The stamp of `event`, the `arrival`-th accepted. An unparseable `occurred_at` sorts by
    /// arrival alone (it was validated on intake, so this only covers odd but valid RFC 3339).
    pub fn of(event: &Event, arrival: u64) -> Self {
        let occurred_ms = DateTime::parse_from_rfc3339(&event.occurred_at)
            .map(|d| d.timestamp_millis())
            .unwrap_or(i64::MIN);
        Self {
            occurred_ms,
            arrival,
        }
    }
}

/// What to do to the record.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Set these fields (creating the record if needed).
    Upsert(Map<String, Value>),
    /// Delete the record.
    Delete,
}

/// The fold of one key's accepted, unwritten events.
#[derive(Debug, Clone)]
pub struct Work {
    pub key: Key,
    upsert_at: Option<Stamp>,
    delete_at: Option<Stamp>,
    fields: Map<String, Value>,
    field_stamps: HashMap<String, Stamp>,
    /// Every event this covers; all are marked done together once written.
    pub event_ids: Vec<String>,
    /// When the oldest of them was accepted (queue lag).
    pub accepted_at: Instant,
    /// Failed attempts since the last success, for pacing requeues.
    pub failures: u32,
    /// Not to be taken before this instant (a per-record retry wait).
    pub not_before: Option<Instant>,
}

impl Work {
    /// The work for one event.
    pub fn new(event: &Event, arrival: u64) -> Self {
        let mut w = Self {
            key: Key::of(event),
            upsert_at: None,
            delete_at: None,
            fields: Map::new(),
            field_stamps: HashMap::new(),
            event_ids: Vec::new(),
            accepted_at: Instant::now(),
            failures: 0,
            not_before: None,
        };
        w.absorb(event, arrival);
        w
    }

    /// Fold another event for the same key in.
    pub fn absorb(&mut self, event: &Event, arrival: u64) {
        let stamp = Stamp::of(event, arrival);
        self.event_ids.push(event.id.clone());
        match event.kind {
            EventKind::Delete => self.delete_at = self.delete_at.max(Some(stamp)),
            EventKind::Upsert => {
                self.upsert_at = self.upsert_at.max(Some(stamp));
                for (name, value) in &event.fields {
                    self.set_field(name, value.clone(), stamp);
                }
            }
        }
    }

    /// Fold `other` (the same key) in, keeping the later value of everything.
    pub fn merge(&mut self, other: Work) {
        self.upsert_at = self.upsert_at.max(other.upsert_at);
        self.delete_at = self.delete_at.max(other.delete_at);
        for (name, value) in other.fields {
            let stamp = other.field_stamps.get(&name).copied().unwrap_or(Stamp {
                occurred_ms: i64::MIN,
                arrival: 0,
            });
            self.set_field(&name, value, stamp);
        }
        self.event_ids.extend(other.event_ids);
        self.accepted_at = self.accepted_at.min(other.accepted_at);
        self.failures = self.failures.max(other.failures);
    }

    fn set_field(&mut self, name: &str, value: Value, stamp: Stamp) {
        let newer = self.field_stamps.get(name).is_none_or(|s| *s <= stamp);
        if newer {
            self.field_stamps.insert(name.to_string(), stamp);
            self.fields.insert(name.to_string(), value);
        }
    }

    /// The write that brings the record up to date.
    pub fn op(&self) -> Op {
        if self.delete_at > self.upsert_at {
            Op::Delete
        } else {
            Op::Upsert(self.fields.clone())
        }
    }

    /// `occurred_at` of the latest event, in epoch milliseconds (conflict checks compare it with the
    /// record's `LastModifiedDate`).
    pub fn occurred_ms(&self) -> i64 {
        self.upsert_at
            .max(self.delete_at)
            .map_or(i64::MIN, |s| s.occurred_ms)
    }

    /// Whether this is an upsert (batchable).
    pub fn is_upsert(&self) -> bool {
        self.delete_at <= self.upsert_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(id: &str, kind: EventKind, at: &str, fields: Value) -> Event {
        Event {
            id: id.into(),
            kind,
            object: "Account".into(),
            external_id_field: "External_Id__c".into(),
            external_id: "A-1".into(),
            fields: fields.as_object().cloned().unwrap_or_default(),
            occurred_at: at.into(),
        }
    }

    #[tokio::test]
    async fn later_events_win_field_by_field() {
        let e1 = event(
            "e1",
            EventKind::Upsert,
            "2024-01-01T00:00:01Z",
            json!({"A": 1, "B": 1}),
        );
        let e2 = event(
            "e2",
            EventKind::Upsert,
            "2024-01-01T00:00:02Z",
            json!({"B": 2}),
        );
        let mut w = Work::new(&e2, 2);
        // e1 arrives after e2 but happened before it: its B must not win.
        w.absorb(&e1, 3);
        assert_eq!(
            w.op(),
            Op::Upsert(
                json!({"B": 2, "A": 1})
                    .as_object()
                    .cloned()
                    .unwrap_or_default()
            )
        );
        assert_eq!(w.event_ids, ["e2", "e1"]);
    }

    #[tokio::test]
    async fn delete_wins_only_when_latest() {
        let up = event(
            "u",
            EventKind::Upsert,
            "2024-01-01T00:00:01Z",
            json!({"A": 1}),
        );
        let del = event("d", EventKind::Delete, "2024-01-01T00:00:02Z", json!({}));
        let mut w = Work::new(&up, 1);
        w.absorb(&del, 2);
        assert_eq!(w.op(), Op::Delete);
        let again = event(
            "u2",
            EventKind::Upsert,
            "2024-01-01T00:00:03Z",
            json!({"A": 3}),
        );
        let mut later = Work::new(&again, 3);
        later.merge(w);
        assert!(matches!(later.op(), Op::Upsert(f) if f["A"] == 3));
        assert_eq!(later.event_ids.len(), 3);
    }
}
