//! Load benchmark of the event driver (`loadgen::harness::inbound`), the part of `sfchaos run`
//! that posts events to the integration. Two questions, answered against a trivial target (a
//! minimal hyper server in a child process, so it does not share the driver's runtime):
//!
//! 1. **Accuracy**: at 1,000 … 20,000 events/s, does the open-model driver send what it was
//!    asked to (achieved rate within 1% of target)?
//! 2. **Speed**: how close does the driver get to wrk's requests/s against the same endpoint,
//!    in the same run (same body, same connection count)? Target: ≥ 90%.
//!
//! The driver runs as in a real run: on a single-threaded runtime of its own
//! (`harness::load_runtime`), bodies encoded ahead by the stream's encoder thread
//! (`harness::prepare`), latency into the recorder with its interval log, every outcome into
//! the ledger file by the ledger's thread, one line each, with the binary's allocator. The
//! target's CPU per request is reported under both clients, to show the driver asks no more of
//! it than wrk does. Machines with two cores are saturated by target plus client: run it with
//! nothing else busy (or under `chrt -f 10`). The HTTP client alone
//! (closed loops, no events or bookkeeping) is measured too, to tell the client's cost from the
//! bookkeeping's. CPU per request comes from /proc (this process, and wrk as a waited-for child).
//!
//! `cargo bench --bench event_driver` (or `benches/event_driver.sh`). Environment:
//! `SFCHAOS_BENCH_SECS` (seconds per measurement, default 5), `SFCHAOS_BENCH_RATES`
//! (comma-separated, default `1000,2000,5000,10000,20000`), `SFCHAOS_BENCH_CONNECTIONS`
//! (default 64), `SFCHAOS_BENCH_WRK` (path of wrk, default `wrk`; `none` with
//! `SFCHAOS_BENCH_ONLY=speed` skips it), `SFCHAOS_BENCH_ONLY=speed` (skip the accuracy table),
//! `SFCHAOS_BENCH_RUNTIME=multi` (drive from a multi-threaded runtime instead).

#[path = "support/cpu.rs"]
mod cpu;

