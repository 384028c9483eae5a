//! The decision functions. Each takes the scenario, a snapshot of the
//! interest, what is asked and the current time (with the time zone that
//! "today" is judged in), and returns the effects to apply — or, for a
//! command, a refusal listing every unmet check. Nothing here reads a clock
//! or touches storage.

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::model::*;

/// Where an interest is in its life (its words live with the other statuses).
pub use crm_domain::status::InterestState;

/// What the engine needs to know of an interest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub stage: String,
    pub state: InterestState,
    /// The lost stage a pending loss request asks for.
    pub pending_stage: Option<String>,
    pub client_set: bool,
    pub contact_set: bool,
    pub potential_amount_set: bool,
    pub service_type_set: bool,
    pub loss_reason_set: bool,
    pub order_count: usize,
    /// All confirmed orders paid in full (false when there are none).
    pub orders_fully_paid: bool,
    /// All confirmed orders shipped in full (false when there are none).
    pub orders_fully_shipped: bool,
    pub planned_interactions: usize,
}

/// A manual stage move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveRequest {
    pub to: String,
    /// A loss reason comes with the request (moves into a lost stage).
    pub loss_reason_given: bool,
    /// The result of the current planned interaction comes with the request.
    pub interaction_result_given: bool,
}

/// One check a command failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmet {
    pub check: String,
    pub message: String,
}

impl Unmet {
    fn new(check: impl Into<String>, message: impl Into<String>) -> Self {
        Self { check: check.into(), message: message.into() }
    }
}

pub type ResolvedAssignee = Assignee;

/// A change the caller applies, in order, in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// The interest now sits on `stage`; its state follows the stage's kind.
    EnterStage {
        stage: String,
        kind: StageKind,
    },
    /// The interest waits for the loss to be approved; it stays where it is.
    RequestLossApproval {
        stage: String,
    },
    CreateTask {
        title: String,
        task_kind: String,
        assignee: Assignee,
        due_at: DateTime<Utc>,
        /// The stage whose rule made it, and which rule.
        stage: String,
        rule: String,
    },
    CloseTasks {
        task_kind: String,
    },
    Notify {
        assignee: Assignee,
        text: String,
    },
    SetPotentialToRevenue,
}

/// When a task made now with this offset is due, judged in `tz`.
pub fn due_at(now: DateTime<Utc>, offset: DueOffset, tz: Tz) -> DateTime<Utc> {
    if offset.hours > 0 {
        return now + Duration::days(i64::from(offset.days)) + Duration::hours(i64::from(offset.hours));
    }
    let local_day = now.with_timezone(&tz).date_naive() + Duration::days(i64::from(offset.days));
    let end = local_day.and_time(NaiveTime::from_hms_opt(23, 59, 59).unwrap_or(NaiveTime::MIN));
    // A day's end that a DST jump skips: take the latest valid reading.
    tz.from_local_datetime(&end).latest().map_or(now, |t| t.with_timezone(&Utc))
}

fn action_effects(
    stage: &str,
    rule_prefix: &str,
    actions: &[Action],
    now: DateTime<Utc>,
    tz: Tz,
) -> Vec<Effect> {
    actions
        .iter()
        .enumerate()
        .map(|(i, action)| match action {
            Action::CreateTask { task } => Effect::CreateTask {
                title: task.title.clone(),
                task_kind: task.task_kind.clone(),
                assignee: task.assignee,
                due_at: due_at(now, task.due, tz),
                stage: stage.to_owned(),
                rule: format!("{rule_prefix}[{i}]"),
            },
            Action::Notify { assignee, text } => Effect::Notify { assignee: *assignee, text: text.clone() },
            Action::CloseTasks { task_kind } => Effect::CloseTasks { task_kind: task_kind.clone() },
            Action::SetPotentialToRevenue => Effect::SetPotentialToRevenue,
        })
        .collect()
}

fn enter(stage: &Stage, now: DateTime<Utc>, tz: Tz) -> Vec<Effect> {
    let mut effects = vec![Effect::EnterStage { stage: stage.code.clone(), kind: stage.kind }];
    effects.extend(action_effects(
        &stage.code,
        &format!("{}.on_entry", stage.code),
        &stage.on_entry,
        now,
        tz,
    ));
    effects
}

