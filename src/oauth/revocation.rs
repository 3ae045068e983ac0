//! Token revocation (RFC 7009) and introspection (RFC 7662). A client can act only on tokens
//! issued to itself; about anyone else's it learns nothing.

use serde::Serialize;

use super::{
    Context,
    client_auth::Authenticated,
    error::{ErrorCode, OAuthError},
    resource::{self, BearerError},
    warm::Epoch,
};
use crate::{
    audit::{self, AuditEvent, AuditKind},
    db::models::grant::{self, Grant},
    oidc::tokens::token_digest,
};

/// What a presented token turned out to be.
enum Found {
    Access {
        grant: Grant,
        claims: Box<crate::oidc::tokens::AccessTokenClaims>,
    },
    Refresh {
        grant: Grant,
        used: bool,
    },
    Nothing,
}

/// Looks the token up as the hint suggests first, then as the other kind (RFC 7009 §2.1),
/// reading warm copies under the epoch the request read when its client authenticated.
async fn find(
    ctx: &Context,
    token: &str,
    hint: Option<&str>,
    synced: Option<&Epoch>,
) -> Result<Found, OAuthError> {
    let as_refresh = async {
        let digest = token_digest(token);
        Ok::<_, OAuthError>(
            ctx.db
                .run(move |conn| grant::grant_of_refresh_token(conn, &digest))
                .await?
                .map(|(grant, used)| Found::Refresh { grant, used }),
        )
    };
    let as_access = async {
        match resource::validate_under(ctx, token, synced).await {
            Ok((claims, grant, _)) => Ok(Some(Found::Access {
                grant,
                claims: Box::new(claims),
            })),
            Err(BearerError::Invalid) => Ok(None),
            Err(BearerError::Unavailable(e)) => Err(OAuthError::unavailable(e)),
        }
    };
    let found = if hint == Some("refresh_token") {
        match as_refresh.await? {
            Some(f) => Some(f),
            None => as_access.await?,
        }
    } else {
        match as_access.await? {
            Some(f) => Some(f),
            None => as_refresh.await?,
        }
    };
    Ok(found.unwrap_or(Found::Nothing))
}

fn hint(value: Option<&str>) -> Result<Option<&str>, OAuthError> {
    match value {
        None | Some("access_token" | "refresh_token") => Ok(value),
        // RFC 7009 §2.2.1: a hint we do not know of.
        Some(_) => Err(OAuthError::new(
            ErrorCode::UnsupportedTokenType,
            "token_type_hint must be access_token or refresh_token",
        )),
    }
}

/// Revokes the token's whole grant: its refresh tokens and every access token issued from it
/// (RFC 7009 §2.1 allows, and for refresh tokens asks for, exactly that). Unknown tokens and
/// other clients' tokens are answered the same as success (§2.2), and left alone.
///
/// When a live grant was revoked: the `token_revoked` audit event (client, account, the kind
/// of token presented; never the token), for the caller to complete and record.
pub async fn revoke(
    ctx: &Context,
    authenticated: &Authenticated,
    token: &str,
    token_type_hint: Option<&str>,
) -> Result<Option<AuditEvent>, OAuthError> {
    let (client, synced) = (&authenticated.client, authenticated.epoch.as_ref());
    let (grant, presented) = match find(ctx, token, hint(token_type_hint)?, synced).await? {
        Found::Access { grant, .. } if grant.client_id == client.id => (grant, "access_token"),
        Found::Refresh { grant, .. } if grant.client_id == client.id => (grant, "refresh_token"),
        _ => return Ok(None),
    };
    let now = ctx.clock.now();
    let grant_id = grant.id.clone();
    if !ctx
        .db
        .run(move |conn| grant::revoke(conn, &grant_id, now))
        .await?
    {
        return Ok(None);
    }
    if grant.account_id.is_none() {
        // A service grant may be warm here and on every other instance.
        ctx.warm.invalidate_after_write().await;
    }
    tracing::info!(client_id = %client.id, "grant revoked by its client");
    let event = AuditEvent::new(AuditKind::TokenRevoked, audit::Outcome::Ok)
        .client(&client.id)
        .detail(presented);
    Ok(Some(match grant.account_id {
        Some(account) => event.account(account),
        None => event,
    }))
}

/// An introspection response (RFC 7662 §2.2).
#[derive(Debug, Serialize, Default)]
pub struct Introspection {
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
}

pub async fn introspect(
    ctx: &Context,
    authenticated: &Authenticated,
    token: &str,
    token_type_hint: Option<&str>,
) -> Result<Introspection, OAuthError> {
    let (client, synced) = (&authenticated.client, authenticated.epoch.as_ref());
    let now = ctx.clock.now();
    let hint = hint(token_type_hint)?;
    // A disabled client's tokens are not active: it may use none of them.
    if client.is_disabled() {
        return Ok(Introspection::default());
    }
    let mut found = find(ctx, token, hint, synced).await?;
    // A refresh token whose sign-in no longer stands would be refused at /token: not active.
    if let Found::Refresh { grant, .. } = &found
        && let Some(account) = grant.account_id
    {
        let (sid, since) = (grant.bound_session().map(str::to_owned), grant.created_at);
        if ctx
            .db
            .run(move |conn| grant::outlived(conn, account, sid.as_deref(), since))
            .await?
            .is_some()
        {
            found = Found::Nothing;
        }
    }
    Ok(match found {
        Found::Access { grant, claims } if grant.client_id == client.id => {
            let claims = *claims;
            Introspection {
                active: true,
                scope: Some(claims.scope),
                client_id: Some(claims.client_id),
                sub: Some(claims.sub),
                token_type: Some("Bearer"),
                exp: Some(claims.exp),
                iat: Some(claims.iat),
                iss: Some(claims.iss),
                jti: Some(claims.jti),
            }
        }
        Found::Refresh { grant, used: false }
            if grant.client_id == client.id && grant.is_live(now) =>
        {
            Introspection {
                active: true,
                scope: Some(grant.scope.to_string()),
                client_id: Some(grant.client_id.to_string()),
                token_type: Some("refresh_token"),
                exp: Some(grant.expires_at.timestamp()),
                iat: Some(grant.created_at.timestamp()),
                iss: Some(ctx.issuer.to_string()),
                ..Introspection::default()
            }
        }
        _ => Introspection::default(),
    })
}
