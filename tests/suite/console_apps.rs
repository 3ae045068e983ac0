//! The account console's connected apps (issue 12, point 5): every app the person signed in to
//! is listed with what it may see; revoking a third-party app deletes the consent, revokes its
//! grants (refresh tokens `invalid_grant`, access tokens inactive and refused at UserInfo),
//! tells the app by back-channel logout and is audited; the next authorization asks again.
//! First-party apps are listed but cannot be revoked; another person's app, an unknown one, a
//! forged form or a visitor not signed in change nothing.

use oneid::{clock::Clock, db::models::audit::AuditRecord, oauth::registry::Registration};
use openidconnect::{OAuth2TokenResponse, TokenResponse, core::CoreTokenResponse};
use reqwest::StatusCode;

use super::{
    audit::every_event,
    backchannel::{receiver, wait_for},
    helpers::{
        Browser, CALLBACK, Page, RelyingParty, TestApp, callback, introspection_active,
        registration, sign_up_by_email, signed_in_tokens,
    },
    oidc::{jwt_part, sign_up_during},
};

const LOGO: &str = "https://forum.example/img/logo.png";

/// A third-party app with a logo and a back-channel logout endpoint at `logout_uri`.
fn forum(logout_uri: Option<String>) -> Registration {
    Registration {
        logo_url: Some(LOGO.into()),
        backchannel_logout_uri: logout_uri,
        ..registration("Forum ext", false)
    }
}

/// Asha signs up while the forum asks for `scopes`, allows it on the consent page, and the
/// forum redeems the code. Returns her browser and the forum's tokens.
async fn consented(
    app: &TestApp,
    rp: &RelyingParty,
    scopes: &[&str],
) -> (Browser, CoreTokenResponse) {
    let browser = app.browser();
    let (url, _, _, verifier) = rp.authorize_url(scopes);
    let consent = sign_up_during(app, &browser, &url).await;
    assert_eq!(consent.status, StatusCode::OK, "{}", consent.body);
    let back = browser
        .post(
            "/consent",
            &[("csrf", &consent.csrf()), ("decision", "allow")],
        )
        .await;
    let tokens = rp.redeem(&callback(&back)["code"], verifier).await;
    (browser, tokens)
}

/// The token endpoint's answer to the refresh grant: (status, `error`).
async fn refresh(app: &TestApp, rp: &RelyingParty, token: &str) -> (u16, Option<String>) {
    token_request(
        app,
        rp,
        &[("grant_type", "refresh_token"), ("refresh_token", token)],
    )
    .await
}

/// The token endpoint's answer to `form` from the app: (status, `error`).
async fn token_request(
    app: &TestApp,
    rp: &RelyingParty,
    form: &[(&str, &str)],
) -> (u16, Option<String>) {
    let reply = reqwest::Client::new()
        .post(format!("{}/token", app.base))
        .basic_auth(&rp.id, rp.secret.as_deref())
        .form(form)
        .send()
        .await
        .unwrap();
    let status = reply.status().as_u16();
    let json: serde_json::Value = reply.json().await.unwrap();
    (status, json["error"].as_str().map(str::to_owned))
}

async fn events(app: &TestApp, kind: &str) -> Vec<AuditRecord> {
    every_event(app)
        .await
        .into_iter()
        .filter(|e| e.kind == kind)
        .collect()
}

/// Sends the revoke form for `client_id` (with the CSRF token of the account page, which has a
/// form even when no app is listed).
async fn revoke(browser: &Browser, client_id: &str) -> Page {
    browser
        .submit(
            "/account",
            "/account/apps/revoke",
            &[("client_id", client_id)],
        )
        .await
}