use cpu::{cpu_seconds, process_cpu_seconds};
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use loadgen::datagen::{account_fields, EventBuilder, KeyDistribution, KeyPool, StreamSpec};
use loadgen::harness::convert::StreamSchedule;
use loadgen::harness::evidence::RunClock;
use loadgen::harness::http::HttpClient;
use loadgen::harness::inbound::{EventStream, Inbound, LedgerTask, LiveStats, EVENT_TIMEOUT};
use loadgen::harness::phase::Phases;
use loadgen::recorder::{self, RecorderConfig};
use loadgen::scenario::{FaultPlan, RateSpec};
use loadgen::schedule::{Driver, DriverConfig};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The allocator the `sfchaos` binary runs with, so the driver is measured as `sfchaos run`
/// drives load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TARGET_ROLE: &str = "SFCHAOS_BENCH_ROLE";

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    if std::env::var(TARGET_ROLE).as_deref() == Ok("target") {
        serve_target();
        return;
    }
    // `cargo bench` passes `--bench`; `cargo test --benches` runs it with no `--bench`: only
    // measure when asked to.
    if !std::env::args().any(|a| a == "--bench") {
        println!("load benchmark: run with `cargo bench --bench event_driver`");
        return;
    }
    let secs: u64 = env_or("SFCHAOS_BENCH_SECS", 5);
    let connections: usize = env_or("SFCHAOS_BENCH_CONNECTIONS", 64);
    let rates: Vec<f64> = std::env::var("SFCHAOS_BENCH_RATES")
        .unwrap_or_else(|_| "1000,2000,5000,10000,20000".into())
        .split(',')
        .filter_map(|r| r.trim().parse().ok())
        .collect();
    let wrk = std::env::var("SFCHAOS_BENCH_WRK").unwrap_or_else(|_| "wrk".into());

    let (mut target, addr) = start_target();
    let duration = Duration::from_secs(secs);
    // The driver's runtime: `current` (one thread, as `sfchaos run` drives load) or `multi`.
    let runtime = match std::env::var("SFCHAOS_BENCH_RUNTIME").as_deref() {
        Ok("multi") => tokio::runtime::Runtime::new().expect("runtime"),
        _ => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime"),
    };

    println!(
        "target: trivial HTTP/1.1 server at {addr} (child process {})",
        target.id()
    );
    println!("\n## accuracy: achieved vs target rate ({secs} s each, in-flight cap 1000)");
    println!(
        "{:>8} {:>10} {:>9} {:>8} {:>8} {:>8} {:>10} {:>10} {:>10}",
        "target", "achieved", "error%", "dropped", "late", "errors", "p50 ms", "p99 ms", "p99 raw"
    );
    let only_speed = std::env::var("SFCHAOS_BENCH_ONLY").as_deref() == Ok("speed");
    for rate in rates.iter().filter(|_| !only_speed) {
        let r = runtime.block_on(drive(
            addr,
            RateSpec::Constant { rate: *rate },
            duration,
            1_000,
            Some(Duration::from_secs(1)),
        ));
        let achieved = r.dispatched as f64 / duration.as_secs_f64();
        let error = (achieved - rate) / rate * 100.0;
        println!(
            "{:>8.0} {:>10.1} {:>+8.2}% {:>8} {:>8} {:>8} {:>10.2} {:>10.2} {:>10.2}",
            rate, achieved, error, r.dropped, r.late, r.errors, r.p50, r.p99, r.p99_raw
        );
    }

    println!("\n## speed: driver vs wrk, {connections} connections, {secs} s each, same POST body");
    let body = sample_body();
    let script = std::env::temp_dir().join(format!("sfchaos-bench-{}.lua", std::process::id()));
    std::fs::write(
        &script,
        format!(
            "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.body = {}\n",
            lua_string(&body)
        ),
    )
    .expect("write the wrk script");
    let target_cpu = |pid: u32| process_cpu_seconds(&format!("/proc/{pid}/stat"));
    let target_before_wrk = target_cpu(target.id());
    let (_, children_before) = cpu_seconds();
    let wrk_rps = if only_speed && std::env::var("SFCHAOS_BENCH_WRK").as_deref() == Ok("none") {
        None
    } else {
        run_wrk(&wrk, addr, connections, secs, &script)
    };
    let _ = std::fs::remove_file(&script);
    let (_, children_after) = cpu_seconds();
    let wrk_cpu = children_after - children_before;
    let target_under_wrk = target_cpu(target.id()) - target_before_wrk;
    let target_before_driver = target_cpu(target.id());
    // Far above what the target can take, no drops: the driver then sends as fast as slots free.
    let saturated = runtime.block_on(drive(
        addr,
        RateSpec::Constant { rate: 1_000_000.0 },
        duration,
        connections,
        None,
    ));
    let driver_rps = saturated.completed as f64 / saturated.elapsed_s;
    let driver_cpu = saturated.cpu_s;
    let target_under_driver = target_cpu(target.id()) - target_before_driver;
    let (bare_before, _) = cpu_seconds();
    let bare = runtime.block_on(bare_client(addr, connections, duration, body.clone()));
    let (bare_after, _) = cpu_seconds();
    println!(
        "bare client (no events, ledger or recorder; {connections} closed loops): {:.0} req/s ({:.1} µs CPU/request)",
        bare as f64 / duration.as_secs_f64(),
        (bare_after - bare_before) * 1e6 / bare.max(1) as f64
    );
    println!(
        "driver (saturating, cap {connections}): {} sent, {} answered, {} errors, p50 {:.2} ms raw p99 {:.2} ms",
        saturated.dispatched, saturated.completed, saturated.errors, saturated.p50, saturated.p99_raw
    );
    match wrk_rps {
        Some(wrk_rps) => println!(
            "wrk: {wrk_rps:.0} req/s ({:.1} µs CPU/request); driver: {driver_rps:.0} req/s ({:.1} µs CPU/event); driver = {:.1}% of wrk",
            wrk_cpu * 1e6 / (wrk_rps * secs as f64),
            driver_cpu * 1e6 / saturated.completed.max(1) as f64,
            driver_rps / wrk_rps * 100.0
        ),
        None => println!("wrk: not available ({wrk}); driver: {driver_rps:.0} req/s"),
    }
    println!(
        "target CPU/request: under wrk {:.1} µs, under the driver {:.1} µs",
        wrk_rps.map_or(0.0, |r| target_under_wrk * 1e6 / (r * secs as f64)),
        target_under_driver * 1e6 / saturated.completed.max(1) as f64
    );
    drop(target.stdin.take());
    let _ = target.kill();
    let _ = target.wait();
}

