//! Client authentication (RFC 6749 §2.3), shared by the token, revocation and introspection
//! endpoints.

use super::{
    Context,
    error::{ErrorCode, OAuthError},
    params::{AuthMethod, Params},
};
use crate::{
    db::models::client::{self, Client},
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

/// The authenticated client of a revocation or introspection request.
pub async fn authenticate(ctx: &Context, params: &Params) -> Result<Client, OAuthError> {
    let unauthorized = || OAuthError::new(ErrorCode::InvalidClient, "client authentication failed");
    let (id, method) = params.client().ok_or_else(unauthorized)?;
    let id = id.to_owned();
    let found = ctx
        .db
        .run(move |conn| client::find_by_raw_id(conn, &id))
        .await?
        .ok_or_else(unauthorized)?;
    if credentials_match(&found, Some(method), params.secret()) {
        Ok(found)
    } else {
        Err(unauthorized())
    }
}
