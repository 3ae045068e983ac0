//! Response headers that depend on the issuer: HSTS and COOP only over https.

use super::helpers::TestApp;

#[tokio::test]
async fn an_https_issuer_sends_hsts_and_coop_and_an_http_one_sends_neither() {
    let app = TestApp::spawn().await;
    let plain = app.browser().get("/login").await;
    assert!(plain.headers.get("strict-transport-security").is_none());
    assert!(plain.headers.get("cross-origin-opener-policy").is_none());
    assert!(plain.headers.get("content-security-policy").is_some());

    // The same deployment behind a TLS-terminating proxy: the issuer is https.
    let tls = app
        .another_instance_with(|s| s.issuer = "https://oneid.localhost".parse().unwrap())
        .await;
    let page = tls.browser().get("/login").await;
    assert_eq!(
        page.headers["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
    assert_eq!(page.headers["cross-origin-opener-policy"], "same-origin");
    let discovery = tls.browser().get("/.well-known/openid-configuration").await;
    assert_eq!(
        discovery.headers["strict-transport-security"], "max-age=31536000; includeSubDomains",
        "every response, not only pages"
    );
}
