//! [`SimState`]: the handle every handler and layer receives.
//!
//! It is a cheap `Arc` clone over [`Shared`]. Locking rules: the org list and app table are read-mostly
//! `RwLock`s held only for lookups; each org documents its own (see [`crate::org`]). No lock in here is
//! ever held across an `.await`.

use crate::auth::session::Sessions;
use crate::clock::SimClock;
use crate::journal::Journal;
use crate::org::{Org, OrgConfig};
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// A connected app: OAuth client credentials bound to an org.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConnectedApp {
    pub client_id: String,
    pub client_secret: String,
    pub name: String,
    pub org: u16,
    /// The user `client_credentials` runs as.
    pub run_as: String,
}

/// Simulator configuration.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Drives every random decision (tokens, fault draws, seed data).
    pub seed: u64,
    /// Where the journal file goes; `None` keeps only the in-memory ring.
    pub journal_path: Option<PathBuf>,
    /// Entries kept in memory.
    pub journal_capacity: usize,
    /// Required on `/__admin/` when set (always set when bound off loopback).
    pub admin_token: Option<String>,
    /// The default org.
    pub org: OrgConfig,
    /// Largest JSON body accepted on REST routes.
    pub max_json_body: usize,
    /// Largest Bulk 2.0 upload (150 MB, as Salesforce).
    pub max_bulk_upload: usize,
    /// Wall-clock epoch at start; `None` for the real time.
    pub epoch_ms: Option<i64>,
    pub apps: Vec<ConnectedApp>,
    /// Fault rules installed at start (a scenario's `[[faults]]`); more can be added at run time.
    pub faults: crate::faults::plan::FaultPlan,
    /// Whether [`crate::app`] installs the fault layer. Off only to measure what the layer costs.
    pub fault_layer: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 1,
            journal_path: None,
            journal_capacity: 100_000,
            admin_token: None,
            org: OrgConfig::default(),
            max_json_body: 50 * 1024 * 1024,
            max_bulk_upload: 150 * 1024 * 1024,
            epoch_ms: None,
            apps: vec![ConnectedApp {
                client_id: "sfchaos-client".into(),
                client_secret: "sfchaos-secret".into(),
                name: "sfchaos".into(),
                org: 1,
                run_as: "admin@sfchaos.test".into(),
            }],
            faults: Default::default(),
            fault_layer: true,
        }
    }
}

/// The simulator's shared state.
#[derive(Clone)]
pub struct SimState(Arc<Shared>);

pub struct Shared {
    pub config: SimConfig,
    pub clock: SimClock,
    pub journal: Journal,
    pub sessions: Sessions,
    orgs: RwLock<Vec<Arc<Org>>>,
    /// Bumped whenever an org is replaced: sessions resolved before then are resolved again (see
    /// [`SessionCache`]).
    orgs_epoch: std::sync::atomic::AtomicU64,
    apps: RwLock<HashMap<String, ConnectedApp>>,
    /// Cancelled at shutdown; background tasks and held connections watch it.
    pub shutdown: CancellationToken,
    /// Fault decisions taken inside handlers (item failures, bulk slowdowns, lock holds, streaming).
    pub faults: crate::faults::hooks::Faults,
    /// The installed fault rules (the layer, the hooks above and the admin API share it).
    pub fault_engine: Arc<crate::faults::FaultEngine>,
    /// CometD clients and each org's event-delivery allocation.
    pub streaming: crate::streaming::Hub,
    /// Bulk API 2.0 jobs of every org, and the tasks processing them.
    pub bulk: crate::bulk2::Jobs,
}

impl std::ops::Deref for SimState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl std::fmt::Debug for SimState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimState")
            .field("orgs", &self.orgs.read().len())
            .finish()
    }
}

