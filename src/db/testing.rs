//! Test support, shared by the unit tests here and the integration tests: a fresh PostgreSQL
//! schema per test, dropped when its guard goes out of scope.
//!
//! The PostgreSQL tests run when `ONEID_TEST_DATABASE_URL` names a database the tests may create
//! schemas in, for example `postgres://postgres@127.0.0.1:5432/test`; unset, they are skipped
//! with one line on standard error. Each test gets its own `oneid_test_<random>` schema, so
//! tests run in parallel and leave nothing behind.
//!
//! ```no_run
//! use oneid::db::{Db, testing::PgTestSchema};
//!
//! let Some(schema) = PgTestSchema::from_env() else {
//!     return; // skipped: ONEID_TEST_DATABASE_URL is unset
//! };
//! let db = Db::connect(schema.url(), 2, std::time::Duration::from_secs(5), 1000).unwrap();
//! db.migrate().unwrap();
//! // ... `db` is dropped before `schema`, whose Drop removes the schema and every table in it.
//! ```

use std::{sync::Once, time::Duration};

use diesel::{Connection, PgConnection, connection::SimpleConnection};
use rand::Rng;

use super::{Db, DbError, with_connect_timeout};
use crate::domain::{mask_url_password, redact_url};

/// The environment variable naming the PostgreSQL database tests may use.
pub const TEST_DATABASE_URL: &str = "ONEID_TEST_DATABASE_URL";

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A schema of its own in the test database; dropped, with everything in it, on `Drop`.
///
/// [`PgTestSchema::url`] puts the schema first on libpq's `search_path`, so the tables of the
/// migrations and diesel's own `__diesel_schema_migrations` are created inside it.
#[derive(Debug)]
pub struct PgTestSchema {
    base_url: String,
    name: String,
    url: String,
}

impl PgTestSchema {
    /// A fresh schema in the database `ONEID_TEST_DATABASE_URL` names; `None` when the variable
    /// is unset or empty, after saying once per process on standard error that the PostgreSQL
    /// tests are skipped and how to run them.
    ///
    /// # Panics
    ///
    /// When the variable is set but the schema cannot be created: a test asked to run against
    /// PostgreSQL must not pass silently without it.
    pub fn from_env() -> Option<Self> {
        static SKIPPED: Once = Once::new();
        match std::env::var(TEST_DATABASE_URL) {
            Ok(url) if !url.trim().is_empty() => Some(
                Self::create(url.trim())
                    .unwrap_or_else(|e| panic!("{TEST_DATABASE_URL} is set but unusable: {e}")),
            ),
            _ => {
                SKIPPED.call_once(|| {
                    say_skipped(&format!(
                        "PostgreSQL tests SKIPPED: set {TEST_DATABASE_URL} (e.g. postgres://postgres@127.0.0.1:5432/test) to run them"
                    ));
                });
                None
            }
        }
    }

    /// Creates `oneid_test_<random>` in the database `base_url` names (a `postgres://` or
    /// `postgresql://` URL without an `options` parameter of its own).
    pub fn create(base_url: &str) -> Result<Self, DbError> {
        let name = format!("oneid_test_{:016x}", rand::thread_rng().r#gen::<u64>());
        admin_connection(base_url)?
            .batch_execute(&format!("CREATE SCHEMA {name}"))
            .map_err(DbError::Query)?;
        let separator = if base_url.contains('?') { '&' } else { '?' };
        // `-c search_path=<schema>`, percent-encoded for the URL.
        let url = format!("{base_url}{separator}options=-csearch_path%3D{name}");
        Ok(Self {
            base_url: base_url.to_owned(),
            name,
            url,
        })
    }

    /// The database URL that puts every unqualified table into this schema.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The schema's name, `oneid_test_` and 16 hex digits.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for PgTestSchema {
    fn drop(&mut self) {
        let dropped = admin_connection(&self.base_url).and_then(|mut conn| {
            conn.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name))
                .map_err(DbError::Query)
        });
        if let Err(e) = dropped {
            // Never panic in Drop (it may run while a failed test unwinds); say what is left.
            eprintln!("could not drop test schema {}: {e}", self.name);
        }
    }
}

/// A fresh, migrated database for a benchmark program (`examples/`): `sqlite` and a file path
/// (the file is replaced), or `postgres` and a database URL (a schema of its own, dropped with
/// the value). Keep it as long as its [`BenchDatabase::db`].
pub struct BenchDatabase {
    pub db: Db,
    /// Declared after `db`, so that the pool goes before its schema is dropped.
    _schema: Option<PgTestSchema>,
}

impl BenchDatabase {
    pub fn create(backend: &str, target: &str) -> Result<Self, DbError> {
        let (url, schema) = match backend {
            "postgres" => {
                let schema = PgTestSchema::create(target)?;
                (schema.url().to_owned(), Some(schema))
            }
            "sqlite" => {
                // The WAL and shared-memory files go too: left behind, SQLite would replay a
                // stale WAL into the new database.
                for path in [
                    target.to_owned(),
                    format!("{target}-wal"),
                    format!("{target}-shm"),
                ] {
                    let _ = std::fs::remove_file(path);
                }
                (format!("sqlite://{target}"), None)
            }
            other => {
                return Err(DbError::Unavailable(format!(
                    "no backend is called {other:?}: sqlite or postgres"
                )));
            }
        };
        let db = Db::connect(&url, 4, Duration::from_secs(30), 5_000)?;
        db.migrate()?;
        Ok(Self {
            db,
            _schema: schema,
        })
    }
}

fn admin_connection(base_url: &str) -> Result<PgConnection, DbError> {
    if !matches!(
        super::Backend::from_url(base_url),
        Ok(super::Backend::Postgres(_))
    ) {
        return Err(DbError::Unavailable(format!(
            "not a postgres:// URL: {}",
            redact_url(base_url)
        )));
    }
    PgConnection::establish(&with_connect_timeout(base_url, CONNECT_TIMEOUT))
        .map_err(|e| DbError::Unavailable(mask_url_password(e.to_string(), base_url)))
}

/// Tells the person running `cargo test` that some tests were skipped. Written straight to
/// standard error, past the test harness's capture of `eprintln!`, so it shows even when every
/// test passes.
pub fn say_skipped(message: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{message}");
}

/// A migrated SQLite database in a fresh temporary folder, for the crate's unit tests; it
/// lasts as long as the returned folder.
#[cfg(test)]
pub(crate) fn temp_sqlite() -> (tempfile::TempDir, super::Db) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let url = format!("sqlite://{}", dir.path().join("oneid.db").display());
    let db =
        super::Db::open(&url, &crate::config::Settings::default().database).expect("SQLite opens");
    db.migrate().expect("the migrations apply");
    (dir, db)
}
