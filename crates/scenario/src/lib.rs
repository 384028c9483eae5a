//! Sales scenarios as data and the pure rule engine that decides stage moves.
//!
//! A [`Scenario`] is ordered stages with rules: entry guards, entry actions,
//! automatic moves on domain events, and event rules not tied to a move. The
//! engine ([`engine`]) takes an interest snapshot, a command or event and the
//! current time, and returns either the effects to apply or a refusal that
//! lists every unmet check. No IO, no clock reads.

pub mod engine;
pub mod model;
pub mod typical;
pub mod validate;

pub use engine::{
    decide_event, decide_loss_approval, decide_loss_return, decide_move, decide_start, Effect, InterestState,
    MoveRequest, ResolvedAssignee, Snapshot, Unmet,
};
pub use model::{
    Action, Assignee, DomainEvent, DueOffset, EventRule, Guard, Scenario, Stage, StageKind, StageTrigger,
    TaskTemplate,
};
pub use typical::typical_sale;
pub use validate::{validate, Problem};
