//! The Salesforce client against small axum stubs on 127.0.0.1:0 that answer with the bodies of
//! salesforce-api.md: logins, error bodies, limit headers, query paging, Bulk 2.0 locators, CometD
//! re-handshake with replay, transport failures.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use loadgen::sf::{
    parse_failed_results, CometdEvent, CompositeRequest, CompositeSubrequest, Conditional,
    CsvTable, LimitInfo, Preconditions, ReplayFrom, Retryability, Session, SfClient, SfConfig,
    SfError, StreamingClient,
};
use parking_lot::Mutex;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

const V: &str = "/services/data/v62.0";
const LIMIT_HEADER: &str =
    "api-usage=18/5000; per-app-api-usage=17/250(appName=sample-connected-app)";

async fn serve(app: Router) -> String {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

fn config(base: &str) -> SfConfig {
    SfConfig::new(base)
        .with_credentials("admin@sfchaos.test", "sfchaos")
        .with_client("sfchaos-client", "sfchaos-secret")
        .with_api_version("v62.0")
        .with_client_name("sf-client-test")
}

fn logged_in(base: &str) -> SfClient {
    SfClient::with_session(config(base), Session::new("00Dtoken", base)).expect("client")
}

fn json_reply(status: u16, body: Value) -> Response {
    let status = StatusCode::from_u16(status).expect("status");
    (
        status,
        [
            ("content-type", "application/json;charset=UTF-8"),
            ("sforce-limit-info", LIMIT_HEADER),
        ],
        body.to_string(),
    )
        .into_response()
}

// ---------------------------------------------------------------------------------------------
// Login
// ---------------------------------------------------------------------------------------------

/// Login forms the token stub received.
type Forms = Arc<Mutex<Vec<HashMap<String, String>>>>;

#[tokio::test]
async fn oauth_password_login_parses_the_token_response() {
    let seen: Forms = Arc::default();
    let app = Router::new()
        .route(
            "/services/oauth2/token",
            post(|State(seen): State<Forms>, headers: HeaderMap, body: String| async move {
                let form: HashMap<String, String> = serde_urlencoded::from_str(&body).expect("form body");
                assert_eq!(
                    headers.get("content-type").and_then(|v| v.to_str().ok()),
                    Some("application/x-www-form-urlencoded")
                );
                let host = headers.get("host").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
                let grant = form.get("grant_type").cloned().unwrap_or_default();
                seen.lock().push(form);
                let mut body = json!({
                    "access_token": format!("00D5e000000abcd!AQ0AQ-{grant}"),
                    "signature": "0Cmx6EQ=",
                    "scope": "api refresh_token",
                    "instance_url": format!("http://{host}"),
                    "id": "https://login.salesforce.com/id/00D5e000000abcdEAA/0055e000001xyzAAA",
                    "token_type": "Bearer",
                    "issued_at": "1699999999999"
                });
                if grant == "password" {
                    body["refresh_token"] = json!("5Aep8-refresh");
                }
                json_reply(200, body)
            }),
        )
        .route(
            &format!("{V}/limits"),
            get(|headers: HeaderMap| async move {
                let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default();
                assert_eq!(auth, "Bearer 00D5e000000abcd!AQ0AQ-password");
                json_reply(200, json!({"DailyApiRequests": {"Max": 5000, "Remaining": 4982}}))
            }),
        )
        .with_state(seen.clone());
    let base = serve(app).await;
    let client = SfClient::new(config(&base)).expect("client");

    let session = client.login().await.expect("password login");
    assert_eq!(session.access_token, "00D5e000000abcd!AQ0AQ-password");
    assert_eq!(session.instance_url, base);
    assert_eq!(session.org_id.as_deref(), Some("00D5e000000abcdEAA"));
    assert_eq!(session.user_id.as_deref(), Some("0055e000001xyzAAA"));
    assert_eq!(session.refresh_token.as_deref(), Some("5Aep8-refresh"));
    assert_eq!(session.issued_at.as_deref(), Some("1699999999999"));
    {
        let forms = seen.lock();
        let form = &forms[0];
        assert_eq!(form["grant_type"], "password");
        assert_eq!(form["username"], "admin@sfchaos.test");
        assert_eq!(form["password"], "sfchaos");
        assert_eq!(form["client_id"], "sfchaos-client");
        assert_eq!(form["client_secret"], "sfchaos-secret");
    }

    // The new token is used as the bearer token.
    let raw = client.limits().await.expect("limits");
    assert_eq!(raw["DailyApiRequests"].max, 5000);

    // Re-login after a 401 is explicit and prefers the refresh token.
    let again = client.reauthenticate().await.expect("refresh");
    assert_eq!(again.access_token, "00D5e000000abcd!AQ0AQ-refresh_token");
    assert_eq!(
        again.refresh_token.as_deref(),
        Some("5Aep8-refresh"),
        "refresh token kept"
    );
    assert_eq!(seen.lock()[1]["refresh_token"], "5Aep8-refresh");

    // Client credentials.
    let cc = client
        .login_client_credentials()
        .await
        .expect("client credentials");
    assert_eq!(cc.access_token, "00D5e000000abcd!AQ0AQ-client_credentials");
    assert!(!seen.lock()[2].contains_key("username"));
    assert_eq!(client.http_calls(), 4);
}

#[tokio::test]
async fn bearer_token_and_call_options_are_sent() {
    let app = Router::new().route(
        &format!("{V}/limits"),
        get(|headers: HeaderMap| async move {
            let h = |n: &str| {
                headers
                    .get(n)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string()
            };
            assert_eq!(h("authorization"), "Bearer 00Dtoken");
            assert_eq!(h("sforce-call-options"), "client=sf-client-test");
            json_reply(
                200,
                json!({"DailyApiRequests": {"Max": 5000, "Remaining": 4982}}),
            )
        }),
    );
    let base = serve(app).await;
    let limits = logged_in(&base).limits().await.expect("limits");
    assert_eq!(limits["DailyApiRequests"].remaining, 4982);
}

#[tokio::test]
async fn oauth_error_body_becomes_an_auth_error() {
    let app = Router::new().route(
        "/services/oauth2/token",
        post(|| async {
            json_reply(
                400,
                json!({"error": "invalid_grant", "error_description": "authentication failure"}),
            )
        }),
    );
    let base = serve(app).await;
    let err = SfClient::new(config(&base))
        .expect("client")
        .login_password()
        .await
        .expect_err("refused");
    assert_eq!(
        err,
        SfError::Auth {
            status: 400,
            code: "invalid_grant".into(),
            message: "authentication failure".into()
        }
    );
    assert_eq!(err.retryability(), Retryability::NotRetryable);
}

const SOAP_OK: &str = r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:partner.soap.sforce.com"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><loginResponse><result>
 <metadataServerUrl>https://HOST/services/Soap/m/62.0/00D000000000001</metadataServerUrl><passwordExpired>false</passwordExpired>
 <sandbox>false</sandbox><serverUrl>https://HOST/services/Soap/u/62.0/00D000000000001</serverUrl><sessionId>00D000000000001!AQsession</sessionId>
 <userId>005000000000001AAA</userId><userInfo><organizationId>00D000000000001EAA</organizationId><userName>admin@sfchaos.test</userName></userInfo>
</result></loginResponse></soapenv:Body></soapenv:Envelope>"#;

const SOAP_FAULT: &str = r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:sf="urn:fault.partner.soap.sforce.com"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault><faultcode>sf:INVALID_LOGIN</faultcode>
 <faultstring>INVALID_LOGIN: Invalid username, password, security token; or user locked out.</faultstring>
 <detail><sf:LoginFault xsi:type="sf:LoginFault"><sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode>
 <sf:exceptionMessage>Invalid username, password, security token; or user locked out.</sf:exceptionMessage>
 </sf:LoginFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"#;

#[tokio::test]
async fn soap_login_parses_session_and_server_url() {
    let app = Router::new().route(
        "/services/Soap/u/62.0",
        post(|headers: HeaderMap, body: String| async move {
            let host = headers
                .get("host")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            assert_eq!(
                headers.get("soapaction").and_then(|v| v.to_str().ok()),
                Some("login")
            );
            assert!(headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|c| c.starts_with("text/xml")));
            let fault = !body.contains("<urn:password>sfchaos</urn:password>");
            let (status, xml) = if fault {
                (500, SOAP_FAULT.to_string())
            } else {
                assert!(body.contains("<urn:username>admin@sfchaos.test</urn:username>"));
                (
                    200,
                    SOAP_OK.replace("https://HOST", &format!("http://{host}")),
                )
            };
            (
                StatusCode::from_u16(status).expect("status"),
                [("content-type", "text/xml;charset=UTF-8")],
                xml,
            )
        }),
    );
    let base = serve(app).await;
    let client = SfClient::new(config(&base)).expect("client");
    let s = client.login_soap().await.expect("soap login");
    assert_eq!(s.access_token, "00D000000000001!AQsession");
    assert_eq!(
        s.instance_url, base,
        "instance = scheme://host:port of serverUrl"
    );
    assert_eq!(s.user_id.as_deref(), Some("005000000000001AAA"));
    assert_eq!(s.org_id.as_deref(), Some("00D000000000001EAA"));
    assert_eq!(
        client.session().map(|s| s.access_token),
        Some("00D000000000001!AQsession".to_string())
    );

    let bad = SfClient::new(config(&base).with_credentials("admin@sfchaos.test", "wrong"))
        .expect("client");
    let err = bad.login_soap().await.expect_err("fault");
    assert_eq!(err.error_code(), Some("INVALID_LOGIN"));
    assert_eq!(err.status(), Some(500));
    assert_eq!(
        err.message(),
        "Invalid username, password, security token; or user locked out."
    );
    assert!(matches!(err, SfError::Auth { .. }));
    assert_eq!(
        err.retryability(),
        Retryability::NotRetryable,
        "a 500 login fault is not an outage"
    );
}

