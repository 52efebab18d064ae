//! The SOQL engine against a small org: exact REST shapes, filters, ordering, aggregates, date
//! literals at a fixed instant, queryAll, index lookups, Salesforce's error texts, and properties
//! (no panics on any input, stable fingerprints).

use proptest::prelude::*;
use serde_json::{json, Value as Json};
use simulator::error::ApiError;
use simulator::org::schema::{FieldDef, FieldType, PicklistValue};
use simulator::org::soql::{self, ExecOptions, QueryOutput};
use simulator::org::standard::default_schema;
use simulator::org::store::{OrgData, Writer};
use simulator::org::value::{parse_date, parse_datetime, Value};
use std::collections::HashMap;
use std::sync::OnceLock;

/// Wednesday 2024-05-15 10:30 UTC.
const NOW: &str = "2024-05-15T10:30:00Z";
const PATH: &str = "/services/data/v62.0";

struct Org {
    data: OrgData,
    now: i64,
    ids: HashMap<&'static str, String>,
}

fn ms(s: &str) -> i64 {
    parse_datetime(s).expect("datetime")
}

fn s(v: &str) -> Value {
    Value::str(v)
}

fn insert(
    data: &mut OrgData,
    obj: &str,
    fields: &[(&str, Value)],
    user: u64,
    at: &str,
) -> (u64, String) {
    let oi = data.schema.object_index(obj).expect("object");
    let o = &data.schema.objects[oi];
    let fields = fields
        .iter()
        .map(|(n, v)| (o.field_index(n).expect(n), v.clone()))
        .collect();
    let writer = Writer {
        user,
        origin: String::new(),
        client: "test".into(),
    };
    let mut txn = data.txn();
    let id = txn.insert(oi, fields, &writer, ms(at));
    txn.commit();
    (id.num, id.to18())
}

/// Field name/value pairs of one test record.
type Fields<'a> = &'a [(&'a str, Value)];

/// Accounts, contacts, opportunities and one user, created at instants around [`NOW`]; one account
/// (with a contact) in the recycle bin.
fn build_org() -> Org {
    let mut schema = default_schema();
    let account = schema.object_mut("Account").expect("Account");
    let mut tags = FieldDef::new("Tags__c", FieldType::Multipicklist);
    tags.picklist = ["Gold", "Silver", "Bronze"]
        .iter()
        .map(|v| PicklistValue {
            value: v.to_string(),
            label: format!("{v} tier"),
            active: true,
            default: false,
        })
        .collect();
    account.fields.push(tags);
    schema.reindex();
    let mut data = OrgData::new(schema, 1);
    let mut ids = HashMap::new();

    let (user, uid) = insert(
        &mut data,
        "User",
        &[
            ("Username", s("ada@example.com")),
            ("LastName", s("Lovelace")),
            ("FirstName", s("Ada")),
            ("Email", s("ada@example.com")),
            ("Alias", s("ada")),
        ],
        1,
        "2024-01-01T00:00:00Z",
    );
    ids.insert("user", uid);
    let accounts: [(&str, &str, Fields); 6] = [
        (
            "acme",
            "2024-05-15T09:00:00Z",
            &[
                ("Name", s("Acme")),
                ("Industry", s("Technology")),
                ("Region__c", s("EMEA")),
                ("External_Id__c", s("A-001")),
                ("AnnualRevenue", Value::Num(1000.0)),
                ("NumberOfEmployees", Value::Int(50)),
                ("Tags__c", s("Gold;Silver")),
                ("Rating", s("Hot")),
            ],
        ),
        (
            "globex",
            "2024-05-14T12:00:00Z",
            &[
                ("Name", s("Globex")),
                ("Industry", s("Banking")),
                ("Region__c", s("AMER")),
                ("External_Id__c", s("A-002")),
                ("AnnualRevenue", Value::Num(500.0)),
                ("NumberOfEmployees", Value::Int(10)),
                ("Tags__c", s("Bronze")),
            ],
        ),
        (
            "initech",
            "2024-04-20T08:00:00Z",
            &[
                ("Name", s("Initech")),
                ("Region__c", s("EMEA")),
                ("External_Id__c", s("A-003")),
            ],
        ),
        (
            "labs",
            "2023-12-31T23:59:59Z",
            &[
                ("Name", s("acme labs")),
                ("Industry", s("Technology")),
                ("Region__c", s("APAC")),
                ("External_Id__c", s("A-004")),
                ("AnnualRevenue", Value::Num(250.5)),
                ("NumberOfEmployees", Value::Int(5)),
            ],
        ),
        (
            "fifty",
            "2024-05-16T08:00:00Z",
            &[
                ("Name", s("50% Off_Sale")),
                ("Region__c", s("AMER")),
                ("External_Id__c", s("A-005")),
            ],
        ),
        (
            "gone",
            "2024-05-01T00:00:00Z",
            &[("Name", s("Gone Co")), ("External_Id__c", s("A-006"))],
        ),
    ];
    for (key, at, fields) in accounts {
        let (_, id) = insert(&mut data, "Account", fields, user, at);
        ids.insert(key, id);
    }
    let contacts: [(&str, &str, Option<&str>, &str); 5] = [
        ("ann", "Smith", Some("acme"), "Ann"),
        ("bob", "Jones", Some("acme"), "Bob"),
        ("cy", "Young", Some("globex"), "Cy"),
        ("dee", "Nobody", None, "Dee"),
        ("eve", "Gone", Some("gone"), "Eve"),
    ];
    for (key, last, account, first) in contacts {
        let mut fields = vec![("LastName", s(last)), ("FirstName", s(first))];
        if let Some(a) = account {
            fields.push(("AccountId", s(&ids[a])));
        }
        if key == "ann" {
            fields.push(("Email", s("ann@acme.com")));
            fields.push(("Birthdate", Value::Date(parse_date("1990-05-15").unwrap())));
        }
        let (_, id) = insert(&mut data, "Contact", &fields, user, "2024-05-10T00:00:00Z");
        ids.insert(key, id);
    }
    let opps: [(&str, &str, &str, Option<f64>); 3] = [
        ("Big deal", "acme", "2024-05-15", Some(100.0)),
        ("Bigger deal", "acme", "2024-06-10", Some(200.0)),
        ("Small deal", "globex", "2024-05-01", None),
    ];
    for (name, account, close, amount) in opps {
        let mut fields = vec![
            ("Name", s(name)),
            ("AccountId", s(&ids[account])),
            ("StageName", s("Prospecting")),
            ("CloseDate", Value::Date(parse_date(close).unwrap())),
        ];
        if let Some(a) = amount {
            fields.push(("Amount", Value::Num(a)));
        }
        insert(
            &mut data,
            "Opportunity",
            &fields,
            user,
            "2024-05-01T00:00:00Z",
        );
    }
    // Delete "Gone Co" (its contact goes with it, by cascade).
    let acc = data.schema.object_index("Account").unwrap();
    let gone = simulator::org::ids::RecordId::parse(&ids["gone"])
        .unwrap()
        .num;
    let mut txn = data.txn();
    txn.delete(acc, gone, &Writer::default(), ms("2024-05-12T00:00:00Z"));
    txn.commit();
    Org {
        data,
        now: ms(NOW),
        ids,
    }
}

fn org() -> &'static Org {
    static ORG: OnceLock<Org> = OnceLock::new();
    ORG.get_or_init(build_org)
}

fn opts(o: &Org, include_deleted: bool) -> ExecOptions {
    ExecOptions {
        now_ms: o.now,
        include_deleted,
        data_path: PATH.to_string(),
    }
}

fn run(soql: &str, include_deleted: bool) -> Result<QueryOutput, ApiError> {
    let o = org();
    let plan = soql::compile(&o.data, soql)?;
    soql::execute(&o.data, &plan, &opts(o, include_deleted))
}

/// All records of a row query, rendered.
fn records_with(soql: &str, include_deleted: bool) -> Vec<Json> {
    let o = org();
    let plan = soql::compile(&o.data, soql).unwrap_or_else(|e| panic!("{soql}: {e:?}"));
    match soql::execute(&o.data, &plan, &opts(o, include_deleted)).expect("execute") {
        QueryOutput::Rows { nums, total_size } => {
            assert_eq!(nums.len(), total_size);
            soql::render(&o.data, &plan, &nums, &opts(o, include_deleted))
        }
        QueryOutput::Aggregate { records } => records,
        other => panic!("unexpected {other:?}"),
    }
}

fn records(soql: &str) -> Vec<Json> {
    records_with(soql, false)
}

/// The `Name`s an Account query returns, in order.
fn names(where_and_rest: &str) -> Vec<String> {
    records(&format!("SELECT Name FROM Account {where_and_rest}"))
        .iter()
        .map(|r| r["Name"].as_str().unwrap_or("").to_string())
        .collect()
}

fn id(key: &str) -> &'static str {
    org().ids[key].as_str()
}

