//! The admin console's and API's sessions (issue 13 §2 "Sessions"): the live sessions, newest
//! first, filtered by account or by app and paged with a cursor; ending one signs that browser
//! out (the others stay) and is audited; forged forms and bad input change nothing.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::{
    admin_accounts::{admin_event, events},
    helpers::{
        Browser, RelyingParty, TestApp, admin_api, admin_browser, registration, signed_in_tokens,
    },
};

const RECHECK: chrono::Duration = chrono::Duration::seconds(61);

async fn is_signed_in(browser: &Browser) -> bool {
    browser.get("/account").await.status == StatusCode::OK
}

fn sids(json: &Value) -> Vec<String> {
    json["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{json}"))
        .iter()
        .map(|i| i["sid"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_api_lists_live_sessions_by_account_and_app_and_ends_one() {
    let app = TestApp::spawn().await;
    let (api, client_id) = admin_api(&app).await;
    let cloud = RelyingParty::register(&app, registration("Cloud", true)).await;
    let laptop = app.browser();
    signed_in_tokens(&app, &cloud, &laptop, &["profile"]).await;
    let asha = laptop.account_id().await.unwrap();
    app.advance(chrono::Duration::seconds(1));
    let phone = app.browser();
    phone
        .sign_in("9812345678", "correct horse")
        .await
        .assert_redirect("/account");

    let (status, json) = api.get(&format!("/sessions?account={asha}")).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    let both = sids(&json);
    assert_eq!(both.len(), 2, "{json}");
    assert_eq!(json["items"][0]["account_id"].to_string(), asha);
    let (_, json) = api.get(&format!("/sessions?client={}", cloud.id)).await;
    let laptop_sid = sids(&json);
    assert_eq!(laptop_sid.len(), 1, "{json}");
    assert_eq!(
        both[1], laptop_sid[0],
        "newest first: the phone, then the laptop"
    );

    // A page at a time.
    let (_, first) = api.get(&format!("/sessions?account={asha}&limit=1")).await;
    let cursor = first["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let (_, second) = api
        .get(&format!("/sessions?account={asha}&limit=1&cursor={cursor}"))
        .await;
    assert_eq!([sids(&first), sids(&second)].concat(), both);
    assert_eq!(second["next_cursor"], Value::Null);

    for bad in [
        "/sessions?account=12",
        "/sessions?account=abc",
        "/sessions?client=a%20b",
        "/sessions?limit=0",
        "/sessions?limit=1000",
        "/sessions?cursor=bm9wZQ",
        "/sessions?cursor=%21%21",
    ] {
        let (status, json) = api.get(bad).await;
        assert_eq!(
            (status, json["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_request")),
            "{bad}: {json}"
        );
    }

    // Ending the phone's session signs the phone out, not the laptop.
    let (status, json) = api
        .call(Method::DELETE, &format!("/sessions/{}", both[0]), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{json}");
    app.advance(RECHECK);
    assert!(!is_signed_in(&phone).await);
    assert!(is_signed_in(&laptop).await);
    admin_event(
        &app,
        &asha,
        "session end: live → ended",
        &format!("client:{client_id}"),
    )
    .await;
    let (_, json) = api.get(&format!("/sessions?account={asha}")).await;
    assert_eq!(sids(&json), laptop_sid);
    for sid in [both[0].as_str(), "no-such-session", &"x".repeat(100)] {
        let (status, json) = api
            .call(Method::DELETE, &format!("/sessions/{sid}"), None)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{sid}: {json}");
    }
}

#[tokio::test]
async fn the_console_lists_filters_and_ends_a_session_and_refuses_forged_forms() {
    let app = TestApp::spawn().await;
    let (admin, admin_id) = admin_browser(&app, "9876500001").await;
    let cloud = RelyingParty::register(&app, registration("Cloud", true)).await;
    let asha_browser = app.browser();
    signed_in_tokens(&app, &cloud, &asha_browser, &["profile"]).await;
    let asha = asha_browser.account_id().await.unwrap();

    let all = admin.get("/admin/sessions").await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    assert!(all.has(&asha) && all.has(&admin_id));
    let mine = admin.get(&format!("/admin/sessions?account={asha}")).await;
    assert!(
        mine.has(&asha) && !mine.has(&format!(">{admin_id}<")),
        "{}",
        mine.body
    );
    let by_app = admin
        .get(&format!("/admin/sessions?client={}", cloud.id))
        .await;
    assert!(by_app.has(&asha) && !by_app.has(&format!(">{admin_id}<")));
    let sid = {
        let at = mine.body.find(r#"name="sid" value=""#).unwrap() + r#"name="sid" value=""#.len();
        mine.body[at..at + mine.body[at..].find('"').unwrap()].to_owned()
    };
    for bad in [
        "/admin/sessions?account=12",
        "/admin/sessions?cursor=bm9wZQ",
    ] {
        assert_eq!(
            admin.get(bad).await.status,
            StatusCode::BAD_REQUEST,
            "{bad}"
        );
    }

    for csrf in ["", "forged"] {
        let refused = admin
            .post("/admin/sessions/end", &[("csrf", csrf), ("sid", &sid)])
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
    }
    app.advance(RECHECK);
    assert!(
        is_signed_in(&asha_browser).await,
        "a forged form ends nothing"
    );
    let csrf = admin.get("/admin/sessions").await.csrf();
    let unknown = admin
        .post(
            "/admin/sessions/end",
            &[("csrf", &csrf), ("sid", "no-such-session")],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    admin
        .post("/admin/sessions/end", &[("csrf", &csrf), ("sid", &sid)])
        .await
        .assert_redirect("/admin/sessions?done=admin-done-session-ended");
    app.advance(RECHECK);
    assert!(
        !is_signed_in(&asha_browser).await,
        "that browser is signed out"
    );
    let page = admin
        .get("/admin/sessions?done=admin-done-session-ended")
        .await;
    assert!(page.has("The session was ended."));
    admin_event(
        &app,
        &asha,
        "session end: live → ended",
        &format!("account:{admin_id}"),
    )
    .await;
    assert!(events(&app).await.iter().any(|e| e.kind == "admin_action"));
}

#[tokio::test]
async fn the_account_page_lists_sessions_and_ends_one() {
    let app = TestApp::spawn().await;
    let (admin, _) = admin_browser(&app, "9876500001").await;
    let asha_browser = app.browser();
    let asha = super::helpers::sign_up_asha(&app, &asha_browser).await;
    let path = format!("/admin/accounts/{asha}");
    let page = admin.get(&path).await;
    let at =
        page.body.find(r#"name="sid" value=""#).expect("a session") + r#"name="sid" value=""#.len();
    let sid = page.body[at..at + page.body[at..].find('"').unwrap()].to_owned();
    let refused = admin
        .post(
            &format!("{path}/end-session"),
            &[("csrf", "forged"), ("sid", &sid)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    admin
        .post(
            &format!("{path}/end-session"),
            &[("csrf", &page.csrf()), ("sid", &sid)],
        )
        .await
        .assert_redirect(&format!("{path}?done=admin-done-session-ended"));
    app.advance(RECHECK);
    assert!(!is_signed_in(&asha_browser).await);
}
