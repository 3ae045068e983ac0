//! The client credentials grant (RFC 6749 §4.4): a confidential client acting for itself.
//!
//! The rules, in the order they are checked; the first one broken is the answer:
//! 1. RFC 6749 §4.4.2, §2.3: the client authenticates with its secret (oxide-auth refuses a
//!    request without one as malformed: a public client cannot use this grant) and is
//!    registered for client_credentials, else `unauthorized_client` ([`super::check_client`],
//!    oxide-auth's `Registrar::check`).
//! 2. RFC 6749 §3.3: the scope is the one asked for, cut to what the client is registered
//!    for; none asked, every scope it is registered for except `offline_access`, which needs
//!    a person ([`check_scope`], from `Registrar::negotiate`).
//! 3. RFC 6749 §4.4.3: an access token for the client itself; never a refresh token, and no
//!    ID token, since no person signed in ([`issue_tokens`], from `Issuer::issue`). Its tokens
//!    share one grant per client and scope while it stands, instead of a grant written per
//!    token.

use chrono::Duration;

use super::{GrantError, Holder, Io, Issued};
use crate::{
    db::models::{client::Client, grant},
    domain::{ScopeToken, Scopes},
};

/// RFC 6749 §3.3: the requested scopes the client is registered for (unknown ones dropped);
/// a request without scope gets the default, here every scope the client is registered for
/// except `offline_access`, which needs a person. Nothing left to grant is refused.
pub fn check_scope(client: &Client, requested: &Scopes) -> Result<Scopes, GrantError> {
    let granted = if requested.is_empty() {
        client
            .scopes
            .iter()
            .filter(|s| *s != ScopeToken::OfflineAccess)
            .collect()
    } else {
        requested.intersection(&client.scopes)
    };
    if granted.is_empty() {
        return Err(GrantError::NoScope);
    }
    Ok(granted)
}

/// RFC 6749 §4.4.3: an access token whose subject is the client; no refresh token.
///
/// The token joins the client's live grant for this scope when there is one, and only
/// otherwise starts a grant: nobody consented and no refresh token hangs off it, so a grant
/// per token was a database write per token for nothing (it made the endpoint disk-bound).
/// What a grant is for still holds: revoking any of its tokens (RFC 7009 §2.1: "other tokens
/// based on the same authorization grant") or disabling the client ends every token of it, and
/// the next request starts a new grant. A grant is joined only while it outlives the new token,
/// so no token outlives its grant. The joined grant is kept warm ([`crate::oauth::warm`]), so
/// that the next token, and the introspection of this one, read no row.
pub fn issue_tokens(io: &Io<'_>, client: &Client, scope: Scopes) -> Result<Issued, GrantError> {
    let ttl = io.ctx.settings.access_token_ttl_secs;
    let until = io.now + Duration::seconds(ttl);
    let joined = match io.warm_service_grant(client, &scope, until) {
        Some(warm) => warm,
        None => {
            let (id, wanted) = (client.id.clone(), scope.clone());
            match io.db(move |conn| grant::live_service_grant(conn, &id, &wanted, until))? {
                Some(found) => found,
                None => {
                    let issued = super::issue_tokens(io, client, Holder::Client, scope, false)?;
                    io.keep_grant(&issued.grant);
                    return Ok(issued);
                }
            }
        }
    };
    io.keep_grant(&joined);
    let access_token = super::issue_access_token(io, client, &joined, client.id.as_str(), None)?;
    Ok(Issued {
        access_token,
        expires_in: ttl,
        refresh_token: None,
        grant: joined,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        domain::{ClientSecret, GrantType},
        oauth::grant::tests::client,
    };

    fn backup() -> Client {
        client(
            Some(&ClientSecret::generate()),
            "openid email offline_access",
            &[GrantType::ClientCredentials],
        )
    }

    fn scopes(s: &str) -> Scopes {
        Scopes::parse_lenient(s)
    }

    #[test]
    fn no_scope_asked_is_everything_registered_but_offline_access() {
        assert_eq!(
            check_scope(&backup(), &scopes("")),
            Ok(scopes("openid email"))
        );
    }

    #[test]
    fn the_scope_asked_for_is_cut_to_the_registration() {
        assert_eq!(
            check_scope(&backup(), &scopes("email profile")),
            Ok(scopes("email"))
        );
    }

    #[test]
    fn nothing_grantable_is_refused() {
        assert_eq!(
            check_scope(&backup(), &scopes("profile phone")),
            Err(GrantError::NoScope)
        );
        let offline_only = Client {
            scopes: scopes("offline_access"),
            ..backup()
        };
        assert_eq!(
            check_scope(&offline_only, &scopes("")),
            Err(GrantError::NoScope)
        );
    }
}
