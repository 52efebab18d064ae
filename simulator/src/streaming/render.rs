//! Change events and platform events as CometD `data` objects (salesforce-api.md §7.1).
//!
//! CDC: `{"schema","payload":{"ChangeEventHeader":{…},…fields},"event":{"replayId"}}`, where the
//! payload follows Salesforce's rules — CREATE carries every non-empty field plus the audit fields,
//! UPDATE the changed fields (nulls only when set null) plus `LastModifiedDate` (and `LastModifiedById`
//! when it changed), DELETE nothing — and compound fields nest (`"BillingAddress":{"City":…}`,
//! `"Name":{"FirstName":…}`), their components named `BillingAddress.City` in `changedFields`.
//! A gap event (a dropped change, or the overflow of a huge transaction) is the header alone.
//!
//! Platform events: `{"schema","payload":{"CreatedDate","CreatedById",…fields},
//! "event":{"EventUuid","replayId"}}`.
//!
//! The `data` of an event is the same for every subscriber, so it is rendered once into bytes and
//! cached briefly ([`RenderCache`]) while the fan-out to subscribers happens.

use crate::org::changes::{Change, ChangeType, Role};
use crate::org::value::{format_datetime_z, Value};
use parking_lot::Mutex;
use serde_json::{json, Map, Value as Json};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// How a change is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Form {
    /// The event itself.
    Full,
    /// A gap event in its place (CDC only).
    Gap,
}

/// The `data` object of `change` as JSON bytes.
pub fn data_bytes(change: &Change, form: Form) -> Vec<u8> {
    let v = if change.is_platform_event() {
        platform_event(change)
    } else {
        change_event(change, form)
    };
    serde_json::to_vec(&v).unwrap_or_default()
}

fn platform_event(c: &Change) -> Json {
    let mut payload = Map::new();
    payload.insert(
        "CreatedDate".into(),
        Json::String(format_datetime_z(c.commit_ms)),
    );
    payload.insert("CreatedById".into(), Json::String(c.commit_user_id()));
    for (f, v) in c.values() {
        if let Some(fm) = c.meta.field(f) {
            if fm.role != Role::Hidden {
                payload.insert(fm.name.to_string(), c.payload_value(fm, &v));
            }
        }
    }
    json!({
        "schema": &*c.meta.schema_id,
        "payload": payload,
        "event": {"EventUuid": c.event_uuid(), "replayId": c.seq},
    })
}

fn change_event(c: &Change, form: Form) -> Json {
    let gap = form == Form::Gap || c.is_overflow();
    let change_type = if c.is_overflow() {
        ChangeType::GapOverflow
    } else if gap {
        c.change_type.gap()
    } else {
        c.change_type
    };
    let mut changed = Vec::new();
    let mut nulled = Vec::new();
    let mut payload = Map::new();
    if !gap {
        fill_payload(c, &mut payload, &mut changed, &mut nulled);
    }
    let record_ids: Vec<String> = if change_type == ChangeType::GapOverflow {
        vec![]
    } else {
        c.record_id().into_iter().collect()
    };
    let header = json!({
        "entityName": c.object(),
        "recordIds": record_ids,
        "changeType": change_type.as_str(),
        "changeOrigin": c.origin(),
        "transactionKey": c.transaction_key(),
        "sequenceNumber": c.sequence_number,
        "isTransactionEnd": c.is_transaction_end(),
        "commitTimestamp": c.commit_ms,
        "commitNumber": c.txn,
        "commitUser": c.commit_user_id(),
        "nulledFields": nulled,
        "diffFields": [],
        "changedFields": changed,
    });
    let mut full = Map::with_capacity(payload.len() + 1);
    full.insert("ChangeEventHeader".into(), header);
    full.extend(payload);
    json!({
        "schema": &*c.meta.schema_id,
        "payload": full,
        "event": {"replayId": c.seq},
    })
}

/// The payload fields of a CREATE/UNDELETE/UPDATE, and the header's changed/nulled names.
fn fill_payload(
    c: &Change,
    payload: &mut Map<String, Json>,
    changed: &mut Vec<String>,
    nulled: &mut Vec<String>,
) {
    let when = Json::String(format_datetime_z(c.commit_ms));
    let by = Json::String(c.commit_user_id());
    let update = c.change_type == ChangeType::Update;
    match c.change_type {
        ChangeType::Delete => return,
        ChangeType::Update => {}
        _ => {
            payload.insert("CreatedDate".into(), when.clone());
            payload.insert("CreatedById".into(), by.clone());
        }
    }
    for (f, v) in c.values() {
        let Some(fm) = c.meta.field(f) else { continue };
        let value = c.payload_value(fm, &v);
        let name = match &fm.role {
            Role::Hidden => continue,
            Role::Plain | Role::Owner => {
                payload.insert(fm.name.to_string(), value);
                fm.name.to_string()
            }
            Role::Component { parent, name } => {
                let slot = payload
                    .entry(parent.to_string())
                    .or_insert_with(|| Json::Object(Map::new()));
                if let Json::Object(m) = slot {
                    m.insert(name.to_string(), value);
                }
                format!("{parent}.{name}")
            }
        };
        if update {
            if matches!(v, Value::Null) {
                nulled.push(name.clone());
            }
            changed.push(name);
        }
    }
    payload.insert("LastModifiedDate".into(), when);
    if update {
        changed.push("LastModifiedDate".into());
    }
    if !update || c.modified_by_changed() {
        payload.insert("LastModifiedById".into(), by);
        if update {
            changed.push("LastModifiedById".into());
        }
    }
}

/// Rendered `data` objects of recent events, shared by the subscribers they fan out to.
#[derive(Debug)]
pub struct RenderCache {
    inner: Mutex<CacheInner>,
    capacity: usize,
}

#[derive(Debug, Default)]
struct CacheInner {
    map: HashMap<(u64, u64, Form), Arc<[u8]>>,
    order: VecDeque<(u64, u64, Form)>,
}

impl RenderCache {
    pub fn new(capacity: usize) -> RenderCache {
        RenderCache {
            inner: Mutex::new(CacheInner::default()),
            capacity: capacity.max(1),
        }
    }

    /// The rendered `data` of `change` (sequence `seq` in log `log`), rendering it on a miss.
    pub fn get(&self, log: u64, change: &Change, form: Form) -> Arc<[u8]> {
        let key = (log, change.seq, form);
        if let Some(hit) = self.inner.lock().map.get(&key) {
            return hit.clone();
        }
        let bytes: Arc<[u8]> = data_bytes(change, form).into();
        let mut g = self.inner.lock();
        if g.map.insert(key, bytes.clone()).is_none() {
            g.order.push_back(key);
        }
        while g.order.len() > self.capacity {
            if let Some(old) = g.order.pop_front() {
                g.map.remove(&old);
            }
        }
        bytes
    }
}
