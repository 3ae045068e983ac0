//! A fake OneID (discovery, JWKS, token, UserInfo: just enough to play the provider's part,
//! speaking the protocol over real HTTP) and an app under test wired to it.

use std::{
    collections::HashMap,
    net::TcpListener,
    sync::{Arc, Mutex},
    time::Duration,
};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use oneid_apps::{
    build_app_with,
    config::{AppKind, Config, Secret},
    oidc::{
        IdToken,
        login::{Profile, SignedIn, Tokens},
        logout_token::BACKCHANNEL_LOGOUT_EVENT,
    },
    session::{Session, SessionId, SessionStore},
};
use openidconnect::{
    AccessToken, RefreshToken,
    core::{CoreJsonWebKey, CoreJsonWebKeySet},
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::keys::TestKey;

pub const CLIENT_SECRET: &str = "app-secret";

pub fn now() -> i64 {
    oneid_apps::clock::now()
}

/// A code the fake OneID will exchange: who signs in, and what the request bound to it.
#[derive(Clone)]
pub struct Grant {
    pub sub: String,
    pub sid: String,
    pub name: String,
    pub account_id: String,
    pub nonce: String,
    pub code_challenge: String,
}

#[derive(Default)]
pub struct FakeState {
    pub issuer: String,
    pub client_id: String,
    pub keys: Vec<CoreJsonWebKey>,
    pub codes: HashMap<String, Grant>,
    pub refresh_tokens: HashMap<String, Grant>,
    pub access_tokens: HashMap<String, Grant>,
    /// `expires_in` of the access tokens it issues.
    pub access_lifetime: i64,
    pub refreshes: usize,
    pub jwks_fetches: usize,
}

/// The fake OneID. It signs with `TestKey::rsa("rsa-1")`.
#[derive(Clone)]
pub struct FakeOneId {
    pub issuer: String,
    pub state: Arc<Mutex<FakeState>>,
}

impl FakeOneId {
    pub fn start(client_id: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let issuer = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let state = Arc::new(Mutex::new(FakeState {
            issuer: issuer.clone(),
            client_id: client_id.into(),
            keys: vec![TestKey::rsa("rsa-1").jwk()],
            access_lifetime: 600,
            ..FakeState::default()
        }));
        let data = web::Data::from(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route(
                    "/.well-known/openid-configuration",
                    web::get().to(discovery),
                )
                .route("/jwks.json", web::get().to(jwks))
                .route("/token", web::post().to(token))
                .route("/userinfo", web::get().to(userinfo))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        Self { issuer, state }
    }

    pub fn state(&self) -> std::sync::MutexGuard<'_, FakeState> {
        self.state.lock().unwrap()
    }

    /// What OneID does between the authorization request and the redirect back: the person
    /// signs in, and a code is issued for the request's nonce and PKCE challenge.
    pub fn approve(&self, authorize_url: &str, who: &Person) -> String {
        let url = reqwest::Url::parse(authorize_url).unwrap();
        let param = |name: &str| {
            url.query_pairs()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.into_owned())
                .unwrap_or_else(|| panic!("no {name} in {authorize_url}"))
        };
        assert_eq!(param("response_type"), "code");
        assert_eq!(param("code_challenge_method"), "S256");
        let code = format!("code-{}", who.sub);
        self.state().codes.insert(
            code.clone(),
            Grant {
                sub: who.sub.into(),
                sid: who.sid.into(),
                name: who.name.into(),
                account_id: who.account_id.into(),
                nonce: param("nonce"),
                code_challenge: param("code_challenge"),
            },
        );
        code
    }

    /// A logout token as OneID sends it (§2.4), signed with `key`.
    pub fn logout_token(&self, key: &TestKey, sid: Option<&str>, sub: Option<&str>) -> String {
        let state = self.state();
        let mut claims = json!({
            "iss": state.issuer,
            "aud": state.client_id,
            "iat": now(),
            "exp": now() + 120,
            "jti": "jti-1",
            "events": { BACKCHANNEL_LOGOUT_EVENT: {} },
        });
        if let Some(sid) = sid {
            claims["sid"] = json!(sid);
        }
        if let Some(sub) = sub {
            claims["sub"] = json!(sub);
        }
        key.sign(&key.header("logout+jwt"), &claims)
    }

    /// An ID token from this OneID, as the app would have kept it.
    pub fn id_token(&self, sub: &str, sid: &str, nonce: Option<&str>) -> String {
        let state = self.state();
        id_token(&state, sub, sid, nonce)
    }
}

