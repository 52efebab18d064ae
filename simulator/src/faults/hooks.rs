//! Fault decisions that happen *inside* handlers rather than around a whole request: per-item failures
//! in collections, composite and Bulk 2.0; bulk job slowdowns; how long a write holds its row locks;
//! streaming disruptions. Handlers ask [`Faults`] at the point where the effect applies; the engine
//! answers from the installed rules (scope, window, trigger) and journals the decision — on the
//! request's journal entry (`item_faults`) when called while serving a request, otherwise as a fault
//! event of its own.
//!
//! A rule's trigger (`probability`/`first`/`every`) picks requests, not records: all calls made
//! while serving one request (or, outside requests, for one `probe.path`, e.g. a Bulk 2.0 job) share
//! one decision.
//!
//! Streaming: call [`Faults::streaming`] when answering `/meta/connect` (a `probe.path` containing
//! `/meta/`, e.g. `/cometd/62.0/meta/connect`: the answer may be `Rehandshake` or
//! `ExhaustAllocation`) and once per event about to be delivered (`probe.path` = the channel, e.g.
//! `/data/AccountChangeEvent`: the answer may be `DropEvents`, meaning "drop this event", or
//! `ExhaustAllocation`).
//!
//! Writes: `rest::dml::lock_rows` asks [`Faults::lock_contention`] for every write made while
//! serving a request (REST, composite, collections), so lock-contention rules need no call of
//! their own; Bulk 2.0 processing, which runs outside requests, is not subject to them.

use super::plan::{BulkSlowdownFault, StreamingFault};
use crate::error::ApiError;
use crate::journal::Api;
use std::time::Duration;

/// What a fault rule is matched against.
#[derive(Debug, Clone, Copy)]
pub struct Probe<'a> {
    pub api: Api,
    pub object: Option<&'a str>,
    /// The caller's identity (username|app|client), for `client` scopes.
    pub client: Option<&'a str>,
    pub method: &'a str,
    pub path: &'a str,
    /// Scenario-clock time of the decision.
    pub now: Duration,
}

/// The in-handler fault decisions. Installed rules live in the engine; with none installed every
/// answer is "no fault".
#[derive(Debug, Default)]
pub struct Faults {
    engine: Option<std::sync::Arc<dyn ItemFaults>>,
}

/// Lock contention for one write: another transaction holds the rows (of `objects`, or all the
/// write would lock when empty) for `hold`; the write waits up to `wait` (`None`: the org's
/// `lock_wait`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockHold {
    pub hold: Duration,
    pub wait: Option<Duration>,
    pub objects: Vec<String>,
}

/// Implemented by the fault engine.
pub trait ItemFaults: Send + Sync + std::fmt::Debug {
    fn item_failure(&self, probe: &Probe<'_>, index: usize, key: Option<&str>) -> Option<ApiError>;
    fn bulk_slowdown(&self, probe: &Probe<'_>) -> Option<BulkSlowdownFault>;
    fn lock_hold(&self, probe: &Probe<'_>) -> Option<Duration>;
    fn streaming(&self, probe: &Probe<'_>) -> Option<StreamingFault>;
    /// Lock contention for a write that would lock rows of the objects in `locking`.
    fn lock_contention(&self, probe: &Probe<'_>, locking: &[&str]) -> Option<LockHold> {
        let _ = locking;
        self.lock_hold(probe).map(|hold| LockHold {
            hold,
            wait: None,
            objects: Vec::new(),
        })
    }
}

impl Faults {
    pub fn with_engine(engine: std::sync::Arc<dyn ItemFaults>) -> Faults {
        Faults {
            engine: Some(engine),
        }
    }

    /// Should item `index` (0-based position in the request or job; `key` its external id, when known)
    /// fail, and with which error?
    pub fn item_failure(
        &self,
        probe: &Probe<'_>,
        index: usize,
        key: Option<&str>,
    ) -> Option<ApiError> {
        self.engine.as_ref()?.item_failure(probe, index, key)
    }

    /// A slowdown or failure for a Bulk 2.0 job being processed.
    pub fn bulk_slowdown(&self, probe: &Probe<'_>) -> Option<BulkSlowdownFault> {
        self.engine.as_ref()?.bulk_slowdown(probe)
    }

    /// Extra time a write keeps its row locks (lock contention).
    pub fn lock_hold(&self, probe: &Probe<'_>) -> Option<Duration> {
        self.engine.as_ref()?.lock_hold(probe)
    }

    /// Lock contention for a write that would lock rows of the objects in `locking` (the written
    /// object and the parents it locks). The caller makes the rows busy for `hold` and waits up to
    /// `wait` for them, as `rest::dml::lock` does.
    pub fn lock_contention(&self, probe: &Probe<'_>, locking: &[&str]) -> Option<LockHold> {
        self.engine.as_ref()?.lock_contention(probe, locking)
    }

    /// A streaming disruption for a CometD exchange.
    pub fn streaming(&self, probe: &Probe<'_>) -> Option<StreamingFault> {
        self.engine.as_ref()?.streaming(probe)
    }
}
