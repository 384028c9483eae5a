//! People who use the CRM: creating, reading, listing and changing them.

use chrono::{DateTime, Utc};
use crm_domain::events::EventType;
use crm_domain::{Email, PersonName, Role, TimeZoneName};
use crm_store::queries::users::UserFilter;
use crm_store::queries::{auth as aq, departments as dq, users as q};
use crm_store::rows::{UserInsertForm, UserRow, UserUpdateForm};
use crm_store::DbConnection;
use uuid::Uuid;

use crate::identity::auth;
use crate::identity::permissions;
use crate::identity::principal::Principal;
use crate::platform::error::{AppError, Problems};
use crate::platform::outbox;
use crate::platform::page::{Page, PageRequest};
use crate::App;

/// A user as the API shows it (never the password hash).
#[derive(Debug, Clone)]
pub struct UserView {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub department_id: Option<Uuid>,
    pub time_zone: String,
    pub active: bool,
    /// Preset by the lead wizard for this user's new interests.
    pub default_service_type: Option<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub(crate) fn view(row: UserRow) -> Result<UserView, AppError> {
    Ok(UserView {
        id: row.id.0,
        email: row.email,
        name: row.name,
        role: row.role.parse().map_err(AppError::internal)?,
        department_id: row.department_id.map(Into::into),
        time_zone: row.time_zone,
        active: row.active,
        default_service_type: row.default_service_type,
        version: row.version,
        created_at: row.created_at.and_utc(),
        updated_at: row.updated_at.and_utc(),
    })
}

#[derive(Debug, Clone, Default)]
pub struct NewUser {
    pub id: Option<Uuid>,
    pub email: String,
    pub name: String,
    pub role: String,
    pub department_id: Option<Uuid>,
    pub time_zone: Option<String>,
    pub password: String,
    pub active: Option<bool>,
    pub default_service_type: Option<String>,
}

/// A partial change; `None` leaves a field as it is, `Some(None)` clears a nullable one.
#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    pub email: Option<String>,
    pub name: Option<String>,
    pub role: Option<String>,
    pub department_id: Option<Option<Uuid>>,
    pub time_zone: Option<String>,
    pub active: Option<bool>,
    pub password: Option<String>,
    pub current_password: Option<String>,
    pub default_service_type: Option<Option<String>>,
}

fn check_password(problems: &mut Problems, field: &str, password: &str) {
    if let Err((code, message)) = auth::check_password_policy(password) {
        problems.push(field, code, message);
    }
}

fn department_must_exist(conn: &mut DbConnection, id: Uuid) -> Result<(), AppError> {
    if dq::find(conn, id.into())?.is_none() {
        return Err(AppError::rule("department_exists", format!("department {id} does not exist")));
    }
    Ok(())
}

/// Creates a user (admins only). The e-mail must be free.
pub fn create_user(app: &App, actor: &Principal, input: NewUser) -> Result<UserView, AppError> {
    actor.require(&permissions::CREATE_USER)?;
    let mut p = Problems::new();
    let email = p.check("email", Email::parse(&input.email));
    let name = p.check("name", PersonName::parse(&input.name));
    let role = p.check("role", input.role.parse::<Role>());
    let tz = match &input.time_zone {
        Some(tz) => p.check("time_zone", TimeZoneName::parse(tz)),
        None => Some(app.settings().default_time_zone),
    };
    check_password(&mut p, "password", &input.password);
    p.into_result()?;
    let (Some(email), Some(name), Some(role), Some(tz)) = (email, name, role, tz) else {
        return Err(AppError::internal("validated fields missing"));
    };
    // Hash outside the transaction: it is the slow part and needs no lock.
    let password_hash = auth::hash_password(&input.password)?;
    let now = app.now();
    let id = input.id.unwrap_or_else(crm_domain::new_id);
    app.write(|conn| {
        if q::find(conn, id.into())?.is_some() {
            return Err(AppError::conflict(Some("id"), format!("a user with id {id} already exists")));
        }
        if q::find_by_email(conn, email.as_str())?.is_some() {
            return Err(AppError::conflict(
                Some("email"),
                format!("a user with e-mail {email} already exists"),
            ));
        }
        if let Some(dept) = input.department_id {
            department_must_exist(conn, dept)?;
        }
        let ts = now.naive_utc();
        let form = UserInsertForm {
            id: id.into(),
            email: email.as_str().to_owned(),
            name: name.as_str().to_owned(),
            role: role.as_str().to_owned(),
            department_id: input.department_id.map(Into::into),
            time_zone: tz.as_str().to_owned(),
            active: input.active.unwrap_or(true),
            password_hash,
            version: 1,
            created_at: ts,
            updated_at: ts,
            default_service_type: service_type(&input.default_service_type),
        };
        q::insert(conn, &form)?;
        let created = q::find(conn, id.into())?.ok_or(AppError::NotFound("user"))?;
        let view = view(created)?;
        outbox::record(conn, now, Some(actor), EventType::UserCreated, "user", id, event_payload(&view))?;
        Ok(view)
    })
}

