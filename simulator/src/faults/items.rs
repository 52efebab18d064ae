//! Decisions inside handlers: the engine's [`ItemFaults`] implementation.
//!
//! The trigger of an in-handler rule picks *requests* (or Bulk 2.0 jobs); its own keys pick the
//! records. One request's records therefore share one trigger decision: it is kept in the request
//! context, or, for work outside any request (a Bulk 2.0 job being processed), per job path.
//! Every decision is journaled: on the request's entry (`item_faults`) when there is a request,
//! otherwise as a fault event of its own.

use super::context;
use super::decide::in_scope;
use super::engine::RuleState;
use super::hooks::{ItemFaults, LockHold, Probe};
use super::plan::{
    format_duration, known_error, BulkSlowdownFault, DropEvents, FaultEffect, StreamingFault,
};
use super::FaultEngine;
use crate::error::ApiError;
use crate::journal::FaultTag;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

impl FaultEngine {
    /// The first rule of a kind that is open, in scope and triggered for this probe's request.
    fn item_rule(
        &self,
        probe: &Probe<'_>,
        mut wanted: impl FnMut(&RuleState) -> bool,
    ) -> Option<Arc<RuleState>> {
        let set = self.snapshot();
        if !set.has_item_rules {
            return None;
        }
        let facts = context::current();
        set.all
            .iter()
            .filter(|r| r.rule.window.contains(probe.now) && wanted(r))
            .find(|r| {
                in_scope(&r.rule.scope, probe) && request_triggered(r, probe, facts.as_deref())
            })
            .cloned()
    }

    /// Journal an in-handler decision on its request, or (outside requests) as an event of its own;
    /// record failures are merged per rule and path until the next flush, so a Bulk 2.0 batch's
    /// failed rows make one entry.
    fn journal_item(&self, probe: &Probe<'_>, tag: FaultTag) {
        match context::current() {
            Some(facts) => facts.record(tag),
            None if tag.kind == "partial-failure" => {
                self.record_item_event(probe.now, tag, format!("{} {}", probe.method, probe.path))
            }
            None => self.record_event(
                probe.now,
                tag,
                Some(format!("{} {}", probe.method, probe.path)),
            ),
        }
    }
}

/// The trigger decision for the request (or job) a probe belongs to, taken once.
fn request_triggered(
    rule: &RuleState,
    probe: &Probe<'_>,
    facts: Option<&context::RequestFacts>,
) -> bool {
    if rule.rule.trigger == super::plan::Trigger::ALWAYS {
        rule.matched.fetch_add(1, Ordering::Relaxed);
        return true;
    }
    if let Some(facts) = facts {
        return facts.decision(&rule.rule.id, || rule.triggered());
    }
    let mut last = rule.last_job.lock();
    match last.as_ref() {
        Some((path, decided)) if path == probe.path => *decided,
        _ => {
            let decided = rule.triggered();
            *last = Some((probe.path.to_string(), decided));
            decided
        }
    }
}

impl ItemFaults for FaultEngine {
    fn item_failure(&self, probe: &Probe<'_>, index: usize, key: Option<&str>) -> Option<ApiError> {
        let rule = self.item_rule(probe, |r| {
            matches!(r.rule.effect, FaultEffect::PartialFailure(_))
        })?;
        let FaultEffect::PartialFailure(p) = &rule.rule.effect else {
            return None;
        };
        let position = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let by_row = p.rows.iter().any(|r| r.get() == position);
        let by_key = key.is_some_and(|k| p.keys.iter().any(|x| x == k));
        let by_fraction = !by_row && !by_key && p.fraction.is_some_and(|f| rule.draw() < f);
        if !(by_row || by_key || by_fraction) {
            return None;
        }
        let n = rule.fired.fetch_add(1, Ordering::Relaxed) as usize;
        let code = &p.error_codes[n % p.error_codes.len()];
        let (status, message) = known_error(code)
            .map(|k| (k.status, k.message.to_string()))
            .unwrap_or((400, code.clone()));
        let why = if by_row {
            "row"
        } else if by_key {
            "key"
        } else {
            "fraction"
        };
        self.journal_item(probe, rule.tag(format!("item {index} ({why}): {code}")));
        Some(ApiError::Custom {
            status,
            code: code.clone(),
            message,
            fields: vec![],
        })
    }

    fn bulk_slowdown(&self, probe: &Probe<'_>) -> Option<BulkSlowdownFault> {
        let rule = self.item_rule(probe, |r| {
            matches!(r.rule.effect, FaultEffect::BulkSlowdown(_))
        })?;
        let FaultEffect::BulkSlowdown(b) = &rule.rule.effect else {
            return None;
        };
        rule.fire();
        let action = match b {
            BulkSlowdownFault::Extra(d) => format!("job +{}", format_duration(*d)),
            BulkSlowdownFault::Fail { .. } => "job failed".to_string(),
        };
        self.journal_item(probe, rule.tag(action));
        Some(b.clone())
    }

    fn lock_hold(&self, probe: &Probe<'_>) -> Option<Duration> {
        self.lock_contention(probe, &[]).map(|l| l.hold)
    }

    fn lock_contention(&self, probe: &Probe<'_>, locking: &[&str]) -> Option<LockHold> {
        let rule = self.item_rule(probe, |r| match &r.rule.effect {
            FaultEffect::LockContention(l) => {
                l.objects.is_empty()
                    || locking.is_empty()
                    || locking
                        .iter()
                        .any(|o| l.objects.iter().any(|x| x.eq_ignore_ascii_case(o)))
            }
            _ => false,
        })?;
        let FaultEffect::LockContention(l) = &rule.rule.effect else {
            return None;
        };
        rule.fire();
        self.journal_item(
            probe,
            rule.tag(format!("rows held {}", format_duration(l.hold))),
        );
        Some(LockHold {
            hold: l.hold,
            wait: l.wait,
            objects: l.objects.clone(),
        })
    }

    fn streaming(&self, probe: &Probe<'_>) -> Option<StreamingFault> {
        // `/meta/connect` (as `/cometd/62.0/meta/connect` or bare) or an event's channel.
        let is_meta = probe.path.contains("/meta/");
        let set = self.snapshot();
        if !set.has_item_rules {
            return None;
        }
        for rule in set.all.iter() {
            let FaultEffect::Streaming(s) = &rule.rule.effect else {
                continue;
            };
            if !rule.rule.window.contains(probe.now) || !in_scope(&rule.rule.scope, probe) {
                continue;
            }
            let (hit, action) = match s {
                StreamingFault::Rehandshake if is_meta => (rule.triggered(), "403::Unknown client"),
                StreamingFault::Rehandshake => continue,
                StreamingFault::ExhaustAllocation => (true, "delivery allocation exhausted"),
                StreamingFault::DropEvents(_) if is_meta => continue,
                StreamingFault::DropEvents(DropEvents::Count(n)) => (
                    rule.matched.fetch_add(1, Ordering::Relaxed) < u64::from(n.get()),
                    "event dropped",
                ),
                StreamingFault::DropEvents(DropEvents::Fraction(p)) => {
                    rule.matched.fetch_add(1, Ordering::Relaxed);
                    (rule.draw() < *p, "event dropped")
                }
            };
            if hit {
                // An exhausted allocation refuses every delivery; journal when it starts, and on
                // each request that meets it.
                let first = rule.fired.fetch_add(1, Ordering::Relaxed) == 0;
                let exhausted = matches!(s, StreamingFault::ExhaustAllocation);
                if first || !exhausted || context::current().is_some() {
                    self.journal_item(probe, rule.tag(action));
                }
                return Some(*s);
            }
        }
        None
    }
}
