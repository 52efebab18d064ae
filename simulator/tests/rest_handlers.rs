//! Handler tests through `app().oneshot(..)`: malformed input gets Salesforce-shaped errors with the right
//! status — never a panic, a hang or a framework default body.

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use simulator::auth::session::SessionKind;
use simulator::{SimConfig, SimState};
use tower::ServiceExt;

struct App {
    state: SimState,
    token: String,
}

impl App {
    fn new(config: SimConfig) -> App {
        let state = SimState::new(config).unwrap();
        let org = state.default_org();
        let s = state.sessions.create(
            org.num,
            &org.id,
            1,
            "admin@sfchaos.test",
            Some("sfchaos-client".into()),
            SessionKind::OAuth,
            state.clock.elapsed(),
            state.clock.now_ms(),
        );
        App {
            token: s.token.clone(),
            state,
        }
    }

    async fn send(&self, req: Request<Body>) -> (StatusCode, Value, HeaderMap) {
        let resp = simulator::app(self.state.clone())
            .oneshot(req)
            .await
            .unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let v = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        (status, v, headers)
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&str>,
        auth: bool,
    ) -> (StatusCode, Value, HeaderMap) {
        let mut req = Request::builder().method(method).uri(path);
        if auth {
            req = req.header("Authorization", format!("Bearer {}", self.token));
        }
        let req = match body {
            Some(b) => req
                .header("Content-Type", "application/json")
                .header("Content-Length", b.len())
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        }
        .unwrap();
        self.send(req).await
    }
}

fn code(v: &Value) -> &str {
    v[0]["errorCode"].as_str().unwrap_or("")
}

const V: &str = "/services/data/v62.0";

#[tokio::test]
async fn missing_or_bad_auth_is_invalid_session() {
    let a = App::new(SimConfig::default());
    for auth in [false, true] {
        let mut req = Request::get(format!("{V}/sobjects/Account"));
        if auth {
            req = req.header("Authorization", "Bearer not-a-token");
        }
        let (s, v, _) = a.send(req.body(Body::empty()).unwrap()).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert_eq!(
            v,
            json!([{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}])
        );
    }
}

#[tokio::test]
async fn bad_json_is_json_parser_error() {
    let a = App::new(SimConfig::default());
    let url = format!("{V}/sobjects/Account");
    let (s, v, _) = a.call(Method::POST, &url, Some("{\"Name\": }"), true).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(code(&v), "JSON_PARSER_ERROR");
    assert!(v[0]["message"]
        .as_str()
        .unwrap()
        .contains("[line:1, column:"));
    for body in ["[1,2]", "", "\"text\""] {
        let (s, v, _) = a.call(Method::POST, &url, Some(body), true).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::BAD_REQUEST, "JSON_PARSER_ERROR"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_a_salesforce_body() {
    let a = App::new(SimConfig {
        max_json_body: 1024,
        ..SimConfig::default()
    });
    let big = format!("{{\"Name\":\"{}\"}}", "x".repeat(4096));
    let (s, v, _) = a
        .call(
            Method::POST,
            &format!("{V}/sobjects/Account"),
            Some(&big),
            true,
        )
        .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(code(&v), "REQUEST_ENTITY_TOO_LARGE");
}

#[tokio::test]
async fn unknown_routes_objects_and_versions_are_not_found() {
    let a = App::new(SimConfig::default());
    for path in [
        "/nope".to_string(),
        format!("{V}/nope"),
        format!("{V}/sobjects/Nope__c"),
        "/services/data/v99.0/sobjects".to_string(),
    ] {
        let (s, v, _) = a.call(Method::GET, &path, None, true).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::NOT_FOUND, "NOT_FOUND"),
            "{path}: {v}"
        );
    }
    let (s, _, _) = a
        .call(Method::GET, "/services/data/v25.0/sobjects", None, true)
        .await;
    assert_eq!(s, StatusCode::GONE);
}

#[tokio::test]
async fn wrong_methods_list_the_allowed_ones() {
    let a = App::new(SimConfig::default());
    let (s, v, _) = a
        .call(
            Method::PUT,
            &format!("{V}/sobjects/Account/001010000000001AAA"),
            Some("{}"),
            true,
        )
        .await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        v,
        json!([{"message":"HTTP Method 'PUT' not allowed. Allowed are GET,HEAD,PATCH,DELETE","errorCode":"METHOD_NOT_ALLOWED"}])
    );
    let (s, v, _) = a
        .call(
            Method::DELETE,
            &format!("{V}/query?q=SELECT+Id+FROM+Account"),
            None,
            true,
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED")
    );
}

