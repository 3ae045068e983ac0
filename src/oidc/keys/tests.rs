//! The key ring against a real (temporary SQLite) database, with time passed in.

use std::time::Duration as StdDuration;

use chrono::{TimeZone as _, Utc};
use diesel::prelude::*;

use super::*;
use crate::db::schema::signing_keys;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 12, 0, 0).unwrap()
}

fn database() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(
        &format!("sqlite://{}/k.db", dir.path().display()),
        2,
        StdDuration::from_secs(5),
        1000,
    )
    .unwrap();
    db.migrate().unwrap();
    (dir, db)
}

fn settings() -> KeySettings {
    crate::config::Settings::default().keys
}

fn kek() -> KeyEncryptionKey {
    KeyEncryptionKey::from_bytes([42; 32])
}

fn kid(ring: &KeyRing, alg: Algorithm) -> KeyId {
    ring.active(alg)
        .unwrap_or_else(|| panic!("no active {alg} key"))
        .kid()
        .clone()
}

fn published(ring: &KeyRing) -> Vec<String> {
    use openidconnect::JsonWebKey as _;
    ring.jwks()
        .keys()
        .iter()
        .map(|jwk| jwk.key_id().unwrap().as_str().to_owned())
        .collect()
}

async fn row(db: &Db, kid: &KeyId) -> StoredSigningKey {
    let kid = kid.as_str().to_owned();
    db.run(move |conn| signing_key::find(conn, &kid))
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn first_start_generates_one_key_per_algorithm_and_later_starts_reuse_them() {
    let (_dir, db) = database();
    let ring = ensure_keys(&db, &kek(), t0()).await.unwrap();
    assert_eq!(ring.algorithms().collect::<Vec<_>>(), Algorithm::ALL);
    assert_eq!(published(&ring).len(), 3);
    for alg in Algorithm::ALL {
        let key = ring.active(alg).unwrap();
        assert_eq!(key.alg(), alg);
        assert!(ring.jwks().keys().contains(key.public_jwk()));
    }

    let again = ensure_keys(&db, &kek(), t0() + Duration::hours(1))
        .await
        .unwrap();
    for alg in Algorithm::ALL {
        assert_eq!(kid(&again, alg), kid(&ring, alg));
    }
    assert_eq!(published(&again).len(), 3, "no new keys on a later start");
}

#[tokio::test]
async fn rotation_activates_the_new_key_and_publishes_the_old_one_until_unpublish_at() {
    let (_dir, db) = database();
    let settings = settings();
    let before = ensure_keys(&db, &kek(), t0()).await.unwrap();
    let old = kid(&before, Algorithm::Rs256);

    let t1 = t0() + Duration::days(3);
    let after = rotate(&db, &kek(), &settings, t1, Some(Algorithm::Rs256))
        .await
        .unwrap();
    let new = kid(&after, Algorithm::Rs256);
    assert_ne!(new, old);
    assert_eq!(
        after.active(Algorithm::Rs256).unwrap().alg(),
        Algorithm::Rs256
    );
    for alg in [Algorithm::Es256, Algorithm::EdDsa] {
        assert_eq!(kid(&after, alg), kid(&before, alg), "{alg} rotated too");
    }
    // Tokens the old key signed still verify: its exact JWK is still published.
    assert!(
        after
            .jwks()
            .keys()
            .contains(before.active(Algorithm::Rs256).unwrap().public_jwk())
    );
    assert_eq!(published(&after).len(), 4);
    assert_eq!(published(&after)[0], new.as_str(), "newest first");

    let retired = row(&db, &old).await;
    let unpublish_at = t1 + Duration::seconds(settings.publish_retired_for_secs);
    assert_eq!(retired.retired_at, Some(t1));
    assert_eq!(retired.unpublish_at, Some(unpublish_at));
    assert_eq!(row(&db, &new).await.retired_at, None);

    let just_before = ensure_keys(&db, &kek(), unpublish_at - Duration::seconds(1))
        .await
        .unwrap();
    assert!(published(&just_before).contains(&old.as_str().to_owned()));
    let at = ensure_keys(&db, &kek(), unpublish_at).await.unwrap();
    assert!(
        !published(&at).contains(&old.as_str().to_owned()),
        "published past unpublish_at"
    );
    assert_eq!(published(&at).len(), 3);
    assert_eq!(
        kid(&at, Algorithm::Rs256),
        new,
        "no new key generated when the old one leaves"
    );
}

#[tokio::test]
async fn rotating_without_an_algorithm_rotates_them_all() {
    let (_dir, db) = database();
    let before = ensure_keys(&db, &kek(), t0()).await.unwrap();
    let after = rotate(&db, &kek(), &settings(), t0() + Duration::minutes(1), None)
        .await
        .unwrap();
    for alg in Algorithm::ALL {
        assert_ne!(kid(&after, alg), kid(&before, alg), "{alg}");
    }
    assert_eq!(published(&after).len(), 6);
}

#[tokio::test]
async fn rotate_if_due_honours_rotate_after_days() {
    let (_dir, db) = database();
    let settings = KeySettings {
        rotate_after_days: 90,
        ..settings()
    };
    let first = ensure_keys(&db, &kek(), t0()).await.unwrap();

    // RS256 rotated by hand a month in: its clock restarts.
    let manual = rotate(
        &db,
        &kek(),
        &settings,
        t0() + Duration::days(30),
        Some(Algorithm::Rs256),
    )
    .await
    .unwrap();

    let (ring, rotated) = rotate_if_due(
        &db,
        &kek(),
        &settings,
        t0() + Duration::days(90) - Duration::seconds(1),
    )
    .await
    .unwrap();
    assert!(rotated.is_empty(), "rotated early: {rotated:?}");
    assert_eq!(kid(&ring, Algorithm::Es256), kid(&first, Algorithm::Es256));

    let (ring, rotated) = rotate_if_due(&db, &kek(), &settings, t0() + Duration::days(90))
        .await
        .unwrap();
    assert_eq!(rotated, [Algorithm::Es256, Algorithm::EdDsa]);
    assert_ne!(kid(&ring, Algorithm::Es256), kid(&first, Algorithm::Es256));
    assert_ne!(kid(&ring, Algorithm::EdDsa), kid(&first, Algorithm::EdDsa));
    assert_eq!(kid(&ring, Algorithm::Rs256), kid(&manual, Algorithm::Rs256));

    let (_, rotated) = rotate_if_due(&db, &kek(), &settings, t0() + Duration::days(119))
        .await
        .unwrap();
    assert!(rotated.is_empty(), "rotated again: {rotated:?}");
    let (ring, rotated) = rotate_if_due(&db, &kek(), &settings, t0() + Duration::days(120))
        .await
        .unwrap();
    assert_eq!(rotated, [Algorithm::Rs256]);
    assert_ne!(kid(&ring, Algorithm::Rs256), kid(&manual, Algorithm::Rs256));
}

#[tokio::test]
async fn stored_keys_open_with_the_right_kek_only() {
    let (_dir, db) = database();
    let ring = ensure_keys(&db, &kek(), t0()).await.unwrap();
    for alg in Algorithm::ALL {
        let kid = kid(&ring, alg);
        let stored = row(&db, &kid).await;
        assert_eq!(stored.alg, alg.as_str());
        let pkcs8 = kek().open(&kid, &stored.sealed_private).unwrap();
        let reopened = SigningKey::from_pkcs8(kid.clone(), alg, &pkcs8).unwrap();
        assert_eq!(
            reopened.public_jwk(),
            ring.active(alg).unwrap().public_jwk()
        );
        assert!(
            KeyEncryptionKey::from_bytes([43; 32])
                .open(&kid, &stored.sealed_private)
                .is_err()
        );
    }
    // The private key is not stored in the clear.
    let rsa = row(&db, &kid(&ring, Algorithm::Rs256)).await;
    assert!(!rsa.public_jwk.contains("\"d\""));

    let err = ensure_keys(&db, &KeyEncryptionKey::from_bytes([43; 32]), t0())
        .await
        .unwrap_err();
    assert!(matches!(err, KeyError::Unseal { .. }), "{err}");
}

#[tokio::test]
async fn a_sealed_key_moved_to_another_row_does_not_open() {
    let (_dir, db) = database();
    let ring = ensure_keys(&db, &kek(), t0()).await.unwrap();
    let (es, ed) = (kid(&ring, Algorithm::Es256), kid(&ring, Algorithm::EdDsa));
    let stolen = row(&db, &ed).await.sealed_private;
    let target = es.as_str().to_owned();
    db.run(move |conn| {
        diesel::update(signing_keys::table.filter(signing_keys::kid.eq(target)))
            .set(signing_keys::sealed_private.eq(stolen))
            .execute(conn)?;
        Ok(())
    })
    .await
    .unwrap();
    let err = ensure_keys(&db, &kek(), t0()).await.unwrap_err();
    assert!(
        matches!(&err, KeyError::Unseal { kid } if *kid == es),
        "{err}"
    );
}

#[tokio::test]
async fn retired_keys_are_never_unsealed() {
    let (_dir, db) = database();
    let before = ensure_keys(&db, &kek(), t0()).await.unwrap();
    let old = kid(&before, Algorithm::EdDsa);
    rotate(
        &db,
        &kek(),
        &settings(),
        t0() + Duration::days(1),
        Some(Algorithm::EdDsa),
    )
    .await
    .unwrap();
    let target = old.as_str().to_owned();
    db.run(move |conn| {
        diesel::update(signing_keys::table.filter(signing_keys::kid.eq(target)))
            .set(signing_keys::sealed_private.eq(vec![0u8; 8]))
            .execute(conn)?;
        Ok(())
    })
    .await
    .unwrap();
    let ring = ensure_keys(&db, &kek(), t0() + Duration::days(1))
        .await
        .unwrap();
    assert!(published(&ring).contains(&old.as_str().to_owned()));
}
