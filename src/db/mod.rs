//! Durable storage: the connection enum (one variant per backend), its pool, migrations, and
//! the one helper that keeps blocking diesel work off the async executor.

mod migrations;
pub mod models;
pub mod purge;
pub mod schema;
pub mod testing;
#[cfg(test)]
mod tests;

use std::{
    path::Path,
    time::{Duration, Instant},
};

use diesel::{connection::SimpleConnection, prelude::*, r2d2};

pub use crate::config::Backend;
use crate::{
    config::{DatabaseSettings, UnsupportedDatabaseUrl},
    domain::mask_url_password,
};

/// A connection to whichever backend the URL names. Every query is written once against this
/// enum; SQL that only one backend understands stays inside `db`: connection setup in
/// `Manager::connect`, migration locking and bookkeeping in `db::migrations`.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Sqlite(diesel::SqliteConnection),
    Postgres(diesel::PgConnection),
}

impl DbConn {
    /// A transaction that will write: on SQLite it begins `IMMEDIATE`, taking the write lock
    /// up front, so a writer that committed meanwhile (the audit writer, another request) makes
    /// it wait on the busy timeout. A deferred `BEGIN` that read first cannot upgrade once
    /// another connection committed (WAL: `SQLITE_BUSY_SNAPSHOT`): SQLite fails it at once,
    /// without the busy handler, and the request answered 503. PostgreSQL's transaction
    /// already waits on row locks. Nested `transaction` calls inside `f` are savepoints, as
    /// usual.
    pub fn write_transaction<T, E, F>(&mut self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut Self) -> Result<T, E>,
        E: From<diesel::result::Error>,
    {
        use diesel::connection::{AnsiTransactionManager, TransactionManager};
        let Self::Sqlite(sqlite) = self else {
            return self.transaction(f);
        };
        // What `SqliteConnection::immediate_transaction` does, with `f` given this enum.
        AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
        let outcome = f(self);
        let Self::Sqlite(sqlite) = self else {
            // `f` cannot swap the connection for another backend's; were it to, the
            // transaction's state is unknown.
            return Err(diesel::result::Error::BrokenTransactionManager.into());
        };
        match outcome {
            Ok(value) => {
                AnsiTransactionManager::commit_transaction(sqlite)?;
                Ok(value)
            }
            Err(e) => {
                AnsiTransactionManager::rollback_transaction(sqlite)?;
                Err(e)
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(transparent)]
    UnsupportedUrl(#[from] UnsupportedDatabaseUrl),
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("database migration failed: {0}")]
    Migration(String),
}

impl DbError {
    /// A bounded name for the metrics' `error` label.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Unavailable(_) => "unavailable",
            Self::Query(diesel::result::Error::NotFound) => "not_found",
            Self::Query(_) if self.is_refusal() => "conflict",
            Self::Query(_) => "query",
            Self::UnsupportedUrl(_) | Self::Migration(_) => "other",
        }
    }

    /// Whether the database refused the query itself (no such row, a constraint, a
    /// serialization conflict), on a connection that is fine.
    fn is_refusal(&self) -> bool {
        use diesel::result::{DatabaseErrorKind as Kind, Error};
        matches!(
            self,
            Self::Query(
                Error::NotFound
                    | Error::DatabaseError(
                        Kind::UniqueViolation
                            | Kind::ForeignKeyViolation
                            | Kind::NotNullViolation
                            | Kind::CheckViolation
                            | Kind::RestrictViolation
                            | Kind::ExclusionViolation
                            | Kind::SerializationFailure,
                        _,
                    )
            )
        )
    }
}

impl From<r2d2::PoolError> for DbError {
    fn from(e: r2d2::PoolError) -> Self {
        Self::Unavailable(e.to_string())
    }
}

