//! Step-up and per-app policy: `acr_values` (OIDC Core §3.1.2.1), the `acr` of ID tokens, an
//! app's minimum sign-in set by an administrator (console, API, CLI), and what a person who
//! cannot reach it sees.

use openidconnect::{AuthenticationContextClass, Nonce, PkceCodeChallenge, core::CoreResponseType};
use reqwest::{Method, StatusCode};

use super::{
    audit::every_event,
    helpers::{
        Browser, RelyingParty, SECOND_FACTOR, TestApp, add_authenticator, admin_api, callback,
        make_admin, pass_second_factor, registration, sign_up_asha, totp_code,
    },
};

const ONE: &str = "urn:oneid:acr:1fa";
const TWO: &str = "urn:oneid:acr:2fa";
const PHR: &str = "urn:oneid:acr:phr";

/// An authorization URL of `rp` (PKCE, state, nonce) asking for `acr_values` and adding
/// `extra` parameters, as the client library builds it.
pub(super) fn url_asking(
    rp: &RelyingParty,
    acr_values: &[&str],
    extra: &[(&str, &str)],
) -> (String, String, Nonce, openidconnect::PkceCodeVerifier) {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = rp
        .client
        .authorize_url(
            openidconnect::AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            openidconnect::CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge);
    for value in acr_values {
        request =
            request.add_auth_context_value(AuthenticationContextClass::new((*value).to_owned()));
    }
    for (name, value) in extra {
        request = request.add_extra_param(*name, *value);
    }
    let (url, state, nonce) = request.url();
    (url.to_string(), state.secret().clone(), nonce, verifier)
}

/// The `acr` and `amr` of the ID token the app gets for `code`, verified by the client library.
pub(super) async fn acr_and_amr(
    rp: &RelyingParty,
    code: &str,
    nonce: &Nonce,
    verifier: openidconnect::PkceCodeVerifier,
) -> (String, Vec<String>) {
    let tokens = rp.redeem(code, verifier).await;
    let id_token = tokens.extra_fields().id_token().expect("an ID token");
    let claims = id_token
        .claims(&rp.client.id_token_verifier(), nonce)
        .expect("the ID token verifies");
    let acr = claims
        .auth_context_ref()
        .expect("acr in the ID token")
        .to_string();
    let amr = claims
        .auth_method_refs()
        .expect("amr in the ID token")
        .iter()
        .map(|m| m.to_string())
        .collect();
    (acr, amr)
}

/// Sets the app's minimum sign-in with the `oneid` command, as an operator would.
pub(super) fn set_min_acr(app: &TestApp, client_id: &str, level: &str) {
    let out = app
        .oneid_command()
        .args(["client", "min-acr", client_id, level])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "oneid client min-acr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    app.wait_out_warm_copies();
}

async fn signed_in_asha(app: &TestApp) -> Browser {
    let browser = app.browser();
    sign_up_asha(app, &browser).await;
    browser
}

