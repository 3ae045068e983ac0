//! What the token and authorization endpoints refuse, and how: replayed and expired codes,
//! PKCE, client authentication, grant types (RFC 6749 §5.2, RFC 7636 §4.6), and the
//! authorization request options `prompt`, `max_age` and `response_mode`.

use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::Duration;
use oneid::oauth::registry::Registration;
use openidconnect::{
    AuthType, AuthenticationFlow, AuthorizationCode, CsrfToken, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, Scope, TokenResponse,
    core::{CoreJwsSigningAlgorithm, CoreResponseType, CoreTokenResponse},
};
use reqwest::{
    StatusCode,
    header::{
        AUTHORIZATION, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, HeaderMap, PRAGMA,
        WWW_AUTHENTICATE,
    },
};
use sha2::{Digest, Sha256};

use super::{
    helpers::{
        Browser, CALLBACK, RelyingParty, TestApp, callback, introspection_active, registration,
    },
    oidc::{jwt_part, sign_up_during},
};

/// The mobile number and password of the person `authorized` signs up.
const PHONE: &str = "9812345678";
const PASSWORD: &str = "correct horse";

/// How a raw token request authenticates its client (RFC 6749 §2.3).
#[derive(Clone, Copy)]
enum Credentials<'a> {
    /// `Authorization: Basic`, both halves form-encoded first (RFC 6749 §2.3.1).
    Basic(&'a str, &'a str),
    /// `client_id` alone, as a public client sends it.
    IdOnly(&'a str),
    None,
}

/// A token endpoint reply, whole: status, headers and the JSON body.
#[derive(Debug)]
struct TokenReply {
    status: StatusCode,
    headers: HeaderMap,
    json: serde_json::Value,
}

impl TokenReply {
    /// An RFC 6749 §5.2 error with exactly this status and `error` code.
    #[track_caller]
    fn assert_error(&self, status: u16, error: &str) {
        assert_eq!(
            (self.status.as_u16(), self.json["error"].as_str()),
            (status, Some(error)),
            "{}",
            self.json
        );
    }

    #[track_caller]
    fn assert_ok(&self) -> &serde_json::Value {
        assert_eq!(self.status, StatusCode::OK, "{}", self.json);
        &self.json
    }

    fn access_token(&self) -> &str {
        self.assert_ok()["access_token"]
            .as_str()
            .expect("access_token")
    }
}

/// POSTs `form` to the token endpoint as a client would, without a client library.
async fn post_token<'a>(
    base: &str,
    credentials: Credentials<'a>,
    form: &[(&'a str, &'a str)],
) -> TokenReply {
    let mut fields = form.to_vec();
    let mut request = reqwest::Client::new().post(format!("{base}/token"));
    match credentials {
        Credentials::Basic(id, secret) => {
            let encode =
                |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            request = request.header(
                AUTHORIZATION,
                format!(
                    "Basic {}",
                    STANDARD.encode(format!("{}:{}", encode(id), encode(secret)))
                ),
            );
        }
        Credentials::IdOnly(id) => fields.push(("client_id", id)),
        Credentials::None => {}
    }
    let response = request.form(&fields).send().await.expect("POST /token");
    let (status, headers) = (response.status(), response.headers().clone());
    let json = response
        .json()
        .await
        .expect("the token endpoint answers JSON");
    TokenReply {
        status,
        headers,
        json,
    }
}

/// The form of an authorization code exchange (RFC 6749 §4.1.3, RFC 7636 §4.5).
fn code_grant<'a>(code: &'a str, verifier: Option<&'a str>) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", CALLBACK),
    ];
    form.extend(verifier.map(|v| ("code_verifier", v)));
    form
}

