//! What a rule does: [`FaultEffect`] and the parameters of each fault kind, validated.

use std::fmt;
use std::num::NonZeroU32;
use std::time::Duration;

use serde::Serialize;

use super::delay::Delay;
use super::duration::{format_duration, serde_duration, serde_opt_duration};
use super::model::FaultKind;

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

/// Whether a latency is added once per request, per KiB of response body, or once per network hop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LatencyUnit {
    /// One draw, held after the request is served.
    Request,
    /// One draw per KiB of response body, held after the request is served.
    Kb,
    /// Two independent draws: one before the request is served (the request's trip to the server)
    /// and one after (the reply's trip back). Where the server acts between the two matters for
    /// contention: a read and the write that follows it are a reply hop plus a request hop apart.
    Hop,
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
                LatencyUnit::Hop => write!(f, "{kind} {} per hop", l.delay),
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