// ---------------------------------------------------------------------------------------------
// Errors and limit info
// ---------------------------------------------------------------------------------------------

async fn error_route(Path(kind): Path<String>) -> Response {
    match kind.as_str() {
        "required" => json_reply(
            400,
            json!([{"message": "Required fields are missing: [Name]", "errorCode": "REQUIRED_FIELD_MISSING", "fields": ["Name"]}]),
        ),
        "session" => json_reply(
            401,
            json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]),
        ),
        "daily" => json_reply(
            403,
            json!([{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]),
        ),
        "concurrent" => json_reply(
            403,
            json!([{"message": "ConcurrentPerOrgLongTxn Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]),
        ),
        "lock" => json_reply(
            400,
            json!([{"message": "unable to obtain exclusive access to this record or 1 records: 001000000000001AAA", "errorCode": "UNABLE_TO_LOCK_ROW", "fields": []}]),
        ),
        "deleted" => json_reply(
            404,
            json!([{"message": "entity is deleted", "errorCode": "ENTITY_IS_DELETED", "fields": []}]),
        ),
        "unavailable" => json_reply(
            503,
            json!([{"message": "Server unavailable", "errorCode": "SERVER_UNAVAILABLE"}]),
        ),
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            [("content-type", "text/html")],
            "<html><body>Down for maintenance</body></html>",
        )
            .into_response(),
    }
}

#[tokio::test]
async fn error_bodies_parse_into_api_errors_with_the_right_retryability() {
    let app = Router::new().route(&format!("{V}/sobjects/Account/{{kind}}"), get(error_route));
    let base = serve(app).await;
    let client = logged_in(&base);
    let fetch = |kind: &'static str| {
        let client = client.clone();
        async move {
            client
                .get("Account", kind, &[])
                .await
                .expect_err("error route")
        }
    };

    let err = fetch("required").await;
    assert_eq!(
        err,
        SfError::Api {
            status: 400,
            error_code: "REQUIRED_FIELD_MISSING".into(),
            message: "Required fields are missing: [Name]".into(),
            fields: vec!["Name".into()],
        }
    );
    assert_eq!(err.retryability(), Retryability::NotRetryable);

    let cases = [
        (
            "session",
            401,
            "INVALID_SESSION_ID",
            Retryability::RetryableAfterReauth,
        ),
        (
            "daily",
            403,
            "REQUEST_LIMIT_EXCEEDED",
            Retryability::LimitExhausted,
        ),
        (
            "concurrent",
            403,
            "REQUEST_LIMIT_EXCEEDED",
            Retryability::Retryable,
        ),
        ("lock", 400, "UNABLE_TO_LOCK_ROW", Retryability::Retryable),
        (
            "deleted",
            404,
            "ENTITY_IS_DELETED",
            Retryability::NotRetryable,
        ),
        (
            "unavailable",
            503,
            "SERVER_UNAVAILABLE",
            Retryability::Retryable,
        ),
        ("html", 503, "ERROR_HTTP_503", Retryability::Retryable),
    ];
    for (kind, status, code, class) in cases {
        let err = fetch(kind).await;
        assert_eq!(err.status(), Some(status), "{kind}");
        assert_eq!(err.error_code(), Some(code), "{kind}");
        assert_eq!(err.retryability(), class, "{kind}");
    }
    assert!(fetch("session").await.is_invalid_session());
    assert_eq!(client.http_calls(), 9);
}

