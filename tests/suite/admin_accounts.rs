//! The admin console's and API's accounts (issue 13 §2 "Accounts"): search by every kind
//! (phone in any format, email, account ID, name prefix, paginated), the account's page with
//! masked contacts and an audited reveal, and every action — lock, unlock, disable, enable,
//! sign out everywhere, revoke one app or all, require a new password, delete — from the
//! console and from the API, each audited with its actor; bad input changes nothing.

use oneid::{
    admin::users,
    db::models::audit::AuditRecord,
    domain::{AccountId, Actor, ContactIdentifier, DisplayName, Password, Region},
};
use openidconnect::OAuth2TokenResponse;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::helpers::{
    AdminApi, Browser, RelyingParty, TestApp, admin_api, admin_browser, registration, sign_up_asha,
    signed_in_tokens,
};

/// How long a browser may go on with a session that ended elsewhere.
const RECHECK: chrono::Duration = chrono::Duration::seconds(61);

/// An account made the way `oneid user add` makes one.
pub async fn add_account(app: &TestApp, contact: &str, name: &str) -> AccountId {
    let contact = ContactIdentifier::parse(contact, Region::default()).unwrap();
    users::add(
        &app.state.admin,
        &Actor::Operator,
        &app.state.account,
        contact,
        DisplayName::parse(name).unwrap(),
        Password::parse("a long password".into()).unwrap(),
    )
    .await
    .expect("adding an account")
    .id
}

/// Every audit event, newest first.
pub async fn events(app: &TestApp) -> Vec<AuditRecord> {
    oneid::admin::events::list(&app.state.admin, None, None, 500)
        .await
        .unwrap()
}

/// The admin_action event with `detail` for `account`, by `actor`.
pub async fn admin_event(app: &TestApp, account: &str, detail: &str, actor: &str) -> AuditRecord {
    let all = events(app).await;
    all.iter()
        .find(|e| {
            e.kind == "admin_action"
                && e.detail.as_deref() == Some(detail)
                && e.account_id.map(|a| a.to_string()).as_deref() == Some(account)
        })
        .cloned()
        .map(|e| {
            assert_eq!(e.actor.as_deref(), Some(actor), "{e:?}");
            e
        })
        .unwrap_or_else(|| panic!("no admin_action {detail:?} for {account} in {all:#?}"))
}

/// `s` for a query string.
pub fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn ids(json: &Value) -> Vec<String> {
    json["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{json}"))
        .iter()
        .map(|i| i["account_id"].to_string())
        .collect()
}

