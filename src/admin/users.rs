//! Accounts, as an operator manages them: add, list, search, look one up (contacts masked,
//! revealed on request and audited), sign out everywhere, lock, unlock, disable, enable,
//! revoke an app or every app, require a new password, delete.

use chrono::{DateTime, Utc};

use super::Context;
use crate::{
    account::{
        ServiceError,
        apps::{self, AppSummary, RevokeRefused},
        create_account,
        deletion::{self, DeletedBy},
    },
    audit::AuditEvent,
    db::{
        DbError,
        models::{
            account::{self, Account, AccountStatus, CreateError, NameKey},
            audit::{self as audit_rows, AuditRecord},
            session::{self as session_rows, EndReason},
        },
    },
    domain::{
        AccountId, Actor, ClientId, ClientInfo, ContactIdentifier, DisplayName, Email,
        LoginIdentifier, Password, PhoneNumber, Region,
    },
    session::devices::{self, DeviceSession},
};

pub use crate::account::deletion::Deleted;

/// The shortest password an operator may choose for someone.
pub const MIN_PASSWORD_CHARS: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("no account {0}")]
    NotFound(AccountId),
    /// A deleted account stays deleted: it cannot be locked or unlocked.
    #[error("account {0} was deleted")]
    Deleted(AccountId),
    #[error("password: use at least {MIN_PASSWORD_CHARS} characters")]
    ShortPassword,
    #[error("that phone number already belongs to an account")]
    PhoneTaken,
    #[error("that email address already belongs to an account")]
    EmailTaken,
    /// The account is not connected to that app (or the app does not exist).
    #[error("account {0} is not connected to that app")]
    NotConnected(AccountId),
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error(transparent)]
    Db(#[from] DbError),
    /// Ending the sessions failed after the change was made (the row is marked first, so the
    /// sessions are over; some apps may not have been told).
    #[error(transparent)]
    Sessions(anyhow::Error),
}

/// An operator-chosen password must be at least [`MIN_PASSWORD_CHARS`] long (on top of the
/// rules every password follows); checked before anything is opened.
pub fn check_password(password: &Password) -> Result<(), UserError> {
    if password.expose().chars().count() < MIN_PASSWORD_CHARS {
        return Err(UserError::ShortPassword);
    }
    Ok(())
}

/// Creates a verified account: the operator vouches for the phone number or email address.
pub async fn add(
    ctx: &Context,
    by: &Actor,
    accounts: &crate::account::Context,
    contact: ContactIdentifier,
    name: DisplayName,
    password: Password,
) -> Result<Account, UserError> {
    check_password(&password)?;
    let account = match create_account(accounts, contact, name, password).await? {
        Ok(account) => account,
        Err(CreateError::PhoneTaken) => return Err(UserError::PhoneTaken),
        Err(CreateError::EmailTaken) => return Err(UserError::EmailTaken),
        Err(CreateError::Db(e)) => return Err(e.into()),
    };
    let added = AuditEvent::admin_action("user add")
        .account(account.id)
        .by(by);
    ctx.audit.record(added).await;
    Ok(account)
}

/// Every account, oldest first.
pub async fn list(ctx: &Context) -> Result<Vec<Account>, DbError> {
    ctx.db.run(account::list).await
}

/// Signs the account out everywhere: ends all its OneID sessions (its apps are told by
/// back-channel logout) and revokes every grant it gave. Returns how many sessions ended.
pub async fn sign_out(
    ctx: &Context,
    by: &Actor,
    sessions: &crate::session::Context,
    id: AccountId,
) -> Result<usize, UserError> {
    if ctx
        .db
        .run(move |conn| account::find_by_id(conn, id))
        .await?
        .is_none()
    {
        return Err(UserError::NotFound(id));
    }
    let ended = end_sessions(sessions, id).await?;
    tracing::info!(account_id = %id, sessions = ended, "admin signed the account out everywhere");
    let signed_out = AuditEvent::admin_action("user sign-out").account(id).by(by);
    ctx.audit.record(signed_out).await;
    Ok(ended)
}

