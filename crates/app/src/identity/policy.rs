//! Who sees what and who may be handed what: the one place the 404 rules and
//! the assignment rules of every area are written. Every area asks here.

use crm_domain::Role;
use crm_store::queries::{departments as dq, users as uq};
use crm_store::{DbConnection, DbUuid};
use uuid::Uuid;

use crate::identity::principal::Principal;
use crate::platform::error::{AppError, Unmet};

/// Whose interests an actor sees.
#[derive(Debug, Clone)]
pub enum Visibility {
    All,
    /// Interests whose responsible is one of these users.
    Responsible(Vec<Uuid>),
}

impl Visibility {
    pub fn allows(&self, responsible: Uuid) -> bool {
        match self {
            Visibility::All => true,
            Visibility::Responsible(users) => users.contains(&responsible),
        }
    }

    pub fn filter(&self) -> Option<Vec<DbUuid>> {
        match self {
            Visibility::All => None,
            Visibility::Responsible(users) => Some(users.iter().copied().map(Into::into).collect()),
        }
    }
}

/// A department and every department below it.
pub(crate) fn subtree(conn: &mut DbConnection, root: Uuid) -> Result<Vec<Uuid>, AppError> {
    let all = dq::all(conn)?;
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        for d in &all {
            if d.parent_id.map(Uuid::from) == Some(parent) && !found.contains(&d.id.0) {
                found.push(d.id.0);
            }
        }
        i += 1;
    }
    Ok(found)
}

/// Managers see their own interests; heads those of their department and the
/// departments below it; admins, integration users and API keys all.
pub fn visibility(conn: &mut DbConnection, actor: &Principal) -> Result<Visibility, AppError> {
    let user = match actor {
        Principal::ApiKey(_) => return Ok(Visibility::All),
        Principal::User(u) => u,
    };
    // While an absence runs, its deputy sees what the absent user sees of
    // their own (the absent user's work, not their reach as a head).
    let covered = crm_store::queries::identity::absences::covered_by(conn, user.id.into())?;
    let covered = covered.into_iter().map(Uuid::from);
    match user.role {
        Role::Admin | Role::Integration => Ok(Visibility::All),
        Role::Head => {
            let mut users = vec![user.id];
            users.extend(covered);
            let headed: Vec<Uuid> =
                dq::headed_by(conn, user.id.into())?.into_iter().map(|d| d.id.0).collect();
            let mut depts = Vec::new();
            for d in headed {
                depts.extend(subtree(conn, d)?);
            }
            if !depts.is_empty() {
                let ids: Vec<DbUuid> = depts.iter().copied().map(Into::into).collect();
                users.extend(uq::ids_in_departments(conn, &ids)?.into_iter().map(Uuid::from));
            }
            Ok(Visibility::Responsible(users))
        }
        Role::Manager | Role::Accountant | Role::Procurement => {
            Ok(Visibility::Responsible(std::iter::once(user.id).chain(covered).collect()))
        }
    }
}

/// Who takes work meant for `user` now: their deputy while an absence of
/// theirs runs, else they themselves.
pub(crate) fn stand_in(conn: &mut DbConnection, user: DbUuid) -> Result<DbUuid, AppError> {
    Ok(crm_store::queries::identity::absences::running_of(conn, user)?.map_or(user, |a| a.deputy_id))
}

/// Clients and contacts: accountants read all (they bill them); others as
/// for interests.
pub fn clients(conn: &mut DbConnection, actor: &Principal) -> Result<Visibility, AppError> {
    match actor {
        Principal::User(u) if u.role == Role::Accountant => Ok(Visibility::All),
        _ => visibility(conn, actor),
    }
}

/// Whether a record with this responsible is within `vis`; a record nobody
/// is responsible for is seen only by those who see everything.
pub fn sees(vis: &Visibility, responsible: Option<DbUuid>) -> bool {
    match (vis, responsible) {
        (Visibility::All, _) => true,
        (Visibility::Responsible(_), None) => false,
        (v, Some(r)) => v.allows(r.0),
    }
}

/// The leads an actor may see: `(assignees, shared)` — leads assigned to one
/// of `assignees` (`None`: anyone) and, when `shared`, the shared inbox.
pub fn leads(conn: &mut DbConnection, actor: &Principal) -> Result<(Option<Vec<DbUuid>>, bool), AppError> {
    Ok(match visibility(conn, actor)? {
        Visibility::All => (None, true),
        Visibility::Responsible(users) => (Some(users.into_iter().map(Into::into).collect()), true),
    })
}

