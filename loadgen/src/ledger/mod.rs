//! The event ledger: what the harness sent, what the integration accepted, and, after the drain,
//! whether each accepted event ended up in Salesforce exactly once with the right values.
//!
//! design.md §4: a 2xx reply means the integration took responsibility for the event; later events
//! for the same key win. So the expected final state of a key is the **fold of its accepted events in
//! send order**: an upsert sets the fields it carries, a delete removes the record. The ledger keeps
//! that fold incrementally as a last-writer-wins register per field (ordered by send time, then
//! sequence number, then stream), which is order-independent: replies may be recorded in any order,
//! and shard ledgers merge by the same rule.
//!
//! # Unanswered events
//!
//! A timeout or transport error is neither accepted nor rejected: the integration may have taken the
//! event anyway. Such events never count as accepted, and a final state that one of them explains (a
//! value from, or the deletion by, an unanswered event sent after the key's last accepted one) is not
//! held against the integration. Explicit non-2xx rejections get no such benefit: the integration
//! refused responsibility, so it must not apply them.
//!
//! # Layout
//!
//! | file | what lives there |
//! |---|---|
//! | `mod.rs` | [`LedgerEntry`], [`Outcome`], [`Ledger`] (recording, merging) |
//! | `reconcile.rs` | [`OrgSnapshot`], [`Ledger::reconcile`], [`LedgerTotals`], value comparison |
//! | `persist.rs` | NDJSON [`LedgerWriter`], loading and merging shard ledgers |
//! | `sent.rs` | [`SentEvent`]: an event's line from the body that was sent |

mod persist;
mod reconcile;
mod sent;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::datagen::{Event, EventKind};

pub use persist::{load_ledgers, LedgerWriter, LoadReport};
pub use reconcile::{
    values_equal, ExpectedState, FetchPlan, FieldDiff, KeyFinding, LedgerTotals, OrgSnapshot,
    Problem, ReconcileOptions, Reconciliation,
};
pub use sent::{LedgerLine, LedgerRecord, SentEvent};

/// Errors reading and writing ledgers; each names the file (and line) involved.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("writing the ledger: {0}")]
    Write(#[from] std::io::Error),
    #[error("encoding a ledger entry: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("{path}:{line}: not a ledger entry: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

/// What became of one sent event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    /// 2xx: the integration took responsibility.
    Accepted { status: u16 },
    /// Any other status: refused; not a loss, but it counts against availability.
    Rejected { status: u16 },
    /// Connection refused, reset, malformed reply…
    TransportError { message: String },
    /// No reply within the harness's timeout.
    Timeout,
}

impl Outcome {
    /// Classifies an HTTP status per design.md §4.
    pub fn from_status(status: u16) -> Self {
        if (200..300).contains(&status) {
            Outcome::Accepted { status }
        } else {
            Outcome::Rejected { status }
        }
    }

    pub fn is_accepted(&self) -> bool {
        matches!(self, Outcome::Accepted { .. })
    }

    /// No answer either way (see the module docs).
    pub fn is_unanswered(&self) -> bool {
        matches!(self, Outcome::TransportError { .. } | Outcome::Timeout)
    }
}

/// One line of the ledger: one sent event and its outcome.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub event_id: String,
    pub stream: String,
    /// The event's sequence number in its stream's schedule.
    pub seq: u64,
    /// When the request was sent, in microseconds from the run start (tokio clock).
    pub sent_us: u64,
    pub object: String,
    pub external_id_field: String,
    pub external_id: String,
    #[serde(rename = "type")]
    pub kind: EventKind,
    #[serde(default)]
    pub fields: Map<String, Value>,
    pub outcome: Outcome,
    /// Time from sending to the reply (or to giving up).
    pub latency_us: u64,
}

