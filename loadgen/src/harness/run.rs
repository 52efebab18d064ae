//! One scenario, start to finish. The order matters and is the contract with the scorer:
//!
//! 1. the simulator starts (org, seed data, users, CA file; the fault plan is handed over);
//! 2. the sinks start, then the integration, and the harness waits for `/healthz`;
//! 3. **scenario time zero**: the simulator's clock restarts, load, actors and actions begin;
//! 4. at `duration` load stops (streams end at their windows); `drain` runs on, replies to
//!    events still in flight are awaited;
//! 5. the integration is stopped gracefully, *then* the org is read, so nothing changes under
//!    the reconciliation;
//! 6. evidence is closed: recorder, ledger, phases, changes, sinks, journal; `run.json` last.
//!
//! SIGINT/SIGTERM (the `interrupt` token) cuts 3–4 short: no new events, in-flight ones get two
//! seconds and are then recorded as interrupted, and steps 5–6 still run, so the report covers
//! everything that happened.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::actors::{run_actor, ActorCounts, ActorWorld};
use super::convert::{shard_of, stream_seed, stream_spec, StreamSchedule};
use super::env::{contract_env, Endpoints};
use super::evidence::{files, ClockedLog, NdjsonLog, RunClock};
use super::http::HttpClient;
use super::inbound::{BatchStream, EventStream, Inbound, LedgerTask, LiveStats, EVENT_TIMEOUT};
use super::load_runtime::LoadRuntime;
use super::phase::Phases;
use super::progress::{Progress, ProgressMode};
use super::sinks::{Sink, SinkKind};
use super::supervisor::{LaunchSpec, LifecycleEvent, StartError, Supervisor, Timeline};
use super::{changes, reconcile, settle, world};
use crate::cli::sim::write_atomic;
use crate::datagen::EventBuilder;
use crate::ledger::{ReconcileOptions, Reconciliation};
use crate::recorder::{self, RecorderConfig, RunSummary};
use crate::report::facts::{ExpectSpec, RunFacts, StreamFacts};
use crate::report::model::{ActorTotals, EndpointTotals};
use crate::scenario::{BatchSchedule, IntegrationCommand, LoadStream, Scenario, Traffic};
use crate::schedule::{Driver, DriverConfig, DriverCounters};

/// How long replies still in flight get after an interrupt before they are given up.
const INTERRUPT_GRACE: Duration = Duration::from_secs(2);

