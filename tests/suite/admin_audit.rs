//! The admin console's and API's audit log (filters, cursor pages, CSV export), signing keys
//! (list, rotate live) and overview numbers, through HTTP.

use reqwest::{StatusCode, header};
use serde_json::{Value, json};

use oneid::{
    audit::{AuditEvent, AuditKind, Outcome},
    clock::Clock,
};

use super::helpers::*;

/// The ids of every event the API returns for `query`, following the cursor `limit` at a time.
async fn all_ids(api: &AdminApi, query: &str, limit: u32) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let mut path = format!("/audit-events?limit={limit}&{query}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let (status, body) = api.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let items = body["items"].as_array().unwrap();
        assert!(items.len() <= limit as usize);
        ids.extend(items.iter().map(|i| i["id"].as_i64().unwrap()));
        match body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return ids,
        }
    }
    panic!("the cursor never ended");
}

async fn items(api: &AdminApi, query: &str) -> Vec<Value> {
    let (status, body) = api.get(&format!("/audit-events?limit=200&{query}")).await;
    assert_eq!(status, StatusCode::OK, "{query}: {body}");
    body["items"].as_array().unwrap().clone()
}

/// A browser whose user agent a spreadsheet would read as a formula.
fn formula_browser(app: &TestApp) -> Browser {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("=HYPERLINK(\"http://evil.example\")")
        .build()
        .unwrap();
    Browser {
        client,
        base: app.base.clone(),
    }
}

fn parse_csv(body: &str) -> Vec<csv::StringRecord> {
    csv::Reader::from_reader(body.as_bytes())
        .records()
        .map(|r| r.expect("a CSV record"))
        .collect()
}

#[tokio::test]
async fn audit_log_filters_pages_and_exports_from_console_and_api() {
    let app = TestApp::spawn().await;
    let (admin, _admin_id) = admin_browser(&app, "9876500001").await;
    let person = app.browser();
    let asha = sign_up(
        &app,
        &person,
        "9876500002",
        "+919876500002",
        "asha password",
    )
    .await;
    let stranger = formula_browser(&app);
    stranger.sign_in("9876500002", "not the password").await;
    let (api, client_id) = admin_api(&app).await;

    // Account.
    let of_asha = items(&api, &format!("account={asha}")).await;
    assert!(of_asha.iter().any(|e| e["kind"] == "signup"));
    assert!(
        of_asha
            .iter()
            .all(|e| e["account_id"].as_i64().map(|a| a.to_string()) == Some(asha.clone()))
    );
    // Kind, and the user agent kept.
    let failed = items(&api, "kind=login_failed").await;
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["account_id"].to_string(), asha);
    assert_eq!(
        failed[0]["user_agent"],
        "=HYPERLINK(\"http://evil.example\")"
    );
    // Outcome.
    let not_ok = items(&api, "outcome=failed").await;
    assert!(!not_ok.is_empty());
    assert!(not_ok.iter().all(|e| e["outcome"] == "failed"));
    // App: the admin script's own token request.
    let of_app = items(&api, &format!("app={client_id}")).await;
    assert!(of_app.iter().any(|e| e["kind"] == "token_issued"));
    assert!(of_app.iter().all(|e| e["client_id"] == client_id.as_str()));
    // Address, exactly.
    let local = items(&api, "ip=127.0.0.1").await;
    assert!(!local.is_empty());
    assert!(local.iter().all(|e| e["ip"] == "127.0.0.1"));
    assert!(items(&api, "ip=10.9.9.9").await.is_empty());
    // Pages: the cursor walks every event once, newest first, as one big page does.
    let whole: Vec<i64> = items(&api, "")
        .await
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert!(whole.windows(2).all(|w| w[0] > w[1]), "newest first by id");
    assert_eq!(all_ids(&api, "", 2).await, whole);
    assert_eq!(
        all_ids(&api, "outcome=ok", 3).await.len(),
        items(&api, "outcome=ok").await.len()
    );

    // The console: the same filters, the table, the next page link with the filters.
    let page = admin.get("/admin/audit?kind=login_failed").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.has("login_failed") && page.has(&asha));
    assert!(!page.has("<td>signup</td>"));
    let page = admin.get(&format!("/admin/audit?account={asha}")).await;
    assert!(page.has("<td>signup</td>"));
    let newest = whole[0];
    let page = admin.get(&format!("/admin/audit?before={newest}")).await;
    assert!(!page.has(&format!(">{newest}<")));
    assert!(page.has(&format!(">{}<", whole[1])));
    // 50 a page: the first page links to the next, carrying the filter and the cursor.
    let asha_id: oneid::domain::AccountId = asha.parse().unwrap();
    for _ in 0..55 {
        app.state
            .audit
            .record(AuditEvent::new(AuditKind::Logout, Outcome::Ok).account(asha_id))
            .await;
    }
    let page = admin.get("/admin/audit?kind=logout").await;
    assert_eq!(page.body.matches("<td>logout</td>").count(), 50);
    assert!(page.has("rel=\"next\""), "a next link");
    let logouts = items(&api, "kind=logout").await;
    let total = logouts.len();
    assert!(total >= 55);
    let oldest_on_first = logouts[49]["id"].as_i64().unwrap();
    assert!(
        page.has(&format!(
            "/admin/audit?kind=logout&#38;before={oldest_on_first}"
        )) || page.has(&format!(
            "kind&#x3d;logout&amp;before&#x3d;{oldest_on_first}"
        )),
        "{}",
        page.body
    );
    let second = admin
        .get(&format!(
            "/admin/audit?kind=logout&before={oldest_on_first}"
        ))
        .await;
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(second.body.matches("<td>logout</td>").count(), total - 50);
    assert!(!second.has("rel=\"next\""));

    // CSV from the console and the API: a filtered view, formulas neutralised.
    for csv_body in [
        {
            let page = admin.get("/admin/audit.csv?kind=login_failed").await;
            assert_eq!(page.status, StatusCode::OK);
            assert!(
                page.headers[header::CONTENT_TYPE]
                    .to_str()
                    .unwrap()
                    .starts_with("text/csv")
            );
            assert!(
                page.headers[header::CONTENT_DISPOSITION]
                    .to_str()
                    .unwrap()
                    .starts_with("attachment")
            );
            page.body
        },
        {
            let (status, body) = api.get("/audit-events.csv?kind=login_failed").await;
            assert_eq!(status, StatusCode::OK);
            body.as_str().unwrap().to_owned()
        },
    ] {
        let mut reader = csv::Reader::from_reader(csv_body.as_bytes());
        assert_eq!(
            reader.headers().unwrap().iter().collect::<Vec<_>>(),
            [
                "id",
                "at",
                "kind",
                "outcome",
                "account_id",
                "client_id",
                "actor",
                "ip",
                "user_agent",
                "detail"
            ]
        );
        let rows = parse_csv(&csv_body);
        assert_eq!(rows.len(), 1);
        for row in &rows {
            assert_eq!(&row[2], "login_failed");
            assert_eq!(&row[4], asha.as_str());
            assert_eq!(&row[8], "'=HYPERLINK(\"http://evil.example\")");
            chrono::DateTime::parse_from_rfc3339(&row[1]).expect("RFC 3339");
        }
    }

    // Time: two days later, one more failure; "from yesterday" sees only it.
    let before_jump = items(&api, "").await.len();
    app.advance(chrono::Duration::days(2));
    // A fresh token: the first one has expired.
    let (api, _) = admin_api(&app).await;
    stranger.sign_in("9876500002", "still not it").await;
    let yesterday = (app.clock.now() - chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    let recent = items(&api, &format!("from={yesterday}")).await;
    assert!(recent.iter().any(|e| e["kind"] == "login_failed"));
    assert!(recent.len() < before_jump, "{recent:?}");
    let old = items(&api, &format!("to={yesterday}&kind=login_failed")).await;
    assert_eq!(
        old.len(),
        1,
        "only the first failure is before yesterday ended"
    );
    assert_eq!(old[0]["id"], failed[0]["id"]);
}

