//! The queue between "accepted" and "written": per-key [`Work`] folded from events, handed to writers
//! one key at a time, plus the `/batch` loads waiting for the bulk worker.
//!
//! The `rollback` switch decides where it lives:
//!
//! * **on** — only in memory. A crash loses every accepted event not yet written.
//! * **off** — also in the append-only log of [`wal`]: an event is on disk before it is
//!   acknowledged, replayed on start, and its id remembered so a re-sent event is a no-op.
//!
//! A key is never written by two writers at once: taking it marks it in flight, and events arriving
//! meanwhile wait in a fresh [`Work`] that becomes takeable when the first write finishes — so writes
//! for one record happen in order.
//!
//! Locking: one `parking_lot` mutex over the maps, held for bookkeeping only, never across an
//! `.await`.

mod wal;
mod work;

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::Path;
use std::time::Duration;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::datagen::Event;

pub use wal::Record;
pub use work::{Key, Op, Work};

use wal::Wal;

/// A `POST /batch` load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchLoad {
    /// Assigned on intake.
    pub id: String,
    pub object: String,
    /// The external id field the rows carry (upserts and de-duplication key on it).
    pub external_id_field: String,
    pub records: Vec<Map<String, Value>>,
}

/// The outcome of [`Store::accept`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// New: the integration now owes this event.
    New,
    /// This id was accepted before; nothing more to do.
    Duplicate,
}

/// The queue. Shared behind an `Arc`.
#[derive(Debug)]
pub struct Store {
    inner: Mutex<Inner>,
    wal: Option<Wal>,
    /// Wakes writers when work arrives.
    work_ready: Notify,
    /// Wakes the bulk worker when a load arrives.
    batch_ready: Notify,
}

#[derive(Debug, Default)]
struct Inner {
    pending: HashMap<Key, Work>,
    /// Keys in the order they became takeable; may hold keys already taken (skipped lazily).
    order: VecDeque<Key>,
    in_flight: HashMap<Key, Instant>,
    seen: HashSet<String>,
    arrivals: u64,
    batches: VecDeque<BatchLoad>,
}

impl Store {
    /// A queue that lives only in memory (`rollback` on).
    pub fn in_memory() -> Self {
        Self::with(None, Inner::default())
    }

    /// A durable queue in `dir`, replaying what a previous run left. Returns how many events it
    /// recovered.
    pub fn durable(dir: &Path) -> std::io::Result<(Self, usize)> {
        let (wal, recovered) = Wal::open(dir)?;
        let mut inner = Inner {
            seen: recovered.seen,
            batches: recovered.batches.into(),
            ..Inner::default()
        };
        let count = recovered.pending.len();
        for event in &recovered.pending {
            inner.enqueue(event);
        }
        Ok((Self::with(Some(wal), inner), count))
    }

    fn with(wal: Option<Wal>, inner: Inner) -> Self {
        Self {
            inner: Mutex::new(inner),
            wal,
            work_ready: Notify::new(),
            batch_ready: Notify::new(),
        }
    }

    /// Take responsibility for `event`: remember its id and, when durable, get it on disk. The
    /// caller then writes it inline or [`Store::enqueue`]s it.
    pub async fn accept(&self, event: &Event) -> Result<Accepted, String> {
        if !self.inner.lock().seen.insert(event.id.clone()) {
            return Ok(Accepted::Duplicate);
        }
        if let Some(wal) = &self.wal {
            if let Err(e) = wal.append(&Record::Accept(event.clone())).await {
                self.inner.lock().seen.remove(&event.id);
                return Err(e);
            }
        }
        Ok(Accepted::New)
    }

    /// Forget an accepted id: the event was refused after all, so a re-send is judged afresh.
    pub fn forget(&self, id: &str) {
        self.inner.lock().seen.remove(id);
    }

    /// Queue an accepted event for the writers.
    pub fn enqueue(&self, event: &Event) {
        self.inner.lock().enqueue(event);
        self.work_ready.notify_one();
    }

    /// Whether `key` has queued or in-flight work (an inline write must not overtake it).
    pub fn is_busy(&self, key: &Key) -> bool {
        let inner = self.inner.lock();
        inner.pending.contains_key(key) || inner.in_flight.contains_key(key)
    }

    /// Take up to `max` takeable keys: the first in line and, when `max > 1` and it is an upsert,
    /// further upserts of the same object and external id field (one collections call).
    pub fn take(&self, max: usize) -> Vec<Work> {
        self.inner.lock().take(max.max(1))
    }

    /// Wait until work may be available.
    pub async fn work_ready(&self) {
        self.work_ready.notified().await
    }

    /// The work is written (or given up for good): forget it and mark its events done.
    pub fn complete(&self, work: &Work) {
        self.inner.lock().release(&work.key);
        self.mark_done(work.event_ids.clone());
        self.work_ready.notify_one();
    }

