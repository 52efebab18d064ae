//! Phases: the label under which each event's latency is recorded, so the report can show the
//! integration's latency during a fault or a restart beside its latency at rest.
//!
//! An event belongs to the phase open at its **intended** instant (it was meant to be sent then,
//! so whatever it suffers is that phase's doing):
//! 1. `action:<kind>` from the moment an action starts until the integration answers `/healthz`
//!    again (for `pause`, until the `resume`);
//! 2. else `fault:<rule id>` while a fault window is open (the first such rule in plan order);
//! 3. else `drain` after load has stopped;
//! 4. else `baseline`.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;
use serde::Serialize;
use simulator::faults::plan::{FaultPlan, Window};

use super::evidence::{micros, NdjsonLog};

pub const BASELINE: &str = "baseline";
pub const DRAIN: &str = "drain";

#[derive(Debug)]
struct Span {
    label: Arc<str>,
    start: Duration,
    end: Option<Duration>,
}

/// The phase timeline of one run: fault windows known up front, action spans as they happen.
#[derive(Debug)]
pub struct Phases {
    faults: Vec<(Arc<str>, Window)>,
    load_end: Duration,
    baseline: Arc<str>,
    drain: Arc<str>,
    actions: RwLock<Vec<Span>>,
}

/// Handle for closing an action span.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpanId(usize);

/// One line of `phases.ndjson`: a stretch of the run with one phase.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PhaseSpan {
    pub phase: String,
    pub start_us: u64,
    pub end_us: u64,
}

impl Phases {
    pub fn new(plan: &FaultPlan, load_end: Duration) -> Self {
        Phases {
            faults: plan
                .rules
                .iter()
                .map(|r| (Arc::from(format!("fault:{}", r.id)), r.window))
                .collect(),
            load_end,
            baseline: Arc::from(BASELINE),
            drain: Arc::from(DRAIN),
            actions: RwLock::new(Vec::new()),
        }
    }

    /// The phase at scenario time `t`.
    pub fn at(&self, t: Duration) -> Arc<str> {
        {
            let actions = self.actions.read();
            // Latest first: a restart during a pause is the restart's.
            for span in actions.iter().rev() {
                if span.start <= t && span.end.is_none_or(|end| t < end) {
                    return Arc::clone(&span.label);
                }
            }
        }
        if let Some((label, _)) = self.faults.iter().find(|(_, w)| w.contains(t)) {
            return Arc::clone(label);
        }
        if t >= self.load_end {
            Arc::clone(&self.drain)
        } else {
            Arc::clone(&self.baseline)
        }
    }

    /// Opens `action:<kind>` at `t`.
    pub fn begin_action(&self, kind: &str, t: Duration) -> SpanId {
        let mut actions = self.actions.write();
        actions.push(Span {
            label: Arc::from(format!("action:{kind}")),
            start: t,
            end: None,
        });
        SpanId(actions.len() - 1)
    }

    /// Closes a span (no-op if already closed).
    pub fn end_action(&self, id: SpanId, t: Duration) {
        if let Some(span) = self.actions.write().get_mut(id.0) {
            if span.end.is_none() {
                span.end = Some(t.max(span.start));
            }
        }
    }

    /// The timeline over `[0, end)` as consecutive spans, each with one phase.
    pub fn timeline(&self, end: Duration) -> Vec<PhaseSpan> {
        let mut cuts: Vec<Duration> = vec![Duration::ZERO, end, self.load_end];
        for (_, w) in &self.faults {
            cuts.push(w.start);
            cuts.extend(w.end());
        }
        for span in self.actions.read().iter() {
            cuts.push(span.start);
            cuts.extend(span.end);
        }
        cuts.retain(|c| *c <= end);
        cuts.sort();
        cuts.dedup();
        let mut out: Vec<PhaseSpan> = Vec::new();
        for pair in cuts.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            let phase = self.at(a).to_string();
            match out.last_mut() {
                Some(last) if last.phase == phase => last.end_us = micros(b),
                _ => out.push(PhaseSpan {
                    phase,
                    start_us: micros(a),
                    end_us: micros(b),
                }),
            }
        }
        out
    }

    /// Writes [`Phases::timeline`] to `log`.
    pub fn write_timeline(&self, end: Duration, log: &NdjsonLog) {
        for span in self.timeline(end) {
            log.write(&span);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn actions_win_over_faults_and_drain_follows_load() {
        let plan = FaultPlan::default();
        let phases = Phases::new(&plan, secs(10));
        assert_eq!(&*phases.at(secs(1)), BASELINE);
        assert_eq!(&*phases.at(secs(10)), DRAIN);
        let id = phases.begin_action("crash-restart", secs(3));
        assert_eq!(&*phases.at(secs(4)), "action:crash-restart");
        phases.end_action(id, secs(5));
        assert_eq!(&*phases.at(secs(5)), BASELINE);
        let timeline = phases.timeline(secs(12));
        let names: Vec<&str> = timeline.iter().map(|s| s.phase.as_str()).collect();
        assert_eq!(names, [BASELINE, "action:crash-restart", BASELINE, DRAIN]);
        assert_eq!(timeline[1].start_us, 3_000_000);
        assert_eq!(timeline[3].end_us, 12_000_000);
    }
}
