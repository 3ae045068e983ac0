//! The authorization and end-session endpoints under hostile input: what a stranger's requests
//! may make the store hold (bounded, whatever the number of requests), what they may carry,
//! and that malformed or extreme input is a protocol error, never a panic or a 500.

use oneid::{
    oauth::{
        authorize::{MAX_PARAMETERS, MAX_REQUEST_BYTES},
        registry::Registration,
    },
    store::Usage,
};
use reqwest::{
    StatusCode,
    header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER},
};

use super::helpers::{Browser, CALLBACK, Page, TestApp, callback, registration, sign_up_asha};

/// A well-formed S256 challenge (43 characters); nothing here redeems a code.
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// What one parked request may cost the store at most: the interaction (its parameters, at most
/// `MAX_REQUEST_BYTES`, doubled for JSON escaping of `"` and `\`, plus the JSON around them)
/// and the session that names it.
const PER_PARKED_REQUEST_BYTES: usize = 2 * MAX_REQUEST_BYTES + 1024;

/// The per-address counter and the end of its window.
const COUNTER_ENTRIES: usize = 2;
const COUNTER_BYTES: usize = 256;

fn public_client() -> Registration {
    Registration {
        public: true,
        ..registration("Talk", true)
    }
}

/// An authorization request of `client_id` with PKCE, and `extra` parameters (URL-encoded here).
fn authorize_url(app: &TestApp, client_id: &str, extra: &[(&str, &str)]) -> String {
    let mut url = url::Url::parse(&format!("{}/authorize", app.base)).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", CALLBACK)
        .append_pair("scope", "openid profile")
        .append_pair("code_challenge", CHALLENGE)
        .append_pair("code_challenge_method", "S256")
        .extend_pairs(extra);
    url.to_string()
}

async fn usage(app: &TestApp) -> Usage {
    app.state.store.usage().await.expect("store usage")
}

/// What the store gained between `before` and now.
async fn growth(app: &TestApp, before: Usage) -> (usize, usize) {
    let now = usage(app).await;
    (
        now.entries.saturating_sub(before.entries),
        now.bytes.saturating_sub(before.bytes),
    )
}

/// Requests from a new cookie each time: each one that needs a sign-in parks a request and a
/// session, but only `ip_interactions` of them per address and window; the rest are 429 with
/// `Retry-After` and store nothing. Bound: 2 × cap entries + the counter, and cap × 17 KiB.
#[tokio::test]
async fn anonymous_requests_with_fresh_cookies_leave_the_store_bounded() {
    const CAP: usize = 5;
    const REQUESTS: usize = 40;
    let app = TestApp::spawn_with(|s| s.limits.ip_interactions = CAP as u32).await;
    let (id, _) = app.register(public_client()).await;
    let state = "s".repeat(2000);
    let before = usage(&app).await;
    let mut parked = 0;
    for n in 0..REQUESTS {
        let page = app
            .browser()
            .get_url(&authorize_url(
                &app,
                &id,
                &[("state", &state), ("nonce", "n")],
            ))
            .await;
        if n < CAP {
            page.assert_redirect("/continue");
            parked += 1;
        } else {
            assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS, "#{n}");
            assert!(page.headers.contains_key(RETRY_AFTER));
        }
    }
    let (entries, bytes) = growth(&app, before).await;
    eprintln!("{REQUESTS} requests on fresh cookies: +{entries} entries, +{bytes} bytes");
    assert!(
        entries <= 2 * parked + COUNTER_ENTRIES,
        "{REQUESTS} requests added {entries} entries"
    );
    assert!(
        bytes <= parked * PER_PARKED_REQUEST_BYTES + COUNTER_BYTES,
        "{REQUESTS} requests added {bytes} bytes"
    );
}

