//! WHERE, ORDER BY, LIMIT/OFFSET, relative dates, queryAll and index lookups.

use super::*;

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
