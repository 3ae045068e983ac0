//! The account console's profile (issue 12, point 2): the display name and the preferred
//! language. Saved both; `updated_at` moves; the language is released as the `locale` claim of
//! the `profile` scope, used for pages after sign-in in a browser without a language cookie,
//! and for codes sent to the account. Bad input, forged forms and visitors change nothing.

use oneid::clock::Clock;
use openidconnect::{LanguageTag, OAuth2TokenResponse, TokenResponse};
use reqwest::StatusCode;

use super::{
    audit::every_event,
    helpers::{Browser, Page, RelyingParty, TestApp, registration, sign_up_asha, signed_in_tokens},
    oidc::jwt_part,
};

/// Saves the profile form with `name` and `locale`.
async fn save(browser: &Browser, name: &str, locale: &str) -> Page {
    browser
        .submit(
            "/account/profile",
            "/account/profile",
            &[("name", name), ("locale", locale)],
        )
        .await
}

/// The `oneid_lang` cookie the answer sets, if any.
fn lang_cookie(page: &Page) -> Option<String> {
    page.headers
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("oneid_lang="))
        .map(|c| c.split(';').next().unwrap_or_default().to_owned())
}

async fn profile_events(app: &TestApp) -> Vec<Option<String>> {
    every_event(app)
        .await
        .into_iter()
        .filter(|e| e.kind == "profile_changed")
        .map(|e| e.detail)
        .collect()
}

