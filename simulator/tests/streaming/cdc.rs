//! Change Data Capture and platform events: what subscribers receive, replay, retention and the
//! delivery allocation.

use crate::support::*;
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use simulator::faults::hooks::Faults;
use simulator::org::OrgConfig;
use simulator::SimConfig;
use std::time::Duration;

fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
        && s.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
}

#[tokio::test]
async fn create_update_delete_arrive_with_salesforce_headers_and_payloads() {
    let sim = Sim::new();
    let mut c = Bayeux::ready(&sim, "/data/ChangeEvents", None).await;
    let user_id = sim.state.default_org().data.read().user_id(1);

    let id = sim
        .create(
            "Account",
            json!({"Name": "Acme", "Phone": "555-0100", "BillingCity": "Paris", "Region__c": "EMEA"}),
        )
        .await;
    sim.update(
        "Account",
        &id,
        json!({"Phone": null, "Name": "Acme SA", "BillingCity": "Lyon"}),
    )
    .await;
    sim.delete("Account", &id).await;

    let mut events = Vec::new();
    for _ in 0..3 {
        if events.len() >= 3 {
            break;
        }
        let (mut e, r) = c.connect().await;
        assert_eq!(r["successful"], true);
        events.append(&mut e);
    }
    assert_eq!(events.len(), 3);
    let ids: Vec<u64> = events.iter().map(replay_id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    for e in &events {
        assert_eq!(e["channel"], "/data/ChangeEvents");
        assert_eq!(e["data"]["schema"].as_str().map(str::len), Some(22));
        let h = header(e);
        assert_eq!(h["entityName"], "Account");
        assert_eq!(h["recordIds"], json!([id]));
        assert_eq!(
            h["changeOrigin"],
            "com/salesforce/api/rest/62.0;client=streaming-test"
        );
        assert!(
            is_uuid(h["transactionKey"].as_str().unwrap_or_default()),
            "{h}"
        );
        assert_eq!(h["sequenceNumber"], 1);
        assert_eq!(h["isTransactionEnd"], true);
        assert!(h["commitTimestamp"]
            .as_i64()
            .is_some_and(|t| t >= 1_700_000_000_000));
        assert!(h["commitNumber"].as_u64().is_some());
        assert_eq!(h["commitUser"], user_id.as_str());
        assert_eq!(h["diffFields"], json!([]));
    }
    let (create, update, delete) = (&events[0], &events[1], &events[2]);
    let keys = |e: &Value| {
        let mut k: Vec<String> = e["data"]["payload"]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        k.sort();
        k
    };

    assert_eq!(header(create)["changeType"], "CREATE");
    assert_eq!(header(create)["changedFields"], json!([]));
    let p = &create["data"]["payload"];
    assert_eq!(p["Name"], "Acme");
    assert_eq!(p["Phone"], "555-0100");
    assert_eq!(p["Region__c"], "EMEA");
    assert_eq!(p["BillingAddress"], json!({"City": "Paris"}));
    assert_eq!(p["OwnerId"], user_id.as_str());
    assert_eq!(p["CreatedById"], user_id.as_str());
    assert_eq!(p["LastModifiedById"], user_id.as_str());
    assert!(
        p["CreatedDate"].as_str().is_some_and(|d| d.ends_with('Z')),
        "{p}"
    );
    for absent in ["Id", "IsDeleted", "SystemModstamp", "BillingCity", "Fax"] {
        assert!(p.get(absent).is_none(), "{absent} in {p}");
    }

    assert_eq!(header(update)["changeType"], "UPDATE");
    assert_eq!(
        header(update)["changedFields"],
        json!(["Name", "BillingAddress.City", "Phone", "LastModifiedDate"])
    );
    assert_eq!(header(update)["nulledFields"], json!(["Phone"]));
    assert_eq!(
        keys(update),
        [
            "BillingAddress",
            "ChangeEventHeader",
            "LastModifiedDate",
            "Name",
            "Phone"
        ]
    );
    assert_eq!(update["data"]["payload"]["Phone"], Value::Null);
    assert_eq!(
        update["data"]["payload"]["BillingAddress"],
        json!({"City": "Lyon"})
    );

    assert_eq!(header(delete)["changeType"], "DELETE");
    assert_eq!(keys(delete), ["ChangeEventHeader"]);
}

#[tokio::test]
async fn object_channels_filter_and_each_subscription_gets_its_copy() {
    let sim = Sim::new();
    let mut c = Bayeux::ready(&sim, "/data/AccountChangeEvent", None).await;
    let s = c.subscribe("/data/ChangeEvents", None).await;
    assert_eq!(s["successful"], true);
    let contact = sim
        .create(
            "Contact",
            json!({"FirstName": "Ada", "LastName": "Lovelace", "MailingCity": "London"}),
        )
        .await;
    let account = sim.create("Account", json!({"Name": "Acme"})).await;
    let (events, _) = c.connect().await;
    let seen: Vec<(String, String)> = events
        .iter()
        .map(|e| {
            (
                e["channel"].as_str().unwrap_or_default().to_string(),
                header(e)["recordIds"][0]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("/data/ChangeEvents".to_string(), contact.clone()),
            ("/data/AccountChangeEvent".to_string(), account.clone()),
            ("/data/ChangeEvents".to_string(), account),
        ]
    );
    // Compound name: components nested, the formula `Name` never sent flat.
    let p = &events[0]["data"]["payload"];
    assert_eq!(
        p["Name"],
        json!({"FirstName": "Ada", "LastName": "Lovelace"})
    );
    assert_eq!(p["MailingAddress"], json!({"City": "London"}));
    assert_eq!(header(&events[0])["entityName"], "Contact");
}

#[tokio::test]
async fn only_cdc_enabled_objects_are_delivered() {
    let config = SimConfig {
        org: OrgConfig {
            cdc_objects: vec!["Account".into()],
            ..OrgConfig::default()
        },
        ..SimConfig::default()
    };
    let sim = Sim::with(config, Faults::default());
    let mut c = Bayeux::ready(&sim, "/data/ChangeEvents", None).await;
    sim.create("Contact", json!({"LastName": "Quiet"})).await;
    let a = sim.create("Account", json!({"Name": "Loud"})).await;
    let (events, _) = c.connect().await;
    assert_eq!(events.len(), 1);
    assert_eq!(header(&events[0])["recordIds"], json!([a]));
    let r = c.subscribe("/data/ContactChangeEvent", None).await;
    assert_eq!(
        r["error"],
        "400::The channel you requested to subscribe to does not exist {/data/ContactChangeEvent}"
    );
}

#[tokio::test]
async fn custom_objects_use_the_double_underscore_channel() {
    let config = SimConfig {
        org: OrgConfig {
            cdc_objects: vec!["*".into()],
            ..OrgConfig::default()
        },
        ..SimConfig::default()
    };
    let sim = Sim::with(config, Faults::default());
    {
        let org = sim.state.default_org();
        let mut data = org.data.write();
        let spec: simulator::org::data::SchemaFile = serde_json::from_value(json!({
            "objects": [{"name": "MyObj__c", "fields": [{"name": "Size__c", "type": "double"}]}]
        }))
        .expect("schema spec");
        simulator::org::data::apply_schema(&mut data.schema, &spec).expect("apply");
        data.sync_tables();
    }
    let mut c = Bayeux::ready(&sim, "/data/MyObj__ChangeEvent", None).await;
    let id = sim
        .create("MyObj__c", json!({"Name": "one", "Size__c": 2.5}))
        .await;
    let (events, _) = c.connect().await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["channel"], "/data/MyObj__ChangeEvent");
    assert_eq!(header(&events[0])["entityName"], "MyObj__c");
    assert_eq!(header(&events[0])["recordIds"], json!([id]));
    assert_eq!(events[0]["data"]["payload"]["Size__c"], 2.5);
}

#[tokio::test]
async fn replay_all_retained_or_after_a_given_id() {
    let sim = Sim::new();
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(
            sim.create("Account", json!({"Name": format!("A{n}")}))
                .await,
        );
    }
    let mut all = sim.client();
    all.handshake().await;
    all.subscribe("/data/ChangeEvents", Some(json!(-2))).await;
    let (events, _) = all.connect().await;
    let got: Vec<&Value> = events.iter().map(|e| &header(e)["recordIds"][0]).collect();
    assert_eq!(
        got,
        ids.iter()
            .map(|i| json!(i))
            .collect::<Vec<_>>()
            .iter()
            .collect::<Vec<_>>()
    );
    let first = replay_id(&events[0]);

    let mut after = sim.client();
    after.handshake().await;
    let r = after
        .subscribe("/data/ChangeEvents", Some(json!(first)))
        .await;
    assert_eq!(r["successful"], true);
    let (events, _) = after.connect().await;
    let rids: Vec<u64> = events.iter().map(replay_id).collect();
    assert_eq!(rids.len(), 2);
    assert!(rids.iter().all(|r| *r > first));

    let mut new_only = sim.client();
    new_only.handshake().await;
    new_only
        .subscribe("/data/ChangeEvents", Some(json!(-1)))
        .await;
    let (events, _) = new_only.connect().await;
    assert!(events.is_empty());
}

