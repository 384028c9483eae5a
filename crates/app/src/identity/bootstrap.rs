//! First-start set-up: the bootstrap admin, and the demo data set.

use crm_domain::events::EventType;
use crm_domain::{Email, PersonName, Role};
use crm_store::queries::users as q;
use crm_store::rows::UserInsertForm;

use crate::identity::auth;
use crate::identity::departments::{create_department, NewDepartment};
use crate::identity::principal::{Principal, UserPrincipal};
use crate::identity::users::{create_user, NewUser};
use crate::platform::error::AppError;
use crate::platform::outbox;
use crate::App;

/// What `bootstrap_admin` did.
#[derive(Debug, Clone)]
pub enum Bootstrap {
    /// Users already exist; nothing was done.
    AlreadySetUp,
    /// The admin was created; `generated_password` is set when none was configured.
    Created { email: String, generated_password: Option<String> },
}

/// Creates the first admin when there are no users at all. Safe to run from
/// several instances at once: the loser of the race finds the e-mail taken.
pub fn bootstrap_admin(app: &App, email: &str, password: Option<&str>) -> Result<Bootstrap, AppError> {
    let email = Email::parse(email).map_err(|e| AppError::field("CRM_ADMIN_EMAIL", e.code, e.message))?;
    if app.read(|conn| Ok(q::count(conn)?))? > 0 {
        return Ok(Bootstrap::AlreadySetUp);
    }
    let (password, generated) = match password {
        Some(p) => {
            auth::check_password_policy(p)
                .map_err(|(code, msg)| AppError::field("CRM_ADMIN_PASSWORD", code, msg))?;
            (p.to_owned(), None)
        }
        None => {
            let p = auth::random_token(18);
            (p.clone(), Some(p))
        }
    };
    let hash = auth::hash_password(&password)?;
    let now = app.now();
    let id = crm_domain::new_id();
    let result = app.write(|conn| {
        if q::count(conn)? > 0 {
            return Ok(false);
        }
        let name = PersonName::parse("Administrator").map_err(AppError::internal)?;
        q::insert(
            conn,
            &UserInsertForm {
                id: id.into(),
                email: email.as_str().to_owned(),
                name: name.as_str().to_owned(),
                role: Role::Admin.as_str().to_owned(),
                department_id: None,
                time_zone: app.settings().default_time_zone.as_str().to_owned(),
                active: true,
                password_hash: hash,
                version: 1,
                created_at: now.naive_utc(),
                updated_at: now.naive_utc(),
                default_service_type: None,
            },
        )?;
        outbox::record(
            conn,
            now,
            None,
            EventType::UserCreated,
            "user",
            id,
            serde_json::json!({"id": id, "email": email.as_str(), "role": "admin", "bootstrap": true}),
        )?;
        Ok(true)
    });
    match result {
        Ok(true) => {
            Ok(Bootstrap::Created { email: email.as_str().to_owned(), generated_password: generated })
        }
        Ok(false) | Err(AppError::Conflict { .. }) => Ok(Bootstrap::AlreadySetUp),
        Err(e) => Err(e),
    }
}

/// Demo people, all with the password printed by `seed-demo`.
pub const DEMO_PASSWORD: &str = "demo-password";

#[derive(Debug, Clone)]
pub struct DemoSeed {
    pub created: bool,
    pub users: Vec<(String, Role)>,
}

/// Fills a demo organisation once: a sales department with its head, two
/// managers and an accountant. Running it again changes nothing.
pub fn seed_demo(app: &App) -> Result<DemoSeed, AppError> {
    let people = [
        ("Елена Руководитель", "head@demo.crm", Role::Head),
        ("Иван Менеджер", "ivan@demo.crm", Role::Manager),
        ("Мария Менеджер", "maria@demo.crm", Role::Manager),
        ("Ольга Бухгалтер", "olga@demo.crm", Role::Accountant),
    ];
    let listed = people.iter().map(|(_, e, r)| ((*e).to_owned(), *r)).collect();
    if app.read(|conn| Ok(q::find_by_email(conn, people[0].1)?))?.is_some() {
        return Ok(DemoSeed { created: false, users: listed });
    }
    // The seed acts as a system admin that exists only for this run.
    let system = Principal::User(UserPrincipal {
        id: uuid::Uuid::nil(),
        role: Role::Admin,
        department_id: None,
        session_id: uuid::Uuid::nil(),
    });
    let department = create_department(
        app,
        &system,
        NewDepartment { name: "Отдел продаж".to_owned(), ..Default::default() },
    )?;
    let mut head_id = None;
    for (name, email, role) in people {
        let user = create_user(
            app,
            &system,
            NewUser {
                email: email.to_owned(),
                name: name.to_owned(),
                role: role.as_str().to_owned(),
                department_id: Some(department.id),
                password: DEMO_PASSWORD.to_owned(),
                ..Default::default()
            },
        )?;
        if role == Role::Head {
            head_id = Some(user.id);
        }
    }
    crate::identity::departments::update_department(
        app,
        &system,
        department.id,
        None,
        crate::identity::departments::DepartmentChanges { head_id: Some(head_id), ..Default::default() },
    )?;
    Ok(DemoSeed { created: true, users: listed })
}
