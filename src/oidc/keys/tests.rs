//! The key ring against a real (temporary SQLite) database, with time passed in.

use chrono::{TimeZone as _, Utc};
use diesel::prelude::*;

use super::*;
use crate::db::schema::signing_keys;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 12, 0, 0).unwrap()
}

fn database() -> (tempfile::TempDir, Db) {
    crate::db::testing::temp_sqlite()
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
async fn rotation_publishes_the_next_key_first_and_switches_at_its_activation() {
    let (_dir, db) = database();
    let settings = settings();
    let before = ensure_keys(&db, &kek(), t0()).await.unwrap();
    let old = kid(&before, Algorithm::Rs256);
    assert_eq!(before.changes_at(), None, "nothing scheduled");

    let t1 = t0() + Duration::days(3);
    let after = rotate(&db, &kek(), &settings, t1, Some(Algorithm::Rs256))
        .await
        .unwrap();
    // Published at once, newest first, but the old key still signs: instances that have not
    // reloaded, and relying parties holding an older JWKS, do not know the new key yet.
    assert_eq!(published(&after).len(), 4);
    let new = KeyId::from_stored(published(&after)[0].clone());
    assert_ne!(new, old);
    assert_eq!(
        kid(&after, Algorithm::Rs256),
        old,
        "the next key signs early"
    );
    for alg in [Algorithm::Es256, Algorithm::EdDsa] {
        assert_eq!(kid(&after, alg), kid(&before, alg), "{alg} rotated too");
    }
    let switch = t1 + ACTIVATION_DELAY;
    assert_eq!(ACTIVATION_DELAY, Duration::minutes(10));
    assert_eq!(
        after.changes_at(),
        Some(switch),
        "the ring knows when to reload"
    );
    let (old_row, new_row) = (row(&db, &old).await, row(&db, &new).await);
    assert_eq!(new_row.activates_at, Some(switch));
    assert_eq!(new_row.retired_at, None);
    assert_eq!(
        old_row.retired_at,
        Some(switch),
        "retires as the successor starts"
    );
    let unpublish_at = switch + Duration::seconds(settings.publish_retired_for_secs);
    assert_eq!(old_row.unpublish_at, Some(unpublish_at));
    let states = list(&db, t1).await.unwrap();
    assert_eq!(
        states[0].state,
        KeyState::Next {
            activates_at: switch
        }
    );
    assert!(states.iter().any(|k| k.kid == old
        && k.state
            == KeyState::Current {
                retires_at: Some(switch)
            }));

    let just_before = ensure_keys(&db, &kek(), switch - Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(kid(&just_before, Algorithm::Rs256), old);
    let at_switch = ensure_keys(&db, &kek(), switch).await.unwrap();
    assert_eq!(
        kid(&at_switch, Algorithm::Rs256),
        new,
        "promoted by the clock alone"
    );
    assert_eq!(
        at_switch.active(Algorithm::Rs256).unwrap().alg(),
        Algorithm::Rs256
    );
    // Tokens the old key signed still verify: its exact JWK is still published.
    assert!(
        at_switch
            .jwks()
            .keys()
            .contains(before.active(Algorithm::Rs256).unwrap().public_jwk())
    );
    assert!(list(&db, switch).await.unwrap().iter().any(|k| k.kid == old
        && k.state
            == KeyState::Retired {
                unpublish_at: Some(unpublish_at)
            }));

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
async fn two_rotations_in_a_row_never_leave_two_keys_signing() {
    let (_dir, db) = database();
    let before = ensure_keys(&db, &kek(), t0()).await.unwrap();
    let a = kid(&before, Algorithm::EdDsa);
    let one = Some(Algorithm::EdDsa);
    let first = t0() + Duration::seconds(1);
    let ring = rotate(&db, &kek(), &settings(), first, one).await.unwrap();
    let b = KeyId::from_stored(published(&ring)[0].clone());
    let later = first + Duration::minutes(1);
    let ring = rotate(&db, &kek(), &settings(), later, one).await.unwrap();
    let c = KeyId::from_stored(published(&ring)[0].clone());
    for (at, signer) in [
        (first + ACTIVATION_DELAY - Duration::seconds(1), &a),
        (first + ACTIVATION_DELAY, &b),
        (later + ACTIVATION_DELAY - Duration::seconds(1), &b),
        (later + ACTIVATION_DELAY, &c),
    ] {
        let ring = ensure_keys(&db, &kek(), at).await.unwrap();
        assert_eq!(&kid(&ring, Algorithm::EdDsa), signer, "at {at}");
        let current = list(&db, at)
            .await
            .unwrap()
            .into_iter()
            .filter(|k| k.alg == Algorithm::EdDsa)
            .filter(|k| matches!(k.state, KeyState::Current { .. }))
            .count();
        assert_eq!(current, 1, "at {at}");
    }
}

#[tokio::test]
async fn rotating_without_an_algorithm_rotates_them_all() {
    let (_dir, db) = database();
    let before = ensure_keys(&db, &kek(), t0()).await.unwrap();
    let at = t0() + Duration::minutes(1);
    rotate(&db, &kek(), &settings(), at, None).await.unwrap();
    let after = ensure_keys(&db, &kek(), at + ACTIVATION_DELAY)
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
    let manual = KeyId::from_stored(published(&manual)[0].clone());

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

    let day_90 = t0() + Duration::days(90);
    let (ring, rotated) = rotate_if_due(&db, &kek(), &settings, day_90).await.unwrap();
    assert_eq!(rotated, [Algorithm::Es256, Algorithm::EdDsa]);
    assert_eq!(kid(&ring, Algorithm::Es256), kid(&first, Algorithm::Es256));
    // The schedule's next reloads, while the next keys wait to sign, rotate nothing more.
    let (_, rotated) = rotate_if_due(&db, &kek(), &settings, day_90 + Duration::minutes(5))
        .await
        .unwrap();
    assert!(rotated.is_empty(), "rotated a pending key: {rotated:?}");
    let (ring, rotated) = rotate_if_due(&db, &kek(), &settings, day_90 + ACTIVATION_DELAY)
        .await
        .unwrap();
    assert!(rotated.is_empty(), "rotated again: {rotated:?}");
    assert_ne!(kid(&ring, Algorithm::Es256), kid(&first, Algorithm::Es256));
    assert_ne!(kid(&ring, Algorithm::EdDsa), kid(&first, Algorithm::EdDsa));
    assert_eq!(kid(&ring, Algorithm::Rs256), manual);

    let (_, rotated) = rotate_if_due(&db, &kek(), &settings, t0() + Duration::days(119))
        .await
        .unwrap();
    assert!(rotated.is_empty(), "rotated again: {rotated:?}");
    let (_, rotated) = rotate_if_due(&db, &kek(), &settings, t0() + Duration::days(120))
        .await
        .unwrap();
    assert_eq!(rotated, [Algorithm::Rs256]);
    let ring = ensure_keys(&db, &kek(), t0() + Duration::days(120) + ACTIVATION_DELAY)
        .await
        .unwrap();
    assert_ne!(kid(&ring, Algorithm::Rs256), manual);
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
    let ring = ensure_keys(&db, &kek(), t0() + Duration::days(1) + ACTIVATION_DELAY)
        .await
        .unwrap();
    assert!(published(&ring).contains(&old.as_str().to_owned()));
}
