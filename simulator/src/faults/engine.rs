//! [`FaultEngine`]: the installed rules, each with its own seeded RNG and counters.
//!
//! Rules live in a copy-on-write snapshot ([`RuleSet`]): installing or removing a rule builds a new
//! list and swaps it in, so a request takes one read lock to clone an `Arc` and then evaluates rules
//! without holding anything shared. Per-rule state (RNG, "first N"/"every Nth" counters, the
//! per-window request log) belongs to the rule; two rules never contend on a lock.
//!
//! Decisions about whole requests are in `decide.rs` (used by the layer), decisions inside handlers in
//! `items.rs` (the [`super::hooks::ItemFaults`] implementation), timed changes to the org in
//! `schedule.rs`.

use super::plan::{
    FaultEffect, FaultPlan, FaultRule, OutageMode, PathError, RateLimitFault, SessionExpiry,
    Trigger,
};
use crate::journal::{Api, FaultTag, JournalEntry};
use crate::server::ListenerGate;
use parking_lot::{Mutex, RwLock};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Where a rule takes effect, decided once at install so the request path skips what it need not
/// look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Decided by the layer for each request (latency, error, outage, connection, per-window caps,
    /// session lifetimes).
    Request,
    /// Decided inside handlers through the hooks (partial failures, lock contention, bulk, streaming).
    Item,
    /// Changes the org at window boundaries only (allocation overrides, revocations, schema changes).
    Org,
}

fn stage_of(rule: &FaultRule) -> Stage {
    match &rule.effect {
        FaultEffect::Latency(_)
        | FaultEffect::Error(_)
        | FaultEffect::Outage(_)
        | FaultEffect::Connection(_)
        | FaultEffect::Session(SessionExpiry::Lifetime(_)) => Stage::Request,
        FaultEffect::RateLimit(RateLimitFault {
            per_window: Some(_),
            ..
        }) => Stage::Request,
        FaultEffect::PartialFailure(_)
        | FaultEffect::LockContention(_)
        | FaultEffect::BulkSlowdown(_)
        | FaultEffect::Streaming(_) => Stage::Item,
        FaultEffect::RateLimit(_)
        | FaultEffect::Session(SessionExpiry::RevokeAt(_))
        | FaultEffect::SchemaChange(_) => Stage::Org,
    }
}

/// One installed rule and everything it remembers.
#[derive(Debug)]
pub struct RuleState {
    pub rule: FaultRule,
    pub(crate) stage: Stage,
    /// Draws for probabilities, latency samples and record fractions: this rule's own stream.
    pub(crate) rng: Mutex<ChaCha8Rng>,
    /// Requests (or items) that were in the window and scope: what `first`/`every` count.
    pub(crate) matched: AtomicU64,
    /// Times the rule did something.
    pub(crate) fired: AtomicU64,
    /// One-shot effects (schema change, revocation, `remaining`, lifetime at window open) applied.
    pub(crate) applied: AtomicBool,
    /// Arrivals admitted under a `per_window` cap, oldest first.
    pub(crate) admitted: Mutex<VecDeque<Duration>>,
    /// The trigger decision for the Bulk 2.0 job (path) currently being processed, so that a
    /// job's rows share one decision when there is no request context.
    pub(crate) last_job: Mutex<Option<(String, bool)>>,
    /// Scenario time the rule was installed.
    pub installed_at: Duration,
}

impl RuleState {
    fn new(rule: FaultRule, seed: u64, installed_at: Duration) -> RuleState {
        let rng = ChaCha8Rng::seed_from_u64(rule_seed(seed, &rule.id));
        RuleState {
            stage: stage_of(&rule),
            rule,
            rng: Mutex::new(rng),
            matched: AtomicU64::new(0),
            fired: AtomicU64::new(0),
            applied: AtomicBool::new(false),
            admitted: Mutex::new(VecDeque::new()),
            last_job: Mutex::new(None),
            installed_at,
        }
    }