fn id_token(state: &FakeState, sub: &str, sid: &str, nonce: Option<&str>) -> String {
    let key = TestKey::rsa("rsa-1");
    let mut claims = json!({
        "iss": state.issuer,
        "aud": state.client_id,
        "sub": sub,
        "sid": sid,
        "iat": now(),
        "exp": now() + 600,
        "auth_time": now(),
    });
    if let Some(nonce) = nonce {
        claims["nonce"] = json!(nonce);
    }
    key.sign(&key.header("JWT"), &claims)
}

async fn discovery(state: web::Data<Mutex<FakeState>>) -> HttpResponse {
    let issuer = state.lock().unwrap().issuer.clone();
    HttpResponse::Ok().json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "userinfo_endpoint": format!("{issuer}/userinfo"),
        "jwks_uri": format!("{issuer}/jwks.json"),
        "end_session_endpoint": format!("{issuer}/end-session"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256", "EdDSA"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "authorization_response_iss_parameter_supported": true,
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
    }))
}

async fn jwks(state: web::Data<Mutex<FakeState>>) -> HttpResponse {
    let mut state = state.lock().unwrap();
    state.jwks_fetches += 1;
    HttpResponse::Ok().json(CoreJsonWebKeySet::new(state.keys.clone()))
}

fn oauth_error(error: &str) -> HttpResponse {
    HttpResponse::BadRequest().json(json!({ "error": error }))
}

/// The token endpoint: client_secret_basic, then the code (with PKCE) or a refresh token,
/// which rotates.
async fn token(
    state: web::Data<Mutex<FakeState>>,
    req: HttpRequest,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let mut state = state.lock().unwrap();
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{CLIENT_SECRET}", state.client_id))
    );
    let auth = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    if auth != Some(expected.as_str()) {
        return HttpResponse::Unauthorized().json(json!({ "error": "invalid_client" }));
    }
    let (grant, nonce) = match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let Some(grant) = form.get("code").and_then(|c| state.codes.remove(c)) else {
                return oauth_error("invalid_grant");
            };
            let verifier = form.get("code_verifier").cloned().unwrap_or_default();
            if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != grant.code_challenge {
                return oauth_error("invalid_grant");
            }
            let nonce = grant.nonce.clone();
            (grant, Some(nonce))
        }
        Some("refresh_token") => {
            let Some(grant) = form
                .get("refresh_token")
                .and_then(|t| state.refresh_tokens.remove(t))
            else {
                return oauth_error("invalid_grant");
            };
            state.refreshes += 1;
            (grant, None)
        }
        _ => return oauth_error("unsupported_grant_type"),
    };
    let n = state.access_tokens.len() + state.refresh_tokens.len() + state.refreshes;
    let access = format!("at-{}-{n}", grant.sub);
    let refresh = format!("rt-{}-{n}", grant.sub);
    let id_token = id_token(&state, &grant.sub, &grant.sid, nonce.as_deref());
    state.access_tokens.insert(access.clone(), grant.clone());
    state.refresh_tokens.insert(refresh.clone(), grant);
    HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .json(json!({
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": state.access_lifetime,
            "refresh_token": refresh,
            "id_token": id_token,
        }))
}

async fn userinfo(state: web::Data<Mutex<FakeState>>, req: HttpRequest) -> HttpResponse {
    let state = state.lock().unwrap();
    let grant = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|t| state.access_tokens.get(t));
    match grant {
        Some(g) => HttpResponse::Ok().json(json!({
            "sub": g.sub,
            "name": g.name,
            "preferred_username": g.account_id,
        })),
        None => HttpResponse::Unauthorized().finish(),
    }
}

/// Someone with a OneID account.
pub struct Person {
    pub sub: &'static str,
    pub sid: &'static str,
    pub name: &'static str,
    pub account_id: &'static str,
}

pub const ASHA: Person = Person {
    sub: "sub-asha",
    sid: "sid-asha-1",
    name: "Asha Rao",
    account_id: "asha",
};

pub const RAVI: Person = Person {
    sub: "sub-ravi",
    sid: "sid-ravi-1",
    name: "Ravi Kumar",
    account_id: "ravi",
};

/// A running app, its fake OneID, and a browser (cookies kept, redirects not followed).
pub struct TestApp {
    pub app: AppKind,
    pub base: String,
    pub client_id: String,
    pub oneid: FakeOneId,
    pub sessions: SessionStore,
    pub browser: reqwest::Client,
}

pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub async fn spawn_app(app: AppKind) -> TestApp {
    let client_id = format!("client-{}", app.slug());
    let oneid = FakeOneId::start(&client_id);
    let sessions = SessionStore::default();
    let config = Config {
        app,
        listen: "127.0.0.1:0".parse().unwrap(),
        issuer: oneid.issuer.clone(),
        client_id: client_id.clone(),
        client_secret: Some(CLIENT_SECRET.parse::<Secret>().unwrap()),
        public_url: None,
    };
    let (port, server) = build_app_with(config, sessions.clone(), Duration::from_secs(5))
        .await
        .expect("the app starts");
    tokio::spawn(server);
    TestApp {
        app,
        base: format!("http://127.0.0.1:{port}"),
        client_id,
        oneid,
        sessions,
        browser: browser(),
    }
}

/// A page as the browser got it.
pub struct Page {
    pub status: reqwest::StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> &str {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("no Location ({}): {}", self.status, self.body))
    }

    /// The value of the first hidden `csrf` field.
    pub fn csrf(&self) -> String {
        let start = self
            .body
            .find(r#"name="csrf" value=""#)
            .expect("a form with a CSRF token")
            + r#"name="csrf" value=""#.len();
        let end = start + self.body[start..].find('"').unwrap();
        self.body[start..end].to_owned()
    }
}

async fn into_page(response: reqwest::Response) -> Page {
    Page {
        status: response.status(),
        headers: response.headers().clone(),
        body: response.text().await.unwrap(),
    }
}

impl TestApp {
    pub async fn get(&self, path: &str) -> Page {
        into_page(
            self.browser
                .get(format!("{}{path}", self.base))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Page {
        into_page(
            self.browser
                .post(format!("{}{path}", self.base))
                .form(form)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// OneID posting a logout token to the app, from its own HTTP client.
    pub async fn backchannel_logout(&self, token: &str) -> Page {
        into_page(
            reqwest::Client::new()
                .post(format!("{}/backchannel-logout", self.base))
                .form(&[("logout_token", token)])
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// "Sign in with OneID": the authorization request's URL and its `state`.
    pub async fn start_login(&self) -> (String, String) {
        let login = self.get("/login").await;
        assert_eq!(login.status, 303);
        let authorize = login.location().to_owned();
        assert!(authorize.starts_with(&format!("{}/authorize?", self.oneid.issuer)));
        let state = reqwest::Url::parse(&authorize)
            .unwrap()
            .query_pairs()
            .find(|(n, _)| n == "state")
            .unwrap()
            .1
            .into_owned();
        (authorize, state)
    }

    /// Signs `who` in through the whole code flow; returns the home page afterwards.
    pub async fn sign_in(&self, who: &Person) -> Page {
        let (authorize, state) = self.start_login().await;
        let code = self.oneid.approve(&authorize, who);
        let callback = self
            .get(&format!(
                "/callback?code={code}&state={state}&iss={}",
                self.oneid.issuer
            ))
            .await;
        assert_eq!(callback.status, 303, "{}", callback.body);
        assert_eq!(callback.location(), "/");
        self.get("/").await
    }

    /// Puts a session straight into the store, as a sign-in would have; returns its cookie
    /// value.
    pub fn plant_session(&self, who: &Person) -> SessionId {
        let id_token: IdToken = self
            .oneid
            .id_token(who.sub, who.sid, Some("n"))
            .parse()
            .unwrap();
        let signed_in = SignedIn {
            sub: who.sub.into(),
            sid: Some(who.sid.into()),
            profile: Profile {
                name: who.name.into(),
                account_id: who.account_id.into(),
                email: None,
            },
            tokens: Tokens {
                access: AccessToken::new("at-planted".into()),
                refresh: Some(RefreshToken::new("rt-planted".into())),
                id_token,
                expires_at: Some(now() + 600),
            },
        };
        self.sessions.insert(Session::new(signed_in, now()))
    }

    /// A browser that carries the planted session's cookie.
    pub fn browser_with(&self, id: &SessionId) -> reqwest::Client {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        jar.add_cookie_str(
            &format!("{}={}", self.app.cookie_name(), id.as_str()),
            &self.base.parse().unwrap(),
        );
        reqwest::Client::builder()
            .cookie_provider(jar)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    pub async fn get_with(&self, browser: &reqwest::Client, path: &str) -> Page {
        into_page(
            browser
                .get(format!("{}{path}", self.base))
                .send()
                .await
                .unwrap(),
        )
        .await
    }
}

/// JSON of a response body.
pub fn json(page: &Page) -> Value {
    serde_json::from_str(&page.body).unwrap_or_else(|_| panic!("not JSON: {}", page.body))
}
