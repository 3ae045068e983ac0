//! RP-Initiated Logout 1.0: an app asks OneID to end the person's session.

use std::sync::Arc;

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{
    Context, client_auth,
    error::{ErrorCode, OAuthError},
    id_token_hint::check_id_token_hint,
    params::Params,
};
use crate::db::models::client::Client;

#[derive(Debug)]
pub enum EndSession {
    /// Sign out now (the hint proves the app knows this person), then go where it says.
    SignOut { then: After },
    /// Nothing proves the request comes from an app the person uses: ask them first, so a
    /// stray link cannot sign anyone out (RP-Initiated Logout §2, logout CSRF).
    Confirm { then: After },
    /// The request names a client or redirect that does not check out: an error page.
    Refuse(OAuthError),
}

#[derive(Debug, Clone)]
pub enum After {
    /// `post_logout_redirect_uri` with `state`, both checked.
    Redirect(String),
    /// OneID's own "you are signed out" page.
    Page,
}

/// Decides what an end-session request may do (RP-Initiated Logout 1.0 §2, §3). `session_sub`
/// is the subject signed in in this browser, if any. The error is a failure of ours; every
/// refusal of the request is [`EndSession::Refuse`].
pub async fn end_session(
    ctx: &Context,
    params: &Params,
    session_sub: Option<&str>,
) -> Result<EndSession, OAuthError> {
    let refuse = |d: &'static str| {
        Ok(EndSession::Refuse(OAuthError::new(
            ErrorCode::InvalidRequest,
            d,
        )))
    };
    let hint = match params.get("id_token_hint") {
        None => None,
        Some(token) => match check_id_token_hint(&ctx.keys.current(), &ctx.issuer, token) {
            Ok(hint) => Some(hint),
            Err(e) => return Ok(EndSession::Refuse(e)),
        },
    };
    // The client: named by client_id, or by the hint's audience; the two must agree.
    let client_id = match (params.get("client_id"), &hint) {
        (Some(id), Some(h)) if !h.aud.iter().any(|a| a == id) => {
            return refuse("client_id is not the audience of id_token_hint");
        }
        (Some(id), _) => Some(id.to_owned()),
        (None, Some(h)) => h.aud.first().cloned(),
        (None, None) => None,
    };
    let client = match client_id {
        None => None,
        Some(raw) => match client_auth::find_client(ctx, &raw).await? {
            Some(c) => Some(c),
            None => return refuse("unknown client_id"),
        },
    };
    let then = match (params.get("post_logout_redirect_uri"), &client) {
        (None, _) => After::Page,
        (Some(_), None) => {
            return refuse("post_logout_redirect_uri needs client_id or id_token_hint");
        }
        (Some(uri), Some(client)) => match registered_logout_uri(client, uri) {
            Some(uri) => After::Redirect(with_state(&uri, params.get("state"))),
            None => return refuse("post_logout_redirect_uri is not registered for this client"),
        },
    };
    let proven = hint
        .as_ref()
        .is_some_and(|h| session_sub.is_none_or(|sub| sub == h.sub));
    Ok(if proven {
        EndSession::SignOut { then }
    } else {
        EndSession::Confirm { then }
    })
}

/// Exact string match against the client's registered post-logout redirect URIs (§3.1).
fn registered_logout_uri(client: &Client, requested: &str) -> Option<String> {
    client
        .post_logout_redirect_uris
        .iter()
        .find(|u| u.as_str() == requested)
        .map(|u| u.as_str().to_owned())
}

fn with_state(uri: &str, state: Option<&str>) -> String {
    let mut url = url::Url::parse(uri).expect("registered URIs are URLs");
    if let Some(s) = state {
        url.query_pairs_mut().append_pair("state", s);
    }
    url.to_string()
}

/// The purpose under which the confirmation key is derived from the key encryption key.
pub const CONFIRMATION_KEY_PURPOSE: &str = "oneid end-session confirmation v1";

/// The key that signs end-session confirmation forms, derived once at start from the key
/// encryption key under [`CONFIRMATION_KEY_PURPOSE`], so that no request derives keys. Cheap
/// to clone; its `Debug` shows nothing of it.
#[derive(Clone)]
pub struct ConfirmationKey(Arc<[u8; 32]>);

impl ConfirmationKey {
    pub fn new(key: [u8; 32]) -> Self {
        Self(Arc::new(key))
    }
}

impl std::fmt::Debug for ConfirmationKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConfirmationKey(<redacted>)")
    }
}

/// A confirmation form for `then` in the browser session whose form token is `binding`: when
/// it was made, and its signature ([`sign_confirmation`] under the context's key).
pub fn confirmation(ctx: &Context, binding: &str, then: &str) -> (i64, String) {
    let issued = ctx.clock.now().timestamp();
    let signature = sign_confirmation(&ctx.confirmation_key.0[..], binding, issued, then);
    (issued, signature)
}

