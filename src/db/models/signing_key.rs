//! The `signing_keys` table: token signing keys, their private half sealed, their public half a JWK.
//!
//! Plain strings and bytes here; `oidc::keys` parses the algorithm, checks the JWK and opens the seal.

use std::fmt;

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::db::{DbConn, DbError, schema::signing_keys};

/// A signing key as stored. `sealed_private` is `nonce || ciphertext || tag` under the key
/// encryption key, with the kid as associated data.
#[derive(Clone)]
pub struct StoredSigningKey {
    pub kid: String,
    /// `RS256`, `ES256` or `EdDSA` (the table's CHECK constraint).
    pub alg: String,
    /// The public JWK, as published.
    pub public_jwk: String,
    pub sealed_private: Vec<u8>,
    pub created_at: DateTime<Utc>,
    /// From this moment the key signs (published before it, so that verifiers know it first).
    /// `None` on rows older than the column: they signed from `created_at`.
    pub activates_at: Option<DateTime<Utc>>,
    /// From this moment a newer key of the same algorithm signs instead; set when the successor
    /// is introduced, so it may lie in the future.
    pub retired_at: Option<DateTime<Utc>>,
    /// From this moment the key leaves the JWKS.
    pub unpublish_at: Option<DateTime<Utc>>,
}

impl fmt::Debug for StoredSigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Ciphertext is not a secret, but a wall of bytes in a log helps nobody.
        f.debug_struct("StoredSigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field(
                "sealed_private",
                &format_args!("<{} bytes>", self.sealed_private.len()),
            )
            .field("created_at", &self.created_at)
            .field("activates_at", &self.activates_at)
            .field("retired_at", &self.retired_at)
            .field("unpublish_at", &self.unpublish_at)
            .finish_non_exhaustive()
    }
}

/// What a new signing key row needs; it is published at once and signs from `activates_at`.
#[derive(Debug, Clone, Copy)]
pub struct NewSigningKey<'a> {
    pub kid: &'a str,
    pub alg: &'a str,
    pub public_jwk: &'a str,
    pub sealed_private: &'a [u8],
    pub created_at: DateTime<Utc>,
    pub activates_at: DateTime<Utc>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = signing_keys)]
struct SigningKeyRow {
    kid: String,
    alg: String,
    public_jwk: String,
    sealed_private: Vec<u8>,
    created_at: NaiveDateTime,
    retired_at: Option<NaiveDateTime>,
    unpublish_at: Option<NaiveDateTime>,
    activates_at: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = signing_keys)]
struct SigningKeyInsert<'a> {
    kid: &'a str,
    alg: &'a str,
    public_jwk: &'a str,
    sealed_private: &'a [u8],
    created_at: NaiveDateTime,
    activates_at: NaiveDateTime,
}

impl From<SigningKeyRow> for StoredSigningKey {
    fn from(row: SigningKeyRow) -> Self {
        Self {
            kid: row.kid,
            alg: row.alg,
            public_jwk: row.public_jwk,
            sealed_private: row.sealed_private,
            created_at: row.created_at.and_utc(),
            activates_at: row.activates_at.map(|t| t.and_utc()),
            retired_at: row.retired_at.map(|t| t.and_utc()),
            unpublish_at: row.unpublish_at.map(|t| t.and_utc()),
        }
    }
}

pub fn insert(conn: &mut DbConn, new: &NewSigningKey<'_>) -> Result<(), DbError> {
    let row = SigningKeyInsert {
        kid: new.kid,
        alg: new.alg,
        public_jwk: new.public_jwk,
        sealed_private: new.sealed_private,
        created_at: new.created_at.naive_utc(),
        activates_at: new.activates_at.naive_utc(),
    };
    diesel::insert_into(signing_keys::table)
        .values(&row)
        .execute(conn)?;
    Ok(())
}

/// Every key still in the JWKS at `now` (never retired, or retired but not yet past
/// `unpublish_at`), newest first.
pub fn load_published(
    conn: &mut DbConn,
    now: DateTime<Utc>,
) -> Result<Vec<StoredSigningKey>, DbError> {
    let rows = signing_keys::table
        .filter(
            signing_keys::unpublish_at
                .is_null()
                .or(signing_keys::unpublish_at.gt(now.naive_utc())),
        )
        .order((signing_keys::created_at.desc(), signing_keys::kid.desc()))
        .select(SigningKeyRow::as_select())
        .load(conn)?;
    Ok(rows.into_iter().map(StoredSigningKey::from).collect())
}

/// Retires every key of `alg` not yet retired, except `successor`: it stops signing at `at`
/// (when the successor starts) and stays published for `publish_for` after that, so tokens it
/// signed keep verifying until they expire. A key already given a retirement time (by an
/// earlier successor) keeps it. Returns how many keys were retired.
pub fn retire_previous(
    conn: &mut DbConn,
    alg: &str,
    successor: &str,
    at: DateTime<Utc>,
    publish_for: Duration,
) -> Result<usize, DbError> {
    let previous = signing_keys::table
        .filter(signing_keys::alg.eq(alg))
        .filter(signing_keys::kid.ne(successor))
        .filter(signing_keys::retired_at.is_null());
    Ok(diesel::update(previous)
        .set((
            signing_keys::retired_at.eq(Some(at.naive_utc())),
            signing_keys::unpublish_at.eq(Some((at + publish_for).naive_utc())),
        ))
        .execute(conn)?)
}

/// One key by kid, published or not.
pub fn find(conn: &mut DbConn, kid: &str) -> Result<Option<StoredSigningKey>, DbError> {
    let row = signing_keys::table
        .filter(signing_keys::kid.eq(kid))
        .select(SigningKeyRow::as_select())
        .get_result(conn)
        .optional()?;
    Ok(row.map(StoredSigningKey::from))
}
