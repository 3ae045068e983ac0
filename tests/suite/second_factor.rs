//! The second factor: adding an authenticator app in the console (the key read off the page,
//! codes computed here with `totp-rs`), the step at sign-in after a password or a code, its
//! window and replay rules on the injected clock, recovery codes, the lockout, "remember this
//! browser", removal after re-authentication, bad input, and the notices.

use chrono::Duration;
use openidconnect::TokenResponse;
use reqwest::StatusCode;
use totp_rs::Totp;

use super::{
    audit::every_event,
    helpers::{
        Browser, Page, RelyingParty, TestApp, add_authenticator, callback, registration,
        sign_up_asha, totp_code,
    },
    oidc::jwt_part,
};

const PHONE: &str = "9812345678";
const E164: &str = "+919812345678";
const PASSWORD: &str = "correct horse";
const STEP: &str = "/sign-in/second-factor";

/// Asha with an authenticator app: signed up, the app added in the console. Returns the
/// generator built from the key shown on the page, and the recovery codes shown once. The
/// browser stays signed in.
async fn asha_with_app(app: &TestApp, browser: &Browser) -> (Totp, Vec<String>) {
    sign_up_asha(app, browser).await;
    let (totp, codes) = add_authenticator(app, browser).await;
    assert_eq!(codes.len(), 10);
    (totp, codes)
}

/// The code `steps` steps from the app's clock.
fn code(app: &TestApp, totp: &Totp, steps: i64) -> String {
    totp_code(app, totp, steps)
}

fn recovery_codes(page: &Page) -> Vec<String> {
    super::helpers::recovery_codes_on(page)
}

/// Signs in with the password; the browser lands on the second-factor step.
async fn password_then_step(browser: &Browser) {
    browser.sign_in(PHONE, PASSWORD).await.assert_redirect(STEP);
}

async fn answer(browser: &Browser, kind: &str, value: &str, remember: bool) -> Page {
    let page = browser.get(STEP).await;
    let mut form = vec![("csrf", page.csrf()), ("kind", kind.to_owned())];
    form.push(("code", value.to_owned()));
    if remember {
        form.push(("remember", "1".to_owned()));
    }
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    browser.post(STEP, &fields).await
}

async fn signed_in(browser: &Browser) -> bool {
    browser.account_id().await.is_some()
}

fn kinds(events: &[oneid::db::models::audit::AuditRecord], kind: &str) -> Vec<String> {
    events
        .iter()
        .filter(|e| e.kind == kind)
        .map(|e| e.outcome.clone())
        .collect()
}

#[tokio::test]
async fn an_authenticator_app_is_asked_for_after_the_password_and_the_step_cannot_be_skipped() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let (totp, _) = asha_with_app(&app, &browser).await;
    app.wait_for_code(E164, "method-added-notice", 0).await;
    let security = browser.get("/account/security").await;
    assert!(
        security.has("Recovery codes left: 10 of 10."),
        "{}",
        security.body
    );
    assert!(security.has("/account/passkeys"));
    assert!(browser.get("/account").await.has("/account/security"));
    browser.sign_out().await;

    password_then_step(&browser).await;
    // Nobody is signed in while the step waits.
    browser.get("/account").await.assert_redirect("/login");
    let resumed = browser.get("/authorize/resume").await;
    assert_ne!(resumed.status, StatusCode::OK, "{}", resumed.body);
    assert!(!signed_in(&browser).await);

    let page = browser.get(STEP).await;
    assert!(page.has("autocomplete=\"one-time-code\""));
    assert!(page.has("Remember this browser for 30 days"));
    let wrong = answer(&browser, "totp", "000000", false).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    answer(&browser, "totp", &code(&app, &totp, 0), false)
        .await
        .assert_redirect("/account");
    assert!(signed_in(&browser).await);

    // The back button, or a second tab: the step is over, no error.
    browser.get(STEP).await.assert_redirect("/account");

    let events = every_event(&app).await;
    assert_eq!(kinds(&events, "authenticator_added"), ["ok"]);
    assert_eq!(kinds(&events, "recovery_codes_generated"), ["ok"]);
    let steps = kinds(&events, "second_factor");
    assert!(steps.contains(&"ok".to_owned()) && steps.contains(&"failed".to_owned()));
}

