//! The whole sign-in as a browser lives it: "Sign in with OneID", OneID, back with a code;
//! then the app's feature, token refresh, and "Sign out" (RP-Initiated Logout).

use oneid_apps::config::AppKind;

use crate::helpers::{ASHA, RAVI, browser, spawn_app};

#[tokio::test]
async fn signing_in_shows_the_name_and_account_id() {
    let app = spawn_app(AppKind::Cloud).await;
    let home = app.sign_in(&ASHA).await;
    assert_eq!(home.status, 200);
    assert!(home.body.contains("Asha Rao"), "{}", home.body);
    assert!(
        home.body
            .contains(r#"<span class="mono account-id">asha</span>"#)
    );
    assert!(home.body.contains("Sign out"));
    assert!(!home.body.contains("Sign in with OneID"));
    assert_eq!(app.sessions.len(), 1);
}

#[tokio::test]
async fn signing_in_again_replaces_the_session() {
    let app = spawn_app(AppKind::Talk).await;
    app.sign_in(&ASHA).await;
    let home = app.sign_in(&RAVI).await;
    assert!(home.body.contains("Ravi Kumar"));
    assert_eq!(app.sessions.len(), 1);
}

#[tokio::test]
async fn the_authorization_request_asks_for_what_the_app_needs() {
    let app = spawn_app(AppKind::Thirdparty).await;
    let login = app.get("/login").await;
    let url = reqwest::Url::parse(login.location()).unwrap();
    let param = |n: &str| {
        url.query_pairs()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(param("client_id").as_deref(), Some("client-thirdparty"));
    assert_eq!(
        param("redirect_uri"),
        Some(format!("{}/callback", app.base))
    );
    assert_eq!(
        param("scope").as_deref(),
        Some("openid profile email offline_access")
    );
    assert!(param("nonce").is_some() && param("state").is_some());
    assert_eq!(param("code_challenge_method").as_deref(), Some("S256"));
    let cookie = login.headers["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("oneid_app_thirdparty_login="));
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
}

#[tokio::test]
async fn the_app_can_ask_oneid_for_a_fresh_sign_in() {
    let app = spawn_app(AppKind::Talk).await;
    let prompt = |path: &'static str| {
        let app = &app;
        async move {
            let login = app.get(path).await;
            let url = reqwest::Url::parse(login.location()).unwrap();
            url.query_pairs()
                .find(|(k, _)| k == "prompt")
                .map(|(_, v)| v.into_owned())
        }
    };
    assert_eq!(
        prompt("/login?prompt=login").await.as_deref(),
        Some("login")
    );
    assert_eq!(prompt("/login").await, None);
    assert_eq!(
        prompt("/login?prompt=none").await,
        None,
        "only login is passed on"
    );
}

#[tokio::test]
async fn a_callback_from_another_browser_or_with_a_wrong_state_is_refused() {
    let app = spawn_app(AppKind::Talk).await;
    let (authorize, state) = app.start_login().await;
    let code = app.oneid.approve(&authorize, &ASHA);
    let iss = &app.oneid.issuer;
    // Another browser (login CSRF): no binding cookie.
    let other = browser()
        .get(format!(
            "{}/callback?code={code}&state={state}&iss={iss}",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 400);
    // The right browser, a made-up state.
    let wrong = app
        .get(&format!("/callback?code={code}&state=made-up&iss={iss}"))
        .await;
    assert_eq!(wrong.status, 400);
    assert!(app.sessions.is_empty());
    // The right browser and state at last.
    let right = app
        .get(&format!("/callback?code={code}&state={state}&iss={iss}"))
        .await;
    assert_eq!(right.status, 303);
    // A state works once.
    let again = app
        .get(&format!("/callback?code={code}&state={state}&iss={iss}"))
        .await;
    assert_eq!(again.status, 400);
}

#[tokio::test]
async fn a_response_that_does_not_name_oneid_is_refused() {
    // RFC 9207: OneID advertises `iss` in authorization responses, so it must be there and
    // be OneID's.
    let app = spawn_app(AppKind::Talk).await;
    for iss in ["&iss=https://evil.example", ""] {
        let (authorize, state) = app.start_login().await;
        let code = app.oneid.approve(&authorize, &ASHA);
        let page = app
            .get(&format!("/callback?code={code}&state={state}{iss}"))
            .await;
        assert_eq!(page.status, 502, "{iss}");
        assert!(page.body.contains("Sign-in failed"));
    }
    assert!(app.sessions.is_empty());
    assert!(
        app.oneid.state().access_tokens.is_empty(),
        "no code was exchanged"
    );
}

#[tokio::test]
async fn cancelling_at_oneid_leads_back_to_a_friendly_page() {
    let app = spawn_app(AppKind::Forum).await;
    let (_, state) = app.start_login().await;
    let page = app
        .get(&format!(
            "/callback?error=access_denied&state={state}&iss={}",
            app.oneid.issuer
        ))
        .await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Sign-in cancelled"));
}

#[tokio::test]
async fn notes_are_kept_per_person_and_forms_need_the_csrf_token() {
    let app = spawn_app(AppKind::Cloud).await;
    let home = app.sign_in(&ASHA).await;
    let csrf = home.csrf();
    let saved = app
        .post_form("/notes", &[("csrf", &csrf), ("text", "Buy <milk>")])
        .await;
    assert_eq!(saved.status, 303);
    let home = app.get("/").await;
    assert!(home.body.contains("Buy &#60;milk&#62;"), "{}", home.body);

    let forged = app
        .post_form("/notes", &[("csrf", "forged"), ("text", "spam")])
        .await;
    assert_eq!(forged.status, 403);
    let empty = app
        .post_form("/notes", &[("csrf", &csrf), ("text", "  ")])
        .await;
    assert_eq!(empty.status, 400);
    assert!(empty.body.contains("Please write something."));

    // Someone else, in another browser, sees none of Asha's notes.
    let ravi = second_browser(&app);
    let theirs = ravi.sign_in(&RAVI).await;
    assert!(!theirs.body.contains("milk"));
}

/// The same app seen from a second browser.
fn second_browser(app: &crate::helpers::TestApp) -> crate::helpers::TestApp {
    crate::helpers::TestApp {
        app: app.app,
        base: app.base.clone(),
        client_id: app.client_id.clone(),
        oneid: app.oneid.clone(),
        sessions: app.sessions.clone(),
        browser: browser(),
    }
}

#[tokio::test]
async fn talk_forum_and_market_features_work() {
    let talk = spawn_app(AppKind::Talk).await;
    let csrf = talk.sign_in(&ASHA).await.csrf();
    talk.post_form("/messages", &[("csrf", &csrf), ("text", "Hello all")])
        .await;
    let board = talk.get("/").await;
    assert!(board.body.contains("Hello all"));
    assert!(board.body.contains("Asha Rao"));

    let forum = spawn_app(AppKind::Forum).await;
    let csrf = forum.sign_in(&RAVI).await.csrf();
    let posted = forum
        .post_form(
            "/posts",
            &[
                ("csrf", &csrf),
                ("title", "First post"),
                ("body", "Long read"),
            ],
        )
        .await;
    assert_eq!(posted.status, 303);
    let page = forum.get("/").await;
    assert!(page.body.contains("First post") && page.body.contains("Long read"));

    let market = spawn_app(AppKind::Market).await;
    let home = market.sign_in(&ASHA).await;
    assert_eq!(home.body.matches(">Install<").count(), 4);
    let installed = market
        .post_form("/install", &[("csrf", &home.csrf()), ("app", "weather")])
        .await;
    assert_eq!(installed.status, 303);
    let home = market.get("/").await;
    assert_eq!(home.body.matches(">Install<").count(), 3);
    assert_eq!(home.body.matches(">Installed<").count(), 1);
}

#[tokio::test]
async fn an_expired_access_token_is_refreshed_and_never_reused() {
    let app = spawn_app(AppKind::Forum).await;
    app.oneid.state().access_lifetime = 0;
    app.sign_in(&ASHA).await;
    // Every page now finds the access token expired. Two pages at once: the refresh token
    // rotates, and OneID would refuse one presented twice, so the refreshes must queue.
    let (a, b) = tokio::join!(app.get("/"), app.get("/"));
    assert!(a.body.contains("Asha Rao") && b.body.contains("Asha Rao"));
    assert!(app.oneid.state().refreshes >= 2, "refreshed");
    assert_eq!(app.sessions.len(), 1);
    // Once OneID no longer honours the refresh token, the person is signed out here too.
    app.oneid.state().refresh_tokens.clear();
    let home = app.get("/").await;
    assert!(home.body.contains("Sign in with OneID"), "{}", home.body);
    assert!(app.sessions.is_empty());
}

#[tokio::test]
async fn signing_out_ends_the_session_and_goes_to_oneid() {
    let app = spawn_app(AppKind::Market).await;
    let home = app.sign_in(&ASHA).await;
    let out = app.post_form("/logout", &[("csrf", &home.csrf())]).await;
    assert_eq!(out.status, 303);
    let url = reqwest::Url::parse(out.location()).unwrap();
    assert!(
        url.as_str()
            .starts_with(&format!("{}/end-session?", app.oneid.issuer))
    );
    let param = |n: &str| {
        url.query_pairs()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.into_owned())
    };
    assert!(param("id_token_hint").is_some_and(|t| t.split('.').count() == 3));
    assert_eq!(
        param("post_logout_redirect_uri"),
        Some(format!("{}/", app.base))
    );
    assert!(param("state").is_some());
    assert!(app.sessions.is_empty());
    let home = app.get("/").await;
    assert!(home.body.contains("Sign in with OneID"));
}

#[tokio::test]
async fn signing_out_needs_the_csrf_token() {
    let app = spawn_app(AppKind::Cloud).await;
    app.sign_in(&ASHA).await;
    let out = app.post_form("/logout", &[("csrf", "forged")]).await;
    assert_eq!(out.status, 403);
    assert_eq!(app.sessions.len(), 1);
}
