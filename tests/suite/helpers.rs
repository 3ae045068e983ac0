//! Spawns OneID for one test and drives it like a browser would.

use std::{collections::HashMap, path::PathBuf, sync::Arc};

use oneid::{
    clock::{Clock, MockClock},
    config::Settings,
    db::testing::{PgTestSchema, TEST_DATABASE_URL, say_skipped},
    oauth::registry::Registration,
    startup::Application,
    store::testing::{RedisTestKeys, TEST_REDIS_URL, random_redis_prefix},
};
use openidconnect::{
    AccessToken, AuthenticationFlow, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, RefreshToken, Scope, TokenUrl, UserInfoUrl,
    core::{
        CoreClient, CoreProviderMetadata, CoreResponseType, CoreTokenResponse, CoreUserInfoClaims,
    },
};
use reqwest::{StatusCode, redirect::Policy};
use tempfile::TempDir;

pub struct TestApp {
    pub base: String,
    pub clock: MockClock,
    pub dir: TempDir,
    pub settings: Settings,
    pub state: actix_web::web::Data<oneid::state::AppState>,
    /// The port of `/metrics` on its own listener, when `metrics.listen` is set.
    pub metrics_port: Option<u16>,
    handle: actix_web::dev::ServerHandle,
    /// On the scale pair: this test's PostgreSQL schema and Redis prefix, removed on drop.
    _scale: Option<Arc<ScaleBackends>>,
}

/// The storage pair the suite runs on. The `api` test binary runs every test on the embedded
/// pair (SQLite + memory); the `scale` binary compiles the very same tests and runs them on
/// PostgreSQL + Redis, each test in its own schema and under its own key prefix.
pub fn on_scale_pair() -> bool {
    env!("CARGO_CRATE_NAME") == "scale"
}

/// Says, past the test harness's capture, that the running test is skipped and why: a test
/// that returns early otherwise reads as passed.
pub fn skipped(why: &str) {
    let test = std::thread::current().name().unwrap_or("a test").to_owned();
    say_skipped(&format!("SKIPPED {test}: {why}"));
}

/// Why a test of several instances sharing state is skipped on the embedded pair.
pub const NOTHING_SHARED: &str =
    "instances of the embedded pair share no memory: nothing to test there";

/// On the embedded pair: says that the running test is skipped and why, and returns true (the
/// test then returns); on the scale pair: false.
pub fn skip_unless_scale_pair(why: &str) -> bool {
    let skip = !on_scale_pair();
    if skip {
        skipped(why);
    }
    skip
}

/// One test's share of PostgreSQL and Redis: its schema and its key prefix, both removed on
/// drop.
pub struct ScaleBackends {
    pub schema: PgTestSchema,
    pub redis_url: String,
    pub redis_keys: RedisTestKeys,
}

impl ScaleBackends {
    /// A fresh schema and prefix; on the scale binary without the two variables, says the run
    /// is skipped and ends the process (the embedded `api` run has already covered the tests).
    pub fn create() -> Self {
        let database = std::env::var(TEST_DATABASE_URL).ok();
        let redis = std::env::var(TEST_REDIS_URL).ok();
        let (Some(database), Some(redis_url)) = (database, redis) else {
            say_skipped(&format!(
                "\nSKIPPED: the suite on PostgreSQL + Redis (the `scale` test binary). Set \
                 {TEST_DATABASE_URL}=postgres://postgres@127.0.0.1:5432/test and \
                 {TEST_REDIS_URL}=redis://127.0.0.1:6379 to run it.\n"
            ));
            std::process::exit(0);
        };

        let schema = PgTestSchema::create(&database)
            .unwrap_or_else(|e| panic!("{TEST_DATABASE_URL} is set but unusable: {e}"));
        let redis_keys = RedisTestKeys::new(&redis_url, &random_redis_prefix());
        Self {
            schema,
            redis_url,
            redis_keys,
        }
    }

    /// This test's Redis key prefix.
    pub fn redis_prefix(&self) -> &str {
        self.redis_keys.prefix()
    }

    /// Points settings at this test's schema and prefix.
    pub fn apply(&self, settings: &mut Settings) {
        settings.database_url = self.schema.url().into();
        settings.redis_url = Some(self.redis_url.clone().into());
        settings.redis.key_prefix = self.redis_prefix().to_owned();
    }
}

