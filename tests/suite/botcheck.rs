//! The bot check before a code is sent: the challenge on every code-request form, its script
//! allowed by hash on those pages only, a solution that works once, forged and reused ones
//! refused, the adaptive requirement, and the wait ticket without JavaScript.

use base64::{Engine, engine::general_purpose::STANDARD};
use oneid::config::{BotCheckMode, Settings};
use reqwest::StatusCode;

use super::helpers::{Browser, Page, TestApp};

/// Easy challenges, so the tests solve them at once.
fn easy(settings: &mut Settings) {
    settings.bot_check.easy_max_number = 1_000;
    settings.bot_check.hard_max_number = 2_000;
}

/// The check always required, with easy challenges.
fn always(settings: &mut Settings) {
    easy(settings);
    settings.bot_check.mode = BotCheckMode::Always;
}

/// An attribute value as the browser reads it (askama escapes it for HTML).
fn unescape(value: &str) -> String {
    [
        ("&#34;", "\""),
        ("&quot;", "\""),
        ("&#39;", "'"),
        ("&#43;", "+"),
        ("&#47;", "/"),
        ("&#x2f;", "/"),
        ("&#61;", "="),
        ("&#x3d;", "="),
        ("&#60;", "<"),
        ("&#62;", ">"),
        ("&#38;", "&"),
        ("&amp;", "&"),
    ]
    .iter()
    .fold(value.to_owned(), |v, (escaped, plain)| {
        v.replace(escaped, plain)
    })
}

fn attribute(page: &Page, marker: &str) -> Option<String> {
    let start = page.body.find(marker)? + marker.len();
    let end = start + page.body[start..].find('"')?;
    Some(unescape(&page.body[start..end]))
}

