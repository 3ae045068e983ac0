//! The `sessions` table: the durable index of OneID sign-ins (the session data itself lives in
//! the ephemeral store).

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::{
    db::{
        DbConn, DbError,
        schema::{clients, grants, sessions},
    },
    domain::{AccountId, DeviceDigest},
};

/// Why a session ended; kept on the row for the operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// The person signed out (at OneID or through an app's RP-initiated logout).
    SignedOut,
    /// Idle or absolute lifetime ran out.
    Expired,
    /// An operator ended it.
    Admin,
    /// The password was reset (or changed at unlock): every session of the account ends.
    PasswordReset,
    /// Another account signed in in the same browser, replacing this one.
    Replaced,
    /// The account was deleted (by its owner or an operator): every session ends.
    Deleted,
    /// The person signed it out from another browser (the account console's list of sessions).
    SignedOutElsewhere,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignedOut => "signed_out",
            Self::Expired => "expired",
            Self::Admin => "admin",
            Self::PasswordReset => "password_reset",
            Self::Replaced => "replaced",
            Self::Deleted => "account_deleted",
            Self::SignedOutElsewhere => "signed_out_elsewhere",
        }
    }
}

/// A session still running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSession {
    pub sid: String,
    pub account_id: AccountId,
}

impl LiveSession {
    fn from_row((sid, id): (String, i64)) -> Self {
        Self {
            sid,
            account_id: AccountId::from_stored(id),
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = sessions)]
struct NewSession<'a> {
    sid: &'a str,
    account_id: i64,
    created_at: NaiveDateTime,
    expires_at: NaiveDateTime,
}

/// Records a session, or pushes a live one's expiry to `expires_at`. An ended session stays
/// ended: a request racing its sign-out must not bring it back.
pub fn record(
    conn: &mut DbConn,
    sid: &str,
    account: AccountId,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), DbError> {
    let moved = diesel::update(
        sessions::table
            .find(sid)
            .filter(sessions::ended_at.is_null()),
    )
    .set(sessions::expires_at.eq(expires_at.naive_utc()))
    .execute(conn)?;
    if moved == 1 {
        return Ok(());
    }
    let inserted = diesel::insert_into(sessions::table)
        .values(NewSession {
            sid,
            account_id: account.get(),
            created_at: created_at.naive_utc(),
            expires_at: expires_at.naive_utc(),
        })
        .execute(conn);
    match inserted {
        // The row exists: ended meanwhile, or recorded by a concurrent request. Both are fine.
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Ok(()),
        other => other.map(drop).map_err(DbError::from),
    }
}

/// True when the session is known to have ended (a session never recorded is not).
pub fn has_ended(conn: &mut DbConn, sid: &str) -> Result<bool, DbError> {
    Ok(sessions::table
        .find(sid)
        .select(sessions::ended_at)
        .get_result::<Option<NaiveDateTime>>(conn)
        .optional()?
        .flatten()
        .is_some())
}

/// Marks the session ended. True for the one caller that ended it (or when it was never
/// recorded): only that caller tells the apps, so several instances never send twice.
pub fn end(
    conn: &mut DbConn,
    sid: &str,
    reason: EndReason,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let changed = diesel::update(
        sessions::table
            .find(sid)
            .filter(sessions::ended_at.is_null()),
    )
    .set((
        sessions::ended_at.eq(now.naive_utc()),
        sessions::end_reason.eq(reason.as_str()),
    ))
    .execute(conn)?;
    if changed == 1 {
        return Ok(true);
    }
    let exists = sessions::table.find(sid).count().get_result::<i64>(conn)? > 0;
    Ok(!exists)
}

/// Forgets which browsers and addresses the account's sessions came from (its deletion): the
/// rows stay, pseudonymous, until the purge.
pub fn forget_devices(conn: &mut DbConn, account: AccountId) -> Result<usize, DbError> {
    Ok(
        diesel::update(sessions::table.filter(sessions::account_id.eq(account.get())))
            .set((
                sessions::user_agent.eq(None::<String>),
                sessions::ip.eq(None::<String>),
                sessions::device_sha256.eq(None::<String>),
            ))
            .execute(conn)?,
    )
}

/// The account's sessions still running.
pub fn live_for_account(
    conn: &mut DbConn,
    account: AccountId,
) -> Result<Vec<LiveSession>, DbError> {
    Ok(sessions::table
        .filter(sessions::account_id.eq(account.get()))
        .filter(sessions::ended_at.is_null())
        .select((sessions::sid, sessions::account_id))
        .load::<(String, i64)>(conn)?
        .into_iter()
        .map(LiveSession::from_row)
        .collect())
}

