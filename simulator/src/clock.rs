//! The scenario clock.
//!
//! All time in the simulator is read from here, and all waiting goes through `tokio::time`, so a test can
//! pause the clock (`tokio::time::pause()`) and a ten-minute scenario runs in milliseconds. Two readings:
//! - [`SimClock::elapsed`]: time since the scenario started (fault windows, limit windows, the journal);
//! - [`SimClock::now_ms`]: wall-clock epoch milliseconds for record timestamps, advancing with the
//!   scenario clock from the epoch captured at start.

use parking_lot::Mutex;
use std::time::Duration;
use tokio::time::Instant;

#[derive(Debug)]
pub struct SimClock {
    inner: Mutex<(Instant, i64)>,
}

impl SimClock {
    /// A clock starting now, at wall-clock epoch `epoch_ms`.
    pub fn new(epoch_ms: i64) -> SimClock {
        SimClock {
            inner: Mutex::new((Instant::now(), epoch_ms)),
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

    /// Restart the scenario clock (called when the ready line is printed). Wall time keeps flowing.
    pub fn restart(&self) {
        let mut g = self.inner.lock();
        let now = Instant::now();
        let advanced = now.duration_since(g.0).as_millis() as i64;
        *g = (now, g.1 + advanced);
    }

    /// Time since the scenario started.
    pub fn elapsed(&self) -> Duration {
        self.inner.lock().0.elapsed()
    }

    /// The scenario start as a tokio instant (fault windows are offsets from it).
    pub fn start(&self) -> Instant {
        self.inner.lock().0
    }

    /// Wall-clock epoch milliseconds.
    pub fn now_ms(&self) -> i64 {
        let g = self.inner.lock();
        g.1 + g.0.elapsed().as_millis() as i64
    }

    /// Epoch milliseconds of a scenario offset.
    pub fn epoch_ms_at(&self, offset: Duration) -> i64 {
        self.inner.lock().1 + offset.as_millis() as i64
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