/// Requests from many addresses are each within their address's limit, so only the store's
/// own ceiling bounds them all (`memory_store.max_mib`; here the per-address limit is lifted to
/// stand for many addresses). A full in-process store answers 503 with `Retry-After` and the
/// "briefly unavailable" page, keeps nothing of the refused request, and the person signed in
/// before goes on using their session; once the parked requests expire, requests are parked
/// again. (On the scale pair Redis holds this state, bounded by its own `maxmemory`.)
#[tokio::test]
async fn a_full_memory_store_refuses_new_requests_and_keeps_serving_the_signed_in() {
    if super::helpers::on_scale_pair() {
        super::helpers::skipped("the Redis store is bounded by Redis's maxmemory, not by OneID");
        return;
    }
    const MIB: usize = 1 << 20;
    let app = TestApp::spawn_with(|s| {
        s.memory_store.max_mib = 1;
        s.limits.ip_interactions = 10_000;
    })
    .await;
    let (id, _) = app.register(public_client()).await;
    let asha = app.browser();
    sign_up_asha(&app, &asha).await;

    // Each parked request here holds about 7 KiB: 1 MiB is full after about 150.
    let state = "s".repeat(2000);
    let padding = "p".repeat(1000);
    let mut extra = vec![("state", state.as_str())];
    let names = ["x1", "x2", "x3", "x4", "x5"];
    extra.extend(names.iter().map(|name| (*name, padding.as_str())));
    let request = authorize_url(&app, &id, &extra);
    let mut parked = 0;
    let full = loop {
        let page = app.browser().get_url(&request).await;
        if page.status != StatusCode::SEE_OTHER && page.status != StatusCode::FOUND {
            break page;
        }
        page.assert_redirect("/continue");
        parked += 1;
        assert!(parked < 400, "the store never filled");
    };
    eprintln!("the store filled after {parked} parked requests");
    assert_eq!(full.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(full.headers.contains_key(RETRY_AFTER));
    assert!(
        full.body.contains("OneID is briefly unavailable"),
        "{}",
        full.body
    );
    let held = usage(&app).await;
    assert!(held.bytes <= MIB, "{} bytes held", held.bytes);
    assert!(
        parked > 50,
        "only {parked} requests parked before the store was full"
    );

    let refused = app.browser().get_url(&request).await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(usage(&app).await, held, "a refused request keeps nothing");

    // Asha's session is read as ever.
    let account = asha.get("/account").await;
    assert_eq!(account.status, StatusCode::OK);

    // Anonymous sessions last an hour, parked requests half of that: then there is room again.
    app.advance(chrono::Duration::seconds(
        app.settings.session.anonymous_timeout_secs + 60,
    ));
    let page = asha.get_url(&authorize_url(&app, &id, &[])).await;
    assert!(callback(&page).contains_key("code"), "{}", page.body);
    app.browser()
        .get_url(&request)
        .await
        .assert_redirect("/continue");
}

/// Requests on one cookie: the browser has one parked request, overwritten by the next, and
/// only the first counts against the address. Bound: 2 entries + the counter, 17 KiB.
#[tokio::test]
async fn anonymous_requests_on_one_cookie_keep_one_parked_request() {
    const REQUESTS: usize = 40;
    let app = TestApp::spawn_with(|s| s.limits.ip_interactions = 3).await;
    let (id, _) = app.register(public_client()).await;
    let browser = app.browser();
    let before = usage(&app).await;
    for n in 0..REQUESTS {
        let state = format!("{n}-{}", "s".repeat(2000));
        browser
            .get_url(&authorize_url(&app, &id, &[("state", &state)]))
            .await
            .assert_redirect("/continue");
    }
    let (entries, bytes) = growth(&app, before).await;
    eprintln!("{REQUESTS} requests on one cookie: +{entries} entries, +{bytes} bytes");
    assert!(
        entries <= 2 + COUNTER_ENTRIES,
        "{REQUESTS} requests added {entries} entries"
    );
    assert!(
        bytes <= PER_PARKED_REQUEST_BYTES + COUNTER_BYTES,
        "{REQUESTS} requests added {bytes} bytes"
    );

    // The request that waits is the latest, and it resumes after sign-in.
    browser.request_signup_code("9812345678").await;
    let created = browser
        .enter_signup_code(&app.last_code("+919812345678"), "correct horse", "Asha")
        .await;
    created.assert_redirect("/authorize/resume");
    let resumed = browser.follow(created).await;
    let params = callback(&resumed);
    assert!(params["state"].starts_with(&format!("{}-", REQUESTS - 1)));
}

/// Oversized requests are `invalid_request`: a redirect once the client and redirect URI are
/// verified (without echoing the oversized state), a 400 page before; nothing is stored.
#[tokio::test]
async fn oversized_requests_are_refused_and_store_nothing() {
    let app = TestApp::spawn().await;
    let (id, _) = app.register(public_client()).await;
    let before = usage(&app).await;
    let browser = app.browser();
    let huge = "x".repeat(60 * 1024);

    let page = browser
        .get_url(&authorize_url(&app, &id, &[("state", &huge)]))
        .await;
    let params = callback(&page);
    assert_eq!(params["error"], "invalid_request");
    assert!(
        !params.contains_key("state"),
        "an oversized state is not echoed"
    );

    let many: Vec<(String, String)> = (0..MAX_PARAMETERS)
        .map(|i| (format!("p{i}"), "v".to_owned()))
        .collect();
    let many: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut extra = many.clone();
    extra.push(("state", "kept"));
    let params = callback(&browser.get_url(&authorize_url(&app, &id, &extra)).await);
    assert_eq!(params["error"], "invalid_request");
    assert_eq!(params["state"], "kept");

    for (name, value) in [
        ("nonce", "x".repeat(600)),
        ("login_hint", "x".repeat(400)),
        ("ui_locales", "en ".repeat(200)),
        ("anything", "x".repeat(2000)),
        ("nonce", "a\u{0}b".to_owned()),
    ] {
        let page = browser
            .get_url(&authorize_url(
                &app,
                &id,
                &[(name, &value), ("state", "st")],
            ))
            .await;
        let params = callback(&page);
        assert_eq!(params["error"], "invalid_request", "{name}");
        assert_eq!(params["state"], "st");
    }
    // Just under the caps: parked as usual.
    let fits = authorize_url(&app, &id, &[("state", &"s".repeat(2048))]);
    app.browser()
        .get_url(&fits)
        .await
        .assert_redirect("/continue");
    let (entries, _) = growth(&app, before).await;
    assert!(entries <= 2 + COUNTER_ENTRIES, "{entries} entries");

    // Before the redirect URI is verified: a page at OneID, never a redirect.
    let unknown = authorize_url(&app, "nosuchclient", &[("state", &huge)]);
    let page = browser.get_url(&unknown).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.location.is_none());
}

