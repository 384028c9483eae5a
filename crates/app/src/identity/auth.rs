//! Sign-in, token refresh and sign-out, and turning a presented credential
//! into a [`Principal`].
//!
//! Access tokens are HS256 JWTs (the one algorithm accepted) carrying the
//! session id; every request reloads the user and the session, so a
//! deactivated user or a signed-out session stops working at once. Refresh
//! tokens and API keys are random secrets stored as SHA-256 digests.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use crm_domain::{Email, Role, Scope};
use crm_store::queries::{auth as q, users as uq};
use crm_store::rows::{LoginAttemptInsertForm, RefreshTokenRow, SessionRow};
use crm_store::DbConnection;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::identity::principal::{KeyPrincipal, Principal, UserPrincipal};
use crate::platform::error::AppError;
use crate::App;

/// Prefix of every API key, so a bearer credential tells its kind at a glance.
pub const API_KEY_PREFIX: &str = "crm_";
const JWT_ALGORITHM: Algorithm = Algorithm::HS256;
/// Allowance for clocks of several instances that disagree a little.
const CLOCK_LEEWAY_SECS: i64 = 30;

pub fn hash_password(password: &str) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(AppError::internal)
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
        .unwrap_or(false)
}

/// Password policy: long enough to resist guessing, bounded so hashing stays cheap.
pub fn check_password_policy(password: &str) -> Result<(), (&'static str, String)> {
    let len = password.chars().count();
    if len < 10 {
        return Err(("too_short", "must be at least 10 characters".to_owned()));
    }
    if len > 128 {
        return Err(("too_long", "must be at most 128 characters".to_owned()));
    }
    Ok(())
}

pub fn sha256_hex(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    sid: String,
    iss: String,
    aud: String,
    iat: i64,
    exp: i64,
}

/// What a successful sign-in or refresh hands back.
#[derive(Debug, Clone)]
pub struct TokenPair {
    pub access_token: String,
    pub access_expires_at: DateTime<Utc>,
    pub refresh_token: String,
    pub refresh_expires_at: DateTime<Utc>,
    pub user_id: Uuid,
}

fn issue_access_token(
    app: &App,
    user: Uuid,
    session: Uuid,
    now: DateTime<Utc>,
) -> Result<(String, DateTime<Utc>), AppError> {
    let s = app.settings();
    let ttl = Duration::from_std(s.access_token_ttl).map_err(AppError::internal)?;
    let exp = now + ttl;
    let claims = Claims {
        sub: user.to_string(),
        sid: session.to_string(),
        iss: s.jwt_issuer.clone(),
        aud: s.jwt_audience.clone(),
        iat: now.timestamp(),
        exp: exp.timestamp(),
    };
    let token =
        jsonwebtoken::encode(&Header::new(JWT_ALGORITHM), &claims, &EncodingKey::from_secret(&s.jwt_secret))
            .map_err(AppError::internal)?;
    Ok((token, exp))
}

fn new_refresh_token(
    conn: &mut DbConnection,
    app: &App,
    session: Uuid,
    now: DateTime<Utc>,
) -> Result<(String, DateTime<Utc>), AppError> {
    let ttl = Duration::from_std(app.settings().refresh_token_ttl).map_err(AppError::internal)?;
    let token = random_token(32);
    let expires = now + ttl;
    q::insert_refresh_token(
        conn,
        &RefreshTokenRow {
            id: crm_domain::new_id().into(),
            session_id: session.into(),
            token_hash: sha256_hex(&token),
            created_at: now.naive_utc(),
            expires_at: expires.naive_utc(),
            used_at: None,
        },
    )?;
    Ok((token, expires))
}

fn invalid_credentials() -> AppError {
    AppError::Unauthenticated("e-mail or password is wrong".to_owned())
}

fn retry_after(oldest: chrono::NaiveDateTime, window: Duration, now: DateTime<Utc>) -> std::time::Duration {
    let until = oldest + window;
    let secs = (until - now.naive_utc()).num_seconds().max(1);
    std::time::Duration::from_secs(u64::try_from(secs).unwrap_or(1))
}

