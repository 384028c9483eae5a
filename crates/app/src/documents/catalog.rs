//! The product and service catalogue, and the organisation's own details.

use chrono::{DateTime, Utc};
use crm_domain::events::EventType;
use crm_domain::{Money, TaxId, VatRate};
use crm_store::queries::catalog as q;
use crm_store::rows::{OrganizationRow, ProductRow};
use uuid::Uuid;

use crate::identity::permissions;
use crate::identity::principal::Principal;
use crate::platform::error::{check_version, AppError, Problems};
use crate::platform::outbox;
use crate::platform::page::{Page, PageRequest};
use crate::App;

#[derive(Debug, Clone)]
pub struct ProductView {
    pub id: Uuid,
    pub sku: String,
    pub name: String,
    pub unit: String,
    pub price: Money,
    pub currency: String,
    pub vat_rate: String,
    pub price_includes_vat: bool,
    pub active: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub(crate) fn view(r: ProductRow) -> ProductView {
    ProductView {
        id: r.id.0,
        sku: r.sku,
        name: r.name,
        unit: r.unit,
        price: Money::from_minor(r.price_minor),
        currency: r.currency,
        vat_rate: r.vat_rate,
        price_includes_vat: r.price_includes_vat,
        active: r.active,
        version: r.version,
        created_at: r.created_at.and_utc(),
        updated_at: r.updated_at.and_utc(),
    }
}

#[derive(Debug, Clone, Default)]
pub struct ProductInput {
    pub sku: Option<String>,
    pub name: Option<String>,
    pub unit: Option<String>,
    pub price: Option<String>,
    pub currency: Option<String>,
    pub vat_rate: Option<String>,
    pub price_includes_vat: Option<bool>,
    pub active: Option<bool>,
}

fn text(p: &mut Problems, field: &str, raw: &str, max: usize) -> String {
    let t = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if t.is_empty() {
        p.push(field, "blank", "must not be blank");
    } else if t.chars().count() > max {
        p.push(field, "too_long", format!("must be at most {max} characters"));
    }
    t
}

/// Validates the fields present; returns the parsed price and rate when given.
fn check(
    p: &mut Problems,
    settings: &crate::Settings,
    input: &ProductInput,
) -> (Option<Money>, Option<VatRate>, Option<String>) {
    let price = input.price.as_deref().and_then(|raw| p.check("price", Money::parse(raw)));
    if price.is_some_and(|m| m.minor() < 0) {
        p.push("price", "negative", "must not be negative");
    }
    let rate = input.vat_rate.as_deref().and_then(|raw| settings.vat_rate(p, "vat_rate", raw));
    let currency = input
        .currency
        .as_deref()
        .and_then(|c| p.check("currency", crm_domain::Currency::parse(c)))
        .map(crm_domain::Currency::into_string);
    (price, rate, currency)
}

pub fn create_product(app: &App, actor: &Principal, input: ProductInput) -> Result<ProductView, AppError> {
    actor.require(&permissions::WRITE_CATALOG)?;
    let mut p = Problems::new();
    let sku = text(&mut p, "sku", input.sku.as_deref().unwrap_or(""), 64);
    let name = text(&mut p, "name", input.name.as_deref().unwrap_or(""), 300);
    let unit = text(&mut p, "unit", input.unit.as_deref().unwrap_or("шт"), 20);
    if input.price.is_none() {
        p.push("price", "required", "give the price");
    }
    let (price, rate, currency) = check(&mut p, app.settings(), &input);
    p.into_result()?;
    let now = app.now();
    app.write(|conn| {
        if q::find_by_sku(conn, &sku)?.is_some() {
            return Err(AppError::conflict(Some("sku"), format!("a product with SKU {sku} already exists")));
        }
        let row = ProductRow {
            id: crm_domain::new_id().into(),
            sku: sku.clone(),
            name: name.clone(),
            unit: unit.clone(),
            price_minor: price.map_or(0, Money::minor),
            currency: currency.clone().unwrap_or_else(|| crm_domain::Currency::RUB.to_owned()),
            vat_rate: rate.unwrap_or(VatRate::Percent(2200)).to_string(),
            price_includes_vat: input.price_includes_vat.unwrap_or(true),
            active: input.active.unwrap_or(true),
            version: 1,
            created_at: now.naive_utc(),
            updated_at: now.naive_utc(),
        };
        q::insert_product(conn, &row)?;
        outbox::record(
            conn,
            now,
            Some(actor),
            EventType::ProductCreated,
            "product",
            row.id.0,
            serde_json::json!({"id": row.id.0, "sku": row.sku}),
        )?;
        Ok(view(row))
    })
}

pub fn update_product(
    app: &App,
    actor: &Principal,
    id: Uuid,
    expected_version: Option<i64>,
    input: ProductInput,
) -> Result<ProductView, AppError> {
    actor.require(&permissions::WRITE_CATALOG)?;
    let mut p = Problems::new();
    let sku = input.sku.as_deref().map(|s| text(&mut p, "sku", s, 64));
    let name = input.name.as_deref().map(|s| text(&mut p, "name", s, 300));
    let unit = input.unit.as_deref().map(|s| text(&mut p, "unit", s, 20));
    let (price, rate, currency) = check(&mut p, app.settings(), &input);
    p.into_result()?;
    let now = app.now();
    app.write(|conn| {
        let mut row = q::find_product(conn, id.into())?.ok_or(AppError::NotFound("product"))?;
        check_version(expected_version, row.version)?;
        if let Some(s) = sku {
            if s != row.sku && q::find_by_sku(conn, &s)?.is_some() {
                return Err(AppError::conflict(
                    Some("sku"),
                    format!("a product with SKU {s} already exists"),
                ));
            }
            row.sku = s;
        }
        if let Some(n) = name {
            row.name = n;
        }
        if let Some(u) = unit {
            row.unit = u;
        }
        if let Some(pr) = price {
            row.price_minor = pr.minor();
        }
        if let Some(r) = rate {
            row.vat_rate = r.to_string();
        }
        if let Some(c) = currency {
            row.currency = c;
        }
        if let Some(i) = input.price_includes_vat {
            row.price_includes_vat = i;
        }
        if let Some(a) = input.active {
            row.active = a;
        }
        let version = row.version;
        row.version += 1;
        row.updated_at = now.naive_utc();
        if q::update_product(conn, &row, version)? != 1 {
            return Err(AppError::PreconditionFailed { expected: version, current: version + 1 });
        }
        outbox::record(
            conn,
            now,
            Some(actor),
            EventType::ProductUpdated,
            "product",
            id,
            serde_json::json!({"id": id, "version": row.version}),
        )?;
        Ok(view(row))
    })
}

pub fn get_product(app: &App, actor: &Principal, id: Uuid) -> Result<ProductView, AppError> {
    actor.require(&permissions::READ_CATALOG)?;
    app.read(|conn| Ok(view(q::find_product(conn, id.into())?.ok_or(AppError::NotFound("product"))?)))
}

pub fn list_products(
    app: &App,
    actor: &Principal,
    active: Option<bool>,
    updated_since: Option<DateTime<Utc>>,
    page: PageRequest,
) -> Result<Page<ProductView>, AppError> {
    actor.require(&permissions::READ_CATALOG)?;
    let rows = app.read(|conn| {
        Ok(q::list_products(
            conn,
            active,
            updated_since.map(|t| t.naive_utc()),
            page.sync_query(updated_since),
        )?)
    })?;
    Ok(Page::from_rows(rows, page, |r| r.id.0, view)
        .keyed(page.syncs(updated_since), |v| (v.updated_at, v.id)))
}

/// The seller's details printed on invoices.
#[derive(Debug, Clone, Default)]
pub struct Organization {
    pub name: String,
    pub tax_id: Option<String>,
    pub kpp: Option<String>,
    pub bank: Option<String>,
    pub bik: Option<String>,
    pub account: Option<String>,
    pub correspondent_account: Option<String>,
    pub address: Option<String>,
    pub version: i64,
    pub updated_at: Option<DateTime<Utc>>,
}

pub fn get_organization(app: &App, actor: &Principal) -> Result<Organization, AppError> {
    actor.require(&permissions::READ_ORGANIZATION)?;
    app.read(organization_in)
}

/// The organisation's details inside the caller's transaction (empty until set).
pub(crate) fn organization_in(conn: &mut crm_store::DbConnection) -> Result<Organization, AppError> {
    let row = q::organization(conn)?;
    Ok(row.map_or_else(Organization::default, |r| Organization {
        name: r.name,
        tax_id: r.tax_id,
        kpp: r.kpp,
        bank: r.bank,
        bik: r.bik,
        account: r.account,
        correspondent_account: r.correspondent_account,
        address: r.address,
        version: r.version,
        updated_at: Some(r.updated_at.and_utc()),
    }))
}

fn digits(p: &mut Problems, field: &str, raw: &Option<String>, len: usize) -> Option<String> {
    let v = raw
        .as_deref()
        .map(|s| s.chars().filter(|c| !c.is_whitespace()).collect::<String>())
        .filter(|s| !s.is_empty())?;
    if v.len() != len || !v.chars().all(|c| c.is_ascii_digit()) {
        p.push(field, "invalid", format!("{len} digits"));
    }
    Some(v)
}

/// Replaces the organisation's details (admins). ИНН, КПП, БИК and accounts are checked for form.
pub fn put_organization(
    app: &App,
    actor: &Principal,
    expected_version: Option<i64>,
    o: Organization,
) -> Result<Organization, AppError> {
    actor.require(&permissions::WRITE_ORGANIZATION)?;
    let mut p = Problems::new();
    let name = text(&mut p, "name", &o.name, 300);
    let tax_id = o
        .tax_id
        .as_deref()
        .filter(|t| !t.trim().is_empty())
        .and_then(|t| p.check("tax_id", TaxId::parse(t)))
        .map(|t| t.as_str().to_owned());
    let kpp = digits(&mut p, "kpp", &o.kpp, 9);
    let bik = digits(&mut p, "bik", &o.bik, 9);
    let account = digits(&mut p, "account", &o.account, 20);
    let correspondent = digits(&mut p, "correspondent_account", &o.correspondent_account, 20);
    let clean = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    p.into_result()?;
    let now = app.now();
    app.write(|conn| {
        let current = q::organization(conn)?;
        let version = current.as_ref().map_or(0, |r| r.version);
        check_version(expected_version, version)?;
        let row = OrganizationRow {
            id: 1,
            name: name.clone(),
            tax_id: tax_id.clone(),
            kpp: kpp.clone(),
            bank: clean(&o.bank),
            bik: bik.clone(),
            account: account.clone(),
            correspondent_account: correspondent.clone(),
            address: clean(&o.address),
            version: version + 1,
            updated_at: now.naive_utc(),
        };
        if current.is_some() {
            if q::update_organization(conn, &row, version)? != 1 {
                return Err(AppError::PreconditionFailed { expected: version, current: version + 1 });
            }
        } else {
            q::insert_organization(conn, &row)?;
        }
        outbox::record(
            conn,
            now,
            Some(actor),
            EventType::OrganizationUpdated,
            "organization",
            Uuid::nil(),
            serde_json::json!({"name": row.name, "version": row.version}),
        )?;
        Ok(Organization {
            name: row.name,
            tax_id: row.tax_id,
            kpp: row.kpp,
            bank: row.bank,
            bik: row.bik,
            account: row.account,
            correspondent_account: row.correspondent_account,
            address: row.address,
            version: row.version,
            updated_at: Some(now),
        })
    })
}
