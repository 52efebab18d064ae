//! The Bayeux exchange as clients rely on it: handshake, held connects, subscribe errors, cookies,
//! client expiry, limits on the request itself.

use crate::support::*;
use axum::http::{header, StatusCode};
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn handshake_reply_matches_salesforce_and_sets_cookies() {
    let sim = Sim::new();
    let mut c = sim.client();
    let a = c
        .post(json!([{"channel": "/meta/handshake", "version": "1.0",
                      "supportedConnectionTypes": ["long-polling"], "id": "1"}]))
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(
        a.headers[header::CONTENT_TYPE],
        "application/json;charset=UTF-8"
    );
    let r = &a.body[0];
    assert_eq!(r["channel"], "/meta/handshake");
    assert_eq!(r["id"], "1");
    assert_eq!(r["successful"], true);
    assert_eq!(r["version"], "1.0");
    assert_eq!(r["minimumVersion"], "1.0");
    assert_eq!(r["reestablish"], false);
    assert_eq!(r["ext"], json!({"replay": true, "payload.format": true}));
    assert_eq!(r["supportedConnectionTypes"], json!(["long-polling"]));
    assert_eq!(r["clientId"].as_str().map(str::len), Some(26));
    let names: Vec<&str> = c.cookies.iter().map(|(k, _)| k.as_str()).collect();
    assert!(
        names.contains(&"BAYEUX_BROWSER") && names.contains(&"sfdc-stream"),
        "{names:?}"
    );
    // Plain HTTP: no Secure flag, or the client would never send the cookie back.
    for v in a.headers.get_all(header::SET_COOKIE) {
        assert!(!v.to_str().unwrap_or_default().contains("Secure"));
    }
}

#[tokio::test]
async fn handshake_without_or_with_a_bad_token_is_denied() {
    let sim = Sim::new();
    let body = r#"[{"channel":"/meta/handshake","version":"1.0","supportedConnectionTypes":["long-polling"],"id":"1"}]"#;
    for (token, reason) in [
        (None, "401::Request requires authentication"),
        (Some("00Dbogus!token"), "401::Authentication invalid"),
    ] {
        let a = sim.cometd(CD, body, token, None).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
        let r = &a.body[0];
        assert_eq!(r["successful"], false);
        assert_eq!(r["error"], "403::Handshake denied");
        assert_eq!(r["ext"]["sfdc"]["failureReason"], reason);
        assert_eq!(r["advice"]["reconnect"], "none");
        assert_eq!(r["id"], "1");
    }
}

#[tokio::test]
async fn connect_with_a_revoked_token_fails_with_reconnect_none() {
    let sim = Sim::new();
    let mut c = Bayeux::ready(&sim, "/data/ChangeEvents", None).await;
    sim.state.sessions.revoke(&sim.token);
    let (events, r) = c.connect().await;
    assert!(events.is_empty());
    assert_eq!(r["error"], "401::Authentication invalid");
    assert_eq!(r["advice"]["reconnect"], "none");
}

#[tokio::test]
async fn first_connect_is_immediate_with_advice_and_later_ones_wait_for_events() {
    let sim = Sim::new();
    let mut c = sim.client();
    c.handshake().await;
    c.subscribe("/data/ChangeEvents", None).await;
    let (events, first) = c.connect().await;
    assert!(events.is_empty());
    assert_eq!(first["successful"], true);
    assert_eq!(
        first["advice"],
        json!({"interval": 0, "timeout": 110000, "reconnect": "retry"})
    );
    assert_eq!(first["clientId"], c.client_id.as_str());

    let held = tokio::spawn(async move {
        let r = c.connect().await;
        (r, c)
    });
    // The connect is parked until something happens.
    tokio::task::yield_now().await;
    assert!(!held.is_finished());
    let id = sim.create("Account", json!({"Name": "Acme"})).await;
    let ((events, reply), _) = tokio::time::timeout(Duration::from_secs(10), held)
        .await
        .expect("connect returns once an event is pending")
        .expect("task");
    assert_eq!(reply["successful"], true);
    assert!(
        reply.get("advice").is_none(),
        "advice only on the first connect"
    );
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["channel"], "/data/ChangeEvents");
    assert_eq!(header(&events[0])["recordIds"], json!([id]));
}

#[tokio::test(start_paused = true)]
async fn an_idle_long_poll_returns_empty_after_110_seconds() {
    let sim = Sim::new();
    let mut c = Bayeux::ready(&sim, "/data/ChangeEvents", None).await;
    let start = tokio::time::Instant::now();
    let (events, reply) = c.connect().await;
    assert!(events.is_empty());
    assert_eq!(reply["successful"], true);
    assert_eq!(start.elapsed(), Duration::from_secs(110));
}

