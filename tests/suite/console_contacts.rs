//! The account console's Phone and email: adding a phone or an email with a code sent to it,
//! changing either, removing one while another remains; a contact of another account refused
//! only after its code; the owner told at the old contacts, in the account's language, never
//! with a code.

use diesel::prelude::*;
use oneid::{
    db::{
        models::{
            account,
            audit::{AuditFilter, AuditRecord, query},
        },
        schema::accounts,
    },
    domain::AccountId,
};
use openidconnect::{OAuth2TokenResponse, core::CoreUserInfoClaims};
use reqwest::StatusCode;

use super::helpers::{
    Browser, OutboxLine, Page, RelyingParty, TestApp, registration, sign_up, sign_up_asha,
    sign_up_by_email, signed_in_tokens, wrong,
};

const PHONE: &str = "9812345678";
const E164: &str = "+919812345678";
const EMAIL: &str = "asha@example.com";
const PASSWORD: &str = "correct horse";

/// Codes to one contact go out once a minute.
fn past_cooldown(app: &TestApp) {
    app.advance(chrono::Duration::seconds(61));
}

/// Types `contact` in the form for `kind` (`phone` or `email`) and asks for a code.
async fn ask_code(browser: &Browser, kind: &str, contact: &str) -> Page {
    browser
        .submit(
            &format!("/account/contacts/add?kind={kind}"),
            "/account/contacts/add",
            &[("kind", kind), ("contact", contact)],
        )
        .await
}

async fn enter_code(browser: &Browser, code: &str) -> Page {
    browser
        .submit(
            "/account/contacts/verify",
            "/account/contacts/verify",
            &[("code", code)],
        )
        .await
}

/// Adds (or changes to) `contact` of `kind`, whose canonical form is `to`, with the right code.
async fn prove(app: &TestApp, browser: &Browser, kind: &str, contact: &str, to: &str) -> Page {
    let before = contact_codes(app, to);
    ask_code(browser, kind, contact)
        .await
        .assert_redirect("/account/contacts/verify");
    let code = app.wait_for_code(to, "contact", before).await;
    enter_code(browser, &code).await
}

fn contact_codes(app: &TestApp, to: &str) -> usize {
    app.messages_to(to)
        .iter()
        .filter(|m| m.purpose == "contact")
        .count()
}

