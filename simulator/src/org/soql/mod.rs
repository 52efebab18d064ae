//! SOQL: the query language of the REST `query`/`queryAll` resources, Bulk 2.0 query jobs and
//! composite subrequests.
//!
//! # Layout
//!
//! | module | what lives there |
//! |---|---|
//! | `lexer` | tokens; dotted paths, unquoted dates/datetimes, string escapes |
//! | `parser` | recursive descent to [`ast::Query`], Salesforce's grammar quirks, depth cap |
//! | [`ast`] | the parsed statement, positions kept for error carets |
//! | `compile` | name resolution to a [`Plan`]: SELECT, GROUP BY, ORDER BY |
//! | `filter` | WHERE/HAVING: literal typing, semi-joins, index choice |
//! | `plan` | the compiled form: field accesses, predicates, output tree |
//! | `eval` | reading values through relationships; predicate evaluation |
//! | `exec` | scans and index lookups, ORDER BY / OFFSET / LIMIT |
//! | `aggregate` | GROUP BY, aggregate functions, HAVING |
//! | `render` | REST JSON records and Bulk 2.0 CSV |
//! | [`dates`] | relative date literals and their ranges |
//! | `like` | LIKE matching |
//! | `fingerprint` | literal-free query shapes for the journal |
//! | `errors` | Salesforce's caret error text |
//!
//! # Use
//!
//! ```text
//! let plan = soql::compile(&data, "SELECT Id, Name FROM Account WHERE External_Id__c = 'A-1'")?;
//! match soql::execute(&data, &plan, &opts)? {
//!     QueryOutput::Rows { nums, total_size } => soql::render(&data, &plan, &nums[..page], &opts),
//!     …
//! }
//! ```
//!
//! [`compile()`] needs the schema only; [`execute()`] reads rows and returns row numbers so the caller
//! can page through them with a cursor and [`render()`] one page at a time. Everything borrows
//! `&OrgData`, so callers hold the org's read lock across execute and render of a page, and never
//! across an `.await`.
//!
//! # Supported
//!
//! `SELECT` fields, parent paths (≤ 5 levels), `FIELDS(ALL|STANDARD|CUSTOM)`, child subqueries,
//! `COUNT()`, `COUNT/COUNT_DISTINCT/SUM/AVG/MIN/MAX` with aliases, `toLabel`/`FORMAT`/
//! `convertCurrency`; `FROM` with alias and `USING SCOPE`; `WHERE` with `AND/OR/NOT`, comparisons,
//! `LIKE`, `IN`/`NOT IN` (lists, semi- and anti-joins), `INCLUDES/EXCLUDES`, relative date literals;
//! `WITH SECURITY_ENFORCED|USER_MODE|SYSTEM_MODE`; `GROUP BY`, `HAVING`; `ORDER BY … ASC|DESC NULLS
//! FIRST|LAST`; `LIMIT`; `OFFSET` (≤ 2000); `FOR VIEW|REFERENCE|UPDATE`; `UPDATE TRACKING|VIEWSTAT`.
//! Not supported (rejected with MALFORMED_QUERY): `TYPEOF`, date functions such as `CALENDAR_YEAR()`,
//! `GROUP BY ROLLUP/CUBE`, `WITH DATA CATEGORY`, geolocation.

mod aggregate;
pub mod ast;
mod compile;
pub mod dates;
mod errors;
mod eval;
mod exec;
mod filter;
mod fingerprint;
mod lexer;
mod like;
mod parser;
mod plan;
mod render;

pub use fingerprint::fingerprint;
pub use plan::Plan;
pub use render::{csv_columns, render, render_csv};

use crate::error::ApiError;
use crate::org::store::OrgData;
use std::sync::Arc;

/// How to run a query.
#[derive(Debug, Clone)]
pub struct ExecOptions {
    /// The scenario clock's now, for relative date literals.
    pub now_ms: i64,
    /// `queryAll`: also rows in the recycle bin.
    pub include_deleted: bool,
    /// `/services/data/v62.0`, the prefix of each record's `attributes.url`.
    pub data_path: String,
}

impl Default for ExecOptions {
    fn default() -> Self {
        ExecOptions {
            now_ms: 0,
            include_deleted: false,
            data_path: "/services/data/v62.0".to_string(),
        }
    }
}

/// What a query produced.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryOutput {
    /// Ordinary rows: the matching row numbers of `plan.object` after WHERE/ORDER BY/OFFSET/LIMIT,
    /// rendered later page by page.
    Rows { nums: Vec<u64>, total_size: usize },
    /// `SELECT COUNT() …`: `{"totalSize": n, "done": true, "records": []}`.
    Count { total_size: usize },
    /// Aggregates / GROUP BY: already rendered `AggregateResult` records.
    Aggregate { records: Vec<serde_json::Value> },
}

/// Parse a statement. Syntax errors are MALFORMED_QUERY with Salesforce's caret text.
pub fn parse(soql: &str) -> Result<ast::Query, ApiError> {
    if soql.trim().is_empty() {
        return Err(ApiError::MalformedQuery(
            "A query string has to be specified".to_string(),
        ));
    }
    let toks = lexer::tokenize(soql).map_err(|e| e.into_api(soql))?;
    parser::Parser::new(soql, toks)
        .statement()
        .map_err(|e| e.into_api(soql))
}

/// Parse and resolve names against the org's schema (INVALID_FIELD, INVALID_TYPE, type errors).
pub fn compile(data: &OrgData, soql: &str) -> Result<Arc<Plan>, ApiError> {
    let q = parse(soql)?;
    compile::compile(data, &q)
        .map(Arc::new)
        .map_err(|e| e.into_api(soql))
}

/// Run a compiled plan against the current data.
pub fn execute(
    data: &OrgData,
    plan: &Arc<Plan>,
    opts: &ExecOptions,
) -> Result<QueryOutput, ApiError> {
    let still_there = data
        .schema
        .objects
        .get(plan.object)
        .is_some_and(|o| o.active && o.name == plan.object_name)
        && data.tables.get(plan.object).is_some();
    if !still_there {
        return Err(ApiError::InvalidType(format!(
            "sObject type '{}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.",
            plan.object_name
        )));
    }
    let b = exec::bind(data, &plan.filter, opts);
    Ok(match (plan.kind, &plan.agg) {
        (plan::Kind::Rows, _) => {
            let nums = exec::rows(data, plan, &b, opts);
            QueryOutput::Rows {
                total_size: nums.len(),
                nums,
            }
        }
        (plan::Kind::Count, None) => QueryOutput::Count {
            total_size: exec::count(data, plan, &b, opts),
        },
        (plan::Kind::Count, Some(agg)) => QueryOutput::Count {
            total_size: aggregate::run(data, plan, agg, &b, opts).len(),
        },
        (plan::Kind::Aggregate, Some(agg)) => QueryOutput::Aggregate {
            records: aggregate::run(data, plan, agg, &b, opts),
        },
        (plan::Kind::Aggregate, None) => QueryOutput::Aggregate { records: vec![] },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_can_be_shared_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Plan>();
        assert_send_sync::<Arc<Plan>>();
    }
}
