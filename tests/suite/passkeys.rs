//! Passkeys over real HTTP: the test plays the browser (cookies, CSRF token, the JSON the
//! passkey script sends) and webauthn-authenticator-rs's software passkey plays the
//! authenticator, so every registration and assertion is a real, signed WebAuthn object. The
//! app runs at `http://localhost:<port>`: WebAuthn needs a domain as RP ID.

use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use chrono::Duration;
use openidconnect::TokenResponse;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use url::Url;
use webauthn_authenticator_rs::{WebauthnAuthenticator, softpasskey::SoftPasskey};
use webauthn_rs::prelude::{
    CreationChallengeResponse, PublicKeyCredential, RequestChallengeResponse,
};

use super::helpers::{Browser, RelyingParty, TestApp, callback, registration, sign_up_asha};
use super::oidc::jwt_part;

const SCRIPT: &str = include_str!("../../static/passkeys.js");

async fn spawn() -> TestApp {
    TestApp::spawn_on_localhost_with(|_| {}).await
}

/// A JSON POST as the passkey script makes it; the status and the JSON answer.
async fn post_json(browser: &Browser, path: &str, body: &Value) -> (StatusCode, Value) {
    let response = browser
        .client
        .post(format!("{}{path}", browser.base))
        .json(body)
        .send()
        .await
        .expect("POST");
    let status = response.status();
    let json = response.json().await.unwrap_or(Value::Null);
    (status, json)
}

