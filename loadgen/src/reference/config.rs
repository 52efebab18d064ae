//! [`Config`]: everything a reference integration reads at start — the design.md §4 environment plus
//! a few `SFCHAOS_*` extras, documented here and in the module docs of `reference`.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `SF_LOGIN_URL` … `SF_CA_FILE` | the Salesforce org (design.md §4); `SF_CA_FILE` falls back to `SSL_CERT_FILE`, `REQUESTS_CA_BUNDLE`, `NODE_EXTRA_CA_CERTS` | `SF_LOGIN_URL` required |
//! | `SFCHAOS_LISTEN` | inbound API address | required by the CLI |
//! | `SFCHAOS_SINK_URL` | downstream sink | no downstream sync |
//! | `SFCHAOS_ALERT_URL` | alert sink | alerts only logged |
//! | `SFCHAOS_STATE_DIR` | durable queue and replay positions | required unless `rollback` is on |
//! | `SFCHAOS_SEED` | seeds every random draw (retry jitter, drain backoff) | `0` |
//! | `SFCHAOS_OWNED_FIELDS`, `SFCHAOS_FOREIGN_FIELDS` | field ownership (see `ownership.rs`) | empty: the integration owns what its events carry |
//! | `SFCHAOS_PEAK`, `SFCHAOS_RUN_START` | peak windows for bulk work (see `peak.rs`) | no peak |
//! | `SFCHAOS_SYNC_OBJECTS` | objects synced downstream, comma-separated | `Account` |
//! | `SFCHAOS_POLL_INTERVAL` | SOQL/feed poll period (humantime) | `5s` |
//! | `SFCHAOS_SYNC_TIMEOUT` | how long an inline (real-time) write may take before the event is queued instead | `10s` |
//! | `SFCHAOS_RETRY` | full retry strategy string, overriding `retry=` of the profile | — |
//! | `SFCHAOS_CLIENT_NAME` | `Sforce-Call-Options: client=` (the CDC `changeOrigin`) | `sfchaos-<profile>` |

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use crate::retry::RetrySpec;
use crate::scenario::BuiltinProfile;
use crate::sf::{LoginMethod, SfConfig};

use super::behaviour::{retry_spec, Behaviour};
use super::error::ReferenceError;
use super::ownership::FieldOwnership;
use super::peak::PeakWindows;

/// The configuration of one reference integration run.
#[derive(Debug, Clone)]
pub struct Config {
    /// The profile as asked for (`naive`, `resilient?blind-retries=on`, …).
    pub profile: BuiltinProfile,
    /// The switches derived from it.
    pub behaviour: Behaviour,
    /// The retry strategy of the Salesforce write path.
    pub retry: RetrySpec,
    /// The org and credentials.
    pub sf: SfConfig,
    /// `SFCHAOS_LISTEN` (the library serves whatever listener it is given; the CLI binds this).
    pub listen: Option<SocketAddr>,
    pub sink_url: Option<String>,
    pub alert_url: Option<String>,
    pub state_dir: Option<PathBuf>,
    pub seed: u64,
    pub ownership: FieldOwnership,
    pub sync_objects: Vec<String>,
    pub peak: PeakWindows,
    pub poll_interval: Duration,
    pub sync_timeout: Duration,
    pub tuning: Tuning,
}

/// Internal pacing knobs. The defaults are what a production integration would use; tests shrink
/// them so a run takes seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Tuning {
    /// Concurrent Salesforce writers draining the queue.
    pub writers: usize,
    /// Pending upserts of one object at which writers switch from single upserts to sObject
    /// Collections (up to 200 per call).
    pub batch_threshold: usize,
    /// Longest pause between drain attempts while Salesforce is unavailable.
    pub outage_backoff_cap: Duration,
    /// How often the alert monitor evaluates its signals.
    pub alert_interval: Duration,
    /// How often a profile that fell back from CDC to polling checks whether `/cometd` answers.
    pub streaming_probe: Duration,
    /// Bulk ingest jobs are polled this often.
    pub bulk_poll: Duration,
}

