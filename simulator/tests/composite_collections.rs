//! sObject Collections: results in input order, failed inserts without `id`, allOrNone rollback,
//! upsert with `created`, retrieve with `null` for missing ids, the 200-record limit, and injected
//! per-item failures.

mod bulk2_support;

use axum::http::{Method, StatusCode};
use bulk2_support::{faults, Sim, TestFaults};
use serde_json::{json, Value as Json};
use simulator::error::ApiError;

const ROLLED_BACK: &str =
    "Record rolled back because not all records were valid and the request was using AllOrNone header";

fn acc(fields: Json) -> Json {
    let mut m = fields;
    m["attributes"] = json!({"type": "Account"});
    m
}

#[tokio::test]
async fn create_reports_each_record_in_order_and_failed_inserts_have_no_id() {
    let sim = Sim::new().await;
    let a = sim
        .post(
            "/composite/sobjects",
            json!({"allOrNone": false, "records": [
                acc(json!({"Name": "A"})),
                acc(json!({"Region__c": "Mars", "Name": "B"})),
                acc(json!({"Name": "C"})),
            ]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    let r = a.json();
    assert_eq!(r[0]["success"], true);
    assert_eq!(r[0]["errors"], json!([]));
    assert_eq!(
        r[1],
        json!({"success": false, "errors": [{"statusCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            "message": "Region: bad value for restricted picklist field: Mars", "fields": ["Region__c"]}]})
    );
    assert_eq!(r[2]["success"], true);
    assert_eq!(sim.count("Account"), 2);
    let outer = sim
        .state
        .journal
        .recent(0, 100)
        .into_iter()
        .find(|e| e.route == "composite.sobjects.create")
        .unwrap();
    assert_eq!(outer.item_failures, 1);
    assert_eq!(outer.ids.len(), 2);
}

#[tokio::test]
async fn all_or_none_rolls_every_record_back() {
    let sim = Sim::new().await;
    let a = sim
        .post(
            "/composite/sobjects",
            json!({"allOrNone": true, "records": [
                acc(json!({"Name": "A"})),
                acc(json!({})),
                acc(json!({"Name": "C"})),
            ]}),
        )
        .await;
    let r = a.json();
    assert_eq!(r[1]["errors"][0]["statusCode"], "REQUIRED_FIELD_MISSING");
    for i in [0, 2] {
        assert_eq!(r[i]["success"], false);
        assert_eq!(
            r[i]["errors"],
            json!([{"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK", "message": ROLLED_BACK, "fields": []}])
        );
    }
    assert_eq!(sim.count("Account"), 0);
    assert_eq!(sim.state.default_org().changes.last_seq(), 0);
}

#[tokio::test]
async fn update_upsert_delete_and_retrieve() {
    let sim = Sim::new().await;
    let a = sim
        .create("Account", json!({"Name": "A", "External_Id__c": "X-1"}))
        .await;
    let b = sim.create("Account", json!({"Name": "B"})).await;

    let up = sim
        .call(
            Method::PATCH,
            "/composite/sobjects",
            Some(json!({"records": [
                {"attributes": {"type": "Account"}, "id": a, "Phone": "555"},
                {"attributes": {"type": "Account"}, "id": "001000000000zzzAAA", "Phone": "1"},
            ]})),
        )
        .await
        .json();
    assert_eq!(up[0], json!({"id": a, "success": true, "errors": []}));
    assert_eq!(up[1]["success"], false);
    assert_eq!(sim.field("Account", &a, "Phone").await, json!("555"));

    let ups = sim
        .call(
            Method::PATCH,
            "/composite/sobjects/Account/External_Id__c",
            Some(json!({"records": [
                acc(json!({"External_Id__c": "X-1", "Name": "A2"})),
                acc(json!({"External_Id__c": "X-2", "Name": "New"})),
                acc(json!({"External_Id__c": "X-3", "Name": "Dup1"})),
                acc(json!({"External_Id__c": "x-3", "Name": "Dup2"})),
            ]})),
        )
        .await
        .json();
    assert_eq!(
        ups[0],
        json!({"id": a, "success": true, "errors": [], "created": false})
    );
    assert_eq!(ups[1]["created"], true);
    assert_eq!(ups[2]["errors"][0]["statusCode"], "DUPLICATE_EXTERNAL_ID");
    assert_eq!(ups[3]["errors"][0]["statusCode"], "DUPLICATE_EXTERNAL_ID");
    assert_eq!(sim.count("Account"), 3);

    let got = sim
        .get(&format!(
            "/composite/sobjects/Account?ids={a},001000000000zzzAAA&fields=Name,Phone"
        ))
        .await
        .json();
    assert_eq!(got[0]["Name"], "A2");
    assert_eq!(got[0]["Phone"], "555");
    assert_eq!(got[0]["attributes"]["type"], "Account");
    assert_eq!(got[1], Json::Null);
    let got = sim
        .post(
            "/composite/sobjects/Account",
            json!({"ids": [b], "fields": ["Name"]}),
        )
        .await
        .json();
    assert_eq!(got[0]["Name"], "B");

    let del = sim
        .call(
            Method::DELETE,
            &format!("/composite/sobjects?ids={a},{b},bogus"),
            None,
        )
        .await
        .json();
    assert_eq!(del[0], json!({"id": a, "success": true, "errors": []}));
    assert_eq!(del[1]["success"], true);
    assert_eq!(del[2]["success"], false);
    assert_eq!(del[2]["errors"][0]["statusCode"], "MALFORMED_ID");
    assert_eq!(sim.count("Account"), 1);
}

#[tokio::test]
async fn delete_all_or_none_keeps_every_record() {
    let sim = Sim::new().await;
    let a = sim.create("Account", json!({"Name": "A"})).await;
    let del = sim
        .call(
            Method::DELETE,
            &format!("/composite/sobjects?ids={a},001000000000zzzAAA&allOrNone=true"),
            None,
        )
        .await
        .json();
    assert_eq!(
        del[0]["errors"][0]["statusCode"],
        "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    );
    assert_eq!(del[0]["id"], json!(a));
    assert_eq!(sim.count("Account"), 1);
}

#[tokio::test]
async fn more_than_200_records_is_refused() {
    let sim = Sim::new().await;
    let records: Vec<Json> = (0..201)
        .map(|i| acc(json!({"Name": format!("N{i}")})))
        .collect();
    let a = sim
        .post("/composite/sobjects", json!({"records": records}))
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        a.json(),
        json!([{"message": "record limit reached. cannot submit more than 200 records into this call",
            "errorCode": "EXCEEDED_ID_LIMIT"}])
    );
    assert_eq!(sim.count("Account"), 0);
}

#[tokio::test]
async fn injected_partial_failures_fail_exactly_the_chosen_records() {
    let sim = Sim::with(
        Default::default(),
        faults(TestFaults {
            fail_indexes: [1, 3].into(),
            error: Some(ApiError::UnableToLockRow(
                "unable to obtain exclusive access to this record or 1 records: 001".into(),
            )),
            ..Default::default()
        }),
    )
    .await;
    let records: Vec<Json> = (0..5)
        .map(|i| acc(json!({"Name": format!("N{i}")})))
        .collect();
    let r = sim
        .post("/composite/sobjects", json!({"records": records}))
        .await
        .json();
    let ok: Vec<bool> = r
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["success"] == true)
        .collect();
    assert_eq!(ok, vec![true, false, true, false, true]);
    assert_eq!(r[1]["errors"][0]["statusCode"], "UNABLE_TO_LOCK_ROW");
    assert!(r[1].get("id").is_none());
    assert_eq!(sim.count("Account"), 3);
}