fn attrs(t: &str, key: &str) -> Json {
    json!({"type": t, "url": format!("{PATH}/sobjects/{t}/{}", id(key))})
}

fn err(soql: &str) -> (String, String) {
    let o = org();
    let e = soql::compile(&o.data, soql)
        .and_then(|p| soql::execute(&o.data, &p, &opts(o, false)))
        .expect_err(soql);
    (e.error_code().to_string(), e.to_string())
}

// ---- shapes ----

#[test]
fn records_carry_attributes_and_canonical_names() {
    assert_eq!(
        records("select id, name, annualrevenue, numberofemployees, industry from account where name = 'ACME'"),
        vec![json!({
            "attributes": attrs("Account", "acme"),
            "Id": id("acme"),
            "Name": "Acme",
            "AnnualRevenue": 1000.0,
            "NumberOfEmployees": 50,
            "Industry": "Technology",
        })]
    );
}

#[test]
fn parent_paths_nest_records_with_attributes_or_null() {
    let got = records(
        "SELECT LastName, Account.Name, Account.Owner.Name, Owner.Name, Account.Industry FROM Contact WHERE LastName IN ('Smith', 'Nobody') ORDER BY LastName",
    );
    assert_eq!(
        got,
        vec![
            json!({
                "attributes": attrs("Contact", "dee"),
                "LastName": "Nobody",
                "Account": null,
                "Owner": {"attributes": attrs("User", "user"), "Name": "Ada Lovelace"},
            }),
            json!({
                "attributes": attrs("Contact", "ann"),
                "LastName": "Smith",
                "Account": {
                    "attributes": attrs("Account", "acme"),
                    "Name": "Acme",
                    "Owner": {"attributes": attrs("User", "user"), "Name": "Ada Lovelace"},
                    "Industry": "Technology",
                },
                "Owner": {"attributes": attrs("User", "user"), "Name": "Ada Lovelace"},
            }),
        ]
    );
}

#[test]
fn child_subqueries_render_totals_or_null() {
    let got = records(
        "SELECT Name, (SELECT LastName, Email FROM Contacts ORDER BY LastName) FROM Account WHERE Name IN ('Acme', 'Initech')",
    );
    assert_eq!(
        got,
        vec![
            json!({
                "attributes": attrs("Account", "acme"),
                "Name": "Acme",
                "Contacts": {"totalSize": 2, "done": true, "records": [
                    {"attributes": attrs("Contact", "bob"), "LastName": "Jones", "Email": null},
                    {"attributes": attrs("Contact", "ann"), "LastName": "Smith", "Email": "ann@acme.com"},
                ]},
            }),
            json!({"attributes": attrs("Account", "initech"), "Name": "Initech", "Contacts": null}),
        ]
    );
    // Filtered and limited child subqueries, qualified by the outer alias.
    let got = records(
        "SELECT Name, (SELECT LastName FROM a.Contacts WHERE FirstName = 'Ann' LIMIT 1) FROM Account a WHERE a.Name = 'Acme'",
    );
    assert_eq!(got[0]["Contacts"]["records"][0]["LastName"], "Smith");
    assert_eq!(got[0]["Contacts"]["totalSize"], 1);
}

#[test]
fn fields_functions_expand_the_describe_field_list() {
    let got = records("SELECT FIELDS(CUSTOM) FROM Account WHERE Name = 'Acme' LIMIT 1");
    let keys: Vec<&str> = got[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "attributes",
            "External_Id__c",
            "Region__c",
            "Credit_Limit__c",
            "Tags__c"
        ]
    );
    let all = records("SELECT FIELDS(ALL) FROM Account WHERE Name = 'Acme' LIMIT 200");
    assert_eq!(all[0]["CreatedDate"], "2024-05-15T09:00:00.000+0000");
    assert_eq!(all[0]["IsDeleted"], false);
    assert!(all[0].get("BillingCity").is_some_and(Json::is_null));
    let std = records("SELECT FIELDS(STANDARD) FROM Account WHERE Name = 'Acme'");
    assert!(std[0].get("Region__c").is_none() && std[0].get("Name").is_some());
}

