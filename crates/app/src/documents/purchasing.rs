//! Purchase-side documents procurement makes for an order (supplier order,
//! goods receipt, receipt order), and the tree of every document an interest
//! grew: interest → quotes → orders → invoice, payments, shipments, purchases.

use chrono::{DateTime, NaiveDate, Utc};
use crm_domain::events::EventType;
use crm_domain::status::OrderStatus;
use crm_domain::status::TimelineKind;
use crm_domain::Money;
use crm_store::queries::{documents as dq, orders as q, sales as sq};
use crm_store::rows::{OrderRow, RelatedDocumentRow};
use uuid::Uuid;

use crate::documents::orders::{midnight, order_visibility, visible_order};
use crate::identity::permissions;
use crate::identity::policy::{visibility, Visibility};
use crate::identity::principal::actor_parts;
use crate::identity::principal::Principal;
use crate::platform::error::{AppError, Problems};
use crate::platform::outbox;
use crate::sales::timeline;
use crate::App;

pub const RELATED_KINDS: [&str; 3] = ["supplier_order", "goods_receipt", "receipt_order"];

#[derive(Debug, Clone)]
pub struct RelatedView {
    pub id: Uuid,
    pub order_id: Uuid,
    pub kind: String,
    pub number: String,
    pub document_date: NaiveDate,
    pub status: String,
    pub amount: Option<Money>,
    pub external_id: Option<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub(crate) fn related_view(r: RelatedDocumentRow) -> RelatedView {
    RelatedView {
        id: r.id.0,
        order_id: r.order_id.0,
        kind: r.kind,
        number: r.number,
        document_date: r.document_date.date(),
        status: r.status,
        amount: r.amount_minor.map(Money::from_minor),
        external_id: r.external_id,
        version: r.version,
        created_at: r.created_at.and_utc(),
        updated_at: r.updated_at.and_utc(),
    }
}

#[derive(Debug, Clone)]
pub struct RelatedInput {
    pub kind: String,
    pub number: String,
    pub document_date: NaiveDate,
    pub status: String,
    pub amount: Option<String>,
    /// The purchasing system's id: the same one again updates that document.
    pub external_id: Option<String>,
}

/// Records (or, for a known `external_id`, updates) a purchase document made
/// for an order. Returns whether it was new.
pub fn record_related(
    app: &App,
    actor: &Principal,
    order: Uuid,
    input: RelatedInput,
) -> Result<(RelatedView, bool), AppError> {
    actor.require(&permissions::WRITE_PURCHASING)?;
    let mut p = Problems::new();
    if !RELATED_KINDS.contains(&input.kind.as_str()) {
        p.push("kind", "invalid", "supplier_order, goods_receipt or receipt_order");
    }
    let number = p.text("number", &input.number, 100);
    let status = p.text("status", &input.status, 50);
    if input.external_id.as_deref().is_some_and(|e| e.trim().is_empty() || e.len() > 200) {
        p.push("external_id", "invalid", "1 to 200 characters");
    }
    let amount = input.amount.as_deref().and_then(|a| p.check("amount", Money::parse(a)));
    if amount.is_some_and(|a| a.minor() < 0) {
        p.push("amount", "negative", "must not be negative");
    }
    p.into_result()?;
    let now = app.now();
    app.write(|conn| {
        let order = visible_order(conn, actor, order)?;
        if let Some(ext) = &input.external_id {
            if let Some(mut existing) = dq::related_by_external(conn, &input.kind, ext)? {
                if existing.order_id != order.id {
                    return Err(AppError::conflict(
                        Some("external_id"),
                        "this purchasing document is already recorded for another order",
                    ));
                }
                existing.number = number.clone();
                existing.document_date = midnight(input.document_date);
                existing.status = status.clone();
                existing.amount_minor = amount.map(|a| a.minor());
                existing.version += 1;
                existing.updated_at = now.naive_utc();
                dq::update_related(conn, &existing)?;
                return Ok((related_view(existing), false));
            }
        }
        let row = RelatedDocumentRow {
            id: crm_domain::new_id().into(),
            order_id: order.id,
            kind: input.kind.clone(),
            number,
            document_date: midnight(input.document_date),
            status,
            amount_minor: amount.map(|a| a.minor()),
            external_id: input.external_id.clone(),
            created_by: actor_parts(Some(actor)).1,
            version: 1,
            created_at: now.naive_utc(),
            updated_at: now.naive_utc(),
        };
        dq::insert_related(conn, &row)?;
        timeline(
            conn,
            order.interest_id,
            Some(actor),
            now,
            TimelineKind::RelatedDocumentAdded,
            format!("{} {} for order {}", kind_label(&row.kind), row.number, order.number),
            serde_json::json!({"order_id": order.id.0, "document_id": row.id.0, "kind": row.kind}),
        )?;
        outbox::record(
            conn,
            now,
            Some(actor),
            EventType::RelatedDocumentRecorded,
            "order",
            order.id.0,
            serde_json::json!({"id": row.id.0, "order_id": order.id.0, "kind": row.kind}),
        )?;
        Ok((related_view(row), true))
    })
}

fn kind_label(kind: &str) -> &'static str {
    match kind {
        "supplier_order" => "Supplier order",
        "goods_receipt" => "Goods receipt",
        _ => "Receipt order",
    }
}

