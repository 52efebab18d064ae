//! The SOQL engine against a small org: exact REST shapes, filters, ordering, aggregates, date
//! literals at a fixed instant, queryAll, index lookups, Salesforce's error texts, and properties
//! (no panics on any input, stable fingerprints).

// One test binary; its modules live in `tests/soql/` (a crate root resolves `mod` beside itself).
#[path = "soql/errors.rs"]
mod errors;
#[path = "soql/filters.rs"]
mod filters;
#[path = "soql/properties.rs"]
mod properties;
#[path = "soql/shapes.rs"]
mod shapes;

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
