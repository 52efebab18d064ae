//! Validated fault rules: what the engine reads.
//!
//! Every value here has been checked: durations are parsed, probabilities lie in `[0, 1]`,
//! counts are non-zero, enums replace strings. The engine can match on these without
//! re-checking anything.

use std::fmt;
use std::num::{NonZeroU32, NonZeroU64};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::delay::Delay;
use super::duration::{format_duration, serde_duration, serde_opt_duration};
use super::route::RoutePattern;

/// The fault kinds of design.md §6; the kebab-case name is what users write as `kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    Latency,
    Error,
    Outage,
    RateLimit,
    Session,
    LockContention,
    PartialFailure,
    SchemaChange,
    BulkSlowdown,
    Connection,
    Streaming,
}

impl FaultKind {
    pub const ALL: [FaultKind; 11] = [
        FaultKind::Latency,
        FaultKind::Error,
        FaultKind::Outage,
        FaultKind::RateLimit,
        FaultKind::Session,
        FaultKind::LockContention,
        FaultKind::PartialFailure,
        FaultKind::SchemaChange,
        FaultKind::BulkSlowdown,
        FaultKind::Connection,
        FaultKind::Streaming,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::Latency => "latency",
            FaultKind::Error => "error",
            FaultKind::Outage => "outage",
            FaultKind::RateLimit => "rate-limit",
            FaultKind::Session => "session",
            FaultKind::LockContention => "lock-contention",
            FaultKind::PartialFailure => "partial-failure",
            FaultKind::SchemaChange => "schema-change",
            FaultKind::BulkSlowdown => "bulk-slowdown",
            FaultKind::Connection => "connection",
            FaultKind::Streaming => "streaming",
        }
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One validated rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FaultRule {
    /// Unique within a plan; `{kind}-{index}` when the file gives none.
    pub id: String,
    pub name: Option<String>,
    pub window: Window,
    pub scope: Scope,
    /// Which matching requests are affected. Kinds that change the org's state rather than
    /// single requests (rate-limit, session, schema-change, most streaming modes) always use
    /// `Probability(1.0)`.
    pub trigger: Trigger,
    pub effect: FaultEffect,
}

impl FaultRule {
    pub fn kind(&self) -> FaultKind {
        self.effect.kind()
    }

    /// A one-line description for summaries: `outage-0  outage http-503  60s..1m 30s`.
    pub fn describe(&self) -> String {
        let mut text = format!("{}  {}", self.id, self.effect);
        let scope = self.scope.to_string();
        if !scope.is_empty() {
            text.push_str("  ");
            text.push_str(&scope);
        }
        if self.trigger != Trigger::ALWAYS {
            text.push_str("  ");
            text.push_str(&self.trigger.to_string());
        }
        text.push_str("  ");
        text.push_str(&self.window.to_string());
        text
    }
}

/// When a rule is active, as offsets from the start of the run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Window {
    #[serde(with = "serde_duration")]
    pub start: Duration,
    /// `None`: until the end of the run.
    #[serde(with = "serde_opt_duration")]
    pub duration: Option<Duration>,
}

impl Window {
    /// The whole run.
    pub const ALWAYS: Window = Window {
        start: Duration::ZERO,
        duration: None,
    };

    pub fn new(start: Duration, duration: Option<Duration>) -> Self {
        Self { start, duration }
    }

    /// The end offset, or `None` if the window lasts until the end of the run.
    pub fn end(&self) -> Option<Duration> {
        self.duration.map(|d| self.start.saturating_add(d))
    }

    pub fn contains(&self, elapsed: Duration) -> bool {
        elapsed >= self.start && self.end().is_none_or(|end| elapsed < end)
    }

    pub fn overlaps(&self, other: &Window) -> bool {
        let starts_before_other_ends = other.end().is_none_or(|end| self.start < end);
        let other_starts_before_end = self.end().is_none_or(|end| other.start < end);
        starts_before_other_ends && other_starts_before_end
    }

