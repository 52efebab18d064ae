//! Starting and stopping a reference integration: [`start`] → [`Running`], and [`run`] for the CLI.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::retry::{RetryPolicy, RetryStats};
use crate::sf::SfClient;

use super::alerts::{self, Alerts, Signals};
use super::calls::Salesforce;
use super::config::Config;
use super::downstream::{self, Sink};
use super::engine::{Capabilities, Engine};
use super::error::ReferenceError;
use super::health::Health;
use super::metrics::Metrics;
use super::schema::Schema;
use super::store::Store;
use super::write::{run_writer, OutageGate, RecordCache};
use super::{bulk, server};

/// How long a graceful stop waits for background tasks before aborting them.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// The window the alert monitor judges error rates over.
const HEALTH_WINDOW: Duration = Duration::from_secs(15);

/// A running integration.
#[derive(Debug)]
pub struct Running {
    addr: SocketAddr,
    engine: Arc<Engine>,
    server_stop: CancellationToken,
    server: JoinHandle<std::io::Result<()>>,
    tasks: Vec<JoinHandle<()>>,
}

/// Start the integration described by `config`, serving its inbound API on `listener`. Returns once
/// `GET /healthz` answers 200: after the durable queue is replayed and — for a profile that assumes
/// Salesforce is always up (`availability` on) — after logging in, which is then fatal if it fails.
/// Other profiles log in in the background, retrying, and accept events meanwhile.
pub async fn start(config: Config, listener: TcpListener) -> Result<Running, ReferenceError> {
    config.validate()?;
    let addr = listener.local_addr().map_err(ReferenceError::Server)?;
    let behaviour = config.behaviour;
    tracing::info!(
        "reference integration {} on {addr}: exhibits {:?}, retry {}",
        crate::scenario::IntegrationCommand::Builtin(config.profile.clone()),
        behaviour.exhibited(),
        config.retry
    );

    let store = match (&config.state_dir, behaviour.rollback) {
        (Some(dir), false) => {
            let (store, recovered) =
                Store::durable(dir).map_err(|e| ReferenceError::state(dir, e))?;
            if recovered > 0 {
                tracing::info!(
                    "replayed {recovered} accepted event(s) from {}",
                    dir.display()
                );
            }
            store
        }
        _ => Store::in_memory(),
    };
    let metrics = Arc::new(Metrics::default());
    let health = Arc::new(Health::new(HEALTH_WINDOW));
    let sink_health = Arc::new(Health::new(HEALTH_WINDOW));
    let shutdown = CancellationToken::new();
    let client = SfClient::new(config.sf.clone()).map_err(ReferenceError::Client)?;
    let policy = RetryPolicy::from_seed(config.retry.clone(), config.seed_for("salesforce"));
    let sf = Salesforce::new(
        client,
        policy,
        behaviour.blind_retries,
        behaviour.availability,
        Arc::clone(&metrics),
        Arc::clone(&health),
        shutdown.clone(),
    );
    let mut tasks = Vec::new();
    let alerts = if behaviour.observability {
        Alerts::disabled()
    } else {
        let (alerts, task) = Alerts::spawn(
            config.alert_url.clone(),
            Arc::clone(&metrics),
            shutdown.clone(),
        );
        tasks.push(task);
        alerts
    };
    let (logged_in, _) = watch::channel(false);
    let engine = Arc::new(Engine {
        schema: Schema::new(!behaviour.realtime_db),
        caps: Capabilities::for_version(&config.sf.api_version),
        gate: OutageGate::new(
            config.tuning.outage_backoff_cap,
            config.seed_for("outage-gate"),
        ),
        records: RecordCache::default(),
        behaviour,
        sf,
        store,
        metrics,
        health,
        sink_health,
        alerts,
        shutdown,
        logged_in,
        ready: AtomicBool::new(false),
        config,
    });

    if behaviour.availability {
        engine
            .sf
            .reauthenticate(None)
            .await
            .map_err(ReferenceError::Login)?;
        engine.logged_in.send_replace(true);
    } else {
        tasks.push(tokio::spawn(log_in(Arc::clone(&engine))));
    }
    for _ in 0..engine.config.tuning.writers {
        tasks.push(tokio::spawn(run_writer(Arc::clone(&engine))));
    }
    tasks.push(tokio::spawn(bulk::run(Arc::clone(&engine))));
    if let Some(url) = engine.config.sink_url.clone() {
        let sink = Sink::new(
            url,
            behaviour.blind_retries,
            engine.config.seed_for("sink"),
            Arc::clone(&engine.metrics),
            Arc::clone(&engine.sink_health),
            engine.shutdown.clone(),
        )
        .map_err(|e| ReferenceError::config("SFCHAOS_SINK_URL", e))?;
        tasks.push(tokio::spawn(downstream::run(Arc::clone(&engine), sink)));
    } else {
        tracing::warn!("SFCHAOS_SINK_URL is not set: no downstream sync");
    }
    if !behaviour.observability {
        let lag_of = Arc::clone(&engine);
        let signals = Signals {
            health: Arc::clone(&engine.health),
            sink_health: Arc::clone(&engine.sink_health),
            metrics: Arc::clone(&engine.metrics),
            queue_lag: Box::new(move || lag_of.store.lag()),
        };
        tasks.push(tokio::spawn(alerts::monitor(
            signals,
            engine.alerts.clone(),
            engine.config.tuning.alert_interval,
            engine.shutdown.clone(),
        )));
    }

    engine.ready.store(true, Ordering::Relaxed);
    let server_stop = CancellationToken::new();
    let app = server::routes(Arc::clone(&engine));
    let stop = server_stop.clone();
    let server = tokio::spawn(server::serve(listener, app, stop, STOP_GRACE));
    Ok(Running {
        addr,
        engine,
        server_stop,
        server,
        tasks,
    })
}

