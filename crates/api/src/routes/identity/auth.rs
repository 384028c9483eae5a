//! Sign-in, refresh, sign-out and the caller's own profile.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::error::{ApiError, Problem};
use crate::extract::{client_address, run, validate, versioned, AppState, Auth, Json};
use crate::routes::identity::users::UserDto;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/auth/login", web::post().to(login))
        .route("/auth/refresh", web::post().to(refresh))
        .route("/auth/logout", web::post().to(logout))
        .route("/me", web::get().to(me));
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "admin@example.com", "password": "correct horse battery staple"}))]
pub struct LoginRequest {
    #[validate(length(min = 1, max = 254))]
    #[schema(example = "admin@example.com", min_length = 1, max_length = 254)]
    pub email: String,
    #[validate(length(min = 1, max = 128))]
    #[schema(example = "correct horse battery staple", min_length = 1, max_length = 128)]
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// Send as `Authorization: Bearer …`.
    #[schema(example = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9…")]
    pub access_token: String,
    #[schema(example = "Bearer")]
    #[schema(value_type = crate::routes::words::TokenTypeDto)]
    pub token_type: String,
    /// Seconds until the access token expires.
    #[schema(example = 900)]
    pub expires_in: i64,
    pub access_expires_at: DateTime<Utc>,
    /// Single use: trade it at `/auth/refresh` for a new pair.
    #[schema(example = "k3v9X0nU8q…")]
    pub refresh_token: String,
    pub refresh_expires_at: DateTime<Utc>,
    pub user_id: uuid::Uuid,
}

impl TokenResponse {
    fn from_pair(pair: crm_app::identity::auth::TokenPair, now: DateTime<Utc>) -> Self {
        Self {
            expires_in: (pair.access_expires_at - now).num_seconds(),
            access_token: pair.access_token,
            token_type: "Bearer".to_owned(),
            access_expires_at: pair.access_expires_at,
            refresh_token: pair.refresh_token,
            refresh_expires_at: pair.refresh_expires_at,
            user_id: pair.user_id,
        }
    }
}

/// Sign in with e-mail and password.
///
/// Returns a short-lived access token and a single-use refresh token. Failed
/// attempts are limited per account and per client address; past the limit
/// the answer is 429 with `Retry-After`. `Idempotency-Key` is ignored here:
/// tokens are never stored for replay, and a retried sign-in signs in again.
#[utoipa::path(post, path = "/api/v1/auth/login", operation_id = "login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 401, description = "Wrong e-mail or password, or the account is deactivated", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed attempts", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ),
    security(()))]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    validate(&*body)?;
    let address = client_address(&req, &state.proxies);
    let body = body.into_inner();
    let (pair, now) = run(&state, move |app| {
        crm_app::identity::auth::login(app, &body.email, &body.password, &address).map(|p| (p, app.now()))
    })
    .await?;
    Ok(HttpResponse::Ok().json(TokenResponse::from_pair(pair, now)))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"refresh_token": "crm_rt_k3v9X0nU8qZp2LwA7sYb4cDe"}))]
pub struct RefreshRequest {
    #[validate(length(min = 1, max = 512))]
    #[schema(example = "k3v9X0nU8q…", min_length = 1, max_length = 512)]
    pub refresh_token: String,
}

/// Trade a refresh token for a new token pair.
///
/// Each refresh token works once. Presenting a spent one again signs the
/// whole session out, since it means the token leaked. `Idempotency-Key` is
/// ignored here: tokens are never stored for replay, so a retry with the
/// same refresh token is a reuse like any other.
#[utoipa::path(post, path = "/api/v1/auth/refresh", operation_id = "refreshToken", tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "New token pair", body = TokenResponse),
        (status = 401, description = "Invalid, spent, expired or revoked refresh token", body = Problem, content_type = "application/problem+json"),
    ),
    security(()))]
pub async fn refresh(
    state: web::Data<AppState>,
    body: Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    validate(&*body)?;
    let token = body.into_inner().refresh_token;
    let (pair, now) =
        run(&state, move |app| crm_app::identity::auth::refresh(app, &token).map(|p| (p, app.now()))).await?;
    Ok(HttpResponse::Ok().json(TokenResponse::from_pair(pair, now)))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"all_sessions": false}))]
pub struct LogoutRequest {
    /// Sign out every session of this user, not only the current one.
    #[serde(default)]
    #[schema(example = false)]
    pub all_sessions: bool,
}

/// Sign out.
///
/// Revokes the current session (or all of them): its access and refresh
/// tokens stop working at once. The body is optional.
#[utoipa::path(post, path = "/api/v1/auth/logout", operation_id = "logout", tag = "auth",
    request_body(content = Option<LogoutRequest>),
    responses((status = 204, description = "Signed out")))]
pub async fn logout(
    state: web::Data<AppState>,
    auth: Auth,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    // The body is optional, but when sent it is checked like any other: a
    // misspelt `all_sessions` must not quietly sign out one session only.
    let request: LogoutRequest = crate::extract::optional_json(&body)?;
    let all = request.all_sessions;
    auth.run(&state, move |app, principal| crm_app::identity::auth::logout(app, principal, all)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/v1/me", operation_id = "getMe", tag = "auth",
    responses(
        (status = 200, description = "The caller's profile", body = UserDto, headers(("ETag" = String))),
        (status = 304, description = "Unchanged since the given ETag"),
    ))]
pub async fn me(state: web::Data<AppState>, req: HttpRequest, auth: Auth) -> Result<HttpResponse, ApiError> {
    let user = auth.run(&state, crm_app::identity::users::me).await?;
    let version = user.version;
    Ok(versioned(&req, &UserDto::from(user), version))
}
