//! The `passkeys` table: an account's WebAuthn credentials. The credential itself is
//! webauthn-rs's serialized form, opaque here (`account::passkeys` reads and writes it); this
//! module keeps the rows, the per-account cap, and the signature counter that only moves
//! forward.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::{
    db::{
        DbConn, DbError,
        schema::{accounts, passkeys},
    },
    domain::{AccountId, PasskeyName},
};

/// One passkey as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPasskey {
    /// Random; what the console's forms name.
    pub id: String,
    pub account_id: AccountId,
    /// base64url of the credential ID.
    pub credential_id: String,
    pub name: PasskeyName,
    /// webauthn-rs's serialized `Passkey`.
    pub credential: String,
    /// The authenticator's signature counter last seen (0: it keeps none).
    pub sign_count: i64,
    /// The credential may be backed up or synced (WebAuthn Level 3 §6.1 flag BE).
    pub backup_eligible: bool,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = passkeys)]
struct PasskeyRow {
    passkey_id: String,
    account_id: i64,
    credential_id: String,
    name: String,
    credential: String,
    sign_count: i64,
    backup_eligible: bool,
    created_at: NaiveDateTime,
    last_used_at: Option<NaiveDateTime>,
}

impl From<PasskeyRow> for StoredPasskey {
    fn from(row: PasskeyRow) -> Self {
        Self {
            id: row.passkey_id,
            account_id: AccountId::from_stored(row.account_id),
            credential_id: row.credential_id,
            name: PasskeyName::from_stored(row.name),
            credential: row.credential,
            sign_count: row.sign_count,
            backup_eligible: row.backup_eligible,
            created_at: row.created_at.and_utc(),
            last_used_at: row.last_used_at.map(|t| t.and_utc()),
        }
    }
}

/// A passkey to add.
#[derive(Debug, Clone)]
pub struct NewPasskey {
    pub id: String,
    pub account_id: AccountId,
    pub credential_id: String,
    pub name: PasskeyName,
    pub credential: String,
    pub sign_count: i64,
    pub backup_eligible: bool,
}

/// What [`insert`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    Added,
    /// The account already has `max` passkeys.
    TooMany,
    /// This credential is registered already (to this account or another).
    Duplicate,
}

/// Adds `new` unless its account already has `max` passkeys or the credential is known. One
/// write transaction that first touches the account's row, so that on PostgreSQL two
/// registrations of one account take turns (the row lock) and cannot both pass the count; on
/// SQLite the transaction holds the write lock from its start.
pub fn insert(
    conn: &mut DbConn,
    new: &NewPasskey,
    max: i64,
    now: DateTime<Utc>,
) -> Result<Inserted, DbError> {
    let now = now.naive_utc();
    conn.write_transaction(|conn| {
        let account = new.account_id.get();
        diesel::update(accounts::table.find(account))
            .set(accounts::updated_at.eq(accounts::updated_at))
            .execute(conn)?;
        let held: i64 = passkeys::table
            .filter(passkeys::account_id.eq(account))
            .count()
            .get_result(conn)?;
        if held >= max {
            return Ok(Inserted::TooMany);
        }
        let known: i64 = passkeys::table
            .filter(passkeys::credential_id.eq(&new.credential_id))
            .count()
            .get_result(conn)?;
        if known > 0 {
            return Ok(Inserted::Duplicate);
        }
        diesel::insert_into(passkeys::table)
            .values((
                passkeys::passkey_id.eq(&new.id),
                passkeys::account_id.eq(account),
                passkeys::credential_id.eq(&new.credential_id),
                passkeys::name.eq(new.name.as_str()),
                passkeys::credential.eq(&new.credential),
                passkeys::sign_count.eq(new.sign_count),
                passkeys::backup_eligible.eq(new.backup_eligible),
                passkeys::created_at.eq(now),
            ))
            .execute(conn)?;
        Ok(Inserted::Added)
    })
}

/// The account's passkeys, oldest first.
pub fn for_account(conn: &mut DbConn, account: AccountId) -> Result<Vec<StoredPasskey>, DbError> {
    let rows: Vec<PasskeyRow> = passkeys::table
        .filter(passkeys::account_id.eq(account.get()))
        .order((passkeys::created_at.asc(), passkeys::passkey_id.asc()))
        .select(PasskeyRow::as_select())
        .load(conn)?;
    Ok(rows.into_iter().map(StoredPasskey::from).collect())
}

/// How many passkeys the account has.
pub fn count_for_account(conn: &mut DbConn, account: AccountId) -> Result<i64, DbError> {
    Ok(passkeys::table
        .filter(passkeys::account_id.eq(account.get()))
        .count()
        .get_result(conn)?)
}

