//! Token signing keys: one active key per algorithm, sealed at rest, rotated on a schedule, and
//! the JWKS that publishes the current and recently retired public keys.
//!
//! A key's life: generated and stored active; retired when a newer key of its algorithm takes
//! over (it stops signing, stays published for `keys.publish_retired_for_secs` so tokens it
//! signed still verify); then no longer published. Only active keys are ever unsealed.

mod kek;
mod signing;

use std::{collections::BTreeMap, fmt, path::PathBuf, sync::Arc};

use chrono::{DateTime, Duration, Utc};
use diesel::Connection as _;
use openidconnect::core::{CoreJsonWebKey, CoreJsonWebKeySet};

pub use self::{
    kek::KeyEncryptionKey,
    signing::{Algorithm, KeyId, Pkcs8Der, SigningKey},
};
use crate::{
    config::KeySettings,
    db::{
        Db, DbError,
        models::signing_key::{self, NewSigningKey, StoredSigningKey},
    },
};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("invalid setting `keys.encryption_key` (ONEID_KEYS__ENCRYPTION_KEY): {0}")]
    BadEncryptionKey(&'static str),
    #[error("key encryption key file {}: {reason} (or set `keys.encryption_key` / ONEID_KEYS__ENCRYPTION_KEY)", path.display())]
    KeyFile { path: PathBuf, reason: String },
    #[error(
        "signing key {kid} does not open: wrong key encryption key, or the stored key was altered"
    )]
    Unseal { kid: KeyId },
    #[error("signing key {kid} is unusable: {reason}")]
    Corrupt { kid: KeyId, reason: String },
    #[error("unknown signing algorithm `{0}` (expected RS256, ES256 or EdDSA)")]
    UnknownAlgorithm(String),
    #[error("signing key generation failed: {0}")]
    Generate(String),
    #[error("signing with key {kid} failed")]
    Sign { kid: KeyId },
    #[error("token claims do not serialize: {0}")]
    Claims(serde_json::Error),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// The keys loaded from the database at one moment: the active key of each algorithm, and
/// every published public key. Cheap to clone; replace it whole after a rotation.
#[derive(Clone)]
pub struct KeyRing(Arc<Ring>);

struct Ring {
    active: BTreeMap<Algorithm, ActiveKey>,
    /// Newest first.
    published: Vec<CoreJsonWebKey>,
}

struct ActiveKey {
    key: SigningKey,
    created_at: DateTime<Utc>,
}

impl KeyRing {
    /// The key that signs new tokens of `alg`: the newest not retired.
    pub fn active(&self, alg: Algorithm) -> Option<&SigningKey> {
        self.0.active.get(&alg).map(|active| &active.key)
    }

    /// Algorithms with an active key, for discovery's `id_token_signing_alg_values_supported`.
    pub fn algorithms(&self) -> impl Iterator<Item = Algorithm> + '_ {
        self.0.active.keys().copied()
    }

    /// The JWKS (RFC 7517 §5): active keys and retired ones not yet past `unpublish_at`
    /// as of when this ring was loaded.
    pub fn jwks(&self) -> CoreJsonWebKeySet {
        CoreJsonWebKeySet::new(self.0.published.clone())
    }

    /// Builds the ring from published rows (newest first), unsealing only the active keys:
    /// a retired key's private half is never needed again.
    fn from_rows(kek: &KeyEncryptionKey, rows: Vec<StoredSigningKey>) -> Result<Self, KeyError> {
        let mut active = BTreeMap::new();
        let mut published = Vec::with_capacity(rows.len());
        for row in rows {
            let kid = KeyId::from_stored(row.kid);
            let alg = Algorithm::parse(&row.alg)?;
            let jwk: CoreJsonWebKey =
                serde_json::from_str(&row.public_jwk).map_err(|e| KeyError::Corrupt {
                    kid: kid.clone(),
                    reason: format!("stored public JWK: {e}"),
                })?;
            if row.retired_at.is_none() && !active.contains_key(&alg) {
                let pkcs8 = kek.open(&kid, &row.sealed_private)?;
                let key = SigningKey::from_pkcs8(kid.clone(), alg, &pkcs8)?;
                // Relying parties verify with the stored JWK: it must be this key's.
                if key.public_jwk() != &jwk {
                    return Err(KeyError::Corrupt {
                        kid,
                        reason: "the private key does not match the published JWK".into(),
                    });
                }
                active.insert(
                    alg,
                    ActiveKey {
                        key,
                        created_at: row.created_at,
                    },
                );
            }
            published.push(jwk);
        }
        Ok(Self(Arc::new(Ring { active, published })))
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field(
                "active",
                &self.0.active.values().map(|a| &a.key).collect::<Vec<_>>(),
            )
            .field("published", &self.0.published.len())
            .finish()
    }
}

