//! The `audit_events` table: the append-only audit log. Rows are inserted, read newest first,
//! and deleted only by the retention sweep; the one update is [`strip_account`], when the
//! account they concern is deleted.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::{
    db::{DbConn, DbError, schema::audit_events},
    domain::AccountId,
};

/// Rows deleted per statement by [`delete_older_than`], so that a first sweep over years of
/// events never holds a long lock or runs into the statement timeout.
const DELETE_BATCH: i64 = 10_000;

/// A row to append. The strings are already what the log keeps: `kind` and `outcome` in
/// snake_case, the address as text; `detail` never holds a secret (see `audit::AuditEvent`).
///
/// `None` is written as NULL (every optional column's default) rather than as diesel's
/// `DEFAULT`: the statement then has one shape whatever is missing, so each backend prepares it
/// once and keeps it, and a batch goes out as one multi-row `INSERT` (SQLite has no `DEFAULT`
/// keyword in `VALUES`, so diesel would otherwise send a batch as one statement per row).
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = audit_events, treat_none_as_default_value = false)]
pub struct NewAuditRecord<'a> {
    pub at: NaiveDateTime,
    pub kind: &'a str,
    pub account_id: Option<i64>,
    pub client_id: Option<&'a str>,
    pub ip: Option<String>,
    pub user_agent: Option<&'a str>,
    pub outcome: &'a str,
    pub detail: Option<&'a str>,
    pub actor: Option<String>,
}

/// A row as read back. The client is kept as the text written: the client may be gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub kind: String,
    pub account_id: Option<AccountId>,
    pub client_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub outcome: String,
    pub detail: Option<String>,
    /// Who did it, for administrative acts (`domain::Actor`'s stored form).
    pub actor: Option<String>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = audit_events)]
struct AuditRow {
    id: i64,
    at: NaiveDateTime,
    kind: String,
    account_id: Option<i64>,
    client_id: Option<String>,
    ip: Option<String>,
    user_agent: Option<String>,
    outcome: String,
    detail: Option<String>,
    actor: Option<String>,
}

impl From<AuditRow> for AuditRecord {
    fn from(row: AuditRow) -> Self {
        Self {
            id: row.id,
            at: row.at.and_utc(),
            kind: row.kind,
            account_id: row.account_id.map(AccountId::from_stored),
            client_id: row.client_id,
            ip: row.ip,
            user_agent: row.user_agent,
            outcome: row.outcome,
            detail: row.detail,
            actor: row.actor,
        }
    }
}

/// Appends `records` with one statement, in their order: the writer's batches (at most
/// `audit::BATCH` rows, 9 parameters each, far under either backend's limit on parameters).
/// diesel's connection enum does not build a multi-row `INSERT`, so the statement is handed to
/// each backend's connection.
pub fn insert_all(conn: &mut DbConn, records: &[NewAuditRecord<'_>]) -> Result<(), DbError> {
    let insert = diesel::insert_into(audit_events::table).values(records);
    match conn {
        DbConn::Sqlite(conn) => insert.execute(conn)?,
        DbConn::Postgres(conn) => insert.execute(conn)?,
    };
    Ok(())
}

/// Which rows to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only this account's events.
    pub account: Option<AccountId>,
    /// Only events at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// At most this many rows (the newest).
    pub limit: i64,
}

/// Appends one event.
pub fn insert(conn: &mut DbConn, record: &NewAuditRecord<'_>) -> Result<(), DbError> {
    diesel::insert_into(audit_events::table)
        .values(record)
        .execute(conn)?;
    Ok(())
}

/// The events the filter selects, newest first (ties in time: last written first).
pub fn query(conn: &mut DbConn, filter: &AuditFilter) -> Result<Vec<AuditRecord>, DbError> {
    let mut rows = audit_events::table
        .select(AuditRow::as_select())
        .order((audit_events::at.desc(), audit_events::id.desc()))
        .limit(filter.limit.max(0))
        .into_boxed();
    if let Some(account) = filter.account {
        rows = rows.filter(audit_events::account_id.eq(account.get()));
    }
    if let Some(since) = filter.since {
        rows = rows.filter(audit_events::at.ge(since.naive_utc()));
    }
    Ok(rows
        .load::<AuditRow>(conn)?
        .into_iter()
        .map(AuditRecord::from)
        .collect())
}