/// Locks the account until it is unlocked, and signs it out everywhere. Returns how many
/// sessions ended.
pub async fn lock(
    ctx: &Context,
    by: &Actor,
    sessions: &crate::session::Context,
    id: AccountId,
) -> Result<usize, UserError> {
    set_status(ctx, by, id, AccountStatus::Locked, "user lock").await?;
    let ended = end_sessions(sessions, id).await?;
    tracing::info!(account_id = %id, sessions = ended, "admin locked the account");
    Ok(ended)
}

/// Unlocks the account, forgetting its failed sign-ins.
pub async fn unlock(ctx: &Context, by: &Actor, id: AccountId) -> Result<(), UserError> {
    set_status(ctx, by, id, AccountStatus::Active, "user unlock").await?;
    tracing::info!(account_id = %id, "admin unlocked the account");
    Ok(())
}

/// Deletes the account as its owner could (see [`deletion::delete`]): every session ends
/// (its apps are told), every grant and consent goes, its phone, email, name, password and
/// language are erased; the account ID and `sub` are never reused. Recorded as the operator's
/// command and as `account_deleted`. Deleting a deleted account changes nothing.
pub async fn delete(
    ctx: &Context,
    by: &Actor,
    accounts: &crate::account::Context,
    id: AccountId,
) -> Result<Deleted, UserError> {
    let deleted = deletion::delete(accounts, id, DeletedBy::Operator)
        .await?
        .ok_or(UserError::NotFound(id))?;
    if deleted != Deleted::Already {
        let command = AuditEvent::admin_action("user delete").account(id).by(by);
        ctx.audit.record(command).await;
    }
    Ok(deleted)
}

/// Sets the account's lasting status and records `<command>: status: <before> → <after>`.
async fn set_status(
    ctx: &Context,
    by: &Actor,
    id: AccountId,
    status: AccountStatus,
    command: &str,
) -> Result<(), UserError> {
    let before = live_account(ctx, id).await?.status;
    let now = ctx.clock.now();
    if !ctx
        .db
        .run(move |conn| account::set_status(conn, id, status, now))
        .await?
    {
        // Deleted in the meantime: a deleted account stays deleted.
        return Err(UserError::Deleted(id));
    }
    let detail = format!(
        "{command}: status: {} → {}",
        before.as_str(),
        status.as_str()
    );
    ctx.audit
        .record(AuditEvent::admin_action(detail).account(id).by(by))
        .await;
    Ok(())
}

/// The account, which must exist and not be deleted.
async fn live_account(ctx: &Context, id: AccountId) -> Result<Account, UserError> {
    match ctx
        .db
        .run(move |conn| account::find_by_id(conn, id))
        .await?
    {
        None => Err(UserError::NotFound(id)),
        Some(a) if a.status == AccountStatus::Deleted => Err(UserError::Deleted(id)),
        Some(a) => Ok(a),
    }
}

/// Every session of the account ends and every grant it gave is revoked, through the session
/// area's one end-all function.
async fn end_sessions(
    sessions: &crate::session::Context,
    id: AccountId,
) -> Result<usize, UserError> {
    crate::session::end_all_for_account(sessions, id, EndReason::Admin)
        .await
        .map_err(|e| UserError::Sessions(e.into()))
}

/// The longest search an operator may type (bytes); longer is refused before any parsing.
pub const QUERY_MAX: usize = 254;

/// What the search box understood the query to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Understood {
    /// A phone number, in its canonical form.
    Phone(PhoneNumber),
    Email(Email),
    AccountId(AccountId),
    /// Nine or ten digits: both a national phone number and an account ID; both looked up.
    PhoneOrAccountId(PhoneNumber, AccountId),
    /// The start of a display name, in its search form.
    Name(String),
}

