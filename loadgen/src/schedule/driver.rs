//! The driver: turns intended offsets into dispatches on the tokio clock, under a cap on events in
//! flight.
//!
//! # Late versus dropped
//!
//! The cap plays the part of k6's `maxVUs`: a stalled integration holds slots, and an open-model
//! generator must not invent unbounded concurrency to keep up. When an event's instant comes and no
//! slot is free, the driver waits for one, but only until `intended + max_lateness`:
//!
//! - a slot frees in time: the event is dispatched **late** (counted in `late`); its latency is still
//!   timed from the intended instant, so the wait shows up in the corrected histogram.
//! - no slot by the deadline: the event is **dropped** (counted in `dropped`, like k6's
//!   `dropped_iterations`) and never sent.
//!
//! The default grace is one second. A momentary stall (one slow reply, a GC pause) then delays events
//! instead of losing them, while a sustained stall does not build a backlog that would later hit the
//! integration as a burst the scenario never asked for. `max_lateness = 0` is exactly k6's rule;
//! `None` never drops (every event is sent, possibly very late).
//!
//! Slots are handed out first-come first-served in schedule order, so an event that is already past
//! its deadline when the driver reaches it (because it waited on an earlier event) is dropped without
//! taking a slot, even if one just came free: that slot could only have reached it after the deadline.
//!
//! Timers wake a little after the instant asked for; lateness within `timer_slack` (1 ms by default,
//! tokio's timer granularity) is not counted as late and never causes a drop.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError};
use tokio::time::Instant;

use super::{duration_serde, Arrival, ScheduleError};

/// How the driver caps and times dispatches. See the module docs for the late/drop rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriverConfig {
    /// Events allowed in flight at once (k6 `maxVUs`). Size it from the *tail* of the expected
    /// reply time: Little's law, 500 events/s at a 2 s tail needs 1,000.
    pub max_in_flight: usize,
    /// How long past its intended instant an event may wait for a slot before it is dropped;
    /// `None` never drops.
    #[serde(default, with = "duration_serde::option")]
    pub max_lateness: Option<Duration>,
    /// Dispatch delay attributed to the timer rather than to a full cap.
    #[serde(with = "duration_serde")]
    pub timer_slack: Duration,
}

impl Default for DriverConfig {
    fn default() -> Self {
        DriverConfig {
            max_in_flight: 1_000,
            max_lateness: Some(Duration::from_secs(1)),
            timer_slack: Duration::from_millis(1),
        }
    }
}

/// One dispatched event. Holding it holds one in-flight slot; drop it when the event's reply (or
/// failure) is in, and the slot goes back to the driver.
#[derive(Debug)]
pub struct Ticket {
    /// The arrival's sequence number in the full schedule (stable across runs with one seed).
    pub seq: u64,
    /// When the schedule meant the event to be sent: time latency from here.
    pub intended: Instant,
    /// When the driver handed it out (`>= intended`).
    pub dispatched: Instant,
    _slot: OwnedSemaphorePermit,
}

impl Ticket {
    /// How far behind schedule the dispatch was.
    pub fn late_by(&self) -> Duration {
        self.dispatched.saturating_duration_since(self.intended)
    }
}

/// Live counters, readable while the driver runs (progress display, scoring evidence).
#[derive(Debug, Default)]
pub struct DriverCounters {
    scheduled: AtomicU64,
    dispatched: AtomicU64,
    late: AtomicU64,
    dropped: AtomicU64,
    max_late_us: AtomicU64,
}

impl DriverCounters {
    pub fn snapshot(&self) -> DriverStats {
        DriverStats {
            scheduled: self.scheduled.load(Ordering::Relaxed),
            dispatched: self.dispatched.load(Ordering::Relaxed),
            late: self.late.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            max_late_ms: self.max_late_us.load(Ordering::Relaxed) as f64 / 1_000.0,
        }
    }
}

/// A snapshot of [`DriverCounters`]. `scheduled = dispatched + dropped` once a run is over;
/// `late` is a subset of `dispatched`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DriverStats {
    pub scheduled: u64,
    pub dispatched: u64,
    pub late: u64,
    pub dropped: u64,
    pub max_late_ms: f64,
}

/// Dispatches arrivals on the tokio clock under an in-flight cap. Use one driver per stream, so a
/// stream stalled on a slow route cannot starve the others of slots.
#[derive(Debug)]
pub struct Driver {
    config: DriverConfig,
    slots: Arc<Semaphore>,
    counters: Arc<DriverCounters>,
}