fn guard_holds(guard: Guard, snap: &Snapshot, loss_reason_given: bool) -> bool {
    match guard {
        Guard::ClientSet => snap.client_set,
        Guard::ContactSet => snap.contact_set,
        Guard::PotentialAmountSet => snap.potential_amount_set,
        Guard::ServiceTypeSet => snap.service_type_set,
        Guard::LossReasonSet => snap.loss_reason_set || loss_reason_given,
        Guard::HasOrder => snap.order_count > 0,
        Guard::OrdersFullyPaid => snap.order_count > 0 && snap.orders_fully_paid,
        Guard::OrdersFullyShipped => snap.order_count > 0 && snap.orders_fully_shipped,
    }
}

fn unmet_guards(stage: &Stage, snap: &Snapshot, loss_reason_given: bool) -> Vec<Unmet> {
    stage
        .guards
        .iter()
        .filter(|g| !guard_holds(**g, snap, loss_reason_given))
        .map(|g| Unmet::new(g.code(), g.message()))
        .collect()
}

/// A new interest enters the scenario's first open stage.
pub fn decide_start(s: &Scenario, now: DateTime<Utc>, tz: Tz) -> Result<Vec<Effect>, Vec<Unmet>> {
    s.first_open()
        .map(|stage| enter(stage, now, tz))
        .ok_or_else(|| vec![Unmet::new("scenario_has_open_stage", "the scenario has no open stage")])
}

fn must_be_active(snap: &Snapshot, unmet: &mut Vec<Unmet>) {
    match snap.state {
        InterestState::Active => {}
        InterestState::AwaitingLossApproval => unmet
            .push(Unmet::new("not_awaiting_loss_approval", "the interest waits for its loss to be decided")),
        InterestState::Won | InterestState::Lost => {
            unmet.push(Unmet::new("interest_open", "the interest is closed"))
        }
    }
}

/// A person (or a client acting for one) moves the interest to another stage.
pub fn decide_move(
    s: &Scenario,
    snap: &Snapshot,
    req: &MoveRequest,
    now: DateTime<Utc>,
    tz: Tz,
) -> Result<Vec<Effect>, Vec<Unmet>> {
    let mut unmet = Vec::new();
    must_be_active(snap, &mut unmet);
    let Some(target) = s.stage(&req.to) else {
        unmet.push(Unmet::new("stage_exists", format!("the scenario has no stage {:?}", req.to)));
        return Err(unmet);
    };
    if target.code == snap.stage {
        unmet.push(Unmet::new("different_stage", "the interest is already on that stage"));
    }
    unmet.extend(unmet_guards(target, snap, req.loss_reason_given));
    if target.kind == StageKind::Lost
        && !req.loss_reason_given
        && !target.guards.contains(&Guard::LossReasonSet)
    {
        unmet.push(Unmet::new(Guard::LossReasonSet.code(), Guard::LossReasonSet.message()));
    }
    if snap.planned_interactions > 0 && !req.interaction_result_given {
        unmet.push(Unmet::new(
            "interaction_result",
            "give the result of the planned interaction: moving on completes it",
        ));
    }
    if !unmet.is_empty() {
        return Err(unmet);
    }
    if target.kind == StageKind::Lost {
        return Ok(vec![Effect::RequestLossApproval { stage: target.code.clone() }]);
    }
    Ok(enter(target, now, tz))
}

/// The approver confirms a requested loss.
pub fn decide_loss_approval(
    s: &Scenario,
    snap: &Snapshot,
    now: DateTime<Utc>,
    tz: Tz,
) -> Result<Vec<Effect>, Vec<Unmet>> {
    if snap.state != InterestState::AwaitingLossApproval {
        return Err(vec![Unmet::new("awaiting_loss_approval", "no loss is waiting for a decision")]);
    }
    let stage = snap
        .pending_stage
        .as_deref()
        .and_then(|code| s.stage(code))
        .filter(|st| st.kind == StageKind::Lost)
        .ok_or_else(|| vec![Unmet::new("stage_exists", "the requested lost stage no longer exists")])?;
    Ok(enter(stage, now, tz))
}

