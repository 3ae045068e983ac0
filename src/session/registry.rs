//! The durable side of OneID sessions: every sign-in gets a row in `sessions`, so that a session
//! can be ended from anywhere (another instance, the CLI, a password reset) and its apps are
//! told even when it simply runs out (Back-Channel Logout 1.0 §2.1: "when the OP session
//! ends"). The hot path stays cheap: the row's expiry is pushed forward at most once a day per
//! session, and a browser's session is checked against its row at most once a minute.

use chrono::Duration;

use super::Session;
use crate::{
    db::{
        DbError,
        models::{
            grant,
            session::{self as rows, EndReason},
        },
    },
    domain::AccountId,
    oauth::backchannel::{self, BackchannelError},
    state::AppState,
};

/// How far beyond the idle timeout a row's expiry is set, so that it is rewritten about once a
/// day rather than on every request. The apps then hear of an idle expiry up to this late.
const EXPIRY_SLACK: Duration = Duration::days(1);
/// How stale a browser's view of its session may get before it is checked against its row:
/// the longest a session ended elsewhere keeps working in that browser.
pub const RECHECK_AFTER: Duration = Duration::seconds(60);
/// Expired sessions handled per sweep pass.
const SWEEP_BATCH: i64 = 100;

/// Before a response: a signed-in session whose row would expire before the session itself
/// can gets its row recorded or pushed forward.
pub async fn keep_recorded(state: &AppState, session: &mut Session) -> Result<(), DbError> {
    let now = state.clock.now();
    let limits = &state.settings.session;
    let Some(signed_in) = session.signed_in().cloned() else {
        return Ok(());
    };
    let session_end = (now + Duration::seconds(limits.idle_timeout_secs))
        .min(signed_in.auth_time + Duration::seconds(limits.absolute_timeout_secs));
    if session
        .recorded_until()
        .is_some_and(|until| until >= session_end)
    {
        return Ok(());
    }
    let until = (session_end + EXPIRY_SLACK)
        .min(signed_in.auth_time + Duration::seconds(limits.absolute_timeout_secs));
    state
        .db
        .run(move |conn| {
            rows::record(
                conn,
                &signed_in.sid,
                signed_in.account_id,
                signed_in.auth_time,
                until,
            )
        })
        .await?;
    session.set_recorded(until, now);
    Ok(())
}

/// After loading: a session ended elsewhere (another browser tab's instance, an admin, a
/// password reset) is signed out here too, within [`RECHECK_AFTER`].
pub async fn recheck(state: &AppState, session: &mut Session) -> Result<(), DbError> {
    let now = state.clock.now();
    let Some(signed_in) = session.signed_in() else {
        return Ok(());
    };
    if session
        .checked_at()
        .is_some_and(|at| now - at < RECHECK_AFTER)
    {
        return Ok(());
    }
    let sid = signed_in.sid.clone();
    if state
        .db
        .run(move |conn| rows::has_ended(conn, &sid))
        .await?
    {
        session.forget_sign_in();
    } else {
        session.set_checked(now);
    }
    Ok(())
}

/// What a sign-in did to the session the browser already had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignIn {
    /// The browser had no live sign-in: a new OIDC session (`sid`) starts.
    New,
    /// The same account proved itself again (`prompt=login`, `max_age`, a step-up): the OIDC
    /// session goes on under its `sid`, with the new `auth_time` and `amr`.
    Reauthenticated,
    /// Another account signed in: the previous account's session ended (its apps are told) and
    /// a new one starts.
    Replaced { previous: AccountId },
}

/// Signs `account` in to the browser's `session`, replacing what it had. Every sign-in path
/// (password, code, sign-up) goes through here, so that one browser never holds two OIDC
/// sessions of which only the newer can be signed out:
///
/// - the same account re-authenticating keeps the `sid` its apps' ID tokens name, so a later
///   sign-out reaches them (Back-Channel Logout 1.0 §2.1; OIDC Core §2: `auth_time` is the
///   time of the latest authentication);
/// - a different account ends the previous account's session as a sign-out does: row ended,
///   session-bound grants revoked, logout tokens queued for its apps.
///
/// A kept session whose row ended meanwhile (a password reset, an operator) is not revived:
/// the sign-in starts a new one.
pub async fn sign_in(
    state: &AppState,
    session: &mut Session,
    account: AccountId,
    amr: &[&str],
) -> Result<SignIn, BackchannelError> {
    let previous = session
        .signed_in()
        .map(|signed_in| (signed_in.sid.clone(), signed_in.account_id));
    let (keep_sid, outcome) = match previous {
        None => (None, SignIn::New),
        Some((sid, previous)) if previous == account => {
            let looked_up = sid.clone();
            let ended = state
                .db
                .run(move |conn| rows::has_ended(conn, &looked_up))
                .await?;
            if ended {
                (None, SignIn::New)
            } else {
                (Some(sid), SignIn::Reauthenticated)
            }
        }
        Some((sid, previous)) => {
            end(state, &sid, previous, EndReason::Replaced).await?;
            (None, SignIn::Replaced { previous })
        }
    };
    session.sign_in(account, state.clock.now(), amr, keep_sid);
    Ok(outcome)
}

/// Ends one session: marks its row and, if this call is the one that ended it, queues the
/// logout tokens for its apps.
pub async fn end(
    state: &AppState,
    sid: &str,
    account: AccountId,
    reason: EndReason,
) -> Result<(), BackchannelError> {
    let now = state.clock.now();
    let sid_owned = sid.to_owned();
    let ended_here = state
        .db
        .run(move |conn| rows::end(conn, &sid_owned, reason, now))
        .await?;
    if ended_here {
        backchannel::session_ended(state, sid, account).await?;
    }
    Ok(())
}

/// Ends every session of the account and revokes every grant it gave, including
/// `offline_access` ones: what an operator wants for a compromised account. Returns the number
/// of sessions ended.
pub async fn end_all_for_account(
    state: &AppState,
    account: AccountId,
    reason: EndReason,
) -> Result<usize, BackchannelError> {
    let live = state
        .db
        .run(move |conn| rows::live_for_account(conn, account))
        .await?;
    for session in &live {
        end(state, &session.sid, account, reason).await?;
    }
    let now = state.clock.now();
    state
        .db
        .run(move |conn| grant::revoke_all_for_account(conn, account, now))
        .await?;
    Ok(live.len())
}

/// Ends the sessions whose time ran out, telling their apps. Returns how many.
pub async fn sweep_expired(state: &AppState) -> Result<usize, BackchannelError> {
    let now = state.clock.now();
    let expired = state
        .db
        .run(move |conn| rows::expired(conn, now, SWEEP_BATCH))
        .await?;
    for session in &expired {
        end(state, &session.sid, session.account_id, EndReason::Expired).await?;
    }
    if !expired.is_empty() {
        tracing::info!(sessions = expired.len(), "expired OneID sessions ended");
    }
    Ok(expired.len())
}
