//! The pool, the migrations and every model table, on SQLite always and on PostgreSQL when
//! `ONEID_TEST_DATABASE_URL` is set (see [`super::testing`]); the same checks run on both.

use std::{
    sync::{Arc, Barrier, Mutex},
    time::{Duration, Instant},
};

use chrono::{DateTime, TimeZone, Utc};
use diesel::connection::{Connection, InstrumentationEvent, SimpleConnection};
use url::Url;

use super::{
    Backend, Db, DbError,
    models::{account, backchannel, client, grant, passkey, second_factor, session, signing_key},
    testing::PgTestSchema,
    with_connect_timeout,
};
use crate::{
    config::Settings,
    domain::{
        AccountId, ClientAuth, ClientId, ClientSecret, DisplayName, Email, GrantType, PasswordHash,
        PhoneNumber, RedirectUri, Region, Scopes,
    },
};

/// How many migration folders there are (each backend has the same).
fn migration_count() -> usize {
    std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))
        .unwrap()
        .count()
}

fn sqlite_db(dir: &tempfile::TempDir) -> Db {
    let url = format!("sqlite://{}/oneid.db", dir.path().display());
    Db::connect(&url, 2, Duration::from_secs(5), 5_000).unwrap()
}

fn postgres_db(schema: &PgTestSchema) -> Db {
    Db::open(schema.url(), &Settings::default().database).unwrap()
}

/// A time with microseconds (PostgreSQL keeps no finer), so round trips compare exactly.
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 12, 0, 0).unwrap() + chrono::Duration::microseconds(123_456)
}

#[test]
fn urls_choose_the_backend() {
    assert_eq!(
        Backend::from_url("sqlite://data/x.db").unwrap(),
        Backend::Sqlite("data/x.db".into())
    );
    for url in [
        "postgres://oneid@db:5432/oneid",
        "postgresql://oneid:pw@db/oneid?sslmode=require",
        "postgresql:///oneid?host=/run/postgresql",
    ] {
        assert_eq!(
            Backend::from_url(url).unwrap(),
            Backend::Postgres(url.into())
        );
    }
    assert!(Backend::from_url("sqlite://").is_err());
    assert!(Backend::from_url("mysql://localhost/x").is_err());
    assert!(Backend::from_url("x.db").is_err());
}

#[test]
fn connect_timeout_is_added_unless_the_url_sets_one() {
    let five = Duration::from_secs(5);
    assert_eq!(
        with_connect_timeout("postgres://db/oneid", five),
        "postgres://db/oneid?connect_timeout=5"
    );
    assert_eq!(
        with_connect_timeout("postgres://db/oneid?sslmode=require", five),
        "postgres://db/oneid?sslmode=require&connect_timeout=5"
    );
    assert_eq!(
        with_connect_timeout("postgres://db/oneid?connect_timeout=30", five),
        "postgres://db/oneid?connect_timeout=30"
    );
    assert_eq!(
        with_connect_timeout("postgres://db/x", Duration::from_millis(1_500)),
        "postgres://db/x?connect_timeout=2"
    );
}

#[test]
fn the_password_never_shows_in_debug_output() {
    for url in [
        "postgres://oneid:hunter2@db:5432/oneid",
        "postgres://oneid@db/oneid?password=hunter2&sslmode=require",
        "postgres://oneid:hunter%32@db/oneid",
    ] {
        let shown = format!("{:?}", Backend::from_url(url).unwrap());
        assert!(!shown.contains("hunter"), "{shown}");
        assert!(shown.contains("db"), "{shown}");
    }
    let message = crate::domain::mask_url_password(
        "invalid percent-encoded token: \"hunter%32\", i.e. hunter2".into(),
        "postgres://oneid:hunter%32@db/oneid",
    );
    assert!(!message.contains("hunter"), "{message}");
}

#[test]
fn migrations_run_once_and_create_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/nested/oneid.db", dir.path().display());
    let db = Db::connect(&url, 2, Duration::from_secs(5), 1000).unwrap();
    assert_eq!(db.pending_migrations().unwrap(), migration_count());
    assert_eq!(db.migrate().unwrap(), migration_count());
    assert_eq!(db.migrate().unwrap(), 0);
    assert_eq!(db.pending_migrations().unwrap(), 0);
    assert!(dir.path().join("nested/oneid.db").exists());
}