/// Why a search was refused before it ran.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("type a phone number, an email address, an account ID or the start of a name")]
    Empty,
    #[error("the search is longer than {QUERY_MAX} bytes")]
    TooLong,
    #[error("the cursor is not one this search gave out")]
    BadCursor,
    #[error(transparent)]
    Db(#[from] DbError),
}

/// One page of a search: what was understood, the accounts, and where the next page starts
/// (only a name search has more than one page).
#[derive(Debug, Clone)]
pub struct SearchPage {
    pub understood: Understood,
    pub accounts: Vec<Account>,
    pub next: Option<String>,
}

/// Decides what `query` is: a phone number in any form a person types (with the default
/// region), an email address, a 9–10 digit account ID (which may be a phone number too), or
/// else the start of a display name.
pub fn understand(query: &str, region: Region) -> Result<Understood, SearchError> {
    if query.len() > QUERY_MAX {
        return Err(SearchError::TooLong);
    }
    let query = query.trim();
    if query.is_empty() {
        return Err(SearchError::Empty);
    }
    Ok(match LoginIdentifier::parse(query, region) {
        Ok(LoginIdentifier::Email(email)) => Understood::Email(email),
        Ok(LoginIdentifier::Phone(phone)) => Understood::Phone(phone),
        Ok(LoginIdentifier::AccountId(id)) => Understood::AccountId(id),
        Ok(LoginIdentifier::PhoneOrAccountId(phone, id)) => Understood::PhoneOrAccountId(phone, id),
        Err(_) => Understood::Name(DisplayName::key_of(query)),
    })
}

/// The cursor of a name search: `name_key`, a NUL, the account ID.
fn name_cursor((key, id): &NameKey) -> String {
    format!("{key}\u{0}{id}")
}

fn parse_name_cursor(cursor: &str) -> Option<NameKey> {
    let (key, id) = cursor.split_once('\u{0}')?;
    Some((key.to_owned(), id.parse().ok()?))
}

/// Searches accounts (see [`understand`]): phone and email exactly, in canonical form, on
/// their unique indexes; an account ID by primary key; a name by prefix on `name_key`, a page
/// of `limit` at a time after `cursor` (from the previous page's `next`). Every query seeks an
/// index; deleted accounts are found by ID only.
pub async fn search(
    ctx: &Context,
    query: &str,
    region: Region,
    cursor: Option<&str>,
    limit: u32,
) -> Result<SearchPage, SearchError> {
    let understood = understand(query, region)?;
    let after = match cursor {
        None => None,
        Some(cursor) => Some(parse_name_cursor(cursor).ok_or(SearchError::BadCursor)?),
    };
    let limit = i64::from(limit.max(1));
    let looked_up = understood.clone();
    let (accounts, next) = ctx
        .db
        .run(move |conn| {
            let mut found = Vec::with_capacity(2);
            match &looked_up {
                Understood::Phone(phone) => found.extend(account::find_by_phone(conn, phone)?),
                Understood::Email(email) => found.extend(account::find_by_email(conn, email)?),
                Understood::AccountId(id) => found.extend(account::find_by_id(conn, *id)?),
                Understood::PhoneOrAccountId(phone, id) => {
                    found.extend(account::find_by_phone(conn, phone)?);
                    found.extend(
                        account::find_by_id(conn, *id)?
                            .filter(|a| found.iter().all(|f| f.id != a.id)),
                    );
                }
                Understood::Name(prefix) => {
                    let mut page =
                        account::search_by_name(conn, prefix, after.as_ref(), limit + 1)?;
                    let next = if page.len() as i64 > limit {
                        page.truncate(limit as usize);
                        match page.last() {
                            Some(last) => account::name_key_of(conn, last.id)?
                                .map(|key| name_cursor(&(key, last.id.get()))),
                            None => None,
                        }
                    } else {
                        None
                    };
                    return Ok((page, next));
                }
            }
            Ok((found, None))
        })
        .await?;
    Ok(SearchPage {
        understood,
        accounts,
        next,
    })
}

