//! Back-Channel Logout 1.0 over HTTP: OneID posts a logout token; valid ones end the sessions
//! they name, anything else is refused and ends nothing.

use oneid_apps::config::AppKind;

use crate::{
    helpers::{ASHA, RAVI, json, spawn_app},
    keys::TestKey,
};

#[tokio::test]
async fn a_valid_logout_token_ends_the_named_session() {
    let app = spawn_app(AppKind::Talk).await;
    let asha = app.plant_session(&ASHA);
    let ravi = app.plant_session(&RAVI);
    let asha_browser = app.browser_with(&asha);
    let home = app.get_with(&asha_browser, "/").await;
    assert!(home.body.contains("Asha Rao"), "{}", home.body);
    assert!(home.body.contains("asha"));

    let token = app
        .oneid
        .logout_token(TestKey::rsa("rsa-1"), Some(ASHA.sid), Some(ASHA.sub));
    let answer = app.backchannel_logout(&token).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.headers["cache-control"], "no-store");

    assert!(app.sessions.get(&asha, helpers_now()).is_none());
    assert!(
        app.sessions.get(&ravi, helpers_now()).is_some(),
        "others stay signed in"
    );
    let home = app.get_with(&asha_browser, "/").await;
    assert!(home.body.contains("Sign in with OneID"));
    assert!(!home.body.contains("Asha Rao"));
}

fn helpers_now() -> i64 {
    crate::helpers::now()
}

#[tokio::test]
async fn without_sid_every_session_of_the_person_ends() {
    let app = spawn_app(AppKind::Cloud).await;
    let phone = app.plant_session(&ASHA);
    let laptop = app.plant_session(&ASHA);
    let ravi = app.plant_session(&RAVI);
    let token = app
        .oneid
        .logout_token(TestKey::rsa("rsa-1"), None, Some(ASHA.sub));
    assert_eq!(app.backchannel_logout(&token).await.status, 200);
    assert!(app.sessions.get(&phone, helpers_now()).is_none());
    assert!(app.sessions.get(&laptop, helpers_now()).is_none());
    assert!(app.sessions.get(&ravi, helpers_now()).is_some());
}

#[tokio::test]
async fn a_token_for_no_current_session_is_still_acknowledged() {
    let app = spawn_app(AppKind::Forum).await;
    let token = app
        .oneid
        .logout_token(TestKey::rsa("rsa-1"), Some("sid-gone"), None);
    assert_eq!(app.backchannel_logout(&token).await.status, 200);
}

#[tokio::test]
async fn invalid_tokens_are_refused_and_end_nothing() {
    let app = spawn_app(AppKind::Market).await;
    let asha = app.plant_session(&ASHA);
    let key = TestKey::rsa("rsa-1");
    let valid = app.oneid.logout_token(key, Some(ASHA.sid), None);
    let forged = {
        // Same kid, another key.
        let forger = TestKey::rsa("rsa-2");
        let claims = payload(&valid);
        forger.sign(&key.header("logout+jwt"), &claims)
    };
    let with_nonce = {
        let mut claims = payload(&valid);
        claims["nonce"] = "abc".into();
        key.sign(&key.header("logout+jwt"), &claims)
    };
    let wrong_audience = {
        let mut claims = payload(&valid);
        claims["aud"] = "client-talk".into();
        key.sign(&key.header("logout+jwt"), &claims)
    };
    for (token, what) in [
        (forged.as_str(), "signature"),
        (with_nonce.as_str(), "nonce"),
        (wrong_audience.as_str(), "audience"),
        ("not-a-jwt", "malformed"),
    ] {
        let answer = app.backchannel_logout(token).await;
        assert_eq!(answer.status, 400, "{what}");
        assert_eq!(answer.headers["cache-control"], "no-store");
        let body = json(&answer);
        assert_eq!(body["error"], "invalid_request", "{what}");
        assert!(body["error_description"].is_string(), "{what}");
    }
    assert!(app.sessions.get(&asha, helpers_now()).is_some());
}

#[tokio::test]
async fn the_request_must_be_a_form_with_one_logout_token() {
    let app = spawn_app(AppKind::Cloud).await;
    let url = format!("{}/backchannel-logout", app.base);
    let http = reqwest::Client::new();
    let missing = http
        .post(&url)
        .form(&[("other", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 400);
    let body: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(body["error_description"], "logout_token is missing");
    let as_json = http
        .post(&url)
        .json(&serde_json::json!({ "logout_token": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(as_json.status(), 400);
    let twice = http
        .post(&url)
        .form(&[("logout_token", "a"), ("logout_token", "b")])
        .send()
        .await
        .unwrap();
    assert_eq!(twice.status(), 400);
}

#[tokio::test]
async fn a_token_signed_with_a_new_key_is_accepted_after_fetching_the_keys_again() {
    let app = spawn_app(AppKind::Talk).await;
    let asha = app.plant_session(&ASHA);
    let rotated = TestKey::es256("ec-2");
    app.oneid.state().keys.push(rotated.jwk());
    let fetches = app.oneid.state().jwks_fetches;
    let token = app.oneid.logout_token(&rotated, Some(ASHA.sid), None);
    let answer = app.backchannel_logout(&token).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(app.oneid.state().jwks_fetches, fetches + 1);
    assert!(app.sessions.get(&asha, helpers_now()).is_none());
}

/// The claims of a compact JWS.
fn payload(token: &str) -> serde_json::Value {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}