/// Adds libpq's `connect_timeout` (whole seconds, at least 1) unless the URL sets one already.
pub(crate) fn with_connect_timeout(url: &str, timeout: Duration) -> String {
    let query = url.split_once('?').map(|(_, q)| q);
    let already_set = query.is_some_and(|q| {
        q.split('&')
            .any(|pair| pair.split('=').next() == Some("connect_timeout"))
    });
    if already_set {
        return url.to_owned();
    }
    let secs = (timeout.as_secs() + u64::from(timeout.subsec_nanos() > 0)).max(1);
    let separator = match query {
        None => "?",
        Some(q) if q.is_empty() || q.ends_with('&') => "",
        Some(_) => "&",
    };
    format!("{url}{separator}connect_timeout={secs}")
}

/// How the pool connects, from the `[database]` settings.
#[derive(Debug, Clone, Copy)]
struct PoolOptions {
    pool_size: u32,
    /// Wait for a pooled connection; also libpq's `connect_timeout`.
    connect_timeout: Duration,
    /// SQLite: wait on a locked database.
    busy_timeout_ms: u64,
    /// PostgreSQL: longest a statement may run.
    statement_timeout_ms: u64,
}

/// A pooled connection, with what the pool needs to judge it without a round trip: when it
/// was last given back, and whether the work it last did failed in a way that may mean the
/// connection itself is gone.
struct Pooled {
    conn: DbConn,
    returned_at: Instant,
    suspect: bool,
}

/// How long a PostgreSQL connection given back to the pool is taken again without a ping.
/// HikariCP's `aliveBypassWindowMs` (500 ms) is the precedent: a ping on every check-out was
/// a round trip in front of every query (about 8 of the 18 round trips of a code flow); a
/// connection that sat idle longer, through an outage or a server restart, is still pinged
/// before use, and one whose work just failed is replaced (see [`Manager::has_broken`]).
const PING_AFTER_IDLE: Duration = Duration::from_millis(500);

/// SQLite (WAL mode): how many pages the write-ahead log grows to before a commit copies them
/// back into the database file (SQLite's default is 1,000). Every code exchange writes several
/// rows, so at the default a checkpoint ran every few dozen sign-ins, each one a burst of
/// writes and an fsync on the request's path: 5.4 % of the server's CPU in a benchmark of SSO
/// sign-ins, 1.9 % at 10,000 pages (bench/RESULTS.md, ninth run). The costs: the log file grows to
/// about 40 MiB (4 KiB pages) and is reused rather than shrunk; and with `synchronous =
/// NORMAL` a power cut (not a crash of the process) can lose the commits since the last
/// checkpoint's fsync, more of them under load than at the default.
pub const SQLITE_CHECKPOINT_PAGES: u32 = 10_000;

/// Builds each pooled connection explicitly for its backend: `MultiConnection::establish`
/// would hide the real connection error behind a generic one.
#[derive(Debug, Clone)]
struct Manager {
    /// For PostgreSQL, the URL already carries `connect_timeout`.
    backend: Backend,
    busy_timeout_ms: u64,
    statement_timeout_ms: u64,
}

