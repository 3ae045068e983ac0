//! Live sessions, as an administrator sees them: every account's, or one account's, or those an
//! app took part in, newest first and a page at a time; and ending one. Ending goes through
//! the session area's one [`crate::session::end`], so the session's apps are told by
//! back-channel logout and its browser is signed out.

use chrono::{DateTime, NaiveDateTime, Utc};

use super::Context;
use crate::{
    audit::AuditEvent,
    db::{
        DbError,
        models::session::{self as rows, EndReason, LiveFilter, SessionKey},
    },
    domain::{AccountId, Actor, BrowserSummary, ClientId, ClientInfo, mask_ip},
    session::devices::SID_MAX,
};

/// Which sessions to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub account: Option<AccountId>,
    pub client: Option<ClientId>,
}

/// One live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSession {
    pub sid: String,
    pub account_id: AccountId,
    pub signed_in_at: DateTime<Utc>,
    pub last_active_at: DateTime<Utc>,
    pub browser: BrowserSummary,
    /// Masked (see [`mask_ip`]).
    pub address: Option<String>,
}

/// A page of sessions and where the next starts.
#[derive(Debug, Clone)]
pub struct SessionPage {
    pub sessions: Vec<LiveSession>,
    pub next: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("the cursor is not one this list gave out")]
    BadCursor,
    #[error("no live session with that id")]
    NotFound,
    #[error(transparent)]
    Db(#[from] DbError),
    /// The session was marked ended, but its apps may not all have been told.
    #[error(transparent)]
    End(#[from] crate::session::EndError),
}

/// The cursor: the last session's start (microseconds since the epoch), a space, its sid.
fn cursor_of(at: NaiveDateTime, sid: &str) -> String {
    format!("{} {sid}", at.and_utc().timestamp_micros())
}

fn parse_cursor(cursor: &str) -> Option<SessionKey> {
    let (micros, sid) = cursor.split_once(' ')?;
    let at = DateTime::<Utc>::from_timestamp_micros(micros.parse().ok()?)?;
    (!sid.is_empty() && sid.len() <= SID_MAX).then(|| (at.naive_utc(), sid.to_owned()))
}

/// The live sessions matching `filter`, newest first, `limit` at a time after `cursor`.
pub async fn list(
    ctx: &Context,
    filter: &Filter,
    cursor: Option<&str>,
    limit: u32,
) -> Result<SessionPage, SessionError> {
    let before = match cursor {
        None => None,
        Some(c) => Some(parse_cursor(c).ok_or(SessionError::BadCursor)?),
    };
    let limit = i64::from(limit.max(1));
    let now = ctx.clock.now();
    let filter = LiveFilter {
        account: filter.account,
        client: filter.client.as_ref().map(|c| c.as_str().to_owned()),
    };
    let mut rows = ctx
        .db
        .run(move |conn| rows::live_page(conn, &filter, before.as_ref(), now, limit + 1))
        .await?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last()
            .map(|last| cursor_of(last.created_at.naive_utc(), &last.sid))
    } else {
        None
    };
    let sessions = rows
        .into_iter()
        .map(|row| LiveSession {
            browser: BrowserSummary::parse(row.user_agent.as_deref()),
            address: row
                .ip
                .as_deref()
                .and_then(|ip| ip.parse().ok())
                .map(mask_ip),
            signed_in_at: row.created_at,
            last_active_at: row.last_active_at.unwrap_or(row.created_at),
            account_id: row.account_id,
            sid: row.sid,
        })
        .collect();
    Ok(SessionPage { sessions, next })
}

/// Ends the live session `sid` (its browser is signed out, its apps told), and records who
/// ended it. Returns the account it belonged to.
pub async fn end(
    ctx: &Context,
    by: &Actor,
    sessions: &crate::session::Context,
    sid: &str,
) -> Result<AccountId, SessionError> {
    if sid.is_empty() || sid.len() > SID_MAX {
        return Err(SessionError::NotFound);
    }
    let now = ctx.clock.now();
    let looked_up = sid.to_owned();
    let account = ctx
        .db
        .run(move |conn| rows::live_owner(conn, &looked_up, now))
        .await?
        .ok_or(SessionError::NotFound)?;
    crate::session::end(
        sessions,
        sid,
        account,
        EndReason::Admin,
        &ClientInfo::default(),
    )
    .await?;
    ctx.audit
        .record(
            AuditEvent::admin_action("session end: live → ended")
                .account(account)
                .by(by),
        )
        .await;
    tracing::info!(account_id = %account, "admin ended a session");
    Ok(account)
}
