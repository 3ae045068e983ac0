//! Verification codes: expiry, tries, single use, resend cooldown, concurrency.

use reqwest::StatusCode;

use super::helpers::{TestApp, wrong};

const PHONE: &str = "9812345678";
const E164: &str = "+919812345678";

async fn pending_signup(app: &TestApp) -> (super::helpers::Browser, String) {
    let browser = app.browser();
    browser
        .request_signup_code(PHONE)
        .await
        .assert_redirect("/signup/verify");
    let code = app.last_code(E164);
    (browser, code)
}

#[tokio::test]
async fn a_wrong_code_says_how_many_tries_are_left() {
    let app = TestApp::spawn().await;
    let (browser, code) = pending_signup(&app).await;
    let page = browser
        .enter_signup_code(&wrong(&code), "long enough", "Asha")
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.has("Tries left: 4") && page.has(r#"id="code-error""#),
        "{}",
        page.body
    );
    browser
        .enter_signup_code(&code, "long enough", "Asha")
        .await
        .assert_redirect("/account");
}

#[tokio::test]
async fn an_expired_code_is_refused() {
    let app = TestApp::spawn().await;
    let (browser, code) = pending_signup(&app).await;
    app.advance(chrono::Duration::minutes(10));
    let page = browser
        .enter_signup_code(&code, "long enough", "Asha")
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.has("expired"), "{}", page.body);
    assert!(browser.account_id().await.is_none());
}

#[tokio::test]
async fn a_code_just_before_expiry_still_works() {
    let app = TestApp::spawn().await;
    let (browser, code) = pending_signup(&app).await;
    app.advance(chrono::Duration::seconds(599));
    browser
        .enter_signup_code(&code, "long enough", "Asha")
        .await
        .assert_redirect("/account");
}

#[tokio::test]
async fn the_sixth_try_is_refused_even_with_the_right_code() {
    let app = TestApp::spawn().await;
    let (browser, code) = pending_signup(&app).await;
    for left in (0..5).rev() {
        let page = browser
            .enter_signup_code(&wrong(&code), "long enough", "Asha")
            .await;
        let expected = if left > 0 {
            format!("Tries left: {left}")
        } else {
            "can no longer be used".into()
        };
        assert!(page.has(&expected), "expected {expected:?}:\n{}", page.body);
    }
    let page = browser
        .enter_signup_code(&code, "long enough", "Asha")
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.has("can no longer be used"));
}

#[tokio::test]
async fn a_code_works_only_once() {
    let app = TestApp::spawn().await;
    let (first, code) = pending_signup(&app).await;
    // A second browser starts a sign-up for the same number (the cooldown sends nothing new)
    // and somehow knows the code.
    let second = app.browser();
    second
        .request_signup_code(PHONE)
        .await
        .assert_redirect("/signup/verify");
    first
        .enter_signup_code(&code, "long enough", "Asha")
        .await
        .assert_redirect("/account");
    let page = second
        .enter_signup_code(&code, "long enough", "Mallory")
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.has("can no longer be used"), "{}", page.body);
}

#[tokio::test]
async fn parallel_wrong_guesses_get_exactly_the_allowed_number_of_checks() {
    let app = TestApp::spawn().await;
    let (browser, code) = pending_signup(&app).await;
    let csrf = browser.get("/signup/verify").await.csrf();
    let bad = wrong(&code);
    let guesses = (0..12).map(|_| {
        let browser = browser.clone();
        let (csrf, bad) = (csrf.clone(), bad.clone());
        tokio::spawn(async move {
            browser
                .post(
                    "/signup/verify",
                    &[
                        ("csrf", &csrf),
                        ("code", &bad),
                        ("password", "long enough"),
                        ("password_confirm", "long enough"),
                        ("name", "A"),
                    ],
                )
                .await
        })
    });
    let pages: Vec<_> = futures_util::future::join_all(guesses)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let checked = pages.iter().filter(|p| p.has("Tries left:")).count();
    let refused = pages
        .iter()
        .filter(|p| p.has("can no longer be used"))
        .count();
    // Tries 1-4 say how many are left, try 5 says the code is dead, tries 6-12 are not checked.
    assert_eq!((checked, refused), (4, 8));
    let page = browser
        .enter_signup_code(&code, "long enough", "Asha")
        .await;
    assert!(
        page.has("can no longer be used"),
        "the right code is refused after 12 parallel guesses"
    );
}

#[tokio::test]
async fn parallel_guesses_below_the_limit_leave_the_code_usable() {
    let app = TestApp::spawn().await;
    let (browser, code) = pending_signup(&app).await;
    let csrf = browser.get("/signup/verify").await.csrf();
    let bad = wrong(&code);
    let guesses = (0..4).map(|_| {
        let browser = browser.clone();
        let (csrf, bad) = (csrf.clone(), bad.clone());
        tokio::spawn(async move {
            browser
                .post(
                    "/signup/verify",
                    &[
                        ("csrf", &csrf),
                        ("code", &bad),
                        ("password", "long enough"),
                        ("password_confirm", "long enough"),
                        ("name", "A"),
                    ],
                )
                .await
        })
    });
    futures_util::future::join_all(guesses).await;
    browser
        .enter_signup_code(&code, "long enough", "Asha")
        .await
        .assert_redirect("/account");
}

#[tokio::test]
async fn a_new_code_waits_for_the_resend_cooldown() {
    let app = TestApp::spawn().await;
    let (browser, first) = pending_signup(&app).await;

    let csrf = browser.get("/signup/verify").await.csrf();
    browser
        .post("/signup/resend", &[("csrf", &csrf)])
        .await
        .assert_redirect("/signup/verify");
    assert_eq!(
        app.messages_to(E164).len(),
        1,
        "no second message within the cooldown"
    );
    assert!(
        browser
            .get("/signup/verify")
            .await
            .has("new code in 60 seconds")
    );
    // Asking again from another browser does not get around it either.
    app.browser().request_signup_code(PHONE).await;
    assert_eq!(app.messages_to(E164).len(), 1);

    app.advance(chrono::Duration::seconds(60));
    let csrf = browser.get("/signup/verify").await.csrf();
    browser
        .post("/signup/resend", &[("csrf", &csrf)])
        .await
        .assert_redirect("/signup/verify");
    let messages = app.messages_to(E164);
    assert_eq!(messages.len(), 2);
    let second = &messages[1].code;
    // The new code replaces the old one.
    if first != *second {
        let page = browser
            .enter_signup_code(&first, "long enough", "Asha")
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    browser
        .enter_signup_code(second, "long enough", "Asha")
        .await
        .assert_redirect("/account");
}
