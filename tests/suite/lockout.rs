//! The lockout under pressure: concurrent sign-ins (one instance and three), strangers trying
//! to keep the owner out, unknown identifiers answered like locked accounts, and a full
//! password queue answered 503 at once.

use std::time::Duration;

use oneid::account::password_pool;
use reqwest::StatusCode;

use super::helpers::{
    Browser, NOTHING_SHARED, Page, TestApp, sign_up_asha, skip_unless_scale_pair,
    unlock_keeping_the_password, wrong,
};

const PHONE: &str = "9812345678";
const E164: &str = "+919812345678";
const PASSWORD: &str = "correct horse";

/// An account, signed out.
async fn account(app: &TestApp) {
    let browser = app.browser();
    sign_up_asha(app, &browser).await;
    let csrf = browser.get("/account").await.csrf();
    browser.post("/logout", &[("csrf", &csrf)]).await;
    app.advance(chrono::Duration::seconds(61));
}

/// Password verifications run so far by these instances (each counts its own password threads).
fn verifications(apps: &[&TestApp]) -> u64 {
    apps.iter()
        .map(|app| app.state.password_pool.verifications())
        .sum()
}

/// Fifty wrong passwords at once, spread over `apps`; returns the pages.
async fn fifty_at_once(apps: &[&TestApp]) -> Vec<Page> {
    let attempts = (0..50).map(|n| {
        let browser = apps[n % apps.len()].browser();
        tokio::spawn(async move { browser.sign_in(PHONE, &format!("wrong password {n}")).await })
    });
    let mut pages = Vec::new();
    for attempt in attempts.collect::<Vec<_>>() {
        pages.push(attempt.await.unwrap());
    }
    pages
}

