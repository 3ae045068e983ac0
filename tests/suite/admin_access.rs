//! Who gets into `/admin`: administrators with a fresh sign-in to the console, admin-scoped
//! client credentials tokens to the API, and nobody else — with the same answer for every path,
//! existing or not. The OpenAPI document lists every API route, and every route it lists is
//! refused to a stranger.

use openidconnect::OAuth2TokenResponse;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::helpers::{
    AdminApi, RelyingParty, TestApp, admin_api, admin_browser, client_credentials_token,
    registration, sign_up_asha, signed_in_tokens,
};

/// Every console page, and paths that do not exist: a non-administrator must not be able to
/// tell them apart.
const CONSOLE_PATHS: &[&str] = &[
    "/admin",
    "/admin/",
    "/admin/apps",
    "/admin/apps/new",
    "/admin/accounts",
    "/admin/sessions",
    "/admin/audit",
    "/admin/audit.csv",
    "/admin/keys",
    "/admin/no-such-page",
];

#[tokio::test]
async fn a_visitor_is_sent_to_sign_in_and_a_person_who_is_not_an_admin_gets_403_everywhere() {
    let app = TestApp::spawn().await;
    let visitor = app.browser();
    visitor.get("/admin").await.assert_redirect("/login");

    let person = app.browser();
    sign_up_asha(&app, &person).await;
    let mut first_body = None;
    for path in CONSOLE_PATHS {
        let page = person.get(path).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "GET {path}");
        // The same page for every path: it says nothing about what is there.
        let body = main_of(&page.body);
        assert!(
            !body.contains("Audit log") && !body.contains("admin-nav"),
            "{path}"
        );
        match &first_body {
            None => first_body = Some(body),
            Some(first) => assert_eq!(first, &body, "{path} answers differently"),
        }
        let csrf = person.get("/account").await.csrf();
        let posted = person.post(path, &[("csrf", &csrf)]).await;
        assert_eq!(posted.status, StatusCode::FORBIDDEN, "POST {path}");
    }
}

/// The page's `<main>`: what it says, without the language links (which carry the path).
fn main_of(body: &str) -> String {
    let start = body.find("<main").expect("a main element");
    let end = body.find("</main>").expect("a main element");
    body[start..end].to_owned()
}

#[tokio::test]
async fn an_admin_needs_a_fresh_sign_in_and_is_asked_to_confirm_after_ten_minutes() {
    let app = TestApp::spawn().await;
    let (admin, _, totp) = super::helpers::admin_browser_with_app(&app, "9876500001").await;
    let page = admin.get("/admin").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.has("admin-nav"));
    // The account overview links to the console, for administrators only.
    assert!(admin.get("/account").await.has(r#"href="/admin""#));

    app.advance(chrono::Duration::minutes(11));
    admin
        .get("/admin/audit?kind=sign_in")
        .await
        .assert_redirect("/account/confirm?next=%2Fadmin%2Faudit%3Fkind%3Dsign_in");
    let csrf = admin.get("/account").await.csrf();
    admin
        .post("/admin/keys/rotate", &[("csrf", &csrf)])
        .await
        .assert_redirect("/account/confirm?next=%2Fadmin");
    // Confirming with the password, then the second factor, brings the administrator back.
    let csrf = admin.get("/account/confirm?next=/admin").await.csrf();
    admin
        .post(
            "/account/confirm",
            &[
                ("csrf", &csrf),
                ("next", "/admin"),
                ("password", "admin password"),
            ],
        )
        .await
        .assert_redirect(super::helpers::SECOND_FACTOR);
    super::helpers::pass_second_factor(&app, &admin, &totp)
        .await
        .assert_redirect("/admin");
    assert_eq!(admin.get("/admin").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_revoked_admin_is_refused_at_once() {
    let app = TestApp::spawn().await;
    let (admin, id) = admin_browser(&app, "9876500002").await;
    assert_eq!(admin.get("/admin").await.status, StatusCode::OK);
    let other = app.browser();
    let other_id = sign_up_asha(&app, &other).await;
    super::helpers::make_admin(&app, &other_id).await;
    let by = oneid::domain::Actor::Operator;
    oneid::admin::roles::revoke(&app.state.admin, &by, id.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(admin.get("/admin").await.status, StatusCode::FORBIDDEN);
}

/// The OpenAPI document: (path, method) of every route it lists.
fn documented_routes(doc: &Value) -> Vec<(String, Method)> {
    let mut routes = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().unwrap().keys() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            routes.push((path.clone(), method));
        }
    }
    routes
}

/// A documented path with every `{parameter}` filled with something that parses.
fn concrete(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').unwrap() + start;
        out.push_str("123456789");
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out.trim_start_matches("/admin/api/v1").to_owned()
}

#[tokio::test]
async fn the_api_takes_only_admin_scoped_client_tokens_on_every_documented_route() {
    let app = TestApp::spawn().await;
    let (api, _) = admin_api(&app).await;

    let (status, doc) = api.call(Method::GET, "/../openapi.json", None).await;
    assert_eq!(status, StatusCode::OK, "{doc}");
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{doc}");
    let routes = documented_routes(&doc);
    assert!(routes.len() >= 2, "{routes:?}");
    assert!(
        routes.iter().all(|(p, _)| p.starts_with("/admin/api/v1/")),
        "{routes:?}"
    );

    // Tokens that must not pass: none, garbage, a client without the admin scope, a person's.
    let (id, secret) = app
        .register(oneid::oauth::registry::Registration {
            client_credentials: true,
            ..registration("Backup service", false)
        })
        .await;
    let plain = client_credentials_token(&app, &id, &secret.unwrap(), "openid").await;
    let outsiders = [
        (AdminApi::with_token(&app, ""), StatusCode::UNAUTHORIZED),
        (
            AdminApi::with_token(&app, "not-a-token"),
            StatusCode::UNAUTHORIZED,
        ),
        (AdminApi::with_token(&app, &plain), StatusCode::FORBIDDEN),
    ];
    for (path, method) in &routes {
        let path = concrete(path);
        for (outsider, expected) in &outsiders {
            let body = (method != Method::GET).then(|| serde_json::json!({}));
            let (status, json) = outsider.call(method.clone(), &path, body).await;
            assert_eq!(status, *expected, "{method} {path}: {json}");
            assert!(json["error"].is_string(), "{method} {path}: {json}");
        }
        // The administrator's token reaches a real route (whatever it then says).
        if *method == Method::GET {
            let (_, json) = api.get(&path).await;
            assert_ne!(json["message"], "no such route", "{method} {path}");
        }
    }
    // An undocumented path is refused to outsiders like any other, and is not found for admins.
    let (status, _) = outsiders[2].0.get("/no-such-route").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, json) = api.get("/no-such-route").await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );

    let (status, _) = outsiders[2].0.get("/../openapi.json").await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "the document is for administrators too"
    );
}

