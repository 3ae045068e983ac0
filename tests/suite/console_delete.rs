//! Deleting the account (issue 12, point 8): from the console after a code, and with
//! `oneid user delete`. Deletion signs out everywhere (apps told), kills every token, erases
//! the personal data, keeps the account ID and `sub` unused, frees the phone for a new sign-up,
//! strips the account's audit events, and tells the owner.

use diesel::prelude::*;
use oneid::{
    db::{
        models::{
            account::{self, Account, AccountStatus},
            audit::{AuditFilter, AuditRecord, query},
        },
        schema::accounts,
    },
    domain::AccountId,
};
use openidconnect::{OAuth2TokenResponse, TokenResponse};
use reqwest::StatusCode;

use super::{
    backchannel::{told_of_logouts, wait_for},
    helpers::{
        Browser, OutboxLine, Page, RelyingParty, TestApp, sign_up_asha, sign_up_by_email,
        signed_in_tokens, wrong,
    },
    oidc::jwt_part,
};

const PHONE: &str = "+919812345678";

async fn load(app: &TestApp, id: &str) -> Option<Account> {
    let id: AccountId = id.parse().unwrap();
    app.state
        .db
        .run(move |conn| account::find_by_id(conn, id))
        .await
        .unwrap()
}

async fn events_of(app: &TestApp, id: &str) -> Vec<AuditRecord> {
    app.state.audit.flush().await;
    let filter = AuditFilter {
        account: Some(id.parse().unwrap()),
        since: None,
        limit: 10_000,
    };
    app.state
        .db
        .run(move |conn| query(conn, &filter))
        .await
        .unwrap()
}