#[tokio::test]
async fn platform_events_are_delivered_with_their_uuid() {
    let sim = Sim::new();
    let mut c = Bayeux::ready(&sim, "/event/Order_Event__e", None).await;
    let mut cdc = Bayeux::ready(&sim, "/data/ChangeEvents", None).await;
    let a = sim
        .rest(
            Method::POST,
            "/sobjects/Order_Event__e",
            Some(json!({"Order_Number__c": "O-1", "Amount__c": 12.5})),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert_eq!(a.body["errors"][0]["statusCode"], "OPERATION_ENQUEUED");
    let uuid = a.body["errors"][0]["message"]
        .as_str()
        .expect("uuid")
        .to_string();
    let (events, _) = c.connect().await;
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e["channel"], "/event/Order_Event__e");
    assert_eq!(e["data"]["event"]["EventUuid"], uuid.as_str());
    assert!(e["data"]["event"]["replayId"].as_u64().is_some());
    let p = &e["data"]["payload"];
    assert_eq!(p["Order_Number__c"], "O-1");
    assert_eq!(p["Amount__c"], 12.5);
    assert_eq!(
        p["CreatedById"],
        sim.state.default_org().data.read().user_id(1).as_str()
    );
    assert!(p["CreatedDate"].as_str().is_some_and(|d| d.ends_with('Z')));
    assert!(p.get("ChangeEventHeader").is_none());
    // Not a record change: nothing on the CDC channel.
    let id = cdc.id();
    let a = cdc
        .post(
            json!([{"channel": "/meta/connect", "clientId": cdc.client_id,
                      "connectionType": "long-polling", "id": id, "advice": {"timeout": 0}}]),
        )
        .await;
    assert_eq!(split(a.body).0.len(), 0);
}

