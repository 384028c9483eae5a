//! The product catalogue and the organisation's details.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use crm_app::documents::catalog::{Organization, ProductInput, ProductView};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::error::ApiError;
use crate::extract::{created, validate, versioned, AppState, Auth, IfMatch, Json, Page, PageParams};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/products").get(list_products).post(create_product))
        .service(web::resource("/products/{id}").get(get_product).patch(update_product))
        .service(web::resource("/organization").get(get_organization).put(put_organization));
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductDto {
    pub id: Uuid,
    #[schema(example = "CHAIR-ERGO-01")]
    pub sku: String,
    #[schema(example = "Office chair Ergo")]
    pub name: String,
    #[schema(example = "шт")]
    pub unit: String,
    #[schema(example = "12990.00")]
    pub price: String,
    #[schema(example = "RUB")]
    pub currency: String,
    /// Percent (`22`, `10`, `0`) or `without`.
    #[schema(example = "22")]
    pub vat_rate: String,
    pub price_includes_vat: bool,
    pub active: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<ProductView> for ProductDto {
    fn from(v: ProductView) -> Self {
        Self {
            id: v.id,
            sku: v.sku,
            name: v.name,
            unit: v.unit,
            price: v.price.to_string(),
            currency: v.currency,
            vat_rate: v.vat_rate,
            price_includes_vat: v.price_includes_vat,
            active: v.active,
            version: v.version,
            created_at: v.created_at,
            updated_at: v.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Office chair Ergo", "sku": "CHAIR-ERGO-01", "price": "12990.00", "vat_rate": "22", "unit": "pcs"}))]
pub struct CreateProductRequest {
    #[validate(length(min = 1, max = 64))]
    #[schema(example = "CHAIR-ERGO-01", min_length = 1, max_length = 64)]
    pub sku: String,
    #[validate(length(min = 1, max = 300))]
    #[schema(example = "Office chair Ergo", min_length = 1, max_length = 300)]
    pub name: String,
    /// Default `шт`.
    #[validate(length(min = 1, max = 20))]
    #[schema(min_length = 1, max_length = 20)]
    pub unit: Option<String>,
    #[schema(example = "12990.00")]
    pub price: String,
    /// Default RUB.
    pub currency: Option<String>,
    /// Default `22`.
    pub vat_rate: Option<String>,
    /// Default true: Russian retail prices include VAT.
    pub price_includes_vat: Option<bool>,
    pub active: Option<bool>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"price": "13490.00"}))]
pub struct UpdateProductRequest {
    #[validate(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    pub sku: Option<String>,
    #[validate(length(min = 1, max = 300))]
    #[schema(min_length = 1, max_length = 300)]
    pub name: Option<String>,
    #[validate(length(min = 1, max = 20))]
    #[schema(min_length = 1, max_length = 20)]
    pub unit: Option<String>,
    pub price: Option<String>,
    pub currency: Option<String>,
    pub vat_rate: Option<String>,
    pub price_includes_vat: Option<bool>,
    pub active: Option<bool>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListProductsQuery {
    pub active: Option<bool>,
    pub updated_since: Option<DateTime<Utc>>,
}

/// List the catalogue.
#[utoipa::path(get, path = "/api/v1/products", operation_id = "listProducts", tag = "catalog",
    params(ListProductsQuery, PageParams), responses((status = 200, description = "A page of products", body = Page<ProductDto>)))]
pub async fn list_products(
    state: web::Data<AppState>,
    auth: Auth,
    query: web::Query<ListProductsQuery>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let page = page.request()?;
    let page = auth
        .run(&state, move |app, principal| {
            crm_app::documents::catalog::list_products(app, principal, q.active, q.updated_since, page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page::<ProductDto>::of(page)))
}

/// Add a product or service.
///
/// SKUs are unique. Prices are decimal strings with at most two decimals.
#[utoipa::path(post, path = "/api/v1/products", operation_id = "createProduct", tag = "catalog",
    request_body = CreateProductRequest,
    responses((status = 201, description = "Created", body = ProductDto, headers(("Location" = String), ("ETag" = String)))))]
pub async fn create_product(
    state: web::Data<AppState>,
    auth: Auth,
    body: Json<CreateProductRequest>,
) -> Result<HttpResponse, ApiError> {
    validate(&*body)?;
    let b = body.into_inner();
    let input = ProductInput {
        sku: Some(b.sku),
        name: Some(b.name),
        unit: b.unit,
        price: Some(b.price),
        currency: b.currency,
        vat_rate: b.vat_rate,
        price_includes_vat: b.price_includes_vat,
        active: b.active,
    };
    let v = auth
        .run(&state, move |app, principal| crm_app::documents::catalog::create_product(app, principal, input))
        .await?;
    let (id, version) = (v.id, v.version);
    Ok(created(format!("/api/v1/products/{id}"), &ProductDto::from(v), Some(version)))
}

/// Read a product.
#[utoipa::path(get, path = "/api/v1/products/{id}", operation_id = "getProduct", tag = "catalog",
    params(("id" = Uuid, Path, description = "Product id")),
    responses((status = 200, description = "The product", body = ProductDto, headers(("ETag" = String))),
        (status = 304, description = "Unchanged since the given ETag")))]
pub async fn get_product(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let v = auth
        .run(&state, move |app, principal| crm_app::documents::catalog::get_product(app, principal, id))
        .await?;
    let version = v.version;
    Ok(versioned(&req, &ProductDto::from(v), version))
}

