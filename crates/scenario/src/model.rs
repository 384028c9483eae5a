//! The scenario definition: what a department head configures. Serialised as
//! JSON for storage; the API exposes the same shape.

use crm_domain::Role;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What reaching a stage means for an interest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageKind {
    /// Work is still going on.
    Open,
    /// The sale is closed successfully.
    Won,
    /// The sale is lost.
    Lost,
}

impl StageKind {
    pub fn is_final(self) -> bool {
        !matches!(self, StageKind::Open)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            StageKind::Open => "open",
            StageKind::Won => "won",
            StageKind::Lost => "lost",
        }
    }
}

/// A check made before an interest may enter a stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Guard {
    ClientSet,
    ContactSet,
    PotentialAmountSet,
    ServiceTypeSet,
    LossReasonSet,
    HasOrder,
    OrdersFullyPaid,
    OrdersFullyShipped,
}

impl Guard {
    pub fn code(self) -> &'static str {
        match self {
            Guard::ClientSet => "client_set",
            Guard::ContactSet => "contact_set",
            Guard::PotentialAmountSet => "potential_amount_set",
            Guard::ServiceTypeSet => "service_type_set",
            Guard::LossReasonSet => "loss_reason_set",
            Guard::HasOrder => "has_order",
            Guard::OrdersFullyPaid => "orders_fully_paid",
            Guard::OrdersFullyShipped => "orders_fully_shipped",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Guard::ClientSet => "the interest has no client",
            Guard::ContactSet => "the interest has no contact",
            Guard::PotentialAmountSet => "the potential amount is not set",
            Guard::ServiceTypeSet => "the service type is not set",
            Guard::LossReasonSet => "a loss reason is required",
            Guard::HasOrder => "the interest has no order",
            Guard::OrdersFullyPaid => "the orders are not paid in full",
            Guard::OrdersFullyShipped => "the orders are not shipped in full",
        }
    }
}

/// Who gets a task a rule creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Assignee {
    /// The interest's responsible manager.
    Responsible,
    /// The head of the responsible's department.
    DepartmentHead,
    /// A named user.
    User { user_id: Uuid },
    /// Any active user with this role (the first found).
    Role {
        #[serde(with = "role_name")]
        role: Role,
    },
}

mod role_name {
    use crm_domain::Role;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(role: &Role, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(role.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Role, D::Error> {
        let raw = String::deserialize(d)?;
        raw.parse().map_err(serde::de::Error::custom)
    }
}

/// When a rule-made task is due, counted from the moment the rule fires.
/// Whole days (no hours) mean the end of that day in the assignee's time zone,
/// so "due today" is not overdue the moment it is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DueOffset {
    #[serde(default)]
    pub days: u32,
    #[serde(default)]
    pub hours: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskTemplate {
    pub title: String,
    /// Groups tasks so a later rule can close them (`payment_follow_up`).
    pub task_kind: String,
    pub assignee: Assignee,
    #[serde(default)]
    pub due: DueOffset,
}

/// Something a rule does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    CreateTask {
        #[serde(flatten)]
        task: TaskTemplate,
    },
    /// A reminder shown to someone.
    Notify { assignee: Assignee, text: String },
    /// Closes the interest's open tasks of a kind.
    CloseTasks { task_kind: String },
    /// Sets the potential amount to the revenue of the interest's orders.
    SetPotentialToRevenue,
}

/// Domain events that rules react to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DomainEvent {
    OrdersFullyPaid,
    OrdersFullyShipped,
    ShipmentMade,
    PaymentOverdue,
}

impl DomainEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            DomainEvent::OrdersFullyPaid => "orders_fully_paid",
            DomainEvent::OrdersFullyShipped => "orders_fully_shipped",
            DomainEvent::ShipmentMade => "shipment_made",
            DomainEvent::PaymentOverdue => "payment_overdue",
        }
    }
}

/// While an interest sits on this stage, `event` moves it to `move_to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageTrigger {
    pub event: DomainEvent,
    pub move_to: String,
}

/// One column of the board, with its rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    pub code: String,
    pub name: String,
    pub kind: StageKind,
    /// The chance, in percent, that an interest on this stage is won: the
    /// forecast weighs open interests by it. Absent: see `Scenario::probability`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<u8>,
    #[serde(default)]
    pub guards: Vec<Guard>,
    #[serde(default)]
    pub on_entry: Vec<Action>,
    #[serde(default)]
    pub triggers: Vec<StageTrigger>,
}

