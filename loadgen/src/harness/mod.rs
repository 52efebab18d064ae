//! The world around the integration build, and the run that drives it (design.md §4, §5).
//!
//! `sfchaos run` plays every party the integration talks to: the upstream system (events), the
//! Salesforce org (the simulator, embedded in-process), other Salesforce users (actors), the
//! downstream system (sink) and the on-call pager (alert sink). It starts the build with the
//! contract environment, drives open-model load into it, applies lifecycle actions, lets it
//! drain, and reconciles the ledger against the org.
//!
//! # Layout
//!
//! | file | what lives there |
//! |---|---|
//! | `run.rs` | [`run_scenario`]: one scenario from start to reconciliation; the order of things |
//! | `world.rs` | the embedded simulator: org from `[org]`, seed data, users, CA file, fault hand-over |
//! | `supervisor.rs` | the integration process: start, `/healthz`, output capture, crashes, actions, stop |
//! | `env.rs` | the contract environment (`SF_*`, `SFCHAOS_*`) |
//! | `inbound.rs` | the event driver (`POST /events`, `POST /batch`), its workers, and the ledger's writer thread |
//! | `prepare.rs` | event bodies encoded ahead of their send, a thread per stream |
//! | `http.rs` | the lean keep-alive HTTP/1.1 client the driver uses |
//! | `load_runtime.rs` | the load's own single-threaded runtime and thread |
//! | `sinks.rs` | the downstream sink and the alert sink, faultable |
//! | `actors.rs` | other users editing records through the simulator's REST API |
//! | `changes.rs` | streaming the org's change log to `changes.ndjson` |
//! | `phase.rs` | phase labels (`baseline`, `fault:<id>`, `action:<kind>`, `drain`) |
//! | `settle.rs` | ending the drain once a builtin integration's work is done (`sfchaos compare`) |
//! | `reconcile.rs` | the org's final state for the ledger's keys, `org-final.ndjson` |
//! | `convert.rs` | scenario rates, keys and field values → schedules and generators |
//! | `evidence.rs` | NDJSON evidence logs, the run clock, the output file names |
//! | `progress.rs` | the live display |
//!
//! # Output directory of one scenario
//!
//! See `docs/run-output.md` for every file and line format. In short: `run.json` (facts for
//! re-rendering), `scenario.json`, `ca.pem`, `ledger.ndjson`, `latency.hlog` (HdrHistogram
//! interval log), `journal.ndjson.zst`, `changes.ndjson`, `actor-edits.ndjson`, `sink.ndjson`,
//! `alerts.ndjson`, `lifecycle.ndjson`, `faults.ndjson`, `phases.ndjson`, `org-final.ndjson`,
//! `findings.json`, `integration.stdout.log`, `integration.stderr.log`, `state/`.

pub mod actors;
pub mod changes;
pub mod convert;
pub mod env;
pub mod evidence;
pub mod http;
pub mod inbound;
pub mod load_runtime;
pub mod phase;
pub mod prepare;
pub mod progress;
pub mod reconcile;
pub mod run;
pub mod settle;
pub mod sinks;
pub mod supervisor;
pub mod world;

pub use run::{run_scenario, HarnessError, RunOptions, ScenarioRun};
