//! Session tokens (access tokens and SOAP session ids are the same thing in Salesforce) and refresh
//! tokens.
//!
//! A session is valid until it is revoked, idles out (the org's `session_lifetime`, 2 h by default, measured
//! from last use as Salesforce's session timeout is), or passes an absolute expiry set by a `session`
//! fault. Lookups happen on every request, so the map is read-locked and the session itself is shared
//! behind an `Arc` with atomics for the parts that change.

use parking_lot::{Mutex, RwLock};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    OAuth,
    Soap,
}

/// One session.
#[derive(Debug)]
pub struct Session {
    pub token: String,
    pub org: u16,
    pub user: u64,
    pub username: String,
    /// The connected app (`client_id`) that obtained it; `None` for SOAP logins.
    pub app: Option<String>,
    pub kind: SessionKind,
    /// Issue time on the scenario clock.
    pub issued: Duration,
    /// Issue time in epoch ms (`issued_at`).
    pub issued_ms: i64,
    last_used: AtomicU64,
    revoked: AtomicBool,
    /// Absolute expiry on the scenario clock, in ms (u64::MAX for none).
    expires_at: AtomicU64,
}

impl Session {
    /// Identity string used by the journal and CDC (`username` + app).
    pub fn identity(&self) -> String {
        match &self.app {
            Some(a) => format!("{}|{}", self.username, a),
            None => format!("{}|soap", self.username),
        }
    }

    pub fn app_label(&self) -> String {
        self.app.clone().unwrap_or_else(|| "soap".to_string())
    }

    /// Whether the session is valid at scenario time `now` with idle timeout `idle`; marks it used
    /// when it is (see [`Sessions::validate`]).
    pub fn touch(&self, now: Duration, idle: Duration) -> bool {
        let now_ms = now.as_millis() as u64;
        let last_used = self.last_used.load(Ordering::Relaxed);
        if self.is_revoked()
            || now_ms >= self.expires_at.load(Ordering::Relaxed)
            || now_ms.saturating_sub(last_used) > idle.as_millis() as u64
        {
            return false;
        }
        // Most requests of a busy session arrive within the millisecond it was last used in; skip
        // the write then (every worker thread reads this line).
        if now_ms > last_used {
            self.last_used.fetch_max(now_ms, Ordering::Relaxed);
        }
        true
    }

    pub fn is_revoked(&self) -> bool {
        self.revoked.load(Ordering::Relaxed)
    }

    pub fn revoke(&self) {
        self.revoked.store(true, Ordering::Relaxed);
    }

    /// Set an absolute expiry (scenario clock).
    pub fn expire_at(&self, at: Duration) {
        self.expires_at
            .fetch_min(at.as_millis() as u64, Ordering::Relaxed);
    }
}

/// A refresh token's grant.
#[derive(Debug, Clone)]
pub struct RefreshGrant {
    pub org: u16,
    pub user: u64,
    pub username: String,
    pub app: String,
}

/// All sessions of the simulator.
#[derive(Debug)]
pub struct Sessions {
    by_token: RwLock<HashMap<String, Arc<Session>>>,
    refresh: RwLock<HashMap<String, RefreshGrant>>,
    rng: Mutex<ChaCha8Rng>,
}

impl Sessions {
    pub fn new(seed: u64) -> Sessions {
        Sessions {
            by_token: RwLock::new(HashMap::new()),
            refresh: RwLock::new(HashMap::new()),
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(seed ^ 0x5e55_1015)),
        }
    }

    fn random_string(&self, n: usize) -> String {
        const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._";
        let mut rng = self.rng.lock();
        (0..n)
            .map(|_| CHARS[rng.random_range(0..CHARS.len())] as char)
            .collect()
    }

    /// Create a session for a user; the token looks like Salesforce's (`<orgId15>!<opaque>`).
    #[allow(clippy::too_many_arguments)]
    pub fn create(
        &self,
        org: u16,
        org_id: &str,
        user: u64,
        username: &str,
        app: Option<String>,
        kind: SessionKind,
        now: Duration,
        now_ms: i64,
    ) -> Arc<Session> {
        let token = format!(
            "{}!AQ{}",
            &org_id[..15.min(org_id.len())],
            self.random_string(94)
        );
        let s = Arc::new(Session {
            token: token.clone(),
            org,
            user,
            username: username.to_string(),
            app,
            kind,
            issued: now,
            issued_ms: now_ms,
            last_used: AtomicU64::new(now.as_millis() as u64),
            revoked: AtomicBool::new(false),
            expires_at: AtomicU64::new(u64::MAX),
        });
        self.by_token.write().insert(token, s.clone());
        s
    }

    /// A refresh token for a user/app.
    pub fn create_refresh(&self, grant: RefreshGrant) -> String {
        let t = format!("5Aep8{}", self.random_string(80));
        self.refresh.write().insert(t.clone(), grant);
        t
    }

    pub fn refresh_grant(&self, token: &str) -> Option<RefreshGrant> {
        self.refresh.read().get(token).cloned()
    }

    pub fn revoke_refresh(&self, token: &str) -> bool {
        self.refresh.write().remove(token).is_some()
    }

    /// Look up a token without touching it.
    pub fn peek(&self, token: &str) -> Option<Arc<Session>> {
        self.by_token.read().get(token).cloned()
    }

    /// Validate a token at scenario time `now` with the org's idle timeout; marks it used.
    pub fn validate(&self, token: &str, now: Duration, idle: Duration) -> Option<Arc<Session>> {
        let s = self.peek(token)?;
        s.touch(now, idle).then_some(s)
    }

    /// Revoke a token (access or refresh). Returns whether it existed.
    pub fn revoke(&self, token: &str) -> bool {
        let access = self.by_token.read().get(token).cloned();
        if let Some(s) = access {
            s.revoke();
            return true;
        }
        self.revoke_refresh(token)
    }

    /// Revoke every session of an org (the `session` fault's `revoke_at`), optionally only one user's.
    pub fn revoke_all(&self, org: u16, username: Option<&str>) -> usize {
        let g = self.by_token.read();
        let mut n = 0;
        for s in g.values() {
            if s.org == org
                && username.is_none_or(|u| u.eq_ignore_ascii_case(&s.username))
                && !s.is_revoked()
            {
                s.revoke();
                n += 1;
            }
        }
        n
    }

    /// Give every live session of an org an absolute lifetime from its issue time.
    pub fn set_lifetime(&self, org: u16, lifetime: Duration) {
        for s in self.by_token.read().values() {
            if s.org == org {
                s.expire_at(s.issued + lifetime);
            }
        }
    }

    pub fn count(&self) -> usize {
        self.by_token.read().len()
    }
}
