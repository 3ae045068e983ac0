//! "Continue with your mobile number" (issue 15, part 5): `/continue` is the default way in from
//! an app; one field, a six-digit code, then signed in (an account uses the contact) or a name
//! and an optional password (it does not). The answers before the code is proven are the same
//! either way, bad input is refused with a 4xx that stores nothing, and an account made without
//! a password refuses password sign-ins exactly like a wrong password until one is set.

use oneid::{
    clock::Clock,
    db::models::account::{self, Account, AccountStatus},
    domain::{Email, PhoneNumber},
};
use openidconnect::TokenResponse;
use reqwest::StatusCode;

use super::{
    helpers::{Browser, Page, RelyingParty, TestApp, callback, registration, sign_up_asha, wrong},
    oidc::jwt_part,
};

const TYPED: &str = "98123 45678";
const PHONE: &str = "+919812345678";

/// The account that uses the phone number `e164`, if any.
async fn by_phone(app: &TestApp, e164: &str) -> Option<Account> {
    let phone = PhoneNumber::from_e164(e164).unwrap();
    app.state
        .db
        .run(move |conn| account::find_by_phone(conn, &phone))
        .await
        .unwrap()
}

async fn by_email(app: &TestApp, email: &str) -> Option<Account> {
    let email = Email::parse(email).unwrap();
    app.state
        .db
        .run(move |conn| account::find_by_email(conn, &email))
        .await
        .unwrap()
}

/// Types `identifier` on `/continue`; the answer is the redirect to the code page.
async fn ask_for_code(browser: &Browser, identifier: &str) -> Page {
    browser
        .submit("/continue", "/continue", &[("identifier", identifier)])
        .await
}

/// The code page's answer to `code`.
async fn enter_code(browser: &Browser, code: &str) -> Page {
    browser
        .submit("/continue/verify", "/continue/verify", &[("code", code)])
        .await
}

/// The account page's answer to a name and a password typed twice (empty: none).
async fn create(browser: &Browser, name: &str, password: &str, confirm: &str) -> Page {
    browser
        .submit(
            "/continue/create",
            "/continue/create",
            &[
                ("name", name),
                ("password", password),
                ("password_confirm", confirm),
            ],
        )
        .await
}

/// Asks for a code to `identifier` (`canonical` once parsed) and enters it; `sent_before`: how
/// many sign-in codes went there already. The answer to the code.
async fn continue_with(
    app: &TestApp,
    browser: &Browser,
    identifier: &str,
    canonical: &str,
    sent_before: usize,
) -> Page {
    ask_for_code(browser, identifier)
        .await
        .assert_redirect("/continue/verify");
    let code = app.wait_for_code(canonical, "login", sent_before).await;
    assert_eq!(code.len(), 6, "six digits, for a new person too");
    enter_code(browser, &code).await
}

/// Signs up Asha's number through these pages, leaving both password fields empty; the browser
/// stays signed in.
async fn sign_up_without_a_password(app: &TestApp, browser: &Browser) {
    continue_with(app, browser, TYPED, PHONE, 0)
        .await
        .assert_redirect("/continue/create");
    create(browser, "Asha", "", "")
        .await
        .assert_redirect("/account");
}

#[tokio::test]
async fn an_app_sends_a_new_number_to_continue_and_gets_it_signed_up_with_otp_and_sms() {
    let app = TestApp::spawn().await;
    let rp = RelyingParty::register(&app, registration("Cloud", true)).await;
    let browser = app.browser();
    let (url, _, nonce, verifier) = rp.authorize_url(&["openid", "profile", "phone"]);
    browser.get_url(&url).await.assert_redirect("/continue");
    let start = browser.get("/continue").await;
    assert!(
        start.has(r#"href="/login""#) && start.has(r#"href="/signup""#),
        "password sign-in and the four-digit sign-up stay one link away:\n{}",
        start.body
    );

    continue_with(&app, &browser, TYPED, PHONE, 0)
        .await
        .assert_redirect("/continue/create");
    let page = browser.get("/continue/create").await;
    assert!(page.has("+91 ******5678"), "{}", page.body);
    let done = create(&browser, "Asha Devi", "", "").await;
    done.assert_redirect("/authorize/resume");
    let back = browser.follow(done).await;
    let tokens = rp.redeem(&callback(&back)["code"], verifier).await;
    let id_token = tokens.id_token().expect("an ID token");
    id_token
        .claims(&rp.client.id_token_verifier(), &nonce)
        .expect("the ID token verifies");
    let claims = jwt_part(&id_token.to_string(), 1);
    assert_eq!(claims["amr"], serde_json::json!(["otp", "sms"]));
    assert_eq!(claims["phone_number"], PHONE);
    assert_eq!(claims["name"], "Asha Devi");

    let account = by_phone(&app, PHONE).await.expect("the account");
    assert!(account.password_hash.is_none(), "no password was chosen");
}

#[tokio::test]
async fn a_new_email_with_a_password_signs_up_and_the_password_signs_in_later() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let email = "asha@example.com";
    continue_with(&app, &browser, " Asha@Example.com ", email, 0)
        .await
        .assert_redirect("/continue/create");
    create(&browser, "Asha", "a long passphrase", "a long passphrase")
        .await
        .assert_redirect("/account");
    let id = browser.account_id().await.expect("signed in");
    assert!(by_email(&app, email).await.unwrap().password_hash.is_some());

    app.browser()
        .sign_in(email, "a long passphrase")
        .await
        .assert_redirect("/account");
    assert_eq!(by_email(&app, email).await.unwrap().id.to_string(), id);
}