#[tokio::test(start_paused = true)]
async fn a_connect_batched_with_advice_timeout_zero_is_not_held() {
    let sim = Sim::new();
    let mut c = Bayeux::ready(&sim, "/data/ChangeEvents", None).await;
    let start = tokio::time::Instant::now();
    let id = c.id();
    let a = c
        .post(json!([{"channel": "/meta/connect", "clientId": c.client_id,
                      "connectionType": "long-polling", "id": id, "advice": {"timeout": 0}}]))
        .await;
    assert_eq!(a.body[0]["successful"], true);
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[tokio::test]
async fn a_newer_connect_releases_the_held_one() {
    let sim = Sim::new();
    let mut c = Bayeux::ready(&sim, "/data/ChangeEvents", None).await;
    let cookie = c.cookie_header();
    let client_id = c.client_id.clone();
    let held = tokio::spawn(async move { c.connect().await });
    tokio::task::yield_now().await;
    let sim2 = sim.clone();
    let second = tokio::spawn(async move {
        let body = json!([{"channel": "/meta/connect", "clientId": client_id,
                           "connectionType": "long-polling", "id": "99"}]);
        sim2.cometd(CD, &body.to_string(), Some(&sim2.token), cookie.as_deref())
            .await
    });
    let (events, reply) = tokio::time::timeout(Duration::from_secs(10), held)
        .await
        .expect("the first connect is released")
        .expect("task");
    assert!(events.is_empty());
    assert_eq!(reply["successful"], true);
    // The second one is the held one now; an event releases it.
    sim.create("Account", json!({"Name": "Second"})).await;
    let a = tokio::time::timeout(Duration::from_secs(10), second)
        .await
        .expect("second returns")
        .expect("task");
    let (events, reply) = split(a.body);
    assert_eq!(reply["id"], "99");
    assert_eq!(events.len(), 1);
}

#[tokio::test]
async fn unknown_clients_are_told_to_handshake() {
    let sim = Sim::new();
    let mut c = sim.client();
    c.handshake().await;
    c.client_id = "nosuchclient".into();
    let (_, r) = c.connect().await;
    assert_eq!(r["successful"], false);
    assert_eq!(r["error"], "403::Unknown client");
    assert_eq!(
        r["advice"],
        json!({"interval": 0, "reconnect": "handshake"})
    );
    let s = c.subscribe("/data/ChangeEvents", None).await;
    assert_eq!(s["error"], "403::Unknown client");
    assert_eq!(s["subscription"], "/data/ChangeEvents");
}

#[tokio::test(start_paused = true)]
async fn a_client_silent_for_40_seconds_after_a_reply_is_forgotten() {
    let sim = Sim::new();
    let mut c = Bayeux::ready(&sim, "/data/ChangeEvents", None).await;
    tokio::time::advance(Duration::from_secs(39)).await;
    let s = c.subscribe("/data/AccountChangeEvent", None).await;
    assert_eq!(s["successful"], true, "39 s of silence is fine: {s}");
    tokio::time::advance(Duration::from_secs(41)).await;
    let (_, r) = c.connect().await;
    assert_eq!(r["error"], "403::Unknown client");
    assert_eq!(r["advice"]["reconnect"], "handshake");
}

#[tokio::test]
async fn the_browser_cookie_is_required_after_the_handshake() {
    let sim = Sim::new();
    let mut c = sim.client();
    c.handshake().await;
    let saved = c.cookies.clone();
    c.cookies.clear();
    let (_, r) = c.connect().await;
    assert_eq!(
        r["error"],
        format!(
            "400::Client {} has established a session, but no BAYEUX_BROWSER cookie present",
            c.client_id
        )
    );
    c.cookies = saved
        .into_iter()
        .map(|(k, v)| {
            if k == "BAYEUX_BROWSER" {
                (k, "someone-else".into())
            } else {
                (k, v)
            }
        })
        .collect();
    let (_, r) = c.connect().await;
    assert_eq!(r["error"], "403::Unknown client");
}

#[tokio::test]
async fn subscribe_errors_carry_salesforce_texts() {
    let sim = Sim::new();
    let mut c = sim.client();
    c.handshake().await;
    let cases = [
        ("/topic/X", None, "400::The channel you requested to subscribe to does not exist {/topic/X}"),
        ("data/ChangeEvents", None, "400::Channel subscriptions must start with a leading '/'"),
        ("", None, "400::Channel name not specified"),
        // User is not CDC-enabled by default; channel names are case-sensitive.
        ("/data/UserChangeEvent", None, "400::The channel you requested to subscribe to does not exist {/data/UserChangeEvent}"),
        ("/data/accountchangeevent", None, "400::The channel you requested to subscribe to does not exist {/data/accountchangeevent}"),
        ("/event/Nope__e", None, "400::The channel you requested to subscribe to does not exist {/event/Nope__e}"),
        ("/data/ChangeEvents", Some(json!(999)), "400::The replayId {999} you provided was invalid.  Please provide a valid ID, -2 to replay all events, or -1 to replay only new events."),
        ("/data/ChangeEvents", Some(json!(-7)), "400::The replayId {-7} you provided was invalid.  Please provide a valid ID, -2 to replay all events, or -1 to replay only new events."),
    ];
    for (channel, replay, error) in cases {
        let r = c.subscribe(channel, replay).await;
        assert_eq!(r["successful"], false, "{channel}");
        assert_eq!(r["error"], error, "{channel}");
        assert_eq!(r["subscription"], channel);
    }
    for ok in [
        "/data/ChangeEvents",
        "/data/AccountChangeEvent",
        "/event/Order_Event__e",
    ] {
        let r = c.subscribe(ok, Some(json!(-2))).await;
        assert_eq!(r["successful"], true, "{ok}: {r}");
    }
}

#[tokio::test]
async fn a_subscribe_while_a_connect_is_held_delivers_its_replay() {
    let sim = Sim::new();
    let id = sim.create("Account", json!({"Name": "Before"})).await;
    let mut c = Bayeux::ready(&sim, "/event/Order_Event__e", None).await;
    let cookie = c.cookie_header();
    let client_id = c.client_id.clone();
    let held = tokio::spawn(async move { c.connect().await });
    tokio::task::yield_now().await;
    assert!(!held.is_finished());
    let body = json!([{"channel": "/meta/subscribe", "clientId": client_id, "id": "s",
                       "subscription": "/data/ChangeEvents", "ext": {"replay": {"/data/ChangeEvents": -2}}}]);
    let a = sim
        .cometd(CD, &body.to_string(), Some(&sim.token), cookie.as_deref())
        .await;
    assert_eq!(a.body[0]["successful"], true, "{}", a.body);
    let (events, _) = tokio::time::timeout(Duration::from_secs(10), held)
        .await
        .expect("the held connect returns with the replayed event")
        .expect("task");
    assert_eq!(events.len(), 1);
    assert_eq!(header(&events[0])["recordIds"], json!([id]));
}

#[tokio::test]
async fn requests_are_checked_before_any_message() {
    let sim = Sim::new();
    let hs = r#"[{"channel":"/meta/handshake","version":"1.0","id":"1"}]"#;
    let a = sim.cometd("/cometd", hs, Some(&sim.token), None).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        a.body[0]["error"],
        "400::API version in the URI is mandatory. URI format: '/cometd/66.0'"
    );
    assert_eq!(a.body[0]["id"], "1");
    let a = sim.cometd("/cometd/", hs, Some(&sim.token), None).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let a = sim.cometd("/cometd/12.0", hs, Some(&sim.token), None).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.body[0]["error"]
        .as_str()
        .is_some_and(|e| e.starts_with("400::Unsupported API version.")));

    let big = format!(
        r#"[{{"channel":"/meta/handshake","id":"1","pad":"{}"}}]"#,
        "x".repeat(40_000)
    );
    let a = sim.cometd(CD, &big, Some(&sim.token), None).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);

    let a = sim.cometd(CD, "[{", Some(&sim.token), None).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.body[0]["successful"], false);

    // Clients that post each message type to its own path.
    let a = sim
        .cometd(&format!("{CD}/handshake"), hs, Some(&sim.token), None)
        .await;
    assert_eq!(a.body[0]["successful"], true);
}

