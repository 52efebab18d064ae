//! Bulk API 2.0 ingest jobs end to end (in process, paused clock): the job info shape, the state
//! machine, partial failures with exact counts and result files, upsert/update/delete/hardDelete,
//! dialects, whole-job failures, the upload limit, job listing, and fault hooks.

mod bulk2_support;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use bulk2_support::{csv_rows, faults, Sim, TestFaults};
use serde_json::json;
use simulator::error::ApiError;
use simulator::faults::plan::BulkSlowdownFault;
use simulator::SimConfig;
use std::time::Duration;

fn insert(object: &str) -> serde_json::Value {
    json!({"object": object, "operation": "insert", "contentType": "CSV", "lineEnding": "LF"})
}

#[tokio::test(start_paused = true)]
async fn job_info_has_salesforces_shape() {
    let sim = Sim::new().await;
    let a = sim
        .post(
            "/jobs/ingest",
            json!({"object": "account", "operation": "upsert", "externalIdFieldName": "external_id__c",
                   "contentType": "CSV", "lineEnding": "CRLF", "columnDelimiter": "PIPE"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    let raw = a.text();
    assert!(
        raw.contains("\"apiVersion\":62.0"),
        "apiVersion is a number: {raw}"
    );
    let info = a.json();
    let id = info["id"].as_str().unwrap();
    assert!(id.starts_with("750") && id.len() == 18);
    assert_eq!(info["state"], "Open");
    assert_eq!(info["object"], "Account");
    assert_eq!(info["operation"], "upsert");
    assert_eq!(info["externalIdFieldName"], "External_Id__c");
    assert_eq!(info["concurrencyMode"], "Parallel");
    assert_eq!(
        info["contentUrl"],
        format!("services/data/v62.0/jobs/ingest/{id}/batches")
    );
    assert_eq!(info["lineEnding"], "CRLF");
    assert_eq!(info["columnDelimiter"], "PIPE");
    assert!(info["createdDate"].as_str().unwrap().ends_with("+0000"));
    let full = sim.get(&format!("/jobs/ingest/{id}")).await.json();
    for k in [
        "jobType",
        "numberRecordsProcessed",
        "numberRecordsFailed",
        "retries",
        "totalProcessingTime",
        "apiActiveProcessingTime",
        "apexProcessingTime",
        "errorMessage",
    ] {
        assert!(full.get(k).is_some(), "{k} missing from {full}");
    }
    assert_eq!(full["jobType"], "V2Ingest");

    for bad in [
        json!({"object": "Nope", "operation": "insert"}),
        json!({"object": "Account", "operation": "merge"}),
        json!({"object": "Account", "operation": "upsert"}),
        json!({"object": "Account", "operation": "upsert", "externalIdFieldName": "Phone"}),
        json!({"object": "Account", "operation": "insert", "columnDelimiter": "COLON"}),
    ] {
        let a = sim.post("/jobs/ingest", bad.clone()).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(a.json()[0]["errorCode"], "INVALIDJOB");
    }
}

#[tokio::test(start_paused = true)]
async fn an_insert_with_invalid_rows_reports_exactly_those_rows() {
    let sim = Sim::new().await;
    let before = sim.api_used();
    let csv = "Name,Region__c,NumberOfEmployees\nAcme,EMEA,10\n,AMER,5\nGlobex,Mars,1\n\"Quote, Inc\",,#N/A\nInitech,APAC,lots\n";
    let id = sim.ingest(insert("Account"), csv).await;
    let info = sim.wait("ingest", &id).await;
    assert_eq!(info["state"], "JobComplete");
    assert_eq!(info["numberRecordsProcessed"], 5);
    assert_eq!(info["numberRecordsFailed"], 3);
    assert_eq!(sim.count("Account"), 2);

    let failed = sim.get(&format!("/jobs/ingest/{id}/failedResults")).await;
    assert_eq!(failed.header("content-type").as_deref(), Some("text/csv"));
    let rows = csv_rows(&failed.text());
    assert_eq!(
        rows[0],
        vec![
            "sf__Id",
            "sf__Error",
            "Name",
            "Region__c",
            "NumberOfEmployees"
        ]
    );
    assert_eq!(rows.len(), 4);
    assert_eq!(
        rows[1],
        vec![
            "",
            "REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --",
            "",
            "AMER",
            "5"
        ]
    );
    assert!(rows[2][1].starts_with("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST:"));
    assert_eq!(rows[2][2], "Globex");
    assert!(
        rows[3][1].starts_with("JSON_PARSER_ERROR:"),
        "{:?}",
        rows[3]
    );
    assert!(failed
        .text()
        .starts_with("\"sf__Id\",\"sf__Error\",\"Name\""));

    let ok = csv_rows(
        &sim.get(&format!("/jobs/ingest/{id}/successfulResults"))
            .await
            .text(),
    );
    assert_eq!(
        ok[0],
        vec![
            "sf__Id",
            "sf__Created",
            "Name",
            "Region__c",
            "NumberOfEmployees"
        ]
    );
    assert_eq!(ok.len(), 3);
    assert_eq!(ok[1][1], "true");
    assert_eq!(ok[2][2], "Quote, Inc");
    assert_eq!(sim.field("Account", &ok[1][0], "Name").await, json!("Acme"));
    assert_eq!(
        sim.field("Account", &ok[2][0], "NumberOfEmployees").await,
        json!(null)
    );

    let un = sim
        .get(&format!("/jobs/ingest/{id}/unprocessedRecords"))
        .await;
    assert_eq!(un.status, StatusCode::OK);
    assert_eq!(
        csv_rows(&un.text()),
        vec![vec!["Name", "Region__c", "NumberOfEmployees"]]
    );

    // Every bulk call (create, PUT, PATCH, polls, results) costs exactly one API call.
    let entries = sim.state.journal.recent(0, 1000);
    let bulk: Vec<_> = entries
        .iter()
        .filter(|e| e.job.as_deref() == Some(id.as_str()) && e.method != "PROCESS")
        .collect();
    assert!(bulk.len() >= 7);
    assert!(bulk.iter().all(|e| e.api_cost == 1));
    let charged: u64 = entries.iter().map(|e| e.api_cost as u64).sum();
    assert_eq!(
        sim.api_used() - before,
        charged,
        "the journal accounts for every call charged"
    );
    let process = sim
        .state
        .journal
        .recent(0, 1000)
        .into_iter()
        .find(|e| e.route == "bulk2.ingest.process")
        .expect("processing is journaled");
    assert_eq!(
        (process.rows, process.item_failures, process.api_cost),
        (Some(5), 3, 0)
    );
}

#[tokio::test(start_paused = true)]
async fn upsert_update_delete_and_hard_delete() {
    let sim = Sim::new().await;
    let existing = sim
        .create("Account", json!({"Name": "Old", "External_Id__c": "E-1"}))
        .await;
    let id = sim
        .ingest(
            json!({"object": "Account", "operation": "upsert", "externalIdFieldName": "External_Id__c"}),
            "External_Id__c,Name,Phone\nE-1,Renamed,\nE-2,Fresh,555\nE-3,Twin A,\nE-3,Twin B,\n,NoKey,\n",
        )
        .await;
    let info = sim.wait("ingest", &id).await;
    assert_eq!(
        (
            info["numberRecordsProcessed"].as_u64(),
            info["numberRecordsFailed"].as_u64()
        ),
        (Some(5), Some(3))
    );
    let ok = csv_rows(
        &sim.get(&format!("/jobs/ingest/{id}/successfulResults"))
            .await
            .text(),
    );
    assert_eq!(ok[1][0], existing);
    assert_eq!(ok[1][1], "false");
    assert_eq!(ok[2][1], "true");
    let failed = csv_rows(
        &sim.get(&format!("/jobs/ingest/{id}/failedResults"))
            .await
            .text(),
    );
    assert!(
        failed[1][1].starts_with("DUPLICATE_EXTERNAL_ID:"),
        "{failed:?}"
    );
    assert!(failed[3][1].starts_with("MISSING_ARGUMENT:"), "{failed:?}");
    assert_eq!(
        sim.field("Account", &existing, "Name").await,
        json!("Renamed")
    );
    assert_eq!(sim.count("Account"), 2);

    let fresh = ok[2][0].clone();
    let id = sim
        .ingest(
            json!({"object": "Account", "operation": "update"}),
            &format!("Id,Phone\n{existing},111\n{fresh},#N/A\n001000000000000AAA,1\n"),
        )
        .await;
    let info = sim.wait("ingest", &id).await;
    assert_eq!(info["numberRecordsFailed"], 1);
    assert_eq!(sim.field("Account", &existing, "Phone").await, json!("111"));
    assert_eq!(sim.field("Account", &fresh, "Phone").await, json!(null));

    let id = sim
        .ingest(
            json!({"object": "Account", "operation": "delete"}),
            &format!("Id\n{existing}\n"),
        )
        .await;
    assert_eq!(sim.wait("ingest", &id).await["numberRecordsFailed"], 0);
    let id = sim
        .ingest(
            json!({"object": "Account", "operation": "hardDelete"}),
            &format!("Id\n{fresh}\n{existing}\n"),
        )
        .await;
    let info = sim.wait("ingest", &id).await;
    assert_eq!(
        info["numberRecordsFailed"], 1,
        "the soft-deleted one is already deleted"
    );
    assert_eq!(sim.count("Account"), 0);
    let org = sim.state.default_org();
    let data = org.data.read();
    let obj = data.schema.object_index("Account").unwrap();
    let num = simulator::org::ids::RecordId::parse(&fresh).unwrap().num;
    assert!(data.row(obj, num).is_none(), "hardDelete purges the row");
}

#[tokio::test(start_paused = true)]
async fn children_name_parents_by_external_id() {
    let sim = Sim::new().await;
    let parent = sim
        .create("Account", json!({"Name": "P", "External_Id__c": "ACC-9"}))
        .await;
    let id = sim
        .ingest(
            insert("Contact"),
            "LastName,Account.External_Id__c\nKid,ACC-9\nOrphan,ACC-404\n",
        )
        .await;
    let info = sim.wait("ingest", &id).await;
    assert_eq!(info["numberRecordsFailed"], 1);
    let ok = csv_rows(
        &sim.get(&format!("/jobs/ingest/{id}/successfulResults"))
            .await
            .text(),
    );
    assert_eq!(
        sim.field("Contact", &ok[1][0], "AccountId").await,
        json!(parent)
    );
}

#[tokio::test(start_paused = true)]
async fn other_dialects_are_read_and_echoed_in_results() {
    let sim = Sim::new().await;
    let id = sim
        .ingest(
            json!({"object": "Account", "operation": "insert", "lineEnding": "CRLF", "columnDelimiter": "TAB"}),
            "Name\tPhone\r\nTab Co\t1\r\n",
        )
        .await;
    assert_eq!(sim.wait("ingest", &id).await["numberRecordsProcessed"], 1);
    let ok = sim
        .get(&format!("/jobs/ingest/{id}/successfulResults"))
        .await
        .text();
    assert!(
        ok.starts_with("\"sf__Id\"\t\"sf__Created\"\t\"Name\"\t\"Phone\"\r\n"),
        "{ok:?}"
    );

    let id = sim
        .ingest(
            json!({"object": "Account", "operation": "insert", "columnDelimiter": "SEMICOLON"}),
            "Name;Phone\r\nSemi;2\r\n",
        )
        .await;
    let info = sim.wait("ingest", &id).await;
    assert_eq!(info["state"], "Failed");
    assert_eq!(
        info["errorMessage"],
        "ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is LF"
    );
    let un = sim
        .get(&format!("/jobs/ingest/{id}/unprocessedrecords"))
        .await
        .text();
    assert_eq!(un, "Name;Phone\r\nSemi;2\r\n");
}

#[tokio::test(start_paused = true)]
async fn an_unknown_column_fails_the_whole_job() {
    let sim = Sim::new().await;
    let id = sim
        .ingest(insert("Account"), "Name,Bogus__c\nA,1\nB,2\n")
        .await;
    let info = sim.wait("ingest", &id).await;
    assert_eq!(info["state"], "Failed");
    assert_eq!(
        info["errorMessage"],
        "InvalidBatch : Field name not found : Bogus__c"
    );
    assert_eq!(info["numberRecordsProcessed"], 0);
    let un = csv_rows(
        &sim.get(&format!("/jobs/ingest/{id}/unprocessedrecords"))
            .await
            .text(),
    );
    assert_eq!(un.len(), 3);
    assert_eq!(sim.count("Account"), 0);
}

#[tokio::test(start_paused = true)]
async fn the_state_machine_refuses_what_salesforce_refuses() {
    let sim = Sim::new().await;
    let id = sim.post("/jobs/ingest", insert("Account")).await.json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let del = sim
        .call(Method::DELETE, &format!("/jobs/ingest/{id}"), None)
        .await;
    assert_eq!(
        del.status,
        StatusCode::BAD_REQUEST,
        "an Open job cannot be deleted"
    );
    let res = sim
        .get(&format!("/jobs/ingest/{id}/successfulResults"))
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    let batches = format!("/jobs/ingest/{id}/batches");
    let put = |body: &'static str| sim.send(Method::PUT, &batches, "text/csv", Body::from(body));
    assert_eq!(put("Name\nA\n").await.status, StatusCode::CREATED);
    let again = put("Name\nB\n").await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert!(again.text().contains("Found multiple contents for job"));
    let close = json!({"state": "UploadComplete"});
    let p = sim
        .call(
            Method::PATCH,
            &format!("/jobs/ingest/{id}"),
            Some(close.clone()),
        )
        .await;
    assert_eq!(p.json()["state"], "UploadComplete");
    let p = sim
        .call(Method::PATCH, &format!("/jobs/ingest/{id}"), Some(close))
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    sim.wait("ingest", &id).await;
    let del = sim
        .call(Method::DELETE, &format!("/jobs/ingest/{id}"), None)
        .await;
    assert_eq!(del.status, StatusCode::NO_CONTENT);
    assert!(del.bytes.is_empty());
    assert_eq!(
        sim.get(&format!("/jobs/ingest/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(start_paused = true)]
async fn an_aborted_job_leaves_its_rows_unprocessed() {
    let sim = Sim::new().await;
    let id = sim.post("/jobs/ingest", insert("Account")).await.json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    sim.send(
        Method::PUT,
        &format!("/jobs/ingest/{id}/batches"),
        "text/csv",
        Body::from("Name\nA\nB\n"),
    )
    .await;
    let a = sim
        .call(
            Method::PATCH,
            &format!("/jobs/ingest/{id}"),
            Some(json!({"state": "Aborted"})),
        )
        .await;
    assert_eq!(a.json()["state"], "Aborted");
    let un = csv_rows(
        &sim.get(&format!("/jobs/ingest/{id}/unprocessedrecords"))
            .await
            .text(),
    );
    assert_eq!(un, vec![vec!["Name"], vec!["A"], vec!["B"]]);
    assert_eq!(sim.count("Account"), 0);
}

#[tokio::test(start_paused = true)]
async fn uploads_over_the_limit_are_refused_and_chunked_uploads_work() {
    let sim = Sim::with(
        SimConfig {
            max_bulk_upload: 64,
            ..Default::default()
        },
        Default::default(),
    )
    .await;
    let id = sim.post("/jobs/ingest", insert("Account")).await.json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let big = format!("Name\n{}\n", "x".repeat(100));
    let a = sim
        .send(
            Method::PUT,
            &format!("/jobs/ingest/{id}/batches"),
            "text/csv",
            Body::from(big),
        )
        .await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(a.json()[0]["errorCode"], "REQUEST_ENTITY_TOO_LARGE");
    // A body without Content-Length (streamed in pieces) is read to the end.
    let pieces = futures::stream::iter(
        ["Name\nOn", "e\nTwo\n"].map(|s| Ok::<_, std::io::Error>(bytes::Bytes::from(s))),
    );
    let a = sim
        .send(
            Method::PUT,
            &format!("/jobs/ingest/{id}/batches"),
            "text/csv",
            Body::from_stream(pieces),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
    sim.call(
        Method::PATCH,
        &format!("/jobs/ingest/{id}"),
        Some(json!({"state": "UploadComplete"})),
    )
    .await;
    assert_eq!(sim.wait("ingest", &id).await["numberRecordsProcessed"], 2);
}

#[tokio::test(start_paused = true)]
async fn the_job_list_pages_by_a_thousand() {
    let sim = Sim::new().await;
    for _ in 0..1_001 {
        sim.post("/jobs/ingest", insert("Account")).await;
    }
    let first = sim.get("/jobs/ingest").await.json();
    assert_eq!(first["done"], false);
    assert_eq!(first["records"].as_array().unwrap().len(), 1_000);
    assert_eq!(first["records"][0]["jobType"], "V2Ingest");
    let next = first["nextRecordsUrl"].as_str().unwrap();
    let second = sim.get(next).await.json();
    assert_eq!(second["done"], true);
    assert_eq!(second["records"].as_array().unwrap().len(), 1);
    assert_eq!(second["nextRecordsUrl"], serde_json::Value::Null);
}

#[tokio::test(start_paused = true)]
async fn injected_row_failures_and_whole_job_failures() {
    let sim = Sim::with(
        Default::default(),
        faults(TestFaults {
            fail_indexes: [1, 3].into(),
            error: Some(ApiError::custom(
                400,
                "UNABLE_TO_LOCK_ROW",
                "unable to obtain exclusive access to this record",
            )),
            ..Default::default()
        }),
    )
    .await;
    let id = sim.ingest(insert("Account"), "Name\nA\nB\nC\nD\n").await;
    let info = sim.wait("ingest", &id).await;
    assert_eq!(info["numberRecordsFailed"], 2);
    let failed = csv_rows(
        &sim.get(&format!("/jobs/ingest/{id}/failedResults"))
            .await
            .text(),
    );
    assert_eq!(failed[1][2], "B");
    assert_eq!(
        failed[1][1],
        "UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record:--"
    );
    assert_eq!(failed[2][2], "D");
    assert_eq!(sim.count("Account"), 2);

    let sim = Sim::with(
        Default::default(),
        faults(TestFaults {
            slowdown: Some(BulkSlowdownFault::Fail {
                error_message: "InternalServerError : the job could not be processed".into(),
            }),
            ..Default::default()
        }),
    )
    .await;
    let id = sim.ingest(insert("Account"), "Name\nA\n").await;
    let info = sim.wait("ingest", &id).await;
    assert_eq!(info["state"], "Failed");
    assert_eq!(
        info["errorMessage"],
        "InternalServerError : the job could not be processed"
    );
    assert_eq!(sim.count("Account"), 0);
}

#[tokio::test(start_paused = true)]
async fn a_slowdown_keeps_the_job_in_progress_longer() {
    let sim = Sim::with(
        Default::default(),
        faults(TestFaults {
            slowdown: Some(BulkSlowdownFault::Extra(Duration::from_secs(120))),
            ..Default::default()
        }),
    )
    .await;
    let start = tokio::time::Instant::now();
    let id = sim.ingest(insert("Account"), "Name\nA\n").await;
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(
        sim.get(&format!("/jobs/ingest/{id}")).await.json()["state"],
        "InProgress"
    );
    assert_eq!(sim.count("Account"), 0);
    let info = sim.wait("ingest", &id).await;
    assert_eq!(info["state"], "JobComplete");
    assert!(start.elapsed() >= Duration::from_secs(120));
    assert!(info["totalProcessingTime"].as_u64().unwrap() >= 120_000);
}

#[tokio::test(start_paused = true)]
async fn big_jobs_run_in_parallel_batches_of_200_record_transactions() {
    let sim = Sim::new().await;
    let mut csv = String::from("Name,External_Id__c\n");
    for i in 0..25_000 {
        csv.push_str(&format!("N{i},K{i}\n"));
    }
    let seq_before = sim.state.default_org().changes.last_seq();
    let id = sim.ingest(insert("Account"), &csv).await;
    let info = sim.wait("ingest", &id).await;
    assert_eq!(info["numberRecordsProcessed"], 25_000);
    assert_eq!(info["numberRecordsFailed"], 0);
    assert_eq!(sim.count("Account"), 25_000);
    // Every committed row produced one change (CDC), as any other write does.
    assert_eq!(
        sim.state.default_org().changes.last_seq() - seq_before,
        25_000
    );
    let ok = csv_rows(
        &sim.get(&format!("/jobs/ingest/{id}/successfulResults"))
            .await
            .text(),
    );
    assert_eq!(ok.len(), 25_001);
    assert_eq!(
        ok[25_000][2], "N24999",
        "results keep input order across parallel batches"
    );
}
