//! What one `GET /services/data/v62.0/sobjects/Account/{id}` costs inside the simulator, without
//! sockets: the request as hyper hands it over (connection facts, the headers wrk sends), through
//! the recording layer (journal in memory and in a file), the fault layer without rules and the
//! handler, to the response's bytes. The end-to-end comparison with a minimal axum server is
//! `cargo bench --bench load`; this one isolates the simulator's own share of it.
//!
//! `cargo bench -p simulator --bench request` (`ROUNDS`, `BATCH` in the environment).

use axum::body::Body;
use axum::http::{Method, Request};
use simulator::server;
#[path = "support/account_read.rs"]
mod account_read;

use account_read::{account_read, AccountRead};
use simulator::server::{ConnInfo, ConnKill, Scheme};
use simulator::SimConfig;
use tower::Service;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let rounds: usize = env_or("ROUNDS", 50);
    let batch: usize = env_or("BATCH", 20_000);
    let dir = tempfile::tempdir().unwrap();
    let AccountRead {
        state,
        token,
        path,
        record,
    } = account_read(dir.path());
    let auth = format!("Bearer {token}");
    let info = ConnInfo::new(
        "127.0.0.1:40000".parse().unwrap(),
        "127.0.0.1:8080".parse().unwrap(),
        Scheme::Http,
        ConnKill::detached(),
    );
    let threads: usize = env_or("THREADS", 1).max(1);
    let app = simulator::service(state.clone());
    // One service copy and one single-threaded runtime per thread, as each connection of the
    // server holds its own copy; with THREADS=2 the threads contend for the shared state as the
    // server's two workers do.
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            (rt, server::App::for_connection(&app))
        })
        .collect();
    let one_batch = |rt: &tokio::runtime::Runtime, svc: &simulator::SimService| {
        let mut svc = svc.clone();
        rt.block_on(async {
            for _ in 0..batch {
                let mut req = Request::builder()
                    .method(Method::GET)
                    .uri(path.as_str())
                    .header("host", "127.0.0.1:8080")
                    .header("user-agent", "wrk")
                    .header("authorization", auth.as_str())
                    .body(Body::empty())
                    .unwrap();
                req.extensions_mut().insert(info.clone());
                let resp = svc.call(req).await.unwrap();
                assert_eq!(resp.status(), 200);
                let _ = axum::body::to_bytes(resp.into_body(), usize::MAX)
                    .await
                    .unwrap();
            }
        })
    };

    // What is measured is the record's answer.
    let mut check = server::App::for_connection(&app);
    let answered = workers[0].0.block_on(async {
        let mut req = Request::get(path.as_str())
            .header("authorization", auth.as_str())
            .body(Body::empty())
            .unwrap();
        req.extensions_mut().insert(info.clone());
        let resp = check.call(req).await.unwrap();
        axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap()
    });
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&answered).unwrap(),
        record
    );

    // The first rounds warm caches and allocators up and fill the journal's in-memory ring, so the
    // measured ones see its steady state (each entry evicts the oldest).
    let warm_up = SimConfig::default()
        .journal_capacity
        .div_ceil(batch * threads)
        + 1;
    let mut per_request = Vec::with_capacity(rounds);
    for round in 0..rounds + warm_up {
        let start = std::time::Instant::now();
        std::thread::scope(|scope| {
            for (rt, svc) in &workers {
                scope.spawn(|| one_batch(rt, svc));
            }
        });
        if round >= warm_up {
            // Each thread answered `batch` requests in this time: the time one request took a thread.
            per_request.push(start.elapsed().as_secs_f64() * 1e6 / batch as f64);
        }
    }
    per_request.sort_by(|a, b| a.total_cmp(b));
    println!(
        "RESULT {threads} thread(s), {rounds} rounds x {batch} requests each: median {:.2} us/request per thread, min {:.2}",
        per_request[per_request.len() / 2],
        per_request[0]
    );
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
