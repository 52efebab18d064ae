//! [`Behaviour`]: one switch per anti-pattern. Both profiles run the same engine; `naive` turns every
//! switch on, `resilient` every switch off, and `builtin:resilient?blind-retries=on` flips exactly
//! one. Each switch is read in one place in the engine (the table says where), so toggling it changes
//! one behaviour and nothing else.
//!
//! | switch | on (the anti-pattern) | off | read in |
//! |---|---|---|---|
//! | `realtime_db` | every event is read and written inline, answered after Salesforce; describes are never cached | events go to a queue, answered at once; upserts by external id, batched into sObject Collections under load; describes cached | `intake.rs`, `write/single.rs`, `engine.rs`, `schema.rs` |
//! | `polling` | SOQL `WHERE SystemModstamp > :t` on a timer | Change Data Capture with replay | `downstream/mod.rs` |
//! | `data_ownership` | writes every field it knows (a whole copy of the record), unconditionally | writes owned fields; shared fields only with `If-Match`; others' fields never | `write/plan.rs`, `write/single.rs` |
//! | `blind_retries` | retries every error at once, forever | the configured [`RetryPolicy`](crate::retry::RetryPolicy) on retryable errors only; respects the daily allocation | `calls.rs` |
//! | `partial_failures` | ignores per-item failures; Bulk: inserts, resubmits whole files | resubmits only failed items, as upserts; reads `failedResults` | `write/batch.rs`, `bulk/` |
//! | `schema_assumptions` | hard-coded field names | fields mapped from describe; unknown fields dropped; re-describe on `INVALID_FIELD` | `write/plan.rs`, `schema.rs`, `downstream/poll.rs` |
//! | `observability` | no alerts, no `/metrics` | alerts on error rate, API usage and lag, with resolutions; `/metrics` | `lifecycle.rs`, `server.rs` |
//! | `rollback` | queue in memory | append-only log in `SFCHAOS_STATE_DIR`, fsync before 2xx, replay on start | `store/` |
//! | `batch_realtime_mixing` | every `/batch` goes to Bulk 2.0 at once, in parallel, whatever its size | Bulk only for ≥ 2,000 rows, off-peak, one job at a time; smaller loads via Collections, yielding to real-time work | `bulk/` |
//! | `availability` | no timeouts; a refused/reset connection drops the work; login failure at start is fatal | timeouts on every call; work waits in the queue through outages and drains after; logs in in the background | `config.rs`, `calls.rs`, `intake.rs`, `write/worker.rs`, `lifecycle.rs` |

use std::time::Duration;

use crate::retry::{RetrySpec, SpecError};
use crate::scenario::{AntiPattern, BuiltinBase, BuiltinProfile};

/// One switch per anti-pattern: `true` means the integration exhibits it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Behaviour {
    pub realtime_db: bool,
    pub polling: bool,
    pub data_ownership: bool,
    pub blind_retries: bool,
    pub partial_failures: bool,
    pub schema_assumptions: bool,
    pub observability: bool,
    pub rollback: bool,
    pub batch_realtime_mixing: bool,
    pub availability: bool,
}

impl Behaviour {
    /// Every switch set to `on`.
    pub fn all(on: bool) -> Self {
        Self {
            realtime_db: on,
            polling: on,
            data_ownership: on,
            blind_retries: on,
            partial_failures: on,
            schema_assumptions: on,
            observability: on,
            rollback: on,
            batch_realtime_mixing: on,
            availability: on,
        }
    }

    /// `builtin:naive`: all ten anti-patterns.
    pub fn naive() -> Self {
        Self::all(true)
    }

    /// `builtin:resilient`: none of them.
    pub fn resilient() -> Self {
        Self::all(false)
    }

    /// A profile's base behaviour with its toggles applied.
    pub fn from_profile(profile: &BuiltinProfile) -> Self {
        let mut b = match profile.base {
            BuiltinBase::Naive => Self::naive(),
            BuiltinBase::Resilient => Self::resilient(),
        };
        for (ap, on) in &profile.toggles {
            b.set(*ap, *on);
        }
        b
    }

    /// Flip one switch.
    pub fn set(&mut self, ap: AntiPattern, on: bool) {
        *self.switch(ap) = on;
    }

    /// Whether the integration exhibits `ap`.
    pub fn exhibits(&self, ap: AntiPattern) -> bool {
        let mut copy = *self;
        *copy.switch(ap)
    }

    fn switch(&mut self, ap: AntiPattern) -> &mut bool {
        match ap {
            AntiPattern::RealtimeDb => &mut self.realtime_db,
            AntiPattern::Polling => &mut self.polling,
            AntiPattern::DataOwnership => &mut self.data_ownership,
            AntiPattern::BlindRetries => &mut self.blind_retries,
            AntiPattern::PartialFailures => &mut self.partial_failures,
            AntiPattern::SchemaAssumptions => &mut self.schema_assumptions,
            AntiPattern::Observability => &mut self.observability,
            AntiPattern::Rollback => &mut self.rollback,
            AntiPattern::BatchRealtimeMixing => &mut self.batch_realtime_mixing,
            AntiPattern::Availability => &mut self.availability,
        }
    }