impl LedgerEntry {
    /// The entry for `event` (built by [`crate::datagen::EventBuilder`]).
    pub fn from_event(
        event: &Event,
        stream: &str,
        seq: u64,
        sent_us: u64,
        outcome: Outcome,
        latency: Duration,
    ) -> Self {
        LedgerEntry {
            event_id: event.id.clone(),
            stream: stream.to_owned(),
            seq,
            sent_us,
            object: event.object.clone(),
            external_id_field: event.external_id_field.clone(),
            external_id: event.external_id.clone(),
            kind: event.kind,
            fields: event.fields.clone(),
            outcome,
            latency_us: u64::try_from(latency.as_micros()).unwrap_or(u64::MAX),
        }
    }
}

/// A record's identity: object, external-id field and value. Matched exactly (case-sensitive, as
/// the harness generates ids in one case).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId {
    pub object: Arc<str>,
    pub external_id_field: Arc<str>,
    pub external_id: String,
}

impl std::fmt::Display for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}.{}={}",
            self.object, self.external_id_field, self.external_id
        )
    }
}

/// Send order: time, then sequence number, then stream (hashed), so ties resolve the same way in
/// every process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Order {
    sent_us: u64,
    seq: u64,
    stream: u64,
}

/// An unanswered event that may still explain the final state.
#[derive(Clone, Debug)]
struct Pending {
    order: Order,
    kind: EventKind,
    fields: Map<String, Value>,
}

/// The fold of one key's events.
#[derive(Clone, Debug, Default)]
struct KeyState {
    accepted: u64,
    last_upsert: Option<Order>,
    last_delete: Option<Order>,
    /// Last accepted value of each field, with the order of the event that set it.
    fields: HashMap<Arc<str>, (Order, Value)>,
    pending: Vec<Pending>,
    /// The latest accepted event, for evidence.
    last_event: Option<(Order, String)>,
}

impl KeyState {
    fn last_accepted(&self) -> Option<Order> {
        self.last_upsert.max(self.last_delete)
    }

    fn accept(
        &mut self,
        order: Order,
        entry: &LedgerEntry,
        intern: &mut impl FnMut(&str) -> Arc<str>,
    ) {
        self.accepted += 1;
        match entry.kind {
            EventKind::Upsert => {
                self.last_upsert = self.last_upsert.max(Some(order));
                for (name, value) in &entry.fields {
                    let slot = self
                        .fields
                        .entry(intern(name))
                        .or_insert_with(|| (order, value.clone()));
                    if slot.0 < order {
                        *slot = (order, value.clone());
                    }
                }
            }
            EventKind::Delete => self.last_delete = self.last_delete.max(Some(order)),
        }
        if self.last_event.as_ref().is_none_or(|(o, _)| *o < order) {
            self.last_event = Some((order, entry.event_id.clone()));
        }
        self.prune();
    }

    fn add_pending(&mut self, order: Order, entry: &LedgerEntry) {
        if self.last_accepted().is_none_or(|last| order > last) {
            self.pending.push(Pending {
                order,
                kind: entry.kind,
                fields: entry.fields.clone(),
            });
        }
    }

    /// Unanswered events sent before the last accepted one cannot explain the final state.
    fn prune(&mut self) {
        if let Some(last) = self.last_accepted() {
            self.pending.retain(|p| p.order > last);
        }
    }

    fn merge(&mut self, other: KeyState) {
        self.accepted += other.accepted;
        self.last_upsert = self.last_upsert.max(other.last_upsert);
        self.last_delete = self.last_delete.max(other.last_delete);
        for (name, (order, value)) in other.fields {
            match self.fields.get_mut(&name) {
                Some(slot) if slot.0 >= order => {}
                Some(slot) => *slot = (order, value),
                None => {
                    self.fields.insert(name, (order, value));
                }
            }
        }
        self.pending.extend(other.pending);
        if let Some((order, id)) = other.last_event {
            if self.last_event.as_ref().is_none_or(|(o, _)| *o < order) {
                self.last_event = Some((order, id));
            }
        }
        self.prune();
    }
}

