//! The three grants run whole, through oxide-auth's machines and the engine, over a temporary
//! SQLite database and the memory store, without HTTP: where a grant's rules live in different
//! primitives (client authentication, the code, the scope), a request that breaks several of
//! them still gets the first rule's error, and a refused request leaves nothing behind. And
//! the introspection of a token one of them gave, for how often it reads the store.

use std::{sync::Arc, time::Duration as StdDuration};

use base64::{Engine as _, engine::general_purpose::STANDARD};
use chrono::Duration;

use super::{GrantError, Granted};
use crate::{
    audit::Audit,
    clock::{Clock, MockClock},
    config::Settings,
    db::models::{
        account::{self, NewAccount},
        client::{self, Client},
        connected_app,
        grant::{self, Outlived},
    },
    domain::{
        AccountId, ClientId, ClientSecret, DisplayName, Email, GrantType, Issuer, PasswordHash,
        Scopes,
    },
    oauth::{
        Context,
        code::{CodeRecord, SignInContext, code_key},
        params::Params,
        pkce::Challenge,
    },
    oidc::keys::{KeyEncryptionKey, SigningKeys, ensure_keys},
    store::{EphemeralStore, testing::ProbedStore},
};

const CALLBACK: &str = "https://rp.example/cb";
// RFC 7636 Appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// The core's context over a fresh database, with one account in it.
struct Fixture {
    _dir: tempfile::TempDir,
    ctx: Context,
    store: Arc<ProbedStore>,
    clock: MockClock,
    account: AccountId,
}

impl Fixture {
    async fn new() -> Self {
        let (dir, db) = crate::db::testing::temp_sqlite();
        let clock = MockClock::starting_now();
        let shared: Arc<dyn Clock> = Arc::new(clock.clone());
        let ring = ensure_keys(&db, &KeyEncryptionKey::from_bytes([7; 32]), clock.now())
            .await
            .unwrap();
        let settings = Settings::default();
        let now = clock.now();
        let account = db
            .with_conn(|conn| {
                let new = NewAccount {
                    phone: None,
                    email: Some(Email::parse("ravi@example.com").unwrap()),
                    display_name: DisplayName::parse("Ravi").unwrap(),
                    password_hash: Some(PasswordHash::from_stored("$argon2id$v=19$stub".into())),
                };
                Ok(account::create(conn, &new, now).expect("an account").id)
            })
            .unwrap();
        let counting = ProbedStore::local(shared.clone());
        let store: Arc<dyn EphemeralStore> = counting.clone();
        let ctx = Context {
            warm: crate::oauth::warm::Warm::new(store.clone()),
            store,
            keys: SigningKeys::new(ring),
            issuer: Issuer::from_url(&settings.issuer),
            settings: Arc::new(settings.oauth.clone()),
            audit: Audit::new(db.clone(), shared.clone(), &settings.audit),
            clock: shared,
            db,
            confirmation_key: crate::oauth::logout::ConfirmationKey::new([7; 32]),
        };
        Self {
            _dir: dir,
            ctx,
            store: counting,
            clock,
            account,
        }
    }

    /// Registers a confidential (Basic) client for `grant_types`; returns it and its secret.
    fn client(&self, scopes: &str, grant_types: &[GrantType]) -> (Client, ClientSecret) {
        let secret = ClientSecret::generate();
        let client = super::tests::client(Some(&secret), scopes, grant_types);
        self.ctx
            .db
            .with_conn(|conn| client::insert(conn, &client))
            .unwrap();
        (client, secret)
    }

    /// An authorization code for `client`, as the authorization endpoint would have stored it.
    async fn code(&self, client: &Client, scope: &str) -> String {
        let code = format!("code-{}", ClientId::generate());
        let now = self.clock.now();
        let record = CodeRecord {
            client_id: client.id.to_string(),
            redirect_uri: CALLBACK.into(),
            scope: scope.into(),
            expires_at: now + Duration::seconds(60),
            issued_at: Some(now),
            pkce: Challenge::from_request(Some(CHALLENGE), Some("S256"), true).unwrap(),
            sign_in: SignInContext {
                account_id: self.account,
                sub: "the-subject".into(),
                auth_time: now,
                sid: "sid-1".into(),
                amr: vec!["pwd".into()],
                nonce: Some("n".into()),
                acr: None,
            },
        };
        self.ctx
            .store
            // Kept past its deadline, as a store may (Redis TTLs are whole seconds): the
            // record's own deadline is the rule.
            .put_json(
                &code_key(&client.id, &code),
                &record,
                StdDuration::from_secs(120),
            )
            .await
            .unwrap();
        let (account, client_id) = (self.account, client.id.clone());
        self.ctx
            .db
            .with_conn(|conn| connected_app::record_use(conn, account, &client_id, now))
            .unwrap();
        code
    }

