//! The `accounts` table.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::{prelude::*, result::DatabaseErrorKind};

use crate::{
    db::{
        DbConn, DbError,
        models::{audit, grant, passkey, session},
        schema::{accounts, connected_apps},
    },
    domain::{AccountId, DisplayName, Email, PasswordHash, PhoneNumber, Role, Subject},
    i18n::Lang,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountStatus {
    Active,
    Locked,
    Disabled,
    /// Erased at the person's request (or an operator's): no contact, name, password or
    /// language is left; the row stays so the account ID and `sub` are never issued again.
    Deleted,
}

impl AccountStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Locked => "locked",
            Self::Disabled => "disabled",
            Self::Deleted => "deleted",
        }
    }

    fn parse(stored: &str) -> Self {
        match stored {
            "active" => Self::Active,
            "locked" => Self::Locked,
            "deleted" => Self::Deleted,
            // Anything unexpected is treated as the most restrictive state.
            _ => Self::Disabled,
        }
    }
}

/// An account as read from the database, with every column typed.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: AccountId,
    pub sub: Subject,
    pub phone: Option<PhoneNumber>,
    pub email: Option<Email>,
    pub display_name: DisplayName,
    /// `None`: the account was created without a password ("Continue with your number") and
    /// signs in with codes until its owner sets one.
    pub password_hash: Option<PasswordHash>,
    pub status: AccountStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// A temporary lock after a run of failed sign-ins (see `account::lockout`).
    pub locked_until: Option<DateTime<Utc>>,
    /// The language the person chose for pages, codes and notices; `None`: never chosen.
    pub locale: Option<Lang>,
    /// What the account may administer; `None` for everyone but administrators.
    pub role: Option<Role>,
    /// An administrator asked that the next password sign-in be refused until the person
    /// chooses a new password with a code.
    pub must_reset_password: bool,
}

/// What a new account needs. Holding a `PhoneNumber` or `Email` here means it was verified:
/// only the sign-up flow (after a code) and the operator CLI build one.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub phone: Option<PhoneNumber>,
    pub email: Option<Email>,
    pub display_name: DisplayName,
    /// `None`: no password chosen (see [`Account::password_hash`]).
    pub password_hash: Option<PasswordHash>,
}

/// What `password_hash` holds for an account without a password. The column is NOT NULL, and
/// SQLite drops that only by rebuilding `accounts` under the tables that point at it; so the
/// absence is spelled here, at the model's edge, and read back as `None`. Not a PHC string
/// (those begin with `$`), so even a caller that handed it to the verifier would match nothing.
const NO_PASSWORD: &str = "!none";

fn stored_hash(hash: Option<&PasswordHash>) -> &str {
    hash.map_or(NO_PASSWORD, PasswordHash::as_str)
}

/// An `accounts` row as stored; [`Account`] is what it means. Visible to the other models for
/// reads that take the account along with something else in one statement.
#[derive(Queryable, Selectable)]
#[diesel(table_name = accounts)]
pub(super) struct AccountRow {
    account_id: i64,
    sub: String,
    phone: Option<String>,
    email: Option<String>,
    display_name: String,
    password_hash: String,
    status: String,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    locked_until: Option<NaiveDateTime>,
    locale: Option<String>,
    role: Option<String>,
    must_reset_password: bool,
}

#[derive(Insertable)]
#[diesel(table_name = accounts)]
struct AccountInsert<'a> {
    account_id: i64,
    sub: &'a str,
    phone: Option<&'a str>,
    email: Option<&'a str>,
    display_name: &'a str,
    password_hash: &'a str,
    status: &'a str,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    name_key: &'a str,
}

impl TryFrom<AccountRow> for Account {
    type Error = DbError;

