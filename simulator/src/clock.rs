//! The scenario clock.
//!
//! All time in the simulator is read from here, and all waiting goes through `tokio::time`, so a test can
//! pause the clock (`tokio::time::pause()`) and a ten-minute scenario runs in milliseconds. Two readings:
//! - [`SimClock::elapsed`]: time since the scenario started (fault windows, limit windows, the journal);
//! - [`SimClock::now_ms`]: wall-clock epoch milliseconds for record timestamps, advancing with the
//!   scenario clock from the epoch captured at start.

use parking_lot::Mutex;
use std::sync::atomic::{fence, AtomicI64, AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// The scenario clock. Requests read it several times each, from every worker thread, so a reading
/// takes no lock (the threads would keep taking the lock's cache line from each other): the scenario
/// start and its epoch are a pair of atomics behind a sequence number (a seqlock), written only by
/// [`SimClock::restart`].
#[derive(Debug)]
pub struct SimClock {
    /// A fixed point; the scenario starts `start_ns` after it.
    base: Instant,
    /// Odd while `restart` is rewriting the pair below.
    seq: AtomicU64,
    start_ns: AtomicU64,
    /// Wall-clock epoch milliseconds at the scenario start.
    epoch_ms: AtomicI64,
    /// Serialises restarts.
    restarting: Mutex<()>,
}

impl SimClock {
    /// A clock starting now, at wall-clock epoch `epoch_ms`.
    pub fn new(epoch_ms: i64) -> SimClock {
        SimClock {
            base: Instant::now(),
            seq: AtomicU64::new(0),
            start_ns: AtomicU64::new(0),
            epoch_ms: AtomicI64::new(epoch_ms),
            restarting: Mutex::new(()),
        }
    }

    /// A clock starting now at the real wall-clock time.
    pub fn wall() -> SimClock {
        let epoch_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        SimClock::new(epoch_ms)
    }

    /// The scenario start and its epoch milliseconds, read consistently.
    fn read(&self) -> (Instant, i64) {
        loop {
            let seq = self.seq.load(Ordering::Acquire);
            if seq & 1 == 0 {
                let start_ns = self.start_ns.load(Ordering::Relaxed);
                let epoch_ms = self.epoch_ms.load(Ordering::Relaxed);
                fence(Ordering::Acquire);
                if self.seq.load(Ordering::Relaxed) == seq {
                    return (self.base + Duration::from_nanos(start_ns), epoch_ms);
                }
            }
            std::hint::spin_loop();
        }
    }

    /// Restart the scenario clock (called when the ready line is printed). Wall time keeps flowing.
    pub fn restart(&self) {
        let _one_at_a_time = self.restarting.lock();
        let (start, epoch_ms) = self.read();
        let now = Instant::now();
        let advanced = now.duration_since(start).as_millis() as i64;
        let seq = self.seq.load(Ordering::Relaxed);
        self.seq.store(seq + 1, Ordering::Relaxed);
        fence(Ordering::Release);
        self.start_ns.store(
            now.duration_since(self.base).as_nanos() as u64,
            Ordering::Relaxed,
        );
        self.epoch_ms.store(epoch_ms + advanced, Ordering::Relaxed);
        self.seq.store(seq + 2, Ordering::Release);
    }

    /// Time since the scenario started.
    pub fn elapsed(&self) -> Duration {
        self.read().0.elapsed()
    }

    /// The scenario start as a tokio instant (fault windows are offsets from it).
    pub fn start(&self) -> Instant {
        self.read().0
    }

    /// Wall-clock epoch milliseconds.
    pub fn now_ms(&self) -> i64 {
        let (start, epoch_ms) = self.read();
        epoch_ms + start.elapsed().as_millis() as i64
    }

    /// Epoch milliseconds of a scenario offset.
    pub fn epoch_ms_at(&self, offset: Duration) -> i64 {
        self.read().1 + offset.as_millis() as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn advances_with_tokio_time() {
        let c = SimClock::new(1_000_000);
        tokio::time::sleep(Duration::from_secs(90)).await;
        assert_eq!(c.elapsed(), Duration::from_secs(90));
        assert_eq!(c.now_ms(), 1_000_000 + 90_000);
        c.restart();
        assert_eq!(c.elapsed(), Duration::ZERO);
        assert_eq!(c.now_ms(), 1_090_000);
    }
}
