//! The authorization code grant at the token endpoint (RFC 6749 §4.1.3): a code, redeemed
//! once, by the client it was issued to, for a grant's tokens and, with `openid`, an ID token.
//!
//! The rules, in the order they are checked; the first one broken is the answer:
//! 1. RFC 6749 §2.3, §3.2.1, §5.2: the client authenticates as it registered and is registered
//!    for this grant ([`super::check_client`], from oxide-auth's `Registrar::check`).
//! 2. RFC 6749 §4.1.3: the code was issued to this client, and another client cannot burn it.
//! 3. RFC 6749 §4.1.2, RFC 9700 §4.5: a code is used once. Steps 2 and 3 are one atomic take
//!    ([`take_code`]): a code is kept under its client's name ([`code_key`]), so another client
//!    finds nothing to take. A code redeemed before revokes the grant it gave, but only for a
//!    request that would have succeeded with the fresh code ([`check_replay`]).
//! 4. RFC 6749 §4.1.2: the code is unexpired ([`check_unexpired`]).
//! 5. RFC 6749 §4.1.3: `redirect_uri` is the authorization request's, to the character
//!    ([`check_redirect_uri`]).
//! 6. OIDC Core §12 (issue 10): the sign-in behind the code still stands: its account is
//!    still there ([`check_account_stands`]), its session has not ended and the password has
//!    not changed since ([`check_sign_in_stands`]); and the person has not taken the app's
//!    access back since (issue 12, [`check_access_stands`]).
//! 7. RFC 7636 §4.6, RFC 9700 §4.8.2: the PKCE verifier matches the challenge, and is absent
//!    when the authorization request sent none ([`check_pkce`]).
//!
//! Steps 2 to 7 are [`load_code`], oxide-auth's `Authorizer::extract`. Then [`issue_tokens`]
//! (`Issuer::issue`): the grant and its access token, a refresh token where
//! [`refresh_token::may_issue`](super::refresh_token::may_issue) allows, and the redemption
//! remembered for step 3; and, once the machine is done, [`issue_id_token`] (OIDC Core
//! §3.1.3.3) for the account step 6 read.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{GrantError, Holder, Io, Issued, refresh_token};
use crate::{
    db::models::{
        account::{Account, AccountStatus},
        client::Client,
        grant::{self, CodeStanding},
    },
    domain::{ClientId, Scopes},
    oauth::{
        Context,
        code::{CodeRecord, SignInContext, code_key},
        pkce::{self, Challenge},
    },
    oidc::tokens::{IdTokenContext, sign_id_token, token_digest},
};

/// What the token request brings to the code (RFC 6749 §4.1.3, RFC 7636 §4.5).
#[derive(Debug, Clone, Copy)]
pub struct CodeRequest<'a> {
    /// The client that authenticated (step 1).
    pub client_id: Option<&'a str>,
    /// `redirect_uri` as sent.
    pub redirect_uri: Option<&'a str>,
    /// `code_verifier` as sent.
    pub code_verifier: Option<&'a str>,
}

/// Left behind when a code is redeemed, for as long as its access tokens live: what a
/// second redemption must match for [`check_replay`] to revoke the grant.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RedeemedCode {
    client_id: String,
    grant_id: String,
    redirect_uri: String,
    pkce: Option<Challenge>,
}

/// Where a redeemed code's [`RedeemedCode`] is kept (under the code's digest, never the code).
pub fn redeemed_key(code: &str) -> String {
    format!("authcode-redeemed:{}", token_digest(code))
}

/// Steps 2 to 7: the code's record, taken once, and the account it was issued for; or the
/// first rule the request breaks.
pub fn load_code(
    io: &Io<'_>,
    request: &CodeRequest<'_>,
    code: &str,
) -> Result<(CodeRecord, Account), GrantError> {
    let Some(record) = take_code(io, request, code)? else {
        return Err(check_replay(io, request, code));
    };
    let account = check_redemption(&record, request, io.now, |sign_in| {
        let standing = load_standing(io, &record)?;
        let (account, standing) = check_account_stands(standing)?;
        check_sign_in_stands(&standing, sign_in)?;
        check_access_stands(io, &standing, &record)?;
        Ok(account)
    })?;
    Ok((record, account))
}

/// Step 6's look-up: the account, with what the database says of the sign-in behind the code
/// and of the app's access, in one round trip; `None` when the account is gone.
fn load_standing(
    io: &Io<'_>,
    record: &CodeRecord,
) -> Result<Option<(Account, CodeStanding)>, GrantError> {
    let Some(client) = ClientId::parse(&record.client_id) else {
        return Err(GrantError::CodeInvalid);
    };
    let (account, sid) = (record.sign_in.account_id, record.sign_in.sid.clone());
    io.db(move |conn| grant::code_standing(conn, account, &sid, &client))
}

