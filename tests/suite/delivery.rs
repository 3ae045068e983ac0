//! Codes that arrive in India: the worked provider examples (MSG91, MOBtexting) against fake
//! gateways, WhatsApp's authentication template, failover from a failing SMS gateway to
//! WhatsApp, "send it on WhatsApp instead" within the same per-number limits, and the start-up
//! checks of the delivery settings.

use figment::{
    Figment,
    providers::{Format, Toml},
};
use oneid::{
    clock::MockClock,
    config::{
        BotCheckMode, PhoneChannel, Settings, SmsGatewaySettings, WhatsAppSettings,
        WhatsAppTemplate,
    },
    startup::Application,
};
use openidconnect::TokenResponse;
use reqwest::StatusCode;
use serde_json::json;

use super::{
    audit::every_event,
    capture::{Kept, capture_server},
    helpers::{Browser, RelyingParty, TestApp, registration, signed_in_tokens, test_settings},
    oidc::jwt_part,
};

#[derive(Debug, Clone)]
struct Request {
    headers: String,
    body: serde_json::Value,
}

/// A messaging API at `path` that answers each request with the next of `statuses`.
async fn fake(path: &str, statuses: Vec<u16>) -> (String, Kept<Request>) {
    capture_server(path, statuses, |request| {
        Some(Request {
            headers: request.head.to_ascii_lowercase(),
            body: request.json(),
        })
    })
    .await
}

/// A worked provider example from `config/`, sending to `url` instead of the provider.
fn example(file: &str, url: &str) -> SmsGatewaySettings {
    let path = format!("{}/config/{file}", env!("CARGO_MANIFEST_DIR"));
    let mut sms: SmsGatewaySettings = Figment::from(Toml::file(path))
        .extract_inner("sms")
        .expect("the example parses");
    sms.url = url.parse().unwrap();
    sms
}

fn whatsapp(url: &str) -> WhatsAppSettings {
    let template = |name: &str, language: &str| WhatsAppTemplate {
        name: name.into(),
        language: language.into(),
    };
    WhatsAppSettings {
        url: url.parse().unwrap(),
        token: "wa-token".into(),
        templates: [
            ("en".to_owned(), template("oneid_code", "en_US")),
            ("hi".to_owned(), template("oneid_code_hi", "hi")),
        ]
        .into(),
        timeout_secs: 2,
    }
}

/// An app with the generic SMS gateway (answering `sms_status`) and WhatsApp, tried in
/// `order`, its settings then adjusted by `tweak`; and what each fake received.
async fn two_channels(
    sms_status: u16,
    order: [PhoneChannel; 2],
    tweak: impl FnOnce(&mut Settings),
) -> (TestApp, Kept<Request>, Kept<Request>) {
    let (sms_url, sms) = fake("/send", vec![sms_status]).await;
    let (wa_url, wa) = fake("/v21.0/1234/messages", vec![200]).await;
    let app = TestApp::spawn_with(|s| {
        s.sms = Some(SmsGatewaySettings::generic(
            sms_url.parse().unwrap(),
            r#"{"to":"{to}","text":"{text}"}"#,
        ));
        s.whatsapp = Some(whatsapp(&wa_url));
        s.delivery.phone_channels = order.to_vec();
        tweak(s);
    })
    .await;
    (app, sms, wa)
}

fn sent(kept: &Kept<Request>) -> Vec<Request> {
    kept.lock().unwrap().clone()
}

fn hindi(app: &TestApp) -> Browser {
    app.browser_with_language(Some("hi"))
}

