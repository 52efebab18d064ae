//! Load benchmark of the simulator's hottest path, against a baseline measured in the same run:
//!
//! 1. a minimal axum server answering a static JSON record the size of an Account;
//! 2. the simulator's `GET /services/data/v62.0/sobjects/Account/{id}` with a valid token;
//!
//! both driven by the same client (wrk, keep-alive, 2 threads, 64 connections, 10 s), and
//! 3. the resident memory of a simulator holding 1,000,000 Accounts.
//!
//! Run: `cargo bench --bench load` (needs `wrk`: `apt-get install wrk`). Targets: the simulator reaches at
//! least 60% of the baseline's requests/s; RSS stays under 1 GiB with a million Accounts. Traffic stays on
//! 127.0.0.1.

#[path = "../simulator/benches/support/account_read.rs"]
mod account_read;
#[path = "support/cpu.rs"]
mod cpu;

use account_read::{account_read, AccountRead};

use std::process::Command;
use std::time::Duration;

/// The allocator the `sfchaos` binary runs with, so the simulator is measured as it ships (the
/// baseline server in the same process uses it too).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const WRK_SECS: &str = "10s";

/// What one wrk run measured.
struct Measured {
    rate: f64,
    /// Answers that were not 2xx/3xx (the simulator must answer the record, not an error).
    errors: u64,
    /// CPU this process (the server) spent per request, µs.
    server_cpu_us: f64,
    /// CPU wrk spent per request, µs.
    client_cpu_us: f64,
}

fn wrk(url: &str, header: Option<&str>) -> Measured {
    let mut cmd = Command::new("wrk");
    cmd.args(["-t2", "-c64", "-d", WRK_SECS, "--latency"]);
    if let Some(h) = header {
        cmd.args(["-H", h]);
    }
    cmd.arg(url);
    let (server_before, client_before) = cpu::cpu_seconds();
    let out = cmd.output().unwrap_or_else(|e| {
        panic!("wrk is required for this benchmark (apt-get install wrk): {e}")
    });
    let (server_after, client_after) = cpu::cpu_seconds();
    let text = String::from_utf8_lossy(&out.stdout);
    println!("{text}");
    let line_value = |prefix: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix).map(str::to_owned))
    };
    let rate = line_value("Requests/sec:")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0);
    let errors = line_value("Non-2xx or 3xx responses:")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    // "1234567 requests in 10.00s, 1.23GB read"
    let requests = text
        .lines()
        .find_map(|l| {
            l.trim()
                .split_once(" requests in ")
                .map(|(n, _)| n.to_owned())
        })
        .and_then(|n| n.trim().parse::<f64>().ok())
        .unwrap_or(0.0)
        .max(1.0);
    Measured {
        rate,
        errors,
        server_cpu_us: (server_after - server_before) * 1e6 / requests,
        client_cpu_us: (client_after - client_before) * 1e6 / requests,
    }
}

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

async fn baseline_server(
    record: serde_json::Value,
) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let body = serde_json::to_vec(&record).unwrap();
    let app = axum::Router::new().route(
        "/record",
        axum::routing::get(move || {
            let body = body.clone();
            async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "application/json;charset=UTF-8",
                    )],
                    body,
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, task)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // The simulator, with 10,000 Accounts and a session.
        let dir = tempfile::tempdir().unwrap();
        let AccountRead {
            state,
            token,
            path,
            record,
        } = account_read(dir.path());
        let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let running = simulator::start(state.clone(), http, None, &[]).await.unwrap();

        let (base_addr, base_task) = baseline_server(record).await;
        println!("== baseline: minimal axum server, static JSON record");
        let base = wrk(&format!("http://{base_addr}/record"), None);
        base_task.abort();

        println!("== simulator: GET /services/data/v62.0/sobjects/Account/{{id}}");
        let auth = format!("Authorization: Bearer {token}");
        let sim = wrk(
            &format!("{}{path}", running.http_url()),
            Some(&auth),
        );
        let ratio = if base.rate > 0.0 {
            sim.rate / base.rate
        } else {
            0.0
        };
        println!(
            "RESULT requests/s: baseline {:.0}, simulator {:.0}, ratio {:.1}% (target >= 60%){}",
            base.rate,
            sim.rate,
            ratio * 100.0,
            if sim.errors > 0 {
                format!(
                    "; INVALID: the simulator answered {} requests with an error",
                    sim.errors
                )
            } else {
                String::new()
            }
        );
        println!(
            "RESULT CPU per request (server / wrk): baseline {:.2} / {:.2} us, simulator {:.2} / {:.2} us",
            base.server_cpu_us, base.client_cpu_us, sim.server_cpu_us, sim.client_cpu_us
        );
        let _ = running.shutdown().await;
        drop(state);

        // Memory with a million Accounts.
        let before = rss_mib();
        let big = simulator::SimState::new(simulator::SimConfig::default()).unwrap();
        let big_org = big.default_org();
        let t = std::time::Instant::now();
        {
            let mut data = big_org.data.write();
            simulator::org::seed::seed(
                &mut data,
                "Account",
                1_000_000,
                &Default::default(),
                1,
                &Default::default(),
                big.clock.now_ms(),
            )
            .unwrap();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let after = rss_mib();
        println!(
            "RESULT 1,000,000 Accounts loaded in {:.1} s; process RSS {after:.0} MiB (before {before:.0} MiB; target < 1024 MiB)",
            t.elapsed().as_secs_f64()
        );
    });
}
