//! The org's processing capacity: the resource real-time writes and Bulk API work compete for.
//!
//! Salesforce runs an org's transactions on a shared pool of application-server threads. A big Bulk
//! job keeps several of them busy for as long as it runs, so real-time requests queue for a thread
//! (they get slower) and, when the job writes children of the same parents, queue for the parents'
//! row locks too (they time out with `UNABLE_TO_LOCK_ROW`). Here the pool is a fair (FIFO) semaphore of
//! [`ContentionConfig::processing_slots`] slots. Every write — a REST write, each write step of a
//! composite call or collection, one 200-record chunk of a Bulk job — takes its row locks, then one
//! slot, and holds both until it has committed. The lock order is always *row locks, then slot,
//! then the data lock*: a slot holder never waits for anything but the (brief, synchronous) data
//! lock, so no cycle can form, and writers queueing for a hot row hold no slot — they cannot starve
//! unrelated writes.
//!
//! How long work holds its slot and locks is set by the knobs below; all waiting is `tokio::time`, so
//! tests run the model on a paused clock. `docs/contention.md` describes the model and how to tune it.

use super::humantime_serde_compat;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Knobs of the contention model (`[org.contention]`; see `docs/contention.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ContentionConfig {
    /// Write transactions the org runs at once (REST writes, composite calls, collections and Bulk
    /// chunks all take one).
    pub processing_slots: u32,
    /// Internal 10,000-record batches of one Bulk 2.0 job processed at the same time.
    pub bulk_parallelism: u32,
    /// Fixed time a 200-record Bulk chunk takes, holding its slot and row locks.
    #[serde(with = "humantime_serde_compat")]
    pub bulk_chunk_time: Duration,
    /// Time each record adds to its Bulk chunk.
    #[serde(with = "humantime_serde_compat")]
    pub bulk_row_time: Duration,
    /// Time a real-time write holds its slot and row locks (0: only the waiting shows).
    #[serde(with = "humantime_serde_compat")]
    pub write_time: Duration,
    /// Retries of a Bulk chunk that timed out waiting for row locks before its rows fail with
    /// `UNABLE_TO_LOCK_ROW`; each shows in the job's `retries`.
    pub bulk_lock_retries: u32,
}

impl Default for ContentionConfig {
    fn default() -> Self {
        ContentionConfig {
            processing_slots: 4,
            bulk_parallelism: 4,
            bulk_chunk_time: Duration::from_millis(2),
            bulk_row_time: Duration::from_micros(40),
            write_time: Duration::ZERO,
            bulk_lock_retries: 2,
        }
    }
}

impl ContentionConfig {
    /// How long a Bulk chunk of `rows` records holds its slot and locks.
    pub fn chunk_time(&self, rows: usize) -> Duration {
        self.bulk_chunk_time + self.bulk_row_time * rows as u32
    }
}

/// The org's pool of processing slots.
#[derive(Debug)]
pub struct Capacity {
    sem: Arc<Semaphore>,
    slots: u32,
}

/// One held processing slot; released on drop.
#[derive(Debug)]
pub struct Slot {
    _permit: Option<OwnedSemaphorePermit>,
}

impl Capacity {
    pub fn new(slots: u32) -> Capacity {
        let slots = slots.max(1);
        Capacity {
            sem: Arc::new(Semaphore::new(slots as usize)),
            slots,
        }
    }

    /// Wait (first come, first served) for a free slot.
    pub async fn acquire(&self) -> Slot {
        // The semaphore is never closed, so acquiring only ever waits.
        Slot {
            _permit: self.sem.clone().acquire_owned().await.ok(),
        }
    }

    /// Slots currently held.
    pub fn in_use(&self) -> u32 {
        self.slots
            .saturating_sub(self.sem.available_permits() as u32)
    }

    pub fn slots(&self) -> u32 {
        self.slots
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_full_pool_makes_the_next_writer_wait_for_a_release() {
        let cap = Arc::new(Capacity::new(2));
        let a = cap.acquire().await;
        let _b = cap.acquire().await;
        assert_eq!(cap.in_use(), 2);
        let c2 = cap.clone();
        let waiter = tokio::spawn(async move {
            let start = tokio::time::Instant::now();
            let _s = c2.acquire().await;
            start.elapsed()
        });
        tokio::time::sleep(Duration::from_millis(30)).await;
        drop(a);
        assert_eq!(waiter.await.unwrap(), Duration::from_millis(30));
    }

    #[test]
    fn chunk_time_grows_with_rows() {
        let c = ContentionConfig::default();
        assert_eq!(c.chunk_time(200), Duration::from_millis(10));
        assert_eq!(c.chunk_time(0), Duration::from_millis(2));
    }
}
