//! Consent for apps that are not OneID's own (OIDC Core §3.1.2.4): asked before the first
//! code, remembered per scope, asked again for a new scope or `prompt=consent`.

use reqwest::StatusCode;

use super::{
    helpers::{Browser, Page, RelyingParty, TestApp, callback, registration, sign_up_by_email},
    oidc::sign_up_during,
};

/// Registers a third-party app and discovers it as its developer would.
async fn forum(app: &TestApp) -> RelyingParty {
    RelyingParty::register(app, registration("Forum ext", false)).await
}

#[track_caller]
fn assert_consent_page(page: &Page) {
    assert_eq!(
        page.status,
        StatusCode::OK,
        "expected the consent page, got {:?}:\n{}",
        page.location,
        page.body
    );
    assert!(
        page.has(r#"name="decision" value="allow""#) && page.has(r#"name="decision" value="deny""#),
        "{}",
        page.body
    );
}

/// Signs up a fresh person while the forum asks for `scopes`; returns their browser, on the
/// consent page.
async fn asked_for_consent(app: &TestApp, rp: &RelyingParty, scopes: &[&str]) -> (Browser, Page) {
    let browser = app.browser();
    let (url, ..) = rp.authorize_url(scopes);
    let page = sign_up_during(app, &browser, &url).await;
    assert_consent_page(&page);
    (browser, page)
}

/// Sends the consent page's form with `decision`.
async fn decide(browser: &Browser, page: &Page, decision: &str) -> Page {
    browser
        .post(
            "/consent",
            &[("csrf", &page.csrf()), ("decision", decision)],
        )
        .await
}

/// Signs up a fresh person who allows the forum `scopes`; returns their signed-in browser.
async fn consented(app: &TestApp, rp: &RelyingParty, scopes: &[&str]) -> Browser {
    let (browser, page) = asked_for_consent(app, rp, scopes).await;
    assert!(callback(&decide(&browser, &page, "allow").await).contains_key("code"));
    browser
}

#[tokio::test]
async fn the_first_authorization_asks_for_consent_and_deny_returns_access_denied() {
    let app = TestApp::spawn().await;
    let rp = forum(&app).await;
    let browser = app.browser();
    let (url, state, ..) = rp.authorize_url(&["profile", "email"]);
    let page = sign_up_during(&app, &browser, &url).await;

    assert_consent_page(&page);
    assert!(page.has("Forum ext"), "{}", page.body);
    for scope in [
        "Know who you are",
        "See your name and account ID",
        "See your email address",
    ] {
        assert!(page.has(scope), "{scope}:\n{}", page.body);
    }
    assert!(
        !page.has("See your mobile number"),
        "only the scopes asked for"
    );

    let params = callback(&decide(&browser, &page, "deny").await);
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["state"], *state.secret());
    assert_eq!(params["iss"], app.base);
    assert!(!params.contains_key("code"));
}

#[tokio::test]
async fn allowing_gives_a_code_and_is_remembered_for_the_same_scopes() {
    let app = TestApp::spawn().await;
    let rp = forum(&app).await;
    let (browser, page) = asked_for_consent(&app, &rp, &["profile", "email"]).await;
    let params = callback(&decide(&browser, &page, "allow").await);
    assert!(params.contains_key("code"), "{params:?}");

    let (url, state, ..) = rp.authorize_url(&["profile", "email"]);
    let params = callback(&browser.get_url(&url).await);
    assert_eq!(
        params["state"],
        *state.secret(),
        "no consent page the second time"
    );
    assert!(params.contains_key("code"));
}

#[tokio::test]
async fn a_new_scope_asks_for_consent_again() {
    let app = TestApp::spawn().await;
    let rp = forum(&app).await;
    let browser = consented(&app, &rp, &["profile", "email"]).await;

    let (url, ..) = rp.authorize_url(&["profile", "email", "phone"]);
    let asked = browser.get_url(&url).await;
    asked.assert_redirect("/consent");
    let page = browser.follow(asked).await;
    assert_consent_page(&page);
    assert!(page.has("See your mobile number"), "{}", page.body);
}

#[tokio::test]
async fn prompt_consent_always_asks() {
    let app = TestApp::spawn().await;
    let rp = forum(&app).await;
    let browser = consented(&app, &rp, &["profile"]).await;

    let (url, ..) = rp.authorize_url(&["profile"]);
    let asked = browser.get_url(&format!("{url}&prompt=consent")).await;
    asked.assert_redirect("/consent");
    assert_consent_page(&browser.follow(asked).await);
}

