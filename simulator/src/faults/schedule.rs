//! Timed changes to the org: what happens at window boundaries rather than to single requests.
//!
//! - `rate-limit`: the allocation's max and window are overridden while the rule's window is open
//!   (and restored to the org's own afterwards); `remaining` sets the usage when the window opens and
//!   the usage added for it is lifted when it closes; `concurrent_long_running` overrides the cap.
//! - `session`: `revoke_at` revokes every session in scope at that instant; a `lifetime` gives the
//!   sessions alive when the window opens their expiry (the layer does it for sessions it sees later).
//! - `schema-change`: applied once at `at` (`schema_change.rs`).
//! - `outage` `refuse`: the listeners are closed while the window is open.
//!
//! [`tick`] applies everything due at a scenario time and computes the next boundary. It is called
//! by the clock task [`spawn`] (so that a refuse window opens with no request arriving) and by the
//! layer when a request arrives at or after the next boundary (so boundaries are exact on the
//! scenario clock whichever runs first). Both serialise on the engine's `applied` lock.

use super::engine::RuleState;
use super::plan::{format_duration, FaultEffect, OutageMode, RateLimitFault, SessionExpiry};
use super::schema_change;
use crate::state::SimState;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

impl super::FaultEngine {
    /// Whether a window boundary is due at `now`.
    pub fn is_due(&self, now: Duration) -> bool {
        now.as_micros() as u64 >= self.next_due_us.load(Ordering::Acquire)
    }

    /// The next window boundary, if one is pending.
    pub fn next_due(&self) -> Option<Duration> {
        match self.next_due_us.load(Ordering::Acquire) {
            u64::MAX => None,
            us => Some(Duration::from_micros(us)),
        }
    }
}