#[test]
fn to_label_returns_the_picklist_label() {
    let got = records(
        "SELECT toLabel(Tags__c), toLabel(Industry) FROM Account WHERE Name IN ('Globex', 'Acme')",
    );
    assert_eq!(got[0]["Tags__c"], "Gold tier;Silver tier");
    assert_eq!(got[1]["Tags__c"], "Bronze tier");
    assert_eq!(got[1]["Industry"], "Banking");
}

#[test]
fn count_returns_only_a_total() {
    assert_eq!(
        run("SELECT COUNT() FROM Account", false).unwrap(),
        QueryOutput::Count { total_size: 5 }
    );
    assert_eq!(
        run("SELECT COUNT() FROM Account", true).unwrap(),
        QueryOutput::Count { total_size: 6 }
    );
    assert_eq!(
        run(
            "SELECT COUNT() FROM Account WHERE Region__c = 'EMEA' LIMIT 1",
            false
        )
        .unwrap(),
        QueryOutput::Count { total_size: 1 }
    );
    let plan = soql::compile(&org().data, "select count() from contact").unwrap();
    assert!(plan.is_count() && plan.object_name() == "Contact");
}

#[test]
fn aggregates_group_and_name_their_columns() {
    assert_eq!(
        records("SELECT Region__c, COUNT(Id), SUM(AnnualRevenue) total, MAX(Name), AVG(NumberOfEmployees) FROM Account GROUP BY Region__c"),
        vec![
            json!({"attributes": {"type": "AggregateResult"}, "Region__c": "AMER", "expr0": 2, "total": 500.0, "expr1": "Globex", "expr2": 10.0}),
            json!({"attributes": {"type": "AggregateResult"}, "Region__c": "APAC", "expr0": 1, "total": 250.5, "expr1": "acme labs", "expr2": 5.0}),
            json!({"attributes": {"type": "AggregateResult"}, "Region__c": "EMEA", "expr0": 2, "total": 1000.0, "expr1": "Initech", "expr2": 50.0}),
        ]
    );
    assert_eq!(
        records("SELECT COUNT(Id) n, COUNT(Industry), COUNT_DISTINCT(Industry), MIN(CreatedDate) FROM Account"),
        vec![json!({"attributes": {"type": "AggregateResult"}, "n": 5, "expr0": 3, "expr1": 2, "expr2": "2023-12-31T23:59:59.000+0000"})]
    );
    // No rows: one record without GROUP BY, none with it.
    assert_eq!(
        records("SELECT COUNT(Id), SUM(AnnualRevenue) FROM Account WHERE Name = 'none'"),
        vec![json!({"attributes": {"type": "AggregateResult"}, "expr0": 0, "expr1": null})]
    );
    assert!(records(
        "SELECT Industry, COUNT(Id) FROM Account WHERE Name = 'none' GROUP BY Industry"
    )
    .is_empty());
    // Parent fields group under their own name.
    assert_eq!(
        records("SELECT Account.Name, COUNT(Id) c FROM Contact GROUP BY Account.Name"),
        vec![
            json!({"attributes": {"type": "AggregateResult"}, "Name": null, "c": 1}),
            json!({"attributes": {"type": "AggregateResult"}, "Name": "Acme", "c": 2}),
            json!({"attributes": {"type": "AggregateResult"}, "Name": "Globex", "c": 1}),
        ]
    );
    assert!(soql::compile(&org().data, "SELECT COUNT(Id) FROM Account")
        .unwrap()
        .is_aggregate());
}

#[test]
fn having_and_ordering_by_aggregates() {
    assert_eq!(
        records("SELECT Region__c r, COUNT(Id) FROM Account GROUP BY Region__c HAVING COUNT(Id) > 1 ORDER BY COUNT(Id) DESC, Region__c DESC"),
        vec![
            json!({"attributes": {"type": "AggregateResult"}, "r": "EMEA", "expr0": 2}),
            json!({"attributes": {"type": "AggregateResult"}, "r": "AMER", "expr0": 2}),
        ]
    );
    assert_eq!(
        records("SELECT Industry, SUM(AnnualRevenue) FROM Account GROUP BY Industry ORDER BY Industry NULLS LAST LIMIT 2"),
        vec![
            json!({"attributes": {"type": "AggregateResult"}, "Industry": "Banking", "expr0": 500.0}),
            json!({"attributes": {"type": "AggregateResult"}, "Industry": "Technology", "expr0": 1250.5}),
        ]
    );
    assert_eq!(
        run("SELECT COUNT() FROM Account GROUP BY Region__c", false).unwrap(),
        QueryOutput::Count { total_size: 3 }
    );
}

// ---- WHERE ----