    /// Whether this window covers all of `other`.
    pub fn covers(&self, other: &Window) -> bool {
        self.start <= other.start
            && match (self.end(), other.end()) {
                (None, _) => true,
                (Some(_), None) => false,
                (Some(mine), Some(theirs)) => mine >= theirs,
            }
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.start.is_zero(), self.end()) {
            (true, None) => f.write_str("whole run"),
            (false, None) => write!(f, "from {}", format_duration(self.start)),
            (_, Some(end)) => write!(
                f,
                "{}..{}",
                format_duration(self.start),
                format_duration(end)
            ),
        }
    }
}

/// Which requests a rule looks at. An empty list means "any".
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Scope {
    pub apis: Vec<ApiFamily>,
    pub objects: Vec<String>,
    pub route: Option<RoutePattern>,
    pub clients: Vec<String>,
    pub methods: Vec<HttpMethod>,
}

impl Scope {
    pub fn is_everything(&self) -> bool {
        self.apis.is_empty()
            && self.objects.is_empty()
            && self.route.is_none()
            && self.clients.is_empty()
            && self.methods.is_empty()
    }

    /// Whether a request with these attributes is in scope. `object` is `None` for requests
    /// that touch no sObject (login, limits, versions); such requests only match a scope
    /// without an object filter.
    pub fn matches(
        &self,
        api: ApiFamily,
        object: Option<&str>,
        path: &str,
        client: &str,
        method: HttpMethod,
    ) -> bool {
        (self.apis.is_empty() || self.apis.contains(&api))
            && (self.objects.is_empty()
                || object.is_some_and(|o| self.objects.iter().any(|x| x == o)))
            && self.route.as_ref().is_none_or(|route| route.matches(path))
            && (self.clients.is_empty() || self.clients.iter().any(|c| c == client))
            && (self.methods.is_empty() || self.methods.contains(&method))
    }

    /// Whether some request could be in both scopes. Route patterns are compared
    /// conservatively: two different patterns are assumed to overlap unless neither can match
    /// below the other's literal prefix.
    pub fn overlaps(&self, other: &Scope) -> bool {
        fn lists<T: PartialEq>(a: &[T], b: &[T]) -> bool {
            a.is_empty() || b.is_empty() || a.iter().any(|x| b.contains(x))
        }
        let routes = match (&self.route, &other.route) {
            (Some(a), Some(b)) => a.may_overlap(b),
            _ => true,
        };
        lists(&self.apis, &other.apis)
            && lists(&self.objects, &other.objects)
            && lists(&self.clients, &other.clients)
            && lists(&self.methods, &other.methods)
            && routes
    }

    /// Whether every request in `other` is also in this scope.
    pub fn covers(&self, other: &Scope) -> bool {
        fn list<T: PartialEq>(mine: &[T], theirs: &[T]) -> bool {
            mine.is_empty() || (!theirs.is_empty() && theirs.iter().all(|x| mine.contains(x)))
        }
        let routes = match (&self.route, &other.route) {
            (None, _) => true,
            (Some(mine), Some(theirs)) => mine == theirs,
            (Some(_), None) => false,
        };
        list(&self.apis, &other.apis)
            && list(&self.objects, &other.objects)
            && list(&self.clients, &other.clients)
            && list(&self.methods, &other.methods)
            && routes
    }
}

impl fmt::Display for Scope {
    /// `api=rest,bulk object=Account route=/services/**`, empty for the whole surface.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if !self.apis.is_empty() {
            let apis: Vec<_> = self.apis.iter().map(|a| a.as_str()).collect();
            parts.push(format!("api={}", apis.join(",")));
        }
        if !self.objects.is_empty() {
            parts.push(format!("object={}", self.objects.join(",")));
        }
        if let Some(route) = &self.route {
            parts.push(format!("route={route}"));
        }
        if !self.clients.is_empty() {
            parts.push(format!("client={}", self.clients.join(",")));
        }
        if !self.methods.is_empty() {
            let methods: Vec<_> = self.methods.iter().map(|m| m.as_str()).collect();
            parts.push(format!("method={}", methods.join(",")));
        }
        f.write_str(&parts.join(" "))
    }
}

/// The API families a request can belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ApiFamily {
    Rest,
    Soap,
    Oauth,
    Composite,
    Bulk,
    Streaming,
}

