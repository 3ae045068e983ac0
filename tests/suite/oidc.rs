//! OpenID Connect, driven by the `openidconnect` crate as the relying party over real HTTP.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use oneid::{domain::Algorithm, oauth::registry::Registration};
use openidconnect::{
    AccessTokenHash, OAuth2TokenResponse, TokenResponse, core::CoreUserInfoClaims,
};
use reqwest::StatusCode;

use super::helpers::{
    Browser, CALLBACK, Page, RelyingParty, TestApp, callback, registration, sign_up_by_email,
    signed_in_tokens,
};

pub fn jwt_header(token: &str) -> serde_json::Value {
    jwt_part(token, 0)
}

pub fn jwt_part(token: &str, index: usize) -> serde_json::Value {
    serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').nth(index).unwrap())
            .unwrap(),
    )
    .unwrap()
}

/// Signs up a fresh person in `browser` while an authorization request waits, and returns
/// where OneID finally sends the browser.
pub async fn sign_up_during(app: &TestApp, browser: &Browser, auth_url: &str) -> Page {
    let first = browser.get_url(auth_url).await;
    first.assert_redirect("/continue");
    browser.request_signup_code("9812345678").await;
    let created = browser
        .enter_signup_code(&app.last_code("+919812345678"), "correct horse", "Asha")
        .await;
    created.assert_redirect("/authorize/resume");
    browser.follow(created).await
}

#[tokio::test]
async fn full_flow_with_a_certified_client_library() {
    let app = TestApp::spawn().await;
    let (id, secret) = app.register(registration("Cloud", true)).await;
    let rp = RelyingParty::discover(&app, &id, secret.as_deref()).await;
    let (auth_url, state, nonce, verifier) =
        rp.authorize_url(&["profile", "email", "phone", "offline_access"]);

    // Not signed in: OneID asks for sign-in (here: sign-up), then resumes the request.
    let browser = app.browser();
    let first = browser.get_url(&auth_url).await;
    first.assert_redirect("/continue");
    browser.request_signup_code("9812345678").await;
    let code = app.last_code("+919812345678");
    let created = browser
        .enter_signup_code(&code, "correct horse", "Asha Devi")
        .await;
    created.assert_redirect("/authorize/resume");
    let back = browser.follow(created).await;
    let params = callback(&back);
    assert_eq!(params["state"], *state.secret());
    assert_eq!(params["iss"], app.base, "RFC 9207 iss");

    let tokens = rp.redeem(&params["code"], verifier).await;
    let id_token = tokens.id_token().expect("an ID token");
    let verifier = rp.client.id_token_verifier();
    let claims = id_token
        .claims(&verifier, &nonce)
        .expect("ID token verifies against the JWKS");
    assert_eq!(claims.issuer().as_str(), app.base);
    assert_eq!(claims.audiences()[0].as_str(), id);
    assert!(claims.auth_time().is_some());
    assert_eq!(
        claims.name().and_then(|n| n.get(None)).map(|n| n.as_str()),
        Some("Asha Devi")
    );
    assert_eq!(
        claims.phone_number().map(|p| p.as_str()),
        Some("+919812345678")
    );
    let at_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(
        claims.access_token_hash(),
        Some(&at_hash),
        "at_hash binds the access token"
    );
    let raw_claims = jwt_part(&id_token.to_string(), 1);
    assert!(raw_claims["sid"].is_string(), "sid for logout");
    assert_eq!(raw_claims["amr"], serde_json::json!(["sms", "pwd"]));
    assert_eq!(raw_claims["acr"], "urn:oneid:acr:1fa");

    // The access token is an RFC 9068 JWT.
    let access = tokens.access_token().secret();
    assert_eq!(jwt_part(access, 0)["typ"], "at+jwt");
    let access_claims = jwt_part(access, 1);
    for claim in [
        "iss",
        "sub",
        "aud",
        "client_id",
        "scope",
        "exp",
        "iat",
        "jti",
    ] {
        assert!(
            !access_claims[claim].is_null(),
            "access token lacks {claim}"
        );
    }
    assert_eq!(access_claims["sub"], claims.subject().as_str());

    let userinfo: CoreUserInfoClaims = rp
        .client
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request_async(&rp.http)
        .await
        .expect("userinfo");
    assert_eq!(userinfo.subject(), claims.subject());
    assert_eq!(
        userinfo.phone_number().map(|p| p.as_str()),
        Some("+919812345678")
    );
    assert_eq!(userinfo.phone_number_verified(), Some(true));

    // Refresh: rotated on use.
    let refresh = tokens
        .refresh_token()
        .expect("offline_access gives a refresh token")
        .clone();
    let refreshed = rp.refresh(&refresh).await.expect("refresh");
    assert_ne!(
        refreshed.refresh_token().unwrap().secret(),
        refresh.secret(),
        "rotated"
    );
    rp.userinfo(refreshed.access_token())
        .await
        .expect("new token works");

    // Reusing the spent refresh token revokes the whole family.
    let reuse = rp.refresh(&refresh).await;
    assert!(reuse.is_err(), "a spent refresh token is refused");
    assert!(
        rp.userinfo(refreshed.access_token()).await.is_err(),
        "the family's newest access token is revoked too"
    );
    let after = rp.refresh(refreshed.refresh_token().unwrap()).await;
    assert!(after.is_err(), "and its newest refresh token");
}