/// The passkey with this credential ID (base64url), whoever's it is.
pub fn find_by_credential_id(
    conn: &mut DbConn,
    credential_id: &str,
) -> Result<Option<StoredPasskey>, DbError> {
    Ok(passkeys::table
        .filter(passkeys::credential_id.eq(credential_id))
        .select(PasskeyRow::as_select())
        .get_result(conn)
        .optional()?
        .map(StoredPasskey::from))
}

/// Renames the account's passkey `id`. True when it has one by that id.
pub fn rename(
    conn: &mut DbConn,
    account: AccountId,
    id: &str,
    name: &PasskeyName,
) -> Result<bool, DbError> {
    Ok(diesel::update(
        passkeys::table
            .filter(passkeys::passkey_id.eq(id))
            .filter(passkeys::account_id.eq(account.get())),
    )
    .set(passkeys::name.eq(name.as_str()))
    .execute(conn)?
        == 1)
}

/// Removes the account's passkey `id`. True when it had one by that id.
pub fn delete(conn: &mut DbConn, account: AccountId, id: &str) -> Result<bool, DbError> {
    Ok(diesel::delete(
        passkeys::table
            .filter(passkeys::passkey_id.eq(id))
            .filter(passkeys::account_id.eq(account.get())),
    )
    .execute(conn)?
        == 1)
}

/// Removes every passkey of the account (its deletion). How many went.
pub fn delete_for_account(conn: &mut DbConn, account: AccountId) -> Result<usize, DbError> {
    Ok(
        diesel::delete(passkeys::table.filter(passkeys::account_id.eq(account.get())))
            .execute(conn)?,
    )
}

/// Records a use of passkey `id`: its updated credential, counter and `last_used_at`, but only
/// if its counter is still `seen` (compare and set). False when another use moved it meanwhile
/// (or the passkey was removed): the caller then refuses this use, since two assertions cannot
/// both be the newest (WebAuthn Level 3 §7.2 step 22).
pub fn record_use(
    conn: &mut DbConn,
    id: &str,
    seen: i64,
    sign_count: i64,
    credential: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    Ok(diesel::update(
        passkeys::table
            .filter(passkeys::passkey_id.eq(id))
            .filter(passkeys::sign_count.eq(seen)),
    )
    .set((
        passkeys::sign_count.eq(sign_count),
        passkeys::credential.eq(credential),
        passkeys::last_used_at.eq(now.naive_utc()),
    ))
    .execute(conn)?
        == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        db::models::account::{self, NewAccount},
        domain::{DisplayName, Email, PasswordHash},
    };

    fn new_passkey(account: AccountId, n: usize) -> NewPasskey {
        NewPasskey {
            id: format!("pk{n}"),
            account_id: account,
            credential_id: format!("cred{n}"),
            name: PasskeyName::parse("Phone").unwrap(),
            credential: "{}".into(),
            sign_count: 0,
            backup_eligible: true,
        }
    }

    #[tokio::test]
    async fn the_cap_holds_duplicates_are_refused_and_the_counter_only_moves_from_what_was_seen() {
        let (_dir, db) = crate::db::testing::temp_sqlite();
        let now = Utc::now();
        db.run(move |conn| {
            let new = NewAccount {
                phone: None,
                email: Some(Email::parse("asha@example.com").unwrap()),
                display_name: DisplayName::parse("Asha").unwrap(),
                password_hash: Some(PasswordHash::from_stored("not checked here".into())),
            };
            let id = account::create(conn, &new, now)
                .map_err(|_| DbError::Migration("account".into()))?
                .id;
            assert_eq!(insert(conn, &new_passkey(id, 1), 2, now)?, Inserted::Added);
            assert_eq!(
                insert(conn, &new_passkey(id, 1), 2, now)?,
                Inserted::Duplicate
            );
            assert_eq!(insert(conn, &new_passkey(id, 2), 2, now)?, Inserted::Added);
            assert_eq!(
                insert(conn, &new_passkey(id, 3), 2, now)?,
                Inserted::TooMany
            );
            assert_eq!(for_account(conn, id)?.len(), 2);

            assert!(record_use(conn, "pk1", 0, 5, "{\"n\":5}", now)?);
            assert!(
                !record_use(conn, "pk1", 0, 6, "{}", now)?,
                "a use that saw the old counter loses"
            );
            let found = find_by_credential_id(conn, "cred1")?.unwrap();
            assert_eq!(found.sign_count, 5);
            assert!(found.last_used_at.is_some());

            let name = PasskeyName::parse("Laptop").unwrap();
            assert!(rename(conn, id, "pk2", &name)?);
            assert!(!rename(
                conn,
                AccountId::from_stored(123456789),
                "pk2",
                &name
            )?);
            assert!(delete(conn, id, "pk2")?);
            assert!(!delete(conn, id, "pk2")?);
            assert_eq!(delete_for_account(conn, id)?, 1);
            Ok(())
        })
        .await
        .unwrap();
    }
}
