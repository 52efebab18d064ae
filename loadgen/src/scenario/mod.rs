//! Scenario files: one TOML file describes one experiment (design.md §5; every key is in
//! `docs/scenarios.md`).
//!
//! Loading happens in two stages (conventions.md §10):
//! 1. **parse**: toml's span-preserving parser, then serde into `raw` structs that mirror the
//!    file exactly and reject unknown keys;
//! 2. **validate**: raw structs into [`Scenario`], whose values are typed (durations, non-zero
//!    counts, enums, a compiled [`FaultPlan`]) and cross-checked (owners exist, windows fit the
//!    run, a rollback follows a deploy).
//!
//! Both stages report every problem they can find, each as a [`ScenarioError`] naming file,
//! line and key: `scenarios/x.toml:42: faults[1].probability: must be between 0 and 1, got 1.5`.
//! Validation works by key path; `spans.rs` maps paths back to lines.
//!
//! Fault rules are validated by the simulator ([`simulator::faults::plan`]) because its admin
//! API accepts the same rules as JSON; this module prefixes their paths with `faults[i]` and
//! adds lines.
//!
//! # Layout
//!
//! | file | what lives there |
//! |---|---|
//! | `raw.rs` | the serde mirror of the file |
//! | `parse.rs` | TOML → raw, toml errors → `file:line: key: message` |
//! | `spans.rs` | key path ↔ line |
//! | `validate/` | raw → [`Scenario`], section by section |
//! | `model.rs` | the validated types |
//! | `rate.rs`, `values.rs` | arrival rates; field value generators |
//! | `integration.rs` | `builtin:PROFILE?…` and shell commands |
//! | `anti_pattern.rs` | the ten anti-pattern ids |
//! | `summary.rs` | the text `sfchaos validate` prints |
//! | `shard.rs` | `--shard I/N` |
//! | `time_scale.rs` | `--time-scale F` |
//! | `error.rs` | [`ScenarioError`], [`ScenarioErrors`] |

mod anti_pattern;
mod error;
mod integration;
mod model;
mod parse;
mod rate;
mod raw;
mod shard;
mod spans;
mod summary;
mod time_scale;
mod validate;
mod values;

use std::path::Path;

pub use anti_pattern::AntiPattern;
pub use error::{ScenarioError, ScenarioErrors};
pub use integration::{
    BuiltinBase, BuiltinProfile, IntegrationCommand, RetryStrategyId, WriteMode,
};
pub use model::{
    Action, ActionKind, Actor, BatchSchedule, Edition, EndpointSpec, EventMix, Expectations,
    FieldRef, IntegrationSpec, KeyDistribution, KeySpace, LoadStream, OrgSpec, Owner, Ownership,
    Scenario, SeedSpec, SerDuration, Shard, Traffic,
};
pub use rate::{RateSpec, RateStep};
pub use simulator::faults::plan::{FaultPlan, FaultRule, Window};
pub use time_scale::TIME_SCALE_RANGE;
pub use values::{FakeKind, FieldSpecs, Literal, ValueSpec};

impl Scenario {
    /// Reads and validates a scenario file. Errors name the file as given.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Scenario, ScenarioErrors> {
        let path = path.as_ref();
        let file = path.display().to_string();
        let source = std::fs::read_to_string(path).map_err(|error| {
            ScenarioError::new(
                file.clone(),
                None,
                "",
                format!("cannot read the file: {error}"),
            )
        })?;
        Scenario::from_str(&source, &file)
    }

    /// Parses and validates scenario text; `file_name` is used in errors and to resolve
    /// relative paths (`org.data_dir`) against its directory.
    pub fn from_str(source: &str, file_name: &str) -> Result<Scenario, ScenarioErrors> {
        let (raw, index) = parse::parse(source, file_name).map_err(ScenarioErrors::sorted)?;
        let base_dir = Path::new(file_name).parent().unwrap_or(Path::new(""));
        let mut ctx = validate::Ctx::default();
        let scenario = validate::scenario(raw, file_name, base_dir, &mut ctx);
        let locate = |errors: Vec<simulator::faults::plan::PathError>| -> Vec<ScenarioError> {
            errors
                .into_iter()
                .map(|e| {
                    ScenarioError::new(file_name, index.line_of_path(&e.path), e.path, e.message)
                })
                .collect()
        };
        match scenario {
            Some(mut scenario) if ctx.errors.is_empty() => {
                scenario.warnings = ScenarioErrors::sorted(locate(ctx.warnings)).0;
                Ok(scenario)
            }
            _ if ctx.errors.is_empty() => Err(ScenarioError::new(
                file_name,
                None,
                "",
                "the scenario is invalid but no specific problem was found",
            )
            .into()),
            _ => Err(ScenarioErrors::sorted(locate(ctx.errors))),
        }
    }
}
