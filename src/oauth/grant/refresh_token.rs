//! The refresh token grant (RFC 6749 §6), with rotation and reuse detection (RFC 9700
//! §2.2.2, §4.14.2); and the policy of which grants get a refresh token at all.
//!
//! The rules, in the order they are checked; the first one broken is the answer:
//! 1. RFC 6749 §6, §2.3, §5.2: a client that sends credentials authenticates as it registered
//!    and is registered for this grant ([`super::check_client`], oxide-auth's
//!    `Registrar::check`). A public client sends only its `client_id`: step 3 compares it with
//!    the token's, and oxide-auth runs `check_client` for the token's client after step 4.
//! 2. RFC 6749 §5.2: the token is known and its grant live: not revoked, not expired
//!    ([`check_live`]).
//! 3. RFC 6749 §6: the token was issued to the client presenting it ([`check_issued_to_client`]).
//! 4. OIDC Core §12 (issue 10): the sign-in behind the grant still stands (for a grant without
//!    `offline_access`, its session has not ended; for any, the password has not changed since);
//!    if not, the grant is revoked, as sign-out or the reset would have done had it existed
//!    then ([`check_grant_stands`]).
//! 5. RFC 6749 §6 (oxide-auth): the requested scope does not grow (`invalid_scope`).
//! 6. RFC 9700 §2.2.2: the token is spent in one atomic step; one spent before leaked, and its
//!    whole grant is revoked ([`check_unspent`]).
//!
//! Steps 2 to 4 are [`load_grant`] (`Issuer::recover_refresh`, which does not spend the
//! token, so a refused request costs the rightful client nothing); step 6 and the new pair of
//! tokens are [`rotate`] (`Issuer::refresh`). [`may_issue`] is the issuance policy the code
//! grant applies.

use chrono::{DateTime, Utc};

use super::{GrantError, Io, Issued};
use crate::{
    db::models::{
        account,
        client::Client,
        connected_app,
        grant::{self, Grant, RefreshUse},
    },
    domain::{GrantType, ScopeToken, Scopes, random_token},
    oidc::tokens::token_digest,
};

/// OIDC Core §11, RFC 6749 §1.5: who gets a refresh token. Only a grant a person made (the
/// code grant; client_credentials never, RFC 6749 §4.4.3), only for a client registered for
/// the refresh grant, and only when the person granted `offline_access` or an administrator
/// trusts the client (first party) and the settings give first-party clients refresh tokens.
pub fn may_issue(client: &Client, scope: &Scopes, first_party_refresh_tokens: bool) -> bool {
    client.allows_grant(GrantType::RefreshToken)
        && (scope.contains(ScopeToken::OfflineAccess)
            || (client.first_party && first_party_refresh_tokens))
}

/// Steps 2 to 4: the refresh token's grant, found without spending the token.
pub fn load_grant(
    io: &Io<'_>,
    requesting_client: Option<&str>,
    token: &str,
) -> Result<Grant, GrantError> {
    let digest = token_digest(token);
    let found = io.db(move |conn| grant::grant_of_refresh_token(conn, &digest))?;
    check_recovered(
        found.map(|(grant, _spent)| grant),
        requesting_client,
        io.now,
        |grant| check_grant_stands(io, grant),
    )
}

/// Steps 2 to 4, in order. `check_grant_stands` is step 4's look-up, passed in so that the
/// order can be tested without a database: a stranger's request never reaches it, so never
/// revokes anything.
fn check_recovered(
    found: Option<Grant>,
    requesting_client: Option<&str>,
    now: DateTime<Utc>,
    check_grant_stands: impl FnOnce(&Grant) -> Result<(), GrantError>,
) -> Result<Grant, GrantError> {
    let grant = check_live(found, now)?;
    check_issued_to_client(&grant, requesting_client)?;
    check_grant_stands(&grant)?;
    Ok(grant)
}

/// RFC 6749 §5.2: an unknown refresh token, or one whose grant was revoked or has expired, is
/// `invalid_grant`.
pub fn check_live(found: Option<Grant>, now: DateTime<Utc>) -> Result<Grant, GrantError> {
    found
        .filter(|grant| grant.is_live(now))
        .ok_or(GrantError::RefreshDead)
}

