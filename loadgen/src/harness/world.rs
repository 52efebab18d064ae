//! The embedded simulator: one org configured from `[org]`, seeded, with a user for the
//! integration and one per actor, served on loopback over HTTP and HTTPS.
//!
//! # Fault plans
//!
//! [`install_faults`] is the single place where the scenario's fault plan is handed to the
//! simulator. It is called at scenario time zero, right after the simulator's clock restarts, so
//! windows are offsets from the start of load and "first N" counts nothing the integration did
//! while it started up. Every rule's window is recorded in `faults.ndjson`.

use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value};
use simulator::org::store::Writer;
use simulator::org::write::{prepare, WriteOp};
use simulator::org::{Edition as SimEdition, Org, OrgConfig};
use simulator::state::{ConnectedApp, SimConfig, SimState};
use simulator::Running;

use super::convert::{field_specs, literal_json};
use super::evidence::{files, micros, NdjsonLog};
use crate::datagen::FieldContext;
use crate::scenario::{Edition, FaultPlan, OrgSpec, Scenario, ValueSpec};

/// The connected app the integration and actors log in through.
pub const CLIENT_ID: &str = "sfchaos-client";
pub const CLIENT_SECRET: &str = "sfchaos-secret";
/// The integration's user. Its own identity, so the scorer can tell its writes from the
/// actors' and the admin's.
pub const INTEGRATION_USER: &str = "integration@sfchaos.test";
pub const INTEGRATION_PASSWORD: &str = "sfchaos-integration";
/// Actors' password (their usernames come from the scenario).
pub const ACTOR_PASSWORD: &str = "sfchaos-actor";

/// Problems building the world: always the harness's or the scenario's, never the integration's.
#[derive(Debug, thiserror::Error)]
pub enum WorldError {
    #[error("{0}")]
    Setup(String),
}

/// The running simulator and what the integration is told about it.
pub struct World {
    pub running: Running,
    pub http_url: String,
    pub https_url: String,
    pub ca_file: std::path::PathBuf,
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World")
            .field("http_url", &self.http_url)
            .field("https_url", &self.https_url)
            .finish()
    }
}

impl World {
    pub fn state(&self) -> &SimState {
        &self.running.state
    }

    pub fn org(&self) -> Arc<Org> {
        self.running.state.default_org()
    }
}

/// Builds and starts the simulator for `scenario` (already sharded), journaling into `dir`.
pub async fn start(scenario: &Scenario, seed: u64, dir: &Path) -> Result<World, WorldError> {
    let setup = |what: &str, e: &dyn std::fmt::Display| WorldError::Setup(format!("{what}: {e}"));
    let spec = &scenario.org;
    let org = org_config(spec);
    let journal = dir.join(files::JOURNAL);
    let config = SimConfig {
        seed,
        journal_path: Some(journal.clone()),
        org,
        apps: vec![ConnectedApp {
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
            name: "sfchaos".into(),
            org: 1,
            run_as: INTEGRATION_USER.into(),
        }],
        ..SimConfig::default()
    };
    let state = SimState::new(config).map_err(|e| setup(&journal.display().to_string(), &e))?;
    if let Some(data_dir) = &spec.data_dir {
        crate::cli::sim::load_data_dir(&state, data_dir)
            .map_err(|e| setup(&format!("{}: org.data_dir", scenario.file), &e))?;
    }
    seed_org(&state, scenario, seed)?;
    let org = state.default_org();
    let now = state.clock.now_ms();
    org.add_user(
        INTEGRATION_USER,
        INTEGRATION_PASSWORD,
        "Integration",
        "User",
        now,
    );
    for actor in &scenario.actors {
        org.add_user(&actor.username, ACTOR_PASSWORD, &actor.name, "Actor", now);
    }
    let http = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|e| setup("binding the simulator's HTTP listener", &e))?;
    let https = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|e| setup("binding the simulator's HTTPS listener", &e))?;
    let running = simulator::start(state, http, Some(https), &[])
        .await
        .map_err(|e| setup("starting the simulator", &e))?;
    let ca_file = dir.join(files::CA);
    crate::cli::sim::write_atomic(&ca_file, running.ca_pem.as_bytes())
        .map_err(|e| setup(&ca_file.display().to_string(), &e))?;
    let http_url = running.http_url();
    let https_url = running
        .https_url()
        .ok_or_else(|| WorldError::Setup("the simulator has no HTTPS listener".into()))?;
    Ok(World {
        running,
        http_url,
        https_url,
        ca_file,
    })
}

/// The org configuration a scenario's `[org]` asks for.
pub fn org_config(spec: &OrgSpec) -> OrgConfig {
    OrgConfig {
        edition: edition(spec.edition),
        daily_api_requests: spec.daily_api_requests,
        api_window: spec.api_window,
        api_usage_start: spec.api_usage_start,
        session_lifetime: spec.session_lifetime,
        lock_wait: spec.lock_wait,
        long_running_cap: spec.long_running_cap,
        cdc_objects: spec.cdc_objects.clone(),
        ..OrgConfig::default()
    }
}

