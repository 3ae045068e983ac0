//! Abuse limits through the pages: they trip, answer 429 with `Retry-After` and a page that
//! says when to come back, reset on schedule, see the client's address through trusted proxies
//! only, and keep codes away from numbers outside the served countries. Every event reaches the
//! audit log, and no code or password ever does.

use reqwest::StatusCode;

use super::helpers::{Page, TestApp, sign_up_asha, wrong};

#[track_caller]
fn assert_limited(page: &Page) -> u64 {
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS, "{}", page.body);
    assert!(page.has("Please try again in"), "{}", page.body);
    page.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

fn past_cooldown(app: &TestApp) {
    app.advance(chrono::Duration::seconds(61));
}

#[tokio::test]
async fn five_codes_an_hour_per_number_then_429_until_the_hour_is_over() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    for _ in 0..5 {
        browser
            .request_signup_code("9812345678")
            .await
            .assert_redirect("/signup/verify");
        past_cooldown(&app);
    }
    let refused = browser.request_signup_code("9812345678").await;
    let retry_after = assert_limited(&refused);
    assert!(
        refused.has("Too many codes were requested for this number or email"),
        "the page names the kind of limit: {}",
        refused.body
    );
    assert_eq!(
        retry_after,
        3600 - 5 * 61,
        "what is left of the hour that opened with the first code"
    );

    assert_eq!(app.messages_to("+919812345678").len(), 5);
    // Another number is not affected; the first one is after its hour.
    browser
        .request_signup_code("9812345679")
        .await
        .assert_redirect("/signup/verify");
    app.advance(chrono::Duration::seconds(retry_after as i64));
    browser
        .request_signup_code("9812345678")
        .await
        .assert_redirect("/signup/verify");
}