/// The notices labelled `label` sent to `to`, once at least `count` of them are there (they go
/// out just after the page answers).
async fn notices(app: &TestApp, to: &str, label: &str, count: usize) -> Vec<OutboxLine> {
    let mut sent = Vec::new();
    for _ in 0..100 {
        sent = app
            .messages_to(to)
            .into_iter()
            .filter(|m| m.purpose == label)
            .collect();
        if sent.len() >= count {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    sent
}

async fn stored(app: &TestApp, id: &str) -> account::Account {
    let id = AccountId::from_stored(id.parse().unwrap());
    app.state
        .db
        .run(move |conn| account::find_by_id(conn, id))
        .await
        .unwrap()
        .expect("the account")
}

/// The person chose Hindi for their account (the Profile page's doing).
async fn prefers_hindi(app: &TestApp, id: &str) {
    let id: i64 = id.parse().unwrap();
    app.state
        .db
        .run(move |conn| {
            diesel::update(accounts::table.filter(accounts::account_id.eq(id)))
                .set(accounts::locale.eq("hi"))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
}

async fn contact_events(app: &TestApp) -> Vec<AuditRecord> {
    app.state.audit.flush().await;
    let filter = AuditFilter {
        account: None,
        since: None,
        limit: 1000,
    };
    let events = app.state.db.run(move |conn| query(conn, &filter)).await;
    events
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "contact_changed")
        .collect()
}

async fn signs_in(app: &TestApp, identifier: &str, password: &str) -> bool {
    let page = app.browser().sign_in(identifier, password).await;
    page.location.as_deref() == Some("/account")
}

#[tokio::test]
async fn an_email_is_added_to_a_phone_account_with_its_code_and_then_signs_in() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let id = sign_up_asha(&app, &browser).await;
    let created = stored(&app, &id).await;
    let list = browser.get("/account/contacts").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(
        list.has("+91 ******5678") && !list.has(E164),
        "{}",
        list.body
    );
    assert!(list.has("Not added yet"), "no email yet");
    app.advance(chrono::Duration::seconds(5));

    ask_code(&browser, "email", "Asha@Example.com")
        .await
        .assert_redirect("/account/contacts/verify");
    let page = browser.get("/account/contacts/verify").await;
    assert!(page.has("a***@example.com"), "{}", page.body);
    let code = app.wait_for_code(EMAIL, "contact", 0).await;
    assert_eq!(code.len(), 6, "an account code");

    // A wrong code costs a try and changes nothing.
    let wrong_code = enter_code(&browser, &wrong(&code)).await;
    assert_eq!(wrong_code.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong_code.has("Tries left: 4"), "{}", wrong_code.body);
    assert!(stored(&app, &id).await.email.is_none());

    enter_code(&browser, &code)
        .await
        .assert_redirect("/account/contacts?done=added");
    let list = browser.get("/account/contacts?done=added").await;
    assert!(list.has("a***@example.com") && list.has("Added."));
    let now = stored(&app, &id).await;
    assert_eq!(now.email.as_ref().map(|e| e.as_str()), Some(EMAIL));
    assert!(now.updated_at > created.updated_at, "updated_at moves");

    // The phone the account had is told, without a code and without the whole address.
    let told = notices(&app, E164, "contact-added-notice", 1).await;
    assert_eq!(told.len(), 1, "one notice to the phone");
    assert!(told[0].code.is_empty() && !told[0].text.contains(&code));
    assert!(told[0].text.contains("a***@example.com") && !told[0].text.contains(EMAIL));
    let events = contact_events(&app).await;
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0].detail.as_deref(), Some("email added"));
    assert_eq!(events[0].account_id.map(|a| a.to_string()), Some(id));

    // Both sign in now, with the password and with a code.
    assert!(signs_in(&app, EMAIL, PASSWORD).await);
    assert!(signs_in(&app, PHONE, PASSWORD).await);
    let other = app.browser();
    other
        .submit("/login/code", "/login/code", &[("identifier", EMAIL)])
        .await
        .assert_redirect("/recover/verify");
    let login_code = app.wait_for_code(EMAIL, "login", 0).await;
    let page = other.get("/recover/verify").await;
    other
        .enter_recovery_code(&page, &login_code, "")
        .await
        .assert_redirect("/account");
}