#[tokio::test]
async fn the_msg91_example_sends_each_languages_flow_with_the_code() {
    let (url, gateway) = fake("/api/v5/flow/", vec![200]).await;
    let app = TestApp::spawn_with(|s| s.sms = Some(example("sms-msg91.toml", &url))).await;

    let browser = hindi(&app);
    browser
        .request_signup_code("9812345678")
        .await
        .assert_redirect("/signup/verify");
    let requests = sent(&gateway);
    assert_eq!(requests.len(), 1);
    let code = requests[0].body["recipients"][0]["otp"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(code.len(), 4);
    assert_eq!(
        requests[0].body,
        json!({
            "flow_id": "64f0a1b2c3d4e5f6a7b800a1",
            "sender": "ONEIDV",
            "short_url": "0",
            "recipients": [{ "mobiles": "919812345678", "otp": code }]
        }),
        "the Hindi sign-up flow"
    );
    assert!(
        requests[0]
            .headers
            .contains("authkey: replace-with-your-msg91-authkey")
    );
    browser
        .enter_signup_code(&code, "correct horse", "Asha")
        .await
        .assert_redirect("/account");

    // English, a code that guards an account (password reset): its own flow, six digits.
    let english = app.browser();
    english
        .submit("/reset", "/reset", &[("identifier", "9812345678")])
        .await
        .assert_redirect("/recover/verify");
    let reset = wait_for(&gateway, 2).await;
    let body = &reset[1].body;
    assert_eq!(body["flow_id"], "64f0a1b2c3d4e5f6a7b802e0");
    assert_eq!(body["recipients"][0]["otp"].as_str().unwrap().len(), 6);
}

#[tokio::test]
async fn the_mobtexting_example_sends_the_registered_text_with_its_dlt_ids() {
    let (url, gateway) = fake("/api/v2/sms/send", vec![200]).await;
    let app = TestApp::spawn_with(|s| s.sms = Some(example("sms-mobtexting.toml", &url))).await;
    let host = app.settings.issuer.host_str().unwrap().to_owned();

    for (browser, template_id, text) in [
        (
            app.browser(),
            "1107000000000000001",
            "{code} is your OneID code to create your account. Valid 10 min. Do not share it. -ONEID",
        ),
        (
            hindi(&app),
            "1107000000000000002",
            "{code} आपका OneID खाता बनाने का कोड है। 10 मिनट मान्य। किसी को न बताएँ। -ONEID",
        ),
    ] {
        let before = sent(&gateway).len();
        let number = format!("98123456{}", 70 + before);
        browser
            .request_signup_code(&number)
            .await
            .assert_redirect("/signup/verify");
        let request = sent(&gateway)[before].clone();
        let message = request.body["message"].as_str().unwrap();
        let code: String = message.chars().take(4).collect();
        assert_eq!(
            request.body,
            json!({
                "to": format!("91{number}"),
                "message": format!("{}\n\n@{host} #{code}", text.replace("{code}", &code)),
                "sender": "ONEIDV",
                "service": "T",
                "type": "A",
                "entity_id": "1101000000000000001",
                "template_id": template_id,
            })
        );
        assert!(
            request
                .headers
                .contains("authorization: bearer replace-with-your-mobtexting-access-token")
        );
    }
}

/// Waits (briefly, for a delivery after the answer) until `kept` holds `n` requests.
async fn wait_for(kept: &Kept<Request>, n: usize) -> Vec<Request> {
    for _ in 0..200 {
        let requests = sent(kept);
        if requests.len() >= n {
            return requests;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("{n} requests expected, got {}", sent(kept).len());
}

#[tokio::test]
async fn a_failing_sms_gateway_sends_the_code_on_whatsapp_once() {
    let (app, sms, wa) =
        two_channels(500, [PhoneChannel::Sms, PhoneChannel::Whatsapp], |_| {}).await;

    let browser = hindi(&app);
    browser
        .request_signup_code("9812345678")
        .await
        .assert_redirect("/signup/verify");
    assert_eq!(sent(&sms).len(), 2, "the SMS gateway, retried once");
    let messages = sent(&wa);
    assert_eq!(messages.len(), 1, "then WhatsApp, once");
    let body = &messages[0].body;
    let code = body["template"]["components"][0]["parameters"][0]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        *body,
        json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": "919812345678",
            "type": "template",
            "template": {
                "name": "oneid_code_hi",
                "language": { "code": "hi" },
                "components": [
                    { "type": "body", "parameters": [{ "type": "text", "text": code }] },
                    {
                        "type": "button", "sub_type": "url", "index": "0",
                        "parameters": [{ "type": "text", "text": code }]
                    }
                ]
            }
        })
    );
    assert!(
        messages[0]
            .headers
            .contains("authorization: bearer wa-token")
    );

    // The page says where the code went, and offers SMS again.
    let page = browser.get("/signup/verify").await;
    assert!(page.has("यह WhatsApp पर आएगा।"), "{}", page.body);
    assert!(page.has("id=\"switch-sms\""));

    // Each channel's outcome is audited.
    let events = every_event(&app).await;
    assert!(events.iter().any(|e| e.kind == "code_sent"
        && e.outcome == "failed"
        && e.detail.as_deref() == Some("signup sms not delivered")));
    assert!(events.iter().any(|e| e.kind == "code_sent"
        && e.outcome == "ok"
        && e.detail.as_deref() == Some("signup whatsapp")));

    // The code works, and the ID token says how it came.
    browser
        .enter_signup_code(&code, "correct horse", "Asha")
        .await
        .assert_redirect("/account");
    let (id, secret) = app.register(registration("Cloud", true)).await;
    let rp = RelyingParty::discover(&app, &id, secret.as_deref()).await;
    let tokens = signed_in_tokens(&app, &rp, &browser, &["profile"]).await;
    let id_token = tokens.id_token().expect("an ID token").to_string();
    assert_eq!(jwt_part(&id_token, 1)["amr"], json!(["whatsapp", "pwd"]));
}

