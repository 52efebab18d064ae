//! Properties: no input panics the engine; fingerprints ignore literals and whitespace.

use super::*;
use proptest::prelude::*;

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
