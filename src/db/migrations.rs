//! Schema migrations: the two embedded folders (`migrations/sqlite` and `migrations/postgres`,
//! mirrored name for name), applying them so that concurrent instances never apply one twice,
//! and counting what is pending. The only backend-specific SQL of the crate lives here.

use diesel::migration::MigrationSource;
use diesel::{
    backend::Backend as DieselBackend, connection::SimpleConnection, pg::Pg, prelude::*,
    sql_types::Bool, sqlite::Sqlite,
};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::{DbConn, DbError};

pub(super) const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub(super) const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// The session-level advisory lock `oneid migrate` holds on PostgreSQL (the bytes of
/// "oneidmig"). Database-wide: instances on other schemas of one database take turns, which
/// costs nothing but a short wait.
const POSTGRES_MIGRATION_LOCK: i64 = 0x6f6e_6569_646d_6967;

diesel::table! {
    /// diesel_migrations' bookkeeping: one row per applied migration. Read here, never written.
    __diesel_schema_migrations (version) {
        version -> Text,
    }
}

/// Applies every pending migration, each exactly once even when several processes migrate the
/// same database at the same moment. Returns how many this call applied.
///
/// SQLite: the whole run is one `BEGIN IMMEDIATE` transaction, so the write lock is taken
/// before reading which migrations ran; a second process waits (up to the busy timeout) and
/// then finds nothing left to do. PostgreSQL: the run holds a session advisory lock, released
/// afterwards whether it succeeded or not (and by the server if the connection dies).
pub(super) fn apply(conn: &mut DbConn) -> Result<usize, DbError> {
    match conn {
        DbConn::Sqlite(conn) => conn.immediate_transaction(|conn| run_pending(conn, SQLITE)),
        DbConn::Postgres(conn) => {
            // Waiting for another instance's migrations, or running a slow one, is not a
            // runaway statement: no timeout on this dedicated connection.
            conn.batch_execute("SET statement_timeout = 0")?;
            conn.batch_execute(&format!(
                "SELECT pg_advisory_lock({POSTGRES_MIGRATION_LOCK})"
            ))?;
            let applied = run_pending(conn, POSTGRES);
            let unlocked = conn.batch_execute(&format!(
                "SELECT pg_advisory_unlock({POSTGRES_MIGRATION_LOCK})"
            ));
            let applied = applied?;
            unlocked?;
            Ok(applied)
        }
    }
}

fn run_pending<C, DB>(conn: &mut C, source: EmbeddedMigrations) -> Result<usize, DbError>
where
    DB: DieselBackend,
    C: MigrationHarness<DB>,
{
    conn.run_pending_migrations(source)
        .map(|applied| applied.len())
        .map_err(|e| DbError::Migration(e.to_string()))
}

/// How many embedded migrations the database has not applied. Reads only: a readiness probe
/// must not create diesel's bookkeeping table in a database nobody migrated yet.
pub(super) fn pending(conn: &mut DbConn) -> Result<usize, DbError> {
    let (known, table_exists) = match conn {
        DbConn::Sqlite(conn) => (
            versions::<Sqlite>(SQLITE)?,
            diesel::select(diesel::dsl::sql::<Bool>(
                "EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '__diesel_schema_migrations')",
            ))
            .get_result::<bool>(conn)?,
        ),
        DbConn::Postgres(conn) => (
            versions::<Pg>(POSTGRES)?,
            // Looked up through search_path, where diesel creates it.
            diesel::select(diesel::dsl::sql::<Bool>(
                "to_regclass('__diesel_schema_migrations') IS NOT NULL",
            ))
            .get_result::<bool>(conn)?,
        ),
    };
    let applied: Vec<String> = if table_exists {
        __diesel_schema_migrations::table
            .select(__diesel_schema_migrations::version)
            .load(conn)?
    } else {
        Vec::new()
    };
    Ok(known.iter().filter(|v| !applied.contains(v)).count())
}

/// The versions (the folder names' leading stamps, digits only) a source holds.
fn versions<DB: DieselBackend>(source: EmbeddedMigrations) -> Result<Vec<String>, DbError> {
    Ok(MigrationSource::<DB>::migrations(&source)
        .map_err(|e| DbError::Migration(e.to_string()))?
        .iter()
        .map(|m| m.name().version().to_string())
        .collect())
}

#[cfg(test)]
mod tests {
    use std::{collections::BTreeMap, path::Path};

    /// Folder name -> names of the files inside it.
    fn listing(backend: &str) -> BTreeMap<String, Vec<String>> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(backend);
        let names = |dir: &Path| -> Vec<String> {
            let mut names: Vec<String> = std::fs::read_dir(dir)
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        };
        names(&root)
            .into_iter()
            .map(|folder| {
                let files = names(&root.join(&folder));
                (folder, files)
            })
            .collect()
    }

    #[test]
    fn migration_folders_mirror_each_other() {
        let sqlite = listing("sqlite");
        let postgres = listing("postgres");
        assert!(!sqlite.is_empty());
        assert_eq!(
            sqlite, postgres,
            "migrations/sqlite and migrations/postgres must hold the same folders with the same files"
        );
        for (folder, files) in &sqlite {
            assert_eq!(files, &["down.sql", "up.sql"], "{folder}");
        }
    }
}