#[tokio::test]
async fn a_code_sign_in_asks_for_the_second_factor_too() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let (totp, _) = asha_with_app(&app, &browser).await;
    browser.sign_out().await;

    browser
        .submit("/login/code", "/login/code", &[("identifier", PHONE)])
        .await
        .assert_redirect("/recover/verify");
    let page = browser.get("/recover/verify").await;
    let sms = app.wait_for_code(E164, "login", 0).await;
    browser
        .enter_recovery_code(&page, &sms, "")
        .await
        .assert_redirect(STEP);
    assert!(
        !signed_in(&browser).await,
        "a code to the phone is no second factor"
    );
    answer(&browser, "totp", &code(&app, &totp, 0), false)
        .await
        .assert_redirect("/account");
    assert!(signed_in(&browser).await);
}

#[tokio::test]
async fn codes_one_step_either_side_pass_and_two_steps_off_do_not() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let (totp, _) = asha_with_app(&app, &browser).await;

    for (steps, passes) in [(-2, false), (2, false), (-1, true), (1, true)] {
        browser.sign_out().await;
        // Well past every step used so far.
        app.advance(Duration::seconds(120));
        password_then_step(&browser).await;
        let answered = answer(&browser, "totp", &code(&app, &totp, steps), false).await;
        if passes {
            answered.assert_redirect("/account");
        } else {
            assert_eq!(answered.status, StatusCode::UNPROCESSABLE_ENTITY, "{steps}");
            answer(&browser, "totp", &code(&app, &totp, 0), false)
                .await
                .assert_redirect("/account");
        }
    }
}

#[tokio::test]
async fn a_used_code_is_refused_the_second_time() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let (totp, _) = asha_with_app(&app, &browser).await;
    browser.sign_out().await;

    let used = code(&app, &totp, 0);
    password_then_step(&browser).await;
    answer(&browser, "totp", &used, false)
        .await
        .assert_redirect("/account");

    // Another browser, the same code, the same time step: refused (RFC 6238 §5.2).
    let other = app.browser();
    password_then_step(&other).await;
    let replayed = answer(&other, "totp", &used, false).await;
    assert_eq!(replayed.status, StatusCode::UNPROCESSABLE_ENTITY);
    // And a code of the step before it, though inside the window.
    let older = answer(&other, "totp", &code(&app, &totp, -1), false).await;
    assert_eq!(older.status, StatusCode::UNPROCESSABLE_ENTITY);
    app.advance(Duration::seconds(30));
    answer(&other, "totp", &code(&app, &totp, 0), false)
        .await
        .assert_redirect("/account");
}

#[tokio::test]
async fn wrong_codes_lock_the_account_as_wrong_passwords_do_and_the_lock_ends_the_same_way() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let (totp, _) = asha_with_app(&app, &browser).await;
    browser.sign_out().await;

    // Each step allows five tries; signing in again does not reset the account's run.
    let mut locked = false;
    for _ in 0..4 {
        let signed = browser.sign_in(PHONE, PASSWORD).await;
        if signed.status != StatusCode::SEE_OTHER {
            assert!(signed.has("locked"), "{}", signed.body);
            locked = true;
            break;
        }
        for _ in 0..6 {
            let wrong = answer(&browser, "totp", "000000", false).await;
            if wrong.status == StatusCode::FORBIDDEN {
                assert!(wrong.has("action=\"/unlock\"") || wrong.has("href=\"/unlock\""));
                locked = true;
                break;
            }
            if wrong.status == StatusCode::TOO_MANY_REQUESTS {
                break;
            }
            assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
        }
        if locked {
            break;
        }
    }
    assert!(locked, "ten failures in a run lock the account");
    assert!(browser.sign_in(PHONE, PASSWORD).await.has("locked"));

    // The first lock lasts a minute, as lockout's does.
    app.advance(Duration::seconds(61));
    password_then_step(&browser).await;
    answer(&browser, "totp", &code(&app, &totp, 0), false)
        .await
        .assert_redirect("/account");
    let events = every_event(&app).await;
    assert!(events.iter().any(|e| e.kind == "locked"));
}

