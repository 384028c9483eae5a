//! Handing a user's work to a colleague (передача дел): their clients with
//! the open interests, open tasks and planned interactions that go with
//! them, in one transaction, each moved object noted where its history is
//! read, and both people told.

use chrono::{DateTime, Utc};
use crm_domain::events::EventType;
use crm_domain::status::TimelineKind;
use crm_store::queries::{clients as clq, sales as q, users as uq};
use crm_store::{DbConnection, DbUuid};
use uuid::Uuid;

use crate::identity::permissions;
use crate::identity::policy::{self, Visibility};
use crate::identity::principal::Principal;
use crate::platform::error::{AppError, Unmet};
use crate::platform::outbox;
use crate::sales::{notify, timeline};
use crate::App;

/// What a hand-over is asked to move.
#[derive(Debug, Clone, Default)]
pub struct HandoverRequest {
    pub to_user_id: Uuid,
    /// Only these clients (each the user's) with their open interests and
    /// those interests' open tasks; `None`: everything the user holds.
    pub client_ids: Option<Vec<Uuid>>,
}

/// What moved, by kind, each list by id.
#[derive(Debug, Clone, Default)]
pub struct Handover {
    pub from_user_id: Uuid,
    pub to_user_id: Uuid,
    pub clients: Vec<Uuid>,
    pub contacts: Vec<Uuid>,
    pub interests: Vec<Uuid>,
    pub tasks: Vec<Uuid>,
    /// Planned interactions of the moved interests (they follow their interest).
    pub planned_interactions: usize,
}

/// Hands `from`'s work to `request.to_user_id`. An admin may hand anyone's
/// work; a head the work of the people of their departments, to someone
/// they may hand work to. Every unmet rule is named at once.
pub fn hand_over(
    app: &App,
    actor: &Principal,
    from: Uuid,
    request: HandoverRequest,
) -> Result<Handover, AppError> {
    actor.require(&permissions::HAND_OVER)?;
    let now = app.now();
    app.write(|conn| hand_over_in(conn, actor, now, from, &request, "to_user_id"))
}