#[tokio::test]
async fn prompt_none_without_consent_is_consent_required() {
    let app = TestApp::spawn().await;
    let rp = forum(&app).await;
    let browser = app.browser();
    sign_up_by_email(&app, &browser, "asha@example.com", "correct horse").await;

    let (url, state, ..) = rp.authorize_url(&["profile"]);
    let params = callback(&browser.get_url(&format!("{url}&prompt=none")).await);
    assert_eq!(params["error"], "consent_required");
    assert_eq!(params["state"], *state.secret());
    assert_eq!(params["iss"], app.base);
}

#[tokio::test]
async fn a_first_party_app_never_asks_for_consent() {
    let app = TestApp::spawn().await;
    let rp = RelyingParty::register(&app, registration("Cloud", true)).await;
    let browser = app.browser();

    let (url, ..) = rp.authorize_url(&["profile", "email", "phone"]);
    assert!(
        callback(&sign_up_during(&app, &browser, &url).await).contains_key("code"),
        "straight back after sign-up"
    );
    // An administrator's consent stands for everyone's, even when the app asks again.
    for extra in ["&prompt=none", "&prompt=consent"] {
        let (url, ..) = rp.authorize_url(&["profile", "email", "phone", "offline_access"]);
        assert!(
            callback(&browser.get_url(&format!("{url}{extra}")).await).contains_key("code"),
            "{extra}"
        );
    }
}

#[tokio::test]
async fn the_consent_page_speaks_hindi() {
    let app = TestApp::spawn().await;
    let rp = forum(&app).await;
    let browser = app.browser_with_language(Some("hi"));
    let (url, ..) = rp.authorize_url(&["profile", "email"]);
    let page = sign_up_during(&app, &browser, &url).await;

    assert_consent_page(&page);
    for scope in [
        "जानना कि आप कौन हैं",
        "आपका नाम और खाता आईडी देखना",
        "आपका ईमेल पता देखना",
    ] {
        assert!(page.has(scope), "{scope}:\n{}", page.body);
    }
    assert!(!page.has("See your name"), "{}", page.body);
}

#[tokio::test]
async fn a_consent_decision_with_another_sessions_csrf_token_is_forbidden() {
    let app = TestApp::spawn().await;
    let rp = forum(&app).await;
    let (browser, page) = asked_for_consent(&app, &rp, &["profile"]).await;
    let foreign = app.browser().get("/login").await.csrf();

    let forged = browser
        .post("/consent", &[("csrf", &foreign), ("decision", "allow")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    // Nothing was allowed: the request still waits for the person's own decision.
    assert_consent_page(&browser.get("/consent").await);
    assert!(callback(&decide(&browser, &page, "allow").await).contains_key("code"));
}

#[tokio::test]
async fn the_consent_page_csp_allows_the_registered_logo_and_nothing_else() {
    let app = TestApp::spawn().await;
    let logo = "https://forum.example/static/logo.png";
    let (id, secret) = app
        .register(oneid::oauth::registry::Registration {
            logo_url: Some(logo.into()),
            ..registration("Forum ext", false)
        })
        .await;
    let rp = RelyingParty::discover(&app, &id, secret.as_deref()).await;
    let (browser, page) = asked_for_consent(&app, &rp, &["profile"]).await;
    assert!(page.has(&format!(r#"src="{logo}""#)), "{}", page.body);
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    let img_src = csp
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("img-src"))
        .unwrap();
    assert_eq!(img_src, format!("img-src 'self' data: {logo}"), "{csp}");
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));

    // Other pages keep the plain policy: the logo's host is allowed on the consent page alone.
    let login = app.browser().get("/login").await;
    let plain = login.headers["content-security-policy"].to_str().unwrap();
    assert!(!plain.contains("forum.example"), "{plain}");

    // A plain-http logo (registration allows them on loopback hosts only) cannot be allowed
    // without mixed content: no logo, no hole in the CSP.
    let rp = RelyingParty::register(
        &app,
        oneid::oauth::registry::Registration {
            logo_url: Some("http://127.0.0.1:9/logo.png".into()),
            ..registration("Forum plain", false)
        },
    )
    .await;
    let (url, ..) = rp.authorize_url(&["profile"]);
    let page = browser.follow(browser.get_url(&url).await).await;
    assert_consent_page(&page);
    assert!(!page.has("app-logo"), "{}", page.body);
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(!csp.contains("127.0.0.1"), "{csp}");
}