/// RFC 6749 §6: the refresh token is bound to the client it was issued to. oxide-auth checks
/// that for a client that authenticated; a public client sends only its `client_id`, which
/// oxide-auth never compares, so it is compared here, for every client.
pub fn check_issued_to_client(
    grant: &Grant,
    requesting_client: Option<&str>,
) -> Result<(), GrantError> {
    if requesting_client == Some(grant.client_id.as_str()) {
        Ok(())
    } else {
        Err(GrantError::RefreshDead)
    }
}

/// Issue 10, point 5: a refresh token gives nothing once its grant's session has ended
/// (unless it is `offline_access`) or the password changed after the grant was made. The
/// grant is then revoked.
pub fn check_grant_stands(io: &Io<'_>, grant: &Grant) -> Result<(), GrantError> {
    let Some(account) = grant.account_id else {
        return Ok(());
    };
    let (sid, since) = (grant.bound_session().map(str::to_owned), grant.created_at);
    let Some(why) = io.db(move |conn| grant::outlived(conn, account, sid.as_deref(), since))?
    else {
        return Ok(());
    };
    revoke(io, grant)?;
    tracing::info!(?why, client_id = %grant.client_id, "refresh refused: the grant's sign-in no longer stands; grant revoked");
    Err(GrantError::Outlived(why))
}

/// Step 6 and the new pair (rotation, RFC 9700 §4.14.2): spends the token and issues a new
/// access token and refresh token in the same grant.
pub fn rotate(io: &Io<'_>, client: &Client, token: &str) -> Result<Issued, GrantError> {
    let (digest, now) = (token_digest(token), io.now);
    let used = io.db(move |conn| grant::use_refresh_token(conn, &digest, now))?;
    let grant = check_unspent(used, now, |grant| {
        revoke(io, grant)?;
        tracing::warn!(client_id = %grant.client_id, "refresh token reused: its grant is revoked");
        Ok(())
    })?;
    let account = grant.account_id.ok_or_else(|| {
        GrantError::Unavailable("refresh token on a grant without an account".into())
    })?;
    let sub = io
        .db(move |conn| account::find_by_id(conn, account))?
        .filter(|a| a.status != account::AccountStatus::Deleted)
        .ok_or(GrantError::RefreshDead)?
        .sub
        .to_string();
    let access_token = super::issue_access_token(io, client, &grant, &sub, None)?;
    let refresh_token = random_token();
    let (new_digest, grant_id) = (token_digest(&refresh_token), grant.id.clone());
    let client = grant.client_id.clone();
    io.db(move |conn| {
        grant::insert_refresh_token(conn, &new_digest, &grant_id, now)?;
        // The app used the account just now: it moves up the person's connected apps.
        connected_app::record_use(conn, account, &client, now)
    })?;
    Ok(Issued {
        access_token,
        expires_in: io.ctx.settings.access_token_ttl_secs,
        refresh_token: Some(refresh_token),
        grant,
    })
}

/// RFC 9700 §2.2.2: a refresh token is used once. One used before means it leaked (the
/// rightful client has already rotated it, or the thief did): `revoke_grant` ends the whole
/// grant. One whose grant died meanwhile is simply invalid.
pub fn check_unspent(
    used: RefreshUse,
    now: DateTime<Utc>,
    revoke_grant: impl FnOnce(&Grant) -> Result<(), GrantError>,
) -> Result<Grant, GrantError> {
    match used {
        RefreshUse::Fresh(grant) if grant.is_live(now) => Ok(grant),
        RefreshUse::Reused(grant) => {
            revoke_grant(&grant)?;
            Err(GrantError::RefreshReused)
        }
        RefreshUse::Fresh(_) | RefreshUse::Unknown => Err(GrantError::RefreshDead),
    }
}

