//! Row locks.
//!
//! Salesforce holds exclusive row locks until a transaction ends; inserting or updating a child also locks
//! its parent (Contact/Opportunity/Case → Account). A writer waits for a locked row up to the lock wait
//! (10 s by default), then fails with `UNABLE_TO_LOCK_ROW`. Here every write takes its locks before touching
//! the data (in sorted order, so two writers can never deadlock) and holds them until it has committed —
//! and for longer when a bulk batch or an injected `lock-contention` fault says so.

use crate::error::ApiError;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A lockable row: (object index, row number).
pub type RowKey = (usize, u64);

#[derive(Debug, Default)]
pub struct RowLocks {
    inner: parking_lot::Mutex<HashMap<RowKey, Arc<Semaphore>>>,
}

/// Held locks; released on drop.
#[derive(Debug)]
pub struct LockGuard {
    locks: Arc<RowLocks>,
    held: Vec<(RowKey, OwnedSemaphorePermit)>,
    /// The processing slot the write runs in, released after the rows (see [`super::capacity`]).
    slot: Option<super::capacity::Slot>,
}

impl RowLocks {
    pub fn new() -> Arc<RowLocks> {
        Arc::new(RowLocks::default())
    }

    fn sem(&self, key: RowKey) -> Arc<Semaphore> {
        self.inner
            .lock()
            .entry(key)
            .or_insert_with(|| Arc::new(Semaphore::new(1)))
            .clone()
    }

    /// Lock `keys` (deduplicated, in order), waiting at most `wait` in total. On timeout, returns the
    /// key that could not be locked.
    pub async fn acquire(
        self: &Arc<Self>,
        mut keys: Vec<RowKey>,
        wait: Duration,
    ) -> Result<LockGuard, Vec<RowKey>> {
        keys.sort_unstable();
        keys.dedup();
        let deadline = tokio::time::Instant::now() + wait;
        let mut guard = LockGuard {
            locks: self.clone(),
            held: Vec::with_capacity(keys.len()),
            slot: None,
        };
        for key in &keys {
            let sem = self.sem(*key);
            let permit = match sem.clone().try_acquire_owned() {
                Ok(p) => p,
                Err(_) => match tokio::time::timeout_at(deadline, sem.acquire_owned()).await {
                    Ok(Ok(p)) => p,
                    _ => return Err(vec![*key]),
                },
            };
            guard.held.push((*key, permit));
        }
        Ok(guard)
    }

    /// Rows currently locked (for the admin API and tests).
    pub fn locked_count(&self) -> usize {
        self.inner
            .lock()
            .values()
            .filter(|s| s.available_permits() == 0)
            .count()
    }
}

impl LockGuard {
    /// Keep `slot` for as long as these locks are held.
    pub fn attach(&mut self, slot: super::capacity::Slot) {
        self.slot = Some(slot);
    }

    /// The rows this guard holds.
    pub fn keys(&self) -> impl Iterator<Item = RowKey> + '_ {
        self.held.iter().map(|(k, _)| *k)
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        let keys: Vec<RowKey> = self.held.iter().map(|(k, _)| *k).collect();
        self.held.clear();
        let mut map = self.locks.inner.lock();
        for k in keys {
            // Forget semaphores nobody holds or waits on, so the table stays small.
            if map
                .get(&k)
                .is_some_and(|s| Arc::strong_count(s) == 1 && s.available_permits() == 1)
            {
                map.remove(&k);
            }
        }
    }
}

/// Salesforce's error for a lock wait that ran out.
pub fn unable_to_lock(ids: &[String]) -> ApiError {
    ApiError::UnableToLockRow(format!(
        "unable to obtain exclusive access to this record or {} records: {}",
        ids.len(),
        ids.join(",")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_waiter_gives_up_after_the_lock_wait() {
        let locks = RowLocks::new();
        let held = locks
            .acquire(vec![(0, 1)], Duration::from_secs(10))
            .await
            .unwrap();
        let start = tokio::time::Instant::now();
        let r = locks
            .acquire(vec![(0, 2), (0, 1)], Duration::from_secs(10))
            .await;
        assert_eq!(r.unwrap_err(), vec![(0, 1)]);
        assert_eq!(start.elapsed(), Duration::from_secs(10));
        drop(held);
        let again = locks.acquire(vec![(0, 1)], Duration::from_secs(10)).await;
        assert!(again.is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiter_proceeds_when_the_holder_releases() {
        let locks = RowLocks::new();
        let held = locks
            .acquire(vec![(0, 1)], Duration::from_secs(10))
            .await
            .unwrap();
        let l2 = locks.clone();
        let waiter = tokio::spawn(async move {
            l2.acquire(vec![(0, 1)], Duration::from_secs(10))
                .await
                .is_ok()
        });
        tokio::time::sleep(Duration::from_secs(3)).await;
        drop(held);
        assert!(waiter.await.unwrap());
        assert_eq!(locks.locked_count(), 0);
    }
}
