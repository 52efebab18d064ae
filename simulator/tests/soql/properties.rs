//! Properties: no input panics the engine; fingerprints ignore literals and whitespace.

use super::*;
use proptest::prelude::*;

/// Fragments that produce interesting parser states when shuffled together.
#[rustfmt::skip]
const SOUP: &[&str] = &[
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "INCLUDES", "GROUP", "BY", "ORDER",
    "HAVING", "LIMIT", "OFFSET", "ASC", "DESC", "NULLS", "FIRST", "LAST", "FOR", "VIEW", "WITH",
    "Id", "Name", "Account", "Contact", "Contacts", "Account.Name", "Owner.Name", "AccountId",
    "CreatedDate", "Tags__c", "Region__c", "COUNT", "SUM", "MAX", "FIELDS", "ALL", "toLabel",
    "TYPEOF", "(", ")", ",", "=", "!=", "<", ">=", "<>", ":", ".", "'x'", "'%\\_'", "'", "\\", "5",
    "-1.5", "2024-01-01", "2024-01-01T00:00:00Z", "TODAY", "LAST_N_DAYS:3", "NEXT_N_WEEKS", "null",
    "TRUE", "\"", "#", "é", "\n", "2001", "201",
];

#[rustfmt::skip]
const WHERE_FIELDS: &[&str] = &[
    "Name", "Industry", "AnnualRevenue", "NumberOfEmployees", "CreatedDate", "Owner.Name", "Id",
    "External_Id__c", "Tags__c", "IsDeleted", "toLabel(Industry)", "OwnerId",
];
const SCALAR_OPS: &[&str] = &["=", "!=", "<", ">=", "LIKE"];
const LIST_OPS: &[&str] = &["IN", "NOT IN", "INCLUDES", "EXCLUDES"];
#[rustfmt::skip]
const SCALARS: &[&str] = &[
    "'Acme'", "'a%'", "5", "1000.0", "TRUE", "null", "TODAY", "LAST_N_DAYS:3", "2024-05-15T00:00:00Z",
    "2024-05-15", "''", "'Gold;Silver'",
];
#[rustfmt::skip]
const LISTS: &[&str] = &[
    "('Acme', 'Globex')", "('Gold;Silver', 'Bronze')", "(5, 10, null)", "('')",
    "(SELECT AccountId FROM Contact)", "(SELECT Id FROM Contact)",
];
#[rustfmt::skip]
const SELECTS: &[&str] = &[
    "Id", "Name", "Owner.Name", "CreatedDate", "toLabel(Tags__c)", "(SELECT LastName FROM Contacts)",
    "AnnualRevenue", "IsDeleted",
];
#[rustfmt::skip]
const ORDERS: &[&str] = &[
    "", " ORDER BY Name", " ORDER BY AnnualRevenue DESC NULLS LAST, Id", " ORDER BY Owner.Name, CreatedDate DESC",
];

/// Field expressions that type-check, so most generated queries run.
#[rustfmt::skip]
const TYPED: &[&str] = &[
    "Name = 'Acme'", "Name LIKE 'a%'", "Name IN ('Acme', 'Globex')", "Name != null", "Name < 'M'",
    "Industry = null", "Industry != 'Technology'", "AnnualRevenue > 500", "AnnualRevenue = null",
    "AnnualRevenue IN (250.5, 1000)", "NumberOfEmployees >= 10", "NumberOfEmployees IN (5, 10, null)",
    "CreatedDate = TODAY", "CreatedDate > LAST_N_DAYS:3", "CreatedDate < 2024-05-15T00:00:00Z",
    "Owner.Name = 'Ada Lovelace'", "Owner.Name LIKE 'A%'", "Id != null", "Id = ''",
    "Id IN (SELECT AccountId FROM Contact)", "Id NOT IN (SELECT AccountId FROM Opportunity)",
    "External_Id__c = 'A-001'", "External_Id__c IN ('A-001', 'a-002')", "Tags__c INCLUDES ('Gold;Silver', 'Bronze')",
    "Tags__c EXCLUDES ('Gold')", "IsDeleted = TRUE", "IsDeleted = false", "toLabel(Industry) = 'Banking'",
];

