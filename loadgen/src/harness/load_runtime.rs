//! The load's own runtime: a single-threaded tokio runtime on a dedicated OS thread, running the
//! event driver, its event workers and the recorder. (The ledger's writer and each stream's
//! encoder have threads of their own: see `inbound.rs` and `prepare.rs`.)
//!
//! Why apart from everything else: the simulator, the sinks and the supervisor share the main
//! runtime, and a burst of simulator work there must not delay the driver's dispatches (that
//! would add lateness the integration never caused). And on one thread the per-event hand-offs
//! (a slot freed, a latency sample, a worker's next event) are plain task switches rather than
//! wake-ups of other worker threads, which measurably cuts the CPU each event costs; the ledger's
//! and the encoders' threads are never woken per event either (they work in intervals). One core
//! drives about 175,000 events/s against a trivial target (`benches/event_driver.rs`).

use std::io;

use tokio::runtime::{Builder, Handle};
use tokio::sync::oneshot;

/// Runs until dropped; tasks still running then are cancelled.
#[derive(Debug)]
pub struct LoadRuntime {
    handle: Handle,
    stop: Option<oneshot::Sender<()>>,
}

impl LoadRuntime {
    pub fn start() -> io::Result<Self> {
        let runtime = Builder::new_current_thread().enable_all().build()?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("sfchaos-load".into())
            .spawn(move || {
                // `block_on` drives every task spawned on the handle until the stop signal.
                runtime.block_on(async {
                    let _ = stopped.await;
                });
            })?;
        Ok(LoadRuntime {
            handle,
            stop: Some(stop),
        })
    }

    pub fn handle(&self) -> &Handle {
        &self.handle
    }
}

impl Drop for LoadRuntime {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
