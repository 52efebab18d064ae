//! One Salesforce org: schema and records, users, the daily API allocation and the change log.
//!
//! # Locking
//!
//! [`Org::data`] is a `parking_lot::RwLock` that is **never held across an `.await`**: handlers take it,
//! do their in-memory work and drop it before any wait (row-lock waits, injected delays, bulk pacing happen
//! outside it). Reads take the read lock, so GETs and queries run in parallel.

pub mod capacity;
pub mod changes;
pub mod data;
pub mod ids;
pub mod limits;
pub mod locks;
pub mod schema;
pub mod seed;
pub mod soql;
pub mod standard;
pub mod store;
pub mod value;
pub mod write;

use changes::{Change, ChangeLog};
use ids::RecordId;
use limits::ApiAllocation;
use parking_lot::{Mutex, RwLock};
use schema::Schema;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use store::{OrgData, Writer};
use value::Value;

/// Salesforce editions, for the default daily allocation and long-running cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Edition {
    #[default]
    Enterprise,
    Unlimited,
    Performance,
    Professional,
    Developer,
}

impl Edition {
    /// 100,000 + licences × 1,000 (EE/PE), + licences × 5,000 (UE/PXE), 15,000 for Developer.
    pub fn daily_api_requests(self, licences: u64) -> u64 {
        match self {
            Edition::Enterprise | Edition::Professional => 100_000 + licences * 1_000,
            Edition::Unlimited | Edition::Performance => 100_000 + licences * 5_000,
            Edition::Developer => 15_000,
        }
    }

    pub fn long_running_cap(self) -> u32 {
        match self {
            Edition::Developer => 5,
            _ => 25,
        }
    }
}

/// Configuration of one org.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrgConfig {
    pub name: String,
    pub edition: Edition,
    pub daily_api_requests: u64,
    /// Length of the rolling window of the daily allocation (24 h in production).
    #[serde(with = "humantime_serde_compat")]
    pub api_window: Duration,
    pub api_usage_start: u64,
    /// Idle timeout of sessions (2 h by default).
    #[serde(with = "humantime_serde_compat")]
    pub session_lifetime: Duration,
    /// How long a write waits for a locked row before UNABLE_TO_LOCK_ROW.
    #[serde(with = "humantime_serde_compat")]
    pub lock_wait: Duration,
    /// Concurrent requests running ≥ 20 s allowed per org.
    pub long_running_cap: u32,
    /// Objects with Change Data Capture enabled.
    pub cdc_objects: Vec<String>,
    /// Changes retained in memory for streaming replay.
    pub change_log_capacity: usize,
    pub admin_username: String,
    pub admin_password: String,
    pub security_token: Option<String>,
    /// Processing capacity and Bulk pacing: how batch work competes with real-time work.
    #[serde(default)]
    pub contention: capacity::ContentionConfig,
}

impl Default for OrgConfig {
    fn default() -> Self {
        OrgConfig {
            name: "sfchaos".into(),
            edition: Edition::Enterprise,
            daily_api_requests: Edition::Enterprise.daily_api_requests(15),
            api_window: Duration::from_secs(24 * 3600),
            api_usage_start: 0,
            session_lifetime: Duration::from_secs(2 * 3600),
            lock_wait: Duration::from_secs(10),
            long_running_cap: 25,
            cdc_objects: ["Account", "Contact", "Opportunity", "Lead", "Case"]
                .into_iter()
                .map(String::from)
                .collect(),
            change_log_capacity: 1_000_000,
            admin_username: "admin@sfchaos.test".into(),
            admin_password: "sfchaos".into(),
            security_token: None,
            contention: capacity::ContentionConfig::default(),
        }
    }
}

/// Serde helpers for durations as humantime strings (`"10s"`).
pub mod humantime_serde_compat {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        humantime::parse_duration(&s).map_err(serde::de::Error::custom)
    }
}

/// A user's login credentials.
#[derive(Debug, Clone)]
pub struct UserCred {
    pub num: u64,
    pub username: String,
    pub password: String,
    pub security_token: Option<String>,
    pub active: bool,
}

/// One org.
#[derive(Debug)]
pub struct Org {
    pub num: u16,
    /// The 18-character organization id (`00D…`).
    pub id: String,
    /// Fixed for the org's life (an admin reset replaces the org).
    pub config: OrgConfig,
    pub data: RwLock<OrgData>,
    pub allocation: ApiAllocation,
    pub changes: ChangeLog,
    users: RwLock<HashMap<String, UserCred>>,
    txn_counter: AtomicU64,
    /// Open query cursors (the query module's locator store).
    pub cursors: Mutex<crate::rest::query::Cursors>,
    /// Row locks held by in-flight writes.
    pub locks: Arc<locks::RowLocks>,
    /// Processing slots shared by real-time writes and Bulk work (see [`capacity`]).
    pub capacity: capacity::Capacity,
}

