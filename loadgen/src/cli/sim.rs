//! `sfchaos sim`: serve the simulator until SIGINT/SIGTERM.
//!
//! With `--scenario FILE` the org is the scenario's (`sim_scenario.rs`) and its faults are installed;
//! fault windows are offsets on the scenario clock, which starts when the ready line is printed.

use super::{interrupted, Outcome, UsageError};
use simulator::org::store::Writer;
use simulator::state::{SimConfig, SimState};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Options of `sfchaos sim`.
#[derive(Debug, Clone)]
pub struct SimOptions {
    pub listen: SocketAddr,
    pub tls_listen: Option<SocketAddr>,
    pub ca_out: Option<PathBuf>,
    pub scenario: Option<PathBuf>,
    pub seed: Option<u64>,
    pub data: Option<PathBuf>,
    pub journal: Option<PathBuf>,
    /// Binding a non-loopback address needs this and an admin token.
    pub allow_remote: bool,
    pub admin_token: Option<String>,
    /// Install the fault layer (off only to measure what it costs).
    pub fault_layer: bool,
}

fn is_loopback(a: &SocketAddr) -> bool {
    a.ip().is_loopback()
}

/// Load `--data DIR` into the default org.
pub fn load_data_dir(
    state: &SimState,
    dir: &std::path::Path,
) -> Result<Vec<(String, u64)>, UsageError> {
    let org = state.default_org();
    let spec =
        simulator::org::data::read_schema(dir).map_err(|e| UsageError::new(e.to_string()))?;
    let mut data = org.data.write();
    if let Some(spec) = spec {
        simulator::org::data::apply_schema(&mut data.schema, &spec)
            .map_err(|e| UsageError::new(format!("{}: {e}", dir.join("schema.toml").display())))?;
        data.sync_tables();
    }
    let writer = Writer {
        user: 1,
        origin: "com.salesforce.core".into(),
        client: "data-load".into(),
    };
    simulator::org::data::load_csvs(&mut data, dir, &writer, state.clock.now_ms())
        .map_err(|e| UsageError::new(e.to_string()))
}

pub async fn run(opts: SimOptions) -> Result<Outcome, UsageError> {
    let remote = !is_loopback(&opts.listen) || opts.tls_listen.is_some_and(|a| !is_loopback(&a));
    if remote && (!opts.allow_remote || opts.admin_token.is_none()) {
        return Err(UsageError::new(
            "binding a non-loopback address needs --allow-remote and --admin-token TOKEN",
        ));
    }
    let journal = opts.journal.clone().unwrap_or_else(|| {
        std::env::temp_dir()
            .join(format!("sfchaos-{}", std::process::id()))
            .join("journal.ndjson.zst")
    });
    let mut config = SimConfig {
        seed: opts.seed.unwrap_or(1),
        journal_path: Some(journal.clone()),
        admin_token: opts.admin_token.clone(),
        fault_layer: opts.fault_layer,
        ..SimConfig::default()
    };
    let scenario = match &opts.scenario {
        Some(path) => {
            let scenario = crate::scenario::Scenario::from_file(path)
                .map_err(|e| UsageError::new(e.to_string()))?;
            for warning in &scenario.warnings {
                eprintln!("warning: {warning}");
            }
            config = super::sim_scenario::sim_config(&scenario, opts.seed, config);
            Some(scenario)
        }
        None => None,
    };
    let state = SimState::new(config)
        .map_err(|e| UsageError::new(format!("{}: {e}", journal.display())))?;
    if let Some(scenario) = &scenario {
        super::sim_scenario::populate(&state, scenario)?;
    }
    if let Some(dir) = &opts.data {
        for (obj, n) in load_data_dir(&state, dir)? {
            tracing::info!("loaded {n} {obj} records from {}", dir.display());
        }
    }
    let http = tokio::net::TcpListener::bind(opts.listen)
        .await
        .map_err(|e| UsageError::new(format!("--listen {}: {e}", opts.listen)))?;
    let https = match opts.tls_listen {
        Some(a) => Some(
            tokio::net::TcpListener::bind(a)
                .await
                .map_err(|e| UsageError::new(format!("--tls-listen {a}: {e}")))?,
        ),
        None => None,
    };
    let extra: Vec<String> = [opts.listen, opts.tls_listen.unwrap_or(opts.listen)]
        .iter()
        .filter(|a| !a.ip().is_unspecified() && !a.ip().is_loopback())
        .map(|a| a.ip().to_string())
        .collect();
    let running = simulator::start(state, http, https, &extra)
        .await
        .map_err(|e| UsageError::new(format!("cannot start the simulator: {e}")))?;
    if let Some(p) = &opts.ca_out {
        write_atomic(p, running.ca_pem.as_bytes())
            .map_err(|e| UsageError::new(format!("--ca-out {}: {e}", p.display())))?;
    }
    running.state.clock.restart();
    match running.https_url() {
        Some(s) => println!(
            "sfchaos simulator listening on {} and {s}",
            running.http_url()
        ),
        None => println!("sfchaos simulator listening on {}", running.http_url()),
    }
    interrupted().await;
    eprintln!("shutting down; journal at {}", journal.display());
    running
        .shutdown()
        .await
        .map_err(|e| UsageError::new(format!("shutdown: {e}")))?;
    Ok(Outcome::Ok)
}

/// Write a file atomically: a temporary file beside it, then rename.
pub fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("out"),
        std::process::id()
    ));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}