#[tokio::test]
async fn a_phone_is_added_to_an_email_account_then_changed_and_the_old_one_is_told() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let id = sign_up_by_email(&app, &browser, EMAIL, PASSWORD).await;
    prefers_hindi(&app, &id).await;

    prove(&app, &browser, "phone", PHONE, E164)
        .await
        .assert_redirect("/account/contacts?done=added");
    let added = notices(&app, EMAIL, "contact-added-notice", 1).await;
    assert_eq!(added.len(), 1);
    assert!(
        added[0].text.contains("+91 ******5678") && added[0].text.contains("OneID खाते"),
        "in the account's language: {}",
        added[0].text
    );
    assert!(signs_in(&app, PHONE, PASSWORD).await);
    // An app sees the number, and when the profile last changed.
    let rp = RelyingParty::register(&app, registration("Cloud", true)).await;
    let tokens = signed_in_tokens(&app, &rp, &browser, &["profile", "phone"]).await;
    let before = rp.userinfo(tokens.access_token()).await.unwrap();
    let phone_of = |claims: &CoreUserInfoClaims| claims.phone_number().map(|p| p.to_string());
    assert_eq!(phone_of(&before).as_deref(), Some(E164));
    app.advance(chrono::Duration::seconds(5));

    // The number changes (a new SIM): the code goes to the new number, the old one is told.
    let form = browser.get("/account/contacts/add?kind=phone").await;
    assert!(form.has("+91 ******5678"), "the number it replaces");
    prove(&app, &browser, "phone", "+91 98123 45679", "+919812345679")
        .await
        .assert_redirect("/account/contacts?done=changed");
    assert_eq!(
        stored(&app, &id)
            .await
            .phone
            .map(|p| p.as_e164().to_owned()),
        Some("+919812345679".to_owned())
    );
    let after = rp.userinfo(tokens.access_token()).await.unwrap();
    assert_eq!(phone_of(&after).as_deref(), Some("+919812345679"));
    assert!(after.updated_at() > before.updated_at(), "updated_at moves");
    let changed = notices(&app, E164, "contact-changed-notice", 1).await;
    assert_eq!(changed.len(), 1, "the old number hears of it");
    assert!(changed[0].code.is_empty());
    assert!(changed[0].text.contains("+91 ******5679") && changed[0].text.contains("OneID"));
    assert!(
        changed[0]
            .text
            .chars()
            .any(|c| ('\u{0900}'..='\u{097F}').contains(&c)),
        "in Hindi: {}",
        changed[0].text
    );
    for code in app.outbox().iter().filter(|m| !m.code.is_empty()) {
        for notice in app
            .outbox()
            .iter()
            .filter(|m| m.purpose.ends_with("-notice"))
        {
            assert!(!notice.text.contains(&code.code), "no code in a notice");
        }
    }

    // The new number signs in; the replaced one no longer does.
    assert!(signs_in(&app, "9812345679", PASSWORD).await);
    assert!(!signs_in(&app, PHONE, PASSWORD).await);
    let details: Vec<_> = contact_events(&app)
        .await
        .into_iter()
        .filter_map(|e| e.detail)
        .collect();
    assert_eq!(details, ["phone changed", "phone added"], "newest first");
}

#[tokio::test]
async fn a_contact_of_another_account_is_refused_only_after_the_right_code() {
    let app = TestApp::spawn().await;
    // Ravi has the number 9812345679.
    let ravi = app.browser();
    sign_up(&app, &ravi, "9812345679", "+919812345679", "ravi's secret").await;
    let browser = app.browser();
    let id = sign_up_by_email(&app, &browser, EMAIL, PASSWORD).await;

    // Asking for a code to a free number and to Ravi's looks the same.
    let free = ask_code(&browser, "phone", "9812345670").await;
    let free_page = browser.get("/account/contacts/verify").await;
    let taken = ask_code(&browser, "phone", "9812345679").await;
    let taken_page = browser.get("/account/contacts/verify").await;
    assert_eq!((free.status, free.location), (taken.status, taken.location));
    assert_eq!(free_page.status, taken_page.status);
    assert_eq!(
        free_page.normalised(&["******5670"]),
        taken_page.normalised(&["******5679"])
    );
    let code = app.wait_for_code("+919812345679", "contact", 0).await;

    // A wrong code is just wrong, as for any number.
    let wrong_code = enter_code(&browser, &wrong(&code)).await;
    assert_eq!(wrong_code.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong_code.has("Tries left"), "{}", wrong_code.body);
    // The right one proves the number is the person's: only now are they told.
    let refused = enter_code(&browser, &code).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(
        refused.has("already used by another OneID account"),
        "{}",
        refused.body
    );
    assert!(stored(&app, &id).await.phone.is_none(), "nothing changed");
    assert!(signs_in(&app, "9812345679", "ravi's secret").await);
    let events = contact_events(&app).await;
    assert_eq!(
        events[0].detail.as_deref(),
        Some("phone taken by another account")
    );
    assert_eq!(events[0].outcome, "refused");
    // The pending code is gone with it.
    browser
        .get("/account/contacts/verify")
        .await
        .assert_redirect("/account/contacts");
}

