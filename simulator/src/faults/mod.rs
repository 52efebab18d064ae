//! The fault engine: a tower Layer that decides each request by ordered, seeded rules.
//!
//! Faults come from two places in the same shape: the `[[faults]]` tables of a scenario file and
//! JSON posted to the admin API at run time. Both are deserialized into [`plan::RawFault`] and
//! checked by [`plan::validate`] / [`plan::FaultPlan::compile`], so a rule that a scenario file
//! accepts is exactly a rule the admin API accepts, with the same error messages.
//!
//! The validated rules are installed in a [`FaultEngine`] (one per simulator, in
//! [`crate::state::Shared::fault_engine`]); each rule keeps its own RNG, seeded from the scenario seed
//! and the rule id, and its own counters, so the same seed and the same request sequence give the
//! same decisions. Time is the scenario clock.
//!
//! # Layout
//!
//! | file | what lives there |
//! |---|---|
//! | `plan*` | rules as data: raw serde shape, validation, cross-rule checks |
//! | `engine.rs` | [`FaultEngine`]: installed rules, per-rule RNG and counters, install/remove |
//! | `layer.rs` | [`FaultLayer`] → [`layer::FaultService`]: per-request decisions carried out |
//! | `decide.rs` | scope matching and the per-request decision (`Pass | Delay | Respond | Reset | Hang | Refuse`, body faults) |
//! | `items.rs` | in-handler decisions: the [`hooks::ItemFaults`] implementation |
//! | `hooks.rs` | [`hooks::Faults`], what handlers call |
//! | `context.rs` | the task-local request context hooks journal into |
//! | `schedule.rs` | window boundaries: allocation overrides, revocations, refused listeners, the clock task |
//! | `schema_change.rs` | `schema-change` applied to an org's schema |
//! | `body.rs` | `connection` faults on response bodies |
//! | `respond.rs` | error bodies per API family |
//!
//! What each fault does on the wire is in `docs/faults.md`.
//!
//! # Adding a fault kind
//!
//! 1. Add the variant to [`plan::FaultKind`] (its kebab-case name is the `kind` users write).
//! 2. Add its parameter keys to [`plan::RawFault`] (reuse an existing key when the meaning is
//!    the same) and list them for the kind in `plan/keys.rs`.
//! 3. Add the validated parameters to [`plan::FaultEffect`] (`plan/effect.rs`) and build them
//!    in `plan/kinds.rs`; add contradiction checks to `plan/conflicts.rs` if two rules of the kind
//!    can disagree.
//! 4. Give it a stage in `engine.rs` (`stage_of`), then make it act: per request in `decide.rs`
//!    (`act`), inside handlers in `items.rs` (plus a hook in `hooks.rs`), or at window boundaries
//!    in `schedule.rs` (`tick` and `boundaries`).
//! 5. Document the kind in `docs/scenarios.md`, `docs/faults.md` and design.md §6's table, and add a
//!    test under `simulator/tests/faults_*.rs`.

pub mod body;
pub mod context;
pub mod decide;
pub mod engine;
pub mod hooks;
pub mod items;
pub mod layer;
pub mod plan;
pub mod respond;
pub mod schedule;
pub mod schema_change;

pub use engine::{FaultEngine, RuleSet, RuleState, RuleStatus};
pub use layer::FaultLayer;
