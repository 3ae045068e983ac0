//! The token endpoint (RFC 6749 §3.2): one request type per `grant_type`, each run through
//! oxide-auth's state machine, with errors mapped to the exact RFC 6749 §5.2 codes.

use std::sync::Arc;

use chrono::Duration;
use oxide_auth::code_grant::{accesstoken, client_credentials, refresh};
use serde::Serialize;

use super::{
    engine::{Engine, Trace, issuer},
    error::{ErrorCode, OAuthError},
    params::Params,
};
use crate::{
    audit::{self, AuditEvent, AuditKind},
    db::models::{
        account,
        grant::{Grant, Outlived},
    },
    domain::ScopeToken,
    oidc::tokens::{IdTokenContext, sign_id_token},
    state::AppState,
};

/// A successful token response (RFC 6749 §5.1, OIDC Core §3.1.3.3).
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    /// "Bearer", capitalised as RFC 6750 §4 writes it; oxide-auth sends "bearer".
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    pub scope: String,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::RefreshToken => "refresh_token",
            Self::ClientCredentials => "client_credentials",
        }
    }
}

/// Runs a token request. Besides the response: the audit event that records the issuance
/// (client, account, grant type; never a token), for the caller to complete and record.
pub async fn token(
    state: &Arc<AppState>,
    params: Params,
) -> Result<(TokenResponse, AuditEvent), OAuthError> {
    let kind = match params.get("grant_type") {
        Some("authorization_code") => Kind::AuthorizationCode,
        Some("refresh_token") => Kind::RefreshToken,
        Some("client_credentials") => Kind::ClientCredentials,
        Some(_) => {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                "grant_type must be authorization_code, refresh_token or client_credentials",
            ));
        }
        None => {
            return Err(OAuthError::new(
                ErrorCode::InvalidRequest,
                "grant_type is missing",
            ));
        }
    };
    if params.client().is_none() {
        return Err(OAuthError::new(
            ErrorCode::InvalidClient,
            "client authentication is missing",
        ));
    }
    let runtime = tokio::runtime::Handle::current();
    let shared = Arc::clone(state);
    let (outcome, trace) = actix_web::web::block(move || {
        let state = &*shared;
        let mut engine = Engine::new(state, state.keys.current(), runtime, &params);
        let outcome = match kind {
            Kind::AuthorizationCode => accesstoken::access_token(&mut engine, &params)
                .map(|_| ())
                .map_err(|e| oxide_access_error(&e)),
            Kind::RefreshToken => refresh::refresh(&mut engine, &params)
                .map(|_| ())
                .map_err(|e| oxide_refresh_error(&e)),
            Kind::ClientCredentials => client_credentials_grant(&mut engine, &params),
        };
        (outcome, engine.into_trace())
    })
    .await
    .map_err(OAuthError::server)?;
    let issued = check_outcome(kind, outcome, &trace)?;
    let id_token = match (kind, &trace.code) {
        (Kind::AuthorizationCode, Some(code))
            if issued.grant.scope.contains(ScopeToken::OpenId) =>
        {
            Some(issue_id_token(state, &trace, code, &issued.access_token).await?)
        }
        _ => None,
    };
    let response = TokenResponse {
        access_token: issued.access_token.clone(),
        token_type: "Bearer",
        expires_in: issued.expires_in,
        refresh_token: issued.refresh_token.clone(),
        id_token,
        scope: issued.grant.scope.to_string(),
    };
    Ok((response, issued_event(kind, &issued.grant)))
}

/// `token_issued`: to which client, for whom, by which grant type.
fn issued_event(kind: Kind, grant: &Grant) -> AuditEvent {
    let event = AuditEvent::new(AuditKind::TokenIssued, audit::Outcome::Ok)
        .client(&grant.client_id)
        .detail(kind.as_str());
    match grant.account_id {
        Some(account) => event.account(account),
        None => event,
    }
}

/// client_credentials (RFC 6749 §4.4). Clients not registered for it are refused by the
/// registrar right after they authenticate (see `Engine::check`).
fn client_credentials_grant(engine: &mut Engine<'_>, params: &Params) -> Result<(), ErrorCode> {
    let pending = client_credentials::client_credentials(engine, params).map_err(|e| match e {
        client_credentials::Error::Unauthorized(..) => ErrorCode::InvalidClient,
        client_credentials::Error::Invalid(_) => ErrorCode::InvalidRequest,
        _ => ErrorCode::ServerError,
    })?;
    let client_id = params
        .client()
        .map(|(id, _)| id.to_owned())
        .unwrap_or_default();
    pending
        .issue(engine, client_id, false)
        .map(|_| ())
        .map_err(|_| ErrorCode::ServerError)
}

fn code_from_json(json: &str) -> ErrorCode {
    let value: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
    match value.get("error").and_then(|e| e.as_str()) {
        Some("invalid_grant") => ErrorCode::InvalidGrant,
        Some("unsupported_grant_type") => ErrorCode::UnsupportedGrantType,
        Some("invalid_scope") => ErrorCode::InvalidScope,
        Some("invalid_client") => ErrorCode::InvalidClient,
        Some("unauthorized_client") => ErrorCode::UnauthorizedClient,
        _ => ErrorCode::InvalidRequest,
    }
}

