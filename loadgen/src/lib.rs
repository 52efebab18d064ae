//! The harness around an integration build: scenarios, load, the world the integration lives in,
//! reference integrations, scoring and reports.
//!
//! # Layout
//!
//! | module | what lives there |
//! |---|---|
//! | [`scenario`] | the TOML scenario format: raw serde structs, then validated types; errors name file, line and key |
//! | [`schedule`] | open-model arrival schedules yielding *intended* send instants |
//! | [`recorder`] | HdrHistograms (raw and corrected for coordinated omission), interval logs, merging |
//! | [`datagen`] | deterministic key pools and field values derived from the seed |
//! | [`ledger`] | what the harness sent, what was accepted, and the reconciliation against the org |
//! | [`harness`] | the world around the integration: supervisor, inbound driver, sinks, actors, the run loop |
//! | [`sf`] | a small Salesforce client (REST, composite, Bulk 2.0, CometD) used by actors and reference integrations |
//! | [`retry`] | retry strategies: backoff formulas, budgets, breakers |
//! | [`reference`](mod@reference) | the reference integrations `builtin:naive` and `builtin:resilient` |
//! | [`scoring`] | one detector per anti-pattern, each a pure function of the run's evidence |
//! | [`report`] | report.json, junit.xml, report.html, terminal summary |

pub mod cli;
pub mod compare;
pub mod datagen;
pub mod harness;
pub mod ledger;
pub mod recorder;
pub mod reference;
pub mod report;
pub mod retry;
pub mod scenario;
pub mod schedule;
pub mod scoring;
pub mod sf;