    fn try_from(row: AccountRow) -> Result<Self, DbError> {
        let corrupt = |what: &str| {
            DbError::Query(diesel::result::Error::DeserializationError(
                format!("account {}: bad {what}", row.account_id).into(),
            ))
        };
        Ok(Self {
            id: AccountId::from_stored(row.account_id),
            sub: Subject::from_stored(row.sub.clone()),
            phone: row
                .phone
                .as_deref()
                .map(PhoneNumber::from_e164)
                .transpose()
                .map_err(|_| corrupt("phone"))?,
            email: row
                .email
                .as_deref()
                .map(Email::from_stored)
                .transpose()
                .map_err(|_| corrupt("email"))?,
            display_name: DisplayName::from_stored(row.display_name),
            password_hash: (row.password_hash != NO_PASSWORD)
                .then(|| PasswordHash::from_stored(row.password_hash)),
            status: AccountStatus::parse(&row.status),
            created_at: row.created_at.and_utc(),
            updated_at: row.updated_at.and_utc(),
            locked_until: row.locked_until.map(|t| t.and_utc()),
            // A language this build no longer speaks reads as "never chosen".
            locale: row.locale.as_deref().and_then(Lang::from_code),
            role: row.role.as_deref().and_then(Role::from_stored),
            must_reset_password: row.must_reset_password,
        })
    }
}

/// Why an account could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("the phone number already belongs to an account")]
    PhoneTaken,
    #[error("the email address already belongs to an account")]
    EmailTaken,
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Inserts the account with a fresh random ID and subject. One INSERT, so either the whole
/// account exists or nothing does. A clash on a random value is retried with a new one; a clash
/// on the phone or email is reported.
pub fn create(
    conn: &mut DbConn,
    new: &NewAccount,
    now: DateTime<Utc>,
) -> Result<Account, CreateError> {
    const ATTEMPTS: usize = 5;
    let now = now.naive_utc();
    for _ in 0..ATTEMPTS {
        let id = AccountId::generate();
        let sub = Subject::generate();
        let row = AccountInsert {
            account_id: id.get(),
            sub: sub.as_str(),
            phone: new.phone.as_ref().map(PhoneNumber::as_e164),
            email: new.email.as_ref().map(Email::as_str),
            display_name: new.display_name.as_str(),
            password_hash: stored_hash(new.password_hash.as_ref()),
            status: AccountStatus::Active.as_str(),
            created_at: now,
            updated_at: now,
            name_key: &new.display_name.search_key(),
        };
        match diesel::insert_into(accounts::table)
            .values(&row)
            .execute(conn)
        {
            Ok(_) => {
                return find_by_id(conn, id)?
                    .ok_or_else(|| DbError::Query(diesel::result::Error::NotFound).into());
            }
            Err(diesel::result::Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                // Which unique key? Ask the table rather than parse backend-specific messages.
                if let Some(phone) = &new.phone
                    && find_by_phone(conn, phone)?.is_some()
                {
                    return Err(CreateError::PhoneTaken);
                }
                if let Some(email) = &new.email
                    && find_by_email(conn, email)?.is_some()
                {
                    return Err(CreateError::EmailTaken);
                }
                // The random account ID or subject was taken: draw again.
            }
            Err(e) => return Err(DbError::Query(e).into()),
        }
    }
    Err(DbError::Unavailable("could not draw a free account ID".into()).into())
}

pub fn find_by_id(conn: &mut DbConn, id: AccountId) -> Result<Option<Account>, DbError> {
    first(
        accounts::table
            .filter(accounts::account_id.eq(id.get()))
            .select(AccountRow::as_select())
            .get_result(conn)
            .optional()?,
    )
}

pub fn find_by_phone(conn: &mut DbConn, phone: &PhoneNumber) -> Result<Option<Account>, DbError> {
    first(
        accounts::table
            .filter(accounts::phone.eq(phone.as_e164()))
            .select(AccountRow::as_select())
            .get_result(conn)
            .optional()?,
    )
}

pub fn find_by_email(conn: &mut DbConn, email: &Email) -> Result<Option<Account>, DbError> {
    first(
        accounts::table
            // An internationalised domain may still be stored in its U-label form (before
            // domains were kept as A-labels); that row is the same address.
            .filter(
                accounts::email.eq_any(
                    std::iter::once(email.as_str().to_owned())
                        .chain(email.legacy_form())
                        .collect::<Vec<_>>(),
                ),
            )
            .select(AccountRow::as_select())
            .get_result(conn)
            .optional()?,
    )
}

/// All accounts, oldest first, for the operator's CLI.
pub fn list(conn: &mut DbConn) -> Result<Vec<Account>, DbError> {
    accounts::table
        .order((accounts::created_at.asc(), accounts::account_id.asc()))
        .select(AccountRow::as_select())
        .load(conn)?
        .into_iter()
        .map(Account::try_from)
        .collect()
}