#[tokio::test]
async fn shutdown_releases_held_connects_at_once() {
    let sim = Sim::new();
    let mut c = Bayeux::ready(&sim, "/data/ChangeEvents", None).await;
    let held = tokio::spawn(async move { c.connect().await });
    tokio::task::yield_now().await;
    sim.state.shutdown.cancel();
    let (events, reply) = tokio::time::timeout(Duration::from_secs(5), held)
        .await
        .expect("released by shutdown")
        .expect("task");
    assert!(events.is_empty());
    assert_eq!(reply["successful"], true);
}

#[tokio::test]
async fn disconnect_forgets_the_client() {
    let sim = Sim::new();
    let mut c = Bayeux::ready(&sim, "/data/ChangeEvents", None).await;
    let id = c.id();
    let a = c
        .post(json!([{"channel": "/meta/disconnect", "clientId": c.client_id, "id": id}]))
        .await;
    assert_eq!(a.body[0]["successful"], true);
    let (_, r) = c.connect().await;
    assert_eq!(r["error"], "403::Unknown client");
}

#[tokio::test]
async fn every_exchange_is_journaled_as_streaming() {
    let sim = Sim::new();
    let mut c = Bayeux::ready(&sim, "/data/ChangeEvents", None).await;
    sim.create("Account", json!({"Name": "J"})).await;
    let (events, _) = c.connect().await;
    assert_eq!(events.len(), 1);
    let entries = sim.state.journal.recent(0, 1000);
    let routes: Vec<&str> = entries
        .iter()
        .filter(|e| e.api == simulator::journal::Api::Streaming)
        .map(|e| e.route.as_str())
        .collect();
    assert_eq!(
        routes,
        [
            "streaming.handshake",
            "streaming.subscribe",
            "streaming.connect",
            "streaming.connect"
        ]
    );
    let sub = entries
        .iter()
        .find(|e| e.route == "streaming.subscribe")
        .expect("subscribe entry");
    assert_eq!(sub.object.as_deref(), Some("/data/ChangeEvents"));
    assert_eq!(sub.user.as_deref(), Some("admin@sfchaos.test"));
    let last = entries
        .iter()
        .rev()
        .find(|e| e.route == "streaming.connect")
        .expect("connect");
    assert_eq!(last.rows, Some(1));
}