/// Everything the account's page shows.
#[derive(Debug, Clone)]
pub struct AccountDetails {
    /// Its contacts are for [`reveal`] only: show `masked()`.
    pub account: Account,
    /// Its newest session's start.
    pub last_sign_in: Option<DateTime<Utc>>,
    pub sessions: Vec<DeviceSession>,
    pub apps: Vec<AppSummary>,
    /// Newest first.
    pub events: Vec<AuditRecord>,
}

/// How many recent events the account's page shows.
pub const RECENT_EVENTS: i64 = 20;

/// The account with its last sign-in, live sessions, connected apps and recent events.
pub async fn details(
    ctx: &Context,
    accounts: &crate::account::Context,
    id: AccountId,
) -> Result<AccountDetails, UserError> {
    let account = ctx
        .db
        .run(move |conn| account::find_by_id(conn, id))
        .await?
        .ok_or(UserError::NotFound(id))?;
    ctx.audit.flush().await;
    let (last_sign_in, events) = ctx
        .db
        .run(move |conn| {
            let last = session_rows::last_sign_in(conn, id)?;
            let events = audit_rows::page_for_account(
                conn,
                id,
                DateTime::<Utc>::UNIX_EPOCH,
                &[],
                0,
                RECENT_EVENTS,
            )?;
            Ok((last, events))
        })
        .await?;
    let sessions = devices::list(&accounts.session, id, None).await?;
    let apps = apps::list(accounts, id).await?;
    Ok(AccountDetails {
        account,
        last_sign_in,
        sessions,
        apps,
        events,
    })
}

/// The account's full contacts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contacts {
    pub phone: Option<PhoneNumber>,
    pub email: Option<Email>,
}

/// The account's phone number and email address in full, for an administrator who must
/// contact the person; every reveal is audited (`reveal contacts`, naming who looked).
pub async fn reveal(ctx: &Context, by: &Actor, id: AccountId) -> Result<Contacts, UserError> {
    let account = ctx
        .db
        .run(move |conn| account::find_by_id(conn, id))
        .await?
        .ok_or(UserError::NotFound(id))?;
    ctx.audit
        .record(
            AuditEvent::admin_action("reveal contacts")
                .account(id)
                .by(by),
        )
        .await;
    Ok(Contacts {
        phone: account.phone,
        email: account.email,
    })
}

/// Disables the account: its sign-ins are refused (with a page saying so), recovery and
/// unlocking with a code refuse it too, and every session ends. Only an administrator
/// enables it again. Returns how many sessions ended.
pub async fn disable(
    ctx: &Context,
    by: &Actor,
    sessions: &crate::session::Context,
    id: AccountId,
) -> Result<usize, UserError> {
    set_status(ctx, by, id, AccountStatus::Disabled, "user disable").await?;
    let ended = end_sessions(sessions, id).await?;
    tracing::info!(account_id = %id, sessions = ended, "admin disabled the account");
    Ok(ended)
}

/// Enables a disabled (or locked) account again.
pub async fn enable(ctx: &Context, by: &Actor, id: AccountId) -> Result<(), UserError> {
    set_status(ctx, by, id, AccountStatus::Active, "user enable").await?;
    tracing::info!(account_id = %id, "admin enabled the account");
    Ok(())
}

/// Takes back everything the account gave one app, first-party apps included (an
/// administrator's decision, unlike the person's own "revoke"): consent, grants (refresh
/// tokens fail), the app told by back-channel logout. Through the account area's one revoke.
pub async fn revoke_app(
    ctx: &Context,
    by: &Actor,
    accounts: &crate::account::Context,
    id: AccountId,
    client: &ClientId,
) -> Result<(), UserError> {
    live_account(ctx, id).await?;
    match apps::revoke_by_admin(accounts, id, client, &ClientInfo::default()).await? {
        Ok(_) => {}
        Err(RevokeRefused::NotConnected | RevokeRefused::FirstParty) => {
            return Err(UserError::NotConnected(id));
        }
    }
    ctx.audit
        .record(
            AuditEvent::admin_action("user revoke app")
                .account(id)
                .client(client)
                .by(by),
        )
        .await;
    Ok(())
}

