//! Checking access tokens presented to OneID's own resources (UserInfo, introspection).

use crate::{
    db::models::{
        account::{self, Account, AccountStatus},
        client,
        grant::{self, Grant},
    },
    oidc::{jwt, tokens::AccessTokenClaims},
};

use super::Context;

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
    let claims: AccessTokenClaims =
        jwt::verify(&ctx.keys.current(), token, "at+jwt").map_err(|_| BearerError::Invalid)?;
    let now = ctx.clock.now();
    if ctx.issuer != claims.iss || claims.exp <= now.timestamp() {
        return Err(BearerError::Invalid);
    }
    let grant_id = claims.gid.clone();
    let found = ctx
        .db
        .run(move |conn| {
            let Some(grant) = grant::find(conn, &grant_id)? else {
                return Ok(None);
            };
            // A disabled (or removed) client's tokens read nothing.
            if client::find(conn, &grant.client_id)?.is_none_or(|c| c.is_disabled()) {
                return Ok(None);
            }
            let account = grant
                .account_id
                .map(|id| account::find_by_id(conn, id))
                .transpose()?
                .flatten();
            Ok(Some((grant, account)))
        })
        .await
        .map_err(|e| BearerError::Unavailable(e.to_string()))?;
    match found {
        // A deleted account's grants are revoked by its deletion; checked here too, so no
        // token of it can read anything even if one were missed.
        Some((_, Some(account))) if account.status == AccountStatus::Deleted => {
            Err(BearerError::Invalid)
        }
        Some((grant, account)) if grant.revoked_at.is_none() => Ok((claims, grant, account)),
        _ => Err(BearerError::Invalid),
    }
}