impl Default for Tuning {
    fn default() -> Self {
        Self {
            writers: 4,
            batch_threshold: 20,
            outage_backoff_cap: Duration::from_secs(30),
            alert_interval: Duration::from_secs(1),
            streaming_probe: Duration::from_secs(60),
            bulk_poll: Duration::from_secs(2),
        }
    }
}

/// Per-request timeout when the profile guards against hung connections (off `availability`):
/// above a 10 s lock wait plus latency, far below Salesforce's 10-minute cut-off.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(20);
/// Salesforce's own cut-off, which is all an integration without timeouts ever gets.
pub const NO_TIMEOUT: Duration = Duration::from_secs(600);

impl Config {
    /// A configuration with defaults for `profile` against `sf` (tests build it this way).
    pub fn new(profile: BuiltinProfile, sf: SfConfig) -> Result<Self, ReferenceError> {
        let behaviour = Behaviour::from_profile(&profile);
        let retry = retry_spec(&profile, &behaviour, None)
            .map_err(|e| ReferenceError::config("retry", e.to_string()))?;
        let sf = sf.with_timeout(if behaviour.availability {
            NO_TIMEOUT
        } else {
            CALL_TIMEOUT
        });
        Ok(Self {
            profile,
            behaviour,
            retry,
            sf,
            listen: None,
            sink_url: None,
            alert_url: None,
            state_dir: None,
            seed: 0,
            ownership: FieldOwnership::default(),
            sync_objects: vec!["Account".to_string()],
            peak: PeakWindows::none(),
            poll_interval: Duration::from_secs(5),
            sync_timeout: Duration::from_secs(10),
            tuning: Tuning::default(),
        })
    }

    /// Read the environment of the process.
    pub fn from_env(
        profile: BuiltinProfile,
        retry_override: Option<&str>,
    ) -> Result<Self, ReferenceError> {
        Self::from_vars(profile, retry_override, |name| std::env::var(name).ok())
    }

