//! The org's bounded log of published changes.
//!
//! Sequence numbers (replay ids) are contiguous in the ring, so finding where a subscriber resumes is
//! arithmetic. Changes leave the ring when it is full (oldest first) or when they are older than the
//! retention on the scenario clock (72 h, Salesforce's for CDC and platform events).

use super::{flag, Change};
use parking_lot::Mutex;
use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How long events stay replayable.
pub const RETENTION: Duration = Duration::from_secs(72 * 3600);

/// Changes of one object in one transaction beyond this many are not delivered: the first one past it
/// becomes a `GAP_OVERFLOW` event (Salesforce's overflow rule for very large transactions).
pub const OVERFLOW_LIMIT: u32 = 100_000;

/// Distinguishes logs (an org reset starts a new log whose sequence numbers restart at 1).
static NEXT_LOG_ID: AtomicU64 = AtomicU64::new(1);

#[derive(Debug)]
pub struct ChangeLog {
    id: u64,
    inner: Mutex<LogInner>,
    /// Serialises fault decisions so each change is decided exactly once.
    fates: Mutex<()>,
    notify: tokio::sync::watch::Sender<u64>,
}

#[derive(Debug)]
struct LogInner {
    ring: VecDeque<Arc<Change>>,
    capacity: usize,
    next_seq: u64,
    /// Changes dropped from the ring because it was full.
    evicted: u64,
    /// Changes dropped because they outlived the retention.
    expired: u64,
}

/// The result of [`ChangeLog::scan`].
#[derive(Debug, Default)]
pub struct Scan {
    /// Matching changes, in order.
    pub taken: Vec<Arc<Change>>,
    /// The last sequence number looked at (the next scan resumes after it).
    pub last: u64,
}

impl ChangeLog {
    pub fn new(capacity: usize) -> ChangeLog {
        let (tx, _) = tokio::sync::watch::channel(0);
        ChangeLog {
            id: NEXT_LOG_ID.fetch_add(1, Ordering::Relaxed),
            inner: Mutex::new(LogInner {
                ring: VecDeque::new(),
                capacity: capacity.max(1),
                next_seq: 1,
                evicted: 0,
                expired: 0,
            }),
            fates: Mutex::new(()),
            notify: tx,
        }
    }

    /// A process-unique id of this log (caches key on it).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Publish the changes of transaction `txn` in order, assigning sequence numbers.
    pub fn publish(&self, changes: Vec<Change>, txn: u64) -> Vec<Arc<Change>> {
        if changes.is_empty() {
            return vec![];
        }
        let n = changes.len();
        let mut out = Vec::with_capacity(n);
        let mut overflowed: HashSet<*const super::ObjMeta> = HashSet::new();
        let last;
        {
            let mut g = self.inner.lock();
            let newest = changes.iter().map(|c| c.commit_ms).max().unwrap_or(0);
            for (i, mut c) in changes.into_iter().enumerate() {
                c.seq = g.next_seq;
                g.next_seq += 1;
                c.txn = txn;
                c.sequence_number = u32::try_from(i + 1).unwrap_or(u32::MAX);
                if i + 1 == n {
                    c.flags |= flag::TXN_END;
                }
                if c.sequence_number > OVERFLOW_LIMIT {
                    let first = overflowed.insert(Arc::as_ptr(&c.meta));
                    c.flags |= if first {
                        flag::OVERFLOW
                    } else {
                        flag::SUPPRESSED
                    };
                }
                let c = Arc::new(c);
                if g.ring.len() >= g.capacity {
                    g.ring.pop_front();
                    g.evicted += 1;
                }
                g.ring.push_back(c.clone());
                out.push(c);
            }
            let cutoff = newest.saturating_sub(RETENTION.as_millis() as i64);
            g.expire_before(cutoff);
            last = g.next_seq - 1;
        }
        self.notify.send_replace(last);
        out
    }