#[tokio::test]
async fn the_api_grants_and_revokes_the_admin_role_but_never_the_last_one() {
    let app = TestApp::spawn().await;
    let (api, client_id) = admin_api(&app).await;
    let (status, admins) = api.get("/admins").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        admins,
        serde_json::json!({"items": [], "next_cursor": null})
    );

    let browser = app.browser();
    let first = sign_up_asha(&app, &browser).await;
    let (_, second) = admin_browser(&app, "9876500003").await;
    let (status, _) = api
        .call(Method::PUT, &format!("/admins/{first}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, page) = api.get("/admins?limit=1").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let cursor = page["next_cursor"].as_str().expect("a second page");
    let (_, rest) = api.get(&format!("/admins?limit=1&cursor={cursor}")).await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert_eq!(rest["next_cursor"], Value::Null);
    let mut ids = vec![
        page["items"][0]["account_id"].to_string(),
        rest["items"][0]["account_id"].to_string(),
    ];
    ids.sort();
    let mut expected = vec![first.clone(), second.clone()];
    expected.sort();
    assert_eq!(ids, expected);

    let (status, _) = api
        .call(Method::DELETE, &format!("/admins/{second}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, json) = api
        .call(Method::DELETE, &format!("/admins/{first}"), None)
        .await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::CONFLICT, Some("conflict"))
    );

    for (bad, expected) in [
        ("/admins/12", StatusCode::BAD_REQUEST),
        ("/admins/123456789", StatusCode::NOT_FOUND),
    ] {
        let (status, json) = api.call(Method::PUT, bad, None).await;
        assert_eq!(status, expected, "{bad}: {json}");
    }
    for bad in [
        "/admins?limit=0",
        "/admins?limit=1000",
        "/admins?cursor=%%%",
        "/admins?limit=x",
    ] {
        let (status, json) = api.get(bad).await;
        assert_eq!(
            (status, json["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_request")),
            "{bad}"
        );
    }

    // Each change is in the audit log, naming the API client that made it.
    let events = oneid::admin::events::list(&app.state.admin, None, None, 50)
        .await
        .unwrap();
    let by_client = format!("client:{client_id}");
    let granted = events
        .iter()
        .find(|e| {
            e.detail.as_deref() == Some("role: none → admin")
                && e.actor.as_deref() == Some(by_client.as_str())
        })
        .expect("the grant is audited with its actor");
    assert_eq!(granted.account_id.map(|a| a.to_string()), Some(first));
    assert!(
        events
            .iter()
            .any(|e| e.detail.as_deref() == Some("role: admin → none")
                && e.actor.as_deref() == Some(by_client.as_str()))
    );
}

#[tokio::test]
async fn a_person_cannot_get_the_admin_scope_through_an_authorization_request() {
    let app = TestApp::spawn().await;
    let rp = RelyingParty::register(
        &app,
        oneid::oauth::registry::Registration {
            client_credentials: true,
            scopes: Some("openid profile admin".into()),
            ..registration("Greedy app", true)
        },
    )
    .await;
    let browser = app.browser();
    let tokens = signed_in_tokens(&app, &rp, &browser, &["admin"]).await;
    let granted: Vec<String> = tokens
        .scopes()
        .map(|s| s.iter().map(|s| s.to_string()).collect())
        .unwrap_or_default();
    assert_eq!(granted, ["openid"], "the admin scope is dropped");
}
