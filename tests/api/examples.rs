//! The spec's examples are true: every request example is read from the
//! served spec and sent, on a sale built along the way, as a front-end
//! developer copying it from the reference would send it, and must be
//! accepted; every answer of the tour is compared with the example the spec
//! shows for its schema (`openapi/examples.json`, recorded from this tour),
//! which must have the same fields, nested, as the server sends.
//!
//! `CRM_RECORD_EXAMPLES=1 cargo test --test api the_examples_of_the_spec`
//! records the answers again; then regenerate `openapi/openapi.json`.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::webhooks::{dispatch, Receiver};

const RECORDED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/examples.json");

struct Tour<'a> {
    app: &'a TestApp,
    spec: Value,
    /// Operations whose request example was sent (with its media type).
    sent: BTreeSet<String>,
    /// Per response schema, the fullest answer of the tour.
    answers: BTreeMap<String, Value>,
}

/// How much a body says: its leaves that are not null.
fn filled(v: &Value) -> usize {
    match v {
        Value::Null => 0,
        Value::Object(m) => m.values().map(filled).sum(),
        Value::Array(items) => items.iter().map(filled).sum(),
        _ => 1,
    }
}

/// The body with every list cut to its first two entries: an example, not a dump.
fn shortened(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), shortened(v))).collect()),
        Value::Array(items) => Value::Array(items.iter().take(2).map(shortened).collect()),
        other => other.clone(),
    }
}