#[tokio::test]
async fn a_recovery_code_signs_in_once_and_tells_the_owner() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let (_, codes) = asha_with_app(&app, &browser).await;
    browser.sign_out().await;

    password_then_step(&browser).await;
    assert!(browser.get(STEP).await.has("?with=recovery"));
    let form = browser.get(&format!("{STEP}?with=recovery")).await;
    assert!(form.has("name=\"kind\" value=\"recovery\""));
    // Typed in capitals with spaces: read as meant.
    let typed = codes[0].to_uppercase().replace('-', " ");
    answer(&browser, "recovery", &typed, false)
        .await
        .assert_redirect("/account");
    app.wait_for_code(E164, "recovery-used-notice", 0).await;
    assert!(
        browser
            .get("/account/security")
            .await
            .has("Recovery codes left: 9 of 10.")
    );
    browser.sign_out().await;

    password_then_step(&browser).await;
    let again = answer(&browser, "recovery", &codes[0], false).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    answer(&browser, "recovery", &codes[1], false)
        .await
        .assert_redirect("/account");
    let events = every_event(&app).await;
    assert_eq!(kinds(&events, "recovery_code_used"), ["ok", "ok"]);
}

#[tokio::test]
async fn new_recovery_codes_replace_the_old_ones() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let (_, old) = asha_with_app(&app, &browser).await;
    let page = browser.get("/account/security").await;
    let regenerated = browser
        .post(
            "/account/security/recovery-codes",
            &[("csrf", &page.csrf())],
        )
        .await;
    assert_eq!(regenerated.status, StatusCode::OK);
    assert_eq!(
        regenerated
            .headers
            .get("cache-control")
            .map(|v| v.to_str().unwrap()),
        Some("no-store")
    );
    let new = recovery_codes(&regenerated);
    assert_eq!(new.len(), 10);
    assert!(new.iter().all(|c| !old.contains(c)));
    // A new set is a new way in: the owner hears of it.
    app.wait_for_code(E164, "method-added-notice", 1).await;
    browser.sign_out().await;

    password_then_step(&browser).await;
    let stale = answer(&browser, "recovery", &old[3], false).await;
    assert_eq!(stale.status, StatusCode::UNPROCESSABLE_ENTITY);
    answer(&browser, "recovery", &new[3], false)
        .await
        .assert_redirect("/account");
}

#[tokio::test]
async fn a_remembered_browser_skips_the_prompt_until_it_is_forgotten() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let (totp, _) = asha_with_app(&app, &browser).await;
    browser.sign_out().await;

    password_then_step(&browser).await;
    answer(&browser, "totp", &code(&app, &totp, 0), true)
        .await
        .assert_redirect("/account");
    // Again and again: each of these sign-ins is complete, so none counts toward the lockout.
    for _ in 0..11 {
        browser.sign_out().await;
        browser
            .sign_in(PHONE, PASSWORD)
            .await
            .assert_redirect("/account");
    }
    // Another browser is not remembered.
    password_then_step(&app.browser()).await;

    let sessions = browser.get("/account/sessions").await;
    assert!(sessions.has("Remembered browsers"), "{}", sessions.body);
    let id = sessions
        .field("id")
        .expect("a remembered browser to forget");
    browser
        .post(
            "/account/sessions/forget-browser",
            &[("csrf", &sessions.csrf()), ("id", &id)],
        )
        .await
        .assert_redirect("/account/sessions?done=forgotten");
    assert!(
        !browser
            .get("/account/sessions")
            .await
            .has("Remembered browsers")
    );
    browser.sign_out().await;
    password_then_step(&browser).await;

    let events = every_event(&app).await;
    assert_eq!(kinds(&events, "browser_remembered"), ["ok"]);
    assert_eq!(kinds(&events, "browser_forgotten"), ["ok"]);
}

#[tokio::test]
async fn removing_the_app_needs_a_fresh_sign_in_with_the_app_and_then_no_step_is_asked() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let (totp, _) = asha_with_app(&app, &browser).await;
    app.advance(Duration::minutes(11));

    let page = browser.get("/account/security").await;
    let asked = browser
        .post(
            "/account/security/authenticator/remove",
            &[("csrf", &page.csrf())],
        )
        .await;
    asked.assert_redirect("/account/confirm?next=%2Faccount%2Fsecurity");
    let confirm = browser
        .get("/account/confirm?next=%2Faccount%2Fsecurity")
        .await;
    browser
        .post(
            "/account/confirm",
            &[
                ("csrf", &confirm.csrf()),
                ("next", "/account/security"),
                ("password", PASSWORD),
            ],
        )
        .await
        .assert_redirect(STEP);
    answer(&browser, "totp", &code(&app, &totp, 0), false)
        .await
        .assert_redirect("/account/security");
    let page = browser.get("/account/security").await;
    browser
        .post(
            "/account/security/authenticator/remove",
            &[("csrf", &page.csrf())],
        )
        .await
        .assert_redirect("/account/security?done=removed");
    app.wait_for_code(E164, "method-removed-notice", 0).await;
    assert!(
        browser
            .get("/account/security")
            .await
            .has("No authenticator app yet")
    );
    browser.sign_out().await;
    browser
        .sign_in(PHONE, PASSWORD)
        .await
        .assert_redirect("/account");
    let events = every_event(&app).await;
    assert_eq!(kinds(&events, "authenticator_removed"), ["ok"]);
}