/// Signs a user in with e-mail and password from a client address.
///
/// Failed attempts are counted per account and per address in a sliding
/// window kept in the database, so the limit holds across instances.
pub fn login(app: &App, email: &str, password: &str, address: &str) -> Result<TokenPair, AppError> {
    let now = app.now();
    let s = app.settings();
    let window = Duration::from_std(s.login_window).map_err(AppError::internal)?;
    let since = (now - window).naive_utc();
    let email_key =
        Email::parse(email).map(|e| e.as_str().to_owned()).unwrap_or_else(|_| email.trim().to_lowercase());

    let user = app.read(|conn| {
        let by_account = q::failures_for_email(conn, &email_key, since)?;
        if by_account.len() >= s.login_max_failures_per_account {
            return Err(AppError::RateLimited { retry_after: retry_after(by_account[0], window, now) });
        }
        let by_address = q::failures_for_address(conn, address, since)?;
        if by_address.len() >= s.login_max_failures_per_address {
            return Err(AppError::RateLimited { retry_after: retry_after(by_address[0], window, now) });
        }
        Ok(uq::find_by_email(conn, &email_key)?)
    })?;

    // Hash even when the account is unknown, so timing does not tell which e-mails exist.
    let ok = match &user {
        Some(u) => verify_password(password, &u.password_hash) && u.active,
        None => {
            let _ = verify_password(password, DUMMY_HASH);
            false
        }
    };

    app.write(|conn| {
        q::record_login_attempt(
            conn,
            &LoginAttemptInsertForm {
                id: crm_domain::new_id().into(),
                email: email_key.clone(),
                address: address.to_owned(),
                succeeded: ok,
                attempted_at: now.naive_utc(),
            },
        )?;
        q::prune_login_attempts(conn, (now - Duration::days(1)).naive_utc())?;
        let Some(user) = user.filter(|_| ok) else {
            // Commit the failed attempt; the refusal is returned after the commit.
            return Ok(None);
        };
        // A successful sign-in wipes the account's failures (the address's stay).
        q::clear_failures_for_email(conn, &email_key)?;
        let session = crm_domain::new_id();
        q::insert_session(
            conn,
            &SessionRow {
                id: session.into(),
                user_id: user.id,
                created_at: now.naive_utc(),
                last_used_at: now.naive_utc(),
                revoked_at: None,
            },
        )?;
        let (refresh_token, refresh_expires_at) = new_refresh_token(conn, app, session, now)?;
        let (access_token, access_expires_at) = issue_access_token(app, user.id.0, session, now)?;
        Ok(Some(TokenPair {
            access_token,
            access_expires_at,
            refresh_token,
            refresh_expires_at,
            user_id: user.id.0,
        }))
    })?
    .ok_or_else(invalid_credentials)
}

/// An Argon2id hash of a random string, verified against when the account does not exist.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2cgUJ1pUM1Xr4O8t0GlH2zR3cZZmP4mWAfW+N8bT2Zg";

/// Trades a refresh token for a new pair; the old one is spent. Presenting a
/// spent token again means it leaked: the whole session is revoked.
pub fn refresh(app: &App, refresh_token: &str) -> Result<TokenPair, AppError> {
    let now = app.now();
    let hash = sha256_hex(refresh_token);
    let expired = || AppError::Unauthenticated("the refresh token is invalid, expired or revoked".to_owned());
    let outcome = app.write(|conn| {
        let Some(token) = q::find_refresh_token(conn, &hash)? else {
            return Ok(Err(expired()));
        };
        let session = q::find_session(conn, token.session_id)?.ok_or_else(expired)?;
        if token.used_at.is_some() {
            q::revoke_session(conn, session.id, now.naive_utc())?;
            tracing::warn!(session = %session.id, "spent refresh token presented again; session revoked");
            return Ok(Err(expired()));
        }
        if session.revoked_at.is_some() || token.expires_at <= now.naive_utc() {
            return Ok(Err(expired()));
        }
        let user = uq::find(conn, session.user_id)?.ok_or_else(expired)?;
        if !user.active {
            return Ok(Err(expired()));
        }
        if q::use_refresh_token(conn, token.id, now.naive_utc())? != 1 {
            return Ok(Err(expired()));
        }
        q::touch_session(conn, session.id, now.naive_utc())?;
        let (refresh_token, refresh_expires_at) = new_refresh_token(conn, app, session.id.0, now)?;
        let (access_token, access_expires_at) = issue_access_token(app, user.id.0, session.id.0, now)?;
        Ok(Ok(TokenPair {
            access_token,
            access_expires_at,
            refresh_token,
            refresh_expires_at,
            user_id: user.id.0,
        }))
    })?;
    // A revocation on reuse commits; only then is the refusal returned.
    outcome
}

