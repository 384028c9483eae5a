//! Who did something, as the timeline, the outbox and the audit columns record
//! it: a user, an API key or the system itself (a rule, a timer).

use crm_store::DbUuid;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind {
    User,
    ApiKey,
    System,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::User => "user",
            ActorKind::ApiKey => "api_key",
            ActorKind::System => "system",
        }
    }
}

/// The kind and, except for the system, the id of whoever acted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub kind: ActorKind,
    pub id: Option<Uuid>,
}

impl Actor {
    pub const SYSTEM: Actor = Actor { kind: ActorKind::System, id: None };

    /// As stored: the kind's word and the id.
    pub fn parts(self) -> (&'static str, Option<DbUuid>) {
        (self.kind.as_str(), self.id.map(Into::into))
    }
}