/// Adds a passkey named `name` from the console's passkeys page; returns the base64url
/// credential ID and user handle the authenticator now holds (a resident key would keep the
/// handle; the software passkey does not, so the test hands it back at sign-in).
async fn add_passkey(
    app: &TestApp,
    browser: &Browser,
    authenticator: &mut SoftPasskey,
    name: &str,
) -> (String, String) {
    let page = browser.get("/account/passkeys").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let csrf = script_csrf(&page);
    let (status, options) = post_json(
        browser,
        "/account/passkeys/add/start",
        &json!({ "csrf": csrf, "name": name }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{options}");
    let handle = options["publicKey"]["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        options["publicKey"]["authenticatorSelection"]["residentKey"],
        "required"
    );
    let mut options: CreationChallengeResponse = serde_json::from_value(options).unwrap();
    // The software passkey keeps no resident keys and refuses options requiring one; the
    // server's verification does not depend on it (a browser's platform authenticator makes
    // one: see the browser test).
    if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
        selection.resident_key = None;
        selection.require_resident_key = false;
    }
    let credential = authenticator
        .do_registration(origin(app), options)
        .expect("the software passkey registers");
    let (status, done) = post_json(
        browser,
        "/account/passkeys/add/finish",
        &json!({ "csrf": csrf, "credential": credential }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    // The first second factor leads to the recovery codes (see `first_passkey_...` below).
    assert!(
        done["redirect"] == "/account/passkeys?done=added"
            || done["redirect"] == "/account/security?done=passkey-first",
        "{done}"
    );
    (URL_SAFE_NO_PAD.encode(&credential.raw_id), handle)
}

/// The form token the passkey script reads (`data-csrf` of the passkey controls).
fn script_csrf(page: &super::helpers::Page) -> String {
    let marker = r#"data-csrf=""#;
    let start = page.body.find(marker).expect("passkey controls") + marker.len();
    page.body[start..start + page.body[start..].find('"').unwrap()].to_owned()
}

fn origin(app: &TestApp) -> Url {
    Url::parse(&app.base).unwrap()
}

/// The sign-in page's passkey ceremony: start (for `identifier`, or for anyone), the
/// authenticator's answer, finish. Returns the finish's status and answer.
async fn passkey_sign_in(
    app: &TestApp,
    browser: &Browser,
    authenticator: &mut SoftPasskey,
    identifier: Option<&str>,
    resident: Option<(&str, &str)>,
) -> (StatusCode, Value) {
    let csrf = browser.get("/login").await.csrf();
    let mut body = json!({ "csrf": csrf });
    if let Some(identifier) = identifier {
        body["identifier"] = json!(identifier);
    }
    let (status, options) = post_json(browser, "/login/passkey/start", &body).await;
    assert_eq!(status, StatusCode::OK, "{options}");
    let mut options: RequestChallengeResponse = serde_json::from_value(options).unwrap();
    if let Some((credential_id, _)) = resident {
        // What a discoverable credential would find by itself.
        options.public_key.allow_credentials = vec![webauthn_rs_proto::AllowCredentials {
            type_: "public-key".into(),
            id: URL_SAFE_NO_PAD.decode(credential_id).unwrap(),
            transports: None,
        }];
    }
    let mut credential: PublicKeyCredential = authenticator
        .do_authentication(origin(app), options)
        .expect("the software passkey signs");
    if let Some((_, handle)) = resident {
        credential.response.user_handle = Some(URL_SAFE_NO_PAD.decode(handle).unwrap());
    }
    post_json(
        browser,
        "/login/passkey/finish",
        &json!({ "csrf": csrf, "credential": credential }),
    )
    .await
}

fn expected_csp() -> String {
    let hash = STANDARD.encode(Sha256::digest(SCRIPT.as_bytes()));
    format!(
        "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; script-src 'sha256-{hash}'; connect-src 'self'"
    )
}

fn csp_of(page: &super::helpers::Page) -> String {
    page.headers
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_passkey_added_in_the_console_signs_in_to_an_app_without_typing_anything() {
    let app = spawn().await;
    let browser = app.browser();
    sign_up_asha(&app, &browser).await;
    let mut authenticator = SoftPasskey::new(true);
    let (credential_id, handle) =
        add_passkey(&app, &browser, &mut authenticator, "  My   phone ").await;
    let listed = browser.get("/account/passkeys?done=added").await;
    assert!(listed.has("My phone"), "the name, trimmed: {}", listed.body);
    assert!(listed.has("Passkey added"));
    browser.sign_out().await;

    // An app asks; the person signs in with the passkey, picking it on their device.
    let rp = RelyingParty::register(&app, registration("Cloud", true)).await;
    let (url, _, _, verifier) = rp.authorize_url(&[]);
    let first = browser.get_url(&url).await;
    assert!(first.status.is_redirection());
    let (status, done) = passkey_sign_in(
        &app,
        &browser,
        &mut authenticator,
        None,
        Some((&credential_id, &handle)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["redirect"], "/authorize/resume");
    let back = browser.follow(browser.get("/authorize/resume").await).await;
    let tokens = rp.redeem(&callback(&back)["code"], verifier).await;
    let id_token = tokens.id_token().expect("an ID token").to_string();
    let amr = jwt_part(&id_token, 1)["amr"].clone();
    let amr: Vec<&str> = amr
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for method in ["hwk", "user", "mfa"] {
        assert!(amr.contains(&method), "amr {amr:?} has {method}");
    }
    assert!(!amr.contains(&"pwd"));

    app.state.audit.flush().await;
    let page = browser.get("/account/activity").await;
    assert!(page.has("Signed in with a passkey"), "{}", page.body);
}

#[tokio::test]
async fn a_typed_identifier_offers_its_passkeys_and_signs_in() {
    let app = spawn().await;
    let browser = app.browser();
    let account_id = sign_up_asha(&app, &browser).await;
    let mut authenticator = SoftPasskey::new(true);
    add_passkey(&app, &browser, &mut authenticator, "Phone").await;
    browser.sign_out().await;

    for typed in ["98123 45678", account_id.as_str()] {
        let (status, done) =
            passkey_sign_in(&app, &browser, &mut authenticator, Some(typed), None).await;
        assert_eq!(status, StatusCode::OK, "{typed}: {done}");
        assert_eq!(done["redirect"], "/account");
        assert_eq!(
            browser.account_id().await.as_deref(),
            Some(account_id.as_str())
        );
        browser.sign_out().await;
    }
}

#[tokio::test]
async fn an_identifier_without_a_passkey_answers_in_the_same_shape() {
    let app = spawn().await;
    let browser = app.browser();
    sign_up_asha(&app, &browser).await;
    let mut authenticator = SoftPasskey::new(true);
    let (credential_id, handle) = add_passkey(&app, &browser, &mut authenticator, "Phone").await;
    browser.sign_out().await;
    let stranger = app.browser();
    let csrf = stranger.get("/login").await.csrf();

    let shape = |options: &Value| {
        let mut keys: Vec<String> = options["publicKey"]
            .as_object()
            .expect("options")
            .keys()
            .cloned()
            .collect();
        keys.sort();
        (keys, options.get("mediation").is_some())
    };
    let mut seen = Vec::new();
    for typed in [
        "98123 45678",
        "nobody@example.com",
        "91234 56789",
        "1234567890",
    ] {
        let (status, options) = post_json(
            &stranger,
            "/login/passkey/start",
            &json!({ "csrf": csrf, "identifier": typed }),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{typed}: {options}");
        for allowed in options["publicKey"]["allowCredentials"].as_array().unwrap() {
            let mut fields: Vec<&String> = allowed.as_object().unwrap().keys().collect();
            fields.sort();
            assert_eq!(fields, ["id", "type"], "{typed}");
        }
        seen.push(shape(&options));
        // The same decoys every time for one identifier.
        if typed == "nobody@example.com" {
            let (_, again) = post_json(
                &stranger,
                "/login/passkey/start",
                &json!({ "csrf": csrf, "identifier": typed }),
            )
            .await;
            assert_eq!(
                again["publicKey"]["allowCredentials"],
                options["publicKey"]["allowCredentials"]
            );
        }
    }
    assert!(seen.windows(2).all(|w| w[0] == w[1]), "{seen:?}");

    // An answer to a decoy ceremony reads like any refused passkey, even with a real one.
    let (status, refused) = passkey_sign_in(
        &app,
        &stranger,
        &mut authenticator,
        Some("nobody@example.com"),
        Some((&credential_id, &handle)),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused["error"], "not_accepted");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("not accepted")
    );
}

#[tokio::test]
async fn bad_input_is_refused_with_a_4xx_and_stores_nothing() {
    let app = spawn().await;
    let browser = app.browser();
    let csrf = browser.get("/login").await.csrf();
    let before = app.state.store.usage().await.unwrap();
    let url = format!("{}/login/passkey/start", app.base);

    // Not JSON, JSON of another shape, no CSRF token, the wrong one, too large.
    let not_json = browser
        .client
        .post(&url)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);
    let body: Value = not_json.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
    assert!(!body["message"].as_str().unwrap().is_empty());
    let (status, _) = post_json(
        &browser,
        "/login/passkey/start",
        &json!({ "identifier": "x" }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "no CSRF token");
    let (status, _) = post_json(
        &browser,
        "/login/passkey/start",
        &json!({ "csrf": "forged" }),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a wrong CSRF token");
    let (status, _) = post_json(
        &browser,
        "/login/passkey/finish",
        &json!({ "csrf": csrf, "credential": { "id": "x" } }),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a credential of the wrong shape"
    );
    let huge = json!({ "csrf": csrf, "identifier": "9".repeat(70_000) });
    let (status, _) = post_json(&browser, "/login/passkey/start", &huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let (status, body) = post_json(
        &browser,
        "/login/passkey/start",
        &json!({ "csrf": csrf, "identifier": "not an identifier" }),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let form = browser
        .post("/login/passkey/start", &[("csrf", csrf.as_str())])
        .await;
    assert_eq!(
        form.status,
        StatusCode::BAD_REQUEST,
        "a form post is not JSON"
    );

    // A finish without a ceremony: refused, nothing stored.
    let (status, body) = passkey_finish_without_start(&browser, &csrf).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"], "expired");

    let after = app.state.store.usage().await.unwrap();
    assert!(
        after.entries <= before.entries + 1,
        "at most the address's attempt counter: {before:?} -> {after:?}"
    );
}

/// A well-formed assertion (from a ceremony of another app) sent with no ceremony started.
async fn passkey_finish_without_start(browser: &Browser, csrf: &str) -> (StatusCode, Value) {
    let other = spawn().await;
    let helper = other.browser();
    let options = {
        let csrf = helper.get("/login").await.csrf();
        post_json(
            &helper,
            "/login/passkey/start",
            &json!({ "csrf": csrf, "identifier": "nobody@example.com" }),
        )
        .await
        .1
    };
    let mut options: RequestChallengeResponse = serde_json::from_value(options).unwrap();
    let mut authenticator = SoftPasskey::new(true);
    // Any credential the authenticator holds will do; it holds one after registering.
    let reg = {
        let browser = other.browser();
        sign_up_asha(&other, &browser).await;
        add_passkey(&other, &browser, &mut authenticator, "Phone").await
    };
    options.public_key.allow_credentials = vec![webauthn_rs_proto::AllowCredentials {
        type_: "public-key".into(),
        id: URL_SAFE_NO_PAD.decode(&reg.0).unwrap(),
        transports: None,
    }];
    let credential = authenticator
        .do_authentication(origin(&other), options)
        .unwrap();
    post_json(
        browser,
        "/login/passkey/finish",
        &json!({ "csrf": csrf, "credential": credential }),
    )
    .await
}

#[tokio::test]
async fn the_console_lists_renames_and_removes_after_a_recent_sign_in() {
    let app = spawn().await;
    let browser = app.browser();
    sign_up_asha(&app, &browser).await;
    let mut authenticator = SoftPasskey::new(true);
    let (credential_id, handle) = add_passkey(&app, &browser, &mut authenticator, "Phone").await;
    let page = browser.get("/account/passkeys").await;
    assert!(page.has("Phone") && page.has("Not used yet") && page.has("On this device only"));
    let id = page.field("id").expect("the passkey's id in its forms");

    let renamed = browser
        .post(
            "/account/passkeys/rename",
            &[("csrf", &page.csrf()), ("id", &id), ("name", "Work phone")],
        )
        .await;
    renamed.assert_redirect("/account/passkeys?done=renamed");
    let bad = browser
        .post(
            "/account/passkeys/rename",
            &[("csrf", &page.csrf()), ("id", &id), ("name", "   ")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let forged = browser
        .post(
            "/account/passkeys/remove",
            &[("csrf", "forged"), ("id", &id)],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(browser.get("/account/passkeys").await.has("Work phone"));

    // An hour later the sign-in is no longer recent: confirm first, for the page and the
    // ceremony alike.
    app.advance(Duration::hours(1));
    let stale = browser.get("/account/passkeys").await;
    stale.assert_redirect("/account/confirm?next=%2Faccount%2Fpasskeys");
    let (status, body) = post_json(
        &browser,
        "/account/passkeys/add/start",
        &json!({ "csrf": page.csrf(), "name": "Laptop" }),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"], "reauth");
    assert_eq!(
        body["redirect"],
        "/account/confirm?next=%2Faccount%2Fpasskeys"
    );
    let removed = browser
        .post(
            "/account/passkeys/remove",
            &[("csrf", &page.csrf()), ("id", &id)],
        )
        .await;
    removed.assert_redirect("/account/confirm?next=%2Faccount%2Fpasskeys");

    browser
        .submit(
            "/account/confirm",
            "/account/confirm",
            &[("password", "correct horse")],
        )
        .await
        .assert_redirect(SECOND_FACTOR);
    // The passkey is the account's second factor: confirming asks for it too.
    let (status, done) = passkey_second_factor(&app, &browser, &mut authenticator).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["redirect"], "/account");
    let csrf = browser.get("/account").await.csrf();
    let removed = browser
        .post("/account/passkeys/remove", &[("csrf", &csrf), ("id", &id)])
        .await;
    removed.assert_redirect("/account/passkeys?done=removed");
    assert!(
        browser
            .get("/account/passkeys")
            .await
            .has("You have no passkey yet")
    );

    // A removed passkey signs in no more.
    browser.sign_out().await;
    let (status, body) = passkey_sign_in(
        &app,
        &browser,
        &mut authenticator,
        None,
        Some((&credential_id, &handle)),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"], "not_accepted");
}

#[tokio::test]
async fn the_passkey_pages_allow_exactly_the_script_and_others_stay_script_free() {
    let app = spawn().await;
    let browser = app.browser();
    let login = browser.get("/login").await;
    assert_eq!(csp_of(&login), expected_csp());
    assert!(login.has("data-passkey-anyone") && login.has("hidden"));
    // The sign-up page may carry the bot check's script, never the passkey one.
    let signup = browser.get("/signup").await;
    let hash = STANDARD.encode(Sha256::digest(SCRIPT.as_bytes()));
    assert!(!csp_of(&signup).contains(&hash), "{}", csp_of(&signup));
    assert!(!csp_of(&signup).contains("connect-src"));
    sign_up_asha(&app, &browser).await;
    let console = browser.get("/account/passkeys").await;
    assert_eq!(csp_of(&console), expected_csp());
    assert_eq!(script_csrf(&console), browser.get("/account").await.csrf());
    for other in ["/account", "/account/password", "/account/sessions"] {
        let page = browser.get(other).await;
        assert!(!csp_of(&page).contains("script-src"), "{other}");
        assert!(!page.has("<script"), "{other}");
    }
    // The overview leads to Security, which leads to the passkeys.
    assert!(
        browser
            .get("/account")
            .await
            .has("href=\"/account/security\"")
    );
    let security = browser.get("/account/security").await;
    assert!(security.has("href=\"/account/passkeys\""));
    assert!(
        !csp_of(&security).contains("script-src"),
        "the security page is script-free"
    );
}

#[tokio::test]
async fn an_issuer_at_an_ip_address_offers_no_passkeys() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let login = browser.get("/login").await;
    assert!(!login.has("<script"));
    assert!(!csp_of(&login).contains("script-src"));
    let (status, body) = post_json(
        &browser,
        "/login/passkey/start",
        &json!({ "csrf": login.csrf() }),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"], "unavailable");
}

/// The second-factor step's passkey ceremony, as the passkey script runs it on that page: start,
/// the authenticator's answer for the account's passkeys, finish.
async fn passkey_second_factor(
    app: &TestApp,
    browser: &Browser,
    authenticator: &mut SoftPasskey,
) -> (StatusCode, Value) {
    let page = browser.get(SECOND_FACTOR).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.has("Use a passkey"), "{}", page.body);
    assert_eq!(
        csp_of(&page),
        expected_csp(),
        "the step's page runs the passkey script"
    );
    let csrf = script_csrf(&page);
    let (status, options) = post_json(
        browser,
        "/sign-in/second-factor/passkey/start",
        &json!({ "csrf": csrf }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{options}");
    let options: RequestChallengeResponse = serde_json::from_value(options).unwrap();
    let credential = authenticator
        .do_authentication(origin(app), options)
        .expect("the software passkey signs");
    post_json(
        browser,
        "/sign-in/second-factor/passkey/finish",
        &json!({ "csrf": csrf, "credential": credential }),
    )
    .await
}

/// The `acr` and `amr` of the ID token an app gets for `browser` asking `acr_values`, when the
/// sign-in answers the request as it is.
async fn acr_for(
    rp: &RelyingParty,
    browser: &Browser,
    acr_values: &[&str],
) -> (String, Vec<String>) {
    let (url, _, nonce, verifier) = super::step_up::url_asking(rp, acr_values, &[]);
    let back = browser.get_url(&url).await;
    super::step_up::acr_and_amr(rp, &callback(&back)["code"], &nonce, verifier).await
}

const SECOND_FACTOR: &str = "/sign-in/second-factor";

#[tokio::test]
async fn a_passkey_is_a_second_factor_and_the_only_step_up_to_phishing_resistant() {
    let app = spawn().await;
    let browser = app.browser();
    sign_up_asha(&app, &browser).await;
    let mut authenticator = SoftPasskey::new(true);
    add_passkey(&app, &browser, &mut authenticator, "Phone").await;

    // The first passkey is the first second factor: the security page offers the recovery
    // codes, shown once.
    let security = browser.get("/account/security?done=passkey-first").await;
    assert!(
        security.has("Passkey added. Now make your recovery codes"),
        "{}",
        security.body
    );
    assert!(security.has("Passkeys on your account: 1"));
    let codes = browser
        .submit("/account/security", "/account/security/recovery-codes", &[])
        .await;
    assert_eq!(codes.status, StatusCode::OK, "{}", codes.body);
    let codes = super::helpers::recovery_codes_on(&codes);
    assert_eq!(codes.len(), 10);
    app.wait_for_code("+919812345678", "method-added-notice", 0)
        .await;
    browser.sign_out().await;

    // A password sign-in now asks for the second factor; the passkey answers it.
    browser
        .sign_in("9812345678", "correct horse")
        .await
        .assert_redirect(SECOND_FACTOR);
    let (status, done) = passkey_second_factor(&app, &browser, &mut authenticator).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["redirect"], "/account");
    let rp = RelyingParty::register(&app, registration("Market", true)).await;
    let (acr, amr) = acr_for(&rp, &browser, &["urn:oneid:acr:phr"]).await;
    assert_eq!(acr, "urn:oneid:acr:phr");
    assert_eq!(amr, ["pwd", "hwk", "user", "mfa"]);

    // Another browser passes the step with a recovery code: two factors, not phishing-resistant.
    let other = app.browser();
    other
        .sign_in("9812345678", "correct horse")
        .await
        .assert_redirect(SECOND_FACTOR);
    let step = other.get(SECOND_FACTOR).await;
    assert!(
        step.has("name=\"kind\" value=\"recovery\""),
        "no app: the recovery form"
    );
    other
        .post(
            SECOND_FACTOR,
            &[
                ("csrf", &step.csrf()),
                ("kind", "recovery"),
                ("code", &codes[0]),
            ],
        )
        .await
        .assert_redirect("/account");
    let (acr, amr) = acr_for(&rp, &other, &[]).await;
    assert_eq!(acr, "urn:oneid:acr:2fa");
    assert_eq!(amr, ["pwd", "otp", "mfa"]);

    // Market asks for phr before a payment: the step offers the passkey only (a code form posted
    // anyway is refused), and the ID token says what was done.
    let (url, _, nonce, verifier) = super::step_up::url_asking(&rp, &["urn:oneid:acr:phr"], &[]);
    other.get_url(&url).await.assert_redirect(SECOND_FACTOR);
    let step = other.get(SECOND_FACTOR).await;
    assert!(
        !step.has("name=\"kind\""),
        "no code form for phr: {}",
        step.body
    );
    let refused = other
        .post(
            SECOND_FACTOR,
            &[
                ("csrf", &script_csrf(&step)),
                ("kind", "recovery"),
                ("code", &codes[1]),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    let (status, done) = passkey_second_factor(&app, &other, &mut authenticator).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["redirect"], "/authorize/resume");
    let back = other.follow(other.get("/authorize/resume").await).await;
    let (acr, amr) =
        super::step_up::acr_and_amr(&rp, &callback(&back)["code"], &nonce, verifier).await;
    assert_eq!(acr, "urn:oneid:acr:phr");
    assert_eq!(amr, ["pwd", "otp", "mfa", "hwk", "user"]);
}