/// Why a role could not be taken away.
#[derive(Debug, thiserror::Error)]
pub enum RevokeRoleError {
    /// It would leave no administrator.
    #[error("the last administrator cannot be revoked")]
    LastAdmin,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for RevokeRoleError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Db(e.into())
    }
}

/// Gives the account the role. True when a live (not deleted) account changed.
pub fn grant_role(conn: &mut DbConn, id: AccountId, role: Role) -> Result<bool, DbError> {
    let changed = diesel::update(
        accounts::table
            .filter(accounts::account_id.eq(id.get()))
            .filter(accounts::status.ne(AccountStatus::Deleted.as_str()))
            .filter(
                accounts::role
                    .is_null()
                    .or(accounts::role.ne(role.as_str())),
            ),
    )
    .set(accounts::role.eq(role.as_str()))
    .execute(conn)?;
    Ok(changed == 1)
}

/// Takes the admin role away. With `keep_one`, refuses when it would leave no administrator:
/// the transaction first writes every administrator's row, so two revocations racing on
/// PostgreSQL queue behind each other's row locks and the second sees the first (SQLite has
/// one writer anyway). True when the account was an administrator.
pub fn revoke_admin(
    conn: &mut DbConn,
    id: AccountId,
    keep_one: bool,
) -> Result<bool, RevokeRoleError> {
    conn.write_transaction(|conn| {
        let admin = Role::Admin.as_str();
        let admins = diesel::update(accounts::table.filter(accounts::role.eq(admin)))
            .set(accounts::role.eq(admin))
            .execute(conn)?;
        let revoked = diesel::update(
            accounts::table
                .filter(accounts::account_id.eq(id.get()))
                .filter(accounts::role.eq(admin)),
        )
        .set(accounts::role.eq(None::<String>))
        .execute(conn)?;
        if revoked == 1 && keep_one && admins <= 1 {
            return Err(RevokeRoleError::LastAdmin);
        }
        Ok(revoked == 1)
    })
}

/// Every account holding `role`, oldest first.
pub fn with_role(conn: &mut DbConn, role: Role) -> Result<Vec<Account>, DbError> {
    accounts::table
        .filter(accounts::role.eq(role.as_str()))
        .order((accounts::created_at.asc(), accounts::account_id.asc()))
        .select(AccountRow::as_select())
        .load(conn)?
        .into_iter()
        .map(Account::try_from)
        .collect()
}

/// Locks the account until `until` (a temporary lock).
pub fn lock_until(conn: &mut DbConn, id: AccountId, until: DateTime<Utc>) -> Result<(), DbError> {
    diesel::update(accounts::table.filter(accounts::account_id.eq(id.get())))
        .set(accounts::locked_until.eq(until.naive_utc()))
        .execute(conn)?;
    Ok(())
}

/// Sets the lasting status (`locked` until unlocked, `active`), forgetting any run of failures
/// and temporary lock when it becomes active. True when the account exists and is not
/// deleted: a deleted account stays deleted (only [`erase`] sets that status).
pub fn set_status(
    conn: &mut DbConn,
    id: AccountId,
    status: AccountStatus,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let target = accounts::table
        .filter(accounts::account_id.eq(id.get()))
        .filter(accounts::status.ne(AccountStatus::Deleted.as_str()));
    let changed = if status == AccountStatus::Active {
        diesel::update(target)
            .set((
                accounts::status.eq(status.as_str()),
                accounts::failed_logins.eq(0),
                accounts::last_failed_at.eq(None::<NaiveDateTime>),
                accounts::locked_until.eq(None::<NaiveDateTime>),
                accounts::updated_at.eq(now.naive_utc()),
            ))
            .execute(conn)?
    } else {
        diesel::update(target)
            .set((
                accounts::status.eq(status.as_str()),
                accounts::updated_at.eq(now.naive_utc()),
            ))
            .execute(conn)?
    };
    Ok(changed == 1)
}

