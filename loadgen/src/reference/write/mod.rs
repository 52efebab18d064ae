//! The Salesforce write path.
//!
//! | file | what lives there |
//! |---|---|
//! | `plan.rs` | which fields of an event to write and how (schema mapping, ownership) |
//! | `single.rs` | one record: queued upsert/delete, the inline read-then-write, conditional shared writes |
//! | `occ.rs` | `write=occ`: one optimistic-concurrency client per event (read the ETag, `If-Match`, back off on 412) |
//! | `batch.rs` | many records in one sObject Collections call, with per-item results |
//! | `worker.rs` | the writers draining the queue, and the outage gate that paces them |

mod batch;
mod occ;
mod plan;
mod single;
mod worker;

use std::collections::HashMap;
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::{Map, Value};

use super::calls::CallError;
use super::store::Key;

pub(crate) use worker::{run_writer, OutageGate};

/// How one write of queued work ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The values are in Salesforce.
    Written,
    /// Salesforce refused the record for good.
    Rejected(String),
    /// Try this record again after the delay (a per-item failure worth retrying).
    Retry(Duration),
    /// The call did not get through (unavailable, limit hold, shutdown).
    Failed(CallError),
}

impl From<Result<(), CallError>> for Outcome {
    fn from(result: Result<(), CallError>) -> Self {
        match result {
            Ok(()) => Outcome::Written,
            Err(CallError::Rejected(e)) => Outcome::Rejected(e.to_string()),
            Err(other) => Outcome::Failed(other),
        }
    }
}

/// Records held by a whole-record writer (`data_ownership` on, queued path): what it last read or
/// wrote per key. Bounded; when full it starts over, as a cache would.
#[derive(Debug, Default)]
pub struct RecordCache {
    /// Short lock, never across an `.await`.
    records: Mutex<HashMap<Key, Map<String, Value>>>,
    /// `(object, external id field)` pairs whose records were loaded in one query.
    loaded: Mutex<std::collections::HashSet<(String, String)>>,
}

/// Records kept before the cache starts over.
const RECORD_CACHE_CAP: usize = 100_000;

impl RecordCache {
    pub fn get(&self, key: &Key) -> Option<Map<String, Value>> {
        self.records.lock().get(key).cloned()
    }

    /// Whether the records of `key`'s object were loaded already; marks them loaded.
    pub fn first_load(&self, key: &Key) -> bool {
        self.loaded.lock().insert((
            key.object.to_ascii_lowercase(),
            key.ext_field.to_ascii_lowercase(),
        ))
    }

    pub fn put(&self, key: &Key, record: &Map<String, Value>) {
        let mut records = self.records.lock();
        if records.len() >= RECORD_CACHE_CAP {
            records.clear();
        }
        records.insert(key.clone(), record.clone());
    }
}
