//! The second factors' tables: the account's authenticator app (`totp_authenticators`), its
//! recovery codes (`recovery_codes`) and the browsers remembered for the second factor
//! (`remembered_browsers`). Every use of a single-use thing here (a time step, a recovery
//! code) is one conditional UPDATE, so two concurrent requests cannot both win.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::{
    db::{
        DbConn, DbError,
        schema::{recovery_codes, remembered_browsers, totp_authenticators},
    },
    domain::AccountId,
};

/// The account's authenticator app as stored: the sealed secret and where its enrolment is.
#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = totp_authenticators)]
pub struct TotpRow {
    pub sealed_secret: Vec<u8>,
    pub created_at: NaiveDateTime,
    /// When an unconfirmed enrolment lapses; `None` once confirmed.
    pub expires_at: Option<NaiveDateTime>,
    pub confirmed_at: Option<NaiveDateTime>,
    /// The last accepted RFC 6238 time step.
    pub last_step: Option<i64>,
}

impl std::fmt::Debug for TotpRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpRow")
            .field("sealed_secret", &"<redacted>")
            .field("confirmed_at", &self.confirmed_at)
            .field("last_step", &self.last_step)
            .finish()
    }
}

impl TotpRow {
    pub fn is_confirmed(&self) -> bool {
        self.confirmed_at.is_some()
    }

    /// An enrolment still good at `now` (a confirmed row is always usable).
    pub fn is_usable(&self, now: DateTime<Utc>) -> bool {
        self.is_confirmed() || self.expires_at.is_some_and(|at| at.and_utc() > now)
    }
}

/// The account's authenticator app, confirmed or not.
pub fn find_totp(conn: &mut DbConn, account: AccountId) -> Result<Option<TotpRow>, DbError> {
    Ok(totp_authenticators::table
        .find(account.get())
        .select(TotpRow::as_select())
        .get_result(conn)
        .optional()?)
}

