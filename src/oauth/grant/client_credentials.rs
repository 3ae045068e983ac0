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
//!    ID token, since no person signed in ([`issue_tokens`], from `Issuer::issue`).

use super::{GrantError, Holder, Io, Issued};
use crate::{
    db::models::client::Client,
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

/// RFC 6749 §4.4.3: the grant and an access token whose subject is the client; no refresh
/// token.
pub fn issue_tokens(io: &Io<'_>, client: &Client, scope: Scopes) -> Result<Issued, GrantError> {
    super::issue_tokens(io, client, Holder::Client, scope, false)
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