/// A parameter sent twice cannot be read: a 400 page, not a 500 (RFC 6749 §3.1).
#[tokio::test]
async fn a_duplicated_parameter_is_a_400_page() {
    let app = TestApp::spawn().await;
    let (id, _) = app.register(public_client()).await;
    for name in ["state", "nonce", "client_id", "redirect_uri"] {
        let url = format!(
            "{}&{name}=again&{name}=twice",
            authorize_url(&app, &id, &[])
        );
        let page = app.browser().get_url(&url).await;
        assert_eq!(
            page.status,
            StatusCode::BAD_REQUEST,
            "{name}: {}",
            page.body
        );
        assert!(page.location.is_none());
    }
}

/// A signed-in person and a first-party client: requests go straight back with a code.
async fn signed_in(app: &TestApp) -> (Browser, String) {
    let (id, _) = app.register(public_client()).await;
    let browser = app.browser();
    sign_up_asha(app, &browser).await;
    (browser, id)
}

/// `max_age` at and past the edge of what a duration can hold is "no limit", not a panic; a
/// negative or non-numeric one is `invalid_request`.
#[tokio::test]
async fn max_age_at_the_edges_of_i64_is_answered() {
    let app = TestApp::spawn().await;
    let (browser, id) = signed_in(&app).await;
    app.advance(chrono::Duration::seconds(120));
    for age in [
        "9223372036854776",
        "9223372036854775807",
        "9223372036854775808",
        "99999999999999999999999999",
    ] {
        let page = browser
            .get_url(&authorize_url(&app, &id, &[("max_age", age)]))
            .await;
        assert!(callback(&page).contains_key("code"), "max_age={age}");
    }
    for age in ["-1", "-9223372036854775808", "1e3", " 5", "+5"] {
        let page = browser
            .get_url(&authorize_url(&app, &id, &[("max_age", age)]))
            .await;
        assert_eq!(callback(&page)["error"], "invalid_request", "max_age={age}");
    }
    browser
        .get_url(&authorize_url(&app, &id, &[("max_age", "60")]))
        .await
        .assert_redirect("/continue");
}

/// OIDC Core §6.1, §6.2: request objects are refused with their own codes, after the redirect
/// URI is verified; before that, a page.
#[tokio::test]
async fn request_and_request_uri_are_refused_with_their_codes() {
    let app = TestApp::spawn().await;
    let (id, _) = app.register(public_client()).await;
    let browser = app.browser();
    for (name, code) in [
        ("request", "request_not_supported"),
        ("request_uri", "request_uri_not_supported"),
    ] {
        let page = browser
            .get_url(&authorize_url(
                &app,
                &id,
                &[(name, "eyJhbGciOiJub25lIn0.e30."), ("state", "st")],
            ))
            .await;
        let params = callback(&page);
        assert_eq!(params["error"], code);
        assert_eq!(params["state"], "st");
        let unverified = authorize_url(&app, &id, &[(name, "x")])
            .replace("127.0.0.1%3A9%2Fcallback", "evil.example%2Fcb");
        let page = browser.get_url(&unverified).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST);
        assert!(page.location.is_none());
    }
}