#[tokio::test(start_paused = true)]
async fn events_older_than_72_hours_are_not_replayable() {
    let config = SimConfig {
        org: OrgConfig {
            session_lifetime: Duration::from_secs(400 * 3600),
            ..OrgConfig::default()
        },
        ..SimConfig::default()
    };
    let sim = Sim::with(config, Faults::default());
    sim.create("Account", json!({"Name": "Old"})).await;
    tokio::time::advance(Duration::from_secs(71 * 3600)).await;
    let recent = sim.create("Account", json!({"Name": "Recent"})).await;
    let mut c = sim.client();
    c.handshake().await;
    c.subscribe("/data/ChangeEvents", Some(json!(-2))).await;
    let (events, _) = c.connect().await;
    assert_eq!(events.len(), 2, "both within 72 h");
    let first = replay_id(&events[0]);

    tokio::time::advance(Duration::from_secs(2 * 3600)).await;
    let mut c = sim.client();
    c.handshake().await;
    c.subscribe("/data/ChangeEvents", Some(json!(-2))).await;
    let (events, _) = c.connect().await;
    assert_eq!(events.len(), 1, "the 73-hour-old change expired");
    assert_eq!(header(&events[0])["recordIds"], json!([recent]));
    // Resuming after an id whose successors expired would lose events: refused.
    let r = c
        .subscribe("/data/AccountChangeEvent", Some(json!(first - 1)))
        .await;
    assert_eq!(
        r["error"],
        format!(
            "400::The replayId {{{}}} you provided was invalid.  Please provide a valid ID, -2 to replay all events, or -1 to replay only new events.",
            first - 1
        )
    );
}

#[tokio::test]
async fn the_delivery_allocation_caps_deliveries_across_clients() {
    let sim = Sim::new();
    let org = sim.state.default_org();
    let now = sim.state.clock.elapsed();
    assert_eq!(sim.state.streaming.delivery_usage(&org, now), (0, 25_000));
    sim.state.streaming.configure_deliveries(
        &org,
        now,
        3,
        simulator::streaming::DELIVERY_WINDOW,
        Some(0),
    );
    let mut c = Bayeux::ready(&sim, "/data/ChangeEvents", None).await;
    for n in 0..5 {
        sim.create("Account", json!({"Name": format!("N{n}")}))
            .await;
    }
    let (events, r) = c.connect().await;
    assert_eq!(events.len(), 3);
    assert_eq!(r["successful"], true);
    let (events, r) = c.connect().await;
    assert!(events.is_empty());
    assert_eq!(
        r["error"],
        "403::Organization total events daily limit exceeded"
    );
    assert_eq!(r["advice"]["reconnect"], "none");
    let mut other = sim.client();
    other.handshake().await;
    let s = other.subscribe("/data/ChangeEvents", Some(json!(-2))).await;
    assert_eq!(
        s["error"],
        "403::Organization total events daily limit exceeded"
    );
    assert_eq!(
        sim.state
            .streaming
            .delivery_usage(&org, sim.state.clock.elapsed()),
        (3, 3)
    );
}

