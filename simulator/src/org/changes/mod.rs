//! Record changes: the source of Change Data Capture events, platform events and per-record history.
//!
//! Every committed write produces a [`Change`] carrying what CDC needs (the `ChangeEventHeader` fields
//! and the payload rules of salesforce-api.md §7: CREATE has all non-empty fields, UPDATE only the
//! changed ones, DELETE none) plus the writer's identity for the scorer's ownership analysis. Published
//! platform events are changes too (of a platform-event object, without a record). The org's
//! [`ChangeLog`] keeps them in a bounded ring, assigns replay ids and wakes waiting subscribers.
//!
//! # Layout
//!
//! | file | what lives there |
//! |---|---|
//! | `mod.rs` | [`Change`], [`ChangeType`], the scorer's view (`Serialize`) |
//! | `meta.rs` | [`ObjMeta`] (the object snapshot changes render from), [`ChangeCache`], [`WriterInfo`] |
//! | `body.rs` | the compact byte encoding of field values |
//! | `log.rs` | [`ChangeLog`]: sequence numbers, retention, overflow marking, fault fates |
//!
//! # Memory
//!
//! A change is ~90 bytes of header plus its values in the compact byte form of `body.rs`; object
//! names, field names and writer identities are shared `Arc`s. Measured by `benches/streaming.rs
//! memory` on a 1,000,000-row Account insert with five fields: 224 bytes per retained change (RSS;
//! the rows themselves take ~700 bytes each), where a `serde_json::Map` payload per change took
//! ~2,300 bytes. So the default million retained changes cost ~215 MB at most, and the default
//! `change_log_capacity` stays at 1,000,000.

mod body;
mod log;
mod meta;

pub use log::{ChangeLog, Scan, OVERFLOW_LIMIT, RETENTION};
pub use meta::{change_event_name, ChangeCache, FieldMeta, ObjMeta, Role, WriterInfo};

use super::ids::RecordId;
use super::schema::ObjectKind;
use super::store::{OrgData, Row, Writer};
use super::value::Value;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
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

impl ChangeType {
    /// The `changeType` of the header.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeType::Create => "CREATE",
            ChangeType::Update => "UPDATE",
            ChangeType::Delete => "DELETE",
            ChangeType::Undelete => "UNDELETE",
            ChangeType::GapCreate => "GAP_CREATE",
            ChangeType::GapUpdate => "GAP_UPDATE",
            ChangeType::GapDelete => "GAP_DELETE",
            ChangeType::GapUndelete => "GAP_UNDELETE",
            ChangeType::GapOverflow => "GAP_OVERFLOW",
        }
    }

    /// The gap event sent in place of a change that could not be delivered.
    pub fn gap(self) -> ChangeType {
        match self {
            ChangeType::Create => ChangeType::GapCreate,
            ChangeType::Update => ChangeType::GapUpdate,
            ChangeType::Delete => ChangeType::GapDelete,
            ChangeType::Undelete => ChangeType::GapUndelete,
            other => other,
        }
    }
}

/// Flags of a published change.
pub(crate) mod flag {
    /// The last change of its transaction (`isTransactionEnd`).
    pub const TXN_END: u8 = 1;
    /// `LastModifiedById` changed in this update.
    pub const BY_CHANGED: u8 = 2;
    /// The first change of its object past [`super::OVERFLOW_LIMIT`] in a transaction: delivered as
    /// `GAP_OVERFLOW`.
    pub const OVERFLOW: u8 = 4;
    /// Past the overflow limit and not the first: not delivered at all.
    pub const SUPPRESSED: u8 = 8;
}

/// Whether delivery faults dropped a change (decided once, at its first delivery).
const FATE_OPEN: u8 = 0;
const FATE_DELIVER: u8 = 1;
const FATE_DROPPED: u8 = 2;

