//! An in-memory simulator (`app(state).oneshot`) and a minimal Bayeux client speaking to it.

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use serde_json::{json, Value};
use simulator::auth::session::SessionKind;
use simulator::faults::hooks::Faults;
use simulator::{SimConfig, SimState};
use std::sync::atomic::{AtomicU64, Ordering};
use tower::ServiceExt;

pub const CD: &str = "/cometd/62.0";
pub const DATA: &str = "/services/data/v62.0";

#[derive(Clone)]
pub struct Sim {
    pub state: SimState,
    pub app: Router,
    pub token: String,
}

/// One HTTP answer, body parsed as JSON (`Null` when empty or not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Sim {
    pub fn new() -> Sim {
        Sim::with(SimConfig::default(), Faults::default())
    }

    pub fn with(config: SimConfig, faults: Faults) -> Sim {
        let config = SimConfig {
            epoch_ms: Some(1_700_000_000_000),
            ..config
        };
        let state = SimState::with_faults(config, faults).expect("state");
        let org = state.default_org();
        let user = org.user("admin@sfchaos.test").expect("admin user");
        let now = state.clock.elapsed();
        let session = state.sessions.create(
            org.num,
            &org.id,
            user.num,
            &user.username,
            Some("sfchaos-client".into()),
            SessionKind::OAuth,
            now,
            state.clock.now_ms(),
        );
        Sim {
            app: simulator::app(state.clone()),
            token: session.token.clone(),
            state,
        }
    }

    pub async fn send(&self, req: Request<Body>) -> Answer {
        let resp = self.app.clone().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .expect("body");
        Answer {
            status,
            headers,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        }
    }

    /// A REST call as the admin user, tagged `Sforce-Call-Options: client=streaming-test`.
    pub async fn rest(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        let mut b = Request::builder()
            .method(method)
            .uri(format!("{DATA}{path}"))
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            .header("sforce-call-options", "client=streaming-test");
        let body = match body {
            Some(v) => {
                b = b.header(header::CONTENT_TYPE, "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        self.send(b.body(body).expect("request")).await
    }

    /// Create a record; returns its id.
    pub async fn create(&self, object: &str, fields: Value) -> String {
        let a = self
            .rest(Method::POST, &format!("/sobjects/{object}"), Some(fields))
            .await;
        assert_eq!(
            a.status,
            StatusCode::CREATED,
            "create {object}: {:?}",
            a.body
        );
        a.body["id"].as_str().expect("id").to_string()
    }

    pub async fn update(&self, object: &str, id: &str, fields: Value) {
        let a = self
            .rest(
                Method::PATCH,
                &format!("/sobjects/{object}/{id}"),
                Some(fields),
            )
            .await;
        assert_eq!(a.status, StatusCode::NO_CONTENT, "update: {:?}", a.body);
    }

    pub async fn delete(&self, object: &str, id: &str) {
        let a = self
            .rest(Method::DELETE, &format!("/sobjects/{object}/{id}"), None)
            .await;
        assert_eq!(a.status, StatusCode::NO_CONTENT, "delete: {:?}", a.body);
    }

    /// A raw CometD POST.
    pub async fn cometd(
        &self,
        path: &str,
        body: &str,
        token: Option<&str>,
        cookie: Option<&str>,
    ) -> Answer {
        let mut b = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(t) = token {
            b = b.header(header::AUTHORIZATION, format!("OAuth {t}"));
        }
        if let Some(c) = cookie {
            b = b.header(header::COOKIE, c);
        }
        self.send(b.body(Body::from(body.to_string())).expect("request"))
            .await
    }

    pub fn client(&self) -> Bayeux {
        Bayeux {
            sim: self.clone(),
            client_id: String::new(),
            cookies: Vec::new(),
            next_id: AtomicU64::new(0),
        }
    }
}

/// A Bayeux client that keeps its cookies, like faye.
pub struct Bayeux {
    pub sim: Sim,
    pub client_id: String,
    pub cookies: Vec<(String, String)>,
    next_id: AtomicU64,
}

impl Bayeux {
    pub fn id(&self) -> String {
        (self.next_id.fetch_add(1, Ordering::Relaxed) + 1).to_string()
    }

    pub fn cookie_header(&self) -> Option<String> {
        (!self.cookies.is_empty()).then(|| {
            self.cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    /// POST messages; returns the whole answer array.
    pub async fn post(&mut self, messages: Value) -> Answer {
        let cookie = self.cookie_header();
        let a = self
            .sim
            .cometd(
                CD,
                &messages.to_string(),
                Some(&self.sim.token.clone()),
                cookie.as_deref(),
            )
            .await;
        for v in a.headers.get_all(header::SET_COOKIE) {
            let text = v.to_str().unwrap_or_default();
            let pair = text.split(';').next().unwrap_or_default();
            if let Some((k, v)) = pair.split_once('=') {
                self.cookies.retain(|(n, _)| n != k);
                self.cookies.push((k.to_string(), v.to_string()));
            }
        }
        a
    }

    pub async fn handshake(&mut self) -> Value {
        let id = self.id();
        let a = self
            .post(json!([{"channel": "/meta/handshake", "version": "1.0",
                          "supportedConnectionTypes": ["long-polling"], "id": id}]))
            .await;
        let reply = a.body[0].clone();
        if let Some(c) = reply["clientId"].as_str() {
            self.client_id = c.to_string();
        }
        reply
    }

    pub async fn subscribe(&mut self, channel: &str, replay: Option<Value>) -> Value {
        let id = self.id();
        let mut m = json!({"channel": "/meta/subscribe", "clientId": self.client_id,
                           "subscription": channel, "id": id});
        if let Some(r) = replay {
            m["ext"] = json!({"replay": {channel: r}});
        }
        self.post(json!([m])).await.body[0].clone()
    }

    /// One `/meta/connect`: (events, the connect reply).
    pub async fn connect(&mut self) -> (Vec<Value>, Value) {
        let id = self.id();
        let a = self
            .post(
                json!([{"channel": "/meta/connect", "clientId": self.client_id,
                          "connectionType": "long-polling", "id": id}]),
            )
            .await;
        split(a.body)
    }

    /// Handshake, subscribe, and have the first (immediate) connect answered.
    pub async fn ready(sim: &Sim, channel: &str, replay: Option<Value>) -> Bayeux {
        let mut c = sim.client();
        let h = c.handshake().await;
        assert_eq!(h["successful"], true, "{h}");
        let s = c.subscribe(channel, replay).await;
        assert_eq!(s["successful"], true, "{s}");
        let (_, r) = c.connect().await;
        assert_eq!(r["successful"], true, "{r}");
        c
    }
}

/// Split an answer array into (events, the /meta/connect reply).
pub fn split(body: Value) -> (Vec<Value>, Value) {
    let all = body.as_array().cloned().unwrap_or_default();
    let mut events = Vec::new();
    let mut reply = Value::Null;
    for m in all {
        if m["channel"]
            .as_str()
            .is_some_and(|c| c.starts_with("/meta/"))
        {
            reply = m;
        } else {
            events.push(m);
        }
    }
    (events, reply)
}

pub fn header(e: &Value) -> &Value {
    &e["data"]["payload"]["ChangeEventHeader"]
}

pub fn replay_id(e: &Value) -> u64 {
    e["data"]["event"]["replayId"].as_u64().expect("replayId")
}