#[tokio::test]
async fn admin_changes_keep_the_scorers_view() {
    let sim = Sim::new();
    let id = sim.create("Account", json!({"Name": "Scored"})).await;
    sim.update("Account", &id, json!({"Phone": "1"})).await;
    let a = sim
        .send(
            axum::http::Request::get("/__admin/changes?after=0")
                .body(axum::body::Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    let list = a.body.as_array().cloned().unwrap_or_default();
    let mine: Vec<&Value> = list
        .iter()
        .filter(|c| c["record_id"] == id.as_str())
        .collect();
    assert_eq!(mine.len(), 2);
    let upd = mine[1];
    assert_eq!(upd["object"], "Account");
    assert_eq!(upd["change_type"], "UPDATE");
    assert_eq!(
        upd["client"],
        "admin@sfchaos.test|sfchaos-client|streaming-test"
    );
    assert_eq!(
        upd["origin"],
        "com/salesforce/api/rest/62.0;client=streaming-test"
    );
    assert_eq!(upd["changed_fields"], json!(["Phone", "LastModifiedDate"]));
    assert_eq!(upd["fields"]["Phone"], "1");
    assert!(upd["commit_ms"].as_i64().is_some());
    assert_eq!(mine[0]["fields"]["Name"], "Scored");
}

#[tokio::test]
async fn a_huge_transaction_overflows_into_one_gap_event_per_object() {
    use simulator::org::changes::OVERFLOW_LIMIT;
    let sim = Sim::new();
    let org = sim.state.default_org();
    let changes = {
        let mut data = org.data.write();
        let obj = data.schema.object_index("Account").expect("Account");
        let name = data.schema.objects[obj].field_index("Name").expect("Name");
        let writer = simulator::org::store::Writer {
            user: 1,
            origin: "com/salesforce/api/bulkapi/62.0".into(),
            client: "bulk".into(),
        };
        let mut txn = data.txn();
        for n in 0..OVERFLOW_LIMIT + 3 {
            txn.insert(
                obj,
                vec![(name, simulator::org::value::Value::str(format!("B{n}")))],
                &writer,
                1_700_000_000_000,
            );
        }
        txn.commit()
    };
    org.publish(changes);
    // Replay the tail of the transaction: changes LIMIT-1 and LIMIT, then the overflow.
    let last = org.changes.last_seq();
    let mut c = sim.client();
    c.handshake().await;
    let s = c
        .subscribe("/data/AccountChangeEvent", Some(json!(last - 5)))
        .await;
    assert_eq!(s["successful"], true, "{s}");
    // The first connect is answered at once, with what is pending.
    let (events, _) = c.connect().await;
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| header(e)["changeType"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(kinds, ["CREATE", "CREATE", "GAP_OVERFLOW"]);
    let seqs: Vec<&Value> = events
        .iter()
        .map(|e| &header(e)["sequenceNumber"])
        .collect();
    assert_eq!(
        seqs,
        [
            &json!(OVERFLOW_LIMIT - 1),
            &json!(OVERFLOW_LIMIT),
            &json!(OVERFLOW_LIMIT + 1)
        ]
    );
    let overflow = &events[2];
    assert_eq!(header(overflow)["entityName"], "Account");
    assert_eq!(header(overflow)["recordIds"], json!([]));
    assert_eq!(
        overflow["data"]["payload"].as_object().map(|m| m.len()),
        Some(1)
    );
}

#[tokio::test]
async fn events_held_back_by_the_allocation_stay_pending_per_subscription() {
    let sim = Sim::new();
    let org = sim.state.default_org();
    let window = simulator::streaming::DELIVERY_WINDOW;
    let now = sim.state.clock.elapsed();
    sim.state
        .streaming
        .configure_deliveries(&org, now, 3, window, Some(0));
    let mut c = Bayeux::ready(&sim, "/data/ChangeEvents", None).await;
    c.subscribe("/data/AccountChangeEvent", None).await;
    let a = sim.create("Account", json!({"Name": "A"})).await;
    let b = sim.create("Account", json!({"Name": "B"})).await;
    let (events, _) = c.connect().await;
    let got: Vec<(String, String)> = events
        .iter()
        .map(|e| {
            (
                e["channel"].as_str().unwrap_or_default().to_string(),
                header(e)["recordIds"][0]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("/data/ChangeEvents".to_string(), a.clone()),
            ("/data/AccountChangeEvent".to_string(), a),
            ("/data/ChangeEvents".to_string(), b.clone()),
        ]
    );
    // More allocation (the window rolled, or the org bought the add-on): the held-back one comes next.
    sim.state
        .streaming
        .configure_deliveries(&org, sim.state.clock.elapsed(), 10, window, Some(3));
    let (events, _) = c.connect().await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["channel"], "/data/AccountChangeEvent");
    assert_eq!(header(&events[0])["recordIds"], json!([b]));
}
