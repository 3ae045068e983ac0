//! Durable storage: the connection enum (one variant per backend), its pool, migrations, and
//! the one helper that keeps blocking diesel work off the async executor.

pub mod models;
pub mod schema;

use std::{path::Path, time::Duration};

use diesel::{connection::SimpleConnection, prelude::*, r2d2};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// A connection to whichever backend the URL names. PostgreSQL is the next variant; every query
/// is written once against this enum.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Sqlite(diesel::SqliteConnection),
}

/// The backend a database URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// A file path; its folder is created on first use.
    Sqlite(String),
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Self, DbError> {
        match url.split_once("://") {
            Some(("sqlite", path)) if !path.is_empty() => Ok(Self::Sqlite(path.to_owned())),
            _ => Err(DbError::UnsupportedUrl),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("unsupported database URL (expected sqlite://PATH)")]
    UnsupportedUrl,
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("database migration failed: {0}")]
    Migration(String),
}

impl From<r2d2::PoolError> for DbError {
    fn from(e: r2d2::PoolError) -> Self {
        Self::Unavailable(e.to_string())
    }
}

/// Builds each pooled connection explicitly for its backend: `MultiConnection::establish`
/// would hide the real connection error behind a generic one.
#[derive(Debug, Clone)]
struct Manager {
    backend: Backend,
    busy_timeout_ms: u64,
}

impl r2d2::ManageConnection for Manager {
    type Connection = DbConn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConn, Self::Error> {
        match &self.backend {
            Backend::Sqlite(path) => {
                let mut conn = diesel::SqliteConnection::establish(path)
                    .map_err(r2d2::Error::ConnectionError)?;
                // WAL lets readers run beside the one writer; NORMAL sync is durable in WAL mode
                // across process crashes; foreign keys are off in SQLite unless asked for.
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
                    self.busy_timeout_ms
                ))
                .map_err(r2d2::Error::QueryError)?;
                Ok(DbConn::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), Self::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, _: &mut DbConn) -> bool {
        false
    }
}

/// A handle on the connection pool; cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: r2d2::Pool<Manager>,
}

impl Db {
    /// Opens the pool (creating a SQLite file's folder if needed). Does not migrate.
    pub fn connect(
        url: &str,
        pool_size: u32,
        connect_timeout: Duration,
        busy_timeout_ms: u64,
    ) -> Result<Self, DbError> {
        let backend = Backend::from_url(url)?;
        let Backend::Sqlite(path) = &backend;
        if let Some(folder) = Path::new(path)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
        {
            std::fs::create_dir_all(folder).map_err(|e| {
                DbError::Unavailable(format!("cannot create {}: {e}", folder.display()))
            })?;
        }
        let pool = r2d2::Pool::builder()
            .max_size(pool_size)
            .connection_timeout(connect_timeout)
            .build(Manager {
                backend,
                busy_timeout_ms,
            })?;
        Ok(Self { pool })
    }

    /// Applies pending migrations; returns how many ran.
    pub fn migrate(&self) -> Result<usize, DbError> {
        let mut conn = self.pool.get()?;
        let applied = match &mut *conn {
            DbConn::Sqlite(conn) => conn
                .run_pending_migrations(SQLITE_MIGRATIONS)
                .map_err(|e| DbError::Migration(e.to_string()))?,
        };
        Ok(applied.len())
    }

    /// Runs diesel work on the calling thread. Only for code already on the blocking pool, such
    /// as oxide-auth's synchronous primitives inside `web::block`.
    pub fn with_conn<T>(
        &self,
        work: impl FnOnce(&mut DbConn) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        let mut conn = self.pool.get()?;
        work(&mut conn)
    }

    /// Runs blocking diesel work on the blocking thread pool, never on the async executor.
    pub async fn run<T, F>(&self, work: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, DbError> + Send + 'static,
    {
        let pool = self.pool.clone();
        actix_web::web::block(move || {
            let mut conn = pool.get()?;
            work(&mut conn)
        })
        .await
        .map_err(|e| DbError::Unavailable(e.to_string()))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_choose_the_backend() {
        assert_eq!(
            Backend::from_url("sqlite://data/x.db").unwrap(),
            Backend::Sqlite("data/x.db".into())
        );
        assert!(Backend::from_url("sqlite://").is_err());
        assert!(Backend::from_url("mysql://localhost/x").is_err());
        assert!(Backend::from_url("x.db").is_err());
    }

    #[test]
    fn migrations_run_once_and_create_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/nested/oneid.db", dir.path().display());
        let db = Db::connect(&url, 2, Duration::from_secs(5), 1000).unwrap();
        assert!(db.migrate().unwrap() >= 1);
        assert_eq!(db.migrate().unwrap(), 0);
        assert!(dir.path().join("nested/oneid.db").exists());
    }
}
