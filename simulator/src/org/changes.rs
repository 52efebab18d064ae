//! Record changes: the source of Change Data Capture events and of per-record history.
//!
//! Every committed write produces a [`Change`] carrying what CDC needs (`ChangeEventHeader` fields and the
//! payload rules of salesforce-api.md §7: CREATE has all non-empty fields, UPDATE only the changed ones,
//! DELETE none) plus the writer's identity for the scorer's ownership analysis. The org's [`ChangeLog`]
//! keeps them in a bounded ring and wakes waiting subscribers.

use super::store::{OrgData, Row, Writer};
use super::value::Value;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ChangeType {
    Create,
    Update,
    Delete,
    Undelete,
    GapCreate,
    GapUpdate,
    GapDelete,
    GapUndelete,
    GapOverflow,
}

/// One committed record change.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Change {
    /// Assigned when published: increasing, used as the CDC replayId.
    pub seq: u64,
    pub object: String,
    pub record_id: String,
    pub change_type: ChangeType,
    pub commit_ms: i64,
    pub commit_user: String,
    pub origin: String,
    /// The writer's journal identity (username/app/client).
    pub client: String,
    pub transaction_key: String,
    pub sequence_number: u32,
    pub changed_fields: Vec<String>,
    pub nulled_fields: Vec<String>,
    /// Field values in CDC payload form (REST JSON values).
    pub fields: serde_json::Map<String, serde_json::Value>,
}

impl Change {
    /// Build the change for `row` after a write. `update` carries the previous row and the indexes of the
    /// fields that changed.
    pub fn from_row(
        data: &OrgData,
        obj: usize,
        row: &Row,
        change_type: ChangeType,
        update: Option<(&Row, &[usize])>,
        writer: &Writer,
    ) -> Change {
        let o = &data.schema.objects[obj];
        let mut fields = serde_json::Map::new();
        let mut changed_fields = Vec::new();
        let mut nulled_fields = Vec::new();
        match (change_type, update) {
            (ChangeType::Update, Some((_, changed))) => {
                for &fi in changed {
                    let f = &o.fields[fi];
                    let v = data.value(obj, row, fi);
                    if v.is_null() {
                        nulled_fields.push(f.name.clone());
                    }
                    changed_fields.push(f.name.clone());
                    fields.insert(f.name.clone(), v.to_json());
                }
                for name in ["LastModifiedDate", "LastModifiedById"] {
                    if let Some(fi) = o.field_index(name) {
                        let v = data.value(obj, row, fi);
                        fields.insert(name.to_string(), payload_value(&v));
                        changed_fields.push(name.to_string());
                    }
                }
            }
            (ChangeType::Delete, _) => {}
            _ => {
                for (fi, f) in o.active_fields() {
                    if f.name == "Id" || f.name == "IsDeleted" {
                        continue;
                    }
                    let v = data.value(obj, row, fi);
                    if !v.is_null() {
                        fields.insert(f.name.clone(), payload_value(&v));
                    }
                }
            }
        }
        Change {
            seq: 0,
            object: o.name.clone(),
            record_id: data.id_of(obj, row.num).to18(),
            change_type,
            commit_ms: row.modified_ms,
            commit_user: data.user_id(writer.user),
            origin: writer.origin.clone(),
            client: writer.client.clone(),
            transaction_key: String::new(),
            sequence_number: 1,
            changed_fields,
            nulled_fields,
            fields,
        }
    }
}

/// CDC payloads carry datetimes as `2017-07-25T19:16:44.000Z`.
fn payload_value(v: &Value) -> serde_json::Value {
    match v {
        Value::DateTime(ms) => serde_json::Value::String(super::value::format_datetime_z(*ms)),
        other => other.to_json(),
    }
}

/// The org's bounded log of committed changes (and platform events), with a wake-up for subscribers.
#[derive(Debug)]
pub struct ChangeLog {
    inner: parking_lot::Mutex<LogInner>,
    notify: tokio::sync::watch::Sender<u64>,
}

#[derive(Debug)]
struct LogInner {
    ring: VecDeque<Arc<Change>>,
    capacity: usize,
    next_seq: u64,
    /// Changes dropped from the ring because it was full (oldest first).
    evicted: u64,
}

impl ChangeLog {
    pub fn new(capacity: usize) -> ChangeLog {
        let (tx, _) = tokio::sync::watch::channel(0);
        ChangeLog {
            inner: parking_lot::Mutex::new(LogInner {
                ring: VecDeque::new(),
                capacity: capacity.max(1),
                next_seq: 1,
                evicted: 0,
            }),
            notify: tx,
        }
    }

    /// Publish committed changes in order, assigning sequence numbers; one transaction key per call.
    pub fn publish(&self, changes: Vec<Change>, transaction_key: &str) -> Vec<Arc<Change>> {
        if changes.is_empty() {
            return vec![];
        }
        let mut out = Vec::with_capacity(changes.len());
        let last;
        {
            let mut g = self.inner.lock();
            for (i, mut c) in changes.into_iter().enumerate() {
                c.seq = g.next_seq;
                g.next_seq += 1;
                c.transaction_key = transaction_key.to_string();
                c.sequence_number = i as u32 + 1;
                let c = Arc::new(c);
                if g.ring.len() >= g.capacity {
                    g.ring.pop_front();
                    g.evicted += 1;
                }
                g.ring.push_back(c.clone());
                out.push(c);
            }
            last = g.next_seq - 1;
        }
        self.notify.send_replace(last);
        out
    }

    /// Changes with `seq > after`, at most `limit`.
    pub fn since(&self, after: u64, limit: usize) -> Vec<Arc<Change>> {
        let g = self.inner.lock();
        let start = g.ring.partition_point(|c| c.seq <= after);
        g.ring.iter().skip(start).take(limit).cloned().collect()
    }

    /// The highest sequence number published so far.
    pub fn last_seq(&self) -> u64 {
        self.inner.lock().next_seq - 1
    }

    /// The oldest sequence number still retained.
    pub fn first_retained(&self) -> Option<u64> {
        self.inner.lock().ring.front().map(|c| c.seq)
    }

    /// Drop changes committed before `cutoff_ms` (retention on the scenario clock).
    pub fn expire_before(&self, cutoff_ms: i64) {
        let mut g = self.inner.lock();
        while g.ring.front().is_some_and(|c| c.commit_ms < cutoff_ms) {
            g.ring.pop_front();
        }
    }

    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.notify.subscribe()
    }

    pub fn len(&self) -> usize {
        self.inner.lock().ring.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn evicted(&self) -> u64 {
        self.inner.lock().evicted
    }
}
