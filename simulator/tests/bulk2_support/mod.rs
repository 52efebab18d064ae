//! In-process harness for the composite and Bulk 2.0 tests: the real router driven with `oneshot`
//! (no sockets, so paused clocks stay deterministic), a session from the OAuth password grant, and
//! a test implementation of the in-handler fault hooks.

#![allow(dead_code)]

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use serde_json::{json, Value as Json};
use simulator::error::ApiError;
use simulator::faults::hooks::{Faults, ItemFaults, Probe};
use simulator::faults::plan::{BulkSlowdownFault, StreamingFault};
use simulator::{SimConfig, SimState};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

pub const V: &str = "/services/data/v62.0";

/// The simulator and a logged-in session.
pub struct Sim {
    pub state: SimState,
    pub app: Router,
    pub token: String,
}

/// An answer: status, headers, body bytes.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub bytes: bytes::Bytes,
}

impl Answer {
    pub fn json(&self) -> Json {
        serde_json::from_slice(&self.bytes).unwrap_or(Json::Null)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
}

impl Sim {
    pub async fn new() -> Sim {
        Sim::with(SimConfig::default(), Faults::default()).await
    }

    pub async fn with(config: SimConfig, faults: Faults) -> Sim {
        let state = SimState::with_faults(config, faults).expect("state");
        let app = simulator::app(state.clone());
        let form = "grant_type=password&client_id=sfchaos-client&client_secret=sfchaos-secret&username=admin%40sfchaos.test&password=sfchaos";
        let req = Request::builder()
            .method(Method::POST)
            .uri("/services/oauth2/token")
            .header("host", "127.0.0.1")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(form))
            .unwrap();
        let resp = app.clone().oneshot(req).await.unwrap();
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        let v: Json = serde_json::from_slice(&body).unwrap();
        let token = v["access_token"].as_str().expect("token").to_string();
        Sim { state, app, token }
    }

    pub async fn send(&self, method: Method, path: &str, content_type: &str, body: Body) -> Answer {
        let uri = if path.starts_with("/services") {
            path.to_string()
        } else {
            format!("{V}{path}")
        };
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header("host", "127.0.0.1")
            .header("authorization", format!("Bearer {}", self.token))
            .header("content-type", content_type)
            .body(body)
            .unwrap();
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        Answer {
            status,
            headers,
            bytes,
        }
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<Json>) -> Answer {
        let b = body
            .map(|j| Body::from(j.to_string()))
            .unwrap_or_else(Body::empty);
        self.send(method, path, "application/json", b).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Json) -> Answer {
        self.call(Method::POST, path, Some(body)).await
    }

    /// Create a record through REST; its id.
    pub async fn create(&self, object: &str, fields: Json) -> String {
        let a = self.post(&format!("/sobjects/{object}"), fields).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
        a.json()["id"].as_str().unwrap().to_string()
    }

    /// Live records of an object.
    pub fn count(&self, object: &str) -> usize {
        let org = self.state.default_org();
        let data = org.data.read();
        let obj = data.schema.object_index(object).unwrap();
        data.live_count(obj)
    }

    /// A field of a record, as REST JSON.
    pub async fn field(&self, object: &str, id: &str, field: &str) -> Json {
        let a = self
            .get(&format!("/sobjects/{object}/{id}?fields={field}"))
            .await;
        a.json()[field].clone()
    }

    /// Create an ingest job, upload `csv`, close it; the job id.
    pub async fn ingest(&self, job: Json, csv: &str) -> String {
        let a = self.post("/jobs/ingest", job).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text());
        let id = a.json()["id"].as_str().unwrap().to_string();
        let put = self
            .send(
                Method::PUT,
                &format!("/jobs/ingest/{id}/batches"),
                "text/csv",
                Body::from(csv.to_string()),
            )
            .await;
        assert_eq!(put.status, StatusCode::CREATED, "{}", put.text());
        let close = self
            .call(
                Method::PATCH,
                &format!("/jobs/ingest/{id}"),
                Some(json!({"state": "UploadComplete"})),
            )
            .await;
        assert_eq!(close.status, StatusCode::OK, "{}", close.text());
        id
    }

    /// Poll job info every second of scenario time until the job is terminal (bounded).
    pub async fn wait(&self, kind: &str, id: &str) -> Json {
        for _ in 0..3_600 {
            let info = self.get(&format!("/jobs/{kind}/{id}")).await.json();
            if matches!(
                info["state"].as_str(),
                Some("JobComplete" | "Failed" | "Aborted")
            ) {
                return info;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        panic!("job {id} did not finish within an hour of scenario time");
    }

    /// API calls used so far.
    pub fn api_used(&self) -> u64 {
        self.state
            .default_org()
            .allocation
            .usage(self.state.clock.elapsed())
            .0
    }
}

/// Parse a CSV answer into rows of strings (header first).
pub fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    rdr.records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

/// Item faults for tests: fail the listed item indexes with `error`; optionally slow or fail jobs.
#[derive(Debug, Default)]
pub struct TestFaults {
    pub fail_indexes: HashSet<usize>,
    pub fail_keys: HashSet<String>,
    pub error: Option<ApiError>,
    pub slowdown: Option<BulkSlowdownFault>,
}

impl ItemFaults for TestFaults {
    fn item_failure(
        &self,
        _probe: &Probe<'_>,
        index: usize,
        key: Option<&str>,
    ) -> Option<ApiError> {
        let hit =
            self.fail_indexes.contains(&index) || key.is_some_and(|k| self.fail_keys.contains(k));
        hit.then(|| {
            self.error
                .clone()
                .unwrap_or_else(|| ApiError::custom(400, "UNKNOWN_EXCEPTION", "injected failure"))
        })
    }

    fn bulk_slowdown(&self, _probe: &Probe<'_>) -> Option<BulkSlowdownFault> {
        self.slowdown.clone()
    }

    fn lock_hold(&self, _probe: &Probe<'_>) -> Option<Duration> {
        None
    }

    fn streaming(&self, _probe: &Probe<'_>) -> Option<StreamingFault> {
        None
    }
}

pub fn faults(f: TestFaults) -> Faults {
    Faults::with_engine(Arc::new(f))
}