/// Four pools migrating one database at the same moment, as instances starting together
/// would: every migration is applied once, and none fails. (Without the lock, SQLite reports
/// "table accounts already exists" and PostgreSQL a duplicate key within a few rounds.)
fn migrate_concurrently(open: impl Fn() -> Db) {
    let dbs: Vec<Db> = (0..4).map(|_| open()).collect();
    let barrier = Arc::new(Barrier::new(dbs.len()));
    let runs: Vec<_> = dbs
        .iter()
        .cloned()
        .map(|db| {
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                db.migrate()
            })
        })
        .collect();
    let applied: Vec<usize> = runs
        .into_iter()
        .map(|run| run.join().unwrap().unwrap())
        .collect();
    assert_eq!(
        applied.iter().sum::<usize>(),
        migration_count(),
        "{applied:?}"
    );
    assert_eq!(dbs[0].pending_migrations().unwrap(), 0);
    assert_eq!(dbs[1].migrate().unwrap(), 0);
}

#[test]
fn concurrent_sqlite_migrations_apply_each_migration_once() {
    for _ in 0..10 {
        let dir = tempfile::tempdir().unwrap();
        migrate_concurrently(|| sqlite_db(&dir));
    }
}

/// One row through every model function that writes or reads it.
/// An account to create, with an email address and a stored hash that no password matches.
fn new_account(email: &str, name: &str) -> account::NewAccount {
    account::NewAccount {
        phone: None,
        email: Some(Email::parse(email).unwrap()),
        display_name: DisplayName::parse(name).unwrap(),
        password_hash: Some(PasswordHash::from_stored("$argon2id$v=19$stub".into())),
    }
}

/// A confidential first-party client with a back-channel logout URI.
fn talk(now: DateTime<Utc>) -> client::Client {
    client::Client {
        name: "Talk".into(),
        auth: ClientAuth::SecretBasic(ClientSecret::generate().digest()),
        redirect_uris: vec![RedirectUri::parse("https://talk.example.com/cb").unwrap()],
        backchannel_logout_uri: Some(Url::parse("https://talk.example.com/bcl").unwrap()),
        scopes: Scopes::parse_strict("openid profile").unwrap(),
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        first_party: true,
        ..client::Client::example(now)
    }
}