#[tokio::test]
async fn the_person_can_switch_channels_within_the_same_per_number_limits() {
    let (app, sms, wa) = two_channels(200, [PhoneChannel::Sms, PhoneChannel::Whatsapp], |s| {
        s.limits.codes_per_hour = 2;
    })
    .await;
    let browser = app.browser();
    browser.request_signup_code("9812345678").await;
    let page = browser.get("/signup/verify").await;
    assert!(page.has("It comes by SMS."), "{}", page.body);
    assert!(page.has("Send it on WhatsApp instead"));
    assert!(
        !page.has("id=\"switch-sms\""),
        "no switch to the channel used"
    );
    let csrf = page.csrf();

    // Within the resend cooldown nothing is sent, whichever channel is asked for.
    browser
        .post(
            "/signup/resend",
            &[("csrf", &csrf), ("channel", "whatsapp")],
        )
        .await
        .assert_redirect("/signup/verify");
    assert_eq!((sent(&sms).len(), sent(&wa).len()), (1, 0));

    app.advance(chrono::Duration::seconds(61));
    browser
        .post(
            "/signup/resend",
            &[("csrf", &csrf), ("channel", "whatsapp")],
        )
        .await
        .assert_redirect("/signup/verify");
    assert_eq!((sent(&sms).len(), sent(&wa).len()), (1, 1));
    let page = browser.get("/signup/verify").await;
    assert!(page.has("It comes on WhatsApp."), "{}", page.body);
    assert!(page.has("Send it by SMS instead"));

    // The third code this hour is refused, on either channel: the limit is the number's.
    app.advance(chrono::Duration::seconds(61));
    let refused = browser
        .post("/signup/resend", &[("csrf", &csrf), ("channel", "sms")])
        .await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!((sent(&sms).len(), sent(&wa).len()), (1, 1));

    // A channel that is no channel is a bad request, and sends nothing.
    let bad = browser
        .post("/signup/resend", &[("csrf", &csrf), ("channel", "pigeon")])
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!((sent(&sms).len(), sent(&wa).len()), (1, 1));

    // The WhatsApp code is the one that works now.
    let code = sent(&wa)[0].body["template"]["components"][0]["parameters"][0]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    browser
        .enter_signup_code(&code, "correct horse", "Asha")
        .await
        .assert_redirect("/account");
}

#[tokio::test]
async fn the_reset_page_names_the_route_for_everyone_alike() {
    let (app, _sms, _wa) =
        two_channels(200, [PhoneChannel::Whatsapp, PhoneChannel::Sms], |_| {}).await;
    // No account uses this number: the page says exactly what it says for one that does.
    let browser = app.browser();
    browser
        .submit("/reset", "/reset", &[("identifier", "9812345699")])
        .await
        .assert_redirect("/recover/verify");
    let page = browser.get("/recover/verify").await;
    assert!(
        page.has("It comes on WhatsApp. If WhatsApp cannot deliver it, it comes by SMS instead."),
        "{}",
        page.body
    );
}