/// One line of the development outbox.
#[derive(Debug, serde::Deserialize)]
pub struct OutboxLine {
    pub channel: String,
    pub to: String,
    pub purpose: String,
    pub code: String,
    pub text: String,
    pub sent_at: String,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// Starts the app with test settings adjusted by `tweak`: port 0, its own SQLite file and
    /// outbox in a fresh temporary folder, one worker, a clock that only moves when told.
    pub async fn spawn_with(tweak: impl FnOnce(&mut Settings)) -> Self {
        // RUST_LOG=debug cargo test … shows the app's logs for a failing test.
        if std::env::var_os("RUST_LOG").is_some() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
                .with_test_writer()
                .try_init();
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let mut settings = test_settings(&dir);
        let scale = on_scale_pair().then(|| Arc::new(ScaleBackends::create()));
        if let Some(scale) = &scale {
            scale.apply(&mut settings);
        }
        tweak(&mut settings);
        Self::start(dir, settings, MockClock::starting_now(), scale).await
    }

    /// [`Self::spawn_with`], served and issuing as `http://localhost:<port>`: WebAuthn needs a
    /// domain as its RP ID (browsers and webauthn-rs refuse an IP address), and `localhost`
    /// is a secure context over plain http. For the passkey tests.
    pub async fn spawn_on_localhost_with(tweak: impl FnOnce(&mut Settings)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut settings = test_settings(&dir);
        let scale = on_scale_pair().then(|| Arc::new(ScaleBackends::create()));
        if let Some(scale) = &scale {
            scale.apply(&mut settings);
        }
        tweak(&mut settings);
        Self::launch(
            dir,
            settings,
            MockClock::starting_now(),
            scale,
            true,
            "localhost",
        )
        .await
    }

    async fn start(
        dir: TempDir,
        settings: Settings,
        clock: MockClock,
        scale: Option<Arc<ScaleBackends>>,
    ) -> Self {
        Self::launch(dir, settings, clock, scale, true, "127.0.0.1").await
    }

