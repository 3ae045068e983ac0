//! The account console's Password: the current password and the new one twice; every other
//! session ends (its apps told by back-channel logout), this browser stays signed in and
//! usable, and the account's contacts get a notice.

use openidconnect::OAuth2TokenResponse;
use reqwest::StatusCode;

use super::{
    backchannel::{told_of_logouts, wait_for},
    helpers::{Browser, Page, TestApp, sign_up_asha, signed_in_tokens},
};

const PHONE: &str = "9812345678";
const E164: &str = "+919812345678";
const PASSWORD: &str = "correct horse";
const NEW: &str = "new horse battery";

async fn change(browser: &Browser, current: &str, new: &str, again: &str) -> Page {
    browser
        .submit(
            "/account/password",
            "/account/password",
            &[
                ("current", current),
                ("password", new),
                ("password_confirm", again),
            ],
        )
        .await
}

async fn signs_in(app: &TestApp, password: &str) -> Page {
    app.browser().sign_in(PHONE, password).await
}

#[tokio::test]
async fn a_change_keeps_this_browser_signed_in_and_ends_every_other_session() {
    let app = TestApp::spawn().await;
    let (rp, logout_tokens) = told_of_logouts(&app, "Cloud").await;
    // Another phone signed up on the way into Cloud, which holds a refresh token.
    let elsewhere = app.browser();
    let tokens = signed_in_tokens(&app, &rp, &elsewhere, &["profile"]).await;
    let refresh = tokens.refresh_token().expect("a refresh token").clone();
    let browser = app.browser();
    browser
        .sign_in(PHONE, PASSWORD)
        .await
        .assert_redirect("/account");
    let here = signed_in_tokens(&app, &rp, &browser, &["profile"]).await;
    app.advance(chrono::Duration::seconds(10));

    change(&browser, PASSWORD, NEW, NEW)
        .await
        .assert_redirect("/account/password?done=1");
    let done = browser.get("/account/password?done=1").await;
    assert_eq!(done.status, StatusCode::OK, "still signed in, and recent");
    assert!(done.has("Your password was changed"), "{}", done.body);

    // The other session ended: Cloud is told, its refresh token is dead, the other browser is
    // signed out (browsers re-check at least once a minute).
    assert_eq!(wait_for(&logout_tokens, 1).await.len(), 1);
    assert!(rp.refresh(&refresh).await.is_err());
    // This session's grant stays (its access token still works), though its refresh token,
    // older than the new password, no longer gives anything.
    assert!(rp.userinfo(here.access_token()).await.is_ok());
    let here_refresh = here.refresh_token().expect("a refresh token");
    assert!(rp.refresh(here_refresh).await.is_err());
    app.advance(chrono::Duration::seconds(61));
    assert_eq!(elsewhere.account_id().await, None);
    // This browser stays signed in, and its sign-in still gives an app tokens.
    assert!(browser.account_id().await.is_some());
    let fresh = signed_in_tokens(&app, &rp, &browser, &["profile"]).await;
    assert!(rp.userinfo(fresh.access_token()).await.is_ok());
    assert_eq!(
        logout_tokens.lock().unwrap().len(),
        1,
        "this session was not ended"
    );

    // The new password signs in, the old one no longer does.
    assert!(signs_in(&app, PASSWORD).await.has("do not match"));
    signs_in(&app, NEW).await.assert_redirect("/account");

    // The phone is told, with no code.
    let mut told = Vec::new();
    for _ in 0..100 {
        told = app
            .messages_to(E164)
            .into_iter()
            .filter(|m| m.purpose == "password-notice")
            .collect();
        if !told.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(told.len(), 1);
    assert!(told[0].code.is_empty() && told[0].text.contains("password"));
    assert!(
        !told[0].text.contains(NEW) && !told[0].text.contains(PASSWORD),
        "no secret in the notice"
    );
    app.state.audit.flush().await;
    let events = app
        .state
        .db
        .run(|conn| {
            oneid::db::models::audit::query(
                conn,
                &oneid::db::models::audit::AuditFilter {
                    account: None,
                    since: None,
                    limit: 1000,
                },
            )
        })
        .await
        .unwrap();
    assert_eq!(
        events
            .iter()
            .filter(|e| e.kind == "password_changed")
            .count(),
        1
    );
}

#[tokio::test]
async fn a_wrong_current_password_is_refused_and_counts_toward_the_lock() {
    let app = TestApp::spawn_with(|s| {
        s.lockout.max_failures = 3;
        s.lockout.lock_forever_after = 100;
    })
    .await;
    let browser = app.browser();
    sign_up_asha(&app, &browser).await;
    for _ in 0..2 {
        let page = change(&browser, "not my password", NEW, NEW).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(page.has("not your current password"), "{}", page.body);
    }
    // The third failure in the run locks, as three wrong sign-ins would.
    let locked = change(&browser, "not my password", NEW, NEW).await;
    assert!(locked.has("locked"), "{}", locked.body);
    assert!(signs_in(&app, PASSWORD).await.has("locked"));
    app.advance(chrono::Duration::seconds(
        app.settings.lockout.first_lock_secs,
    ));
    signs_in(&app, PASSWORD).await.assert_redirect("/account");
}

#[tokio::test]
async fn bad_new_passwords_and_oversized_fields_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    sign_up_asha(&app, &browser).await;
    let long = "x".repeat(2000);
    for (current, new, again, says) in [
        (PASSWORD, NEW, "new horse batery", "not the same"),
        (PASSWORD, "short", "short", "at least 8"),
        (long.as_str(), NEW, NEW, "too long"),
        (PASSWORD, long.as_str(), long.as_str(), "too long"),
    ] {
        let page = change(&browser, current, new, again).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(page.has(says), "{says}: {}", page.body);
    }
    signs_in(&app, PASSWORD).await.assert_redirect("/account");
}

#[tokio::test]
async fn a_forged_form_a_browser_not_signed_in_and_an_old_sign_in_change_nothing() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    sign_up_asha(&app, &browser).await;
    let csrf = browser.get("/account/password").await.csrf();
    let fields = |csrf: &str| {
        [
            ("csrf", csrf.to_owned()),
            ("current", PASSWORD.to_owned()),
            ("password", NEW.to_owned()),
            ("password_confirm", NEW.to_owned()),
        ]
    };
    let post = |browser: &Browser, csrf: &str| {
        let form = fields(csrf);
        let browser = browser.clone();
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            browser.post("/account/password", &form).await
        }
    };
    assert_eq!(post(&browser, "forged").await.status, StatusCode::FORBIDDEN);
    let stranger = app.browser();
    let anonymous = stranger.get("/login").await.csrf();
    post(&stranger, &anonymous).await.assert_redirect("/login");
    stranger
        .get("/account/password")
        .await
        .assert_redirect("/login");

    // Past the re-authentication window: confirm first, then come back.
    app.advance(chrono::Duration::seconds(
        app.settings.session.reauth_window_secs + 1,
    ));
    let confirm = "/account/confirm?next=%2Faccount%2Fpassword";
    browser
        .get("/account/password")
        .await
        .assert_redirect(confirm);
    post(&browser, &csrf).await.assert_redirect(confirm);
    signs_in(&app, PASSWORD).await.assert_redirect("/account");
    browser
        .submit(
            confirm,
            "/account/confirm",
            &[("next", "/account/password"), ("password", PASSWORD)],
        )
        .await
        .assert_redirect("/account/password");
    change(&browser, PASSWORD, NEW, NEW)
        .await
        .assert_redirect("/account/password?done=1");
}
