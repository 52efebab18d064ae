//! `sfchaos`: chaos and load testing for Salesforce integrations. This binary parses flags and hands
//! each command to the library; exit codes: 0 ok, 1 the integration fell short, 2 usage/config/harness
//! error.

use clap::{Parser, Subcommand};
use loadgen::cli::{self, Outcome};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// mimalloc: the simulator and the harness allocate many small, short-lived buffers per request;
/// glibc's allocator spent a tenth of the simulator's time in a request profile.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "sfchaos",
    version,
    about = "Find out whether your Salesforce integration survives real life"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the Salesforce simulator until SIGINT/SIGTERM.
    Sim {
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        #[arg(long, default_value = "127.0.0.1:8443")]
        tls_listen: SocketAddr,
        /// Serve plain HTTP only.
        #[arg(long)]
        no_tls: bool,
        /// Write the CA certificate (PEM) of the HTTPS listener here.
        #[arg(long)]
        ca_out: Option<PathBuf>,
        /// Apply a scenario's org and faults, on a clock that starts at the ready line.
        #[arg(long)]
        scenario: Option<PathBuf>,
        #[arg(long)]
        seed: Option<u64>,
        /// Load a schema file and CSV seed data from this directory.
        #[arg(long)]
        data: Option<PathBuf>,
        /// Where the request journal goes (default: a temporary directory).
        #[arg(long)]
        journal: Option<PathBuf>,
        /// Allow binding non-loopback addresses (requires --admin-token).
        #[arg(long)]
        allow_remote: bool,
        #[arg(long, env = "SFCHAOS_ADMIN_TOKEN")]
        admin_token: Option<String>,
        /// Serve without the fault layer (to measure what the layer costs).
        #[arg(long, hide = true)]
        no_fault_layer: bool,
    },
    /// Parse and check scenario files, print a summary of each; exit 2 with file:line on error.
    Validate {
        #[arg(required = true, value_name = "SCENARIO")]
        scenarios: Vec<PathBuf>,
    },
    /// Run scenarios against an integration build and write report.json.
    Run {
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
        /// A shell command, or builtin:PROFILE; overrides each scenario's [integration] command.
        #[arg(long)]
        integration: Option<String>,
        /// Output directory (default: sfchaos-out).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Overrides each scenario's seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Also write JUnit XML here (a testsuite per scenario).
        #[arg(long)]
        junit: Option<PathBuf>,
        /// A previous report.json: fail when a score drops more than the scenario's margin below it.
        #[arg(long)]
        baseline: Option<PathBuf>,
        /// Run shard I of N (0-based): disjoint keys, 1/N of every rate.
        #[arg(long, value_name = "I/N")]
        shard: Option<String>,
        /// Multiply every scenario time (duration, drain, windows, actions) by F, keeping rates:
        /// 0.1 runs a 90 s scenario in 9 s. For quick checks; the report records the scale.
        #[arg(long, value_name = "F")]
        time_scale: Option<f64>,
    },
    /// Run a scenario once per retry strategy (and seed) and compare calls, completion time,
    /// success, amplification and p99; writes compare.json and compare.svg.
    Compare {
        scenario: PathBuf,
        /// Comma-separated strategies, parameters allowed: none,exponential,full-jitter?base=5ms,cap=2s
        #[arg(long)]
        strategies: String,
        /// Seeds per strategy: the scenario's seed and the ones after it (default 1).
        #[arg(long)]
        seeds: Option<u32>,
        /// Output directory (default: sfchaos-compare).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Rebuild report.json from output directories; the shards of one run are merged.
    Report {
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Where the rebuilt report goes (default: the one directory given, else sfchaos-merged).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Also write JUnit XML here.
        #[arg(long)]
        junit: Option<PathBuf>,
        /// A previous report.json to compare scores with.
        #[arg(long)]
        baseline: Option<PathBuf>,
    },
    /// Run a reference integration (what `--integration builtin:PROFILE` launches), configured by the
    /// integration-contract environment (SF_*, SFCHAOS_*), until SIGINT/SIGTERM.
    Reference {
        /// naive | resilient, optionally `?<anti-pattern>=on|off&retry=<strategy>&write=occ`.
        #[arg(long)]
        profile: String,
        /// Full retry strategy, e.g. `exponential?base=50ms,cap=5s` (overrides `retry=`).
        #[arg(long, env = "SFCHAOS_RETRY")]
        retry: Option<String>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // A reference integration's log is part of the run's evidence; say what it does by default.
    let default_level = match cli.command {
        Command::Reference { .. } => "info",
        _ => "warn",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SFCHAOS_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level)),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::Sim {
            listen,
            tls_listen,
            no_tls,
            ca_out,
            scenario,
            seed,
            data,
            journal,
            allow_remote,
            admin_token,
            no_fault_layer,
        } => {
            cli::sim::run(cli::sim::SimOptions {
                listen,
                tls_listen: (!no_tls).then_some(tls_listen),
                ca_out,
                scenario,
                seed,
                data,
                journal,
                allow_remote,
                admin_token,
                fault_layer: !no_fault_layer,
            })
            .await
        }
        Command::Run {
            scenarios,
            integration,
            out,
            seed,
            junit,
            baseline,
            shard,
            time_scale,
        } => {
            cli::run::run(cli::run::RunCliOptions {
                scenarios,
                integration,
                out,
                seed,
                junit,
                baseline,
                shard,
                time_scale,
                progress: None,
            })
            .await
        }
        Command::Report {
            dirs,
            out,
            junit,
            baseline,
        } => {
            cli::report::run(cli::report::ReportCliOptions {
                dirs,
                out,
                junit,
                baseline,
            })
            .await
        }
        Command::Compare {
            scenario,
            strategies,
            seeds,
            out,
        } => {
            cli::compare::run(cli::compare::CompareCliOptions {
                scenario,
                strategies,
                seeds,
                out,
                progress: None,
            })
            .await
        }
        Command::Validate { scenarios } => cli::validate::run(&scenarios),
        Command::Reference { profile, retry } => {
            cli::reference::run(cli::reference::ReferenceOptions { profile, retry }).await
        }
    };
    match result {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Fell) => ExitCode::from(1),
        Err(e) => {
            eprintln!("sfchaos: {e}");
            ExitCode::from(2)
        }
    }
}
