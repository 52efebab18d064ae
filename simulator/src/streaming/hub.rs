//! [`Hub`]: the streaming state held in [`crate::state::SimState`] — the registry of CometD clients, each
//! org's event-delivery allocation, and the cache of rendered events.
//!
//! Locking: the registry and the per-org table are `parking_lot::Mutex`es held only for map operations;
//! no client lock is taken while holding them.

use super::client::Client;
use super::render::RenderCache;
use crate::org::limits::ApiAllocation;
use crate::org::{Edition, Org};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A client that sends nothing for this long after a reply is forgotten (`403::Unknown client`).
pub const CLIENT_IDLE: Duration = Duration::from_secs(40);
/// The longest a `/meta/connect` is held (also the `advice.timeout` sent to clients).
pub const CONNECT_HOLD: Duration = Duration::from_secs(110);
/// How long a held connect woken by a new event waits for more before answering: at high rates
/// events ride together in one reply instead of costing a round trip each, for a few ms of latency.
pub const BATCH_WINDOW: Duration = Duration::from_millis(5);
/// The window of the delivery allocation (`DailyDeliveredPlatformEvents`).
pub const DELIVERY_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// Platform-event and CDC deliveries per 24 h without the add-on (salesforce-api.md §7.1).
pub fn daily_deliveries(edition: Edition) -> u64 {
    match edition {
        Edition::Enterprise | Edition::Professional => 25_000,
        Edition::Unlimited | Edition::Performance => 50_000,
        Edition::Developer => 10_000,
    }
}

/// Concurrent CometD clients of an org (`DurableStreamingApiConcurrentClients`).
pub fn concurrent_clients(edition: Edition) -> usize {
    match edition {
        Edition::Enterprise | Edition::Professional => 1_000,
        Edition::Unlimited | Edition::Performance => 2_000,
        Edition::Developer => 20,
    }
}

/// One org's streaming allocation.
#[derive(Debug)]
pub struct OrgStreaming {
    deliveries: ApiAllocation,
}

impl OrgStreaming {
    /// Grant up to `n` deliveries at scenario time `now`; returns how many were granted.
    pub fn grant(&self, now: Duration, n: usize) -> usize {
        let (used, max) = self.deliveries.usage(now);
        let granted = (max.saturating_sub(used)).min(n as u64);
        if granted > 0 {
            self.deliveries.charge(now, granted);
        }
        granted as usize
    }

    /// Whether nothing is left to deliver with.
    pub fn exhausted(&self, now: Duration) -> bool {
        let (used, max) = self.deliveries.usage(now);
        used >= max
    }

    /// (used, max) of the rolling window.
    pub fn usage(&self, now: Duration) -> (u64, u64) {
        self.deliveries.usage(now)
    }
}

#[derive(Debug)]
pub struct Hub {
    clients: Mutex<HashMap<String, Arc<Client>>>,
    orgs: Mutex<HashMap<u16, Arc<OrgStreaming>>>,
    pub(crate) cache: RenderCache,
    seed: u64,
    counter: AtomicU64,
}

impl Hub {
    pub fn new(seed: u64) -> Hub {
        Hub {
            clients: Mutex::new(HashMap::new()),
            orgs: Mutex::new(HashMap::new()),
            cache: RenderCache::new(16_384),
            seed,
            counter: AtomicU64::new(0),
        }
    }

    /// A fresh `clientId` (26 base-36 characters, like Salesforce's), derived from the seed.
    pub fn new_client_id(&self) -> String {
        self.token("client", 26)
    }

    /// A fresh `BAYEUX_BROWSER` cookie value.
    pub fn new_browser_id(&self) -> String {
        let t = self.token("browser", 30);
        format!("{}-{}", &t[..4], &t[4..])
    }

    fn token(&self, kind: &str, len: usize) -> String {
        use sha2::Digest;
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let d = sha2::Sha256::digest(format!("{kind}:{}:{n}", self.seed).as_bytes());
        let mut v = u128::from_le_bytes(d[..16].try_into().unwrap_or([0; 16]));
        let mut s = String::with_capacity(len);
        const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
        for _ in 0..len {
            s.push(DIGITS[(v % 36) as usize] as char);
            v /= 36;
        }
        s
    }

    pub fn register(&self, client: Arc<Client>) {
        self.clients.lock().insert(client.id.clone(), client);
    }

    /// The live client with this id; expired clients are forgotten on the way.
    pub fn lookup(&self, id: &str, now: Duration) -> Option<Arc<Client>> {
        let client = self.clients.lock().get(id).cloned()?;
        if client.expired(now, CLIENT_IDLE) {
            self.remove(id);
            return None;
        }
        Some(client)
    }

    /// Forget a client; its held connects return.
    pub fn remove(&self, id: &str) {
        let removed = self.clients.lock().remove(id);
        if let Some(c) = removed {
            c.mark_gone();
        }
    }

    /// Forget every client idle past [`CLIENT_IDLE`].
    pub fn sweep(&self, now: Duration) {
        let all: Vec<Arc<Client>> = self.clients.lock().values().cloned().collect();
        for c in all {
            if c.expired(now, CLIENT_IDLE) {
                self.remove(&c.id);
            }
        }
    }

    /// Live clients of org `num`.
    pub fn client_count(&self, num: u16) -> usize {
        self.clients
            .lock()
            .values()
            .filter(|c| c.org.num == num)
            .count()
    }

    /// The streaming allocation of `org` (created with its edition's defaults on first use).
    pub fn org(&self, org: &Org) -> Arc<OrgStreaming> {
        self.orgs
            .lock()
            .entry(org.num)
            .or_insert_with(|| {
                let edition = org.config.edition;
                Arc::new(OrgStreaming {
                    deliveries: ApiAllocation::new(daily_deliveries(edition), DELIVERY_WINDOW),
                })
            })
            .clone()
    }

    /// Set an org's delivery allocation (scenarios with heavy CDC traffic raise it, as orgs buy the
    /// add-on; tests squeeze it). `used` restarts the window's usage when given.
    pub fn configure_deliveries(
        &self,
        org: &Org,
        now: Duration,
        max: u64,
        window: Duration,
        used: Option<u64>,
    ) {
        self.org(org).deliveries.configure(now, max, window, used);
    }

    /// `DailyDeliveredPlatformEvents` of an org: (used, max).
    pub fn delivery_usage(&self, org: &Org, now: Duration) -> (u64, u64) {
        self.org(org).usage(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_seeded_and_distinct() {
        let a = Hub::new(7);
        let b = Hub::new(7);
        let (x, y) = (a.new_client_id(), a.new_client_id());
        assert_ne!(x, y);
        assert_eq!(x.len(), 26);
        assert_eq!(b.new_client_id(), x);
        assert!(x
            .bytes()
            .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase()));
    }
}