fn round_trip_every_model(db: &Db) {
    let now = t0();
    db.with_conn(|conn| {
        // accounts
        let new = new_account("ravi@example.com", "Ravi");
        let created = account::create(conn, &new, now).unwrap();
        assert_eq!(created.created_at, now);
        assert_eq!(created.status, account::AccountStatus::Active);
        let found = account::find_by_email(conn, new.email.as_ref().unwrap())?.unwrap();
        assert_eq!(found.id, created.id);
        assert_eq!(found.sub.as_str(), created.sub.as_str());
        assert!(matches!(
            account::create(conn, &new, now),
            Err(account::CreateError::EmailTaken)
        ));
        assert_eq!(account::list(conn)?.len(), 1);

        // clients
        let mut registered = talk(now);
        client::insert(conn, &registered)?;
        let loaded = client::find(conn, &registered.id)?.unwrap();
        assert_eq!(loaded.auth, registered.auth);
        assert_eq!(loaded.redirect_uris, registered.redirect_uris);
        assert_eq!(loaded.scopes, registered.scopes);
        assert_eq!(loaded.grant_types, registered.grant_types);
        assert!(loaded.first_party);
        assert_eq!(loaded.created_at, now);
        registered.name = "Talk 2".into();
        assert!(client::update(conn, &registered, now)?);
        assert_eq!(client::list(conn)?[0].name, "Talk 2");

        // signing_keys: bytes that are not text survive
        let sealed = [0u8, 1, 0x7f, 0x80, 0xff, 0];
        let key = signing_key::NewSigningKey {
            kid: "k1",
            alg: "ES256",
            public_jwk: "{}",
            sealed_private: &sealed,
            created_at: now,
            activates_at: now,
        };
        signing_key::insert(conn, &key)?;
        signing_key::insert(
            conn,
            &signing_key::NewSigningKey {
                kid: "k2",
                created_at: now + chrono::Duration::seconds(1),
                ..key
            },
        )?;
        let stored = signing_key::find(conn, "k1")?.unwrap();
        assert_eq!(stored.sealed_private, sealed);
        assert_eq!(stored.created_at, now);
        let day = chrono::Duration::days(1);
        assert_eq!(
            signing_key::retire_previous(conn, "ES256", "k2", now, day)?,
            1
        );
        assert_eq!(signing_key::load_published(conn, now)?.len(), 2);
        assert_eq!(signing_key::load_published(conn, now + day)?.len(), 1);

        // grants, refresh_tokens, consents
        let issued = grant::Grant {
            id: "g1".into(),
            client_id: registered.id.clone(),
            account_id: Some(created.id),
            scope: Scopes::parse_strict("openid").unwrap(),
            created_at: now,
            expires_at: now + day,
            revoked_at: None,
            sid: Some("sid-1".into()),
        };
        grant::insert(conn, &issued)?;
        let loaded = grant::find(conn, "g1")?.unwrap();
        assert_eq!(loaded.expires_at, issued.expires_at);
        assert_eq!(loaded.account_id, Some(created.id));
        assert_eq!(grant::live_for_session(conn, "sid-1", now)?.len(), 1);
        grant::insert_refresh_token(conn, "rt1", "g1", now)?;
        assert!(matches!(
            grant::use_refresh_token(conn, "rt1", now)?,
            grant::RefreshUse::Fresh(_)
        ));
        assert!(matches!(
            grant::use_refresh_token(conn, "rt1", now)?,
            grant::RefreshUse::Reused(_)
        ));
        assert!(grant::grant_of_refresh_token(conn, "rt1")?.unwrap().1);
        let scopes = Scopes::parse_strict("openid email").unwrap();
        grant::save_consent(conn, created.id, &registered.id, &scopes, now)?;
        grant::save_consent(conn, created.id, &registered.id, &scopes, now)?;
        assert_eq!(
            grant::consent(conn, created.id, &registered.id)?,
            Some(scopes)
        );
        assert!(grant::revoke(conn, "g1", now)?);
        assert_eq!(grant::revoke_all_for_account(conn, created.id, now)?, 0);
        assert_eq!(grant::find(conn, "g1")?.unwrap().revoked_at, Some(now));

        // backchannel_deliveries
        backchannel::enqueue(
            conn,
            "d1",
            registered.id.as_str(),
            "https://talk.example.com/bcl",
            "token",
            now,
        )?;
        let claimed = backchannel::claim_due(conn, now, chrono::Duration::seconds(30), 10)?;
        assert_eq!(claimed.len(), 1);
        assert!(backchannel::claim_due(conn, now, chrono::Duration::seconds(30), 10)?.is_empty());
        backchannel::failed(conn, "d1", "503", Some(now), now)?;
        assert_eq!(backchannel::claim_due(conn, now, day, 10)?[0].attempts, 1);
        backchannel::delivered(conn, "d1", now)?;
        assert_eq!(backchannel::counts(conn)?, (0, 1, 0));

        // Removing the client cascades to its grants (and their tokens), consents, deliveries.
        assert!(client::remove(conn, &registered.id)?);
        assert!(grant::find(conn, "g1")?.is_none());
        assert!(grant::grant_of_refresh_token(conn, "rt1")?.is_none());
        assert_eq!(grant::consent(conn, created.id, &registered.id)?, None);
        assert_eq!(backchannel::counts(conn)?, (0, 0, 0));
        Ok::<_, DbError>(())
    })
    .unwrap();
}

#[test]
fn sqlite_round_trips_every_model() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_db(&dir);
    db.migrate().unwrap();
    round_trip_every_model(&db);
}