#[tokio::test]
async fn limit_info_is_read_from_every_response() {
    let app = Router::new().route(&format!("{V}/sobjects/Account/{{kind}}"), get(error_route));
    let base = serve(app).await;
    let client = logged_in(&base);
    assert_eq!(client.limit_info(), None);
    let _ = client.get("Account", "lock", &[]).await;
    let info = client
        .limit_info()
        .expect("limit info from an error response");
    assert_eq!((info.used, info.max, info.remaining()), (18, 5000, 4982));
    let app = info.per_app.expect("per-app usage");
    assert_eq!(
        (app.app.as_str(), app.used, app.max),
        ("sample-connected-app", 17, 250)
    );
}

#[test]
fn limit_info_parsing_edge_cases() {
    let plain = LimitInfo::parse("api-usage=5000/5000").expect("parses");
    assert!(plain.exhausted());
    assert_eq!(plain.per_app, None);
    assert_eq!(
        LimitInfo::parse("per-app-api-usage=1/2(appName=x)"),
        None,
        "no org usage"
    );
    assert_eq!(LimitInfo::parse("api-usage=abc/5000"), None);
    assert_eq!(LimitInfo::parse(""), None);
}

// ---------------------------------------------------------------------------------------------
// Records, upsert, conditional requests
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn records_upsert_and_conditional_requests() {
    let app = Router::new()
        .route(
            &format!("{V}/sobjects/Account"),
            post(|Json(body): Json<Value>| async move {
                assert_eq!(body["Name"], "Acme");
                json_reply(201, json!({"id": "001000000000001AAA", "success": true, "errors": []}))
            }),
        )
        .route(
            &format!("{V}/sobjects/Account/{{id}}"),
            get(|headers: HeaderMap, Query(q): Query<HashMap<String, String>>| async move {
                if headers.get("if-none-match").is_some() {
                    return StatusCode::NOT_MODIFIED.into_response();
                }
                assert_eq!(q.get("fields").map(String::as_str), Some("Name,Phone"));
                let mut r = json_reply(
                    200,
                    json!({"attributes": {"type": "Account", "url": format!("{V}/sobjects/Account/001000000000001AAA")},
                           "Id": "001000000000001AAA", "Name": "Acme", "Phone": null,
                           "LastModifiedDate": "2024-01-15T10:30:00.000+0000"}),
                );
                r.headers_mut().insert("etag", "\"U5iWijwWbQD18jeiXwsqxeGpZQk=-gzip\"".parse().expect("header"));
                r
            })
            .patch(|headers: HeaderMap| async move {
                match headers.get("if-match").and_then(|v| v.to_str().ok()) {
                    Some("\"U5iWijwWbQD18jeiXwsqxeGpZQk=-gzip\"") => StatusCode::NO_CONTENT.into_response(),
                    Some(_) => json_reply(412, json!([{"errorCode": "PRECONDITION_FAILED", "message": "The requested resource has been modified."}])),
                    None => {
                        let since = headers.get("if-unmodified-since").and_then(|v| v.to_str().ok()).unwrap_or_default();
                        assert_eq!(since, "Mon, 15 Jan 2024 10:30:00 GMT");
                        StatusCode::NO_CONTENT.into_response()
                    }
                }
            })
            .delete(|| async { StatusCode::NO_CONTENT }),
        )
        .route(
            &format!("{V}/sobjects/Account/External_Id__c/{{value}}"),
            patch(|Path(value): Path<String>| async move {
                if value == "A 1/2" {
                    json_reply(201, json!({"id": "001000000000002AAA", "success": true, "errors": [], "created": true}))
                } else {
                    json_reply(200, json!({"id": "001000000000003AAA", "success": true, "errors": [], "created": false}))
                }
            }),
        );
    let base = serve(app).await;
    let c = logged_in(&base);

    let created = c
        .create("Account", &json!({"Name": "Acme"}))
        .await
        .expect("create");
    assert_eq!(created.id.as_deref(), Some("001000000000001AAA"));
    assert!(created.success);

    let rec = c
        .get("Account", "001000000000001AAA", &["Name", "Phone"])
        .await
        .expect("get");
    assert_eq!(rec.id(), Some("001000000000001AAA"));
    assert_eq!(
        rec.etag.as_deref(),
        Some("\"U5iWijwWbQD18jeiXwsqxeGpZQk=-gzip\"")
    );
    assert_eq!(rec.get("Phone"), Some(&Value::Null));
    let lmd = rec.last_modified_date().expect("LastModifiedDate parses");
    assert_eq!(lmd.to_rfc3339(), "2024-01-15T10:30:00+00:00");

    let pre = Preconditions::unchanged_since_read(&rec);
    assert_eq!(pre.if_match, rec.etag);
    c.update_if(
        "Account",
        "001000000000001AAA",
        &json!({"Phone": "1"}),
        &pre,
    )
    .await
    .expect("matching etag");
    let stale = Preconditions::if_match("\"old\"");
    let err = c
        .update_if(
            "Account",
            "001000000000001AAA",
            &json!({"Phone": "1"}),
            &stale,
        )
        .await
        .expect_err("412");
    assert_eq!(err.status(), Some(412));
    c.update_if(
        "Account",
        "001000000000001AAA",
        &json!({}),
        &Preconditions::if_unmodified_since(lmd),
    )
    .await
    .expect("if-unmodified-since");

    let pre = Preconditions {
        if_none_match: rec.etag.clone(),
        ..Preconditions::default()
    };
    let cond = c
        .get_if("Account", "001000000000001AAA", &[], &pre)
        .await
        .expect("304");
    assert_eq!(cond, Conditional::NotModified);

    // External id values are path-encoded; the created flag follows the reply.
    let up = c
        .upsert("Account", "External_Id__c", "A 1/2", &json!({"Name": "X"}))
        .await
        .expect("upsert");
    assert!(up.created);
    let up = c
        .upsert("Account", "External_Id__c", "A-2", &json!({"Name": "X"}))
        .await
        .expect("upsert");
    assert!(!up.created);
    assert_eq!(up.id, "001000000000003AAA");

    c.delete("Account", "001000000000001AAA")
        .await
        .expect("delete");
    assert_eq!(c.http_calls(), 9);
}

