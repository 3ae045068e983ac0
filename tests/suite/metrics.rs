//! `/metrics` (docs/metrics.md): off the public listener unless a token is set, then only with
//! that bearer token; on a listener of its own without one; and the counters move with the
//! requests that drive them. The recorder is one per process, shared by every test running
//! beside this one, so each check compares a scrape after with a scrape before and asks only
//! that the number grew.

use reqwest::StatusCode;

use super::helpers::{TestApp, admin_api, on_scale_pair};

const TOKEN: &str = "metrics-test-token-0123456789abcdef";

/// One sample of a scrape: the metric name, its labels, its value.
struct Sample {
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
}

/// The samples of a Prometheus text exposition (label values here never hold `,` or `"`).
fn samples(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (name, labels) = match series.split_once('{') {
                Some((name, labels)) => (name, labels.trim_end_matches('}')),
                None => (series, ""),
            };
            let labels = labels
                .split(',')
                .filter(|pair| !pair.is_empty())
                .filter_map(|pair| {
                    let (key, value) = pair.split_once('=')?;
                    Some((key.to_owned(), value.trim_matches('"').to_owned()))
                })
                .collect();
            Some(Sample {
                name: name.to_owned(),
                labels,
                value: value.parse().ok()?,
            })
        })
        .collect()
}

/// The sum of the series of `name` whose labels include `with`.
fn total(text: &str, name: &str, with: &[(&str, &str)]) -> f64 {
    samples(text)
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            with.iter()
                .all(|(k, v)| s.labels.iter().any(|(key, value)| key == k && value == v))
        })
        .map(|s| s.value)
        .sum()
}

async fn scrape(app: &TestApp) -> String {
    let reply = reqwest::Client::new()
        .get(format!("{}/metrics", app.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
    let content_type = reply.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    reply.text().await.unwrap()
}

#[tokio::test]
async fn counters_move_with_discovery_a_token_and_a_failed_sign_in() {
    let app = TestApp::spawn_with(|s| s.metrics.token = Some(TOKEN.into())).await;
    let before = scrape(&app).await;

    let discovery = reqwest::get(format!("{}/.well-known/openid-configuration", app.base))
        .await
        .unwrap();
    assert_eq!(discovery.status(), StatusCode::OK);
    admin_api(&app).await; // a client-credentials token, signed
    let browser = app.browser();
    browser.get("/no/such/page/7c2e").await;
    // No such account: the dummy password check runs all the same.
    let page = browser.sign_in("9812345679", "not the password").await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);

    let after = scrape(&app).await;
    let grew = |name: &str, with: &[(&str, &str)]| {
        let (was, is) = (total(&before, name, with), total(&after, name, with));
        assert!(is > was, "{name} {with:?}: {was} then {is}\n{after}");
    };
    grew(
        "oneid_http_requests_total",
        &[
            ("method", "GET"),
            ("route", "/.well-known/openid-configuration"),
            ("status", "200"),
        ],
    );
    grew(
        "oneid_http_request_duration_seconds_count",
        &[("route", "/.well-known/openid-configuration")],
    );
    grew(
        "oneid_http_requests_total",
        &[("method", "POST"), ("route", "/token"), ("status", "200")],
    );
    // Paths that match no route share one label: no raw path ever becomes a series.
    grew(
        "oneid_http_requests_total",
        &[("route", "unmatched"), ("status", "404")],
    );
    assert!(!after.contains("/no/such/page"), "{after}");
    grew("oneid_signature_duration_seconds_count", &[]);
    grew("oneid_password_checks_total", &[("result", "mismatch")]);
    grew("oneid_password_check_duration_seconds_count", &[]);
    grew("oneid_password_queue_wait_seconds_count", &[]);
    let (backend, store) = if on_scale_pair() {
        ("postgres", "redis")
    } else {
        ("sqlite", "memory")
    };
    grew("oneid_db_duration_seconds_count", &[("backend", backend)]);
    grew("oneid_db_pool_wait_seconds_count", &[("backend", backend)]);
    grew("oneid_store_duration_seconds_count", &[("store", store)]);
    // Histograms carry their buckets, HELP and TYPE lines.
    assert!(
        after.contains("# TYPE oneid_http_request_duration_seconds histogram"),
        "{after}"
    );
    assert!(after.contains("oneid_password_check_duration_seconds_bucket{le=\""));
    assert!(after.contains("# HELP oneid_http_requests_total"));
    // The gauges of shared state are sampled as the app starts.
    for gauge in ["oneid_sessions_active", "oneid_backchannel_pending"] {
        assert!(
            samples(&after).iter().any(|s| s.name == gauge),
            "{gauge} missing:\n{after}"
        );
    }
}

#[tokio::test]
async fn the_public_listener_hides_metrics_without_a_token_setting_and_refuses_a_wrong_token() {
    let plain = TestApp::spawn().await;
    let http = reqwest::Client::new();
    for token in [None, Some(TOKEN)] {
        let mut request = http.get(format!("{}/metrics", plain.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let reply = request.send().await.unwrap();
        assert_eq!(reply.status(), StatusCode::NOT_FOUND, "{token:?}");
    }

    let guarded = TestApp::spawn_with(|s| s.metrics.token = Some(TOKEN.into())).await;
    let url = format!("{}/metrics", guarded.base);
    let missing = http.get(&url).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    assert!(
        missing.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer ")
    );
    for wrong in [
        format!("{TOKEN}x"),
        TOKEN[..TOKEN.len() - 1].to_owned(),
        "x".repeat(TOKEN.len()),
    ] {
        let reply = http.get(&url).bearer_auth(&wrong).send().await.unwrap();
        assert_eq!(reply.status(), StatusCode::UNAUTHORIZED, "{wrong}");
        assert!(!reply.text().await.unwrap().contains("oneid_"));
    }
    let basic = http
        .get(&url)
        .basic_auth("prometheus", Some(TOKEN))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), StatusCode::UNAUTHORIZED);
    scrape(&guarded).await;
}

#[tokio::test]
async fn a_listener_of_its_own_serves_metrics_alone_without_a_token() {
    let app =
        TestApp::spawn_with(|s| s.metrics.listen = Some("127.0.0.1:0".parse().unwrap())).await;
    let port = app.metrics_port.expect("a metrics listener");
    let own = format!("http://127.0.0.1:{port}");
    let reply = reqwest::get(format!("{own}/metrics")).await.unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
    assert!(reply.text().await.unwrap().contains("oneid_"));
    for elsewhere in ["/", "/.well-known/openid-configuration", "/login"] {
        let reply = reqwest::get(format!("{own}{elsewhere}")).await.unwrap();
        assert_eq!(reply.status(), StatusCode::NOT_FOUND, "{elsewhere}");
    }
    // The public listener still hides it: no token is set.
    let public = reqwest::get(format!("{}/metrics", app.base)).await.unwrap();
    assert_eq!(public.status(), StatusCode::NOT_FOUND);
}