/// The challenge (ALTCHA's JSON) the page's first code-request form carries.
fn challenge_in(page: &Page) -> Option<String> {
    attribute(page, r#"data-challenge=""#)
}

/// The wait page's ticket.
fn ticket_in(page: &Page) -> String {
    attribute(page, r#"name="ticket" value=""#)
        .unwrap_or_else(|| panic!("no wait ticket on:\n{}", page.body))
}

/// Solves `challenge` as the page's script would, and returns the form's `altcha` value.
fn solve(challenge: &str) -> String {
    let c: altcha_lib_rs::Challenge = serde_json::from_str(challenge).unwrap();
    let number = altcha_lib_rs::solve_challenge(
        &c.challenge,
        &c.salt,
        Some(c.algorithm),
        Some(c.maxnumber),
        0,
    )
    .expect("solvable");
    let payload = serde_json::json!({
        "algorithm": "SHA-256",
        "challenge": c.challenge,
        "number": number,
        "salt": c.salt,
        "signature": c.signature,
        "took": 12,
    });
    STANDARD.encode(payload.to_string())
}

/// Loads `form_page` and returns its CSRF token and its challenge, solved.
async fn solved(browser: &Browser, form_page: &str) -> (String, String) {
    let page = browser.get(form_page).await;
    let challenge = challenge_in(&page).unwrap_or_else(|| panic!("no challenge:\n{}", page.body));
    (page.csrf(), solve(&challenge))
}

fn csp(page: &Page) -> String {
    page.headers
        .get("content-security-policy")
        .expect("a CSP")
        .to_str()
        .unwrap()
        .to_owned()
}

fn assert_wait_page(page: &Page, seconds: u64) {
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.has(&format!("Please wait {seconds} seconds")) && page.has(r#"name="ticket""#),
        "the wait page, {seconds} s:\n{}",
        page.body
    );
    assert!(
        !csp(page).contains("script-src"),
        "the wait page runs no script"
    );
}

fn assert_refused(page: &Page) {
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    assert!(page.has("That check did not go through"), "{}", page.body);
    assert!(
        challenge_in(page).is_some(),
        "a fresh challenge to try again with"
    );
}

#[tokio::test]
async fn a_solution_sends_once_and_missing_reused_or_forged_ones_send_nothing() {
    let app = TestApp::spawn_with(always).await;
    let browser = app.browser();

    // The form carries a challenge and its script, allowed by hash on this page only.
    let form = browser.get("/signup").await;
    let policy = csp(&form);
    assert!(
        policy.contains("script-src 'sha256-") && !policy.contains("'unsafe-inline'"),
        "{policy}"
    );
    assert!(form.has("<script>") && challenge_in(&form).is_some());
    let sign_in = browser.get("/login").await;
    assert!(
        !csp(&sign_in).contains("script-src") && !sign_in.has("<script"),
        "other pages stay script-free: {}",
        csp(&sign_in)
    );

    // No solution: the wait page, and nothing sent.
    let bare = browser
        .post(
            "/signup",
            &[("csrf", &form.csrf()), ("identifier", "asha@example.com")],
        )
        .await;
    assert_wait_page(&bare, 3);
    assert!(app.outbox().is_empty());

    // Solved: the code goes out.
    let (csrf, solution) = solved(&browser, "/signup").await;
    let sent = browser
        .post(
            "/signup",
            &[
                ("csrf", &csrf),
                ("identifier", "asha@example.com"),
                ("altcha", &solution),
            ],
        )
        .await;
    sent.assert_redirect("/signup/verify");
    assert_eq!(app.messages_to("asha@example.com").len(), 1);

    // The same solution again, from another browser and for another contact: refused.
    let other = app.browser();
    let csrf = other.get("/signup").await.csrf();
    let reused = other
        .post(
            "/signup",
            &[
                ("csrf", &csrf),
                ("identifier", "ravi@example.com"),
                ("altcha", &solution),
            ],
        )
        .await;
    assert_refused(&reused);

    // Forged: a changed signature, a changed number, garbage, an oversized field.
    let (csrf, solution) = solved(&other, "/signup").await;
    let mut payload: serde_json::Value =
        serde_json::from_slice(&STANDARD.decode(&solution).unwrap()).unwrap();
    let mut forged_signature = payload.clone();
    let signature = payload["signature"].as_str().unwrap().to_owned();
    let flipped = if signature.starts_with('0') { "1" } else { "0" };
    forged_signature["signature"] = format!("{flipped}{}", &signature[1..]).into();
    payload["number"] = (payload["number"].as_u64().unwrap() + 1).into();
    let oversized = "A".repeat(5_000);
    for forged in [
        STANDARD.encode(forged_signature.to_string()),
        STANDARD.encode(payload.to_string()),
        "not base64 at all".to_owned(),
        oversized,
    ] {
        let refused = other
            .post(
                "/signup",
                &[
                    ("csrf", &csrf),
                    ("identifier", "ravi@example.com"),
                    ("altcha", &forged),
                ],
            )
            .await;
        assert_refused(&refused);
    }
    assert!(app.messages_to("ravi@example.com").is_empty());
    assert_eq!(
        app.outbox().len(),
        1,
        "only the one solved request sent a code"
    );
}

#[tokio::test]
async fn adaptive_asks_nothing_at_little_pressure_and_a_solution_of_an_address_asking_often() {
    let app = TestApp::spawn_with(|s| {
        easy(s);
        s.bot_check.address_codes_per_hour = 2;
    })
    .await;
    let browser = app.browser();
    for to in ["one@example.com", "two@example.com"] {
        browser
            .request_signup_code(to)
            .await
            .assert_redirect("/signup/verify");
    }
    assert_eq!(app.outbox().len(), 2, "no check at little pressure");

    // This address asked for two codes this hour: the third needs the check, and without
    // JavaScript the wait has grown with the load (2 of its 20 an hour: 3 s + 10% of 12 s).
    let third = browser.request_signup_code("three@example.com").await;
    assert_wait_page(&third, 4);
    assert_eq!(app.outbox().len(), 2);
    let (csrf, solution) = solved(&browser, "/signup").await;
    browser
        .post(
            "/signup",
            &[
                ("csrf", &csrf),
                ("identifier", "three@example.com"),
                ("altcha", &solution),
            ],
        )
        .await
        .assert_redirect("/signup/verify");
    assert_eq!(app.messages_to("three@example.com").len(), 1);

    // The hour ends: little pressure again.
    app.advance(chrono::Duration::hours(1));
    browser
        .request_signup_code("four@example.com")
        .await
        .assert_redirect("/signup/verify");
}

#[tokio::test]
async fn without_javascript_a_wait_ticket_sends_once_after_its_wait_and_only_to_its_contact() {
    let app = TestApp::spawn_with(always).await;
    let browser = app.browser();
    let csrf = browser.get("/signup").await.csrf();
    let form = |identifier: &'static str, ticket: String| {
        let csrf = csrf.clone();
        let browser = browser.clone();
        async move {
            browser
                .post(
                    "/signup",
                    &[
                        ("csrf", &csrf),
                        ("identifier", identifier),
                        ("ticket", &ticket),
                    ],
                )
                .await
        }
    };
    let wait = browser
        .post("/signup", &[("csrf", &csrf), ("identifier", "98123 45678")])
        .await;
    assert_wait_page(&wait, 3);
    assert!(
        wait.has(r#"name="identifier" value="98123 45678""#),
        "{}",
        wait.body
    );
    let ticket = ticket_in(&wait);

    // Pressed too early: the same page, the same ticket, nothing sent.
    app.advance(chrono::Duration::seconds(1));
    let early = form("98123 45678", ticket.clone()).await;
    assert_wait_page(&early, 2);
    assert_eq!(ticket_in(&early), ticket);
    assert!(app.outbox().is_empty());

    app.advance(chrono::Duration::seconds(2));
    // Not for another contact...
    assert_refused(&form("98123 45679", ticket.clone()).await);
    // ...but for its own, once.
    form("98123 45678", ticket.clone())
        .await
        .assert_redirect("/signup/verify");
    assert_eq!(app.messages_to("+919812345678").len(), 1);
    assert_refused(&form("98123 45678", ticket).await);
    assert_eq!(app.outbox().len(), 1);
}

#[tokio::test]
async fn every_form_that_sends_a_code_to_a_typed_contact_carries_the_check() {
    let app = TestApp::spawn_with(always).await;
    let browser = app.browser();
    for start in ["/continue", "/login/code", "/reset", "/unlock"] {
        let page = browser.get(start).await;
        assert!(challenge_in(&page).is_some(), "{start}");
        assert!(csp(&page).contains("script-src 'sha256-"), "{start}");
        let bare = browser
            .post(
                start,
                &[("csrf", &page.csrf()), ("identifier", "asha@example.com")],
            )
            .await;
        assert_wait_page(&bare, 3);
    }

    // The sign-up's "send a new code".
    let (csrf, solution) = solved(&browser, "/signup").await;
    let fields = [
        ("csrf", csrf.as_str()),
        ("identifier", "asha@example.com"),
        ("altcha", &solution),
    ];
    browser
        .post("/signup", &fields)
        .await
        .assert_redirect("/signup/verify");
    app.advance(chrono::Duration::seconds(61));
    let verify = browser.get("/signup/verify").await;
    assert!(csp(&verify).contains("script-src 'sha256-"));
    let bare = browser
        .post("/signup/resend", &[("csrf", &verify.csrf())])
        .await;
    assert_wait_page(&bare, 3);
    assert!(
        !bare.has(r#"name="identifier""#),
        "the contact stays in the session"
    );
    assert!(
        bare.has("/lang/hi?next=%2Fsignup%2Fverify"),
        "the language switcher leads to a page, not to the form's POST address"
    );
    let (csrf, solution) = solved(&browser, "/signup/verify").await;
    browser
        .post("/signup/resend", &[("csrf", &csrf), ("altcha", &solution)])
        .await
        .assert_redirect("/signup/verify");
    assert_eq!(app.messages_to("asha@example.com").len(), 2);
    let reused = browser
        .post("/signup/resend", &[("csrf", &csrf), ("altcha", &solution)])
        .await;
    assert_eq!(reused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        reused.has("That check did not go through"),
        "{}",
        reused.body
    );

    // The recovery's "send a new code".
    let (csrf, solution) = solved(&browser, "/login/code").await;
    let fields = [
        ("csrf", csrf.as_str()),
        ("identifier", "ravi@example.com"),
        ("altcha", &solution),
    ];
    browser
        .post("/login/code", &fields)
        .await
        .assert_redirect("/recover/verify");
    let verify = browser.get("/recover/verify").await;
    assert!(challenge_in(&verify).is_some());
    let bare = browser
        .post("/recover/resend", &[("csrf", &verify.csrf())])
        .await;
    // Three codes from this address this hour: a longer wait (3 s + 15% of 12 s).
    assert_wait_page(&bare, 4);
}

#[tokio::test]
async fn switched_off_the_pages_carry_no_challenge_and_no_script() {
    let app = TestApp::spawn_with(|s| s.bot_check.mode = BotCheckMode::Never).await;
    let browser = app.browser();
    for page in ["/signup", "/login/code", "/reset", "/unlock"] {
        let page = browser.get(page).await;
        assert!(challenge_in(&page).is_none() && !page.has("<script"));
        assert!(!csp(&page).contains("script-src"));
    }
    browser
        .request_signup_code("asha@example.com")
        .await
        .assert_redirect("/signup/verify");
}

#[tokio::test]
async fn continue_with_your_number_and_its_resend_carry_the_check() {
    let app = TestApp::spawn_with(always).await;
    let browser = app.browser();
    let start = browser.get("/continue").await;
    let bare = browser
        .post(
            "/continue",
            &[("csrf", &start.csrf()), ("identifier", "9812345678")],
        )
        .await;
    assert_wait_page(&bare, 3);
    assert!(app.messages_to("+919812345678").is_empty(), "nothing sent");

    let (csrf, solution) = solved(&browser, "/continue").await;
    let fields = [
        ("csrf", csrf.as_str()),
        ("identifier", "9812345678"),
        ("altcha", &solution),
    ];
    browser
        .post("/continue", &fields)
        .await
        .assert_redirect("/continue/verify");
    app.wait_for_code("+919812345678", "login", 0).await;

    app.advance(chrono::Duration::seconds(61));
    let verify = browser.get("/continue/verify").await;
    assert!(csp(&verify).contains("script-src 'sha256-"));
    let bare = browser
        .post("/continue/resend", &[("csrf", &verify.csrf())])
        .await;
    assert_wait_page(&bare, 3);
    let (csrf, solution) = solved(&browser, "/continue/verify").await;
    browser
        .post(
            "/continue/resend",
            &[("csrf", &csrf), ("altcha", &solution)],
        )
        .await
        .assert_redirect("/continue/verify");
    app.wait_for_code("+919812345678", "login", 1).await;
}
