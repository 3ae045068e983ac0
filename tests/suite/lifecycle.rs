//! After sign-in: revocation, introspection, RP-initiated logout, key rotation.

use oneid::clock::Clock;
use openidconnect::{
    AuthorizationCode, OAuth2TokenResponse, TokenResponse, core::CoreTokenResponse,
};
use reqwest::StatusCode;

use super::{
    helpers::{Browser, TestApp},
    oidc::{RelyingParty, callback, registration},
};

/// A person signed in through a fresh browser at a first-party client; returns its tokens.
async fn signed_in_tokens(
    app: &TestApp,
    rp: &RelyingParty,
    browser: &Browser,
    scopes: &[&str],
) -> CoreTokenResponse {
    let (url, _, _, verifier) = rp.authorize_url(scopes);
    let mut page = browser.get_url(&url).await;
    if page.location.as_deref() == Some("/login") {
        browser.request_signup_code("9812345678").await;
        page = browser
            .follow(
                browser
                    .enter_signup_code(&app.last_code("+919812345678"), "correct horse", "Asha")
                    .await,
            )
            .await;
    }
    let code = callback(&page)["code"].clone();
    rp.client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&rp.http)
        .await
        .expect("code exchange")
}

async fn post(
    app: &TestApp,
    path: &str,
    auth: (&str, Option<&str>),
    form: &[(&str, &str)],
) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}{path}", app.base))
        .basic_auth(auth.0, auth.1)
        .form(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn introspection_describes_only_the_callers_own_tokens() {
    let app = TestApp::spawn().await;
    let (id, secret) = app.register(registration("Cloud", true)).await;
    let (other, other_secret) = app.register(registration("Talk", true)).await;
    let rp = RelyingParty::discover(&app, &id, secret.as_deref()).await;
    let tokens = signed_in_tokens(&app, &rp, &app.browser(), &["profile"]).await;
    let access = tokens.access_token().secret();

    let answer: serde_json::Value = post(
        &app,
        "/introspect",
        (&id, secret.as_deref()),
        &[("token", access)],
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(answer["active"], true);
    assert_eq!(answer["client_id"], id);
    assert_eq!(answer["scope"], "openid profile");
    assert!(answer["exp"].is_i64() && answer["sub"].is_string());
    let refresh = tokens.refresh_token().unwrap().secret();
    let answer: serde_json::Value = post(
        &app,
        "/introspect",
        (&id, secret.as_deref()),
        &[("token", refresh), ("token_type_hint", "refresh_token")],
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        (answer["active"].as_bool(), answer["token_type"].as_str()),
        (Some(true), Some("refresh_token"))
    );

    let foreign: serde_json::Value = post(
        &app,
        "/introspect",
        (&other, other_secret.as_deref()),
        &[("token", access)],
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        foreign,
        serde_json::json!({ "active": false }),
        "another client learns nothing"
    );
    let garbage: serde_json::Value = post(
        &app,
        "/introspect",
        (&id, secret.as_deref()),
        &[("token", "not-a-token")],
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(garbage, serde_json::json!({ "active": false }));
    let unauthenticated = post(
        &app,
        "/introspect",
        (&id, Some("wrong")),
        &[("token", access)],
    )
    .await;
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn revoking_a_refresh_token_ends_its_whole_grant() {
    let app = TestApp::spawn().await;
    let (id, secret) = app.register(registration("Cloud", true)).await;
    let (other, other_secret) = app.register(registration("Talk", true)).await;
    let rp = RelyingParty::discover(&app, &id, secret.as_deref()).await;
    let tokens = signed_in_tokens(&app, &rp, &app.browser(), &["profile"]).await;
    let refresh = tokens.refresh_token().unwrap().secret().clone();

    // Another client's attempt is answered like success and changes nothing (RFC 7009 §2.2).
    let foreign = post(
        &app,
        "/revoke",
        (&other, other_secret.as_deref()),
        &[("token", &refresh)],
    )
    .await;
    assert_eq!(foreign.status(), StatusCode::OK);
    rp.userinfo(tokens.access_token())
        .await
        .expect("still valid");

    let revoked = post(
        &app,
        "/revoke",
        (&id, secret.as_deref()),
        &[("token", &refresh), ("token_type_hint", "refresh_token")],
    )
    .await;
    assert_eq!(revoked.status(), StatusCode::OK);
    assert!(
        rp.userinfo(tokens.access_token()).await.is_err(),
        "the grant's access token dies with it"
    );
    assert!(
        rp.client
            .exchange_refresh_token(tokens.refresh_token().unwrap())
            .unwrap()
            .request_async(&rp.http)
            .await
            .is_err()
    );

    let unknown = post(
        &app,
        "/revoke",
        (&id, secret.as_deref()),
        &[("token", "never-issued")],
    )
    .await;
    assert_eq!(unknown.status(), StatusCode::OK, "unknown tokens: 200");
    let bad_hint = post(
        &app,
        "/revoke",
        (&id, secret.as_deref()),
        &[("token", "x"), ("token_type_hint", "id_token")],
    )
    .await;
    let body: serde_json::Value = bad_hint.json().await.unwrap();
    assert_eq!(body["error"], "unsupported_token_type");
}

#[tokio::test]
async fn revoking_an_access_token_ends_its_grant() {
    // (The oauth2 crate's own revoke_token refuses http endpoints, so this request is built by hand.)
    let app = TestApp::spawn().await;
    let (id, secret) = app.register(registration("Cloud", true)).await;
    let rp = RelyingParty::discover(&app, &id, secret.as_deref()).await;
    let tokens = signed_in_tokens(&app, &rp, &app.browser(), &["profile"]).await;
    let revoked = post(
        &app,
        "/revoke",
        (&id, secret.as_deref()),
        &[("token", tokens.access_token().secret())],
    )
    .await;
    assert_eq!(revoked.status(), StatusCode::OK);
    assert!(rp.userinfo(tokens.access_token()).await.is_err());
    assert!(
        rp.client
            .exchange_refresh_token(tokens.refresh_token().unwrap())
            .unwrap()
            .request_async(&rp.http)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn rp_initiated_logout_with_a_hint_signs_out_and_returns_to_the_app() {
    let app = TestApp::spawn().await;
    let registration = super::oidc::registration("Cloud", true);
    let (id, secret) = app
        .register(oneid::oauth::registry::Registration {
            post_logout_redirect_uris: vec!["http://127.0.0.1:9/signed-out".into()],
            ..registration
        })
        .await;
    let rp = RelyingParty::discover(&app, &id, secret.as_deref()).await;
    let browser = app.browser();
    let tokens = signed_in_tokens(&app, &rp, &browser, &["profile"]).await;
    let hint = tokens.id_token().unwrap().to_string();

    let logout = browser
        .get(&format!("/end-session?id_token_hint={hint}&post_logout_redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fsigned-out&state=bye"))
        .await;
    assert_eq!(logout.status, StatusCode::SEE_OTHER);
    assert_eq!(
        logout.location.as_deref(),
        Some("http://127.0.0.1:9/signed-out?state=bye")
    );
    browser.get("/account").await.assert_redirect("/login");

    // An unregistered post_logout_redirect_uri is an error page, never a redirect.
    let evil = browser.get(&format!("/end-session?id_token_hint={hint}&post_logout_redirect_uri=https%3A%2F%2Fevil.example%2F")).await;
    assert_eq!(evil.status, StatusCode::BAD_REQUEST);
    assert!(evil.location.is_none());
}

#[tokio::test]
async fn logout_without_a_hint_asks_first() {
    let app = TestApp::spawn().await;
    let (id, secret) = app.register(registration("Cloud", true)).await;
    let rp = RelyingParty::discover(&app, &id, secret.as_deref()).await;
    let browser = app.browser();
    signed_in_tokens(&app, &rp, &browser, &["profile"]).await;

    let confirm = browser.get("/end-session").await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.has("Sign out of OneID?"), "{}", confirm.body);
    assert!(
        browser.account_id().await.is_some(),
        "a bare link signs nobody out"
    );
    let field = |name| confirm.field(name).unwrap_or_default();
    let done = browser
        .post(
            "/end-session/confirm",
            &[
                ("csrf", &confirm.csrf()),
                ("then", &field("then")),
                ("issued", &field("issued")),
                ("signature", &field("signature")),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK);
    assert!(done.has("You are signed out"));
    browser.get("/account").await.assert_redirect("/login");
}

#[tokio::test]
async fn rotated_keys_keep_old_tokens_valid_and_sign_new_ones() {
    let app = TestApp::spawn().await;
    let (id, secret) = app.register(registration("Cloud", true)).await;
    let rp = RelyingParty::discover(&app, &id, secret.as_deref()).await;
    let browser = app.browser();
    let before = signed_in_tokens(&app, &rp, &browser, &["profile"]).await;
    let old_kid = before.id_token().unwrap().to_string();

    let ring = oneid::oidc::keys::rotate(
        &app.state.db,
        &app.state.kek,
        &app.settings.keys,
        app.clock.now(),
        None,
    )
    .await
    .unwrap();
    app.state.keys.replace(ring);

    // A relying party that fetches the JWKS anew still verifies the old token...
    let fresh_rp = RelyingParty::discover(&app, &id, secret.as_deref()).await;
    let old = before.id_token().unwrap();
    let any_nonce = |_: Option<&openidconnect::Nonce>| Ok(());
    assert!(
        old.claims(&fresh_rp.client.id_token_verifier(), any_nonce)
            .is_ok(),
        "the retired key is still published"
    );
    fresh_rp
        .userinfo(before.access_token())
        .await
        .expect("old access token still accepted");

    // ...and once the new key has been published for the activation delay, new tokens carry
    // its kid (until then the old key signs: see key_rollover.rs).
    app.advance(oneid::oidc::keys::ACTIVATION_DELAY);
    let ring = oneid::oidc::keys::ensure_keys(&app.state.db, &app.state.kek, app.clock.now())
        .await
        .unwrap();
    app.state.keys.replace(ring);
    let after = signed_in_tokens(&app, &fresh_rp, &browser, &["profile"]).await;
    let kid = |token: &str| {
        super::oidc::jwt_header(token)["kid"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_ne!(kid(&after.id_token().unwrap().to_string()), kid(&old_kid));
    assert_ne!(
        kid(after.access_token().secret()),
        kid(before.access_token().secret())
    );
}
