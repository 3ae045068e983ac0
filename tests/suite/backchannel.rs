//! Back-Channel Logout: signing out at OneID tells every app that took part in the session.

use std::time::Duration;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use oneid::oauth::registry::Registration;
use openidconnect::{
    JsonWebKey,
    core::{CoreJsonWebKeySet, CoreJwsSigningAlgorithm},
};

use super::{
    capture::{Kept, NO_ANSWER, capture_server},
    helpers::{Browser, RelyingParty, TestApp, registration, signed_in_tokens},
    oidc::jwt_part,
};

/// An app's back-channel logout endpoint: answers with the next status of `statuses` (the last
/// repeats) and keeps each logout_token it accepted.
pub(super) async fn receiver(statuses: Vec<u16>) -> (String, Kept<String>) {
    capture_server("/backchannel-logout", statuses, |request| {
        (request.status == 200).then(|| request.form_field("logout_token").unwrap_or_default())
    })
    .await
}

pub(super) async fn wait_for(tokens: &Kept<String>, count: usize) -> Vec<String> {
    for _ in 0..100 {
        if tokens.lock().unwrap().len() >= count {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokens.lock().unwrap().clone()
}

/// Signs in to the app through `browser` (signing up first if needed); returns the ID token.
async fn sign_in_to(app: &TestApp, rp: &RelyingParty, browser: &Browser) -> String {
    openidconnect::TokenResponse::id_token(&signed_in_tokens(app, rp, browser, &["profile"]).await)
        .unwrap()
        .to_string()
}

async fn sign_out_at_oneid(browser: &Browser) {
    let account = browser.get("/account").await;
    browser
        .post("/logout", &[("csrf", &account.csrf())])
        .await
        .assert_redirect("/login");
}

pub(super) fn with_backchannel(name: &str, uri: &str) -> Registration {
    Registration {
        backchannel_logout_uri: Some(uri.to_owned()),
        ..registration(name, true)
    }
}

/// A first-party app named `name` with a back-channel logout endpoint that accepts every
/// logout token; returns the app and the tokens it is sent.
pub(super) async fn told_of_logouts(app: &TestApp, name: &str) -> (RelyingParty, Kept<String>) {
    let (uri, tokens) = receiver(vec![200]).await;
    let rp = RelyingParty::register(app, with_backchannel(name, &uri)).await;
    (rp, tokens)
}

#[tokio::test]
async fn signing_out_sends_a_signed_logout_token_to_each_app_of_the_session() {
    let app = TestApp::spawn().await;
    let (cloud_rp, cloud_tokens) = told_of_logouts(&app, "Cloud").await;
    let talk_rp = RelyingParty::register(&app, registration("Talk", true)).await;
    let (_, forum_tokens) = told_of_logouts(&app, "Forum").await;
    let cloud = cloud_rp.id.as_str();

    let browser = app.browser();
    let id_token = sign_in_to(&app, &cloud_rp, &browser).await;
    sign_in_to(&app, &talk_rp, &browser).await;
    sign_out_at_oneid(&browser).await;

    let tokens = wait_for(&cloud_tokens, 1).await;
    assert_eq!(tokens.len(), 1, "Cloud, in the session, is told once");
    let token = &tokens[0];
    let header = jwt_part(token, 0);
    assert_eq!(header["typ"], "logout+jwt");
    let claims = jwt_part(token, 1);
    let id_claims = jwt_part(&id_token, 1);
    assert_eq!(claims["iss"], app.base);
    assert_eq!(claims["aud"], cloud);
    assert_eq!(
        claims["sid"], id_claims["sid"],
        "names the session the ID token named"
    );
    assert_eq!(claims["sub"], id_claims["sub"]);
    assert!(claims["iat"].is_i64() && claims["jti"].is_string());
    assert!(claims["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object());
    assert!(
        claims.get("nonce").is_none(),
        "a logout token never carries a nonce"
    );

    // The signature verifies with a key published in the JWKS (checked by openidconnect's JWK code).
    let jwks: CoreJsonWebKeySet = reqwest::get(format!("{}/jwks.json", app.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = jwks
        .keys()
        .iter()
        .find(|k| k.key_id().map(|id| id.as_str()) == header["kid"].as_str())
        .expect("kid published");
    let (signed, signature) = token.rsplit_once('.').unwrap();
    key.verify_signature(
        &CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        signed.as_bytes(),
        &URL_SAFE_NO_PAD.decode(signature).unwrap(),
    )
    .expect("logout token signature verifies");

    // Forum has a back-channel endpoint but was never used in this session.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        forum_tokens.lock().unwrap().is_empty(),
        "no logout token to apps outside the session"
    );
}

#[tokio::test]
async fn an_app_that_was_down_gets_the_logout_token_when_it_is_back() {
    let app = TestApp::spawn().await;
    let (uri, tokens) = receiver(vec![503, 503, 200]).await;
    let cloud = RelyingParty::register(&app, with_backchannel("Cloud", &uri)).await;
    let browser = app.browser();
    sign_in_to(&app, &cloud, &browser).await;
    sign_out_at_oneid(&browser).await;

    // The first attempt fails at once; later ones wait for their backoff on OneID's clock.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(tokens.lock().unwrap().is_empty());
    let counts = |app: &TestApp| {
        let db = app.state.db.clone();
        async move {
            db.run(oneid::db::models::backchannel::counts)
                .await
                .unwrap()
        }
    };
    assert_eq!(counts(&app).await, (1, 0, 0), "still pending");
    for _ in 0..2 {
        app.advance(chrono::Duration::seconds(10));
        tokio::time::sleep(Duration::from_millis(1300)).await;
    }
    let delivered = wait_for(&tokens, 1).await;
    assert_eq!(delivered.len(), 1, "delivered once the app answers");
    assert_eq!(counts(&app).await, (0, 1, 0));
}

#[tokio::test]
async fn rp_initiated_logout_from_one_app_tells_the_others() {
    let app = TestApp::spawn().await;
    let (cloud, cloud_tokens) = told_of_logouts(&app, "Cloud").await;
    let (talk, talk_tokens) = told_of_logouts(&app, "Talk").await;
    let browser = app.browser();
    let id_token = sign_in_to(&app, &cloud, &browser).await;
    sign_in_to(&app, &talk, &browser).await;

    let page = browser
        .get(&format!("/end-session?id_token_hint={id_token}"))
        .await;
    assert!(page.has("You are signed out"), "{}", page.body);
    assert_eq!(wait_for(&cloud_tokens, 1).await.len(), 1);
    assert_eq!(wait_for(&talk_tokens, 1).await.len(), 1);
}

#[tokio::test]
async fn a_session_that_runs_out_tells_its_apps() {
    let app = TestApp::spawn().await;
    let (cloud, tokens) = told_of_logouts(&app, "Cloud").await;
    let browser = app.browser();
    let id_token = sign_in_to(&app, &cloud, &browser).await;

    // Left alone for longer than the idle timeout (plus the day of slack the durable record
    // allows): the sweep ends the session and Cloud hears of it.
    app.advance(chrono::Duration::seconds(
        app.settings.session.idle_timeout_secs + 86_400 + 60,
    ));
    let delivered = wait_for(&tokens, 1).await;
    assert_eq!(delivered.len(), 1, "the app of an expired session is told");
    assert_eq!(
        jwt_part(&delivered[0], 1)["sid"],
        jwt_part(&id_token, 1)["sid"]
    );
    assert_eq!(browser.account_id().await, None);
}

#[tokio::test]
async fn a_session_in_use_is_not_ended_by_the_sweep() {
    let app = TestApp::spawn().await;
    let (cloud, tokens) = told_of_logouts(&app, "Cloud").await;
    let browser = app.browser();
    sign_in_to(&app, &cloud, &browser).await;
    let idle = app.settings.session.idle_timeout_secs;

    // Used a little before each idle timeout would end it, for longer than two idle timeouts.
    for _ in 0..3 {
        app.advance(chrono::Duration::seconds(idle - 3600));
        assert!(browser.account_id().await.is_some(), "still signed in");
        tokio::time::sleep(Duration::from_millis(1200)).await;
    }
    assert!(
        tokens.lock().unwrap().is_empty(),
        "no logout token for a live session"
    );
}

#[tokio::test]
async fn an_admin_sign_out_ends_every_session_and_every_grant() {
    let app = TestApp::spawn().await;
    let (rp, tokens) = told_of_logouts(&app, "Cloud").await;
    let phone = app.browser();
    let laptop = app.browser();
    let on_phone = signed_in_tokens(&app, &rp, &phone, &["profile"]).await;
    let account_id = phone.account_id().await.unwrap();
    laptop
        .sign_in("9812345678", "correct horse")
        .await
        .assert_redirect("/account");
    signed_in_tokens(&app, &rp, &laptop, &["profile"]).await;

    let output = app
        .oneid_command()
        .args(["user", "sign-out", &account_id])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("2 session(s) ended"));
    // The CLI queued the tokens on the real clock; the server delivers on its test clock, and
    // browsers re-check their session against the durable record at least once a minute.
    app.advance(chrono::Duration::seconds(61));

    let delivered = wait_for(&tokens, 2).await;
    assert_eq!(delivered.len(), 2, "one logout token per session");
    assert_ne!(
        jwt_part(&delivered[0], 1)["sid"],
        jwt_part(&delivered[1], 1)["sid"]
    );
    let access = openidconnect::OAuth2TokenResponse::access_token(&on_phone);
    assert!(
        rp.userinfo(access).await.is_err(),
        "the grant's access token is dead"
    );
    assert_eq!(phone.account_id().await, None);

    assert_eq!(laptop.account_id().await, None);
}

#[tokio::test]
async fn signing_out_of_an_unknown_account_is_a_clear_error() {
    let app = TestApp::spawn().await;
    let output = app
        .oneid_command()
        .args(["user", "sign-out", "123456789"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no account 123456789"));
}

/// An app's back-channel endpoint that reads each request and never answers (until OneID's
/// request timeout gives up on it); counts the requests that reached it.
async fn hanging_receiver() -> (String, Kept<()>) {
    capture_server("/backchannel-logout", vec![NO_ANSWER], |_| Some(())).await
}

#[tokio::test]
async fn an_app_that_hangs_does_not_delay_the_logout_of_another() {
    let app = TestApp::spawn().await;
    let (hanging_uri, hanging_hits) = hanging_receiver().await;
    let slow = RelyingParty::register(&app, with_backchannel("Slow", &hanging_uri)).await;
    let (forum, forum_tokens) = told_of_logouts(&app, "Forum").await;
    let browser = app.browser();

    // The first sign-out queues a token for the app that hangs, and its delivery starts.
    sign_in_to(&app, &slow, &browser).await;
    sign_out_at_oneid(&browser).await;
    for _ in 0..40 {
        if !hanging_hits.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(
        hanging_hits.lock().unwrap().len(),
        1,
        "the hanging app was called"
    );

    // While it hangs (OneID waits 5 s for it), a second sign-out from another app is told at once.
    browser
        .sign_in("9812345678", "correct horse")
        .await
        .assert_redirect("/account");
    sign_in_to(&app, &forum, &browser).await;
    let started = std::time::Instant::now();
    sign_out_at_oneid(&browser).await;
    while forum_tokens.lock().unwrap().is_empty() && started.elapsed() < Duration::from_secs(6) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let waited = started.elapsed();
    assert_eq!(forum_tokens.lock().unwrap().len(), 1, "Forum was told");
    assert!(
        waited < Duration::from_millis(2000),
        "Forum waited {waited:?} behind the hanging app"
    );
}
