//! What every detector wants to know about a journal entry before looking at it: who sent it,
//! what kind of operation it was, whether it failed and how, and whether it was a retry.
//!
//! Computed once per entry by [`Classifier`] and handed to every detector, so the one streaming
//! pass over the journal does this work once.
//!
//! # Retry identification (resilience-reference.md §6)
//!
//! Salesforce clients send no attempt markers, so retries are inferred: requests of one client
//! (`user|app|client`) are keyed on `(method, path with query, body hash)`, and a request is a
//! retry when the same key was seen within [`RETRY_WINDOW_US`] after a **failed** attempt. Failed
//! means no answer (status 0), 5xx, 429, 403 `REQUEST_LIMIT_EXCEEDED`, `UNABLE_TO_LOCK_ROW`, a 401
//! (session), 409/412 (conflict), or any other 4xx (non-retryable: retrying it is itself the
//! anti-pattern). A repeat
//! after a success is not a retry (that is polling). Chains of attempts are tracked only while they
//! keep failing, so memory is bounded by the failures in flight, not by the journal's length.

use std::hash::{Hash, Hasher};

use simulator::journal::{Api, JournalEntry};

use super::evidence::Evidence;
use super::hash::{FastHasher, FastMap};

/// A request repeated this long after a failed attempt is still its retry (the reference's "15 min";
/// scenarios are shorter, so in practice the whole run).
pub const RETRY_WINDOW_US: u64 = 15 * 60 * 1_000_000;

/// Who sent a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Who {
    Integration,
    Actor(usize),
    /// Unattributed (no session, the harness, another user).
    Other,
}

/// How a request failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Failure {
    /// No answer: reset, refused mid-request, hang the client gave up on.
    Transport,
    /// 5xx.
    Server,
    /// 429.
    Throttled,
    /// 403 REQUEST_LIMIT_EXCEEDED; `daily` when the daily allocation was spent (`used >= max`).
    Limit { daily: bool },
    /// UNABLE_TO_LOCK_ROW.
    Lock,
    /// 401: re-authenticate, then retry (legitimate).
    Session,
    /// 409/412: someone else changed the record; re-read, then write again (legitimate, and what
    /// a conditional writer is expected to do).
    Conflict,
    /// Any other 4xx: the request itself is wrong; repeating it cannot help.
    Client,
}

impl Failure {
    /// Worth retrying (after a wait): transient by nature.
    pub fn retryable(self) -> bool {
        !matches!(self, Failure::Client)
    }

    pub fn of(e: &JournalEntry) -> Option<Failure> {
        let code = e.error_code.as_deref().unwrap_or("");
        if code == "UNABLE_TO_LOCK_ROW" {
            return Some(Failure::Lock);
        }
        match e.status {
            0 => Some(Failure::Transport),
            401 => Some(Failure::Session),
            409 | 412 => Some(Failure::Conflict),
            403 if code == "REQUEST_LIMIT_EXCEEDED" => Some(Failure::Limit {
                daily: e
                    .api_usage
                    .is_some_and(|(used, max)| max > 0 && used >= max),
            }),
            429 => Some(Failure::Throttled),
            s if s >= 500 => Some(Failure::Server),
            s if s >= 400 => Some(Failure::Client),
            _ => None,
        }
    }
}

/// The kind of operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Single-record or collection reads (GET, composite retrieve).
    Read,
    /// SOQL/SOSL.
    Query,
    /// Creates, updates, upserts, deletes (single, collections, composite).
    Write,
    Describe,
    /// Bulk API 2.0 calls.
    Bulk,
    /// The simulator's own record of a bulk job's processing (method `PROCESS`): not a request.
    Process,
    Streaming,
    Auth,
    Other,
}

impl Op {
    pub fn of(e: &JournalEntry) -> Op {
        if e.method == "PROCESS" {
            return Op::Process;
        }
        let route = e.route.as_str();
        match e.api {
            Api::Oauth | Api::Soap => return Op::Auth,
            Api::Streaming => return Op::Streaming,
            Api::Bulk => return Op::Bulk,
            Api::Admin | Api::Other => return Op::Other,
            _ => {}
        }
        if route.starts_with("describe") || route.ends_with("describe") {
            return Op::Describe;
        }
        if matches!(route, "query" | "query.more" | "queryAll" | "search") || e.query.is_some() {
            return Op::Query;
        }
        if route.ends_with(".retrieve") {
            return Op::Read;
        }
        // A request refused before a handler named its route (a limit, a session, a validation
        // error) is classified by its path.
        if route.is_empty() && e.path.contains("/query") && e.api == Api::Rest {
            return Op::Query;
        }
        match e.method.as_str() {
            "GET" | "HEAD" => {
                if route.starts_with("sobjects")
                    || route.starts_with("composite")
                    || (route.is_empty() && e.object.is_some())
                {
                    Op::Read
                } else {
                    Op::Other
                }
            }
            "POST" | "PATCH" | "PUT" | "DELETE" => Op::Write,
            _ => Op::Other,
        }
    }
}