    /// Read variables through `var` (tests pass a map). Empty values count as unset.
    pub fn from_vars(
        profile: BuiltinProfile,
        retry_override: Option<&str>,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ReferenceError> {
        let var = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let login_url = var("SF_LOGIN_URL")
            .ok_or_else(|| ReferenceError::config("SF_LOGIN_URL", "is not set"))?;
        let mut sf = SfConfig::new(login_url)
            .with_credentials(
                var("SF_USERNAME").unwrap_or_default(),
                var("SF_PASSWORD").unwrap_or_default(),
            )
            .with_client(
                var("SF_CLIENT_ID").unwrap_or_default(),
                var("SF_CLIENT_SECRET").unwrap_or_default(),
            );
        if let Some(url) = var("SF_INSTANCE_URL") {
            sf = sf.with_instance_url(url);
        }
        if let Some(v) = var("SF_API_VERSION") {
            sf = sf.with_api_version(&v);
        }
        let ca = [
            "SF_CA_FILE",
            "SSL_CERT_FILE",
            "REQUESTS_CA_BUNDLE",
            "NODE_EXTRA_CA_CERTS",
        ]
        .into_iter()
        .find_map(&var);
        if let Some(ca) = ca {
            sf = sf.with_ca_file(ca);
        }
        let method = login_method(&sf);
        sf = sf.with_login_method(method);
        let client_name = var("SFCHAOS_CLIENT_NAME")
            .unwrap_or_else(|| format!("sfchaos-{}", profile.base.as_str()));
        sf = sf.with_client_name(client_name);

        let mut config = Config::new(profile, sf)?;
        if let Some(text) = retry_override
            .map(str::to_string)
            .or_else(|| var("SFCHAOS_RETRY"))
        {
            config.retry = retry_spec(&config.profile, &config.behaviour, Some(&text))
                .map_err(|e| ReferenceError::config("SFCHAOS_RETRY", e.to_string()))?;
        }
        if let Some(addr) = var("SFCHAOS_LISTEN") {
            config.listen = Some(addr.trim().parse().map_err(|e| {
                ReferenceError::config("SFCHAOS_LISTEN", format!("\"{addr}\": {e}"))
            })?);
        }
        config.sink_url = var("SFCHAOS_SINK_URL");
        config.alert_url = var("SFCHAOS_ALERT_URL");
        config.state_dir = var("SFCHAOS_STATE_DIR").map(PathBuf::from);
        if let Some(seed) = var("SFCHAOS_SEED") {
            config.seed = seed.trim().parse().map_err(|_| {
                ReferenceError::config("SFCHAOS_SEED", format!("\"{seed}\" is not an integer"))
            })?;
        }
        config.ownership = FieldOwnership::parse(
            &var("SFCHAOS_OWNED_FIELDS").unwrap_or_default(),
            &var("SFCHAOS_FOREIGN_FIELDS").unwrap_or_default(),
        )
        .map_err(|e| ReferenceError::config("SFCHAOS_OWNED_FIELDS/SFCHAOS_FOREIGN_FIELDS", e))?;
        let origin = match var("SFCHAOS_RUN_START") {
            Some(ms) => {
                let ms: u64 = ms.trim().parse().map_err(|_| {
                    ReferenceError::config("SFCHAOS_RUN_START", "expected Unix epoch milliseconds")
                })?;
                SystemTime::UNIX_EPOCH + Duration::from_millis(ms)
            }
            None => SystemTime::now(),
        };
        if let Some(peak) = var("SFCHAOS_PEAK") {
            config.peak = PeakWindows::parse(&peak, origin)
                .map_err(|e| ReferenceError::config("SFCHAOS_PEAK", e))?;
        }
        if let Some(objects) = var("SFCHAOS_SYNC_OBJECTS") {
            config.sync_objects = objects
                .split(',')
                .map(str::trim)
                .filter(|o| !o.is_empty())
                .map(str::to_string)
                .collect();
        }
        if let Some(d) = var("SFCHAOS_POLL_INTERVAL") {
            config.poll_interval = duration("SFCHAOS_POLL_INTERVAL", &d)?;
        }
        if let Some(d) = var("SFCHAOS_SYNC_TIMEOUT") {
            config.sync_timeout = duration("SFCHAOS_SYNC_TIMEOUT", &d)?;
        }
        config.validate()?;
        Ok(config)
    }

    /// Checks that hold whatever the source of the configuration.
    pub fn validate(&self) -> Result<(), ReferenceError> {
        if !self.behaviour.rollback && self.state_dir.is_none() {
            return Err(ReferenceError::config(
                "SFCHAOS_STATE_DIR",
                "is not set; this profile keeps its queue on disk (set it, or toggle rollback=on)",
            ));
        }
        if self.tuning.writers == 0 {
            return Err(ReferenceError::config("writers", "must be at least 1"));
        }
        if self.poll_interval.is_zero() {
            return Err(ReferenceError::config(
                "SFCHAOS_POLL_INTERVAL",
                "must be above zero",
            ));
        }
        Ok(())
    }

    /// The seed of one component's RNG (`stream` names it), derived from `SFCHAOS_SEED` so every
    /// component draws from its own sequence and adding one never shifts another's.
    pub fn seed_for(&self, stream: &str) -> u64 {
        crate::datagen::combine(self.seed, crate::datagen::hash_str(stream))
    }
}

/// OAuth password when there is a user and an app, client credentials when there is only an app,
/// SOAP partner login when there is only a user.
fn login_method(sf: &SfConfig) -> LoginMethod {
    match (sf.username.is_empty(), sf.client_id.is_empty()) {
        (false, false) => LoginMethod::OAuthPassword,
        (true, false) => LoginMethod::ClientCredentials,
        _ => LoginMethod::SoapPartner,
    }
}

fn duration(var: &'static str, text: &str) -> Result<Duration, ReferenceError> {
    humantime::parse_duration(text.trim())
        .map_err(|e| ReferenceError::config(var, format!("\"{text}\": {e}")))
}
