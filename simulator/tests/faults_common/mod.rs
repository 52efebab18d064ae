//! Helpers shared by the fault-engine tests: a simulator with a plan, logins and calls through the
//! router (`oneshot`) or a real socket.

#![allow(dead_code)]

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::Value;
use simulator::faults::plan::{FaultPlan, RawFault};
use simulator::state::{SimConfig, SimState};
use std::time::Duration;
use tower::ServiceExt;

pub const V: &str = "/services/data/v62.0";

/// A plan from JSON rules (the admin API's shape).
pub fn plan(rules: Value) -> FaultPlan {
    let raws: Vec<RawFault> = serde_json::from_value(rules).expect("rules deserialize");
    FaultPlan::compile(&raws).expect("rules validate")
}

/// A simulator with `rules` installed and seed `seed`; the journal stays in memory.
pub fn state(seed: u64, rules: Value) -> SimState {
    SimState::new(SimConfig {
        seed,
        faults: plan(rules),
        ..SimConfig::default()
    })
    .expect("state")
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Value,
    pub text: String,
}

/// One call through the whole router (recording, fault layer, handlers).
pub async fn call(
    state: &SimState,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Reply {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let req = match body {
        Some(b) => {
            let bytes = serde_json::to_vec(&b).unwrap();
            req.header("content-type", "application/json")
                .header("content-length", bytes.len())
                .body(Body::from(bytes))
                .unwrap()
        }
        None => req.body(Body::empty()).unwrap(),
    };
    let resp = simulator::app(state.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&bytes).to_string();
    Reply {
        status,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        text,
    }
}

/// An OAuth password-grant login; the access token.
pub async fn login(state: &SimState) -> String {
    let form = "grant_type=password&client_id=sfchaos-client&client_secret=sfchaos-secret&username=admin%40sfchaos.test&password=sfchaos";
    let req = Request::builder()
        .method(Method::POST)
        .uri("/services/oauth2/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("content-length", form.len())
        .body(Body::from(form))
        .unwrap();
    let resp = simulator::app(state.clone()).oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "login");
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    v["access_token"].as_str().unwrap().to_string()
}

/// Create an Account; its id.
pub async fn create_account(state: &SimState, token: &str, name: &str) -> String {
    let r = call(
        state,
        Method::POST,
        &format!("{V}/sobjects/Account"),
        Some(token),
        Some(serde_json::json!({"Name": name})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["id"].as_str().unwrap().to_string()
}

/// The fault tags of the journal's entries so far (request path, tag action), in order.
pub fn fault_log(state: &SimState) -> Vec<(String, Option<String>)> {
    state
        .journal
        .recent(0, usize::MAX)
        .iter()
        .map(|e| {
            (
                format!("{} {}", e.method, e.path),
                e.fault.as_ref().map(|f| format!("{}:{}", f.rule, f.action)),
            )
        })
        .collect()
}

pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Serve `state` on 127.0.0.1:0 (plain HTTP only).
pub async fn serve(state: SimState) -> simulator::Running {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    simulator::start(state, l, None, &[]).await.expect("start")
}