// ---------------------------------------------------------------------------------------------
// Query paging
// ---------------------------------------------------------------------------------------------

fn rows(from: u32, to: u32) -> Vec<Value> {
    (from..to)
        .map(|i| json!({"attributes": {"type": "Account"}, "Id": format!("001{i:015}"), "Name": format!("A{i}")}))
        .collect()
}

#[tokio::test]
async fn query_all_follows_next_records_url() {
    let app = Router::new()
        .route(
            &format!("{V}/query"),
            get(|Query(q): Query<HashMap<String, String>>| async move {
                assert_eq!(q.get("q").map(String::as_str), Some("SELECT Id, Name FROM Account"));
                json_reply(
                    200,
                    json!({"totalSize": 5, "done": false, "nextRecordsUrl": format!("{V}/query/01gRO0000016PIAYA2-2"), "records": rows(0, 2)}),
                )
            }),
        )
        .route(
            &format!("{V}/query/{{locator}}"),
            get(|Path(locator): Path<String>| async move {
                match locator.as_str() {
                    "01gRO0000016PIAYA2-2" => json_reply(
                        200,
                        json!({"totalSize": 5, "done": false, "nextRecordsUrl": format!("{V}/query/01gRO0000016PIAYA2-4"), "records": rows(2, 4)}),
                    ),
                    "01gRO0000016PIAYA2-4" => json_reply(200, json!({"totalSize": 5, "done": true, "records": rows(4, 5)})),
                    _ => json_reply(400, json!([{"errorCode": "INVALID_QUERY_LOCATOR", "message": "invalid query locator"}])),
                }
            }),
        );
    let base = serve(app).await;
    let c = logged_in(&base);
    let first = c
        .query("SELECT Id, Name FROM Account")
        .await
        .expect("query");
    assert!(!first.done);
    assert_eq!(first.total_size, 5);

    let all = c
        .query_all("SELECT Id, Name FROM Account")
        .await
        .expect("query_all");
    let names: Vec<&str> = all.iter().filter_map(|r| r["Name"].as_str()).collect();
    assert_eq!(names, ["A0", "A1", "A2", "A3", "A4"]);
    assert_eq!(c.http_calls(), 1 + 3, "one call per page");
}