fn edition(edition: Edition) -> SimEdition {
    match edition {
        Edition::Enterprise => SimEdition::Enterprise,
        Edition::Unlimited => SimEdition::Unlimited,
        Edition::Performance => SimEdition::Performance,
        Edition::Professional => SimEdition::Professional,
        Edition::Developer => SimEdition::Developer,
    }
}

/// `[[org.seed]]`: `simulator::org::seed::seed` creates the records (with fixed values applied to
/// all); generated values (`one_of`, `range`, `fake`, `sequence`, field lists) are then set per
/// record, record `i` (0-based) getting the values key `i` would get, so `{ sequence = "A-" }`
/// gives the seeded records the ids load keys use (`A-000000`, `A-000001`, …).
pub fn seed_org(state: &SimState, scenario: &Scenario, seed: u64) -> Result<(), WorldError> {
    let org = state.default_org();
    let now = state.clock.now_ms();
    let writer = Writer {
        user: 1,
        origin: "com.salesforce.core".into(),
        client: "seed".into(),
    };
    for (n, spec) in scenario.org.seed.iter().enumerate() {
        let at = |message: String| {
            WorldError::Setup(format!("{}: org.seed[{n}]: {message}", scenario.file))
        };
        let mut fixed = Map::new();
        let mut generated = indexmap::IndexMap::new();
        for (field, value) in &spec.fields {
            match value {
                ValueSpec::Fixed(literal) => {
                    fixed.insert(field.clone(), literal_json(literal));
                }
                other => {
                    generated.insert(field.clone(), other.clone());
                }
            }
        }
        let mut data = org.data.write();
        let obj = data
            .schema
            .object_index(&spec.object)
            .ok_or_else(|| at(format!("the org has no object {}", spec.object)))?;
        let before = data.tables[obj]
            .rows
            .keys()
            .next_back()
            .copied()
            .unwrap_or(0);
        let count = u64::from(spec.count.get());
        simulator::org::seed::seed(&mut data, &spec.object, count, &fixed, seed, &writer, now)
            .map_err(|e| at(format!("{e:?}")))?;
        if generated.is_empty() {
            continue;
        }
        let gens = field_specs(&generated, Some(&data.schema.objects[obj]));
        let compiled: Vec<(String, crate::datagen::FieldGen)> = gens
            .iter()
            .map(|(name, g)| g.compile(name).map(|c| (name.clone(), c)))
            .collect::<Result<_, _>>()
            .map_err(|e| at(e.to_string()))?;
        let rows: Vec<u64> = data.tables[obj]
            .rows
            .range(before + 1..)
            .map(|(num, _)| *num)
            .collect();
        let value_seed = super::convert::stream_seed(seed, &format!("seed:{}", spec.object), None);
        let mut updates = Vec::with_capacity(rows.len());
        for (i, num) in rows.iter().enumerate() {
            let index = i as u64;
            let index_text = format!("{index:06}");
            let ctx = FieldContext {
                seed: value_seed,
                key_index: index,
                external_id: &index_text,
                index_text: &index_text,
                version: 0,
            };
            let values: Map<String, Value> = compiled
                .iter()
                .map(|(name, g)| (name.clone(), g.value(&ctx)))
                .collect();
            let fields = prepare(&data, obj, &values, WriteOp::Update, Some(*num))
                .map_err(|e| at(format!("{e:?}")))?;
            updates.push((*num, fields));
        }
        let mut txn = data.txn_quiet();
        for (num, fields) in updates {
            txn.update(obj, num, fields, &writer, now);
        }
        txn.commit();
    }
    Ok(())
}

/// One line of `faults.ndjson`: a rule of the plan and its window on the scenario clock.
#[derive(Debug, Serialize)]
struct FaultWindow<'a> {
    id: &'a str,
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    start_us: u64,
    /// `null`: until the end of the run.
    end_us: Option<u64>,
    describe: String,
    /// Whether the simulator enforces the rule.
    installed: bool,
}

/// Hands the fault plan to the simulator's fault engine (see the module docs) and records every
/// rule's window. Returns whether the plan is enforced (a plan the engine refuses — rules that
/// contradict each other — is recorded with `installed: false` and the reasons returned).
pub fn install_faults(
    state: &SimState,
    plan: &FaultPlan,
    log: &NdjsonLog,
) -> Result<(), Vec<String>> {
    let result = state
        .fault_engine
        .install(plan.rules.clone(), state.clock.elapsed())
        .map_err(|errors| errors.iter().map(ToString::to_string).collect::<Vec<_>>());
    for rule in &plan.rules {
        log.write(&FaultWindow {
            id: &rule.id,
            kind: rule.kind().as_str(),
            name: rule.name.as_deref(),
            start_us: micros(rule.window.start),
            end_us: rule.window.end().map(micros),
            describe: rule.describe(),
            installed: result.is_ok(),
        });
    }
    result
}