#[tokio::test]
async fn a_second_app_signs_in_without_a_password() {
    let app = TestApp::spawn().await;
    let (cloud, cloud_secret) = app.register(registration("Cloud", true)).await;
    let (talk, talk_secret) = app.register(registration("Talk", true)).await;
    let browser = app.browser();

    let cloud_rp = RelyingParty::discover(&app, &cloud, cloud_secret.as_deref()).await;
    let (url, ..) = cloud_rp.authorize_url(&["profile"]);
    let back = sign_up_during(&app, &browser, &url).await;
    assert!(callback(&back).contains_key("code"));

    let talk_rp = RelyingParty::discover(&app, &talk, talk_secret.as_deref()).await;
    let (url, state, nonce, verifier) = talk_rp.authorize_url(&["profile"]);
    let straight_back = browser.get_url(&url).await;
    let params = callback(&straight_back);
    assert_eq!(
        params["state"],
        *state.secret(),
        "no sign-in page for the second app"
    );
    let tokens = talk_rp.redeem(&params["code"], verifier).await;
    tokens
        .id_token()
        .unwrap()
        .claims(&talk_rp.client.id_token_verifier(), &nonce)
        .unwrap();
}

#[tokio::test]
async fn a_public_client_uses_pkce_and_no_secret() {
    let app = TestApp::spawn().await;
    let (id, secret) = app
        .register(Registration {
            public: true,
            ..registration("Talk mobile", true)
        })
        .await;
    assert!(secret.is_none());
    let rp = RelyingParty::discover(&app, &id, None).await;
    let (url, _, nonce, verifier) = rp.authorize_url(&[]);
    let params = callback(&sign_up_during(&app, &app.browser(), &url).await);
    let tokens = rp.redeem(&params["code"], verifier).await;
    tokens
        .id_token()
        .unwrap()
        .claims(&rp.client.id_token_verifier(), &nonce)
        .unwrap();

    // Without a challenge, a public client is refused at the authorization endpoint.
    let bare = format!(
        "{}/authorize?response_type=code&client_id={id}&redirect_uri={CALLBACK}&scope=openid&state=s1",
        app.base
    );
    let browser = app.browser();
    sign_up_by_email(&app, &browser, "asha@example.com", "correct horse").await;
    let params = callback(&browser.get_url(&bare).await);
    assert_eq!(params["error"], "invalid_request");
    assert_eq!(params["state"], "s1");
    assert!(params["error_description"].contains("PKCE"), "{params:?}");
}

