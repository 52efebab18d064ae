//! `polling`: polling Salesforce on a timer instead of listening for change events.
//!
//! Signals:
//! - poll series: per client and query fingerprint (or replication-feed route), at least 10
//!   requests, at most 10% failed, and either change-seeking (`WHERE SystemModstamp > ?`) or
//!   timer-driven (gap CV < 0.3, mean gap ≥ 0.5 s). Polling without a subscription is the
//!   anti-pattern itself and fails on its own;
//! - waste: the share of polls that found nothing new (`rows = 0`, or the same result hash as the
//!   previous poll) — a poller whose polls keep returning changes is not wasting calls, and loses
//!   far fewer points than one that mostly finds nothing;
//! - calls per change delivered downstream;
//! - Change Data Capture / platform event subscriptions (`streaming.subscribe`);
//! - change → sink lag: from a change by someone other than the integration to the first sink
//!   delivery of that record after it (median);
//! - coverage: the share of records changed by others that reached the sink.
//!
//! Exercised when someone other than the integration changed Salesforce records (the changes log,
//! or actor edits when the log is absent): there was something to sync downstream.

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};

use simulator::journal::JournalEntry;

use super::evidence::{ActorEdit, ChangeRecord, Evidence, SinkDelivery};
use super::facts::{Facts, Op, Who};
use super::hash::{hash_of, FastHasher, FastMap};
use super::realtime_db::{is_change_seeking, is_feed_route};
use super::stats::{ramp, ratio, req, score_from_penalties, LogHistogram, Welford};
use super::{Assessment, Context, Detector, EvidenceError, Finding, Severity};
use crate::scenario::AntiPattern;

/// Points lost for timer polling with no change-event subscription: the anti-pattern itself, so a
/// poller fails (at most 45, F) however productive its polls are; waste, cost and lag lower it further.
pub const POLL_INSTEAD_OF_LISTENING: f64 = 55.0;
/// Points lost for polling beside a subscription (a fallback or a leftover).
pub const POLL_BESIDE_LISTENING: f64 = 15.0;

#[derive(Default)]
struct Series {
    label: String,
    change_seeking: bool,
    feed: bool,
    count: u64,
    failures: u64,
    gaps: Welford,
    last_t: Option<u64>,
    last_result: Option<u64>,
    wasted: u64,
    first: Option<u64>,
}

impl Series {
    fn is_poll(&self) -> bool {
        let timer = self.gaps.cv() < 0.3 && self.gaps.mean() >= 500_000.0;
        self.count >= 10
            && ratio(self.failures as f64, self.count as f64) <= 0.1
            && (self.change_seeking || self.feed || timer)
    }
}

pub struct Polling<'a> {
    ev: &'a Evidence,
    series: FastMap<u64, Series>,
    subscriptions: u64,
    /// Record id → commit times (µs) of changes by others, ascending.
    others: HashMap<String, Vec<u64>>,
    other_changes: u64,
    from_changes_log: bool,
    delivered: HashSet<String>,
    matched: u64,
    lag: LogHistogram,
    deliveries: u64,
}

impl<'a> Polling<'a> {
    pub fn new(ev: &'a Evidence) -> Self {
        Polling {
            ev,
            series: FastMap::default(),
            subscriptions: 0,
            others: HashMap::new(),
            other_changes: 0,
            from_changes_log: false,
            delivered: HashSet::new(),
            matched: 0,
            lag: LogHistogram::default(),
            deliveries: 0,
        }
    }

    fn other_change(&mut self, record: &str, t_us: u64) {
        self.other_changes += 1;
        self.others.entry(record.to_owned()).or_default().push(t_us);
    }
}

/// Scores `ev` for polling instead of listening, alone.
pub fn assess(ev: &Evidence) -> Result<Assessment, EvidenceError> {
    super::assess(ev, AntiPattern::Polling)
}