/// Apply everything due at scenario time `now`.
pub fn tick(state: &SimState, now: Duration) {
    let engine = &state.fault_engine;
    let mut applied = engine.applied.lock();
    let set = engine.snapshot();
    let active = |r: &Arc<RuleState>| r.rule.window.contains(now);

    // Allocation max/window: the first active rule that sets either.
    let allocation = set
        .all
        .iter()
        .filter(|r| active(r))
        .find_map(|r| match &r.rule.effect {
            FaultEffect::RateLimit(RateLimitFault {
                daily_max, window, ..
            }) if daily_max.is_some() || window.is_some() => {
                Some((r.rule.id.clone(), *daily_max, *window))
            }
            _ => None,
        });
    if allocation != applied.allocation {
        for org in state.orgs() {
            let (own_max, own_window) = {
                let c = &org.config;
                (c.daily_api_requests, c.api_window)
            };
            let (max, window) = match &allocation {
                Some((_, max, window)) => (max.unwrap_or(own_max), window.unwrap_or(own_window)),
                None => (own_max, own_window),
            };
            org.allocation.configure(now, max, window, None);
        }
        let (rule, action) = match (&allocation, &applied.allocation) {
            (Some((rule, max, window)), _) => (
                rule.clone(),
                format!(
                    "allocation max={} window={}",
                    max.map_or("org".into(), |m| m.to_string()),
                    window.map_or("org".into(), format_duration)
                ),
            ),
            (None, Some((rule, _, _))) => (rule.clone(), "allocation restored".into()),
            (None, None) => (String::new(), String::new()),
        };
        if let Some(r) = set.all.iter().find(|r| r.rule.id == rule) {
            engine.record_event(now, r.tag(action), None);
        } else if !rule.is_empty() {
            engine.record_event(
                now,
                crate::journal::FaultTag {
                    rule,
                    kind: "rate-limit".into(),
                    action,
                },
                None,
            );
        }
        applied.allocation = allocation;
    }

    // `remaining`: usage set when the window opens, lifted when no such window is open.
    for r in set.all.iter() {
        let FaultEffect::RateLimit(RateLimitFault {
            remaining: Some(remaining),
            ..
        }) = &r.rule.effect
        else {
            continue;
        };
        if active(r) && !r.applied.swap(true, Ordering::AcqRel) {
            for org in state.orgs() {
                org.allocation.set_remaining(now, Some(*remaining));
            }
            r.fire();
            engine.record_event(now, r.tag(format!("remaining={remaining}")), None);
        }
    }
    let squeeze = set
        .all
        .iter()
        .find(|r| {
            active(r)
                && matches!(
                    &r.rule.effect,
                    FaultEffect::RateLimit(RateLimitFault {
                        remaining: Some(_),
                        ..
                    })
                )
        })
        .map(|r| r.rule.id.clone());
    if squeeze.is_none() && applied.squeeze.is_some() {
        for org in state.orgs() {
            org.allocation.set_remaining(now, None);
        }
    }
    applied.squeeze = squeeze;

    // The long-running cap.
    let long_running = set
        .all
        .iter()
        .filter(|r| active(r))
        .find_map(|r| match &r.rule.effect {
            FaultEffect::RateLimit(RateLimitFault {
                concurrent_long_running: Some(cap),
                long_running_threshold,
                ..
            }) => Some((r.rule.id.clone(), cap.get(), *long_running_threshold)),
            _ => None,
        });
    if long_running != applied.long_running {
        for org in state.orgs() {
            org.allocation
                .concurrent
                .set_override(long_running.as_ref().map(|(_, cap, t)| (*cap, *t)));
        }
        applied.long_running = long_running;
    }

    // Refused connections.
    let refusing = set
        .all
        .iter()
        .find(|r| {
            active(r)
                && matches!(&r.rule.effect, FaultEffect::Outage(o) if o.mode == OutageMode::Refuse)
        })
        .cloned();
    let refusing_id = refusing.as_ref().map(|r| r.rule.id.clone());
    if refusing_id != applied.refusing {
        if let Some(gate) = engine.gate.lock().as_ref() {
            gate.set_open(refusing.is_none());
        }
        match &refusing {
            Some(r) => {
                r.fire();
                engine.record_event(now, r.tag("listeners closed"), None);
            }
            None => {
                if let Some(r) = applied
                    .refusing
                    .as_ref()
                    .and_then(|id| set.all.iter().find(|r| &r.rule.id == id))
                {
                    engine.record_event(now, r.tag("listeners reopened"), None);
                }
            }
        }
        applied.refusing = refusing_id;
    }

    // One-shot changes: revocations, lifetimes at window open, schema changes.
    for r in set.all.iter() {
        match &r.rule.effect {
            FaultEffect::Session(SessionExpiry::RevokeAt(at)) if now >= *at => {
                if r.applied.swap(true, Ordering::AcqRel) {
                    continue;
                }
                let mut revoked = 0;
                for org in state.orgs() {
                    if r.rule.scope.clients.is_empty() {
                        revoked += state.sessions.revoke_all(org.num, None);
                    } else {
                        for client in &r.rule.scope.clients {
                            revoked += state.sessions.revoke_all(org.num, Some(client));
                        }
                    }
                }
                r.fire();
                engine.record_event(now, r.tag(format!("revoked {revoked} sessions")), None);
            }
            FaultEffect::Session(SessionExpiry::Lifetime(lifetime)) if active(r) => {
                if r.applied.swap(true, Ordering::AcqRel) || !r.rule.scope.clients.is_empty() {
                    continue;
                }
                for org in state.orgs() {
                    state.sessions.set_lifetime(org.num, *lifetime);
                }
                engine.record_event(
                    now,
                    r.tag(format!("session lifetime {}", format_duration(*lifetime))),
                    None,
                );
            }
            FaultEffect::SchemaChange(change) if now >= r.rule.window.start => {
                if r.applied.swap(true, Ordering::AcqRel) {
                    continue;
                }
                let now_ms = state.clock.epoch_ms_at(now);
                let mut outcomes = Vec::new();
                for org in state.orgs() {
                    let mut data = org.data.write();
                    outcomes.push(schema_change::apply(&mut data, change, now_ms));
                }
                let action = match outcomes.iter().find_map(|o| o.as_ref().err()) {
                    Some(why) => {
                        tracing::warn!("schema change {} not applied: {why}", r.rule.id);
                        format!("not applied: {why}")
                    }
                    None => {
                        r.fire();
                        outcomes
                            .into_iter()
                            .find_map(Result::ok)
                            .unwrap_or_default()
                    }
                };
                engine.record_event(now, r.tag(action), None);
            }
            _ => {}
        }
    }

    let next = set
        .all
        .iter()
        .flat_map(|r| boundaries(r))
        .filter(|t| *t > now)
        .min();
    engine.next_due_us.store(
        next.map_or(u64::MAX, |t| t.as_micros() as u64),
        Ordering::Release,
    );
}

/// The scenario times at which a rule's timed effects change.
fn boundaries(r: &RuleState) -> Vec<Duration> {
    let timed = match &r.rule.effect {
        FaultEffect::RateLimit(_) | FaultEffect::SchemaChange(_) | FaultEffect::Session(_) => true,
        FaultEffect::Outage(o) => o.mode == OutageMode::Refuse,
        _ => false,
    };
    if !timed {
        return Vec::new();
    }
    let mut times = vec![r.rule.window.start];
    times.extend(r.rule.window.end());
    times
}

/// Start the clock task: it applies window boundaries as they come and journals background
/// decisions, until shutdown.
pub fn spawn(state: SimState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let engine = state.fault_engine.clone();
        loop {
            let changed = engine.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let due = engine.next_due();
            let wake = async {
                match due {
                    Some(t) => tokio::time::sleep_until(state.clock.start() + t).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = state.shutdown.cancelled() => break,
                _ = changed => {}
                _ = wake => {}
            }
            let now = state.clock.elapsed();
            if engine.is_due(now) {
                tick(&state, now);
            }
            engine.flush_events(&state.journal);
        }
        engine.flush_events(&state.journal);
    })
}
