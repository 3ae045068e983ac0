//! Many identical instances over one PostgreSQL + Redis, and the faults they must survive.
//! Sharing state between processes needs the scale pair, so most tests here only run in the
//! `scale` binary; the SIGKILL test runs on both pairs.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use openidconnect::OAuth2TokenResponse;
use reqwest::StatusCode;
use tokio::{net::TcpStream, task::JoinHandle};

use super::helpers::{
    Browser, NOTHING_SHARED, RelyingParty, TestApp, admin_api, callback, client_credentials_token,
    introspection_active, registration, sign_up, sign_up_asha, skip_unless_scale_pair,
};

/// A TCP proxy in front of a dependency, so a test can take it away and give it back: `cut`
/// closes the port and every connection through it (as a stopped server would), `restore`
/// listens again on the same port.
struct Proxy {
    addr: SocketAddr,
    upstream: SocketAddr,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Self {
        let proxy = Self {
            addr: "127.0.0.1:0".parse().unwrap(),
            upstream,
            tasks: Arc::default(),
        };
        proxy.listen().await
    }

    async fn listen(mut self) -> Self {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_reuseaddr(true).unwrap();
        socket.bind(self.addr).unwrap();
        let listener = socket.listen(64).unwrap();
        self.addr = listener.local_addr().unwrap();
        let (tasks, upstream) = (self.tasks.clone(), self.upstream);
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let pipe = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                tasks.lock().unwrap().push(pipe);
            }
        });
        self.tasks.lock().unwrap().push(accept);
        self
    }

    fn cut(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    async fn restore(self) -> Self {
        // The aborted tasks drop their sockets on their next poll; give them one.
        tokio::time::sleep(Duration::from_millis(50)).await;
        self.listen().await
    }

    /// `url` with its host and port replaced by the proxy's.
    fn in_front_of(&self, url: &str) -> String {
        let mut url = url::Url::parse(url).unwrap();
        url.set_host(Some("127.0.0.1")).unwrap();
        url.set_port(Some(self.addr.port())).unwrap();
        url.to_string()
    }
}

fn address_of(url: &str) -> SocketAddr {
    let url = url::Url::parse(url).unwrap();
    let host = url.host_str().unwrap();
    let host = if host == "localhost" {
        "127.0.0.1"
    } else {
        host
    };
    format!("{host}:{}", url.port().unwrap()).parse().unwrap()
}

async fn authorization_code(
    rp: &RelyingParty,
    browser: &Browser,
) -> (String, openidconnect::PkceCodeVerifier) {
    let (url, _, _, verifier) = rp.authorize_url(&["profile"]);
    let page = browser.get_url(&url).await;
    (callback(&page)["code"].clone(), verifier)
}

#[tokio::test]
async fn three_instances_share_sessions_codes_and_tokens() {
    if skip_unless_scale_pair(NOTHING_SHARED) {
        return;
    }
    let one = TestApp::spawn().await;
    let two = one.another_instance().await;
    let three = one.another_instance().await;
    let (cloud, secret) = one.register(registration("Cloud", true)).await;

    // Signed up and signed in through instance 1.
    let browser = one.browser();
    let account_id = sign_up_asha(&one, &browser).await;

    // The code from instance 1, redeemed at instance 2; UserInfo at instance 3.
    let rp = RelyingParty::across(&one, &two, &three, &cloud, secret.as_deref()).await;
    let (code, verifier) = authorization_code(&rp, &browser.at(&one)).await;
    let tokens = rp.redeem(&code, verifier).await;
    let claims = rp
        .userinfo(tokens.access_token())
        .await
        .expect("instance 3 answers UserInfo");
    let id_token = openidconnect::TokenResponse::id_token(&tokens)
        .unwrap()
        .to_string();
    assert_eq!(
        claims.subject().as_str(),
        super::oidc::jwt_part(&id_token, 1)["sub"]
    );

    // Every instance sees the same signed-in browser; signing out at 2 ends it at 1 too.
    assert_eq!(
        browser.at(&three).account_id().await,
        Some(account_id.clone())
    );
    let at_two = browser.at(&two);
    let csrf = at_two.get("/account").await.csrf();
    at_two
        .post("/logout", &[("csrf", &csrf)])
        .await
        .assert_redirect("/login");
    assert_eq!(browser.at(&one).account_id().await, None);

    // One code redeemed at three instances at once: exactly one gets tokens.
    let browser = one.browser();
    browser
        .sign_in("9812345678", "correct horse")
        .await
        .assert_redirect("/account");
    let (code, verifier) = authorization_code(&rp, &browser).await;
    let verifier = verifier.secret().clone();
    let attempts = [&one, &two, &three].map(|app| {
        let (code, verifier, base, cloud, secret) = (
            code.clone(),
            verifier.clone(),
            app.base.clone(),
            cloud.clone(),
            secret.clone().unwrap(),
        );
        tokio::spawn(async move {
            reqwest::Client::new()
                .post(format!("{base}/token"))
                .basic_auth(cloud, Some(secret))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", super::helpers::CALLBACK),
                    ("code_verifier", &verifier),
                ])
                .send()
                .await
                .unwrap()
                .status()
        })
    });
    let mut statuses = Vec::new();
    for attempt in attempts {
        statuses.push(attempt.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "exactly one redemption succeeds: {statuses:?}"
    );
}

