//! Edge cases of the engine that cargo-mutants showed were unguarded.

use super::*;
use crate::typical_sale;
use chrono::TimeZone;

const MSK: Tz = chrono_tz::Europe::Moscow;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, 7, 0, 0).unwrap()
}

fn snap(stage: &str) -> Snapshot {
    Snapshot {
        stage: stage.to_owned(),
        state: InterestState::Active,
        pending_stage: None,
        client_set: true,
        contact_set: true,
        potential_amount_set: true,
        service_type_set: true,
        loss_reason_set: false,
        order_count: 0,
        orders_fully_paid: false,
        orders_fully_shipped: false,
        planned_interactions: 0,
    }
}

#[test]
fn every_state_reads_back_from_its_word() {
    let all =
        [InterestState::Active, InterestState::AwaitingLossApproval, InterestState::Won, InterestState::Lost];
    let words: Vec<_> = all.iter().map(|s| s.as_str()).collect();
    assert_eq!(words, ["active", "awaiting_loss_approval", "won", "lost"]);
    for s in all {
        assert_eq!(InterestState::parse(s.as_str()), Some(s));
    }
    assert_eq!(InterestState::parse("Active"), None);
}

#[test]
fn no_orders_is_neither_paid_nor_shipped_whatever_the_flags_say() {
    let mut s = snap("payment");
    s.orders_fully_paid = true;
    s.orders_fully_shipped = true;
    assert!(!guard_holds(Guard::HasOrder, &s, false));
    assert!(!guard_holds(Guard::OrdersFullyPaid, &s, false));
    assert!(!guard_holds(Guard::OrdersFullyShipped, &s, false));
    s.order_count = 1;
    assert!(guard_holds(Guard::HasOrder, &s, false));
    assert!(guard_holds(Guard::OrdersFullyPaid, &s, false));
    assert!(guard_holds(Guard::OrdersFullyShipped, &s, false));
    s.orders_fully_paid = false;
    s.orders_fully_shipped = false;
    assert!(!guard_holds(Guard::OrdersFullyPaid, &s, false));
    assert!(!guard_holds(Guard::OrdersFullyShipped, &s, false));
    s.order_count = 2;
    assert!(guard_holds(Guard::HasOrder, &s, false));
}

#[test]
fn a_loss_reason_is_asked_for_once() {
    let req = MoveRequest { to: "lost".into(), loss_reason_given: false, interaction_result_given: false };
    let err = decide_move(&typical_sale(), &snap("request"), &req, now(), MSK).unwrap_err();
    let checks: Vec<_> = err.iter().map(|u| u.check.as_str()).collect();
    assert_eq!(checks, ["loss_reason_set"]);
    let given = MoveRequest { loss_reason_given: true, ..req };
    assert!(decide_move(&typical_sale(), &snap("request"), &given, now(), MSK).is_ok());
}

#[test]
fn a_lost_stage_without_the_guard_still_needs_a_reason() {
    let mut s = typical_sale();
    for st in &mut s.stages {
        if st.kind == StageKind::Lost {
            st.guards.clear();
        }
    }
    let req = MoveRequest { to: "lost".into(), loss_reason_given: false, interaction_result_given: false };
    let err = decide_move(&s, &snap("request"), &req, now(), MSK).unwrap_err();
    let checks: Vec<_> = err.iter().map(|u| u.check.as_str()).collect();
    assert_eq!(checks, ["loss_reason_set"]);
    let given = MoveRequest { loss_reason_given: true, ..req };
    assert!(decide_move(&s, &snap("request"), &given, now(), MSK).is_ok());
}

#[test]
fn a_returned_loss_may_stay_on_its_own_stage() {
    let mut s = snap("payment");
    s.state = InterestState::AwaitingLossApproval;
    s.pending_stage = Some("lost".into());
    assert!(decide_loss_return(&typical_sale(), &s, "payment", now(), MSK).is_ok());
}