#[tokio::test]
async fn bad_ids_and_external_id_fields() {
    let a = App::new(SimConfig::default());
    // ID-shaped with a wrong checksum, and an id of another object: MALFORMED_ID.
    for id in ["001010000000001ZZ9", "003010000000001AAA"] {
        let (s, v, _) = a
            .call(
                Method::GET,
                &format!("{V}/sobjects/Account/{id}"),
                None,
                true,
            )
            .await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::BAD_REQUEST, "MALFORMED_ID"),
            "{id}: {v}"
        );
    }
    // Well-formed, unknown: 404.
    let (s, v, _) = a
        .call(
            Method::GET,
            &format!("{V}/sobjects/Account/001010000009999AAA"),
            None,
            true,
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "NOT_FOUND"), "{v}");
    // Not ID-shaped: read as an external-id field name.
    let (s, v, _) = a
        .call(
            Method::GET,
            &format!("{V}/sobjects/Account/BAD"),
            None,
            true,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(
        v[0]["message"],
        "Provided external ID field does not exist or is not accessible: BAD"
    );
}

#[tokio::test]
async fn validation_errors_carry_codes_and_fields() {
    let a = App::new(SimConfig::default());
    let url = format!("{V}/sobjects/Account");
    let (s, v, _) = a
        .call(Method::POST, &url, Some(r#"{"Phone":"1"}"#), true)
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::BAD_REQUEST, "REQUIRED_FIELD_MISSING")
    );
    assert_eq!(v[0]["fields"], json!(["Name"]));
    let (_, v, _) = a
        .call(
            Method::POST,
            &url,
            Some(r#"{"Name":"x","Bogus__c":1}"#),
            true,
        )
        .await;
    assert_eq!(
        v[0]["message"],
        "No such column 'Bogus__c' on sobject of type Account"
    );
    let cases = [
        (
            r#"{"Name":"x","CreatedDate":"2024-01-01T00:00:00Z"}"#,
            "INVALID_FIELD_FOR_INSERT_UPDATE",
        ),
        (
            r#"{"Name":"x","Region__c":"Mars"}"#,
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        ),
        (
            r#"{"Name":"x","NumberOfEmployees":"many"}"#,
            "JSON_PARSER_ERROR",
        ),
        (r#"{"Name":"x","ParentId":"not-an-id"}"#, "MALFORMED_ID"),
        (
            r#"{"Name":"x","Credit_Limit__c":1e20}"#,
            "NUMBER_OUTSIDE_VALID_RANGE",
        ),
    ];
    for (body, expect) in cases {
        let (s, v, _) = a.call(Method::POST, &url, Some(body), true).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::BAD_REQUEST, expect),
            "{body}: {v}"
        );
    }
    let long = format!(r#"{{"Name":"{}"}}"#, "n".repeat(300));
    let (_, v, _) = a.call(Method::POST, &url, Some(&long), true).await;
    assert_eq!(code(&v), "STRING_TOO_LONG");
    assert_eq!(v[0]["fields"], json!(["Name"]));
    let (s, v, h) = a
        .call(
            Method::POST,
            &url,
            Some(r#"{"Name":"ok","Credit_Limit__c":1500.5}"#),
            true,
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_str().unwrap();
    assert!(h.get("location").unwrap().to_str().unwrap().ends_with(id));
    assert!(h
        .get("sforce-limit-info")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("api-usage="));
}

#[tokio::test]
async fn conditional_requests_on_accounts() {
    let a = App::new(SimConfig::default());
    let (_, v, _) = a
        .call(
            Method::POST,
            &format!("{V}/sobjects/Account"),
            Some(r#"{"Name":"cond"}"#),
            true,
        )
        .await;
    let id = v["id"].as_str().unwrap().to_string();
    let (s, _, h) = a
        .call(
            Method::GET,
            &format!("{V}/sobjects/Account/{id}"),
            None,
            true,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let etag = h.get("etag").unwrap().to_str().unwrap().to_string();
    let req = Request::get(format!("{V}/sobjects/Account/{id}"))
        .header("Authorization", format!("Bearer {}", a.token))
        .header("If-None-Match", &etag)
        .body(Body::empty())
        .unwrap();
    assert_eq!(a.send(req).await.0, StatusCode::NOT_MODIFIED);
    // PATCH with a stale If-Match → 412; with the current one → 204, after which the old tag is stale.
    for (tag, expect) in [
        ("\"stale-gzip\"", StatusCode::PRECONDITION_FAILED),
        (etag.as_str(), StatusCode::NO_CONTENT),
        (etag.as_str(), StatusCode::PRECONDITION_FAILED),
    ] {
        let req = Request::patch(format!("{V}/sobjects/Account/{id}"))
            .header("Authorization", format!("Bearer {}", a.token))
            .header("If-Match", tag)
            .header("Content-Type", "application/json")
            .body(Body::from(r#"{"Phone":"1"}"#))
            .unwrap();
        assert_eq!(a.send(req).await.0, expect, "If-Match {tag}");
    }
}

#[tokio::test]
async fn trailing_slashes_and_method_override() {
    let a = App::new(SimConfig::default());
    let (s, _, _) = a
        .call(Method::GET, &format!("{V}/sobjects/"), None, true)
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v, _) = a
        .call(
            Method::POST,
            &format!("{V}/sobjects/Account/External_Id__c/OV-1?_HttpMethod=PATCH"),
            Some(r#"{"Name":"over"}"#),
            true,
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["created"], json!(true));
}

#[tokio::test]
async fn the_daily_allocation_is_enforced_and_reported() {
    let a = App::new(SimConfig {
        org: simulator::org::OrgConfig {
            daily_api_requests: 3,
            ..Default::default()
        },
        ..SimConfig::default()
    });
    for i in 1..=3 {
        let (s, _, h) = a
            .call(Method::GET, &format!("{V}/limits"), None, true)
            .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(
            h.get("sforce-limit-info").unwrap(),
            &format!("api-usage={i}/3")
        );
    }
    let (s, v, h) = a
        .call(Method::GET, &format!("{V}/limits"), None, true)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(
        v,
        json!([{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}])
    );
    assert_eq!(h.get("sforce-limit-info").unwrap(), "api-usage=3/3");
}

#[tokio::test]
async fn every_request_is_journaled() {
    let a = App::new(SimConfig::default());
    a.call(
        Method::GET,
        &format!("{V}/sobjects/Account/BAD"),
        None,
        true,
    )
    .await;
    a.call(
        Method::POST,
        &format!("{V}/sobjects/Account"),
        Some(r#"{"Name":"j"}"#),
        true,
    )
    .await;
    let entries = a.state.journal.recent(0, 10);
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].status, 404);
    assert_eq!(entries[0].error_code.as_deref(), Some("NOT_FOUND"));
    assert_eq!(entries[1].route, "sobjects.create");
    assert_eq!(entries[1].object.as_deref(), Some("Account"));
    assert_eq!(entries[1].fields, vec!["Name".to_string()]);
    assert!(entries[1].body_hash.is_some());
    assert_eq!(entries[1].user.as_deref(), Some("admin@sfchaos.test"));
    assert_eq!(entries[1].api_cost, 1);
}

#[tokio::test]
async fn soap_and_oauth_logins_answer_like_salesforce() {
    let a = App::new(SimConfig::default());
    let envelope = |pw: &str| {
        format!(
            r#"<?xml version="1.0" encoding="utf-8" ?><env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/"><env:Body><n1:login xmlns:n1="urn:partner.soap.sforce.com"><n1:username>admin@sfchaos.test</n1:username><n1:password>{pw}</n1:password></n1:login></env:Body></env:Envelope>"#
        )
    };
    let soap = |body: String| {
        Request::post("/services/Soap/u/59.0")
            .header("Content-Type", "text/xml")
            .header("SOAPAction", "login")
            .header("Host", "127.0.0.1:8443")
            .body(Body::from(body))
            .unwrap()
    };
    let resp = simulator::app(a.state.clone())
        .oneshot(soap(envelope("sfchaos")))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let text = String::from_utf8(
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    assert!(text.contains("<serverUrl>http://127.0.0.1:8443/services/Soap/u/59.0/00D"));
    assert!(text.contains("<passwordExpired>false</passwordExpired>"));
    let resp = simulator::app(a.state.clone())
        .oneshot(soap(envelope("wrong")))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let text = String::from_utf8(
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    assert!(text.contains("<sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode>"));
    let resp = simulator::app(a.state.clone())
        .oneshot(soap("<not xml".into()))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);

    let token = |body: &'static str| {
        Request::post("/services/oauth2/token")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap()
    };
    let (s, v, _) = a
        .send(token("grant_type=password&client_id=sfchaos-client&client_secret=sfchaos-secret&username=admin%40sfchaos.test&password=sfchaos"))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(v["id"].as_str().unwrap().contains("/id/00D"));
    assert!(v["issued_at"].is_string());
    let (s, v, _) = a
        .send(token(
            "grant_type=password&client_id=nope&client_secret=x&username=a&password=b",
        ))
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_client_id"))
    );
    let (s, v, _) = a
        .send(token("grant_type=password&client_id=sfchaos-client&client_secret=sfchaos-secret&username=admin%40sfchaos.test&password=bad"))
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let (s, v, _) = a
        .send(token(
            "grant_type=client_credentials&client_id=sfchaos-client&client_secret=sfchaos-secret",
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v, _) = a.send(token("grant_type=magic")).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unsupported_grant_type"))
    );
}

/// A plain record read (`GET …/sobjects/{T}/{id}`) is served without the router; the same read with an
/// empty query string goes through it. Both must answer and journal alike, errors included.
#[tokio::test]
async fn plain_record_reads_answer_as_routed_ones() {
    let a = App::new(SimConfig::default());
    let (_, v, _) = a
        .call(
            Method::POST,
            &format!("{V}/sobjects/Account"),
            Some(r#"{"Name":"plain \"read\"","Phone":"1"}"#),
            true,
        )
        .await;
    let account = v["id"].as_str().unwrap().to_string();
    let (_, v, _) = a
        .call(
            Method::POST,
            &format!("{V}/sobjects/Contact"),
            Some(r#"{"LastName":"Plain"}"#),
            true,
        )
        .await;
    let contact = v["id"].as_str().unwrap().to_string();
    let (_, _, h) = a
        .call(
            Method::GET,
            &format!("{V}/sobjects/Account/{account}"),
            None,
            true,
        )
        .await;
    let etag = h.get("etag").unwrap().to_str().unwrap().to_string();
    let missing = simulator::org::ids::RecordId::new("001", 1, 999_999).to18();
    let cases: Vec<(String, Vec<(&str, String)>)> = vec![
        (format!("{V}/sobjects/Account/{account}"), vec![]),
        (format!("{V}/sobjects/account/{}", &account[..15]), vec![]),
        (format!("{V}/sobjects/Account/{account}/"), vec![]),
        (format!("{V}/sobjects/Contact/{contact}"), vec![]),
        (
            format!("{V}/sobjects/Account/{account}"),
            vec![("If-None-Match", etag.clone())],
        ),
        (
            format!("{V}/sobjects/Account/{account}"),
            vec![("If-Modified-Since", "yesterday".into())],
        ),
        (
            format!("{V}/sobjects/Account/{account}"),
            vec![("If-Modified-Since", "Fri, 01 Jan 2100 00:00:00 GMT".into())],
        ),
        (format!("{V}/sobjects/Account/{missing}"), vec![]),
        (format!("{V}/sobjects/Account/{contact}"), vec![]),
        (format!("{V}/sobjects/Nope/{account}"), vec![]),
        (
            format!("/services/data/v20.0/sobjects/Account/{account}"),
            vec![],
        ),
        (
            format!("/services/data/vX/sobjects/Account/{account}"),
            vec![],
        ),
        (
            format!("/services/data/v062.0/sobjects/Account/{account}"),
            vec![],
        ),
        (
            format!("/services/data/v+62.0/sobjects/Account/{account}"),
            vec![],
        ),
        (
            format!("{V}/sobjects/Account/{account}"),
            vec![("Authorization", "Bearer nope".into())],
        ),
        (
            format!("{V}/sobjects/Account/{account}"),
            vec![("Authorization", "Basic nope".into())],
        ),
    ];
    for (path, headers) in cases {
        let mut answers = vec![];
        for routed in [false, true] {
            let uri = if routed {
                format!("{path}?")
            } else {
                path.clone()
            };
            let mut req = Request::get(uri).header("Host", "127.0.0.1:8080");
            if !headers.iter().any(|(k, _)| *k == "Authorization") {
                req = req.header("Authorization", format!("Bearer {}", a.token));
            }
            for (k, v) in &headers {
                req = req.header(*k, v);
            }
            let resp = simulator::app(a.state.clone())
                .oneshot(req.body(Body::empty()).unwrap())
                .await
                .unwrap();
            let status = resp.status();
            let headers: Vec<(String, String)> = resp
                .headers()
                .iter()
                .map(|(k, v)| {
                    let v = v.to_str().unwrap();
                    let v = if k == "sforce-limit-info" {
                        "api-usage=…"
                    } else {
                        v
                    };
                    (k.to_string(), v.to_string())
                })
                .collect();
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            let mut entry = a.state.journal.recent(0, usize::MAX).pop().unwrap();
            (entry.id, entry.t_us, entry.latency_us) = (0, 0, 0);
            entry.path = entry
                .path
                .trim_end_matches('?')
                .trim_end_matches('/')
                .into();
            entry.api_usage = entry.api_usage.map(|(_, max)| (0, max));
            answers.push((status, headers, body, entry));
        }
        assert_eq!(answers[0], answers[1], "{path} {headers:?}");
    }
}