/// One committed record change, or one published platform event.
#[derive(Debug)]
pub struct Change {
    /// Assigned when published: increasing, the event's `replayId`.
    pub seq: u64,
    /// The transaction number (CDC `commitNumber`; `transactionKey` derives from it).
    pub txn: u64,
    /// Row number of the record (0 for platform events).
    pub record: u64,
    pub change_type: ChangeType,
    /// Position within the transaction, from 1.
    pub sequence_number: u32,
    /// Epoch milliseconds (scenario clock).
    pub commit_ms: i64,
    /// Row number of the committing user.
    pub commit_user: u64,
    pub meta: Arc<ObjMeta>,
    pub writer: Arc<WriterInfo>,
    body: Box<[u8]>,
    pub(crate) flags: u8,
    fate: AtomicU8,
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
        let meta = data.change_cache.meta(&data.schema, data.org_num, obj);
        let owner = Value::Int(row.owner as i64);
        let mut flags = 0;
        let body = match (change_type, update) {
            (ChangeType::Update, Some((old, changed))) => {
                if old.modified_by != row.modified_by {
                    flags |= flag::BY_CHANGED;
                }
                let mut entries: Vec<(u16, &Value)> = Vec::with_capacity(changed.len());
                for &fi in changed {
                    let Ok(f) = u16::try_from(fi) else { continue };
                    if Some(f) == meta.owner_field {
                        entries.push((f, &owner));
                    } else {
                        entries.push((f, row.get_raw(fi).unwrap_or(&Value::Null)));
                    }
                }
                entries.sort_by_key(|(f, _)| *f);
                body::encode(entries)
            }
            (ChangeType::Delete, _) => Box::default(),
            _ => {
                let mut entries: Vec<(u16, &Value)> = row
                    .fields
                    .iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(f, v)| (*f, v))
                    .collect();
                if let Some(f) = meta.owner_field {
                    let at = entries.partition_point(|(i, _)| *i < f);
                    entries.insert(at, (f, &owner));
                }
                body::encode(entries)
            }
        };
        Change {
            seq: 0,
            txn: 0,
            record: row.num,
            change_type,
            sequence_number: 1,
            commit_ms: row.modified_ms,
            commit_user: row.modified_by,
            writer: data.change_cache.writer(writer),
            meta,
            body,
            flags,
            fate: AtomicU8::new(FATE_OPEN),
        }
    }

    /// A platform event with validated field values, published by `writer` at `commit_ms`.
    pub fn event(
        data: &OrgData,
        obj: usize,
        values: &[(usize, Value)],
        commit_ms: i64,
        writer: &Writer,
    ) -> Change {
        let mut entries: Vec<(u16, &Value)> = values
            .iter()
            .filter_map(|(fi, v)| Some((u16::try_from(*fi).ok()?, v)))
            .collect();
        entries.sort_by_key(|(f, _)| *f);
        Change {
            seq: 0,
            txn: 0,
            record: 0,
            change_type: ChangeType::Create,
            sequence_number: 1,
            commit_ms,
            commit_user: writer.user,
            meta: data.change_cache.meta(&data.schema, data.org_num, obj),
            writer: data.change_cache.writer(writer),
            body: body::encode(entries),
            flags: 0,
            fate: AtomicU8::new(FATE_OPEN),
        }
    }

    pub fn object(&self) -> &str {
        &self.meta.name
    }

    pub fn is_platform_event(&self) -> bool {
        self.meta.kind == ObjectKind::PlatformEvent
    }

    /// The record's 18-character id (`None` for platform events).
    pub fn record_id(&self) -> Option<String> {
        (!self.is_platform_event())
            .then(|| RecordId::new(&self.meta.key_prefix, self.meta.org_num, self.record).to18())
    }

    /// The committing user's id (`005…`).
    pub fn commit_user_id(&self) -> String {
        user_id(self.meta.org_num, self.commit_user)
    }

    /// CDC `changeOrigin`.
    pub fn origin(&self) -> &str {
        &self.writer.origin
    }

    /// The writer's journal identity (username|app|client).
    pub fn client(&self) -> &str {
        &self.writer.client
    }

    /// CDC `transactionKey`: a UUID-shaped key, the same for every change of one transaction.
    pub fn transaction_key(&self) -> String {
        uuid_of(&format!("txn:{}:{}", self.meta.org_num, self.txn), '4', 'a')
    }

    /// The platform event's `EventUuid` (also the message of its OPERATION_ENQUEUED publish result).
    pub fn event_uuid(&self) -> String {
        event_uuid(self.meta.org_num, self.seq)
    }

    pub fn is_transaction_end(&self) -> bool {
        self.flags & flag::TXN_END != 0
    }

    /// `LastModifiedById` changed (UPDATE payloads then carry it).
    pub fn modified_by_changed(&self) -> bool {
        self.flags & flag::BY_CHANGED != 0
    }

    /// Delivered as `GAP_OVERFLOW` (first change of its object past the per-transaction limit).
    pub fn is_overflow(&self) -> bool {
        self.flags & flag::OVERFLOW != 0
    }

    /// Past the per-transaction limit: never delivered.
    pub fn is_suppressed(&self) -> bool {
        self.flags & flag::SUPPRESSED != 0
    }

    /// `Some(true)` once a delivery fault dropped this change, `Some(false)` once it was cleared for
    /// delivery, `None` before its first delivery.
    pub fn dropped(&self) -> Option<bool> {
        match self.fate.load(Ordering::Acquire) {
            FATE_DELIVER => Some(false),
            FATE_DROPPED => Some(true),
            _ => None,
        }
    }

    pub(crate) fn set_fate(&self, dropped: bool) {
        let v = if dropped { FATE_DROPPED } else { FATE_DELIVER };
        self.fate.store(v, Ordering::Release);
    }

    /// The stored `(field index, value)` entries: every non-empty field for CREATE (`OwnerId` as the
    /// owner's row number), the changed ones for UPDATE, the event's fields for platform events.
    pub fn values(&self) -> impl Iterator<Item = (u16, Value)> + '_ {
        body::entries(&self.body)
    }

    /// Bytes retained by this change beyond the shared snapshots (for memory accounting).
    pub fn retained_bytes(&self) -> usize {
        std::mem::size_of::<Change>() + self.body.len()
    }

    /// Names of the changed fields (UPDATE; empty otherwise), as the REST API names them, plus the
    /// audit fields that changed with them.
    pub fn changed_fields(&self) -> Vec<String> {
        if self.change_type != ChangeType::Update {
            return vec![];
        }
        let mut out: Vec<String> = self
            .values()
            .filter_map(|(f, _)| self.meta.field(f).map(|m| m.name.to_string()))
            .collect();
        out.push("LastModifiedDate".into());
        if self.modified_by_changed() {
            out.push("LastModifiedById".into());
        }
        out
    }

    /// Fields an UPDATE set to null.
    pub fn nulled_fields(&self) -> Vec<String> {
        if self.change_type != ChangeType::Update {
            return vec![];
        }
        self.values()
            .filter(|(_, v)| v.is_null())
            .filter_map(|(f, _)| self.meta.field(f).map(|m| m.name.to_string()))
            .collect()
    }

    /// The change's field values by REST field name (datetimes in streaming form), with the audit
    /// fields the payload rules add. The scorer's view; CDC payloads nest compound fields instead
    /// (see `crate::streaming`).
    pub fn flat_fields(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut m = serde_json::Map::new();
        let when = || serde_json::Value::String(super::value::format_datetime_z(self.commit_ms));
        let by = || serde_json::Value::String(self.commit_user_id());
        match self.change_type {
            ChangeType::Delete => return m,
            ChangeType::Update => {}
            _ => {
                m.insert("CreatedDate".into(), when());
                m.insert("CreatedById".into(), by());
                if !self.is_platform_event() {
                    m.insert("LastModifiedDate".into(), when());
                    m.insert("LastModifiedById".into(), by());
                }
            }
        }
        for (f, v) in self.values() {
            let Some(fm) = self.meta.field(f) else {
                continue;
            };
            m.insert(fm.name.to_string(), self.payload_value(fm, &v));
        }
        if self.change_type == ChangeType::Update {
            m.insert("LastModifiedDate".into(), when());
            if self.modified_by_changed() {
                m.insert("LastModifiedById".into(), by());
            }
        }
        m
    }

    /// A stored value in payload form: owner row numbers as user ids, datetimes as `…Z`.
    pub fn payload_value(&self, field: &FieldMeta, v: &Value) -> serde_json::Value {
        match (v, &field.role) {
            (Value::Int(n), Role::Owner) => {
                serde_json::Value::String(user_id(self.meta.org_num, *n as u64))
            }
            (Value::DateTime(ms), _) => {
                serde_json::Value::String(super::value::format_datetime_z(*ms))
            }
            (other, _) => other.to_json(),
        }
    }
}