/// Builds the application with `settings` and returns why it refused to start.
async fn refused_start(settings: Settings) -> String {
    if let Err(e) = settings.validate() {
        return e.to_string();
    }
    match Application::build(settings, std::sync::Arc::new(MockClock::starting_now())).await {
        Ok(_) => panic!("the start should be refused"),
        Err(e) => format!("{e:#}"),
    }
}

#[tokio::test]
async fn bad_delivery_settings_stop_the_start_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let base = || {
        let mut s = test_settings(&dir);
        s.sms = Some(example("sms-mobtexting.toml", "http://127.0.0.1:9/send"));
        s
    };

    // A channel order naming a channel that is not configured.
    let mut s = base();
    s.delivery.phone_channels = vec![PhoneChannel::Sms, PhoneChannel::Whatsapp];
    let why = refused_start(s).await;
    assert!(
        why.contains("`delivery.phone_channels`") && why.contains("whatsapp"),
        "{why}"
    );

    // WhatsApp configured but in no channel order: it would never be used.
    let mut s = base();
    s.whatsapp = Some(whatsapp("http://127.0.0.1:9/messages"));
    let why = refused_start(s).await;
    assert!(
        why.contains("`delivery.phone_channels`") && why.contains("never be used"),
        "{why}"
    );

    // A template without its ID, for a message that is sent.
    let mut s = base();
    let sms = s.sms.as_mut().unwrap();
    sms.templates
        .get_mut("delete")
        .unwrap()
        .get_mut("en")
        .unwrap()
        .template_id = None;
    let why = refused_start(s).await;
    assert!(
        why.contains("`sms.templates.delete.en.template_id`"),
        "{why}"
    );

    // An unknown variable.
    let mut s = base();
    s.sms.as_mut().unwrap().body_template =
        r#"{"to":"{to}","template_id":"{template_id}","entity_id":"{entity_id}","x":"{otp}"}"#
            .into();
    let why = refused_start(s).await;
    assert!(
        why.contains("`sms.body_template`") && why.contains("{otp}"),
        "{why}"
    );

    // The example as shipped starts.
    Application::build(base(), std::sync::Arc::new(MockClock::starting_now()))
        .await
        .expect("the worked example starts");
}

#[tokio::test]
async fn without_javascript_the_wait_keeps_the_channel_the_person_asked_for() {
    let (app, sms, wa) = two_channels(200, [PhoneChannel::Sms, PhoneChannel::Whatsapp], |s| {
        s.bot_check.mode = BotCheckMode::Always;
    })
    .await;
    let browser = app.browser();
    // The sign-up form without a solution: the wait, then the code by SMS.
    let form = browser.get("/signup").await;
    let fields = [("csrf", form.csrf()), ("identifier", "9812345678".into())];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let wait = browser.post("/signup", &fields).await;
    let ticket = wait.field("ticket").expect("the wait page");
    app.advance(chrono::Duration::seconds(16));
    let mut with_ticket = fields.clone();
    with_ticket.push(("ticket", &ticket));
    browser
        .post("/signup", &with_ticket)
        .await
        .assert_redirect("/signup/verify");
    assert_eq!((sent(&sms).len(), sent(&wa).len()), (1, 0));

    // "Send it on WhatsApp instead", without a solution: the wait page carries the choice.
    app.advance(chrono::Duration::seconds(61));
    let verify = browser.get("/signup/verify").await;
    let csrf = verify.csrf();
    let wait = browser
        .post(
            "/signup/resend",
            &[("csrf", &csrf), ("channel", "whatsapp")],
        )
        .await;
    assert_eq!(wait.field("channel").as_deref(), Some("whatsapp"));
    let ticket = wait.field("ticket").expect("the wait page");
    app.advance(chrono::Duration::seconds(16));
    browser
        .post(
            "/signup/resend",
            &[
                ("csrf", &csrf),
                ("channel", "whatsapp"),
                ("ticket", &ticket),
            ],
        )
        .await
        .assert_redirect("/signup/verify");
    assert_eq!((sent(&sms).len(), sent(&wa).len()), (1, 1));
}