/// GET /userinfo with a bearer token: the status and the `WWW-Authenticate` challenge.
async fn userinfo(app: &TestApp, access_token: &str) -> (StatusCode, String) {
    let response = reqwest::Client::new()
        .get(format!("{}/userinfo", app.base))
        .bearer_auth(access_token)
        .send()
        .await
        .expect("GET /userinfo");
    let challenge = response
        .headers()
        .get(WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (response.status(), challenge)
}

/// A confidential client, registered and discovered: its id, its secret and its relying party.
async fn client(app: &TestApp, registration: Registration) -> (String, String, RelyingParty) {
    let rp = RelyingParty::register(app, registration).await;
    let secret = rp
        .secret
        .clone()
        .expect("a confidential client has a secret");
    (rp.id.clone(), secret, rp)
}

/// A person just sent back to the client: their signed-in browser, a fresh code, and the PKCE
/// verifier and nonce of the request that code answers.
struct Authorized {
    browser: Browser,
    code: String,
    verifier: String,
    nonce: Nonce,
}

/// Signs up a fresh person during an authorization request of `rp`.
async fn authorized(app: &TestApp, rp: &RelyingParty, scopes: &[&str]) -> Authorized {
    let browser = app.browser();
    let (url, state, nonce, verifier) = rp.authorize_url(scopes);
    let params = callback(&sign_up_during(app, &browser, &url).await);
    assert_eq!(params["state"], *state.secret());
    Authorized {
        browser,
        code: params["code"].clone(),
        verifier: verifier.secret().clone(),
        nonce,
    }
}

impl Authorized {
    /// Another authorization request of `rp` (with `extra` query parameters) by the same,
    /// still signed-in person: straight back with a new code, no page in between.
    async fn again(&self, rp: &RelyingParty, scopes: &[&str], extra: &str) -> Self {
        let (url, state, nonce, verifier) = rp.authorize_url(scopes);
        let params = callback(&self.browser.get_url(&format!("{url}{extra}")).await);
        assert_eq!(params["state"], *state.secret());
        Self {
            browser: self.browser.clone(),
            code: params["code"].clone(),
            verifier: verifier.secret().clone(),
            nonce,
        }
    }

    fn code_grant(&self) -> Vec<(&str, &str)> {
        code_grant(&self.code, Some(&self.verifier))
    }
}

/// The code exchange as the client library does it (Basic authentication, PKCE).
async fn exchange(rp: &RelyingParty, person: &Authorized) -> CoreTokenResponse {
    rp.redeem(&person.code, PkceCodeVerifier::new(person.verifier.clone()))
        .await
}

/// An authorization URL without PKCE, which a confidential client may send.
fn authorize_url_without_pkce(rp: &RelyingParty) -> (String, CsrfToken) {
    let (url, state, _) = rp
        .client
        .authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .url();
    (url.to_string(), state)
}

/// A well-formed verifier that belongs to no request.
fn stray_verifier() -> String {
    PkceCodeChallenge::new_random_sha256().1.secret().clone()
}

#[tokio::test]
async fn a_replayed_code_is_invalid_grant_and_revokes_what_it_gave() {
    let app = TestApp::spawn().await;
    let (id, secret, rp) = client(&app, registration("Cloud", true)).await;
    let person = authorized(&app, &rp, &["profile"]).await;
    let tokens = exchange(&rp, &person).await;
    let access = tokens.access_token().secret();
    assert_eq!(userinfo(&app, access).await.0, StatusCode::OK);

    // RFC 6749 §4.1.2: the code is refused, and what it gave SHOULD be revoked.
    post_token(
        &app.base,
        Credentials::Basic(&id, &secret),
        &person.code_grant(),
    )
    .await
    .assert_error(400, "invalid_grant");
    let (status, challenge) = userinfo(&app, access).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        challenge.contains(r#"error="invalid_token""#),
        "{challenge}"
    );
    let refresh = tokens
        .refresh_token()
        .expect("a first-party app gets a refresh token")
        .secret();
    post_token(
        &app.base,
        Credentials::Basic(&id, &secret),
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
    )
    .await
    .assert_error(400, "invalid_grant");
}

#[tokio::test]
async fn a_replay_with_wrong_credentials_is_invalid_client_and_revokes_nothing() {
    let app = TestApp::spawn().await;
    let (id, _, rp) = client(&app, registration("Cloud", true)).await;
    let person = authorized(&app, &rp, &["profile"]).await;
    let tokens = exchange(&rp, &person).await;

    post_token(
        &app.base,
        Credentials::Basic(&id, "not-the-secret"),
        &person.code_grant(),
    )
    .await
    .assert_error(401, "invalid_client");
    assert_eq!(
        userinfo(&app, tokens.access_token().secret()).await.0,
        StatusCode::OK,
        "someone without the secret cannot revoke the client's tokens"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_code_redeemed_eight_times_at_once_gives_tokens_once() {
    let app = TestApp::spawn().await;
    let (id, secret, rp) = client(&app, registration("Cloud", true)).await;
    let person = authorized(&app, &rp, &["profile"]).await;

    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (base, id, secret, code, verifier) = (
            app.base.clone(),
            id.clone(),
            secret.clone(),
            person.code.clone(),
            person.verifier.clone(),
        );
        requests.spawn(async move {
            post_token(
                &base,
                Credentials::Basic(&id, &secret),
                &code_grant(&code, Some(&verifier)),
            )
            .await
        });
    }
    let replies = requests.join_all().await;
    let statuses: Vec<_> = replies
        .iter()
        .map(|r| (r.status.as_u16(), r.json["error"].clone()))
        .collect();
    assert_eq!(
        replies
            .iter()
            .filter(|r| r.status == StatusCode::OK)
            .count(),
        1,
        "{statuses:?}"
    );
    for reply in replies.iter().filter(|r| r.status != StatusCode::OK) {
        reply.assert_error(400, "invalid_grant");
    }
}

#[tokio::test]
async fn a_code_verifier_that_does_not_match_the_challenge_is_invalid_grant() {
    let app = TestApp::spawn().await;
    let (id, secret, rp) = client(&app, registration("Cloud", true)).await;
    let person = authorized(&app, &rp, &["profile"]).await;
    let stray = stray_verifier();
    post_token(
        &app.base,
        Credentials::Basic(&id, &secret),
        &code_grant(&person.code, Some(&stray)),
    )
    .await
    .assert_error(400, "invalid_grant");
}

#[tokio::test]
async fn a_missing_code_verifier_is_invalid_grant_when_the_request_had_a_challenge() {
    let app = TestApp::spawn().await;
    let (id, secret, rp) = client(&app, registration("Cloud", true)).await;
    let person = authorized(&app, &rp, &["profile"]).await;
    post_token(
        &app.base,
        Credentials::Basic(&id, &secret),
        &code_grant(&person.code, None),
    )
    .await
    .assert_error(400, "invalid_grant");
}

#[tokio::test]
async fn a_code_verifier_shorter_than_43_characters_is_invalid_grant() {
    let app = TestApp::spawn().await;
    let (id, secret, rp) = client(&app, registration("Cloud", true)).await;
    let person = authorized(&app, &rp, &["profile"]).await;
    assert_eq!(person.verifier.len(), 43);
    let short = &person.verifier[..42];
    post_token(
        &app.base,
        Credentials::Basic(&id, &secret),
        &code_grant(&person.code, Some(short)),
    )
    .await
    .assert_error(400, "invalid_grant");
}

#[tokio::test]
async fn a_code_verifier_for_a_request_without_a_challenge_is_a_downgrade() {
    let app = TestApp::spawn().await;
    let (id, secret, rp) = client(&app, registration("Cloud", true)).await;
    let browser = app.browser();
    let (url, _) = authorize_url_without_pkce(&rp);
    let code = callback(&sign_up_during(&app, &browser, &url).await)["code"].clone();

    // RFC 9700 §4.8.2: a verifier where no challenge was sent is refused.
    let stray = stray_verifier();
    post_token(
        &app.base,
        Credentials::Basic(&id, &secret),
        &code_grant(&code, Some(&stray)),
    )
    .await
    .assert_error(400, "invalid_grant");

    // Without PKCE on either side, this confidential client is served.
    let (url, _) = authorize_url_without_pkce(&rp);
    let code = callback(&browser.get_url(&url).await)["code"].clone();
    post_token(
        &app.base,
        Credentials::Basic(&id, &secret),
        &code_grant(&code, None),
    )
    .await
    .assert_ok();
}

#[tokio::test]
async fn a_code_older_than_60_seconds_is_invalid_grant() {
    let app = TestApp::spawn().await;
    let (id, secret, rp) = client(&app, registration("Cloud", true)).await;
    let person = authorized(&app, &rp, &["profile"]).await;
    app.advance(Duration::seconds(61));
    post_token(
        &app.base,
        Credentials::Basic(&id, &secret),
        &person.code_grant(),
    )
    .await
    .assert_error(400, "invalid_grant");

    let fresh = person.again(&rp, &["profile"], "").await;
    app.advance(Duration::seconds(59));
    post_token(
        &app.base,
        Credentials::Basic(&id, &secret),
        &fresh.code_grant(),
    )
    .await
    .assert_ok();
}

#[tokio::test]
async fn a_wrong_or_missing_client_secret_is_invalid_client() {
    let app = TestApp::spawn().await;
    let (id, secret, rp) = client(&app, registration("Cloud", true)).await;
    let person = authorized(&app, &rp, &["profile"]).await;
    let form = person.code_grant();

    let wrong = post_token(&app.base, Credentials::Basic(&id, "not-the-secret"), &form).await;
    wrong.assert_error(401, "invalid_client");
    let challenge = wrong
        .headers
        .get(WWW_AUTHENTICATE)
        .expect("RFC 6749 §5.2: 401 comes with WWW-Authenticate")
        .to_str()
        .unwrap();
    assert!(challenge.starts_with("Basic"), "{challenge}");
    post_token(&app.base, Credentials::None, &form)
        .await
        .assert_error(401, "invalid_client");
    post_token(&app.base, Credentials::IdOnly(&id), &form)
        .await
        .assert_error(401, "invalid_client");

    // None of those spent the code: its own client still redeems it.
    post_token(&app.base, Credentials::Basic(&id, &secret), &form)
        .await
        .assert_ok();
}

#[tokio::test]
async fn a_client_secret_post_client_authenticates_in_the_body_and_only_there() {
    let app = TestApp::spawn().await;
    let (id, secret, rp) = client(
        &app,
        Registration {
            secret_post: true,
            ..registration("Forum", true)
        },
    )
    .await;
    let person = authorized(&app, &rp, &["profile"]).await;

    post_token(
        &app.base,
        Credentials::Basic(&id, &secret),
        &person.code_grant(),
    )
    .await
    .assert_error(401, "invalid_client");

    let in_body = rp.client.clone().set_auth_type(AuthType::RequestBody);
    let tokens = in_body
        .exchange_code(AuthorizationCode::new(person.code.clone()))
        .unwrap()
        .set_pkce_verifier(PkceCodeVerifier::new(person.verifier.clone()))
        .request_async(&rp.http)
        .await
        .expect("exchange with client_secret_post");
    tokens
        .id_token()
        .expect("an ID token")
        .claims(&in_body.id_token_verifier(), &person.nonce)
        .expect("ID token verifies");
}

#[tokio::test]
async fn another_client_cannot_use_a_refresh_token() {
    let app = TestApp::spawn().await;
    let (_, _, cloud) = client(&app, registration("Cloud", true)).await;
    let (talk_id, talk_secret, _) = client(&app, registration("Talk", true)).await;
    let person = authorized(&app, &cloud, &["offline_access"]).await;
    let tokens = exchange(&cloud, &person).await;
    let refresh = tokens
        .refresh_token()
        .expect("offline_access gives a refresh token");

    // RFC 6749 §5.2: "issued to another client" is invalid_grant.
    let stolen = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.secret().as_str()),
    ];
    post_token(
        &app.base,
        Credentials::Basic(&talk_id, &talk_secret),
        &stolen,
    )
    .await
    .assert_error(400, "invalid_grant");

    // The attempt neither spent the token nor revoked the grant.
    cloud
        .userinfo(tokens.access_token())
        .await
        .expect("the access token still works");
    let refreshed = cloud
        .refresh(refresh)
        .await
        .expect("its own client still refreshes");
    cloud
        .userinfo(refreshed.access_token())
        .await
        .expect("and the new access token works");
}

