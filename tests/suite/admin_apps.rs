//! Apps (clients) and admin consent, as an administrator manages them through the admin API
//! and the console: register, edit (audited before → after), rotate, disable (enforced at
//! /token, /userinfo, /introspect and /authorize), admin consent, revoke everyone's consent,
//! remove; bad input refused with nothing changed.

use openidconnect::OAuth2TokenResponse;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{
    audit::every_event,
    helpers::{
        AdminApi, Browser, Page, RelyingParty, TestApp, admin_api, admin_browser, callback,
        introspection_active, registration, sign_up,
    },
};

/// The admin actions about `client_id`, oldest first: (actor, detail).
async fn admin_actions(app: &TestApp, client_id: &str) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = every_event(app)
        .await
        .into_iter()
        .filter(|e| e.kind == "admin_action" && e.client_id.as_deref() == Some(client_id))
        .map(|e| (e.actor.unwrap_or_default(), e.detail.unwrap_or_default()))
        .collect();
    found.reverse();
    found
}

/// A client_credentials request with `secret`: the status and the `error`.
async fn client_credentials(app: &TestApp, id: &str, secret: &str) -> (u16, Option<String>) {
    let reply = reqwest::Client::new()
        .post(format!("{}/token", app.base))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "openid")])
        .send()
        .await
        .unwrap();
    let status = reply.status().as_u16();
    let json: Value = reply.json().await.unwrap();
    (status, json["error"].as_str().map(str::to_owned))
}

/// A person (new account with `phone`) signs in to `rp` for `scopes`, allowing it on the consent
/// page if asked; returns their browser, whether they were asked, and the tokens.
async fn person_signs_in(
    app: &TestApp,
    rp: &RelyingParty,
    phone: &str,
    scopes: &[&str],
) -> (Browser, bool, openidconnect::core::CoreTokenResponse) {
    let browser = app.browser();
    sign_up(
        app,
        &browser,
        phone,
        &format!("+91{phone}"),
        "correct horse",
    )
    .await;
    let (asked, tokens) = signs_in_again(rp, &browser, scopes).await;
    (browser, asked, tokens)
}

/// A signed-in browser authorizes `rp` again; allows on the consent page if it is shown.
async fn signs_in_again(
    rp: &RelyingParty,
    browser: &Browser,
    scopes: &[&str],
) -> (bool, openidconnect::core::CoreTokenResponse) {
    let (url, _, _, verifier) = rp.authorize_url(scopes);
    let page = browser.get_url(&url).await;
    let asked = page.location.as_deref() == Some("/consent");
    let page = if asked {
        let consent = browser.follow(page).await;
        browser
            .post(
                "/consent",
                &[("csrf", &consent.csrf()), ("decision", "allow")],
            )
            .await
    } else {
        page
    };
    (asked, rp.redeem(&callback(&page)["code"], verifier).await)
}

async fn created(api: &AdminApi, body: Value) -> (String, Option<String>) {
    let (status, json) = api.post("/clients", body).await;
    assert_eq!(status, StatusCode::CREATED, "{json}");
    (
        json["client"]["client_id"].as_str().unwrap().to_owned(),
        json["client_secret"].as_str().map(str::to_owned),
    )
}

fn talk() -> Value {
    json!({
        "name": "Talk",
        "redirect_uris": ["https://talk.example.com/cb"],
        "scopes": "openid profile",
        "client_credentials": true,
    })
}