/// Signs out the caller's session, or every session of the caller.
pub fn logout(app: &App, actor: &Principal, all_sessions: bool) -> Result<(), AppError> {
    actor.require(&crate::identity::permissions::LOGOUT)?;
    let Principal::User(user) = actor else {
        return Err(AppError::Forbidden("API keys have no session".to_owned()));
    };
    let now = app.now().naive_utc();
    app.write(|conn| {
        if all_sessions {
            q::revoke_user_sessions(conn, user.id.into(), now)?;
        } else {
            q::revoke_session(conn, user.session_id.into(), now)?;
        }
        Ok(())
    })
}

/// Resolves a bearer credential (JWT or API key) into the principal it stands for.
pub fn authenticate_bearer(app: &App, credential: &str) -> Result<Principal, AppError> {
    if credential.starts_with(API_KEY_PREFIX) {
        authenticate_api_key(app, credential)
    } else {
        authenticate_jwt(app, credential)
    }
}

/// Checks a JWT's signature, algorithm, issuer, audience and times, then that
/// its user is active and its session not revoked.
pub fn authenticate_jwt(app: &App, token: &str) -> Result<Principal, AppError> {
    authenticate_session(app, verify_access_token(app, token)?)
}

/// Whom a verified access token names: what can be known of a caller
/// before the database is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionClaim {
    pub user_id: Uuid,
    pub session_id: Uuid,
}

/// Checks a JWT without touching the database (signature, algorithm, issuer,
/// audience, times): a forged or stale token is refused before any other
/// work, and the rest of the check runs where the use case runs.
pub fn verify_access_token(app: &App, token: &str) -> Result<SessionClaim, AppError> {
    let claims = decode_access_token(app, token)?;
    let bad = || AppError::Unauthenticated("the access token is no longer valid".to_owned());
    let user_id = Uuid::parse_str(&claims.sub).map_err(|_| bad())?;
    let session_id = Uuid::parse_str(&claims.sid).map_err(|_| bad())?;
    Ok(SessionClaim { user_id, session_id })
}

/// The second half of a token's check: its user is active and its session
/// not signed out, read on every request so either acts at once.
pub fn authenticate_session(app: &App, claim: SessionClaim) -> Result<Principal, AppError> {
    let SessionClaim { user_id, session_id } = claim;
    let bad = || AppError::Unauthenticated("the access token is no longer valid".to_owned());
    // One statement, no transaction around it: the round trips of BEGIN and
    // COMMIT would double the cost of every request.
    let row =
        app.query(|conn| Ok(q::check_session(conn, user_id.into(), session_id.into())?))?.ok_or_else(bad)?;
    if !row.active {
        return Err(AppError::Unauthenticated("the account is deactivated".to_owned()));
    }
    if row.revoked_at.is_some() {
        return Err(AppError::Unauthenticated("the session has been signed out".to_owned()));
    }
    let role: Role = row.role.parse().map_err(AppError::internal)?;
    Ok(Principal::User(UserPrincipal {
        id: user_id,
        role,
        department_id: row.department_id.map(Into::into),
        session_id,
    }))
}

