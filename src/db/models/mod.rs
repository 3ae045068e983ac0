//! Plain data read from and written to tables, and the queries over them.
//!
//! A lookup by a unique key (a primary key or a `UNIQUE` column) is run with `get_result`,
//! not `first`: it finds at most one row anyway, and `first` sends `LIMIT ?`. The bundled
//! SQLite (3.50) plans a bound `LIMIT` by its value and so marks the statement to be compiled
//! again whenever that parameter is bound; diesel binds it on every run, so each `first` was
//! parsed and planned anew despite diesel's statement cache (measured: a tenth of the CPU of a
//! code flow riding an SSO session). `first` stays where the query needs its `LIMIT` (the
//! newest or the oldest of several rows).

/// Makes `$statement`, a hand-written statement (a `QueryFragment` whose text never changes),
/// one that diesel keeps prepared and finds cheaply. diesel keeps any statement it is not told
/// is unsafe to keep; the statements it builds for `ON CONFLICT ... DO UPDATE` and `UPDATE` are
/// told so, and compiled again on every use, and a hand-written one is not. The static query id
/// makes the cache key a type instead of the statement's text, so a use does not write the SQL
/// out again to look it up.
macro_rules! fixed_statement {
    ($statement:ident) => {
        impl diesel::query_builder::QueryId for $statement<'_> {
            type QueryId = $statement<'static>;
            const HAS_STATIC_QUERY_ID: bool = true;
        }

        impl<Conn> diesel::RunQueryDsl<Conn> for $statement<'_> {}
    };
}

pub mod account;
pub mod audit;
pub mod backchannel;
pub mod client;
pub mod connected_app;
pub mod grant;
pub mod passkey;
pub mod second_factor;
pub mod session;

pub mod signing_key;
