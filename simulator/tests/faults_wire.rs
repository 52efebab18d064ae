//! Outages as a client sees them on the wire: a reset after the request was read, a hang that holds
//! until the client gives up, refused connections that recover when the window ends, and read-only
//! maintenance. Real sockets on 127.0.0.1, scenario time on a paused clock.

mod faults_common;

use faults_common::*;
use serde_json::json;
use std::io::ErrorKind;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

async fn token_over_http(base: &str) -> String {
    let r = client()
        .post(format!("{base}/services/oauth2/token"))
        .form(&[
            ("grant_type", "password"),
            ("client_id", "sfchaos-client"),
            ("client_secret", "sfchaos-secret"),
            ("username", "admin@sfchaos.test"),
            ("password", "sfchaos"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json::<serde_json::Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test(start_paused = true)]
async fn reset_comes_after_the_whole_request_was_read() {
    let state = state(
        1,
        json!([{"kind": "outage", "id": "rst", "mode": "reset", "scope": {"method": "POST", "api": "rest"}}]),
    );
    let running = serve(state.clone()).await;
    let mut s = TcpStream::connect(running.http).await.unwrap();
    let body = br#"{"Name":"Acme reset test, a body long enough to send in two parts"}"#;
    let head = format!(
        "POST {V}/sobjects/Account HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&body[..20]).await.unwrap();
    // Half a body: the server is still reading, the connection stays up.
    let mut buf = [0u8; 1024];
    let early = tokio::time::timeout(Duration::from_secs(1), s.read(&mut buf)).await;
    assert!(
        early.is_err(),
        "nothing happens before the request is complete: {early:?}"
    );
    s.write_all(&body[20..]).await.unwrap();
    let err = s.read(&mut buf).await.expect_err("the read fails");
    assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
    drop(s);
    running.shutdown().await.unwrap();
    let entry = state
        .journal
        .recent(0, 100)
        .into_iter()
        .find(|e| e.method == "POST" && e.path.ends_with("/sobjects/Account"))
        .expect("journaled");
    assert_eq!(entry.status, 0, "never answered");
    assert!(entry.body_hash.is_some(), "the body was read");
    let tag = entry.fault.clone().expect("tagged");
    assert_eq!((tag.rule.as_str(), tag.action.as_str()), ("rst", "reset"));
}

#[tokio::test(start_paused = true)]
async fn hang_holds_until_the_client_gives_up_and_ends_with_the_window() {
    let state = state(
        1,
        json!([{"kind": "outage", "id": "hang", "mode": "hang", "duration": "30s",
        "scope": {"route": "/services/data/*/limits"}}]),
    );
    let running = serve(state.clone()).await;
    let url = format!("{}{V}/limits", running.http_url());
    let started = tokio::time::Instant::now();
    let err = client()
        .get(&url)
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .expect_err("times out");
    assert!(err.is_timeout(), "{err}");
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(2),
        "held until the client's own timeout"
    );

    // A client that waits is answered when the window ends, not before.
    let r = client().get(&url).send().await.unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(state.clock.elapsed(), Duration::from_secs(30));
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body[0]["errorCode"], "SERVER_UNAVAILABLE");
    running.shutdown().await.unwrap();
    let hung: Vec<_> = state
        .journal
        .recent(0, 100)
        .into_iter()
        .filter(|e| e.path.ends_with("/limits"))
        .collect();
    assert_eq!(hung.len(), 2);
    assert_eq!(hung[0].status, 0, "the client gave up");
    assert!(hung
        .iter()
        .all(|e| e.fault.as_ref().is_some_and(|f| f.action == "hang")));
}

#[tokio::test(start_paused = true)]
async fn refuse_closes_the_listener_for_the_window_then_recovers() {
    let state = state(
        1,
        json!([{"kind": "outage", "id": "down", "mode": "refuse", "start": "5s", "duration": "10s"}]),
    );
    let running = serve(state.clone()).await;
    let addr = running.http;
    assert!(
        TcpStream::connect(addr).await.is_ok(),
        "open before the window"
    );
    tokio::time::sleep_until(state.clock.start() + Duration::from_secs(5)).await;
    let refused = retry_until(|| async move { TcpStream::connect(addr).await.is_err() }).await;
    assert!(refused, "refused once the window opens");
    let err = TcpStream::connect(addr).await.expect_err("still refused");
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
    tokio::time::sleep_until(state.clock.start() + Duration::from_millis(14_900)).await;
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "refused until the window ends"
    );
    tokio::time::sleep_until(state.clock.start() + Duration::from_secs(15)).await;
    let back = retry_until(|| async move { TcpStream::connect(addr).await.is_ok() }).await;
    assert!(back, "accepting again after the window");
    let r = client()
        .get(format!("http://{addr}/services/data"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    running.shutdown().await.unwrap();
    let events: Vec<_> = state
        .journal
        .recent(0, 100)
        .into_iter()
        .filter_map(|e| {
            e.fault
                .clone()
                .filter(|f| f.rule == "down")
                .map(|f| (e.t_us, f.action))
        })
        .collect();
    assert_eq!(
        events,
        vec![
            (5_000_000, "listeners closed".to_string()),
            (15_000_000, "listeners reopened".to_string())
        ]
    );
}

/// Polls `check` (the listener is rebound by another task) a bounded number of times, 10 ms of
/// scenario time apart.
async fn retry_until<F, Fut>(check: F) -> bool
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..50 {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

#[tokio::test(start_paused = true)]
async fn read_only_maintenance_serves_reads_and_fails_writes() {
    let state = state(
        1,
        json!([{"kind": "outage", "id": "ro", "mode": "read-only-maintenance", "start": "1s"}]),
    );
    let running = serve(state.clone()).await;
    let base = running.http_url();
    let token = token_over_http(&base).await;
    let c = client();
    let created = c
        .post(format!("{base}{V}/sobjects/Account"))
        .bearer_auth(&token)
        .json(&json!({"Name": "Before maintenance"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let id = created.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    tokio::time::sleep(Duration::from_secs(1)).await;

    let read = c
        .get(format!("{base}{V}/sobjects/Account/{id}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200, "reads still work");
    let query = c
        .get(format!("{base}{V}/query"))
        .query(&[("q", "SELECT Id FROM Account")])
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_ne!(query.status(), 503, "queries are reads");
    assert!(token_over_http(&base).await.len() > 10, "logins still work");

    for (method, path, body) in [
        (
            reqwest::Method::PATCH,
            format!("{V}/sobjects/Account/{id}"),
            json!({"Phone": "1"}),
        ),
        (
            reqwest::Method::POST,
            format!("{V}/sobjects/Account"),
            json!({"Name": "During"}),
        ),
        (
            reqwest::Method::DELETE,
            format!("{V}/sobjects/Account/{id}"),
            json!(null),
        ),
        (
            reqwest::Method::POST,
            format!("{V}/composite"),
            json!({"compositeRequest": [{"method": "PATCH", "url": format!("{V}/sobjects/Account/{id}"), "referenceId": "a", "body": {"Phone": "2"}}]}),
        ),
    ] {
        let r = c
            .request(method.clone(), format!("{base}{path}"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 503, "{method} {path}");
        let b: serde_json::Value = r.json().await.unwrap();
        assert_eq!(
            b[0]["errorCode"],
            "INSERT_UPDATE_DELETE_NOT_ALLOWED_DURING_MAINTENANCE"
        );
        assert_eq!(
            b[0]["message"],
            "Updates can't be made during maintenance. Try again when maintenance is complete."
        );
    }
    // A composite call made only of GETs is a read.
    let gets = json!({"compositeRequest": [{"method": "GET", "url": format!("{V}/sobjects/Account/{id}"), "referenceId": "a"}]});
    let r = c
        .post(format!("{base}{V}/composite"))
        .bearer_auth(&token)
        .json(&gets)
        .send()
        .await
        .unwrap();
    assert_ne!(r.status(), 503, "GET-only composite passes");
    running.shutdown().await.unwrap();
}
