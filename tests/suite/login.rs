//! Sign-in and sign-out.

use reqwest::StatusCode;

use super::helpers::{TestApp, sign_up_by_email, sign_up_by_phone};

#[tokio::test]
async fn sign_in_by_phone_email_or_account_id() {
    let app = TestApp::spawn().await;
    let by_phone = sign_up_by_phone(&app, &app.browser(), "phone password").await;
    let by_email =
        sign_up_by_email(&app, &app.browser(), "asha@example.com", "email password").await;

    for (identifier, password, expected) in [
        ("9812345678", "phone password", &by_phone),
        ("+91 98123 45678", "phone password", &by_phone),
        ("ASHA@example.com", "email password", &by_email),
        (by_phone.as_str(), "phone password", &by_phone),
        (by_email.as_str(), "email password", &by_email),
    ] {
        let browser = app.browser();
        browser
            .sign_in(identifier, password)
            .await
            .assert_redirect("/account");
        assert_eq!(
            browser.account_id().await.as_ref(),
            Some(expected),
            "signing in as {identifier:?}"
        );
    }
}

#[tokio::test]
async fn wrong_password_and_unknown_account_look_alike() {
    let app = TestApp::spawn().await;
    sign_up_by_phone(&app, &app.browser(), "right password").await;

    let wrong_password = app.browser().sign_in("9812345678", "wrong password").await;
    let unknown_account = app.browser().sign_in("9812345679", "wrong password").await;
    assert_eq!(wrong_password.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(wrong_password.status, unknown_account.status);
    assert_eq!(
        wrong_password.normalised(&["9812345678"]),
        unknown_account.normalised(&["9812345679"])
    );
    assert!(wrong_password.has("do not match") && wrong_password.has(r#"role="alert""#));
    // The identifier is kept for a second try; the password never comes back.
    assert!(wrong_password.has(r#"value="9812345678""#) && !wrong_password.has("wrong password"));
}

#[tokio::test]
async fn a_malformed_identifier_gets_a_clear_answer() {
    let app = TestApp::spawn().await;
    let page = app.browser().sign_in("not an id", "whatever1").await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.has("9–10 digit account ID"), "{}", page.body);
}

#[tokio::test]
async fn sign_in_rotates_the_session_and_sign_out_ends_it() {
    let app = TestApp::spawn().await;
    let id = sign_up_by_phone(&app, &app.browser(), "right password").await;
    let browser = app.browser();

    let before = browser.get("/login").await;
    let cookie_before = session_cookie(&before).expect("anonymous session cookie");
    let signed_in = browser
        .submit(
            "/login",
            "/login",
            &[("identifier", &id), ("password", "right password")],
        )
        .await;
    let cookie_after = session_cookie(&signed_in).expect("new cookie at sign-in");
    assert_ne!(
        cookie_before, cookie_after,
        "the session id changes at sign-in"
    );
    assert!(signed_in.headers.get_all("set-cookie").iter().any(|c| {
        let c = c.to_str().unwrap();
        c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.contains("Max-Age=")
    }));

    // The pre-sign-in cookie (as a fixation attacker would hold it) is not signed in.
    let attacker = app.browser();
    let fixed = attacker
        .client
        .get(format!("{}/account", app.base))
        .header("cookie", format!("oneid_session={cookie_before}"))
        .send()
        .await
        .unwrap();
    assert_eq!(fixed.status(), StatusCode::SEE_OTHER);

    let account = browser.get("/account").await;
    browser
        .post("/logout", &[("csrf", &account.csrf())])
        .await
        .assert_redirect("/login");
    browser.get("/account").await.assert_redirect("/login");
    let replayed = attacker
        .client
        .get(format!("{}/account", app.base))
        .header("cookie", format!("oneid_session={cookie_after}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        replayed.status(),
        StatusCode::SEE_OTHER,
        "a signed-out session cannot be replayed"
    );
}

#[tokio::test]
async fn signed_in_people_skip_the_sign_in_and_sign_up_pages() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    sign_up_by_phone(&app, &browser, "right password").await;
    browser.get("/login").await.assert_redirect("/account");
    browser.get("/signup").await.assert_redirect("/account");
    browser.get("/").await.assert_redirect("/account");
    app.browser().get("/").await.assert_redirect("/login");
}

#[tokio::test]
async fn idle_sessions_end() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    sign_up_by_phone(&app, &browser, "right password").await;
    app.advance(chrono::Duration::seconds(
        app.settings.session.idle_timeout_secs + 1,
    ));
    browser.get("/account").await.assert_redirect("/login");
}

fn session_cookie(page: &super::helpers::Page) -> Option<String> {
    page.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| {
            c.strip_prefix("oneid_session=")
                .map(|rest| rest.split(';').next().unwrap().to_owned())
        })
        .filter(|v| !v.is_empty())
}
