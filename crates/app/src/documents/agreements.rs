//! Agreements (договоры) with a client: number, dates, currency and the
//! payment terms orders under them follow — instalments as percentages of
//! the total, each due a number of days after its trigger.

use chrono::{DateTime, NaiveDate, Utc};
use crm_domain::events::EventType;
use crm_domain::pricing::VatRate;
use crm_domain::status::AgreementStatus;
use crm_store::queries::documents as dq;
use crm_store::rows::AgreementRow;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::documents::orders::midnight;
use crate::identity::permissions;
use crate::identity::principal::Principal;
use crate::parties::clients::visible_client;
use crate::platform::error::{check_version, AppError, Problems};
use crate::platform::outbox;
use crate::platform::page::{Page, PageRequest};
use crate::App;

/// When an instalment falls due, counted in days from its trigger.
pub const TRIGGERS: [&str; 3] = ["on_confirmation", "before_shipment", "after_shipment"];

/// One instalment of the terms as stored (JSON in `agreements.payment_terms`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Term {
    /// Share of the order's total in hundredths of a percent (50% = 5000).
    pub percent_bp: u32,
    pub trigger: String,
    pub days_offset: i32,
}

/// A term as a client writes it: `{"percent": "50", "trigger": "on_confirmation", "days_offset": 5}`.
#[derive(Debug, Clone)]
pub struct TermInput {
    pub percent: String,
    pub trigger: String,
    pub days_offset: i32,
}

