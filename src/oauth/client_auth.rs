//! Client authentication (RFC 6749 §2.3), shared by the token, revocation and introspection
//! endpoints, and the one way the protocol core finds a client by its id.

use super::{
    Context,
    error::{ErrorCode, OAuthError},
    params::{AuthMethod, Params},
    warm::Epoch,
};
use crate::{
    db::{
        DbError,
        models::client::{self, Client},
    },
    domain::ClientAuth,
};

/// Whether `method` and `secret` are what `client` registered: a confidential client proves
/// its secret by its own method, a public client sends none.
pub fn credentials_match(
    client: &Client,
    method: Option<AuthMethod>,
    secret: Option<&str>,
) -> bool {
    match (&client.auth, method, secret) {
        (ClientAuth::None, Some(AuthMethod::None) | None, None) => true,
        (ClientAuth::SecretBasic(digest), Some(AuthMethod::Basic), Some(secret))
        | (ClientAuth::SecretPost(digest), Some(AuthMethod::Post), Some(secret)) => {
            digest.verify(secret)
        }
        _ => false,
    }
}

/// The client that authenticated a revocation or introspection request, and the epoch of the
/// warm copies read for this request, which the request's later steps read their copies under
/// (`None` when the store could not be read: they read rows, or try the store again).
///
/// One read serves the whole request: it was sent after the request arrived, so it sees every
/// change complete by then, which is all [`super::warm`] promises a request.
pub struct Authenticated {
    pub client: Client,
    pub epoch: Option<Epoch>,
}

/// The authenticated client of a revocation or introspection request.
pub async fn authenticate(ctx: &Context, params: &Params) -> Result<Authenticated, OAuthError> {
    let unauthorized = || OAuthError::new(ErrorCode::InvalidClient, "client authentication failed");
    let (id, method) = params.client().ok_or_else(unauthorized)?;
    let (found, epoch) = find_client_synced(ctx, id).await?;
    let found = found.ok_or_else(unauthorized)?;
    if credentials_match(&found, Some(method), params.secret()) {
        Ok(Authenticated {
            client: found,
            epoch,
        })
    } else {
        Err(unauthorized())
    }
}

/// The client registered as `raw_id`: its warm copy ([`super::warm`]), else its row, which is
/// then kept warm. Every face that names a client by its id reads it here.
pub async fn find_client(ctx: &Context, raw_id: &str) -> Result<Option<Client>, DbError> {
    Ok(find_client_synced(ctx, raw_id).await?.0)
}

/// [`find_client`], and the epoch it read (`None` when the store could not be read).
async fn find_client_synced(
    ctx: &Context,
    raw_id: &str,
) -> Result<(Option<Client>, Option<Epoch>), DbError> {
    let now = ctx.clock.now();
    let epoch = match ctx.warm.sync().await {
        Ok(epoch) => epoch,
        Err(e) => {
            tracing::warn!(error = %e, "warm copies unchecked; reading the client's row");
            let raw = raw_id.to_owned();
            let found = ctx
                .db
                .run(move |conn| client::find_by_raw_id(conn, &raw))
                .await?;
            return Ok((found, None));
        }
    };
    if let Some(warm) = ctx.warm.client(raw_id, now) {
        return Ok((Some(warm), Some(epoch)));
    }
    let raw = raw_id.to_owned();
    let found = ctx
        .db
        .run(move |conn| client::find_by_raw_id(conn, &raw))
        .await?;
    if let Some(client) = &found {
        ctx.warm.keep_client(&epoch, client, now);
    }
    Ok((found, Some(epoch)))
}