#[test]
fn comparison_operators_and_nulls() {
    let cases: &[(&str, &[&str])] = &[
        ("WHERE Name = 'acme'", &["Acme"]),
        (
            "WHERE Name != 'Acme'",
            &["Globex", "Initech", "acme labs", "50% Off_Sale"],
        ),
        (
            "WHERE Industry <> 'Technology'",
            &["Globex", "Initech", "50% Off_Sale"],
        ),
        ("WHERE Industry = null", &["Initech", "50% Off_Sale"]),
        ("WHERE Industry != null", &["Acme", "Globex", "acme labs"]),
        ("WHERE AnnualRevenue > 500", &["Acme"]),
        ("WHERE AnnualRevenue >= 500", &["Acme", "Globex"]),
        ("WHERE AnnualRevenue < 500.0", &["acme labs"]),
        ("WHERE AnnualRevenue <= 250.5", &["acme labs"]),
        (
            "WHERE NumberOfEmployees > 5 AND NumberOfEmployees < 50",
            &["Globex"],
        ),
        ("WHERE Name > 'b' AND Name < 'H'", &["Globex"]),
        (
            "WHERE IsDeleted = false AND Region__c = 'AMER'",
            &["Globex", "50% Off_Sale"],
        ),
        (
            "WHERE Name IN ('Acme', 'GLOBEX', 'nope')",
            &["Acme", "Globex"],
        ),
        (
            "WHERE Industry NOT IN ('Technology')",
            &["Globex", "Initech", "50% Off_Sale"],
        ),
        (
            "WHERE Industry IN ('Banking', null)",
            &["Globex", "Initech", "50% Off_Sale"],
        ),
        (
            "WHERE (Region__c = 'EMEA' OR Region__c = 'APAC') AND Industry = 'Technology'",
            &["Acme", "acme labs"],
        ),
        (
            "WHERE Region__c = 'AMER' OR (Industry = 'Technology' AND NumberOfEmployees < 10)",
            &["Globex", "acme labs", "50% Off_Sale"],
        ),
        (
            "WHERE NOT Region__c = 'EMEA'",
            &["Globex", "acme labs", "50% Off_Sale"],
        ),
        ("WHERE Name LIKE 'acme%'", &["Acme", "acme labs"]),
        ("WHERE Name LIKE '%E_'", &["Globex"]),
        (
            "WHERE Region__c = 'EMEA' AND (NOT Name LIKE 'A%')",
            &["Initech"],
        ),
        (
            "WHERE Rating = 'Hot' AND Owner.Name = 'Ada Lovelace'",
            &["Acme"],
        ),
        ("WHERE Owner.FirstName = 'Grace'", &[]),
    ];
    for (clause, want) in cases {
        assert_eq!(names(clause), *want, "{clause}");
    }
}

#[test]
fn comparisons_across_parent_paths() {
    let got: Vec<Json> =
        records("SELECT LastName FROM Contact WHERE Account.Name = 'Acme' ORDER BY LastName")
            .iter()
            .map(|r| r["LastName"].clone())
            .collect();
    assert_eq!(got, [json!("Jones"), json!("Smith")]);
    // A null parent makes the path null: `!=` matches it, `=` does not.
    let got: Vec<Json> =
        records("SELECT LastName FROM Contact WHERE Account.Name != 'Acme' ORDER BY LastName")
            .iter()
            .map(|r| r["LastName"].clone())
            .collect();
    assert_eq!(got, [json!("Nobody"), json!("Young")]);
}

#[test]
fn like_escapes_match_wildcards_literally() {
    assert_eq!(names(r"WHERE Name LIKE '50\% %'"), ["50% Off_Sale"]);
    assert_eq!(names(r"WHERE Name LIKE '%\_Sale'"), ["50% Off_Sale"]);
    assert!(names(r"WHERE Name LIKE '50\%'").is_empty());
    assert_eq!(names(r"WHERE Name = 'it\'s' OR Name = 'Acme'"), ["Acme"]);
}

#[test]
fn includes_and_excludes_on_multipicklists() {
    assert_eq!(names("WHERE Tags__c INCLUDES ('gold')"), ["Acme"]);
    assert_eq!(
        names("WHERE Tags__c INCLUDES ('Gold;Bronze', 'Bronze')"),
        ["Globex"]
    );
    assert_eq!(names("WHERE Tags__c INCLUDES ('Silver;Gold')"), ["Acme"]);
    assert_eq!(
        names("WHERE Tags__c EXCLUDES ('Gold')"),
        ["Globex", "Initech", "acme labs", "50% Off_Sale"]
    );
}

#[test]
fn semi_joins_and_anti_joins() {
    assert_eq!(
        names("WHERE Id IN (SELECT AccountId FROM Contact)"),
        ["Acme", "Globex"]
    );
    assert_eq!(
        names("WHERE Id IN (SELECT AccountId FROM Contact WHERE FirstName = 'Cy')"),
        ["Globex"]
    );
    assert_eq!(
        names("WHERE Id NOT IN (SELECT AccountId FROM Opportunity) ORDER BY Name"),
        ["50% Off_Sale", "acme labs", "Initech"]
    );
    let got = records("SELECT LastName FROM Contact WHERE AccountId IN (SELECT Id FROM Account WHERE Region__c = 'AMER')");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["LastName"], "Young");
}

// ---- dates ----

#[test]
fn relative_date_literals_use_the_execution_instant() {
    let cases: &[(&str, &[&str])] = &[
        ("WHERE CreatedDate = TODAY", &["Acme"]),
        ("WHERE CreatedDate = YESTERDAY", &["Globex"]),
        ("WHERE CreatedDate = TOMORROW", &["50% Off_Sale"]),
        ("WHERE CreatedDate = LAST_N_DAYS:1", &["Acme", "Globex"]),
        ("WHERE CreatedDate > TODAY", &["50% Off_Sale"]),
        ("WHERE CreatedDate >= TODAY", &["Acme", "50% Off_Sale"]),
        ("WHERE CreatedDate < YESTERDAY", &["Initech", "acme labs"]),
        (
            "WHERE CreatedDate <= YESTERDAY",
            &["Globex", "Initech", "acme labs"],
        ),
        (
            "WHERE CreatedDate = THIS_WEEK",
            &["Acme", "Globex", "50% Off_Sale"],
        ),
        ("WHERE CreatedDate = LAST_MONTH", &["Initech"]),
        ("WHERE CreatedDate < THIS_MONTH", &["Initech", "acme labs"]),
        ("WHERE CreatedDate = LAST_YEAR", &["acme labs"]),
        (
            "WHERE CreatedDate = THIS_YEAR",
            &["Acme", "Globex", "Initech", "50% Off_Sale"],
        ),
        (
            "WHERE CreatedDate = THIS_QUARTER",
            &["Acme", "Globex", "Initech", "50% Off_Sale"],
        ),
        (
            "WHERE CreatedDate = LAST_N_MONTHS:6",
            &["Initech", "acme labs"],
        ),
        ("WHERE CreatedDate = NEXT_N_DAYS:2", &["50% Off_Sale"]),
        ("WHERE CreatedDate = N_DAYS_AGO:1", &["Globex"]),
        (
            "WHERE CreatedDate != LAST_90_DAYS",
            &["acme labs", "50% Off_Sale"],
        ),
        ("WHERE CreatedDate = LAST_N_WEEKS:4", &["Initech"]),
    ];
    for (clause, want) in cases {
        assert_eq!(names(clause), *want, "{clause}");
    }
    let opps = |w: &str| -> Vec<String> {
        records(&format!("SELECT Name FROM Opportunity WHERE {w}"))
            .iter()
            .map(|r| r["Name"].as_str().unwrap_or("").to_string())
            .collect()
    };
    assert_eq!(opps("CloseDate = TODAY"), ["Big deal"]);
    assert_eq!(opps("CloseDate = NEXT_MONTH"), ["Bigger deal"]);
    assert_eq!(opps("CloseDate < THIS_WEEK"), ["Small deal"]);
    assert_eq!(opps("CloseDate > LAST_N_DAYS:30"), ["Bigger deal"]);
    assert_eq!(
        opps("CloseDate = LAST_N_DAYS:30 AND Amount = null"),
        ["Small deal"]
    );
}