/// Steps 4 to 7, in order, on the code just taken; the answer is step 6's. `check_sign_in_stands`
/// is step 6 with its look-up, passed in so that the order can be tested without a database.
fn check_redemption<T>(
    record: &CodeRecord,
    request: &CodeRequest<'_>,
    now: DateTime<Utc>,
    check_sign_in_stands: impl FnOnce(&SignInContext) -> Result<T, GrantError>,
) -> Result<T, GrantError> {
    check_unexpired(record, now)?;
    check_redirect_uri(&record.redirect_uri, request.redirect_uri)?;
    let stands = check_sign_in_stands(&record.sign_in)?;
    check_pkce(record.pkce.as_ref(), request.code_verifier)?;
    Ok(stands)
}

/// Steps 2 and 3: the code's record, taken in one atomic step from under the authenticated client's
/// name ([`code_key`]); `None` when this client holds no such code: never issued, already
/// redeemed, expired from the store, or issued to another client, whose code stays where it
/// is (RFC 6749 §4.1.3).
fn take_code(
    io: &Io<'_>,
    request: &CodeRequest<'_>,
    code: &str,
) -> Result<Option<CodeRecord>, GrantError> {
    let Some(client) = request.client_id.and_then(ClientId::parse) else {
        return Ok(None);
    };
    io.store(io.ctx.store.take_json(&code_key(&client, code)))
}

/// RFC 6749 §4.1.2, RFC 9700 §4.5: the refusal for a code that is not (or no longer) there.
/// One redeemed before by a request like this one (see [`replay_would_succeed`]) leaked: the
/// grant it gave is revoked. Anything less is someone who holds the code without the rest;
/// that must not cost the rightful client its tokens, and is answered as an unknown code.
fn check_replay(io: &Io<'_>, request: &CodeRequest<'_>, code: &str) -> GrantError {
    let redeemed = match io.store(io.ctx.store.get_json::<RedeemedCode>(&redeemed_key(code))) {
        Ok(Some(redeemed)) => redeemed,
        Ok(None) => return GrantError::CodeInvalid,
        Err(e) => return e,
    };
    if !replay_would_succeed(&redeemed, request) {
        tracing::warn!(client_id = %redeemed.client_id, "a redeemed authorization code was presented without its client's proof: nothing revoked");
        return GrantError::CodeInvalid;
    }
    let now = io.now;
    if let Err(e) = io.db(move |conn| grant::revoke(conn, &redeemed.grant_id, now)) {
        return e;
    }
    tracing::warn!(client_id = %redeemed.client_id, "authorization code replayed: its grant is revoked");
    GrantError::CodeReplayed
}

/// Whether a second redemption brings everything the first did: the same client, the
/// identical `redirect_uri`, a verifier that matches (OAuth 2.1 §4.1.3).
pub fn replay_would_succeed(redeemed: &RedeemedCode, request: &CodeRequest<'_>) -> bool {
    request.client_id == Some(redeemed.client_id.as_str())
        && request.redirect_uri == Some(redeemed.redirect_uri.as_str())
        && pkce::verify(redeemed.pkce.as_ref(), request.code_verifier).is_ok()
}

/// RFC 6749 §4.1.2: a code lives `authorization_code_ttl_secs` (60 s by default), by the
/// injected clock.
pub fn check_unexpired(record: &CodeRecord, now: DateTime<Utc>) -> Result<(), GrantError> {
    if now >= record.expires_at {
        return Err(GrantError::CodeExpired);
    }
    Ok(())
}

/// RFC 6749 §4.1.3: the token request's `redirect_uri` must be "identical" to the
/// authorization request's. Compared as strings: oxide-auth compares parsed URLs, which would
/// take `HTTPS://RP.EXAMPLE:443/cb` for `https://rp.example/cb`.
pub fn check_redirect_uri(issued_for: &str, sent: Option<&str>) -> Result<(), GrantError> {
    if sent == Some(issued_for) {
        Ok(())
    } else {
        Err(GrantError::RedirectUriMismatch)
    }
}

/// Part of step 6: a code gives nothing for an account that is gone or deleted (the ID token
/// would have nobody to name; OIDC Core §2 asks that `sub` be a person the provider knows).
pub fn check_account_stands(
    standing: Option<(Account, CodeStanding)>,
) -> Result<(Account, CodeStanding), GrantError> {
    standing
        .filter(|(account, _)| account.status != AccountStatus::Deleted)
        .ok_or(GrantError::AccountGone)
}