/// Log in, retrying with jittered pauses until it works or the integration stops.
async fn log_in(engine: Arc<Engine>) {
    let mut failures = 0;
    loop {
        match engine.sf.reauthenticate(None).await {
            Ok(()) => {
                tracing::info!("logged in to Salesforce");
                engine.logged_in.send_replace(true);
                return;
            }
            Err(e) => {
                failures += 1;
                let pause = engine.gate.item_delay(failures);
                tracing::warn!("cannot log in to Salesforce ({e}); trying again in {pause:?}");
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = engine.shutdown.cancelled() => return,
                }
            }
        }
    }
}

impl Running {
    /// The inbound API's address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The integration's counters.
    pub fn metrics(&self) -> &Metrics {
        &self.engine.metrics
    }

    /// The write path's retry policy counters.
    pub fn retry_stats(&self) -> RetryStats {
        self.engine.sf.policy().stats()
    }

    /// The write path's retry policy (breaker state, quota, throttle).
    pub fn retry_policy(&self) -> &RetryPolicy {
        self.engine.sf.policy()
    }

    /// The most recent waits before Salesforce retries, oldest first.
    pub fn retry_delays(&self) -> Vec<Duration> {
        self.engine.metrics.recent_delays()
    }

    /// Keys waiting to be written.
    pub fn queue_depth(&self) -> usize {
        self.engine.store.depth()
    }

    /// Wait until there is a Salesforce session (`false` if the integration stopped first).
    pub async fn salesforce_ready(&self) -> bool {
        self.engine.wait_logged_in().await
    }

    /// Stop gracefully: stop taking requests, let in-flight work end (up to a few seconds), flush the
    /// durable queue.
    pub async fn shutdown(self) -> Result<(), ReferenceError> {
        self.server_stop.cancel();
        let served = tokio::time::timeout(STOP_GRACE, self.server).await;
        self.engine.shutdown.cancel();
        for mut task in self.tasks {
            if tokio::time::timeout(STOP_GRACE, &mut task).await.is_err() {
                task.abort();
            }
        }
        if let Err(e) = self.engine.store.flush().await {
            tracing::error!("flushing the queue log: {e}");
        }
        tracing::info!("stopped; {} key(s) still queued", self.engine.store.depth());
        match served {
            Ok(Ok(Err(e))) => Err(ReferenceError::Server(e)),
            _ => Ok(()),
        }
    }

    /// Stop as a crash would: every task aborted at once, nothing flushed.
    pub fn crash(self) {
        self.server.abort();
        for task in &self.tasks {
            task.abort();
        }
        self.engine.shutdown.cancel();
    }
}

/// Run until `stop` resolves, then shut down gracefully (what `sfchaos reference` does).
pub async fn run(
    config: Config,
    listener: TcpListener,
    stop: impl std::future::Future<Output = ()>,
) -> Result<(), ReferenceError> {
    let running = start(config, listener).await?;
    stop.await;
    running.shutdown().await
}
