//! Ending a OneID session: the one home of "sign this session out", whoever asks (the person at
//! `/logout`, an app's RP-initiated logout, the expiry sweep, a password reset, an operator,
//! another account signing in in the same browser). Each ending does the same four things:
//!
//! 1. `mark_ended`: the durable row says the session ended, and why; only the call that
//!    changes it goes on, so two instances ending the same session tell the apps once;
//! 2. `revoke_session_grants`: the grants that lived only for the session go (those with
//!    `offline_access` were asked to outlive it);
//! 3. the apps that took part get a logout token each (Back-Channel Logout 1.0 §2.1: "when the
//!    OP session ends"), queued below in [`crate::logout`] and delivered from there;
//! 4. `audit_event`: the sign-outs a person caused are recorded in the audit log.

use std::collections::BTreeMap;

use super::Context;
use crate::{
    audit::{AuditEvent, AuditKind, Outcome},
    db::{
        DbError,
        models::{
            account,
            client::{self, Client},
            grant,
            session::{self as rows, EndReason},
        },
    },
    domain::{AccountId, ClientInfo, ScopeToken},
    logout::QueueError,
    oidc::keys::KeyError,
};

/// Expired sessions handled per sweep pass.
const SWEEP_BATCH: i64 = 100;

/// Why a session could not be ended completely. The row is marked first, so a failure after
/// it leaves the session ended; only the apps may not have been told.
#[derive(Debug, thiserror::Error)]
pub enum EndError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("logout token not signed: {0}")]
    Sign(#[from] KeyError),
}

impl From<QueueError> for EndError {
    fn from(e: QueueError) -> Self {
        match e {
            QueueError::Db(e) => Self::Db(e),
            QueueError::Sign(e) => Self::Sign(e),
        }
    }
}

/// Ends the session `sid` of `account` for `reason`, asked for by `from` (an empty
/// [`ClientInfo`] when no request asked: the sweep, the command line). Returns whether this
/// call ended it (false: it had ended already, and its apps were told then).
pub async fn end(
    ctx: &Context,
    sid: &str,
    account: AccountId,
    reason: EndReason,
    from: &ClientInfo,
) -> Result<bool, EndError> {
    // Recorded first: the person signed out whatever happens to the queueing below.
    if let Some(event) = audit_event(reason, account, from) {
        ctx.audit.record(event).await;
    }
    if !mark_ended(ctx, sid, reason).await? {
        return Ok(false);
    }
    tell_apps(ctx, sid, account).await?;
    Ok(true)
}

/// Ends every session of the account for `reason` and revokes every grant it gave, including
/// `offline_access` ones: what a password reset or an operator wants for a compromised account.
/// Returns the number of sessions ended.
pub async fn end_all_for_account(
    ctx: &Context,
    account: AccountId,
    reason: EndReason,
) -> Result<usize, EndError> {
    end_all_for_account_except(ctx, account, None, reason).await
}

/// [`end_all_for_account`], but the session `keep` (when given) goes on, with its grants: a
/// password changed while signed in signs out every other device, not the one that changed it.
/// (Its grants' refresh tokens still stop working: they predate the new password, see
/// `grant::outlived`.)
pub async fn end_all_for_account_except(
    ctx: &Context,
    account: AccountId,
    keep: Option<&str>,
    reason: EndReason,
) -> Result<usize, EndError> {
    let live = ctx
        .db
        .run(move |conn| rows::live_for_account(conn, account))
        .await?;
    let ending: Vec<_> = live
        .iter()
        .filter(|session| Some(session.sid.as_str()) != keep)
        .collect();
    for session in &ending {
        end(ctx, &session.sid, account, reason, &ClientInfo::default()).await?;
    }
    let (now, keep) = (ctx.clock.now(), keep.map(str::to_owned));
    ctx.db
        .run(move |conn| match &keep {
            None => grant::revoke_all_for_account(conn, account, now),
            Some(sid) => grant::revoke_all_for_account_except_session(conn, account, sid, now),
        })
        .await?;
    Ok(ending.len())
}