/// Issue 10, point 5: a code gives nothing once the session it was issued in has ended (the
/// person signed out before the client redeemed it), whether or not it asked for
/// `offline_access`, nor once the password changed after the sign-in.
pub fn check_sign_in_stands(
    standing: &CodeStanding,
    sign_in: &SignInContext,
) -> Result<(), GrantError> {
    match standing.outlived(sign_in.auth_time) {
        None => Ok(()),
        Some(why) => {
            tracing::info!(
                ?why,
                "authorization code refused: its sign-in no longer stands"
            );
            Err(GrantError::Outlived(why))
        }
    }
}

/// Issue 12 (connected apps): a code gives nothing once the person took the app's access back
/// after it was issued: the app is no longer among the account's connected apps, or joined
/// them again only after this code was issued (the row is written when a code is issued).
/// Part of step 6.
pub fn check_access_stands(
    io: &Io<'_>,
    standing: &CodeStanding,
    record: &CodeRecord,
) -> Result<(), GrantError> {
    let issued_at = record.issued_at.unwrap_or_else(|| {
        record.expires_at - Duration::seconds(io.ctx.settings.authorization_code_ttl_secs)
    });
    match standing.app_used_since {
        Some(since) if since <= issued_at => Ok(()),
        _ => {
            tracing::info!("authorization code refused: the app's access was taken back since");
            Err(GrantError::CodeInvalid)
        }
    }
}

/// RFC 7636 §4.6: the verifier must match the challenge the authorization request committed
/// to; RFC 9700 §4.8.2: and may not appear when there was no challenge (a downgrade).
pub fn check_pkce(challenge: Option<&Challenge>, verifier: Option<&str>) -> Result<(), GrantError> {
    pkce::verify(challenge, verifier).map_err(GrantError::Pkce)
}

/// RFC 6749 §4.1.4: the grant, its access token, and a refresh token where the policy allows;
/// then the redemption is remembered under `redeemed_key`, for [`check_replay`].
pub fn issue_tokens(
    io: &Io<'_>,
    client: &Client,
    record: &CodeRecord,
    scope: Scopes,
    redeemed_key: Option<String>,
) -> Result<Issued, GrantError> {
    let with_refresh =
        refresh_token::may_issue(client, &scope, io.ctx.settings.first_party_refresh_tokens);
    let issued = super::issue_tokens(
        io,
        client,
        Holder::Person(&record.sign_in),
        scope,
        with_refresh,
    )?;
    if let Some(key) = redeemed_key {
        remember_redemption(io, &key, client, record, &issued)?;
    }
    Ok(issued)
}

/// Keeps what [`check_replay`] needs for as long as the code's access tokens live (at least
/// ten minutes).
fn remember_redemption(
    io: &Io<'_>,
    key: &str,
    client: &Client,
    record: &CodeRecord,
    issued: &Issued,
) -> Result<(), GrantError> {
    let marker = RedeemedCode {
        client_id: client.id.to_string(),
        grant_id: issued.grant.id.clone(),
        redirect_uri: record.redirect_uri.clone(),
        pkce: record.pkce.clone(),
    };
    let ttl = StdDuration::from_secs(
        io.ctx
            .settings
            .access_token_ttl_secs
            .max(600)
            .unsigned_abs(),
    );
    io.store(io.ctx.store.put_json(key, &marker, ttl))
}

