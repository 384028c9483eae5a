//! The built-in "Typical sale" (Типовая продажа), exactly as DOMAIN.md tells it.

use crate::model::*;

fn task(title: &str, kind: &str, days: u32) -> Action {
    Action::CreateTask {
        task: TaskTemplate {
            title: title.to_owned(),
            task_kind: kind.to_owned(),
            assignee: Assignee::Responsible,
            due: DueOffset { days, hours: 0 },
        },
    }
}

fn stage(code: &str, name: &str, kind: StageKind, probability: u8) -> Stage {
    Stage {
        code: code.to_owned(),
        name: name.to_owned(),
        kind,
        probability: Some(probability),
        guards: vec![],
        on_entry: vec![],
        triggers: vec![],
    }
}

pub fn typical_sale() -> Scenario {
    let mut request = stage("request", "Request", StageKind::Open, 10);
    request.on_entry.push(task("Call the client", "call", 0));

    let proposal = stage("proposal", "Proposal", StageKind::Open, 30);

    let mut payment = stage("payment", "Payment", StageKind::Open, 70);
    payment.on_entry.push(task("What about the payment?", "payment_follow_up", 3));
    payment
        .triggers
        .push(StageTrigger { event: DomainEvent::OrdersFullyPaid, move_to: "shipment".to_owned() });

    let mut shipment = stage("shipment", "Shipment", StageKind::Open, 90);
    shipment.on_entry.push(Action::CloseTasks { task_kind: "payment_follow_up".to_owned() });
    shipment.on_entry.push(task("Ship the goods", "shipment", 0));
    shipment.on_entry.push(Action::Notify {
        assignee: Assignee::Responsible,
        text: "The orders are paid: ship the goods".to_owned(),
    });
    shipment
        .triggers
        .push(StageTrigger { event: DomainEvent::OrdersFullyShipped, move_to: "won".to_owned() });

    let mut won = stage("won", "Won", StageKind::Won, 100);
    won.guards = vec![Guard::ClientSet, Guard::OrdersFullyPaid, Guard::OrdersFullyShipped];
    won.on_entry.push(Action::SetPotentialToRevenue);

    let mut lost = stage("lost", "Lost", StageKind::Lost, 0);
    lost.guards = vec![Guard::LossReasonSet];

    Scenario {
        stages: vec![request, proposal, payment, shipment, won, lost],
        event_rules: vec![EventRule {
            event: DomainEvent::ShipmentMade,
            stages: vec![],
            actions: vec![task("Check the delivery", "delivery_check", 3)],
        }],
        cycle_days: Some(DEFAULT_CYCLE_DAYS),
    }
}