#[tokio::test]
async fn prompt_login_asks_a_signed_in_person_to_sign_in_again() {
    let app = TestApp::spawn().await;
    let (_, _, rp) = client(&app, registration("Cloud", true)).await;
    let person = authorized(&app, &rp, &["profile"]).await;
    let first = exchange(&rp, &person).await;
    let first_auth_time = first
        .id_token()
        .unwrap()
        .claims(&rp.client.id_token_verifier(), &person.nonce)
        .unwrap()
        .auth_time()
        .expect("auth_time");
    app.advance(Duration::seconds(30));

    let (url, state, nonce, verifier) = rp.authorize_url(&["profile"]);
    person
        .browser
        .get_url(&format!("{url}&prompt=login"))
        .await
        .assert_redirect("/continue");
    let signed_in = person.browser.sign_in(PHONE, PASSWORD).await;
    signed_in.assert_redirect("/authorize/resume");
    let params = callback(&person.browser.follow(signed_in).await);
    assert_eq!(params["state"], *state.secret());

    let again = Authorized {
        browser: person.browser.clone(),
        code: params["code"].clone(),
        verifier: verifier.secret().clone(),
        nonce,
    };
    let second = exchange(&rp, &again).await;
    let second_auth_time = second
        .id_token()
        .unwrap()
        .claims(&rp.client.id_token_verifier(), &again.nonce)
        .unwrap()
        .auth_time()
        .expect("auth_time");
    assert_eq!(
        second_auth_time - first_auth_time,
        Duration::seconds(30),
        "auth_time is the new sign-in's"
    );
}