    /// A code for `client` with `scope`, redeemed by it with everything right: the code (to
    /// replay) and what it gave.
    async fn redeemed(
        &self,
        client: &Client,
        secret: &ClientSecret,
        scope: &str,
    ) -> (String, Granted) {
        let code = self.code(client, scope).await;
        let form = redeem(&code, CALLBACK, VERIFIER);
        let granted =
            crate::oauth::token::exchange_code(&self.ctx, request(client, secret.expose(), &form))
                .await
                .unwrap();
        (code, granted)
    }

    /// The password changes now (after every sign-in so far).
    fn change_password(&self) {
        self.clock.advance(Duration::seconds(1));
        let (account, now) = (self.account, self.clock.now());
        self.ctx
            .db
            .with_conn(|conn| {
                let hash = PasswordHash::from_stored("$argon2id$v=19$other".into());
                account::set_password(conn, account, &hash, now)
            })
            .unwrap();
    }

    fn grant_revoked(&self, granted: &Granted) -> bool {
        let id = granted.issued.grant.id.clone();
        self.ctx
            .db
            .with_conn(|conn| grant::find(conn, &id))
            .unwrap()
            .expect("the grant")
            .revoked_at
            .is_some()
    }
}

/// A token request from `client`, authenticated by Basic with `secret`.
fn request(client: &Client, secret: &str, form: &[(&str, &str)]) -> Params {
    let pairs = form
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{secret}", client.id))
    );
    Params::from_pairs(pairs)
        .unwrap()
        .with_basic_header(Some(&basic))
        .unwrap()
}

fn redeem<'a>(code: &'a str, redirect_uri: &'a str, verifier: &'a str) -> [(&'a str, &'a str); 4] {
    [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("code_verifier", verifier),
    ]
}

fn refresh(token: &str) -> [(&str, &str); 2] {
    [("grant_type", "refresh_token"), ("refresh_token", token)]
}

const CODE_AND_REFRESH: &[GrantType] = &[GrantType::AuthorizationCode, GrantType::RefreshToken];

#[tokio::test]
async fn the_code_grant_checks_the_client_first_and_a_refused_request_keeps_the_code() {
    let app = Fixture::new().await;
    let (cloud, secret) = app.client("openid offline_access", CODE_AND_REFRESH);
    let code = app.code(&cloud, "openid offline_access").await;

    let everything_wrong = request(&cloud, "not-the-secret", &redeem(&code, "https://x", "x"));
    let refused = crate::oauth::token::exchange_code(&app.ctx, everything_wrong).await;
    assert_eq!(refused.err(), Some(GrantError::ClientAuthFailed));

    let right = request(&cloud, secret.expose(), &redeem(&code, CALLBACK, VERIFIER));
    let granted = crate::oauth::token::exchange_code(&app.ctx, right)
        .await
        .unwrap();
    assert!(granted.id_token.is_some(), "openid gives an ID token");
    assert!(
        granted.issued.refresh_token.is_some(),
        "offline_access gives a refresh token"
    );
}

#[tokio::test]
async fn another_client_finds_no_code_to_take_and_leaves_it_to_its_own() {
    let app = Fixture::new().await;
    let (cloud, cloud_secret) = app.client("openid", CODE_AND_REFRESH);
    let (talk, talk_secret) = app.client("openid", CODE_AND_REFRESH);
    let code = app.code(&cloud, "openid").await;

    // RFC 6749 §4.1.3: everything right but the client.
    let form = redeem(&code, CALLBACK, VERIFIER);
    let stolen =
        crate::oauth::token::exchange_code(&app.ctx, request(&talk, talk_secret.expose(), &form));
    assert_eq!(stolen.await.err(), Some(GrantError::CodeInvalid));

    let own =
        crate::oauth::token::exchange_code(&app.ctx, request(&cloud, cloud_secret.expose(), &form));
    assert!(own.await.is_ok(), "the code is still its own client's");
}