// ---------------------------------------------------------------------------------------------
// Composite and collections
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn composite_and_collections_return_per_item_results() {
    let app = Router::new()
        .route(
            &format!("{V}/composite"),
            post(|Json(body): Json<Value>| async move {
                assert_eq!(body["allOrNone"], true);
                assert_eq!(body["compositeRequest"][0]["referenceId"], "refAcc");
                json_reply(200, json!({"compositeResponse": [
                    {"body": [{"errorCode": "REQUIRED_FIELD_MISSING", "message": "Required fields are missing: [Name]", "fields": ["Name"]}],
                     "httpHeaders": {}, "httpStatusCode": 400, "referenceId": "refAcc"},
                    {"body": [{"errorCode": "PROCESSING_HALTED", "message": "The transaction was rolled back since another operation in the same transaction failed."}],
                     "httpHeaders": {}, "httpStatusCode": 400, "referenceId": "get1"}]}))
            }),
        )
        .route(
            &format!("{V}/composite/sobjects"),
            post(|Json(body): Json<Value>| async move {
                assert_eq!(body["records"][0]["attributes"]["type"], "Account");
                json_reply(200, json!([
                    {"id": "001000000000001AAA", "success": true, "errors": []},
                    {"success": false, "errors": [{"statusCode": "UNABLE_TO_LOCK_ROW", "message": "unable to obtain exclusive access to this record", "fields": []}]}
                ]))
            }),
        );
    let base = serve(app).await;
    let c = logged_in(&base);

    let req = CompositeRequest {
        all_or_none: true,
        collate_subrequests: false,
        composite_request: vec![
            CompositeSubrequest::new("POST", format!("{V}/sobjects/Account"), "refAcc")
                .with_body(json!({})),
            CompositeSubrequest::new(
                "GET",
                format!("{V}/sobjects/Account/@{{refAcc.id}}"),
                "get1",
            ),
        ],
    };
    let out = c.composite(&req).await.expect("composite");
    assert_eq!(out.len(), 2);
    assert!(!out[0].is_success());
    assert_eq!(out[0].errors()[0].error_code, "REQUIRED_FIELD_MISSING");
    assert_eq!(out[1].errors()[0].error_code, "PROCESSING_HALTED");

    let results = c
        .collections_create(
            "Account",
            &[json!({"Name": "A"}), json!({"Name": "B"})],
            false,
        )
        .await
        .expect("collections");
    assert!(results[0].success);
    assert_eq!(results[1].errors[0].error_code, "UNABLE_TO_LOCK_ROW");
    assert_eq!(
        results[1].errors[0].retryability(400),
        Retryability::Retryable
    );

    // More than 200 records is refused before any request is made.
    let calls = c.http_calls();
    let many = vec![json!({"Name": "x"}); 201];
    let err = c
        .collections_create("Account", &many, false)
        .await
        .expect_err("too many");
    assert!(matches!(err, SfError::InvalidRequest(_)));
    assert_eq!(c.http_calls(), calls);
}

// ---------------------------------------------------------------------------------------------
// Bulk API 2.0
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct BulkSeen {
    locators: Vec<Option<String>>,
    max_records: Vec<Option<String>>,
    uploaded: Option<(String, String)>,
}

#[tokio::test]
async fn bulk2_query_results_follow_the_locator_until_null() {
    let seen = Arc::new(Mutex::new(BulkSeen::default()));
    let app = Router::new()
        .route(
            &format!("{V}/jobs/query/{{id}}/results"),
            get(
                |State(seen): State<Arc<Mutex<BulkSeen>>>,
                 headers: HeaderMap,
                 Query(q): Query<HashMap<String, String>>| async move {
                    assert_eq!(
                        headers.get("accept").and_then(|v| v.to_str().ok()),
                        Some("text/csv")
                    );
                    let locator = q.get("locator").cloned();
                    seen.lock().locators.push(locator.clone());
                    seen.lock().max_records.push(q.get("maxRecords").cloned());
                    let (csv, next) = match locator.as_deref() {
                        None => (
                            "\"Id\",\"Name\"\n\"001A\",\"a\"\n\"001B\",\"b\"\n",
                            "MTAwMDA",
                        ),
                        Some("MTAwMDA") => (
                            "\"Id\",\"Name\"\n\"001C\",\"c\"\n\"001D\",\"d\"\n",
                            "MjAwMDA",
                        ),
                        _ => ("\"Id\",\"Name\"\n\"001E\",\"e\"\n", "null"),
                    };
                    let count = csv.lines().count() - 1;
                    (
                        [
                            ("content-type", "text/csv".to_string()),
                            ("sforce-locator", next.to_string()),
                            ("sforce-numberofrecords", count.to_string()),
                        ],
                        csv,
                    )
                },
            ),
        )
        .with_state(seen.clone());
    let base = serve(app).await;
    let c = logged_in(&base);

    let pages = c
        .query_results_all("750000000000001AAA", Some(2))
        .await
        .expect("pages");
    assert_eq!(pages.len(), 3);
    assert_eq!(pages[0].next_locator.as_deref(), Some("MTAwMDA"));
    assert_eq!(
        pages[2].next_locator, None,
        "the string `null` ends the loop"
    );
    assert_eq!(pages[1].number_of_records, Some(2));
    let seen = seen.lock();
    assert_eq!(
        seen.locators,
        vec![None, Some("MTAwMDA".into()), Some("MjAwMDA".into())]
    );
    assert!(seen.max_records.iter().all(|m| m.as_deref() == Some("2")));

    let table = CsvTable::parse_pages(&pages).expect("csv");
    assert_eq!(table.headers, ["Id", "Name"]);
    assert_eq!(table.len(), 5);
    assert_eq!(table.value(4, "Name"), Some("e"));
    assert_eq!(c.http_calls(), 3);
}