fn event_payload(u: &UserView) -> serde_json::Value {
    serde_json::json!({
        "id": u.id,
        "email": u.email,
        "name": u.name,
        "role": u.role.as_str(),
        "department_id": u.department_id,
        "time_zone": u.time_zone,
        "active": u.active,
        "version": u.version,
    })
}

pub fn get_user(app: &App, actor: &Principal, id: Uuid) -> Result<UserView, AppError> {
    actor.require(&permissions::READ_USER)?;
    app.read(|conn| view(q::find(conn, id.into())?.ok_or(AppError::NotFound("user"))?))
}

/// The signed-in user's own record.
pub fn me(app: &App, actor: &Principal) -> Result<UserView, AppError> {
    actor.require(&permissions::READ_ME)?;
    let Principal::User(user) = actor else {
        return Err(AppError::NotFound("user"));
    };
    app.query(|conn| view(q::find(conn, user.id.into())?.ok_or(AppError::NotFound("user"))?))
}

#[derive(Debug, Clone, Default)]
pub struct UserListFilter {
    pub department_id: Option<Uuid>,
    pub role: Option<String>,
    pub active: Option<bool>,
    pub updated_since: Option<DateTime<Utc>>,
}

pub fn list_users(
    app: &App,
    actor: &Principal,
    filter: UserListFilter,
    page: PageRequest,
) -> Result<Page<UserView>, AppError> {
    actor.require(&permissions::LIST_USERS)?;
    if let Some(role) = &filter.role {
        role.parse::<Role>()
            .map_err(|e| AppError::Validation(vec![crate::FieldError::from_value("role", e)]))?;
    }
    let store_filter = UserFilter {
        department_id: filter.department_id.map(Into::into),
        role: filter.role,
        active: filter.active,
        updated_since: filter.updated_since.map(|t| t.naive_utc()),
    };
    let syncs = page.syncs(filter.updated_since);
    let rows = app.read(|conn| Ok(q::list(conn, &store_filter, page.sync_query(filter.updated_since))?))?;
    let page = Page::from_rows(rows, page, |r| r.id.0, view);
    let items = page.items.into_iter().collect::<Result<Vec<_>, _>>()?;
    Ok(Page { items, next_after: page.next_after, next_key: page.next_key }
        .keyed(syncs, |v| (v.updated_at, v.id)))
}

/// Changes a user. Admins may change anything; people may change their own
/// name, time zone and password (the latter with their current password).
pub fn update_user(
    app: &App,
    actor: &Principal,
    id: Uuid,
    expected_version: Option<i64>,
    changes: UserChanges,
) -> Result<UserView, AppError> {
    update_user_with(app, actor, id, expected_version, changes, |_, _| Ok(()))
}

