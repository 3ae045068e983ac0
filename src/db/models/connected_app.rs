//! The `connected_apps` table: every app an account has signed in to (first used, last used),
//! what the account console's "Connected apps" lists. Grants come and go and are purged; this
//! row stays until the person revokes the app or the account is deleted.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::{prelude::*, upsert::excluded};

use crate::{
    db::{DbConn, DbError, schema::connected_apps},
    domain::{AccountId, ClientId},
};

/// One app an account uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectedApp {
    pub client_id: ClientId,
    pub first_used_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = connected_apps)]
struct ConnectedAppRow {
    client_id: String,
    first_used_at: NaiveDateTime,
    last_used_at: NaiveDateTime,
}

/// Records that `account` used `client` at `now`: a new row, or the existing one with
/// `last_used_at` moved and `first_used_at` kept. One statement (`INSERT ... ON CONFLICT DO
/// UPDATE`, which both backends speak the same way), so two instances recording at once cannot
/// clash. diesel's connection enum does not build `ON CONFLICT` itself, so the one statement is
/// handed to each backend's connection.
pub fn record_use(
    conn: &mut DbConn,
    account: AccountId,
    client: &ClientId,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let now = now.naive_utc();
    let upsert = diesel::insert_into(connected_apps::table)
        .values((
            connected_apps::account_id.eq(account.get()),
            connected_apps::client_id.eq(client.as_str()),
            connected_apps::first_used_at.eq(now),
            connected_apps::last_used_at.eq(now),
        ))
        .on_conflict((connected_apps::account_id, connected_apps::client_id))
        .do_update()
        .set(connected_apps::last_used_at.eq(excluded(connected_apps::last_used_at)));
    match conn {
        DbConn::Sqlite(conn) => upsert.execute(conn)?,
        DbConn::Postgres(conn) => upsert.execute(conn)?,
    };
    Ok(())
}

/// The apps `account` uses, most recently used first.
pub fn for_account(conn: &mut DbConn, account: AccountId) -> Result<Vec<ConnectedApp>, DbError> {
    let rows: Vec<ConnectedAppRow> = connected_apps::table
        .filter(connected_apps::account_id.eq(account.get()))
        .order((
            connected_apps::last_used_at.desc(),
            connected_apps::client_id.asc(),
        ))
        .select(ConnectedAppRow::as_select())
        .load(conn)?;
    Ok(rows
        .into_iter()
        // A row naming a client id that no longer parses names no app.
        .filter_map(|row| {
            Some(ConnectedApp {
                client_id: ClientId::parse(&row.client_id)?,
                first_used_at: row.first_used_at.and_utc(),
                last_used_at: row.last_used_at.and_utc(),
            })
        })
        .collect())
}

/// Whether `account` uses `client`.
pub fn exists(conn: &mut DbConn, account: AccountId, client: &ClientId) -> Result<bool, DbError> {
    Ok(connected_apps::table
        .find((account.get(), client.as_str()))
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

/// Forgets that `account` uses `client`. True when there was a row.
pub fn delete(conn: &mut DbConn, account: AccountId, client: &ClientId) -> Result<bool, DbError> {
    Ok(
        diesel::delete(connected_apps::table.find((account.get(), client.as_str())))
            .execute(conn)?
            == 1,
    )
}

/// How many accounts use `client` (by the `connected_apps (client_id)` index).
pub fn count_for_client(conn: &mut DbConn, client: &ClientId) -> Result<i64, DbError> {
    Ok(connected_apps::table
        .filter(connected_apps::client_id.eq(client.as_str()))
        .count()
        .get_result(conn)?)
}

/// Forgets every account's use of `client` (its removal, or an administrator taking back
/// everyone's consent). How many rows went.
pub fn delete_for_client(conn: &mut DbConn, client: &ClientId) -> Result<usize, DbError> {
    Ok(
        diesel::delete(connected_apps::table.filter(connected_apps::client_id.eq(client.as_str())))
            .execute(conn)?,
    )
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::{
        db::models::account::{self, NewAccount},
        domain::{DisplayName, Email, PasswordHash},
    };

    #[tokio::test]
    async fn a_use_moves_last_used_and_keeps_first_used() {
        let (_dir, db) = crate::db::testing::temp_sqlite();
        let now = Utc::now();
        let (listed, after) = db
            .run(move |conn| {
                let new = NewAccount {
                    phone: None,
                    email: Some(Email::parse("asha@example.com").unwrap()),
                    display_name: DisplayName::parse("Asha").unwrap(),
                    password_hash: Some(PasswordHash::from_stored("not checked here".into())),
                };
                let id = account::create(conn, &new, now)
                    .map_err(|_| DbError::Migration("account".into()))?
                    .id;
                let talk = ClientId::parse("talk").unwrap();
                let forum = ClientId::parse("forum").unwrap();
                record_use(conn, id, &talk, now)?;
                record_use(conn, id, &forum, now + Duration::minutes(1))?;
                record_use(conn, id, &talk, now + Duration::minutes(2))?;
                let listed = for_account(conn, id)?;
                assert!(exists(conn, id, &talk)?);
                assert!(delete(conn, id, &talk)?);
                assert!(!delete(conn, id, &talk)?, "gone already");
                assert!(!exists(conn, id, &talk)?);
                Ok((listed, for_account(conn, id)?))
            })
            .await
            .unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(
            listed[0].client_id.as_str(),
            "talk",
            "most recently used first"
        );
        assert_eq!(listed[0].first_used_at.timestamp(), now.timestamp());
        assert_eq!(
            listed[0].last_used_at.timestamp(),
            (now + Duration::minutes(2)).timestamp()
        );
        assert_eq!(after.len(), 1);
        assert_eq!(after[0].client_id.as_str(), "forum");
    }
}
