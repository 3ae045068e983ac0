//! The client's address behind proxies: every `X-Forwarded-For` line counts, so a client that
//! sends its own line cannot choose the address the limits count.

use reqwest::StatusCode;

use super::helpers::{Page, TestApp, csrf_in};

/// A sign-in attempt through a trusted proxy that appended its own `X-Forwarded-For` line (the
/// real client address) after the line the client wrote itself: two header lines on each
/// request (set per request, as default headers keep one value per name).
async fn sign_in_with_forged_first_line(app: &TestApp, forged: &str, real: &str) -> Page {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let with_lines = |request: reqwest::RequestBuilder| {
        request
            .header("x-forwarded-for", forged)
            .header("x-forwarded-for", real)
    };
    let form = with_lines(client.get(format!("{}/login", app.base)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_in(&form).expect("the sign-in form has a CSRF token");
    let response = with_lines(client.post(format!("{}/login", app.base)))
        .form(&[
            ("csrf", csrf.as_str()),
            ("identifier", "9812345600"),
            ("password", "guess"),
        ])
        .send()
        .await
        .unwrap();
    Page {
        status: response.status(),
        location: None,
        headers: response.headers().clone(),
        body: response.text().await.unwrap(),
    }
}

#[tokio::test]
async fn a_client_chosen_first_forwarded_line_does_not_decide_the_counted_address() {
    let app = TestApp::spawn_with(|s| {
        s.limits.ip_sign_in_attempts = 3;
        s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    // Each attempt forges a fresh first line; the proxy's own line says 203.0.113.7 each time.
    for n in 1..=3 {
        let page =
            sign_in_with_forged_first_line(&app, &format!("198.51.100.{n}"), "203.0.113.7").await;
        assert_eq!(
            page.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            page.body
        );
    }
    let refused = sign_in_with_forged_first_line(&app, "198.51.100.4", "203.0.113.7").await;
    assert_eq!(
        refused.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the proxy's line names the counted address: {}",
        refused.body
    );
    // Another real client behind the same proxy is counted on its own.
    let neighbour = sign_in_with_forged_first_line(&app, "198.51.100.4", "203.0.113.8").await;
    assert_eq!(neighbour.status, StatusCode::UNPROCESSABLE_ENTITY);
}
