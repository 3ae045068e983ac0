//! Token signing keys: one active key per algorithm, sealed at rest, rotated on a schedule, and
//! the JWKS that publishes the current and recently retired public keys.
//!
//! A key's life: generated and published as the *next* key of its algorithm, not yet signing;
//! *current* from its `activates_at`, [`ACTIVATION_DELAY`] later, once every instance and every
//! relying party's cached JWKS know it; *retired* when its successor becomes current (it stops
//! signing, stays published for `keys.publish_retired_for_secs` so tokens it signed still
//! verify); then no longer published. The very first key of an algorithm signs at once (nothing
//! else could). Which key signs is computed from the stored timestamps alone, so any number of
//! instances agree on it without coordinating, and nothing needs to be "promoted". Only
//! current keys are ever unsealed.

mod kek;
mod signing;
mod verifying;

use std::{
    collections::{BTreeMap, HashMap},
    fmt,
    path::PathBuf,
    sync::{Arc, Mutex, PoisonError},
};

use chrono::{DateTime, Duration, Utc};
use openidconnect::core::{CoreJsonWebKey, CoreJsonWebKeySet};

pub use self::{
    kek::{KeyEncryptionKey, SealPurpose, SecretSealer, Unsealed},
    signing::{KeyId, Pkcs8Der, SigningKey},
    verifying::VerifyingKey,
};
/// Re-exported from `domain`, where the client's registered algorithm needs it too.
pub use crate::domain::Algorithm;
use crate::{
    config::KeySettings,
    db::{
        Db, DbError,
        models::signing_key::{self, NewSigningKey, StoredSigningKey},
    },
};

/// How often every instance reloads the keys from the database (and rotates any that are due):
/// a key introduced at one instance is in every instance's JWKS within this.
pub const RELOAD_INTERVAL_SECS: i64 = 300;
/// How long relying parties may cache the JWKS (`Cache-Control: max-age` of `/jwks.json`).
pub const JWKS_MAX_AGE_SECS: i64 = 300;
/// `/jwks.json`'s `Cache-Control`, written out so that no response formats it (a test holds it
/// to [`JWKS_MAX_AGE_SECS`]).
pub const JWKS_CACHE_CONTROL: &str = "public, max-age=300";
/// How long a new key is published before it signs: every instance serves it after one reload
/// interval, and a JWKS cached just before that has expired one cache lifetime later. Before
/// that, a relying party holding another instance's JWKS could not verify the new key's tokens.
pub const ACTIVATION_DELAY: Duration = Duration::seconds(RELOAD_INTERVAL_SECS + JWKS_MAX_AGE_SECS);

/// Where a published key is in its life at a given moment (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Published, signing from `activates_at`.
    Next { activates_at: DateTime<Utc> },
    /// Signing; until `retires_at` when a successor is already introduced.
    Current { retires_at: Option<DateTime<Utc>> },
    /// No longer signing; published until `unpublish_at`.
    Retired { unpublish_at: Option<DateTime<Utc>> },
}

impl KeyState {
    /// The rule, from the stored timestamps: a key signs from its activation until its
    /// successor's (which is its `retired_at`).
    fn of(row: &StoredSigningKey, now: DateTime<Utc>) -> Self {
        let activates_at = row.activates_at.unwrap_or(row.created_at);
        if activates_at > now {
            Self::Next { activates_at }
        } else if row.retired_at.is_some_and(|at| at <= now) {
            Self::Retired {
                unpublish_at: row.unpublish_at,
            }
        } else {
            Self::Current {
                retires_at: row.retired_at,
            }
        }
    }
}

