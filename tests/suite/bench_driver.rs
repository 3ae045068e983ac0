//! The side-by-side benchmark's flow driver (`examples/flow_bench`) against OneID, for a second
//! in each load mode: every flow must come out right. The benchmark itself is not part of CI;
//! this keeps its driver in step with the server (issue 15's "continue with your number" once
//! made every fresh flow fail, and nothing noticed).

#[path = "../../examples/flow_bench/driver.rs"]
mod driver;

use super::helpers::{TestApp, registration, sign_up_asha};

#[tokio::test]
async fn the_benchmark_driver_completes_its_flows_without_an_error() {
    let app = TestApp::spawn_with(|s| {
        // One driver from one address, as in the benchmark.
        s.limits.ip_sign_in_attempts = 1_000_000;
        s.limits.ip_interactions = 1_000_000;
    })
    .await;
    sign_up_asha(&app, &app.browser()).await;
    let redirect_uri = "http://127.0.0.1:9/callback";
    let (id, secret) = app
        .register(oneid::oauth::registry::Registration {
            redirect_uris: vec![redirect_uri.into()],
            ..registration("Bench app", true)
        })
        .await;
    for mode in ["sso", "fresh", "login"] {
        let load = driver::Load {
            base: app.base.clone(),
            provider: driver::Provider::Oneid,
            client_id: id.clone(),
            client_secret: secret.clone().unwrap(),
            redirect_uri: redirect_uri.into(),
            scope: "openid".into(),
            username: "9812345678".into(),
            password: "correct horse".into(),
            accounts: 1,
            concurrency: 2,
            warmup: 0.0,
            duration: 1.0,
            samples: 1,
            server_pid: None,
            clk_tck: 100,
        };
        let report = driver::drive(mode, load).await.expect("the driver runs");
        assert_eq!(report.mode, mode);
        assert_eq!(report.first_error, None, "{mode}");
        let window = &report.windows[0];
        assert!(
            window.ops > 0 && window.errors == 0,
            "{mode}: {} flows right, {} wrong",
            window.ops,
            window.errors
        );
        assert!(window.secs >= 1.0 && window.p50_ms > 0.0 && window.p99_ms >= window.p50_ms);
        assert_eq!(window.cpu_ms_per_op, None, "no server PID given");
        if mode != "login" {
            // What the app received: OneID's defaults (OIDC Core §15.1; RFC 9068's choice).
            assert_eq!(
                (
                    report.algs.id_token.as_str(),
                    report.algs.access_token.as_str()
                ),
                ("RS256", "ES256"),
                "{mode}"
            );
        }
    }
}
