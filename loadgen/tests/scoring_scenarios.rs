//! The per-anti-pattern scenarios in `scenarios/<id>.toml`: each parses, is short (≤ 90 s of
//! scenario time), expects its own anti-pattern's score, and contains what exercises it.

use std::path::PathBuf;
use std::time::Duration;

use loadgen::scenario::{ActionKind, AntiPattern, Owner, Scenario, Traffic};
use loadgen::scoring::evidence::StreamKind;
use loadgen::scoring::Evidence;

fn scenario(id: AntiPattern) -> Scenario {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios")
        .join(format!("{id}.toml"));
    Scenario::from_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn kinds(ev: &Evidence) -> Vec<&str> {
    ev.faults.iter().map(|f| f.kind.as_str()).collect()
}

#[test]
fn every_anti_pattern_has_a_short_scenario_that_expects_its_score() {
    for id in AntiPattern::ALL {
        let s = scenario(id);
        assert_eq!(s.name, id.as_str());
        assert!(
            s.total_duration() <= Duration::from_secs(90),
            "{id}: {:?} of scenario time",
            s.total_duration()
        );
        assert!(
            s.expect.min_score.get(&id).is_some_and(|m| *m >= 85),
            "{id} expects its own score"
        );
        assert!(s.warnings.is_empty(), "{id}: {:?}", s.warnings);
    }
}

#[test]
fn each_scenario_contains_what_exercises_its_anti_pattern() {
    for id in AntiPattern::ALL {
        let s = scenario(id);
        let ev = Evidence::from_scenario(&s);
        let k = kinds(&ev);
        let has_events = ev.streams.iter().any(|s| s.kind == StreamKind::Events);
        let has_batch = ev.streams.iter().any(|s| s.kind == StreamKind::Batch);
        match id {
            AntiPattern::RealtimeDb => {
                assert!(
                    has_events && k.contains(&"latency"),
                    "{id}: events against a slow API"
                );
            }
            AntiPattern::Polling => {
                assert!(
                    !ev.actors.is_empty() && !has_events,
                    "{id}: changes by others only"
                );
            }
            AntiPattern::DataOwnership => {
                assert!(!ev.actors.is_empty() && has_events);
                assert!(s.ownership.0.values().any(|o| matches!(o, Owner::Actor(_))));
            }
            AntiPattern::BlindRetries => {
                assert!(k.contains(&"outage") && k.contains(&"rate-limit"));
                assert!(
                    s.org.api_window <= Duration::from_secs(60),
                    "squeezed allocation window"
                );
            }
            AntiPattern::PartialFailures => {
                assert!(k.contains(&"partial-failure") && has_batch);
                let rows = s.load.iter().map(|l| match &l.traffic {
                    Traffic::Batches { batch_size, .. } => batch_size.get(),
                    Traffic::Events { .. } => 0,
                });
                assert!(rows.max().unwrap_or(0) >= 2_000, "big enough for Bulk");
            }
            AntiPattern::SchemaAssumptions => {
                let change = ev
                    .faults
                    .iter()
                    .find(|f| f.kind == "schema-change")
                    .unwrap();
                assert!(change.span.start_us < ev.load_us / 2);
                assert!(s.load.len() >= 2, "events with and without the field");
            }
            AntiPattern::Observability => {
                assert!(ev.faults.iter().filter(|f| f.kind != "latency").count() >= 2);
            }
            AntiPattern::Rollback => {
                assert!(s
                    .actions
                    .iter()
                    .any(|a| matches!(a.kind, ActionKind::CrashRestart)));
                let writes_stall = ev.faults.iter().any(|f| {
                    f.kind == "latency" || (f.kind == "outage" && f.mode.as_deref() == Some("hang"))
                });
                assert!(writes_stall, "work queued when the process dies");
            }
            AntiPattern::BatchRealtimeMixing => {
                assert!(has_batch && has_events && !ev.peak.is_empty());
            }
            AntiPattern::Availability => {
                let modes: Vec<&str> = ev.faults.iter().filter_map(|f| f.mode.as_deref()).collect();
                assert!(modes.contains(&"hang") && modes.contains(&"reset"));
                let hang = ev
                    .faults
                    .iter()
                    .find(|f| f.mode.as_deref() == Some("hang"))
                    .unwrap();
                let len = hang.span.end_us.unwrap() - hang.span.start_us;
                assert!(len > 30_000_000, "long enough to tell a timeout from none");
            }
        }
    }
}