/// Where a submitted confirmation form may go ([`verify_confirmation`] under the context's key
/// and clock); `None` for a form that does not verify.
pub fn check_confirmation(
    ctx: &Context,
    binding: &str,
    issued_at: &str,
    then: &str,
    signature: &str,
) -> Option<After> {
    let key = &ctx.confirmation_key.0[..];
    verify_confirmation(key, binding, issued_at, then, signature, ctx.clock.now())
}

/// How long a confirmation form stays good.
pub const CONFIRMATION_TTL_SECS: i64 = 30 * 60;

/// The confirmation page carries its checked destination in the form, signed, instead of
/// parking it in the store: an end-session request from a stranger then stores nothing. The
/// signature (HMAC-SHA256 under a key derived from the key encryption key) covers the
/// destination, when the form was made, and `binding` (the browser session's form token), so
/// the form can neither be edited into an open redirect nor replayed in another browser.
/// `then` is the checked redirect, or empty for OneID's own page.
pub fn sign_confirmation(key: &[u8], binding: &str, issued_at: i64, then: &str) -> String {
    URL_SAFE_NO_PAD.encode(
        confirmation_mac(key, binding, issued_at, then)
            .finalize()
            .into_bytes(),
    )
}

/// Where a submitted confirmation form may go: `then` as signed by [`sign_confirmation`] for
/// this browser session, no older than [`CONFIRMATION_TTL_SECS`]; `None` for anything else
/// (edited, another browser's, expired, or not a number at all). The comparison takes
/// constant time.
pub fn verify_confirmation(
    key: &[u8],
    binding: &str,
    issued_at: &str,
    then: &str,
    signature: &str,
    now: DateTime<Utc>,
) -> Option<After> {
    let issued: i64 = issued_at.parse().ok()?;
    let age = now.timestamp().checked_sub(issued)?;
    // A minute of clock skew between instances is fine; a form from the future is not.
    if !(-60..=CONFIRMATION_TTL_SECS).contains(&age) {
        return None;
    }
    let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
    confirmation_mac(key, binding, issued, then)
        .verify_slice(&signature)
        .ok()?;
    Some(if then.is_empty() {
        After::Page
    } else {
        After::Redirect(then.to_owned())
    })
}

fn confirmation_mac(key: &[u8], binding: &str, issued_at: i64, then: &str) -> Hmac<Sha256> {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes a key of any length");
    // NUL separates the fields: the binding is base64url and the time digits, neither has one.
    mac.update(format!("{binding}\0{issued_at}\0").as_bytes());
    mac.update(then.as_bytes());
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_confirmation_key_never_prints() {
        let key = ConfirmationKey::new([0xAB; 32]);
        assert_eq!(format!("{key:?}"), "ConfirmationKey(<redacted>)");
    }

    #[test]
    fn a_signed_confirmation_verifies_only_unchanged_in_its_browser_and_in_time() {
        let key = [7u8; 32];
        let now = Utc::now();
        let issued = now.timestamp();
        let then = "https://rp.example/bye?state=x";
        let sig = sign_confirmation(&key, "csrf-a", issued, then);
        let at = issued.to_string();
        let ok = verify_confirmation(&key, "csrf-a", &at, then, &sig, now);
        assert!(matches!(ok, Some(After::Redirect(u)) if u == then));
        // Edited destination, another browser, another key, a forged or garbled signature.
        assert!(
            verify_confirmation(&key, "csrf-a", &at, "https://evil.example/", &sig, now).is_none()
        );
        assert!(verify_confirmation(&key, "csrf-b", &at, then, &sig, now).is_none());
        assert!(verify_confirmation(&[8u8; 32], "csrf-a", &at, then, &sig, now).is_none());
        assert!(verify_confirmation(&key, "csrf-a", &at, then, "AAAA", now).is_none());
        assert!(verify_confirmation(&key, "csrf-a", &at, then, "%%%", now).is_none());
        // Expired, from the future, or a time that is no number (or one at the edge of i64).
        let late = now + chrono::Duration::seconds(CONFIRMATION_TTL_SECS + 1);
        assert!(verify_confirmation(&key, "csrf-a", &at, then, &sig, late).is_none());
        let early = now - chrono::Duration::seconds(120);
        assert!(verify_confirmation(&key, "csrf-a", &at, then, &sig, early).is_none());
        for bad in [
            "",
            "x",
            "-9223372036854775808",
            "9223372036854775807",
            "99999999999999999999",
        ] {
            assert!(verify_confirmation(&key, "csrf-a", bad, then, &sig, now).is_none());
        }
        // No destination: OneID's own page.
        let page = sign_confirmation(&key, "csrf-a", issued, "");
        assert!(matches!(
            verify_confirmation(&key, "csrf-a", &at, "", &page, now),
            Some(After::Page)
        ));
    }
}