/// The scorer's view (`/__admin/changes`): identity, writer and field names, with values rendered.
impl Serialize for Change {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("seq", &self.seq)?;
        m.serialize_entry("object", self.object())?;
        m.serialize_entry("record_id", &self.record_id().unwrap_or_default())?;
        m.serialize_entry("change_type", &self.change_type)?;
        m.serialize_entry("commit_ms", &self.commit_ms)?;
        m.serialize_entry("commit_user", &self.commit_user_id())?;
        m.serialize_entry("origin", self.origin())?;
        m.serialize_entry("client", self.client())?;
        m.serialize_entry("transaction_key", &self.transaction_key())?;
        m.serialize_entry("sequence_number", &self.sequence_number)?;
        m.serialize_entry("changed_fields", &self.changed_fields())?;
        m.serialize_entry("nulled_fields", &self.nulled_fields())?;
        m.serialize_entry("fields", &self.flat_fields())?;
        if let Some(dropped) = self.dropped() {
            m.serialize_entry("dropped", &dropped)?;
        }
        m.end()
    }
}

fn user_id(org: u16, num: u64) -> String {
    RecordId::new("005", org, num).to18()
}

/// A deterministic UUID for the platform event published with replay id `seq`.
pub fn event_uuid(org: u16, seq: u64) -> String {
    uuid_of(&format!("event:{org}:{seq}"), '4', '8')
}

fn uuid_of(seed: &str, version: char, variant: char) -> String {
    use sha2::Digest;
    let h = hex::encode(&sha2::Sha256::digest(seed.as_bytes())[..16]);
    format!(
        "{}-{}-{version}{}-{variant}{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}