#[tokio::test]
async fn bulk2_ingest_job_lifecycle_and_failed_results() {
    let seen = Arc::new(Mutex::new(BulkSeen::default()));
    let job = |state: &str| {
        json!({"id": "7505fEXAMPLE4C2AAM", "operation": "upsert", "object": "Account", "state": state,
               "externalIdFieldName": "External_Id__c", "contentUrl": "services/data/v62.0/jobs/ingest/7505fEXAMPLE4C2AAM/batches",
               "apiVersion": 62.0, "numberRecordsProcessed": 2, "numberRecordsFailed": 1, "jobType": "V2Ingest"})
    };
    let app = Router::new()
        .route(
            &format!("{V}/jobs/ingest"),
            post(move |Json(body): Json<Value>| async move {
                assert_eq!(body["operation"], "upsert");
                assert_eq!(body["externalIdFieldName"], "External_Id__c");
                assert_eq!(body["contentType"], "CSV");
                json_reply(200, job("Open"))
            }),
        )
        .route(
            &format!("{V}/jobs/ingest/{{id}}/batches"),
            axum::routing::put(|State(seen): State<Arc<Mutex<BulkSeen>>>, headers: HeaderMap, body: Bytes| async move {
                let ct = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
                seen.lock().uploaded = Some((ct, String::from_utf8_lossy(&body).into_owned()));
                StatusCode::CREATED
            }),
        )
        .route(
            &format!("{V}/jobs/ingest/{{id}}"),
            patch(move |Json(body): Json<Value>| async move {
                let state = body["state"].as_str().unwrap_or_default().to_string();
                json_reply(200, job(&state))
            })
            .get(move || async move { json_reply(200, job("JobComplete")) })
            .delete(|| async { StatusCode::NO_CONTENT }),
        )
        .route(
            &format!("{V}/jobs/ingest/{{id}}/failedResults"),
            get(|| async {
                (
                    [("content-type", "text/csv")],
                    "\"sf__Id\",\"sf__Error\",\"External_Id__c\",\"Name\"\n\"\",\"REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --\",\"A-2\",\"\"\n",
                )
            }),
        )
        .with_state(seen.clone());
    let base = serve(app).await;
    let c = logged_in(&base);

    let info = c
        .create_ingest_job(&loadgen::sf::IngestJob::upsert("Account", "External_Id__c"))
        .await
        .expect("create job");
    assert_eq!(info.state, loadgen::sf::JobState::Open);
    let csv = CsvTable {
        headers: vec!["External_Id__c".into(), "Name".into()],
        rows: vec![
            vec!["A-1".into(), "Acme".into()],
            vec!["A-2".into(), String::new()],
        ],
    }
    .to_csv()
    .expect("csv");
    c.upload_job_data(&info.id, csv.clone())
        .await
        .expect("upload");
    assert_eq!(seen.lock().uploaded, Some(("text/csv".to_string(), csv)));
    let closed = c.close_ingest_job(&info.id).await.expect("close");
    assert_eq!(closed.state, loadgen::sf::JobState::UploadComplete);
    let done = c
        .wait_for_ingest_job(&info.id, Duration::from_millis(10), Duration::from_secs(5))
        .await
        .expect("poll");
    assert_eq!(done.number_records_failed, Some(1));
    let failed = c
        .ingest_results(&info.id, loadgen::sf::IngestResultSet::Failed)
        .await
        .expect("failed results");
    let failed = parse_failed_results(&failed).expect("parse");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].error.error_code, "REQUIRED_FIELD_MISSING");
    assert_eq!(failed[0].error.fields, ["Name"]);
    assert_eq!(failed[0].row["External_Id__c"], "A-2");
    c.delete_ingest_job(&info.id).await.expect("delete");
    assert_eq!(c.http_calls(), 6);
}

// ---------------------------------------------------------------------------------------------
// CometD
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct CometdStub {
    handshakes: u32,
    connects: HashMap<String, u32>,
    /// (clientId, ext.replay) of every subscribe.
    subscribes: Vec<(String, Value)>,
    /// Requests after the first handshake that arrived without the session cookie.
    missing_cookie: u32,
    disconnects: u32,
}

fn event(replay_id: i64) -> Value {
    json!({"channel": "/data/ChangeEvents", "data": {"schema": "IeRuaY6cbI_HsV8Rv1Mc5g",
        "payload": {"ChangeEventHeader": {"entityName": "Account", "changeType": "UPDATE", "recordIds": ["001000000000001AAA"]},
                    "Name": format!("v{replay_id}")},
        "event": {"replayId": replay_id}}})
}

