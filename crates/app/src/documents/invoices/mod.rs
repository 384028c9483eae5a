//! Invoices (Счёт на оплату) and printable quotes as PDF, and e-mailing an
//! invoice: each request is recorded before it is tried, so a failed send is
//! never lost and can be retried.

mod addresses;
pub mod pdf;

pub use addresses::{check_mailbox, check_smtp_url};
pub(crate) use addresses::{deliver, interest_recipient, recipient};

use chrono::{DateTime, NaiveDate, Utc};
use crm_domain::events::EventType;
use crm_domain::status::TimelineKind;
use crm_domain::status::{InstalmentStatus, OrderStatus, SendingStatus};
use crm_domain::words::amount_in_words;
use crm_store::queries::{catalog as cq, clients as clq, documents as dq, orders as q, sales as sq};
use crm_store::rows::{InvoiceSendingRow, OrderRow};
use crm_store::DbConnection;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::Message;
use uuid::Uuid;

use crate::documents::invoices::pdf::{rub, Doc, LEFT, RIGHT};
use crate::documents::orders::{order_view, today, visible_order, OrderView};
use crate::identity::permissions;
use crate::identity::principal::actor_parts;
use crate::identity::principal::Principal;
use crate::platform::error::AppError;
use crate::platform::outbox;
use crate::sales::timeline;
use crate::App;

fn date(d: NaiveDate) -> String {
    d.format("%d.%m.%Y").to_string()
}

fn vat_label(rate: &str) -> String {
    if rate == "without" {
        "Без НДС".to_owned()
    } else {
        format!("НДС {rate}%")
    }
}