/// Ends the sessions whose time ran out, telling their apps. Returns how many.
pub async fn sweep_expired(ctx: &Context) -> Result<usize, EndError> {
    let now = ctx.clock.now();
    let expired = ctx
        .db
        .run(move |conn| rows::expired(conn, now, SWEEP_BATCH))
        .await?;
    for session in &expired {
        end(
            ctx,
            &session.sid,
            session.account_id,
            EndReason::Expired,
            &ClientInfo::default(),
        )
        .await?;
    }
    if !expired.is_empty() {
        tracing::info!(sessions = expired.len(), "expired OneID sessions ended");
    }
    Ok(expired.len())
}

/// The audit event of an ending, if it gets one: a sign-out (at OneID or through an app) and
/// a sign-in by another account in the same browser are the person's doing and are recorded
/// as `logout`; an expiry is not an event, and a reset, an operator's command or a deletion is
/// recorded as what it is by its caller.
fn audit_event(reason: EndReason, account: AccountId, from: &ClientInfo) -> Option<AuditEvent> {
    let event = AuditEvent::new(AuditKind::Logout, Outcome::Ok)
        .account(account)
        .from(from);
    match reason {
        EndReason::SignedOut => Some(event),
        EndReason::Replaced => Some(event.detail("replaced by another account's sign-in")),
        EndReason::Expired | EndReason::Admin | EndReason::PasswordReset | EndReason::Deleted => {
            None
        }
    }
}

/// Marks the row ended; true when this call is the one that ended it.
async fn mark_ended(ctx: &Context, sid: &str, reason: EndReason) -> Result<bool, DbError> {
    let now = ctx.clock.now();
    let sid = sid.to_owned();
    ctx.db
        .run(move |conn| rows::end(conn, &sid, reason, now))
        .await
}

/// Revokes the grants that lived only for the session and queues a logout token for each app
/// holding a grant from it. Returns how many tokens were queued.
async fn tell_apps(ctx: &Context, sid: &str, account_id: AccountId) -> Result<usize, EndError> {
    let now = ctx.clock.now();
    let sid_owned = sid.to_owned();
    let (revoked, sub, clients) = ctx
        .db
        .run(move |conn| {
            let grants = grant::live_for_session(conn, &sid_owned, now)?;
            let sub = account::find_by_id(conn, account_id)?.map(|a| a.sub.to_string());
            let mut clients: BTreeMap<String, Client> = BTreeMap::new();
            for g in &grants {
                if !clients.contains_key(g.client_id.as_str())
                    && let Some(c) = client::find(conn, &g.client_id)?
                {
                    clients.insert(g.client_id.to_string(), c);
                }
            }
            revoke_session_grants(conn, &grants, now)?;
            Ok((grants.len(), sub, clients))
        })
        .await?;
    let Some(sub) = sub else {
        tracing::debug!("session ended for an account that no longer exists");
        return Ok(0);
    };
    let clients: Vec<Client> = clients.into_values().collect();
    let queued = ctx.backchannel.queue(&clients, sid, &sub, now).await?;
    tracing::info!(
        revoked_session_grants = revoked,
        logout_tokens = queued,
        "OneID session ended"
    );
    Ok(queued)
}

/// The grants of a session that ends go with it, except those the person gave
/// `offline_access`: that scope asks for access that outlives the session (OIDC Core §11).
fn revoke_session_grants(
    conn: &mut crate::db::DbConn,
    grants: &[grant::Grant],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), DbError> {
    for g in grants.iter().filter(|g| ends_with_session(g)) {
        grant::revoke(conn, &g.id, now)?;
    }
    Ok(())
}

