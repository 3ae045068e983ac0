//! Checking access tokens presented to OneID's own resources (UserInfo, introspection). A
//! client_credentials token is checked against warm copies of its grant and client
//! ([`super::warm`]); a person's reads its rows.

use crate::{
    db::models::{
        account::{self, Account, AccountStatus},
        client::{self, Client},
        grant::{self, Grant},
    },
    oidc::{jwt, tokens::AccessTokenClaims},
};

use super::{Context, warm::Epoch};

/// Why a bearer token was refused (RFC 6750 §3.1).
#[derive(Debug, thiserror::Error)]
pub enum BearerError {
    #[error("the access token is malformed, expired, revoked or not from this issuer")]
    Invalid,
    #[error("{0}")]
    Unavailable(String),
}

/// A live access token: signed by our keys, typed `at+jwt`, from this issuer, unexpired, and its
/// grant not revoked (revocation, code replay, refresh reuse and sign-out all revoke grants),
/// its account not deleted, its client not disabled by an administrator.
pub async fn validate(
    ctx: &Context,
    token: &str,
) -> Result<(AccessTokenClaims, Grant, Option<Account>), BearerError> {
    validate_under(ctx, token, None).await
}

/// [`validate`] for a request that already read the warm copies' epoch (`synced`, from
/// [`super::client_auth::Authenticated`]); with `None`, it reads it.
pub async fn validate_under(
    ctx: &Context,
    token: &str,
    synced: Option<&Epoch>,
) -> Result<(AccessTokenClaims, Grant, Option<Account>), BearerError> {
    let claims: AccessTokenClaims =
        jwt::verify(&ctx.keys.current(), token, "at+jwt").map_err(|_| BearerError::Invalid)?;
    let now = ctx.clock.now();
    if ctx.issuer != claims.iss || claims.exp <= now.timestamp() {
        return Err(BearerError::Invalid);
    }
    let epoch = match synced {
        Some(epoch) => Some(epoch.clone()),
        None => ctx.warm.sync().await.ok(),
    };
    let warm = epoch.as_ref().and_then(|_| {
        let grant = ctx.warm.grant(&claims.gid, now)?;
        let client = ctx.warm.client(grant.client_id.as_str(), now)?;
        Some((grant, client))
    });
    let (grant, client, account) = match warm {
        // A client_credentials token: no person, so its warm grant and client are all there is.
        Some((grant, client)) => (grant, client, None),
        None => {
            let Some((grant, client, account)) = load(ctx, &claims.gid).await? else {
                return Err(BearerError::Invalid);
            };
            if let Some(epoch) = &epoch {
                ctx.warm.keep_client(epoch, &client, now);
                ctx.warm.keep_grant(epoch, &grant, now);
            }
            (grant, client, account)
        }
    };
    // A disabled client's tokens read nothing. A deleted account's grants are revoked by its
    // deletion; checked here too, so no token of it can read anything even if one were missed.
    let dead = client.is_disabled()
        || grant.revoked_at.is_some()
        || account
            .as_ref()
            .is_some_and(|a| a.status == AccountStatus::Deleted);
    if dead {
        return Err(BearerError::Invalid);
    }
    Ok((claims, grant, account))
}

/// The rows behind a token's grant: the grant, its client and its person (if any). `None`
/// when the grant or its client is gone.
async fn load(
    ctx: &Context,
    grant_id: &str,
) -> Result<Option<(Grant, Client, Option<Account>)>, BearerError> {
    let grant_id = grant_id.to_owned();
    ctx.db
        .run(move |conn| {
            let Some(grant) = grant::find(conn, &grant_id)? else {
                return Ok(None);
            };
            let Some(client) = client::find(conn, &grant.client_id)? else {
                return Ok(None);
            };
            let account = grant
                .account_id
                .map(|id| account::find_by_id(conn, id))
                .transpose()?
                .flatten();
            Ok(Some((grant, client, account)))
        })
        .await
        .map_err(|e| BearerError::Unavailable(e.to_string()))
}