/// [`revoke_app`] for every app the account is connected to. Returns how many.
pub async fn revoke_all_apps(
    ctx: &Context,
    by: &Actor,
    accounts: &crate::account::Context,
    id: AccountId,
) -> Result<usize, UserError> {
    live_account(ctx, id).await?;
    let connected = apps::list(accounts, id).await?;
    let mut revoked = 0usize;
    for app in &connected {
        // One gone meanwhile (revoked elsewhere) is skipped; a failure stops here.
        if apps::revoke_by_admin(accounts, id, &app.client_id, &ClientInfo::default())
            .await?
            .is_ok()
        {
            revoked = revoked.saturating_add(1);
        }
    }
    ctx.audit
        .record(
            AuditEvent::admin_action(format!("user revoke all apps: {revoked} revoked"))
                .account(id)
                .by(by),
        )
        .await;
    Ok(revoked)
}

/// Requires a new password at the next sign-in: every session ends now, a password sign-in
/// (and the account console's password confirmation) is refused with a page pointing to
/// `/reset`, and choosing a new password with a code clears it. Returns how many sessions
/// ended.
pub async fn require_password_reset(
    ctx: &Context,
    by: &Actor,
    sessions: &crate::session::Context,
    id: AccountId,
) -> Result<usize, UserError> {
    let before = live_account(ctx, id).await?.must_reset_password;
    let now = ctx.clock.now();
    if !ctx
        .db
        .run(move |conn| account::set_must_reset_password(conn, id, true, now))
        .await?
    {
        return Err(UserError::Deleted(id));
    }
    let ended = end_sessions(sessions, id).await?;
    ctx.audit
        .record(
            AuditEvent::admin_action(format!(
                "user require password reset: must_reset_password: {before} → true"
            ))
            .account(id)
            .by(by),
        )
        .await;
    tracing::info!(account_id = %id, sessions = ended, "admin required a password reset");
    Ok(ended)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn india() -> Region {
        Region::default()
    }

    #[test]
    fn the_search_box_reads_phones_emails_ids_and_names() {
        for typed in [
            "98123 45678",
            "+91 98123-45678",
            "098123 45678",
            "919812345678",
        ] {
            match understand(typed, india()).unwrap() {
                Understood::Phone(p) | Understood::PhoneOrAccountId(p, _) => {
                    assert_eq!(p.as_e164(), "+919812345678", "{typed}");
                }
                other => panic!("{typed}: {other:?}"),
            }
        }
        assert!(matches!(
            understand("9812345678", india()).unwrap(),
            Understood::PhoneOrAccountId(..)
        ));
        assert!(matches!(
            understand("123456789", india()).unwrap(),
            Understood::AccountId(_)
        ));
        match understand("Asha@Example.COM", india()).unwrap() {
            Understood::Email(e) => assert_eq!(e.as_str(), "asha@example.com"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            understand("  Asha   DEVI ", india()).unwrap(),
            Understood::Name("asha devi".into())
        );
        assert_eq!(
            understand("अनीता", india()).unwrap(),
            Understood::Name("अनीता".into())
        );
        assert!(matches!(
            understand("   ", india()),
            Err(SearchError::Empty)
        ));
        assert!(matches!(
            understand(&"a".repeat(QUERY_MAX + 1), india()),
            Err(SearchError::TooLong)
        ));
    }

    #[test]
    fn a_name_cursor_reads_back_and_a_forged_one_does_not() {
        let key = ("asha devi".to_owned(), 123_456_789);
        assert_eq!(parse_name_cursor(&name_cursor(&key)), Some(key));
        assert_eq!(parse_name_cursor("asha"), None);
        assert_eq!(parse_name_cursor("asha\u{0}x"), None);
    }
}