#[test]
fn date_and_datetime_literals() {
    assert_eq!(
        names("WHERE CreatedDate > 2024-05-14T12:00:00Z"),
        ["Acme", "50% Off_Sale"]
    );
    assert_eq!(
        names("WHERE CreatedDate = 2024-05-15T11:00:00.000+02:00"),
        ["Acme"]
    );
    assert_eq!(
        names("WHERE SystemModstamp >= 2024-05-14T12:00:00-00:00 ORDER BY SystemModstamp DESC"),
        ["50% Off_Sale", "Acme", "Globex"]
    );
    let got = records("SELECT LastName, Birthdate FROM Contact WHERE Birthdate = 1990-05-15");
    assert_eq!(got[0]["Birthdate"], "1990-05-15");
    let got = records(
        "SELECT Name FROM Opportunity WHERE CloseDate >= 2024-05-15 ORDER BY CloseDate DESC",
    );
    assert_eq!(got.len(), 2);
    assert_eq!(got[0]["Name"], "Bigger deal");
}

// ---- ordering, paging, recycle bin, indexes ----

#[test]
fn ordering_is_case_insensitive_with_salesforce_null_placement() {
    assert_eq!(
        names("ORDER BY Name"),
        ["50% Off_Sale", "Acme", "acme labs", "Globex", "Initech"]
    );
    assert_eq!(
        names("ORDER BY Industry, Name DESC"),
        ["Initech", "50% Off_Sale", "Globex", "acme labs", "Acme"]
    );
    assert_eq!(
        names("ORDER BY Industry DESC, Name"),
        ["Acme", "acme labs", "Globex", "50% Off_Sale", "Initech"]
    );
    assert_eq!(
        names("ORDER BY AnnualRevenue ASC NULLS LAST, Name"),
        ["acme labs", "Globex", "Acme", "50% Off_Sale", "Initech"]
    );
    assert_eq!(
        names("ORDER BY AnnualRevenue DESC NULLS FIRST, Name"),
        ["50% Off_Sale", "Initech", "Acme", "Globex", "acme labs"]
    );
    let got: Vec<Json> =
        records("SELECT LastName FROM Contact ORDER BY Account.Name DESC NULLS LAST, LastName")
            .iter()
            .map(|r| r["LastName"].clone())
            .collect();
    assert_eq!(
        got,
        [
            json!("Young"),
            json!("Jones"),
            json!("Smith"),
            json!("Nobody")
        ]
    );
    // Without ORDER BY: creation order.
    assert_eq!(
        names(""),
        ["Acme", "Globex", "Initech", "acme labs", "50% Off_Sale"]
    );
    // Ids order by their sequence.
    assert_eq!(
        names("ORDER BY Id DESC LIMIT 2"),
        ["50% Off_Sale", "acme labs"]
    );
}

#[test]
fn limit_and_offset() {
    assert_eq!(names("ORDER BY Name LIMIT 2"), ["50% Off_Sale", "Acme"]);
    assert_eq!(
        names("ORDER BY Name LIMIT 2 OFFSET 2"),
        ["acme labs", "Globex"]
    );
    assert_eq!(names("LIMIT 2 OFFSET 4"), ["50% Off_Sale"]);
    assert!(names("LIMIT 0").is_empty());
    assert!(names("OFFSET 2000").is_empty());
}

#[test]
fn deleted_rows_appear_only_with_query_all() {
    assert!(names("WHERE Name = 'Gone Co'").is_empty());
    let all = records_with(
        "SELECT Name, IsDeleted FROM Account WHERE IsDeleted = true",
        true,
    );
    assert_eq!(
        all,
        vec![json!({"attributes": attrs("Account", "gone"), "Name": "Gone Co", "IsDeleted": true})]
    );
    assert!(records_with("SELECT Name FROM Account WHERE IsDeleted = true", false).is_empty());
    // queryAll by external id and by Id still finds the deleted row.
    let by_ext = records_with(
        "SELECT Id FROM Account WHERE External_Id__c = 'A-006'",
        true,
    );
    assert_eq!(by_ext.len(), 1);
    assert!(records("SELECT Id FROM Account WHERE External_Id__c = 'A-006'").is_empty());
    let q = format!("SELECT Name FROM Account WHERE Id = '{}'", id("gone"));
    assert_eq!(records_with(&q, true).len(), 1);
    assert!(records(&q).is_empty());
    // The cascade-deleted contact.
    assert_eq!(
        records_with("SELECT LastName FROM Contact WHERE LastName = 'Gone'", true).len(),
        1
    );
}