/// The approver returns the interest to an open stage no later than where it was.
pub fn decide_loss_return(
    s: &Scenario,
    snap: &Snapshot,
    to: &str,
    now: DateTime<Utc>,
    tz: Tz,
) -> Result<Vec<Effect>, Vec<Unmet>> {
    let mut unmet = Vec::new();
    if snap.state != InterestState::AwaitingLossApproval {
        unmet.push(Unmet::new("awaiting_loss_approval", "no loss is waiting for a decision"));
    }
    let current = s.position(&snap.stage);
    match (s.stage(to), s.position(to)) {
        (Some(stage), Some(pos)) => {
            if stage.kind != StageKind::Open {
                unmet.push(Unmet::new("open_stage", "the interest can only return to an open stage"));
            }
            if current.is_some_and(|c| pos > c) {
                unmet.push(Unmet::new(
                    "earlier_stage",
                    "the interest can only return to its stage or an earlier one",
                ));
            }
        }
        _ => unmet.push(Unmet::new("stage_exists", format!("the scenario has no stage {to:?}"))),
    }
    if !unmet.is_empty() {
        return Err(unmet);
    }
    let Some(stage) = s.stage(to) else { return Err(unmet) };
    let mut effects = enter(stage, now, tz);
    effects.push(Effect::Notify {
        assignee: Assignee::Responsible,
        text: format!("The loss was not approved; the interest is back on \"{}\"", stage.name),
    });
    Ok(effects)
}