/// Starts an enrolment: replaces an unconfirmed (or lapsed) one, never a confirmed one. False
/// when the account already has a confirmed authenticator app (it is removed first).
pub fn start_totp(
    conn: &mut DbConn,
    account: AccountId,
    sealed_secret: &[u8],
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<bool, DbError> {
    conn.write_transaction(|conn| {
        let existing = find_totp(conn, account)?;
        if existing.as_ref().is_some_and(TotpRow::is_confirmed) {
            return Ok(false);
        }
        diesel::delete(totp_authenticators::table.find(account.get())).execute(conn)?;
        diesel::insert_into(totp_authenticators::table)
            .values((
                totp_authenticators::account_id.eq(account.get()),
                totp_authenticators::sealed_secret.eq(sealed_secret),
                totp_authenticators::created_at.eq(now.naive_utc()),
                totp_authenticators::expires_at.eq(Some(expires_at.naive_utc())),
                totp_authenticators::confirmed_at.eq(None::<NaiveDateTime>),
                totp_authenticators::last_step.eq(None::<i64>),
            ))
            .execute(conn)?;
        Ok(true)
    })
}

/// Confirms the enrolment with the time step its first code matched. One statement: only an
/// unconfirmed enrolment still good at `now` is confirmed, so a second tab's confirmation of
/// the same enrolment finds nothing to do.
pub fn confirm_totp(
    conn: &mut DbConn,
    account: AccountId,
    step: i64,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let now = now.naive_utc();
    let changed = diesel::update(
        totp_authenticators::table
            .find(account.get())
            .filter(totp_authenticators::confirmed_at.is_null())
            .filter(totp_authenticators::expires_at.gt(now)),
    )
    .set((
        totp_authenticators::confirmed_at.eq(Some(now)),
        totp_authenticators::expires_at.eq(None::<NaiveDateTime>),
        totp_authenticators::last_step.eq(Some(step)),
    ))
    .execute(conn)?;
    Ok(changed == 1)
}

/// Accepts a code of time step `step` for the confirmed authenticator app: moves `last_step`
/// forward, only if `step` is later than every step accepted before (RFC 6238 §5.2: "the
/// verifier MUST NOT accept the second attempt of the OTP after the successful validation has
/// been issued for the first OTP"). One conditional UPDATE, so of two concurrent submissions
/// of one code exactly one is accepted.
pub fn accept_step(conn: &mut DbConn, account: AccountId, step: i64) -> Result<bool, DbError> {
    let changed = diesel::update(
        totp_authenticators::table
            .find(account.get())
            .filter(totp_authenticators::confirmed_at.is_not_null())
            .filter(
                totp_authenticators::last_step
                    .is_null()
                    .or(totp_authenticators::last_step.lt(step)),
            ),
    )
    .set(totp_authenticators::last_step.eq(Some(step)))
    .execute(conn)?;
    Ok(changed == 1)
}

/// Removes the account's authenticator app. True when there was a confirmed one.
pub fn remove_totp(conn: &mut DbConn, account: AccountId) -> Result<bool, DbError> {
    let confirmed = diesel::delete(
        totp_authenticators::table
            .find(account.get())
            .filter(totp_authenticators::confirmed_at.is_not_null()),
    )
    .execute(conn)?;
    // An enrolment in progress goes too.
    diesel::delete(totp_authenticators::table.find(account.get())).execute(conn)?;
    Ok(confirmed == 1)
}

/// Replaces every recovery code of the account with `digests`, in one transaction: the old
/// codes stop working the moment the new ones exist.
pub fn replace_recovery_codes(
    conn: &mut DbConn,
    account: AccountId,
    digests: &[String],
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    conn.write_transaction(|conn| put_recovery_codes(conn, account, digests, now))
}

/// Inside a transaction: deletes the account's codes and inserts `digests`.
fn put_recovery_codes(
    conn: &mut DbConn,
    account: AccountId,
    digests: &[String],
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let now = now.naive_utc();
    diesel::delete(recovery_codes::table.filter(recovery_codes::account_id.eq(account.get())))
        .execute(conn)?;
    for digest in digests {
        diesel::insert_into(recovery_codes::table)
            .values((
                recovery_codes::account_id.eq(account.get()),
                recovery_codes::code_digest.eq(digest),
                recovery_codes::created_at.eq(now),
                recovery_codes::used_at.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Issues `digests` as the account's recovery codes only if it has none yet (the first second
/// factor). True when they were stored.
pub fn insert_recovery_codes_if_none(
    conn: &mut DbConn,
    account: AccountId,
    digests: &[String],
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    conn.write_transaction(|conn| {
        if count_recovery_codes(conn, account)? > 0 {
            return Ok(false);
        }
        put_recovery_codes(conn, account, digests, now)?;
        Ok(true)
    })
}

fn count_recovery_codes(conn: &mut DbConn, account: AccountId) -> Result<i64, DbError> {
    Ok(recovery_codes::table
        .filter(recovery_codes::account_id.eq(account.get()))
        .count()
        .get_result(conn)?)
}

/// Uses one recovery code: marks it used, only if it is the account's and unused. One
/// conditional UPDATE, so a code works once however many requests carry it at once.
pub fn use_recovery_code(
    conn: &mut DbConn,
    account: AccountId,
    digest: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let changed = diesel::update(
        recovery_codes::table
            .filter(recovery_codes::account_id.eq(account.get()))
            .filter(recovery_codes::code_digest.eq(digest))
            .filter(recovery_codes::used_at.is_null()),
    )
    .set(recovery_codes::used_at.eq(Some(now.naive_utc())))
    .execute(conn)?;
    Ok(changed == 1)
}

/// How many unused recovery codes the account has.
pub fn remaining_recovery_codes(conn: &mut DbConn, account: AccountId) -> Result<i64, DbError> {
    Ok(recovery_codes::table
        .filter(recovery_codes::account_id.eq(account.get()))
        .filter(recovery_codes::used_at.is_null())
        .count()
        .get_result(conn)?)
}

pub fn delete_recovery_codes(conn: &mut DbConn, account: AccountId) -> Result<(), DbError> {
    diesel::delete(recovery_codes::table.filter(recovery_codes::account_id.eq(account.get())))
        .execute(conn)?;
    Ok(())
}

/// A browser remembered for the second factor, as the person's list shows it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = remembered_browsers)]
pub struct RememberedRow {
    pub id: String,
    pub user_agent: Option<String>,
    /// Masked when stored.
    pub ip: Option<String>,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
}

pub struct NewRemembered<'a> {
    pub id: &'a str,
    pub account: AccountId,
    pub mark_digest: &'a str,
    pub user_agent: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub now: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Remembers a browser; an earlier mark of the same browser for the account is revoked, so one
/// browser is listed once.
pub fn remember(conn: &mut DbConn, new: &NewRemembered<'_>) -> Result<(), DbError> {
    let now = new.now.naive_utc();
    conn.write_transaction(|conn| {
        diesel::update(
            remembered_browsers::table
                .filter(remembered_browsers::account_id.eq(new.account.get()))
                .filter(remembered_browsers::mark_digest.eq(new.mark_digest))
                .filter(remembered_browsers::revoked_at.is_null()),
        )
        .set(remembered_browsers::revoked_at.eq(Some(now)))
        .execute(conn)?;
        diesel::insert_into(remembered_browsers::table)
            .values((
                remembered_browsers::id.eq(new.id),
                remembered_browsers::account_id.eq(new.account.get()),
                remembered_browsers::mark_digest.eq(new.mark_digest),
                remembered_browsers::user_agent.eq(new.user_agent),
                remembered_browsers::ip.eq(new.ip),
                remembered_browsers::created_at.eq(now),
                remembered_browsers::expires_at.eq(new.expires_at.naive_utc()),
                remembered_browsers::last_used_at.eq(None::<NaiveDateTime>),
                remembered_browsers::revoked_at.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?;
        Ok(())
    })
}

/// Whether the browser with this mark is remembered for the account at `now` (not revoked,
/// not expired); its `last_used_at` moves when it is.
pub fn use_remembered(
    conn: &mut DbConn,
    account: AccountId,
    mark_digest: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let now = now.naive_utc();
    let changed = diesel::update(
        remembered_browsers::table
            .filter(remembered_browsers::account_id.eq(account.get()))
            .filter(remembered_browsers::mark_digest.eq(mark_digest))
            .filter(remembered_browsers::revoked_at.is_null())
            .filter(remembered_browsers::expires_at.gt(now)),
    )
    .set(remembered_browsers::last_used_at.eq(Some(now)))
    .execute(conn)?;
    Ok(changed > 0)
}

/// The account's remembered browsers still in force, newest first.
pub fn list_remembered(
    conn: &mut DbConn,
    account: AccountId,
    now: DateTime<Utc>,
) -> Result<Vec<RememberedRow>, DbError> {
    Ok(remembered_browsers::table
        .filter(remembered_browsers::account_id.eq(account.get()))
        .filter(remembered_browsers::revoked_at.is_null())
        .filter(remembered_browsers::expires_at.gt(now.naive_utc()))
        .order((
            remembered_browsers::created_at.desc(),
            remembered_browsers::id.asc(),
        ))
        .select(RememberedRow::as_select())
        .load(conn)?)
}

/// Forgets one remembered browser of the account. False when it is not one of the account's
/// browsers in force.
pub fn forget_remembered(
    conn: &mut DbConn,
    account: AccountId,
    id: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let changed = diesel::update(
        remembered_browsers::table
            .find(id)
            .filter(remembered_browsers::account_id.eq(account.get()))
            .filter(remembered_browsers::revoked_at.is_null()),
    )
    .set(remembered_browsers::revoked_at.eq(Some(now.naive_utc())))
    .execute(conn)?;
    Ok(changed == 1)
}

/// Forgets every remembered browser of the account; how many were in force.
pub fn forget_all_remembered(
    conn: &mut DbConn,
    account: AccountId,
    now: DateTime<Utc>,
) -> Result<usize, DbError> {
    let now = now.naive_utc();
    Ok(diesel::update(
        remembered_browsers::table
            .filter(remembered_browsers::account_id.eq(account.get()))
            .filter(remembered_browsers::revoked_at.is_null())
            .filter(remembered_browsers::expires_at.gt(now)),
    )
    .set(remembered_browsers::revoked_at.eq(Some(now)))
    .execute(conn)?)
}

/// Erases every second-factor row of the account (its deletion): the secret, the codes, the
/// browsers (their user agents and addresses are personal data).
pub fn erase_account(conn: &mut DbConn, account: AccountId) -> Result<(), DbError> {
    diesel::delete(totp_authenticators::table.find(account.get())).execute(conn)?;
    delete_recovery_codes(conn, account)?;
    diesel::delete(
        remembered_browsers::table.filter(remembered_browsers::account_id.eq(account.get())),
    )
    .execute(conn)?;
    Ok(())
}