#[test]
fn indexed_lookups_by_id_external_id_and_reference() {
    assert_eq!(names("WHERE External_Id__c = 'a-003'"), ["Initech"]);
    assert_eq!(
        names("WHERE External_Id__c IN ('A-002', 'A-001', 'A-404') ORDER BY Name"),
        ["Acme", "Globex"]
    );
    assert_eq!(
        names("WHERE External_Id__c = 'A-001' AND Region__c = 'APAC'"),
        Vec::<String>::new()
    );
    let acme = id("acme");
    let id15 = &acme[..15];
    let lower = acme.to_lowercase();
    for form in [acme, id15, lower.as_str()] {
        assert_eq!(names(&format!("WHERE Id = '{form}'")), ["Acme"], "{form}");
    }
    assert_eq!(
        names(&format!(
            "WHERE Id IN ('{}', '{}') ORDER BY Name DESC",
            id("acme"),
            id("globex")
        )),
        ["Globex", "Acme"]
    );
    // An id of another object matches nothing.
    assert!(names(&format!("WHERE Id = '{}'", id("ann"))).is_empty());
    let got = records(&format!(
        "SELECT LastName FROM Contact WHERE AccountId = '{}' ORDER BY LastName",
        id("acme")
    ));
    assert_eq!(got.len(), 2);
    assert_eq!(got[0]["LastName"], "Jones");
    let selective = |q: &str| soql::compile(&org().data, q).unwrap().is_selective();
    assert!(selective(
        "SELECT Id FROM Account WHERE External_Id__c = 'A-001'"
    ));
    assert!(selective(
        "SELECT Id FROM Account WHERE Name LIKE 'A%' AND External_Id__c IN ('A-1', 'A-2')"
    ));
    assert!(selective(&format!(
        "SELECT Id FROM Account WHERE Id = '{}'",
        id("acme")
    )));
    assert!(selective(&format!(
        "SELECT Id FROM Contact WHERE AccountId = '{}'",
        id("acme")
    )));
    assert!(selective(
        "SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact)"
    ));
    assert!(!selective("SELECT Id FROM Account WHERE Name LIKE 'A%'"));
    assert!(!selective(
        "SELECT Id FROM Account WHERE External_Id__c = 'A-001' OR Name = 'x'"
    ));
    assert!(!selective(
        "SELECT Id FROM Account WHERE External_Id__c != 'A-001'"
    ));
    // Primary-key chunking: ranges over Id.
    assert_eq!(
        names(&format!(
            "WHERE Id > '{}' ORDER BY Id LIMIT 2",
            id("globex")
        )),
        ["Initech", "acme labs"]
    );
}

#[test]
fn aliases_and_object_qualified_names() {
    assert_eq!(
        records("SELECT a.Name, a.Owner.Alias FROM Account a WHERE a.External_Id__c = 'A-001'"),
        vec![json!({
            "attributes": attrs("Account", "acme"),
            "Name": "Acme",
            "Owner": {"attributes": attrs("User", "user"), "Alias": "ada"},
        })]
    );
    assert_eq!(names("WHERE Account.Name = 'Acme'"), ["Acme"]);
    assert_eq!(
        names("WHERE Name = 'Acme' WITH SECURITY_ENFORCED FOR VIEW"),
        ["Acme"]
    );
}

#[test]
fn having_on_grouped_fields_and_scoped_queries() {
    assert_eq!(
        records("SELECT Industry, MAX(AnnualRevenue) m FROM Account USING SCOPE Everything GROUP BY Industry HAVING Industry != null AND MAX(AnnualRevenue) >= 500"),
        vec![
            json!({"attributes": {"type": "AggregateResult"}, "Industry": "Banking", "m": 500.0}),
            json!({"attributes": {"type": "AggregateResult"}, "Industry": "Technology", "m": 1000.0}),
        ]
    );
    assert_eq!(
        run("SELECT COUNT() FROM Account WHERE Id IN (SELECT AccountId FROM Opportunity WHERE Amount > 150)", false).unwrap(),
        QueryOutput::Count { total_size: 1 }
    );
    assert_eq!(
        names("WHERE toLabel(Tags__c) = 'Bronze tier' ORDER BY toLabel(Industry)"),
        ["Globex"]
    );
}

#[test]
fn bulk_csv_uses_select_order_and_dotted_names() {
    let o = org();
    let plan = soql::compile(
        &o.data,
        "SELECT Name, Account.Name, Birthdate, HasOptedOutOfEmail FROM Contact WHERE LastName IN ('Smith', 'Nobody') ORDER BY LastName DESC",
    )
    .unwrap();
    assert_eq!(
        soql::csv_columns(&plan),
        ["Name", "Account.Name", "Birthdate", "HasOptedOutOfEmail"]
    );
    let QueryOutput::Rows { nums, .. } = soql::execute(&o.data, &plan, &opts(o, false)).unwrap()
    else {
        panic!("rows")
    };
    let mut w = csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::Always)
        .from_writer(Vec::new());
    soql::render_csv(&o.data, &plan, &nums, true, &mut w).unwrap();
    let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
    assert_eq!(
        text,
        "\"Name\",\"Account.Name\",\"Birthdate\",\"HasOptedOutOfEmail\"\n\"Ann Smith\",\"Acme\",\"1990-05-15\",\"false\"\n\"Dee Nobody\",\"\",\"\",\"false\"\n"
    );
    assert!(!plan.has_child_subqueries());
    // Aggregate plans have columns but no rows to stream.
    let agg = soql::compile(
        &o.data,
        "SELECT Region__c, COUNT(Id) n FROM Account GROUP BY Region__c",
    )
    .unwrap();
    assert_eq!(soql::csv_columns(&agg), ["Region__c", "n"]);
    let sub = soql::compile(
        &o.data,
        "SELECT Name, (SELECT Id FROM Contacts) FROM Account",
    )
    .unwrap();
    assert!(sub.has_child_subqueries() && !sub.is_aggregate());
}

#[test]
fn plans_survive_between_pages() {
    // A cursor keeps the plan and renders later pages from the row numbers.
    let o = org();
    let plan = soql::compile(&o.data, "SELECT Name FROM Account ORDER BY Name").unwrap();
    let QueryOutput::Rows { nums, total_size } =
        soql::execute(&o.data, &plan, &opts(o, false)).unwrap()
    else {
        panic!("rows")
    };
    assert_eq!(total_size, 5);
    let page2 = soql::render(&o.data, &plan, &nums[3..], &opts(o, false));
    assert_eq!(page2[0]["Name"], "Globex");
    assert_eq!(page2.len(), 2);
}

// ---- errors ----