fn revoke(io: &Io<'_>, grant: &Grant) -> Result<(), GrantError> {
    let (id, now) = (grant.id.clone(), io.now);
    io.db(move |conn| grant::revoke(conn, &id, now))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::{
        db::models::grant::Outlived,
        domain::{AccountId, ClientSecret},
        oauth::grant::tests::client,
    };

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn grant(client_id: &Client) -> Grant {
        Grant {
            id: "g".into(),
            client_id: client_id.id.clone(),
            account_id: Some(AccountId::from_stored(7)),
            scope: Scopes::parse_strict("openid").unwrap(),
            created_at: now(),
            expires_at: now() + Duration::days(30),
            revoked_at: None,
            sid: Some("sid".into()),
        }
    }

    fn cloud(grant_types: &[GrantType]) -> Client {
        client(
            Some(&ClientSecret::generate()),
            "openid offline_access",
            grant_types,
        )
    }

    #[test]
    fn refresh_tokens_go_to_offline_access_or_trusted_first_party_clients() {
        let both = [GrantType::AuthorizationCode, GrantType::RefreshToken];
        let plain = Scopes::parse_strict("openid profile").unwrap();
        let offline = Scopes::parse_strict("openid offline_access").unwrap();
        let third_party = cloud(&both);
        assert!(may_issue(&third_party, &offline, true));
        assert!(!may_issue(&third_party, &plain, true));
        let first_party = Client {
            first_party: true,
            ..cloud(&both)
        };
        assert!(may_issue(&first_party, &plain, true));
        assert!(!may_issue(&first_party, &plain, false));
        // Never to a client not registered for the refresh grant, whatever it was granted.
        let code_only = Client {
            first_party: true,
            ..cloud(&[GrantType::AuthorizationCode])
        };
        assert!(!may_issue(&code_only, &offline, true));
    }

    #[test]
    fn a_dead_grant_is_invalid() {
        let cloud = cloud(&[GrantType::RefreshToken]);
        assert_eq!(check_live(None, now()).err(), Some(GrantError::RefreshDead));
        let revoked = Grant {
            revoked_at: Some(now()),
            ..grant(&cloud)
        };
        assert_eq!(
            check_live(Some(revoked), now()).err(),
            Some(GrantError::RefreshDead)
        );
        let live = grant(&cloud);
        assert_eq!(
            check_live(Some(live.clone()), live.expires_at).err(),
            Some(GrantError::RefreshDead)
        );
        assert!(check_live(Some(live), now()).is_ok());
    }

    #[test]
    fn a_refresh_token_is_bound_to_its_client() {
        let cloud = cloud(&[GrantType::RefreshToken]);
        let grant = grant(&cloud);
        assert_eq!(
            check_issued_to_client(&grant, Some(cloud.id.as_str())),
            Ok(())
        );
        assert_eq!(
            check_issued_to_client(&grant, Some("talk")),
            Err(GrantError::RefreshDead)
        );
        assert_eq!(
            check_issued_to_client(&grant, None),
            Err(GrantError::RefreshDead)
        );
    }

    #[test]
    fn a_request_that_breaks_several_rules_gets_the_first_ones_error() {
        let cloud = cloud(&[GrantType::RefreshToken]);
        let outlived = |_: &Grant| Err(GrantError::Outlived(Outlived::PasswordChanged));
        let never = |_: &Grant| -> Result<(), GrantError> {
            panic!("a stranger's request must not reach the sign-in check (it revokes)")
        };
        let revoked = Grant {
            revoked_at: Some(now()),
            ..grant(&cloud)
        };
        assert_eq!(
            check_recovered(Some(revoked), Some("talk"), now(), never).err(),
            Some(GrantError::RefreshDead)
        );
        assert_eq!(
            check_recovered(Some(grant(&cloud)), Some("talk"), now(), never).err(),
            Some(GrantError::RefreshDead)
        );
        assert_eq!(
            check_recovered(
                Some(grant(&cloud)),
                Some(cloud.id.as_str()),
                now(),
                outlived
            )
            .err(),
            Some(GrantError::Outlived(Outlived::PasswordChanged))
        );
        assert!(
            check_recovered(Some(grant(&cloud)), Some(cloud.id.as_str()), now(), |_| Ok(
                ()
            ))
            .is_ok()
        );
    }

    #[test]
    fn a_token_used_twice_revokes_its_grant() {
        let cloud = cloud(&[GrantType::RefreshToken]);
        let mut revoked = None;
        let reused = check_unspent(RefreshUse::Reused(grant(&cloud)), now(), |g| {
            revoked = Some(g.id.clone());
            Ok(())
        });
        assert_eq!(reused.err(), Some(GrantError::RefreshReused));
        assert_eq!(revoked.as_deref(), Some("g"));

        let untouched = |_: &Grant| -> Result<(), GrantError> { panic!("nothing to revoke") };
        assert!(check_unspent(RefreshUse::Fresh(grant(&cloud)), now(), untouched).is_ok());
        let expired = Grant {
            expires_at: now(),
            ..grant(&cloud)
        };
        assert_eq!(
            check_unspent(RefreshUse::Fresh(expired), now(), untouched).err(),
            Some(GrantError::RefreshDead)
        );
        assert_eq!(
            check_unspent(RefreshUse::Unknown, now(), untouched).err(),
            Some(GrantError::RefreshDead)
        );
    }
}