/// Was "twenty wrong codes a day freeze the number": a freeze for everyone let strangers keep
/// the owner out (issue 10, point 3). Now the address that typed them backs off, doubling.
#[tokio::test]
async fn wrong_codes_make_the_address_back_off_even_across_new_codes() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let wrong_code = |code: String| {
        let browser = browser.clone();
        async move {
            browser
                .submit(
                    "/signup/verify",
                    "/signup/verify",
                    &[
                        ("code", &wrong(&code)),
                        ("password", "correct horse"),
                        ("password_confirm", "correct horse"),
                        ("name", "Asha"),
                    ],
                )
                .await
        }
    };
    // Two codes, five wrong tries each: the address's ten free wrong codes.
    for round in 0..2 {
        browser
            .request_signup_code("9812345678")
            .await
            .assert_redirect("/signup/verify");
        let code = app.last_code("+919812345678");
        for _ in 0..5 {
            let page = wrong_code(code.clone()).await;
            assert_eq!(
                page.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "round {round}"
            );
        }
        app.advance(chrono::Duration::minutes(61));
    }
    // A new code does not buy new guesses beyond the budget: the 11th wrong code starts the
    // backoff, a minute, and the next one doubles it.
    browser
        .request_signup_code("9812345678")
        .await
        .assert_redirect("/signup/verify");
    let code = app.last_code("+919812345678");
    assert_eq!(
        wrong_code(code.clone()).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(assert_limited(&wrong_code(code.clone()).await), 60);
    app.advance(chrono::Duration::seconds(60));
    assert_eq!(
        wrong_code(code.clone()).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(assert_limited(&wrong_code(code.clone()).await), 120);
    app.advance(chrono::Duration::seconds(120));
    app.advance(chrono::Duration::minutes(61));
    browser
        .request_signup_code("9812345678")
        .await
        .assert_redirect("/signup/verify");
}

#[tokio::test]
async fn password_guessing_from_one_address_is_capped_but_other_addresses_are_not() {
    let app = TestApp::spawn_with(|s| {
        s.limits.ip_sign_in_attempts = 5;
        s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let attacker = app.browser_from("203.0.113.7");
    for n in 0..5 {
        let page = attacker.sign_in(&format!("98123456{n:02}"), "guess").await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let refused = attacker.sign_in("9812345699", "guess").await;
    let retry_after = assert_limited(&refused);
    assert!(refused.has("Too many sign-in attempts came from your network"));
    assert!(retry_after <= 600);
    // Someone else behind the same proxy is a different address.
    let neighbour = app.browser_from("203.0.113.8");
    assert_eq!(
        neighbour.sign_in("9812345600", "guess").await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    app.advance(chrono::Duration::seconds(retry_after as i64));
    assert_eq!(
        attacker.sign_in("9812345600", "guess").await.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the window is over"
    );
}

#[tokio::test]
async fn a_forwarded_address_is_not_believed_from_an_untrusted_peer() {
    let app = TestApp::spawn_with(|s| s.limits.ip_sign_in_attempts = 3).await;
    for ip in ["203.0.113.1", "203.0.113.2", "203.0.113.3"] {
        let page = app.browser_from(ip).sign_in("9812345600", "guess").await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    assert_limited(
        &app.browser_from("203.0.113.4")
            .sign_in("9812345600", "guess")
            .await,
    );
}

#[tokio::test]
async fn codes_go_only_to_mobiles_of_served_countries() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let us = browser.request_signup_code("+1 202 555 0143").await;
    assert_eq!(us.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!us.has("verify"), "{}", us.body);
    let toll_free = browser.request_signup_code("1800 425 1234").await;
    assert_eq!(toll_free.status, StatusCode::UNPROCESSABLE_ENTITY);
    let reset = browser
        .submit("/reset", "/reset", &[("identifier", "+1 202 555 0143")])
        .await;
    assert_eq!(reset.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(app.outbox().is_empty(), "nothing was sent");
    let india = app.browser_with_language(Some("hi"));
    india
        .request_signup_code("9812345678")
        .await
        .assert_redirect("/signup/verify");
}

#[tokio::test]
async fn the_audit_log_records_each_event_and_never_a_code_or_password() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let id = sign_up_asha(&app, &browser).await;
    let signup_code = app.last_code("+919812345678");
    let csrf = browser.get("/account").await.csrf();
    browser.post("/logout", &[("csrf", &csrf)]).await;
    for _ in 0..10 {
        browser.sign_in("9812345678", "wrong password 1").await;
    }
    past_cooldown(&app);
    browser
        .submit("/unlock", "/unlock", &[("identifier", "9812345678")])
        .await
        .assert_redirect("/recover/verify");
    let unlock_code = app.wait_for_code("+919812345678", "unlock", 0).await;
    let page = browser.get("/recover/verify").await;
    browser
        .post(
            "/recover/verify",
            &[("csrf", &page.csrf()), ("code", &wrong(&unlock_code))],
        )
        .await;
    browser
        .enter_recovery_code(&page, &unlock_code, "brand new horse")
        .await
        .assert_redirect("/account");
    app.browser()
        .sign_in("9812345678", "brand new horse")
        .await
        .assert_redirect("/account");

    // The command reads the database from another process: what the server queued first.
    app.state.audit.flush().await;
    let output = app
        .oneid_command()
        .args(["audit", "--account", &id, "--json", "--limit", "100"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let log = String::from_utf8(output.stdout).unwrap();
    for kind in ["signup", "login_failed", "locked", "unlocked", "login_ok"] {
        assert!(
            log.contains(&format!("\"{kind}\"")),
            "{kind} missing from {log}"
        );
    }
    let everything = app
        .oneid_command()
        .args(["audit", "--json", "--limit", "1000"])
        .output()
        .unwrap();
    let everything = String::from_utf8(everything.stdout).unwrap();
    for kind in ["code_sent", "code_verified", "code_failed", "logout"] {
        assert!(
            everything.contains(&format!("\"{kind}\"")),
            "{kind} missing"
        );
    }
    for secret in ["correct horse", "wrong password 1", "brand new horse"] {
        assert!(
            !everything.contains(secret),
            "{secret} leaked into the audit log"
        );
    }
    for code in [signup_code.as_str(), unlock_code.as_str()] {
        assert!(
            !has_number(&everything, code),
            "{code} leaked into the audit log"
        );
    }
}

/// `number` appears in `text` as a whole number (not inside a longer run of digits).
fn has_number(text: &str, number: &str) -> bool {
    text.match_indices(number).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + number.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_digit()) && !after.is_some_and(|c| c.is_ascii_digit())
    })
}