impl Detector for Polling<'_> {
    fn id(&self) -> AntiPattern {
        AntiPattern::Polling
    }

    fn journal(&mut self, e: &JournalEntry, f: &Facts) {
        // A subscription made while the integration started up (before scenario time zero) is
        // the usual case: it listens for the whole run.
        if f.who == Who::Integration
            && f.op == Op::Streaming
            && e.route == "streaming.subscribe"
            && f.failure.is_none()
        {
            self.subscriptions += 1;
            return;
        }
        if !f.integration_request() {
            return;
        }
        let feed = is_feed_route(&e.route);
        let query = match (&e.query, f.op) {
            (Some(q), Op::Query) => Some(q.as_str()),
            _ => None,
        };
        if query.is_none() && !feed {
            return;
        }
        let mut h = FastHasher::default();
        (&e.user, &e.app, &e.client).hash(&mut h);
        match query {
            Some(q) => q.hash(&mut h),
            None => (&e.route, &e.object).hash(&mut h),
        }
        let s = self.series.entry(h.finish()).or_insert_with(|| {
            let label = match query {
                Some(q) => q.to_owned(),
                None => format!("{} {}", e.route, e.object.as_deref().unwrap_or("")),
            };
            Series {
                change_seeking: is_change_seeking(&label),
                feed,
                label,
                ..Series::default()
            }
        });
        s.count += 1;
        s.first.get_or_insert(e.id);
        if f.failure.is_some() {
            s.failures += 1;
            return;
        }
        if let Some(prev) = s.last_t {
            s.gaps.push(e.t_us.saturating_sub(prev) as f64);
        }
        s.last_t = Some(e.t_us);
        let result = e.result_hash.as_deref().map(hash_of);
        let empty = e.rows == Some(0);
        let unchanged = result.is_some() && result == s.last_result;
        if empty || unchanged {
            s.wasted += 1;
        }
        s.last_result = result;
    }

    fn change(&mut self, c: &ChangeRecord, t_us: Option<i64>) {
        let Some(t) = t_us else {
            return;
        };
        if c.record_id.is_empty() || c.username() == self.ev.integration_user || t < 0 {
            return;
        }
        self.from_changes_log = true;
        self.other_change(&c.record_id, t as u64);
    }

    fn actor_edit(&mut self, a: &ActorEdit) {
        if self.from_changes_log || !a.succeeded() {
            return;
        }
        if let Some(id) = &a.record_id {
            self.other_change(id, a.t_us);
        }
    }

    fn delivery(&mut self, d: &SinkDelivery) {
        if !d.delivered() {
            return;
        }
        self.deliveries += 1;
        let Some(id) = &d.body.id else {
            return;
        };
        let Some(times) = self.others.get_mut(id) else {
            return;
        };
        let t = d.t_us.max(0) as u64;
        times.sort_unstable();
        // The latest change by others at or before the delivery.
        let i = times.partition_point(|&c| c <= t);
        if i > 0 {
            self.lag.record((t - times[i - 1]) as f64);
            self.matched += 1;
            self.delivered.insert(id.clone());
        }
    }

    fn finish(self: Box<Self>, cx: &Context) -> Assessment {
        if self.other_changes == 0 {
            return Assessment::not_exercised(
                "nobody but the integration changed Salesforce records: nothing to sync downstream",
            );
        }
        let mut findings = Vec::new();
        let mut penalties = Vec::new();
        let polls: Vec<&Series> = self.series.values().filter(|s| s.is_poll()).collect();
        let total_polls: u64 = polls.iter().map(|s| s.count).sum();
        let wasted: u64 = polls.iter().map(|s| s.wasted).sum();
        let waste = ratio(wasted as f64, total_polls as f64);
        let listening = self.subscriptions > 0;
        if total_polls >= 10 {
            // Polling is the anti-pattern whatever the polls find; finding nothing makes it worse.
            penalties.push(if listening {
                POLL_BESIDE_LISTENING
            } else {
                POLL_INSTEAD_OF_LISTENING
            });
            penalties.push(ramp(waste, 0.3, 0.8, 30.0));
            let main = polls.iter().max_by_key(|s| s.count).copied();
            let period = main.map_or(0.0, |s| s.gaps.mean() / 1e6);
            let per_day = if period > 0.0 { 86_400.0 / period } else { 0.0 };
            findings.push(
                Finding::new(
                    if waste >= 0.3 {
                        Severity::Critical
                    } else {
                        Severity::Warning
                    },
                    format!(
                        "polls on a timer: {} poll series ({} polls, period {period:.1} s ≈ {per_day:.0} calls/day per query); {:.0}% found nothing new",
                        polls.len(),
                        total_polls,
                        waste * 100.0
                    ),
                )
                .count(total_polls)
                .evidence(
                    polls
                        .iter()
                        .take(3)
                        .map(|s| match s.first {
                            Some(id) => format!("{} ({})", req(id), s.label),
                            None => s.label.clone(),
                        })
                        .collect(),
                ),
            );
            let per_change = ratio(total_polls as f64, self.matched.max(1) as f64);
            penalties.push(ramp(per_change, 2.0, 10.0, 10.0));
            if per_change > 2.0 {
                findings.push(
                    Finding::new(
                        Severity::Warning,
                        format!(
                            "{per_change:.1} polls per change delivered ({} changes by others reached the sink)",
                            self.matched
                        ),
                    )
                    .count(total_polls),
                );
            }
        }
        if !listening {
            if total_polls < 10 {
                penalties.push(20.0);
            }
            findings.push(Finding::new(
                Severity::Warning,
                "no Change Data Capture or platform-event subscription: changes are not listened for",
            ));
        } else {
            findings.push(
                Finding::new(Severity::Info, "subscribed to change events")
                    .count(self.subscriptions),
            );
        }

        // Coverage of changes made before the last ten seconds of the run.
        let horizon = cx.ev.run_end_us().saturating_sub(10_000_000);
        let due: Vec<&String> = self
            .others
            .iter()
            .filter(|(_, t)| t.iter().any(|&c| c < horizon))
            .map(|(id, _)| id)
            .collect();
        if !due.is_empty() {
            let missing: Vec<&&String> = due
                .iter()
                .filter(|id| !self.delivered.contains(**id))
                .collect();
            let miss = ratio(missing.len() as f64, due.len() as f64);
            penalties.push(ramp(miss, 0.05, 0.5, 40.0));
            if !missing.is_empty() {
                let mut ex: Vec<String> = missing.iter().map(|id| format!("record {id}")).collect();
                ex.sort();
                ex.truncate(super::stats::EXAMPLES);
                findings.push(
                    Finding::new(
                        if miss > 0.2 {
                            Severity::Critical
                        } else {
                            Severity::Warning
                        },
                        format!(
                            "{:.0}% of records changed by others never reached the downstream sink",
                            miss * 100.0
                        ),
                    )
                    .count(missing.len() as u64)
                    .evidence(ex),
                );
            }
        }
        if let Some(p50) = self.lag.quantile(0.5).filter(|_| self.matched >= 3) {
            let s = p50 / 1e6;
            penalties.push(ramp(s, 2.0, 15.0, 10.0));
            findings.push(
                Finding::new(
                    if s > 2.0 {
                        Severity::Warning
                    } else {
                        Severity::Info
                    },
                    format!(
                        "change → sink lag p50 {s:.1} s, p99 {:.1} s over {} deliveries",
                        self.lag.quantile(0.99).unwrap_or(p50) / 1e6,
                        self.matched
                    ),
                )
                .count(self.matched),
            );
        }
        Assessment::scored(score_from_penalties(&penalties), findings)
    }
}
