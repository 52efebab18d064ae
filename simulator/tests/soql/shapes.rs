//! The REST and CSV shapes of results: attributes, nesting, subqueries, FIELDS(), aggregates.

use super::*;

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