#[derive(Debug, Clone)]
pub struct AgreementView {
    pub id: Uuid,
    pub number: String,
    pub client_id: Uuid,
    pub title: String,
    pub signed_on: NaiveDate,
    pub valid_until: Option<NaiveDate>,
    pub currency: String,
    pub payment_terms: Vec<Term>,
    pub status: AgreementStatus,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub(crate) fn terms_of(row: &AgreementRow) -> Result<Vec<Term>, AppError> {
    serde_json::from_str(&row.payment_terms)
        .map_err(|e| AppError::internal(format!("agreement {} has unreadable terms: {e}", row.id.0)))
}

pub(crate) fn view(row: AgreementRow) -> Result<AgreementView, AppError> {
    Ok(AgreementView {
        payment_terms: terms_of(&row)?,
        id: row.id.0,
        number: row.number,
        client_id: row.client_id.0,
        title: row.title,
        signed_on: row.signed_on.date(),
        valid_until: row.valid_until.map(|d| d.date()),
        currency: row.currency,
        status: row.status.0,
        version: row.version,
        created_at: row.created_at.and_utc(),
        updated_at: row.updated_at.and_utc(),
    })
}

/// Terms must be 1–12 instalments of positive shares adding up to exactly 100%.
fn parse_terms(p: &mut Problems, terms: &[TermInput]) -> Vec<Term> {
    if terms.is_empty() || terms.len() > 12 {
        p.push("payment_terms", "count", "give 1 to 12 instalments");
    }
    let mut out = Vec::new();
    for (i, t) in terms.iter().enumerate() {
        let bp = match crm_domain::pricing::parse_percent(&t.percent) {
            Ok(bp) if bp > 0 => Some(bp),
            _ => {
                p.push(
                    &format!("payment_terms[{i}].percent"),
                    "invalid",
                    "a percentage above 0, at most 100",
                );
                None
            }
        };
        if !TRIGGERS.contains(&t.trigger.as_str()) {
            p.push(
                &format!("payment_terms[{i}].trigger"),
                "invalid",
                "on_confirmation, before_shipment or after_shipment",
            );
        }
        if !(0..=365).contains(&t.days_offset) {
            p.push(&format!("payment_terms[{i}].days_offset"), "out_of_range", "0 to 365 days");
        }
        if let Some(bp) = bp {
            out.push(Term { percent_bp: bp, trigger: t.trigger.clone(), days_offset: t.days_offset });
        }
    }
    let sum: u32 = out.iter().map(|t| t.percent_bp).sum();
    if out.len() == terms.len() && !terms.is_empty() && sum != 10_000 {
        p.push(
            "payment_terms",
            "sum",
            format!("the instalments add up to {}%, not 100%", VatRate::Percent(sum)),
        );
    }
    out
}

#[derive(Debug, Clone)]
pub struct AgreementInput {
    /// The client's or our number; made (`AGR-2026-000001`) when missing.
    pub number: Option<String>,
    pub title: String,
    pub signed_on: NaiveDate,
    pub valid_until: Option<NaiveDate>,
    pub currency: Option<String>,
    pub payment_terms: Vec<TermInput>,
}

pub fn create_agreement(
    app: &App,
    actor: &Principal,
    client: Uuid,
    input: AgreementInput,
) -> Result<AgreementView, AppError> {
    actor.require(&permissions::WRITE_AGREEMENTS)?;
    let mut p = Problems::new();
    let title = p.text("title", &input.title, 300);
    let number = input.number.as_deref().map(|n| p.text("number", n, 100));
    let currency = p
        .check(
            "currency",
            crm_domain::Currency::parse(input.currency.as_deref().unwrap_or(crm_domain::Currency::RUB)),
        )
        .map(crm_domain::Currency::into_string)
        .unwrap_or_default();
    if input.valid_until.is_some_and(|u| u < input.signed_on) {
        p.push("valid_until", "before_signed", "must not be before signed_on");
    }
    let terms = parse_terms(&mut p, &input.payment_terms);
    p.into_result()?;
    let now = app.now();
    app.write(|conn| {
        let client = visible_client(conn, actor, client)?;
        let number = match number {
            Some(n) => n,
            None => crate::documents::orders::number(
                conn,
                "AGR",
                now.with_timezone(&crate::documents::orders::fallback_tz(app)).date_naive(),
            )?,
        };
        if dq::agreement_number_taken(conn, client.id, &number)? {
            return Err(AppError::conflict(
                Some("number"),
                format!("the client already has agreement {number}"),
            ));
        }
        let id = crm_domain::new_id();
        let row = AgreementRow {
            id: id.into(),
            number,
            client_id: client.id,
            title,
            signed_on: midnight(input.signed_on),
            valid_until: input.valid_until.map(midnight),
            currency,
            payment_terms: serde_json::to_string(&terms).map_err(|e| AppError::internal(e.to_string()))?,
            status: AgreementStatus::Active.into(),
            version: 1,
            created_at: now.naive_utc(),
            updated_at: now.naive_utc(),
        };
        dq::insert_agreement(conn, &row)?;
        outbox::record(
            conn,
            now,
            Some(actor),
            EventType::AgreementCreated,
            "agreement",
            id,
            serde_json::json!({"id": id, "client_id": client.id.0, "number": row.number}),
        )?;
        view(row)
    })
}

fn visible_agreement(
    conn: &mut crm_store::DbConnection,
    actor: &Principal,
    id: Uuid,
) -> Result<AgreementRow, AppError> {
    let row = dq::find_agreement(conn, id.into())?.ok_or(AppError::NotFound("agreement"))?;
    visible_client(conn, actor, row.client_id.0).map_err(|_| AppError::NotFound("agreement"))?;
    Ok(row)
}

pub fn get_agreement(app: &App, actor: &Principal, id: Uuid) -> Result<AgreementView, AppError> {
    actor.require(&permissions::READ_AGREEMENTS)?;
    app.read(|conn| view(visible_agreement(conn, actor, id)?))
}

pub fn list_agreements(
    app: &App,
    actor: &Principal,
    client: Uuid,
    page: PageRequest,
) -> Result<Page<AgreementView>, AppError> {
    actor.require(&permissions::READ_AGREEMENTS)?;
    app.read(|conn| {
        let client = visible_client(conn, actor, client)?;
        let rows = dq::agreements_of_client(conn, client.id, page.query())?;
        let page = Page::from_rows(rows, page, |r| r.id.0, |r| r);
        let items = page.items.into_iter().map(view).collect::<Result<Vec<_>, _>>()?;
        Ok(Page { items, next_after: page.next_after, next_key: page.next_key })
    })
}

/// What a PATCH may change. New terms apply to orders drafted from now on;
/// posted orders keep the schedule they were confirmed with.
#[derive(Debug, Clone, Default)]
pub struct AgreementChanges {
    pub title: Option<String>,
    pub valid_until: Option<Option<NaiveDate>>,
    pub status: Option<String>,
    pub payment_terms: Option<Vec<TermInput>>,
}

pub fn update_agreement(
    app: &App,
    actor: &Principal,
    id: Uuid,
    expected: Option<i64>,
    c: AgreementChanges,
) -> Result<AgreementView, AppError> {
    actor.require(&permissions::WRITE_AGREEMENTS)?;
    let mut p = Problems::new();
    let title = c.title.as_deref().map(|t| p.text("title", t, 300));
    let status = c.status.as_deref().and_then(|s| {
        p.word("status", s, &[AgreementStatus::Active, AgreementStatus::Closed], "active or closed")
    });
    let terms = c.payment_terms.as_deref().map(|t| parse_terms(&mut p, t));
    p.into_result()?;
    let now = app.now();
    app.write(|conn| {
        let mut row = visible_agreement(conn, actor, id)?;
        check_version(expected, row.version)?;
        if let Some(t) = title {
            row.title = t;
        }
        if let Some(u) = c.valid_until {
            if u.is_some_and(|u| u < row.signed_on.date()) {
                return Err(AppError::field("valid_until", "before_signed", "must not be before signed_on"));
            }
            row.valid_until = u.map(midnight);
        }
        if let Some(s) = status {
            row.status = s.into();
        }
        if let Some(t) = terms {
            row.payment_terms = serde_json::to_string(&t).map_err(|e| AppError::internal(e.to_string()))?;
        }
        let v = row.version;
        row.version += 1;
        row.updated_at = now.naive_utc();
        if dq::update_agreement(conn, &row, v)? != 1 {
            return Err(AppError::PreconditionFailed { expected: v, current: v + 1 });
        }
        outbox::record(
            conn,
            now,
            Some(actor),
            EventType::AgreementUpdated,
            "agreement",
            id,
            serde_json::json!({"id": id}),
        )?;
        view(row)
    })
}