/// Why a scenario could not be run (exit code 2): the harness's or the configuration's fault,
/// never the integration's shortcoming (those are in the report).
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error("{0}")]
    Setup(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the integration did not start: {0}")]
    Start(#[from] StartError),
    #[error("interrupted before load started")]
    Interrupted,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> HarnessError + '_ {
    move |source| HarnessError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn setup(what: impl std::fmt::Display) -> HarnessError {
    HarnessError::Setup(what.to_string())
}

/// How to run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// This scenario's output directory.
    pub dir: PathBuf,
    /// `--integration`, replacing `[integration] command`.
    pub integration: Option<IntegrationCommand>,
    /// The `sfchaos` executable (`builtin:` integrations run `<it> reference --profile …`).
    pub self_exe: PathBuf,
    pub interrupt: CancellationToken,
    pub progress: ProgressMode,
    /// Holds the integration's process group while one runs (0 otherwise), so a second Ctrl-C
    /// can kill it before the harness exits.
    pub pgid: Arc<AtomicI32>,
    /// End the drain as soon as a builtin integration has finished its work (see `settle.rs`);
    /// only for scenarios without lifecycle actions or batch loads, whose drain has nothing else
    /// to show.
    pub settle: bool,
}

/// What a finished run hands to the report.
#[derive(Debug)]
pub struct ScenarioRun {
    pub facts: RunFacts,
    pub reconciliation: Reconciliation,
    pub summary: RunSummary,
}

/// Runs `scenario` (already sharded and seeded) against the integration. See the module docs.
pub async fn run_scenario(
    scenario: &Scenario,
    opts: &RunOptions,
) -> Result<ScenarioRun, HarnessError> {
    let dir = opts.dir.as_path();
    let path = |name: &str| dir.join(name);
    let state_dir = path(files::STATE_DIR);
    // Every run starts a new org, so what an earlier run into the same `--out` left in the
    // integration's state directory (a durable queue of event ids that org already took, a CDC
    // replay position) belongs to an org that no longer exists: replayed, it would skip this
    // run's events as already handled.
    match std::fs::remove_dir_all(&state_dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(&state_dir)(e)),
    }
    std::fs::create_dir_all(&state_dir).map_err(io(&state_dir))?;
    let scenario_json = serde_json::to_vec_pretty(scenario).map_err(setup)?;
    write_atomic(&path(files::SCENARIO), &scenario_json).map_err(io(&path(files::SCENARIO)))?;
    let seed = scenario.seed;
    let command = opts
        .integration
        .clone()
        .unwrap_or_else(|| scenario.integration.command.clone());
    let progress = Progress::new(opts.progress, &scenario.name, scenario.total_duration());

    // 1. The simulator.
    let world = world::start(scenario, seed, dir).await.map_err(setup)?;
    let create = |name: &str| NdjsonLog::create(&path(name)).map_err(io(&path(name)));
    let timeline: Timeline = ClockedLog::new(create(files::LIFECYCLE)?);
    let faults_log = create(files::FAULTS)?;
    // 2. Sinks, then the integration.
    let sink = Sink::start(
        SinkKind::Downstream,
        scenario.sink.clone(),
        stream_seed(seed, "sink", scenario.shard),
        ClockedLog::new(create(files::SINK)?),
    )
    .await
    .map_err(|e| setup(format!("starting the downstream sink: {e}")))?;
    let alerts = Sink::start(
        SinkKind::Alerts,
        scenario.alerts.clone(),
        stream_seed(seed, "alerts", scenario.shard),
        ClockedLog::new(create(files::ALERTS)?),
    )
    .await
    .map_err(|e| setup(format!("starting the alert sink: {e}")))?;
    let listen = free_port().map_err(|e| setup(format!("choosing SFCHAOS_LISTEN: {e}")))?;
    let env = contract_env(
        scenario,
        seed,
        &Endpoints {
            https_url: &world.https_url,
            username: world::INTEGRATION_USER,
            password: world::INTEGRATION_PASSWORD,
            client_id: world::CLIENT_ID,
            client_secret: world::CLIENT_SECRET,
            ca_file: &world.ca_file,
            listen,
            sink_url: &sink.url,
            alert_url: &alerts.url,
            state_dir: &state_dir,
        },
    );
    let mut supervisor = Supervisor::new(
        LaunchSpec {
            env,
            listen,
            stdout: path(files::STDOUT),
            stderr: path(files::STDERR),
            healthz_timeout: scenario.integration.healthz_timeout,
            stop_timeout: scenario.integration.stop_timeout,
            self_exe: opts.self_exe.clone(),
        },
        command.clone(),
        timeline.clone(),
        Arc::clone(&opts.pgid),
    );
    let started = tokio::select! {
        result = supervisor.start() => result.map_err(HarnessError::from),
        _ = opts.interrupt.cancelled() => Err(HarnessError::Interrupted),
    };
    if let Err(e) = started {
        supervisor.stop("the run is abandoned").await;
        timeline.flush();
        sink.stop().await;
        alerts.stop().await;
        let _ = world.running.shutdown().await;
        return Err(e);
    }

    // 3. Scenario time zero.
    let clock = RunClock::starting_now();
    world.state().clock.restart();
    // A restarted integration counts its peak windows from the run's zero, not from its restart.
    supervisor.set_env("SFCHAOS_RUN_START", clock.epoch_ms().to_string());
    let journal_before = world.state().journal.len();
    let fault_problems = world::install_faults(world.state(), &scenario.faults, &faults_log)
        .err()
        .unwrap_or_default();
    let faults_installed = fault_problems.is_empty();
    timeline.set_zero(clock.start);
    sink.log.set_zero(clock.start);
    alerts.log.set_zero(clock.start);
    timeline.record(LifecycleEvent {
        detail: Some(clock.wall_at(Duration::ZERO).to_rfc3339()),
        ..LifecycleEvent::now("run-start")
    });
    let background_stop = CancellationToken::new();
    let changes_task = changes::spawn(
        world.org(),
        world.state().clock.epoch_ms_at(Duration::ZERO),
        create(files::CHANGES)?,
        background_stop.clone(),
    );
    let phases = Arc::new(Phases::new(&scenario.faults, scenario.duration));
    let latency_path = path(files::LATENCY_LOG);
    let latency_log = std::fs::File::create(&latency_path).map_err(io(&latency_path))?;
    let mut recorder_config = RecorderConfig::new(clock.start, clock.wall_start);
    recorder_config.streams = scenario.load.iter().map(|s| s.name.clone()).collect();
    // The driver, its event tasks, the ledger and the recorder run on the load's own thread.
    let load_runtime =
        LoadRuntime::start().map_err(|e| setup(format!("starting the load thread: {e}")))?;
    let (recorder, ledger) = {
        let _load = load_runtime.handle().enter();
        let recorder =
            recorder::spawn(recorder_config, Some(Box::new(latency_log))).map_err(setup)?;
        let ledger = LedgerTask::spawn(&path(files::LEDGER)).map_err(setup)?;
        (recorder, ledger)
    };
    let live = Arc::new(LiveStats::default());
    let abort = CancellationToken::new();
    let max_idle: usize = scenario
        .load
        .iter()
        .map(|s| s.max_in_flight.get() as usize)
        .sum();
    let uri = |route: &str| format!("http://{listen}/{route}").parse().map_err(setup);
    let inbound = Arc::new(Inbound {
        client: HttpClient::new(max_idle),
        events_uri: uri("events")?,
        batch_uri: uri("batch")?,
        clock,
        phases: Arc::clone(&phases),
        samples: recorder.sender(),
        ledger: ledger.sender(),
        timeout: EVENT_TIMEOUT,
        live: Arc::clone(&live),
        abort: abort.clone(),
        tasks: TaskTracker::new(),
    });

    // Load streams.
    let stop_load = CancellationToken::new();
    let mut streams: Vec<(StreamFacts, Arc<DriverCounters>)> = Vec::new();
    let mut stream_tasks: Vec<JoinHandle<()>> = Vec::new();
    for stream in &scenario.load {
        let (facts, counters, task) = start_stream(
            scenario,
            stream,
            &world,
            &inbound,
            &stop_load,
            load_runtime.handle(),
        )?;
        streams.push((facts, counters));
        stream_tasks.push(task);
    }

    // Actors.
    let actor_counts = Arc::new(ActorCounts::default());
    let actor_world = ActorWorld {
        org: world.org(),
        http_url: world.http_url.clone(),
        api_version: scenario.org.api_version.clone(),
        clock,
        log: create(files::ACTOR_EDITS)?,
        seed,
        shard: scenario.shard,
        counts: Arc::clone(&actor_counts),
    };
    let actor_tasks: Vec<JoinHandle<Result<(), String>>> = scenario
        .actors
        .iter()
        .map(|actor| {
            tokio::spawn(run_actor(
                actor_world.clone(),
                actor.clone(),
                stop_load.clone(),
            ))
        })
        .collect();

    // Actions: the supervisor goes to the action task and comes back when it ends.
    let actions = scenario.actions.clone();
    let action_phases = Arc::clone(&phases);
    let action_stop = stop_load.clone();
    let action_progress = progress.clone();
    let name = scenario.name.clone();
    let actions_task = tokio::spawn(async move {
        for action in actions {
            tokio::select! {
                _ = tokio::time::sleep_until(clock.start + action.at) => {}
                _ = action_stop.cancelled() => break,
            }
            let span = action_phases.begin_action(action.kind.name(), clock.elapsed());
            let result = supervisor.apply(&action.kind).await;
            action_phases.end_action(span, clock.elapsed());
            if let Err(e) = result {
                action_progress.say(&format!("sfchaos: {name}: {}: {e}", action.kind.name()));
            }
        }
        supervisor
    });
    let progress_stop = CancellationToken::new();
    let progress_task = progress.spawn(
        scenario.name.clone(),
        clock,
        scenario.total_duration(),
        Arc::clone(&phases),
        Arc::clone(&live),
        progress_stop.clone(),
    );

    // 4. Load, then drain.
    let interrupt = &opts.interrupt;
    tokio::select! {
        _ = tokio::time::sleep_until(clock.start + scenario.duration) => {}
        _ = interrupt.cancelled() => {}
    }
    if interrupt.is_cancelled() {
        stop_load.cancel();
    }
    for task in stream_tasks {
        let _ = task.await;
    }
    timeline.record(LifecycleEvent::now("load-end"));
    let mut supervisor = match actions_task.await {
        Ok(supervisor) => supervisor,
        Err(e) => return Err(setup(format!("the action runner failed: {e}"))),
    };
    let settle_uri: Option<hyper::Uri> = settle_eligible(scenario, &command, opts.settle)
        .then(|| format!("http://{listen}/metrics").parse().ok())
        .flatten();
    let settle_client = HttpClient::new(1);
    let settle = async {
        match &settle_uri {
            Some(uri) => {
                settle::settled(
                    world.state(),
                    world::INTEGRATION_USER,
                    &settle_client,
                    uri,
                    &inbound.tasks,
                )
                .await
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::time::sleep_until(clock.start + scenario.total_duration()) => {}
        _ = interrupt.cancelled() => {}
        _ = settle => {
            timeline.record(LifecycleEvent {
                detail: Some("the integration finished its work".to_owned()),
                ..LifecycleEvent::now("settled")
            });
        }
    }
    let interrupted = interrupt.is_cancelled();
    inbound.tasks.close();
    if interrupted {
        stop_load.cancel();
        if tokio::time::timeout(INTERRUPT_GRACE, inbound.tasks.wait())
            .await
            .is_err()
        {
            abort.cancel();
        }
    }
    inbound.tasks.wait().await;
    let mut errors: Vec<String> = fault_problems
        .into_iter()
        .map(|p| format!("fault plan not installed: {p}"))
        .collect();
    for task in actor_tasks {
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => errors.push(e),
            Err(e) => errors.push(format!("an actor task failed: {e}")),
        }
    }
    timeline.record(LifecycleEvent {
        detail: interrupted.then(|| "interrupted".to_owned()),
        ..LifecycleEvent::now("drain-end")
    });

    // 5. Stop the integration, then read the org.
    supervisor.stop("end of run").await;
    let counts = supervisor.counts();
    drop(inbound);
    let recording = recorder.finish().await.map_err(setup)?;
    let ledger = ledger.finish().await;
    let end = clock.elapsed();
    phases.write_timeline(end, &create(files::PHASES)?);
    let org_final = create(files::ORG_FINAL)?;
    let snapshot = reconcile::snapshot(&world.org(), &ledger.ledger, Some(&org_final));
    let reconciliation = ledger
        .ledger
        .reconcile(&snapshot, ReconcileOptions::default());
    let findings = serde_json::to_vec_pretty(&reconciliation).map_err(setup)?;
    write_atomic(&path(files::FINDINGS), &findings).map_err(io(&path(files::FINDINGS)))?;

    // 6. Close everything.
    progress_stop.cancel();
    let _ = progress_task.await;
    background_stop.cancel();
    let changes = changes_task.await.unwrap_or(0);
    let (sink_requests, sink_failed) = sink.totals();
    let (alert_requests, alert_failed) = alerts.totals();
    for log in [
        sink.log.log(),
        alerts.log.log(),
        timeline.log(),
        actor_world.log.clone(),
        org_final,
    ] {
        if let Some(e) = log.error() {
            errors.push(format!("writing evidence: {e}"));
        }
    }
    errors.extend(ledger.error.map(|e| format!("writing the ledger: {e}")));
    errors.extend(
        recording
            .log_error
            .clone()
            .map(|e| format!("writing the interval log: {e}")),
    );
    sink.stop().await;
    alerts.stop().await;
    if let Err(e) = world.running.shutdown().await {
        errors.push(format!("closing the journal: {e}"));
    }
    drop(load_runtime);
    let summary = recording.summary().map_err(setup)?;
    let facts = RunFacts {
        name: scenario.name.clone(),
        file: scenario.file.clone(),
        integration: command.to_string(),
        seed,
        shard: scenario.shard.map(|s| s.to_string()),
        time_scale: scenario.time_scale,
        duration_s: scenario.duration.as_secs_f64(),
        drain_s: scenario.drain.as_secs_f64(),
        started_at: clock.wall_at(Duration::ZERO).to_rfc3339(),
        streams: streams
            .into_iter()
            .map(|(mut facts, counters)| {
                facts.stats = counters.snapshot();
                facts
            })
            .collect(),
        expect: ExpectSpec::of(scenario),
        lifecycle: counts,
        actors: ActorTotals {
            ok: actor_counts.ok.load(Ordering::Relaxed),
            errors: actor_counts.errors.load(Ordering::Relaxed),
            skipped: actor_counts.skipped.load(Ordering::Relaxed),
        },
        sink: EndpointTotals {
            requests: sink_requests,
            failed: sink_failed,
        },
        alerts: EndpointTotals {
            requests: alert_requests,
            failed: alert_failed,
        },
        faults_installed,
        interrupted,
        errors,
        journal_entries_before_start: journal_before,
        changes,
    };
    let run_json = serde_json::to_vec_pretty(&facts).map_err(setup)?;
    write_atomic(&path(files::RUN), &run_json).map_err(io(&path(files::RUN)))?;
    Ok(ScenarioRun {
        facts,
        reconciliation,
        summary,
    })
}

/// Starts one `[[load]]` stream's task; returns its facts (stats filled in at the end), its
/// live counters and the task.
fn start_stream(
    scenario: &Scenario,
    stream: &LoadStream,
    world: &world::World,
    inbound: &Arc<Inbound>,
    stop: &CancellationToken,
    load: &tokio::runtime::Handle,
) -> Result<(StreamFacts, Arc<DriverCounters>, JoinHandle<()>), HarnessError> {
    let at = |e: &dyn std::fmt::Display| {
        setup(format!(
            "{}: load stream {}: {e}",
            scenario.file, stream.name
        ))
    };
    let object = world
        .org()
        .data
        .read()
        .schema
        .object(&stream.object)
        .cloned();
    let spec = stream_spec(stream, object.as_ref());
    let (index, count) = shard_of(&stream.keys);
    let builder =
        Arc::new(EventBuilder::for_shard(&spec, scenario.seed, index, count).map_err(|e| at(&e))?);
    let driver = Driver::new(DriverConfig {
        max_in_flight: stream.max_in_flight.get() as usize,
        ..DriverConfig::default()
    })
    .map_err(|e| at(&e))?;
    let counters = driver.counters();
    let name: Arc<str> = Arc::from(stream.name.as_str());
    let inbound = Arc::clone(inbound);
    let stop = stop.clone();
    let duration_s = stream.duration.as_secs_f64();
    let (facts, task) = match &stream.traffic {
        Traffic::Events { rate, .. } => {
            let schedule = StreamSchedule::new(
                rate,
                stream.duration,
                stream_seed(
                    scenario.seed,
                    &format!("load:{}", stream.name),
                    scenario.shard,
                ),
                scenario.shard,
            )
            .map_err(|e| at(&e))?;
            let events = EventStream {
                name,
                builder,
                schedule,
                start: stream.start,
                driver,
            };
            let facts = StreamFacts {
                name: stream.name.clone(),
                kind: "events".into(),
                target_events: rate.expected_events(stream.duration),
                per_request: 1,
                duration_s,
                stats: Default::default(),
            };
            let task = load.spawn(async move {
                tokio::select! {
                    _ = inbound.run_events(events) => {}
                    _ = stop.cancelled() => {}
                }
            });
            (facts, task)
        }
        Traffic::Batches {
            batch_size,
            schedule,
        } => {
            let times = batch_times(stream, schedule);
            let per = u64::from(batch_size.get());
            let facts = StreamFacts {
                name: stream.name.clone(),
                kind: "batch".into(),
                target_events: (times.len() as u64 * per) as f64,
                per_request: per,
                duration_s,
                stats: Default::default(),
            };
            let batches = BatchStream {
                name,
                builder,
                batch_size: batch_size.get(),
                times,
                driver,
                shard: (index, count),
            };
            let task = load.spawn(async move {
                tokio::select! {
                    _ = inbound.run_batches(batches) => {}
                    _ = stop.cancelled() => {}
                }
            });
            (facts, task)
        }
    };
    Ok((facts, counters, task))
}

/// When a batch stream sends, as offsets from the run start.
pub fn batch_times(stream: &LoadStream, schedule: &BatchSchedule) -> Vec<Duration> {
    let end = stream.start.saturating_add(stream.duration);
    match schedule {
        BatchSchedule::Every(every) => {
            let mut times = Vec::new();
            let mut t = stream.start;
            while t < end && !every.is_zero() {
                times.push(t);
                t = t.saturating_add(*every);
            }
            times
        }
        BatchSchedule::At(list) => list.iter().map(|d| d.0).filter(|t| *t < end).collect(),
    }
}

/// Whether the drain may end early: asked for, a builtin integration (which reports its work on
/// `/metrics`), and nothing in the scenario that the drain exists for besides the work itself.
fn settle_eligible(scenario: &Scenario, command: &IntegrationCommand, asked: bool) -> bool {
    asked
        && matches!(command, IntegrationCommand::Builtin(_))
        && scenario.actions.is_empty()
        && scenario
            .load
            .iter()
            .all(|s| matches!(s.traffic, Traffic::Events { .. }))
}

/// A loopback port nobody is listening on right now, for `SFCHAOS_LISTEN`.
fn free_port() -> std::io::Result<std::net::SocketAddr> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    listener.local_addr()
}