impl ApiFamily {
    pub const ALL: [ApiFamily; 6] = [
        ApiFamily::Rest,
        ApiFamily::Soap,
        ApiFamily::Oauth,
        ApiFamily::Composite,
        ApiFamily::Bulk,
        ApiFamily::Streaming,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ApiFamily::Rest => "rest",
            ApiFamily::Soap => "soap",
            ApiFamily::Oauth => "oauth",
            ApiFamily::Composite => "composite",
            ApiFamily::Bulk => "bulk",
            ApiFamily::Streaming => "streaming",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|api| api.as_str() == text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    Get,
    Post,
    Put,
    Patch,
    Delete,
    Head,
    Options,
}

impl HttpMethod {
    pub const ALL: [HttpMethod; 7] = [
        HttpMethod::Get,
        HttpMethod::Post,
        HttpMethod::Put,
        HttpMethod::Patch,
        HttpMethod::Delete,
        HttpMethod::Head,
        HttpMethod::Options,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Patch => "PATCH",
            HttpMethod::Delete => "DELETE",
            HttpMethod::Head => "HEAD",
            HttpMethod::Options => "OPTIONS",
        }
    }

    /// Case-insensitive: `get` and `GET` are the same method.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(text))
    }

    /// Writes change data; reads (GET/HEAD/OPTIONS) still work in read-only maintenance.
    pub fn is_write(self) -> bool {
        matches!(
            self,
            HttpMethod::Post | HttpMethod::Put | HttpMethod::Patch | HttpMethod::Delete
        )
    }
}

/// Which of the requests in scope and window a rule affects.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trigger {
    /// Each matching request independently, drawn from the rule's seeded RNG.
    Probability(f64),
    /// The first N matching requests in the window.
    First(NonZeroU64),
    /// Every Nth matching request (the Nth, 2Nth, …).
    Every(NonZeroU64),
}

impl Trigger {
    pub const ALWAYS: Trigger = Trigger::Probability(1.0);
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trigger::Probability(p) => write!(f, "p={p}"),
            Trigger::First(n) => write!(f, "first {n}"),
            Trigger::Every(n) => write!(f, "every {n}th"),
        }
    }
}

/// What a rule does, with its kind-specific parameters.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultEffect {
    Latency(LatencyFault),
    Error(ErrorFault),
    Outage(OutageFault),
    RateLimit(RateLimitFault),
    Session(SessionExpiry),
    LockContention(LockContentionFault),
    PartialFailure(PartialFailureFault),
    SchemaChange(SchemaChange),
    BulkSlowdown(BulkSlowdownFault),
    Connection(ConnectionFault),
    Streaming(StreamingFault),
}