/// [`hand_over`] inside the caller's transaction; `field` names the target
/// in the unmet checks (`{field}_exists`, `{field}_role`…).
fn hand_over_in(
    conn: &mut DbConnection,
    actor: &Principal,
    now: DateTime<Utc>,
    from: Uuid,
    request: &HandoverRequest,
    field: &str,
) -> Result<Handover, AppError> {
    {
        let from_row = uq::find(conn, from.into())?.ok_or(AppError::NotFound("user"))?;
        if let Visibility::Responsible(people) = policy::visibility(conn, actor)? {
            if !people.contains(&from) {
                return Err(AppError::Forbidden(
                    "you may hand over only the work of the people of your departments".to_owned(),
                ));
            }
        }
        let to = request.to_user_id;
        let mut unmet = Vec::new();
        if to == from {
            unmet.push(Unmet::new("not_self", "the work would stay with the same person"));
        }
        let target = match policy::assignable(conn, Some(actor), to, field, policy::Holding::Sales) {
            Ok(t) => Some(t),
            Err(AppError::Rules(found)) => {
                unmet.extend(found);
                None
            }
            Err(other) => return Err(other),
        };
        let (clients, contacts, interests, tasks) = match &request.client_ids {
            None => everything(conn, from_row.id)?,
            Some(ids) => {
                let (found, missing) = listed(conn, from_row.id, ids)?;
                for id in missing {
                    unmet.push(Unmet::new(
                        "client_of_user",
                        format!("client {id} is not one of the clients of user {from}"),
                    ));
                }
                found
            }
        };
        let Some(target) = target.filter(|_| unmet.is_empty()) else {
            return Err(AppError::Rules(unmet));
        };
        let to_row = uq::find(conn, target)?.ok_or(AppError::NotFound("user"))?;
        let by = format!("from {} to {}", from_row.name, to_row.name);
        let mut done = Handover { from_user_id: from, to_user_id: to, ..Default::default() };
        for mut c in clients {
            let version = c.version;
            crate::parties::history::history(
                conn,
                actor,
                now,
                ("client", c.id),
                &[("responsible_id", Some(from.to_string()), Some(to.to_string()))],
            )?;
            c.responsible_id = Some(target);
            c.version += 1;
            c.updated_at = now.naive_utc();
            if clq::update_client(conn, &c, version)? != 1 {
                return Err(AppError::PreconditionFailed { expected: version, current: version + 1 });
            }
            let json = serde_json::json!({"id": c.id.0, "responsible_id": to, "handed_over": true});
            outbox::record(conn, now, Some(actor), EventType::ClientUpdated, "client", c.id.0, json)?;
            done.clients.push(c.id.0);
        }
        for mut c in contacts {
            let version = c.version;
            crate::parties::history::history(
                conn,
                actor,
                now,
                ("contact", c.id),
                &[("responsible_id", Some(from.to_string()), Some(to.to_string()))],
            )?;
            c.responsible_id = Some(target);
            c.version += 1;
            c.updated_at = now.naive_utc();
            if clq::update_contact(conn, &c, version)? != 1 {
                return Err(AppError::PreconditionFailed { expected: version, current: version + 1 });
            }
            let json = serde_json::json!({"id": c.id.0, "responsible_id": to, "handed_over": true});
            outbox::record(conn, now, Some(actor), EventType::ContactUpdated, "contact", c.id.0, json)?;
            done.contacts.push(c.id.0);
        }
        let ids: Vec<DbUuid> = interests.iter().map(|i| i.id).collect();
        let planned = q::planned_interactions(conn, &ids)?;
        done.planned_interactions = planned.len();
        for mut i in interests {
            let version = i.version;
            let plans = planned.iter().filter(|p| p.interest_id == i.id).count();
            i.responsible_id = target;
            i.version += 1;
            i.updated_at = now.naive_utc();
            if q::update_interest(conn, &i, version)? != 1 {
                return Err(AppError::PreconditionFailed { expected: version, current: version + 1 });
            }
            timeline(
                conn,
                i.id,
                Some(actor),
                now,
                TimelineKind::Updated,
                format!("Handed over {by}, with its {plans} planned interaction(s)"),
                serde_json::json!({"fields": ["responsible_id"], "from": from, "to": to, "planned_interactions": plans}),
            )?;
            let json = serde_json::json!({"id": i.id.0, "responsible_id": to, "handed_over": true});
            outbox::record(conn, now, Some(actor), EventType::InterestUpdated, "interest", i.id.0, json)?;
            done.interests.push(i.id.0);
        }
        for mut t in tasks {
            let version = t.version;
            t.assignee_id = target;
            t.version += 1;
            t.updated_at = now.naive_utc();
            if q::update_task(conn, &t, version)? != 1 {
                return Err(AppError::PreconditionFailed { expected: version, current: version + 1 });
            }
            if let Some(i) = t.interest_id {
                timeline(
                    conn,
                    i,
                    Some(actor),
                    now,
                    TimelineKind::TaskUpdated,
                    format!("Task \"{}\" handed over {by}", t.title),
                    serde_json::json!({"task_id": t.id.0, "fields": ["assignee_id"], "from": from, "to": to}),
                )?;
            }
            let json = serde_json::json!({"id": t.id.0, "fields": ["assignee_id"], "handed_over": true});
            outbox::record(conn, now, Some(actor), EventType::TaskUpdated, "task", t.id.0, json)?;
            done.tasks.push(t.id.0);
        }
        let summary = format!(
            "{} client(s), {} contact(s), {} open interest(s) and {} open task(s) were handed over {by}",
            done.clients.len(),
            done.contacts.len(),
            done.interests.len(),
            done.tasks.len()
        );
        notify(conn, from_row.id, None, &summary, now)?;
        notify(conn, target, None, &summary, now)?;
        Ok(done)
    }
}