#[tokio::test]
async fn a_revoked_app_loses_its_tokens_is_told_and_must_ask_again() {
    let app = TestApp::spawn().await;
    let (logout_uri, logout_tokens) = receiver(vec![200]).await;
    let rp = RelyingParty::register(&app, forum(Some(logout_uri))).await;
    let (browser, tokens) = consented(&app, &rp, &["profile", "offline_access"]).await;
    let refresh_token = tokens.refresh_token().expect("offline access").secret();
    let access = tokens.access_token().secret();
    let sid = jwt_part(&tokens.id_token().unwrap().to_string(), 1)["sid"].clone();

    // Listed, with its logo (and the CSP allows exactly it), what it may see, offline access.
    let page = browser.get("/account/apps").await;
    assert_eq!(page.status, StatusCode::OK);
    for text in [
        "Forum ext",
        "See your name and account ID",
        "Stay signed in when you are not using it",
        "Offline access",
        &format!(r#"name="client_id" value="{}""#, rp.id),
    ] {
        assert!(page.has(text), "{text}:\n{}", page.body);
    }
    let unescaped = page.body.replace("&#x2f;", "/").replace("&#47;", "/");
    assert!(
        unescaped.contains(&format!(r#"src="{LOGO}""#)),
        "{unescaped}"
    );
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains(&format!("img-src 'self' data: {LOGO};")),
        "{csp}"
    );
    assert!(
        !page.has("Part of OneID"),
        "a third-party app is not first-party"
    );

    // A code issued just before the revocation is worth nothing after it.
    let (url, _, _, pending_verifier) = rp.authorize_url(&["profile"]);
    let pending = callback(&browser.get_url(&url).await)["code"].clone();

    let revoked = revoke(&browser, &rp.id).await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.body);
    assert!(
        revoked.has("Forum ext no longer has access"),
        "{}",
        revoked.body
    );
    assert!(
        !revoked.has(r#"name="client_id""#),
        "the app leaves the list:\n{}",
        revoked.body
    );

    // Its refresh token is dead, its access token inactive and refused at UserInfo.
    assert_eq!(
        refresh(&app, &rp, refresh_token).await,
        (400, Some("invalid_grant".into()))
    );
    assert!(!introspection_active(&app.base, &rp.id, rp.secret.as_deref(), access).await);
    assert!(rp.userinfo(tokens.access_token()).await.is_err());
    let redeemed = token_request(
        &app,
        &rp,
        &[
            ("grant_type", "authorization_code"),
            ("code", &pending),
            ("redirect_uri", CALLBACK),
            ("code_verifier", pending_verifier.secret()),
        ],
    )
    .await;
    assert_eq!(redeemed, (400, Some("invalid_grant".into())));

    // Its back-channel endpoint is told of the session it took part in.
    let told = wait_for(&logout_tokens, 1).await;
    assert_eq!(told.len(), 1, "one logout token");
    let claims = jwt_part(&told[0], 1);
    assert_eq!(claims["aud"], rp.id.as_str());
    assert_eq!(claims["sid"], sid);

    // Audited once, naming the account and the app.
    let audited = events(&app, "consent_revoked").await;
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0].client_id.as_deref(), Some(rp.id.as_str()));
    assert_eq!(
        audited[0].account_id.map(|a| a.to_string()),
        browser.account_id().await
    );

    // The person is still signed in at OneID, and the app must ask for consent again.
    let (url, ..) = rp.authorize_url(&["profile"]);
    let again = browser.get_url(&url).await;
    again.assert_redirect("/consent");
    let consent = browser.follow(again).await;
    assert!(
        consent.has(r#"name="decision" value="allow""#),
        "{}",
        consent.body
    );
}

#[tokio::test]
async fn a_first_party_app_is_listed_but_cannot_be_revoked() {
    let app = TestApp::spawn().await;
    let rp = RelyingParty::register(&app, registration("Cloud", true)).await;
    let browser = app.browser();
    let tokens = signed_in_tokens(&app, &rp, &browser, &["profile"]).await;
    let refresh_token = tokens.refresh_token().expect("first party").secret();

    let page = browser.get("/account/apps").await;
    assert!(
        page.has("Cloud") && page.has("Part of OneID"),
        "{}",
        page.body
    );
    assert!(
        page.has("administrator made this app part of OneID"),
        "says why it cannot be revoked:\n{}",
        page.body
    );
    assert!(
        !page.has(r#"name="client_id""#),
        "no revoke button:\n{}",
        page.body
    );
    assert!(
        page.has(r#"class="app-avatar letter""#),
        "no logo: its initial"
    );

    // A hand-made form is refused with the explanation; nothing changes.
    let refused = revoke(&browser, &rp.id).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(
        refused.has("Sign out of it instead, or delete your OneID account"),
        "{}",
        refused.body
    );
    assert!(
        introspection_active(
            &app.base,
            &rp.id,
            rp.secret.as_deref(),
            tokens.access_token().secret()
        )
        .await
    );
    let (status, _) = refresh(&app, &rp, refresh_token).await;
    assert_eq!(status, 200);
    assert!(events(&app, "consent_revoked").await.is_empty());
}

#[tokio::test]
async fn another_persons_app_an_unknown_one_a_forged_form_or_a_visitor_change_nothing() {
    let app = TestApp::spawn().await;
    let rp = RelyingParty::register(&app, forum(None)).await;
    let (asha, tokens) = consented(&app, &rp, &["profile", "offline_access"]).await;
    let access = tokens.access_token().secret();

    // Ravi, signed in, names Asha's app: not his, so not found.
    let ravi = app.browser();
    sign_up_by_email(&app, &ravi, "ravi@example.com", "correct horse").await;
    let page = ravi.get("/account/apps").await;
    assert!(
        !page.has("Forum ext"),
        "only one's own apps:\n{}",
        page.body
    );
    let foreign = revoke(&ravi, &rp.id).await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND, "{}", foreign.body);
    assert!(foreign.has("not there any more"), "{}", foreign.body);
    for unknown in ["no-such-app", "<script>"] {
        let page = revoke(&asha, unknown).await;
        assert_eq!(
            page.status,
            StatusCode::NOT_FOUND,
            "{unknown}: {}",
            page.body
        );
    }
    let oversized = revoke(&asha, &"a".repeat(10_000)).await;
    assert_eq!(oversized.status, StatusCode::BAD_REQUEST);
    assert!(oversized.has("too long"), "{}", oversized.body);

    // A forged form (wrong CSRF token) and a visitor who is not signed in.
    let forged = asha
        .post(
            "/account/apps/revoke",
            &[("csrf", "forged"), ("client_id", &rp.id)],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let visitor = app.browser();
    visitor
        .submit("/login", "/account/apps/revoke", &[("client_id", &rp.id)])
        .await
        .assert_redirect("/login");
    visitor.get("/account/apps").await.assert_redirect("/login");

    assert!(
        introspection_active(&app.base, &rp.id, rp.secret.as_deref(), access).await,
        "Asha's app still works"
    );
    assert!(asha.get("/account/apps").await.has("Forum ext"));
    assert!(events(&app, "consent_revoked").await.is_empty());
}

#[tokio::test]
async fn using_an_app_again_moves_it_up_and_keeps_when_it_was_first_used() {
    let app = TestApp::spawn().await;
    let cloud = RelyingParty::register(&app, registration("Cloud", true)).await;
    let talk = RelyingParty::register(&app, registration("Talk", true)).await;
    let browser = app.browser();
    let first = signed_in_tokens(&app, &cloud, &browser, &["profile"]).await;
    app.advance(chrono::Duration::days(2));
    signed_in_tokens(&app, &talk, &browser, &["profile"]).await;
    let page = browser.get("/account/apps").await;
    let (cloud_at, talk_at) = (
        page.body.find("<h2>Cloud").unwrap(),
        page.body.find("<h2>Talk").unwrap(),
    );
    assert!(talk_at < cloud_at, "most recently used first");

    // A refresh is a use: Cloud moves back up, first used still the day it started.
    app.advance(chrono::Duration::days(1));
    let refreshed = cloud.refresh(first.refresh_token().unwrap()).await;
    assert!(refreshed.is_ok(), "{refreshed:?}");
    let page = browser.get("/account/apps").await;
    let (cloud_at, talk_at) = (
        page.body.find("<h2>Cloud").unwrap(),
        page.body.find("<h2>Talk").unwrap(),
    );
    assert!(cloud_at < talk_at, "{}", page.body);
    let started = (app.clock.now() - chrono::Duration::days(3))
        .format("%Y-%m-%d")
        .to_string();
    let today = app.clock.now().format("%Y-%m-%d").to_string();
    let cloud_row = &page.body[cloud_at..talk_at];
    assert!(
        cloud_row.contains(&format!("First used on {started}"))
            && cloud_row.contains(&format!("Last used on {today}")),
        "{cloud_row}"
    );
}