impl SimState {
    /// Build the simulator with its default org (users, schema; no records).
    /// The fault engine (with `config.faults` installed) answers the in-handler hooks.
    pub fn new(config: SimConfig) -> std::io::Result<SimState> {
        let engine = Arc::new(crate::faults::FaultEngine::new(config.seed, &config.faults));
        let faults = crate::faults::hooks::Faults::with_engine(engine.clone());
        Self::build(config, faults, engine)
    }

    /// Build the simulator with the given in-handler fault decisions instead of the engine's (tests
    /// install their own [`crate::faults::hooks::ItemFaults`] this way); the engine still decides
    /// requests.
    pub fn with_faults(
        config: SimConfig,
        faults: crate::faults::hooks::Faults,
    ) -> std::io::Result<SimState> {
        let engine = Arc::new(crate::faults::FaultEngine::new(config.seed, &config.faults));
        Self::build(config, faults, engine)
    }

    fn build(
        config: SimConfig,
        faults: crate::faults::hooks::Faults,
        fault_engine: Arc<crate::faults::FaultEngine>,
    ) -> std::io::Result<SimState> {
        let clock = match config.epoch_ms {
            Some(ms) => SimClock::new(ms),
            None => SimClock::wall(),
        };
        let journal = Journal::new(config.journal_capacity, config.journal_path.as_deref())?;
        let now_ms = clock.now_ms();
        let org = Org::new(
            1,
            config.org.clone(),
            crate::org::standard::default_schema(),
            now_ms,
        );
        let apps = config
            .apps
            .iter()
            .map(|a| (a.client_id.clone(), a.clone()))
            .collect();
        let seed = config.seed;
        Ok(SimState(Arc::new(Shared {
            sessions: Sessions::new(config.seed),
            config,
            clock,
            journal,
            orgs: RwLock::new(vec![org]),
            orgs_epoch: Default::default(),
            apps: RwLock::new(apps),
            shutdown: CancellationToken::new(),
            streaming: crate::streaming::Hub::new(seed),
            faults,
            fault_engine,
            bulk: crate::bulk2::Jobs::default(),
        })))
    }

    /// The org with number `num` (1 is the default org).
    pub fn org(&self, num: u16) -> Option<Arc<Org>> {
        let orgs = self.orgs.read();
        orgs.get((num as usize).checked_sub(1)?).cloned()
    }

    pub fn default_org(&self) -> Arc<Org> {
        self.orgs.read()[0].clone()
    }

    pub fn orgs(&self) -> Vec<Arc<Org>> {
        self.orgs.read().clone()
    }

    /// Add an org (multi-org simulators: each org is independent). Returns it.
    pub fn add_org(&self, config: OrgConfig, schema: crate::org::schema::Schema) -> Arc<Org> {
        let mut orgs = self.orgs.write();
        let num = orgs.len() as u16 + 1;
        let org = Org::new(num, config, schema, self.clock.now_ms());
        orgs.push(org.clone());
        org
    }

    /// Replace an org with a fresh one (admin reset).
    pub fn replace_org(&self, num: u16, org: Arc<Org>) {
        let mut orgs = self.orgs.write();
        if let Some(slot) = orgs.get_mut((num as usize).saturating_sub(1)) {
            *slot = org;
        }
        self.orgs_epoch
            .fetch_add(1, std::sync::atomic::Ordering::Release);
    }

    /// Find the org and user for a username, across orgs.
    pub fn find_user(&self, username: &str) -> Option<(Arc<Org>, crate::org::UserCred)> {
        for org in self.orgs.read().iter() {
            if let Some(u) = org.user(username) {
                return Some((org.clone(), u));
            }
        }
        None
    }

    pub fn app(&self, client_id: &str) -> Option<ConnectedApp> {
        self.apps.read().get(client_id).cloned()
    }

    pub fn add_app(&self, app: ConnectedApp) {
        self.apps.write().insert(app.client_id.clone(), app);
    }

    /// Resolve a bearer token to its session and org, at the current scenario time.
    pub fn session(&self, token: &str) -> Option<SessionPair> {
        let pair = self.resolve(token)?;
        valid(self, &pair).then_some(pair)
    }

