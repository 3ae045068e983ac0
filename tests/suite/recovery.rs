//! Lockout after failed sign-ins, unlock (by code and by an operator), password reset, and
//! sign-in with a code; none of them tells a stranger whether an account exists.

use reqwest::StatusCode;

use super::helpers::{Browser, Page, TestApp, sign_up_asha, unlock_keeping_the_password, wrong};

const PHONE: &str = "9812345678";
const E164: &str = "+919812345678";
const PASSWORD: &str = "correct horse";

fn sent_count(app: &TestApp, to: &str, purpose: &str) -> usize {
    app.messages_to(to)
        .into_iter()
        .filter(|m| m.purpose == purpose)
        .count()
}

/// An account, signed out; returns its ID.
async fn account(app: &TestApp) -> String {
    let browser = app.browser();
    let id = sign_up_asha(app, &browser).await;
    let csrf = browser.get("/account").await.csrf();
    browser.post("/logout", &[("csrf", &csrf)]).await;
    past_cooldown(app);
    id
}

/// One code per phone number a minute, whatever it is for.
fn past_cooldown(app: &TestApp) {
    app.advance(chrono::Duration::seconds(61));
}

async fn fail_sign_ins(app: &TestApp, times: usize) -> Page {
    let browser = app.browser();
    let mut last = None;
    for _ in 0..times {
        last = Some(browser.sign_in(PHONE, "wrong password").await);
    }
    last.unwrap()
}

/// Asks for a code at `start` (`/reset`, `/unlock`, `/login/code`) and lands on the code page.
async fn ask_code(browser: &Browser, start: &str, identifier: &str) -> Page {
    browser
        .submit(start, start, &[("identifier", identifier)])
        .await
        .assert_redirect("/recover/verify");
    browser.get("/recover/verify").await
}

#[tokio::test]
async fn ten_failures_lock_the_account_even_against_the_right_password_for_a_minute() {
    let app = TestApp::spawn().await;
    account(&app).await;
    let ninth = fail_sign_ins(&app, 9).await;
    assert!(ninth.has("do not match"), "{}", ninth.body);
    let tenth = fail_sign_ins(&app, 1).await;
    assert!(
        tenth.has("locked"),
        "the 10th failure locks: {}",
        tenth.body
    );

    // The 11th try, with the right password: refused, with the unlock offer.
    let right = app.browser().sign_in(PHONE, PASSWORD).await;
    assert_eq!(right.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        right.has("locked") && right.has("/unlock?identifier="),
        "{}",
        right.body
    );
    let wrong_now = app.browser().sign_in(PHONE, "still wrong").await;
    assert_eq!(
        wrong_now.normalised(&[]),
        right.normalised(&[]),
        "a locked account never tells whether the password was right"
    );

    app.advance(chrono::Duration::seconds(61));
    app.browser()
        .sign_in(PHONE, PASSWORD)
        .await
        .assert_redirect("/account");
}

#[tokio::test]
async fn thirty_failures_lock_until_an_operator_or_a_code_unlocks() {
    let app = TestApp::spawn().await;
    let id = account(&app).await;
    for _ in 0..3 {
        fail_sign_ins(&app, 10).await;
        app.advance(chrono::Duration::hours(1) + chrono::Duration::seconds(1));
    }
    app.advance(chrono::Duration::hours(5));
    assert!(
        app.browser().sign_in(PHONE, PASSWORD).await.has("locked"),
        "still locked hours later"
    );

    let output = app
        .oneid_command()
        .args(["user", "unlock", &id])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    app.browser()
        .sign_in(PHONE, PASSWORD)
        .await
        .assert_redirect("/account");

    let output = app
        .oneid_command()
        .args(["user", "lock", &id])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert!(app.browser().sign_in(PHONE, PASSWORD).await.has("locked"));
}

#[tokio::test]
async fn a_locked_account_is_unlocked_with_a_code_and_may_keep_its_password() {
    let app = TestApp::spawn().await;
    account(&app).await;
    fail_sign_ins(&app, 10).await;

    let browser = app.browser();
    let page = ask_code(&browser, "/unlock", PHONE).await;
    assert!(page.has("******5678"), "{}", page.body);
    let code = app.wait_for_code(E164, "unlock", 0).await;
    assert_eq!(code.len(), 6, "codes that guard an account have 6 digits");
    unlock_keeping_the_password(&app, &browser, &page, &code).await;
}

