//! The writers: tasks that drain the queue into Salesforce, and the [`OutageGate`] that keeps them
//! from hammering Salesforce while it is down.
//!
//! `availability` is decided in [`Engine::settle`]: off, work that could not get through goes back in
//! the queue and the gate spaces out the next attempts (one probe per pause, pauses growing with full
//! jitter up to `outage_backoff_cap`), so an outage costs a trickle of probes and the backlog drains
//! as soon as a probe succeeds; on, the work is dropped — after the event was acknowledged.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::super::calls::CallError;
use super::super::engine::Engine;
use super::super::metrics::add;
use super::super::store::Work;
use super::Outcome;
use crate::sf::MAX_COLLECTION_RECORDS;

/// First pause after a failure; doubles per consecutive failure (full jitter) up to the cap.
const OUTAGE_BASE: Duration = Duration::from_millis(500);
/// Base of the per-record wait after an item-level failure (a lock timeout in a collection).
const ITEM_BASE: Duration = Duration::from_secs(1);

/// Paces the writers while Salesforce is failing.
#[derive(Debug)]
pub struct OutageGate {
    cap: Duration,
    /// Short locks, never across an `.await`.
    state: Mutex<GateState>,
    rng: Mutex<ChaCha8Rng>,
}

#[derive(Debug, Default)]
struct GateState {
    failures: u32,
    next_probe: Option<Instant>,
}

impl OutageGate {
    pub fn new(cap: Duration, seed: u64) -> Self {
        Self {
            cap,
            state: Mutex::new(GateState::default()),
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(seed)),
        }
    }

    /// Wait until this writer may send. While Salesforce is failing, the first writer past a pause
    /// claims the probe and the others wait for the next one. `false` on shutdown.
    pub async fn wait_turn(&self, shutdown: &CancellationToken) -> bool {
        loop {
            let wait = {
                let mut s = self.state.lock();
                let now = Instant::now();
                match s.next_probe {
                    None => return true,
                    Some(t) if t <= now => {
                        let pause = self.jittered(OUTAGE_BASE, s.failures);
                        s.next_probe = Some(now + pause);
                        return true;
                    }
                    Some(t) => t - now,
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.cancelled() => return false,
            }
        }
    }

    /// A claimed probe was not used (nothing to write): let the next writer have it.
    pub fn release(&self) {
        let mut s = self.state.lock();
        if s.failures > 0 {
            s.next_probe = Some(Instant::now());
        }
    }

    /// Salesforce answered: open the gate.
    pub fn success(&self) {
        *self.state.lock() = GateState::default();
    }

    /// Salesforce could not be reached: pause before the next probe.
    pub fn failure(&self) {
        let mut s = self.state.lock();
        s.failures = s.failures.saturating_add(1);
        s.next_probe = Some(Instant::now() + self.jittered(OUTAGE_BASE, s.failures));
    }

    /// Wait before retrying one record that failed on its own `failures` times.
    pub fn item_delay(&self, failures: u32) -> Duration {
        self.jittered(ITEM_BASE, failures)
    }

    /// Full jitter: `U(0, min(cap, base·2^n))`.
    fn jittered(&self, base: Duration, n: u32) -> Duration {
        let ceiling = base
            .checked_mul(1u32 << n.min(16))
            .unwrap_or(self.cap)
            .min(self.cap);
        ceiling.mul_f64(self.rng.lock().random::<f64>())
    }
}

/// One writer: take work, write it, settle the outcome, until shutdown.
pub(crate) async fn run_writer(engine: Arc<Engine>) {
    let shutdown = engine.shutdown.clone();
    while !shutdown.is_cancelled() {
        if !engine.wait_logged_in().await {
            return;
        }
        if let Some(until) = engine.sf.policy().limit_exhausted_until() {
            tracing::warn!("daily API allocation exhausted; holding writes");
            tokio::select! {
                _ = tokio::time::sleep_until(until) => {}
                _ = shutdown.cancelled() => return,
            }
            continue;
        }
        if !engine.gate.wait_turn(&shutdown).await {
            return;
        }
        let batch = engine.batching_allowed()
            && engine.store.depth() >= engine.config.tuning.batch_threshold;
        let works = engine
            .store
            .take(if batch { MAX_COLLECTION_RECORDS } else { 1 });
        if works.is_empty() {
            engine.gate.release();
            let wake = engine
                .store
                .next_due()
                .map_or(Duration::from_secs(1), |t| {
                    t.saturating_duration_since(Instant::now())
                })
                .min(Duration::from_secs(1));
            tokio::select! {
                _ = engine.store.work_ready() => {}
                _ = tokio::time::sleep(wake) => {}
                _ = shutdown.cancelled() => return,
            }
            continue;
        }
        let outcomes = if works.len() > 1 {
            engine.write_collection(&works).await
        } else {
            vec![engine.write_queued(&works[0]).await]
        };
        for (work, outcome) in works.into_iter().zip(outcomes) {
            engine.settle(work, outcome);
        }
    }
}

impl Engine {
    /// Act on how a write ended.
    pub(crate) fn settle(&self, mut work: Work, outcome: Outcome) {
        let events = work.event_ids.len() as u64;
        match outcome {
            Outcome::Written => {
                add(&self.metrics.events_written, events);
                self.gate.success();
                self.store.complete(&work);
            }
            Outcome::Rejected(reason) => {
                tracing::warn!(
                    "{}: Salesforce refused {events} event(s) for good: {reason}",
                    work.key
                );
                add(&self.metrics.events_dead_lettered, events);
                self.gate.success();
                self.store.complete(&work);
            }
            Outcome::Retry(delay) => {
                work.failures = work.failures.saturating_add(1);
                self.store.requeue(work, delay);
            }
            Outcome::Failed(CallError::Shutdown) => self.store.requeue(work, Duration::ZERO),
            Outcome::Failed(CallError::LimitHold(until)) => {
                self.store
                    .requeue(work, until.saturating_duration_since(Instant::now()));
            }
            Outcome::Failed(CallError::Unavailable(reason)) if self.behaviour.availability => {
                tracing::error!(
                    "{}: Salesforce unavailable ({reason}); dropping {events} event(s)",
                    work.key
                );
                add(&self.metrics.events_dropped, events);
                self.store.complete(&work);
            }
            Outcome::Failed(error) => {
                tracing::info!("{}: {error}; keeping it queued", work.key);
                self.gate.failure();
                work.failures = work.failures.saturating_add(1);
                self.store.requeue(work, Duration::ZERO);
            }
        }
    }
}