    /// Mark events done that never entered the queue (written inline).
    pub fn mark_done(&self, ids: Vec<String>) {
        if let Some(wal) = &self.wal {
            wal.append_later(&Record::Done(ids));
        }
    }

    /// The write failed but the work is still owed: back in line, merged with anything that
    /// arrived meanwhile, not before `delay` has passed.
    pub fn requeue(&self, mut work: Work, delay: Duration) {
        work.not_before = (!delay.is_zero()).then(|| Instant::now() + delay);
        let mut inner = self.inner.lock();
        inner.in_flight.remove(&work.key);
        let key = work.key.clone();
        if let Some(newer) = inner.pending.remove(&key) {
            work.merge(newer);
        }
        inner.pending.insert(key.clone(), work);
        inner.order.push_back(key);
        drop(inner);
        self.work_ready.notify_one();
    }

    /// The earliest instant a deferred key becomes takeable (writers wait at most until then).
    pub fn next_due(&self) -> Option<Instant> {
        let inner = self.inner.lock();
        inner.pending.values().filter_map(|w| w.not_before).min()
    }

    /// Keys queued or in flight.
    pub fn depth(&self) -> usize {
        let inner = self.inner.lock();
        inner.pending.len() + inner.in_flight.len()
    }

    /// Age of the oldest unwritten event.
    pub fn lag(&self) -> Duration {
        let inner = self.inner.lock();
        let oldest = inner
            .pending
            .values()
            .map(|w| w.accepted_at)
            .chain(inner.in_flight.values().copied())
            .min();
        oldest.map_or(Duration::ZERO, |t| t.elapsed())
    }

    /// Accept a batch load (durably when the queue is durable).
    pub async fn accept_batch(&self, load: BatchLoad) -> Result<(), String> {
        if let Some(wal) = &self.wal {
            wal.append(&Record::Batch(load.clone())).await?;
        }
        self.inner.lock().batches.push_back(load);
        self.batch_ready.notify_one();
        Ok(())
    }

    /// The next batch load, waiting for one.
    pub async fn next_batch(&self) -> BatchLoad {
        loop {
            let notified = self.batch_ready.notified();
            if let Some(b) = self.inner.lock().batches.pop_front() {
                return b;
            }
            notified.await;
        }
    }

    /// Put a load back at the front (it was not started: shutdown, or waiting for off-peak).
    pub fn return_batch(&self, load: BatchLoad) {
        self.inner.lock().batches.push_front(load);
    }

    /// A batch load is finished.
    pub fn complete_batch(&self, id: &str) {
        if let Some(wal) = &self.wal {
            wal.append_later(&Record::BatchDone(id.to_string()));
        }
    }

    /// Flush the log (graceful shutdown).
    pub async fn flush(&self) -> Result<(), String> {
        match &self.wal {
            Some(wal) => wal.sync().await,
            None => Ok(()),
        }
    }
}

impl Inner {
    fn enqueue(&mut self, event: &Event) {
        self.arrivals += 1;
        let key = Key::of(event);
        match self.pending.get_mut(&key) {
            Some(work) => work.absorb(event, self.arrivals),
            None => {
                self.pending
                    .insert(key.clone(), Work::new(event, self.arrivals));
                if !self.in_flight.contains_key(&key) {
                    self.order.push_back(key);
                }
            }
        }
    }

    /// A write of `key` finished: newer work for it that waited becomes takeable.
    fn release(&mut self, key: &Key) {
        self.in_flight.remove(key);
        if self.pending.contains_key(key) {
            self.order.push_back(key.clone());
        }
    }

    fn take(&mut self, max: usize) -> Vec<Work> {
        let now = Instant::now();
        let mut taken: Vec<Work> = Vec::new();
        let mut deferred = Vec::new();
        let mut scanned = 0;
        let budget = self.order.len();
        while taken.len() < max && scanned < budget {
            scanned += 1;
            let Some(key) = self.order.pop_front() else {
                break;
            };
            if self.in_flight.contains_key(&key) {
                // Being written; `release` puts it back in line when that write finishes.
                continue;
            }
            let Some(work) = self.pending.get(&key) else {
                continue;
            };
            let fits = match taken.first() {
                None => true,
                Some(first) => {
                    first.is_upsert()
                        && work.is_upsert()
                        && first.key.object == key.object
                        && first.key.ext_field == key.ext_field
                }
            };
            if !fits || work.not_before.is_some_and(|t| t > now) {
                deferred.push(key);
                continue;
            }
            if let Some(work) = self.pending.remove(&key) {
                self.in_flight.insert(key, work.accepted_at);
                taken.push(work);
            }
            if taken.len() == 1 && (max == 1 || !taken[0].is_upsert()) {
                break;
            }
        }
        for key in deferred.into_iter().rev() {
            self.order.push_front(key);
        }
        taken
    }
}
