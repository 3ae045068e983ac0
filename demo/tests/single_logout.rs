//! Single logout with the real demo apps and OneID over HTTP, no browser: a client that keeps
//! cookies and follows redirects plays the person. Sign in at Cloud, sign in again at Talk when
//! it asks for a fresh sign-in (`prompt=login`), sign out at Talk: Cloud is told (back-channel
//! logout) and shows the person signed out.

use std::time::Duration;

use oneid_apps::config::AppKind;
use oneid_demo::{DemoOptions, start};

const PASSWORD: &str = "correct horse";

fn csrf_in(body: &str) -> String {
    let marker = r#"name="csrf" value=""#;
    let start = body.find(marker).expect("a form with a CSRF token") + marker.len();
    body[start..start + body[start..].find('"').unwrap()].to_owned()
}

struct Page {
    url: String,
    body: String,
}

struct Person {
    http: reqwest::Client,
}

impl Person {
    async fn get(&self, url: &str) -> Page {
        Self::page(self.http.get(url).send().await.expect("GET")).await
    }

    async fn post(&self, url: &str, form: &[(&str, &str)]) -> Page {
        Self::page(self.http.post(url).form(form).send().await.expect("POST")).await
    }

    async fn page(response: reqwest::Response) -> Page {
        let url = response.url().to_string();
        let status = response.status();
        let body = response.text().await.unwrap();
        assert!(status.is_success(), "{status} at {url}: {body}");
        Page { url, body }
    }
}

/// The newest code the outbox holds for `to`.
fn last_code(outbox: &std::path::Path, to: &str) -> String {
    std::fs::read_to_string(outbox)
        .expect("outbox")
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .rev()
        .find(|m| m["to"] == to)
        .expect("a code was sent")["code"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn sign_in_at_cloud_reauthenticate_at_talk_sign_out_at_talk_and_cloud_is_told() {
    // fantoccini (the browser test's) brings the aws-lc provider next to ring: name one.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let data = tempfile::tempdir().unwrap();
    let demo = start(DemoOptions {
        data_dir: data.path().to_owned(),
        base_port: 0,
        echo_codes: false,
    })
    .await
    .expect("the demo starts");
    let (cloud, talk) = (demo.app_url(AppKind::Cloud), demo.app_url(AppKind::Talk));
    let person = Person {
        http: reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .unwrap(),
    };

    // Cloud: "Sign in with OneID" → OneID's sign-in page → create an account → back in Cloud.
    let at_oneid = person.get(&format!("{cloud}/login")).await;
    assert!(at_oneid.url.starts_with(&demo.issuer), "{}", at_oneid.url);
    let signup = person.get(&format!("{}/signup", demo.issuer)).await;
    let verify = person
        .post(
            &format!("{}/signup", demo.issuer),
            &[
                ("csrf", &csrf_in(&signup.body)),
                ("identifier", "9812345678"),
            ],
        )
        .await;
    let code = last_code(&demo.outbox, "+919812345678");
    let home = person
        .post(
            &format!("{}/signup/verify", demo.issuer),
            &[
                ("csrf", &csrf_in(&verify.body)),
                ("code", &code),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
                ("name", "Asha"),
            ],
        )
        .await;
    assert!(home.url.starts_with(cloud), "{}", home.url);
    assert!(
        home.body.contains("Asha"),
        "signed in at Cloud: {}",
        home.body
    );

    // Talk asks for a fresh sign-in: OneID shows its first page ("Continue with your number")
    // although the person is signed in there, and the password is typed again on the password
    // page it links to (the form token is the session's, the same on both pages).
    let login = person.get(&format!("{talk}/login?prompt=login")).await;
    assert!(
        login.url.starts_with(&format!("{}/continue", demo.issuer)),
        "{}",
        login.url
    );
    let talk_home = person
        .post(
            &format!("{}/login", demo.issuer),
            &[
                ("csrf", &csrf_in(&login.body)),
                ("identifier", "9812345678"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert!(talk_home.url.starts_with(talk), "{}", talk_home.url);
    assert!(talk_home.body.contains("Asha"), "signed in at Talk");
    assert!(
        person.get(cloud).await.body.contains("Asha"),
        "still at Cloud"
    );

    // Sign out at Talk (RP-initiated logout at OneID, then back to Talk).
    let after = person
        .post(
            &format!("{talk}/logout"),
            &[("csrf", &csrf_in(&talk_home.body))],
        )
        .await;
    assert!(after.body.contains("Sign in with OneID"), "{}", after.body);

    // Cloud hears of it from OneID (back-channel logout) and shows the person signed out.
    let mut cloud_home = person.get(cloud).await;
    for _ in 0..50 {
        if cloud_home.body.contains("Sign in with OneID") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        cloud_home = person.get(cloud).await;
    }
    assert!(
        cloud_home.body.contains("Sign in with OneID") && !cloud_home.body.contains("Asha"),
        "Cloud still shows the person signed in: {}",
        cloud_home.body
    );
    demo.stop().await;
}