/// Verifies a JWT without touching the database (signature, alg, iss, aud, times).
fn decode_access_token(app: &App, token: &str) -> Result<Claims, AppError> {
    let s = app.settings();
    let mut validation = Validation::new(JWT_ALGORITHM);
    validation.algorithms = vec![JWT_ALGORITHM];
    validation.set_issuer(&[&s.jwt_issuer]);
    validation.set_audience(&[&s.jwt_audience]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    // Times are judged against the injected clock below, not the library's own.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    let data = jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(&s.jwt_secret), &validation)
        .map_err(|e| {
        use jsonwebtoken::errors::ErrorKind;
        let why = match e.kind() {
            ErrorKind::InvalidSignature => "the access token's signature is invalid",
            ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                "the access token uses an algorithm this server does not accept"
            }
            ErrorKind::InvalidIssuer => "the access token was issued by someone else",
            ErrorKind::InvalidAudience => "the access token is meant for another audience",
            ErrorKind::MissingRequiredClaim(_) => "the access token lacks a required claim",
            _ => "the access token is malformed",
        };
        AppError::Unauthenticated(why.to_owned())
    })?;
    let now = app.now().timestamp();
    if data.claims.exp <= now - CLOCK_LEEWAY_SECS {
        return Err(AppError::Unauthenticated("the access token has expired".to_owned()));
    }
    if data.claims.iat > now + CLOCK_LEEWAY_SECS {
        return Err(AppError::Unauthenticated("the access token is issued in the future".to_owned()));
    }
    Ok(data.claims)
}

/// Splits `crm_<prefix>_<secret>` into its lookup prefix.
pub fn api_key_prefix(key: &str) -> Option<&str> {
    let rest = key.strip_prefix(API_KEY_PREFIX)?;
    let (prefix, secret) = rest.split_once('_')?;
    (prefix.len() == 12 && !secret.is_empty()).then_some(prefix)
}

/// Checks an API key: known prefix, matching digest, not revoked, not expired.
pub fn authenticate_api_key(app: &App, key: &str) -> Result<Principal, AppError> {
    let bad = || AppError::Unauthenticated("the API key is invalid, revoked or expired".to_owned());
    let prefix = api_key_prefix(key).ok_or_else(bad)?;
    let now = app.now();
    let row = app.query(|conn| Ok(q::find_api_key_by_prefix(conn, prefix)?))?.ok_or_else(bad)?;
    let digest_matches: bool = {
        let presented = Sha256::digest(key.as_bytes());
        let stored = hex::decode(&row.secret_hash).unwrap_or_default();
        // Constant-time in the length of the digest.
        stored.len() == presented.len()
            && stored.iter().zip(presented.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    };
    if !digest_matches || row.revoked_at.is_some() {
        return Err(bad());
    }
    if row.expires_at.is_some_and(|at| at <= now.naive_utc()) {
        return Err(bad());
    }
    // Record use at most once a minute: a write per request would serialise SQLite.
    if row.last_used_at.is_none_or(|at| now.naive_utc() - at > Duration::minutes(1)) {
        app.write(|conn| Ok(q::touch_api_key(conn, row.id, now.naive_utc())?))?;
    }
    let scopes = parse_scopes(&row.scopes);
    Ok(Principal::ApiKey(KeyPrincipal { id: row.id.0, name: row.name, scopes }))
}

pub(crate) fn parse_scopes(stored: &str) -> Vec<Scope> {
    stored.split_whitespace().filter_map(|s| s.parse().ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_own_hash() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse battery!", &hash));
        assert!(!verify_password("anything", "not a hash"));
    }

    #[test]
    fn the_dummy_hash_parses_so_unknown_accounts_cost_the_same() {
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }

    #[test]
    fn api_key_prefixes_are_recognised() {
        assert_eq!(api_key_prefix("crm_abcdefabcdef_secret"), Some("abcdefabcdef"));
        assert_eq!(api_key_prefix("crm_short_secret"), None);
        assert_eq!(api_key_prefix("abcdefabcdef_secret"), None);
        assert_eq!(api_key_prefix("crm_abcdefabcdef_"), None);
    }
}