#[tokio::test]
async fn a_reset_changes_the_password_ends_every_session_and_signs_in_fresh() {
    let app = TestApp::spawn().await;
    let (rp, logout_tokens) = super::backchannel::told_of_logouts(&app, "Cloud").await;
    let before = app.browser();
    // Signs up on the way into Cloud, which gets tokens, a refresh token among them.
    let tokens = super::helpers::signed_in_tokens(&app, &rp, &before, &["profile"]).await;
    let refresh = openidconnect::OAuth2TokenResponse::refresh_token(&tokens)
        .expect("a first-party app gets a refresh token")
        .clone();
    past_cooldown(&app);

    let browser = app.browser();
    let page = ask_code(&browser, "/reset", PHONE).await;
    let code = app.wait_for_code(E164, "reset", 0).await;
    // A typo in the new password costs no try of the code.
    let mismatch = browser
        .post(
            "/recover/verify",
            &[
                ("csrf", &page.csrf()),
                ("code", &code),
                ("password", "new horse battery"),
                ("password_confirm", "new horse batery"),
            ],
        )
        .await;
    assert_eq!(mismatch.status, StatusCode::UNPROCESSABLE_ENTITY);
    browser
        .enter_recovery_code(&page, &code, "new horse battery")
        .await
        .assert_redirect("/account");
    assert!(browser.account_id().await.is_some(), "signed in fresh");

    // Cloud was told, its refresh token is dead, and the other browser's session ended
    // (browsers re-check at least once a minute).
    assert_eq!(
        super::backchannel::wait_for(&logout_tokens, 1).await.len(),
        1,
        "back-channel logout for the session that ended"
    );
    let refreshed = rp.refresh(&refresh).await;
    assert!(refreshed.is_err(), "the refresh token was revoked");
    app.advance(chrono::Duration::seconds(61));
    assert_eq!(before.account_id().await, None);

    assert!(
        app.browser()
            .sign_in(PHONE, PASSWORD)
            .await
            .has("do not match")
    );
    app.browser()
        .sign_in(PHONE, "new horse battery")
        .await
        .assert_redirect("/account");
    // The code was used up.
    let again = browser.get("/recover/verify").await;
    assert_ne!(
        again.status,
        StatusCode::OK,
        "no pending reset after success"
    );
}

#[tokio::test]
async fn a_code_signs_in_without_the_password_but_not_into_a_locked_account() {
    let app = TestApp::spawn().await;
    account(&app).await;
    let browser = app.browser();
    let page = ask_code(&browser, "/login/code", PHONE).await;
    assert!(!page.has("name=\"password\""), "no password asked");
    let code = app.wait_for_code(E164, "login", 0).await;
    let wrong_code = browser
        .post(
            "/recover/verify",
            &[("csrf", &page.csrf()), ("code", &wrong(&code))],
        )
        .await;
    assert!(wrong_code.has("Tries left: 4"), "{}", wrong_code.body);
    browser
        .post(
            "/recover/verify",
            &[("csrf", &page.csrf()), ("code", &code)],
        )
        .await
        .assert_redirect("/account");

    past_cooldown(&app);
    fail_sign_ins(&app, 10).await;
    let other = app.browser();

    let page = ask_code(&other, "/login/code", PHONE).await;
    let code = app.wait_for_code(E164, "login", 1).await;
    let locked = other
        .post(
            "/recover/verify",
            &[("csrf", &page.csrf()), ("code", &code)],
        )
        .await;
    assert!(
        locked.has("locked") && locked.has("action=\"/unlock\""),
        "{}",
        locked.body
    );
    assert_eq!(other.account_id().await, None);
}

#[tokio::test]
async fn reset_unlock_and_code_login_answer_the_same_for_unknown_contacts() {
    let app = TestApp::spawn().await;
    account(&app).await;
    for (start, purpose) in [
        ("/reset", "reset"),
        ("/unlock", "unlock"),
        ("/login/code", "login"),
    ] {
        let (known, unknown) = (app.browser(), app.browser());
        let known_page = ask_code(&known, start, PHONE).await;
        let unknown_page = ask_code(&unknown, start, "9812345679").await;
        assert_eq!(
            known_page.normalised(&["******5678"]),
            unknown_page.normalised(&["******5679"]),
            "{start}: the code page"
        );
        app.wait_for_code(E164, purpose, 0).await;
        assert_eq!(
            sent_count(&app, "+919812345679", purpose),
            0,
            "nothing sent to a stranger"
        );

        let fields = |page: &Page| {
            vec![
                ("csrf", page.csrf()),
                ("code", "000000".to_owned()),
                ("password", "new horse battery".to_owned()),
                ("password_confirm", "new horse battery".to_owned()),
            ]
        };
        let post = |browser: &Browser, page: &Page| {
            let fields = fields(page);
            let browser = Browser {
                client: browser.client.clone(),
                base: browser.base.clone(),
            };
            async move {
                let form: Vec<(&str, &str)> =
                    fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
                browser.post("/recover/verify", &form).await
            }
        };
        let known_wrong = post(&known, &known_page).await;
        let unknown_wrong = post(&unknown, &unknown_page).await;
        assert_eq!(known_wrong.status, unknown_wrong.status);
        assert_eq!(
            known_wrong.normalised(&["******5678"]),
            unknown_wrong.normalised(&["******5679"]),
            "{start}: a wrong code"
        );
        past_cooldown(&app);
    }
}