#[tokio::test]
async fn a_number_with_an_account_signs_in_and_nothing_is_created() {
    let app = TestApp::spawn().await;
    let existing = sign_up_asha(&app, &app.browser()).await;

    let browser = app.browser();
    let page = continue_with(&app, &browser, TYPED, PHONE, 0).await;
    page.assert_redirect("/account");
    assert_eq!(
        browser.account_id().await.as_deref(),
        Some(existing.as_str())
    );
    assert_eq!(
        by_phone(&app, PHONE).await.unwrap().id.to_string(),
        existing,
        "the same account, no second one"
    );
    // Signed in, the create page is not for this browser.
    browser
        .get("/continue/create")
        .await
        .assert_redirect("/continue");
}

/// Everything of an answer a stranger could compare, but the session cookie's value and the
/// date: the status, the redirect, the header names and values, and the page with its CSRF
/// token (a digest of the cookie) taken out.
fn comparable(page: &Page) -> (StatusCode, Option<String>, Vec<(String, String)>, String) {
    let mut headers: Vec<(String, String)> = page
        .headers
        .iter()
        .map(|(name, value)| {
            let value = value.to_str().unwrap_or_default();
            let value = match name.as_str() {
                "set-cookie" => value.split_once('=').map_or("", |(n, _)| n).to_owned(),
                "date" => String::new(),
                _ => value.to_owned(),
            };
            (name.as_str().to_owned(), value)
        })
        .collect();
    headers.sort();
    (
        page.status,
        page.location.clone(),
        headers,
        page.normalised(&[]),
    )
}

#[tokio::test]
async fn the_answers_before_the_code_are_the_same_with_and_without_an_account() {
    let app = TestApp::spawn().await;
    sign_up_asha(&app, &app.browser()).await;
    // Another number with the same last four digits: the pages mask numbers to those.
    let (known, unknown) = (app.browser(), app.browser());
    let mut answers = Vec::new();
    for (browser, typed) in [(&known, TYPED), (&unknown, "98765 45678")] {
        let start = browser.get("/continue").await;
        let sent = browser
            .post(
                "/continue",
                &[("csrf", &start.csrf()), ("identifier", typed)],
            )
            .await;
        let verify = browser.get("/continue/verify").await;
        let wrong_code = browser
            .post(
                "/continue/verify",
                &[("csrf", &verify.csrf()), ("code", "000000")],
            )
            .await;
        answers.push([sent, verify, wrong_code].map(|page| comparable(&page)));
    }
    assert_eq!(answers[0][0].0, StatusCode::SEE_OTHER);
    assert_eq!(answers[0][1].0, StatusCode::OK);
    assert_eq!(answers[0][2].0, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answers[0], answers[1]);
    // And a real code went to each: the new person needs it to create the account.
    app.wait_for_code(PHONE, "login", 0).await;
    app.wait_for_code("+919876545678", "login", 0).await;
}

