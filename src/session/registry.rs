//! The durable side of OneID sessions: every sign-in gets a row in `sessions`, so that a session
//! can be ended from anywhere (another instance, the CLI, a password reset) and its apps are
//! told even when it simply runs out (Back-Channel Logout 1.0 §2.1: "when the OP session
//! ends"). The hot path stays cheap: the row's expiry is pushed forward at most once a day per
//! session, and a browser's session is checked against its row (and its `last_active_at`
//! moved) at most once a minute. The row also says where the sign-in came from (user agent,
//! address, the digest of the browser's device cookie), for the person's list of sessions.

use chrono::Duration;

use super::{Context, EndError, Session, end};
use crate::{
    db::{
        DbError,
        models::session::{self as rows, EndReason, SeenFrom},
    },
    domain::{AccountId, ClientInfo, DeviceDigest},
};

/// How far beyond the idle timeout a row's expiry is set, so that it is rewritten about once a
/// day rather than on every request. The apps then hear of an idle expiry up to this late.
const EXPIRY_SLACK: Duration = Duration::days(1);
/// How stale a browser's view of its session may get before it is checked against its row:
/// the longest a session ended elsewhere keeps working in that browser.
pub const RECHECK_AFTER: Duration = Duration::seconds(60);

/// Before a response: a signed-in session whose row would expire before the session itself
/// can gets its row recorded or pushed forward.
pub async fn keep_recorded(ctx: &Context, session: &mut Session) -> Result<(), DbError> {
    let now = ctx.clock.now();
    let limits = &ctx.settings;
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
    ctx.db
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
/// password reset, the person from another browser) is signed out here too, within
/// [`RECHECK_AFTER`]. The same visit to the row marks the session active (`last_active_at`),
/// so that moves at most once a minute too.
pub async fn recheck(ctx: &Context, session: &mut Session) -> Result<(), DbError> {
    let now = ctx.clock.now();
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
    let ended = ctx
        .db
        .run(move |conn| Ok(!rows::touch(conn, &sid, now)? && rows::has_ended(conn, &sid)?))
        .await?;
    if ended {
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
/// the sign-in starts a new one. `from` is who signs in, for the audit log and the session's
/// row; `device` is the digest of the browser's device cookie. The row is recorded here, with
/// where the sign-in came from; the answer says whether the browser is new to the account
/// (see [`SignInReport::new_browser`]).
pub async fn sign_in(
    ctx: &Context,
    session: &mut Session,
    account: AccountId,
    amr: &[&str],
    from: &ClientInfo,
    device: &DeviceDigest,
) -> Result<SignInReport, EndError> {
    let previous = session
        .signed_in()
        .map(|signed_in| (signed_in.sid.clone(), signed_in.account_id));
    let (keep_sid, outcome) = match previous {
        None => (None, SignIn::New),
        Some((sid, previous)) if previous == account => {
            let looked_up = sid.clone();
            let ended = ctx
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
            end(ctx, &sid, previous, EndReason::Replaced, from).await?;
            tracing::info!(account_id = %previous, "signed out: another account signed in");
            (None, SignIn::Replaced { previous })
        }
    };
    // Asked before this sign-in's row names the device.
    let new_browser = outcome != SignIn::Reauthenticated && {
        let device = device.clone();
        ctx.db
            .run(move |conn| rows::is_new_device(conn, account, &device))
            .await?
    };
    let now = ctx.clock.now();
    session.sign_in(account, now, amr, keep_sid);
    keep_recorded(ctx, session).await?;
    let sid = session
        .signed_in()
        .map(|s| s.sid.clone())
        .unwrap_or_default();
    let seen = SeenFrom {
        user_agent: from.user_agent.clone(),
        ip: from.ip.map(|ip| ip.to_string()),
        device: Some(device.clone()),
    };
    ctx.db
        .run(move |conn| rows::describe(conn, &sid, &seen, now))
        .await?;
    Ok(SignInReport {
        outcome,
        new_browser,
    })
}

/// What [`sign_in`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInReport {
    pub outcome: SignIn,
    /// The account has signed in from other browsers before, never from this one (by its
    /// device cookie): its owner gets a notice. Never for the account's first browser (its
    /// sign-up), nor for a re-authentication in the same session.
    pub new_browser: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        config::Settings,
        session::testing::{self, account, has_ended},
    };

    fn device() -> DeviceDigest {
        crate::domain::DeviceKey::generate().digest_for(AccountId::from_stored(1))
    }

    /// An account signed in to a new browser session whose row is recorded, and its `sid`.
    async fn signed_in(ctx: &Context) -> (AccountId, Session, String) {
        let a = account(ctx, "asha@example.com").await;
        let mut session = Session::fresh(ctx.clock.now());
        let (who, here) = (ClientInfo::default(), device());
        let first = sign_in(ctx, &mut session, a, &["pwd"], &who, &here);
        let first = first.await.unwrap();
        assert_eq!(first.outcome, SignIn::New);
        assert!(
            !first.new_browser,
            "the account's first browser is not news"
        );
        keep_recorded(ctx, &mut session).await.unwrap();
        let sid = session.signed_in().unwrap().sid.clone();
        (a, session, sid)
    }

    #[tokio::test]
    async fn the_same_account_keeps_its_session_and_another_one_replaces_it() {
        let t = testing::context(&Settings::default()).await;
        let (ctx, who) = (&t.ctx, ClientInfo::default());
        let (a, mut session, sid) = signed_in(ctx).await;
        let b = account(ctx, "ravi@example.com").await;

        t.clock.advance(Duration::minutes(1));
        let here = device();
        let again = sign_in(ctx, &mut session, a, &["otp"], &who, &here).await;
        assert_eq!(again.unwrap().outcome, SignIn::Reauthenticated);
        assert_eq!(
            session.signed_in().unwrap().sid,
            sid,
            "the apps' sid goes on"
        );
        assert_eq!(session.signed_in().unwrap().auth_time, ctx.clock.now());

        let other = sign_in(ctx, &mut session, b, &["pwd"], &who, &here).await;
        assert_eq!(other.unwrap().outcome, SignIn::Replaced { previous: a });
        assert_ne!(session.signed_in().unwrap().sid, sid);
        assert!(has_ended(ctx, &sid).await);
    }

    #[tokio::test]
    async fn a_session_ended_elsewhere_is_signed_out_here_after_the_recheck_interval() {
        let t = testing::context(&Settings::default()).await;
        let ctx = &t.ctx;
        let (a, mut session, sid) = signed_in(ctx).await;
        end(ctx, &sid, a, EndReason::Admin, &ClientInfo::default())
            .await
            .unwrap();

        // Within the interval the browser's view is trusted: no database read per request.
        recheck(ctx, &mut session).await.unwrap();
        assert!(session.signed_in().is_some());
        t.clock.advance(RECHECK_AFTER);
        recheck(ctx, &mut session).await.unwrap();
        assert!(session.signed_in().is_none());
    }

    #[tokio::test]
    async fn the_row_is_pushed_forward_at_most_once_a_day_and_never_past_the_absolute_limit() {
        let t = testing::context(&Settings::default()).await;
        let ctx = &t.ctx;
        let (_, mut session, _) = signed_in(ctx).await;
        let auth_time = session.signed_in().unwrap().auth_time;
        let absolute = auth_time + Duration::seconds(ctx.settings.absolute_timeout_secs);
        let first = session.recorded_until().unwrap();
        assert!(first <= absolute);

        t.clock.advance(Duration::hours(1));
        keep_recorded(ctx, &mut session).await.unwrap();
        assert_eq!(
            session.recorded_until(),
            Some(first),
            "within the slack: not rewritten"
        );

        t.clock.advance(EXPIRY_SLACK);
        keep_recorded(ctx, &mut session).await.unwrap();
        let pushed = session.recorded_until().unwrap();
        assert!(pushed > first && pushed <= absolute);
    }

    #[tokio::test]
    async fn a_browser_new_to_the_account_is_told_apart_by_its_device_cookie() {
        let t = testing::context(&Settings::default()).await;
        let ctx = &t.ctx;
        let who = ClientInfo {
            ip: Some("203.0.113.7".parse().unwrap()),
            user_agent: Some("Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Firefox/121.0".into()),
        };
        let a = account(ctx, "asha@example.com").await;
        let (laptop, phone) = (device(), device());
        let mut first = Session::fresh(ctx.clock.now());
        let report = sign_in(ctx, &mut first, a, &["pwd"], &who, &laptop).await;
        assert!(!report.unwrap().new_browser, "the first browser");
        let mut second = Session::fresh(ctx.clock.now());
        let report = sign_in(ctx, &mut second, a, &["pwd"], &who, &phone).await;
        assert!(report.unwrap().new_browser, "another browser");
        let mut third = Session::fresh(ctx.clock.now());
        let report = sign_in(ctx, &mut third, a, &["pwd"], &who, &laptop).await;
        assert!(!report.unwrap().new_browser, "the laptop again");

        // The row says where the sign-in came from, and recheck moves its last activity.
        let sid = third.signed_in().unwrap().sid.clone();
        let details = || {
            let now = ctx.clock.now();
            ctx.db.run(move |conn| rows::live_details(conn, a, now, 10))
        };
        let rows = details().await.unwrap();
        assert_eq!(rows.len(), 3);
        let row = rows.iter().find(|r| r.sid == sid).unwrap();
        assert_eq!(row.ip.as_deref(), Some("203.0.113.7"));
        assert_eq!(row.user_agent, who.user_agent);
        assert_eq!(row.last_active_at, Some(row.created_at));
        t.clock.advance(RECHECK_AFTER);
        recheck(ctx, &mut third).await.unwrap();
        let rows = details().await.unwrap();
        let row = rows.iter().find(|r| r.sid == sid).unwrap();
        assert_eq!(row.last_active_at, Some(row.created_at + RECHECK_AFTER));
    }
}
