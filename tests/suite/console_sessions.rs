//! The account console's sessions and devices, recent activity, and the notice of a sign-in
//! from a browser new to the account (issue 12, points 6, 7 and 9).

use std::time::Duration as StdDuration;

use chrono::Duration;
use diesel::prelude::*;
use reqwest::StatusCode;

use super::{
    backchannel::{told_of_logouts, wait_for},
    helpers::{Browser, OutboxLine, TestApp, sign_up, signed_in_tokens},
    oidc::jwt_part,
};

const PHONE: &str = "9812345678";
const E164: &str = "+919812345678";
const PASSWORD: &str = "correct horse";

const CHROME_ANDROID: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 \
                              (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36";
const FIREFOX_WINDOWS: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0";
const SAFARI_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) \
                             AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 \
                             Mobile/15E148 Safari/604.1";

/// How long a session ended elsewhere may go on working in its browser (the registry's
/// recheck interval).
const RECHECK: Duration = Duration::seconds(60);

/// A browser (its own cookie jar) that sends `user_agent`, and `accept_language` if any.
fn browser_as(app: &TestApp, user_agent: &str, accept_language: Option<&str>) -> Browser {
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(lang) = accept_language {
        headers.insert(reqwest::header::ACCEPT_LANGUAGE, lang.parse().unwrap());
    }
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(user_agent)
        .default_headers(headers)
        .build()
        .unwrap();
    Browser {
        client,
        base: app.base.clone(),
    }
}

/// The session ids of the sign-out forms on the sessions page, in order (this device first).
fn sids(body: &str) -> Vec<String> {
    let marker = r#"name="sid" value=""#;
    body.match_indices(marker)
        .map(|(at, _)| {
            let rest = &body[at + marker.len()..];
            rest[..rest.find('"').unwrap()].to_owned()
        })
        .collect()
}

async fn is_signed_in(browser: &Browser) -> bool {
    let page = browser.get("/account").await;
    match page.status {
        StatusCode::OK => true,
        StatusCode::SEE_OTHER => {
            assert_eq!(page.location.as_deref(), Some("/login"));
            false
        }
        other => panic!("unexpected {other} for /account"),
    }
}

async fn sign_in_ok(browser: &Browser, identifier: &str, password: &str) {
    browser
        .sign_in(identifier, password)
        .await
        .assert_redirect("/account");
}

/// Posts the sign-out form of session `sid` from the sessions page.
async fn end_session(browser: &Browser, sid: &str) -> super::helpers::Page {
    browser
        .submit(
            "/account/sessions",
            "/account/sessions/end",
            &[("sid", sid)],
        )
        .await
}