pub fn get_related(app: &App, actor: &Principal, id: Uuid) -> Result<RelatedView, AppError> {
    actor.require(&permissions::READ_PURCHASING)?;
    app.read(|conn| {
        let row = dq::find_related(conn, id.into())?.ok_or(AppError::NotFound("related document"))?;
        visible_order(conn, actor, row.order_id.0).map_err(|_| AppError::NotFound("related document"))?;
        Ok(related_view(row))
    })
}

pub fn list_related(
    app: &App,
    actor: &Principal,
    order: Uuid,
    page: crate::platform::page::PageRequest,
) -> Result<crate::platform::page::Page<RelatedView>, AppError> {
    actor.require(&permissions::READ_PURCHASING)?;
    app.read(|conn| {
        let order = visible_order(conn, actor, order)?;
        let rows = dq::related_of_order_page(conn, order.id, page.query())?;
        Ok(crate::platform::page::Page::from_rows(rows, page, |r| r.id.0, related_view))
    })
}

/// One node of an interest's document tree.
#[derive(Debug, Clone)]
pub struct DocNode {
    /// `interest | quote | order | invoice | payment | shipment | supplier_order | goods_receipt | receipt_order`.
    pub kind: String,
    pub id: Uuid,
    pub number: Option<String>,
    pub status: Option<String>,
    pub amount: Option<Money>,
    pub date: Option<NaiveDate>,
    /// Where the node reads itself in this API.
    pub link: String,
    pub children: Vec<DocNode>,
}