struct Measured {
    dispatched: u64,
    completed: u64,
    dropped: u64,
    late: u64,
    errors: u64,
    p50: f64,
    p99: f64,
    p99_raw: f64,
    /// From the first send to the last reply.
    elapsed_s: f64,
    /// CPU time of the process while sending (the ledger is folded afterwards, not counted).
    cpu_s: f64,
}

/// One stream through the real driver stack, ledger and recorder included.
async fn drive(
    addr: SocketAddr,
    rate: RateSpec,
    duration: Duration,
    max_in_flight: usize,
    max_lateness: Option<Duration>,
) -> Measured {
    let dir = tempfile::tempdir().expect("temp dir");
    let clock = RunClock {
        start: tokio::time::Instant::now() + Duration::from_millis(100),
        wall_start: SystemTime::now() + Duration::from_millis(100),
    };
    let mut config = RecorderConfig::new(clock.start, clock.wall_start);
    config.streams = vec!["bench".into()];
    let log = std::fs::File::create(dir.path().join("latency.hlog")).expect("log");
    let recorder = recorder::spawn(config, Some(Box::new(log))).expect("recorder");
    let ledger = LedgerTask::spawn(&dir.path().join("ledger.ndjson")).expect("ledger");
    let live = Arc::new(LiveStats::default());
    let inbound = Arc::new(Inbound {
        client: HttpClient::new(max_in_flight),
        events_uri: format!("http://{addr}/events").parse().expect("uri"),
        batch_uri: format!("http://{addr}/batch").parse().expect("uri"),
        clock,
        phases: Arc::new(Phases::new(&FaultPlan::default(), duration)),
        samples: recorder.sender(),
        ledger: ledger.sender(),
        timeout: EVENT_TIMEOUT,
        live: Arc::clone(&live),
        abort: CancellationToken::new(),
        tasks: TaskTracker::new(),
    });
    let spec = StreamSpec {
        name: "bench".into(),
        object: "Account".into(),
        external_id_field: "External_Id__c".into(),
        kind: Default::default(),
        delete_fraction: 0.0,
        keys: KeyPool::new(100_000, KeyDistribution::Uniform),
        fields: account_fields(),
    };
    let driver = Driver::new(DriverConfig {
        max_in_flight,
        max_lateness,
        ..DriverConfig::default()
    })
    .expect("driver");
    let counters = driver.counters();
    let stream = EventStream {
        name: Arc::from("bench"),
        builder: Arc::new(EventBuilder::new(&spec, 1).expect("builder")),
        schedule: StreamSchedule::new(&rate, duration, 1, None).expect("schedule"),
        start: Duration::ZERO,
        driver,
    };
    // A saturating run is cut off after `duration` of sending, as wrk's is.
    let started = tokio::time::Instant::now();
    let cpu_at_start = cpu_seconds().0;
    let _ = tokio::time::timeout(
        duration + Duration::from_millis(100),
        inbound.run_events(stream),
    )
    .await;
    inbound.tasks.close();
    inbound.tasks.wait().await;
    let elapsed_s = started.elapsed().as_secs_f64() - 0.1;
    let cpu_s = cpu_seconds().0 - cpu_at_start;
    drop(inbound);
    let recording = recorder.finish().await.expect("recording");
    let ledger = ledger.finish().await;
    assert!(ledger.error.is_none(), "{:?}", ledger.error);
    if let Some(line) = std::fs::read_to_string(dir.path().join("ledger.ndjson"))
        .unwrap_or_default()
        .lines()
        .find(|l| !l.contains("\"kind\":\"accepted\""))
    {
        println!("  first event not accepted: {line}");
    }
    let summary = recording.summary().expect("summary");
    let stats = counters.snapshot();
    Measured {
        dispatched: stats.dispatched,
        completed: summary.overall.count,
        dropped: stats.dropped,
        late: stats.late,
        errors: summary.overall.errors,
        p50: summary.overall.corrected.p50,
        p99: summary.overall.corrected.p99,
        p99_raw: summary.overall.raw.p99,
        elapsed_s,
        cpu_s,
    }
}