/// The account's language, as the profile page stores it.
async fn set_locale(app: &TestApp, id: &str, code: &'static str) {
    let id: i64 = id.parse().unwrap();
    app.state
        .db
        .run(move |conn| {
            diesel::update(accounts::table.filter(accounts::account_id.eq(id)))
                .set(accounts::locale.eq(code))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
}

/// Messages to `to` for `purpose`, waiting a little for those sent after the answer.
async fn wait_for_messages(app: &TestApp, to: &str, purpose: &str) -> Vec<OutboxLine> {
    for _ in 0..100 {
        let found: Vec<_> = app
            .messages_to(to)
            .into_iter()
            .filter(|m| m.purpose == purpose)
            .collect();
        if !found.is_empty() {
            return found;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    Vec::new()
}

/// Opens the deletion page and asks for the code to the account's contact of `kind`.
async fn ask_for_code(browser: &Browser, kind: &str) -> Page {
    let page = browser.get("/account/delete").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    browser
        .post("/account/delete", &[("csrf", &page.csrf()), ("kind", kind)])
        .await
}

async fn enter_code(browser: &Browser, kind: &str, code: &str) -> Page {
    let page = browser
        .get(&format!("/account/delete/confirm?kind={kind}"))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    browser
        .post(
            "/account/delete/confirm",
            &[("csrf", &page.csrf()), ("kind", kind), ("code", code)],
        )
        .await
}

async fn introspect(app: &TestApp, rp: &RelyingParty, token: &str) -> serde_json::Value {
    super::helpers::introspection(&app.base, &rp.id, rp.secret.as_deref(), token).await
}

/// A sign-in refused as a wrong password is: the page that answers an unknown identifier.
fn assert_refused_like_unknown(refused: &Page, unknown: &Page, typed: &[&str]) {
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(refused.has("That account and password do not match"));
    assert_eq!(refused.normalised(typed), unknown.normalised(typed));
}

#[tokio::test]
async fn deleting_the_account_ends_everything_erases_it_and_frees_the_phone() {
    let app = TestApp::spawn().await;
    let (rp, logout_tokens) = told_of_logouts(&app, "Cloud").await;
    let browser = app.browser();
    let tokens = signed_in_tokens(&app, &rp, &browser, &["profile", "offline_access"]).await;
    let id_token = tokens.id_token().unwrap().to_string();
    let old_sub = jwt_part(&id_token, 1)["sub"].as_str().unwrap().to_owned();
    let old_id = browser.account_id().await.expect("signed in");
    // The person chose Hindi for their account; the page they delete from is in English.
    set_locale(&app, &old_id, "hi").await;
    let before = events_of(&app, &old_id).await;
    assert!(before.iter().any(|e| e.ip.is_some()), "{before:#?}");

    let page = browser.get("/account/delete").await;
    for promise in [
        "cannot be undone",
        "signed out everywhere",
        "erased",
        "sign up again",
    ] {
        assert!(
            page.has(promise),
            "the page says {promise:?}:\n{}",
            page.body
        );
    }
    ask_for_code(&browser, "phone")
        .await
        .assert_redirect("/account/delete/confirm?kind=phone");
    let code = app.wait_for_code(PHONE, "delete", 0).await;
    assert_eq!(code.len(), 6, "a six-digit code");
    let done = enter_code(&browser, "phone", &code).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.has("Your account was deleted"), "{}", done.body);
    browser.get("/account").await.assert_redirect("/login");

    // The row stays, erased: the account ID and `sub` are never issued again.
    let erased = load(&app, &old_id).await.expect("the row stays");
    assert_eq!(erased.status, AccountStatus::Deleted);
    assert_eq!(erased.sub.as_str(), old_sub);
    assert!(erased.phone.is_none() && erased.email.is_none() && erased.locale.is_none());
    assert_eq!(erased.display_name.as_str(), "");
    assert!(
        !erased
            .password_hash
            .is_some_and(|h| h.as_str().starts_with('$'))
    );

    // Password sign-in is refused, by phone and by account ID, exactly as for nobody.
    let (nobody_phone, nobody_id) = ("9898989898", "987654321");
    let unknown = app.browser().sign_in(nobody_phone, "correct horse").await;
    let refused = app.browser().sign_in("9812345678", "correct horse").await;
    assert_refused_like_unknown(&refused, &unknown, &["9812345678", nobody_phone]);
    let unknown = app.browser().sign_in(nobody_id, "correct horse").await;
    let refused = app.browser().sign_in(&old_id, "correct horse").await;
    assert_refused_like_unknown(&refused, &unknown, &[&old_id, nobody_id]);

    // Every token of the app is dead, and the app was told by back-channel logout.
    let refresh = tokens
        .refresh_token()
        .expect("offline access gives a refresh token");
    assert!(
        rp.refresh(refresh).await.is_err(),
        "the refresh token fails"
    );
    let access = tokens.access_token().secret();
    assert_eq!(
        introspect(&app, &rp, access).await,
        serde_json::json!({ "active": false })
    );
    assert!(rp.userinfo(tokens.access_token()).await.is_err());
    let told = wait_for(&logout_tokens, 1).await;
    assert_eq!(told.len(), 1, "the app gets one logout token");
    assert_eq!(jwt_part(&told[0], 1)["sub"], old_sub.as_str());

    // The audit log keeps the account's events, pseudonymous; the deletion is recorded.
    let after = events_of(&app, &old_id).await;
    for kind in ["signup", "token_issued", "account_deleted"] {
        assert!(after.iter().any(|e| e.kind == kind), "{kind}: {after:#?}");
    }
    for event in &after {
        assert_eq!((&event.ip, &event.user_agent), (&None, &None), "{event:?}");
        let detail = event.detail.as_deref().unwrap_or_default();
        for personal in ["9812345678", "@", "127.0.0.1", "Asha"] {
            assert!(!detail.contains(personal), "{event:?}");
        }
    }
    let deleted = after.iter().find(|e| e.kind == "account_deleted");
    assert_eq!(deleted.and_then(|e| e.detail.as_deref()), Some("owner"));

    // The owner is told, in the account's language, without a code or a link.
    let notices = wait_for_messages(&app, PHONE, "deleted-notice").await;
    assert_eq!(notices.len(), 1, "one deletion notice");
    let notice = &notices[0];
    assert_eq!(notice.code, "");
    assert!(
        notice.text.contains("हटा दिया गया"),
        "in Hindi: {}",
        notice.text
    );
    assert!(!notice.text.contains(&code) && !notice.text.contains("http"));

    // The phone signs up again (once the first sign-up code's resend pause is over): a new
    // account, with a new ID and `sub`.
    app.advance(chrono::Duration::seconds(
        app.settings.codes.resend_cooldown_secs + 1,
    ));
    let again = app.browser();
    let new_id = sign_up_asha(&app, &again).await;
    assert_ne!(new_id, old_id);
    let fresh = load(&app, &new_id).await.unwrap();
    assert_ne!(fresh.sub.as_str(), old_sub);
    assert_eq!(
        fresh.phone.map(|p| p.as_e164().to_owned()).as_deref(),
        Some(PHONE)
    );
}

#[tokio::test]
async fn a_wrong_code_deletes_nothing() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let id = sign_up_asha(&app, &browser).await;
    ask_for_code(&browser, "phone").await;
    let code = app.wait_for_code(PHONE, "delete", 0).await;

    let refused = enter_code(&browser, "phone", &wrong(&code)).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.has("Tries left: 4"), "{}", refused.body);
    let typo = enter_code(&browser, "phone", "12ab56").await;
    assert_eq!(typo.status, StatusCode::UNPROCESSABLE_ENTITY);
    let long = enter_code(&browser, "phone", &"1".repeat(5000)).await;
    assert_eq!(long.status, StatusCode::UNPROCESSABLE_ENTITY);

    assert_eq!(load(&app, &id).await.unwrap().status, AccountStatus::Active);
    assert_eq!(browser.account_id().await.as_deref(), Some(id.as_str()));
    app.browser()
        .sign_in("9812345678", "correct horse")
        .await
        .assert_redirect("/account");
    assert!(
        !events_of(&app, &id)
            .await
            .iter()
            .any(|e| e.kind == "account_deleted")
    );
}

#[tokio::test]
async fn forged_anonymous_and_foreign_requests_change_nothing() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let id = sign_up_asha(&app, &browser).await;

    // A forged form (no or another session's CSRF token) is refused.
    for path in ["/account/delete", "/account/delete/confirm"] {
        let forged = browser
            .post(
                path,
                &[("csrf", "forged"), ("kind", "phone"), ("code", "123456")],
            )
            .await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN, "{path}");
    }
    // Nobody signed in: to the sign-in page, nothing sent.
    let stranger = app.browser();
    let csrf = stranger.get("/login").await.csrf();
    for path in ["/account/delete", "/account/delete/confirm"] {
        stranger
            .post(
                path,
                &[("csrf", &csrf), ("kind", "phone"), ("code", "123456")],
            )
            .await
            .assert_redirect("/login");
    }
    stranger
        .get("/account/delete")
        .await
        .assert_redirect("/login");

    // A contact the account does not have, or a made-up kind: a friendly 404.
    for kind in ["email", "pigeon", &"x".repeat(5000)] {
        let page = ask_for_code(&browser, kind).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{kind:.10}");
        assert!(page.has("not there any more"), "{}", page.body);
    }
    let page = browser.get("/account/delete/confirm?kind=email").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);

    assert!(wait_for_messages(&app, PHONE, "delete").await.is_empty());
    assert_eq!(load(&app, &id).await.unwrap().status, AccountStatus::Active);
}

