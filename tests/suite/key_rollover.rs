//! Key rollover across instances: a new signing key is in every instance's JWKS, and has
//! outlived every relying party's cached copy, before any instance signs with it.

use std::time::Duration as StdDuration;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use openidconnect::{
    AuthorizationCode, JsonWebKey, TokenResponse,
    core::{CoreJsonWebKeySet, CoreJwsSigningAlgorithm},
};

use super::{
    helpers::{TestApp, sign_up},
    oidc::{RelyingParty, callback, jwt_header, registration},
};
use oneid::{
    clock::Clock,
    oidc::keys::{self, ACTIVATION_DELAY, Algorithm, KeyState, RELOAD_INTERVAL_SECS},
};

const PHONE: &str = "9812345678";
const PASSWORD: &str = "correct horse";

/// An ID token issued by `instance`: the person signs in there and its token endpoint redeems
/// the code (the issuer, and so discovery, is `issuer`'s).
async fn id_token_from(issuer: &TestApp, instance: &TestApp, client: &str, secret: &str) -> String {
    use openidconnect::{IssuerUrl, TokenUrl, core::CoreProviderMetadata};
    let http = super::oidc::http();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(issuer.base.clone()).unwrap(), &http)
            .await
            .expect("discovery")
            .set_token_endpoint(Some(
                TokenUrl::new(format!("{}/token", instance.base)).unwrap(),
            ));
    let rp = RelyingParty {
        client: openidconnect::core::CoreClient::from_provider_metadata(
            metadata,
            openidconnect::ClientId::new(client.into()),
            Some(openidconnect::ClientSecret::new(secret.into())),
        )
        .set_redirect_uri(openidconnect::RedirectUrl::new(super::oidc::CALLBACK.into()).unwrap()),
        http,
    };
    let browser = instance.browser();
    browser
        .sign_in(PHONE, PASSWORD)
        .await
        .assert_redirect("/account");
    let (url, _, _, verifier) = rp.authorize_url(&["profile"]);
    let url = url.replacen(&issuer.base, &instance.base, 1);
    let page = browser.get_url(&url).await;
    rp.client
        .exchange_code(AuthorizationCode::new(callback(&page)["code"].clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&rp.http)
        .await
        .expect("code exchange")
        .id_token()
        .unwrap()
        .to_string()
}

async fn jwks_of(instance: &TestApp) -> CoreJsonWebKeySet {
    reqwest::get(format!("{}/jwks.json", instance.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn kids(jwks: &CoreJsonWebKeySet) -> Vec<String> {
    jwks.keys()
        .iter()
        .filter_map(|k| k.key_id().map(|id| id.as_str().to_owned()))
        .collect()
}

fn kid_of(token: &str) -> String {
    jwt_header(token)["kid"].as_str().unwrap().to_owned()
}

/// The relying party's check: the token's kid is in the JWKS it holds, and the signature
/// verifies with that key.
fn verifies_with(token: &str, jwks: &CoreJsonWebKeySet) -> bool {
    let Some(key) = jwks
        .keys()
        .iter()
        .find(|k| k.key_id().map(|id| id.as_str().to_owned()) == Some(kid_of(token)))
    else {
        return false;
    };
    let (signed, signature) = token.rsplit_once('.').unwrap();
    key.verify_signature(
        &CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        signed.as_bytes(),
        &URL_SAFE_NO_PAD.decode(signature).unwrap(),
    )
    .is_ok()
}

/// Polls (real time) until `done` holds, for up to 5 s: the instances' key schedule looks at
/// the injected clock every second.
async fn eventually(what: &str, mut done: impl AsyncFnMut() -> bool) {
    for _ in 0..50 {
        if done().await {
            return;
        }
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    panic!("not within 5 s: {what}");
}

#[tokio::test]
async fn a_rotated_key_is_published_by_every_instance_before_any_signs_with_it() {
    let one = TestApp::spawn().await;
    let two = one.another_instance().await;
    let (client, secret) = one.register(registration("Cloud", true)).await;
    let secret = secret.unwrap();
    sign_up(&one, &one.browser(), PHONE, "+919812345678", PASSWORD).await;
    let old = kid_of(&id_token_from(&one, &one, &client, &secret).await);

    // Instance 1 rotates (as its schedule or `oneid keys rotate` beside it would).
    let rotated_at = one.clock.now();
    let ring = keys::rotate(
        &one.state.db,
        &one.state.kek,
        &one.settings.keys,
        rotated_at,
        Some(Algorithm::Rs256),
    )
    .await
    .unwrap();
    one.state.keys.replace(ring);
    let listed = keys::list(&one.state.db, rotated_at).await.unwrap();
    let next = listed
        .iter()
        .find(|k| matches!(k.state, KeyState::Next { .. }))
        .expect("a next key");
    let KeyState::Next { activates_at } = next.state else {
        unreachable!()
    };
    // (PostgreSQL keeps microseconds.)
    let expected = rotated_at + ACTIVATION_DELAY;
    assert!(
        (activates_at - expected).num_milliseconds().abs() < 1,
        "{activates_at}"
    );
    let new = next.kid.to_string();
    assert!(
        kids(&jwks_of(&one).await).contains(&new),
        "published at once"
    );
    // Instance 2 has not reloaded yet, so a relying party that asks it does not know the new
    // key: neither instance may sign with it.
    assert!(!kids(&jwks_of(&two).await).contains(&new));
    for instance in [&one, &two] {
        let token = id_token_from(&one, instance, &client, &secret).await;
        assert_eq!(kid_of(&token), old, "signed with the new key at once");
    }

    // One reload interval later every instance publishes it; a relying party caches that JWKS.
    one.advance(chrono::Duration::seconds(RELOAD_INTERVAL_SECS + 1));
    eventually("instance 2 publishes the new key", async || {
        kids(&jwks_of(&two).await).contains(&new)
    })
    .await;
    let cached_from_two = jwks_of(&two).await;
    let cached_from_one = jwks_of(&one).await;
    for instance in [&one, &two] {
        let token = id_token_from(&one, instance, &client, &secret).await;
        assert_eq!(kid_of(&token), old, "signed before the caches expired");
    }

    // After the activation delay both sign with it, and the JWKS a relying party fetched from
    // either instance (still within its max-age) verifies their tokens.
    one.advance(ACTIVATION_DELAY - chrono::Duration::seconds(RELOAD_INTERVAL_SECS));
    for instance in [&one, &two] {
        eventually("the new key signs", async || {
            instance
                .state
                .keys
                .current()
                .active(Algorithm::Rs256)
                .is_some_and(|k| k.kid().to_string() == new)
        })
        .await;
    }
    for instance in [&one, &two] {
        let token = id_token_from(&one, instance, &client, &secret).await;
        assert_eq!(kid_of(&token), new);
        assert!(verifies_with(&token, &cached_from_two));
        assert!(verifies_with(&token, &cached_from_one));
    }
    // The old key stays published for the tokens it signed.
    assert!(kids(&jwks_of(&two).await).contains(&old));
}
