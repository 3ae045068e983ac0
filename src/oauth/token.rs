//! The token endpoint (RFC 6749 §3.2): the request's `grant_type` picks one of the grants of
//! [`super::grant`], each a list of named steps; the answer is a token response (RFC 6749
//! §5.1) or the first refusal, with its RFC 6749 §5.2 code.

use serde::Serialize;

use super::{
    Context, engine,
    error::{ErrorCode, OAuthError},
    grant::{GrantError, Granted, authorization_code},
    params::Params,
};
use crate::{
    audit::{self, AuditEvent, AuditKind},
    db::models::grant::Grant,
    domain::{GrantType, ScopeToken},
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

impl From<Granted> for TokenResponse {
    fn from(granted: Granted) -> Self {
        let issued = granted.issued;
        Self {
            scope: issued.grant.scope.to_string(),
            access_token: issued.access_token,
            token_type: "Bearer",
            expires_in: issued.expires_in,
            refresh_token: issued.refresh_token,
            id_token: granted.id_token,
        }
    }
}

/// Runs a token request. Besides the response: the audit event that records the issuance
/// (client, account, grant type; never a token), for the caller to complete and record.
pub async fn token(
    ctx: &Context,
    params: Params,
) -> Result<(TokenResponse, AuditEvent), OAuthError> {
    let grant_type = check_grant_type(params.get("grant_type"))?;
    check_client_named(&params)?;
    let granted = match grant_type {
        GrantType::AuthorizationCode => exchange_code(ctx, params).await,
        GrantType::RefreshToken => refresh(ctx, params).await,
        GrantType::ClientCredentials => client_credentials(ctx, params).await,
    }?;
    let event = issued_event(grant_type, &granted.issued.grant);
    Ok((granted.into(), event))
}

/// The code grant: oxide-auth's access-token machine over the steps of
/// [`authorization_code`], then the ID token when `openid` was granted (OIDC Core §3.1.3.3).
pub async fn exchange_code(ctx: &Context, params: Params) -> Result<Granted, GrantError> {
    let redeemed = engine::redeem_code(ctx, params).await?;
    let id_token = if redeemed.issued.grant.scope.contains(ScopeToken::OpenId) {
        Some(authorization_code::issue_id_token(
            ctx,
            &redeemed.client,
            &redeemed.record.sign_in,
            &redeemed.account,
            &redeemed.issued,
        )?)
    } else {
        None
    };
    Ok(Granted {
        issued: redeemed.issued,
        id_token,
    })
}

/// The refresh grant: oxide-auth's refresh machine over the steps of [`refresh_token`].
pub async fn refresh(ctx: &Context, params: Params) -> Result<Granted, GrantError> {
    let issued = engine::refresh(ctx, params).await?;
    Ok(Granted {
        issued,
        id_token: None,
    })
}

/// The client-credentials grant: oxide-auth's machine over the steps of
/// [`client_credentials`](super::grant::client_credentials).
pub async fn client_credentials(ctx: &Context, params: Params) -> Result<Granted, GrantError> {
    let issued = engine::client_credentials(ctx, params).await?;
    Ok(Granted {
        issued,
        id_token: None,
    })
}

/// RFC 6749 §5.2: a request without `grant_type` is `invalid_request`; one this server does
/// not offer is `unsupported_grant_type`.
pub fn check_grant_type(grant_type: Option<&str>) -> Result<GrantType, OAuthError> {
    match grant_type {
        Some(name) => GrantType::parse(name).ok_or_else(|| {
            OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                "grant_type must be authorization_code, refresh_token or client_credentials",
            )
        }),
        None => Err(OAuthError::new(
            ErrorCode::InvalidRequest,
            "grant_type is missing",
        )),
    }
}

/// RFC 6749 §3.2.1: every grant here needs the client to say who it is (`client_id` or
/// Basic); without it there is no one to authenticate: `invalid_client`.
pub fn check_client_named(params: &Params) -> Result<(), OAuthError> {
    match params.client() {
        Some(_) => Ok(()),
        None => Err(OAuthError::new(
            ErrorCode::InvalidClient,
            "client authentication is missing",
        )),
    }
}

/// `token_issued`: to which client, for whom, by which grant type.
fn issued_event(grant_type: GrantType, grant: &Grant) -> AuditEvent {
    let event = AuditEvent::new(AuditKind::TokenIssued, audit::Outcome::Ok)
        .client(&grant.client_id)
        .detail(grant_type.as_str());
    match grant.account_id {
        Some(account) => event.account(account),
        None => event,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grant_type_is_one_of_three() {
        assert_eq!(
            check_grant_type(Some("refresh_token")).ok(),
            Some(GrantType::RefreshToken)
        );
        assert_eq!(
            check_grant_type(Some("password")).unwrap_err().code,
            ErrorCode::UnsupportedGrantType
        );
        assert_eq!(
            check_grant_type(None).unwrap_err().code,
            ErrorCode::InvalidRequest
        );
    }

    #[test]
    fn a_request_that_names_no_client_is_invalid_client() {
        let anonymous =
            Params::from_pairs(vec![("grant_type".into(), "client_credentials".into())]);
        assert_eq!(
            check_client_named(&anonymous.unwrap()).unwrap_err().code,
            ErrorCode::InvalidClient
        );
        let named = Params::from_pairs(vec![("client_id".into(), "talk".into())]).unwrap();
        assert!(check_client_named(&named).is_ok());
    }
}