#[tokio::test]
async fn bad_input_is_refused_and_counts_for_nothing() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let (totp, _) = asha_with_app(&app, &browser).await;
    browser.sign_out().await;
    password_then_step(&browser).await;
    let csrf = browser.get(STEP).await.csrf();

    let huge = "1".repeat(100 * 1024);
    for (kind, value) in [
        ("totp", ""),
        ("totp", "12ab56"),
        ("totp", "1234567"),
        ("recovery", ""),
        ("recovery", "not-a-code!"),
        ("totp", huge.as_str()),
    ] {
        let page = browser
            .post(
                STEP,
                &[("csrf", csrf.as_str()), ("kind", kind), ("code", value)],
            )
            .await;
        assert!(
            page.status.is_client_error(),
            "{kind} {}: {}",
            value.len(),
            page.status
        );
    }
    for form in [
        vec![("kind", "totp"), ("code", "123456")],
        vec![("csrf", "forged"), ("kind", "totp"), ("code", "123456")],
        vec![("csrf", csrf.as_str()), ("kind", "sms"), ("code", "123456")],
    ] {
        let page = browser.post(STEP, &form).await;
        assert!(page.status.is_client_error(), "{form:?}: {}", page.status);
    }
    // Nothing was checked, so no try was spent and nothing was recorded.
    assert!(kinds(&every_event(&app).await, "second_factor").is_empty());
    answer(&browser, "totp", &code(&app, &totp, 0), false)
        .await
        .assert_redirect("/account");

    // The console's forms too.
    let page = browser.get("/account/security").await;
    let (csrf, huge) = (page.csrf(), "x".repeat(100 * 1024));
    for form in [
        vec![("code", "123456")],
        vec![("csrf", csrf.as_str()), ("code", huge.as_str())],
    ] {
        let answered = browser
            .post("/account/security/authenticator/confirm", &form)
            .await;
        assert!(answered.status.is_client_error(), "{}", answered.status);
    }
    let forget = browser
        .post(
            "/account/sessions/forget-browser",
            &[("csrf", &page.csrf()), ("id", &"x".repeat(500))],
        )
        .await;
    assert_eq!(forget.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_step_that_waited_too_long_says_so() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let (totp, _) = asha_with_app(&app, &browser).await;
    browser.sign_out().await;
    password_then_step(&browser).await;
    let csrf = browser.get(STEP).await.csrf();
    app.advance(Duration::minutes(11));

    let over = browser
        .post(
            STEP,
            &[
                ("csrf", csrf.as_str()),
                ("kind", "totp"),
                ("code", &code(&app, &totp, 0)),
            ],
        )
        .await;
    assert_eq!(over.status, StatusCode::GONE);
    assert!(over.has("Sign in again"), "{}", over.body);
    let shown = browser.get(STEP).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert!(shown.has("Sign in again"));
    assert!(!signed_in(&browser).await);
}

#[tokio::test]
async fn an_apps_request_waits_through_the_step_and_its_id_token_says_mfa() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let (totp, _) = asha_with_app(&app, &browser).await;
    browser.sign_out().await;
    let rp = RelyingParty::register(&app, registration("Second factor app", true)).await;

    let (url, _, _, verifier) = rp.authorize_url(&["openid"]);
    let asked = browser.get_url(&url).await;
    assert!(asked.status.is_redirection(), "{}", asked.body);
    password_then_step(&browser).await;
    let passed = answer(&browser, "totp", &code(&app, &totp, 0), false).await;
    passed.assert_redirect("/authorize/resume");
    let back = browser.follow(passed).await;
    let tokens = rp.redeem(&callback(&back)["code"], verifier).await;
    let id_token = tokens.id_token().expect("an ID token").to_string();
    assert_eq!(
        jwt_part(&id_token, 1)["amr"],
        serde_json::json!(["pwd", "otp", "mfa"])
    );
}
