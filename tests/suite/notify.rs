//! Real transports: SMTP for email and the HTTP SMS gateway, against servers run by the test.

use std::sync::{Arc, Mutex};

use oneid::config::{SmsGatewaySettings, SmtpSettings, SmtpTls};
use reqwest::StatusCode;
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpListener,
};

use super::{
    capture::{Kept, capture_server},
    helpers::TestApp,
};

/// A minimal SMTP server that accepts every message and keeps its DATA.
async fn fake_smtp() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let received = Arc::new(Mutex::new(Vec::new()));
    let store = received.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let store = store.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 fake.test ESMTP\r\n").await.unwrap();
                while let Ok(Some(line)) = lines.next_line().await {
                    let verb = line
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250-fake.test\r\n250 8BITMIME\r\n",
                        "DATA" => {
                            write.write_all(b"354 end with .\r\n").await.unwrap();
                            let mut data = String::new();
                            while let Ok(Some(l)) = lines.next_line().await {
                                if l == "." {
                                    break;
                                }
                                data.push_str(&l);
                                data.push('\n');
                            }
                            store.lock().unwrap().push(data);
                            b"250 queued\r\n"
                        }
                        "QUIT" => {
                            write.write_all(b"221 bye\r\n").await.unwrap();
                            break;
                        }
                        _ => b"250 OK\r\n",
                    };
                    write.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (port, received)
}

#[derive(Debug, Clone)]
struct GatewayRequest {
    authorization: Option<String>,
    idempotency_key: Option<String>,
    body: serde_json::Value,
}

/// The SMS gateway: answers each request with the next status in `statuses` (the last one
/// repeats) and records what it got.
async fn fake_gateway(statuses: Vec<u16>) -> (String, Kept<GatewayRequest>) {
    capture_server("/send", statuses, |request| {
        Some(GatewayRequest {
            authorization: request.header("authorization"),
            idempotency_key: request.header("idempotency-key"),
            body: request.json(),
        })
    })
    .await
}

fn gateway_settings(url: &str) -> SmsGatewaySettings {
    SmsGatewaySettings {
        auth_header: Some("Bearer gateway-token".into()),
        timeout_secs: 2,
        ..SmsGatewaySettings::generic(
            url.parse().unwrap(),
            r#"{"recipient":"{to}","message":{"text":"{text}"},"sender":"ONEID"}"#,
        )
    }
}

#[tokio::test]
async fn email_codes_go_through_smtp() {
    let (port, received) = fake_smtp().await;
    let app = TestApp::spawn_with(|s| {
        s.smtp = Some(SmtpSettings {
            host: "127.0.0.1".into(),
            port,
            tls: SmtpTls::None,
            username: None,
            password: None,
            from: "OneID <no-reply@oneid.test>".into(),
            timeout_secs: 5,
        })
    })
    .await;
    let browser = app.browser();
    browser
        .request_signup_code("asha@example.com")
        .await
        .assert_redirect("/signup/verify");
    let mails = received.lock().unwrap().clone();
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert!(
        mail.contains("To: asha@example.com") && mail.contains("From: OneID <no-reply@oneid.test>"),
        "{mail}"
    );
    let code: String = mail
        .lines()
        .find(|l| l.contains("is your OneID verification code"))
        .unwrap()
        .chars()
        .take(4)
        .collect();
    assert!(
        app.outbox().is_empty(),
        "SMTP replaces the outbox for email"
    );
    browser
        .enter_signup_code(&code, "long enough", "Asha")
        .await
        .assert_redirect("/account");
}

#[tokio::test]
async fn sms_codes_go_to_the_gateway_which_is_retried_once() {
    let (url, received) = fake_gateway(vec![503, 200]).await;
    let app = TestApp::spawn_with(|s| s.sms = Some(gateway_settings(&url))).await;
    let browser = app.browser();
    browser
        .request_signup_code("9812345678")
        .await
        .assert_redirect("/signup/verify");
    let requests = received.lock().unwrap().clone();
    assert_eq!(requests.len(), 2, "one retry after a 503");
    let request = &requests[1];
    assert_eq!(
        request.authorization.as_deref(),
        Some("Bearer gateway-token")
    );
    assert_eq!(request.body["recipient"], "+919812345678");
    assert_eq!(request.body["sender"], "ONEID");
    let text = request.body["message"]["text"].as_str().unwrap();
    let code: String = text.chars().take(4).collect();
    browser
        .enter_signup_code(&code, "long enough", "Asha")
        .await
        .assert_redirect("/account");
}

#[tokio::test]
async fn a_refusing_gateway_gives_a_friendly_page_and_no_cooldown() {
    let (url, received) = fake_gateway(vec![400]).await;
    let app = TestApp::spawn_with(|s| s.sms = Some(gateway_settings(&url))).await;
    let browser = app.browser();
    let page = browser.request_signup_code("9812345678").await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        page.has("briefly unavailable") && page.headers.contains_key("retry-after"),
        "{}",
        page.body
    );
    assert_eq!(received.lock().unwrap().len(), 1, "a 4xx is not retried");
    // Nothing was delivered, so the person may ask again at once.
    browser.request_signup_code("9812345678").await;
    assert_eq!(received.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn a_retried_sms_carries_the_same_idempotency_key_and_the_next_message_a_new_one() {
    let (url, received) = fake_gateway(vec![503, 200, 200]).await;
    let app = TestApp::spawn_with(|s| {
        s.sms = Some(SmsGatewaySettings {
            idempotency_header: Some("Idempotency-Key".into()),
            ..gateway_settings(&url)
        })
    })
    .await;
    app.browser()
        .request_signup_code("9812345678")
        .await
        .assert_redirect("/signup/verify");
    app.browser()
        .request_signup_code("9812345679")
        .await
        .assert_redirect("/signup/verify");
    let requests = received.lock().unwrap().clone();
    assert_eq!(
        requests.len(),
        3,
        "one retry after the 503, then the second message"
    );
    let keys: Vec<&str> = requests
        .iter()
        .map(|r| {
            r.idempotency_key
                .as_deref()
                .expect("every attempt carries a key")
        })
        .collect();
    assert_eq!(
        keys[0], keys[1],
        "the retry repeats the first attempt's key"
    );
    assert_ne!(keys[1], keys[2], "another message, another key");
    assert!(keys[0].len() >= 22, "a random key: {}", keys[0]);

    // Without the setting no such header is sent.
    let (url, received) = fake_gateway(vec![200]).await;
    let plain = TestApp::spawn_with(|s| s.sms = Some(gateway_settings(&url))).await;
    plain
        .browser()
        .request_signup_code("9812345678")
        .await
        .assert_redirect("/signup/verify");
    assert_eq!(received.lock().unwrap()[0].idempotency_key, None);
}