/// A domain event happened to the interest (orders paid, shipment made…).
/// Never refused: a move the event calls for but the target's guards forbid
/// becomes a reminder to the responsible instead.
pub fn decide_event(
    s: &Scenario,
    snap: &Snapshot,
    event: DomainEvent,
    now: DateTime<Utc>,
    tz: Tz,
) -> Vec<Effect> {
    if snap.state != InterestState::Active {
        return Vec::new();
    }
    let mut effects = Vec::new();
    if let Some(stage) = s.stage(&snap.stage) {
        for trigger in stage.triggers.iter().filter(|t| t.event == event) {
            let Some(target) = s.stage(&trigger.move_to) else { continue };
            let unmet = unmet_guards(target, snap, false);
            if unmet.is_empty() && target.kind != StageKind::Lost {
                effects.extend(enter(target, now, tz));
                break;
            }
            let why = unmet.iter().map(|u| u.message.as_str()).collect::<Vec<_>>().join("; ");
            effects.push(Effect::Notify {
                assignee: Assignee::Responsible,
                text: format!("Could not move to \"{}\" on {}: {why}", target.name, event.as_str()),
            });
        }
    }
    for (i, rule) in s.event_rules.iter().enumerate() {
        let applies = rule.event == event && (rule.stages.is_empty() || rule.stages.contains(&snap.stage));
        if applies {
            effects.extend(action_effects(&snap.stage, &format!("event_rules[{i}]"), &rule.actions, now, tz));
        }
    }
    effects
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::typical_sale;

    fn snap(stage: &str) -> Snapshot {
        Snapshot {
            stage: stage.to_owned(),
            state: InterestState::Active,
            pending_stage: None,
            client_set: false,
            contact_set: false,
            potential_amount_set: false,
            service_type_set: false,
            loss_reason_set: false,
            order_count: 0,
            orders_fully_paid: false,
            orders_fully_shipped: false,
            planned_interactions: 0,
        }
    }

    fn moving(to: &str) -> MoveRequest {
        MoveRequest { to: to.to_owned(), loss_reason_given: false, interaction_result_given: false }
    }

    fn now() -> DateTime<Utc> {
        // 10:00 in Moscow.
        Utc.with_ymd_and_hms(2026, 11, 30, 7, 0, 0).unwrap()
    }

    const MSK: Tz = chrono_tz::Europe::Moscow;

    fn tasks(effects: &[Effect]) -> Vec<(String, DateTime<Utc>)> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::CreateTask { title, due_at, .. } => Some((title.clone(), *due_at)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_new_interest_starts_on_request_with_a_call_due_today() {
        let effects = decide_start(&typical_sale(), now(), MSK).unwrap();
        assert_eq!(effects[0], Effect::EnterStage { stage: "request".into(), kind: StageKind::Open });
        let end_of_day_msk = Utc.with_ymd_and_hms(2026, 11, 30, 20, 59, 59).unwrap();
        assert_eq!(tasks(&effects), vec![("Call the client".to_owned(), end_of_day_msk)]);
    }

    #[test]
    fn entering_payment_asks_about_the_payment_in_three_days() {
        let effects =
            decide_move(&typical_sale(), &snap("proposal"), &moving("payment"), now(), MSK).unwrap();
        let due = Utc.with_ymd_and_hms(2026, 12, 3, 20, 59, 59).unwrap();
        assert_eq!(tasks(&effects), vec![("What about the payment?".to_owned(), due)]);
    }

    #[test]
    fn won_without_orders_lists_every_unmet_check() {
        let err = decide_move(&typical_sale(), &snap("proposal"), &moving("won"), now(), MSK).unwrap_err();
        let checks: Vec<_> = err.iter().map(|u| u.check.as_str()).collect();
        assert_eq!(checks, vec!["client_set", "orders_fully_paid", "orders_fully_shipped"]);
    }

    #[test]
    fn won_when_paid_and_shipped_sets_the_potential_to_revenue() {
        let mut s = snap("shipment");
        s.client_set = true;
        s.order_count = 2;
        s.orders_fully_paid = true;
        s.orders_fully_shipped = true;
        let effects = decide_move(&typical_sale(), &s, &moving("won"), now(), MSK).unwrap();
        assert!(effects.contains(&Effect::SetPotentialToRevenue));
        assert_eq!(effects[0], Effect::EnterStage { stage: "won".into(), kind: StageKind::Won });
    }

    #[test]
    fn a_loss_needs_a_reason_and_then_waits_for_approval() {
        let err = decide_move(&typical_sale(), &snap("request"), &moving("lost"), now(), MSK).unwrap_err();
        assert_eq!(err[0].check, "loss_reason_set");
        let req = MoveRequest { loss_reason_given: true, ..moving("lost") };
        let effects = decide_move(&typical_sale(), &snap("request"), &req, now(), MSK).unwrap();
        assert_eq!(effects, vec![Effect::RequestLossApproval { stage: "lost".into() }]);
    }

    #[test]
    fn a_planned_interaction_needs_its_result_to_move_on() {
        let mut s = snap("request");
        s.planned_interactions = 1;
        let err = decide_move(&typical_sale(), &s, &moving("proposal"), now(), MSK).unwrap_err();
        assert_eq!(err[0].check, "interaction_result");
        let ok = MoveRequest { interaction_result_given: true, ..moving("proposal") };
        assert!(decide_move(&typical_sale(), &s, &ok, now(), MSK).is_ok());
    }

    #[test]
    fn orders_paid_in_payment_move_to_shipment_close_the_payment_task_and_ask_to_ship() {
        let mut s = snap("payment");
        s.order_count = 1;
        s.orders_fully_paid = true;
        let effects = decide_event(&typical_sale(), &s, DomainEvent::OrdersFullyPaid, now(), MSK);
        assert_eq!(effects[0], Effect::EnterStage { stage: "shipment".into(), kind: StageKind::Open });
        assert!(effects.contains(&Effect::CloseTasks { task_kind: "payment_follow_up".into() }));
        assert_eq!(tasks(&effects)[0].0, "Ship the goods");
        assert!(effects.iter().any(|e| matches!(e, Effect::Notify { .. })));
    }

    #[test]
    fn orders_paid_elsewhere_do_nothing() {
        let effects =
            decide_event(&typical_sale(), &snap("request"), DomainEvent::OrdersFullyPaid, now(), MSK);
        assert!(effects.is_empty());
    }

    #[test]
    fn a_shipment_asks_to_check_the_delivery_in_three_days() {
        let effects = decide_event(&typical_sale(), &snap("shipment"), DomainEvent::ShipmentMade, now(), MSK);
        assert_eq!(tasks(&effects)[0].0, "Check the delivery");
    }

    #[test]
    fn full_shipment_without_a_client_reminds_instead_of_moving() {
        let mut s = snap("shipment");
        s.order_count = 1;
        s.orders_fully_paid = true;
        s.orders_fully_shipped = true;
        let effects = decide_event(&typical_sale(), &s, DomainEvent::OrdersFullyShipped, now(), MSK);
        assert!(!effects.iter().any(|e| matches!(e, Effect::EnterStage { .. })));
        assert!(matches!(&effects[0], Effect::Notify { text, .. } if text.contains("no client")));
    }

    #[test]
    fn a_returned_loss_goes_back_no_later_than_it_was() {
        let mut s = snap("payment");
        s.state = InterestState::AwaitingLossApproval;
        s.pending_stage = Some("lost".into());
        assert!(decide_loss_return(&typical_sale(), &s, "request", now(), MSK).is_ok());
        let err = decide_loss_return(&typical_sale(), &s, "shipment", now(), MSK).unwrap_err();
        assert_eq!(err[0].check, "earlier_stage");
        let err = decide_loss_return(&typical_sale(), &s, "won", now(), MSK).unwrap_err();
        assert_eq!(err[0].check, "open_stage");
        let approved = decide_loss_approval(&typical_sale(), &s, now(), MSK).unwrap();
        assert_eq!(approved[0], Effect::EnterStage { stage: "lost".into(), kind: StageKind::Lost });
    }

    #[test]
    fn closed_or_waiting_interests_do_not_move() {
        let mut s = snap("won");
        s.state = InterestState::Won;
        let err = decide_move(&typical_sale(), &s, &moving("request"), now(), MSK).unwrap_err();
        assert_eq!(err[0].check, "interest_open");
        s.state = InterestState::AwaitingLossApproval;
        let err = decide_move(&typical_sale(), &s, &moving("request"), now(), MSK).unwrap_err();
        assert_eq!(err[0].check, "not_awaiting_loss_approval");
        assert!(decide_event(&typical_sale(), &s, DomainEvent::ShipmentMade, now(), MSK).is_empty());
    }

    #[test]
    fn hour_offsets_count_from_now() {
        let due = due_at(now(), DueOffset { days: 1, hours: 2 }, MSK);
        assert_eq!(due, now() + Duration::hours(26));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn any_snapshot() -> impl Strategy<Value = Snapshot> {
            let stages =
                prop::sample::select(vec!["request", "proposal", "payment", "shipment", "won", "lost"]);
            (stages, any::<[bool; 8]>(), 0usize..3, 0usize..2).prop_map(|(stage, b, orders, planned)| {
                Snapshot {
                    stage: stage.to_owned(),
                    state: if b[7] { InterestState::AwaitingLossApproval } else { InterestState::Active },
                    pending_stage: Some("lost".into()),
                    client_set: b[0],
                    contact_set: b[1],
                    potential_amount_set: b[2],
                    service_type_set: b[3],
                    loss_reason_set: b[4],
                    order_count: orders,
                    orders_fully_paid: b[5],
                    orders_fully_shipped: b[6],
                    planned_interactions: planned,
                }
            })
        }

        proptest! {
            #[test]
            fn every_move_lands_on_an_existing_stage_or_is_refused_with_reasons(
                snap in any_snapshot(),
                to in "[a-z]{0,9}|request|proposal|payment|shipment|won|lost",
                reason: bool,
                result: bool,
            ) {
                let s = typical_sale();
                let req = MoveRequest { to, loss_reason_given: reason, interaction_result_given: result };
                match decide_move(&s, &snap, &req, now(), MSK) {
                    Ok(effects) => {
                        prop_assert!(!effects.is_empty());
                        for e in effects {
                            if let Effect::EnterStage { stage, .. } | Effect::RequestLossApproval { stage } = e {
                                prop_assert!(s.stage(&stage).is_some());
                            }
                        }
                    }
                    Err(unmet) => prop_assert!(!unmet.is_empty()),
                }
            }

            #[test]
            fn events_only_move_to_existing_non_lost_stages(snap in any_snapshot(), e in 0usize..4) {
                let s = typical_sale();
                let event = [DomainEvent::OrdersFullyPaid, DomainEvent::OrdersFullyShipped, DomainEvent::ShipmentMade, DomainEvent::PaymentOverdue][e];
                for effect in decide_event(&s, &snap, event, now(), MSK) {
                    if let Effect::EnterStage { stage, kind } = effect {
                        prop_assert!(s.stage(&stage).is_some());
                        prop_assert_ne!(kind, StageKind::Lost);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "engine_edge_tests.rs"]
mod edge_tests;