/// Whether a grant ends with its session: it does unless it carries `offline_access`.
fn ends_with_session(g: &grant::Grant) -> bool {
    !g.scope.contains(ScopeToken::OfflineAccess)
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::{
        config::Settings,
        db::models::audit::{AuditFilter, query},
        session::testing::{self, account, has_ended},
    };

    async fn record(ctx: &Context, sid: &'static str, account: AccountId, lasts: Duration) {
        let now = ctx.clock.now();
        ctx.db
            .run(move |conn| rows::record(conn, sid, account, now, now + lasts))
            .await
            .unwrap();
    }

    async fn logouts(ctx: &Context) -> Vec<Option<String>> {
        let filter = AuditFilter {
            account: None,
            since: None,
            limit: 100,
        };
        ctx.db
            .run(move |conn| query(conn, &filter))
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.kind == "logout")
            .map(|r| r.detail)
            .collect()
    }

    #[tokio::test]
    async fn a_sign_out_ends_the_row_once_and_is_audited() {
        let t = testing::context(&Settings::default()).await;
        let ctx = &t.ctx;
        let id = account(ctx, "asha@example.com").await;
        record(ctx, "sid-a", id, Duration::days(1)).await;
        let who = ClientInfo {
            ip: Some("203.0.113.7".parse().unwrap()),
            user_agent: None,
        };
        assert!(
            end(ctx, "sid-a", id, EndReason::SignedOut, &who)
                .await
                .unwrap()
        );
        assert!(has_ended(ctx, "sid-a").await);
        assert_eq!(logouts(ctx).await, [None]);
        // A second ending (another instance, a second tab) finds it ended: the apps are not
        // told twice.
        let again = end(ctx, "sid-a", id, EndReason::Expired, &who)
            .await
            .unwrap();
        assert!(!again);
    }

    #[tokio::test]
    async fn the_sweep_ends_what_ran_out_and_end_all_ends_every_session() {
        let t = testing::context(&Settings::default()).await;
        let ctx = &t.ctx;
        let id = account(ctx, "asha@example.com").await;
        record(ctx, "sid-short", id, Duration::minutes(5)).await;
        record(ctx, "sid-long", id, Duration::days(1)).await;
        record(ctx, "sid-other", id, Duration::days(1)).await;
        assert_eq!(sweep_expired(ctx).await.unwrap(), 0);
        t.clock.advance(Duration::minutes(6));
        assert_eq!(sweep_expired(ctx).await.unwrap(), 1);
        assert!(has_ended(ctx, "sid-short").await);
        assert!(!has_ended(ctx, "sid-long").await);

        let ended = end_all_for_account(ctx, id, EndReason::PasswordReset).await;
        assert_eq!(ended.unwrap(), 2);
        assert!(has_ended(ctx, "sid-long").await && has_ended(ctx, "sid-other").await);
        assert!(
            logouts(ctx).await.is_empty(),
            "expiry and reset are not sign-outs"
        );
    }

    #[test]
    fn only_the_persons_own_sign_outs_are_audited_as_logouts() {
        let account = AccountId::from_stored(123_456_789);
        let who = ClientInfo {
            ip: Some("203.0.113.7".parse().unwrap()),
            user_agent: Some("Mozilla/5.0".into()),
        };
        let signed_out = audit_event(EndReason::SignedOut, account, &who).unwrap();
        assert_eq!(signed_out.kind, AuditKind::Logout);
        assert_eq!(signed_out.outcome, Outcome::Ok);
        assert_eq!(signed_out.account, Some(account));
        assert_eq!(signed_out.ip, who.ip);
        assert_eq!(signed_out.detail, None);
        let replaced = audit_event(EndReason::Replaced, account, &who).unwrap();
        assert_eq!(
            replaced.detail.as_deref(),
            Some("replaced by another account's sign-in")
        );
        for quiet in [
            EndReason::Expired,
            EndReason::Admin,
            EndReason::PasswordReset,
            EndReason::Deleted,
        ] {
            assert_eq!(audit_event(quiet, account, &who), None, "{quiet:?}");
        }
    }
}