#[tokio::test]
async fn the_list_shows_each_browser_and_signing_one_out_tells_its_apps_and_signs_it_out() {
    let app = TestApp::spawn().await;
    let (cloud, cloud_logouts) = told_of_logouts(&app, "Cloud").await;

    // Asha signs up on her phone through Cloud, then signs in on her laptop.
    let phone = browser_as(&app, CHROME_ANDROID, None);
    let tokens = signed_in_tokens(&app, &cloud, &phone, &["profile"]).await;
    let cloud_sid = jwt_part(
        &openidconnect::TokenResponse::id_token(&tokens)
            .unwrap()
            .to_string(),
        1,
    )["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let laptop = browser_as(&app, FIREFOX_WINDOWS, None);
    sign_in_ok(&laptop, PHONE, PASSWORD).await;

    let list = laptop.get("/account/sessions").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(list.has("Chrome on Android"), "{}", list.body);
    assert!(list.has("Firefox on Windows 10"), "{}", list.body);
    assert_eq!(list.body.matches("This device").count(), 1);
    assert!(list.has("Apps signed in: Cloud"), "{}", list.body);
    assert!(list.has("127.0.x.x") && !list.has("127.0.0.1"), "masked");
    assert!(list.has("Sign out everywhere else"));
    let listed = sids(&list.body);
    assert_eq!(listed.len(), 2);
    // This device first; the other is the phone's, the session Cloud's ID token names.
    let (laptop_sid, phone_sid) = (listed[0].clone(), listed[1].clone());
    assert_eq!(phone_sid, cloud_sid);
    assert!(
        list.body.find("Firefox on Windows 10").unwrap()
            < list.body.find("Chrome on Android").unwrap()
    );

    // The laptop signs the phone out: Cloud is told, and the phone is signed out.
    end_session(&laptop, &phone_sid)
        .await
        .assert_redirect("/account/sessions?done=one");
    let told = wait_for(&cloud_logouts, 1).await;
    assert_eq!(told.len(), 1, "Cloud gets a logout token");
    assert_eq!(jwt_part(&told[0], 1)["sid"], phone_sid.as_str());
    app.advance(RECHECK);
    assert!(!is_signed_in(&phone).await, "the phone is signed out");
    assert!(is_signed_in(&laptop).await, "the laptop is not");
    let after = laptop.get("/account/sessions?done=one").await;
    assert!(after.has("That session was signed out"), "{}", after.body);
    assert_eq!(sids(&after.body), [laptop_sid.as_str()]);
    assert!(after.has("You are not signed in anywhere else."));

    // Signing out this device from the list is a sign-out.
    end_session(&laptop, &laptop_sid)
        .await
        .assert_redirect("/login");
    assert!(!is_signed_in(&laptop).await);
}

#[tokio::test]
async fn signing_out_everywhere_else_needs_a_recent_sign_in_and_keeps_this_browser() {
    let app = TestApp::spawn().await;
    let here = browser_as(&app, FIREFOX_WINDOWS, None);
    sign_up(&app, &here, PHONE, E164, PASSWORD).await;
    let (phone, tablet) = (
        browser_as(&app, CHROME_ANDROID, None),
        browser_as(&app, SAFARI_IPHONE, None),
    );
    sign_in_ok(&phone, PHONE, PASSWORD).await;
    sign_in_ok(&tablet, PHONE, PASSWORD).await;

    // Past the re-authentication window: asked to confirm first, and nothing ends.
    app.advance(Duration::seconds(
        app.settings.session.reauth_window_secs + 1,
    ));
    let asked = here
        .submit("/account/sessions", "/account/sessions/end-others", &[])
        .await;
    asked.assert_redirect("/account/confirm?next=%2Faccount%2Fsessions");
    app.advance(RECHECK);
    assert!(is_signed_in(&phone).await && is_signed_in(&tablet).await);

    // Confirmed with the password: back to the list, and now every other session ends.
    let confirm = here
        .get("/account/confirm?next=%2Faccount%2Fsessions")
        .await;
    here.post(
        "/account/confirm",
        &[
            ("csrf", &confirm.csrf()),
            ("next", "/account/sessions"),
            ("password", PASSWORD),
        ],
    )
    .await
    .assert_redirect("/account/sessions");
    here.submit("/account/sessions", "/account/sessions/end-others", &[])
        .await
        .assert_redirect("/account/sessions?done=others");
    app.advance(RECHECK);
    assert!(!is_signed_in(&phone).await, "the phone is signed out");
    assert!(!is_signed_in(&tablet).await, "the tablet is signed out");
    assert!(is_signed_in(&here).await, "this browser stays signed in");
    let list = here.get("/account/sessions?done=others").await;
    assert!(
        list.has("Every other session was signed out"),
        "{}",
        list.body
    );
    assert_eq!(sids(&list.body).len(), 1);
}

#[tokio::test]
async fn foreign_or_unknown_sessions_forged_forms_and_strangers_change_nothing() {
    let app = TestApp::spawn().await;
    let asha = browser_as(&app, FIREFOX_WINDOWS, None);
    sign_up(&app, &asha, PHONE, E164, PASSWORD).await;
    let ravi = browser_as(&app, CHROME_ANDROID, None);
    sign_up(&app, &ravi, "9812345679", "+919812345679", "ravi's secret").await;
    let ravi_sid = sids(&ravi.get("/account/sessions").await.body)[0].clone();

    // Another account's session, an unknown one, an oversized one: a friendly 404.
    for sid in [ravi_sid.clone(), "not-a-session".into(), "x".repeat(2_000)] {
        let refused = end_session(&asha, &sid).await;
        assert_eq!(refused.status, StatusCode::NOT_FOUND, "{}", refused.body);
        assert!(
            refused.has("That is not there any more"),
            "{}",
            refused.body
        );
    }
    // A form without this session's token: refused, nothing ends.
    let forged = asha
        .post(
            "/account/sessions/end",
            &[("csrf", "forged"), ("sid", &ravi_sid)],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let missing = asha
        .post("/account/sessions/end", &[("sid", &ravi_sid)])
        .await;
    assert!(missing.status.is_client_error(), "{}", missing.status);
    let forged_all = asha
        .post("/account/sessions/end-others", &[("csrf", "forged")])
        .await;
    assert_eq!(forged_all.status, StatusCode::FORBIDDEN);
    app.advance(RECHECK);
    assert!(is_signed_in(&ravi).await, "Ravi's session did not end");
    assert!(is_signed_in(&asha).await);

    // Not signed in: to the sign-in page, nothing done.
    let stranger = app.browser();
    let csrf = stranger.get("/login").await.csrf();
    for page in ["/account/sessions", "/account/activity"] {
        stranger.get(page).await.assert_redirect("/login");
    }
    stranger
        .post(
            "/account/sessions/end",
            &[("csrf", &csrf), ("sid", &ravi_sid)],
        )
        .await
        .assert_redirect("/login");
    stranger
        .post("/account/sessions/end-others", &[("csrf", &csrf)])
        .await
        .assert_redirect("/login");
    app.advance(RECHECK);
    assert!(is_signed_in(&ravi).await, "still nothing ended");
}

#[tokio::test]
async fn activity_shows_the_accounts_own_events_in_plain_words_a_page_at_a_time() {
    let app = TestApp::spawn().await;
    let asha = browser_as(&app, CHROME_ANDROID, None);
    sign_up(&app, &asha, PHONE, E164, PASSWORD).await;
    let laptop = browser_as(&app, FIREFOX_WINDOWS, None);
    let wrong = laptop.sign_in(PHONE, "not her password").await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    sign_in_ok(&laptop, PHONE, PASSWORD).await;
    // Ravi, on an iPhone, has events of his own.
    let ravi = browser_as(&app, SAFARI_IPHONE, None);
    sign_up(&app, &ravi, "9812345679", "+919812345679", "ravi's secret").await;
    let wrong = browser_as(&app, SAFARI_IPHONE, None)
        .sign_in("9812345679", "wrong again")
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);

    let page = asha.get("/account/activity").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for phrase in [
        "Account created",
        "Wrong password at sign-in",
        "Signed in",
        "Chrome on Android",
        "Firefox on Windows 10",
        "127.0.x.x",
    ] {
        assert!(page.has(phrase), "{phrase} missing:\n{}", page.body);
    }
    assert!(!page.has("127.0.0.1"), "addresses are masked");
    assert_eq!(
        page.body.matches("Account created").count(),
        1,
        "only Asha's sign-up"
    );
    assert!(!page.has("iPhone"), "none of Ravi's events:\n{}", page.body);
    let newest = page.body.find("Signed in").unwrap();
    assert!(
        newest < page.body.find("Account created").unwrap(),
        "newest first"
    );

    // In Hindi, in plain words too.
    let hindi = browser_as(&app, CHROME_ANDROID, Some("hi"));
    sign_in_ok(&hindi, PHONE, PASSWORD).await;
    let page = hindi.get("/account/activity").await;
    assert!(page.has("खाता बनाया गया"), "{}", page.body);
    assert!(page.has("Android पर Chrome"), "{}", page.body);

    // Pages: a second one is empty; nonsense or a page too far is a friendly 404.
    let second = asha.get("/account/activity?page=2").await;
    assert_eq!(second.status, StatusCode::OK);
    assert!(second.has("Nothing yet."), "{}", second.body);
    for bad in ["0", "51", "-1", "abc", "99999999999999999999"] {
        let refused = asha.get(&format!("/account/activity?page={bad}")).await;
        assert_eq!(refused.status, StatusCode::NOT_FOUND, "page={bad}");
    }
}

#[tokio::test]
async fn activity_pages_hold_twenty_events_and_link_to_older_ones() {
    let app = TestApp::spawn().await;
    let asha = browser_as(&app, CHROME_ANDROID, None);
    sign_up(&app, &asha, PHONE, E164, PASSWORD).await;
    // The sign-up's events, then 12 sign-outs and sign-ins: more than a page.
    for _ in 0..12 {
        asha.sign_out().await;
        sign_in_ok(&asha, PHONE, PASSWORD).await;
    }
    let first = asha.get("/account/activity").await;
    assert_eq!(first.body.matches("<li>").count(), 20, "{}", first.body);
    assert!(first.has(r#"href="/account/activity?page=2""#));
    assert!(!first.has("Account created"), "the oldest is on page 2");
    let second = asha.get("/account/activity?page=2").await;
    assert!(second.has("Account created"), "{}", second.body);
    assert!(second.has(r#"href="/account/activity?page=1""#));

    // Past 90 days the events are no longer shown.
    app.advance(Duration::days(91));
    let later_browser = browser_as(&app, CHROME_ANDROID, None);
    sign_in_ok(&later_browser, PHONE, PASSWORD).await;
    let later = later_browser.get("/account/activity").await;
    assert_eq!(later.body.matches("<li>").count(), 1, "{}", later.body);
}

/// The new-browser notices sent to `to`, once `count` of them are in the outbox.
async fn new_browser_notices(app: &TestApp, to: &str, count: usize) -> Vec<OutboxLine> {
    for _ in 0..200 {
        let sent: Vec<OutboxLine> = app
            .messages_to(to)
            .into_iter()
            .filter(|m| m.purpose == "new-browser-notice")
            .collect();
        if sent.len() >= count {
            return sent;
        }
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
    panic!("fewer than {count} new-browser notices to {to}");
}

#[tokio::test]
async fn a_browser_new_to_the_account_gets_its_owner_a_notice_in_their_language() {
    let app = TestApp::spawn().await;
    let phone = browser_as(&app, CHROME_ANDROID, None);
    let id = sign_up(&app, &phone, PHONE, E164, PASSWORD).await;
    let signup_code = app.last_code(E164);
    // The very first browser (the sign-up), and the same browser again: no notice.
    phone.sign_out().await;
    sign_in_ok(&phone, PHONE, PASSWORD).await;

    // Asha prefers Hindi.
    let asha: i64 = id.parse().unwrap();
    app.state
        .db
        .run(move |conn| {
            use oneid::db::schema::accounts;
            diesel::update(accounts::table.find(asha))
                .set(accounts::locale.eq(Some("hi")))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();

    // A laptop she never used: a notice, in Hindi, naming the browser.
    let laptop = browser_as(&app, FIREFOX_WINDOWS, None);
    sign_in_ok(&laptop, PHONE, PASSWORD).await;
    let sent = new_browser_notices(&app, E164, 1).await;
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0].text.contains("Windows 10 पर Firefox"),
        "{}",
        sent[0].text
    );
    assert!(sent[0].text.contains("नया") || sent[0].text.contains("ब्राउज़र"));

    // The laptop again (signed out and in): not new. Then an iPhone: new. Exactly two.
    laptop.sign_out().await;
    sign_in_ok(&laptop, PHONE, PASSWORD).await;
    let iphone = browser_as(&app, SAFARI_IPHONE, None);
    sign_in_ok(&iphone, PHONE, PASSWORD).await;
    let sent = new_browser_notices(&app, E164, 2).await;
    tokio::time::sleep(StdDuration::from_millis(200)).await;
    let sent_now = new_browser_notices(&app, E164, 2).await;
    assert_eq!(sent_now.len(), 2, "{sent_now:?}");
    assert!(sent[1].text.contains("iPhone"), "{}", sent[1].text);
    for notice in &sent_now {
        assert!(notice.code.is_empty(), "a notice carries no code");
        assert!(!notice.text.contains(&signup_code));
        assert!(!notice.text.contains("http"), "and no link");
    }
}
