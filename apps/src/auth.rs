//! Signing people in and out of this app, on top of the protocol steps in [`crate::oidc`] and
//! the [`crate::session`] store. No HTTP types here.

use openidconnect::{CsrfToken, LogoutRequest, PostLogoutRedirectUrl, url::Url};

use crate::{
    oidc::{
        login::{self, Callback, LoginError, RefreshError},
        logout_token::{self, Expected, LogoutTarget, LogoutTokenError},
    },
    session::{Session, SessionId, random_token},
    state::AppState,
};

/// Where to send the browser to sign in, and the browser binding to remember in a cookie.
pub struct LoginRedirect {
    pub url: Url,
    pub browser: String,
}

/// Starts a sign-in for the browser bound by `browser` (a new binding when it has none).
pub fn begin_login(
    state: &AppState,
    browser: Option<&str>,
    prompt: Option<login::Prompt>,
    now: i64,
) -> LoginRedirect {
    let browser = browser.map_or_else(random_token, str::to_owned);
    let (url, pending) = login::start(&state.provider, state.app.scopes(), prompt);
    state.sessions.add_pending(pending, &browser, now);
    LoginRedirect { url, browser }
}

#[derive(Debug, thiserror::Error)]
pub enum CallbackError {
    /// No sign-in of this browser has this `state`: forged, replayed, too old, or opened in
    /// another browser.
    #[error("unknown or expired state")]
    UnknownState,
    #[error(transparent)]
    Login(#[from] LoginError),
}

/// Finishes the sign-in that `state` names and starts a session, replacing the browser's
/// `previous` one if any. Returns the new session's ID.
pub async fn complete_login(
    state: &AppState,
    browser: Option<&str>,
    previous: Option<&SessionId>,
    oauth_state: &str,
    callback: Callback,
    now: i64,
) -> Result<SessionId, CallbackError> {
    let pending = browser
        .and_then(|b| state.sessions.take_pending(oauth_state, b, now))
        .ok_or(CallbackError::UnknownState)?;
    let signed_in = login::finish(&state.provider, pending, callback, now).await?;
    tracing::info!(
        app = state.app.slug(),
        sid = signed_in.sid.is_some(),
        "signed in"
    );
    if let Some(previous) = previous {
        state.sessions.remove(previous);
    }
    Ok(state.sessions.insert(Session::new(signed_in, now)))
}

/// The session of this browser, with fresh tokens: an expired access token is refreshed
/// first, and a session whose refresh OneID refuses is over.
pub async fn current_session(state: &AppState, id: &SessionId, now: i64) -> Option<Session> {
    let session = state.sessions.get(id, now)?;
    if !session.tokens.access_expired(now) || session.tokens.refresh.is_none() {
        return Some(session);
    }
    let lock = session.refresh_lock.clone();
    let _guard = lock.lock().await;
    // Another request of this browser may have refreshed while we waited.
    let session = state.sessions.get(id, now)?;
    if !session.tokens.access_expired(now) {
        return Some(session);
    }
    match login::refresh(&state.provider, &session.tokens, &session.sub, now).await {
        Ok((tokens, profile)) => {
            state.sessions.update(id, tokens, profile);
            state.sessions.get(id, now)
        }
        Err(RefreshError::Rejected(detail)) => {
            tracing::info!(%detail, "OneID refused to refresh; signing out");
            state.sessions.remove(id);
            None
        }
        Err(RefreshError::Unavailable(detail)) => {
            tracing::warn!(%detail, "refresh failed; keeping the session");
            Some(session)
        }
    }
}

/// RP-Initiated Logout 1.0 §2: ends the local session, then says where OneID ends its own
/// (`id_token_hint`, `post_logout_redirect_uri`, `state`). `None`: straight home.
pub fn sign_out(state: &AppState, id: &SessionId) -> Option<Url> {
    let session = state.sessions.remove(id)?;
    let end_session = state.provider.end_session_endpoint()?;
    let after = PostLogoutRedirectUrl::new(state.public_url.join("/")).ok()?;
    Some(
        LogoutRequest::from(end_session)
            .set_id_token_hint(&session.tokens.id_token)
            .set_post_logout_redirect_uri(after)
            .set_state(CsrfToken::new_random())
            .http_get_url(),
    )
}

/// Back-Channel Logout 1.0 §2.6 and §2.7: validates the logout token (fetching OneID's keys
/// again once if it names a key we do not know), then ends the sessions it names. Returns how
/// many ended.
pub async fn backchannel_logout(
    state: &AppState,
    token: &str,
    now: i64,
) -> Result<usize, LogoutTokenError> {
    let issuer = state.provider.issuer();
    let client_id = state.provider.client_id().as_str().to_owned();
    let check = || {
        let expected = Expected {
            issuer: &issuer,
            client_id: &client_id,
        };
        logout_token::validate(token, &state.provider.current().jwks, expected, now)
    };
    let target = match check() {
        Err(LogoutTokenError::UnknownKey) if state.provider.refetch_keys().await => check(),
        other => other,
    }?;
    let ended = match &target {
        LogoutTarget::Session { sid } => state.sessions.remove_by_sid(sid),
        LogoutTarget::Subject { sub } => state.sessions.remove_by_sub(sub),
    };
    tracing::info!(app = state.app.slug(), ended, "back-channel logout");
    Ok(ended)
}