    /// The session a token names and its org, valid or not.
    fn resolve(&self, token: &str) -> Option<SessionPair> {
        let s = self.sessions.peek(token)?;
        let org = self.org(s.org)?;
        Some((s, org))
    }
}

/// Whether the session is valid now (with its org's idle timeout), marking it used when it is.
fn valid(state: &SimState, (s, org): &SessionPair) -> bool {
    s.touch(state.clock.elapsed(), org.config.session_lifetime)
}

/// A session and the org it belongs to, as a request's metadata carries them.
pub type SessionPair = (Arc<crate::auth::session::Session>, Arc<Org>);

/// The session a connection's last request named. A connection's requests nearly always carry the
/// same token, and a connection serves one request at a time: looking the token up here instead of
/// in the simulator's tables spares every request the shared locks and reference counts that both
/// worker threads would otherwise write to. Validity (revocation, expiry, idle timeout) is checked
/// on every request all the same; a replaced org (admin reset) invalidates the entry.
#[derive(Debug, Default)]
pub struct SessionCache {
    last: parking_lot::Mutex<Option<CachedSession>>,
}

#[derive(Debug)]
struct CachedSession {
    token: Box<str>,
    epoch: u64,
    pair: Arc<SessionPair>,
}

impl SessionCache {
    /// The valid session `token` names (as [`SimState::session`]), marking it used.
    pub fn session(&self, state: &SimState, token: &str) -> Option<Arc<SessionPair>> {
        let epoch = state.orgs_epoch.load(std::sync::atomic::Ordering::Acquire);
        let mut last = self.last.lock();
        let fresh = last
            .as_ref()
            .is_some_and(|c| c.epoch == epoch && *c.token == *token);
        if !fresh {
            *last = Some(CachedSession {
                token: token.into(),
                epoch,
                pair: Arc::new(state.resolve(token)?),
            });
        }
        let pair = &last.as_ref()?.pair;
        valid(state, pair).then(|| pair.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::session::SessionKind;

    fn login(state: &SimState, user: &str) -> String {
        let org = state.default_org();
        state
            .sessions
            .create(
                org.num,
                &org.id,
                1,
                user,
                None,
                SessionKind::OAuth,
                state.clock.elapsed(),
                state.clock.now_ms(),
            )
            .token
            .clone()
    }

    /// A connection's cached session answers as the simulator's tables do: another token, a
    /// revoked session and a replaced org are all seen at the next request.
    #[test]
    fn the_session_cache_follows_tokens_revocation_and_org_resets() {
        let state = SimState::new(SimConfig::default()).unwrap();
        let cache = SessionCache::default();
        let a = login(&state, "a@sfchaos.test");
        let b = login(&state, "b@sfchaos.test");
        let user = |token: &str| cache.session(&state, token).map(|p| p.0.username.clone());

        assert_eq!(user(&a).as_deref(), Some("a@sfchaos.test"));
        assert_eq!(user(&a).as_deref(), Some("a@sfchaos.test"));
        assert_eq!(user(&b).as_deref(), Some("b@sfchaos.test"));
        assert_eq!(user("00Dnot!AQsuch-a-token"), None);

        let first_org = cache.session(&state, &a).unwrap().1.clone();
        let fresh = Org::new(
            1,
            OrgConfig::default(),
            crate::org::standard::default_schema(),
            state.clock.now_ms(),
        );
        state.replace_org(1, fresh.clone());
        let after_reset = cache.session(&state, &a).unwrap().1.clone();
        assert!(!Arc::ptr_eq(&first_org, &after_reset));
        assert!(Arc::ptr_eq(&fresh, &after_reset));

        assert!(state.sessions.revoke(&a));
        assert_eq!(user(&a), None);
        assert_eq!(state.session(&a).map(|(s, _)| s.username.clone()), None);
        assert_eq!(user(&b).as_deref(), Some("b@sfchaos.test"));
    }
}