#[tokio::test]
async fn a_code_replayed_with_the_whole_proof_revokes_what_it_gave() {
    let app = Fixture::new().await;
    let (cloud, secret) = app.client("openid", CODE_AND_REFRESH);
    let (code, first) = app.redeemed(&cloud, &secret, "openid").await;

    // Without the verifier: someone who saw the code, not its client. Nothing is revoked.
    let stray = redeem(&code, CALLBACK, "");
    let refused =
        crate::oauth::token::exchange_code(&app.ctx, request(&cloud, secret.expose(), &stray));
    assert_eq!(refused.await.err(), Some(GrantError::CodeInvalid));
    assert!(!app.grant_revoked(&first));

    let form = redeem(&code, CALLBACK, VERIFIER);
    let replay =
        crate::oauth::token::exchange_code(&app.ctx, request(&cloud, secret.expose(), &form));
    assert_eq!(replay.await.err(), Some(GrantError::CodeReplayed));
    assert!(app.grant_revoked(&first));
}

#[tokio::test]
async fn a_code_whose_sign_in_no_longer_stands_is_refused_before_its_verifier_is_checked() {
    let app = Fixture::new().await;
    let (cloud, secret) = app.client("openid", CODE_AND_REFRESH);
    let code = app.code(&cloud, "openid").await;
    app.change_password();
    let wrong_verifier = redeem(&code, CALLBACK, "too-short");
    let refused = crate::oauth::token::exchange_code(
        &app.ctx,
        request(&cloud, secret.expose(), &wrong_verifier),
    );
    assert_eq!(
        refused.await.err(),
        Some(GrantError::Outlived(Outlived::PasswordChanged))
    );
}

/// A code whose account was deleted after it was issued gives nothing, with or without
/// `openid` (without it no ID token would have read the account), and writes no grant.
#[tokio::test]
async fn a_code_for_a_deleted_account_gives_nothing() {
    let app = Fixture::new().await;
    let (cloud, secret) = app.client("openid offline_access", CODE_AND_REFRESH);
    let with_openid = app.code(&cloud, "openid").await;
    let without = app.code(&cloud, "offline_access").await;
    let (account, now) = (app.account, app.clock.now());
    app.ctx
        .db
        .with_conn(|conn| account::erase(conn, account, now, &[]))
        .unwrap();
    for code in [with_openid, without] {
        let form = redeem(&code, CALLBACK, VERIFIER);
        let refused =
            crate::oauth::token::exchange_code(&app.ctx, request(&cloud, secret.expose(), &form));
        assert_eq!(refused.await.err(), Some(GrantError::AccountGone));
    }
    let grants = app
        .ctx
        .db
        .with_conn(|conn| grant::live_for_session(conn, "sid-1", now))
        .unwrap();
    assert!(grants.is_empty(), "{grants:?}");
}

#[tokio::test]
async fn a_refresh_token_used_twice_revokes_its_grant() {
    let app = Fixture::new().await;
    let (cloud, secret) = app.client("openid offline_access", CODE_AND_REFRESH);
    let (_, first) = app.redeemed(&cloud, &secret, "openid offline_access").await;
    let old = first.issued.refresh_token.clone().unwrap();

    let rotated =
        crate::oauth::token::refresh(&app.ctx, request(&cloud, secret.expose(), &refresh(&old)))
            .await
            .unwrap();
    let new = rotated.issued.refresh_token.clone().unwrap();
    assert_ne!(new, old);
    assert!(rotated.id_token.is_none());

    let reused =
        crate::oauth::token::refresh(&app.ctx, request(&cloud, secret.expose(), &refresh(&old)));
    assert_eq!(reused.await.err(), Some(GrantError::RefreshReused));
    assert!(app.grant_revoked(&first));
    let dead =
        crate::oauth::token::refresh(&app.ctx, request(&cloud, secret.expose(), &refresh(&new)));
    assert_eq!(dead.await.err(), Some(GrantError::RefreshDead));
}