/// A rule that runs on an event without moving the interest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventRule {
    pub event: DomainEvent,
    /// Only while on one of these stages; empty means on any open stage.
    #[serde(default)]
    pub stages: Vec<String>,
    pub actions: Vec<Action>,
}

/// A sales process: ordered stages and rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub stages: Vec<Stage>,
    #[serde(default)]
    pub event_rules: Vec<EventRule>,
    /// How many days a sale usually takes: a new interest is expected to
    /// close this long after it is made. Absent: `DEFAULT_CYCLE_DAYS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cycle_days: Option<u32>,
}

/// The typical cycle of a scenario that names none (DOMAIN: a month).
pub const DEFAULT_CYCLE_DAYS: u32 = 30;

impl Scenario {
    pub fn stage(&self, code: &str) -> Option<&Stage> {
        self.stages.iter().find(|s| s.code == code)
    }

    pub fn position(&self, code: &str) -> Option<usize> {
        self.stages.iter().position(|s| s.code == code)
    }

    /// The chance, in percent, that an interest on `code` is won: the stage's
    /// own figure, else 100 on won, 0 on lost, and on the n open stages the
    /// k-th (from 1) gets k·100/(n+1), so later stages weigh more.
    pub fn probability(&self, code: &str) -> Option<u8> {
        let stage = self.stage(code)?;
        if let Some(p) = stage.probability {
            return Some(p);
        }
        Some(match stage.kind {
            StageKind::Won => 100,
            StageKind::Lost => 0,
            StageKind::Open => {
                let open: Vec<&Stage> = self.stages.iter().filter(|s| s.kind == StageKind::Open).collect();
                let k = open.iter().position(|s| s.code == code).unwrap_or(0) + 1;
                // k ≤ n ≤ 50 stages: the quotient is below 100.
                u8::try_from(k * 100 / (open.len() + 1)).unwrap_or(0)
            }
        })
    }

    /// The typical cycle in days.
    pub fn cycle_days(&self) -> u32 {
        self.cycle_days.unwrap_or(DEFAULT_CYCLE_DAYS)
    }

    /// The scenario with every stage's probability and the cycle written out,
    /// as the API shows it.
    pub fn with_defaults(&self) -> Scenario {
        let mut out = self.clone();
        for stage in &mut out.stages {
            stage.probability = self.probability(&stage.code);
        }
        out.cycle_days = Some(self.cycle_days());
        out
    }

    /// Where a new interest starts: the first open stage.
    pub fn first_open(&self) -> Option<&Stage> {
        self.stages.iter().find(|s| s.kind == StageKind::Open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probabilities_fall_back_by_kind_and_position() {
        let stage = |code: &str, kind, probability| Stage {
            code: code.into(),
            name: code.into(),
            kind,
            probability,
            guards: vec![],
            on_entry: vec![],
            triggers: vec![],
        };
        let s = Scenario {
            stages: vec![
                stage("a", StageKind::Open, None),
                stage("b", StageKind::Open, Some(55)),
                stage("c", StageKind::Open, None),
                stage("w", StageKind::Won, None),
                stage("l", StageKind::Lost, None),
            ],
            event_rules: vec![],
            cycle_days: None,
        };
        let got: Vec<_> = ["a", "b", "c", "w", "l", "x"].iter().map(|c| s.probability(c)).collect();
        assert_eq!(got, [Some(25), Some(55), Some(75), Some(100), Some(0), None]);
        assert_eq!(s.cycle_days(), 30);
        let shown = s.with_defaults();
        assert_eq!(shown.stages[0].probability, Some(25));
        assert_eq!(shown.cycle_days, Some(30));
    }

    #[test]
    fn only_won_and_lost_are_final() {
        assert!(!StageKind::Open.is_final());
        assert!(StageKind::Won.is_final());
        assert!(StageKind::Lost.is_final());
        let words: Vec<_> =
            [StageKind::Open, StageKind::Won, StageKind::Lost].iter().map(|k| k.as_str()).collect();
        assert_eq!(words, ["open", "won", "lost"]);
    }

    #[test]
    fn events_are_named_as_rules_write_them() {
        let all = [
            DomainEvent::OrdersFullyPaid,
            DomainEvent::OrdersFullyShipped,
            DomainEvent::ShipmentMade,
            DomainEvent::PaymentOverdue,
        ];
        let words: Vec<_> = all.iter().map(|e| e.as_str()).collect();
        assert_eq!(words, ["orders_fully_paid", "orders_fully_shipped", "shipment_made", "payment_overdue"]);
        for e in all {
            let json = serde_json::to_string(&e).unwrap();
            assert_eq!(json, format!("\"{}\"", e.as_str()));
        }
    }
}