#[tokio::test]
async fn max_age_asks_for_a_new_sign_in_only_when_the_last_one_is_older() {
    let app = TestApp::spawn().await;
    let (_, _, rp) = client(&app, registration("Cloud", true)).await;
    let person = authorized(&app, &rp, &["profile"]).await;
    app.advance(Duration::seconds(120));

    let (url, ..) = rp.authorize_url(&["profile"]);
    person
        .browser
        .get_url(&format!("{url}&max_age=60"))
        .await
        .assert_redirect("/continue");

    let recent_enough = person.again(&rp, &["profile"], "&max_age=3600").await;
    // OIDC Core §3.1.2.1: with max_age, the ID token must carry auth_time.
    let tokens = exchange(&rp, &recent_enough).await;
    assert!(jwt_part(&tokens.id_token().unwrap().to_string(), 1)["auth_time"].is_i64());
}

/// The value of the hidden input `name` in an HTML form.
fn hidden_field(body: &str, name: &str) -> Option<String> {
    let marker = format!(r#"type="hidden" name="{name}" value=""#);
    let start = body.find(&marker)? + marker.len();
    Some(body[start..start + body[start..].find('"')?].to_owned())
}

#[tokio::test]
async fn response_mode_form_post_answers_with_a_form_that_posts_itself_to_the_client() {
    let app = TestApp::spawn().await;
    let (id, secret, rp) = client(&app, registration("Cloud", true)).await;
    let person = authorized(&app, &rp, &["profile"]).await;

    let (url, state, _, verifier) = rp.authorize_url(&["profile"]);
    let page = person
        .browser
        .get_url(&format!("{url}&response_mode=form_post"))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.headers[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        page.has(&format!(r#"<form method="post" action="{CALLBACK}">"#)),
        "{}",
        page.body
    );
    assert_eq!(
        hidden_field(&page.body, "state").as_deref(),
        Some(state.secret().as_str())
    );
    assert_eq!(hidden_field(&page.body, "iss"), Some(app.base.clone()));
    let code = hidden_field(&page.body, "code").expect("a code field");

    // The page may run its one inline script and post only to the client's origin.
    let csp = page.headers[CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("script-src 'sha256-"), "{csp}");
    assert!(csp.contains("form-action http://127.0.0.1:9;"), "{csp}");
    let script = page
        .body
        .split("<script>")
        .nth(1)
        .and_then(|rest| rest.split("</script>").next())
        .expect("an inline script");
    assert!(
        csp.contains(&format!(
            "script-src 'sha256-{}'",
            STANDARD.encode(Sha256::digest(script))
        )),
        "the hash is the inline script's: {csp}"
    );

    post_token(
        &app.base,
        Credentials::Basic(&id, &secret),
        &code_grant(&code, Some(verifier.secret())),
    )
    .await
    .assert_ok();
}

#[tokio::test]
async fn a_token_response_is_a_bearer_token_that_must_not_be_cached() {
    let app = TestApp::spawn().await;
    let (id, secret, rp) = client(&app, registration("Cloud", true)).await;
    let person = authorized(&app, &rp, &["profile"]).await;
    let reply = post_token(
        &app.base,
        Credentials::Basic(&id, &secret),
        &person.code_grant(),
    )
    .await;
    let json = reply.assert_ok();
    assert_eq!(json["token_type"], "Bearer");
    assert_eq!(json["expires_in"], 600);
    // RFC 6749 §5.1.
    assert_eq!(reply.headers[CACHE_CONTROL], "no-store");
    assert_eq!(reply.headers[PRAGMA], "no-cache");
}

#[tokio::test]
async fn an_unknown_or_missing_grant_type_is_refused() {
    let app = TestApp::spawn().await;
    let (id, secret, _) = client(&app, registration("Cloud", true)).await;
    let password_grant = [
        ("grant_type", "password"),
        ("username", PHONE),
        ("password", PASSWORD),
    ];
    post_token(&app.base, Credentials::Basic(&id, &secret), &password_grant)
        .await
        .assert_error(400, "unsupported_grant_type");
    post_token(
        &app.base,
        Credentials::Basic(&id, &secret),
        &[("code", "abc"), ("redirect_uri", CALLBACK)],
    )
    .await
    .assert_error(400, "invalid_request");
}

#[tokio::test]
async fn client_credentials_gives_a_registered_client_an_access_token_only() {
    let app = TestApp::spawn().await;
    let (id, secret, _) = client(
        &app,
        Registration {
            client_credentials: true,
            ..registration("Backup service", true)
        },
    )
    .await;
    let reply = post_token(
        &app.base,
        Credentials::Basic(&id, &secret),
        &[("grant_type", "client_credentials")],
    )
    .await;
    let json = reply.assert_ok();
    assert_eq!(json["token_type"], "Bearer");
    // RFC 6749 §4.4.3: no refresh token; and no person, so no ID token.
    assert!(
        json.get("refresh_token").is_none() && json.get("id_token").is_none(),
        "{json}"
    );
    let claims = jwt_part(reply.access_token(), 1);
    assert_eq!(
        (claims["sub"].as_str(), claims["client_id"].as_str()),
        (Some(id.as_str()), Some(id.as_str())),
        "the client acts for itself"
    );
}

/// A client-credentials token joins the client's live grant for its scope rather than writing
/// one per token; revoking one of them (RFC 7009 §2.1) ends every token of that grant, and the
/// next request starts a new grant. Another scope is another grant.
#[tokio::test]
async fn client_credentials_tokens_share_their_grant_until_one_is_revoked() {
    let app = TestApp::spawn().await;
    let (id, secret, _) = client(
        &app,
        Registration {
            client_credentials: true,
            scopes: Some("openid profile".into()),
            ..registration("Backup service", true)
        },
    )
    .await;
    let token = |scope: &'static str| {
        let (base, id, secret) = (app.base.clone(), id.clone(), secret.clone());
        async move {
            let form = [("grant_type", "client_credentials"), ("scope", scope)];
            let reply = post_token(&base, Credentials::Basic(&id, &secret), &form).await;
            reply.access_token().to_owned()
        }
    };
    let gid = |token: &str| jwt_part(token, 1)["gid"].as_str().unwrap().to_owned();
    let introspect = |token: String| {
        let (base, id, secret) = (app.base.clone(), id.clone(), secret.clone());
        async move { introspection_active(&base, &id, Some(&secret), &token).await }
    };
    let (first, second) = (token("openid").await, token("openid").await);
    assert_ne!(first, second);
    assert_eq!(gid(&first), gid(&second), "one grant for both");
    let other_scope = token("openid profile").await;
    assert_ne!(
        gid(&other_scope),
        gid(&first),
        "another scope, another grant"
    );

    let revoked = reqwest::Client::new()
        .post(format!("{}/revoke", app.base))
        .basic_auth(&id, Some(&secret))
        .form(&[("token", first.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);
    assert!(!introspect(first.clone()).await);
    assert!(
        !introspect(second).await,
        "the grant's other token ends too"
    );
    assert!(introspect(other_scope).await, "the other grant stands");
    let third = token("openid").await;
    assert_ne!(gid(&third), gid(&first), "a new grant after the revocation");
    assert!(introspect(third).await);
}

#[tokio::test]
async fn client_credentials_asking_only_for_scopes_the_client_lacks_is_invalid_scope() {
    let app = TestApp::spawn().await;
    let (id, secret, _) = client(
        &app,
        Registration {
            client_credentials: true,
            scopes: Some("openid email".into()),
            ..registration("Backup service", true)
        },
    )
    .await;
    // RFC 6749 §5.2: a scope the client may not have is the client's error, not the server's.
    post_token(
        &app.base,
        Credentials::Basic(&id, &secret),
        &[("grant_type", "client_credentials"), ("scope", "phone")],
    )
    .await
    .assert_error(400, "invalid_scope");
}

#[tokio::test]
async fn client_credentials_is_unauthorized_client_for_a_client_not_registered_for_it() {
    let app = TestApp::spawn().await;
    let (id, secret, _) = client(&app, registration("Cloud", true)).await;
    post_token(
        &app.base,
        Credentials::Basic(&id, &secret),
        &[("grant_type", "client_credentials")],
    )
    .await
    .assert_error(400, "unauthorized_client");
}

#[tokio::test]
async fn each_client_gets_id_tokens_signed_with_its_registered_algorithm() {
    let app = TestApp::spawn().await;
    let (_, _, es256) = client(
        &app,
        Registration {
            id_token_alg: Some("ES256".into()),
            ..registration("Cloud", true)
        },
    )
    .await;
    let (_, _, eddsa) = client(
        &app,
        Registration {
            id_token_alg: Some("EdDSA".into()),
            ..registration("Talk", true)
        },
    )
    .await;
    let person = authorized(&app, &es256, &["profile"]).await;

    for (rp, person, name, alg) in [
        (
            &es256,
            person.again(&es256, &["profile"], "").await,
            "ES256",
            CoreJwsSigningAlgorithm::EcdsaP256Sha256,
        ),
        (
            &eddsa,
            person.again(&eddsa, &["profile"], "").await,
            "EdDSA",
            CoreJwsSigningAlgorithm::EdDsa,
        ),
    ] {
        let tokens = exchange(rp, &person).await;
        let id_token = tokens.id_token().expect("an ID token");
        assert_eq!(jwt_part(&id_token.to_string(), 0)["alg"], name);
        let verifier = rp.client.id_token_verifier().set_allowed_algs(vec![alg]);
        id_token
            .claims(&verifier, &person.nonce)
            .unwrap_or_else(|e| panic!("{name} ID token verifies against the JWKS: {e}"));
        let rs256_only = rp
            .client
            .id_token_verifier()
            .set_allowed_algs(vec![CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256]);
        assert!(
            id_token.claims(&rs256_only, &person.nonce).is_err(),
            "an RS256-only verifier refuses the {name} token"
        );
    }
}

#[tokio::test]
async fn another_client_cannot_redeem_or_burn_an_authorization_code() {
    let app = TestApp::spawn().await;
    let (_, _, cloud) = client(&app, registration("Cloud", true)).await;
    let (talk_id, talk_secret, _) = client(&app, registration("Talk", true)).await;
    let person = authorized(&app, &cloud, &[]).await;

    // RFC 6749 §4.1.3 / §5.2: a code issued to another client is invalid_grant.
    let stolen = [
        ("grant_type", "authorization_code"),
        ("code", person.code.as_str()),
        ("redirect_uri", super::helpers::CALLBACK),
        ("code_verifier", person.verifier.as_str()),
    ];
    post_token(
        &app.base,
        Credentials::Basic(&talk_id, &talk_secret),
        &stolen,
    )
    .await
    .assert_error(400, "invalid_grant");

    // The attempt did not use the code up: its own client still redeems it.
    exchange(&cloud, &person).await;
}