/// OIDC Core §3.1.3.3: with `openid`, the response carries an ID token for the person who
/// signed in (`account`, as step 6 read it), signed with the algorithm the client registered,
/// bound to the access token by `at_hash` (§3.1.3.6) and to the authorization request by
/// `nonce`.
pub fn issue_id_token(
    ctx: &Context,
    client: &Client,
    sign_in: &SignInContext,
    account: &Account,
    issued: &Issued,
) -> Result<String, GrantError> {
    let alg = client.id_token_alg;
    let claims = IdTokenContext {
        issuer: ctx.issuer.as_str(),
        client_id: client.id.as_str(),
        nonce: sign_in.nonce.as_deref(),
        auth_time: sign_in.auth_time,
        sid: Some(&sign_in.sid),
        amr: &sign_in.amr,
        acr: sign_in.acr.as_deref(),
        scope: &issued.grant.scope,
        now: ctx.clock.now(),
        ttl: Duration::seconds(ctx.settings.id_token_ttl_secs),
        alg,
        access_token: Some(&issued.access_token),
    };
    sign_id_token(&ctx.keys.current(), account, &claims)
        .map_err(|e| GrantError::Server(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{db::models::grant::Outlived, domain::AccountId, oauth::pkce::PkceError};

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    const CALLBACK: &str = "https://rp.example/cb";

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn challenge() -> Challenge {
        Challenge::from_request(Some(CHALLENGE), Some("S256"), true)
            .unwrap()
            .unwrap()
    }

    fn record() -> CodeRecord {
        CodeRecord {
            client_id: "cloud".into(),
            redirect_uri: CALLBACK.into(),
            scope: "openid".into(),
            expires_at: now() + Duration::seconds(60),
            issued_at: Some(now()),
            pkce: Some(challenge()),
            sign_in: SignInContext {
                account_id: AccountId::from_stored(7),
                sub: "sub".into(),
                auth_time: now(),
                sid: "sid".into(),
                amr: vec!["pwd".into()],
                nonce: None,
                acr: None,
            },
        }
    }

    fn request() -> CodeRequest<'static> {
        CodeRequest {
            client_id: Some("cloud"),
            redirect_uri: Some(CALLBACK),
            code_verifier: Some(VERIFIER),
        }
    }

    fn stands(_: &SignInContext) -> Result<(), GrantError> {
        Ok(())
    }

    fn outlived(_: &SignInContext) -> Result<(), GrantError> {
        Err(GrantError::Outlived(Outlived::SessionEnded))
    }

    #[test]
    fn a_fresh_code_with_everything_right_is_redeemed() {
        assert_eq!(
            check_redemption(&record(), &request(), now(), stands),
            Ok(())
        );
    }

    #[test]
    fn the_redirect_uri_must_be_the_identical_string() {
        assert_eq!(check_redirect_uri(CALLBACK, Some(CALLBACK)), Ok(()));
        for sent in [
            Some("HTTPS://RP.EXAMPLE:443/cb"),
            Some("https://rp.example:443/cb"),
            Some("https://rp.example/cb/"),
            None,
        ] {
            assert_eq!(
                check_redirect_uri(CALLBACK, sent),
                Err(GrantError::RedirectUriMismatch),
                "{sent:?}"
            );
        }
    }

    #[test]
    fn a_code_expires_at_its_deadline() {
        let record = record();
        let just_before = record.expires_at - Duration::seconds(1);
        assert_eq!(check_unexpired(&record, just_before), Ok(()));
        assert_eq!(
            check_unexpired(&record, record.expires_at),
            Err(GrantError::CodeExpired)
        );
    }

    #[test]
    fn pkce_refusals_are_invalid_grant_with_the_reason() {
        assert_eq!(check_pkce(Some(&challenge()), Some(VERIFIER)), Ok(()));
        assert_eq!(
            check_pkce(Some(&challenge()), None),
            Err(GrantError::Pkce(PkceError::VerifierMissing))
        );
        assert_eq!(
            check_pkce(None, Some(VERIFIER)),
            Err(GrantError::Pkce(PkceError::Downgrade))
        );
        assert_eq!(
            check_pkce(Some(&challenge()), Some(&VERIFIER[..42])),
            Err(GrantError::Pkce(PkceError::MalformedVerifier))
        );
        assert_eq!(check_pkce(None, None), Ok(()));
    }

    #[test]
    fn a_request_that_breaks_several_rules_gets_the_first_ones_error() {
        let expired = now() + Duration::seconds(61);
        let everything_wrong = CodeRequest {
            redirect_uri: Some("https://rp.example/other"),
            code_verifier: Some("wrong-and-too-short"),
            ..request()
        };
        assert_eq!(
            check_redemption(&record(), &everything_wrong, expired, outlived),
            Err(GrantError::CodeExpired)
        );
        assert_eq!(
            check_redemption(&record(), &everything_wrong, now(), outlived),
            Err(GrantError::RedirectUriMismatch)
        );
        let right_uri = CodeRequest {
            redirect_uri: Some(CALLBACK),
            ..everything_wrong
        };
        assert_eq!(
            check_redemption(&record(), &right_uri, now(), outlived),
            Err(GrantError::Outlived(Outlived::SessionEnded))
        );
        assert_eq!(
            check_redemption(&record(), &right_uri, now(), stands),
            Err(GrantError::Pkce(PkceError::MalformedVerifier))
        );
    }

    #[test]
    fn only_a_replay_with_the_whole_proof_revokes() {
        let redeemed = RedeemedCode {
            client_id: "cloud".into(),
            grant_id: "g".into(),
            redirect_uri: CALLBACK.into(),
            pkce: Some(challenge()),
        };
        assert!(replay_would_succeed(&redeemed, &request()));
        for stranger in [
            CodeRequest {
                client_id: Some("talk"),
                ..request()
            },
            CodeRequest {
                redirect_uri: Some("http://127.0.0.1:9/other"),
                ..request()
            },
            CodeRequest {
                code_verifier: None,
                ..request()
            },
            CodeRequest {
                code_verifier: Some(&"a".repeat(43)),
                ..request()
            },
        ] {
            assert!(!replay_would_succeed(&redeemed, &stranger), "{stranger:?}");
        }
    }
}
