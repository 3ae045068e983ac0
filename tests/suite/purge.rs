//! Nothing grows forever: finished grants (with their refresh tokens), ended sessions and
//! finished back-channel deliveries are purged once their retention has passed, and not before.

use std::time::Duration;

use chrono::Duration as Days;

use super::{
    backchannel::{told_of_logouts, wait_for},
    helpers::{RelyingParty, TestApp, registration, signed_in_tokens},
};

/// (grants, refresh tokens, sessions, back-channel deliveries) stored.
async fn rows(app: &TestApp) -> (i64, i64, i64, i64) {
    app.state
        .db
        .run(|conn| {
            let (grants, refresh_tokens) = oneid::db::models::grant::counts(conn)?;
            let sessions = oneid::db::models::session::count(conn)?;
            let (pending, delivered, abandoned) = oneid::db::models::backchannel::counts(conn)?;
            Ok((
                grants,
                refresh_tokens,
                sessions,
                pending + delivered + abandoned,
            ))
        })
        .await
        .unwrap()
}

/// Moves the clock and waits for the hourly purge (and the session sweep) to run on it.
async fn after(app: &TestApp, by: Days, expected: (i64, i64, i64, i64)) {
    app.advance(by);
    for _ in 0..60 {
        if rows(app).await == expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Give a purge that would delete too much the time to do so.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(rows(app).await, expected, "after {by}");
}

#[tokio::test]
async fn finished_rows_go_once_their_retention_has_passed_and_live_ones_stay() {
    let app = TestApp::spawn_with(|s| {
        s.retention.grants_days = 1;
        s.retention.sessions_days = 1;
        s.retention.backchannel_days = 1;
    })
    .await;
    let (cloud, logout_tokens) = told_of_logouts(&app, "Cloud").await;
    let talk = RelyingParty::register(&app, registration("Talk", true)).await;

    // Two browsers of one person: the first signs in at Cloud and out again; the second stays
    // signed in at Talk.
    let first = app.browser();
    signed_in_tokens(&app, &cloud, &first, &["profile"]).await;
    let second = app.browser();
    second
        .sign_in("9812345678", "correct horse")
        .await
        .assert_redirect("/account");
    signed_in_tokens(&app, &talk, &second, &["profile"]).await;
    let (grants, refresh_tokens, sessions, _) = rows(&app).await;
    assert_eq!((grants, sessions), (2, 2));
    assert!(refresh_tokens >= 2, "first-party apps get refresh tokens");
    let account = first.get("/account").await;
    first
        .post("/logout", &[("csrf", &account.csrf())])
        .await
        .assert_redirect("/login");
    assert_eq!(wait_for(&logout_tokens, 1).await.len(), 1);
    let per_grant = refresh_tokens / 2;

    // Within the retention nothing goes: the ended session, its revoked grant and the delivered
    // logout token are all kept.
    after(&app, Days::hours(12), (2, refresh_tokens, 2, 1)).await;

    // Past it, the revoked grant (with its refresh tokens) and the delivery go. The ended
    // session stays while its lifetime (7 days idle) could still let a browser present it.
    after(&app, Days::hours(36), (1, refresh_tokens - per_grant, 2, 0)).await;

    // Day 10: the sweep ends the idle second session and revokes its grant (both now within
    // their retention, so kept); the first session, ended and past its lifetime (its row said
    // 8 days), goes.
    after(&app, Days::days(8), (1, refresh_tokens - per_grant, 1, 0)).await;
}
