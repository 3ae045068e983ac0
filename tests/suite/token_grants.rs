//! What a code or a refresh token still gives once the sign-in behind it is gone (sign-out,
//! password reset or change), and the token endpoint's exactness: PKCE before a replay
//! revokes, refresh tokens bound to their public client, `redirect_uri` compared as a string.

use std::collections::HashMap;

use chrono::Duration;
use oneid::{
    clock::Clock as _,
    db::models::{account, session},
    domain::AccountId,
    oauth::registry::Registration,
};
use openidconnect::PkceCodeChallenge;
use reqwest::StatusCode;
use serde_json::Value;

use super::helpers::{Browser, CALLBACK, TestApp, registration, sign_up_asha};

const PHONE: &str = "9812345678";
const E164: &str = "+919812345678";
const PASSWORD: &str = "correct horse";

/// A registered client as the token endpoint sees it.
struct Rp {
    id: String,
    secret: Option<String>,
    redirect_uri: String,
}

impl Rp {
    /// A first-party client (no consent page; a refresh token even without offline_access).
    async fn register(app: &TestApp, registration: Registration) -> Self {
        let (id, secret) = app.register(registration).await;
        Self {
            id,
            secret,
            redirect_uri: CALLBACK.to_owned(),
        }
    }

    async fn confidential(app: &TestApp, name: &str) -> Self {
        Self::register(app, registration(name, true)).await
    }

    async fn public(app: &TestApp, name: &str) -> Self {
        Self::register(
            app,
            Registration {
                public: true,
                ..registration(name, true)
            },
        )
        .await
    }
}

/// A fresh authorization code and the PKCE verifier of the request it answers.
struct Code {
    code: String,
    verifier: String,
}

/// A token endpoint reply.
#[derive(Debug)]
struct Reply {
    status: StatusCode,
    json: Value,
}

impl Reply {
    #[track_caller]
    fn assert_invalid_grant(&self) {
        assert_eq!(
            (self.status, self.json["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_grant")),
            "{}",
            self.json
        );
        assert!(
            self.json.get("access_token").is_none() && self.json.get("refresh_token").is_none(),
            "{}",
            self.json
        );
    }

    #[track_caller]
    fn ok(&self) -> &Value {
        assert_eq!(self.status, StatusCode::OK, "{}", self.json);
        &self.json
    }

    #[track_caller]
    fn access_token(&self) -> String {
        self.ok()["access_token"].as_str().unwrap().to_owned()
    }

    #[track_caller]
    fn refresh_token(&self) -> String {
        self.ok()["refresh_token"]
            .as_str()
            .expect("a refresh token")
            .to_owned()
    }
}

/// A person signed up and signed in, in their browser.
async fn person(app: &TestApp) -> (Browser, AccountId) {
    let browser = app.browser();
    let id = sign_up_asha(app, &browser).await;
    (browser, id.parse().expect("an account ID"))
}

/// An authorization request by a signed-in browser, straight back with a code.
async fn authorize(app: &TestApp, browser: &Browser, rp: &Rp, scope: &str) -> Code {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut url = url::Url::parse(&format!("{}/authorize", app.base)).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &rp.id)
        .append_pair("redirect_uri", &rp.redirect_uri)
        .append_pair("scope", scope)
        .append_pair("state", "st")
        .append_pair("nonce", "nn")
        .append_pair("code_challenge", challenge.as_str())
        .append_pair("code_challenge_method", "S256");
    let page = browser.get_url(url.as_str()).await;
    let location = page
        .location
        .unwrap_or_else(|| panic!("no redirect: {}\n{}", page.status, page.body));
    assert!(location.starts_with(&rp.redirect_uri), "{location}");
    let params: HashMap<String, String> = url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    Code {
        code: params
            .get("code")
            .unwrap_or_else(|| panic!("no code: {location}"))
            .clone(),
        verifier: verifier.secret().clone(),
    }
}