/// Each instance keeps clients and the grants of client_credentials tokens warm in memory; a
/// change made through one instance must hold at the next request on every other.
#[tokio::test]
async fn a_client_change_at_one_instance_holds_at_once_at_the_others() {
    if skip_unless_scale_pair(NOTHING_SHARED) {
        return;
    }
    let one = TestApp::spawn().await;
    let two = one.another_instance().await;
    let (api, _) = admin_api(&one).await;
    let (id, secret) = one
        .register(oneid::oauth::registry::Registration {
            client_credentials: true,
            ..registration("Backup", false)
        })
        .await;
    let secret = secret.unwrap();
    let token_at = |app: &TestApp| {
        let (base, id, secret) = (app.base.clone(), id.clone(), secret.clone());
        async move {
            reqwest::Client::new()
                .post(format!("{base}/token"))
                .basic_auth(id, Some(secret))
                .form(&[("grant_type", "client_credentials"), ("scope", "openid")])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    // Warm at instance 2: its client, and the grant its tokens share.
    let token = client_credentials_token(&two, &id, &secret, "openid").await;
    assert!(introspection_active(&two.base, &id, Some(&secret), &token).await);
    assert_eq!(token_at(&two).await, StatusCode::OK);

    let (status, json) = api
        .post(&format!("/clients/{id}/disable"), serde_json::json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(token_at(&two).await, StatusCode::BAD_REQUEST);
    assert!(!introspection_active(&two.base, &id, Some(&secret), &token).await);
    let (status, _) = api
        .post(&format!("/clients/{id}/enable"), serde_json::json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(introspection_active(&two.base, &id, Some(&secret), &token).await);

    // RFC 7009 at instance 1 revokes the shared grant: instance 2 neither accepts the token
    // nor joins new tokens to the dead grant.
    let revoked = reqwest::Client::new()
        .post(format!("{}/revoke", one.base))
        .basic_auth(&id, Some(&secret))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);
    assert!(!introspection_active(&two.base, &id, Some(&secret), &token).await);
    let fresh = client_credentials_token(&two, &id, &secret, "openid").await;
    assert!(introspection_active(&one.base, &id, Some(&secret), &fresh).await);
    assert!(introspection_active(&two.base, &id, Some(&secret), &fresh).await);

    // A new secret at instance 1: the old one is refused at instance 2.
    let (status, rotated) = api
        .post(&format!("/clients/{id}/secret"), serde_json::json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    assert_eq!(token_at(&two).await, StatusCode::UNAUTHORIZED);
}

/// Polls `path` on `app` until it answers `status`, for at most `within`.
async fn wait_for_status(app: &TestApp, path: &str, status: StatusCode, within: Duration) -> bool {
    let started = Instant::now();
    while started.elapsed() < within {
        if let Ok(r) = reqwest::get(format!("{}{path}", app.base)).await
            && r.status() == status
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

// Multi-threaded: the proxy must keep forwarding while a blocking database call waits on it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_answers_503_within_the_timeout_and_heals_by_itself() {
    if skip_unless_scale_pair("no Redis in the embedded pair") {
        return;
    }
    let first = TestApp::spawn().await;
    let redis_url = first.settings.redis_url.clone().unwrap();
    let proxy = Proxy::start(address_of(&redis_url)).await;
    let app = first
        .another_instance_with(|s| s.redis_url = Some(proxy.in_front_of(&redis_url).into()))
        .await;
    let browser = app.browser();
    let account_id = sign_up_asha(&app, &browser).await;

    proxy.cut();
    let started = Instant::now();
    let page = browser.get("/account").await;
    let took = started.elapsed();
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(page.headers.contains_key("retry-after"));
    let limit = Duration::from_millis(
        3 * (app.settings.redis.connect_timeout_ms + app.settings.redis.response_timeout_ms),
    );
    assert!(took < limit, "503 after {took:?}, limit {limit:?}");
    let ready = reqwest::get(format!("{}/readyz", app.base)).await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let ready: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(ready["store"], "unavailable");
    assert_eq!(ready["database"], "ok");
    let live = reqwest::get(format!("{}/healthz", app.base)).await.unwrap();
    assert_eq!(live.status(), StatusCode::OK, "alive while not ready");
    // Authorization codes live in Redis: the token endpoint says so in OAuth terms.
    let (cloud, secret) = app.register(registration("Cloud", true)).await;
    let token = reqwest::Client::new()
        .post(format!("{}/token", app.base))
        .basic_auth(&cloud, secret.as_deref())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", "a-code-that-may-exist"),
            ("redirect_uri", super::helpers::CALLBACK),
            (
                "code_verifier",
                "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            ),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = token.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    // The sign-in page still shows (it needs no store), but a sign-in cannot be counted
    // against the attempt limits: it fails closed.
    let login = app.browser().sign_in("9812345678", "correct horse").await;
    assert_eq!(login.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(login.has("briefly unavailable"));

    let _proxy = proxy.restore().await;
    assert!(
        wait_for_status(&app, "/readyz", StatusCode::OK, Duration::from_secs(15)).await,
        "ready again once Redis is back"
    );
    assert_eq!(
        browser.account_id().await,
        Some(account_id),
        "the session acknowledged before the outage survived it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_answers_503_within_the_timeout_and_heals_by_itself() {
    if skip_unless_scale_pair("the embedded database is a file: it cannot go away on its own") {
        return;
    }
    let first = TestApp::spawn().await;
    let database_url = first.settings.database_url.clone();
    let proxy = Proxy::start(address_of(&database_url)).await;
    let app = first
        .another_instance_with(|s| s.database_url = proxy.in_front_of(&database_url).into())
        .await;
    let (cloud, secret) = app.register(registration("Cloud", true)).await;
    let browser = app.browser();
    sign_up_asha(&app, &browser).await;

    proxy.cut();
    let started = Instant::now();
    let login = app.browser().sign_in("9812345678", "correct horse").await;
    let took = started.elapsed();
    assert_eq!(
        login.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        login.body
    );
    let limit = Duration::from_secs(3 * app.settings.database.connect_timeout_secs);
    assert!(took < limit, "503 after {took:?}, limit {limit:?}");
    let token = reqwest::Client::new()
        .post(format!("{}/token", app.base))
        .basic_auth(&cloud, secret.as_deref())
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = token.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    let ready: serde_json::Value = reqwest::get(format!("{}/readyz", app.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["database"], "unavailable");

    let _proxy = proxy.restore().await;
    assert!(
        wait_for_status(&app, "/readyz", StatusCode::OK, Duration::from_secs(15)).await,
        "ready again once PostgreSQL is back"
    );
    app.browser()
        .sign_in("9812345678", "correct horse")
        .await
        .assert_redirect("/account");
}

#[tokio::test]
async fn limits_and_lockout_hold_across_instances() {
    if skip_unless_scale_pair(NOTHING_SHARED) {
        return;
    }
    let one = TestApp::spawn().await;
    let instances = [one.another_instance().await, one.another_instance().await];
    let all = [&one, &instances[0], &instances[1]];

    // Five codes an hour to one number, whichever instance is asked.
    let browser = one.browser();
    for n in 0..5 {
        browser
            .at(all[n % 3])
            .request_signup_code("9812345678")
            .await
            .assert_redirect("/signup/verify");
        one.advance(chrono::Duration::seconds(61));
    }
    let refused = browser.at(all[2]).request_signup_code("9812345678").await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);

    // Ten failed sign-ins spread over the instances lock the account on all of them.
    let owner = one.browser();
    sign_up(&one, &owner, "9812345670", "+919812345670", "correct horse").await;
    for n in 0..10 {
        all[n % 3]
            .browser()
            .sign_in("9812345670", "wrong password")
            .await;
    }
    for app in all {
        assert!(
            app.browser()
                .sign_in("9812345670", "correct horse")
                .await
                .has("locked")
        );
    }
}