impl Org {
    pub fn new(num: u16, config: OrgConfig, schema: Schema, now_ms: i64) -> Arc<Org> {
        let org = Org {
            num,
            id: RecordId::new("00D", num, 1).to18(),
            allocation: ApiAllocation::new(config.daily_api_requests, config.api_window),
            changes: ChangeLog::new(config.change_log_capacity),
            data: RwLock::new(OrgData::new(schema, num)),
            users: RwLock::new(HashMap::new()),
            txn_counter: AtomicU64::new(1),
            cursors: Mutex::new(Default::default()),
            locks: locks::RowLocks::new(),
            capacity: capacity::Capacity::new(config.contention.processing_slots),
            config: config.clone(),
        };
        if config.api_usage_start > 0 {
            org.allocation
                .charge(Duration::ZERO, config.api_usage_start);
        }
        org.add_user(
            &config.admin_username,
            &config.admin_password,
            "Admin",
            "User",
            now_ms,
        );
        Arc::new(org)
    }

    /// Create a user record and its credentials; returns the user's row number.
    pub fn add_user(
        &self,
        username: &str,
        password: &str,
        first: &str,
        last: &str,
        now_ms: i64,
    ) -> u64 {
        if let Some(u) = self.users.read().get(&username.to_lowercase()) {
            return u.num;
        }
        let token = self.config.security_token.clone();
        let mut data = self.data.write();
        let Some(uo) = data.schema.object_index("User") else {
            return 0;
        };
        let o = &data.schema.objects[uo];
        let alias: String = format!("{}{}", &first.chars().next().unwrap_or('u'), last)
            .chars()
            .take(8)
            .collect();
        let mut fields = Vec::new();
        for (name, v) in [
            ("Username", username.to_string()),
            ("LastName", last.to_string()),
            ("FirstName", first.to_string()),
            ("Email", username.to_string()),
            ("Alias", alias),
        ] {
            if let Some(fi) = o.field_index(name) {
                fields.push((fi, Value::str(v)));
            }
        }
        // Users are created by the first user (themselves, for the first one).
        let writer = Writer {
            user: 1,
            origin: String::new(),
            client: "system".into(),
        };
        let mut txn = data.txn();
        let id = txn.insert(uo, fields, &writer, now_ms);
        let _ = txn.commit();
        drop(data);
        self.users.write().insert(
            username.to_lowercase(),
            UserCred {
                num: id.num,
                username: username.to_string(),
                password: password.to_string(),
                security_token: token,
                active: true,
            },
        );
        id.num
    }

    /// Check a password (optionally followed by the security token). Returns the user's row number.
    pub fn check_password(&self, username: &str, password: &str) -> Option<u64> {
        let users = self.users.read();
        let u = users.get(&username.to_lowercase())?;
        if !u.active {
            return None;
        }
        let ok = password == u.password
            || u.security_token
                .as_ref()
                .is_some_and(|t| password == format!("{}{}", u.password, t));
        ok.then_some(u.num)
    }

    pub fn user(&self, username: &str) -> Option<UserCred> {
        self.users.read().get(&username.to_lowercase()).cloned()
    }

    pub fn username_of(&self, num: u64) -> Option<String> {
        self.users
            .read()
            .values()
            .find(|u| u.num == num)
            .map(|u| u.username.clone())
    }

    /// A text field of a user's record (`Name`, `Email`, `FirstName`…).
    pub fn user_field(&self, num: u64, field: &str) -> Option<String> {
        let data = self.data.read();
        let uo = data.schema.object_index("User")?;
        let row = data.row(uo, num)?;
        let fi = data.schema.objects[uo].field_index(field)?;
        data.value(uo, row, fi).as_str().map(str::to_string)
    }

    pub fn usernames(&self) -> Vec<String> {
        self.users
            .read()
            .values()
            .map(|u| u.username.clone())
            .collect()
    }

    /// Publish committed changes as one transaction (one CDC `transactionKey` and `commitNumber`).
    pub fn publish(&self, changes: Vec<Change>) -> Vec<Arc<Change>> {
        if changes.is_empty() {
            return vec![];
        }
        let n = self.txn_counter.fetch_add(1, Ordering::Relaxed);
        self.changes.publish(changes, n)
    }

    /// Whether CDC is enabled for an object.
    pub fn cdc_enabled(&self, object: &str) -> bool {
        self.config
            .cdc_objects
            .iter()
            .any(|o| o.eq_ignore_ascii_case(object) || o == "*")
    }
}
