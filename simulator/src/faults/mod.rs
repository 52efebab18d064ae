//! The fault engine: a tower Layer that decides each request by ordered, seeded rules.
//!
//! Faults come from two places in the same shape: the `[[faults]]` tables of a scenario file and
//! JSON posted to the admin API at run time. Both are deserialized into [`plan::RawFault`] and
//! checked by [`plan::validate`] / [`plan::FaultPlan::compile`], so a rule that a scenario file
//! accepts is exactly a rule the admin API accepts, with the same error messages.
//!
//! # Adding a fault kind
//!
//! 1. Add the variant to [`plan::FaultKind`] (its kebab-case name is the `kind` users write).
//! 2. Add its parameter keys to [`plan::RawFault`] (reuse an existing key when the meaning is
//!    the same) and list them for the kind in `plan/keys.rs`.
//! 3. Add the validated parameters to [`plan::FaultEffect`] (`plan/effect.rs`) and build them
//!    in `plan/kinds.rs`; add contradiction checks to `plan/conflicts.rs` if two rules of the kind
//!    can disagree.
//! 4. Document the kind in `docs/scenarios.md` and design.md §6's table, and add a scenario test.

pub mod hooks;
pub mod plan;