#[test]
fn syntax_errors_quote_the_query_with_a_caret() {
    assert_eq!(
        err("SELECT Id FORM Account"),
        (
            "MALFORMED_QUERY".into(),
            "\nSELECT Id FORM Account\n          ^\nERROR at Row:1:Column:11\nunexpected token: FORM".into()
        )
    );
    assert_eq!(
        err("   "),
        (
            "MALFORMED_QUERY".into(),
            "A query string has to be specified".into()
        )
    );
    assert_eq!(
        err("SELECT Id FROM Account WHERE"),
        (
            "MALFORMED_QUERY".into(),
            "\nSELECT Id FROM Account WHERE\n                            ^\nERROR at Row:1:Column:29\nunexpected token: '<EOF>'".into()
        )
    );
    assert_eq!(
        err("SELECT Id FROM Contact WHERE AccountId = 'x' AND LastName LIKE 'a' OR Email LIKE 'b'").1,
        "\nWHERE AccountId = 'x' AND LastName LIKE 'a' OR Email LIKE 'b'\n                                            ^\nERROR at Row:1:Column:68\nunexpected token: OR"
    );
    assert_eq!(
        err("SELECT Id FROM Account WHERE Name <> NULL AND NOT (AnnualRevenue > 0)").1,
        "\nId FROM Account WHERE Name <> NULL AND NOT (AnnualRevenue > 0)\n                                       ^\nERROR at Row:1:Column:47\nunexpected token: NOT"
    );
    assert_eq!(
        err("SELECT Id\nFROM Account\nWHERE CreatedDate > 2024-01-01T00:00:00 00:00").1,
        "\nWHERE CreatedDate > 2024-01-01T00:00:00 00:00\n                                       ^\nERROR at Row:3:Column:39\nline 3:39 no viable alternative at character ' '"
    );
    assert_eq!(
        err("SELECT Id FROM Account WHERE Name = :name").1,
        "\nSELECT Id FROM Account WHERE Name = :name\n                                    ^\nERROR at Row:1:Column:37\nBind variables only allowed in Apex code"
    );
    assert_eq!(
        err(r"SELECT Id FROM Account WHERE Name = 'a\qb'").1,
        "\nSELECT Id FROM Account WHERE Name = 'a\\qb'\n                                    ^\nERROR at Row:1:Column:37\nInvalid string literal 'a\\qb'. Illegal character sequence '\\q' in string literal."
    );
}

#[test]
fn name_errors_match_salesforce() {
    assert_eq!(
        err("SELECT Bogus FROM Contact"),
        (
            "INVALID_FIELD".into(),
            "\nSELECT Bogus FROM Contact\n       ^\nERROR at Row:1:Column:8\nNo such column 'Bogus' on entity 'Contact'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.".into()
        )
    );
    assert_eq!(
        err("SELECT Id FROM Foo"),
        (
            "INVALID_TYPE".into(),
            "\nSELECT Id FROM Foo\n               ^\nERROR at Row:1:Column:16\nsObject type 'Foo' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.".into()
        )
    );
    assert_eq!(
        err("SELECT Foo.Name FROM Contact"),
        (
            "INVALID_FIELD".into(),
            "\nSELECT Foo.Name FROM Contact\n       ^\nERROR at Row:1:Column:8\nDidn't understand relationship 'Foo' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.".into()
        )
    );
    let (code, msg) = err("SELECT Account.Bogus FROM Contact");
    assert_eq!(code, "INVALID_FIELD");
    assert!(msg.ends_with("No such column 'Bogus' on entity 'Account'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names."));
    let (code, msg) = err("SELECT Id, (SELECT Id FROM Contactz) FROM Account");
    assert_eq!(code, "INVALID_TYPE");
    assert!(msg.contains("Didn't understand relationship 'Contactz' in FROM part of query call."));
    assert_eq!(
        err("SELECT Id, FIELDS(ALL) FROM Account LIMIT 10"),
        (
            "INVALID_FIELD".into(),
            "duplicate field selected: Id".into()
        )
    );
}

#[test]
fn value_errors_match_salesforce() {
    assert_eq!(
        err("SELECT Id FROM Account WHERE CreatedDate > 2024-01-01"),
        (
            "INVALID_FIELD".into(),
            "\nSELECT Id FROM Account WHERE CreatedDate > 2024-01-01\n                                           ^\nERROR at Row:1:Column:44\nvalue of filter criterion for field 'CreatedDate' must be of type dateTime and should not be enclosed in quotes".into()
        )
    );
    assert!(err("SELECT Id FROM Opportunity WHERE CloseDate = '2024-01-01'")
        .1
        .ends_with("value of filter criterion for field 'CloseDate' must be of type date and should not be enclosed in quotes"));
    assert!(err("SELECT Id FROM Account WHERE Name = 5")
        .1
        .ends_with("value of filter criterion for field 'Name' must be of type string and should be enclosed in quotes"));
    assert!(err("SELECT Id FROM Account WHERE IsDeleted = 'true'")
        .1
        .ends_with("must be of type boolean and should not be enclosed in quotes"));
    assert_eq!(
        err("SELECT Id FROM Account WHERE Id = '123'"),
        (
            "INVALID_QUERY_FILTER_OPERATOR".into(),
            "\nSELECT Id FROM Account WHERE Id = '123'\n                             ^\nERROR at Row:1:Column:30\ninvalid ID field: 123".into()
        )
    );
    let e = err("SELECT Id FROM Account OFFSET 2001");
    assert_eq!(e.0, "NUMBER_OUTSIDE_VALID_RANGE");
    assert!(e.1.ends_with("\nMaximum SOQL offset allowed is 2000"));
    assert_eq!(
        err("SELECT FIELDS(ALL) FROM Account"),
        (
            "MALFORMED_QUERY".into(),
            "\nSELECT FIELDS(ALL) FROM Account\n       ^\nERROR at Row:1:Column:8\nThe SOQL FIELDS function must have a LIMIT of at most 200".into()
        )
    );
    assert!(err("SELECT FIELDS(CUSTOM) FROM Account LIMIT 201")
        .1
        .contains("LIMIT of at most 200"));
    assert!(err("SELECT Name, COUNT(Id) FROM Account")
        .1
        .ends_with("Field must be grouped or aggregated: Name"));
    assert!(err("SELECT Id FROM Account WHERE Description = 'x'")
        .1
        .ends_with("field 'Description' can not be filtered in a query call"));
    assert!(err("SELECT Id FROM Account ORDER BY Description")
        .1
        .ends_with("field 'Description' can not be sorted in a query call"));
    assert!(
        err("SELECT AnnualRevenue, COUNT(Id) FROM Account GROUP BY AnnualRevenue")
            .1
            .ends_with("field 'AnnualRevenue' can not be grouped in a query call")
    );
    assert!(err("SELECT Id FROM Account WHERE Name INCLUDES ('a')")
        .1
        .ends_with("includes or excludes operator only valid on multipicklist field"));
    assert!(err(
        "SELECT Id FROM Account WHERE Name = 'a' OR Id IN (SELECT AccountId FROM Contact)"
    )
    .1
    .contains("Semi join sub-selects are only allowed at the top level WHERE expressions"));
    assert!(err("SELECT Name n FROM Account")
        .1
        .ends_with("Only aggregate expressions use field aliasing"));
    assert!(err("SELECT Id FROM Contact WHERE Account.Owner.CreatedBy.LastModifiedBy.CreatedBy.Owner.Name = 'x'")
        .1
        .contains("more than 5 levels away from the root entity object"));
    assert_eq!(err("SELECT Id FROM Order_Event__e").0, "INVALID_TYPE");
}