/// What the admin audit log view selects: every field optional, all of them together. Each
/// equality filter has an index on `(column, id)` that serves the newest-first order; time
/// bounds are resolved to id bounds first (see [`first_id_at_or_after`]), so no query sorts
/// or scans by time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    pub account: Option<AccountId>,
    /// The client ID as written (the client may be gone).
    pub client: Option<String>,
    /// `AuditKind::as_str`.
    pub kind: Option<String>,
    /// `Outcome::as_str`.
    pub outcome: Option<String>,
    /// The address as stored (its canonical text).
    pub ip: Option<String>,
    /// Only ids at or above this (from a time lower bound).
    pub min_id: Option<i64>,
    /// Only ids below this: the page cursor, or a time upper bound.
    pub before_id: Option<i64>,
}

/// One page of the events `filter` selects, newest first by id: at most `limit` rows.
pub fn page(
    conn: &mut DbConn,
    filter: &EventFilter,
    limit: i64,
) -> Result<Vec<AuditRecord>, DbError> {
    let mut rows = audit_events::table
        .select(AuditRow::as_select())
        .order(audit_events::id.desc())
        .limit(limit.max(0))
        .into_boxed();
    if let Some(account) = filter.account {
        rows = rows.filter(audit_events::account_id.eq(account.get()));
    }
    if let Some(client) = &filter.client {
        rows = rows.filter(audit_events::client_id.eq(client.clone()));
    }
    if let Some(kind) = &filter.kind {
        rows = rows.filter(audit_events::kind.eq(kind.clone()));
    }
    if let Some(outcome) = &filter.outcome {
        rows = rows.filter(audit_events::outcome.eq(outcome.clone()));
    }
    if let Some(ip) = &filter.ip {
        rows = rows.filter(audit_events::ip.eq(ip.clone()));
    }
    if let Some(min) = filter.min_id {
        rows = rows.filter(audit_events::id.ge(min));
    }
    if let Some(before) = filter.before_id {
        rows = rows.filter(audit_events::id.lt(before));
    }
    Ok(rows
        .load::<AuditRow>(conn)?
        .into_iter()
        .map(AuditRecord::from)
        .collect())
}

/// The id of the first event written at or after `at` (through the index on `at`); `None`
/// when there is none. Events are written in time order, so "id ≥ this" is "at ≥ `at`" up to
/// writes racing within the same instant.
pub fn first_id_at_or_after(conn: &mut DbConn, at: DateTime<Utc>) -> Result<Option<i64>, DbError> {
    Ok(audit_events::table
        .filter(audit_events::at.ge(at.naive_utc()))
        .order(audit_events::at.asc())
        .select(audit_events::id)
        .first::<i64>(conn)
        .optional()?)
}

/// How many events of `kind` have an id at or above `min_id` (a range of the `(kind, id)`
/// index); with `detail_suffix`, only those whose detail ends with it.
pub fn count_kind_from(
    conn: &mut DbConn,
    kind: &str,
    min_id: i64,
    detail_suffix: Option<&str>,
) -> Result<i64, DbError> {
    let mut q = audit_events::table
        .filter(audit_events::kind.eq(kind))
        .filter(audit_events::id.ge(min_id))
        .count()
        .into_boxed();
    if let Some(suffix) = detail_suffix {
        q = q.filter(audit_events::detail.like(format!("%{suffix}")));
    }
    Ok(q.get_result(conn)?)
}