#[tokio::test]
async fn the_last_contact_cannot_be_removed_and_a_second_one_can() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let id = sign_up_asha(&app, &browser).await;
    let list = browser.get("/account/contacts").await;
    assert!(!list.has("/account/contacts/remove"), "no Remove offered");
    let csrf = browser.get("/account").await.csrf();
    let last = browser
        .post(
            "/account/contacts/remove",
            &[("csrf", &csrf), ("kind", "phone")],
        )
        .await;
    assert_eq!(last.status, StatusCode::CONFLICT);
    assert!(last.has("only contact"), "{}", last.body);
    for (kind, status) in [("email", 404), ("fax", 404)] {
        let page = browser
            .post(
                "/account/contacts/remove",
                &[("csrf", &csrf), ("kind", kind)],
            )
            .await;
        assert_eq!(page.status.as_u16(), status, "{kind}");
        assert!(page.has("not there any more"), "a friendly page");
    }
    assert!(stored(&app, &id).await.phone.is_some());

    prove(&app, &browser, "email", EMAIL, EMAIL)
        .await
        .assert_redirect("/account/contacts?done=added");
    let list = browser.get("/account/contacts").await;
    assert!(list.has("/account/contacts/remove"));
    browser
        .post(
            "/account/contacts/remove",
            &[("csrf", &list.csrf()), ("kind", "phone")],
        )
        .await
        .assert_redirect("/account/contacts?done=removed");
    let now = stored(&app, &id).await;
    assert!(now.phone.is_none() && now.email.is_some());
    // The removed number and the email left are both told.
    for to in [E164, EMAIL] {
        let told = notices(&app, to, "contact-removed-notice", 1).await;
        assert_eq!(told.len(), 1, "{to}");
        assert!(told[0].text.contains("+91 ******5678") && told[0].code.is_empty());
    }
    assert!(!signs_in(&app, PHONE, PASSWORD).await);
    assert!(signs_in(&app, EMAIL, PASSWORD).await);
    // Now the email is the last one.
    let page = browser
        .post(
            "/account/contacts/remove",
            &[("csrf", &list.csrf()), ("kind", "email")],
        )
        .await;
    assert_eq!(page.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn a_resend_respects_the_cooldown_and_codes_are_bound_to_the_browser() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    sign_up_asha(&app, &browser).await;
    ask_code(&browser, "email", EMAIL)
        .await
        .assert_redirect("/account/contacts/verify");
    app.wait_for_code(EMAIL, "contact", 0).await;
    let page = browser.get("/account/contacts/verify").await;
    assert!(
        page.has("You can ask for a new code in 60 seconds"),
        "{}",
        page.body
    );

    // Within the cooldown nothing is sent.
    browser
        .post("/account/contacts/resend", &[("csrf", &page.csrf())])
        .await
        .assert_redirect("/account/contacts/verify");
    assert_eq!(contact_codes(&app, EMAIL), 1);
    past_cooldown(&app);
    browser
        .post("/account/contacts/resend", &[("csrf", &page.csrf())])
        .await
        .assert_redirect("/account/contacts/verify");
    let code = app.wait_for_code(EMAIL, "contact", 1).await;

    // The code works only in the browser that asked for it (another has nothing pending).
    let other = app.browser();
    other.sign_in(PHONE, PASSWORD).await;
    other
        .get("/account/contacts/verify")
        .await
        .assert_redirect("/account/contacts");
    enter_code(&browser, &code)
        .await
        .assert_redirect("/account/contacts?done=added");
}

#[tokio::test]
async fn typos_oversized_fields_and_numbers_not_served_get_a_friendly_answer() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let id = sign_up_asha(&app, &browser).await;
    let long = "a".repeat(300) + "@example.com";
    for (kind, input, says) in [
        ("email", long.as_str(), "too long"),
        ("email", "not an address", "valid email"),
        ("email", "9812345670", "valid email"),
        ("phone", "asha@example.com", "valid mobile"),
        ("phone", "+1 202 555 0143", ""),
        ("phone", PHONE, "already on your account"),
    ] {
        let page = ask_code(&browser, kind, input).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{input}");
        assert!(
            page.has(says) && page.has("error"),
            "{input}: {}",
            page.body
        );
    }
    let unknown = browser.get("/account/contacts/add?kind=fax").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    // A body past the form limit: the error page, in the person's language.
    let hindi = app.browser_with_language(Some("hi"));
    hindi.sign_in(PHONE, PASSWORD).await;
    let csrf = hindi.get("/account/contacts/add?kind=email").await.csrf();
    let huge = "x".repeat(20_000);
    let page = hindi
        .post(
            "/account/contacts/add",
            &[("csrf", &csrf), ("kind", "email"), ("contact", &huge)],
        )
        .await;
    assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(page.body.contains("lang=\"hi\""), "{}", page.body);
    // A code that is not one.
    ask_code(&browser, "email", EMAIL).await;
    let page = enter_code(&browser, &"1".repeat(500)).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(stored(&app, &id).await.email.is_none());
    assert!(contact_events(&app).await.is_empty());
}