/// Each pooled SQLite connection is set up as `Manager::open` says: WAL, NORMAL sync, foreign
/// keys, the busy timeout from the settings, and the longer checkpoint interval.
#[test]
fn sqlite_connections_get_the_settings() {
    use diesel::{
        QueryableByName, RunQueryDsl,
        dsl::sql,
        sql_types::{BigInt, Integer, Text},
    };

    #[derive(QueryableByName)]
    struct Checkpoint {
        #[diesel(sql_type = BigInt)]
        wal_autocheckpoint: i64,
    }

    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_db(&dir);
    let (journal, synchronous, foreign_keys, busy, checkpoint) = db
        .with_conn(|conn| {
            let journal: String = diesel::select(sql::<Text>(
                "(SELECT journal_mode FROM pragma_journal_mode)",
            ))
            .get_result(conn)?;
            let synchronous: i32 = diesel::select(sql::<Integer>(
                "(SELECT synchronous FROM pragma_synchronous)",
            ))
            .get_result(conn)?;
            let foreign_keys: i32 = diesel::select(sql::<Integer>(
                "(SELECT foreign_keys FROM pragma_foreign_keys)",
            ))
            .get_result(conn)?;
            let busy: i32 =
                diesel::select(sql::<Integer>("(SELECT timeout FROM pragma_busy_timeout)"))
                    .get_result(conn)?;
            let checkpoint: Checkpoint =
                diesel::sql_query("PRAGMA wal_autocheckpoint").get_result(conn)?;
            Ok((
                journal,
                synchronous,
                foreign_keys,
                busy,
                checkpoint.wal_autocheckpoint,
            ))
        })
        .unwrap();
    assert_eq!(journal, "wal");
    assert_eq!(synchronous, 1, "NORMAL");
    assert_eq!(foreign_keys, 1);
    assert_eq!(busy, 5_000, "as sqlite_db asks");
    assert_eq!(checkpoint, i64::from(super::SQLITE_CHECKPOINT_PAGES));
}

/// Every lookup by a unique key is sent without `LIMIT` (see [`super::models`]): with a bound
/// `LIMIT`, SQLite compiles the statement again on every run, whatever diesel caches.
#[test]
fn lookups_by_a_unique_key_send_no_limit() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_db(&dir);
    db.migrate().unwrap();
    let sent = Arc::new(Mutex::new(Vec::<String>::new()));
    let now = t0();
    db.with_conn(|conn| {
        let new = account::NewAccount {
            phone: Some(PhoneNumber::parse("98765 43210", Region::default()).unwrap()),
            ..new_account("asha@example.com", "Asha")
        };
        let asha = account::create(conn, &new, now).unwrap();
        let log = sent.clone();
        conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
            if let InstrumentationEvent::StartQuery { query, .. } = event {
                log.lock().unwrap().push(query.to_string());
            }
        });
        let (client, digest) = (ClientId::generate(), "no-such-digest");
        account::find_by_id(conn, asha.id)?.unwrap();
        account::find_by_phone(conn, new.phone.as_ref().unwrap())?.unwrap();
        account::find_by_email(conn, new.email.as_ref().unwrap())?.unwrap();
        account::password_changed_at(conn, asha.id)?;
        account::name_key_of(conn, asha.id)?.unwrap();
        account::reserve_login_attempt(conn, asha.id, now, chrono::Duration::minutes(15))?.unwrap();
        client::find(conn, &client)?;
        grant::find(conn, "no-such-grant")?;
        grant::grant_of_refresh_token(conn, digest)?;
        grant::use_refresh_token(conn, digest, now)?;
        grant::consent(conn, asha.id, &client)?;
        session::has_ended(conn, "no-such-session")?;
        grant::code_standing(conn, asha.id, "no-such-session", &client)?.unwrap();
        signing_key::find(conn, "no-such-kid")?;
        passkey::find_by_credential_id(conn, "no-such-credential")?;
        second_factor::find_totp(conn, asha.id)?;
        Ok::<_, DbError>(())
    })
    .unwrap();
    let sent = sent.lock().unwrap();
    let selects: Vec<_> = sent
        .iter()
        .filter(|sql| sql.starts_with("SELECT"))
        .collect();
    // One SELECT per lookup above: sixteen, so none went unrecorded.
    assert_eq!(selects.len(), 16, "{sent:#?}");
    for sql in &selects {
        assert!(!sql.contains("LIMIT"), "{sql}");
    }
}