#[tokio::test]
async fn an_old_sign_in_confirms_first() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let id = sign_up_by_email(&app, &browser, "asha@example.com", "correct horse").await;
    let page = browser.get("/account/delete").await;
    let csrf = page.csrf();
    app.advance(chrono::Duration::seconds(
        app.settings.session.reauth_window_secs + 60,
    ));

    browser
        .get("/account/delete")
        .await
        .assert_redirect("/account/confirm?next=%2Faccount%2Fdelete");
    browser
        .post("/account/delete", &[("csrf", &csrf), ("kind", "email")])
        .await
        .assert_redirect("/account/confirm?next=%2Faccount%2Fdelete");
    browser
        .post(
            "/account/delete/confirm",
            &[("csrf", &csrf), ("kind", "email"), ("code", "123456")],
        )
        .await
        .assert_redirect("/account/confirm?next=%2Faccount%2Fdelete%2Fconfirm%3Fkind%3Demail");
    assert!(
        wait_for_messages(&app, "asha@example.com", "delete")
            .await
            .is_empty()
    );
    assert_eq!(load(&app, &id).await.unwrap().status, AccountStatus::Active);
}

#[tokio::test]
async fn oneid_user_delete_does_the_same_for_operators() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let email = "asha@example.com";
    let id = sign_up_by_email(&app, &browser, email, "correct horse").await;
    // The sign-up's events reach the database a moment after its requests; the shell, another
    // process, erases what is there (a request still in flight can always land after it).
    app.state.audit.flush().await;

    let run = |args: &[&str]| app.oneid_command().args(args).output().unwrap();
    let deleted = run(&["user", "delete", &id]);
    let stdout = String::from_utf8_lossy(&deleted.stdout);
    assert!(
        deleted.status.success(),
        "{}",
        String::from_utf8_lossy(&deleted.stderr)
    );
    assert!(stdout.contains("deleted"), "{stdout}");

    browser.get("/account").await.assert_redirect("/login");
    let refused = app.browser().sign_in(email, "correct horse").await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let erased = load(&app, &id).await.unwrap();
    assert_eq!(erased.status, AccountStatus::Deleted);
    assert!(erased.email.is_none());

    // The notice went out before the command ended, in the default language.
    let notices: Vec<_> = app
        .messages_to(email)
        .into_iter()
        .filter(|m| m.purpose == "deleted-notice")
        .collect();
    assert_eq!(notices.len(), 1);
    assert!(notices[0].text.contains("was deleted") && notices[0].code.is_empty());

    // Recorded as the operator's command and as the deletion; no address anywhere.
    let events = events_of(&app, &id).await;
    assert!(
        events
            .iter()
            .all(|e| e.ip.is_none() && e.user_agent.is_none())
    );
    let detail_of = |kind: &str| {
        events
            .iter()
            .find(|e| e.kind == kind)
            .and_then(|e| e.detail.clone())
    };
    assert_eq!(detail_of("account_deleted").as_deref(), Some("operator"));
    assert_eq!(detail_of("admin_action").as_deref(), Some("user delete"));

    // Listed as deleted; neither locked nor unlocked again; deleting again changes nothing.
    let listed = run(&["user", "list", "--json"]);
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&listed.stdout).unwrap();
    let row = rows
        .iter()
        .find(|r| r["account_id"].as_i64() == id.parse().ok())
        .unwrap();
    assert_eq!(row["status"], "deleted");
    assert!(row["email"].is_null());
    for command in ["lock", "unlock"] {
        let refused = run(&["user", command, &id]);
        assert!(!refused.status.success(), "user {command}");
        assert!(String::from_utf8_lossy(&refused.stderr).contains("was deleted"));
    }
    assert_eq!(
        load(&app, &id).await.unwrap().status,
        AccountStatus::Deleted
    );
    let again = run(&["user", "delete", &id]);
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("already"));
    let missing = run(&["user", "delete", "987654321"]);
    assert!(!missing.status.success());
}
