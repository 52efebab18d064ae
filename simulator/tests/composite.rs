//! `/composite`, `/composite/batch` and `/composite/tree`: references, allOrNone rollback reporting,
//! limits, per-subrequest journal entries and API accounting.

mod bulk2_support;

use axum::http::{Method, StatusCode};
use bulk2_support::{faults, Sim, TestFaults, V};
use serde_json::{json, Value as Json};
use simulator::error::ApiError;

const ROLLED_BACK: &str =
    "The transaction was rolled back since another operation in the same transaction failed.";

fn sub(method: &str, url: &str, reference: &str, body: Option<Json>) -> Json {
    let mut s = json!({"method": method, "url": format!("{V}{url}"), "referenceId": reference});
    if let Some(b) = body {
        s["body"] = b;
    }
    s
}

#[tokio::test]
async fn later_subrequests_use_earlier_results_and_the_call_costs_one_api_call() {
    let sim = Sim::new().await;
    let before = sim.api_used();
    let a = sim
        .post(
            "/composite",
            json!({"allOrNone": false, "collateSubrequests": true, "compositeRequest": [
                sub("POST", "/sobjects/Account", "refAcc", Some(json!({"Name": "Acme"}))),
                sub("POST", "/sobjects/Contact", "refCon",
                    Some(json!({"LastName": "Smith", "AccountId": "@{refAcc.id}"}))),
                sub("GET", "/sobjects/Account/@{refAcc.id}?fields=Name", "refGet", None),
                sub("PATCH", "/sobjects/Contact/@{refCon.id}", "refUpd",
                    Some(json!({"Title": "Owner of @{refGet.Name}"}))),
            ]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert_eq!(
        sim.api_used() - before,
        1,
        "a composite call counts as one API call"
    );
    let items = a.json()["compositeResponse"].as_array().unwrap().clone();
    let codes: Vec<u64> = items
        .iter()
        .map(|i| i["httpStatusCode"].as_u64().unwrap())
        .collect();
    assert_eq!(codes, vec![201, 201, 200, 204]);
    let acc = items[0]["body"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        items[0]["httpHeaders"]["Location"],
        json!(format!("{V}/sobjects/Account/{acc}"))
    );
    assert_eq!(items[2]["body"]["Name"], "Acme");
    assert_eq!(items[1]["referenceId"], "refCon");
    let con = items[1]["body"]["id"].as_str().unwrap();
    assert_eq!(sim.field("Contact", con, "AccountId").await, json!(acc));
    assert_eq!(
        sim.field("Contact", con, "Title").await,
        json!("Owner of Acme")
    );
}

#[tokio::test]
async fn all_or_none_with_one_bad_subrequest_leaves_the_org_unchanged_and_halts_the_rest() {
    let sim = Sim::new().await;
    let existing = sim.create("Account", json!({"Name": "Before"})).await;
    let a = sim
        .post(
            "/composite",
            json!({"allOrNone": true, "compositeRequest": [
                sub("POST", "/sobjects/Account", "refAcc", Some(json!({"Name": "Acme"}))),
                sub("PATCH", &format!("/sobjects/Account/{existing}"), "refUpd", Some(json!({"Name": "After"}))),
                sub("POST", "/sobjects/Contact", "refBad", Some(json!({"AccountId": "@{refAcc.id}"}))),
                sub("GET", "/sobjects/Account/@{refAcc.id}", "refGet", None),
            ]}),
        )
        .await;
    assert_eq!(
        a.status,
        StatusCode::OK,
        "composite answers 200 even when everything rolled back"
    );
    let items = a.json()["compositeResponse"].as_array().unwrap().clone();
    let halted = json!([{"errorCode": "PROCESSING_HALTED", "message": ROLLED_BACK}]);
    for i in [0, 1, 3] {
        assert_eq!(items[i]["httpStatusCode"], 400, "item {i}");
        assert_eq!(items[i]["body"], halted, "item {i}");
    }
    assert_eq!(items[2]["httpStatusCode"], 400);
    assert_eq!(
        items[2]["body"],
        json!([{"message": "Required fields are missing: [LastName]", "errorCode": "REQUIRED_FIELD_MISSING", "fields": ["LastName"]}])
    );
    assert_eq!(
        sim.count("Account"),
        1,
        "the created Account was rolled back"
    );
    assert_eq!(sim.count("Contact"), 0);
    assert_eq!(
        sim.field("Account", &existing, "Name").await,
        json!("Before")
    );
    // The org's change log saw no write from the rolled-back call.
    assert_eq!(sim.state.default_org().changes.last_seq(), 1);
    assert_eq!(sim.state.default_org().locks.locked_count(), 0);
}

#[tokio::test]
async fn without_all_or_none_only_dependents_of_a_failure_are_halted() {
    let sim = Sim::new().await;
    let a = sim
        .post(
            "/composite",
            json!({"compositeRequest": [
                sub("POST", "/sobjects/Account", "refAcc", Some(json!({"Region__c": "Mars"}))),
                sub("POST", "/sobjects/Contact", "refCon", Some(json!({"LastName": "S", "AccountId": "@{refAcc.id}"}))),
                sub("POST", "/sobjects/Account", "refOk", Some(json!({"Name": "Independent"}))),
            ]}),
        )
        .await;
    let items = a.json()["compositeResponse"].as_array().unwrap().clone();
    assert_eq!(items[0]["httpStatusCode"], 400);
    assert_eq!(items[1]["httpStatusCode"], 400);
    assert_eq!(items[1]["body"][0]["errorCode"], "PROCESSING_HALTED");
    assert!(items[1]["body"][0]["message"]
        .as_str()
        .unwrap()
        .starts_with("Invalid reference specified. No value for refAcc.id found in refAcc."));
    assert_eq!(items[2]["httpStatusCode"], 201);
    assert_eq!(sim.count("Account"), 1);
    assert_eq!(sim.count("Contact"), 0);
}

#[tokio::test]
async fn each_subrequest_is_journaled_under_the_outer_request() {
    let sim = Sim::new().await;
    let a = sim
        .post(
            "/composite",
            json!({"allOrNone": true, "compositeRequest": [
                sub("POST", "/sobjects/Account", "a1", Some(json!({"Name": "A"}))),
                sub("POST", "/sobjects/Account", "a2", Some(json!({}))),
            ]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    let entries = sim.state.journal.recent(0, 1000);
    let outer = entries
        .iter()
        .find(|e| e.route == "composite")
        .expect("outer entry");
    assert_eq!(outer.item_failures, 2);
    assert_eq!(outer.api_cost, 1);
    let subs: Vec<_> = entries
        .iter()
        .filter(|e| e.parent == Some(outer.id))
        .collect();
    assert_eq!(subs.len(), 2);
    assert_eq!(subs[0].error_code.as_deref(), Some("PROCESSING_HALTED"));
    assert_eq!(
        subs[1].error_code.as_deref(),
        Some("REQUIRED_FIELD_MISSING")
    );
    assert!(subs
        .iter()
        .all(|e| e.status == 400 && e.api_cost == 0 && e.method == "POST"));
}

#[tokio::test]
async fn malformed_composite_calls_are_refused_whole() {
    let sim = Sim::new().await;
    let many: Vec<Json> = (0..26)
        .map(|i| {
            sub(
                "GET",
                "/sobjects/Account/001000000000001",
                &format!("r{i}"),
                None,
            )
        })
        .collect();
    let a = sim
        .post("/composite", json!({"compositeRequest": many}))
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let queries: Vec<Json> = (0..6)
        .map(|i| {
            sub(
                "GET",
                "/query?q=SELECT+Id+FROM+Account",
                &format!("q{i}"),
                None,
            )
        })
        .collect();
    let a = sim
        .post("/composite", json!({"compositeRequest": queries}))
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let a = sim
        .post(
            "/composite",
            json!({"compositeRequest": [sub("GET", "/sobjects/Account/x", "bad-ref", None)]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.text().contains("must start with a letter or a number"));
}

#[tokio::test]
async fn an_injected_item_failure_halts_an_all_or_none_composite() {
    let sim = Sim::with(
        Default::default(),
        faults(TestFaults {
            fail_indexes: [1].into(),
            error: Some(ApiError::custom(500, "UNKNOWN_EXCEPTION", "injected")),
            ..Default::default()
        }),
    )
    .await;
    let a = sim
        .post(
            "/composite",
            json!({"allOrNone": true, "compositeRequest": [
                sub("POST", "/sobjects/Account", "a1", Some(json!({"Name": "A"}))),
                sub("POST", "/sobjects/Account", "a2", Some(json!({"Name": "B"}))),
            ]}),
        )
        .await;
    let items = a.json()["compositeResponse"].as_array().unwrap().clone();
    assert_eq!(items[1]["httpStatusCode"], 500);
    assert_eq!(items[1]["body"][0]["errorCode"], "UNKNOWN_EXCEPTION");
    assert_eq!(items[0]["body"][0]["errorCode"], "PROCESSING_HALTED");
    assert_eq!(sim.count("Account"), 0);
}

#[tokio::test]
async fn batch_runs_each_item_alone_and_charges_each() {
    let sim = Sim::new().await;
    let id = sim.create("Account", json!({"Name": "Old"})).await;
    let before = sim.api_used();
    let a = sim
        .post(
            "/composite/batch",
            json!({"batchRequests": [
                {"method": "PATCH", "url": format!("v62.0/sobjects/account/{id}"), "richInput": {"Name": "New"}},
                {"method": "GET", "url": format!("v62.0/sobjects/account/{id}?fields=Name")},
                {"method": "POST", "url": "v62.0/sobjects/Account", "richInput": {}},
            ]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(sim.api_used() - before, 3, "each batch subrequest counts");
    assert_eq!(
        a.header("sforce-limit-info").unwrap(),
        format!("api-usage={}/115000", sim.api_used())
    );
    let body = a.json();
    assert_eq!(body["hasErrors"], true);
    assert_eq!(
        body["results"][0],
        json!({"statusCode": 204, "result": null})
    );
    assert_eq!(body["results"][1]["statusCode"], 200);
    assert_eq!(body["results"][1]["result"]["Name"], "New");
    assert_eq!(body["results"][2]["statusCode"], 400);
    let outer = sim
        .state
        .journal
        .recent(0, 1000)
        .into_iter()
        .find(|e| e.route == "composite.batch")
        .unwrap();
    assert_eq!(outer.api_cost, 3);
}

#[tokio::test]
async fn batch_halts_after_an_error_when_asked() {
    let sim = Sim::new().await;
    let a = sim
        .post(
            "/composite/batch",
            json!({"haltOnError": true, "batchRequests": [
                {"method": "POST", "url": "v62.0/sobjects/Account", "richInput": {"Name": "A"}},
                {"method": "GET", "url": "v62.0/sobjects/Account/001000000000000AAA"},
                {"method": "POST", "url": "v62.0/sobjects/Account", "richInput": {"Name": "C"}},
            ]}),
        )
        .await;
    let body = a.json();
    assert_eq!(body["results"][0]["statusCode"], 201);
    assert_eq!(body["results"][1]["statusCode"], 404);
    assert_eq!(body["results"][2]["statusCode"], 412);
    assert_eq!(
        body["results"][2]["result"][0]["errorCode"],
        "BATCH_PROCESSING_HALTED"
    );
    assert_eq!(
        sim.count("Account"),
        1,
        "the first item committed on its own"
    );
}

#[tokio::test]
async fn tree_inserts_parents_and_children_all_or_nothing() {
    let sim = Sim::new().await;
    let tree = |email: &str| {
        json!({"records": [{
            "attributes": {"type": "Account", "referenceId": "ref1"},
            "Name": "Tree Co",
            "Contacts": {"records": [
                {"attributes": {"type": "Contact", "referenceId": "ref2"}, "LastName": "One"},
                {"attributes": {"type": "Contact", "referenceId": "ref3"}, "LastName": "Two", "Email": email},
            ]}
        }]})
    };
    let bad = sim.post("/composite/tree/Account", tree("123")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        bad.json(),
        json!({"hasErrors": true, "results": [{"referenceId": "ref3", "errors": [
            {"statusCode": "INVALID_EMAIL_ADDRESS", "message": "Email: invalid email address: 123", "fields": ["Email"]}
        ]}]})
    );
    assert_eq!((sim.count("Account"), sim.count("Contact")), (0, 0));

    let ok = sim
        .post("/composite/tree/Account", tree("two@example.com"))
        .await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.text());
    let body = ok.json();
    assert_eq!(body["hasErrors"], false);
    let refs: Vec<&str> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["referenceId"].as_str().unwrap())
        .collect();
    assert_eq!(refs, vec!["ref1", "ref2", "ref3"]);
    let acc = body["results"][0]["id"].as_str().unwrap();
    let con = body["results"][2]["id"].as_str().unwrap();
    assert_eq!(sim.field("Contact", con, "AccountId").await, json!(acc));
}

#[tokio::test]
async fn wrong_methods_answer_405() {
    let sim = Sim::new().await;
    let a = sim.call(Method::GET, "/composite", None).await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
}

/// The SOQL engine lands from its own branch; without it query subrequests cannot run.
fn soql_available() -> bool {
    let data = simulator::org::store::OrgData::new(simulator::org::standard::default_schema(), 1);
    let ok = simulator::org::soql::compile(&data, "SELECT Id FROM Account").is_ok();
    if !ok {
        eprintln!("SKIPPED: the SOQL engine is not in this build");
    }
    ok
}

#[tokio::test]
async fn a_query_result_feeds_a_later_subrequest() {
    if !soql_available() {
        return;
    }
    let sim = Sim::new().await;
    let id = sim
        .create("Account", json!({"Name": "Q", "External_Id__c": "Q-1"}))
        .await;
    let a = sim
        .post(
            "/composite",
            json!({"compositeRequest": [
                sub("GET", "/query?q=SELECT+Id,+Name+FROM+Account+WHERE+External_Id__c+%3D+%27Q-1%27", "refQ", None),
                sub("PATCH", "/sobjects/Account/@{refQ.records[0].Id}", "refUpd",
                    Some(json!({"Description": "found as @{refQ.records[0].Name}"}))),
            ]}),
        )
        .await;
    let items = a.json()["compositeResponse"].as_array().unwrap().clone();
    assert_eq!(items[0]["httpStatusCode"], 200, "{}", a.text());
    assert_eq!(items[0]["body"]["totalSize"], 1);
    assert_eq!(items[1]["httpStatusCode"], 204, "{}", a.text());
    assert_eq!(
        sim.field("Account", &id, "Description").await,
        json!("found as Q")
    );
}