    /// The anti-pattern ids switched on, for logs and `/metrics`.
    pub fn exhibited(&self) -> Vec<AntiPattern> {
        AntiPattern::ALL
            .into_iter()
            .filter(|ap| self.exhibits(*ap))
            .collect()
    }
}

/// Backoff bounds for the reference integrations: the simulator-paper defaults of `crate::retry`
/// (5 ms / 2 s) are made for contention experiments; an integration talking to Salesforce starts at
/// 100 ms and stops growing at 20 s.
pub const REFERENCE_BASE: Duration = Duration::from_millis(100);
/// See [`REFERENCE_BASE`].
pub const REFERENCE_CAP: Duration = Duration::from_secs(20);

/// How long the references stop writing after `TotalRequests Limit exceeded.` before one request
/// tests the allocation again. Scenarios squeeze the 24-hour window into minutes and a reference
/// cannot know by how much, so it probes often: one call per 10 s is 8,640 a day, a rounding error
/// against any edition's allocation (the retry policy's own default, 5 minutes, suits a real day).
pub const REFERENCE_LIMIT_HOLD: Duration = Duration::from_secs(10);

/// The retry strategy a profile runs.
///
/// * `explicit` (`--retry` / `SFCHAOS_RETRY`, the full strategy grammar of [`crate::retry::spec`])
///   wins;
/// * otherwise `retry=NAME?PARAMS` from the profile, as written (the grammar's defaults for what it
///   leaves out: Brooker's 5 ms / 2 s);
/// * otherwise `retry=NAME` from the profile, with [`REFERENCE_BASE`]/[`REFERENCE_CAP`] and the
///   strategy's own defaults for everything else;
/// * otherwise `none` when blind retries are on (retry at once) and `full-jitter` when they are off.
///
/// With blind retries on, whatever the strategy, attempts are unlimited and there is no budget: the
/// strategy only decides how long to wait between attempts.
pub fn retry_spec(
    profile: &BuiltinProfile,
    behaviour: &Behaviour,
    explicit: Option<&str>,
) -> Result<RetrySpec, SpecError> {
    let mut spec: RetrySpec = match explicit {
        Some(text) => text.parse()?,
        None if profile.retry_params.is_some() => {
            // Parameters given with the name: the strategy string as written.
            let name = profile.retry.map_or("none", |id| id.as_str());
            let params = profile.retry_params.as_deref().unwrap_or_default();
            format!("{name}?{params}").parse()?
        }
        None => {
            let name = match profile.retry {
                Some(id) => id.as_str(),
                None if behaviour.blind_retries => "none",
                None => "full-jitter",
            };
            match name {
                "none" => "none".parse()?,
                "fixed" => "fixed?delay=1s".parse()?,
                other => format!(
                    "{other}?base={}ms&cap={}s",
                    REFERENCE_BASE.as_millis(),
                    REFERENCE_CAP.as_secs()
                )
                .parse()?,
            }
        }
    };
    if explicit.is_none() {
        spec.limit_hold = REFERENCE_LIMIT_HOLD;
    }
    if behaviour.blind_retries {
        spec.max_attempts = None;
        spec.budget = None;
    }
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry::Backoff;
    use crate::scenario::IntegrationCommand;

    fn profile(text: &str) -> BuiltinProfile {
        match text.parse::<IntegrationCommand>() {
            Ok(IntegrationCommand::Builtin(p)) => p,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn a_toggle_flips_exactly_one_switch() {
        for ap in AntiPattern::ALL {
            let p = profile(&format!("builtin:resilient?{ap}=on"));
            let b = Behaviour::from_profile(&p);
            assert_eq!(b.exhibited(), vec![ap]);
            let p = profile(&format!("builtin:naive?{ap}=off"));
            let b = Behaviour::from_profile(&p);
            assert_eq!(b.exhibited().len(), 9);
            assert!(!b.exhibits(ap));
        }
    }

    #[test]
    fn default_strategies_per_profile() {
        let naive = profile("builtin:naive");
        let spec = retry_spec(&naive, &Behaviour::from_profile(&naive), None).unwrap();
        assert_eq!(spec.backoff, Backoff::None);
        assert_eq!(spec.max_attempts, None);
        assert!(spec.budget.is_none());

        let resilient = profile("builtin:resilient");
        let spec = retry_spec(&resilient, &Behaviour::from_profile(&resilient), None).unwrap();
        assert_eq!(
            spec.backoff,
            Backoff::FullJitter {
                base: REFERENCE_BASE,
                cap: REFERENCE_CAP
            }
        );
        assert_eq!(spec.max_attempts, Some(3));
        assert!(spec.budget.is_some());

        let chosen = profile("builtin:resilient?retry=decorrelated");
        let spec = retry_spec(&chosen, &Behaviour::from_profile(&chosen), None).unwrap();
        assert_eq!(spec.name, "decorrelated");

        let explicit = retry_spec(
            &resilient,
            &Behaviour::resilient(),
            Some("exponential?base=5ms&cap=40ms"),
        )
        .unwrap();
        assert_eq!(
            explicit.backoff,
            Backoff::Exponential {
                base: Duration::from_millis(5),
                cap: Duration::from_millis(40)
            }
        );
        assert!(retry_spec(&resilient, &Behaviour::resilient(), Some("yolo")).is_err());
    }
}
