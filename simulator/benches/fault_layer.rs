//! What the fault layer costs per request, in process (no sockets): `GET /sobjects/Account/{id}`
//! through the whole router without the layer, with the layer and no rules, and with the ten
//! per-request rules of `benches/fault_layer_rules.toml` (none of which matches the route).
//! The end-to-end requests/s benchmark is `benches/fault_layer.sh`.
//!
//! `cargo bench -p simulator --bench fault_layer` (`ROUNDS`, `BATCH` in the environment).

use axum::body::Body;
use axum::http::{Method, Request};
use serde_json::json;
use simulator::faults::plan::{FaultPlan, RawFault};
use simulator::{SimConfig, SimState};
use tower::ServiceExt;

fn ten_rules() -> FaultPlan {
    let rules = json!([
        {"kind": "error", "error_code": "UNABLE_TO_LOCK_ROW", "scope": {"api": ["bulk"]}},
        {"kind": "outage", "mode": "http-503", "probability": 0.5, "scope": {"route": "/services/data/*/composite"}},
        {"kind": "latency", "delay": {"lognormal": {"median": "80ms", "p99": "900ms"}}, "scope": {"method": ["POST", "PATCH"]}},
        {"kind": "error", "status": 500, "scope": {"object": ["Contact", "Opportunity"]}},
        {"kind": "connection", "mode": "malformed-json", "scope": {"route": "/services/oauth2/token"}},
        {"kind": "rate-limit", "per_window": {"requests": 10, "window": "1s"}, "scope": {"api": ["soap"]}},
        {"kind": "outage", "mode": "read-only-maintenance", "scope": {"route": "/services/data/*/query"}},
        {"kind": "error", "error_code": "INVALID_SESSION_ID", "scope": {"client": ["someone-else@sfchaos.test"]}},
        {"kind": "latency", "delay": "200ms", "per": "kb", "scope": {"api": ["streaming"]}},
        {"kind": "outage", "mode": "hang", "start": "50m", "duration": "1m", "scope": {"route": "/services/Soap/u"}}
    ]);
    let raws: Vec<RawFault> = serde_json::from_value(rules).unwrap();
    FaultPlan::compile(&raws).unwrap()
}

async fn send(app: &axum::Router, req: Request<Body>) -> serde_json::Value {
    let resp = app.clone().oneshot(req).await.unwrap();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    serde_json::from_slice(&bytes).unwrap_or_default()
}

/// A router, a token and the path of a record to read.
async fn setup(fault_layer: bool, faults: FaultPlan) -> (axum::Router, String, String) {
    let mut config = SimConfig {
        fault_layer,
        faults,
        journal_capacity: 1024,
        ..SimConfig::default()
    };
    config.org.daily_api_requests = u64::MAX / 2;
    let app = simulator::app(SimState::new(config).unwrap());
    let form = "grant_type=password&client_id=sfchaos-client&client_secret=sfchaos-secret&username=admin%40sfchaos.test&password=sfchaos";
    let login = Request::post("/services/oauth2/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("content-length", form.len())
        .body(Body::from(form))
        .unwrap();
    let token = send(&app, login).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let body = r#"{"Name":"Bench"}"#;
    let create = Request::post("/services/data/v62.0/sobjects/Account")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .header("content-length", body.len())
        .body(Body::from(body))
        .unwrap();
    let id = send(&app, create).await["id"].as_str().unwrap().to_string();
    (
        app,
        token,
        format!("/services/data/v62.0/sobjects/Account/{id}"),
    )
}

/// Paired, interleaved timing: each round times a batch of requests on every configuration in turn,
/// and a configuration's cost is the median over rounds of its time relative to the baseline in the
/// same round. Load from other processes shifts whole rounds, so it cancels out of the ratio; a
/// sequential benchmark (configuration after configuration) on a shared machine would mostly measure
/// how the load changed in between.
fn main() {
    let rounds: usize = env_or("ROUNDS", 300);
    let batch: usize = env_or("BATCH", 500);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let configs = [
        ("no-layer", false, FaultPlan::default()),
        ("layer-no-rules", true, FaultPlan::default()),
        ("layer-10-rules", true, ten_rules()),
    ];
    let setups: Vec<_> = configs
        .iter()
        .map(|(name, layer, plan)| (*name, rt.block_on(setup(*layer, plan.clone()))))
        .collect();
    let mut per_request: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); setups.len()];
    for round in 0..rounds + 10 {
        for (i, (_, (app, token, path))) in setups.iter().enumerate() {
            let start = std::time::Instant::now();
            rt.block_on(async {
                for _ in 0..batch {
                    let req = Request::builder()
                        .method(Method::GET)
                        .uri(path.as_str())
                        .header("authorization", format!("Bearer {token}"))
                        .body(Body::empty())
                        .unwrap();
                    let resp = app.clone().oneshot(req).await.unwrap();
                    assert_eq!(resp.status(), 200);
                    let _ = axum::body::to_bytes(resp.into_body(), usize::MAX)
                        .await
                        .unwrap();
                }
            });
            // The first rounds warm caches and allocators up.
            if round >= 10 {
                per_request[i].push(start.elapsed().as_secs_f64() * 1e6 / batch as f64);
            }
        }
    }
    println!("{rounds} rounds x {batch} requests per configuration, interleaved");
    println!(
        "{:<16} {:>14} {:>12} {:>18}",
        "configuration", "median us/req", "min us/req", "cost vs no-layer"
    );
    for (i, (name, _)) in setups.iter().enumerate() {
        let ratios: Vec<f64> = per_request[i]
            .iter()
            .zip(&per_request[0])
            .map(|(t, base)| t / base)
            .collect();
        let cost = (median(ratios) - 1.0) * 100.0;
        let times = per_request[i].clone();
        let min = times.iter().cloned().fold(f64::INFINITY, f64::min);
        println!(
            "{name:<16} {:>14.2} {:>12.2} {:>17}",
            median(times),
            min,
            if i == 0 {
                "-".to_string()
            } else {
                format!("{cost:+.1}%")
            }
        );
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
