//! Clients and contacts: parsed details, duplicates, history, visibility.

use serde_json::{json, Value};

use crate::helpers::*;

struct People {
    admin: String,
    ivan: String,
    ivan_id: String,
    maria: String,
    head: String,
}

async fn people(app: &TestApp) -> People {
    let admin = app.admin_token().await;
    let dept = app.post("/api/v1/departments", Some(&admin), &json!({"name": "Sales"})).await.body;
    let d = dept["id"].as_str().unwrap();
    let head = app.create_user(&admin, "head@test.crm", "head", Some(d)).await;
    app.patch(&format!("/api/v1/departments/{d}"), &admin, &json!({"head_id": head["id"]})).await;
    let ivan = app.create_user(&admin, "ivan@test.crm", "manager", Some(d)).await;
    app.create_user(&admin, "maria@test.crm", "manager", Some(d)).await;
    People {
        ivan: app.token("ivan@test.crm", PASSWORD).await,
        ivan_id: ivan["id"].as_str().unwrap().to_owned(),
        maria: app.token("maria@test.crm", PASSWORD).await,
        head: app.token("head@test.crm", PASSWORD).await,
        admin,
    }
}

async fn client(app: &TestApp, token: &str, body: Value) -> Value {
    let r = app.post("/api/v1/clients", Some(token), &body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body
}

fn candidate_reasons(r: &Reply, id: &Value) -> Vec<String> {
    r.body["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| &c["id"] == id)
        .map(|c| {
            c["reasons"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x["reason"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn the_same_phone_written_another_way_is_a_duplicate() {
    let app = spawn_app().await;
    let p = people(&app).await;
    let first = client(
        &app,
        &p.ivan,
        json!({"name": "ООО «Ромашка»", "kind": "company", "phones": ["8 (916) 123-45-67"],
        "emails": ["  Info@Romashka.RU "]}),
    )
    .await;
    assert_eq!(first["phones"], json!(["+79161234567"]));
    assert_eq!(first["emails"], json!(["info@romashka.ru"]));
    assert_eq!(first["responsible_id"], p.ivan_id.as_str());

    let dup = app
        .post(
            "/api/v1/clients",
            Some(&p.ivan),
            &json!({"name": "Ромашка", "kind": "company", "phones": ["+7 916 1234567"]}),
        )
        .await;
    dup.problem(409);
    assert_eq!(candidate_reasons(&dup, &first["id"]), vec!["same_phone", "similar_name"]);
    let confirmed = app
        .post(
            "/api/v1/clients",
            Some(&p.ivan),
            &json!({"name": "Ромашка", "kind": "company", "phones": ["+7 916 1234567"], "confirm_new": true}),
        )
        .await;
    assert_eq!(confirmed.status, 201, "{}", confirmed.text);

    // A contact with a client's e-mail is a duplicate too; a similar name alone is not.
    let c = app
        .post("/api/v1/contacts", Some(&p.ivan), &json!({"name": "Anna", "emails": ["INFO@romashka.ru"]}))
        .await;
    c.problem(409);
    let similar =
        app.post("/api/v1/clients", Some(&p.ivan), &json!({"name": "ООО Ромашки", "kind": "company"})).await;
    assert_eq!(similar.status, 201, "{}", similar.text);
}

#[tokio::test]
async fn bad_details_are_refused_field_by_field() {
    let app = spawn_app().await;
    let p = people(&app).await;
    let r = app
        .post(
            "/api/v1/clients",
            Some(&p.ivan),
            &json!({"name": " ", "kind": "company", "tax_id": "7707083894",
            "phones": ["+7 916 1234567", "not a phone"], "emails": ["nope"]}),
        )
        .await;
    r.problem(422);
    let mut fields = r.error_fields();
    fields.sort();
    assert_eq!(fields, vec!["emails[0]", "name", "phones[1]", "tax_id"]);
    let mismatch = app
        .post(
            "/api/v1/clients",
            Some(&p.ivan),
            &json!({"name": "Petrov", "kind": "company", "tax_id": "500100732259"}),
        )
        .await;
    assert_eq!(mismatch.problem(422)["errors"][0]["code"], "kind_mismatch");
    let kind = app.post("/api/v1/clients", Some(&p.ivan), &json!({"name": "X", "kind": "alien"})).await;
    assert_eq!(kind.problem(422)["errors"][0]["field"], "kind");
    let person = client(
        &app,
        &p.ivan,
        json!({"name": "ИП Петров Пётр", "kind": "person", "tax_id": "5001 0073 2259"}),
    )
    .await;
    assert_eq!(person["tax_id"], "500100732259");
    assert_eq!(app.get("/api/v1/clients", &p.ivan).await.body["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn duplicate_search_finds_each_reason_and_ranks_the_best_first() {
    let app = spawn_app().await;
    let p = people(&app).await;
    let a = client(
        &app,
        &p.ivan,
        json!({"name": "ООО «Ромашка»", "kind": "company", "tax_id": "7707083893",
        "phones": ["+79161234567"], "emails": ["info@romashka.ru"]}),
    )
    .await;
    let b = client(&app, &p.ivan, json!({"name": "Ромашка", "kind": "company", "confirm_new": true})).await;
    let other = client(&app, &p.ivan, json!({"name": "Василёк", "kind": "company"})).await;
    let contact = app
        .post(
            &format!("/api/v1/clients/{}/contacts", other["id"].as_str().unwrap()),
            Some(&p.ivan),
            &json!({"name": "Ольга", "phones": ["+79031112233"]}),
        )
        .await;
    assert_eq!(contact.status, 201, "{}", contact.text);

    let search = |body: Value| {
        let app = &app;
        let token = p.ivan.clone();
        async move {
            let r = app.post("/api/v1/duplicates/search", Some(&token), &body).await;
            assert_eq!(r.status, 200, "{}", r.text);
            r
        }
    };
    let by_phone = search(json!({"phone": "8 916 123 45 67"})).await;
    assert_eq!(candidate_reasons(&by_phone, &a["id"]), vec!["same_phone"]);
    let by_email = search(json!({"email": "INFO@ROMASHKA.RU"})).await;
    assert_eq!(candidate_reasons(&by_email, &a["id"]), vec!["same_email"]);
    let by_tax = search(json!({"tax_id": "7707083893"})).await;
    assert_eq!(candidate_reasons(&by_tax, &a["id"]), vec!["same_tax_id"]);
    let by_contact_phone = search(json!({"phone": "+7 903 111-22-33"})).await;
    assert_eq!(by_contact_phone.body["candidates"][0]["kind"], "contact");
    assert_eq!(by_contact_phone.body["candidates"][0]["client_id"], other["id"]);

    let ranked = search(json!({"name": "Ромашка", "phone": "+79161234567"})).await;
    let ids: Vec<&Value> = ranked.body["candidates"].as_array().unwrap().iter().map(|c| &c["id"]).collect();
    assert_eq!(ids, vec![&a["id"], &b["id"]], "phone and name beat name alone; Василёк is not similar");
    let name = &ranked.body["candidates"][1]["reasons"][0];
    assert_eq!(name["reason"], "similar_name");
    assert!(name["score"].as_f64().unwrap() >= 0.85);

    app.post("/api/v1/duplicates/search", Some(&p.ivan), &json!({})).await.problem(422);
    let bad = app.post("/api/v1/duplicates/search", Some(&p.ivan), &json!({"phone": "12"})).await;
    assert_eq!(bad.problem(422)["errors"][0]["field"], "phone");
}

#[tokio::test]
async fn a_name_is_found_by_its_rare_word_when_hundreds_of_names_share_the_other() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    // More clients share the word «Альфа» than the check weighs for one name.
    for n in 0..501 {
        client(&app, &admin, json!({"name": format!("Альфа {n:03}"), "kind": "company"})).await;
    }
    let target = client(&app, &admin, json!({"name": "Альфа Ромашка", "kind": "company"})).await;

    let r = app.post("/api/v1/duplicates/search", Some(&admin), &json!({"name": "Альфа Ромашка"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(candidate_reasons(&r, &target["id"]), vec!["similar_name"], "{}", r.text);
    assert_eq!(r.body["candidates"][0]["id"], target["id"], "the same name ranks first");
}

#[tokio::test]
async fn history_shows_who_changed_what_from_what_to_what() {
    let app = spawn_app().await;
    let p = people(&app).await;
    let c = client(&app, &p.ivan, json!({"name": "Ромашка", "kind": "company", "phones": ["+79161234567"]}))
        .await;
    let path = format!("/api/v1/clients/{}", c["id"].as_str().unwrap());
    let r = app
        .patch(
            &path,
            &p.ivan,
            &json!({"name": "Ромашка Плюс", "phones": ["+79161234567", "+79035556677"], "address": "Москва"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["version"], 2);
    let h = app.get(&format!("{path}/history"), &p.ivan).await;
    assert_eq!(h.status, 200, "{}", h.text);
    let items = h.body["items"].as_array().unwrap();
    let entry = |field: &str| {
        items.iter().find(|e| e["field"] == field).unwrap_or_else(|| panic!("{field} in {items:?}")).clone()
    };
    assert_eq!(entry("name")["old_value"], "Ромашка");
    assert_eq!(entry("name")["new_value"], "Ромашка Плюс");
    assert_eq!(entry("phones")["new_value"], "+79161234567, +79035556677");
    assert_eq!(entry("address")["old_value"], Value::Null);
    assert_eq!(entry("name")["actor_id"], p.ivan_id.as_str());
    assert!(items.iter().all(|e| e["field"] != "kind"), "unchanged fields are not recorded");
    assert_eq!(items.last().unwrap()["field"], "created");

    // A contact standing alone joins the client later; its history says so.
    let contact = app
        .post(
            "/api/v1/contacts",
            Some(&p.ivan),
            &json!({"name": "Анна", "telegram": "@anna_s", "whatsapp": "8 916 000-00-01"}),
        )
        .await;
    assert_eq!(contact.status, 201, "{}", contact.text);
    assert_eq!(contact.body["telegram"], "anna_s");
    assert_eq!(contact.body["whatsapp"], "+79160000001");
    let cpath = format!("/api/v1/contacts/{}", contact.body["id"].as_str().unwrap());
    let joined = app.patch(&cpath, &p.ivan, &json!({"client_id": c["id"], "position": "Buyer"})).await;
    assert_eq!(joined.status, 200, "{}", joined.text);
    let listed = app.get(&format!("{path}/contacts"), &p.ivan).await;
    assert_eq!(listed.body["items"][0]["id"], contact.body["id"]);
    let ch = app.get(&format!("{cpath}/history"), &p.ivan).await;
    assert!(ch.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["field"] == "client_id" && e["new_value"] == c["id"]));
}

#[tokio::test]
async fn clients_are_seen_by_their_manager_the_head_accountants_and_admins() {
    let app = spawn_app().await;
    let p = people(&app).await;
    let c = client(&app, &p.ivan, json!({"name": "Ромашка", "kind": "company"})).await;
    let path = format!("/api/v1/clients/{}", c["id"].as_str().unwrap());
    app.get(&path, &p.maria).await.problem(404);
    app.patch(&path, &p.maria, &json!({"name": "Mine"})).await.problem(404);
    app.get(&format!("{path}/history"), &p.maria).await.problem(404);
    assert_eq!(app.get("/api/v1/clients", &p.maria).await.body["items"], json!([]));
    for token in [&p.head, &p.admin] {
        assert_eq!(app.get(&path, token).await.status, 200);
    }
    app.create_user(&p.admin, "olga@test.crm", "accountant", None).await;
    let olga = app.token("olga@test.crm", PASSWORD).await;
    assert_eq!(app.get(&path, &olga).await.status, 200);
    app.post("/api/v1/clients", Some(&olga), &json!({"name": "X", "kind": "company"})).await.problem(403);
    // Maria cannot hang her interest on a client she does not see.
    let r =
        app.post("/api/v1/interests", Some(&p.maria), &json!({"title": "Steal", "client_id": c["id"]})).await;
    r.problem(422);
    assert_eq!(r.unmet_checks(), vec!["client_exists"]);
    // Only heads and admins hand a client to someone else.
    let maria_id = app.get("/api/v1/me", &p.maria).await.body["id"].clone();
    app.patch(&path, &p.ivan, &json!({"responsible_id": maria_id})).await.problem(403);
    let handed = app.patch(&path, &p.head, &json!({"responsible_id": maria_id})).await;
    assert_eq!(handed.status, 200, "{}", handed.text);
    assert_eq!(app.get(&path, &p.maria).await.status, 200);
}
