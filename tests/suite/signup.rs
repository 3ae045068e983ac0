//! Sign-up by mobile number or email, with a code from the outbox.

use reqwest::StatusCode;

use super::helpers::{TestApp, sign_up_by_email, sign_up_by_phone};

#[tokio::test]
async fn sign_up_by_phone_through_the_outbox() {
    let app = TestApp::spawn().await;
    let browser = app.browser();

    browser
        .request_signup_code("98123 45678")
        .await
        .assert_redirect("/signup/verify");
    let verify = browser.get("/signup/verify").await;
    assert!(
        verify.has("+91 ******5678"),
        "the page names the masked number:\n{}",
        verify.body
    );
    assert!(
        verify.has(r#"autocomplete="one-time-code""#)
            && verify.has(r#"autocomplete="new-password""#)
    );

    let messages = app.messages_to("+919812345678");
    assert_eq!(messages.len(), 1);
    let message = &messages[0];
    assert_eq!(
        (message.channel.as_str(), message.purpose.as_str()),
        ("sms", "signup")
    );
    assert_eq!(message.code.len(), 4, "sign-up codes have four digits");
    assert!(message.code.bytes().all(|b| b.is_ascii_digit()));
    assert!(
        message.text.contains(&message.code)
            && message
                .text
                .ends_with(&format!("@127.0.0.1 #{}", message.code))
    );
    chrono::DateTime::parse_from_rfc3339(&message.sent_at).expect("sent_at is RFC 3339");

    browser
        .enter_signup_code(&message.code, "a long passphrase", "Asha Devi")
        .await
        .assert_redirect("/account");
    let account = browser.get("/account").await;
    assert!(
        account.has("Asha Devi") && account.has("+91 ******5678"),
        "{}",
        account.body
    );
    let id = browser.account_id().await.unwrap();
    assert!(
        (9..=10).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit()),
        "{id}"
    );
}

#[tokio::test]
async fn sign_up_by_email_normalises_the_address() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    browser
        .request_signup_code("  Asha.Devi@Example.COM ")
        .await
        .assert_redirect("/signup/verify");
    let message = app
        .messages_to("asha.devi@example.com")
        .pop()
        .expect("email sent to the normalised address");
    assert_eq!(message.channel, "email");
    browser
        .enter_signup_code(&message.code, "a long passphrase", "Asha")
        .await
        .assert_redirect("/account");
    assert!(browser.get("/account").await.has("a***@example.com"));
}

#[tokio::test]
async fn invalid_contacts_are_refused_with_the_reason_next_to_the_field() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    for (typed, reason) in [
        ("12345", "valid mobile number"),
        ("asha@", "valid email"),
        ("011 2345 6789", "cannot receive text messages"),
        ("", "fill in"),
    ] {
        let page = browser.request_signup_code(typed).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{typed:?}");
        assert!(
            page.has(reason)
                && page.has(r#"aria-invalid="true""#)
                && page.has(r#"id="identifier-error""#),
            "{typed:?}:\n{}",
            page.body
        );
    }
    assert!(app.outbox().is_empty());
}

#[tokio::test]
async fn password_and_name_mistakes_do_not_spend_a_try_of_the_code() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    browser.request_signup_code("9812345678").await;
    let code = app.last_code("+919812345678");
    for _ in 0..6 {
        let page = browser
            .submit(
                "/signup/verify",
                "/signup/verify",
                &[
                    ("code", &code),
                    ("password", "long enough"),
                    ("password_confirm", "different!"),
                    ("name", "Asha"),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(page.has("not the same"));
    }
    let short = browser
        .submit(
            "/signup/verify",
            "/signup/verify",
            &[
                ("code", &code),
                ("password", "short"),
                ("password_confirm", "short"),
                ("name", " "),
            ],
        )
        .await;
    assert!(
        short.has("at least 8 characters") && short.has("fill in"),
        "{}",
        short.body
    );
    browser
        .enter_signup_code(&code, "long enough", "Asha")
        .await
        .assert_redirect("/account");
}

#[tokio::test]
async fn an_existing_number_is_not_revealed_before_the_code() {
    let app = TestApp::spawn().await;
    sign_up_by_phone(&app, &app.browser(), "first password").await;
    app.advance(chrono::Duration::minutes(2));

    // Someone asks for a code for the registered number and for a fresh one.
    let (known, fresh) = (app.browser(), app.browser());
    let known_answer = known.request_signup_code("9812345678").await;
    let fresh_answer = fresh.request_signup_code("9812345679").await;
    assert_eq!(
        (known_answer.status, &known_answer.location),
        (fresh_answer.status, &fresh_answer.location)
    );
    assert_eq!(known_answer.body, fresh_answer.body);
    let (known_page, fresh_page) = (
        known.get("/signup/verify").await,
        fresh.get("/signup/verify").await,
    );
    assert_eq!(known_page.status, fresh_page.status);
    assert_eq!(
        known_page.normalised(&["5678"]),
        fresh_page.normalised(&["5679"])
    );
    assert_eq!(
        app.messages_to("+919812345678").len(),
        2,
        "the owner gets a code like anybody else"
    );

    // Only after proving the code does the person learn that the account exists.
    let code = app.last_code("+919812345678");
    let answer = known
        .enter_signup_code(&code, "another password", "Someone")
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.has("already has a OneID account"), "{}", answer.body);
    assert!(known.account_id().await.is_none(), "not signed in");
    // And the original password still works: nothing was overwritten.
    app.browser()
        .sign_in("9812345678", "first password")
        .await
        .assert_redirect("/account");
}

#[tokio::test]
async fn duplicate_email_differing_only_in_case_is_the_same_account() {
    let app = TestApp::spawn().await;
    sign_up_by_email(&app, &app.browser(), "asha@example.com", "first password").await;
    app.advance(chrono::Duration::minutes(2));
    let browser = app.browser();
    browser.request_signup_code("ASHA@example.com").await;
    let page = browser
        .enter_signup_code(
            &app.last_code("asha@example.com"),
            "second password",
            "Other",
        )
        .await;
    assert!(page.has("already has a OneID account"));
}

#[tokio::test]
async fn the_verify_step_needs_a_pending_sign_up() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    browser
        .get("/signup/verify")
        .await
        .assert_redirect("/signup");
    let page = browser
        .submit(
            "/signup",
            "/signup/verify",
            &[
                ("code", "1234"),
                ("password", "long enough"),
                ("password_confirm", "long enough"),
                ("name", "A"),
            ],
        )
        .await;
    page.assert_redirect("/signup");
}

#[tokio::test]
async fn accounts_survive_a_restart() {
    let app = TestApp::spawn().await;
    let id = sign_up_by_phone(&app, &app.browser(), "durable password").await;
    let app = app.restart().await;
    let browser = app.browser();
    browser
        .sign_in(&id, "durable password")
        .await
        .assert_redirect("/account");
    assert_eq!(browser.account_id().await.as_deref(), Some(id.as_str()));
}
