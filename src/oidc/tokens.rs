//! Minting tokens: RFC 9068 JWT access tokens, ID tokens, and opaque refresh tokens.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use openidconnect::{
    AccessToken, AdditionalClaims, Audience, AuthenticationContextClass,
    AuthenticationMethodReference, EndUserEmail, EndUserName, EndUserPhoneNumber, EndUserUsername,
    IdToken, IdTokenClaims, IssuerUrl, LanguageTag, Nonce, StandardClaims, SubjectIdentifier,
    core::{CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm},
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::keys::{Algorithm, KeyError, KeyRing};
use crate::{
    db::models::account::Account,
    domain::{ScopeToken, Scopes},
};

/// OIDC claims beyond the core set: the session id (OIDC Front/Back-Channel Logout §2.1).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionClaims {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

impl AdditionalClaims for SessionClaims {}

pub type OneIdToken = IdToken<
    SessionClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

/// How opaque tokens are looked up: never by their own value.
pub fn token_digest(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// The claims of a JWT access token (RFC 9068 §2.2), plus `gid`, the grant it belongs to, so
/// revoking the grant revokes the token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    pub iss: String,
    /// The account's subject; for client_credentials, the client itself (RFC 9068 §2.2).
    pub sub: String,
    pub aud: String,
    pub client_id: String,
    pub scope: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub gid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

/// Signs an access token with the current key of `alg` (the client's choice, else the
/// server's `oauth.access_token_alg`).
pub fn sign_access_token(
    keys: &KeyRing,
    alg: Algorithm,
    claims: &AccessTokenClaims,
) -> Result<String, KeyError> {
    let key = keys
        .active(alg)
        .ok_or_else(|| KeyError::Generate(format!("no active {alg} key")))?;
    // RFC 9068 §2.1: typ "at+jwt" keeps an access token from passing as an ID token.
    key.sign_jwt("at+jwt", claims)
}

/// What goes into an ID token besides the account.
pub struct IdTokenContext<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub nonce: Option<&'a str>,
    pub auth_time: DateTime<Utc>,
    pub sid: Option<&'a str>,
    pub amr: &'a [String],
    pub acr: Option<&'a str>,
    pub scope: &'a Scopes,
    pub now: DateTime<Utc>,
    pub ttl: Duration,
    pub alg: Algorithm,
    pub access_token: Option<&'a str>,
}

/// Signs an ID token (OIDC Core §2) with the client's chosen algorithm; `at_hash` is computed
/// from the access token it is issued with (§3.1.3.6).
pub fn sign_id_token(
    keys: &KeyRing,
    account: &Account,
    ctx: &IdTokenContext<'_>,
) -> Result<String, KeyError> {
    let key = keys
        .active(ctx.alg)
        .ok_or_else(|| KeyError::Generate(format!("no active {} key", ctx.alg)))?;
    let issuer =
        IssuerUrl::new(ctx.issuer.to_owned()).map_err(|e| KeyError::Generate(e.to_string()))?;
    let mut standard = StandardClaims::new(SubjectIdentifier::new(account.sub.to_string()));
    standard = with_scoped_claims(standard, account, ctx.scope);
    let mut claims = IdTokenClaims::new(
        issuer,
        vec![Audience::new(ctx.client_id.to_owned())],
        ctx.now + ctx.ttl,
        ctx.now,
        standard,
        SessionClaims {
            sid: ctx.sid.map(str::to_owned),
        },
    )
    .set_auth_time(Some(ctx.auth_time))
    .set_nonce(ctx.nonce.map(|n| Nonce::new(n.to_owned())))
    .set_auth_method_refs(Some(
        ctx.amr
            .iter()
            .map(|m| AuthenticationMethodReference::new(m.clone()))
            .collect(),
    ));
    if let Some(acr) = ctx.acr {
        claims = claims.set_auth_context_ref(Some(AuthenticationContextClass::new(acr.to_owned())));
    }
    let access_token = ctx.access_token.map(|t| AccessToken::new(t.to_owned()));
    let token =
        OneIdToken::new(claims, key, ctx.alg.jws(), access_token.as_ref(), None).map_err(|_| {
            KeyError::Sign {
                kid: key.kid().clone(),
            }
        })?;
    Ok(token.to_string())
}

/// The claims a scope releases, as [`with_scoped_claims`] and the ID token set them (OIDC
/// Core §5.4); `openid` releases the subject, `offline_access` no claim but refresh tokens
/// (OIDC Core §11), `admin` none (the admin API).
pub fn claims_of(scope: ScopeToken) -> &'static [&'static str] {
    match scope {
        ScopeToken::OpenId => &["sub"],
        ScopeToken::Profile => &["name", "preferred_username", "updated_at", "locale"],
        ScopeToken::Email => &["email", "email_verified"],
        ScopeToken::Phone => &["phone_number", "phone_number_verified"],
        ScopeToken::OfflineAccess | ScopeToken::Admin => &[],
    }
}

/// The standard claims each scope releases (OIDC Core §5.4).
pub fn with_scoped_claims(
    mut claims: StandardClaims<CoreGenderClaim>,
    account: &Account,
    scope: &Scopes,
) -> StandardClaims<CoreGenderClaim> {
    if scope.contains(ScopeToken::Profile) {
        claims = claims
            .set_name(Some(
                EndUserName::new(account.display_name.to_string()).into(),
            ))
            .set_preferred_username(Some(EndUserUsername::new(account.id.to_string())))
            .set_updated_at(Some(account.updated_at))
            // The language the person chose (BCP 47, OIDC Core §5.1), only once chosen.
            .set_locale(
                account
                    .locale
                    .map(|l| LanguageTag::new(l.code().to_owned())),
            );
    }
    if scope.contains(ScopeToken::Email)
        && let Some(email) = &account.email
    {
        claims = claims
            .set_email(Some(EndUserEmail::new(email.to_string())))
            .set_email_verified(Some(true));
    }
    if scope.contains(ScopeToken::Phone)
        && let Some(phone) = &account.phone
    {
        claims = claims
            .set_phone_number(Some(EndUserPhoneNumber::new(phone.to_string())))
            .set_phone_number_verified(Some(true));
    }
    claims
}

/// The UserInfo response (OIDC Core §5.3.2): `sub` and the claims the scope releases.
pub fn userinfo_claims(account: &Account, scope: &Scopes) -> serde_json::Value {
    let standard = with_scoped_claims(
        StandardClaims::new(SubjectIdentifier::new(account.sub.to_string())),
        account,
        scope,
    );
    let claims = openidconnect::UserInfoClaims::<
        openidconnect::EmptyAdditionalClaims,
        CoreGenderClaim,
    >::new(standard, openidconnect::EmptyAdditionalClaims {});
    serde_json::to_value(claims).unwrap_or_default()
}

/// The event that makes a JWT a logout token (Back-Channel Logout 1.0 §2.4).
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// Claims of a logout token (Back-Channel Logout 1.0 §2.4): never a `nonce`, which keeps it
/// from ever passing as an ID token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogoutTokenClaims {
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    pub events: serde_json::Value,
    pub sid: String,
    pub sub: String,
}

/// Signs a logout token with the client's ID-token algorithm and `typ: logout+jwt` (§2.4).
pub fn sign_logout_token(
    keys: &KeyRing,
    alg: Algorithm,
    claims: &LogoutTokenClaims,
) -> Result<String, KeyError> {
    let key = keys
        .active(alg)
        .ok_or_else(|| KeyError::Generate(format!("no active {alg} key")))?;
    key.sign_jwt("logout+jwt", claims)
}
