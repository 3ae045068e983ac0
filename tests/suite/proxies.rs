//! The client's address behind proxies: every `X-Forwarded-For` line counts, so a client that
//! sends its own line cannot choose the address the limits count.

use reqwest::{StatusCode, header::HeaderMap};

use super::helpers::{Browser, TestApp};

/// A browser behind a trusted proxy that appended its own `X-Forwarded-For` line (the real
/// client address) after the line the client wrote itself.
fn browser_with_forged_first_line(app: &TestApp, forged: &str, real: &str) -> Browser {
    let mut headers = HeaderMap::new();
    headers.append("x-forwarded-for", forged.parse().unwrap());
    headers.append("x-forwarded-for", real.parse().unwrap());
    Browser {
        client: reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(headers)
            .build()
            .unwrap(),
        base: app.base.clone(),
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
        let page = browser_with_forged_first_line(&app, &format!("198.51.100.{n}"), "203.0.113.7")
            .sign_in("9812345600", "guess")
            .await;
        assert_eq!(
            page.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            page.body
        );
    }
    let refused = browser_with_forged_first_line(&app, "198.51.100.4", "203.0.113.7")
        .sign_in("9812345600", "guess")
        .await;
    assert_eq!(
        refused.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the proxy's line names the counted address: {}",
        refused.body
    );
    // Another real client behind the same proxy is counted on its own.
    let neighbour = browser_with_forged_first_line(&app, "198.51.100.4", "203.0.113.8")
        .sign_in("9812345600", "guess")
        .await;
    assert_eq!(neighbour.status, StatusCode::UNPROCESSABLE_ENTITY);
}