#[tokio::test]
async fn an_unreachable_postgres_does_not_stop_the_start_and_hides_the_password() {
    // Port 1 refuses at once; the password must appear in no error.
    let url = "postgres://oneid:hunter2@127.0.0.1:1/oneid";
    let started = Instant::now();
    let db = Db::connect(url, 2, Duration::from_secs(1), 1000).unwrap();
    let errors = [
        db.ping().await.unwrap_err(),
        db.pending_migrations().unwrap_err(),
        db.migrate().unwrap_err(),
    ];
    for error in &errors {
        assert!(matches!(error, DbError::Unavailable(_)), "{error:?}");
        let shown = format!("{error} {error:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn postgres_migrations_run_once() {
    let Some(schema) = PgTestSchema::from_env() else {
        return;
    };
    let db = postgres_db(&schema);
    assert_eq!(db.pending_migrations().unwrap(), migration_count());
    let started = Instant::now();
    assert_eq!(db.migrate().unwrap(), migration_count());
    eprintln!(
        "migrating a fresh PostgreSQL schema took {:?}",
        started.elapsed()
    );
    assert_eq!(db.migrate().unwrap(), 0);
    assert_eq!(db.pending_migrations().unwrap(), 0);
    // Everything landed in the test's own schema, diesel's bookkeeping included.
    let in_schema: i64 = db
        .with_conn(|conn| {
            use diesel::prelude::*;
            Ok(
                diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(&format!(
                    "(SELECT count(*) FROM information_schema.tables WHERE table_schema = '{}')",
                    schema.name()
                )))
                .get_result(conn)?,
            )
        })
        .unwrap();
    assert!(in_schema >= 8, "{in_schema} tables in {}", schema.name());
}

#[test]
fn concurrent_postgres_migrations_apply_each_migration_once() {
    for _ in 0..3 {
        let Some(schema) = PgTestSchema::from_env() else {
            return;
        };
        migrate_concurrently(|| postgres_db(&schema));
    }
}

#[test]
fn postgres_round_trips_every_model() {
    let Some(schema) = PgTestSchema::from_env() else {
        return;
    };
    let db = postgres_db(&schema);
    db.migrate().unwrap();
    round_trip_every_model(&db);
}

#[tokio::test]
async fn postgres_answers_ping_and_cancels_slow_statements() {
    let Some(schema) = PgTestSchema::from_env() else {
        return;
    };
    let mut settings = Settings::default().database;
    settings.statement_timeout_ms = 200;
    let db = Db::open(schema.url(), &settings).unwrap();
    db.ping().await.unwrap();
    let slow = db
        .run(|conn| Ok(conn.batch_execute("SELECT pg_sleep(2)")?))
        .await
        .unwrap_err();
    assert!(slow.to_string().contains("statement timeout"), "{slow}");
    // The migration connection is exempt: waiting for another instance is not a runaway query.
    db.migrate().unwrap();
}

/// The PostgreSQL server process behind the connection `db` lends next.
fn backend_pid(db: &Db) -> i32 {
    use diesel::{RunQueryDsl, dsl::sql, sql_types::Integer};
    db.with_conn(|conn| Ok(diesel::select(sql::<Integer>("pg_backend_pid()")).get_result(conn)?))
        .unwrap()
}

/// A pool of one PostgreSQL connection, so that every use takes the same one unless it is
/// replaced.
fn postgres_pool_of_one(schema: &PgTestSchema) -> Db {
    let mut settings = Settings::default().database;
    settings.pool_size = 1;
    Db::open(schema.url(), &settings).unwrap()
}

#[test]
fn a_postgres_connection_is_replaced_after_a_failure_but_kept_after_a_refusal() {
    let Some(schema) = PgTestSchema::from_env() else {
        return;
    };
    let db = postgres_pool_of_one(&schema);
    let first = backend_pid(&db);

    // A refusal of the query itself says nothing about the connection.
    let refused = db.with_conn(|conn| -> Result<(), DbError> {
        conn.batch_execute("SELECT 1")?;
        Err(diesel::result::Error::NotFound.into())
    });
    assert_eq!(refused.unwrap_err().kind(), "not_found");
    assert_eq!(backend_pid(&db), first, "kept after a refusal");

    // Anything else may mean a lost server: the connection is closed, not lent again.
    let failed = db.with_conn(|conn| Ok(conn.batch_execute("SELECT * FROM no_such_table")?));
    assert_eq!(failed.unwrap_err().kind(), "query");
    assert_ne!(backend_pid(&db), first, "replaced after a failure");
}

#[test]
fn a_postgres_connection_killed_in_the_pool_costs_at_most_one_request() {
    let Some(schema) = PgTestSchema::from_env() else {
        return;
    };
    let db = postgres_pool_of_one(&schema);
    let first = backend_pid(&db);
    // The server ends the pooled connection (a restart, an administrator, a proxy's timeout).
    let killer = postgres_db(&schema);
    db_kill(&killer, first);

    // Taken again at once it is not pinged (a ping before every query was a round trip
    // each), so the next request may fail; then it is replaced, and the one after works.
    let _ = db.with_conn(|conn| Ok(conn.batch_execute("SELECT 1")?));
    assert_ne!(backend_pid(&db), first);
}

/// Ends server process `pid` from a connection of `db`, and waits until it is gone.
fn db_kill(db: &Db, pid: i32) {
    use diesel::{RunQueryDsl, dsl::sql, sql_types::Bool};
    let ask = |query: String| -> bool {
        db.with_conn(move |conn| Ok(diesel::select(sql::<Bool>(&query)).get_result(conn)?))
            .unwrap()
    };
    assert!(ask(format!("pg_terminate_backend({pid})")));
    let deadline = Instant::now() + Duration::from_secs(10);
    while ask(format!(
        "EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = {pid})"
    )) {
        assert!(
            Instant::now() < deadline,
            "server process {pid} did not end"
        );
        std::thread::yield_now();
    }
}

/// The code grant's one look-up reads what the separate look-ups read: the account, the
/// session, the password's change, the connected app; a missing row reads as nothing, and a
/// missing account as no answer.
fn code_standing_reads_each_fact(db: &Db) {
    use super::models::{connected_app, session};
    let now = t0();
    db.with_conn(|conn| {
        let person = account::create(conn, &new_account("meera@example.com", "Meera"), now)
            .unwrap()
            .id;
        let app = ClientId::generate();
        let read =
            |conn: &mut super::DbConn, account| grant::code_standing(conn, account, "sid-1", &app);
        let standing = |conn: &mut super::DbConn| {
            let (account, standing) = read(conn, person)?.expect("the account is there");
            assert_eq!(account.id, person);
            assert_eq!(account.display_name.as_str(), "Meera");
            Ok::<_, DbError>(standing)
        };
        assert!(
            read(conn, AccountId::from_stored(person.get() + 1))?.is_none(),
            "no such account"
        );

        // Nothing recorded: no session row, no password change, no connected app.
        let fresh = standing(conn)?;
        assert_eq!(fresh.outlived(now), None);
        assert_eq!(fresh.app_used_since, None);

        connected_app::record_use(conn, person, &app, now)?;
        session::record(conn, "sid-1", person, now, now + chrono::Duration::hours(1))?;
        let live = standing(conn)?;
        assert_eq!(live.outlived(now), None);
        assert_eq!(live.app_used_since, Some(now));

        let later = now + chrono::Duration::seconds(5);
        account::set_password(
            conn,
            person,
            &PasswordHash::from_stored("$argon2id$v=19$new".into()),
            later,
        )?;
        let changed = standing(conn)?;
        assert_eq!(
            changed.outlived(now),
            Some(grant::Outlived::PasswordChanged)
        );
        assert_eq!(
            changed.outlived(later),
            None,
            "a sign-in at the change itself stands"
        );

        session::end(conn, "sid-1", session::EndReason::SignedOut, later)?;
        assert_eq!(
            standing(conn)?.outlived(later),
            Some(grant::Outlived::SessionEnded)
        );
        Ok(())
    })
    .unwrap();
}

#[test]
fn sqlite_code_standing_reads_each_fact() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_db(&dir);
    db.migrate().unwrap();
    code_standing_reads_each_fact(&db);
}