/// The parties and terms an invoice prints, as they stood when the order was
/// confirmed: kept on the order (`issued_snapshot`) so that an issued invoice
/// reads the same after the organisation moves bank, the client renames
/// itself or a product changes its unit.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct IssuedSnapshot {
    seller: Seller,
    buyer: Option<Buyer>,
    agreement: Option<String>,
    /// One per order line, in line order.
    units: Vec<String>,
}

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct Seller {
    name: String,
    tax_id: Option<String>,
    kpp: Option<String>,
    bank: Option<String>,
    bik: Option<String>,
    account: Option<String>,
    correspondent_account: Option<String>,
    address: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Buyer {
    name: String,
    tax_id: Option<String>,
    address: Option<String>,
}

/// Takes the snapshot an order keeps from its confirmation on (in the
/// confirming transaction).
pub(crate) fn snapshot_for_issue(conn: &mut DbConnection, row: &OrderRow) -> Result<String, AppError> {
    let s = crate::documents::catalog::organization_in(conn)?;
    let seller = Seller {
        name: s.name,
        tax_id: s.tax_id,
        kpp: s.kpp,
        bank: s.bank,
        bik: s.bik,
        account: s.account,
        correspondent_account: s.correspondent_account,
        address: s.address,
    };
    let interest = sq::find_interest(conn, row.interest_id)?.ok_or(AppError::NotFound("order"))?;
    let buyer = match interest.client_id {
        Some(c) => {
            clq::find_client(conn, c)?.map(|b| Buyer { name: b.name, tax_id: b.tax_id, address: b.address })
        }
        None => None,
    };
    let agreement = match row.agreement_id {
        Some(a) => dq::find_agreement(conn, a)?
            .map(|a| format!("Договор № {} от {}", a.number, date(a.signed_on.date()))),
        None => None,
    };
    let lines = q::lines_of(conn, &[row.id])?;
    let ids: Vec<_> = lines.iter().filter_map(|l| l.product_id).collect();
    let unit_of: std::collections::HashMap<_, String> = if ids.is_empty() {
        std::collections::HashMap::new()
    } else {
        cq::find_products(conn, &ids)?.into_iter().map(|p| (p.id, p.unit)).collect()
    };
    let units = lines
        .iter()
        .map(|l| l.product_id.and_then(|p| unit_of.get(&p).cloned()).unwrap_or_else(|| "шт".to_owned()))
        .collect();
    serde_json::to_string(&IssuedSnapshot { seller, buyer, agreement, units }).map_err(AppError::internal)
}

/// Everything an invoice prints, read in one transaction.
struct InvoiceData {
    order: OrderView,
    seller: Seller,
    buyer: Option<Buyer>,
    units: Vec<String>,
    agreement: Option<String>,
    issued: NaiveDate,
    due: NaiveDate,
}

fn load_invoice(
    conn: &mut DbConnection,
    row: OrderRow,
    day: NaiveDate,
    tz: chrono_tz::Tz,
) -> Result<InvoiceData, AppError> {
    // A confirmed order prints its snapshot; a draft (a pro-forma) prints today's details.
    let snapshot = match &row.issued_snapshot {
        Some(s) => s.clone(),
        None => snapshot_for_issue(conn, &row)?,
    };
    let IssuedSnapshot { seller, buyer, agreement, units } =
        serde_json::from_str(&snapshot).map_err(|e| AppError::internal(format!("issued snapshot: {e}")))?;
    let issued = crate::documents::orders::org_date(tz, row.confirmed_at.unwrap_or(row.created_at));
    let order = order_view(conn, row, day)?;
    // Pay by the first instalment still open, else within five days.
    let due = order
        .schedule
        .iter()
        .find(|i| i.status != InstalmentStatus::Paid)
        .and_then(|i| i.due_on)
        .unwrap_or(issued + chrono::Duration::days(5));
    Ok(InvoiceData { order, seller, buyer, units, agreement, issued, due })
}

fn or_dash(s: &Option<String>) -> &str {
    s.as_deref().filter(|s| !s.is_empty()).unwrap_or("—")
}

fn render_invoice(d: &InvoiceData) -> Result<Vec<u8>, AppError> {
    let o = &d.order;
    let mut doc = Doc::new(&format!("Счёт на оплату № {}", o.number))?;
    let s = &d.seller;
    doc.text(LEFT, 9.0, &format!("Банк получателя: {}", or_dash(&s.bank)));
    doc.down(5.0);
    doc.text(LEFT, 9.0, &format!("БИК {}   Сч. № {}", or_dash(&s.bik), or_dash(&s.correspondent_account)));
    doc.down(5.0);
    doc.text(
        LEFT,
        9.0,
        &format!("ИНН {}   КПП {}   Сч. № {}", or_dash(&s.tax_id), or_dash(&s.kpp), or_dash(&s.account)),
    );
    doc.down(5.0);
    doc.text(LEFT, 9.0, &format!("Получатель: {}", s.name));
    doc.down(4.0);
    doc.rule(LEFT, RIGHT);
    doc.down(10.0);
    doc.text(LEFT, 14.0, &format!("Счёт на оплату № {} от {}", o.number, date(d.issued)));
    doc.down(4.0);
    doc.rule(LEFT, RIGHT);
    doc.down(8.0);
    let seller = format!(
        "Поставщик: {}, ИНН {}, КПП {}, {}",
        s.name,
        or_dash(&s.tax_id),
        or_dash(&s.kpp),
        or_dash(&s.address)
    );
    doc.wrapped(LEFT, 9.0, &seller, 110);
    doc.down(6.0);
    let buyer = match &d.buyer {
        Some(b) => format!("Покупатель: {}, ИНН {}, {}", b.name, or_dash(&b.tax_id), or_dash(&b.address)),
        None => "Покупатель: —".to_owned(),
    };
    doc.wrapped(LEFT, 9.0, &buyer, 110);
    doc.down(6.0);
    let basis = match &d.agreement {
        Some(a) => format!("Основание: {a}, заказ № {}", o.number),
        None => format!("Основание: заказ № {}", o.number),
    };
    doc.text(LEFT, 9.0, &basis);
    doc.down(9.0);
    // The table: № | Товары (работы, услуги) | Кол-во | Ед. | Цена | Сумма
    let (c_no, c_name, c_qty, c_unit, c_price, c_sum) = (LEFT, LEFT + 8.0, 128.0, 131.0, 163.0, RIGHT);
    doc.text(c_no, 9.0, "№");
    doc.text(c_name, 9.0, "Товары (работы, услуги)");
    doc.right(c_qty, 9.0, "Кол-во");
    doc.text(c_unit, 9.0, "Ед.");
    doc.right(c_price, 9.0, "Цена");
    doc.right(c_sum, 9.0, "Сумма");
    doc.down(2.0);
    doc.rule(LEFT, RIGHT);
    for (i, (l, unit)) in o.lines.iter().zip(&d.units).enumerate() {
        doc.down(5.5);
        doc.text(c_no, 9.0, &(i + 1).to_string());
        doc.right(c_qty, 9.0, &l.quantity.to_string());
        doc.text(c_unit, 9.0, unit);
        doc.right(c_price, 9.0, &rub(l.unit_price));
        doc.right(c_sum, 9.0, &rub(l.total));
        doc.wrapped(c_name, 9.0, &l.description, 60);
    }
    doc.down(2.0);
    doc.rule(LEFT, RIGHT);
    doc.down(6.0);
    doc.right(c_price, 10.0, "Итого:");
    doc.right(c_sum, 10.0, &rub(o.total));
    doc.down(5.5);
    let rates: std::collections::BTreeSet<&str> = o.lines.iter().map(|l| l.vat_rate.as_str()).collect();
    if rates.iter().all(|r| *r == "without") {
        doc.right(c_price, 10.0, "Без налога (НДС):");
        doc.right(c_sum, 10.0, "—");
    } else {
        let label = if rates.len() == 1 {
            format!("В том числе {}:", vat_label(rates.iter().next().copied().unwrap_or("")))
        } else {
            "В том числе НДС:".to_owned()
        };
        doc.right(c_price, 10.0, &label);
        doc.right(c_sum, 10.0, &rub(o.vat));
    }
    doc.down(5.5);
    doc.right(c_price, 10.0, "Всего к оплате:");
    doc.right(c_sum, 10.0, &rub(o.total));
    doc.down(9.0);
    doc.text(
        LEFT,
        9.0,
        &format!("Всего наименований {}, на сумму {} {}", o.lines.len(), rub(o.total), o.currency),
    );
    doc.down(5.5);
    doc.wrapped(LEFT, 10.0, &amount_in_words(o.total, &o.currency), 95);
    doc.down(8.0);
    doc.text(LEFT, 9.0, &format!("Оплатить не позднее {}", date(d.due)));
    if o.schedule.len() > 1 {
        for (i, inst) in o.schedule.iter().enumerate() {
            doc.down(5.0);
            let when = inst.due_on.map_or_else(|| "срок по условию договора".to_owned(), date);
            doc.text(LEFT + 4.0, 9.0, &format!("Платёж {}: {} — {}", i + 1, rub(inst.amount), when));
        }
    }
    doc.down(12.0);
    doc.rule(LEFT, RIGHT);
    doc.down(10.0);
    doc.text(LEFT, 9.0, "Руководитель ____________________        Бухгалтер ____________________");
    doc.finish()
}

/// The invoice of an order as PDF (and its file name).
pub fn invoice_pdf(app: &App, actor: &Principal, id: Uuid) -> Result<(String, Vec<u8>), AppError> {
    actor.require(&permissions::READ_INVOICES)?;
    invoice_pdf_seen(app, actor, id)
}

/// The invoice PDF of an order the actor sees, for a use case that has
/// checked its own permission (an e-mail carrying it).
pub(crate) fn invoice_pdf_seen(
    app: &App,
    actor: &Principal,
    id: Uuid,
) -> Result<(String, Vec<u8>), AppError> {
    let day = today(app);
    let data = app.read(|conn| {
        let row = visible_order(conn, actor, id)?;
        if row.status == OrderStatus::Cancelled {
            return Err(AppError::rule("order_not_cancelled", format!("order {} is cancelled", row.number)));
        }
        load_invoice(conn, row, day, crate::documents::orders::fallback_tz(app))
    })?;
    Ok((format!("invoice-{}.pdf", data.order.number), render_invoice(&data)?))
}

/// A printable quote: every variant with its lines and totals.
pub fn quote_pdf(app: &App, actor: &Principal, id: Uuid) -> Result<(String, Vec<u8>), AppError> {
    actor.require(&permissions::READ_QUOTES)?;
    quote_pdf_seen(app, actor, id)
}

/// A printable quote the actor sees, for a use case that has checked its own permission.
pub(crate) fn quote_pdf_seen(app: &App, actor: &Principal, id: Uuid) -> Result<(String, Vec<u8>), AppError> {
    let quote = crate::documents::quotes::quote_seen(app, actor, id)?;
    let (seller, client) = app.read(|conn| {
        let client = match quote.client_id {
            Some(c) => clq::find_client(conn, c.into())?.map(|c| c.name),
            None => None,
        };
        Ok((crate::documents::catalog::organization_in(conn)?, client))
    })?;
    let mut doc = Doc::new(&format!("Коммерческое предложение № {}", quote.number))?;
    doc.text(LEFT, 9.0, &seller.name);
    doc.down(10.0);
    doc.text(
        LEFT,
        14.0,
        &format!(
            "Коммерческое предложение № {} от {}",
            quote.number,
            date(quote.created_at.with_timezone(&crate::documents::orders::fallback_tz(app)).date_naive())
        ),
    );
    doc.down(7.0);
    doc.text(LEFT, 9.0, &format!("Для: {}", client.as_deref().unwrap_or("—")));
    doc.down(5.0);
    doc.text(LEFT, 9.0, &format!("Действительно до {}", date(quote.valid_until)));
    if let Some(c) = &quote.comment {
        doc.down(6.0);
        doc.wrapped(LEFT, 9.0, c, 110);
    }
    for v in &quote.variants {
        doc.down(10.0);
        doc.text(LEFT, 11.0, &format!("Вариант {}: {}", v.position + 1, v.name));
        doc.down(6.0);
        doc.text(LEFT, 9.0, "Наименование");
        doc.right(128.0, 9.0, "Кол-во");
        doc.right(150.0, 9.0, "Цена");
        doc.right(163.0, 9.0, "Скидка");
        doc.right(RIGHT, 9.0, "Сумма");
        doc.down(2.0);
        doc.rule(LEFT, RIGHT);
        for l in &v.lines {
            doc.down(5.5);
            doc.right(128.0, 9.0, &l.quantity.to_string());
            doc.right(150.0, 9.0, &rub(l.unit_price));
            doc.right(
                163.0,
                9.0,
                &format!("{}%", crm_domain::VatRate::Percent(u32::try_from(l.discount_bp).unwrap_or(0))),
            );
            doc.right(RIGHT, 9.0, &rub(l.total));
            doc.wrapped(LEFT, 9.0, &l.description, 60);
        }
        doc.down(2.0);
        doc.rule(LEFT, RIGHT);
        doc.down(5.5);
        doc.right(163.0, 10.0, "Итого:");
        doc.right(RIGHT, 10.0, &rub(v.total));
        doc.down(5.0);
        doc.right(163.0, 9.0, "в т. ч. НДС:");
        doc.right(RIGHT, 9.0, &rub(v.vat));
    }
    Ok((format!("quote-{}.pdf", quote.number), doc.finish()?))
}

#[derive(Debug, Clone)]
pub struct SendingView {
    pub id: Uuid,
    pub order_id: Uuid,
    pub recipient: String,
    /// `pending | sent | failed`.
    pub status: SendingStatus,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub message_id: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn sending_view(r: InvoiceSendingRow) -> SendingView {
    SendingView {
        id: r.id.0,
        order_id: r.order_id.0,
        recipient: r.recipient,
        status: r.status.0,
        attempts: r.attempts,
        last_error: r.last_error,
        message_id: r.message_id,
        sent_at: r.sent_at.map(|t| t.and_utc()),
        created_at: r.created_at.and_utc(),
        updated_at: r.updated_at.and_utc(),
    }
}

/// E-mails the invoice of a confirmed order to `to` or the contact. The
/// request is stored first; the outcome (sent, or failed with the reason)
/// is recorded on it and on the interest's timeline.
pub fn send_invoice(
    app: &App,
    actor: &Principal,
    id: Uuid,
    to: Option<String>,
) -> Result<SendingView, AppError> {
    actor.require(&permissions::SEND_INVOICES)?;
    let to = match to {
        Some(t) => Some(addresses::recipient(&t)?),
        None => None,
    };
    let now = app.now();
    let sending = app.write(|conn| {
        let row = visible_order(conn, actor, id)?;
        if row.status != OrderStatus::Confirmed {
            return Err(AppError::rule(
                "order_confirmed",
                format!("order {} is {}; invoices are sent for confirmed orders", row.number, row.status),
            ));
        }
        let recipient = match to.clone() {
            Some(t) => t,
            // The interest's contact's e-mail, else its client's.
            None => {
                let interest =
                    sq::find_interest(conn, row.interest_id)?.ok_or(AppError::NotFound("order"))?;
                interest_recipient(conn, &interest)?
            }
            .ok_or_else(|| {
                AppError::rule(
                    "recipient_known",
                    "the interest's contact and client have no e-mail; give \"to\"",
                )
            })?,
        };
        let s = InvoiceSendingRow {
            id: crm_domain::new_id().into(),
            order_id: row.id,
            recipient,
            status: SendingStatus::Pending.into(),
            attempts: 0,
            last_error: None,
            message_id: None,
            requested_by: actor_parts(Some(actor)).1,
            sent_at: None,
            version: 1,
            created_at: now.naive_utc(),
            updated_at: now.naive_utc(),
        };
        dq::insert_sending(conn, &s)?;
        Ok(s)
    })?;
    attempt(app, actor, sending)
}

/// How long an attempt may stay unanswered before a retry may take it over
/// (longer than the SMTP timeout, so a slow server is not sent to twice).
const ATTEMPT_HOLD: chrono::Duration = chrono::Duration::minutes(2);

/// Tries a recorded sending again: a failed one, or one whose attempt was cut
/// off (a crash) more than two minutes ago. It is claimed first, so two
/// retries at once send one e-mail.
pub fn retry_sending(app: &App, actor: &Principal, id: Uuid) -> Result<SendingView, AppError> {
    actor.require(&permissions::SEND_INVOICES)?;
    let now = app.now();
    let sending = app.write(|conn| {
        let s = dq::find_sending(conn, id.into())?.ok_or(AppError::NotFound("invoice sending"))?;
        visible_order(conn, actor, s.order_id.0).map_err(|_| AppError::NotFound("invoice sending"))?;
        if s.status == SendingStatus::Sent {
            return Err(AppError::conflict(None, "this invoice was already sent"));
        }
        if dq::claim_sending(conn, s.id, now.naive_utc(), (now - ATTEMPT_HOLD).naive_utc())? != 1 {
            return Err(AppError::conflict(
                None,
                "this invoice is being sent right now; look again in a few minutes",
            ));
        }
        dq::find_sending(conn, s.id)?.ok_or(AppError::NotFound("invoice sending"))
    })?;
    attempt(app, actor, sending)
}

pub fn get_sending(app: &App, actor: &Principal, id: Uuid) -> Result<SendingView, AppError> {
    actor.require(&permissions::READ_INVOICES)?;
    app.read(|conn| {
        let s = dq::find_sending(conn, id.into())?.ok_or(AppError::NotFound("invoice sending"))?;
        visible_order(conn, actor, s.order_id.0).map_err(|_| AppError::NotFound("invoice sending"))?;
        Ok(sending_view(s))
    })
}

pub fn list_sendings(
    app: &App,
    actor: &Principal,
    order: Uuid,
    page: crate::platform::page::PageRequest,
) -> Result<crate::platform::page::Page<SendingView>, AppError> {
    actor.require(&permissions::READ_INVOICES)?;
    app.read(|conn| {
        let row = visible_order(conn, actor, order)?;
        let rows = dq::sendings_of_page(conn, row.id, page.query())?;
        Ok(crate::platform::page::Page::from_rows(rows, page, |s| s.id.0, sending_view))
    })
}

fn build_message(
    app: &App,
    data: &InvoiceData,
    to: &str,
    message_id: &str,
    pdf: Vec<u8>,
) -> Result<Message, String> {
    let from: Mailbox = app.settings().mail.from.parse().map_err(|e| format!("From: {e}"))?;
    let to: Mailbox = to.parse().map_err(|e| format!("To: {e}"))?;
    let o = &data.order;
    let body = format!(
        "Здравствуйте!\n\nНаправляем счёт на оплату № {} от {} на сумму {} {}.\n{}.\nОплатить не позднее {}.\n\nС уважением,\n{}\n",
        o.number,
        date(data.issued),
        rub(o.total),
        o.currency,
        amount_in_words(o.total, &o.currency),
        date(data.due),
        data.seller.name
    );
    let pdf_type = ContentType::parse("application/pdf").map_err(|e| e.to_string())?;
    Message::builder()
        .from(from)
        .to(to)
        .message_id(Some(message_id.to_owned()))
        .subject(format!("Счёт на оплату № {} от {}", o.number, date(data.issued)))
        .multipart(
            MultiPart::mixed()
                .singlepart(SinglePart::plain(body))
                .singlepart(Attachment::new(format!("invoice-{}.pdf", o.number)).body(pdf, pdf_type)),
        )
        .map_err(|e| e.to_string())
}

/// One delivery attempt outside any transaction (SMTP may take seconds), then
/// its outcome recorded in one.
fn attempt(app: &App, actor: &Principal, sending: InvoiceSendingRow) -> Result<SendingView, AppError> {
    let day = today(app);
    let data = app.read(|conn| {
        let row = q::find_order(conn, sending.order_id)?.ok_or(AppError::NotFound("order"))?;
        load_invoice(conn, row, day, crate::documents::orders::fallback_tz(app))
    })?;
    let message_id = format!("<invoice.{}.{}@crm>", sending.id.0, sending.attempts + 1);
    let outcome = render_invoice(&data)
        .map_err(|e| e.to_string())
        .and_then(|pdf| build_message(app, &data, &sending.recipient, &message_id, pdf))
        .and_then(|m| deliver(app, &m));
    let now = app.now();
    let saved = app.write(|conn| {
        let mut s = dq::find_sending(conn, sending.id)?.ok_or(AppError::NotFound("invoice sending"))?;
        s.attempts += 1;
        s.updated_at = now.naive_utc();
        s.version += 1;
        let interest = data.order.interest_id.into();
        match &outcome {
            Ok(()) => {
                s.status = SendingStatus::Sent.into();
                s.sent_at = Some(now.naive_utc());
                s.message_id = Some(message_id.clone());
                s.last_error = None;
                let subject = format!("Invoice {} e-mailed to {}", data.order.number, s.recipient);
                let interaction = crate::sales::work::plan_interaction_row(conn, actor, now, interest, "email", &subject, None)?;
                crate::sales::work::complete_interaction_row(conn, actor, now, interaction, &format!("sent, Message-ID {message_id}"))?;
                timeline(conn, interest, Some(actor), now, TimelineKind::InvoiceSent, subject,
                    serde_json::json!({"order_id": data.order.id, "sending_id": s.id.0, "to": s.recipient, "message_id": message_id}))?;
                outbox::record(conn, now, Some(actor), EventType::InvoiceSent, "order", data.order.id, serde_json::json!({"id": data.order.id, "sending_id": s.id.0}))?;
            }
            Err(why) => {
                s.status = SendingStatus::Failed.into();
                s.last_error = Some(why.chars().take(1000).collect());
                timeline(conn, interest, Some(actor), now, TimelineKind::InvoiceSendFailed,
                    format!("Invoice {} could not be e-mailed to {}: {why}", data.order.number, s.recipient),
                    serde_json::json!({"order_id": data.order.id, "sending_id": s.id.0, "error": why}))?;
            }
        }
        dq::update_sending(conn, &s)?;
        Ok(s)
    })?;
    match outcome {
        Ok(()) => Ok(sending_view(saved)),
        Err(why) => {
            tracing::warn!(sending = %saved.id.0, error = %why, "invoice e-mail failed");
            Err(AppError::DeliveryFailed { message: why, attempt: saved.id.0, path: "invoice-sendings" })
        }
    }
}