#[tokio::test]
async fn bad_audit_filters_are_refused_with_a_clear_message() {
    let app = TestApp::spawn().await;
    let (admin, _) = admin_browser(&app, "9876500011").await;
    let (api, _) = admin_api(&app).await;
    let huge = "1".repeat(10 * 1024);
    for (query, words) in [
        ("kind=nope", "kind"),
        ("outcome=maybe", "outcome"),
        ("ip=1.2.3", "address"),
        ("from=yesterday", "from"),
        ("to=2026-13-01", "to"),
        ("account=12", "account"),
        ("app=a%20b", "app"),
        ("from=2026-11-25&to=2026-11-24", "before"),
        (&format!("account={huge}") as &str, "longer"),
        ("limit=0", "limit"),
        ("limit=abc", "limit"),
        ("cursor=%%%", "cursor"),
        ("cursor=YWJj", "cursor"),
    ] {
        let (status, body) = api.get(&format!("/audit-events?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["error"], "invalid_request");
        assert!(
            body["message"].as_str().unwrap().contains(words),
            "{query}: {body}"
        );
    }
    let (status, _) = api.get("/audit-events.csv?ip=nope").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // The console shows the form again with the error, 400.
    for query in ["ip=nope", "kind=nope", "from=soon", "before=abc"] {
        let page = admin.get(&format!("/admin/audit?{query}")).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{query}");
        assert!(page.has("role=\"alert\""), "{query}");
        assert!(page.has("name=\"kind\""));
    }
    let page = admin.get(&format!("/admin/audit?ip={huge}")).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.has("200"));
    let page = admin.get("/admin/audit.csv?ip=nope").await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(
        !page.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
}

async fn jwks_kids(app: &TestApp) -> Vec<String> {
    let jwks: Value = reqwest::get(format!("{}/jwks.json", app.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn keys_are_listed_and_rotated_live_from_console_and_api() {
    let app = TestApp::spawn().await;
    let (admin, admin_id) = admin_browser(&app, "9876500021").await;
    let (api, client_id) = admin_api(&app).await;

    let page = admin.get("/admin/keys").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.has("Current (signing)") && page.has("RS256") && page.has("EdDSA"));
    assert!(!page.has("Next (published"));
    let before = jwks_kids(&app).await;

    // CSRF: none, or a wrong one: refused, nothing rotated.
    for form in [vec![], vec![("csrf", "forged")]] {
        let refused = admin.post("/admin/keys/rotate", &form).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
    }
    assert_eq!(jwks_kids(&app).await, before);

    let done = admin.submit("/admin/keys", "/admin/keys/rotate", &[]).await;
    done.assert_redirect("/admin/keys?done=admin-done-keys-rotated");
    let page = admin.follow(done).await;
    assert!(page.has("New keys are published"));
    assert!(page.has("Next (published"));
    // The running server publishes the next keys at once: one per algorithm.
    let after = jwks_kids(&app).await;
    assert_eq!(after.len(), before.len() + 3, "{after:?}");
    assert!(before.iter().all(|k| after.contains(k)));

    let (status, keys) = api.get("/keys").await;
    assert_eq!(status, StatusCode::OK);
    let states: Vec<&str> = keys
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["state"].as_str().unwrap())
        .collect();
    assert_eq!(states.iter().filter(|s| **s == "next").count(), 3);
    assert_eq!(states.iter().filter(|s| **s == "current").count(), 3);
    assert!(
        keys.as_array()
            .unwrap()
            .iter()
            .all(|k| k["state"] != "next" || k["activates_at"].is_string())
    );

    // The API: one algorithm; bad ones refused, nothing rotated.
    for bad in [
        json!({"alg": "HS256"}),
        json!({"alg": 5}),
        json!({"algo": "RS256"}),
    ] {
        let (status, body) = api.post("/keys/rotate", bad.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(body["error"], "invalid_request");
    }
    assert_eq!(jwks_kids(&app).await.len(), after.len());
    let (status, _) = api.post("/keys/rotate", json!({"alg": "ES256"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(jwks_kids(&app).await.len(), after.len() + 1);

    // Audited, naming who did it.
    let rotations = items(&api, "kind=admin_action").await;
    let by_console = rotations
        .iter()
        .find(|e| e["actor"] == format!("account:{admin_id}"))
        .expect("the console's rotation");
    let detail = by_console["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("keys rotate (every algorithm): next none → "),
        "{detail}"
    );
    let by_api = rotations
        .iter()
        .find(|e| e["actor"] == format!("client:{client_id}"))
        .expect("the API's rotation");
    assert!(
        by_api["detail"]
            .as_str()
            .unwrap()
            .starts_with("keys rotate (ES256)")
    );
}

async fn overview(api: &AdminApi) -> Value {
    let (status, body) = api.get("/overview").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn delta(after: &Value, before: &Value, key: &str) -> i64 {
    after[key].as_i64().unwrap() - before[key].as_i64().unwrap()
}

#[tokio::test]
async fn overview_numbers_follow_sign_ins_failures_and_codes() {
    let app = TestApp::spawn().await;
    let (admin, _) = admin_browser(&app, "9876500031").await;
    let (api, _) = admin_api(&app).await;
    let start = overview(&api).await;
    assert_eq!(start["accounts"], 1);
    assert_eq!(start["codes_sms_24h"], 1, "the admin's sign-up code");

    let person = app.browser();
    sign_up(
        &app,
        &person,
        "9876500032",
        "+919876500032",
        "ravi password",
    )
    .await;
    person.sign_out().await;
    person.sign_in("9876500032", "ravi password").await;
    app.browser().sign_in("9876500032", "wrong").await;
    app.browser().sign_in("9876500032", "wrong again").await;
    let now = overview(&api).await;
    assert_eq!(delta(&now, &start, "accounts"), 1);
    assert_eq!(delta(&now, &start, "accounts_active"), 1);
    assert_eq!(delta(&now, &start, "codes_sms_24h"), 1);
    assert_eq!(delta(&now, &start, "codes_email_24h"), 0);
    assert_eq!(delta(&now, &start, "failed_sign_ins_24h"), 2);
    assert!(delta(&now, &start, "sign_ins_24h") >= 1);

    let page = admin.get("/admin").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.has(&format!(
        "data-key=\"admin-overview-failed-sign-ins\">{}<",
        now["failed_sign_ins_24h"]
    )));
    assert!(page.has(&format!(
        "data-key=\"admin-overview-accounts\">{}<",
        now["accounts"]
    )));

    // A day later the window is empty again; the accounts stay.
    app.advance(chrono::Duration::hours(25));
    let (api, _) = admin_api(&app).await;
    let later = overview(&api).await;
    assert_eq!(later["failed_sign_ins_24h"], 0);
    assert_eq!(later["codes_sms_24h"], 0);
    assert_eq!(later["accounts"], now["accounts"]);
}
