//! The `connected_apps` table: every app an account has signed in to (first used, last used),
//! what the account console's "Connected apps" lists. Grants come and go and are purged; this
//! row stays until the person revokes the app or the account is deleted.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::{
    backend::Backend,
    prelude::*,
    query_builder::{AstPass, QueryFragment},
    serialize::ToSql,
    sql_types::{BigInt, HasSqlType, Text, Timestamp},
};

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
/// clash. It runs on every code exchange, so it is the fixed statement [`RecordUse`] rather than
/// diesel's builder: see there.
pub fn record_use(
    conn: &mut DbConn,
    account: AccountId,
    client: &ClientId,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let record = RecordUse {
        account_id: account.get(),
        client_id: client.as_str(),
        now: now.naive_utc(),
    };
    // diesel's connection enum does not take a hand-written statement, so it is handed to each
    // backend's connection.
    match conn {
        DbConn::Sqlite(conn) => record.execute(conn)?,
        DbConn::Postgres(conn) => record.execute(conn)?,
    };
    Ok(())
}

/// The upsert of [`record_use`], written out. diesel marks every `ON CONFLICT ... DO UPDATE`
/// it builds as unsafe to keep prepared, so that statement was compiled again on every code
/// exchange (about 2 % of the server's CPU in a benchmark of SSO sign-ins on SQLite). This one
/// is a `fixed_statement`: each connection prepares it once and keeps it.
struct RecordUse<'a> {
    account_id: i64,
    client_id: &'a str,
    now: NaiveDateTime,
}

fixed_statement!(RecordUse);

impl<DB> QueryFragment<DB> for RecordUse<'_>
where
    DB: Backend + HasSqlType<BigInt> + HasSqlType<Text> + HasSqlType<Timestamp>,
    i64: ToSql<BigInt, DB>,
    str: ToSql<Text, DB>,
    NaiveDateTime: ToSql<Timestamp, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql(
            "INSERT INTO connected_apps (account_id, client_id, first_used_at, last_used_at) \
             VALUES (",
        );
        out.push_bind_param::<BigInt, _>(&self.account_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(self.client_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamp, _>(&self.now)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamp, _>(&self.now)?;
        out.push_sql(
            ") ON CONFLICT (account_id, client_id) \
             DO UPDATE SET last_used_at = excluded.last_used_at",
        );
        Ok(())
    }
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
    use std::sync::{Arc, Mutex};

    use chrono::Duration;
    use diesel::connection::{Connection, InstrumentationEvent};

    use super::*;
    use crate::{
        db::{
            Db,
            models::account::{self, NewAccount},
            testing::PgTestSchema,
        },
        domain::{DisplayName, Email, PasswordHash},
    };

    fn new_account(conn: &mut DbConn, now: DateTime<Utc>) -> Result<AccountId, DbError> {
        let new = NewAccount {
            phone: None,
            email: Some(Email::parse("asha@example.com").unwrap()),
            display_name: DisplayName::parse("Asha").unwrap(),
            password_hash: Some(PasswordHash::from_stored("not checked here".into())),
        };
        Ok(account::create(conn, &new, now)
            .map_err(|_| DbError::Migration("account".into()))?
            .id)
    }

    /// Microseconds only: PostgreSQL keeps no finer, so times compare exactly on both.
    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp_micros(Utc::now().timestamp_micros()).unwrap()
    }

    async fn a_use_moves_last_used_and_keeps_first_used(db: &Db) {
        let now = t0();
        let (listed, after) = db
            .run(move |conn| {
                let id = new_account(conn, now)?;
                let talk = ClientId::parse("talk").unwrap();
                let forum = ClientId::parse("forum").unwrap();
                record_use(conn, id, &talk, now)?;
                record_use(conn, id, &forum, now + Duration::minutes(1))?;
                record_use(conn, id, &talk, now + Duration::minutes(2))?;
                let listed = for_account(conn, id)?;
                assert!(exists(conn, id, &talk)?);
                assert_eq!(count_for_client(conn, &talk)?, 1);
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
        assert_eq!(listed[0].first_used_at, now);
        assert_eq!(listed[0].last_used_at, now + Duration::minutes(2));
        assert_eq!(listed[1].client_id.as_str(), "forum");
        assert_eq!(listed[1].first_used_at, now + Duration::minutes(1));
        assert_eq!(after.len(), 1);
        assert_eq!(after[0].client_id.as_str(), "forum");
    }

    #[tokio::test]
    async fn on_sqlite_a_use_moves_last_used_and_keeps_first_used() {
        let (_dir, db) = crate::db::testing::temp_sqlite();
        a_use_moves_last_used_and_keeps_first_used(&db).await;
    }

    #[tokio::test]
    async fn on_postgres_a_use_moves_last_used_and_keeps_first_used() {
        let Some(schema) = PgTestSchema::from_env() else {
            return;
        };
        let db = Db::open(schema.url(), &crate::config::Settings::default().database).unwrap();
        db.migrate().unwrap();
        a_use_moves_last_used_and_keeps_first_used(&db).await;
    }

    /// The point of [`RecordUse`]: a connection compiles the upsert once and keeps it, where
    /// diesel's own `ON CONFLICT` builder had it compiled on every use.
    #[tokio::test]
    async fn the_record_is_prepared_once_per_connection() {
        let (_dir, db) = crate::db::testing::temp_sqlite();
        let cached = Arc::new(Mutex::new(Vec::<String>::new()));
        let log = cached.clone();
        db.run(move |conn| {
            let now = Utc::now();
            let id = new_account(conn, now)?;
            conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
                if let InstrumentationEvent::CacheQuery { sql, .. } = event {
                    log.lock().unwrap().push(sql.to_owned());
                }
            });
            for (minutes, client) in [(0, "talk"), (1, "forum"), (2, "talk")] {
                let client = ClientId::parse(client).unwrap();
                record_use(conn, id, &client, now + Duration::minutes(minutes))?;
            }
            Ok(())
        })
        .await
        .unwrap();
        let cached = cached.lock().unwrap();
        let upserts = cached
            .iter()
            .filter(|sql| sql.starts_with("INSERT INTO connected_apps"))
            .count();
        assert_eq!(upserts, 1, "{cached:#?}");
    }
}