/// A successful sign-in ends the run of failures.
pub fn clear_failed_logins(conn: &mut DbConn, id: AccountId) -> Result<(), DbError> {
    diesel::update(
        accounts::table
            .filter(accounts::account_id.eq(id.get()))
            .filter(accounts::failed_logins.ne(0)),
    )
    .set((
        accounts::failed_logins.eq(0),
        accounts::last_failed_at.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    Ok(())
}

/// Replaces the password hash and stamps `password_changed_at`. [`write_password`] is the one
/// place a hash is written after sign-up, so no path can change the password without moving the
/// epoch that codes and refresh tokens are checked against (see `grant::outlived`).
pub fn set_password(
    conn: &mut DbConn,
    id: AccountId,
    hash: &PasswordHash,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    write_password(conn, id, hash, now, true).map(|_| ())
}

/// [`set_password`] for an account that has none yet, in one conditional UPDATE: false when
/// the account has a password (set meanwhile in another tab, or never missing), which then
/// stays as it is, since only the owner's current password or a code may replace it.
pub fn set_first_password(
    conn: &mut DbConn,
    id: AccountId,
    hash: &PasswordHash,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    write_password(conn, id, hash, now, false)
}

/// Writes the hash over whatever the account had (`over_any`), or only where it had none; true
/// when a row was written.
fn write_password(
    conn: &mut DbConn,
    id: AccountId,
    hash: &PasswordHash,
    now: DateTime<Utc>,
    over_any: bool,
) -> Result<bool, DbError> {
    use diesel::{IntoSql, sql_types::Bool};
    let updated = diesel::update(
        accounts::table
            .filter(accounts::account_id.eq(id.get()))
            .filter(
                accounts::password_hash
                    .eq(NO_PASSWORD)
                    .or(over_any.into_sql::<Bool>()),
            ),
    )
    .set((
        accounts::password_hash.eq(hash.as_str()),
        accounts::updated_at.eq(now.naive_utc()),
        accounts::password_changed_at.eq(now.naive_utc()),
        // A new password is what an administrator's "reset at next sign-in" asked for.
        accounts::must_reset_password.eq(false),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Sets the name and the preferred language the person chose, and moves `updated_at` (the
/// `updated_at` claim apps read to know the profile changed). True when the account exists.
pub fn set_profile(
    conn: &mut DbConn,
    id: AccountId,
    name: &DisplayName,
    locale: Option<Lang>,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let changed = diesel::update(accounts::table.filter(accounts::account_id.eq(id.get())))
        .set((
            accounts::display_name.eq(name.as_str()),
            accounts::name_key.eq(name.search_key()),
            accounts::locale.eq(locale.map(Lang::code)),
            accounts::updated_at.eq(now.naive_utc()),
        ))
        .execute(conn)?;
    Ok(changed == 1)
}

/// When the account's password was last replaced; `None` when never (or no such account).
pub fn password_changed_at(
    conn: &mut DbConn,
    id: AccountId,
) -> Result<Option<DateTime<Utc>>, DbError> {
    Ok(accounts::table
        .filter(accounts::account_id.eq(id.get()))
        .select(accounts::password_changed_at)
        .get_result::<Option<NaiveDateTime>>(conn)
        .optional()?
        .flatten()
        .map(|t| t.and_utc()))
}

/// Erases a deleted account's personal data, in one transaction: its consents and connected
/// apps go; the row keeps only its account ID, `sub` and dates (one UPDATE: no phone, email,
/// name, language, a password hash that never verifies, status `deleted`; the epoch moves so
/// no code or refresh token from before outlives it); its sessions forget their browser and
/// address; its audit events keep no address, browser, or a `detail` of a kind not listed in
/// `keep_detail_of` (see `audit::AuditKind::detail_survives_deletion`). The row stays so the
/// account ID and `sub` are never issued again, and the phone and email are free to sign up.
/// False when there is no such account or it was deleted already (nothing changed).
pub fn erase(
    conn: &mut DbConn,
    id: AccountId,
    now: DateTime<Utc>,
    keep_detail_of: &[&str],
) -> Result<bool, DbError> {
    let stamp = now.naive_utc();
    conn.write_transaction(|conn| {
        let erased = diesel::update(
            accounts::table
                .filter(accounts::account_id.eq(id.get()))
                .filter(accounts::status.ne(AccountStatus::Deleted.as_str())),
        )
        .set((
            accounts::phone.eq(None::<String>),
            accounts::email.eq(None::<String>),
            accounts::display_name.eq(""),
            accounts::name_key.eq(""),
            accounts::role.eq(None::<String>),
            accounts::must_reset_password.eq(false),
            accounts::password_hash.eq(PasswordHash::erased().as_str().to_owned()),
            accounts::locale.eq(None::<String>),
            accounts::status.eq(AccountStatus::Deleted.as_str()),
            accounts::failed_logins.eq(0),
            accounts::last_failed_at.eq(None::<NaiveDateTime>),
            accounts::locked_until.eq(None::<NaiveDateTime>),
            accounts::password_changed_at.eq(stamp),
            accounts::updated_at.eq(stamp),
        ))
        .execute(conn)?;
        if erased == 0 {
            return Ok(false);
        }
        grant::delete_consents_of(conn, id)?;
        diesel::delete(connected_apps::table.filter(connected_apps::account_id.eq(id.get())))
            .execute(conn)?;
        session::forget_devices(conn, id)?;
        super::second_factor::erase_account(conn, id)?;
        passkey::delete_for_account(conn, id)?;
        audit::strip_account(conn, id, keep_detail_of)?;
        Ok(true)
    })
}

fn first(row: Option<AccountRow>) -> Result<Option<Account>, DbError> {
    row.map(Account::try_from).transpose()
}

/// Reserves one password attempt before the password is checked: in one transaction, counts
/// it as a failure (the run restarts when its last failure is older than `window`) unless the
/// account is locked, for good or until later than `now`. Returns the count including this
/// attempt, or `None` when the account is locked (or gone) and no password may be checked.
/// A success clears the count again ([`clear_failed_logins`]), so counting first costs the
/// owner nothing, and concurrent attempts on any instance each get their own number.
pub fn reserve_login_attempt(
    conn: &mut DbConn,
    id: AccountId,
    now: DateTime<Utc>,
    window: chrono::Duration,
) -> Result<Option<i32>, DbError> {
    let (now, stale) = (now.naive_utc(), (now - window).naive_utc());
    conn.write_transaction(|conn| {
        let open = accounts::table
            .filter(accounts::account_id.eq(id.get()))
            .filter(accounts::status.ne(AccountStatus::Locked.as_str()))
            .filter(
                accounts::locked_until
                    .is_null()
                    .or(accounts::locked_until.le(now)),
            );
        diesel::update(open.filter(accounts::last_failed_at.lt(stale)))
            .set(accounts::failed_logins.eq(0))
            .execute(conn)?;
        let reserved = diesel::update(open)
            .set((
                accounts::failed_logins.eq(accounts::failed_logins + 1),
                accounts::last_failed_at.eq(now),
            ))
            .execute(conn)?;
        if reserved == 0 {
            return Ok(None);
        }
        accounts::table
            .filter(accounts::account_id.eq(id.get()))
            .select(accounts::failed_logins)
            .get_result::<i32>(conn)
            .map(Some)
    })
    .map_err(DbError::from)
}

/// Why a phone number or email could not be put on an account.
#[derive(Debug, thiserror::Error)]
pub enum ContactError {
    /// Another account has it (the unique index said so, or the lookup before it).
    #[error("the contact belongs to another account")]
    Taken,
    #[error(transparent)]
    Db(#[from] DbError),
}

/// A unique violation is the other account's contact; anything else is the database's error.
fn contact_written(result: QueryResult<usize>) -> Result<(), ContactError> {
    match result {
        Ok(_) => Ok(()),
        Err(diesel::result::Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
            Err(ContactError::Taken)
        }
        Err(e) => Err(DbError::Query(e).into()),
    }
}

/// Puts `phone` on the account (added, or replacing the one it had) and moves `updated_at`, so
/// ID tokens and UserInfo say it changed. The phone was proven with a code by the caller.
pub fn set_phone(
    conn: &mut DbConn,
    id: AccountId,
    phone: &PhoneNumber,
    now: DateTime<Utc>,
) -> Result<(), ContactError> {
    if find_by_phone(conn, phone)?.is_some_and(|a| a.id != id) {
        return Err(ContactError::Taken);
    }
    contact_written(
        diesel::update(accounts::table.filter(accounts::account_id.eq(id.get())))
            .set((
                accounts::phone.eq(phone.as_e164()),
                accounts::updated_at.eq(now.naive_utc()),
            ))
            .execute(conn),
    )
}

/// Puts `email` on the account; see [`set_phone`]. An address stored in its older form on
/// another account counts as taken too (see [`find_by_email`]).
pub fn set_email(
    conn: &mut DbConn,
    id: AccountId,
    email: &Email,
    now: DateTime<Utc>,
) -> Result<(), ContactError> {
    if find_by_email(conn, email)?.is_some_and(|a| a.id != id) {
        return Err(ContactError::Taken);
    }
    contact_written(
        diesel::update(accounts::table.filter(accounts::account_id.eq(id.get())))
            .set((
                accounts::email.eq(email.as_str()),
                accounts::updated_at.eq(now.naive_utc()),
            ))
            .execute(conn),
    )
}

/// Takes the phone off the account, only while the account keeps an email: one statement, so
/// two removals at once cannot leave an account without a contact. True when removed.
pub fn clear_phone(conn: &mut DbConn, id: AccountId, now: DateTime<Utc>) -> Result<bool, DbError> {
    let changed = diesel::update(with_both_contacts(id))
        .set((
            accounts::phone.eq(None::<String>),
            accounts::updated_at.eq(now.naive_utc()),
        ))
        .execute(conn)?;
    Ok(changed == 1)
}

/// Takes the email off the account, only while the account keeps a phone (see
/// [`clear_phone`]). True when removed.
pub fn clear_email(conn: &mut DbConn, id: AccountId, now: DateTime<Utc>) -> Result<bool, DbError> {
    let changed = diesel::update(with_both_contacts(id))
        .set((
            accounts::email.eq(None::<String>),
            accounts::updated_at.eq(now.naive_utc()),
        ))
        .execute(conn)?;
    Ok(changed == 1)
}

/// The account's row, while it has both a phone and an email.
type WithBothContacts = diesel::dsl::Filter<
    diesel::dsl::Filter<ById, diesel::dsl::IsNotNull<accounts::phone>>,
    diesel::dsl::IsNotNull<accounts::email>,
>;
type ById = diesel::dsl::Filter<accounts::table, diesel::dsl::Eq<accounts::account_id, i64>>;

/// The account's row while it has both a phone and an email: the only state either may go in.
fn with_both_contacts(id: AccountId) -> WithBothContacts {
    accounts::table
        .filter(accounts::account_id.eq(id.get()))
        .filter(accounts::phone.is_not_null())
        .filter(accounts::email.is_not_null())
}

/// Where a page of a name search ends: the last row's `(name_key, account_id)`.
pub type NameKey = (String, i64);

/// Live (not deleted) accounts whose `name_key` starts with `prefix`, by `(name_key,
/// account_id)`, after `after`; at most `limit`. A range on the `accounts_name_key` index
/// (`prefix <= name_key < prefix || U+10FFFF`), never a `LIKE`, so both backends seek.
pub fn search_by_name(
    conn: &mut DbConn,
    prefix: &str,
    after: Option<&NameKey>,
    limit: i64,
) -> Result<Vec<Account>, DbError> {
    let upper = format!("{prefix}\u{10FFFF}");
    let mut query = accounts::table
        .filter(accounts::name_key.ge(prefix))
        .filter(accounts::name_key.lt(upper))
        .filter(accounts::status.ne(AccountStatus::Deleted.as_str()))
        .into_boxed();
    if let Some((key, id)) = after {
        query = query.filter(
            accounts::name_key.gt(key.clone()).or(accounts::name_key
                .eq(key.clone())
                .and(accounts::account_id.gt(*id))),
        );
    }
    query
        .order((accounts::name_key.asc(), accounts::account_id.asc()))
        .limit(limit)
        .select(AccountRow::as_select())
        .load(conn)?
        .into_iter()
        .map(Account::try_from)
        .collect()
}

/// The `name_key` of an account as stored (the search cursor names it).
pub fn name_key_of(conn: &mut DbConn, id: AccountId) -> Result<Option<String>, DbError> {
    Ok(accounts::table
        .find(id.get())
        .select(accounts::name_key)
        .get_result(conn)
        .optional()?)
}

/// Sets or clears "choose a new password at the next sign-in" on a live (not deleted)
/// account. True when the account exists and is not deleted.
pub fn set_must_reset_password(
    conn: &mut DbConn,
    id: AccountId,
    must: bool,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let changed = diesel::update(
        accounts::table
            .filter(accounts::account_id.eq(id.get()))
            .filter(accounts::status.ne(AccountStatus::Deleted.as_str())),
    )
    .set((
        accounts::must_reset_password.eq(must),
        accounts::updated_at.eq(now.naive_utc()),
    ))
    .execute(conn)?;
    Ok(changed == 1)
}