#[tokio::test]
async fn name_and_language_are_saved_and_released_as_claims() {
    let app = TestApp::spawn().await;
    let rp = RelyingParty::register(&app, registration("Cloud", true)).await;
    let browser = app.browser();
    let before = signed_in_tokens(&app, &rp, &browser, &["profile"]).await;
    let claims = jwt_part(&before.id_token().unwrap().to_string(), 1);
    assert_eq!(claims["name"], "Asha");
    assert!(claims.get("locale").is_none(), "no locale until chosen");
    let updated_before = claims["updated_at"].as_i64().unwrap();

    let page = browser.get("/account/profile").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.field("name").as_deref(), Some("Asha"));
    assert!(page.has(r#"<option value="hi""#), "{}", page.body);

    app.advance(chrono::Duration::minutes(5));
    let saved = save(&browser, "  Asha   Kumari ", "hi").await;
    saved.assert_redirect("/account/profile?saved=1");
    assert_eq!(lang_cookie(&saved).as_deref(), Some("hi"));
    let page = browser.get("/account/profile?saved=1").await;
    assert!(page.has("सहेजें"), "the page speaks Hindi now:\n{}", page.body);
    assert_eq!(page.field("name").as_deref(), Some("Asha Kumari"));
    assert!(page.has(r#"<option value="hi" selected>"#), "{}", page.body);
    assert_eq!(profile_events(&app).await, [Some("name,locale".to_owned())]);

    // Saving the same again changes nothing and is not audited again.
    save(&browser, "Asha Kumari", "hi")
        .await
        .assert_redirect("/account/profile?saved=1");
    assert_eq!(profile_events(&app).await.len(), 1);

    // ID token and UserInfo: the new name, the language, a later updated_at.
    let after = signed_in_tokens(&app, &rp, &browser, &["profile"]).await;
    let claims = jwt_part(&after.id_token().unwrap().to_string(), 1);
    assert_eq!(claims["name"], "Asha Kumari");
    assert_eq!(claims["locale"], "hi");
    assert_eq!(
        claims["updated_at"].as_i64().unwrap(),
        app.clock.now().timestamp()
    );
    assert!(claims["updated_at"].as_i64().unwrap() > updated_before);
    let userinfo = rp.userinfo(after.access_token()).await.unwrap();
    assert_eq!(userinfo.locale(), Some(&LanguageTag::new("hi".into())));

    // Without the profile scope, no locale.
    let openid_only = signed_in_tokens(&app, &rp, &browser, &[]).await;
    let claims = jwt_part(&openid_only.id_token().unwrap().to_string(), 1);
    assert!(claims.get("locale").is_none(), "{claims}");

    let discovery: serde_json::Value =
        reqwest::get(format!("{}/.well-known/openid-configuration", app.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert!(
        discovery["claims_supported"]
            .as_array()
            .unwrap()
            .contains(&"locale".into())
    );
}

#[tokio::test]
async fn the_chosen_language_follows_the_person_to_a_new_browser_and_their_codes() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    sign_up_asha(&app, &browser).await;
    save(&browser, "Asha", "hi")
        .await
        .assert_redirect("/account/profile?saved=1");

    // A fresh browser without a language cookie (and asking for English) gets Hindi pages
    // after signing in.
    let fresh = app.browser_with_language(Some("en"));
    let signed_in = fresh.sign_in("9812345678", "correct horse").await;
    signed_in.assert_redirect("/account");
    assert_eq!(lang_cookie(&signed_in).as_deref(), Some("hi"));
    let page = fresh.get("/account").await;
    assert!(page.has("lang=\"hi\""), "{}", page.body);

    // A browser whose cookie says English keeps English.
    let english = app.browser();
    english.get("/lang/en?next=/login").await;
    let signed_in = english.sign_in("9812345678", "correct horse").await;
    signed_in.assert_redirect("/account");
    assert_eq!(lang_cookie(&signed_in), None);
    assert!(english.get("/account").await.has("lang=\"en\""));

    // A code to the account is written in Hindi, whatever the page that asked for it spoke.
    let asking = app.browser_with_language(Some("en"));
    asking
        .submit(
            "/login/code",
            "/login/code",
            &[("identifier", "9812345678")],
        )
        .await
        .assert_redirect("/recover/verify");
    app.wait_for_code("+919812345678", "login", 0).await;
    let sent = app
        .messages_to("+919812345678")
        .into_iter()
        .rfind(|m| m.purpose == "login")
        .unwrap();
    assert!(
        sent.text
            .chars()
            .any(|c| ('\u{0900}'..='\u{097F}').contains(&c)),
        "{}",
        sent.text
    );
}

#[tokio::test]
async fn bad_input_forged_forms_and_visitors_change_nothing() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    sign_up_asha(&app, &browser).await;

    let oversized = save(&browser, &"a".repeat(5_000), "en").await;
    assert_eq!(oversized.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(oversized.has("too long"), "{}", oversized.body);
    let too_long = save(&browser, &"a".repeat(65), "en").await;
    assert_eq!(too_long.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(too_long.has("too long"), "{}", too_long.body);
    let empty = save(&browser, "   ", "en").await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    let disguised = save(&browser, "evil\u{202E}gnp.exe", "en").await;
    assert_eq!(disguised.status, StatusCode::UNPROCESSABLE_ENTITY);
    let unknown = save(&browser, "Asha Kumari", "fr").await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert!(unknown.has("Choose a language"), "{}", unknown.body);

    // A whole form larger than any form may be: the friendly error page.
    let huge = save(&browser, &"a".repeat(40_000), "en").await;
    assert!(huge.status.is_client_error(), "{}", huge.status);
    assert!(
        huge.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );

    let forged = browser
        .post(
            "/account/profile",
            &[("csrf", "forged"), ("name", "Mallory"), ("locale", "hi")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let visitor = app.browser();
    visitor
        .submit(
            "/login",
            "/account/profile",
            &[("name", "Mallory"), ("locale", "hi")],
        )
        .await
        .assert_redirect("/login");
    visitor
        .get("/account/profile")
        .await
        .assert_redirect("/login");

    let page = browser.get("/account/profile").await;
    assert_eq!(page.field("name").as_deref(), Some("Asha Devi"));
    assert!(profile_events(&app).await.is_empty());
}
