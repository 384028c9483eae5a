//! Who is calling: a signed-in user or an integration's API key.

use std::cell::RefCell;

use crm_domain::{Role, Scope};
use uuid::Uuid;

use crate::identity::permissions::{Access, KeyRule};
use crate::platform::actor::{Actor, ActorKind};
use crate::platform::error::AppError;

#[derive(Debug, Clone)]
pub struct UserPrincipal {
    pub id: Uuid,
    pub role: Role,
    pub department_id: Option<Uuid>,
    pub session_id: Uuid,
}

#[derive(Debug, Clone)]
pub struct KeyPrincipal {
    pub id: Uuid,
    pub name: String,
    pub scopes: Vec<Scope>,
}

#[derive(Debug, Clone)]
pub enum Principal {
    User(UserPrincipal),
    ApiKey(KeyPrincipal),
}

impl Principal {
    /// Refuses with 403 unless this principal may call an operation declared with `access`.
    pub fn require(&self, access: &Access) -> Result<(), AppError> {
        CHECKED.with(|checked| {
            if let Some(list) = checked.borrow_mut().as_mut() {
                list.push(*access);
            }
        });
        self.check(access)
    }

    /// Whether this principal could call an operation declared with
    /// `access`: a question (which branches of a tree to show), not a
    /// requirement, so the access audit does not count it.
    pub fn may(&self, access: &Access) -> bool {
        self.check(access).is_ok()
    }

    fn check(&self, access: &Access) -> Result<(), AppError> {
        match self {
            Principal::User(user) => {
                if access.roles.contains(&user.role) {
                    Ok(())
                } else {
                    Err(AppError::Forbidden(format!("the {} role may not {}", user.role, access.action)))
                }
            }
            Principal::ApiKey(key) => match access.key {
                KeyRule::Any => Ok(()),
                KeyRule::Scope(scope) if key.scopes.contains(&scope) => Ok(()),
                KeyRule::Scope(scope) => Err(AppError::Forbidden(format!(
                    "this API key lacks the {scope} scope needed to {}",
                    access.action
                ))),
                KeyRule::Never => {
                    Err(AppError::Forbidden(format!("API keys may not {}; sign in as a user", access.action)))
                }
            },
        }
    }

    pub fn user(&self) -> Option<&UserPrincipal> {
        match self {
            Principal::User(u) => Some(u),
            Principal::ApiKey(_) => None,
        }
    }

    pub fn is_admin(&self) -> bool {
        matches!(self, Principal::User(u) if u.role == Role::Admin)
    }

    /// A stable name for scoping idempotency keys and logs.
    pub fn key(&self) -> String {
        match self {
            Principal::User(u) => format!("user:{}", u.id),
            Principal::ApiKey(k) => format!("key:{}", k.id),
        }
    }
}

impl From<&Principal> for Actor {
    fn from(p: &Principal) -> Self {
        match p {
            Principal::User(u) => Actor { kind: ActorKind::User, id: Some(u.id) },
            Principal::ApiKey(k) => Actor { kind: ActorKind::ApiKey, id: Some(k.id) },
        }
    }
}

impl From<Option<&Principal>> for Actor {
    fn from(p: Option<&Principal>) -> Self {
        p.map_or(Actor::SYSTEM, Actor::from)
    }
}

/// Who is acting, as stored in the timeline, the outbox and `created_by`
/// columns; `None` is the system (a rule, a timer).
pub(crate) fn actor_parts(actor: Option<&Principal>) -> (&'static str, Option<crm_store::DbUuid>) {
    Actor::from(actor).parts()
}

thread_local! {
    /// The accesses required on this thread while `recording_access` runs.
    static CHECKED: RefCell<Option<Vec<Access>>> = const { RefCell::new(None) };
}

/// Runs `f` and returns, beside its result, every access it required (in
/// order, allowed or refused). The API holds each operation to the access its
/// spec publishes with it, so the published table cannot drift from the code.
/// Use cases are synchronous and run on one thread, so a thread-local sees
/// every check of one call and nothing of another's.
pub fn recording_access<T>(f: impl FnOnce() -> T) -> (T, Vec<Access>) {
    let outer = CHECKED.with(|checked| checked.replace(Some(Vec::new())));
    let value = f();
    let mine = CHECKED.with(|checked| {
        let mine = checked.replace(outer).unwrap_or_default();
        // A recording inside another one leaves the outer one complete.
        if let Some(outer) = checked.borrow_mut().as_mut() {
            outer.extend_from_slice(&mine);
        }
        mine
    });
    (value, mine)
}