async fn status_of(api: &AdminApi, id: &str) -> String {
    let (status, json) = api.get(&format!("/accounts/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    json["account"]["status"].as_str().unwrap().to_owned()
}

async fn is_signed_in(browser: &Browser) -> bool {
    browser.get("/account").await.status == StatusCode::OK
}

#[tokio::test]
async fn the_api_finds_accounts_by_phone_in_any_format_email_id_and_name_prefix() {
    let app = TestApp::spawn().await;
    let (api, _) = admin_api(&app).await;
    let asha = sign_up_asha(&app, &app.browser()).await;
    let meera = add_account(&app, "Meera@Example.com", "Meera Iyer")
        .await
        .to_string();
    let anita = add_account(&app, "9811111111", "अनीता शर्मा")
        .await
        .to_string();

    for typed in [
        "98123 45678",
        "+91 98123-45678",
        "098123 45678",
        "919812345678",
        "9812345678",
    ] {
        let (status, json) = api.get(&format!("/accounts?q={}", enc(typed))).await;
        assert_eq!(status, StatusCode::OK, "{typed}: {json}");
        assert!(ids(&json).contains(&asha), "{typed}: {json}");
        assert!(
            json["understood_as"].as_str().unwrap().starts_with("phone"),
            "{typed}: {json}"
        );
        assert!(json["searched"].as_str().unwrap().contains("+919812345678"));
        // Contacts are masked in lists.
        assert!(!json["items"].to_string().contains("9812345678"), "{json}");
    }
    let (_, json) = api.get("/accounts?q=MEERA%40example.COM").await;
    assert_eq!(
        (json["understood_as"].as_str(), ids(&json)),
        (Some("email"), vec![meera.clone()])
    );
    assert_eq!(json["items"][0]["email"], "m***@example.com");
    let (_, json) = api.get(&format!("/accounts?q={meera}")).await;
    assert!(ids(&json).contains(&meera), "{json}");
    let (_, json) = api.get("/accounts?q=%20MEERA%20").await;
    assert_eq!(
        (json["understood_as"].as_str(), ids(&json)),
        (Some("name"), vec![meera.clone()])
    );
    let (_, json) = api.get(&format!("/accounts?q={}", enc("अनी"))).await;
    assert_eq!(ids(&json), vec![anita.clone()], "{json}");
    let (_, json) = api.get("/accounts?q=nobody%20by%20this%20name").await;
    assert_eq!(
        json,
        serde_json::json!({"understood_as": "name", "searched": "nobody by this name", "items": [], "next_cursor": null})
    );
}

#[tokio::test]
async fn a_name_search_pages_with_its_cursor_and_bad_queries_are_refused() {
    let app = TestApp::spawn().await;
    let (api, _) = admin_api(&app).await;
    let mut made = Vec::new();
    for i in 0..5 {
        let id = add_account(&app, &format!("ravi{i}@example.com"), &format!("Ravi {i}")).await;
        made.push(id.to_string());
    }
    add_account(&app, "rahul@example.com", "Rahul").await;
    let mut seen = Vec::new();
    let mut path = "/accounts?q=ravi&limit=2".to_owned();
    let mut pages = 0;
    loop {
        let (status, json) = api.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{json}");
        pages += 1;
        seen.extend(ids(&json));
        match json["next_cursor"].as_str() {
            Some(cursor) => path = format!("/accounts?q=ravi&limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, made, "by name, each once");

    let long = "a".repeat(10 * 1024);
    for bad in [
        format!("/accounts?q={long}"),
        "/accounts".to_owned(),
        "/accounts?q=".to_owned(),
        "/accounts?q=ravi&limit=0".to_owned(),
        "/accounts?q=ravi&limit=1000".to_owned(),
        "/accounts?q=ravi&limit=x".to_owned(),
        "/accounts?q=ravi&cursor=not!base64".to_owned(),
        "/accounts?q=ravi&cursor=bm9wZQ".to_owned(),
    ] {
        let (status, json) = api.get(&bad).await;
        assert_eq!(
            (status, json["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_request")),
            "{bad}: {json}"
        );
        assert!(json["message"].as_str().unwrap().len() > 5);
    }
}

#[tokio::test]
async fn the_api_shows_an_account_masked_and_reveals_it_with_an_audit_event() {
    let app = TestApp::spawn().await;
    let (api, client_id) = admin_api(&app).await;
    let asha = sign_up_asha(&app, &app.browser()).await;
    let (status, json) = api.get(&format!("/accounts/{asha}")).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(json["account"]["phone"], "+91 ******5678");
    assert_eq!(json["account"]["status"], "active");
    assert!(json["last_sign_in"].is_string(), "{json}");
    assert_eq!(json["sessions"].as_array().unwrap().len(), 1, "{json}");
    assert!(!json["events"].as_array().unwrap().is_empty());
    assert!(!json.to_string().contains("9812345678"));

    let (status, json) = api
        .call(Method::POST, &format!("/accounts/{asha}/reveal"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(json["phone"], "+919812345678");
    admin_event(
        &app,
        &asha,
        "reveal contacts",
        &format!("client:{client_id}"),
    )
    .await;

    for (path, expected) in [
        ("/accounts/123456789", StatusCode::NOT_FOUND),
        ("/accounts/12", StatusCode::BAD_REQUEST),
        ("/accounts/abc", StatusCode::BAD_REQUEST),
    ] {
        let (status, json) = api.get(path).await;
        assert_eq!(status, expected, "{path}: {json}");
        let (status, _) = api
            .call(Method::POST, &format!("{path}/reveal"), None)
            .await;
        assert_eq!(status, expected, "{path}/reveal");
    }
}

#[tokio::test]
async fn the_api_locks_disables_signs_out_and_deletes_and_each_is_audited() {
    let app = TestApp::spawn().await;
    let (api, client_id) = admin_api(&app).await;
    let by = format!("client:{client_id}");
    let asha_browser = app.browser();
    let asha = sign_up_asha(&app, &asha_browser).await;

    // Lock and unlock.
    let (status, json) = api
        .call(Method::POST, &format!("/accounts/{asha}/lock"), None)
        .await;
    assert_eq!((status, &json["count"]), (StatusCode::OK, &Value::from(1)));
    assert_eq!(status_of(&api, &asha).await, "locked");
    let refused = app.browser().sign_in("9812345678", "correct horse").await;
    assert!(refused.has("locked"), "{}", refused.body);
    admin_event(&app, &asha, "user lock: status: active → locked", &by).await;
    let (status, _) = api
        .call(Method::POST, &format!("/accounts/{asha}/unlock"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    admin_event(&app, &asha, "user unlock: status: locked → active", &by).await;

    // Disable: the browser is signed out, sign-in and unlocking by code are refused.
    let signed_in = app.browser();
    signed_in
        .sign_in("9812345678", "correct horse")
        .await
        .assert_redirect("/account");
    let (status, _) = api
        .call(Method::POST, &format!("/accounts/{asha}/disable"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(status_of(&api, &asha).await, "disabled");
    app.advance(RECHECK);
    assert!(!is_signed_in(&signed_in).await, "signed out on disable");
    let refused = app.browser().sign_in("9812345678", "correct horse").await;
    assert!(refused.has("disabled"), "{}", refused.body);
    let sent = app.messages_to("+919812345678").len();
    app.browser()
        .submit("/unlock", "/unlock", &[("identifier", "9812345678")])
        .await;
    app.advance(chrono::Duration::seconds(1));
    assert_eq!(
        app.messages_to("+919812345678").len(),
        sent,
        "no unlock code for a disabled account"
    );
    assert_eq!(status_of(&api, &asha).await, "disabled");
    admin_event(&app, &asha, "user disable: status: active → disabled", &by).await;
    let (status, _) = api
        .call(Method::POST, &format!("/accounts/{asha}/enable"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    admin_event(&app, &asha, "user enable: status: disabled → active", &by).await;
    let again = app.browser();
    again
        .sign_in("9812345678", "correct horse")
        .await
        .assert_redirect("/account");

    // Sign out everywhere.
    let (status, json) = api
        .call(Method::POST, &format!("/accounts/{asha}/sign-out"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert!(json["count"].as_u64().unwrap() >= 1, "{json}");
    app.advance(RECHECK);
    assert!(!is_signed_in(&again).await);
    admin_event(&app, &asha, "user sign-out", &by).await;

    // Unknown, malformed: nothing happens.
    for action in [
        "lock",
        "unlock",
        "disable",
        "enable",
        "sign-out",
        "require-password-reset",
    ] {
        let (status, json) = api
            .call(Method::POST, &format!("/accounts/123456789/{action}"), None)
            .await;
        assert_eq!(
            (status, json["error"].as_str()),
            (StatusCode::NOT_FOUND, Some("not_found")),
            "{action}"
        );
        let (status, _) = api
            .call(Method::POST, &format!("/accounts/x1/{action}"), None)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{action}");
    }
    assert_eq!(status_of(&api, &asha).await, "active");

    // Delete: gone, and stays deleted.
    let (status, _) = api
        .call(Method::DELETE, &format!("/accounts/{asha}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(status_of(&api, &asha).await, "deleted");
    admin_event(&app, &asha, "user delete", &by).await;
    let (status, json) = api
        .call(Method::POST, &format!("/accounts/{asha}/unlock"), None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{json}");
    let (_, json) = api.get("/accounts?q=asha").await;
    assert_eq!(
        ids(&json),
        Vec::<String>::new(),
        "a deleted name is not listed"
    );
    let (status, _) = api.call(Method::DELETE, "/accounts/123456789", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn require_password_reset_refuses_the_password_until_a_new_one_is_chosen() {
    let app = TestApp::spawn().await;
    let (api, client_id) = admin_api(&app).await;
    let browser = app.browser();
    let asha = sign_up_asha(&app, &browser).await;
    let (status, _) = api
        .call(
            Method::POST,
            &format!("/accounts/{asha}/require-password-reset"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    admin_event(
        &app,
        &asha,
        "user require password reset: must_reset_password: false → true",
        &format!("client:{client_id}"),
    )
    .await;
    app.advance(RECHECK);
    assert!(!is_signed_in(&browser).await, "sessions end");
    let refused = app.browser().sign_in("9812345678", "correct horse").await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.has("choose a new password"), "{}", refused.body);
    assert!(refused.has(r#"href="/reset""#), "{}", refused.body);

    let resetting = app.browser();
    resetting
        .submit("/reset", "/reset", &[("identifier", "9812345678")])
        .await
        .assert_redirect("/recover/verify");
    let page = resetting.get("/recover/verify").await;
    let code = app.wait_for_code("+919812345678", "reset", 0).await;
    resetting
        .enter_recovery_code(&page, &code, "a brand new password")
        .await;
    let (_, json) = api.get(&format!("/accounts/{asha}")).await;
    assert_eq!(json["account"]["must_reset_password"], false, "{json}");
    app.browser()
        .sign_in("9812345678", "a brand new password")
        .await
        .assert_redirect("/account");
}

#[tokio::test]
async fn the_api_revokes_one_app_or_every_app_and_their_refresh_tokens_fail() {
    let app = TestApp::spawn().await;
    let (api, client_id) = admin_api(&app).await;
    let browser = app.browser();
    let cloud = RelyingParty::register(&app, registration("Cloud", true)).await;
    let forum = RelyingParty::register(&app, registration("Forum", true)).await;
    let tokens = signed_in_tokens(&app, &cloud, &browser, &["profile", "offline_access"]).await;
    let forum_tokens =
        signed_in_tokens(&app, &forum, &browser, &["profile", "offline_access"]).await;
    let asha = browser.account_id().await.unwrap();
    let (_, json) = api.get(&format!("/accounts/{asha}")).await;
    assert_eq!(json["apps"].as_array().unwrap().len(), 2, "{json}");

    // Unknown app, malformed ids: nothing changes.
    for (path, expected) in [
        (
            format!("/accounts/{asha}/apps/no-such-app"),
            StatusCode::NOT_FOUND,
        ),
        (
            "/accounts/123456789/apps/x".to_owned(),
            StatusCode::NOT_FOUND,
        ),
        ("/accounts/1/apps/x".to_owned(), StatusCode::BAD_REQUEST),
    ] {
        let (status, json) = api.call(Method::DELETE, &path, None).await;
        assert_eq!(status, expected, "{path}: {json}");
    }
    let (status, json) = api
        .call(
            Method::DELETE,
            &format!("/accounts/{asha}/apps/{}", cloud.id),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{json}");
    assert!(
        cloud
            .refresh(tokens.refresh_token().unwrap())
            .await
            .is_err()
    );
    let event = admin_event(
        &app,
        &asha,
        "user revoke app",
        &format!("client:{client_id}"),
    )
    .await;
    assert_eq!(event.client_id.as_deref(), Some(cloud.id.as_str()));
    assert!(
        forum
            .refresh(forum_tokens.refresh_token().unwrap())
            .await
            .is_ok(),
        "the other app goes on"
    );

    let (status, json) = api
        .call(Method::DELETE, &format!("/accounts/{asha}/apps"), None)
        .await;
    assert_eq!(
        (status, &json["count"]),
        (StatusCode::OK, &Value::from(1)),
        "{json}"
    );
    let (_, json) = api.get(&format!("/accounts/{asha}")).await;
    assert_eq!(json["apps"], serde_json::json!([]), "{json}");
}

/// The admin's browser posts `form` to `path` with the CSRF token of the page at `from`.
async fn post_with_csrf(
    admin: &Browser,
    from: &str,
    path: &str,
    form: &[(&str, &str)],
) -> super::helpers::Page {
    let csrf = admin.get(from).await.csrf();
    let mut fields = vec![("csrf", csrf.as_str())];
    fields.extend_from_slice(form);
    admin.post(path, &fields).await
}

#[tokio::test]
async fn the_console_searches_says_what_it_understood_and_refuses_bad_input() {
    let app = TestApp::spawn().await;
    let (admin, _) = admin_browser(&app, "9876500001").await;
    let asha = sign_up_asha(&app, &app.browser()).await;
    add_account(&app, "9811111111", "अनीता शर्मा").await;

    let page = admin
        .get(&format!("/admin/accounts?q={}", enc("+91 98123-45678")))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.has("Searched for the phone number +919812345678"),
        "{}",
        page.body
    );
    assert!(page.has(&format!("/admin/accounts/{asha}")));
    assert!(page.has("+91 ******5678") && !page.has(">+919812345678<"));
    let page = admin
        .get(&format!("/admin/accounts?q={}", enc("अनी")))
        .await;
    assert!(page.has("अनीता शर्मा"), "{}", page.body);
    let page = admin.get("/admin/accounts?q=zzz").await;
    assert!(page.has("No account matches."), "{}", page.body);

    for (bad, expected) in [
        (
            format!("/admin/accounts?q={}", "a".repeat(10 * 1024)),
            "too long",
        ),
        (
            "/admin/accounts?q=ravi&cursor=bm9wZQ".to_owned(),
            "not valid",
        ),
        ("/admin/accounts/12".to_owned(), "9 or 10 digits"),
        ("/admin/accounts/abcdefghi".to_owned(), "9 or 10 digits"),
    ] {
        let page = admin.get(&bad).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(page.has(expected), "{bad}: {}", page.body);
    }
    let page = admin.get("/admin/accounts/123456789").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.has("There is no account with that ID."));
}

#[tokio::test]
async fn the_console_reveals_contacts_on_a_post_and_audits_it() {
    let app = TestApp::spawn().await;
    let (admin, admin_id) = admin_browser(&app, "9876500001").await;
    let asha = sign_up_asha(&app, &app.browser()).await;
    let path = format!("/admin/accounts/{asha}");
    let page = admin.get(&path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.has("+91 ******5678") && !page.has("+919812345678"));
    assert!(page.has("Asha Devi") && page.has("Active"));

    // A forged form reveals nothing and records nothing.
    for csrf in ["", "forged"] {
        let refused = admin
            .post(&format!("{path}/reveal"), &[("csrf", csrf)])
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert!(!refused.has("+919812345678"));
    }
    assert!(
        !events(&app)
            .await
            .iter()
            .any(|e| e.detail.as_deref() == Some("reveal contacts"))
    );
    let shown = post_with_csrf(&admin, &path, &format!("{path}/reveal"), &[]).await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.body);
    assert!(shown.has("+919812345678"), "{}", shown.body);
    admin_event(
        &app,
        &asha,
        "reveal contacts",
        &format!("account:{admin_id}"),
    )
    .await;
}

#[tokio::test]
async fn every_console_action_works_is_audited_and_refuses_forged_forms() {
    let app = TestApp::spawn().await;
    let (admin, admin_id) = admin_browser(&app, "9876500001").await;
    let by = format!("account:{admin_id}");
    let asha_browser = app.browser();
    let cloud = RelyingParty::register(&app, registration("Cloud", true)).await;
    // Asha signs up on the way into Cloud.
    signed_in_tokens(&app, &cloud, &asha_browser, &["profile"]).await;
    let asha = asha_browser.account_id().await.unwrap();
    let path = format!("/admin/accounts/{asha}");
    let action = format!("{path}/action");

    // Forged forms: 403, nothing changes.
    for csrf in ["", "forged"] {
        for (to, form) in [
            (action.clone(), vec![("action", "lock")]),
            (
                format!("{path}/revoke"),
                vec![("client_id", cloud.id.as_str())],
            ),
            (format!("{path}/end-session"), vec![("sid", "x")]),
            (format!("{path}/delete"), vec![]),
        ] {
            let mut fields = vec![("csrf", csrf)];
            fields.extend(form);
            let refused = admin.post(&to, &fields).await;
            assert_eq!(refused.status, StatusCode::FORBIDDEN, "{to}");
        }
    }
    assert!(admin.get(&path).await.has("Active"));
    assert!(is_signed_in(&asha_browser).await);

    // Bad input: an unknown action, an unknown app, an unknown account.
    let bad = post_with_csrf(&admin, &path, &action, &[("action", "explode")]).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.has("not one this page offers"));
    let bad = post_with_csrf(
        &admin,
        &path,
        &format!("{path}/revoke"),
        &[("client_id", "nope")],
    )
    .await;
    assert_eq!(bad.status, StatusCode::NOT_FOUND);
    let long = "x".repeat(10 * 1024);
    let bad = post_with_csrf(
        &admin,
        &path,
        &format!("{path}/revoke"),
        &[("client_id", &long)],
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let bad = post_with_csrf(
        &admin,
        &path,
        &format!("{path}/end-session"),
        &[("sid", &long)],
    )
    .await;
    assert_eq!(bad.status, StatusCode::NOT_FOUND);
    let bad = post_with_csrf(&admin, &path, &action, &[("action", &long)]).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let bad = post_with_csrf(
        &admin,
        &path,
        "/admin/accounts/123456789/action",
        &[("action", "lock")],
    )
    .await;
    assert_eq!(bad.status, StatusCode::NOT_FOUND);

    // Lock, unlock, disable, enable.
    for (value, done, detail) in [
        (
            "lock",
            "admin-done-locked",
            "user lock: status: active → locked",
        ),
        (
            "unlock",
            "admin-done-unlocked",
            "user unlock: status: locked → active",
        ),
        (
            "disable",
            "admin-done-disabled",
            "user disable: status: active → disabled",
        ),
        (
            "enable",
            "admin-done-enabled",
            "user enable: status: disabled → active",
        ),
    ] {
        post_with_csrf(&admin, &path, &action, &[("action", value)])
            .await
            .assert_redirect(&format!("{path}?done={done}"));
        admin_event(&app, &asha, detail, &by).await;
    }
    let page = admin.get(&format!("{path}?done=admin-done-enabled")).await;
    assert!(page.has("The account is enabled."), "{}", page.body);

    // Locking signed Asha out: she signs in again, and Cloud gets new tokens.
    app.advance(RECHECK);
    let asha_browser = app.browser();
    asha_browser
        .sign_in("9812345678", "correct horse")
        .await
        .assert_redirect("/account");
    let tokens =
        signed_in_tokens(&app, &cloud, &asha_browser, &["profile", "offline_access"]).await;
    assert!(cloud.refresh(tokens.refresh_token().unwrap()).await.is_ok());

    // Revoke one app: its refresh token fails.
    post_with_csrf(
        &admin,
        &path,
        &format!("{path}/revoke"),
        &[("client_id", &cloud.id)],
    )
    .await
    .assert_redirect(&format!("{path}?done=admin-done-app-revoked"));
    assert!(
        cloud
            .refresh(tokens.refresh_token().unwrap())
            .await
            .is_err()
    );
    admin_event(&app, &asha, "user revoke app", &by).await;

    // Revoke every app, sign out everywhere, require a new password.
    let tokens =
        signed_in_tokens(&app, &cloud, &asha_browser, &["profile", "offline_access"]).await;
    post_with_csrf(&admin, &path, &action, &[("action", "revoke-all")])
        .await
        .assert_redirect(&format!("{path}?done=admin-done-apps-revoked"));
    assert!(
        cloud
            .refresh(tokens.refresh_token().unwrap())
            .await
            .is_err()
    );
    post_with_csrf(&admin, &path, &action, &[("action", "sign-out")])
        .await
        .assert_redirect(&format!("{path}?done=admin-done-signed-out"));
    app.advance(RECHECK);
    assert!(!is_signed_in(&asha_browser).await, "signed out everywhere");
    admin_event(&app, &asha, "user sign-out", &by).await;
    post_with_csrf(
        &admin,
        &path,
        &action,
        &[("action", "require-password-reset")],
    )
    .await
    .assert_redirect(&format!("{path}?done=admin-done-reset-required"));
    let refused = app.browser().sign_in("9812345678", "correct horse").await;
    assert!(refused.has("choose a new password"), "{}", refused.body);

    // Delete, through a confirmation page naming the account.
    let confirm = admin.get(&format!("{path}/delete")).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(
        confirm.has(&format!("Delete the account Asha ({asha})?")),
        "{}",
        confirm.body
    );
    post_with_csrf(
        &admin,
        &format!("{path}/delete"),
        &format!("{path}/delete"),
        &[],
    )
    .await
    .assert_redirect("/admin/accounts?done=admin-done-deleted");
    assert!(admin.get(&path).await.has("Deleted"));
    admin_event(&app, &asha, "user delete", &by).await;
    let again = post_with_csrf(&admin, "/admin/sessions", &action, &[("action", "unlock")]).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn the_console_grants_and_revokes_the_admin_role_but_keeps_the_last_administrator() {
    let app = TestApp::spawn().await;
    let (admin, admin_id) = admin_browser(&app, "9876500001").await;
    let asha = sign_up_asha(&app, &app.browser()).await;
    let path = format!("/admin/accounts/{asha}");
    let action = format!("{path}/action");
    let refused = admin
        .post(&action, &[("csrf", "forged"), ("action", "grant-admin")])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    post_with_csrf(&admin, &path, &action, &[("action", "grant-admin")])
        .await
        .assert_redirect(&format!("{path}?done=admin-done-admin-granted"));
    assert!(admin.get(&path).await.has("Administrator"));
    post_with_csrf(&admin, &path, &action, &[("action", "revoke-admin")])
        .await
        .assert_redirect(&format!("{path}?done=admin-done-admin-revoked"));
    // The last administrator stays one.
    let mine = format!("/admin/accounts/{admin_id}");
    let last = post_with_csrf(
        &admin,
        &mine,
        &format!("{mine}/action"),
        &[("action", "revoke-admin")],
    )
    .await;
    assert_eq!(last.status, StatusCode::CONFLICT);
    assert!(last.has("last administrator"), "{}", last.body);
    assert!(admin.get(&mine).await.has("Administrator"));
}

#[tokio::test]
async fn a_required_reset_also_refuses_the_password_when_confirming_in_the_account_console() {
    let app = TestApp::spawn().await;
    let (api, _) = admin_api(&app).await;
    let asha = sign_up_asha(&app, &app.browser()).await;
    let (status, _) = api
        .call(
            Method::POST,
            &format!("/accounts/{asha}/require-password-reset"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // Asha signs in with a code (no password), and later confirms with her old password.
    app.advance(RECHECK);
    let browser = app.browser();
    browser
        .submit(
            "/login/code",
            "/login/code",
            &[("identifier", "9812345678")],
        )
        .await
        .assert_redirect("/recover/verify");
    let page = browser.get("/recover/verify").await;
    let code = app.wait_for_code("+919812345678", "login", 0).await;
    browser
        .enter_recovery_code(&page, &code, "")
        .await
        .assert_redirect("/account");
    app.advance(chrono::Duration::minutes(11));
    let csrf = browser.get("/account/confirm").await.csrf();
    let refused = browser
        .post(
            "/account/confirm",
            &[
                ("csrf", csrf.as_str()),
                ("next", "/account/password"),
                ("password", "correct horse"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.has("choose a new password"), "{}", refused.body);
}