/// Sessions past their expiry that nobody has ended yet, oldest first.
pub fn expired(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<LiveSession>, DbError> {
    Ok(sessions::table
        .filter(sessions::ended_at.is_null())
        .filter(sessions::expires_at.le(now.naive_utc()))
        .order(sessions::expires_at.asc())
        .limit(limit)
        .select((sessions::sid, sessions::account_id))
        .load::<(String, i64)>(conn)?
        .into_iter()
        .map(LiveSession::from_row)
        .collect())
}

/// Deletes up to `batch` sessions that ended before `cutoff` and whose lifetime also ran out
/// before it; returns how many went. The lifetime matters: a browser may still hold the
/// session in the ephemeral store until then, and [`has_ended`] answers `false` for a row that
/// is gone, so the row must outlive every copy of the session.
pub fn purge_ended(conn: &mut DbConn, cutoff: DateTime<Utc>, batch: i64) -> Result<usize, DbError> {
    let cutoff = cutoff.naive_utc();
    let ids: Vec<String> = sessions::table
        .filter(sessions::ended_at.lt(cutoff))
        .filter(sessions::expires_at.lt(cutoff))
        .select(sessions::sid)
        .limit(batch)
        .load(conn)?;
    if ids.is_empty() {
        return Ok(0);
    }
    Ok(diesel::delete(sessions::table.filter(sessions::sid.eq_any(&ids))).execute(conn)?)
}

/// Where a sign-in came from, written on its row for the person's list of sessions.
#[derive(Debug, Clone, Default)]
pub struct SeenFrom {
    /// Already cut to a bounded length (see `domain::ClientInfo`).
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub device: Option<DeviceDigest>,
}

/// Writes where the sign-in `sid` came from, and that it is active now.
pub fn describe(
    conn: &mut DbConn,
    sid: &str,
    seen: &SeenFrom,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    diesel::update(sessions::table.find(sid))
        .set((
            sessions::user_agent.eq(seen.user_agent.as_deref()),
            sessions::ip.eq(seen.ip.as_deref()),
            sessions::device_sha256.eq(seen.device.as_ref().map(DeviceDigest::as_str)),
            sessions::last_active_at.eq(now.naive_utc()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Marks a live session active at `now`; false when it is not live (ended, or not recorded:
/// the caller tells those apart with [`has_ended`]).
pub fn touch(conn: &mut DbConn, sid: &str, now: DateTime<Utc>) -> Result<bool, DbError> {
    let changed = diesel::update(
        sessions::table
            .find(sid)
            .filter(sessions::ended_at.is_null()),
    )
    .set(sessions::last_active_at.eq(now.naive_utc()))
    .execute(conn)?;
    Ok(changed == 1)
}

/// Whether `device` is a browser this account has not signed in from before, while it has
/// signed in from others: false for the account's first browser (its sign-up), and for
/// accounts whose rows predate device digests.
pub fn is_new_device(
    conn: &mut DbConn,
    account: AccountId,
    device: &DeviceDigest,
) -> Result<bool, DbError> {
    let of_account = || {
        sessions::table
            .filter(sessions::account_id.eq(account.get()))
            .filter(sessions::device_sha256.is_not_null())
    };
    let seen_here: i64 = of_account()
        .filter(sessions::device_sha256.eq(device.as_str()))
        .count()
        .get_result(conn)?;
    if seen_here > 0 {
        return Ok(false);
    }
    let seen_elsewhere: i64 = of_account().count().get_result(conn)?;
    Ok(seen_elsewhere > 0)
}

/// A live session as the account's list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDetails {
    pub sid: String,
    pub created_at: DateTime<Utc>,
    pub last_active_at: Option<DateTime<Utc>>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

type DetailsRow = (
    String,
    NaiveDateTime,
    Option<NaiveDateTime>,
    Option<String>,
    Option<String>,
);

/// The account's sessions that are live at `now` (not ended, not run out), most recently
/// active first; at most `limit`.
pub fn live_details(
    conn: &mut DbConn,
    account: AccountId,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<SessionDetails>, DbError> {
    Ok(sessions::table
        .filter(sessions::account_id.eq(account.get()))
        .filter(sessions::ended_at.is_null())
        .filter(sessions::expires_at.gt(now.naive_utc()))
        .order((sessions::last_active_at.desc(), sessions::created_at.desc()))
        .limit(limit)
        .select((
            sessions::sid,
            sessions::created_at,
            sessions::last_active_at,
            sessions::user_agent,
            sessions::ip,
        ))
        .load::<DetailsRow>(conn)?
        .into_iter()
        .map(
            |(sid, created_at, last_active_at, user_agent, ip)| SessionDetails {
                sid,
                created_at: created_at.and_utc(),
                last_active_at: last_active_at.map(|at| at.and_utc()),
                user_agent,
                ip,
            },
        )
        .collect())
}

/// Whether `sid` is a session of `account` live at `now`.
pub fn is_live_for(
    conn: &mut DbConn,
    sid: &str,
    account: AccountId,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let found: i64 = sessions::table
        .find(sid)
        .filter(sessions::account_id.eq(account.get()))
        .filter(sessions::ended_at.is_null())
        .filter(sessions::expires_at.gt(now.naive_utc()))
        .count()
        .get_result(conn)?;
    Ok(found > 0)
}

/// The apps signed in through each of `sids` (the account's): `(sid, client name)` for every
/// live grant of those sessions, one per app and session, by name.
pub fn apps_of(
    conn: &mut DbConn,
    account: AccountId,
    sids: &[String],
    now: DateTime<Utc>,
) -> Result<Vec<(String, String)>, DbError> {
    if sids.is_empty() {
        return Ok(Vec::new());
    }
    let mut rows: Vec<(Option<String>, String)> = grants::table
        .inner_join(clients::table.on(clients::client_id.eq(grants::client_id)))
        .filter(grants::account_id.eq(account.get()))
        .filter(grants::sid.eq_any(sids))
        .filter(grants::revoked_at.is_null())
        .filter(grants::expires_at.gt(now.naive_utc()))
        .select((grants::sid, clients::name))
        .load(conn)?;
    rows.sort();
    rows.dedup();
    Ok(rows
        .into_iter()
        .filter_map(|(sid, name)| sid.map(|sid| (sid, name)))
        .collect())
}

/// How many session rows are stored; for tests and operators.
pub fn count(conn: &mut DbConn) -> Result<i64, DbError> {
    Ok(sessions::table.count().get_result(conn)?)
}

/// How many sessions are not ended, through the partial index `sessions_live_created`; for
/// the sessions-active gauge. Sessions that ran out count until the minute's sweep ends them.
pub fn count_live(conn: &mut DbConn) -> Result<i64, DbError> {
    Ok(sessions::table
        .filter(sessions::ended_at.is_null())
        .count()
        .get_result(conn)?)
}

/// A live session as an administrator's list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminSessionRow {
    pub sid: String,
    pub account_id: AccountId,
    pub created_at: DateTime<Utc>,
    pub last_active_at: Option<DateTime<Utc>>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

/// Where a page of sessions ends: the last row's `(created_at, sid)`.
pub type SessionKey = (NaiveDateTime, String);

/// Which live sessions an administrator lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveFilter {
    pub account: Option<AccountId>,
    /// Only sessions an app took part in (a grant of the app names the session).
    pub client: Option<String>,
}

type AdminRow = (
    String,
    i64,
    NaiveDateTime,
    Option<NaiveDateTime>,
    Option<String>,
    Option<String>,
);

/// Live sessions (not ended, not run out at `now`), newest first by `(created_at, sid)`,
/// before `before`; at most `limit`. Each filter walks an index in that order: every session
/// through `sessions_live_created`, one account's through `sessions_account_created`; an app's
/// sessions are the sids its grants name (`grants_client_sid`).
pub fn live_page(
    conn: &mut DbConn,
    filter: &LiveFilter,
    before: Option<&SessionKey>,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<AdminSessionRow>, DbError> {
    let mut query = sessions::table
        .filter(sessions::ended_at.is_null())
        .filter(sessions::expires_at.gt(now.naive_utc()))
        .into_boxed();
    if let Some(account) = filter.account {
        query = query.filter(sessions::account_id.eq(account.get()));
    }
    if let Some(client) = &filter.client {
        let sids = grants::table
            .filter(grants::client_id.eq(client.clone()))
            .filter(grants::sid.is_not_null())
            .select(grants::sid.assume_not_null());
        query = query.filter(sessions::sid.eq_any(sids));
    }
    if let Some((at, sid)) = before {
        query = query.filter(
            sessions::created_at.lt(*at).or(sessions::created_at
                .eq(*at)
                .and(sessions::sid.lt(sid.clone()))),
        );
    }
    Ok(query
        .order((sessions::created_at.desc(), sessions::sid.desc()))
        .limit(limit)
        .select((
            sessions::sid,
            sessions::account_id,
            sessions::created_at,
            sessions::last_active_at,
            sessions::user_agent,
            sessions::ip,
        ))
        .load::<AdminRow>(conn)?
        .into_iter()
        .map(
            |(sid, account_id, created_at, last_active_at, user_agent, ip)| AdminSessionRow {
                sid,
                account_id: AccountId::from_stored(account_id),
                created_at: created_at.and_utc(),
                last_active_at: last_active_at.map(|at| at.and_utc()),
                user_agent,
                ip,
            },
        )
        .collect())
}

/// The account whose live session `sid` is, if it is live at `now`.
pub fn live_owner(
    conn: &mut DbConn,
    sid: &str,
    now: DateTime<Utc>,
) -> Result<Option<AccountId>, DbError> {
    Ok(sessions::table
        .find(sid)
        .filter(sessions::ended_at.is_null())
        .filter(sessions::expires_at.gt(now.naive_utc()))
        .select(sessions::account_id)
        .first::<i64>(conn)
        .optional()?
        .map(AccountId::from_stored))
}

/// When the account last signed in: its newest session's start (the top of
/// `sessions_account_created`).
pub fn last_sign_in(
    conn: &mut DbConn,
    account: AccountId,
) -> Result<Option<DateTime<Utc>>, DbError> {
    Ok(sessions::table
        .filter(sessions::account_id.eq(account.get()))
        .order((sessions::created_at.desc(), sessions::sid.desc()))
        .select(sessions::created_at)
        .first::<NaiveDateTime>(conn)
        .optional()?
        .map(|at| at.and_utc()))
}