/// A published key and its state, for `oneid keys list`.
#[derive(Debug, Clone)]
pub struct KeyStatus {
    pub kid: KeyId,
    pub alg: Algorithm,
    pub state: KeyState,
}

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
    #[error(transparent)]
    UnknownAlgorithm(#[from] crate::domain::UnknownAlgorithm),
    #[error("signing key generation failed: {0}")]
    Generate(String),
    #[error("signing with key {kid} failed")]
    Sign { kid: KeyId },
    #[error("token claims do not serialize: {0}")]
    Claims(serde_json::Error),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// The keys loaded from the database at one moment: the current key of each algorithm, and
/// every published public key (next, current and retired). Cheap to clone; replace it whole
/// after a rotation, and reload it at [`KeyRing::changes_at`].
#[derive(Clone)]
pub struct KeyRing(Arc<Ring>);

struct Ring {
    active: BTreeMap<Algorithm, SigningKey>,
    /// Newest first.
    published: Vec<CoreJsonWebKey>,
    /// The same keys decoded for verifying, so that a token presented back to OneID costs one
    /// signature check and no JSON.
    verifying: Vec<VerifyingKey>,
    /// `/jwks.json`'s body, serialized once per ring rather than once per request, and shared
    /// by every response rather than copied into each.
    jwks_json: bytes::Bytes,
    /// Tokens whose signature verified against this ring, by the SHA-256 of the whole token:
    /// a resource server introspects the same access token on every call it serves, and an
    /// ES256 check costs far more than the rest of the answer. Only good signatures are kept
    /// (a collision-resistant key: nothing else can hit them), expiry and revocation are still
    /// checked on every use, and the cache goes with the ring when keys change.
    verified: Mutex<HashMap<[u8; 32], Verified>>,
    /// When the newest key of each algorithm (current or next) was made: what the schedule
    /// rotates by, so a next key waiting to sign is not followed by yet another.
    newest: BTreeMap<Algorithm, DateTime<Utc>>,
    /// The first moment after loading at which a key starts or stops signing or leaves the
    /// JWKS: the ring is stale from then on.
    changes_at: Option<DateTime<Utc>>,
}

/// What a token whose signature verified said: its `typ` header and its decoded payload.
#[derive(Clone)]
pub struct Verified {
    pub typ: Option<String>,
    pub payload: Arc<[u8]>,
}

/// The most verified tokens a ring remembers; when full it starts again empty (a bound, not a
/// policy: the tokens in use come back within a request each).
const VERIFIED_MAX: usize = 4096;

/// The key ring every request signs and verifies with, shared by every worker: a reload or a
/// rotation replaces the ring whole, and readers holding the previous ring finish with it.
/// Cheap to clone.
#[derive(Clone)]
pub struct SigningKeys(Arc<std::sync::RwLock<KeyRing>>);

impl SigningKeys {
    pub fn new(ring: KeyRing) -> Self {
        Self(Arc::new(std::sync::RwLock::new(ring)))
    }

    /// The keys as they are now.
    pub fn current(&self) -> KeyRing {
        self.0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub fn replace(&self, ring: KeyRing) {
        *self
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = ring;
    }
}

impl KeyRing {
    /// The key that signs new tokens of `alg`: the current one (never a next key).
    pub fn active(&self, alg: Algorithm) -> Option<&SigningKey> {
        self.0.active.get(&alg)
    }

    /// Algorithms with an active key, for discovery's `id_token_signing_alg_values_supported`.
    pub fn algorithms(&self) -> impl Iterator<Item = Algorithm> + '_ {
        self.0.active.keys().copied()
    }

    /// The JWKS (RFC 7517 §5): next and current keys, and retired ones not yet past
    /// `unpublish_at`, as of when this ring was loaded.
    pub fn jwks(&self) -> CoreJsonWebKeySet {
        CoreJsonWebKeySet::new(self.0.published.clone())
    }

    /// [`Self::jwks`] as JSON, serialized when the ring was loaded; a clone shares it.
    pub fn jwks_json(&self) -> &bytes::Bytes {
        &self.0.jwks_json
    }

    /// The published key named `kid`, decoded for verifying.
    pub fn verifying_key(&self, kid: &str) -> Option<&VerifyingKey> {
        self.0.verifying.iter().find(|k| k.kid() == kid)
    }

    /// What the token with this SHA-256 said, if its signature verified against this ring.
    pub fn verified(&self, digest: &[u8; 32]) -> Option<Verified> {
        let cache = self
            .0
            .verified
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        cache.get(digest).cloned()
    }

    /// Remembers a token whose signature verified (see [`Self::verified`]).
    pub fn remember_verified(&self, digest: [u8; 32], verified: Verified) {
        let mut cache = self
            .0
            .verified
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= VERIFIED_MAX {
            cache.clear();
        }
        cache.insert(digest, verified);
    }

    /// When this ring goes stale: a key starts or stops signing, or leaves the JWKS.
    pub fn changes_at(&self) -> Option<DateTime<Utc>> {
        self.0.changes_at
    }

    /// Builds the ring as of `now` from published rows (newest first), unsealing only the
    /// current keys: a next key's private half is opened when it becomes current (on the
    /// reload at [`KeyRing::changes_at`]), a retired key's is never needed again.
    fn from_rows(
        kek: &KeyEncryptionKey,
        rows: Vec<StoredSigningKey>,
        now: DateTime<Utc>,
    ) -> Result<Self, KeyError> {
        let mut active = BTreeMap::new();
        let mut published = Vec::with_capacity(rows.len());
        let mut newest = BTreeMap::new();
        let mut changes_at: Option<DateTime<Utc>> = None;
        for row in rows {
            for at in [row.activates_at, row.retired_at, row.unpublish_at]
                .into_iter()
                .flatten()
                .filter(|at| *at > now)
            {
                changes_at = Some(changes_at.map_or(at, |c| c.min(at)));
            }
            let current = matches!(KeyState::of(&row, now), KeyState::Current { .. });
            let kid = KeyId::from_stored(row.kid);
            let alg = Algorithm::parse(&row.alg)?;
            let jwk: CoreJsonWebKey =
                serde_json::from_str(&row.public_jwk).map_err(|e| KeyError::Corrupt {
                    kid: kid.clone(),
                    reason: format!("stored public JWK: {e}"),
                })?;
            newest.entry(alg).or_insert(row.created_at);
            if current && !active.contains_key(&alg) {
                let pkcs8 = kek.open(&kid, &row.sealed_private)?;
                let key = SigningKey::from_pkcs8(kid.clone(), alg, &pkcs8)?;
                // Relying parties verify with the stored JWK: it must be this key's.
                if key.public_jwk() != &jwk {
                    return Err(KeyError::Corrupt {
                        kid,
                        reason: "the private key does not match the published JWK".into(),
                    });
                }
                active.insert(alg, key);
            }
            published.push(jwk);
        }
        let verifying = published
            .iter()
            .filter_map(VerifyingKey::from_jwk)
            .collect();
        let jwks_json = serde_json::to_vec(&CoreJsonWebKeySet::new(published.clone()))
            .map_err(KeyError::Claims)?
            .into();
        Ok(Self(Arc::new(Ring {
            active,
            published,
            verifying,
            jwks_json,
            verified: Mutex::new(HashMap::new()),
            newest,
            changes_at,
        })))
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("active", &self.0.active.values().collect::<Vec<_>>())
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
        // Nothing signs this algorithm yet: the first key signs at once.
        let kid = add_key(db, kek, alg, now, None).await?;
        tracing::info!(%alg, %kid, "generated a signing key");
    }
    load_ring(db, kek, now).await
}

/// Introduces a next key for `alg` (or for every algorithm): published now, signing from
/// [`ACTIVATION_DELAY`] later, when the current key retires. Returns the ring as of `now`
/// (still signing with the current keys).
pub async fn rotate(
    db: &Db,
    kek: &KeyEncryptionKey,
    settings: &KeySettings,
    now: DateTime<Utc>,
    alg: Option<Algorithm>,
) -> Result<KeyRing, KeyError> {
    let algorithms = alg.map_or_else(|| Algorithm::ALL.to_vec(), |alg| vec![alg]);
    let ring = load_ring(db, kek, now).await?;
    rotate_algorithms(db, kek, settings, &ring, now, &algorithms).await?;
    load_ring(db, kek, now).await
}

/// Every published key and where it is in its life at `now`, newest first.
pub async fn list(db: &Db, now: DateTime<Utc>) -> Result<Vec<KeyStatus>, KeyError> {
    let rows = db
        .run(move |conn| signing_key::load_published(conn, now))
        .await?;
    rows.iter()
        .map(|row| {
            Ok(KeyStatus {
                kid: KeyId::from_stored(row.kid.clone()),
                alg: Algorithm::parse(&row.alg)?,
                state: KeyState::of(row, now),
            })
        })
        .collect()
}

/// The scheduled rotation: introduces a next key for every algorithm whose newest key (current
/// or already next) is at least `keys.rotate_after_days` old, or that has no current key.
/// Returns the reloaded ring and the algorithms that rotated.
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
            ring.active(*alg).is_none()
                || ring
                    .0
                    .newest
                    .get(alg)
                    .is_none_or(|created_at| now - *created_at >= max_age)
        })
        .collect();
    if due.is_empty() {
        return Ok((ring, due));
    }
    rotate_algorithms(db, kek, settings, &ring, now, &due).await?;
    Ok((load_ring(db, kek, now).await?, due))
}