/// A request identified as a retry.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryInfo {
    /// 1 for the first retry of an operation, 2 for the second, …
    pub attempt: u32,
    /// From the end of the failed attempt (its answer, or the client giving up) to this request.
    pub delay_us: u64,
    /// The delay before the previous retry of the same operation, for the growth factor.
    pub prev_delay_us: Option<u64>,
    /// Why the previous attempt failed.
    pub after: Failure,
    /// The failure cohort (same fault rule, or same status and code): clients hit by the same
    /// failure, whose first-retry delays should differ if they jitter.
    pub cohort: u64,
    /// The `Retry-After` the failed answer carried, if any.
    pub retry_after_us: Option<u64>,
    /// Request id of the operation's first attempt.
    pub first_id: u64,
}

/// Per-entry facts.
#[derive(Clone, Copy, Debug)]
pub struct Facts {
    pub who: Who,
    /// Before load started (the integration's start-up); detectors skip these.
    pub startup: bool,
    pub op: Op,
    pub failure: Option<Failure>,
    pub retry: Option<RetryInfo>,
    /// A subrequest of a composite call (journaled with `parent`): part of a request, not one.
    pub sub: bool,
}

impl Facts {
    /// A request of the integration during the scored run (not start-up, not bulk processing, not
    /// a composite subrequest).
    pub fn integration_request(&self) -> bool {
        self.by_integration() && self.op != Op::Process && !self.sub
    }

    /// Anything the integration did during the scored run, subrequests and bulk processing
    /// included (for field-level analysis).
    pub fn by_integration(&self) -> bool {
        self.who == Who::Integration && !self.startup
    }
}

struct Chain {
    attempts: u32,
    last_end_us: u64,
    last_delay_us: Option<u64>,
    cause: Failure,
    cohort: u64,
    retry_after_us: Option<u64>,
    first_id: u64,
}

/// Classifies entries and tracks retry chains.
pub struct Classifier<'a> {
    ev: &'a Evidence,
    seen: u64,
    chains: FastMap<u64, Chain>,
    /// Entries since the last sweep of expired chains.
    since_sweep: u32,
}

const SWEEP_EVERY: u32 = 1 << 16;

impl<'a> Classifier<'a> {
    pub fn new(ev: &'a Evidence) -> Self {
        Classifier {
            ev,
            seen: 0,
            chains: FastMap::default(),
            since_sweep: 0,
        }
    }

    fn who(&self, e: &JournalEntry) -> Who {
        match e.user.as_deref() {
            Some(u) if u == self.ev.integration_user => Who::Integration,
            Some(u) => self.ev.actor_by_user(u).map_or(Who::Other, Who::Actor),
            None => Who::Other,
        }
    }

    pub fn classify(&mut self, e: &JournalEntry) -> Facts {
        self.seen += 1;
        let startup = self.seen <= self.ev.journal_before_start;
        let who = self.who(e);
        let op = Op::of(e);
        let failure = Failure::of(e);
        let mut facts = Facts {
            who,
            startup,
            op,
            failure,
            retry: None,
            sub: e.parent.is_some(),
        };
        if facts.integration_request() {
            facts.retry = self.track(e, failure);
        }
        facts
    }