#[tokio::test]
async fn discovery_and_jwks_describe_the_provider() {
    let app = TestApp::spawn().await;
    let discovery: serde_json::Value = cacheable_json(
        &format!("{}/.well-known/openid-configuration", app.base),
        "application/json",
    )
    .await;
    assert_eq!(discovery["issuer"], app.base);
    assert_eq!(
        discovery["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(
        discovery["authorization_response_iss_parameter_supported"],
        true
    );
    for field in [
        "end_session_endpoint",
        "revocation_endpoint",
        "introspection_endpoint",
        "claims_supported",
        "jwks_uri",
    ] {
        assert!(!discovery[field].is_null(), "{field}");
    }
    let jwks_uri = discovery["jwks_uri"].as_str().unwrap();
    let jwks = cacheable_json(jwks_uri, "application/jwk-set+json").await;
    // RFC 7517 §8.5.1's media type, and the same set again (the body is kept, not rebuilt).
    assert_eq!(
        cacheable_json(jwks_uri, "application/jwk-set+json").await,
        jwks
    );
    let algs: Vec<_> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["alg"].as_str().unwrap().to_owned())
        .collect();
    for alg in ["RS256", "ES256", "EdDSA"] {
        assert!(algs.contains(&alg.to_owned()), "{alg} published: {algs:?}");
    }
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["kid"].is_string() && k["use"] == "sig" && k.get("d").is_none()),
        "public keys only"
    );
}

/// A document relying parties may cache for five minutes (the JWKS's lifetime is what a new
/// key's activation delay waits out), of `media_type`, parsed.
async fn cacheable_json(url: &str, media_type: &str) -> serde_json::Value {
    let reply = reqwest::get(url).await.unwrap();
    assert_eq!(reply.status(), StatusCode::OK, "{url}");
    assert_eq!(reply.headers()["content-type"], media_type, "{url}");
    assert_eq!(
        reply.headers()["cache-control"],
        format!("public, max-age={}", oneid::oidc::keys::JWKS_MAX_AGE_SECS),
        "{url}"
    );
    reply.json().await.unwrap()
}

/// RFC 9068 §2.1 leaves the access token's algorithm to the server: ES256 by default, the
/// client's registered choice over that, and the setting changes the default. ID tokens stay
/// RS256 whatever the access tokens use.
#[tokio::test]
async fn access_tokens_are_es256_unless_the_client_or_the_setting_says_otherwise() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let default = RelyingParty::register(&app, registration("Cloud", true)).await;
    let rs256 = RelyingParty::register(
        &app,
        Registration {
            access_token_alg: Some("RS256".into()),
            ..registration("Talk", true)
        },
    )
    .await;
    for (rp, alg) in [(&default, "ES256"), (&rs256, "RS256")] {
        let tokens = signed_in_tokens(&app, rp, &browser, &["openid", "profile"]).await;
        let access = tokens.access_token();
        assert_eq!(jwt_part(access.secret(), 0)["alg"], alg);
        assert_eq!(jwt_part(access.secret(), 0)["typ"], "at+jwt");
        let id_token = tokens.id_token().unwrap().to_string();
        assert_eq!(
            jwt_part(&id_token, 0)["alg"],
            "RS256",
            "ID tokens stay RS256"
        );
        // OneID verifies what it signed, whatever the algorithm.
        assert!(
            rp.userinfo(access).await.is_ok(),
            "{alg} token reads /userinfo"
        );
    }

    let eddsa = TestApp::spawn_with(|s| s.oauth.access_token_alg = Algorithm::EdDsa).await;
    let rp = RelyingParty::register(&eddsa, registration("Cloud", true)).await;
    let tokens = signed_in_tokens(&eddsa, &rp, &eddsa.browser(), &["openid"]).await;
    assert_eq!(jwt_part(tokens.access_token().secret(), 0)["alg"], "EdDSA");
    assert!(rp.userinfo(tokens.access_token()).await.is_ok());
}

fn authorize_path(client_id: &str, redirect_uri: &str, extra: &str) -> String {
    format!(
        "/authorize?response_type=code&client_id={client_id}&redirect_uri={}&scope=openid&state=xyz{extra}",
        url::form_urlencoded::byte_serialize(redirect_uri.as_bytes()).collect::<String>()
    )
}

#[tokio::test]
async fn bad_client_or_redirect_uri_gets_an_error_page_never_a_redirect() {
    let app = TestApp::spawn().await;
    let (id, _) = app.register(registration("Cloud", true)).await;
    let browser = app.browser();
    for path in [
        authorize_path("no-such-client", CALLBACK, ""),
        authorize_path(&id, "https://evil.example/callback", ""),
        authorize_path(&id, "http://127.0.0.1:9/callback/../steal", ""),
        format!("/authorize?response_type=code&client_id={id}&scope=openid"),
    ] {
        let page = browser.get(&path).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{path}");
        assert!(page.location.is_none(), "{path} must not redirect");
        assert!(page.has("This sign-in link does not work"), "{}", page.body);
    }
}

