//! The validated scenario: stage two of two, what the runner reads.
//!
//! Every default is filled in and every value checked, so the runner never re-validates:
//! durations are [`Duration`]s, counts are non-zero where zero would be meaningless, names are
//! resolved (ownership owners exist, stream windows fit in the run). Everything serializes, so
//! a report can echo the scenario it ran (durations as strings, like the file).

use std::fmt;
use std::num::{NonZeroU32, NonZeroU64};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize, Serializer};
use simulator::faults::plan::{serde_duration, serde_opt_duration, Delay, FaultPlan, Window};

use super::anti_pattern::AntiPattern;
use super::error::ScenarioError;
use super::integration::IntegrationCommand;
use super::rate::RateSpec;
use super::values::FieldSpecs;

/// One experiment: see `docs/scenarios.md` for the file format.
#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    /// The file name errors and reports use.
    pub file: String,
    pub name: String,
    pub description: String,
    /// Drives every random decision of the run; `--seed` overrides it.
    pub seed: u64,
    /// How long load runs.
    #[serde(with = "serde_duration")]
    pub duration: Duration,
    /// After load stops: time the integration gets to catch up before the org is scored.
    #[serde(with = "serde_duration")]
    pub drain: Duration,
    pub org: OrgSpec,
    pub integration: IntegrationSpec,
    pub load: Vec<LoadStream>,
    pub actors: Vec<Actor>,
    pub ownership: Ownership,
    pub faults: FaultPlan,
    /// In time order (file order for equal times).
    pub actions: Vec<Action>,
    pub expect: Expectations,
    /// The downstream system the integration delivers Salesforce changes to.
    pub sink: EndpointSpec,
    /// The on-call pager the integration posts alerts to.
    pub alerts: EndpointSpec,
    /// Declared business peak hours (each window has a duration).
    pub peak: Vec<Window>,
    /// Set by [`Scenario::shard`].
    pub shard: Option<Shard>,
    /// Set by [`Scenario::time_scaled`]: every scenario time was multiplied by this.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_scale: Option<f64>,
    /// Problems that do not stop the run, e.g. a fault window reaching past the end of load.
    /// `sfchaos validate` prints them.
    #[serde(skip)]
    pub warnings: Vec<ScenarioError>,
}

impl Scenario {
    /// Load time plus drain: when the run ends and the org is scored.
    pub fn total_duration(&self) -> Duration {
        self.duration.saturating_add(self.drain)
    }
}

/// Salesforce editions, which decide the default API allocation and long-running cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Edition {
    Enterprise,
    Unlimited,
    Performance,
    Professional,
    Developer,
}

