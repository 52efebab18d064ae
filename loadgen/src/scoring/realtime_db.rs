//! `realtime-db`: treating Salesforce like a real-time database — a read and a write (and a
//! describe) per business event, the same data read again and again, callers kept waiting on
//! Salesforce.
//!
//! Signals:
//! - API calls per write: successful REST and composite reads (lookups answered 404 included),
//!   queries, writes and describes,
//!   excluding change-seeking poll queries (polling's business), divided by the successful writes
//!   records (by the accepted events when the integration wrote nothing). Successful calls, because a failed
//!   attempt and its retry are blind-retries' business and a dropped event costs nothing here;
//!   per write, because that is what an event turns into — a read-then-write integration scores 2,
//!   one that writes from the event alone scores 1. (First attempts per event undercount: a new
//!   event for a key whose earlier request failed looks like a retry of it.)
//! - redundant reads: a GET or query of exactly the same path whose answer cannot have changed (same
//!   result hash, no write to its records in between), and describes of an object already described
//!   in the last minute with no schema error since; as a share of reads;
//! - synchronous coupling: the integration's inbound p50 latency over the p50 of its Salesforce
//!   calls, judged when Salesforce is slow enough to matter (p50 ≥ 20 ms).
//!
//! Not exercised without accepted single events (batch streams do not count).

use simulator::journal::JournalEntry;

use super::evidence::{Evidence, StreamKind};
use super::facts::{Facts, Failure, Op};
use super::hash::{hash_of as hash, FastMap};
use super::stats::{ramp, ratio, req, score_from_penalties, Examples, LogHistogram};
use super::{Assessment, Context, Detector, EvidenceError, Finding, Severity};
use crate::ledger::LedgerEntry;
use crate::scenario::AntiPattern;

/// A describe of an object described less than this long ago is redundant (absent a schema error).
const DESCRIBE_TTL_US: u64 = 60_000_000;
/// Fewer redundant reads than this are not judged (one re-read in two reads is not a habit).
const MIN_REDUNDANT: u64 = 5;
/// Below this Salesforce p50, coupling cannot be told from fast answers.
const COUPLING_MIN_SF_P50_US: f64 = 20_000.0;

struct LastRead {
    t_us: u64,
    result: Option<u64>,
}

pub struct RealtimeDb<'a> {
    ev: &'a Evidence,
    calls: u64,
    writes: u64,
    reads: u64,
    redundant: Examples,
    last_read: FastMap<u64, LastRead>,
    /// Record id → time of the latest successful write by anyone, for records the integration
    /// has read (writes to records never read cannot make a read redundant or not).
    last_write: FastMap<u64, u64>,
    /// Query fingerprint → whether it is change-seeking (computed once per fingerprint).
    change_seeking: FastMap<u64, bool>,
    /// Object → time of the latest schema-type failure of the integration.
    last_schema_error: FastMap<String, u64>,
    last_describe: FastMap<u64, u64>,
    sf_latency: LogHistogram,
    inbound_latency: LogHistogram,
    events: u64,
}

impl<'a> RealtimeDb<'a> {
    pub fn new(ev: &'a Evidence) -> Self {
        RealtimeDb {
            ev,
            calls: 0,
            writes: 0,
            reads: 0,
            redundant: Examples::default(),
            last_read: FastMap::default(),
            last_write: FastMap::default(),
            last_schema_error: FastMap::default(),
            last_describe: FastMap::default(),
            change_seeking: FastMap::default(),
            sf_latency: LogHistogram::default(),
            inbound_latency: LogHistogram::default(),
            events: 0,
        }
    }

    fn read(&mut self, e: &JournalEntry) {
        self.reads += 1;
        let key = hash(&e.path);
        let result = e.result_hash.as_deref().map(hash);
        if let Some(prev) = self.last_read.get(&key) {
            let same_answer = match (prev.result, result) {
                (Some(a), Some(b)) => a == b,
                (None, None) => !e.ids.is_empty(),
                _ => false,
            };
            let written = e.ids.iter().any(|id| {
                self.last_write
                    .get(&hash(id))
                    .is_some_and(|&w| w > 0 && w >= prev.t_us)
            });
            if same_answer && !written {
                self.redundant.push(|| req(e.id));
            }
        }
        for id in &e.ids {
            self.last_write.entry(hash(id)).or_insert(0);
        }
        self.last_read.insert(
            key,
            LastRead {
                t_us: e.t_us,
                result,
            },
        );
    }

    fn describe(&mut self, e: &JournalEntry) {
        self.reads += 1;
        let key = hash(&e.path);
        let object = e.object.clone().unwrap_or_default();
        if let Some(&prev) = self.last_describe.get(&key) {
            let fresh = e.t_us.saturating_sub(prev) < DESCRIBE_TTL_US;
            let schema_error_since = self
                .last_schema_error
                .get(&object)
                .is_some_and(|&t| t >= prev);
            if fresh && !schema_error_since {
                self.redundant.push(|| req(e.id));
            }
        }
        self.last_describe.insert(key, e.t_us);
    }
}

/// Whether a query looks for records changed since a time (the poller's tell).
pub fn is_change_seeking(fingerprint: &str) -> bool {
    let f = fingerprint.to_ascii_lowercase();
    ["systemmodstamp", "lastmodifieddate", "createddate"]
        .iter()
        .any(|field| {
            f.match_indices(field).any(|(i, _)| {
                let rest = f[i + field.len()..].trim_start();
                rest.starts_with('>')
            })
        })
}