/// POSTs `form` to /token as `rp` (Basic for a confidential client, `client_id` for a public one).
async fn post_token(app: &TestApp, rp: &Rp, form: &[(&str, &str)]) -> Reply {
    let mut fields = form.to_vec();
    let mut request = reqwest::Client::new().post(format!("{}/token", app.base));
    match &rp.secret {
        // Client IDs and secrets are letters and digits: nothing to form-encode first.
        Some(secret) => request = request.basic_auth(&rp.id, Some(secret)),
        None => fields.push(("client_id", &rp.id)),
    }
    let response = request.form(&fields).send().await.expect("POST /token");
    Reply {
        status: response.status(),
        json: response.json().await.expect("JSON"),
    }
}

async fn redeem_with(app: &TestApp, rp: &Rp, code: &str, verifier: &str, uri: &str) -> Reply {
    post_token(
        app,
        rp,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", uri),
            ("code_verifier", verifier),
        ],
    )
    .await
}

async fn redeem(app: &TestApp, rp: &Rp, code: &Code) -> Reply {
    redeem_with(app, rp, &code.code, &code.verifier, &rp.redirect_uri).await
}

/// A refresh token, from a fresh code for `scope` redeemed at once.
async fn refresh_token_for(app: &TestApp, browser: &Browser, rp: &Rp, scope: &str) -> String {
    redeem(app, rp, &authorize(app, browser, rp, scope).await)
        .await
        .refresh_token()
}

async fn refresh(app: &TestApp, rp: &Rp, token: &str) -> Reply {
    post_token(
        app,
        rp,
        &[("grant_type", "refresh_token"), ("refresh_token", token)],
    )
    .await
}

async fn userinfo(app: &TestApp, access_token: &str) -> StatusCode {
    reqwest::Client::new()
        .get(format!("{}/userinfo", app.base))
        .bearer_auth(access_token)
        .send()
        .await
        .expect("GET /userinfo")
        .status()
}

/// The `sid` of every session the account has had, live or ended.
async fn live_sessions(app: &TestApp, account: AccountId) -> Vec<String> {
    app.state
        .db
        .run(move |conn| session::live_for_account(conn, account))
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.sid)
        .collect()
}

/// Ends the account's sessions in the database only, without revoking any grant: what a
/// sign-out on another instance looks like to a grant created while it ran.
async fn end_sessions_behind_the_grants(app: &TestApp, account: AccountId) {
    let now = app.clock.now();
    for sid in live_sessions(app, account).await {
        app.state
            .db
            .run(move |conn| session::end(conn, &sid, session::EndReason::SignedOut, now))
            .await
            .unwrap();
    }
}

/// Writes the password hash again (the same password, so the person can still sign in) through
/// the one function that writes it, and nothing else: no session ends and no grant is revoked,
/// so only the password epoch can refuse what follows.
async fn change_password_only(app: &TestApp, account: AccountId) {
    app.advance(Duration::seconds(1));
    let now = app.clock.now();
    app.state
        .db
        .run(move |conn| {
            let hash = account::find_by_id(conn, account)?
                .expect("the account")
                .password_hash
                .expect("signed up with a password");
            account::set_password(conn, account, &hash, now)
        })
        .await
        .unwrap();
}

/// Resets the password through the pages, with a code to the phone (a fresh browser).
async fn reset_password(app: &TestApp) {
    let browser = app.browser();
    browser
        .submit("/reset", "/reset", &[("identifier", PHONE)])
        .await
        .assert_redirect("/recover/verify");
    let page = browser.get("/recover/verify").await;
    let code = app.wait_for_code(E164, "reset", 0).await;
    browser
        .enter_recovery_code(&page, &code, "new horse battery")
        .await
        .assert_redirect("/account");
}

// ---- Point 5: codes and refresh tokens die with their session and with a password change.

#[tokio::test]
async fn a_code_redeemed_after_sign_out_gives_nothing() {
    let app = TestApp::spawn().await;
    let rp = Rp::confidential(&app, "Cloud").await;
    let (browser, _) = person(&app).await;
    let plain = authorize(&app, &browser, &rp, "openid profile").await;
    let offline = authorize(&app, &browser, &rp, "openid offline_access").await;
    browser.sign_out().await;

    // Within the code's 60 s, but the session it was issued in is over: even offline_access,
    // which outlives a session once granted, is not granted by a code redeemed after it.
    redeem(&app, &rp, &plain).await.assert_invalid_grant();
    redeem(&app, &rp, &offline).await.assert_invalid_grant();
}

