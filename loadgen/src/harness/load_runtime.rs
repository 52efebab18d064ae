//! The load's own runtime: a single-threaded tokio runtime on a dedicated OS thread, running the
//! event driver, its event tasks, the ledger writer and the recorder.
//!
//! Why apart from everything else: the simulator, the sinks and the supervisor share the main
//! runtime, and a burst of simulator work there must not delay the driver's dispatches (that
//! would add lateness the integration never caused). And on one thread the per-event hand-offs
//! (a slot freed, a ledger line, a latency sample) are plain task switches rather than wake-ups
//! of other worker threads, which measurably cuts the CPU each event costs
//! (`benches/event_driver.rs`). One core drives well over 20,000 events/s.

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