async fn cometd_handler(
    State(stub): State<Arc<Mutex<CometdStub>>>,
    headers: HeaderMap,
    Json(msgs): Json<Vec<Value>>,
) -> Response {
    let has_cookie = headers
        .get("cookie")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.contains("BAYEUX_BROWSER=b1") && c.contains("sfdc-stream=s1"));
    let mut out = Vec::new();
    let mut hold = false;
    for m in msgs {
        let channel = m["channel"].as_str().unwrap_or_default().to_string();
        let id = m["id"].clone();
        let client = m["clientId"].as_str().unwrap_or_default().to_string();
        let mut s = stub.lock();
        if channel != "/meta/handshake" && !has_cookie {
            s.missing_cookie += 1;
        }
        let current = format!("client-{}", s.handshakes);
        match channel.as_str() {
            "/meta/handshake" => {
                s.handshakes += 1;
                out.push(json!({"ext": {"replay": true, "payload.format": true}, "minimumVersion": "1.0",
                    "clientId": format!("client-{}", s.handshakes), "supportedConnectionTypes": ["long-polling"],
                    "channel": "/meta/handshake", "id": id, "version": "1.0", "successful": true, "reestablish": false}));
            }
            "/meta/subscribe" => {
                s.subscribes.push((client.clone(), m["ext"]["replay"].clone()));
                out.push(json!({"clientId": client, "channel": "/meta/subscribe", "id": id,
                    "subscription": m["subscription"], "successful": true}));
            }
            "/meta/connect" if client != current => {
                out.push(json!({"clientId": client, "channel": "/meta/connect", "id": id, "successful": false,
                    "error": "403::Unknown client", "advice": {"reconnect": "handshake", "interval": 0}}));
            }
            "/meta/connect" => {
                let n = {
                    let c = s.connects.entry(client.clone()).or_default();
                    *c += 1;
                    *c
                };
                let ok = json!({"clientId": client, "channel": "/meta/connect", "id": id, "successful": true,
                    "advice": {"interval": 0, "timeout": 110000, "reconnect": "retry"}});
                match (client.as_str(), n) {
                    // First client: two events, then the server "restarts" and forgets it.
                    ("client-1", 1) => {
                        out.push(event(10));
                        out.push(event(11));
                        out.push(ok);
                    }
                    ("client-1", _) => {
                        out.push(json!({"clientId": client, "channel": "/meta/connect", "id": id, "successful": false,
                            "error": "403::Unknown client", "advice": {"reconnect": "handshake", "interval": 0}}));
                    }
                    // Second client: deliver what was retained after the replayId it asked for, and
                    // (like a sloppy server) re-send 11 too; the client must not deliver it twice.
                    (_, 1) => {
                        let from = s.subscribes.last().and_then(|(_, r)| r["/data/ChangeEvents"].as_i64()).unwrap_or(-1);
                        for rid in [11, 12, 13] {
                            if rid > from || rid == 11 {
                                out.push(event(rid));
                            }
                        }
                        out.push(ok);
                    }
                    _ => {
                        hold = true;
                        out.push(ok);
                    }
                }
            }
            "/meta/disconnect" => {
                s.disconnects += 1;
                out.push(json!({"channel": "/meta/disconnect", "id": id, "successful": true}));
            }
            _ => out.push(json!({"channel": channel, "id": id, "successful": false, "error": "400::bad channel"})),
        }
    }
    if hold {
        // A quiet long-poll.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut resp = Json(Value::Array(out)).into_response();
    let h = resp.headers_mut();
    h.append(
        "set-cookie",
        "BAYEUX_BROWSER=b1; Path=/; HttpOnly"
            .parse()
            .expect("cookie"),
    );
    h.append(
        "set-cookie",
        "sfdc-stream=s1; Path=/".parse().expect("cookie"),
    );
    resp
}

#[tokio::test]
async fn cometd_rehandshakes_on_unknown_client_and_resumes_from_the_last_replay_id() {
    let stub = Arc::new(Mutex::new(CometdStub::default()));
    let app = Router::new()
        .route("/cometd/62.0", post(cometd_handler))
        .with_state(stub.clone());
    let base = serve(app).await;
    let client = logged_in(&base);

    let mut streaming = StreamingClient::new(client.clone());
    streaming.handshake().await.expect("handshake");
    assert_eq!(streaming.client_id(), Some("client-1"));
    streaming
        .subscribe("/data/ChangeEvents", ReplayFrom::New)
        .await
        .expect("subscribe");

    let (tx, mut rx) = mpsc::channel::<CometdEvent>(16);
    let task = tokio::spawn(async move {
        let result = streaming.run(tx).await;
        (result, streaming)
    });
    let mut got = Vec::new();
    while got.len() < 4 {
        let ev = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("event in time")
            .expect("channel open");
        got.push(ev);
    }
    drop(rx);
    let (result, streaming) = tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("run stops once the receiver is gone")
        .expect("task");
    result.expect("clean stop");

    let ids: Vec<Option<i64>> = got.iter().map(|e| e.replay_id).collect();
    assert_eq!(
        ids,
        [Some(10), Some(11), Some(12), Some(13)],
        "nothing lost, nothing twice"
    );
    assert_eq!(got[0].channel, "/data/ChangeEvents");
    assert_eq!(got[2].payload["Name"], "v12");
    assert_eq!(got[2].payload["ChangeEventHeader"]["changeType"], "UPDATE");
    assert_eq!(streaming.handshakes(), 2);
    assert_eq!(streaming.last_replay_id("/data/ChangeEvents"), Some(13));

    let s = stub.lock();
    assert_eq!(s.subscribes.len(), 2);
    assert_eq!(
        s.subscribes[0],
        ("client-1".to_string(), json!({"/data/ChangeEvents": -1}))
    );
    assert_eq!(
        s.subscribes[1],
        ("client-2".to_string(), json!({"/data/ChangeEvents": 11})),
        "re-subscribed from the last replayId received"
    );
    assert_eq!(s.missing_cookie, 0, "session cookies are sent back");
    assert_eq!(s.disconnects, 1);
}