/// Evidence files of a scenario directory that exist, by kind, relative to `base`.
pub fn evidence_files(dir: &Path, base: &Path) -> BTreeMap<String, String> {
    let kinds = [
        ("run", files::RUN),
        ("scenario", files::SCENARIO),
        ("ledger", files::LEDGER),
        ("latency_log", files::LATENCY_LOG),
        ("journal", files::JOURNAL),
        ("changes", files::CHANGES),
        ("actor_edits", files::ACTOR_EDITS),
        ("sink", files::SINK),
        ("alerts", files::ALERTS),
        ("lifecycle", files::LIFECYCLE),
        ("faults", files::FAULTS),
        ("phases", files::PHASES),
        ("org_final", files::ORG_FINAL),
        ("findings", files::FINDINGS),
        ("stdout", files::STDOUT),
        ("stderr", files::STDERR),
        ("ca", files::CA),
    ];
    kinds
        .into_iter()
        .filter_map(|(kind, name)| {
            let file = dir.join(name);
            file.exists()
                .then(|| (kind.to_owned(), relative(&file, base)))
        })
        .collect()
}

/// `path` relative to `base` when it lies below it, else as given.
pub fn relative(path: &Path, base: &Path) -> String {
    path.strip_prefix(base)
        .unwrap_or(path)
        .display()
        .to_string()
}