#[tokio::test]
async fn discovery_names_the_classes_and_a_password_sign_in_is_one_factor() {
    let app = TestApp::spawn().await;
    let metadata: serde_json::Value =
        reqwest::get(format!("{}/.well-known/openid-configuration", app.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(
        metadata["acr_values_supported"],
        serde_json::json!([ONE, TWO, PHR])
    );

    // acr_values is voluntary: without a second factor to step up with, the app gets the
    // sign-in as it is and judges it by its `acr`.
    let rp = RelyingParty::register(&app, registration("Market", true)).await;
    let browser = signed_in_asha(&app).await;
    for asked in [&[TWO][..], &[PHR, TWO], &["urn:other:gold"], &[]] {
        let (url, state, nonce, verifier) = url_asking(&rp, asked, &[]);
        let back = callback(&browser.get_url(&url).await);
        assert_eq!(back["state"], state);
        let (acr, amr) = acr_and_amr(&rp, &back["code"], &nonce, verifier).await;
        assert_eq!(acr, ONE, "asked {asked:?}");
        assert_eq!(amr, ["sms", "pwd"]);
    }
}

#[tokio::test]
async fn an_apps_minimum_stops_a_weaker_sign_in_and_going_back_tells_the_app() {
    let app = TestApp::spawn().await;
    let rp = RelyingParty::register(&app, registration("Market", true)).await;
    set_min_acr(&app, &rp.id, "2fa");
    let browser = signed_in_asha(&app).await;

    // prompt=none cannot ask for more: login_required (OIDC Core §3.1.2.6).
    let (url, state, _, _) = url_asking(&rp, &[], &[("prompt", "none")]);
    let back = callback(&browser.get_url(&url).await);
    assert_eq!(back["error"], "login_required");
    assert_eq!(back["state"], state);

    // Asha has no second factor: a page says how to add one, and no code is issued.
    let (url, state, _, _) = url_asking(&rp, &[], &[]);
    let page = browser.get_url(&url).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.has("Market needs a stronger sign-in"), "{}", page.body);
    assert!(page.has("href=\"/account/security\""));

    // In Hindi too.
    let hindi = app.browser_with_language(Some("hi"));
    sign_up_asha_elsewhere(&app, &hindi).await;
    let (url_hi, _, _, _) = url_asking(&rp, &[], &[]);
    let page_hi = hindi.get_url(&url_hi).await;
    assert!(
        page_hi.has("के लिए ज़्यादा मज़बूत साइन-इन चाहिए"),
        "{}",
        page_hi.body
    );

    // Going back: the app hears unmet_authentication_requirements, with state and iss.
    let without_csrf = browser.post("/authorize/give-up", &[]).await;
    assert!(without_csrf.status.is_client_error());
    let back = callback(
        &browser
            .post("/authorize/give-up", &[("csrf", &page.csrf())])
            .await,
    );
    assert_eq!(back["error"], "unmet_authentication_requirements");
    assert_eq!(back["state"], state);
    assert_eq!(back["iss"], app.base);
    // The request was answered once: giving up again has nothing to answer.
    let again = browser
        .post("/authorize/give-up", &[("csrf", &page.csrf())])
        .await;
    assert_eq!(again.location.as_deref(), Some("/"));

    // Back to any sign-in: the app lets Asha in again, with one factor.
    set_min_acr(&app, &rp.id, "1fa");
    let (url, _, nonce, verifier) = url_asking(&rp, &[], &[]);
    let back = callback(&browser.get_url(&url).await);
    let (acr, _) = acr_and_amr(&rp, &back["code"], &nonce, verifier).await;
    assert_eq!(acr, ONE);
}

/// Signs up another person (Ravi) in `browser`.
async fn sign_up_asha_elsewhere(app: &TestApp, browser: &Browser) {
    super::helpers::sign_up(app, browser, "9812345699", "+919812345699", "ravi password").await;
}

#[tokio::test]
async fn the_minimum_is_set_by_the_api_and_the_cli_audited_and_checked() {
    let app = TestApp::spawn().await;
    let rp = RelyingParty::register(&app, registration("Market", false)).await;
    let (api, _) = admin_api(&app).await;
    let path = format!("/clients/{}/min-acr", rp.id);

    let (status, json) = api
        .call(
            Method::PUT,
            &path,
            Some(serde_json::json!({ "min_acr": "phr" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(json["min_acr"], PHR);
    let (_, shown) = api.get(&format!("/clients/{}", rp.id)).await;
    assert_eq!(shown["min_acr"], PHR);

    for bad in [
        serde_json::json!({ "min_acr": "3fa" }),
        serde_json::json!({ "min_acr": "URN:ONEID:ACR:2FA" }),
        serde_json::json!({ "min_acr": 2 }),
        serde_json::json!({}),
    ] {
        let (status, _) = api.call(Method::PUT, &path, Some(bad.clone())).await;
        // An absent value clears the minimum; every other bad value is refused.
        if bad == serde_json::json!({}) {
            assert_eq!(status, StatusCode::OK);
        } else {
            assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        }
    }
    let (_, shown) = api.get(&format!("/clients/{}", rp.id)).await;
    assert!(shown["min_acr"].is_null(), "cleared: {shown}");
    let (status, _) = api
        .call(
            Method::PUT,
            "/clients/no-such-client/min-acr",
            Some(serde_json::json!({ "min_acr": "2fa" })),
        )
        .await;
    assert!(status.is_client_error());

    // The CLI: 2fa, then 1fa (no minimum).
    set_min_acr(&app, &rp.id, "2fa");
    let (_, shown) = api.get(&format!("/clients/{}", rp.id)).await;
    assert_eq!(shown["min_acr"], TWO);
    let out = app
        .oneid_command()
        .args(["client", "min-acr", &rp.id, "gold"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "an unknown level is refused");
    set_min_acr(&app, &rp.id, "1fa");
    let (_, shown) = api.get(&format!("/clients/{}", rp.id)).await;
    assert!(shown["min_acr"].is_null());

    // Every change is an admin action in the audit log, saying what.
    let details: Vec<String> = every_event(&app)
        .await
        .into_iter()
        .filter(|e| e.kind == "admin_action" && e.client_id.as_deref() == Some(rp.id.as_str()))
        .filter_map(|e| e.detail)
        .collect();
    for expected in [
        format!("client {} min_acr: any → phr", rp.id),
        format!("client {} min_acr: phr → any", rp.id),
        format!("client {} min_acr: any → 2fa", rp.id),
        format!("client {} min_acr: 2fa → any", rp.id),
    ] {
        assert!(details.contains(&expected), "{expected} in {details:?}");
    }
}

#[tokio::test]
async fn acr_values_steps_up_with_the_authenticator_app_and_the_id_token_says_so() {
    let app = TestApp::spawn().await;
    let rp = RelyingParty::register(&app, registration("Market", true)).await;
    let browser = signed_in_asha(&app).await;
    let (totp, _) = add_authenticator(&app, &browser).await;

    // The sign-up's session is one factor; a plain request gets it as it is.
    let (url, _, nonce, verifier) = url_asking(&rp, &[], &[]);
    let back = callback(&browser.get_url(&url).await);
    assert_eq!(
        acr_and_amr(&rp, &back["code"], &nonce, verifier).await.0,
        ONE
    );

    // Market asks for two factors: the step, then back to Market with the code.
    let (url, state, nonce, verifier) = url_asking(&rp, &[TWO], &[]);
    browser.get_url(&url).await.assert_redirect(SECOND_FACTOR);
    pass_second_factor(&app, &browser, &totp)
        .await
        .assert_redirect("/authorize/resume");
    let back = callback(&browser.follow(browser.get("/authorize/resume").await).await);
    assert_eq!(back["state"], state);
    let (acr, amr) = acr_and_amr(&rp, &back["code"], &nonce, verifier).await;
    assert_eq!(acr, TWO);
    assert_eq!(amr, ["sms", "pwd", "otp", "mfa"]);

    // The session has it now: the next request asking for it goes straight through; one asking
    // for a passkey (which Asha has not) is answered with what the session has.
    for asked in [TWO, PHR] {
        let (url, _, nonce, verifier) = url_asking(&rp, &[asked], &[]);
        let back = callback(&browser.get_url(&url).await);
        assert_eq!(
            acr_and_amr(&rp, &back["code"], &nonce, verifier).await.0,
            TWO
        );
    }
}

#[tokio::test]
async fn an_apps_minimum_asks_a_remembered_browser_for_the_second_factor() {
    let app = TestApp::spawn().await;
    let rp = RelyingParty::register(&app, registration("Market", true)).await;
    set_min_acr(&app, &rp.id, "2fa");
    let browser = signed_in_asha(&app).await;
    let (totp, _) = add_authenticator(&app, &browser).await;
    browser.sign_out().await;

    // Signed in with the password and the app, remembering the browser.
    browser
        .sign_in("9812345678", "correct horse")
        .await
        .assert_redirect(SECOND_FACTOR);
    let step = browser.get(SECOND_FACTOR).await;
    let code = totp_code(&app, &totp, 0);
    browser
        .post(
            SECOND_FACTOR,
            &[
                ("csrf", &step.csrf()),
                ("kind", "totp"),
                ("code", &code),
                ("remember", "1"),
            ],
        )
        .await
        .assert_redirect("/account");
    app.advance(chrono::Duration::seconds(30));
    browser.sign_out().await;

    // The remembered browser skips the prompt at sign-in: one factor.
    browser
        .sign_in("9812345678", "correct horse")
        .await
        .assert_redirect("/account");
    // Market requires two: the step is asked, then Market gets its code.
    let (url, _, nonce, verifier) = url_asking(&rp, &[], &[]);
    browser.get_url(&url).await.assert_redirect(SECOND_FACTOR);
    pass_second_factor(&app, &browser, &totp)
        .await
        .assert_redirect("/authorize/resume");
    let back = callback(&browser.follow(browser.get("/authorize/resume").await).await);
    let (acr, amr) = acr_and_amr(&rp, &back["code"], &nonce, verifier).await;
    assert_eq!(acr, TWO);
    assert_eq!(amr, ["pwd", "otp", "mfa"]);
}

#[tokio::test]
async fn the_admin_console_needs_an_administrator_who_used_a_second_factor() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let id = super::helpers::sign_up(
        &app,
        &browser,
        "9812345601",
        "+919812345601",
        "admin password",
    )
    .await;
    make_admin(&app, &id).await;

    // No second factor: every console path is refused with a page that says how to add one.
    for path in ["/admin", "/admin/apps", "/admin/no-such-page"] {
        let page = browser.get(path).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
        assert!(
            page.has("Add a second factor to use the admin console"),
            "{}",
            page.body
        );
        assert!(page.has("href=\"/account/security\""));
    }
    let hindi = browser
        .client
        .get(format!("{}/admin", app.base))
        .header("accept-language", "hi")
        .send()
        .await
        .unwrap();
    assert_eq!(hindi.status(), StatusCode::FORBIDDEN);
    assert!(
        hindi
            .text()
            .await
            .unwrap()
            .contains("एडमिन कंसोल के लिए दूसरा फ़ैक्टर जोड़ें")
    );

    // With an authenticator app, the console asks for it once, then opens.
    let (totp, _) = add_authenticator(&app, &browser).await;
    browser.get("/admin").await.assert_redirect(SECOND_FACTOR);
    pass_second_factor(&app, &browser, &totp)
        .await
        .assert_redirect("/admin");
    assert_eq!(browser.get("/admin").await.status, StatusCode::OK);

    // The app's minimum sign-in, from the console: saved, shown, audited; a bad value is a 400.
    let rp = RelyingParty::register(&app, registration("Market", true)).await;
    let app_page = format!("/admin/apps/{}", rp.id);
    let action = format!("/admin/apps/{}/min-acr", rp.id);
    let saved = browser
        .submit(&app_page, &action, &[("min_acr", "phr")])
        .await;
    assert!(saved.status.is_redirection(), "{}", saved.body);
    let shown = browser.get(&app_page).await;
    assert!(
        shown.has(r#"<option value="phr" selected>"#),
        "{}",
        shown.body
    );
    for bad in ["3fa", "", "urn:oneid:acr:gold"] {
        let refused = browser
            .submit(&app_page, &action, &[("min_acr", bad)])
            .await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{bad}");
    }
    let refused = browser.post(&action, &[("min_acr", "2fa")]).await;
    assert!(refused.status.is_client_error(), "no CSRF token");
    let details: Vec<String> = every_event(&app)
        .await
        .into_iter()
        .filter(|e| e.kind == "admin_action" && e.client_id.as_deref() == Some(rp.id.as_str()))
        .filter_map(|e| e.detail)
        .collect();
    assert_eq!(
        details,
        [format!("client {} min_acr: any → phr", rp.id)],
        "one change, the bad ones stored nothing"
    );
}