    /// Changes with `seq > after`, at most `limit`.
    pub fn since(&self, after: u64, limit: usize) -> Vec<Arc<Change>> {
        let g = self.inner.lock();
        let start = g.start_index(after);
        g.ring.iter().skip(start).take(limit).cloned().collect()
    }

    /// Look at up to `max_scan` changes after `after` and take those `pred` accepts, at most
    /// `max_take`. The predicate runs under the log's lock: keep it cheap.
    pub fn scan(
        &self,
        after: u64,
        max_scan: usize,
        max_take: usize,
        mut pred: impl FnMut(&Change) -> bool,
    ) -> Scan {
        let g = self.inner.lock();
        let start = g.start_index(after);
        let mut scan = Scan {
            taken: Vec::new(),
            last: after,
        };
        for c in g.ring.iter().skip(start).take(max_scan) {
            if scan.taken.len() >= max_take {
                break;
            }
            if pred(c) {
                scan.taken.push(c.clone());
            }
            scan.last = c.seq;
        }
        // Nothing retained after `after` (expired or evicted): the scan moves to the end.
        if start >= g.ring.len() {
            scan.last = after.max(g.next_seq - 1);
        }
        scan
    }

    /// Decide once whether a delivery fault drops `change`: `decide` runs at most once per change, at
    /// its first delivery. Returns whether it is dropped.
    pub fn fate(&self, change: &Change, decide: impl FnOnce() -> bool) -> bool {
        if let Some(d) = change.dropped() {
            return d;
        }
        let _g = self.fates.lock();
        if let Some(d) = change.dropped() {
            return d;
        }
        let d = decide();
        change.set_fate(d);
        d
    }

    /// The highest sequence number published so far.
    pub fn last_seq(&self) -> u64 {
        self.inner.lock().next_seq - 1
    }

    /// The oldest sequence number still retained.
    pub fn first_retained(&self) -> Option<u64> {
        self.inner.lock().ring.front().map(|c| c.seq)
    }

    /// Whether a subscriber resuming after `replay_id` would miss nothing: every change after it is
    /// still retained, and it is not in the future.
    pub fn can_resume_after(&self, replay_id: u64) -> bool {
        let g = self.inner.lock();
        let last = g.next_seq - 1;
        replay_id <= last && replay_id + 1 >= g.first_seq()
    }

    /// Drop changes committed before `cutoff_ms` (retention on the scenario clock).
    pub fn expire_before(&self, cutoff_ms: i64) {
        self.inner.lock().expire_before(cutoff_ms);
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

    /// Changes dropped because the ring was full.
    pub fn evicted(&self) -> u64 {
        self.inner.lock().evicted
    }

    /// Changes dropped because they outlived the retention.
    pub fn expired(&self) -> u64 {
        self.inner.lock().expired
    }

    /// Approximate bytes held by the retained changes (headers and bodies; shared snapshots excluded).
    pub fn retained_bytes(&self) -> usize {
        let g = self.inner.lock();
        g.ring
            .iter()
            .map(|c| c.retained_bytes() + 2 * std::mem::size_of::<usize>())
            .sum::<usize>()
            + g.ring.capacity() * std::mem::size_of::<Arc<Change>>()
    }
}

impl LogInner {
    /// The sequence number of the oldest retained change (or the next one, when none is).
    fn first_seq(&self) -> u64 {
        self.ring.front().map_or(self.next_seq, |c| c.seq)
    }

    /// Ring index of the first change with `seq > after`.
    fn start_index(&self, after: u64) -> usize {
        let first = self.first_seq();
        usize::try_from((after + 1).saturating_sub(first)).unwrap_or(usize::MAX)
    }

    fn expire_before(&mut self, cutoff_ms: i64) {
        while self.ring.front().is_some_and(|c| c.commit_ms < cutoff_ms) {
            self.ring.pop_front();
            self.expired += 1;
        }
    }
}