/// Overlapping keys found while merging ledgers that should have had disjoint key spaces.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Overlap {
    pub count: u64,
    /// Up to [`Ledger::OVERLAP_EXAMPLES`] of them, as `Object.Field=value`.
    pub examples: Vec<String>,
}

/// The in-memory ledger: event counts and each key's fold. Memory grows with distinct keys and
/// fields, not with events. It is a plain struct: own it in one task, or guard it with a mutex that
/// is never held across an `.await`.
#[derive(Clone, Debug, Default)]
pub struct Ledger {
    keys: HashMap<KeyId, KeyState>,
    names: HashSet<Arc<str>>,
    sent: u64,
    accepted: u64,
    rejected: u64,
    unanswered: u64,
}

impl Ledger {
    /// Cap on overlap examples kept by [`Ledger::merge`].
    pub const OVERLAP_EXAMPLES: usize = 20;

    pub fn new() -> Self {
        Ledger::default()
    }

    /// Records one sent event and its outcome (in any order relative to other entries).
    pub fn record(&mut self, entry: &LedgerEntry) {
        self.sent += 1;
        if entry.outcome.is_accepted() {
            self.accepted += 1;
        } else {
            // `rejected` = sent − accepted, as in report.json; `unanswered` is the subset with no
            // reply at all.
            self.rejected += 1;
            if entry.outcome.is_unanswered() {
                self.unanswered += 1;
            }
        }
        // Rejected events leave no trace per key: the integration owes nothing for them.
        let accepted = entry.outcome.is_accepted();
        if !accepted && !entry.outcome.is_unanswered() {
            return;
        }
        let order = Order {
            sent_us: entry.sent_us,
            seq: entry.seq,
            stream: crate::datagen::hash_str(&entry.stream),
        };
        let names = &mut self.names;
        let mut intern = |s: &str| -> Arc<str> {
            if let Some(a) = names.get(s) {
                return Arc::clone(a);
            }
            let a: Arc<str> = Arc::from(s);
            names.insert(Arc::clone(&a));
            a
        };
        let key = KeyId {
            object: intern(&entry.object),
            external_id_field: intern(&entry.external_id_field),
            external_id: entry.external_id.clone(),
        };
        let state = self.keys.entry(key).or_default();
        if accepted {
            state.accept(order, entry, &mut intern);
        } else {
            state.add_pending(order, entry);
        }
    }

    pub fn sent(&self) -> u64 {
        self.sent
    }

    pub fn accepted(&self) -> u64 {
        self.accepted
    }

    /// Sent but not accepted (non-2xx, transport errors and timeouts).
    pub fn rejected(&self) -> u64 {
        self.rejected
    }

    /// Every key the ledger holds a fold for (accepted or unanswered events), so a caller can
    /// fetch exactly those records for [`Ledger::reconcile`].
    pub fn key_ids(&self) -> impl Iterator<Item = &KeyId> {
        self.keys.keys()
    }

    /// Keys with at least one accepted event.
    pub fn expected_keys(&self) -> u64 {
        self.keys.values().filter(|k| k.accepted > 0).count() as u64
    }

    /// Adds `other` (another shard's ledger). Keys should be disjoint by construction; any key
    /// present in both is merged by the same send-order rule and reported.
    pub fn merge(&mut self, other: Ledger) -> Overlap {
        self.sent += other.sent;
        self.accepted += other.accepted;
        self.rejected += other.rejected;
        self.unanswered += other.unanswered;
        let mut overlap = Overlap::default();
        let mut overlapping = Vec::new();
        for (key, state) in other.keys {
            match self.keys.get_mut(&key) {
                Some(mine) => {
                    overlap.count += 1;
                    overlapping.push(key.to_string());
                    mine.merge(state);
                }
                None => {
                    self.keys.insert(key, state);
                }
            }
        }
        overlapping.sort();
        overlapping.truncate(Self::OVERLAP_EXAMPLES);
        overlap.examples = overlapping;
        overlap
    }
}
