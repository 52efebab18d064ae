//! [`Engine`]: the state every task of a running integration shares. Behaviour lives in the modules
//! that own each concern (`intake.rs`, `write/`, `bulk/`, `downstream/`); this file only holds them
//! together.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::alerts::Alerts;
use super::behaviour::Behaviour;
use super::calls::Salesforce;
use super::config::Config;
use super::health::Health;
use super::metrics::{Gauges, Metrics};
use super::schema::Schema;
use super::store::Store;
use super::write::{OutageGate, RecordCache};

/// Optional APIs, switched off when Salesforce (or an old API version) says they are not there.
#[derive(Debug)]
pub struct Capabilities {
    collections: AtomicBool,
    bulk: AtomicBool,
}

impl Capabilities {
    /// sObject Collections upsert needs API 46.0 or later.
    pub fn for_version(api_version: &str) -> Self {
        let major: f64 = api_version.parse().unwrap_or(0.0);
        Self {
            collections: AtomicBool::new(major >= 46.0),
            bulk: AtomicBool::new(true),
        }
    }

    pub fn collections(&self) -> bool {
        self.collections.load(Ordering::Relaxed)
    }

    pub fn set_collections(&self, on: bool) {
        self.collections.store(on, Ordering::Relaxed);
    }

    pub fn bulk(&self) -> bool {
        self.bulk.load(Ordering::Relaxed)
    }

    pub fn set_bulk(&self, on: bool) {
        self.bulk.store(on, Ordering::Relaxed);
    }
}

/// Everything a running integration shares.
#[derive(Debug)]
pub(crate) struct Engine {
    pub config: Config,
    pub behaviour: Behaviour,
    pub sf: Salesforce,
    pub schema: Schema,
    pub store: Store,
    pub metrics: Arc<Metrics>,
    pub health: Arc<Health>,
    pub sink_health: Arc<Health>,
    pub records: RecordCache,
    pub caps: Capabilities,
    pub gate: OutageGate,
    pub alerts: Alerts,
    /// Cancelled to stop every background task.
    pub shutdown: CancellationToken,
    /// `true` once a Salesforce session exists.
    pub logged_in: watch::Sender<bool>,
    /// `GET /healthz` answers 200 once set.
    pub ready: AtomicBool,
}

impl Engine {
    /// Wait until there is a Salesforce session; `false` on shutdown.
    pub async fn wait_logged_in(&self) -> bool {
        let mut rx = self.logged_in.subscribe();
        tokio::select! {
            r = rx.wait_for(|v| *v) => r.is_ok(),
            _ = self.shutdown.cancelled() => false,
        }
    }

    /// Whether queued upserts may be grouped into collections calls.
    pub fn batching_allowed(&self) -> bool {
        !self.behaviour.realtime_db && self.caps.collections()
    }

    /// Salesforce rejected a field of `object`: forget its describe and tell the pager.
    pub fn schema_changed(&self, object: &str, detail: &str) {
        self.schema.invalidate(object);
        self.alerts.schema_changed(object, detail);
    }

    /// The gauges `/metrics` shows.
    pub fn gauges(&self) -> Gauges {
        Gauges {
            queue_depth: self.store.depth() as u64,
            queue_lag: self.store.lag(),
        }
    }
}