#[test]
fn postgres_code_standing_reads_each_fact() {
    let Some(schema) = PgTestSchema::from_env() else {
        return;
    };
    let db = postgres_db(&schema);
    db.migrate().unwrap();
    code_standing_reads_each_fact(&db);
}

/// A grant and its first refresh token: both rows written, the token leading to its grant, and
/// a grant without one alone. On PostgreSQL the pair is one statement, prepared once per
/// connection, and one that fails (here: a refresh token's digest already taken) leaves no grant
/// behind.
fn a_grant_and_its_refresh_token_are_written_together(db: &Db) {
    let now = t0();
    let sent = Arc::new(Mutex::new(Vec::<String>::new()));
    let prepared = Arc::new(Mutex::new(Vec::<String>::new()));
    db.with_conn(|conn| {
        let on_postgres = matches!(conn, super::DbConn::Postgres(_));
        let person = account::create(conn, &new_account("ravi@example.com", "Ravi"), now)
            .unwrap()
            .id;
        let app = talk(now);
        client::insert(conn, &app)?;
        let grant = |id: &str| grant::Grant {
            id: id.into(),
            client_id: app.id.clone(),
            account_id: Some(person),
            scope: Scopes::parse_strict("openid offline_access").unwrap(),
            created_at: now,
            expires_at: now + chrono::Duration::days(1),
            revoked_at: None,
            sid: Some("sid-1".into()),
        };
        let (log, cache) = (sent.clone(), prepared.clone());
        conn.set_instrumentation(move |event: InstrumentationEvent<'_>| match event {
            InstrumentationEvent::StartQuery { query, .. } => {
                log.lock().unwrap().push(query.to_string());
            }
            InstrumentationEvent::CacheQuery { sql, .. } => cache.lock().unwrap().push(sql.into()),
            _ => {}
        });
        grant::insert_with_refresh_token(conn, &grant("g1"), Some("rt1"), now)?;
        let statements = sent.lock().unwrap().len();
        assert_eq!(
            statements,
            if on_postgres { 1 } else { 2 },
            "{:#?}",
            sent.lock().unwrap()
        );
        let (of_token, used) = grant::grant_of_refresh_token(conn, "rt1")?.unwrap();
        assert!(!used);
        assert_eq!(of_token.id, "g1");
        assert_eq!(of_token.account_id, Some(person));
        assert_eq!(of_token.sid.as_deref(), Some("sid-1"));
        assert_eq!(of_token.expires_at, now + chrono::Duration::days(1));

        grant::insert_with_refresh_token(conn, &grant("g2"), None, now)?;
        assert!(grant::find(conn, "g2")?.is_some());

        let taken = grant::insert_with_refresh_token(conn, &grant("g3"), Some("rt1"), now);
        assert!(taken.is_err(), "the digest is the refresh token's key");
        if on_postgres {
            assert!(grant::find(conn, "g3")?.is_none(), "nothing half-written");
            let pairs = prepared
                .lock()
                .unwrap()
                .iter()
                .filter(|sql| sql.starts_with("WITH granted"))
                .count();
            assert_eq!(pairs, 1, "two uses, one preparation");
        }
        Ok::<_, DbError>(())
    })
    .unwrap();
}

#[test]
fn sqlite_writes_a_grant_and_its_refresh_token() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_db(&dir);
    db.migrate().unwrap();
    a_grant_and_its_refresh_token_are_written_together(&db);
}

#[test]
fn postgres_writes_a_grant_and_its_refresh_token_in_one_statement() {
    let Some(schema) = PgTestSchema::from_env() else {
        return;
    };
    let db = postgres_db(&schema);
    db.migrate().unwrap();
    a_grant_and_its_refresh_token_are_written_together(&db);
}