impl Edition {
    pub fn as_str(self) -> &'static str {
        match self {
            Edition::Enterprise => "enterprise",
            Edition::Unlimited => "unlimited",
            Edition::Performance => "performance",
            Edition::Professional => "professional",
            Edition::Developer => "developer",
        }
    }

    /// The daily API allocation Salesforce gives (salesforce-api.md §9): Enterprise and
    /// Professional 100,000 + 1,000 per licence; Unlimited and Performance 100,000 + 5,000 per
    /// licence; Developer 15,000.
    pub fn daily_api_requests(self, licences: u32) -> u64 {
        let licences = u64::from(licences);
        match self {
            Edition::Enterprise | Edition::Professional => 100_000 + licences * 1_000,
            Edition::Unlimited | Edition::Performance => 100_000 + licences * 5_000,
            Edition::Developer => 15_000,
        }
    }

    /// Concurrent long-running (≥ 20 s) requests allowed: 25, or 5 in developer orgs.
    pub fn long_running_cap(self) -> u32 {
        match self {
            Edition::Developer => 5,
            _ => 25,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct OrgSpec {
    pub edition: Edition,
    pub licences: u32,
    /// The daily allocation (`Max` of `DailyApiRequests`), defaulted from edition and licences.
    pub daily_api_requests: u64,
    /// Length of the rolling window the allocation is counted over (24 h in Salesforce;
    /// shorter to squeeze a day into a test).
    #[serde(with = "serde_duration")]
    pub api_window: Duration,
    /// Requests already used when the run starts.
    pub api_usage_start: u64,
    pub long_running_cap: u32,
    /// How long a write waits for a locked row before UNABLE_TO_LOCK_ROW.
    #[serde(with = "serde_duration")]
    pub lock_wait: Duration,
    #[serde(with = "serde_duration")]
    pub session_lifetime: Duration,
    /// Without the `v`: `"62.0"`.
    pub api_version: String,
    /// Objects that publish Change Data Capture events.
    pub cdc_objects: Vec<String>,
    pub seed: Vec<SeedSpec>,
    /// A `--data` directory (schema + CSV), relative paths resolved against the scenario
    /// file's directory.
    pub data_dir: Option<PathBuf>,
}

/// Records created in the org before the run starts.
#[derive(Debug, Clone, Serialize)]
pub struct SeedSpec {
    pub object: String,
    pub count: NonZeroU32,
    pub fields: FieldSpecs,
}

#[derive(Debug, Clone, Serialize)]
pub struct IntegrationSpec {
    pub command: IntegrationCommand,
    /// How long the harness waits for `GET /healthz` to answer 200 after each start.
    #[serde(with = "serde_duration")]
    pub healthz_timeout: Duration,
    /// Extra environment variables (the contract's own variables cannot be overridden).
    pub env: IndexMap<String, String>,
    /// After SIGTERM, how long before SIGKILL.
    #[serde(with = "serde_duration")]
    pub stop_timeout: Duration,
}

/// One inbound stream of business events.
#[derive(Debug, Clone, Serialize)]
pub struct LoadStream {
    pub name: String,
    pub object: String,
    pub external_id_field: String,
    pub traffic: Traffic,
    pub keys: KeySpace,
    pub fields: FieldSpecs,
    /// Cap on events in flight for this stream (like k6's maxVUs); arrivals beyond it are
    /// counted as dropped by the generator, not queued, so the model stays open.
    pub max_in_flight: NonZeroU32,
    /// Offset from the run start.
    #[serde(with = "serde_duration")]
    pub start: Duration,
    #[serde(with = "serde_duration")]
    pub duration: Duration,
}

impl LoadStream {
    /// The `type` as written: `upsert`, `delete`, `mixed` or `batch`.
    pub fn type_name(&self) -> &'static str {
        match &self.traffic {
            Traffic::Events { mix, .. } => match mix {
                EventMix::Upsert => "upsert",
                EventMix::Delete => "delete",
                EventMix::Mixed { .. } => "mixed",
            },
            Traffic::Batches { .. } => "batch",
        }
    }
}

/// What a stream sends.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Traffic {
    /// Single events to `POST /events` at a rate.
    Events { mix: EventMix, rate: RateSpec },
    /// Batches of records to `POST /batch`.
    Batches {
        batch_size: NonZeroU32,
        schedule: BatchSchedule,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventMix {
    Upsert,
    Delete,
    /// Each event is an upsert or a delete with probability proportional to its weight.
    Mixed {
        upsert: f64,
        delete: f64,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BatchSchedule {
    /// At the stream start and every interval after.
    Every(#[serde(with = "serde_duration")] Duration),
    /// At these offsets from the run start, ascending.
    At(Vec<SerDuration>),
}

/// A [`Duration`] that serializes as a duration string, for use inside collections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct SerDuration(#[serde(with = "serde_duration")] pub Duration);

/// The external ids a stream or actor draws from: `{prefix}{index:06}` for index in the pool.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeySpace {
    pub pool: NonZeroU64,
    pub distribution: KeyDistribution,
    pub prefix: String,
    /// With `--shard I/N`, this shard owns the indices `i` with `i % N == I`.
    pub shard: Option<Shard>,
}

impl KeySpace {
    /// The external id of key `index` (a global index, `0..pool`).
    pub fn key(&self, index: u64) -> String {
        let width = digits(self.pool.get().saturating_sub(1)).max(6);
        format!("{}{index:0width$}", self.prefix)
    }

    /// How many keys this shard owns (the whole pool when not sharded).
    pub fn local_pool(&self) -> u64 {
        match self.shard {
            None => self.pool.get(),
            Some(shard) => {
                let (n, i) = (u64::from(shard.count.get()), u64::from(shard.index));
                self.pool.get() / n + u64::from(i < self.pool.get() % n)
            }
        }
    }

    /// Maps a rank drawn from `0..local_pool()` (by the distribution) to a global key index.
    pub fn global_index(&self, local: u64) -> u64 {
        match self.shard {
            None => local,
            Some(shard) => local * u64::from(shard.count.get()) + u64::from(shard.index),
        }
    }
}

fn digits(mut n: u64) -> usize {
    let mut count = 1;
    while n >= 10 {
        n /= 10;
        count += 1;
    }
    count
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyDistribution {
    Uniform,
    /// Rank r drawn with probability ∝ 1 / (r + 1)^exponent: a few hot keys.
    Zipf {
        exponent: f64,
    },
}

/// One of N disjoint slices of a scenario (`--shard I/N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Shard {
    /// 0-based.
    pub index: u32,
    pub count: NonZeroU32,
}

impl FromStr for Shard {
    type Err = String;

    /// `"I/N"` with `0 <= I < N`.
    fn from_str(text: &str) -> Result<Self, String> {
        let usage = || format!("expected I/N with 0 <= I < N, e.g. 0/4; got \"{text}\"");
        let (i, n) = text.split_once('/').ok_or_else(usage)?;
        let index: u32 = i.trim().parse().map_err(|_| usage())?;
        let count: u32 = n.trim().parse().map_err(|_| usage())?;
        let count = NonZeroU32::new(count).ok_or_else(usage)?;
        if index >= count.get() {
            return Err(usage());
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// A person or system editing Salesforce directly, competing with the integration.
#[derive(Debug, Clone, Serialize)]
pub struct Actor {
    pub name: String,
    pub object: String,
    pub fields: FieldSpecs,
    pub rate: RateSpec,
    /// `None`: edit any existing record of the object, uniformly.
    pub keys: Option<KeySpace>,
    pub external_id_field: String,
    /// The actor's identity in the org (journal `client`, record `LastModifiedBy`).
    pub username: String,
    #[serde(with = "serde_duration")]
    pub start: Duration,
    #[serde(with = "serde_duration")]
    pub duration: Duration,
}

/// Who owns which field: the data-ownership scorer flags writes by anyone else.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(transparent)]
pub struct Ownership(pub IndexMap<FieldRef, Owner>);

impl Ownership {
    pub fn owner_of(&self, object: &str, field: &str) -> Option<&Owner> {
        self.0
            .iter()
            .find(|(f, _)| f.object == object && f.field == field)
            .map(|(_, owner)| owner)
    }
}

/// `Object.Field`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldRef {
    pub object: String,
    pub field: String,
}

impl fmt::Display for FieldRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.object, self.field)
    }
}

impl Serialize for FieldRef {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Owner {
    Integration,
    Actor(String),
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Owner::Integration => f.write_str("integration"),
            Owner::Actor(name) => f.write_str(name),
        }
    }
}

/// A lifecycle event applied to the integration during the run.
#[derive(Debug, Clone, Serialize)]
pub struct Action {
    #[serde(with = "serde_duration")]
    pub at: Duration,
    pub kind: ActionKind,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActionKind {
    /// SIGKILL, then start again.
    CrashRestart,
    /// SIGTERM, wait up to `stop_timeout`, then start again.
    Restart,
    /// Graceful stop, then start this command instead.
    Deploy { command: IntegrationCommand },
    /// Graceful stop, then start the command that ran before the latest deploy.
    Rollback,
    /// SIGSTOP: the process is frozen but keeps its sockets.
    Pause,
    /// SIGCONT.
    Resume,
}

impl ActionKind {
    pub fn name(&self) -> &'static str {
        match self {
            ActionKind::CrashRestart => "crash-restart",
            ActionKind::Restart => "restart",
            ActionKind::Deploy { .. } => "deploy",
            ActionKind::Rollback => "rollback",
            ActionKind::Pause => "pause",
            ActionKind::Resume => "resume",
        }
    }
}

/// What must hold for the run to pass (exit 0). Absent keys are not checked.
#[derive(Debug, Clone, Serialize)]
pub struct Expectations {
    /// Minimum score (0–100) per anti-pattern. An anti-pattern the run did not exercise fails
    /// its expectation: a scenario that expects a score must exercise it.
    pub min_score: IndexMap<AntiPattern, u8>,
    /// Most accepted events allowed to never land.
    pub lost: Option<u64>,
    pub duplicates: Option<u64>,
    pub wrong_value: Option<u64>,
    /// Highest allowed p99 of inbound event latency (corrected for coordinated omission).
    #[serde(with = "serde_opt_duration")]
    pub max_p99: Option<Duration>,
    /// Achieved / target event rate, in (0, 1].
    pub min_achieved_rate: Option<f64>,
    /// Highest allowed share of events the integration rejected, in [0, 1].
    pub max_error_rate: Option<f64>,
    /// Points an anti-pattern score may fall below a `--baseline` report before the run fails.
    pub baseline_margin: u8,
}

/// A harness HTTP endpoint that the integration calls, with its own faults.
#[derive(Debug, Clone, Serialize)]
pub struct EndpointSpec {
    /// Share of requests answered with `error_status`.
    pub error_probability: f64,
    pub error_status: u16,
    pub latency: Option<Delay>,
    /// Windows in which every request gets `error_status` (each has a duration).
    pub outages: Vec<Window>,
}

impl Default for EndpointSpec {
    fn default() -> Self {
        Self {
            error_probability: 0.0,
            error_status: 503,
            latency: None,
            outages: Vec::new(),
        }
    }
}

impl EndpointSpec {
    /// Whether the endpoint always answers promptly with success.
    pub fn is_healthy(&self) -> bool {
        self.error_probability == 0.0 && self.latency.is_none() && self.outages.is_empty()
    }
}