#[test]
fn deep_nesting_is_rejected_without_exhausting_the_stack() {
    let deep = format!(
        "SELECT Id FROM Account WHERE {}Name = 'x'{}",
        "(".repeat(50_000),
        ")".repeat(50_000)
    );
    assert_eq!(err(&deep).0, "MALFORMED_QUERY");
    let mut sub = "SELECT Id FROM Contact".to_string();
    for _ in 0..100 {
        sub = format!("SELECT Id, ({sub}) FROM Account");
    }
    assert_eq!(err(&sub).0, "MALFORMED_QUERY");
    // Moderate nesting is fine.
    assert_eq!(names("WHERE ((((Name = 'Acme'))))"), ["Acme"]);
}

#[test]
fn fingerprints_ignore_literals_and_spacing() {
    let a = soql::fingerprint("select Id from Account where SystemModstamp > 2024-01-01T00:00:00Z order by SystemModstamp limit 2000");
    let b = soql::fingerprint("SELECT Id\n  FROM Account   WHERE SystemModstamp>2024-05-15T10:30:00.123+02:00 ORDER BY SystemModstamp LIMIT 200");
    assert_eq!(a, b);
    assert_eq!(
        a,
        "SELECT Id FROM Account WHERE SystemModstamp > ? ORDER BY SystemModstamp LIMIT ?"
    );
    assert_ne!(a, soql::fingerprint("SELECT Id FROM Account WHERE LastModifiedDate > 2024-01-01T00:00:00Z ORDER BY SystemModstamp LIMIT 2000"));
}

// ---- properties ----

/// Fragments that produce interesting parser states when shuffled together.
const SOUP: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "AND",
    "OR",
    "NOT",
    "IN",
    "LIKE",
    "INCLUDES",
    "GROUP",
    "BY",
    "ORDER",
    "HAVING",
    "LIMIT",
    "OFFSET",
    "ASC",
    "DESC",
    "NULLS",
    "FIRST",
    "LAST",
    "FOR",
    "VIEW",
    "WITH",
    "Id",
    "Name",
    "Account",
    "Contact",
    "Contacts",
    "Account.Name",
    "Owner.Name",
    "AccountId",
    "CreatedDate",
    "Tags__c",
    "Region__c",
    "COUNT",
    "SUM",
    "MAX",
    "FIELDS",
    "ALL",
    "toLabel",
    "TYPEOF",
    "(",
    ")",
    ",",
    "=",
    "!=",
    "<",
    ">=",
    "<>",
    ":",
    ".",
    "'x'",
    "'%\\_'",
    "'",
    "\\",
    "5",
    "-1.5",
    "2024-01-01",
    "2024-01-01T00:00:00Z",
    "TODAY",
    "LAST_N_DAYS:3",
    "NEXT_N_WEEKS",
    "null",
    "TRUE",
    "\"",
    "#",
    "é",
    "\n",
    "2001",
    "201",
];

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(SOUP), 0..40).prop_map(|v| v.join(" "))
}

/// A query template with literal slots and whitespace slots.
fn template(lits: &[String], ws: &[String]) -> String {
    let w = |i: usize| ws[i % ws.len()].as_str();
    format!(
        "SELECT{}Id,{}Name{}FROM Account{}WHERE{}Name{}={}{}{}AND CreatedDate{}>{}{}{}AND NumberOfEmployees IN{}({}{},{}{}){}LIMIT{}{}",
        w(0), w(1), w(2), w(3), w(4), w(5), w(6), lits[0], w(7), w(8), w(9), lits[1], w(10),
        w(11), w(12), lits[2], w(13), lits[3], w(14), w(15), lits[4]
    )
}

fn ws() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(&[" ", "  ", "\t", "\n", "\r\n"][..]),
        1..3,
    )
    .prop_map(|v| v.concat())
}

fn literals() -> impl Strategy<Value = Vec<String>> {
    (
        "[a-zA-Z0-9 %_]{0,12}",
        (2000i32..2030, 1u32..13, 1u32..29, 0u32..24),
        any::<i32>(),
        any::<i32>(),
        0u32..50_000,
    )
        .prop_map(|(s, (y, m, d, h), a, b, l)| {
            vec![
                format!("'{s}'"),
                format!("{y:04}-{m:02}-{d:02}T{h:02}:00:00Z"),
                a.to_string(),
                b.to_string(),
                l.to_string(),
            ]
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(q in any::<String>()) {
        let _ = soql::parse(&q);
        let _ = soql::compile(&org().data, &q);
        let _ = soql::fingerprint(&q);
    }

    #[test]
    fn token_soups_never_panic(body in soup()) {
        let o = org();
        for q in [body.clone(), format!("SELECT {body}"), format!("SELECT Id FROM Account WHERE {body}")] {
            let _ = soql::fingerprint(&q);
            if let Ok(plan) = soql::compile(&o.data, &q) {
                if let Ok(QueryOutput::Rows { nums, .. }) = soql::execute(&o.data, &plan, &opts(o, true)) {
                    let _ = soql::render(&o.data, &plan, &nums, &opts(o, true));
                    let mut w = csv::Writer::from_writer(Vec::new());
                    let _ = soql::render_csv(&o.data, &plan, &nums, true, &mut w);
                }
            }
        }
    }

    #[test]
    fn fingerprint_is_stable_under_literal_and_whitespace_changes(
        l1 in literals(), l2 in literals(),
        w1 in prop::collection::vec(ws(), 16), w2 in prop::collection::vec(ws(), 16),
    ) {
        let a = template(&l1, &w1);
        let b = template(&l2, &w2);
        prop_assert_eq!(soql::fingerprint(&a), soql::fingerprint(&b));
        prop_assert!(soql::compile(&org().data, &a).is_ok(), "{}", a);
    }
}