/// Random condition trees over real fields: mostly well-typed, some type errors.
fn condition() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        6 => prop::sample::select(TYPED).prop_map(str::to_string),
        1 => (
            prop::sample::select(WHERE_FIELDS),
            prop::sample::select(SCALAR_OPS),
            prop::sample::select(SCALARS),
        )
            .prop_map(|(f, o, v)| format!("{f} {o} {v}")),
        1 => (
            prop::sample::select(WHERE_FIELDS),
            prop::sample::select(LIST_OPS),
            prop::sample::select(LISTS),
        )
            .prop_map(|(f, o, v)| format!("{f} {o} {v}")),
    ];
    leaf.prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4)
                .prop_map(|v| format!("({})", v.join(" AND "))),
            prop::collection::vec(inner.clone(), 2..4)
                .prop_map(|v| format!("({})", v.join(" OR "))),
            inner.prop_map(|c| format!("(NOT {c})")),
        ]
    })
}

fn well_formed() -> impl Strategy<Value = (String, usize)> {
    (
        prop::sample::subsequence(SELECTS, 1..4),
        condition(),
        prop::sample::select(ORDERS),
        0usize..6,
        0usize..3,
    )
        .prop_map(|(fields, cond, order, limit, offset)| {
            let q = format!(
                "SELECT {} FROM Account WHERE {cond}{order} LIMIT {limit} OFFSET {offset}",
                fields.join(", ")
            );
            (q, limit)
        })
}

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
    fn well_formed_queries_run_and_respect_limit((q, limit) in well_formed()) {
        let o = org();
        for include_deleted in [false, true] {
            let Ok(plan) = soql::compile(&o.data, &q) else { continue };
            match soql::execute(&o.data, &plan, &opts(o, include_deleted)) {
                Ok(QueryOutput::Rows { nums, total_size }) => {
                    prop_assert!(nums.len() <= limit && total_size == nums.len(), "{}", q);
                    let recs = soql::render(&o.data, &plan, &nums, &opts(o, include_deleted));
                    prop_assert_eq!(recs.len(), nums.len());
                }
                other => prop_assert!(false, "{q}: {other:?}"),
            }
        }
    }

    #[test]
    fn index_lookups_agree_with_scans(cond in condition(), include_deleted in any::<bool>()) {
        let o = org();
        let indexed = format!("SELECT Id FROM Account WHERE External_Id__c IN ('A-001', 'a-002', 'A-004', 'A-006') AND {cond}");
        let scanned = format!("SELECT Id, External_Id__c FROM Account WHERE {cond}");
        let (Ok(p1), Ok(p2)) = (soql::compile(&o.data, &indexed), soql::compile(&o.data, &scanned)) else {
            return Ok(());
        };
        prop_assert!(p1.is_selective());
        let run = |p: &std::sync::Arc<soql::Plan>| match soql::execute(&o.data, p, &opts(o, include_deleted)) {
            Ok(QueryOutput::Rows { nums, .. }) => soql::render(&o.data, p, &nums, &opts(o, include_deleted)),
            _ => Vec::new(),
        };
        let wanted = ["a-001", "a-002", "a-004", "a-006"];
        let from_scan: Vec<Json> = run(&p2)
            .into_iter()
            .filter(|r| r["External_Id__c"].as_str().is_some_and(|e| wanted.contains(&e.to_lowercase().as_str())))
            .map(|r| r["Id"].clone())
            .collect();
        let from_index: Vec<Json> = run(&p1).into_iter().map(|r| r["Id"].clone()).collect();
        prop_assert_eq!(from_index, from_scan, "{}", cond);
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