    pub fn id(&self) -> &str {
        &self.rule.id
    }

    /// Counts a matching request and says whether the trigger picks it. Probabilities 0 and 1
    /// never touch the RNG, so they are exact and cost nothing.
    pub(crate) fn triggered(&self) -> bool {
        let seen = self.matched.fetch_add(1, Ordering::Relaxed);
        match self.rule.trigger {
            Trigger::Probability(p) if p >= 1.0 => true,
            Trigger::Probability(p) if p <= 0.0 => false,
            Trigger::Probability(p) => self.rng.lock().random::<f64>() < p,
            Trigger::First(n) => seen < n.get(),
            Trigger::Every(n) => (seen + 1).is_multiple_of(n.get()),
        }
    }

    /// A uniform draw in `[0, 1)` from this rule's stream.
    pub(crate) fn draw(&self) -> f64 {
        self.rng.lock().random::<f64>()
    }

    pub(crate) fn fire(&self) {
        self.fired.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn tag(&self, action: impl Into<String>) -> FaultTag {
        FaultTag {
            rule: self.rule.id.clone(),
            kind: self.rule.kind().to_string(),
            action: action.into(),
        }
    }

    pub fn matched(&self) -> u64 {
        self.matched.load(Ordering::Relaxed)
    }

    pub fn fired(&self) -> u64 {
        self.fired.load(Ordering::Relaxed)
    }
}

/// A rule's RNG seed: the scenario seed mixed with the rule id (not its position), so removing one
/// rule at run time leaves every other rule's stream untouched.
fn rule_seed(seed: u64, id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    splitmix(seed ^ splitmix(h))
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// An immutable view of the installed rules.
#[derive(Debug, Default)]
pub struct RuleSet {
    /// Every rule, in install order.
    pub all: Vec<Arc<RuleState>>,
    /// The rules the layer evaluates per request, in install order.
    pub(crate) request: Vec<Arc<RuleState>>,
    /// Whether some rule decides inside handlers (the layer then sets up a request context).
    pub(crate) has_item_rules: bool,
    /// Whether some rule ends sessions (the layer then re-checks sessions after timed events).
    pub(crate) has_session_rules: bool,
    /// Whether some rule is a read-only maintenance outage (composite bodies are then inspected).
    pub(crate) has_maintenance: bool,
}

impl RuleSet {
    /// No rules (what the layer reads when none are installed, without touching the engine's lock).
    pub const EMPTY: RuleSet = RuleSet {
        all: Vec::new(),
        request: Vec::new(),
        has_item_rules: false,
        has_session_rules: false,
        has_maintenance: false,
    };

    fn new(all: Vec<Arc<RuleState>>) -> RuleSet {
        let request = all
            .iter()
            .filter(|r| r.stage == Stage::Request)
            .cloned()
            .collect();
        RuleSet {
            has_item_rules: all.iter().any(|r| r.stage == Stage::Item),
            has_session_rules: all
                .iter()
                .any(|r| matches!(r.rule.effect, FaultEffect::Session(_))),
            has_maintenance: all.iter().any(|r| {
                matches!(&r.rule.effect, FaultEffect::Outage(o) if o.mode == OutageMode::ReadOnlyMaintenance)
            }),
            request,
            all,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }
}

/// What the org-level overrides currently in force came from (see `schedule.rs`).
#[derive(Debug, Default)]
pub(crate) struct Applied {
    /// (rule, max, window) of the allocation override in force.
    pub allocation: Option<(String, Option<u64>, Option<Duration>)>,
    /// The rule whose `remaining` squeezes the allocation now.
    pub squeeze: Option<String>,
    /// (rule, cap, threshold) of the long-running override in force.
    pub long_running: Option<(String, u32, Duration)>,
    /// The `refuse` rule holding the listeners closed.
    pub refusing: Option<String>,
}

/// The fault engine of one simulator.
#[derive(Debug)]
pub struct FaultEngine {
    seed: u64,
    rules: RwLock<Arc<RuleSet>>,
    /// Whether any rule is installed: requests skip the rules' lock entirely when none is.
    has_rules: AtomicBool,
    /// Serialises timed changes; see `schedule.rs`.
    pub(crate) applied: Mutex<Applied>,
    /// Scenario time (µs) of the next window boundary; `u64::MAX` when none is pending.
    pub(crate) next_due_us: AtomicU64,
    /// Woken when rules change or a background decision waits to be journaled.
    pub(crate) changed: Notify,
    /// The listeners' gate, for `refuse` outages (attached by [`crate::start`]).
    pub(crate) gate: Mutex<Option<ListenerGate>>,
    /// Decisions taken outside any request (Bulk 2.0 processing, streaming delivery, timed changes),
    /// waiting to be written to the journal by the next request or the clock task.
    pending: Mutex<Vec<JournalEntry>>,
    has_pending: AtomicBool,
}

impl FaultEngine {
    /// An engine with `plan` installed. `seed` drives every rule's RNG.
    pub fn new(seed: u64, plan: &FaultPlan) -> FaultEngine {
        let rules = plan
            .rules
            .iter()
            .map(|r| Arc::new(RuleState::new(r.clone(), seed, Duration::ZERO)))
            .collect();
        let rules = RuleSet::new(rules);
        FaultEngine {
            seed,
            has_rules: AtomicBool::new(!rules.is_empty()),
            rules: RwLock::new(Arc::new(rules)),
            applied: Mutex::new(Applied::default()),
            next_due_us: AtomicU64::new(0),
            changed: Notify::new(),
            gate: Mutex::new(None),
            pending: Mutex::new(Vec::new()),
            has_pending: AtomicBool::new(false),
        }
    }

    /// The rules in force now. Cheap: one read lock and an `Arc` clone.
    pub fn snapshot(&self) -> Arc<RuleSet> {
        self.rules.read().clone()
    }

    /// Whether any rule is installed.
    pub fn has_rules(&self) -> bool {
        self.has_rules.load(Ordering::Acquire)
    }

    /// Swap in a new rule list.
    fn replace(&self, guard: &mut Arc<RuleSet>, all: Vec<Arc<RuleState>>) {
        let set = RuleSet::new(all);
        self.has_rules.store(!set.is_empty(), Ordering::Release);
        *guard = Arc::new(set);
    }

    /// The installed rules as a plan (in order).
    pub fn plan(&self) -> FaultPlan {
        FaultPlan {
            rules: self.snapshot().all.iter().map(|r| r.rule.clone()).collect(),
        }
    }

    /// Let `refuse` outages close and reopen these listeners.
    pub fn attach_gate(&self, gate: ListenerGate) {
        *self.gate.lock() = Some(gate);
        self.rules_changed();
    }

    /// Append rules (validated and checked against each other by the caller) after the installed
    /// ones. Fails, installing nothing, when they contradict installed rules or reuse their ids;
    /// error paths are relative to `rules` (`[1].mode`).
    pub fn install(&self, rules: Vec<FaultRule>, now: Duration) -> Result<(), Vec<PathError>> {
        let mut guard = self.rules.write();
        let installed: Vec<FaultRule> = guard.all.iter().map(|r| r.rule.clone()).collect();
        let errors = super::plan::FaultPlan::check_against(&installed, &rules);
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut all = guard.all.clone();
        all.extend(
            rules
                .into_iter()
                .map(|r| Arc::new(RuleState::new(r, self.seed, now))),
        );
        self.replace(&mut guard, all);
        drop(guard);
        self.rules_changed();
        Ok(())
    }

    /// Remove one rule; returns whether it was installed. Overrides it held are lifted at the next
    /// tick (schema changes stay: they happened).
    pub fn remove(&self, id: &str) -> bool {
        let mut guard = self.rules.write();
        let before = guard.all.len();
        let all: Vec<_> = guard
            .all
            .iter()
            .filter(|r| r.rule.id != id)
            .cloned()
            .collect();
        let removed = all.len() != before;
        if removed {
            self.replace(&mut guard, all);
        }
        drop(guard);
        if removed {
            self.rules_changed();
        }
        removed
    }

    /// Remove every rule; returns how many there were.
    pub fn clear(&self) -> usize {
        let n = {
            let mut guard = self.rules.write();
            let n = guard.all.len();
            self.replace(&mut guard, Vec::new());
            n
        };
        self.rules_changed();
        n
    }

    /// Timed effects must be recomputed now: due immediately, and wake the clock task.
    fn rules_changed(&self) {
        self.next_due_us.store(0, Ordering::Release);
        self.changed.notify_one();
    }

    /// Queue a decision taken outside any request for the journal.
    pub(crate) fn record_event(&self, now: Duration, tag: FaultTag, detail: Option<String>) {
        let entry = JournalEntry {
            t_us: now.as_micros() as u64,
            method: "FAULT".into(),
            path: detail.unwrap_or_else(|| format!("/__faults/{}", tag.rule)),
            route: format!("fault.{}", tag.kind),
            api: Api::Admin,
            fault: Some(tag),
            ..Default::default()
        };
        self.pending.lock().push(entry);
        self.has_pending.store(true, Ordering::Release);
        self.changed.notify_one();
    }

    /// Queue an in-handler decision taken outside any request, merged with the queued decisions of
    /// the same rule on the same path (`3 items: …`).
    pub(crate) fn record_item_event(&self, now: Duration, tag: FaultTag, path: String) {
        let mut pending = self.pending.lock();
        let same = pending.iter_mut().find(|e| {
            e.path == path
                && e.fault
                    .as_ref()
                    .is_some_and(|f| f.rule == tag.rule && f.kind == tag.kind)
        });
        match same {
            Some(entry) => {
                if let Some(f) = entry.fault.as_mut() {
                    let listed = if entry.item_failures <= 1 {
                        f.action.clone()
                    } else {
                        f.action
                            .split_once(" items: ")
                            .map_or(f.action.clone(), |(_, d)| d.to_string())
                    };
                    let mut details: Vec<&str> = listed.split("; ").collect();
                    if details.len() < 10 {
                        details.push(&tag.action);
                    }
                    f.action = format!("{} items: {}", entry.item_failures + 1, details.join("; "));
                }
                entry.item_failures += 1;
            }
            None => {
                drop(pending);
                self.record_event(now, tag, Some(path));
                if let Some(e) = self.pending.lock().last_mut() {
                    e.item_failures = 1;
                }
            }
        }
    }

    /// Write queued background decisions to the journal.
    pub fn flush_events(&self, journal: &crate::journal::Journal) {
        if !self.has_pending.load(Ordering::Acquire) {
            return;
        }
        let entries = {
            let mut pending = self.pending.lock();
            self.has_pending.store(false, Ordering::Release);
            std::mem::take(&mut *pending)
        };
        for mut e in entries {
            e.id = journal.next_id();
            journal.append(e);
        }
    }
}

/// A rule as the admin API lists it.
#[derive(Debug, Serialize)]
pub struct RuleStatus {
    pub id: String,
    pub kind: String,
    pub description: String,
    pub active: bool,
    pub matched: u64,
    pub fired: u64,
    pub rule: FaultRule,
}

impl FaultEngine {
    /// Every installed rule with its counters, in order.
    pub fn status(&self, now: Duration) -> Vec<RuleStatus> {
        self.snapshot()
            .all
            .iter()
            .map(|r| RuleStatus {
                id: r.rule.id.clone(),
                kind: r.rule.kind().to_string(),
                description: r.rule.describe(),
                active: r.rule.window.contains(now),
                matched: r.matched(),
                fired: r.fired(),
                rule: r.rule.clone(),
            })
            .collect()
    }
}