impl FaultEffect {
    pub fn kind(&self) -> FaultKind {
        match self {
            FaultEffect::Latency(_) => FaultKind::Latency,
            FaultEffect::Error(_) => FaultKind::Error,
            FaultEffect::Outage(_) => FaultKind::Outage,
            FaultEffect::RateLimit(_) => FaultKind::RateLimit,
            FaultEffect::Session(_) => FaultKind::Session,
            FaultEffect::LockContention(_) => FaultKind::LockContention,
            FaultEffect::PartialFailure(_) => FaultKind::PartialFailure,
            FaultEffect::SchemaChange(_) => FaultKind::SchemaChange,
            FaultEffect::BulkSlowdown(_) => FaultKind::BulkSlowdown,
            FaultEffect::Connection(_) => FaultKind::Connection,
            FaultEffect::Streaming(_) => FaultKind::Streaming,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatencyFault {
    pub delay: Delay,
    pub per: LatencyUnit,
}

/// Whether a latency is added once per request or per KiB of response body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LatencyUnit {
    Request,
    Kb,
}

/// A Salesforce-shaped error response: `[{"message", "errorCode"}]` with this status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorFault {
    pub status: u16,
    pub error_code: String,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct OutageFault {
    pub mode: OutageMode,
    /// Status of failed writes in `read-only-maintenance` (undocumented by Salesforce, 503 by
    /// default); 503 for `http-503`; unused by the connection-level modes.
    pub status: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutageMode {
    /// 503 with a SERVER_UNAVAILABLE body.
    #[serde(rename = "http-503")]
    Http503,
    /// The request is read, then the connection is reset (TCP RST).
    Reset,
    /// New connections are refused, as if the listener were closed.
    Refuse,
    /// No response until the client gives up.
    Hang,
    /// Reads work; writes fail with INSERT_UPDATE_DELETE_NOT_ALLOWED_DURING_MAINTENANCE.
    ReadOnlyMaintenance,
}

impl OutageMode {
    pub const ALL: [OutageMode; 5] = [
        OutageMode::Http503,
        OutageMode::Reset,
        OutageMode::Refuse,
        OutageMode::Hang,
        OutageMode::ReadOnlyMaintenance,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OutageMode::Http503 => "http-503",
            OutageMode::Reset => "reset",
            OutageMode::Refuse => "refuse",
            OutageMode::Hang => "hang",
            OutageMode::ReadOnlyMaintenance => "read-only-maintenance",
        }
    }
}

/// Overrides of the org's API limits while the rule's window is open. `None` keeps the org's
/// own value (from `[org]`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RateLimitFault {
    /// The daily allocation (`Max` in `/limits` and `Sforce-Limit-Info`).
    pub daily_max: Option<u64>,
    /// `Remaining` when the window opens.
    pub remaining: Option<u64>,
    /// Length of the rolling window the daily allocation is counted over.
    #[serde(with = "serde_opt_duration")]
    pub window: Option<Duration>,
    /// A cap on matching requests per short window (applies to the rule's scope only).
    pub per_window: Option<RequestCap>,
    /// Cap on concurrent long-running requests (25 in production orgs, 5 in developer orgs).
    pub concurrent_long_running: Option<NonZeroU32>,
    /// How long a request must run to count as long-running.
    #[serde(with = "serde_duration")]
    pub long_running_threshold: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RequestCap {
    pub requests: NonZeroU32,
    #[serde(with = "serde_duration")]
    pub window: Duration,
}

/// How sessions end: 401 INVALID_SESSION_ID afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SessionExpiry {
    /// Tokens expire this long after they were issued.
    Lifetime(#[serde(with = "serde_duration")] Duration),
    /// Every token in scope is revoked at this offset from the run start.
    RevokeAt(#[serde(with = "serde_duration")] Duration),
}

/// A matching write finds its rows locked by another transaction that keeps them for `hold`.
/// It waits up to `wait`: if the lock is released in time the write succeeds after `hold`,
/// otherwise it fails with UNABLE_TO_LOCK_ROW after `wait`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LockContentionFault {
    /// Objects whose rows are locked; empty: any object in scope.
    pub objects: Vec<String>,
    #[serde(with = "serde_duration")]
    pub hold: Duration,
    /// `None`: the org's `lock_wait` (10 s by default).
    #[serde(with = "serde_opt_duration")]
    pub wait: Option<Duration>,
}

/// Per-record failures inside collections, composite and Bulk 2.0 requests. A record fails if
/// it is selected by `fraction`, `rows` or `keys` (any of them).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PartialFailureFault {
    /// Share of the records in an affected request that fail, drawn per record.
    pub fraction: Option<f64>,
    /// 1-based record positions within a request (or a Bulk 2.0 job's CSV) that fail.
    pub rows: Vec<NonZeroU32>,
    /// External ids whose records fail.
    pub keys: Vec<String>,
    /// Error codes used for failed records, cycled in order.
    pub error_codes: Vec<String>,
}

/// A schema change applied at the rule's window start and kept for the rest of the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "change")]
pub enum SchemaChange {
    RenameField {
        object: String,
        field: String,
        to: String,
    },
    RemoveField {
        object: String,
        field: String,
    },
    AddRequiredField {
        object: String,
        field: String,
        field_type: FieldType,
    },
    RestrictPicklist {
        object: String,
        field: String,
        values: Vec<String>,
    },
    ShortenLength {
        object: String,
        field: String,
        length: NonZeroU32,
    },
    DeactivateObject {
        object: String,
    },
}

impl SchemaChange {
    pub fn object(&self) -> &str {
        match self {
            SchemaChange::RenameField { object, .. }
            | SchemaChange::RemoveField { object, .. }
            | SchemaChange::AddRequiredField { object, .. }
            | SchemaChange::RestrictPicklist { object, .. }
            | SchemaChange::ShortenLength { object, .. }
            | SchemaChange::DeactivateObject { object } => object,
        }
    }