fn order_node(
    conn: &mut crm_store::DbConnection,
    actor: &Principal,
    tz: chrono_tz::Tz,
    o: OrderRow,
) -> Result<DocNode, AppError> {
    let on = |t: chrono::NaiveDateTime| crate::documents::orders::org_date(tz, t);
    let mut children = Vec::new();
    if actor.may(&permissions::READ_INVOICES) && o.status == OrderStatus::Confirmed {
        children.push(DocNode {
            kind: "invoice".into(),
            id: o.id.0,
            number: Some(o.number.clone()),
            status: Some(if o.paid_minor >= o.total_minor { "paid" } else { "issued" }.into()),
            amount: Some(Money::from_minor(o.total_minor)),
            date: o.confirmed_at.map(on),
            link: format!("/api/v1/orders/{}/invoice.pdf", o.id.0),
            children: Vec::new(),
        });
    }
    if actor.may(&permissions::READ_PAYMENTS) {
        for p in q::payments_of(conn, o.id)? {
            children.push(DocNode {
                kind: "payment".into(),
                id: p.id.0,
                number: p.external_ref.clone(),
                status: Some(p.status.as_str().to_owned()),
                amount: Some(Money::from_minor(p.amount_minor)),
                date: Some(on(p.paid_on)),
                link: format!("/api/v1/payments/{}", p.id.0),
                children: Vec::new(),
            });
        }
    }
    if actor.may(&permissions::READ_SHIPMENTS) {
        for s in dq::shipments_of_orders(conn, &[o.id])? {
            children.push(DocNode {
                kind: "shipment".into(),
                id: s.id.0,
                number: Some(s.number),
                status: Some(s.status.as_str().to_owned()),
                amount: None,
                date: Some(on(s.shipped_on)),
                link: format!("/api/v1/shipments/{}", s.id.0),
                children: Vec::new(),
            });
        }
    }
    if actor.may(&permissions::READ_PURCHASING) {
        for r in dq::related_of(conn, &[o.id])? {
            children.push(DocNode {
                kind: r.kind.clone(),
                id: r.id.0,
                number: Some(r.number),
                status: Some(r.status),
                amount: r.amount_minor.map(Money::from_minor),
                date: Some(r.document_date.date()),
                link: format!("/api/v1/related-documents/{}", r.id.0),
                children: Vec::new(),
            });
        }
    }
    Ok(DocNode {
        kind: "order".into(),
        id: o.id.0,
        number: Some(o.number),
        status: Some(o.status.as_str().to_owned()),
        amount: Some(Money::from_minor(o.total_minor)),
        date: Some(on(o.created_at)),
        link: format!("/api/v1/orders/{}", o.id.0),
        children,
    })
}

/// The interest's documents as a tree, holding only the branches the actor's
/// role may read: accountants get no quotes or purchases, procurement no
/// quotes or payments; everyone only interests they may see.
pub fn document_tree(app: &App, actor: &Principal, interest: Uuid) -> Result<DocNode, AppError> {
    actor.require(&permissions::READ_DOCUMENT_TREE)?;
    let day = crate::documents::orders::today(app);
    let tz = crate::documents::orders::fallback_tz(app);
    app.read(|conn| {
        let row = sq::find_interest(conn, interest.into())?.ok_or(AppError::NotFound("interest"))?;
        let sees_interest = visibility(conn, actor)?.allows(row.responsible_id.0);
        if !sees_interest && !matches!(order_visibility(conn, actor)?, Visibility::All) {
            return Err(AppError::NotFound("interest"));
        }
        let orders = q::orders_of_interest(conn, row.id)?;
        let mut children = Vec::new();
        let show_quotes = sees_interest && actor.may(&permissions::READ_QUOTES);
        let mut placed = std::collections::HashSet::new();
        if show_quotes {
            for qt in dq::quotes_of_interest(conn, row.id)? {
                let variants = dq::variants_of(conn, &[qt.id])?;
                let amount = qt
                    .approved_variant_id
                    .and_then(|v| variants.iter().find(|x| x.id == v))
                    .or(variants.first())
                    .map(|v| Money::from_minor(v.total_minor));
                let mut quote_children = Vec::new();
                for o in orders.iter().filter(|o| o.quote_id == Some(qt.id)) {
                    placed.insert(o.id);
                    quote_children.push(order_node(conn, actor, tz, o.clone())?);
                }
                children.push(DocNode {
                    kind: "quote".into(),
                    id: qt.id.0,
                    status: Some(crate::documents::quotes::effective_status(&qt, day).as_str().to_owned()),
                    number: Some(qt.number),
                    amount,
                    date: Some(crate::documents::orders::org_date(tz, qt.created_at)),
                    link: format!("/api/v1/quotes/{}", qt.id.0),
                    children: quote_children,
                });
            }
        }
        for o in orders.into_iter().filter(|o| !placed.contains(&o.id)) {
            children.push(order_node(conn, actor, tz, o)?);
        }
        Ok(DocNode {
            kind: "interest".into(),
            id: row.id.0,
            number: None,
            status: sees_interest.then(|| row.stage.clone()),
            amount: if sees_interest { row.potential_minor.map(Money::from_minor) } else { None },
            date: Some(crate::documents::orders::org_date(tz, row.created_at)),
            link: format!("/api/v1/interests/{}", row.id.0),
            children,
        })
    })
}