/// The lockout allows ten wrong passwords a run before the first lock; fifty at once must
/// not get more checked, and the right one afterwards is refused without a check.
async fn assert_fifty_at_once_check_at_most_ten(apps: &[&TestApp]) {
    let before = verifications(apps);
    let pages = fifty_at_once(apps).await;
    let checked = verifications(apps) - before;
    for page in &pages {
        assert!(
            page.status == StatusCode::UNPROCESSABLE_ENTITY
                || page.status == StatusCode::SERVICE_UNAVAILABLE,
            "{} {}",
            page.status,
            page.body
        );
    }
    let wrong = pages.iter().filter(|p| p.has("do not match")).count();
    let locked = pages.iter().filter(|p| p.has("is locked")).count();
    eprintln!(
        "50 concurrent wrong passwords: {checked} checked, {wrong} answered wrong, {locked} locked"
    );
    assert!(checked <= 10, "{checked} passwords checked");
    assert!(
        wrong <= 9,
        "only the nine before the locking one may be told 'wrong': {wrong}"
    );
    let after = verifications(apps);
    let right = apps[0].browser().sign_in(PHONE, PASSWORD).await;
    assert!(right.has("is locked"), "{}", right.body);
    assert_eq!(
        verifications(apps),
        after,
        "a locked account's password is not checked"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_sign_ins_check_at_most_the_allowed_ten_passwords() {
    let app = TestApp::spawn_with(|s| s.workers = 4).await;
    account(&app).await;
    assert_fifty_at_once_check_at_most_ten(&[&app]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_sign_ins_across_three_instances_check_at_most_ten_passwords() {
    if skip_unless_scale_pair(NOTHING_SHARED) {
        return;
    }
    let one = TestApp::spawn_with(|s| s.workers = 2).await;
    let (two, three) = (one.another_instance().await, one.another_instance().await);
    account(&one).await;
    assert_fifty_at_once_check_at_most_ten(&[&one, &two, &three]).await;
}

fn unlock_codes(app: &TestApp) -> Vec<String> {
    app.messages_to(E164)
        .into_iter()
        .filter(|m| m.purpose == "unlock")
        .map(|m| m.code)
        .collect()
}

/// Asks for an unlock code from `browser` and lands on the code page.
async fn ask_unlock(browser: &Browser) -> Page {
    browser
        .submit("/unlock", "/unlock", &[("identifier", PHONE)])
        .await
        .assert_redirect("/recover/verify");
    browser.get("/recover/verify").await
}

/// A stranger asks for an unlock code and types `times` wrong codes.
async fn stranger_fails_codes(app: &TestApp, ip: &str, times: usize) -> usize {
    let stranger = app.browser_from(ip);
    let sent = unlock_codes(app).len();
    let page = ask_unlock(&stranger).await;
    // The stranger does not get the code, but a wrong one is certainly wrong.
    let code = app.wait_for_code(E164, "unlock", sent).await;
    let mut wrong_answers = 0;
    for _ in 0..times {
        let answer = stranger
            .post(
                "/recover/verify",
                &[("csrf", &page.csrf()), ("code", &wrong(&code))],
            )
            .await;
        assert_eq!(
            answer.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            answer.body
        );
        wrong_answers += 1;
    }
    wrong_answers
}

#[tokio::test]
async fn strangers_cannot_keep_the_owner_out() {
    let app =
        TestApp::spawn_with(|s| s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()]).await;
    account(&app).await;

    // Thirty wrong passwords lock the account until it is unlocked.
    let attacker = app.browser_from("203.0.113.66");
    for lock_secs in [60, 120, 0] {
        for _ in 0..10 {
            attacker.sign_in(PHONE, "wrong password").await;
        }
        app.advance(chrono::Duration::seconds(lock_secs + 1));
    }
    app.advance(chrono::Duration::hours(5));
    assert!(
        app.browser()
            .sign_in(PHONE, PASSWORD)
            .await
            .has("is locked")
    );

    // The owner is told, with how to unlock, and the notice holds no code and no link.
    let mut notices = Vec::new();
    for _ in 0..200 {
        notices = app
            .messages_to(E164)
            .into_iter()
            .filter(|m| m.purpose == "lock-notice")
            .collect();
        if !notices.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(notices.len(), 1, "one notice for the lasting lock");
    let notice = &notices[0];
    assert_eq!(notice.code, "");
    assert!(
        notice.text.contains("Unlock with a code"),
        "{}",
        notice.text
    );
    assert!(
        notice.text.contains("127.0.0.1"),
        "names where: {}",
        notice.text
    );
    assert!(
        !notice.text.contains("http") && !notice.text.contains("/unlock"),
        "no link: {}",
        notice.text
    );

    // Strangers at five addresses type 25 wrong unlock codes.
    let mut wrong_codes = 0;
    for n in 1..=5 {
        wrong_codes += stranger_fails_codes(&app, &format!("203.0.113.{n}"), 5).await;
    }
    assert!(wrong_codes >= 20);

    // The owner asks for a code from their own browser; while a stranger keeps failing, the
    // owner's code still works.
    let owner = app.browser_from("198.51.100.9");
    let sent = unlock_codes(&app).len();
    let page = ask_unlock(&owner).await;
    let code = app.wait_for_code(E164, "unlock", sent).await;
    stranger_fails_codes(&app, "203.0.113.6", 5).await;
    unlock_keeping_the_password(&app, &owner, &page, &code).await;
}

#[tokio::test]
async fn an_unknown_number_locks_exactly_like_an_account() {
    let app = TestApp::spawn().await;
    account(&app).await;
    const UNKNOWN: &str = "9812345679";
    let (real, unknown) = (app.browser(), app.browser());
    for n in 1..=30 {
        let known_page = real.sign_in(PHONE, "wrong password").await;
        let unknown_page = unknown.sign_in(UNKNOWN, "wrong password").await;
        assert_eq!(known_page.status, unknown_page.status, "#{n}");
        assert_eq!(
            known_page.normalised(&[PHONE]),
            unknown_page.normalised(&[UNKNOWN]),
            "failure #{n}"
        );
        if n == 9 {
            assert!(known_page.has("do not match"));
        }
        if n % 10 == 0 {
            assert!(known_page.has("is locked"), "#{n}: {}", known_page.body);
            // Locked: the same answer for the right password, and for any other.
            let again = real.sign_in(PHONE, PASSWORD).await;
            let again_unknown = unknown.sign_in(UNKNOWN, PASSWORD).await;
            assert_eq!(
                again.normalised(&[PHONE]),
                again_unknown.normalised(&[UNKNOWN]),
                "while locked after #{n}"
            );
            app.advance(chrono::Duration::hours(1) + chrono::Duration::seconds(1));
        }
    }
    // Locked for good: days later both still say so.
    app.advance(chrono::Duration::days(3));
    let known_page = real.sign_in(PHONE, PASSWORD).await;
    let unknown_page = unknown.sign_in(UNKNOWN, PASSWORD).await;
    assert!(known_page.has("is locked"));
    assert_eq!(
        known_page.normalised(&[PHONE]),
        unknown_page.normalised(&[UNKNOWN])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_password_queue_answers_503_with_retry_after_at_once() {
    let app = TestApp::spawn_with(|s| {
        s.passwords.threads = 1;
        s.passwords.queue = 1;
    })
    .await;
    // One job holds the only password thread, another waits in the queue of one.
    let filled = password_pool::testing::fill(&app.state.password_pool, || ()).await;

    let started = std::time::Instant::now();
    let page = app.browser().sign_in("9812345679", "some password").await;
    assert_eq!(
        page.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        page.body
    );
    assert!(page.headers.contains_key("retry-after"));
    assert!(
        page.has("briefly unavailable"),
        "a friendly page: {}",
        page.body
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "answered at once, not after the queue drained"
    );

    filled.release().await.unwrap();
    let page = app.browser().sign_in("9812345679", "some password").await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn the_lock_notice_is_written_in_the_language_the_owner_chose() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    sign_up_asha(&app, &browser).await;
    browser
        .submit(
            "/account/profile",
            "/account/profile",
            &[("name", "Asha"), ("locale", "hi")],
        )
        .await
        .assert_redirect("/account/profile?saved=1");
    let csrf = browser.get("/account").await.csrf();
    browser.post("/logout", &[("csrf", &csrf)]).await;

    // An English-speaking stranger locks the account for good.
    let attacker = app.browser_with_language(Some("en"));
    for lock_secs in [60, 120, 0] {
        for _ in 0..10 {
            attacker.sign_in(PHONE, "wrong password").await;
        }
        app.advance(chrono::Duration::seconds(lock_secs + 1));
    }
    let mut notices = Vec::new();
    for _ in 0..200 {
        notices = app
            .messages_to(E164)
            .into_iter()
            .filter(|m| m.purpose == "lock-notice")
            .collect();
        if !notices.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(notices.len(), 1);
    assert!(
        notices[0].text.contains("खाता"),
        "in Hindi: {}",
        notices[0].text
    );
    assert_eq!(notices[0].code, "");
}