/// Change a product.
#[utoipa::path(patch, path = "/api/v1/products/{id}", operation_id = "updateProduct", tag = "catalog",
    params(("id" = Uuid, Path, description = "Product id"), ("If-Match" = Option<String>, Header, description = "ETag you read")),
    request_body = UpdateProductRequest,
    responses((status = 200, description = "Changed", body = ProductDto, headers(("ETag" = String)))))]
pub async fn update_product(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<UpdateProductRequest>,
) -> Result<HttpResponse, ApiError> {
    validate(&*body)?;
    let b = body.into_inner();
    let input = ProductInput {
        sku: b.sku,
        name: b.name,
        unit: b.unit,
        price: b.price,
        currency: b.currency,
        vat_rate: b.vat_rate,
        price_includes_vat: b.price_includes_vat,
        active: b.active,
    };
    let id = id.into_inner();
    let v = auth
        .run(&state, move |app, principal| {
            crm_app::documents::catalog::update_product(app, principal, id, if_match.0, input)
        })
        .await?;
    let version = v.version;
    Ok(versioned(&req, &ProductDto::from(v), version))
}

/// The seller's details printed on invoices, as saved; `name` is empty
/// until an admin sets the details.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganizationDto {
    #[schema(example = "ООО «Мебель-Сервис»", max_length = 300)]
    pub name: String,
    /// ИНН, checksum verified.
    #[schema(example = "7707083893")]
    pub tax_id: Option<String>,
    /// КПП: 9 digits.
    #[schema(example = "770701001")]
    pub kpp: Option<String>,
    #[schema(example = "ПАО Сбербанк")]
    pub bank: Option<String>,
    /// БИК: 9 digits.
    #[schema(example = "044525225")]
    pub bik: Option<String>,
    /// Settlement account: 20 digits.
    #[schema(example = "40702810938000012345")]
    pub account: Option<String>,
    /// Correspondent account: 20 digits.
    #[schema(example = "30101810400000000225")]
    pub correspondent_account: Option<String>,
    #[schema(example = "г. Москва, ул. Тверская, д. 1")]
    pub address: Option<String>,
    /// The version the `ETag` carries.
    #[schema(example = 3)]
    pub version: i64,
}

/// The seller's details to save. A body read from GET may be sent back as
/// it is: its `version` is ignored here (send the `ETag` in `If-Match`).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "ООО «Мебель-Сервис»", "tax_id": "7707083893", "kpp": "770701001", "bank": "ПАО Сбербанк",
    "bik": "044525225", "account": "40702810938000012345", "correspondent_account": "30101810400000000225",
    "address": "г. Москва, ул. Тверская, д. 1"
}))]
pub struct OrganizationInput {
    #[validate(length(min = 1, max = 300))]
    #[schema(example = "ООО «Мебель-Сервис»", min_length = 1, max_length = 300)]
    pub name: String,
    /// ИНН, checksum verified.
    #[schema(example = "7707083893")]
    pub tax_id: Option<String>,
    /// КПП: 9 digits.
    #[schema(example = "770701001")]
    pub kpp: Option<String>,
    #[schema(example = "ПАО Сбербанк")]
    pub bank: Option<String>,
    /// БИК: 9 digits.
    #[schema(example = "044525225")]
    pub bik: Option<String>,
    /// Settlement account: 20 digits.
    #[schema(example = "40702810938000012345")]
    pub account: Option<String>,
    /// Correspondent account: 20 digits.
    #[schema(example = "30101810400000000225")]
    pub correspondent_account: Option<String>,
    #[schema(example = "г. Москва, ул. Тверская, д. 1")]
    pub address: Option<String>,
    /// Read only: what GET returned; ignored.
    #[serde(default)]
    #[schema(read_only)]
    pub version: Option<i64>,
}

impl From<Organization> for OrganizationDto {
    fn from(o: Organization) -> Self {
        Self {
            name: o.name,
            tax_id: o.tax_id,
            kpp: o.kpp,
            bank: o.bank,
            bik: o.bik,
            account: o.account,
            correspondent_account: o.correspondent_account,
            address: o.address,
            version: o.version,
        }
    }
}

/// The organisation's details (the seller on invoices).
#[utoipa::path(get, path = "/api/v1/organization", operation_id = "getOrganization", tag = "catalog",
    responses((status = 200, description = "The details (empty until set)", body = OrganizationDto, headers(("ETag" = String)))))]
pub async fn get_organization(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
) -> Result<HttpResponse, ApiError> {
    let o = auth.run(&state, crm_app::documents::catalog::get_organization).await?;
    let version = o.version;
    Ok(versioned(&req, &OrganizationDto::from(o), version))
}

/// Set the organisation's details (admins).
#[utoipa::path(put, path = "/api/v1/organization", operation_id = "putOrganization", tag = "catalog",
    params(("If-Match" = Option<String>, Header, description = "ETag you read")),
    request_body = OrganizationInput,
    responses((status = 200, description = "Saved", body = OrganizationDto, headers(("ETag" = String)))))]
pub async fn put_organization(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    if_match: IfMatch,
    body: Json<OrganizationInput>,
) -> Result<HttpResponse, ApiError> {
    validate(&*body)?;
    let b = body.into_inner();
    let input = Organization {
        name: b.name,
        tax_id: b.tax_id,
        kpp: b.kpp,
        bank: b.bank,
        bik: b.bik,
        account: b.account,
        correspondent_account: b.correspondent_account,
        address: b.address,
        version: 0,
        updated_at: None,
    };
    let o = auth
        .run(&state, move |app, principal| {
            crm_app::documents::catalog::put_organization(app, principal, if_match.0, input)
        })
        .await?;
    let version = o.version;
    Ok(versioned(&req, &OrganizationDto::from(o), version))
}