    /// The field changed, or `None` when the whole object is.
    pub fn field(&self) -> Option<&str> {
        match self {
            SchemaChange::RenameField { field, .. }
            | SchemaChange::RemoveField { field, .. }
            | SchemaChange::AddRequiredField { field, .. }
            | SchemaChange::RestrictPicklist { field, .. }
            | SchemaChange::ShortenLength { field, .. } => Some(field),
            SchemaChange::DeactivateObject { .. } => None,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            SchemaChange::RenameField { .. } => "rename-field",
            SchemaChange::RemoveField { .. } => "remove-field",
            SchemaChange::AddRequiredField { .. } => "add-required-field",
            SchemaChange::RestrictPicklist { .. } => "restrict-picklist",
            SchemaChange::ShortenLength { .. } => "shorten-length",
            SchemaChange::DeactivateObject { .. } => "deactivate-object",
        }
    }
}

/// Salesforce field types a schema change can add.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FieldType {
    String,
    Textarea,
    Picklist,
    Double,
    Int,
    Currency,
    Percent,
    Boolean,
    Date,
    Datetime,
    Email,
    Phone,
    Url,
}

impl FieldType {
    pub const ALL: [FieldType; 13] = [
        FieldType::String,
        FieldType::Textarea,
        FieldType::Picklist,
        FieldType::Double,
        FieldType::Int,
        FieldType::Currency,
        FieldType::Percent,
        FieldType::Boolean,
        FieldType::Date,
        FieldType::Datetime,
        FieldType::Email,
        FieldType::Phone,
        FieldType::Url,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::String => "string",
            FieldType::Textarea => "textarea",
            FieldType::Picklist => "picklist",
            FieldType::Double => "double",
            FieldType::Int => "int",
            FieldType::Currency => "currency",
            FieldType::Percent => "percent",
            FieldType::Boolean => "boolean",
            FieldType::Date => "date",
            FieldType::Datetime => "datetime",
            FieldType::Email => "email",
            FieldType::Phone => "phone",
            FieldType::Url => "url",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BulkSlowdownFault {
    /// Jobs stay `InProgress` this much longer than they otherwise would.
    Extra(#[serde(with = "serde_duration")] Duration),
    /// Jobs end `Failed` with this `errorMessage`.
    Fail { error_message: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConnectionFault {
    /// The response body trickles out at this many bytes per second.
    SlowBody { bytes_per_sec: NonZeroU32 },
    /// The connection closes after this many body bytes.
    Truncate { after_bytes: u64 },
    /// The body is cut and mangled so that it no longer parses as JSON.
    MalformedJson,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StreamingFault {
    /// `/meta/connect` answers `403::Unknown client`, forcing a new handshake.
    Rehandshake,
    /// Events are not delivered; the subscriber sees a gap in replay ids (and a CDC GAP event).
    DropEvents(DropEvents),
    /// The daily event-delivery allocation is used up: deliveries stop with an error.
    ExhaustAllocation,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DropEvents {
    /// The next N events after the window opens.
    Count(NonZeroU32),
    /// Each event independently with this probability.
    Fraction(f64),
}

impl fmt::Display for FaultEffect {
    /// The kind and its main parameters: `outage http-503`, `latency lognormal(80ms, p99 900ms)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = self.kind();
        match self {
            FaultEffect::Latency(l) => match l.per {
                LatencyUnit::Request => write!(f, "{kind} {}", l.delay),
                LatencyUnit::Kb => write!(f, "{kind} {} per KiB", l.delay),
            },
            FaultEffect::Error(e) => write!(f, "{kind} {} {}", e.status, e.error_code),
            FaultEffect::Outage(o) => write!(f, "{kind} {}", o.mode.as_str()),
            FaultEffect::RateLimit(r) => {
                write!(f, "{kind}")?;
                if let Some(max) = r.daily_max {
                    write!(f, " daily_max={max}")?;
                }
                if let Some(remaining) = r.remaining {
                    write!(f, " remaining={remaining}")?;
                }
                if let Some(window) = r.window {
                    write!(f, " window={}", format_duration(window))?;
                }
                if let Some(cap) = r.per_window {
                    write!(f, " {}/{}", cap.requests, format_duration(cap.window))?;
                }
                if let Some(cap) = r.concurrent_long_running {
                    write!(f, " long-running<={cap}")?;
                }
                Ok(())
            }
            FaultEffect::Session(SessionExpiry::Lifetime(d)) => {
                write!(f, "{kind} lifetime {}", format_duration(*d))
            }
            FaultEffect::Session(SessionExpiry::RevokeAt(t)) => {
                write!(f, "{kind} revoke at {}", format_duration(*t))
            }
            FaultEffect::LockContention(l) => {
                write!(f, "{kind} hold {}", format_duration(l.hold))?;
                if !l.objects.is_empty() {
                    write!(f, " on {}", l.objects.join(","))?;
                }
                Ok(())
            }
            FaultEffect::PartialFailure(p) => {
                write!(f, "{kind}")?;
                if let Some(fraction) = p.fraction {
                    write!(f, " fraction={fraction}")?;
                }
                if !p.rows.is_empty() {
                    write!(f, " rows={}", p.rows.len())?;
                }
                if !p.keys.is_empty() {
                    write!(f, " keys={}", p.keys.len())?;
                }
                write!(f, " {}", p.error_codes.join(","))
            }
            FaultEffect::SchemaChange(c) => match c.field() {
                Some(field) => write!(f, "{kind} {} {}.{field}", c.name(), c.object()),
                None => write!(f, "{kind} {} {}", c.name(), c.object()),
            },
            FaultEffect::BulkSlowdown(BulkSlowdownFault::Extra(d)) => {
                write!(f, "{kind} +{}", format_duration(*d))
            }
            FaultEffect::BulkSlowdown(BulkSlowdownFault::Fail { .. }) => write!(f, "{kind} fail"),
            FaultEffect::Connection(ConnectionFault::SlowBody { bytes_per_sec }) => {
                write!(f, "{kind} slow-body {bytes_per_sec} B/s")
            }
            FaultEffect::Connection(ConnectionFault::Truncate { after_bytes }) => {
                write!(f, "{kind} truncate after {after_bytes} B")
            }
            FaultEffect::Connection(ConnectionFault::MalformedJson) => {
                write!(f, "{kind} malformed-json")
            }
            FaultEffect::Streaming(StreamingFault::Rehandshake) => write!(f, "{kind} rehandshake"),
            FaultEffect::Streaming(StreamingFault::DropEvents(DropEvents::Count(n))) => {
                write!(f, "{kind} drop-events count={n}")
            }
            FaultEffect::Streaming(StreamingFault::DropEvents(DropEvents::Fraction(p))) => {
                write!(f, "{kind} drop-events fraction={p}")
            }
            FaultEffect::Streaming(StreamingFault::ExhaustAllocation) => {
                write!(f, "{kind} exhaust-allocation")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn windows_overlap_only_when_they_share_time() {
        let a = Window::new(secs(60), Some(secs(30)));
        let b = Window::new(secs(80), Some(secs(30)));
        let c = Window::new(secs(90), None);
        assert!(a.overlaps(&b) && b.overlaps(&a));
        assert!(!a.overlaps(&c), "a ends exactly where c starts");
        assert!(Window::ALWAYS.overlaps(&a));
        assert!(Window::ALWAYS.covers(&c));
        assert!(!a.covers(&b));
        assert!(a.contains(secs(60)) && !a.contains(secs(90)));
    }

    #[test]
    fn scopes_overlap_when_every_dimension_intersects() {
        let rest = Scope {
            apis: vec![ApiFamily::Rest],
            ..Scope::default()
        };
        let bulk = Scope {
            apis: vec![ApiFamily::Bulk],
            ..Scope::default()
        };
        let account = Scope {
            objects: vec!["Account".into()],
            ..Scope::default()
        };
        assert!(!rest.overlaps(&bulk));
        assert!(rest.overlaps(&account));
        assert!(Scope::default().covers(&rest));
        assert!(!rest.covers(&Scope::default()));
        assert!(rest.matches(
            ApiFamily::Rest,
            Some("Account"),
            "/services/data/v62.0/sobjects/Account",
            "integration",
            HttpMethod::Patch
        ));
        assert!(!account.matches(ApiFamily::Rest, None, "/", "x", HttpMethod::Get));
    }
}
