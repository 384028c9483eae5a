//! Users and departments: validation, permissions, rules.

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn a_user_with_many_bad_fields_learns_of_every_one() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let before = app.user_count(&admin).await;
    let r = app
        .post(
            "/api/v1/users",
            Some(&admin),
            &json!({"email": "not-an-email", "name": "   ", "role": "manager", "time_zone": "Mars/Olympus", "password": "long-enough-1"}),
        )
        .await;
    r.problem(422);
    let mut fields = r.error_fields();
    fields.sort();
    assert_eq!(fields, vec!["email", "name", "time_zone"]);

    let short = app
        .post(
            "/api/v1/users",
            Some(&admin),
            &json!({"email": "a@test.crm", "name": "A", "role": "manager", "password": "short"}),
        )
        .await;
    assert_eq!(short.error_fields(), vec!["password"]);
    let role = app
        .post(
            "/api/v1/users",
            Some(&admin),
            &json!({"email": "a@test.crm", "name": "A", "role": "owner", "password": PASSWORD}),
        )
        .await;
    role.problem(400);
    assert_eq!(app.user_count(&admin).await, before);
}

#[tokio::test]
async fn e_mails_are_unique_whatever_their_case() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    app.create_user(&admin, "anna@test.crm", "manager", None).await;
    let dup = app
        .post(
            "/api/v1/users",
            Some(&admin),
            &json!({"email": "  ANNA@test.crm ", "name": "Anna 2", "role": "manager", "password": PASSWORD}),
        )
        .await;
    assert_eq!(dup.problem(409)["errors"][0]["field"], "email");
}

#[tokio::test]
async fn a_client_chosen_id_makes_a_retried_create_harmless() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let id = uuid::Uuid::now_v7().to_string();
    let body = json!({"id": id, "email": "offline@test.crm", "name": "Offline", "role": "manager", "password": PASSWORD});
    let first = app.post("/api/v1/users", Some(&admin), &body).await;
    assert_eq!(first.status, 201);
    assert_eq!(first.body["id"], id.as_str());
    let again = app.post("/api/v1/users", Some(&admin), &body).await;
    assert_eq!(again.problem(409)["errors"][0]["field"], "id");
}

#[tokio::test]
async fn unknown_departments_break_a_rule() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let r = app
        .post(
            "/api/v1/users",
            Some(&admin),
            &json!({"email": "x@test.crm", "name": "X", "role": "manager", "department_id": uuid::Uuid::now_v7(), "password": PASSWORD}),
        )
        .await;
    r.problem(422);
    assert_eq!(r.unmet_checks(), vec!["department_exists"]);
}

#[tokio::test]
async fn people_change_only_their_own_harmless_fields() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let ivan = app.create_user(&admin, "ivan@test.crm", "manager", None).await;
    let maria = app.create_user(&admin, "maria@test.crm", "manager", None).await;
    let token = app.token("ivan@test.crm", PASSWORD).await;
    let me = format!("/api/v1/users/{}", ivan["id"].as_str().unwrap());

    let ok =
        app.patch(&me, &token, &json!({"name": "  Иван   Петров ", "time_zone": "Asia/Yekaterinburg"})).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.body["name"], "Иван Петров");
    assert_eq!(ok.body["time_zone"], "Asia/Yekaterinburg");
    assert_eq!(ok.body["version"], 2);

    app.patch(&me, &token, &json!({"role": "admin"})).await.problem(403);
    app.patch(&me, &token, &json!({"active": false})).await.problem(403);
    let other = format!("/api/v1/users/{}", maria["id"].as_str().unwrap());
    app.patch(&other, &token, &json!({"name": "Hacked"})).await.problem(403);
    let maria_now = app.get(&other, &admin).await;
    assert_eq!(maria_now.body["name"], maria["name"]);
    assert_eq!(maria_now.body["version"], 1);
}

#[tokio::test]
async fn the_last_admin_cannot_be_demoted_or_deactivate_themselves() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let me = app.get("/api/v1/me", &admin).await;
    let path = format!("/api/v1/users/{}", me.body["id"].as_str().unwrap());
    let demote = app.patch(&path, &admin, &json!({"role": "manager"})).await;
    demote.problem(422);
    assert_eq!(demote.unmet_checks(), vec!["last_admin"]);
    let off = app.patch(&path, &admin, &json!({"active": false})).await;
    off.problem(422);
    assert_eq!(off.unmet_checks(), vec!["last_admin", "not_self"]);
    assert_eq!(app.get("/api/v1/me", &admin).await.body["role"], "admin");
}