    /// Serves on a new port; `own_issuer`: the new base URL becomes the issuer (a lone
    /// instance), else the issuer stays (one more instance behind the same public URL).
    async fn launch(
        dir: TempDir,
        mut settings: Settings,
        clock: MockClock,
        scale: Option<Arc<ScaleBackends>>,
        own_issuer: bool,
        host: &str,
    ) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{host}:{}", listener.local_addr().unwrap().port());
        if own_issuer {
            settings.issuer = base.parse().unwrap();
        }
        let app =
            Application::build_with_listener(settings.clone(), Arc::new(clock.clone()), listener)
                .await
                .expect("app builds");
        let handle = app.handle();
        let state = app.state();
        let metrics_port = app.metrics_port();
        tokio::spawn(app.run_until_stopped());
        Self {
            base,
            clock,
            dir,
            settings,
            handle,
            state,
            metrics_port,
            _scale: scale,
        }
    }

    /// Registers a client directly (as `oneid client add` would); returns its id and secret.
    pub async fn register(
        &self,
        registration: oneid::oauth::registry::Registration,
    ) -> (String, Option<String>) {
        let (client, secret) =
            oneid::oauth::registry::register(&self.state.db, registration, self.clock.now())
                .await
                .expect("registration");
        (client.id.to_string(), secret.map(|s| s.expose().to_owned()))
    }

    /// Another instance over the same database, ephemeral store, keys, outbox and clock, with
    /// the same issuer (as behind a load balancer), on a port of its own.
    pub async fn another_instance(&self) -> Self {
        self.another_instance_with(|_| {}).await
    }

    pub async fn another_instance_with(&self, tweak: impl FnOnce(&mut Settings)) -> Self {
        let mut settings = self.settings.clone();
        tweak(&mut settings);
        let dir = tempfile::tempdir().expect("temp dir");
        let host = url::Url::parse(&self.base)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| "127.0.0.1".to_owned());
        Self::launch(
            dir,
            settings,
            self.clock.clone(),
            self._scale.clone(),
            false,
            &host,
        )
        .await
    }

    /// Stops the server and starts a new one over the same database and outbox.
    pub async fn restart(self) -> Self {
        self.handle.stop(true).await;
        let mut settings = self.settings.clone();
        settings.listen = "127.0.0.1:0".parse().unwrap();
        Self::start(self.dir, settings, self.clock, self._scale).await
    }

    pub fn browser(&self) -> Browser {
        self.browser_with_language(None)
    }

    pub fn browser_with_language(&self, accept_language: Option<&str>) -> Browser {
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(lang) = accept_language {
            headers.insert(reqwest::header::ACCEPT_LANGUAGE, lang.parse().unwrap());
        }
        self.browser_with_headers(headers)
    }

    /// A browser whose requests carry `X-Forwarded-For: ip`, as a proxy in front would add
    /// (believed only when the proxy is trusted).
    pub fn browser_from(&self, ip: &str) -> Browser {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-forwarded-for", ip.parse().unwrap());
        self.browser_with_headers(headers)
    }

    fn browser_with_headers(&self, headers: reqwest::header::HeaderMap) -> Browser {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(Policy::none())
            .default_headers(headers)
            .build()
            .unwrap();
        Browser {
            client,
            base: self.base.clone(),
        }
    }

    pub fn outbox_path(&self) -> PathBuf {
        self.settings.outbox.clone()
    }

    pub fn outbox(&self) -> Vec<OutboxLine> {
        match std::fs::read_to_string(self.outbox_path()) {
            Ok(text) => text
                .lines()
                .map(|l| serde_json::from_str(l).expect("outbox line is JSON"))
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    pub fn messages_to(&self, to: &str) -> Vec<OutboxLine> {
        self.outbox().into_iter().filter(|m| m.to == to).collect()
    }

    /// The newest code sent to `to` (E.164 or normalised email).
    pub fn last_code(&self, to: &str) -> String {
        self.messages_to(to)
            .pop()
            .unwrap_or_else(|| panic!("no message to {to}"))
            .code
    }

    /// The newest code for `purpose` sent to `to`, once more than `after` such codes were sent.
    /// Codes to existing accounts are delivered just after the page answers, so this waits a
    /// little (real time) for it.
    pub async fn wait_for_code(&self, to: &str, purpose: &str, after: usize) -> String {
        for _ in 0..200 {
            let sent: Vec<_> = self
                .messages_to(to)
                .into_iter()
                .filter(|m| m.purpose == purpose)
                .collect();
            if sent.len() > after {
                return sent.last().unwrap().code.clone();
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("no {purpose} code for {to}");
    }

    pub fn advance(&self, by: chrono::Duration) {
        self.clock.advance(by);
    }

    /// Lets the server's warm copies of clients run out ([`oneid::oauth::warm::MAX_AGE_SECS`]):
    /// what a change made by [`Self::oneid_command`] waits for on the embedded pair, whose
    /// in-memory store the command cannot reach. On the scale pair the command's change reaches
    /// the server through Redis at once, so nothing is waited for and the `scale` run checks it.
    pub fn wait_out_warm_copies(&self) {
        if !on_scale_pair() {
            self.advance(chrono::Duration::seconds(oneid::oauth::warm::MAX_AGE_SECS));
        }
    }

    /// The `oneid` binary, set up to work on this app's database and keys (as an operator's
    /// shell beside a running server would be).
    pub fn oneid_command(&self) -> std::process::Command {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_oneid"));
        command
            .env_clear()
            .env("ONEID_DATABASE_URL", self.settings.database_url.expose())
            .env("ONEID_OUTBOX", &self.settings.outbox)
            .env(
                "ONEID_KEYS__ENCRYPTION_KEY_FILE",
                &self.settings.keys.encryption_key_file,
            )
            .env("ONEID_ISSUER", &self.base)
            .env("RUST_LOG", "warn");
        if let Some(url) = &self.settings.redis_url {
            command
                .env("ONEID_REDIS_URL", url.expose())
                .env("ONEID_REDIS__KEY_PREFIX", &self.settings.redis.key_prefix);
        }
        command
    }
}

pub fn test_settings(dir: &TempDir) -> Settings {
    Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: format!("sqlite://{}", dir.path().join("oneid.db").display()).into(),
        outbox: dir.path().join("outbox.jsonl"),
        workers: 1,
        keys: oneid::config::KeySettings {
            encryption_key_file: dir.path().join("keys.secret"),
            ..Settings::default().keys
        },
        ..Settings::default()
    }
}

/// A code of the same length that is certainly not `code`.
pub fn wrong(code: &str) -> String {
    code.chars()
        .map(|c| char::from(b'0' + (c as u8 - b'0' + 1) % 10))
        .collect()
}

/// A page as the browser saw it.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub body: String,
    pub headers: reqwest::header::HeaderMap,
}

impl Page {
    pub fn csrf(&self) -> String {
        csrf_in(&self.body).unwrap_or_else(|| panic!("no CSRF field in page:\n{}", self.body))
    }

    pub fn assert_redirect(&self, to: &str) {
        assert_eq!(
            self.status,
            StatusCode::SEE_OTHER,
            "expected a redirect to {to}, got:\n{}",
            self.body
        );
        assert_eq!(self.location.as_deref(), Some(to));
    }

    /// The value of the form field `name` on this page (the first one).
    pub fn field(&self, name: &str) -> Option<String> {
        let marker = format!(r#"name="{name}" value=""#);
        let start = self.body.find(&marker)? + marker.len();
        let value = &self.body[start..start + self.body[start..].find('"')?];
        // askama escapes attribute values; these are the escapes a URL can need.
        Some(
            value
                .replace("&#x3d;", "=")
                .replace("&#x2f;", "/")
                .replace("&#61;", "=")
                .replace("&#47;", "/")
                .replace("&quot;", "\"")
                .replace("&#39;", "'")
                .replace("&amp;", "&"),
        )
    }

    pub fn has(&self, text: &str) -> bool {
        self.body.contains(text)
    }

    /// The page with everything that legitimately differs between two requests removed.
    pub fn normalised(&self, also_remove: &[&str]) -> String {
        let mut body = self.body.clone();
        if let Some(csrf) = csrf_in(&body) {
            body = body.replace(&csrf, "CSRF");
        }
        for text in also_remove {
            body = body.replace(text, "X");
        }
        // The bot check's challenge: fresh for every page, its difficulty rising with the
        // address's requests (whether or not the contact has an account).
        let marker = r#"data-challenge=""#;
        if let Some(start) = body.find(marker).map(|at| at + marker.len())
            && let Some(len) = body[start..].find('"')
        {
            body.replace_range(start..start + len, "CHALLENGE");
        }
        body
    }
}

pub fn csrf_in(body: &str) -> Option<String> {
    let start = body.find(r#"name="csrf" value=""#)? + r#"name="csrf" value=""#.len();
    Some(body[start..start + body[start..].find('"')?].to_owned())
}

#[derive(Clone)]
pub struct Browser {
    pub client: reqwest::Client,
    pub base: String,
}

impl Browser {
    /// The same browser (cookie jar) talking to another instance.
    pub fn at(&self, app: &TestApp) -> Self {
        Self {
            client: self.client.clone(),
            base: app.base.clone(),
        }
    }

    pub async fn get(&self, path: &str) -> Page {
        self.get_url(&format!("{}{path}", self.base)).await
    }

    pub async fn get_url(&self, url: &str) -> Page {
        into_page(self.client.get(url).send().await.expect("GET")).await
    }

    /// Follows OneID's redirects (not the client's) until the browser is sent elsewhere or a
    /// page is shown.
    pub async fn follow(&self, mut page: Page) -> Page {
        for _ in 0..10 {
            match page.location.clone() {
                Some(location) if page.status.is_redirection() && location.starts_with('/') => {
                    page = self.get(&location).await
                }
                _ => return page,
            }
        }
        page
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        into_page(
            self.client
                .post(format!("{}{path}", self.base))
                .form(form)
                .send()
                .await
                .expect("POST"),
        )
        .await
    }

    /// Loads the form page for its CSRF token, then submits `fields` to `action`.
    pub async fn submit(&self, form_page: &str, action: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.get(form_page).await.csrf();
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post(action, &all).await
    }

    pub async fn request_signup_code(&self, identifier: &str) -> Page {
        self.submit("/signup", "/signup", &[("identifier", identifier)])
            .await
    }

    pub async fn enter_signup_code(&self, code: &str, password: &str, name: &str) -> Page {
        self.submit(
            "/signup/verify",
            "/signup/verify",
            &[
                ("code", code),
                ("password", password),
                ("password_confirm", password),
                ("name", name),
            ],
        )
        .await
    }

    pub async fn sign_in(&self, identifier: &str, password: &str) -> Page {
        self.submit(
            "/login",
            "/login",
            &[("identifier", identifier), ("password", password)],
        )
        .await
    }

    /// Enters `code` on the code page `page` of a reset, an unlock or a sign-in with a code,
    /// with `new_password` twice (empty: keep the password).
    pub async fn enter_recovery_code(&self, page: &Page, code: &str, new_password: &str) -> Page {
        self.post(
            "/recover/verify",
            &[
                ("csrf", &page.csrf()),
                ("code", code),
                ("password", new_password),
                ("password_confirm", new_password),
            ],
        )
        .await
    }

    /// Signs out at OneID (the account page's button).
    pub async fn sign_out(&self) {
        let csrf = self.get("/account").await.csrf();
        self.post("/logout", &[("csrf", &csrf)])
            .await
            .assert_redirect("/login");
    }

    /// The account ID shown on the account page.
    pub async fn account_id(&self) -> Option<String> {
        let page = self.get("/account").await;
        let start = page.body.find(r#"id="account-id">"#)? + r#"id="account-id">"#.len();
        Some(page.body[start..start + page.body[start..].find('<')?].to_owned())
    }
}

async fn into_page(response: reqwest::Response) -> Page {
    let status = response.status();
    let headers = response.headers().clone();
    let location = headers
        .get(reqwest::header::LOCATION)
        .map(|v| v.to_str().unwrap().to_owned());
    Page {
        status,
        location,
        body: response.text().await.unwrap_or_default(),
        headers,
    }
}

/// Signs up through the pages and returns the new account's ID; the browser stays signed in.
pub async fn sign_up(
    app: &TestApp,
    browser: &Browser,
    identifier: &str,
    canonical: &str,
    password: &str,
) -> String {
    browser
        .request_signup_code(identifier)
        .await
        .assert_redirect("/signup/verify");
    let code = app.last_code(canonical);
    browser
        .enter_signup_code(&code, password, "Asha Devi")
        .await
        .assert_redirect("/account");
    browser.account_id().await.expect("signed in after sign-up")
}

/// The redirect URI every test client uses (a loopback URI: any port matches the registered
/// `http://127.0.0.1/callback`, RFC 8252 §7.3). Nothing listens there: tests read the redirect.
pub const CALLBACK: &str = "http://127.0.0.1:9/callback";

/// A confidential client named `name`, redirecting to [`CALLBACK`]; a first-party one is never
/// asked for consent.
pub fn registration(name: &str, first_party: bool) -> Registration {
    Registration {
        name: name.into(),
        logo_url: None,
        redirect_uris: vec!["http://127.0.0.1/callback".into()],
        post_logout_redirect_uris: vec![],
        backchannel_logout_uri: None,
        public: false,
        secret_post: false,
        first_party,
        scopes: None,
        client_credentials: false,
        id_token_alg: None,
        access_token_alg: None,
    }
}

/// The relying party's HTTP client.
pub fn http() -> openidconnect::reqwest::Client {
    // No redirects: an OIDC client must not follow them (SSRF), and our tests look at them.
    openidconnect::reqwest::ClientBuilder::new()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The client of the `openidconnect` crate, set up from discovery.
pub type RpClient = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// A relying party as an outside developer would build it: registration, discovery, then the
/// client of a certified library.
pub struct RelyingParty {
    pub client: RpClient,
    pub http: openidconnect::reqwest::Client,
    pub id: String,
    pub secret: Option<String>,
}

impl RelyingParty {
    /// Registers a client at `app` (as `oneid client add` would) and discovers it.
    pub async fn register(app: &TestApp, registration: Registration) -> Self {
        let (id, secret) = app.register(registration).await;
        Self::discover(app, &id, secret.as_deref()).await
    }

    /// The client `id` (with `secret`, if confidential) of `app`, from `app`'s discovery.
    pub async fn discover(app: &TestApp, id: &str, secret: Option<&str>) -> Self {
        let http = http();
        let metadata = discovery(app, &http).await;
        Self::build(metadata, http, id, secret)
    }

    /// A client of `issuer` whose token requests go to `token_at` and UserInfo requests to
    /// `userinfo_at`: instances behind the same issuer, as a load balancer would pick them.
    pub async fn across(
        issuer: &TestApp,
        token_at: &TestApp,
        userinfo_at: &TestApp,
        id: &str,
        secret: Option<&str>,
    ) -> Self {
        let http = http();
        let metadata = discovery(issuer, &http)
            .await
            .set_token_endpoint(Some(
                TokenUrl::new(format!("{}/token", token_at.base)).unwrap(),
            ))
            .set_userinfo_endpoint(Some(
                UserInfoUrl::new(format!("{}/userinfo", userinfo_at.base)).unwrap(),
            ));
        Self::build(metadata, http, id, secret)
    }

    fn build(
        metadata: CoreProviderMetadata,
        http: openidconnect::reqwest::Client,
        id: &str,
        secret: Option<&str>,
    ) -> Self {
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(id.into()),
            secret.map(|s| ClientSecret::new(s.into())),
        )
        .set_redirect_uri(RedirectUrl::new(CALLBACK.into()).unwrap());
        Self {
            client,
            http,
            id: id.to_owned(),
            secret: secret.map(str::to_owned),
        }
    }

    pub async fn userinfo(&self, token: &AccessToken) -> Result<CoreUserInfoClaims, String> {
        let request = self
            .client
            .user_info(token.clone(), None)
            .map_err(|e| e.to_string())?;
        let claims: Result<CoreUserInfoClaims, _> = request.request_async(&self.http).await;
        claims.map_err(|e| e.to_string())
    }

    /// An authorization URL with PKCE, state and nonce.
    pub fn authorize_url(&self, scopes: &[&str]) -> (String, CsrfToken, Nonce, PkceCodeVerifier) {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = self.client.authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        );
        for scope in scopes {
            request = request.add_scope(Scope::new((*scope).into()));
        }
        let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
        (url.to_string(), state, nonce, verifier)
    }

    /// The code exchange as the client library does it (the client's authentication, PKCE);
    /// it must give tokens.
    pub async fn redeem(&self, code: &str, verifier: PkceCodeVerifier) -> CoreTokenResponse {
        self.client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .unwrap()
            .set_pkce_verifier(verifier)
            .request_async(&self.http)
            .await
            .unwrap_or_else(|e| panic!("code exchange: {e:?}"))
    }

    /// The refresh token grant as the client library does it (RFC 6749 §6).
    pub async fn refresh(&self, token: &RefreshToken) -> Result<CoreTokenResponse, String> {
        self.client
            .exchange_refresh_token(token)
            .unwrap()
            .request_async(&self.http)
            .await
            .map_err(|e| format!("{e:?}"))
    }
}

async fn discovery(app: &TestApp, http: &openidconnect::reqwest::Client) -> CoreProviderMetadata {
    CoreProviderMetadata::discover_async(IssuerUrl::new(app.base.clone()).unwrap(), http)
        .await
        .expect("discovery")
}

/// The parameters OneID sent back to the client's redirect URI.
pub fn callback(page: &Page) -> HashMap<String, String> {
    let location = page.location.as_deref().unwrap_or_else(|| {
        panic!(
            "expected a redirect to the client, got {}:\n{}",
            page.status, page.body
        )
    });
    assert!(location.starts_with(CALLBACK), "redirected to {location}");
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

/// Signs in to `rp` through `browser` for `scopes`, and returns the tokens the app gets for
/// the code. A browser not signed in yet (sent to "Continue with your number") signs up as Asha
/// (9812345678, "correct horse") on the way, through the sign-up page that the first page links
/// to; a signed-in one comes straight back.
pub async fn signed_in_tokens(
    app: &TestApp,
    rp: &RelyingParty,
    browser: &Browser,
    scopes: &[&str],
) -> CoreTokenResponse {
    let (url, _, _, verifier) = rp.authorize_url(scopes);
    let mut page = browser.get_url(&url).await;
    if page.location.as_deref() == Some("/continue") {
        browser.request_signup_code("9812345678").await;
        page = browser
            .follow(
                browser
                    .enter_signup_code(&app.last_code("+919812345678"), "correct horse", "Asha")
                    .await,
            )
            .await;
    }
    rp.redeem(&callback(&page)["code"], verifier).await
}

/// Signs up a person through the pages with Asha's mobile number (9812345678) and `password`;
/// returns the account ID. The browser stays signed in.
pub async fn sign_up_by_phone(app: &TestApp, browser: &Browser, password: &str) -> String {
    sign_up(app, browser, "9812345678", "+919812345678", password).await
}

/// Signs up Asha through the pages with her mobile number and "correct horse".
pub async fn sign_up_asha(app: &TestApp, browser: &Browser) -> String {
    sign_up_by_phone(app, browser, "correct horse").await
}

/// Enters the unlock `code` on the code page `page` in `browser`, keeping Asha's password: the
/// browser is signed in at once, and her password signs in again anywhere.
pub async fn unlock_keeping_the_password(
    app: &TestApp,
    browser: &Browser,
    page: &Page,
    code: &str,
) {
    browser
        .enter_recovery_code(page, code, "")
        .await
        .assert_redirect("/account");
    assert!(
        browser.account_id().await.is_some(),
        "signed in after unlocking"
    );
    app.browser()
        .sign_in("9812345678", "correct horse")
        .await
        .assert_redirect("/account");
}

/// Signs up a person through the pages with the email address `email` and `password`; returns
/// the account ID. The browser stays signed in.
pub async fn sign_up_by_email(
    app: &TestApp,
    browser: &Browser,
    email: &str,
    password: &str,
) -> String {
    sign_up(app, browser, email, email, password).await
}

/// Gives the account the admin role, as `oneid admin grant` does.
pub async fn make_admin(app: &TestApp, account_id: &str) {
    let id: oneid::domain::AccountId = account_id.parse().expect("an account ID");
    oneid::admin::roles::grant(&app.state.admin, &oneid::domain::Actor::Operator, id)
        .await
        .expect("granting the admin role");
}

/// A new administrator signed in to a browser (a fresh sign-in: no confirmation needed for
/// the next ten minutes). Returns the browser and the account ID.
pub async fn admin_browser(app: &TestApp, phone: &str) -> (Browser, String) {
    let (browser, id, _) = admin_browser_with_app(app, phone).await;
    (browser, id)
}

/// [`admin_browser`], also returning the administrator's authenticator app: the console needs
/// an administrator whose session used a second factor, so the account gets an app and the
/// browser passes the step once.
pub async fn admin_browser_with_app(
    app: &TestApp,
    phone: &str,
) -> (Browser, String, totp_rs::Totp) {
    let browser = app.browser();
    let id = sign_up(
        app,
        &browser,
        phone,
        &format!("+91{phone}"),
        "admin password",
    )
    .await;
    make_admin(app, &id).await;
    let (totp, _) = add_authenticator(app, &browser).await;
    let asked = browser.get("/admin").await;
    asked.assert_redirect(SECOND_FACTOR);
    pass_second_factor(app, &browser, &totp)
        .await
        .assert_redirect("/admin");
    (browser, id, totp)
}

/// The second-factor step's page.
pub const SECOND_FACTOR: &str = "/sign-in/second-factor";

/// Adds an authenticator app to the account signed in to `browser` through the console: the
/// key is read off the enrolment page and codes computed here with `totp-rs`. Returns the
/// generator and the recovery codes shown once; the clock moves on one step, so the next code
/// is a new one (the confirming code's step is used).
pub async fn add_authenticator(app: &TestApp, browser: &Browser) -> (totp_rs::Totp, Vec<String>) {
    let started = browser
        .submit("/account/security", "/account/security/authenticator", &[])
        .await;
    started.assert_redirect("/account/security/authenticator");
    let page = browser.get("/account/security/authenticator").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.has("<svg"), "an inline QR code");
    let totp = totp_generator(&manual_key(&page));
    let added = browser
        .post(
            "/account/security/authenticator/confirm",
            &[("csrf", &page.csrf()), ("code", &totp_code(app, &totp, 0))],
        )
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    let codes = recovery_codes_on(&added);
    app.advance(chrono::Duration::seconds(30));
    (totp, codes)
}

/// The recovery codes a page shows (once).
pub fn recovery_codes_on(page: &Page) -> Vec<String> {
    page.body
        .split("<li><code>")
        .skip(1)
        .map(|rest| rest[..rest.find('<').unwrap()].to_owned())
        .collect()
}

/// Types the app's current code at the second-factor step waiting in `browser`.
pub async fn pass_second_factor(app: &TestApp, browser: &Browser, totp: &totp_rs::Totp) -> Page {
    let page = browser.get(SECOND_FACTOR).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let code = totp_code(app, totp, 0);
    let passed = browser
        .post(
            SECOND_FACTOR,
            &[("csrf", &page.csrf()), ("kind", "totp"), ("code", &code)],
        )
        .await;
    // A code is good once: the next step needs the next one.
    app.advance(chrono::Duration::seconds(30));
    passed
}

/// The base32 key on the enrolment page, without its spaces.
pub fn manual_key(page: &Page) -> String {
    let marker = r#"id="manual-key">"#;
    let start = page.body.find(marker).expect("a manual key") + marker.len();
    let end = start + page.body[start..].find('<').unwrap();
    page.body[start..end].split_whitespace().collect()
}

/// An RFC 6238 generator (SHA-1, 6 digits, 30 s) for the base32 `key`.
pub fn totp_generator(key: &str) -> totp_rs::Totp {
    totp_rs::Builder::new()
        .with_secret(totp_rs::Secret::try_from_base32(key).expect("base32"))
        .build()
        .expect("an RFC 6238 generator")
}

/// The code `steps` steps from the app's clock.
pub fn totp_code(app: &TestApp, totp: &totp_rs::Totp, steps: i64) -> String {
    let at = app.clock.now().timestamp() + steps * 30;
    totp.generate(u64::try_from(at).unwrap()).to_string()
}

/// The admin API as a script would call it: bearer token in, status and JSON out.
pub struct AdminApi {
    pub base: String,
    pub token: String,
    client: reqwest::Client,
}

/// A client of the admin API: a service client registered for the `admin` scope and the
/// client credentials grant, and an access token from `/token`. Returns the API and the
/// client's id.
pub async fn admin_api(app: &TestApp) -> (AdminApi, String) {
    let (id, secret) = app
        .register(Registration {
            redirect_uris: vec![],
            client_credentials: true,
            scopes: Some("admin".into()),
            ..registration("Admin script", false)
        })
        .await;
    let token = client_credentials_token(app, &id, &secret.expect("a secret"), "admin").await;
    (AdminApi::with_token(app, &token), id)
}

/// An access token from the client credentials grant with `scope`.
pub async fn client_credentials_token(
    app: &TestApp,
    id: &str,
    secret: &str,
    scope: &str,
) -> String {
    let reply = reqwest::Client::new()
        .post(format!("{}/token", app.base))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials"), ("scope", scope)])
        .send()
        .await
        .expect("POST /token");
    assert_eq!(reply.status(), StatusCode::OK, "client credentials token");
    let json: serde_json::Value = reply.json().await.unwrap();
    json["access_token"].as_str().unwrap().to_owned()
}

impl AdminApi {
    pub fn with_token(app: &TestApp, token: &str) -> Self {
        Self {
            base: format!("{}/admin/api/v1", app.base),
            token: token.to_owned(),
            client: reqwest::Client::new(),
        }
    }

    /// Sends `method` to `path` (under /admin/api/v1) with an optional JSON body.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (StatusCode, serde_json::Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let reply = request.send().await.expect("admin API request");
        let status = reply.status();
        let text = reply.text().await.unwrap_or_default();
        let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
        (status, json)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, serde_json::Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn post(
        &self,
        path: &str,
        body: serde_json::Value,
    ) -> (StatusCode, serde_json::Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }
}

/// The introspection answer (RFC 7662 §2.2) for `token`, asked by client `id` with `secret`.
pub async fn introspection(
    base: &str,
    id: &str,
    secret: Option<&str>,
    token: &str,
) -> serde_json::Value {
    reqwest::Client::new()
        .post(format!("{base}/introspect"))
        .basic_auth(id, secret)
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Whether introspection says `token` is active, asked by client `id` with `secret`.
pub async fn introspection_active(base: &str, id: &str, secret: Option<&str>, token: &str) -> bool {
    introspection(base, id, secret, token).await["active"]
        .as_bool()
        .unwrap()
}
