//! "Confirm it's you" (issue 12, point 1): a sensitive change after the re-authentication
//! window sends the person to /account/confirm; the password or a code to a contact of the
//! account confirms it, with the limits and lockout of a sign-in, and brings them back.

use chrono::Duration;
use oneid::db::models::audit::{AuditFilter, query};
use reqwest::StatusCode;

use super::helpers::{Browser, TestApp, sign_up_asha, wrong};

const E164: &str = "+919812345678";
const PASSWORD: &str = "correct horse";
const BACK_TO: &str = "/account/password";

/// Asha, signed in long enough ago that a sensitive change needs confirming.
async fn stale_sign_in(app: &TestApp) -> Browser {
    let browser = app.browser();
    sign_up_asha(app, &browser).await;
    app.advance(Duration::minutes(11));
    browser
}

fn confirm_path() -> String {
    format!("/account/confirm?next={}", BACK_TO.replace('/', "%2F"))
}

#[tokio::test]
async fn the_password_confirms_and_brings_the_person_back_and_a_wrong_one_counts() {
    let app = TestApp::spawn().await;
    let browser = stale_sign_in(&app).await;
    let page = browser.get(&confirm_path()).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.has("Confirm it’s you"), "{}", page.body);
    assert_eq!(page.field("next").as_deref(), Some(BACK_TO));

    let csrf = page.csrf();
    let fields = |password| {
        [
            ("csrf", csrf.clone()),
            ("next", BACK_TO.to_owned()),
            ("password", password),
        ]
    };
    let form = fields("wrong password".into());
    let refused = browser
        .post(
            "/account/confirm",
            &form.each_ref().map(|(k, v)| (*k, v.as_str())),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.has("That password is not right."));
    // Counted like a failed sign-in: the audit log has it, and the lockout counts it.
    assert_eq!(kinds(&app, "login_failed").await, 1);
    assert_eq!(kinds(&app, "reauthenticated").await, 1);

    let form = fields(PASSWORD.into());
    browser
        .post(
            "/account/confirm",
            &form.each_ref().map(|(k, v)| (*k, v.as_str())),
        )
        .await
        .assert_redirect(BACK_TO);
    assert_eq!(kinds(&app, "reauthenticated").await, 2);
}

/// How many audit events of `kind` were recorded.
async fn kinds(app: &TestApp, kind: &'static str) -> usize {
    app.state.audit.flush().await;
    let filter = AuditFilter {
        account: None,
        since: None,
        limit: 100_000,
    };
    let all = app
        .state
        .db
        .run(move |conn| query(conn, &filter))
        .await
        .unwrap();
    all.iter().filter(|e| e.kind == kind).count()
}

#[tokio::test]
async fn a_code_to_the_accounts_phone_confirms_only_in_this_browser() {
    let app = TestApp::spawn().await;
    let browser = stale_sign_in(&app).await;
    let csrf = browser.get(&confirm_path()).await.csrf();
    let code_page = browser
        .post(
            "/account/confirm/send",
            &[("csrf", &csrf), ("next", BACK_TO), ("kind", "phone")],
        )
        .await;
    assert_eq!(code_page.status, StatusCode::OK, "{}", code_page.body);
    let sent = app.messages_to(E164).pop().expect("a code was sent");
    assert_eq!(sent.purpose, "reauth");
    assert_eq!(sent.code.len(), 6);
    // The code is the account's: its owner sees it in their recent activity.
    let activity = browser.get("/account/activity").await;
    assert!(activity.has("Code sent"), "{}", activity.body);

    let post_code = |browser: &Browser, code: String| {
        let browser = browser.clone();
        let csrf = csrf.clone();
        async move {
            browser
                .post(
                    "/account/confirm/code",
                    &[
                        ("csrf", &csrf),
                        ("next", BACK_TO),
                        ("kind", "phone"),
                        ("code", &code),
                    ],
                )
                .await
        }
    };
    let wrong_code = post_code(&browser, wrong(&sent.code)).await;
    assert_eq!(wrong_code.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong_code.has("Tries left"), "{}", wrong_code.body);
    post_code(&browser, sent.code.clone())
        .await
        .assert_redirect(BACK_TO);
    // Signed in again: a new session id, so the old form token is dead ...
    let stale = post_code(&browser, sent.code.clone()).await;
    assert_eq!(stale.status, StatusCode::FORBIDDEN);
    // ... and the code is used up.
    let csrf = browser.get(&confirm_path()).await.csrf();
    let again = browser
        .post(
            "/account/confirm/code",
            &[
                ("csrf", &csrf),
                ("next", BACK_TO),
                ("kind", "phone"),
                ("code", &sent.code),
            ],
        )
        .await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn forged_anonymous_and_foreign_requests_change_nothing() {
    let app = TestApp::spawn().await;
    let browser = stale_sign_in(&app).await;
    // No CSRF token: refused before anything is checked.
    let forged = browser
        .post(
            "/account/confirm",
            &[("csrf", "forged"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    // Nobody signed in: to the sign-in page, nothing sent.
    let stranger = app.browser();
    let csrf = stranger.get("/login").await.csrf();
    for (path, fields) in [
        (
            "/account/confirm",
            [("password", PASSWORD), ("next", BACK_TO)],
        ),
        (
            "/account/confirm/send",
            [("kind", "phone"), ("next", BACK_TO)],
        ),
        (
            "/account/confirm/code",
            [("kind", "phone"), ("code", "123456")],
        ),
    ] {
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend_from_slice(&fields);
        stranger.post(path, &form).await.assert_redirect("/login");
    }
    assert_eq!(kinds(&app, "reauthenticated").await, 0);
    assert!(app.messages_to(E164).iter().all(|m| m.purpose != "reauth"));

    // A contact the account does not have, or an unknown kind: nothing sent.
    let csrf = browser.get("/account/confirm").await.csrf();
    for kind in ["email", "fax", &"x".repeat(5000)] {
        let page = browser
            .post("/account/confirm/send", &[("csrf", &csrf), ("kind", kind)])
            .await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{kind:.10}");
    }
    assert!(app.outbox().iter().all(|m| m.purpose != "reauth"));

    // `next` only ever leads back into the console.
    for next in [
        "https://evil.example/",
        "//evil.example/account/x",
        "/login",
    ] {
        let csrf = browser.get("/account/confirm").await.csrf();
        let page = browser
            .post(
                "/account/confirm",
                &[("csrf", &csrf), ("next", next), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(
            page.location.as_deref(),
            Some("/account"),
            "{next}: {}",
            page.status
        );
    }
}