/// Loads the key ring, first generating a key for every algorithm that has no active one
/// (all of them on first start).
pub async fn ensure_keys(
    db: &Db,
    kek: &KeyEncryptionKey,
    now: DateTime<Utc>,
) -> Result<KeyRing, KeyError> {
    let ring = load_ring(db, kek, now).await?;
    let missing: Vec<Algorithm> = Algorithm::ALL
        .into_iter()
        .filter(|alg| ring.active(*alg).is_none())
        .collect();
    if missing.is_empty() {
        return Ok(ring);
    }
    for alg in missing {
        let kid = add_key(db, kek, alg, now, None).await?;
        tracing::info!(%alg, %kid, "generated a signing key");
    }
    load_ring(db, kek, now).await
}

/// Puts a new key in charge of `alg` (or of every algorithm) and retires the previous one.
pub async fn rotate(
    db: &Db,
    kek: &KeyEncryptionKey,
    settings: &KeySettings,
    now: DateTime<Utc>,
    alg: Option<Algorithm>,
) -> Result<KeyRing, KeyError> {
    let algorithms = alg.map_or_else(|| Algorithm::ALL.to_vec(), |alg| vec![alg]);
    rotate_algorithms(db, kek, settings, now, &algorithms).await?;
    load_ring(db, kek, now).await
}

/// The scheduled rotation: rotates every algorithm whose active key is at least
/// `keys.rotate_after_days` old (or that has none). Returns the reloaded ring and the
/// algorithms that rotated.
pub async fn rotate_if_due(
    db: &Db,
    kek: &KeyEncryptionKey,
    settings: &KeySettings,
    now: DateTime<Utc>,
) -> Result<(KeyRing, Vec<Algorithm>), KeyError> {
    // The database, not a ring in memory, says what is due: another instance may have rotated.
    let ring = load_ring(db, kek, now).await?;
    let max_age = Duration::days(settings.rotate_after_days);
    let due: Vec<Algorithm> = Algorithm::ALL
        .into_iter()
        .filter(|alg| {
            ring.0
                .active
                .get(alg)
                .is_none_or(|active| now - active.created_at >= max_age)
        })
        .collect();
    if due.is_empty() {
        return Ok((ring, due));
    }
    rotate_algorithms(db, kek, settings, now, &due).await?;
    Ok((load_ring(db, kek, now).await?, due))
}

async fn rotate_algorithms(
    db: &Db,
    kek: &KeyEncryptionKey,
    settings: &KeySettings,
    now: DateTime<Utc>,
    algorithms: &[Algorithm],
) -> Result<(), KeyError> {
    let publish_for = Duration::seconds(settings.publish_retired_for_secs);
    for &alg in algorithms {
        let kid = add_key(db, kek, alg, now, Some(publish_for)).await?;
        tracing::info!(%alg, %kid, "rotated the signing key");
    }
    Ok(())
}

async fn load_ring(
    db: &Db,
    kek: &KeyEncryptionKey,
    now: DateTime<Utc>,
) -> Result<KeyRing, KeyError> {
    let rows = db
        .run(move |conn| signing_key::load_published(conn, now))
        .await?;
    KeyRing::from_rows(kek, rows)
}

/// Generates, seals and stores a key of `alg`. With `retire_previous`, the keys it replaces
/// retire in the same transaction, so there is never a moment without an active key.
async fn add_key(
    db: &Db,
    kek: &KeyEncryptionKey,
    alg: Algorithm,
    now: DateTime<Utc>,
    retire_previous: Option<Duration>,
) -> Result<KeyId, KeyError> {
    // RSA generation is CPU-bound for a good fraction of a second: keep it off the executor.
    let (key, pkcs8) = tokio::task::spawn_blocking(move || SigningKey::generate(alg))
        .await
        .map_err(|e| KeyError::Generate(format!("{alg}: {e}")))??;
    let kid = key.kid().clone();
    let sealed = kek.seal(&kid, pkcs8.expose());
    drop(pkcs8);
    let public_jwk = serde_json::to_string(key.public_jwk()).map_err(|e| KeyError::Corrupt {
        kid: kid.clone(),
        reason: format!("public JWK: {e}"),
    })?;
    let stored_kid = kid.clone();
    db.run(move |conn| {
        conn.transaction(|conn| {
            let new = NewSigningKey {
                kid: stored_kid.as_str(),
                alg: alg.as_str(),
                public_jwk: &public_jwk,
                sealed_private: &sealed,
                created_at: now,
            };
            signing_key::insert(conn, &new)?;
            if let Some(publish_for) = retire_previous {
                signing_key::retire_previous(
                    conn,
                    alg.as_str(),
                    stored_kid.as_str(),
                    now,
                    publish_for,
                )?;
            }
            Ok::<_, DbError>(())
        })
    })
    .await?;
    Ok(kid)
}

#[cfg(test)]
mod tests;