#[tokio::test]
async fn wrong_codes_count_and_bad_input_is_refused_with_nothing_stored() {
    let app = TestApp::spawn().await;
    let browser = app.browser();

    for typed in ["12345", "asha@", "011 2345 6789", ""] {
        let page = ask_for_code(&browser, typed).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{typed:?}");
        assert!(page.has(r#"id="identifier-error""#), "{}", page.body);
    }
    assert!(app.outbox().is_empty(), "no code for a bad number");

    // Steps out of order: a clear 409 and the first page again.
    let stranger = app.browser();
    let csrf = stranger.get("/continue").await.csrf();
    for (path, form) in [
        ("/continue/verify", vec![("code", "123456")]),
        ("/continue/create", vec![("name", "Mallory")]),
    ] {
        let mut form = form;
        form.push(("csrf", csrf.as_str()));
        let page = stranger.post(path, &form).await;
        assert_eq!(page.status, StatusCode::CONFLICT, "{path}: {}", page.body);
        assert!(page.has(r#"action="/continue""#), "{}", page.body);
    }

    ask_for_code(&browser, TYPED)
        .await
        .assert_redirect("/continue/verify");
    let code = app.wait_for_code(PHONE, "login", 0).await;
    let malformed = enter_code(&browser, "12ab").await;
    assert_eq!(malformed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(malformed.has("digits only"), "{}", malformed.body);
    let wrong_code = enter_code(&browser, &wrong(&code)).await;
    assert_eq!(wrong_code.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        wrong_code.has("Tries left: 4"),
        "a malformed code spends no try, a wrong one does:\n{}",
        wrong_code.body
    );
    enter_code(&browser, &code)
        .await
        .assert_redirect("/continue/create");

    for (name, password, confirm, error) in [
        ("", "", "", "name-error"),
        ("Asha\u{7}", "", "", "name-error"),
        ("Asha", "long enough", "different!", "password-error"),
        ("Asha", "short", "short", "password-error"),
        ("Asha", "", "a long passphrase", "password-error"),
    ] {
        let page = create(&browser, name, password, confirm).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{name:?}");
        assert!(page.has(&format!(r#"id="{error}""#)), "{}", page.body);
    }
    assert!(by_phone(&app, PHONE).await.is_none(), "nothing created");

    // The proof lapses after ten minutes (the form was loaded before).
    let csrf = browser.get("/continue/create").await.csrf();
    app.advance(chrono::Duration::minutes(10));
    let late = browser
        .post("/continue/create", &[("csrf", &csrf), ("name", "Asha")])
        .await;
    assert_eq!(late.status, StatusCode::CONFLICT, "{}", late.body);
    assert!(by_phone(&app, PHONE).await.is_none(), "nothing created");
}

#[tokio::test]
async fn an_account_without_a_password_refuses_password_sign_in_until_a_reset_sets_one() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    sign_up_without_a_password(&app, &browser).await;
    let id = browser.account_id().await.unwrap();

    // Exactly the answer to a wrong password (and to no account at all).
    let passwordless = app.browser().sign_in(TYPED, "correct horse").await;
    let nobody = app.browser().sign_in("98765 45678", "correct horse").await;
    assert_eq!(passwordless.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        passwordless.normalised(&[]),
        nobody.normalised(&[]).replace("98765 45678", TYPED)
    );
    let by_id = app.browser().sign_in(&id, "correct horse").await;
    assert!(by_id.has("do not match"), "{}", by_id.body);

    // A reset with a code sets a password, which then signs in.
    let reset = app.browser();
    reset
        .submit("/reset", "/reset", &[("identifier", TYPED)])
        .await
        .assert_redirect("/recover/verify");
    let page = reset.get("/recover/verify").await;
    let code = app.wait_for_code(PHONE, "reset", 0).await;
    reset
        .enter_recovery_code(&page, &code, "a long passphrase")
        .await
        .assert_redirect("/account");
    app.browser()
        .sign_in(TYPED, "a long passphrase")
        .await
        .assert_redirect("/account");
}

#[tokio::test]
async fn the_console_sets_a_first_password_without_asking_for_a_current_one() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    sign_up_without_a_password(&app, &browser).await;
    let page = browser.get("/account/password").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.has("Set a password") && !page.has(r#"name="current""#),
        "{}",
        page.body
    );
    let form = [
        ("csrf", page.csrf()),
        ("password", "a long passphrase".to_owned()),
        ("password_confirm", "a long passphrase".to_owned()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    browser
        .post("/account/password", &form)
        .await
        .assert_redirect("/account/password?done=1");
    // Now it is a password to change, with the current one.
    let page = browser.get("/account/password").await;
    assert!(page.has(r#"name="current""#), "{}", page.body);
    app.browser()
        .sign_in(TYPED, "a long passphrase")
        .await
        .assert_redirect("/account");
}

#[tokio::test]
async fn a_disabled_account_is_neither_signed_in_nor_signed_up_again() {
    let app = TestApp::spawn().await;
    let id = sign_up_asha(&app, &app.browser()).await;
    let id = id.parse().unwrap();
    let now = app.clock.now();
    app.state
        .db
        .run(move |conn| account::set_status(conn, id, AccountStatus::Disabled, now))
        .await
        .unwrap();

    let browser = app.browser();
    let page = continue_with(&app, &browser, TYPED, PHONE, 0).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    assert!(page.has("disabled"), "{}", page.body);
    assert!(browser.account_id().await.is_none(), "not signed in");
    browser
        .get("/continue/create")
        .await
        .assert_redirect("/continue");
    let account = by_phone(&app, PHONE).await.unwrap();
    assert_eq!((account.id, account.status), (id, AccountStatus::Disabled));
}

#[tokio::test]
async fn an_app_that_passes_a_login_hint_still_gets_the_password_page() {
    let app = TestApp::spawn().await;
    let rp = RelyingParty::register(&app, registration("Cloud", true)).await;
    let (url, ..) = rp.authorize_url(&["openid"]);
    app.browser()
        .get_url(&format!("{url}&login_hint=9812345678"))
        .await
        .assert_redirect("/login?login_hint=9812345678");
    app.browser()
        .get_url(&url)
        .await
        .assert_redirect("/continue");
}
