//! What every page does: languages, CSRF, security headers, friendly errors for bad input.

use reqwest::StatusCode;

use super::helpers::{TestApp, csrf_in};

#[tokio::test]
async fn hindi_pages_render_with_hindi_text() {
    let app = TestApp::spawn().await;
    let browser = app.browser_with_language(Some("hi-IN,hi;q=0.9,en;q=0.8"));
    let page = browser.get("/signup").await;
    assert!(
        page.has(r#"<html lang="hi">"#)
            && page.has("अपना OneID बनाएँ")
            && page.has("सत्यापन कोड पाएँ"),
        "{}",
        page.body
    );
    let login = browser.get("/login").await;
    assert!(login.has("OneID में साइन इन करें"));
}

#[tokio::test]
async fn the_language_link_switches_and_is_remembered() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let page = browser.get("/signup").await;
    assert!(
        page.has(r#"href="/lang/hi?next=%2Fsignup""#),
        "{}",
        page.body
    );
    let switched = browser.get("/lang/hi?next=%2Fsignup").await;
    switched.assert_redirect("/signup");
    assert!(browser.get("/signup").await.has("अपना OneID बनाएँ"));
    assert!(
        browser.get("/login").await.has(r#"<html lang="hi">"#),
        "the choice is remembered"
    );
    browser
        .get("/lang/en?next=//evil.example")
        .await
        .assert_redirect("/");
    assert!(browser.get("/login").await.has(r#"<html lang="en">"#));
}

#[tokio::test]
async fn codes_are_written_in_the_language_of_the_page() {
    let app = TestApp::spawn().await;
    let browser = app.browser_with_language(Some("hi"));
    browser.request_signup_code("9812345678").await;
    let message = app.messages_to("+919812345678").pop().unwrap();
    assert!(
        message.text.contains("आपका OneID सत्यापन कोड है"),
        "{}",
        message.text
    );
    let page = browser.get("/signup/verify").await;
    assert!(page.has("हमने +91 ******5678 पर"), "{}", page.body);
}

#[tokio::test]
async fn forms_without_the_sessions_csrf_token_are_refused() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    browser.get("/signup").await;
    let forged = browser
        .post(
            "/signup",
            &[("csrf", "forged"), ("identifier", "9812345678")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(forged.has("This form has expired"), "{}", forged.body);
    let missing = browser
        .post("/login", &[("identifier", "9812345678"), ("password", "x")])
        .await;
    assert_eq!(
        missing.status,
        StatusCode::BAD_REQUEST,
        "a missing field is a bad request"
    );
    // A token from another browser's session is as good as none.
    let other = app.browser().get("/signup").await.csrf();
    let stolen = browser
        .post("/signup", &[("csrf", &other), ("identifier", "9812345678")])
        .await;
    assert_eq!(stolen.status, StatusCode::FORBIDDEN);
    assert!(app.outbox().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn every_page_carries_the_security_headers() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    for path in ["/signup", "/login", "/no-such-page"] {
        let page = browser.get(path).await;
        let csp = page.headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"),
            "{path}: {csp}"
        );
        if path == "/signup" {
            // A code-request form: the bot check's one inline script, allowed by its hash
            // and nothing else (see tests/suite/botcheck.rs).
            let scripts = csp.split("script-src").nth(1).unwrap_or_default();
            assert!(
                scripts.trim().starts_with("'sha256-")
                    && !scripts.contains("unsafe")
                    && !scripts.contains("'self'"),
                "{path}: {csp}"
            );
        } else {
            assert!(!csp.contains("script-src"), "{path}: {csp}");
            assert!(!page.has("<script"), "{path} has no script");
        }
        assert_eq!(page.headers["x-content-type-options"], "nosniff");
        assert_eq!(page.headers["referrer-policy"], "no-referrer");
        assert_eq!(page.headers["cache-control"], "no-store");
    }
    let css = browser.get("/static/style.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(
        css.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
}

#[tokio::test]
async fn forms_carry_the_autocomplete_tokens_password_managers_need() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let signup = browser.get("/signup").await;
    assert!(
        signup.has(r#"name="identifier" type="text" inputmode="email" autocomplete="username""#)
    );
    let login = browser.get("/login").await;
    assert!(
        login.has(r#"autocomplete="username""#) && login.has(r#"autocomplete="current-password""#)
    );
    assert!(login.has(r#"<label for="identifier">"#) && login.has(r#"<label for="password">"#));
}

#[tokio::test]
async fn bad_input_gets_a_friendly_4xx_page_never_a_500() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let csrf = browser.get("/signup").await.csrf();
    let url = |p: &str| format!("{}{p}", app.base);

    // Oversized body.
    let huge = "9".repeat(64 * 1024);
    let too_large = browser
        .client
        .post(url("/signup"))
        .form(&[("csrf", csrf.as_str()), ("identifier", huge.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(too_large.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(too_large.text().await.unwrap().contains("too much to send"));

    // An oversized field within the body limit.
    let long = "9".repeat(4000);
    let page = browser
        .post("/signup", &[("csrf", &csrf), ("identifier", &long)])
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.has("too long"));

    // Invalid UTF-8 and a broken percent-encoding.
    for body in [
        format!("csrf={csrf}&identifier=%FF%FE%FD"),
        format!("csrf={csrf}&identifier=%E0%A4"),
    ] {
        let response = browser
            .client
            .post(url("/signup"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_client_error(), "{}", response.status());
    }
    let binary = browser
        .client
        .post(url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![0xff, 0x00, 0xfe, b'='])
        .send()
        .await
        .unwrap();
    assert_eq!(binary.status(), StatusCode::BAD_REQUEST);

    // Wrong content type, wrong method, unknown page.
    let json = browser
        .client
        .post(url("/login"))
        .json(&serde_json::json!({"identifier": "x"}))
        .send()
        .await
        .unwrap();
    assert!(json.status().is_client_error());
    let delete = browser.client.delete(url("/login")).send().await.unwrap();
    assert_eq!(delete.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(delete.text().await.unwrap().contains("not possible here"));
    let missing = browser.get("/does/not/exist").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.has("Page not found") && missing.has("<html"));
}

#[tokio::test]
async fn error_pages_speak_hindi_too() {
    let app = TestApp::spawn().await;
    let page = app.browser_with_language(Some("hi")).get("/nowhere").await;
    assert!(page.has("पेज नहीं मिला"), "{}", page.body);
    assert!(csrf_in(&page.body).is_none(), "error pages have no form");
}

#[tokio::test]
async fn health_check_answers() {
    let app = TestApp::spawn().await;
    let page = app.browser().get("/healthz").await;
    assert_eq!((page.status, page.body.as_str()), (StatusCode::OK, "ok"));
}
