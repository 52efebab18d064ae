//! Salesforce's error codes and caret texts, nesting limits, fingerprints.

use super::*;

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
        .ends_with("only aggregate expressions use field aliasing"));
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