/// Strips the events of a deleted account of what could name or find the person: the address
/// and browser of every one, and the `detail` of every kind not in `keep_detail_of` (the
/// kinds whose detail is a fixed label). The events stay, pseudonymous (the account ID only),
/// for as long as the log keeps them. Returns how many rows concern the account.
pub fn strip_account(
    conn: &mut DbConn,
    account: AccountId,
    keep_detail_of: &[&str],
) -> Result<usize, DbError> {
    let of_account = || audit_events::account_id.eq(account.get());
    let stripped = diesel::update(audit_events::table.filter(of_account()))
        .set((
            audit_events::ip.eq(None::<String>),
            audit_events::user_agent.eq(None::<String>),
        ))
        .execute(conn)?;
    diesel::update(
        audit_events::table
            .filter(of_account())
            .filter(audit_events::kind.ne_all(keep_detail_of.to_vec()))
            .filter(audit_events::detail.is_not_null()),
    )
    .set(audit_events::detail.eq(None::<String>))
    .execute(conn)?;
    Ok(stripped)
}

/// One page of an account's events at or after `since`, newest first, leaving out the kinds
/// in `except`: `limit` rows after skipping `offset`. The caller bounds `offset` (the index on
/// `(account_id, at)` is walked up to it).
pub fn page_for_account(
    conn: &mut DbConn,
    account: AccountId,
    since: DateTime<Utc>,
    except: &[&str],
    offset: i64,
    limit: i64,
) -> Result<Vec<AuditRecord>, DbError> {
    Ok(audit_events::table
        .select(AuditRow::as_select())
        .filter(audit_events::account_id.eq(account.get()))
        .filter(audit_events::at.ge(since.naive_utc()))
        .filter(audit_events::kind.ne_all(except))
        .order((audit_events::at.desc(), audit_events::id.desc()))
        .offset(offset.max(0))
        .limit(limit.max(0))
        .load::<AuditRow>(conn)?
        .into_iter()
        .map(AuditRecord::from)
        .collect())
}

/// Deletes every event older than `cutoff`, in batches; returns how many went.
pub fn delete_older_than(conn: &mut DbConn, cutoff: DateTime<Utc>) -> Result<usize, DbError> {
    delete_in_batches(conn, cutoff, DELETE_BATCH)
}