#[tokio::test]
async fn a_code_redeemed_after_a_password_reset_gives_nothing() {
    let app = TestApp::spawn().await;
    let rp = Rp::confidential(&app, "Cloud").await;
    let (browser, _) = person(&app).await;
    // One code per phone a minute: the reset code must wait for the sign-up code's cooldown.
    app.advance(Duration::seconds(61));
    let code = authorize(&app, &browser, &rp, "openid offline_access").await;
    reset_password(&app).await;
    redeem(&app, &rp, &code).await.assert_invalid_grant();
}

#[tokio::test]
async fn a_code_redeemed_after_the_password_changed_gives_nothing_even_in_a_live_session() {
    let app = TestApp::spawn().await;
    let rp = Rp::confidential(&app, "Cloud").await;
    let (browser, account) = person(&app).await;
    let code = authorize(&app, &browser, &rp, "openid offline_access").await;
    change_password_only(&app, account).await;
    assert!(!live_sessions(&app, account).await.is_empty());
    let reply = redeem(&app, &rp, &code).await;
    reply.assert_invalid_grant();
    assert!(
        reply.json["error_description"]
            .as_str()
            .unwrap()
            .contains("password"),
        "{}",
        reply.json
    );

    // A sign-in after the change is not affected.
    let fresh = app.browser();
    fresh
        .sign_in(PHONE, PASSWORD)
        .await
        .assert_redirect("/account");
    let after = authorize(&app, &fresh, &rp, "openid").await;
    let _ = redeem(&app, &rp, &after).await.access_token();
}

#[tokio::test]
async fn a_refresh_after_sign_out_is_invalid_grant_unless_offline_access() {
    let app = TestApp::spawn().await;
    let rp = Rp::confidential(&app, "Cloud").await;
    let (browser, _) = person(&app).await;
    let session_bound = refresh_token_for(&app, &browser, &rp, "openid profile").await;
    let offline = refresh_token_for(&app, &browser, &rp, "openid offline_access").await;
    browser.sign_out().await;

    refresh(&app, &rp, &session_bound)
        .await
        .assert_invalid_grant();
    // OIDC Core §11: offline access is what the person granted to outlive the session.
    let again = refresh(&app, &rp, &offline).await;
    assert!(again.ok()["refresh_token"].is_string());
}

#[tokio::test]
async fn a_grant_made_while_its_session_was_ending_cannot_be_refreshed() {
    let app = TestApp::spawn().await;
    let rp = Rp::confidential(&app, "Cloud").await;
    let (browser, account) = person(&app).await;
    let session_bound = refresh_token_for(&app, &browser, &rp, "openid profile").await;
    let offline = refresh_token_for(&app, &browser, &rp, "openid offline_access").await;
    // The session ended, but the grant was made too late to be revoked with it.
    end_sessions_behind_the_grants(&app, account).await;

    let introspected = reqwest::Client::new()
        .post(format!("{}/introspect", app.base))
        .basic_auth(&rp.id, rp.secret.as_deref())
        .form(&[("token", session_bound.as_str())])
        .send()
        .await
        .expect("POST /introspect")
        .json::<Value>()
        .await
        .expect("JSON");
    assert_eq!(introspected["active"], false, "{introspected}");
    refresh(&app, &rp, &session_bound)
        .await
        .assert_invalid_grant();
    // And it stays dead: the refusal revoked the grant.
    refresh(&app, &rp, &session_bound)
        .await
        .assert_invalid_grant();
    refresh(&app, &rp, &offline).await.refresh_token();
}