#[tokio::test]
async fn the_api_registers_edits_rotates_and_removes_an_app_each_audited_once() {
    let app = TestApp::spawn().await;
    let (api, api_id) = admin_api(&app).await;
    let by = format!("client:{api_id}");

    let (id, secret) = created(&api, talk()).await;
    let secret = secret.expect("a secret, this once");
    assert_eq!(client_credentials(&app, &id, &secret).await.0, 200);
    let (status, shown) = api.get(&format!("/clients/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    assert_eq!(shown["name"], "Talk");
    assert!(
        !shown.to_string().contains(&secret),
        "never shown again: {shown}"
    );

    let (status, edited) = api
        .call(
            Method::PATCH,
            &format!("/clients/{id}"),
            Some(json!({
                "name": "Talk Web",
                "redirect_uris": ["https://talk.example.com/cb", "https://talk.example.com/cb2"],
                "id_token_alg": "ES256",
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["name"], "Talk Web");
    assert_eq!(edited["id_token_signed_response_alg"], "ES256");
    // The same edit again changes nothing and is not audited.
    let (status, _) = api
        .call(
            Method::PATCH,
            &format!("/clients/{id}"),
            Some(json!({"name": "Talk Web"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, rotated) = api.post(&format!("/clients/{id}/secret"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new_secret = rotated["client_secret"].as_str().unwrap();
    assert_eq!(
        client_credentials(&app, &id, &secret).await,
        (401, Some("invalid_client".into())),
        "the old secret is refused at once"
    );
    assert_eq!(client_credentials(&app, &id, new_secret).await.0, 200);

    let (status, _) = api
        .call(Method::DELETE, &format!("/clients/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, json) = api.get(&format!("/clients/{id}")).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    assert_eq!(client_credentials(&app, &id, new_secret).await.0, 401);

    let actions = admin_actions(&app, &id).await;
    assert!(actions.iter().all(|(actor, _)| *actor == by), "{actions:?}");
    let details: Vec<&str> = actions.iter().map(|(_, d)| d.as_str()).collect();
    assert_eq!(
        details,
        [
            format!("client add {id}"),
            format!(
                "client update {id}: name \"Talk\" → \"Talk Web\"; redirect_uris \
                 [https://talk.example.com/cb] → [https://talk.example.com/cb, \
                 https://talk.example.com/cb2]; id_token_alg RS256 → ES256"
            ),
            format!("client rotate-secret {id}"),
            format!("client remove {id}: \"Talk Web\" → none"),
        ],
    );
    assert!(
        !details
            .iter()
            .any(|d| d.contains(&secret) || d.contains(new_secret)),
        "no secret in the log"
    );
}

#[tokio::test]
async fn bad_input_is_refused_with_a_clear_message_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let (api, api_id) = admin_api(&app).await;
    let (id, _) = created(&api, talk()).await;
    let path = format!("/clients/{id}");
    let (_, before) = api.get(&path).await;

    let long_name = "x".repeat(10 * 1024);
    let refused_edits = [
        (json!({"redirect_uris": ["not a url"]}), "redirect URI"),
        (
            json!({"redirect_uris": ["http://talk.example.com/cb"]}),
            "https",
        ),
        (json!({"scopes": "openid telepathy"}), "telepathy"),
        (json!({"name": long_name}), "name"),
        (json!({"name": 42}), "invalid type"),
        (
            json!({"redirect_uris": "https://talk.example.com/x"}),
            "invalid type",
        ),
        (json!({"client_credentials": "yes"}), "invalid type"),
        (json!({"colour": "blue"}), "unknown field"),
        (json!({"id_token_alg": "none"}), "RS256"),
        (json!({"logo_url": "javascript:alert(1)"}), "logo URL"),
    ];
    for (body, says) in refused_edits {
        let (status, json) = api.call(Method::PATCH, &path, Some(body.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {json}");
        assert_eq!(json["error"], "invalid_request", "{body}");
        assert!(
            json["message"].as_str().unwrap().contains(says),
            "{body}: {json}"
        );
    }
    let (_, after) = api.get(&path).await;
    assert_eq!(before, after, "nothing changed");

    let (status, json) = api
        .post(
            "/clients",
            json!({"name": "Talk", "redirect_uris": ["ftp://x"]}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{json}");
    let (status, json) = api
        .post(
            "/clients",
            json!({"name": "Talk", "redirect_uris": [], "extra": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{json}");

    for unknown in [
        "/clients/no-such-client",
        "/clients/abc%2F..%2F",
        "/clients/c_0000",
    ] {
        for (method, tail) in [
            (Method::GET, ""),
            (Method::DELETE, ""),
            (Method::POST, "/disable"),
            (Method::POST, "/secret"),
            (Method::PUT, "/first-party"),
            (Method::GET, "/consents"),
            (Method::DELETE, "/consents"),
        ] {
            let (status, json) = api
                .call(method.clone(), &format!("{unknown}{tail}"), None)
                .await;
            assert_eq!(
                status,
                StatusCode::NOT_FOUND,
                "{method} {unknown}{tail}: {json}"
            );
        }
    }
    // The caller may not lock itself out.
    for (method, tail) in [(Method::POST, "/disable"), (Method::DELETE, "")] {
        let (status, json) = api
            .call(method, &format!("/clients/{api_id}{tail}"), None)
            .await;
        assert_eq!(
            (status, json["error"].as_str()),
            (StatusCode::CONFLICT, Some("conflict"))
        );
    }
    let (status, json) = api.get("/clients?limit=0").await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
    let (status, _) = api.get(&format!("/clients?q={}", "a".repeat(101))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = api.get("/clients?cursor=%%%").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Only the add was audited.
    assert_eq!(admin_actions(&app, &id).await.len(), 1);
    let (_, list) = api.get("/clients").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2, "{list}");
}

#[tokio::test]
async fn the_list_pages_by_a_cursor_and_searches_by_name_prefix_or_client_id() {
    let app = TestApp::spawn().await;
    let (api, _) = admin_api(&app).await;
    let mut ids = Vec::new();
    for name in ["Talk", "Tally", "Cloud"] {
        let (id, _) = created(
            &api,
            json!({"name": name, "redirect_uris": ["https://app.example.com/cb"]}),
        )
        .await;
        ids.push(id);
    }
    let (_, first) = api.get("/clients?limit=2").await;
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().expect("another page");
    let (_, second) = api.get(&format!("/clients?limit=2&cursor={cursor}")).await;
    assert_eq!(
        second["items"].as_array().unwrap().len(),
        2,
        "4 with the admin script"
    );
    assert!(second["next_cursor"].is_null());

    let names = |page: &Value| -> Vec<String> {
        let mut names: Vec<String> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    };
    let (_, found) = api.get("/clients?q=Tal").await;
    assert_eq!(names(&found), ["Talk", "Tally"]);
    let (_, found) = api.get(&format!("/clients?q={}", ids[2])).await;
    assert_eq!(names(&found), ["Cloud"]);
    let (_, found) = api.get("/clients?q=Zed").await;
    assert!(names(&found).is_empty());
}

#[tokio::test]
async fn a_disabled_app_gets_no_tokens_its_tokens_read_nothing_and_people_see_a_page() {
    let app = TestApp::spawn().await;
    let (api, _) = admin_api(&app).await;
    let rp = RelyingParty::register(
        &app,
        oneid::oauth::registry::Registration {
            client_credentials: true,
            ..registration("Cloud", true)
        },
    )
    .await;
    let secret = rp.secret.clone().unwrap();
    let (browser, _, tokens) =
        person_signs_in(&app, &rp, "9876500001", &["profile", "offline_access"]).await;
    let access = tokens.access_token().clone();
    let refresh = tokens.refresh_token().expect("offline access").clone();

    let (status, json) = api
        .post(&format!("/clients/{}/disable", rp.id), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(json["disabled"], true);

    // RFC 6749 §5.2: authenticated, but not authorized any more: unauthorized_client.
    assert_eq!(
        client_credentials(&app, &rp.id, &secret).await,
        (400, Some("unauthorized_client".into()))
    );
    // A wrong secret still learns only that authentication failed.
    assert_eq!(client_credentials(&app, &rp.id, "wrong").await.0, 401);
    let refused = rp.refresh(&refresh).await.unwrap_err();
    assert!(refused.contains("unauthorized_client"), "{refused}");
    assert!(
        rp.userinfo(&access).await.is_err(),
        "UserInfo refuses its token"
    );
    assert!(!introspection_active(&app.base, &rp.id, rp.secret.as_deref(), access.secret()).await);
    let (url, ..) = rp.authorize_url(&["profile"]);
    let page = browser.get_url(&url).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{:?}", page.location);
    assert!(page.has("turned off") && page.has("Cloud"), "{}", page.body);
    let hindi = app.browser_with_language(Some("hi")).get_url(&url).await;
    assert!(hindi.has("बंद"), "{}", hindi.body);

    let (status, json) = api
        .post(&format!("/clients/{}/enable", rp.id), json!({}))
        .await;
    assert_eq!((status, &json["disabled"]), (StatusCode::OK, &json!(false)));
    assert_eq!(client_credentials(&app, &rp.id, &secret).await.0, 200);
    assert!(rp.userinfo(&access).await.is_ok());
    assert!(introspection_active(&app.base, &rp.id, rp.secret.as_deref(), access.secret()).await);
    assert!(
        rp.refresh(&refresh).await.is_ok(),
        "the refresh token lived on"
    );
    let (asked, _) = signs_in_again(&rp, &browser, &["profile"]).await;
    assert!(!asked);

    let details: Vec<String> = admin_actions(&app, &rp.id)
        .await
        .into_iter()
        .map(|(_, d)| d)
        .collect();
    assert_eq!(
        details,
        [
            format!("client {} status: enabled → disabled", rp.id),
            format!("client {} status: disabled → enabled", rp.id),
        ]
    );
}

#[tokio::test]
async fn admin_consent_removes_the_consent_screen_and_taking_it_back_restores_it() {
    let app = TestApp::spawn().await;
    let (api, api_id) = admin_api(&app).await;
    let rp = RelyingParty::register(&app, registration("Forum", false)).await;

    let (status, json) = api
        .call(
            Method::PUT,
            &format!("/clients/{}/first-party", rp.id),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(json["first_party"], true);
    assert_eq!(json["first_party_by"], format!("client:{api_id}"));
    let (browser, asked, _) = person_signs_in(&app, &rp, "9876500002", &["profile"]).await;
    assert!(!asked, "no consent screen for someone who never consented");

    let (status, json) = api
        .call(
            Method::DELETE,
            &format!("/clients/{}/first-party", rp.id),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert!(json["first_party_by"].is_null());
    let (asked, _) = signs_in_again(&rp, &browser, &["profile"]).await;
    assert!(asked, "asked again");

    let details: Vec<String> = admin_actions(&app, &rp.id)
        .await
        .into_iter()
        .map(|(_, d)| d)
        .collect();
    assert_eq!(
        details,
        [
            format!("client {} first_party: no → yes", rp.id),
            format!("client {} first_party: yes → no", rp.id),
        ]
    );
}

#[tokio::test]
async fn revoking_everyones_consent_asks_each_again_and_ends_their_refresh_tokens() {
    let app = TestApp::spawn().await;
    let (api, _) = admin_api(&app).await;
    let rp = RelyingParty::register(&app, registration("Forum", false)).await;
    let scopes = ["profile", "offline_access"];
    let (asha, asked, asha_tokens) = person_signs_in(&app, &rp, "9876500003", &scopes).await;
    assert!(asked);
    let (ravi, _, ravi_tokens) = person_signs_in(&app, &rp, "9876500004", &scopes).await;
    let consents = format!("/clients/{}/consents", rp.id);

    let (status, summary) = api.get(&consents).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(summary, json!({"consents": 2, "connected_accounts": 2}));

    let (status, taken) = api.call(Method::DELETE, &consents, None).await;
    assert_eq!(status, StatusCode::OK, "{taken}");
    assert_eq!(taken["consents"], 2);
    let (_, summary) = api.get(&consents).await;
    assert_eq!(summary, json!({"consents": 0, "connected_accounts": 0}));

    for tokens in [&asha_tokens, &ravi_tokens] {
        let refused = rp.refresh(tokens.refresh_token().unwrap()).await;
        assert!(refused.unwrap_err().contains("invalid_grant"));
        assert!(rp.userinfo(tokens.access_token()).await.is_err());
    }
    for browser in [&asha, &ravi] {
        let (asked, _) = signs_in_again(&rp, browser, &["profile"]).await;
        assert!(asked, "asked again");
    }
    let details = admin_actions(&app, &rp.id).await;
    assert_eq!(details.len(), 1);
    assert!(
        details[0].1.contains("2 consents") && details[0].1.contains("0 logout tokens"),
        "no back-channel URI, nobody told: {details:?}"
    );
}

#[tokio::test]
async fn removing_an_app_leaves_no_consent_grant_or_connected_app() {
    let app = TestApp::spawn().await;
    let (api, _) = admin_api(&app).await;
    let rp = RelyingParty::register(&app, registration("Quizbowl", false)).await;
    let (browser, _, tokens) =
        person_signs_in(&app, &rp, "9876500005", &["profile", "offline_access"]).await;
    let (status, _) = api
        .call(Method::DELETE, &format!("/clients/{}", rp.id), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(rp.userinfo(tokens.access_token()).await.is_err());
    let apps: Page = browser.get("/account").await;
    assert!(
        !apps.has("Quizbowl"),
        "not among the connected apps: {}",
        apps.body
    );
    let id = oneid::domain::ClientId::parse(&rp.id).unwrap();
    let left = app
        .state
        .db
        .run(move |conn| {
            Ok((
                oneid::db::models::grant::count_consents_for_client(conn, &id)?,
                oneid::db::models::connected_app::count_for_client(conn, &id)?,
            ))
        })
        .await
        .unwrap();
    assert_eq!(left, (0, 0));
}

/// The secret on a page that shows it once.
fn secret_on(page: &Page) -> String {
    let marker = r#"id="client-secret">"#;
    let start = page
        .body
        .find(marker)
        .unwrap_or_else(|| panic!("{}", page.body))
        + marker.len();
    page.body[start..start + page.body[start..].find('<').unwrap()].to_owned()
}

/// The one app named `name`.
async fn app_named(app: &TestApp, name: &str) -> oneid::db::models::client::Client {
    let all = oneid::admin::clients::list(&app.state.admin).await.unwrap();
    let mut named: Vec<_> = all.into_iter().filter(|c| c.name == name).collect();
    assert_eq!(named.len(), 1, "one app named {name}");
    named.remove(0)
}

fn new_app_form<'a>(name: &'a str, uris: &'a str, scopes: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("name", name),
        ("redirect_uris", uris),
        ("scopes", scopes),
        ("id_token_alg", "RS256"),
        ("client_credentials", "on"),
    ]
}

#[tokio::test]
async fn the_console_registers_an_app_shows_its_secret_once_and_edits_and_rotates_it() {
    let app = TestApp::spawn().await;
    let (admin, admin_id) = admin_browser(&app, "9876500010").await;
    let by = format!("account:{admin_id}");

    let created = admin
        .submit(
            "/admin/apps/new",
            "/admin/apps/new",
            &new_app_form("Talk", "https://talk.example.com/cb", "openid profile"),
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    let secret = secret_on(&created);
    let talk = app_named(&app, "Talk").await;
    let id = talk.id.to_string();
    assert_eq!(client_credentials(&app, &id, &secret).await.0, 200);
    let page = admin.get(&format!("/admin/apps/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.has("Talk") && page.has("https://talk.example.com/cb"));
    assert!(!page.has(&secret), "never shown again");
    let listed = admin.get("/admin/apps?q=Ta").await;
    assert!(listed.has(&format!("/admin/apps/{id}")), "{}", listed.body);

    let edit = format!("/admin/apps/{id}/edit");
    let saved = admin
        .submit(
            &edit,
            &edit,
            &[
                ("name", "Talk Web"),
                (
                    "redirect_uris",
                    "https://talk.example.com/cb\nhttps://talk.example.com/cb2",
                ),
                ("scopes", "openid profile"),
                ("id_token_alg", "RS256"),
                ("client_credentials", "on"),
            ],
        )
        .await;
    saved.assert_redirect(&format!("/admin/apps/{id}?done=admin-done-app-saved"));
    assert!(admin.follow(saved).await.has("The app is saved."));

    let rotated = admin
        .submit(
            &format!("/admin/apps/{id}"),
            &format!("/admin/apps/{id}/secret"),
            &[],
        )
        .await;
    let new_secret = secret_on(&rotated);
    assert_eq!(
        client_credentials(&app, &id, &secret).await.0,
        401,
        "old secret refused"
    );
    assert_eq!(client_credentials(&app, &id, &new_secret).await.0, 200);

    let actions = admin_actions(&app, &id).await;
    assert!(actions.iter().all(|(actor, _)| *actor == by), "{actions:?}");
    assert_eq!(
        actions[1].1,
        format!(
            "client update {id}: name \"Talk\" → \"Talk Web\"; redirect_uris \
         [https://talk.example.com/cb] → [https://talk.example.com/cb, https://talk.example.com/cb2]"
        )
    );
    assert_eq!(actions.len(), 3, "{actions:?}");
}

#[tokio::test]
async fn the_console_refuses_bad_input_with_the_form_and_its_error_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let (admin, _) = admin_browser(&app, "9876500011").await;
    let long_name = "x".repeat(10 * 1024);
    for (fields, says) in [
        (
            new_app_form("Talk", "not a url", "openid"),
            "redirect URI is not valid",
        ),
        (
            new_app_form("Talk", "https://t.example.com/cb", "openid telepathy"),
            "Unknown scope",
        ),
        (
            new_app_form(&long_name, "https://t.example.com/cb", "openid"),
            "too long",
        ),
        (
            new_app_form("", "https://t.example.com/cb", "openid"),
            "1 to 100",
        ),
    ] {
        let page = admin
            .submit("/admin/apps/new", "/admin/apps/new", &fields)
            .await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{says}");
        assert!(page.has(says), "{says}: {}", page.body);
        assert!(page.has(r#"name="redirect_uris""#), "the form again");
    }
    assert_eq!(
        oneid::admin::clients::list(&app.state.admin)
            .await
            .unwrap()
            .len(),
        0
    );

    let rp = RelyingParty::register(&app, registration("Forum", false)).await;
    let edit = format!("/admin/apps/{}/edit", rp.id);
    let page = admin
        .submit(
            &edit,
            &edit,
            &new_app_form("Forum", "http://forum.example.com/cb", "openid"),
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.has("redirect URI is not valid") && page.has("http://forum.example.com/cb"));
    assert_eq!(
        app_named(&app, "Forum").await.redirect_uris[0].as_str(),
        "http://127.0.0.1/callback"
    );
    assert!(admin_actions(&app, &rp.id).await.is_empty());

    for missing in [
        "/admin/apps/nope",
        "/admin/apps/c_123/edit",
        "/admin/apps/nope/first-party",
    ] {
        assert_eq!(
            admin.get(missing).await.status,
            StatusCode::NOT_FOUND,
            "{missing}"
        );
    }
    let page = admin
        .submit("/admin/apps/new", "/admin/apps/nope/disable", &[])
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn admin_consent_through_the_console_names_what_is_released_and_who_gave_it() {
    let app = TestApp::spawn().await;
    let (admin, admin_id) = admin_browser(&app, "9876500012").await;
    let rp = RelyingParty::register(
        &app,
        oneid::oauth::registry::Registration {
            logo_url: Some("https://cdn.forum.example.com/logo.png".into()),
            ..registration("Forum", false)
        },
    )
    .await;
    let screen = admin
        .get(&format!("/admin/apps/{}/first-party", rp.id))
        .await;
    assert_eq!(screen.status, StatusCode::OK);
    // The logo people will see, allowed by this page's CSP as on the consent screen.
    assert!(screen.has(r#"src="https://cdn.forum.example.com/logo.png""#));
    let csp = screen.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("img-src 'self' data: https://cdn.forum.example.com"),
        "{csp}"
    );
    for shown in [
        "Forum",
        "127.0.0.1",
        "phone_number_verified",
        "email_verified",
        "updated_at",
        "refresh tokens",
    ] {
        assert!(screen.has(shown), "{shown}: {}", screen.body);
    }
    let given = admin
        .submit(
            &format!("/admin/apps/{}/first-party", rp.id),
            &format!("/admin/apps/{}/first-party", rp.id),
            &[],
        )
        .await;
    given.assert_redirect(&format!(
        "/admin/apps/{}?done=admin-done-app-first-party",
        rp.id
    ));
    let page = admin.follow(given).await;
    assert!(
        page.has("Made first-party by") && page.has(&admin_id),
        "{}",
        page.body
    );

    let (person, asked, _) = person_signs_in(&app, &rp, "9876500013", &["profile"]).await;
    assert!(!asked, "no consent screen");

    let off = admin
        .submit(
            &format!("/admin/apps/{}", rp.id),
            &format!("/admin/apps/{}/first-party/off", rp.id),
            &[],
        )
        .await;
    off.assert_redirect(&format!(
        "/admin/apps/{}?done=admin-done-app-third-party",
        rp.id
    ));
    let (asked, _) = signs_in_again(&rp, &person, &["profile"]).await;
    assert!(asked, "asked again");
    let actions = admin_actions(&app, &rp.id).await;
    assert_eq!(actions.len(), 2);
    assert_eq!(actions[0].0, format!("account:{admin_id}"));
}

#[tokio::test]
async fn the_console_disables_revokes_everyones_consent_and_deletes_behind_confirmations() {
    let app = TestApp::spawn().await;
    let (admin, _) = admin_browser(&app, "9876500014").await;
    let rp = RelyingParty::register(&app, registration("Forum", false)).await;
    let (person, _, tokens) =
        person_signs_in(&app, &rp, "9876500015", &["profile", "offline_access"]).await;
    let base = format!("/admin/apps/{}", rp.id);

    let off = admin.submit(&base, &format!("{base}/disable"), &[]).await;
    off.assert_redirect(&format!("{base}?done=admin-done-app-disabled"));
    let (url, ..) = rp.authorize_url(&["profile"]);
    assert_eq!(person.get_url(&url).await.status, StatusCode::FORBIDDEN);
    let on = admin.submit(&base, &format!("{base}/enable"), &[]).await;
    on.assert_redirect(&format!("{base}?done=admin-done-app-enabled"));

    let confirm = admin.get(&format!("{base}/consents/revoke")).await;
    assert!(confirm.has("consent to Forum?"), "{}", confirm.body);
    let revoked = admin
        .submit(
            &format!("{base}/consents/revoke"),
            &format!("{base}/consents/revoke"),
            &[],
        )
        .await;
    revoked.assert_redirect(&format!("{base}?done=admin-done-app-consents-revoked"));
    assert!(rp.refresh(tokens.refresh_token().unwrap()).await.is_err());
    let (asked, _) = signs_in_again(&rp, &person, &["profile"]).await;
    assert!(asked);

    let confirm = admin.get(&format!("{base}/delete")).await;
    assert!(confirm.has("Delete Forum?"), "{}", confirm.body);
    let deleted = admin
        .submit(&format!("{base}/delete"), &format!("{base}/delete"), &[])
        .await;
    deleted.assert_redirect("/admin/apps?done=admin-done-app-removed");
    assert_eq!(admin.get(&base).await.status, StatusCode::NOT_FOUND);
    let details: Vec<String> = admin_actions(&app, &rp.id)
        .await
        .into_iter()
        .map(|(_, d)| d)
        .collect();
    assert_eq!(details.len(), 4, "{details:?}");
}

#[tokio::test]
async fn every_apps_form_refuses_a_missing_or_wrong_csrf_token_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let (admin, _) = admin_browser(&app, "9876500016").await;
    let rp = RelyingParty::register(
        &app,
        oneid::oauth::registry::Registration {
            client_credentials: true,
            ..registration("Forum", false)
        },
    )
    .await;
    let secret = rp.secret.clone().unwrap();
    let base = format!("/admin/apps/{}", rp.id);
    let forms = [
        "/admin/apps/new".to_owned(),
        format!("{base}/edit"),
        format!("{base}/secret"),
        format!("{base}/disable"),
        format!("{base}/first-party"),
        format!("{base}/consents/revoke"),
        format!("{base}/delete"),
    ];
    for action in &forms {
        for csrf in [None, Some("forged-token")] {
            let mut fields = new_app_form("Evil", "https://evil.example.com/cb", "openid");
            if let Some(csrf) = csrf {
                fields.push(("csrf", csrf));
            }
            let page = admin.post(action, &fields).await;
            assert_eq!(page.status, StatusCode::FORBIDDEN, "{action} {csrf:?}");
        }
    }
    // The enable and first-party-off forms, on an app in the state they change.
    oneid::admin::clients::set_disabled(
        &app.state.admin,
        &oneid::domain::Actor::Operator,
        app_named(&app, "Forum").await.id,
        true,
    )
    .await
    .unwrap();
    oneid::admin::clients::set_first_party(
        &app.state.admin,
        &oneid::domain::Actor::Operator,
        app_named(&app, "Forum").await.id,
        true,
    )
    .await
    .unwrap();
    for action in [format!("{base}/enable"), format!("{base}/first-party/off")] {
        let page = admin.post(&action, &[("csrf", "forged-token")]).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{action}");
    }
    let forum = app_named(&app, "Forum").await;
    assert!(forum.is_disabled() && forum.first_party, "nothing changed");
    assert_eq!(forum.redirect_uris[0].as_str(), "http://127.0.0.1/callback");
    assert_eq!(
        oneid::admin::clients::list(&app.state.admin)
            .await
            .unwrap()
            .len(),
        1
    );
    oneid::admin::clients::set_disabled(
        &app.state.admin,
        &oneid::domain::Actor::Operator,
        forum.id,
        false,
    )
    .await
    .unwrap();
    assert_eq!(
        client_credentials(&app, &rp.id, &secret).await.0,
        200,
        "the secret stands"
    );
    let by_console = admin_actions(&app, &rp.id)
        .await
        .into_iter()
        .filter(|(actor, _)| actor.starts_with("account:"))
        .count();
    assert_eq!(by_console, 0);
}

#[tokio::test]
async fn the_command_line_edits_disables_and_gives_admin_consent_through_the_same_operations() {
    let app = TestApp::spawn().await;
    let rp = RelyingParty::register(
        &app,
        oneid::oauth::registry::Registration {
            client_credentials: true,
            ..registration("Forum", false)
        },
    )
    .await;
    let secret = rp.secret.clone().unwrap();
    let oneid = |args: &[&str]| {
        let output = app
            .oneid_command()
            .args(["client"])
            .args(args)
            .output()
            .expect("oneid");
        app.wait_out_warm_copies();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned()
                + &String::from_utf8_lossy(&output.stderr),
        )
    };
    let (ok, out) = oneid(&[
        "update",
        &rp.id,
        "--name",
        "Forum Web",
        "--id-token-alg",
        "ES256",
    ]);
    assert!(ok, "{out}");
    assert!(out.contains("\"Forum Web\""), "{out}");
    let (ok, out) = oneid(&["update", &rp.id, "--scope", "openid telepathy"]);
    assert!(!ok && out.contains("telepathy"), "{out}");
    assert!(oneid(&["disable", &rp.id]).0);
    assert_eq!(client_credentials(&app, &rp.id, &secret).await.0, 400);
    assert!(oneid(&["enable", &rp.id]).0);
    assert_eq!(client_credentials(&app, &rp.id, &secret).await.0, 200);
    assert!(oneid(&["first-party", &rp.id, "on"]).0);
    assert!(app_named(&app, "Forum Web").await.first_party);
    let (ok, out) = oneid(&["disable", "c_nope"]);
    assert!(!ok, "{out}");

    let actions = admin_actions(&app, &rp.id).await;
    assert!(
        actions.iter().all(|(actor, _)| actor == "operator"),
        "{actions:?}"
    );
    let details: Vec<&str> = actions.iter().map(|(_, d)| d.as_str()).collect();
    assert_eq!(
        details,
        [
            format!(
                "client update {}: name \"Forum\" → \"Forum Web\"; id_token_alg RS256 → ES256",
                rp.id
            ),
            format!("client {} status: enabled → disabled", rp.id),
            format!("client {} status: disabled → enabled", rp.id),
            format!("client {} first_party: no → yes", rp.id),
        ]
    );
}

#[tokio::test]
async fn revoking_everyones_consent_tells_the_app_of_each_session_by_back_channel() {
    let app = TestApp::spawn().await;
    let (api, _) = admin_api(&app).await;
    let rp = RelyingParty::register(
        &app,
        oneid::oauth::registry::Registration {
            backchannel_logout_uri: Some("https://forum.example.com/bcl".into()),
            ..registration("Forum", false)
        },
    )
    .await;
    person_signs_in(&app, &rp, "9876500020", &["profile"]).await;
    person_signs_in(&app, &rp, "9876500021", &["profile"]).await;
    let (status, _) = api
        .call(
            Method::DELETE,
            &format!("/clients/{}/consents", rp.id),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let details = admin_actions(&app, &rp.id).await;
    assert!(details[0].1.ends_with("2 logout tokens"), "{details:?}");
    let (pending, delivered, abandoned) = app
        .state
        .db
        .run(oneid::db::models::backchannel::counts)
        .await
        .unwrap();
    assert_eq!(pending + delivered + abandoned, 2);
}