async fn rotate_algorithms(
    db: &Db,
    kek: &KeyEncryptionKey,
    settings: &KeySettings,
    ring: &KeyRing,
    now: DateTime<Utc>,
    algorithms: &[Algorithm],
) -> Result<(), KeyError> {
    let publish_for = Duration::seconds(settings.publish_retired_for_secs);
    for &alg in algorithms {
        // With no current key there is nobody to wait for: the new key signs at once.
        let delay = if ring.active(alg).is_some() {
            ACTIVATION_DELAY
        } else {
            Duration::zero()
        };
        let kid = add_key(db, kek, alg, now, Some((delay, publish_for))).await?;
        tracing::info!(%alg, %kid, activates_at = %(now + delay), "introduced the next signing key");
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
    KeyRing::from_rows(kek, rows, now)
}

/// Generates, seals and stores a key of `alg`. With `succeed` = (delay, publish_for), it
/// signs from `now + delay` and the keys it replaces retire at that same moment, written in the
/// same transaction, so there is never a moment with no signing key or with two. Without it,
/// it signs at once and retires nothing (the first key of an algorithm).
async fn add_key(
    db: &Db,
    kek: &KeyEncryptionKey,
    alg: Algorithm,
    now: DateTime<Utc>,
    succeed: Option<(Duration, Duration)>,
) -> Result<KeyId, KeyError> {
    let activates_at = now + succeed.map_or_else(Duration::zero, |(delay, _)| delay);
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
        conn.write_transaction(|conn| {
            let new = NewSigningKey {
                kid: stored_kid.as_str(),
                alg: alg.as_str(),
                public_jwk: &public_jwk,
                sealed_private: &sealed,
                created_at: now,
                activates_at,
            };
            signing_key::insert(conn, &new)?;
            if let Some((_, publish_for)) = succeed {
                signing_key::retire_previous(
                    conn,
                    alg.as_str(),
                    stored_kid.as_str(),
                    activates_at,
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