/// [`update_user`], with `before_deactivation` run in the same transaction
/// when the change deactivates the user (an area above hands the user's work
/// over, or refuses).
pub fn update_user_with(
    app: &App,
    actor: &Principal,
    id: Uuid,
    expected_version: Option<i64>,
    changes: UserChanges,
    before_deactivation: impl Fn(&mut DbConnection, DateTime<Utc>) -> Result<(), AppError>,
) -> Result<UserView, AppError> {
    actor.require(&permissions::UPDATE_USER)?;
    let Principal::User(me) = actor else {
        return Err(AppError::Forbidden("API keys may not update users".to_owned()));
    };
    let is_admin = me.role == Role::Admin;
    let is_self = me.id == id;
    if !is_admin && !is_self {
        return Err(AppError::Forbidden("only an admin may change another user".to_owned()));
    }
    if !is_admin {
        let admin_only = [
            ("email", changes.email.is_some()),
            ("role", changes.role.is_some()),
            ("department_id", changes.department_id.is_some()),
            ("active", changes.active.is_some()),
        ];
        if let Some((field, _)) = admin_only.iter().find(|(_, set)| *set) {
            return Err(AppError::Forbidden(format!("only an admin may change {field}")));
        }
    }

    let mut p = Problems::new();
    let email = changes.email.as_deref().map(|e| p.check("email", Email::parse(e)));
    let name = changes.name.as_deref().map(|n| p.check("name", PersonName::parse(n)));
    let role = changes.role.as_deref().map(|r| p.check("role", r.parse::<Role>()));
    let tz = changes.time_zone.as_deref().map(|t| p.check("time_zone", TimeZoneName::parse(t)));
    if let Some(pw) = &changes.password {
        check_password(&mut p, "password", pw);
        if is_self && changes.current_password.is_none() {
            p.push("current_password", "required", "needed to change your own password");
        }
    }
    p.into_result()?;

    // Verify the current password and hash the new one before taking the write lock.
    let password_hash = match &changes.password {
        Some(pw) => Some(auth::hash_password(pw)?),
        None => None,
    };
    let current_ok = match (&changes.current_password, changes.password.is_some() && is_self) {
        (Some(current), true) => {
            let row = app.read(|conn| Ok(q::find(conn, id.into())?))?.ok_or(AppError::NotFound("user"))?;
            auth::verify_password(current, &row.password_hash)
        }
        _ => true,
    };
    if !current_ok {
        return Err(AppError::field("current_password", "wrong", "the current password is wrong"));
    }

    let now = app.now();
    app.write(|conn| {
        let row = q::find(conn, id.into())?.ok_or(AppError::NotFound("user"))?;
        crate::platform::error::check_version(expected_version, row.version)?;
        let mut form = UserUpdateForm {
            email: row.email.clone(),
            name: row.name.clone(),
            role: row.role.clone(),
            department_id: row.department_id,
            time_zone: row.time_zone.clone(),
            active: row.active,
            password_hash: row.password_hash.clone(),
            version: row.version + 1,
            updated_at: now.naive_utc(),
            default_service_type: row.default_service_type.clone(),
        };
        if let Some(st) = &changes.default_service_type {
            form.default_service_type = service_type(st);
        }
        if let Some(Some(email)) = &email {
            if email.as_str() != row.email {
                if q::find_by_email(conn, email.as_str())?.is_some() {
                    return Err(AppError::conflict(
                        Some("email"),
                        format!("a user with e-mail {email} already exists"),
                    ));
                }
                form.email = email.as_str().to_owned();
            }
        }
        if let Some(Some(name)) = &name {
            form.name = name.as_str().to_owned();
        }
        if let Some(Some(role)) = role {
            form.role = role.as_str().to_owned();
        }
        if let Some(Some(tz)) = tz {
            form.time_zone = tz.as_str().to_owned();
        }
        if let Some(dept) = changes.department_id {
            if let Some(d) = dept {
                department_must_exist(conn, d)?;
            }
            form.department_id = dept.map(Into::into);
        }
        if let Some(active) = changes.active {
            form.active = active;
        }
        if let Some(hash) = &password_hash {
            form.password_hash = hash.clone();
        }

        let mut unmet = Vec::new();
        let was_admin = row.role == Role::Admin.as_str() && row.active;
        let stays_admin = form.role == Role::Admin.as_str() && form.active;
        if was_admin && !stays_admin && count_active_admins(conn)? <= 1 {
            unmet.push(crate::Unmet::new(
                "last_admin",
                "the last active admin cannot be demoted or deactivated",
            ));
        }
        if is_self && !form.active {
            unmet.push(crate::Unmet::new("not_self", "you cannot deactivate yourself"));
        }
        if !unmet.is_empty() {
            return Err(AppError::Rules(unmet));
        }
        if row.active && !form.active {
            before_deactivation(conn, now)?;
        }

        if q::update(conn, id.into(), row.version, &form)? != 1 {
            let current = q::find(conn, id.into())?.map_or(row.version, |r| r.version);
            return Err(AppError::PreconditionFailed { expected: row.version, current });
        }
        // Deactivation or a new password ends every session of the user.
        if row.active && !form.active {
            aq::revoke_user_sessions(conn, id.into(), now.naive_utc())?;
        } else if password_hash.is_some() {
            if is_self {
                aq::revoke_other_sessions(conn, id.into(), me.session_id.into(), now.naive_utc())?;
            } else {
                aq::revoke_user_sessions(conn, id.into(), now.naive_utc())?;
            }
        }
        let updated = view(q::find(conn, id.into())?.ok_or(AppError::NotFound("user"))?)?;
        let kind =
            if row.active && !form.active { EventType::UserDeactivated } else { EventType::UserUpdated };
        outbox::record(conn, now, Some(actor), kind, "user", id, event_payload(&updated))?;
        Ok(updated)
    })
}

fn count_active_admins(conn: &mut DbConnection) -> Result<usize, AppError> {
    let filter =
        UserFilter { role: Some(Role::Admin.as_str().to_owned()), active: Some(true), ..Default::default() };
    Ok(q::list(conn, &filter, crm_store::queries::PageQuery::first(2))?.len())
}

fn service_type(raw: &Option<String>) -> Option<String> {
    raw.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(|s| s.chars().take(100).collect())
}
