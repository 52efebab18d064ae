//! Validated fault rules: what the engine reads.
//!
//! Every value here has been checked: durations are parsed, probabilities lie in `[0, 1]`,
//! counts are non-zero, enums replace strings. The engine can match on these without
//! re-checking anything.

use std::fmt;
use std::num::NonZeroU64;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::duration::{format_duration, serde_duration, serde_opt_duration};
use super::effect::FaultEffect;
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
