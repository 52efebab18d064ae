//! What the fault layer costs per request, in process (no sockets): `GET /sobjects/Account/{id}`
//! through the whole router without the layer, with the layer and no rules, and with the ten
//! per-request rules of `benches/fault_layer_rules.toml` (none of which matches the route).
//! The end-to-end requests/s benchmark is `benches/fault_layer.sh`.

use axum::body::Body;
use axum::http::{Method, Request};
use criterion::{criterion_group, criterion_main, Criterion};
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
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
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
    let token = send(&app, login).await["access_token"].as_str().unwrap().to_string();
    let body = r#"{"Name":"Bench"}"#;
    let create = Request::post("/services/data/v62.0/sobjects/Account")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .header("content-length", body.len())
        .body(Body::from(body))
        .unwrap();
    let id = send(&app, create).await["id"].as_str().unwrap().to_string();
    (app, token, format!("/services/data/v62.0/sobjects/Account/{id}"))
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let mut group = c.benchmark_group("get_record");
    for (name, layer, plan) in [
        ("no-layer", false, FaultPlan::default()),
        ("layer-no-rules", true, FaultPlan::default()),
        ("layer-10-rules", true, ten_rules()),
    ] {
        let (app, token, path) = rt.block_on(setup(layer, plan));
        let auth = format!("Bearer {token}");
        group.bench_function(name, |b| {
            b.to_async(&rt).iter(|| {
                let req = Request::builder()
                    .method(Method::GET)
                    .uri(path.as_str())
                    .header("authorization", auth.as_str())
                    .body(Body::empty())
                    .unwrap();
                let app = app.clone();
                async move {
                    let resp = app.oneshot(req).await.unwrap();
                    assert_eq!(resp.status(), 200);
                    axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap()
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