#[tokio::test]
async fn every_post_refuses_a_forged_form_and_a_browser_not_signed_in() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let id = sign_up_asha(&app, &browser).await;
    ask_code(&browser, "email", EMAIL).await;
    let code = app.wait_for_code(EMAIL, "contact", 0).await;
    let posts: [(&str, Vec<(&str, &str)>); 4] = [
        (
            "/account/contacts/add",
            vec![("kind", "email"), ("contact", "ravi@example.com")],
        ),
        ("/account/contacts/verify", vec![("code", code.as_str())]),
        ("/account/contacts/resend", vec![]),
        ("/account/contacts/remove", vec![("kind", "phone")]),
    ];
    let stranger = app.browser();
    let anonymous_csrf = stranger.get("/login").await.csrf();
    for (path, fields) in &posts {
        let mut forged = vec![("csrf", "forged")];
        forged.extend(fields.iter().copied());
        let page = browser.post(path, &forged).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");

        let mut signed_out = vec![("csrf", anonymous_csrf.as_str())];
        signed_out.extend(fields.iter().copied());
        stranger
            .post(path, &signed_out)
            .await
            .assert_redirect("/login");
    }
    for path in ["/account/contacts", "/account/contacts/add?kind=email"] {
        stranger.get(path).await.assert_redirect("/login");
    }
    assert_eq!(contact_codes(&app, "ravi@example.com"), 0);
    assert!(stored(&app, &id).await.email.is_none(), "nothing changed");
    // The code is still good in the owner's browser.
    enter_code(&browser, &code)
        .await
        .assert_redirect("/account/contacts?done=added");
}

#[tokio::test]
async fn an_old_sign_in_confirms_first_and_comes_back() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    sign_up_asha(&app, &browser).await;
    let csrf = browser.get("/account").await.csrf();
    app.advance(chrono::Duration::seconds(
        app.settings.session.reauth_window_secs + 1,
    ));
    browser
        .get("/account/contacts")
        .await
        .assert_redirect("/account/confirm?next=%2Faccount%2Fcontacts");
    browser
        .get("/account/contacts/add?kind=email")
        .await
        .assert_redirect("/account/confirm?next=%2Faccount%2Fcontacts%2Fadd%3Fkind%3Demail");
    browser
        .post(
            "/account/contacts/add",
            &[("csrf", &csrf), ("kind", "email"), ("contact", EMAIL)],
        )
        .await
        .assert_redirect("/account/confirm?next=%2Faccount%2Fcontacts%2Fadd%3Fkind%3Demail");
    browser
        .post(
            "/account/contacts/remove",
            &[("csrf", &csrf), ("kind", "phone")],
        )
        .await
        .assert_redirect("/account/confirm?next=%2Faccount%2Fcontacts");
    assert_eq!(contact_codes(&app, EMAIL), 0, "nothing sent");

    // Confirmed with the password, the person is back where they were.
    browser
        .submit(
            "/account/confirm?next=%2Faccount%2Fcontacts%2Fadd%3Fkind%3Demail",
            "/account/confirm",
            &[
                ("next", "/account/contacts/add?kind=email"),
                ("password", PASSWORD),
            ],
        )
        .await
        .assert_redirect("/account/contacts/add?kind=email");
    prove(&app, &browser, "email", EMAIL, EMAIL)
        .await
        .assert_redirect("/account/contacts?done=added");
}
