use loadgen::scenario::AntiPattern::DataOwnership;
use loadgen::scoring::Severity;
use serde_json::json;

use super::builder::*;

/// 20 records created by the integration with Phone 555-0000, each then edited by the actor.
fn shared_records(r: &mut Run) {
    r.with_actor(true);
    for n in 0..20u64 {
        r.change(
            n * MS,
            n,
            INTEGRATION,
            "CREATE",
            json!({"Name": "x", "Phone": "555-0000"}),
        );
        r.write(n * MS, n, 201).fields = vec!["Name".into(), "Phone".into()];
    }
    for n in 0..20u64 {
        r.actor_write(S + n * 100 * MS, n, &["Phone"]);
        r.change(
            S + n * 100 * MS,
            n,
            ACTOR,
            "UPDATE",
            json!({"Phone": format!("555-{n:04}-actor")}),
        );
    }
}

#[test]
fn whole_record_unconditional_writes_that_revert_actors_score_low() {
    let mut r = Run::new(30);
    shared_records(&mut r);
    // The integration writes its whole stale copy back, Phone included, without If-Match.
    for n in 0..20u64 {
        let t = 10 * S + n * 100 * MS;
        r.write(t, n, 204).fields = vec!["Name".into(), "Phone".into()];
        r.change(t, n, INTEGRATION, "UPDATE", json!({"Phone": "555-0000"}));
    }
    let a = r.assess(DataOwnership);
    assert_score(&a, 0..=30);
    let owned = finding(&a, "owned by someone else");
    assert_eq!(owned.severity, Severity::Critical);
    assert!(owned.message.contains("Account.Phone (owned by sales)"));
    assert_eq!(finding(&a, "put back the old value").count, 20);
    assert_eq!(finding(&a, "without If-Match").count, 20);
}

#[test]
fn owned_fields_only_with_conditional_shared_writes_score_high() {
    let mut r = Run::new(30);
    r.with_actor(true);
    for n in 0..20u64 {
        r.change(n * MS, n, INTEGRATION, "CREATE", json!({"Name": "x"}));
        r.write(n * MS, n, 201);
        r.actor_write(S + n * 100 * MS, n, &["Phone"]);
        r.change(S + n * 100 * MS, n, ACTOR, "UPDATE", json!({"Phone": "1"}));
        let e = r.write(10 * S + n * 100 * MS, n, 204);
        e.fields = vec!["Name".into()];
        e.conditional = true;
    }
    let a = r.assess(DataOwnership);
    assert_score(&a, 100..=100);
}

#[test]
fn a_lost_update_is_flagged_even_on_unowned_fields() {
    let mut r = Run::new(30);
    r.with_actor(false);
    for n in 0..10u64 {
        r.write(n * MS, n, 201);
        // The actor renames the record; the integration then writes Name again, unconditionally.
        r.actor_write(S + n * MS, n, &["Name"]);
        r.write(2 * S + n * MS, n, 204);
    }
    let a = r.assess(DataOwnership);
    assert_eq!(finding(&a, "without If-Match").count, 10);
    assert!(a.score.unwrap() <= 80, "{a:#?}");
}

#[test]
fn not_exercised_without_actors_or_owners() {
    let mut r = Run::new(30);
    r.write(0, 1, 204);
    assert_not_exercised(&r.assess(DataOwnership));
}
