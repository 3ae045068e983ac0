//! The audit log: what the OAuth side records (consent, tokens, revocation), what `oneid audit`
//! prints, that no secret of the flow ever reaches the table, and the retention sweep.

use std::time::Duration as StdDuration;

use oneid::{
    audit::{self, AuditEvent, AuditKind},
    db::models::audit::{AuditFilter, AuditRecord, query},
};
use openidconnect::{OAuth2TokenResponse, TokenResponse};
use reqwest::StatusCode;

use super::helpers::{Browser, RelyingParty, TestApp, callback, registration, sign_up};

const PASSWORD: &str = "correct horse battery";

/// Everything secret a flow handled, and who it was for.
struct Flow {
    account_id: String,
    client_id: String,
    secrets: Vec<(&'static str, String)>,
}

/// A person signs up at OneID, then signs in with their password to a third-party app, allows
/// it on the consent page, and the app exchanges the code, refreshes once and revokes.
async fn sign_in_consent_and_tokens(app: &TestApp) -> Flow {
    let (client_id, client_secret) = app.register(registration("Forum", false)).await;
    let client_secret = client_secret.expect("a confidential client");
    let rp = RelyingParty::discover(app, &client_id, Some(&client_secret)).await;
    let account_id = sign_up(app, &app.browser(), "9812345678", "+919812345678", PASSWORD).await;

    let browser = app.browser();
    let (url, _, _, verifier) = rp.authorize_url(&["profile", "offline_access"]);
    browser.get_url(&url).await.assert_redirect("/continue");
    let signed_in = browser.sign_in("9812345678", PASSWORD).await;
    signed_in.assert_redirect("/authorize/resume");
    let consent = browser.follow(signed_in).await;
    assert_eq!(consent.status, StatusCode::OK, "{}", consent.body);
    let code = callback(&allow(&browser, &consent.csrf()).await)["code"].clone();
    let pkce_verifier = verifier.secret().clone();

    let tokens = rp.redeem(&code, verifier).await;
    let refresh = tokens.refresh_token().expect("offline_access").clone();
    let refreshed = rp.refresh(&refresh).await.expect("refresh");
    let last_refresh = refreshed.refresh_token().expect("rotated").secret().clone();
    let revoked = reqwest::Client::new()
        .post(format!("{}/revoke", app.base))
        .basic_auth(&client_id, Some(&client_secret))
        .form(&[("token", last_refresh.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);

    Flow {
        account_id,
        client_id,
        secrets: vec![
            ("password", PASSWORD.to_owned()),
            ("authorization code", code),
            ("PKCE verifier", pkce_verifier),
            ("client secret", client_secret),
            ("access token", tokens.access_token().secret().clone()),
            ("ID token", tokens.id_token().expect("openid").to_string()),
            ("refresh token", refresh.secret().clone()),
            (
                "refreshed access token",
                refreshed.access_token().secret().clone(),
            ),
            ("rotated refresh token", last_refresh),
        ],
    }
}

async fn allow(browser: &Browser, csrf: &str) -> super::helpers::Page {
    browser
        .post("/consent", &[("csrf", csrf), ("decision", "allow")])
        .await
}

/// Every row of the audit table, newest first.
pub(super) async fn every_event(app: &TestApp) -> Vec<AuditRecord> {
    app.state.audit.flush().await;
    app.state
        .db
        .run(|conn| {
            query(
                conn,
                &AuditFilter {
                    account: None,
                    since: None,
                    limit: 100_000,
                },
            )
        })
        .await
        .unwrap()
}

fn find<'a>(events: &'a [AuditRecord], kind: &str, detail: &str) -> &'a AuditRecord {
    events
        .iter()
        .find(|e| e.kind == kind && e.detail.as_deref() == Some(detail))
        .unwrap_or_else(|| panic!("no {kind} ({detail}) in {events:#?}"))
}

#[tokio::test]
async fn consent_and_token_exchange_are_recorded_with_the_client_and_address() {
    let app = TestApp::spawn().await;
    let flow = sign_in_consent_and_tokens(&app).await;
    let events = every_event(&app).await;

    let consent = find(&events, "consent_given", "openid profile offline_access");
    let by_code = find(&events, "token_issued", "authorization_code");
    let by_refresh = find(&events, "token_issued", "refresh_token");
    let revoked = find(&events, "token_revoked", "refresh_token");
    for event in [consent, by_code, by_refresh, revoked] {
        assert_eq!(event.outcome, "ok", "{event:?}");
        assert_eq!(
            event.account_id.map(|a| a.to_string()).as_deref(),
            Some(flow.account_id.as_str()),
            "{event:?}"
        );
        assert_eq!(event.client_id.as_deref(), Some(flow.client_id.as_str()));
        assert_eq!(event.ip.as_deref(), Some("127.0.0.1"), "{event:?}");
    }
    // Newest first: the revocation, the refresh, the exchange, the consent.
    let position = |e: &AuditRecord| events.iter().position(|x| x.id == e.id).unwrap();
    assert!(position(revoked) < position(by_refresh));
    assert!(position(by_refresh) < position(by_code));
    assert!(position(by_code) < position(consent));
}

#[tokio::test]
async fn a_refused_consent_is_recorded_as_refused() {
    let app = TestApp::spawn().await;
    let (client_id, secret) = app.register(registration("Forum", false)).await;
    let rp = RelyingParty::discover(&app, &client_id, secret.as_deref()).await;
    sign_up(
        &app,
        &app.browser(),
        "9812345678",
        "+919812345678",
        PASSWORD,
    )
    .await;
    let browser = app.browser();
    let (url, ..) = rp.authorize_url(&["email"]);
    browser.get_url(&url).await.assert_redirect("/continue");
    let consent = browser
        .follow(browser.sign_in("9812345678", PASSWORD).await)
        .await;
    let denied = browser
        .post(
            "/consent",
            &[("csrf", &consent.csrf()), ("decision", "deny")],
        )
        .await;
    assert_eq!(callback(&denied)["error"], "access_denied");

    let events = every_event(&app).await;
    let refused = find(&events, "consent_given", "openid email");
    assert_eq!(refused.outcome, "refused");
    assert_eq!(refused.client_id.as_deref(), Some(client_id.as_str()));
    assert!(!events.iter().any(|e| e.kind == "token_issued"));
}

#[tokio::test]
async fn oneid_audit_prints_an_accounts_events_as_json() {
    let app = TestApp::spawn().await;
    let flow = sign_in_consent_and_tokens(&app).await;
    // Someone else's event, which the account filter must leave out.
    app.state
        .audit
        .record(
            AuditEvent::new(AuditKind::LoginFailed, audit::Outcome::Failed)
                .account("123456789".parse().unwrap()),
        )
        .await;
    // The server writes its events a moment later, off the requests' path; the shell reads
    // the database.
    app.state.audit.flush().await;

    let output = app
        .oneid_command()
        .args(["audit", "--json", "--account", &flow.account_id])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();
    let account: i64 = flow.account_id.parse().unwrap();
    assert!(rows.iter().all(|r| r["account_id"] == account), "{rows:#?}");
    for (kind, detail) in [
        ("consent_given", "openid profile offline_access"),
        ("token_issued", "authorization_code"),
        ("token_issued", "refresh_token"),
        ("token_revoked", "refresh_token"),
    ] {
        let row = rows
            .iter()
            .find(|r| r["kind"] == kind && r["detail"] == detail)
            .unwrap_or_else(|| panic!("no {kind} ({detail}) in {rows:#?}"));
        assert_eq!(row["client_id"], flow.client_id.as_str());
        assert_eq!(row["ip"], "127.0.0.1");
        assert_eq!(row["outcome"], "ok");
        assert!(
            chrono::DateTime::parse_from_rfc3339(row["at"].as_str().unwrap()).is_ok(),
            "{row}"
        );
    }

    let newest = app
        .oneid_command()
        .args(["audit", "--json", "--since", "1h", "--limit", "1"])
        .output()
        .unwrap();
    let newest: Vec<serde_json::Value> = serde_json::from_slice(&newest.stdout).unwrap();
    assert_eq!(newest.len(), 1);
    assert_eq!(newest[0]["kind"], "login_failed");

    let table = app
        .oneid_command()
        .args(["audit", "--account", &flow.account_id])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(table.starts_with("AT (UTC)"), "{table}");
    assert!(
        table.contains("token_issued") && table.contains(&flow.client_id),
        "{table}"
    );

    let bad = app
        .oneid_command()
        .args(["audit", "--since", "yesterday"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("24h"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}

#[tokio::test]
async fn admin_commands_are_recorded_as_admin_actions() {
    let app = TestApp::spawn().await;
    let added = app
        .oneid_command()
        .args([
            "client",
            "add",
            "--name",
            "Talk",
            "--redirect-uri",
            "https://talk.example.com/callback",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let added: serde_json::Value = serde_json::from_slice(&added.stdout).unwrap();
    let client_id = added["client_id"].as_str().unwrap().to_owned();
    let secret = added["client_secret"].as_str().unwrap().to_owned();
    for args in [
        vec!["client", "rotate-secret", &client_id],
        vec!["client", "remove", &client_id],
        vec!["keys", "rotate", "--alg", "ES256"],
    ] {
        let output = app.oneid_command().args(&args).output().unwrap();
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    let events = every_event(&app).await;
    let actions: Vec<&str> = events
        .iter()
        .filter(|e| e.kind == "admin_action")
        .filter_map(|e| e.detail.as_deref())
        .collect();
    // The rotation names the next key it introduced (before → after).
    assert!(
        actions[0].starts_with("keys rotate (ES256): next none → ES256:"),
        "{}",
        actions[0]
    );
    assert_eq!(
        actions[1..],
        [
            format!("client remove {client_id}: \"Talk\" → none"),
            format!("client rotate-secret {client_id}"),
            format!("client add {client_id}"),
        ]
    );
    let removed = find(
        &events,
        "admin_action",
        &format!("client remove {client_id}: \"Talk\" → none"),
    );
    assert_eq!(removed.client_id.as_deref(), Some(client_id.as_str()));
    assert_eq!(removed.ip, None, "typed at the operator's shell");
    assert!(
        events.iter().all(|e| !format!("{e:?}").contains(&secret)),
        "{events:#?}"
    );
}

#[tokio::test]
async fn no_password_code_or_token_ever_reaches_the_audit_log() {
    let app = TestApp::spawn().await;
    let flow = sign_in_consent_and_tokens(&app).await;
    let events = every_event(&app).await;
    assert!(events.len() >= 4, "{events:#?}");
    // Every column of every row, as one text.
    let table: String = events
        .iter()
        .map(|e| {
            let AuditRecord {
                id,
                at,
                kind,
                account_id,
                client_id,
                ip,
                user_agent,
                outcome,
                detail,
                actor,
            } = e;
            format!(
                "{id}|{at}|{kind}|{account_id:?}|{client_id:?}|{ip:?}|{user_agent:?}|{outcome}|{detail:?}|{actor:?}\n"
            )
        })
        .collect();
    for (what, secret) in &flow.secrets {
        assert!(secret.len() >= 8, "{what}: {secret}");
        assert!(
            !table.contains(secret.as_str()),
            "the {what} is in the audit log:\n{table}"
        );
    }
}

#[tokio::test]
async fn events_past_retention_are_deleted_by_the_hourly_sweep() {
    let app = TestApp::spawn_with(|s| s.audit.retention_days = 30).await;
    app.state
        .audit
        .record(AuditEvent::admin_action("old"))
        .await;
    app.advance(chrono::Duration::days(31));
    app.state
        .audit
        .record(AuditEvent::admin_action("recent"))
        .await;

    // The sweep wakes every second and acts once an hour of the app's clock has passed.
    let mut details = Vec::new();
    for _ in 0..100 {
        details = every_event(&app)
            .await
            .into_iter()
            .filter_map(|e| e.detail)
            .collect();
        if details == ["recent"] {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    assert_eq!(details, ["recent"]);
}