fn delete_in_batches(
    conn: &mut DbConn,
    cutoff: DateTime<Utc>,
    batch: i64,
) -> Result<usize, DbError> {
    let cutoff = cutoff.naive_utc();
    let mut deleted = 0;
    loop {
        let oldest: Vec<i64> = audit_events::table
            .filter(audit_events::at.lt(cutoff))
            .select(audit_events::id)
            .limit(batch)
            .load(conn)?;
        if oldest.is_empty() {
            return Ok(deleted);
        }
        deleted += diesel::delete(audit_events::table.filter(audit_events::id.eq_any(&oldest)))
            .execute(conn)?;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration as StdDuration;

    use chrono::{Duration, TimeZone};

    use super::*;
    use crate::db::{Db, testing::PgTestSchema};

    /// A time with microseconds (PostgreSQL keeps no finer), so round trips compare exactly.
    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 24, 12, 0, 0).unwrap() + Duration::microseconds(123_456)
    }

    fn record(at: DateTime<Utc>, kind: &str, account: Option<i64>) -> NewAuditRecord<'_> {
        NewAuditRecord {
            at: at.naive_utc(),
            kind,
            account_id: account,
            client_id: Some("forum-client"),
            ip: Some("127.0.0.1".into()),
            user_agent: Some("test-agent/1.0"),
            outcome: "ok",
            detail: Some("openid profile"),
            actor: None,
        }
    }

    const ASHA: i64 = 123_456_789;
    const RAVI: i64 = 987_654_321;

    /// The same checks on either backend: a full round trip, each filter, the order and the
    /// retention delete.
    fn insert_query_and_delete(db: &Db) {
        db.with_conn(|conn| {
            insert(conn, &record(t0(), "login_ok", Some(ASHA)))?;
            insert(
                conn,
                &record(t0() + Duration::hours(1), "token_issued", Some(ASHA)),
            )?;
            insert(
                conn,
                &record(t0() + Duration::hours(1), "consent_given", Some(RAVI)),
            )?;
            insert(
                conn,
                &NewAuditRecord {
                    at: (t0() + Duration::hours(2)).naive_utc(),
                    kind: "admin_action",
                    account_id: None,
                    client_id: None,
                    ip: None,
                    user_agent: None,
                    outcome: "refused",
                    detail: None,
                    actor: None,
                },
            )?;

            let all = query(
                conn,
                &AuditFilter {
                    account: None,
                    since: None,
                    limit: 100,
                },
            )?;
            let kinds: Vec<&str> = all.iter().map(|r| r.kind.as_str()).collect();
            // Newest first; the two at the same instant, last written first.
            assert_eq!(
                kinds,
                ["admin_action", "consent_given", "token_issued", "login_ok"]
            );
            let first = all.last().unwrap();
            assert_eq!(
                *first,
                AuditRecord {
                    id: first.id,
                    at: t0(),
                    kind: "login_ok".into(),
                    account_id: Some(AccountId::from_stored(ASHA)),
                    client_id: Some("forum-client".into()),
                    ip: Some("127.0.0.1".into()),
                    user_agent: Some("test-agent/1.0".into()),
                    outcome: "ok".into(),
                    detail: Some("openid profile".into()),
                    actor: None,
                }
            );
            assert_eq!(all[0].account_id, None);
            assert_eq!(all[0].outcome, "refused");

            let asha = query(
                conn,
                &AuditFilter {
                    account: Some(AccountId::from_stored(ASHA)),
                    since: None,
                    limit: 100,
                },
            )?;
            assert_eq!(
                asha.iter().map(|r| r.kind.as_str()).collect::<Vec<_>>(),
                ["token_issued", "login_ok"]
            );
            let recent = query(
                conn,
                &AuditFilter {
                    account: Some(AccountId::from_stored(ASHA)),
                    since: Some(t0() + Duration::hours(1)),
                    limit: 100,
                },
            )?;
            assert_eq!(recent.len(), 1, "since is inclusive");
            let newest = query(
                conn,
                &AuditFilter {
                    account: None,
                    since: None,
                    limit: 1,
                },
            )?;
            assert_eq!(newest[0].kind, "admin_action");

            assert_eq!(delete_older_than(conn, t0())?, 0, "strictly older only");
            assert_eq!(delete_older_than(conn, t0() + Duration::hours(2))?, 3);
            let left = query(
                conn,
                &AuditFilter {
                    account: None,
                    since: None,
                    limit: 100,
                },
            )?;
            assert_eq!(left.len(), 1);
            assert_eq!(left[0].kind, "admin_action");
            Ok::<_, DbError>(())
        })
        .unwrap();
    }

    /// More rows than one delete batch go in several statements, all of them.
    fn delete_several_batches(db: &Db) {
        db.with_conn(|conn| {
            for i in 0..7 {
                insert(
                    conn,
                    &record(t0() + Duration::milliseconds(i), "token_issued", None),
                )?;
            }
            insert(conn, &record(t0() + Duration::days(1), "login_ok", None))?;
            assert_eq!(delete_in_batches(conn, t0() + Duration::hours(1), 3)?, 7);
            // The day-later row, and the one the round trip left.
            let left = audit_events::table.count().get_result::<i64>(conn)?;
            assert_eq!(left, 2);
            Ok::<_, DbError>(())
        })
        .unwrap();
    }

    fn sqlite_db(dir: &tempfile::TempDir) -> Db {
        let url = format!("sqlite://{}/oneid.db", dir.path().display());
        let db = Db::connect(&url, 2, StdDuration::from_secs(5), 5_000).unwrap();
        db.migrate().unwrap();
        db
    }

    fn postgres_db(schema: &PgTestSchema) -> Db {
        let db = Db::open(schema.url(), &crate::config::Settings::default().database).unwrap();
        db.migrate().unwrap();
        db
    }

    #[test]
    fn sqlite_audit_events_round_trip_filter_and_expire() {
        let dir = tempfile::tempdir().unwrap();
        let db = sqlite_db(&dir);
        insert_query_and_delete(&db);
        delete_several_batches(&db);
    }

    #[test]
    fn postgres_audit_events_round_trip_filter_and_expire() {
        let Some(schema) = PgTestSchema::from_env() else {
            return;
        };
        let db = postgres_db(&schema);
        insert_query_and_delete(&db);
        delete_several_batches(&db);
    }
}