/// The HTTP client alone, closed-loop like wrk: `connections` loops posting the same body.
async fn bare_client(
    addr: SocketAddr,
    connections: usize,
    duration: Duration,
    body: String,
) -> u64 {
    let client = HttpClient::new(connections);
    let uri: http::Uri = format!("http://{addr}/events").parse().expect("uri");
    let body = bytes::Bytes::from(body);
    let deadline = tokio::time::Instant::now() + duration;
    let loops: Vec<_> = (0..connections)
        .map(|_| {
            let (client, uri, body) = (client.clone(), uri.clone(), body.clone());
            tokio::spawn(async move {
                let mut done = 0u64;
                while tokio::time::Instant::now() < deadline {
                    if client
                        .post_json(&uri, body.clone(), EVENT_TIMEOUT)
                        .await
                        .is_ok()
                    {
                        done += 1;
                    }
                }
                done
            })
        })
        .collect();
    let mut total = 0;
    for l in loops {
        total += l.await.unwrap_or(0);
    }
    total
}

/// A representative event body (what the driver sends), for wrk.
fn sample_body() -> String {
    let spec = StreamSpec {
        name: "bench".into(),
        object: "Account".into(),
        external_id_field: "External_Id__c".into(),
        kind: Default::default(),
        delete_fraction: 0.0,
        keys: KeyPool::new(100_000, KeyDistribution::Uniform),
        fields: account_fields(),
    };
    let builder = EventBuilder::new(&spec, 1).expect("builder");
    serde_json::to_string(&builder.build(7, chrono::Utc::now())).expect("json")
}

fn lua_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn run_wrk(
    wrk: &str,
    addr: SocketAddr,
    connections: usize,
    secs: u64,
    script: &std::path::Path,
) -> Option<f64> {
    let output = Command::new(wrk)
        .args([
            "-t2",
            &format!("-c{connections}"),
            &format!("-d{secs}s"),
            "-s",
        ])
        .arg(script)
        .arg(format!("http://{addr}/events"))
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    print!("{text}");
    text.lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
}

/// Starts this binary again as the target; returns it and its address.
fn start_target() -> (std::process::Child, SocketAddr) {
    let exe = std::env::current_exe().expect("current exe");
    let mut child = Command::new(exe)
        .env(TARGET_ROLE, "target")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the target");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("target address");
    let addr = line.trim().parse().expect("target address");
    (child, addr)
}

/// The trivial target: HTTP/1.1 keep-alive, reads the body, answers 200 `{"ok":true}`. Exits
/// when its stdin closes.
fn serve_target() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        use http_body_util::{BodyExt, Full};
        use hyper::body::Incoming;
        use hyper::service::service_fn;
        use hyper::{Request, Response};

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        println!("{addr}");
        std::io::stdout().flush().expect("flush");
        tokio::task::spawn_blocking(|| {
            let mut sink = String::new();
            let _ = std::io::stdin().read_line(&mut sink);
            std::process::exit(0);
        });
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let service = service_fn(|req: Request<Incoming>| async move {
                    let _ = req.into_body().collect().await;
                    Ok::<_, std::convert::Infallible>(Response::new(Full::new(
                        bytes::Bytes::from_static(b"{\"ok\":true}"),
                    )))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
}