/// Replication-feed routes (`/sobjects/{T}/updated`, `/deleted`): polling by another name.
pub fn is_feed_route(route: &str) -> bool {
    route.starts_with("sobjects.")
        && (route == "sobjects.changes" || route.ends_with("updated") || route.ends_with("deleted"))
}

/// Scores `ev` for treating Salesforce as a real-time database, alone.
pub fn assess(ev: &Evidence) -> Result<Assessment, EvidenceError> {
    super::assess(ev, AntiPattern::RealtimeDb)
}

impl Detector for RealtimeDb<'_> {
    fn id(&self) -> AntiPattern {
        AntiPattern::RealtimeDb
    }

    fn journal(&mut self, e: &JournalEntry, f: &Facts) {
        if f.startup {
            return;
        }
        if f.op == Op::Write && (200..300).contains(&e.status) && !self.last_write.is_empty() {
            let t = e.t_us;
            for id in &e.ids {
                if let Some(w) = self.last_write.get_mut(&hash(id)) {
                    *w = t;
                }
            }
        }
        if !f.integration_request() {
            return;
        }
        if f.failure == Some(Failure::Client) {
            if let Some(o) = &e.object {
                self.last_schema_error.insert(o.clone(), e.t_us);
            }
        }
        let counted = match f.op {
            Op::Read | Op::Write | Op::Describe => !is_feed_route(&e.route),
            Op::Query => match e.query.as_deref() {
                Some(q) => !*self
                    .change_seeking
                    .entry(hash(q))
                    .or_insert_with(|| is_change_seeking(q)),
                None => true,
            },
            _ => false,
        };
        if !counted {
            return;
        }
        // A lookup answered 404 ("no such record yet") is an answer that cost a call, not a
        // failure: read-then-create spends it as surely as read-then-update.
        let answered_lookup = e.method == "GET" && e.status == 404;
        if (f.failure.is_none() || answered_lookup) && e.status != 0 {
            self.calls += 1;
            if f.op == Op::Write {
                self.writes += e.ids.len().max(1) as u64;
            }
            self.sf_latency.record(e.latency_us as f64);
        }
        match f.op {
            Op::Describe => self.describe(e),
            Op::Read | Op::Query if f.failure.is_none() => self.read(e),
            _ => {}
        }
    }

    fn ledger(&mut self, l: &LedgerEntry) {
        let batch = self
            .ev
            .streams
            .iter()
            .any(|s| s.name == l.stream && s.kind == StreamKind::Batch);
        if batch || !l.outcome.is_accepted() {
            return;
        }
        self.events += 1;
        self.inbound_latency.record(l.latency_us as f64);
    }

    fn finish(self: Box<Self>, _cx: &Context) -> Assessment {
        if self.events < 10 {
            return Assessment::not_exercised(
                "fewer than 10 single events were accepted: no per-event behaviour to judge",
            );
        }
        let mut findings = Vec::new();
        let mut penalties = Vec::new();

        let (per, unit) = if self.writes > 0 {
            (self.writes, "records written")
        } else {
            (self.events, "accepted events")
        };
        let per_event = ratio(self.calls as f64, per as f64);
        penalties.push(ramp(per_event, 1.0, 2.0, 60.0));
        findings.push(
            Finding::new(
                match per_event {
                    x if x >= 1.8 => Severity::Critical,
                    x if x > 1.0 => Severity::Warning,
                    _ => Severity::Info,
                },
                format!(
                    "{per_event:.2} Salesforce calls per record written ({} successful calls for {per} {unit}; budget 1)",
                    self.calls
                ),
            )
            .count(self.calls),
        );

        let share = ratio(self.redundant.count as f64, self.reads as f64);
        if self.redundant.count >= MIN_REDUNDANT {
            penalties.push(ramp(share, 0.05, 0.4, 20.0));
        }
        if self.redundant.count > 0 {
            findings.push(
                Finding::new(
                    if share > 0.2 {
                        Severity::Critical
                    } else {
                        Severity::Warning
                    },
                    format!(
                        "{:.0}% of reads fetched data that could not have changed (same answer, no write in between, or a describe less than a minute old)",
                        share * 100.0
                    ),
                )
                .count(self.redundant.count)
                .evidence(self.redundant.items.clone()),
            );
        }

        if let (Some(sf), Some(inbound)) = (
            self.sf_latency.quantile(0.5),
            self.inbound_latency.quantile(0.5),
        ) {
            if sf >= COUPLING_MIN_SF_P50_US {
                let k = inbound / sf;
                penalties.push(ramp(k, 0.3, 0.9, 20.0));
                findings.push(Finding::new(
                    if k > 0.9 {
                        Severity::Critical
                    } else if k > 0.3 {
                        Severity::Warning
                    } else {
                        Severity::Info
                    },
                    format!(
                        "inbound p50 {:.0} ms vs Salesforce p50 {:.0} ms (ratio {k:.2}): {}",
                        inbound / 1e3,
                        sf / 1e3,
                        if k > 0.9 {
                            "callers wait on Salesforce"
                        } else {
                            "callers do not wait on Salesforce"
                        }
                    ),
                ));
            }
        }
        Assessment::scored(score_from_penalties(&penalties), findings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_seeking_queries() {
        assert!(is_change_seeking(
            "SELECT Id FROM Account WHERE SystemModstamp > ? ORDER BY SystemModstamp"
        ));
        assert!(is_change_seeking(
            "SELECT Id FROM Account WHERE LastModifiedDate >= ?"
        ));
        assert!(!is_change_seeking(
            "SELECT Id FROM Account WHERE External_Id__c = ?"
        ));
        assert!(!is_change_seeking("SELECT SystemModstamp FROM Account"));
    }
}