#[tokio::test]
async fn another_clients_refresh_is_refused_before_the_sign_in_check_so_revokes_nothing() {
    let app = Fixture::new().await;
    let (cloud, secret) = app.client("openid offline_access", CODE_AND_REFRESH);
    let (talk, talk_secret) = app.client("openid offline_access", CODE_AND_REFRESH);
    let (_, granted) = app.redeemed(&cloud, &secret, "openid offline_access").await;
    let token = granted.issued.refresh_token.clone().unwrap();
    app.change_password();

    let stolen = crate::oauth::token::refresh(
        &app.ctx,
        request(&talk, talk_secret.expose(), &refresh(&token)),
    );
    assert_eq!(stolen.await.err(), Some(GrantError::RefreshDead));
    assert!(
        !app.grant_revoked(&granted),
        "a stranger's request revokes nothing"
    );

    let own =
        crate::oauth::token::refresh(&app.ctx, request(&cloud, secret.expose(), &refresh(&token)));
    assert_eq!(
        own.await.err(),
        Some(GrantError::Outlived(Outlived::PasswordChanged))
    );
    assert!(app.grant_revoked(&granted));
}

#[tokio::test]
async fn client_credentials_checks_the_client_then_the_grant_type_then_the_scope() {
    let app = Fixture::new().await;
    let (backup, secret) = app.client("openid email", &[GrantType::ClientCredentials]);
    let (cloud, cloud_secret) = app.client("openid", CODE_AND_REFRESH);
    let unknown_scope = [("grant_type", "client_credentials"), ("scope", "phone")];

    let wrong_secret =
        crate::oauth::token::client_credentials(&app.ctx, request(&backup, "x", &unknown_scope));
    assert_eq!(wrong_secret.await.err(), Some(GrantError::ClientAuthFailed));
    let not_registered = request(&cloud, cloud_secret.expose(), &unknown_scope);
    assert_eq!(
        crate::oauth::token::client_credentials(&app.ctx, not_registered)
            .await
            .err(),
        Some(GrantError::GrantTypeNotAllowed)
    );
    let no_scope = request(&backup, secret.expose(), &unknown_scope);
    assert_eq!(
        crate::oauth::token::client_credentials(&app.ctx, no_scope)
            .await
            .err(),
        Some(GrantError::NoScope)
    );

    let plain = request(
        &backup,
        secret.expose(),
        &[("grant_type", "client_credentials")],
    );
    let granted = crate::oauth::token::client_credentials(&app.ctx, plain)
        .await
        .unwrap();
    assert_eq!(granted.issued.grant.account_id, None);
    assert_eq!(
        granted.issued.grant.scope,
        Scopes::parse_strict("openid email").unwrap()
    );
    assert!(granted.issued.refresh_token.is_none() && granted.id_token.is_none());
}

#[tokio::test]
async fn an_expired_code_is_expired_whatever_else_is_wrong() {
    let app = Fixture::new().await;
    let (cloud, secret) = app.client("openid", CODE_AND_REFRESH);
    let code = app.code(&cloud, "openid").await;
    app.clock.advance(Duration::seconds(60));
    let late = redeem(&code, "https://rp.example/other", "too-short");
    let refused =
        crate::oauth::token::exchange_code(&app.ctx, request(&cloud, secret.expose(), &late));
    assert_eq!(refused.await.err(), Some(GrantError::CodeExpired));
}

#[tokio::test]
async fn an_introspection_reads_the_warm_copies_epoch_once() {
    let app = Fixture::new().await;
    let (backup, secret) = app.client("openid", &[GrantType::ClientCredentials]);
    let token = request(
        &backup,
        secret.expose(),
        &[("grant_type", "client_credentials")],
    );
    let granted = crate::oauth::token::client_credentials(&app.ctx, token)
        .await
        .unwrap();

    let reads_before = app.store.reads();
    let asked = request(&backup, secret.expose(), &[]);
    let client = crate::oauth::client_auth::authenticate(&app.ctx, &asked)
        .await
        .unwrap();
    let answer =
        crate::oauth::revocation::introspect(&app.ctx, &client, &granted.issued.access_token, None)
            .await
            .unwrap();
    assert!(answer.active);
    // Client authentication read it; the token's grant is checked under the same read.
    assert_eq!(app.store.reads() - reads_before, 1);
}