/// Run before a user is deactivated, in the same transaction: with
/// `handover_to`, everything the user holds goes to that person first;
/// without it, a user who still holds work is not deactivated, and the
/// refusal names what must be handed over.
pub fn before_deactivation(
    conn: &mut DbConnection,
    actor: &Principal,
    now: DateTime<Utc>,
    user: Uuid,
    handover_to: Option<Uuid>,
) -> Result<(), AppError> {
    if let Some(to) = handover_to {
        let request = HandoverRequest { to_user_id: to, client_ids: None };
        return hand_over_in(conn, actor, now, user, &request, "handover_to").map(|_| ());
    }
    let (clients, contacts, interests, tasks) = everything(conn, user.into())?;
    let held: Vec<String> = [
        (clients.len(), "client(s)"),
        (contacts.len(), "contact(s) of no client"),
        (interests.len(), "open interest(s)"),
        (tasks.len(), "open task(s)"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    if held.is_empty() {
        return Ok(());
    }
    Err(AppError::rule(
        "work_handed_over",
        format!(
            "the user still holds {}: hand them over first (give handover_to, or POST /users/{user}/handover)",
            held.join(", ")
        ),
    ))
}

type Work = (
    Vec<crm_store::rows::ClientRow>,
    Vec<crm_store::rows::ContactRow>,
    Vec<crm_store::rows::InterestRow>,
    Vec<crm_store::rows::TaskRow>,
);

/// Everything a user holds: their clients, their contacts of no client,
/// their open interests and their open tasks.
fn everything(conn: &mut DbConnection, user: DbUuid) -> Result<Work, AppError> {
    Ok((
        clq::clients_of_responsible(conn, user)?,
        clq::loose_contacts_of_responsible(conn, user)?,
        q::open_interests_of_responsible(conn, user)?,
        q::open_tasks_assigned_to(conn, user)?,
    ))
}

/// The listed clients of a user, with the user's open interests of those
/// clients and the user's open tasks of those interests; and the listed ids
/// that are not the user's clients.
fn listed(conn: &mut DbConnection, user: DbUuid, ids: &[Uuid]) -> Result<(Work, Vec<Uuid>), AppError> {
    let mut wanted: Vec<Uuid> = ids.to_vec();
    wanted.sort();
    wanted.dedup();
    let keys: Vec<DbUuid> = wanted.iter().copied().map(Into::into).collect();
    let clients: Vec<_> =
        clq::find_clients(conn, &keys)?.into_iter().filter(|c| c.responsible_id == Some(user)).collect();
    let missing: Vec<Uuid> = wanted.into_iter().filter(|id| !clients.iter().any(|c| c.id.0 == *id)).collect();
    let interests: Vec<_> = q::open_interests_of_responsible(conn, user)?
        .into_iter()
        .filter(|i| i.client_id.is_some_and(|c| clients.iter().any(|k| k.id == c)))
        .collect();
    let ids: Vec<DbUuid> = interests.iter().map(|i| i.id).collect();
    let tasks = q::open_tasks_of(conn, &ids)?.into_iter().filter(|t| t.assignee_id == user).collect();
    Ok(((clients, Vec::new(), interests, tasks), missing))
}

/// Changes a user as [`crate::identity::users::update_user`] does; a
/// deactivation first hands the user's work to `handover_to`, in the same
/// transaction, or is refused while the user still holds work.
pub fn update_user(
    app: &App,
    actor: &Principal,
    id: Uuid,
    expected_version: Option<i64>,
    changes: crate::identity::users::UserChanges,
    handover_to: Option<Uuid>,
) -> Result<crate::identity::users::UserView, AppError> {
    if handover_to.is_some() && changes.active != Some(false) {
        return Err(AppError::field(
            "handover_to",
            "not_allowed",
            "handover_to goes with \"active\": false, a deactivation",
        ));
    }
    crate::identity::users::update_user_with(app, actor, id, expected_version, changes, |conn, now| {
        before_deactivation(conn, actor, now, id, handover_to)
    })
}
