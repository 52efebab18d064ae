use loadgen::scenario::AntiPattern::SchemaAssumptions;
use loadgen::scoring::Severity;

use super::builder::*;

/// Writes every 100 ms for 60 s; `Account.Region__c` is renamed at 30 s. `fail_until`: when the
/// integration's writes stop failing (None: never).
fn run(fail_until: Option<u64>, describe_after: bool) -> Run {
    let mut r = Run::new(60);
    let f = r.fault("schema-change-0", "schema-change", 30, None);
    f.object = Some("Account".into());
    f.field = Some("Region__c".into());
    f.change = Some("rename-field".into());
    for i in 0..600u64 {
        let t = i * 100 * MS;
        let id = r.event("events", t, i, true, MS);
        let failing = t >= 30 * S && fail_until.is_none_or(|u| t < u);
        let e = r.write(t + 10 * MS, i, if failing { 400 } else { 204 });
        if failing {
            e.error_code = Some("INVALID_FIELD".into());
            r.lost(&id);
        }
    }
    if describe_after {
        r.req(
            30 * S + 50 * MS,
            "GET",
            "describe.object",
            "/services/data/v62.0/sobjects/Account/describe",
            200,
        );
    }
    r
}

#[test]
fn hard_coded_fields_that_break_every_write_score_low() {
    let a = run(None, false).assess(SchemaAssumptions);
    assert_score(&a, 0..=10);
    assert_eq!(
        finding(&a, "failed on the schema").severity,
        Severity::Critical
    );
    finding(&a, "never adapted");
    finding(&a, "did not involve the changed field");
}

#[test]
fn re_describing_and_dropping_the_field_scores_high() {
    let a = run(Some(30 * S + 200 * MS), true).assess(SchemaAssumptions);
    assert_score(&a, 85..=100);
    finding(&a, "adapted 0.");
    assert_eq!(finding(&a, "describe calls").count, 1);
}

#[test]
fn not_exercised_without_a_schema_change() {
    let mut r = Run::new(30);
    r.write(0, 1, 204);
    assert_not_exercised(&r.assess(SchemaAssumptions));
}
