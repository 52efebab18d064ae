//! A scenario's `[org]` and `[[faults]]` as a simulator: what `sfchaos sim --scenario FILE` serves.
//!
//! The org is built exactly as `sfchaos run` builds it ([`crate::harness::world`]): the scenario's
//! edition, allocation and window, starting usage, lock wait, session lifetime, long-running cap and
//! CDC objects; then its `data_dir` (schema and CSV files) and its `[[org.seed]]` records, with
//! values from the same generator load keys use. The fault plan is installed as it is. The same
//! file and seed give the same org.

use super::UsageError;
use crate::harness::world;
use crate::scenario::Scenario;
use simulator::state::{SimConfig, SimState};

/// `base` with the scenario's org, seed (unless `seed` overrides it) and fault plan.
pub fn sim_config(scenario: &Scenario, seed: Option<u64>, base: SimConfig) -> SimConfig {
    SimConfig {
        seed: seed.unwrap_or(scenario.seed),
        org: world::org_config(&scenario.org),
        faults: scenario.faults.clone(),
        ..base
    }
}

/// Load the scenario's `data_dir` and create its seed records in the default org.
pub fn populate(state: &SimState, scenario: &Scenario) -> Result<(), UsageError> {
    if let Some(dir) = &scenario.org.data_dir {
        super::sim::load_data_dir(state, dir)
            .map_err(|e| UsageError::new(format!("{}: org.data_dir: {e}", scenario.file)))?;
    }
    world::seed_org(state, scenario, state.config.seed).map_err(|e| UsageError::new(e.to_string()))
}