impl Driver {
    pub fn new(config: DriverConfig) -> Result<Self, ScheduleError> {
        // `wait_idle` acquires every slot at once, which tokio counts in u32.
        let max = Semaphore::MAX_PERMITS.min(u32::MAX as usize);
        if config.max_in_flight == 0 || config.max_in_flight > max {
            return Err(ScheduleError::InvalidInFlight {
                value: config.max_in_flight,
                max,
            });
        }
        Ok(Driver {
            slots: Arc::new(Semaphore::new(config.max_in_flight)),
            counters: Arc::new(DriverCounters::default()),
            config,
        })
    }

    pub fn config(&self) -> &DriverConfig {
        &self.config
    }

    /// Shared live counters.
    pub fn counters(&self) -> Arc<DriverCounters> {
        Arc::clone(&self.counters)
    }

    /// Events currently holding a slot.
    pub fn in_flight(&self) -> usize {
        self.config
            .max_in_flight
            .saturating_sub(self.slots.available_permits())
    }

    /// Waits until each arrival's instant (offset from `start`) and calls `dispatch` with its
    /// [`Ticket`], or drops it per the module rule. Returns once the last arrival is dispatched or
    /// dropped; replies may still be outstanding (see [`Driver::wait_idle`]).
    ///
    /// `dispatch` must not block: spawn the work (or send the ticket to a worker pool) and return.
    /// To stop early, drop this future (e.g. in a `select!` with a shutdown signal); no state is left
    /// half-updated by doing so.
    pub async fn run<I, F>(&self, start: Instant, arrivals: I, mut dispatch: F) -> DriverStats
    where
        I: IntoIterator<Item = Arrival>,
        F: FnMut(Ticket),
    {
        let slack = self.config.timer_slack;
        let grace = self.config.max_lateness.map(|l| l.max(slack));
        // Arrivals handled back to back without waiting (a backlog being dropped after a long
        // stall); after this many the driver yields, so it cannot hog a runtime thread.
        const YIELD_EVERY: u32 = 256;
        let mut without_wait = 0u32;
        for arrival in arrivals {
            self.counters.scheduled.fetch_add(1, Ordering::Relaxed);
            let Some(intended) = start.checked_add(arrival.at) else {
                // An offset beyond the clock's range cannot be waited for; nothing later can either.
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                break;
            };
            let now = Instant::now();
            let mut waited = now < intended;
            if waited {
                without_wait = 0;
                tokio::time::sleep_until(intended).await;
            } else {
                without_wait += 1;
                if without_wait >= YIELD_EVERY {
                    without_wait = 0;
                    tokio::task::yield_now().await;
                }
            }
            let deadline = grace.and_then(|g| intended.checked_add(g));
            let Some((slot, slot_waited)) = self.acquire(deadline).await else {
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                continue;
            };
            waited |= slot_waited;
            // Without a wait, the instant read above is the dispatch's (one clock read less per
            // event at full speed).
            let dispatched = if waited { Instant::now() } else { now };
            let late_by = dispatched.saturating_duration_since(intended);
            if late_by > slack {
                self.counters.late.fetch_add(1, Ordering::Relaxed);
                let us = u64::try_from(late_by.as_micros()).unwrap_or(u64::MAX);
                self.counters.max_late_us.fetch_max(us, Ordering::Relaxed);
            }
            self.counters.dispatched.fetch_add(1, Ordering::Relaxed);
            dispatch(Ticket {
                seq: arrival.seq,
                intended,
                dispatched,
                _slot: slot,
            });
        }
        self.counters.snapshot()
    }

    /// A slot and whether it had to be waited for, or `None` if none frees up before `deadline`
    /// (already passed counts as none).
    async fn acquire(&self, deadline: Option<Instant>) -> Option<(OwnedSemaphorePermit, bool)> {
        if deadline.is_some_and(|d| Instant::now() > d) {
            return None;
        }
        match Arc::clone(&self.slots).try_acquire_owned() {
            Ok(slot) => return Some((slot, false)),
            // The semaphore is never closed; treat it like a full cap to stay panic-free.
            Err(TryAcquireError::Closed) => return None,
            Err(TryAcquireError::NoPermits) => {}
        }
        let wait = Arc::clone(&self.slots).acquire_owned();
        let slot = match deadline {
            Some(d) => tokio::time::timeout_at(d, wait).await.ok()?.ok(),
            None => wait.await.ok(),
        };
        slot.map(|slot| (slot, true))
    }

    /// Resolves once every dispatched ticket has been dropped (all replies are in).
    pub async fn wait_idle(&self) {
        // Cannot truncate: `new` bounded max_in_flight by u32::MAX.
        let all = u32::try_from(self.config.max_in_flight).unwrap_or(u32::MAX);
        // Holding every slot proves none is in flight; they are released right away.
        let _all = self.slots.acquire_many(all).await;
    }
}