#[tokio::test]
async fn a_refresh_after_a_password_reset_is_invalid_grant_even_for_offline_access() {
    let app = TestApp::spawn().await;
    let rp = Rp::confidential(&app, "Cloud").await;
    let (browser, _) = person(&app).await;
    let offline = refresh_token_for(&app, &browser, &rp, "openid offline_access").await;
    app.advance(Duration::seconds(61));
    reset_password(&app).await;
    refresh(&app, &rp, &offline).await.assert_invalid_grant();
}

#[tokio::test]
async fn a_refresh_after_the_password_changed_is_invalid_grant() {
    let app = TestApp::spawn().await;
    let rp = Rp::confidential(&app, "Cloud").await;
    let (browser, account) = person(&app).await;
    let offline = refresh_token_for(&app, &browser, &rp, "openid offline_access").await;
    let session_bound = refresh_token_for(&app, &browser, &rp, "openid profile").await;
    change_password_only(&app, account).await;
    refresh(&app, &rp, &offline).await.assert_invalid_grant();
    refresh(&app, &rp, &session_bound)
        .await
        .assert_invalid_grant();
}

// ---- Point 6: the token endpoint is exact.

#[tokio::test]
async fn a_replay_with_a_wrong_verifier_revokes_nothing_and_with_the_right_one_revokes_all() {
    let app = TestApp::spawn().await;
    let rp = Rp::public(&app, "Talk mobile").await;
    let (browser, _) = person(&app).await;
    let code = authorize(&app, &browser, &rp, "openid profile").await;
    let first = redeem(&app, &rp, &code).await;
    let (access, refresh_token) = (first.access_token(), first.refresh_token());

    // Someone who saw the code but not the verifier: refused, and the rightful grant lives.
    let stray = PkceCodeChallenge::new_random_sha256().1;
    redeem_with(&app, &rp, &code.code, stray.secret(), &rp.redirect_uri)
        .await
        .assert_invalid_grant();
    redeem_with(
        &app,
        &rp,
        &code.code,
        &code.verifier,
        "http://127.0.0.1:9/other",
    )
    .await
    .assert_invalid_grant();
    assert_eq!(userinfo(&app, &access).await, StatusCode::OK);

    // The same request again, verifier and all: a real replay (RFC 6749 §4.1.2).
    redeem(&app, &rp, &code).await.assert_invalid_grant();
    assert_eq!(userinfo(&app, &access).await, StatusCode::UNAUTHORIZED);
    refresh(&app, &rp, &refresh_token)
        .await
        .assert_invalid_grant();
}

#[tokio::test]
async fn a_public_clients_refresh_token_is_refused_to_another_client_id() {
    let app = TestApp::spawn().await;
    let talk = Rp::public(&app, "Talk mobile").await;
    let forum = Rp::public(&app, "Forum mobile").await;
    let (browser, _) = person(&app).await;
    let token = refresh_token_for(&app, &browser, &talk, "openid offline_access").await;

    // RFC 6749 §6: the refresh token is bound to the client it was issued to.
    refresh(&app, &forum, &token).await.assert_invalid_grant();
    // The attempt neither spent the token nor revoked the grant.
    refresh(&app, &talk, &token).await.refresh_token();
}

#[tokio::test]
async fn the_token_requests_redirect_uri_must_be_the_identical_string() {
    let app = TestApp::spawn().await;
    let rp = Rp {
        redirect_uri: "https://rp.example/cb".to_owned(),
        ..Rp::register(
            &app,
            Registration {
                redirect_uris: vec!["https://rp.example/cb".into()],
                ..registration("Market", true)
            },
        )
        .await
    };
    let (browser, _) = person(&app).await;
    // The same URL once parsed, but not the string the authorization request sent.
    for variant in [
        "HTTPS://RP.EXAMPLE:443/cb",
        "https://rp.example:443/cb",
        "https://RP.example/cb",
    ] {
        let code = authorize(&app, &browser, &rp, "openid").await;
        redeem_with(&app, &rp, &code.code, &code.verifier, variant)
            .await
            .assert_invalid_grant();
    }
    let code = authorize(&app, &browser, &rp, "openid").await;
    redeem(&app, &rp, &code).await.access_token();
}
