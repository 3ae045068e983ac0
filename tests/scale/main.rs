//! The same integration suite on PostgreSQL + Redis, each test in its own schema and under its
//! own key prefix; skipped, saying so, unless ONEID_TEST_DATABASE_URL and ONEID_TEST_REDIS_URL
//! are set.

#[path = "../suite/mod.rs"]
mod suite;