impl Manager {
    fn open(&self) -> Result<DbConn, diesel::r2d2::Error> {
        match &self.backend {
            Backend::Sqlite(path) => {
                let mut conn = diesel::SqliteConnection::establish(path)
                    .map_err(r2d2::Error::ConnectionError)?;
                // WAL lets readers run beside the one writer; NORMAL sync is durable in WAL mode
                // across process crashes; foreign keys are off in SQLite unless asked for.
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA wal_autocheckpoint = {};",
                    self.busy_timeout_ms, SQLITE_CHECKPOINT_PAGES
                ))
                .map_err(r2d2::Error::QueryError)?;
                Ok(DbConn::Sqlite(conn))
            }
            Backend::Postgres(url) => {
                let mut conn = diesel::PgConnection::establish(url).map_err(|e| {
                    use diesel::ConnectionError as E;
                    r2d2::Error::ConnectionError(match e {
                        E::BadConnection(m) => E::BadConnection(mask_url_password(m, url)),
                        E::InvalidConnectionUrl(m) => {
                            E::InvalidConnectionUrl(mask_url_password(m, url))
                        }
                        other => other,
                    })
                })?;
                // A runaway query gives its pooled connection back instead of holding it.
                conn.batch_execute(&format!(
                    "SET statement_timeout = {}",
                    self.statement_timeout_ms
                ))
                .map_err(r2d2::Error::QueryError)?;
                Ok(DbConn::Postgres(conn))
            }
        }
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = Pooled;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<Pooled, Self::Error> {
        Ok(Pooled {
            conn: self.open()?,
            returned_at: Instant::now(),
            suspect: false,
        })
    }

    /// On check-out (PostgreSQL only): a ping, unless the connection was given back within
    /// [`PING_AFTER_IDLE`] after work that went well.
    fn is_valid(&self, pooled: &mut Pooled) -> Result<(), Self::Error> {
        if pooled.returned_at.elapsed() < PING_AFTER_IDLE {
            return Ok(());
        }
        pooled
            .conn
            .batch_execute("SELECT 1")
            .map_err(r2d2::Error::QueryError)
    }

    /// On give-back: a PostgreSQL connection whose work failed other than by a refusal (no
    /// such row, a constraint) may have lost its server, and diesel cannot tell a dead socket:
    /// it is closed rather than handed to the next request. A SQLite connection is a file
    /// handle and is kept.
    fn has_broken(&self, pooled: &mut Pooled) -> bool {
        pooled.returned_at = Instant::now();
        pooled.suspect && matches!(pooled.conn, DbConn::Postgres(_))
    }
}

/// A handle on the connection pool; cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: r2d2::Pool<Manager>,
    /// Opens the dedicated connection migrations run on.
    manager: Manager,
}

impl Db {
    /// Opens the pool as `[database]` says. Does not migrate.
    ///
    /// SQLite: creates the file's folder, and fails now if the file cannot be opened (a
    /// configuration error). PostgreSQL: never waits for the server, so a process started
    /// during an outage comes up, reports not ready, and recovers by itself; until then each
    /// query fails with [`DbError::Unavailable`] after `connect_timeout_secs`.
    pub fn open(url: &str, settings: &DatabaseSettings) -> Result<Self, DbError> {
        Self::open_with(
            url,
            PoolOptions {
                pool_size: settings.pool_size,
                connect_timeout: Duration::from_secs(settings.connect_timeout_secs),
                busy_timeout_ms: settings.busy_timeout_ms,
                statement_timeout_ms: settings.statement_timeout_ms,
            },
        )
    }

    /// [`Db::open`] with the default statement timeout. Prefer `open`, which takes every
    /// `[database]` setting.
    pub fn connect(
        url: &str,
        pool_size: u32,
        connect_timeout: Duration,
        busy_timeout_ms: u64,
    ) -> Result<Self, DbError> {
        Self::open_with(
            url,
            PoolOptions {
                pool_size,
                connect_timeout,
                busy_timeout_ms,
                statement_timeout_ms: crate::config::Settings::default()
                    .database
                    .statement_timeout_ms,
            },
        )
    }