/// RFC 6749 §5.2: whatever the body, the token, revocation and introspection endpoints answer
/// with the protocol's JSON error.
#[tokio::test]
async fn protocol_endpoints_answer_a_body_that_is_not_a_form_with_a_json_error() {
    let app = TestApp::spawn().await;
    let http = reqwest::Client::new();
    for path in ["/token", "/revoke", "/introspect"] {
        let url = format!("{}{path}", app.base);
        let requests = [
            http.post(&url)
                .header(CONTENT_TYPE, "application/json")
                .body(r#"{"grant_type":"authorization_code"}"#),
            http.post(&url).body("grant_type=authorization_code"),
            http.post(&url),
            http.post(&url)
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body("x=".repeat(20_000)),
        ];
        for request in requests {
            let response = request.send().await.expect("POST");
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
            let json: serde_json::Value = response.json().await.expect("a JSON body");
            assert_eq!(json["error"], "invalid_request", "{path}: {json}");
        }
    }
}

/// RFC 6750 §2.1 with RFC 7235 §2.1: the auth-scheme `Bearer` is case-insensitive.
#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive_at_userinfo() {
    let app = TestApp::spawn().await;
    let (id, secret) = app.register(registration("Cloud", true)).await;
    let rp = super::helpers::RelyingParty::discover(&app, &id, secret.as_deref()).await;
    let (url, _, _, verifier) = rp.authorize_url(&["profile"]);
    let params = callback(&super::oidc::sign_up_during(&app, &app.browser(), &url).await);
    let tokens = rp.redeem(&params["code"], verifier).await;
    let token = openidconnect::OAuth2TokenResponse::access_token(&tokens)
        .secret()
        .clone();
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let response = reqwest::Client::new()
            .get(format!("{}/userinfo", app.base))
            .header(AUTHORIZATION, format!("{scheme} {token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{scheme}");
    }
    let response = reqwest::Client::new()
        .get(format!("{}/userinfo", app.base))
        .header(AUTHORIZATION, format!("Basic {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

/// The fields of the end-session confirmation form.
fn confirmation(page: &Page) -> Vec<(&'static str, String)> {
    ["csrf", "then", "issued", "signature"]
        .into_iter()
        .map(|name| (name, page.field(name).unwrap_or_default()))
        .collect()
}

async fn post_confirmation(browser: &Browser, fields: &[(&'static str, String)]) -> Page {
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    browser.post("/end-session/confirm", &fields).await
}

/// An end-session request without a hint asks first and stores nothing for it; the signed
/// destination cannot be edited or carried to another browser.
#[tokio::test]
async fn end_session_confirmation_stores_nothing_and_its_form_holds() {
    let app = TestApp::spawn().await;
    let (id, _) = app
        .register(Registration {
            post_logout_redirect_uris: vec!["https://rp.example/bye".into()],
            ..registration("Cloud", true)
        })
        .await;
    let ask = format!(
        "/end-session?client_id={id}&post_logout_redirect_uri=https%3A%2F%2Frp.example%2Fbye&state=s1"
    );
    let before = usage(&app).await;
    for _ in 0..20 {
        assert_eq!(app.browser().get(&ask).await.status, StatusCode::OK);
        assert_eq!(
            app.browser().get("/end-session").await.status,
            StatusCode::OK
        );
    }
    let one_cookie = app.browser();
    for _ in 0..20 {
        assert_eq!(one_cookie.get(&ask).await.status, StatusCode::OK);
    }
    assert_eq!(growth(&app, before).await, (0, 0), "nothing stored");

    let browser = app.browser();
    sign_up_asha(&app, &browser).await;
    let page = browser.get(&ask).await;
    let fields = confirmation(&page);
    assert_eq!(fields[1].1, "https://rp.example/bye?state=s1");

    // Edited into an open redirect, or with another time: refused as a stale form.
    for (index, value) in [(1, "https://evil.example/"), (2, "0"), (3, "")] {
        let mut edited = fields.clone();
        edited[index].1 = value.to_owned();
        let refused = post_confirmation(&browser, &edited).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "field {index}");
        assert!(browser.account_id().await.is_some());
    }
    // Another browser's form (its own CSRF token, this one's signature): refused.
    let other = app.browser();
    let other_page = other.get(&ask).await;
    let mut carried = fields.clone();
    carried[0].1 = other_page.csrf();
    assert_eq!(
        post_confirmation(&other, &carried).await.status,
        StatusCode::FORBIDDEN
    );
    // Expired.
    app.advance(chrono::Duration::minutes(31));
    let stale = post_confirmation(&browser, &fields).await;
    assert_eq!(stale.status, StatusCode::FORBIDDEN);
    assert!(browser.account_id().await.is_some());

    // As shown: signed out and sent to the registered destination.
    let fields = confirmation(&browser.get(&ask).await);
    let done = post_confirmation(&browser, &fields).await;
    assert_eq!(
        done.location.as_deref(),
        Some("https://rp.example/bye?state=s1")
    );
    browser.get("/account").await.assert_redirect("/login");
}