#[tokio::test]
async fn errors_after_the_client_is_known_go_back_with_state_and_iss() {
    let app = TestApp::spawn().await;
    let (id, _) = app.register(registration("Cloud", true)).await;
    let browser = app.browser();
    let token = browser
        .get(
            &authorize_path(&id, CALLBACK, "").replace("response_type=code", "response_type=token"),
        )
        .await;
    let params = callback(&token);
    assert_eq!(
        (
            params["error"].as_str(),
            params["state"].as_str(),
            params["iss"].as_str()
        ),
        ("unsupported_response_type", "xyz", app.base.as_str())
    );
    let plain = callback(
        &browser
            .get(&authorize_path(
                &id,
                CALLBACK,
                "&code_challenge=abc&code_challenge_method=plain",
            ))
            .await,
    );
    assert_eq!(plain["error"], "invalid_request");
    let none = callback(
        &browser
            .get(&authorize_path(&id, CALLBACK, "&prompt=none"))
            .await,
    );
    assert_eq!(
        none["error"], "login_required",
        "prompt=none without a session"
    );
}

#[tokio::test]
async fn an_id_token_hint_for_someone_else_means_signing_in_again() {
    let app = TestApp::spawn().await;
    let rp = RelyingParty::register(&app, registration("Cloud", true)).await;
    let browser = app.browser();

    // Asha signs in to Cloud and Cloud keeps her ID token.
    let (url, _, _, verifier) = rp.authorize_url(&[]);
    let params = callback(&sign_up_during(&app, &browser, &url).await);
    let tokens = rp.redeem(&params["code"], verifier).await;
    let asha_hint = tokens.id_token().unwrap().to_string();

    // Ravi now uses the same browser.
    let account = browser.get("/account").await;
    browser.post("/logout", &[("csrf", &account.csrf())]).await;
    app.advance(chrono::Duration::minutes(2));
    sign_up_by_email(&app, &browser, "ravi@example.com", "another horse").await;
    app.advance(chrono::Duration::seconds(1));

    let (url, ..) = rp.authorize_url(&[]);

    let silent = callback(
        &browser
            .get_url(&format!("{url}&prompt=none&id_token_hint={asha_hint}"))
            .await,
    );
    assert_eq!(
        silent["error"], "login_required",
        "Cloud asked about Asha; Ravi is signed in"
    );
    let (url, ..) = rp.authorize_url(&[]);
    browser
        .get_url(&format!("{url}&id_token_hint={asha_hint}"))
        .await
        .assert_redirect("/continue");
    let (url, ..) = rp.authorize_url(&[]);
    let forged = callback(
        &browser
            .get_url(&format!("{url}&id_token_hint=not.a.token"))
            .await,
    );
    assert_eq!(forged["error"], "invalid_request");
}

#[tokio::test]
async fn browser_apps_may_call_the_protocol_endpoints_across_origins_but_not_the_pages() {
    let app = TestApp::spawn().await;
    let http = reqwest::Client::new();
    let origin = "https://spa.example.com";
    for path in ["/.well-known/openid-configuration", "/jwks.json"] {
        let response = http
            .get(format!("{}{path}", app.base))
            .header("origin", origin)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.headers()["access-control-allow-origin"],
            "*",
            "{path}"
        );
    }
    for path in ["/token", "/userinfo", "/revoke"] {
        let preflight = http
            .request(reqwest::Method::OPTIONS, format!("{}{path}", app.base))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
            .await
            .unwrap();
        assert!(
            preflight.status().is_success(),
            "{path}: {}",
            preflight.status()
        );
        let headers = preflight.headers();
        assert_eq!(headers["access-control-allow-origin"], "*", "{path}");
        assert!(
            !headers.contains_key("access-control-allow-credentials"),
            "{path}: never with cookies"
        );
    }
    let page = http
        .get(format!("{}/login", app.base))
        .header("origin", origin)
        .send()
        .await
        .unwrap();
    assert!(!page.headers().contains_key("access-control-allow-origin"));
}