#[tokio::test]
async fn cometd_handshake_denied_is_an_auth_class_error() {
    let app = Router::new().route(
        "/cometd/62.0",
        post(|Json(msgs): Json<Vec<Value>>| async move {
            let id = msgs[0]["id"].clone();
            Json(json!([{"channel": "/meta/handshake", "id": id, "successful": false, "error": "403::Handshake denied",
                "ext": {"sfdc": {"failureReason": "401::Authentication invalid"}}, "advice": {"reconnect": "none"}}]))
        }),
    );
    let base = serve(app).await;
    let mut streaming = StreamingClient::new(logged_in(&base));
    let err = streaming.handshake().await.expect_err("denied");
    assert_eq!(err.status(), Some(401));
    assert_eq!(err.retryability(), Retryability::RetryableAfterReauth);
}

// ---------------------------------------------------------------------------------------------
// Transport failures
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn connection_refused_is_a_connect_error() {
    // Bind, note the port, close: nothing listens there any more.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let c = logged_in(&format!("http://{addr}"));
    let err = c.limits().await.expect_err("refused");
    assert!(err.is_connect(), "{err:?}");
    assert!(!err.is_timeout());
    assert_eq!(err.retryability(), Retryability::Retryable);
    assert_eq!(
        c.http_calls(),
        1,
        "a refused call still counts as an attempt"
    );
}

#[tokio::test]
async fn a_hung_server_is_a_timeout() {
    let app = Router::new().route(
        &format!("{V}/limits"),
        get(|| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            json_reply(200, json!({}))
        }),
    );
    let base = serve(app).await;
    let c = SfClient::with_session(
        config(&base).with_timeout(Duration::from_millis(200)),
        Session::new("t", &base),
    )
    .expect("client");
    let err = c.limits().await.expect_err("timeout");
    assert!(err.is_timeout(), "{err:?}");
    assert!(!err.is_connect());
    assert_eq!(err.retryability(), Retryability::Retryable);
}

#[tokio::test]
async fn a_dropped_connection_is_a_reset() {
    use tokio::io::AsyncReadExt;
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = sock.read(&mut buf).await;
            drop(sock); // close without answering
        }
    });
    let c = logged_in(&format!("http://{addr}"));
    let err = c.limits().await.expect_err("reset");
    assert!(err.is_reset(), "{err:?}");
    assert!(!err.is_timeout() && !err.is_connect());
    assert_eq!(err.retryability(), Retryability::Retryable);
}

#[tokio::test]
async fn calls_without_a_session_are_refused_locally() {
    let c = SfClient::new(config("http://127.0.0.1:9")).expect("client");
    let err = c.limits().await.expect_err("no session");
    assert!(matches!(err, SfError::InvalidRequest(_)));
    assert_eq!(c.http_calls(), 0);
}

#[test]
fn config_normalises_version_and_urls() {
    let c = SfConfig::new("https://127.0.0.1:8443/").with_api_version("v59.0");
    assert_eq!(c.login_url, "https://127.0.0.1:8443");
    assert_eq!(c.api_version, "59.0");
    let client = SfClient::new(c).expect("client");
    assert_eq!(
        client.data_path("sobjects/Account"),
        "/services/data/v59.0/sobjects/Account"
    );
}

// ---------------------------------------------------------------------------------------------
// TLS with the simulator's CA
// ---------------------------------------------------------------------------------------------

/// Serve `app` over TLS with a fresh CA and a leaf for 127.0.0.1; return the base URL and the CA PEM.
async fn serve_tls(app: Router) -> (String, String) {
    use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

    let ca_key = rcgen::KeyPair::generate().expect("ca key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).expect("ca cert");
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let leaf_key = rcgen::KeyPair::generate().expect("leaf key");
    let leaf =
        rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .expect("leaf params")
            .signed_by(&leaf_key, &issuer)
            .expect("leaf cert");

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocols")
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
        )
        .expect("server config");
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));

    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, app) = (acceptor.clone(), app.clone());
            tokio::spawn(async move {
                let Ok(stream) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper_util::service::TowerToHyperService::new(app);
                let _ = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                )
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
            });
        }
    });
    (format!("https://{addr}"), ca_cert.pem())
}

#[tokio::test]
async fn tls_works_with_the_configured_ca_file_only() {
    let app = Router::new().route(
        &format!("{V}/limits"),
        get(|| async {
            json_reply(
                200,
                json!({"DailyApiRequests": {"Max": 5000, "Remaining": 4982}}),
            )
        }),
    );
    let (base, ca_pem) = serve_tls(app).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let ca_path = dir.path().join("ca.pem");
    std::fs::write(&ca_path, ca_pem).expect("write CA");

    let trusted = SfClient::with_session(
        config(&base).with_ca_file(&ca_path),
        Session::new("t", &base),
    )
    .expect("client");
    let limits = trusted
        .limits()
        .await
        .expect("TLS call with the CA trusted");
    assert_eq!(limits["DailyApiRequests"].max, 5000);

    let untrusted = logged_in(&base);
    let err = untrusted.limits().await.expect_err("unknown issuer");
    assert!(err.is_connect(), "{err:?}");

    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate").expect("write");
    let err = SfClient::new(config(&base).with_ca_file(&garbage)).expect_err("no certificate");
    assert!(matches!(err, SfError::InvalidRequest(_)));
}

#[tokio::test]
async fn cometd_http_level_session_error_asks_for_reauthentication() {
    let app = Router::new().route(
        "/cometd/62.0",
        post(|| async {
            json_reply(401, json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]))
        }),
    );
    let base = serve(app).await;
    let mut streaming = StreamingClient::new(logged_in(&base));
    let err = streaming.handshake().await.expect_err("401");
    assert_eq!(err.error_code(), Some("INVALID_SESSION_ID"));
    assert_eq!(err.retryability(), Retryability::RetryableAfterReauth);
}