fn oxide_access_error(e: &accesstoken::Error) -> ErrorCode {
    match e {
        accesstoken::Error::Invalid(description) => code_from_json(&description.to_json()),
        accesstoken::Error::Unauthorized(..) => ErrorCode::InvalidClient,
        accesstoken::Error::Primitive(_) => ErrorCode::ServerError,
    }
}

fn oxide_refresh_error(e: &refresh::Error) -> ErrorCode {
    match e {
        refresh::Error::Invalid(description) => code_from_json(&description.to_json()),
        refresh::Error::Unauthorized(..) => ErrorCode::InvalidClient,
        refresh::Error::Primitive => ErrorCode::ServerError,
    }
}

/// The RFC error for a failed request, decided from what the primitives saw first and what
/// oxide-auth said second: oxide-auth alone calls a replayed code or a failed PKCE check
/// `invalid_request`, where RFC 6749 §5.2 and RFC 7636 §4.6 say `invalid_grant`.
fn check_outcome(
    kind: Kind,
    outcome: Result<(), ErrorCode>,
    trace: &Trace,
) -> Result<super::engine::Issued, OAuthError> {
    if let Some(failure) = &trace.failure {
        return Err(OAuthError::unavailable(failure));
    }
    if trace.grant_not_allowed {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "this client is not registered for this grant type",
        ));
    }
    if trace.client_auth_failed {
        return Err(OAuthError::new(
            ErrorCode::InvalidClient,
            "client authentication failed",
        ));
    }
    let grant_error =
        |description: &'static str| Err(OAuthError::new(ErrorCode::InvalidGrant, description));
    if trace.code_replayed {
        return grant_error(
            "the authorization code was already used; tokens issued from it are revoked",
        );
    }
    if trace.code_expired {
        return grant_error("the authorization code has expired");
    }
    if trace.redirect_uri_mismatch {
        return grant_error("redirect_uri is not identical to the authorization request's");
    }
    match trace.outlived {
        Some(Outlived::SessionEnded) => {
            return grant_error("the session this grant was issued in has ended");
        }
        Some(Outlived::PasswordChanged) => {
            return grant_error("the password changed after this grant was issued");
        }
        None => {}
    }
    if let Some(pkce) = trace.pkce_error {
        return Err(OAuthError::new(ErrorCode::InvalidGrant, pkce.to_string()));
    }
    if trace.refresh_reused {
        return grant_error("the refresh token was already used; the grant is revoked");
    }
    if trace.refresh_dead {
        return grant_error("the refresh token is invalid, expired or revoked");
    }
    match outcome {
        Ok(()) => trace
            .issued
            .clone()
            .ok_or_else(|| OAuthError::server("no token was issued")),
        Err(ErrorCode::ServerError) => Err(OAuthError::server("token primitive failed")),
        Err(ErrorCode::InvalidRequest)
            if matches!(kind, Kind::AuthorizationCode) && trace.code.is_none() =>
        {
            grant_error("the authorization code is invalid")
        }
        Err(code) => Err(OAuthError::new(
            code,
            match code {
                ErrorCode::InvalidGrant => "the grant is invalid for this client or redirect_uri",
                ErrorCode::InvalidClient => "client authentication failed",
                ErrorCode::InvalidScope => "the requested scope exceeds the grant",
                ErrorCode::UnauthorizedClient => "this client may not use this grant type",
                _ => "the token request is malformed",
            },
        )),
    }
}

async fn issue_id_token(
    state: &Arc<AppState>,
    trace: &Trace,
    code: &super::engine::CodeRecord,
    access_token: &str,
) -> Result<String, OAuthError> {
    let account_id = code.sign_in.account_id;
    let account = state
        .db
        .run(move |conn| account::find_by_id(conn, account_id))
        .await?
        .ok_or_else(|| OAuthError::new(ErrorCode::InvalidGrant, "the account no longer exists"))?;
    let client = trace
        .client
        .as_ref()
        .ok_or_else(|| OAuthError::server("client missing from trace"))?;
    let alg = client.id_token_alg;
    let scope = &trace
        .issued
        .as_ref()
        .ok_or_else(|| OAuthError::server("no grant"))?
        .grant
        .scope;
    let issuer = issuer(state);
    let ctx = IdTokenContext {
        issuer: &issuer,
        client_id: client.id.as_str(),
        nonce: code.sign_in.nonce.as_deref(),
        auth_time: code.sign_in.auth_time,
        sid: Some(&code.sign_in.sid),
        amr: &code.sign_in.amr,
        acr: code.sign_in.acr.as_deref(),
        scope,
        now: state.clock.now(),
        ttl: Duration::seconds(state.settings.oauth.id_token_ttl_secs),
        alg,
        access_token: Some(access_token),
    };
    Ok(sign_id_token(&state.keys.current(), &account, &ctx)?)
}