    fn track(&mut self, e: &JournalEntry, failure: Option<Failure>) -> Option<RetryInfo> {
        self.since_sweep += 1;
        if self.since_sweep >= SWEEP_EVERY {
            self.since_sweep = 0;
            let now = e.t_us;
            self.chains
                .retain(|_, c| c.last_end_us.saturating_add(RETRY_WINDOW_US) >= now);
        }
        let key = request_key(e);
        let end = e.t_us.saturating_add(e.latency_us);
        let retry_after = if failure.is_some() {
            self.retry_after(e)
        } else {
            None
        };
        let mut info = None;
        if let Some(chain) = self.chains.get_mut(&key) {
            if e.t_us <= chain.last_end_us.saturating_add(RETRY_WINDOW_US) {
                let delay = e.t_us.saturating_sub(chain.last_end_us);
                info = Some(RetryInfo {
                    attempt: chain.attempts,
                    delay_us: delay,
                    prev_delay_us: chain.last_delay_us,
                    after: chain.cause,
                    cohort: chain.cohort,
                    retry_after_us: chain.retry_after_us,
                    first_id: chain.first_id,
                });
                if let Some(f) = failure {
                    chain.attempts += 1;
                    chain.last_end_us = end;
                    chain.last_delay_us = Some(delay);
                    chain.cause = f;
                    chain.retry_after_us = retry_after;
                    return info;
                }
            }
            self.chains.remove(&key);
        }
        if let Some(f) = failure {
            self.chains.insert(
                key,
                Chain {
                    attempts: 1,
                    last_end_us: end,
                    last_delay_us: None,
                    cause: f,
                    cohort: cohort(e),
                    retry_after_us: retry_after,
                    first_id: e.id,
                },
            );
        }
        info
    }

    fn retry_after(&self, e: &JournalEntry) -> Option<u64> {
        let rule = &e.fault.as_ref()?.rule;
        self.ev
            .faults
            .iter()
            .find(|f| &f.id == rule)?
            .retry_after_ms
            .map(|ms| ms * 1_000)
    }
}

fn request_key(e: &JournalEntry) -> u64 {
    let mut h = FastHasher::default();
    e.user.hash(&mut h);
    e.app.hash(&mut h);
    e.client.hash(&mut h);
    e.method.hash(&mut h);
    e.path.hash(&mut h);
    e.body_hash.hash(&mut h);
    h.finish()
}

fn cohort(e: &JournalEntry) -> u64 {
    let mut h = FastHasher::default();
    match &e.fault {
        Some(f) => f.rule.hash(&mut h),
        None => {
            e.status.hash(&mut h);
            e.error_code.hash(&mut h);
        }
    }
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: u64, t_ms: u64, status: u16, path: &str) -> JournalEntry {
        JournalEntry {
            id,
            t_us: t_ms * 1000,
            latency_us: 1000,
            user: Some("admin@sfchaos.test".into()),
            method: "PATCH".into(),
            path: path.into(),
            route: "sobjects.update".into(),
            api: Api::Rest,
            status,
            body_hash: Some("abc".into()),
            ..Default::default()
        }
    }

    #[test]
    fn a_repeat_after_a_failure_is_a_retry_and_after_a_success_is_not() {
        let ev = Evidence {
            integration_user: "admin@sfchaos.test".into(),
            ..Evidence::default()
        };
        let mut c = Classifier::new(&ev);
        assert!(c.classify(&entry(1, 0, 200, "/a")).retry.is_none());
        assert!(c.classify(&entry(2, 10, 200, "/a")).retry.is_none());
        assert!(c.classify(&entry(3, 20, 503, "/a")).retry.is_none());
        let r = c.classify(&entry(4, 121, 503, "/a")).retry.unwrap();
        assert_eq!((r.attempt, r.delay_us, r.first_id), (1, 100_000, 3));
        let r = c.classify(&entry(5, 322, 200, "/a")).retry.unwrap();
        assert_eq!(
            (r.attempt, r.delay_us, r.prev_delay_us),
            (2, 200_000, Some(100_000))
        );
        // The chain ended with the success.
        assert!(c.classify(&entry(6, 400, 200, "/a")).retry.is_none());
        // Another path is another operation.
        assert!(c.classify(&entry(7, 500, 400, "/b")).retry.is_none());
        let r = c.classify(&entry(8, 501, 400, "/b")).retry.unwrap();
        assert_eq!(r.after, Failure::Client);
    }

    #[test]
    fn failure_classes() {
        let mut e = entry(1, 0, 403, "/x");
        e.error_code = Some("REQUEST_LIMIT_EXCEEDED".into());
        e.api_usage = Some((100, 100));
        assert_eq!(Failure::of(&e), Some(Failure::Limit { daily: true }));
        e.api_usage = Some((10, 100));
        assert_eq!(Failure::of(&e), Some(Failure::Limit { daily: false }));
        e.status = 400;
        e.error_code = Some("UNABLE_TO_LOCK_ROW".into());
        assert_eq!(Failure::of(&e), Some(Failure::Lock));
        e.error_code = Some("INVALID_FIELD".into());
        assert_eq!(Failure::of(&e), Some(Failure::Client));
        assert!(!Failure::Client.retryable());
        e.status = 0;
        e.error_code = None;
        assert_eq!(Failure::of(&e), Some(Failure::Transport));
    }
}
