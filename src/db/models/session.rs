//! The `sessions` table: the durable index of OneID sign-ins (the session data itself lives in
//! the ephemeral store).

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::{
    db::{DbConn, DbError, schema::sessions},
    domain::AccountId,
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
        .first::<Option<NaiveDateTime>>(conn)
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

/// How many session rows are stored; for tests and operators.
pub fn count(conn: &mut DbConn) -> Result<i64, DbError> {
    Ok(sessions::table.count().get_result(conn)?)
}