/// Where `live` and `kept` differ in the fields they have, nested.
fn shape_diff(at: &str, live: &Value, kept: &Value, out: &mut Vec<String>) {
    match (live, kept) {
        (Value::Object(a), Value::Object(b)) => {
            for k in a.keys().filter(|k| !b.contains_key(*k)) {
                out.push(format!("{at}/{k} is sent but not in the example"));
            }
            for k in b.keys().filter(|k| !a.contains_key(*k)) {
                out.push(format!("{at}/{k} is in the example but not sent"));
            }
            for (k, v) in a {
                if let Some(w) = b.get(k) {
                    shape_diff(&format!("{at}/{k}"), v, w, out);
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            if let (Some(x), Some(y)) = (a.first(), b.first()) {
                shape_diff(&format!("{at}/0"), x, y, out);
            }
        }
        _ => {}
    }
}

impl<'a> Tour<'a> {
    async fn new(app: &'a TestApp, admin: &str) -> Self {
        let spec = app.get("/api-docs/openapi.json", admin).await.body;
        Tour { app, spec, sent: BTreeSet::new(), answers: BTreeMap::new() }
    }

    fn operation(&self, operation_id: &str) -> &Value {
        self.spec["paths"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|item| item.as_object().unwrap().values())
            .find(|op| op["operationId"] == operation_id)
            .unwrap_or_else(|| panic!("no operation {operation_id}"))
    }

    /// The example of an operation's body in `media`, from the served spec.
    fn example(&self, operation_id: &str, media: &str) -> Value {
        let content = &self.operation(operation_id)["requestBody"]["content"][media];
        if let Some(e) = content.get("example") {
            return e.clone();
        }
        let name = content["schema"]["$ref"].as_str().unwrap().rsplit('/').next().unwrap();
        self.spec["components"]["schemas"][name]["example"].clone()
    }

    /// Keeps `body` as the answer of its schema when it says more than the one kept.
    fn keep(&mut self, operation_id: &str, status: u16, body: &Value) {
        let op = self.operation(operation_id);
        let schema = &op["responses"][status.to_string()]["content"]["application/json"]["schema"]["$ref"];
        let Some(name) = schema.as_str().and_then(|r| r.rsplit('/').next()).map(str::to_owned) else {
            return;
        };
        // A page says something only with an item on it.
        if body.get("items").and_then(Value::as_array).is_some_and(Vec::is_empty) {
            return;
        }
        if self.answers.get(&name).is_none_or(|kept| filled(body) > filled(kept)) {
            self.answers.insert(name, body.clone());
        }
    }

    /// Sends the JSON example of `op` with the values at `fields` (JSON
    /// pointers into it: ids of this run) set, and expects success.
    async fn send(
        &mut self,
        token: &str,
        op: &str,
        method: Method,
        path: &str,
        fields: &[(&str, Value)],
    ) -> Value {
        let mut body = self.example(op, "application/json");
        assert!(body.is_object(), "{op} has no example");
        for (at, v) in fields {
            // A field the example leaves out (an id of this run) is added to its object.
            let (parent, key) = at.rsplit_once('/').unwrap();
            let object = body.pointer_mut(parent).and_then(Value::as_object_mut);
            object
                .unwrap_or_else(|| panic!("{op}'s example has no {parent}"))
                .insert(key.to_owned(), v.clone());
        }
        let mut req = self.app.request(method, path, Some(token)).json(&body);
        if let Some(tag) = self.app.get(path, token).await.header("etag") {
            req = req.header("if-match", tag);
        }
        let reply = Reply::read(req.send().await.unwrap()).await;
        assert!(
            reply.status.is_success(),
            "{op}: its example {body} answered {}: {}",
            reply.status,
            reply.text
        );
        self.sent.insert(format!("{op} application/json"));
        self.keep(op, reply.status.as_u16(), &reply.body);
        reply.body
    }

    /// Sends the example of `op` in another media type, with its own headers.
    async fn send_as(&mut self, op: &str, path: &str, media: &str, headers: &[(&str, &str)]) -> Value {
        let example = self.example(op, media);
        let mut req = self.app.client.request(Method::POST, self.app.url(path));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req = match media {
            "application/x-www-form-urlencoded" => {
                let pairs: Vec<(String, String)> = example
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                    .collect();
                req.form(&pairs)
            }
            "application/json" => {
                req.header("content-type", media).body(serde_json::to_vec(&example).unwrap())
            }
            _ => req.header("content-type", media).body(example.as_str().unwrap().as_bytes().to_vec()),
        };
        let reply = Reply::read(req.send().await.unwrap()).await;
        assert!(
            reply.status.is_success(),
            "{op} {media}: its example answered {}: {}",
            reply.status,
            reply.text
        );
        self.sent.insert(format!("{op} {media}"));
        self.keep(op, reply.status.as_u16(), &reply.body);
        reply.body
    }

    /// An answer of a read or a body-less action, kept like the others.
    async fn call(&mut self, token: &str, op: &str, method: Method, path: &str) -> Value {
        let reply = Reply::read(self.app.request(method, path, Some(token)).send().await.unwrap()).await;
        assert!(reply.status.is_success(), "{op} answered {}: {}", reply.status, reply.text);
        self.keep(op, reply.status.as_u16(), &reply.body);
        reply.body
    }

    /// Every request body of the spec was sent, and every answer's example
    /// has the fields the server sent (or is recorded anew).
    fn check(&self) {
        let mut bodies = BTreeSet::new();
        for item in self.spec["paths"].as_object().unwrap().values() {
            for op in item.as_object().unwrap().values() {
                for media in op["requestBody"]["content"].as_object().into_iter().flat_map(|c| c.keys()) {
                    bodies.insert(format!("{} {media}", op["operationId"].as_str().unwrap()));
                }
            }
        }
        let unsent: Vec<_> = bodies.difference(&self.sent).collect();
        assert!(unsent.is_empty(), "request examples the tour never sent: {unsent:?}");

        if std::env::var("CRM_RECORD_EXAMPLES").is_ok_and(|v| !v.is_empty()) {
            let short: BTreeMap<&String, Value> =
                self.answers.iter().map(|(k, v)| (k, shortened(v))).collect();
            let text = serde_json::to_string_pretty(&short).unwrap() + "\n";
            std::fs::write(RECORDED, text).unwrap();
            return;
        }
        let recorded: BTreeMap<String, Value> =
            serde_json::from_str(&std::fs::read_to_string(RECORDED).unwrap()).unwrap();
        let mut wrong = Vec::new();
        for (name, live) in &self.answers {
            match recorded.get(name) {
                Some(kept) => shape_diff(name, live, kept, &mut wrong),
                None => wrong.push(format!("{name} has no recorded example")),
            }
        }
        for name in recorded.keys().filter(|n| !self.answers.contains_key(*n)) {
            wrong.push(format!("{name} is recorded but the tour no longer gets one"));
        }
        assert!(
            wrong.is_empty(),
            "the examples differ from what the server sends (record them again): {wrong:#?}"
        );
    }
}

/// The body of a step the tour takes without an example of the spec.
fn ok(r: Reply) -> Value {
    assert!(r.status.is_success(), "{}: {}", r.status, r.text);
    r.body
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_examples_of_the_spec_are_accepted_and_answered_as_shown() {
    let app = spawn_app_with(&[("CRM_WEBHOOKS_ALLOW_PRIVATE", "true")]).await;
    let admin = app.admin_token().await;
    let mut t = Tour::new(&app, &admin).await;
    use Method as M;

    // Sign-in as the reference shows it (with this run's admin), then the organisation.
    assert_eq!(t.example("login", "application/json")["email"], "admin@example.com");
    t.send(
        &admin,
        "login",
        M::POST,
        "/api/v1/auth/login",
        &[("/email", ADMIN_EMAIL.into()), ("/password", ADMIN_PASSWORD.into())],
    )
    .await;
    t.send(&admin, "putOrganization", M::PUT, "/api/v1/organization", &[]).await;
    t.call(&admin, "getOrganization", M::GET, "/api/v1/organization").await;
    let department = t.send(&admin, "createDepartment", M::POST, "/api/v1/departments", &[]).await;
    let did = id(&department);
    t.send(&admin, "updateDepartment", M::PATCH, &format!("/api/v1/departments/{did}"), &[]).await;
    let user = t
        .send(&admin, "createUser", M::POST, "/api/v1/users", &[("/department_id", did.clone().into())])
        .await;
    let uid = id(&user);
    t.send(&admin, "updateUser", M::PATCH, &format!("/api/v1/users/{uid}"), &[]).await;
    let head = app.create_user(&admin, "head@example.ru", "head", Some(&did)).await;
    ok(app.patch(&format!("/api/v1/departments/{did}"), &admin, &json!({"head_id": head["id"]})).await);
    let manager = app.token("ivan.petrov@example.ru", "correct horse battery staple").await;
    let head = app.token("head@example.ru", PASSWORD).await;
    t.call(&manager, "getMe", M::GET, "/api/v1/me").await;

    // The catalogue and the settings an admin makes.
    let product = t.send(&admin, "createProduct", M::POST, "/api/v1/products", &[]).await;
    let pid = id(&product);
    t.send(&admin, "updateProduct", M::PATCH, &format!("/api/v1/products/{pid}"), &[]).await;
    let reason = t.send(&admin, "createLossReason", M::POST, "/api/v1/loss-reasons", &[]).await;
    let spare =
        ok(app.post("/api/v1/loss-reasons", Some(&admin), &json!({"name": "Duplicate request"})).await);
    t.send(&admin, "updateLossReason", M::PATCH, &format!("/api/v1/loss-reasons/{}", id(&spare)), &[]).await;
    let scenario = t.send(&admin, "createScenario", M::POST, "/api/v1/scenarios", &[]).await;
    let sid = id(&scenario);
    t.send(&admin, "replaceScenario", M::PUT, &format!("/api/v1/scenarios/{sid}"), &[]).await;
    t.send(&admin, "copyScenario", M::POST, &format!("/api/v1/scenarios/{sid}/copy"), &[]).await;
    t.send(&admin, "createApiKey", M::POST, "/api/v1/api-keys", &[]).await;
    let intake_key = ok(app
        .post("/api/v1/api-keys", Some(&admin), &json!({"name": "PBX and mail", "scopes": ["leads:write"]}))
        .await)["secret"]
        .as_str()
        .unwrap()
        .to_owned();

    // A receiver for the webhook, then every change of the sale reaches it.
    let receiver = Receiver::start().await;
    crate::feed::settle(&app).await;
    let hook = t
        .send(&admin, "createWebhook", M::POST, "/api/v1/webhooks", &[("/url", receiver.url.clone().into())])
        .await;
    let hid = id(&hook);

    // Leads from every channel, each in its provider's format as the spec shows it.
    t.send(&admin, "createChannel", M::POST, "/api/v1/channels", &[]).await;
    ok(app.post(
        "/api/v1/channels",
        Some(&admin),
        &json!({"kind": "telegram", "name": "Sales bot", "address": "sales_bot", "secret": "tg-secret_123"}),
    )
    .await);
    ok(app.post(
        "/api/v1/channels",
        Some(&admin),
        &json!({"kind": "vk", "name": "VK page", "address": "229876543", "confirmation": "a1b2c3d4", "secret": "vk-callback-secret"}),
    )
    .await);
    let form = t.send(&admin, "createForm", M::POST, "/api/v1/forms", &[]).await;
    let form_path = format!("/api/v1/intake/forms/{}", form["address"].as_str().unwrap());
    let origin = form["allowed_origins"][0].as_str().unwrap_or("https://example.com").to_owned();
    for media in ["application/json", "application/x-www-form-urlencoded"] {
        t.send_as("intakeForm", &form_path, media, &[("origin", &origin)]).await;
    }
    let secret = [("x-telegram-bot-api-secret-token", "tg-secret_123")];
    t.send_as("intakeTelegram", "/api/v1/intake/telegram", "application/json", &secret).await;
    t.send_as("intakeVk", "/api/v1/intake/vk", "application/json", &[]).await;
    let key = [("x-api-key", intake_key.as_str())];
    t.send_as("intakeCall", "/api/v1/intake/calls", "application/json", &key).await;
    let mailed = t.send_as("intakeEmail", "/api/v1/intake/email", "message/rfc822", &key).await;
    t.send(
        &admin,
        "rejectLead",
        M::POST,
        &format!("/api/v1/leads/{}/reject", mailed["lead_id"].as_str().unwrap()),
        &[],
    )
    .await;

    // The manager's client, with its contacts and agreement.
    let client = t.send(&manager, "createClient", M::POST, "/api/v1/clients", &[]).await;
    let cid = id(&client);
    t.send(&manager, "updateClient", M::PATCH, &format!("/api/v1/clients/{cid}"), &[]).await;
    // Her birthday comes up within the tour's upcoming-dates window, whatever day the clock starts on.
    let birthday = format!("1988{}", &app.day(13)[4..]);
    let contact = t
        .send(
            &manager,
            "createClientContact",
            M::POST,
            &format!("/api/v1/clients/{cid}/contacts"),
            &[("/birthday", birthday.into())],
        )
        .await;
    let kid = id(&contact);
    t.send(&manager, "updateContact", M::PATCH, &format!("/api/v1/contacts/{kid}"), &[]).await;
    t.send(&manager, "createContact", M::POST, "/api/v1/contacts", &[]).await;
    t.call(&manager, "getContactHistory", M::GET, &format!("/api/v1/contacts/{kid}/history")).await;
    t.call(&manager, "getClientHistory", M::GET, &format!("/api/v1/clients/{cid}/history")).await;
    t.send(&manager, "searchDuplicates", M::POST, "/api/v1/duplicates/search", &[]).await;
    let agreement =
        t.send(&manager, "createAgreement", M::POST, &format!("/api/v1/clients/{cid}/agreements"), &[]).await;
    let aid = id(&agreement);
    t.send(&manager, "updateAgreement", M::PATCH, &format!("/api/v1/agreements/{aid}"), &[]).await;

    // A lead of the manager's, looked at and accepted into an interest.
    let lead = t.send(&manager, "createLead", M::POST, "/api/v1/leads", &[]).await;
    let lid = id(&lead);
    t.call(&manager, "getLeadAcceptance", M::GET, &format!("/api/v1/leads/{lid}/acceptance")).await;
    t.send(&manager, "acceptLead", M::POST, &format!("/api/v1/leads/{lid}/accept"), &[]).await;

    // The interest of the sale: worked, moved, quoted, ordered.
    let interest = t
        .send(&manager, "createInterest", M::POST, "/api/v1/interests", &[("/client_id", cid.clone().into())])
        .await;
    let iid = id(&interest);
    t.send(&manager, "updateInterest", M::PATCH, &format!("/api/v1/interests/{iid}"), &[]).await;
    let interactions = format!("/api/v1/interests/{iid}/interactions");
    let call = t.send(&manager, "createInteraction", M::POST, &interactions, &[]).await;
    let xid = id(&call);
    t.send(&manager, "updateInteraction", M::PATCH, &format!("/api/v1/interactions/{xid}"), &[]).await;
    t.send(&manager, "completeInteraction", M::POST, &format!("/api/v1/interactions/{xid}/complete"), &[])
        .await;
    let meeting = t.send(&manager, "createInteraction", M::POST, &interactions, &[]).await;
    t.send(
        &manager,
        "cancelInteraction",
        M::POST,
        &format!("/api/v1/interactions/{}/cancel", id(&meeting)),
        &[],
    )
    .await;
    t.send(&manager, "moveInterest", M::POST, &format!("/api/v1/interests/{iid}/transitions"), &[]).await;
    let task = t
        .send(&manager, "createTask", M::POST, "/api/v1/tasks", &[("/interest_id", iid.clone().into())])
        .await;
    let tid = id(&task);
    t.send(&manager, "updateTask", M::PATCH, &format!("/api/v1/tasks/{tid}"), &[]).await;
    t.send(&manager, "completeTask", M::POST, &format!("/api/v1/tasks/{tid}/complete"), &[]).await;
    let other = ok(app
        .post(
            "/api/v1/tasks",
            Some(&head),
            &json!({"title": "Call back", "interest_id": iid, "due_at": "2027-03-03T10:00:00Z", "assignee_id": uid}),
        )
        .await);
    t.send(&manager, "cancelTask", M::POST, &format!("/api/v1/tasks/{}/cancel", id(&other)), &[]).await;

    let quote =
        t.send(&manager, "createQuote", M::POST, &format!("/api/v1/interests/{iid}/quotes"), &[]).await;
    let qid = id(&quote);
    t.send(&manager, "updateQuote", M::PATCH, &format!("/api/v1/quotes/{qid}"), &[]).await;
    ok(app.patch(&format!("/api/v1/quotes/{qid}"), &manager, &json!({"status": "sent"})).await);
    let variant = quote["variants"][0]["id"].clone();
    t.send(
        &manager,
        "approveQuote",
        M::POST,
        &format!("/api/v1/quotes/{qid}/approve"),
        &[("/variant_id", variant)],
    )
    .await;
    t.send(
        &manager,
        "createOrdersFromQuote",
        M::POST,
        &format!("/api/v1/quotes/{qid}/orders"),
        &[("/agreement_id", aid.clone().into())],
    )
    .await;
    let order =
        t.send(&manager, "createOrder", M::POST, &format!("/api/v1/interests/{iid}/orders"), &[]).await;
    let oid = id(&order);
    let order = t.send(&manager, "updateOrder", M::PATCH, &format!("/api/v1/orders/{oid}"), &[]).await;
    t.call(&manager, "confirmOrder", M::POST, &format!("/api/v1/orders/{oid}/confirm")).await;
    t.send(&manager, "sendInvoice", M::POST, &format!("/api/v1/orders/{oid}/invoice/send"), &[]).await;
    let mail = t
        .send(
            &manager,
            "sendInterestEmail",
            M::POST,
            &format!("/api/v1/interests/{iid}/emails"),
            &[("/attachments/0/id", oid.clone().into())],
        )
        .await;
    t.call(&manager, "listInterestEmails", M::GET, &format!("/api/v1/interests/{iid}/emails")).await;
    t.call(&manager, "getInterestEmail", M::GET, &format!("/api/v1/interest-emails/{}", id(&mail))).await;
    t.send(&admin, "recordRelatedDocument", M::POST, &format!("/api/v1/orders/{oid}/related-documents"), &[])
        .await;

    // Accounting registers payments; the warehouse ships.
    let accountant = app.create_user(&admin, "olga@example.ru", "accountant", None).await;
    assert!(accountant["id"].is_string());
    let olga = app.token("olga@example.ru", PASSWORD).await;
    t.send(&olga, "registerPayment", M::POST, "/api/v1/payments", &[("/order_id", oid.clone().into())]).await;
    t.send(
        &olga,
        "registerPayments",
        M::POST,
        "/api/v1/payments/batch",
        &[("/payments/0/order_id", oid.clone().into()), ("/payments/1/order_id", oid.clone().into())],
    )
    .await;
    let line = order["lines"][0]["id"].clone();
    let shipment = t
        .send(
            &manager,
            "createShipment",
            M::POST,
            &format!("/api/v1/orders/{oid}/shipments"),
            &[("/lines/0/order_line_id", line)],
        )
        .await;
    t.send(&manager, "updateShipment", M::PATCH, &format!("/api/v1/shipments/{}", id(&shipment)), &[]).await;
    t.call(&manager, "getDocumentTree", M::GET, &format!("/api/v1/interests/{iid}/documents")).await;
    t.call(&manager, "getInterestTimeline", M::GET, &format!("/api/v1/interests/{iid}/timeline")).await;

    // A second interest is lost, with the head's approval.
    let lost =
        ok(app.post("/api/v1/interests", Some(&manager), &json!({"title": "Sofas", "client_id": cid})).await);
    let lost_id = id(&lost);
    let asked = app
        .post(
            &format!("/api/v1/interests/{lost_id}/transitions"),
            Some(&manager),
            &json!({"to_stage": "lost", "loss_reason_id": reason["id"], "comment": "Went to a competitor"}),
        )
        .await;
    assert_eq!(asked.status, 200, "{}", asked.text);
    t.send(&head, "decideLoss", M::POST, &format!("/api/v1/interests/{lost_id}/loss-decision"), &[]).await;

    // The head sets the manager's plan for the month, changes it, and the manager reads it.
    let plan = t
        .send(&head, "createSalesPlan", M::POST, "/api/v1/sales-plans", &[("/user_id", uid.clone().into())])
        .await;
    let plan_id = id(&plan);
    t.send(&head, "updateSalesPlan", M::PATCH, &format!("/api/v1/sales-plans/{plan_id}"), &[]).await;
    t.call(&head, "getSalesPlan", M::GET, &format!("/api/v1/sales-plans/{plan_id}")).await;
    t.call(&manager, "listSalesPlans", M::GET, "/api/v1/sales-plans").await;
    let spare_plan = ok(app
        .post(
            "/api/v1/sales-plans",
            Some(&head),
            &json!({"month": "2027-01", "user_id": uid, "amount": "1000"}),
        )
        .await);
    t.call(&head, "deleteSalesPlan", M::DELETE, &format!("/api/v1/sales-plans/{}", id(&spare_plan))).await;

    // What the manager reads of it all.
    t.call(&manager, "getBoard", M::GET, "/api/v1/board").await;
    let notes = t.call(&manager, "listNotifications", M::GET, "/api/v1/notifications").await;
    if let Some(first) = notes["items"].as_array().and_then(|n| n.first()) {
        t.call(&manager, "readNotification", M::POST, &format!("/api/v1/notifications/{}/read", id(first)))
            .await;
    }
    t.call(&admin, "listApiKeys", M::GET, "/api/v1/api-keys").await;
    crate::feed::settle(&app).await;
    t.call(&admin, "listEvents", M::GET, "/api/v1/events?limit=500").await;
    t.call(&admin, "healthz", M::GET, "/healthz").await;
    t.call(&admin, "readyz", M::GET, "/readyz").await;

    // The webhook delivers; a test send, a redelivery, a replay, a new secret, a pause.
    dispatch(&app).await;
    let deliveries =
        t.call(&admin, "listWebhookDeliveries", M::GET, &format!("/api/v1/webhooks/{hid}/deliveries")).await;
    let first = id(&deliveries["items"][0]);
    t.call(
        &admin,
        "redeliverWebhookDelivery",
        M::POST,
        &format!("/api/v1/webhook-deliveries/{first}/redeliver"),
    )
    .await;
    t.call(&admin, "testWebhook", M::POST, &format!("/api/v1/webhooks/{hid}/test")).await;
    t.send(&admin, "replayWebhook", M::POST, &format!("/api/v1/webhooks/{hid}/replay"), &[]).await;
    t.call(&admin, "rotateWebhookSecret", M::POST, &format!("/api/v1/webhooks/{hid}/rotate-secret")).await;
    t.send(&admin, "updateWebhook", M::PATCH, &format!("/api/v1/webhooks/{hid}"), &[]).await;

    // The client's important date, and what comes up.
    let date = t.send(&manager, "addClientDate", M::POST, &format!("/api/v1/clients/{cid}/dates"), &[]).await;
    t.call(&manager, "listClientDates", M::GET, &format!("/api/v1/clients/{cid}/dates")).await;
    t.call(&manager, "getClientDate", M::GET, &format!("/api/v1/client-dates/{}", id(&date))).await;
    t.call(&manager, "listUpcomingDates", M::GET, "/api/v1/upcoming-dates?days=60").await;
    t.call(&manager, "deleteClientDate", M::DELETE, &format!("/api/v1/client-dates/{}", id(&date))).await;

    // The manager's client goes to the head, with its open interests and tasks.
    let head_id = id(&ok(app.get("/api/v1/me", &head).await));

    // The manager plans a week away with the head standing in, then withdraws it.
    let away = app.clock_now() + chrono::Duration::days(13);
    let absence = t
        .send(
            &manager,
            "createAbsence",
            M::POST,
            "/api/v1/absences",
            &[
                ("/user_id", uid.clone().into()),
                ("/deputy_id", head_id.clone().into()),
                ("/from", json!(away)),
                ("/to", json!(away + chrono::Duration::days(14))),
            ],
        )
        .await;
    t.call(&manager, "listAbsences", M::GET, "/api/v1/absences").await;
    t.call(&manager, "getAbsence", M::GET, &format!("/api/v1/absences/{}", id(&absence))).await;
    t.call(&manager, "cancelAbsence", M::DELETE, &format!("/api/v1/absences/{}", id(&absence))).await;
    t.send(
        &admin,
        "handOverWork",
        M::POST,
        &format!("/api/v1/users/{uid}/handover"),
        &[("/to_user_id", head_id.into()), ("/client_ids", json!([cid]))],
    )
    .await;

    // The session ends as a client ends it: refreshed once, then signed out.
    let login = app.login("ivan.petrov@example.ru", "correct horse battery staple").await.body;
    let refresh = login["refresh_token"].clone();
    let renewed = t
        .send(&manager, "refreshToken", M::POST, "/api/v1/auth/refresh", &[("/refresh_token", refresh)])
        .await;
    t.send(renewed["access_token"].as_str().unwrap(), "logout", M::POST, "/api/v1/auth/logout", &[]).await;

    t.check();
}