/// Whether a lead assigned to `assignee` is within a `leads` scope.
pub fn lead_visible(scope: &(Option<Vec<DbUuid>>, bool), assignee: Option<DbUuid>) -> bool {
    match (&scope.0, assignee) {
        (None, _) => true,
        (Some(_), None) => scope.1,
        (Some(u), Some(a)) => u.contains(&a),
    }
}

/// What an assignment hands a user: each kind may be held only by some roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holding {
    /// A task: anyone who works in the system (not an integration account).
    Task,
    /// A lead to process, an interest to work, a client or contact to look
    /// after: sales roles only.
    Sales,
}

impl Holding {
    fn admits(self, role: Role) -> bool {
        match self {
            Holding::Task => !matches!(role, Role::Integration),
            Holding::Sales => matches!(role, Role::Manager | Role::Head | Role::Admin),
        }
    }

    fn what(self) -> &'static str {
        match self {
            Holding::Task => "a task",
            Holding::Sales => "sales work (leads, interests, clients)",
        }
    }
}

/// The users an actor may hand work to: a manager (or accountant,
/// procurement) themselves and their department; a head their departments'
/// subtrees and themselves; admins, integration accounts and API keys
/// anyone. `None`: anyone.
pub(crate) fn assignable_users(
    conn: &mut DbConnection,
    actor: &Principal,
) -> Result<Option<Vec<Uuid>>, AppError> {
    let user = match actor {
        Principal::ApiKey(_) => return Ok(None),
        Principal::User(u) => u,
    };
    match user.role {
        Role::Admin | Role::Integration => Ok(None),
        Role::Head => match visibility(conn, actor)? {
            Visibility::All => Ok(None),
            Visibility::Responsible(users) => Ok(Some(users)),
        },
        Role::Manager | Role::Accountant | Role::Procurement => {
            let mut users = vec![user.id];
            if let Some(d) = user.department_id {
                users.extend(uq::ids_in_departments(conn, &[d.into()])?.into_iter().map(Uuid::from));
            }
            Ok(Some(users))
        }
    }
}

/// Keeps a user id only if the actor may hand them this kind of work: the
/// user exists and is active (`{field}_exists`, `{field}_active`), is within
/// the actor's reach (`{field}_reachable`) and has a role that can hold it
/// (`{field}_role`). Every unmet check is listed.
/// `actor: None` checks the role only (work that goes to a client's own
/// manager, whoever hands it over).
pub(crate) fn assignable(
    conn: &mut DbConnection,
    actor: Option<&Principal>,
    id: Uuid,
    field: &str,
    holding: Holding,
) -> Result<DbUuid, AppError> {
    let target = active_user(conn, id, field)?;
    let row = uq::find(conn, target)?.ok_or(AppError::NotFound("user"))?;
    let mut unmet = Vec::new();
    let reach = match actor {
        Some(a) => assignable_users(conn, a)?,
        None => None,
    };
    if let Some(reach) = reach {
        if !reach.contains(&id) {
            unmet.push(Unmet::new(
                format!("{field}_reachable"),
                format!(
                    "you may hand work only to yourself or people of your department; user {id} is not one"
                ),
            ));
        }
    }
    let role = Role::ALL.into_iter().find(|r| r.as_str() == row.role);
    if !role.is_some_and(|r| holding.admits(r)) {
        unmet.push(Unmet::new(
            format!("{field}_role"),
            format!("a user with the {} role cannot hold {}", row.role, holding.what()),
        ));
    }
    if unmet.is_empty() {
        Ok(target)
    } else {
        Err(AppError::Rules(unmet))
    }
}

/// Keeps a user id only if that user exists and is active.
pub(crate) fn active_user(conn: &mut DbConnection, id: Uuid, field: &str) -> Result<DbUuid, AppError> {
    match uq::find(conn, id.into())? {
        Some(u) if u.active => Ok(u.id),
        Some(_) => Err(AppError::rule(&format!("{field}_active"), format!("user {id} is deactivated"))),
        None => Err(AppError::rule(&format!("{field}_exists"), format!("user {id} does not exist"))),
    }
}