#[tokio::test]
async fn users_are_filtered_by_department_role_and_activity() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let dept = app.post("/api/v1/departments", Some(&admin), &json!({"name": "Sales"})).await.body;
    let d = dept["id"].as_str().unwrap();
    app.create_user(&admin, "h@test.crm", "head", Some(d)).await;
    app.create_user(&admin, "m1@test.crm", "manager", Some(d)).await;
    app.create_user(&admin, "m2@test.crm", "manager", None).await;

    let in_dept = app.get(&format!("/api/v1/users?department_id={d}"), &admin).await;
    assert_eq!(in_dept.body["items"].as_array().unwrap().len(), 2);
    let managers = app.get("/api/v1/users?role=manager", &admin).await;
    assert_eq!(managers.body["items"].as_array().unwrap().len(), 2);
    let bad_role = app.get("/api/v1/users?role=owner", &admin).await;
    bad_role.problem(400);
}

#[tokio::test]
async fn department_names_are_unique_without_regard_to_case() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    assert_eq!(
        app.post("/api/v1/departments", Some(&admin), &json!({"name": "Отдел продаж"})).await.status,
        201
    );
    let dup = app.post("/api/v1/departments", Some(&admin), &json!({"name": "  отдел   ПРОДАЖ"})).await;
    assert_eq!(dup.problem(409)["errors"][0]["field"], "name");
}

#[tokio::test]
async fn a_department_head_must_be_an_active_head_and_every_problem_is_listed() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let manager = app.create_user(&admin, "m@test.crm", "manager", None).await;
    let r = app
        .post(
            "/api/v1/departments",
            Some(&admin),
            &json!({"name": "Sales", "head_id": manager["id"], "parent_id": uuid::Uuid::now_v7()}),
        )
        .await;
    r.problem(422);
    assert_eq!(r.unmet_checks(), vec!["head_role", "parent_exists"]);
    assert_eq!(app.get("/api/v1/departments", &admin).await.body["items"], json!([]));
}

#[tokio::test]
async fn a_department_cannot_sit_below_itself() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let top = app.post("/api/v1/departments", Some(&admin), &json!({"name": "Company"})).await.body;
    let mid = app
        .post("/api/v1/departments", Some(&admin), &json!({"name": "Sales", "parent_id": top["id"]}))
        .await
        .body;
    let low = app
        .post("/api/v1/departments", Some(&admin), &json!({"name": "Sales North", "parent_id": mid["id"]}))
        .await
        .body;
    let top_path = format!("/api/v1/departments/{}", top["id"].as_str().unwrap());
    let cycle = app.patch(&top_path, &admin, &json!({"parent_id": low["id"]})).await;
    cycle.problem(422);
    assert_eq!(cycle.unmet_checks(), vec!["parent_not_descendant"]);
    let to_top = app.patch(&top_path, &admin, &json!({"parent_id": null})).await;
    assert_eq!(to_top.status, 200);
    assert_eq!(to_top.body["parent_id"], serde_json::Value::Null);

    let children =
        app.get(&format!("/api/v1/departments?parent_id={}", mid["id"].as_str().unwrap()), &admin).await;
    assert_eq!(children.body["items"][0]["id"], low["id"]);
}

#[tokio::test]
async fn managers_may_read_but_not_change_the_organisation() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let dept = app.post("/api/v1/departments", Some(&admin), &json!({"name": "Sales"})).await.body;
    app.create_user(&admin, "m@test.crm", "manager", None).await;
    let manager = app.token("m@test.crm", PASSWORD).await;
    let path = format!("/api/v1/departments/{}", dept["id"].as_str().unwrap());
    assert_eq!(app.get(&path, &manager).await.status, 200);
    assert_eq!(app.get("/api/v1/departments", &manager).await.status, 200);
    app.post("/api/v1/departments", Some(&manager), &json!({"name": "Mine"})).await.problem(403);
    app.patch(&path, &manager, &json!({"name": "Renamed"})).await.problem(403);
    assert_eq!(app.get(&path, &admin).await.body["name"], "Sales");
}

#[tokio::test]
async fn the_demo_seed_fills_a_department_once() {
    let app = spawn_app().await;
    let first = crm_app::identity::bootstrap::seed_demo(&app.app).unwrap();
    assert!(first.created);
    let again = crm_app::identity::bootstrap::seed_demo(&app.app).unwrap();
    assert!(!again.created, "a second run changes nothing");

    let head = app.token("head@demo.crm", crm_app::identity::bootstrap::DEMO_PASSWORD).await;
    let me = app.get("/api/v1/me", &head).await;
    let dept =
        app.get(&format!("/api/v1/departments/{}", me.body["department_id"].as_str().unwrap()), &head).await;
    assert_eq!(dept.body["head_id"], me.body["id"]);
    let admin = app.admin_token().await;
    assert_eq!(app.user_count(&admin).await, 5, "the admin and four demo people");
}