    fn open_with(url: &str, options: PoolOptions) -> Result<Self, DbError> {
        let backend = match Backend::from_url(url)? {
            Backend::Sqlite(path) => {
                create_parent_folder(&path)?;
                Backend::Sqlite(path)
            }
            Backend::Postgres(url) => {
                Backend::Postgres(with_connect_timeout(&url, options.connect_timeout).into())
            }
        };
        let manager = Manager {
            backend,
            busy_timeout_ms: options.busy_timeout_ms,
            statement_timeout_ms: options.statement_timeout_ms,
        };
        let builder = r2d2::Pool::builder()
            .max_size(options.pool_size)
            // One connection at start, the rest when load asks for them: each SQLite connection
            // costs an open and its own page cache, and start-up waited for all of them.
            .min_idle(Some(1))
            .connection_timeout(options.connect_timeout);
        let pool = match manager.backend {
            // A SQLite connection is a file handle: it cannot go stale the way a socket can, so
            // it is not pinged (`SELECT 1`) every time it is taken from the pool.
            Backend::Sqlite(_) => builder.test_on_check_out(false).build(manager.clone())?,
            // A PostgreSQL connection can die with its server; a ping on check-out after an idle
            // spell, or a failure while in use, finds it (diesel cannot tell a dead socket
            // otherwise) so the pool replaces it.
            Backend::Postgres(_) => builder.build_unchecked(manager.clone()),
        };
        tracing::debug!(backend = ?manager.backend, "database pool opened");
        Ok(Self { pool, manager })
    }

    /// Applies pending migrations; returns how many ran. Safe when several instances start
    /// at once: each migration is applied exactly once (see `db::migrations::apply`).
    pub fn migrate(&self) -> Result<usize, DbError> {
        // A connection of its own, closed afterwards: a migration may outlast the pool's
        // statement timeout, and closing it releases the migration lock whatever happened.
        let mut conn = self
            .manager
            .open()
            .map_err(|e| DbError::Unavailable(e.to_string()))?;
        migrations::apply(&mut conn)
    }

    /// How many known migrations the database lacks (0: the schema is current). Read only.
    pub fn pending_migrations(&self) -> Result<usize, DbError> {
        self.with_conn(migrations::pending)
    }

    /// A round trip to the database, for readiness checks.
    pub async fn ping(&self) -> Result<(), DbError> {
        self.run(|conn| Ok(conn.batch_execute("SELECT 1")?)).await
    }

    /// Runs diesel work on the calling thread. Only for code already on the blocking pool, such
    /// as oxide-auth's synchronous primitives on the blocking pool.
    pub fn with_conn<T>(
        &self,
        work: impl FnOnce(&mut DbConn) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        metered(&self.pool, self.backend_label(), Instant::now(), work)
    }

    /// Runs blocking diesel work on the blocking thread pool, never on the async executor.
    pub async fn run<T, F>(&self, work: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, DbError> + Send + 'static,
    {
        let (pool, backend, started) = (self.pool.clone(), self.backend_label(), Instant::now());
        tokio::task::spawn_blocking(move || metered(&pool, backend, started, work))
            .await
            .map_err(|e| DbError::Unavailable(e.to_string()))?
    }

    /// The backend as the metrics name it.
    fn backend_label(&self) -> &'static str {
        match self.manager.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }
}

/// Runs `work` on a pooled connection and records, for the metrics, the wait for the
/// connection, the time since `started` (the blocking-pool hop included, for [`Db::run`]) and
/// the kind of any error.
fn metered<T>(
    pool: &r2d2::Pool<Manager>,
    backend: &'static str,
    started: Instant,
    work: impl FnOnce(&mut DbConn) -> Result<T, DbError>,
) -> Result<T, DbError> {
    let asked = Instant::now();
    let conn = pool.get();
    let waited = asked.elapsed();
    let result = match conn {
        Ok(mut pooled) => {
            let result = work(&mut pooled.conn);
            pooled.suspect = result.as_ref().is_err_and(|e| !e.is_refusal());
            result
        }
        Err(e) => Err(e.into()),
    };
    let error = result.as_ref().err().map(DbError::kind);
    crate::telemetry::db_work(backend, waited, started.elapsed(), error);
    result
}

fn create_parent_folder(path: &str) -> Result<(), DbError> {
    if let Some(folder) = Path::new(path)
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
    {
        std::fs::create_dir_all(folder).map_err(|e| {
            DbError::Unavailable(format!("cannot create {}: {e}", folder.display()))
        })?;
    }
    Ok(())
}
