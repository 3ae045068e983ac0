//! SMS through an HTTP gateway: a JSON POST per message, its body filled from the message's
//! kind, language, registered template and text (see [`super::template`]).

use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

use super::{
    Envelope, NotifyError, Sender,
    http::JsonEndpoint,
    template::{
        self, BODY_VARIABLES, MessageKind, Segments, Templates, fill_json, fill_text,
        json_placeholders, placeholders, template_for,
    },
};
use crate::{config::SmsGatewaySettings, i18n::Lang};

pub struct SmsGateway {
    endpoint: JsonEndpoint,
    body: Value,
    notice_body: Value,
    templates: Templates,
    entity_id: String,
    sender_id: String,
}

/// Values a start-up check fills texts with to measure them: the longest code, the code's
/// lifetime, the issuer's host, a typical browser name.
#[derive(Debug, Clone)]
pub struct Sample {
    pub code_length: u8,
    pub minutes: i64,
    pub host: String,
}

/// A text that will not fit one SMS: the start-up check's warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LongText {
    /// `sms.templates.<kind>.<lang>.text`, or the built-in text's catalog key.
    pub key: String,
    pub segments: Segments,
}

fn invalid(key: impl Into<String>, reason: impl Into<String>) -> NotifyError {
    NotifyError::Settings {
        key: key.into(),
        reason: reason.into(),
    }
}

fn parse_body(key: &str, json: &str) -> Result<Value, NotifyError> {
    serde_json::from_str(json).map_err(|e| invalid(key, format!("not a JSON document: {e}")))
}

impl SmsGateway {
    /// Checks the settings (see [`check`]), logs the texts longer than one SMS, and builds the
    /// gateway.
    pub fn new(settings: &SmsGatewaySettings, sample: &Sample) -> Result<Self, NotifyError> {
        let (body, notice_body) = check(settings)?;
        for long in long_texts(settings, sample) {
            tracing::warn!(
                key = %long.key,
                segments = long.segments.count,
                units = long.segments.units,
                encoding = ?long.segments.encoding,
                "this SMS text takes more than one segment: each message is charged as that many SMS"
            );
        }
        let mut headers = Vec::new();
        if let Some(auth) = &settings.auth_header {
            headers.push((reqwest::header::AUTHORIZATION, auth.clone()));
        }
        for (name, value) in &settings.headers {
            headers.push((JsonEndpoint::header_name("SMS", name)?, value.clone()));
        }
        let idempotency_header = settings
            .idempotency_header
            .as_deref()
            .map(|name| JsonEndpoint::header_name("SMS idempotency", name))
            .transpose()?;
        Ok(Self {
            endpoint: JsonEndpoint::new(
                "SMS gateway",
                settings.url.expose().clone(),
                Duration::from_secs(settings.timeout_secs),
                headers,
                idempotency_header,
            )?,
            body,
            notice_body,
            templates: settings.templates.clone(),
            entity_id: settings.entity_id.clone().unwrap_or_default(),
            sender_id: settings.sender_id.clone().unwrap_or_default(),
        })
    }

    /// The JSON body for `envelope`.
    pub fn body_for(&self, envelope: &Envelope) -> Value {
        let kind = envelope.kind();
        let template = template_for(&self.templates, kind, envelope.lang);
        let text = match template.and_then(|t| t.text.as_deref()) {
            Some(registered) => {
                let args: Vec<(&str, &str)> = envelope
                    .args
                    .iter()
                    .map(|(k, v)| (*k, v.as_str()))
                    .collect();
                let mut text = fill_text(registered, &args);
                if let Some(line) = &envelope.web_otp {
                    text.push_str(line);
                }
                text
            }
            None => envelope.text.clone(),
        };
        let code = envelope.code.as_ref().map(|c| c.expose()).unwrap_or("");
        let values = [
            ("to", envelope.to.as_str()),
            ("to_digits", envelope.to.trim_start_matches('+')),
            ("text", text.as_str()),
            ("purpose", kind.key()),
            ("lang", envelope.lang.code()),
            (
                "template_id",
                template
                    .and_then(|t| t.template_id.as_deref())
                    .unwrap_or(""),
            ),
            ("entity_id", self.entity_id.as_str()),
            ("sender_id", self.sender_id.as_str()),
            ("code", code),
        ];
        let body = match kind {
            MessageKind::Code(_) => &self.body,
            MessageKind::Notice(_) => &self.notice_body,
        };
        fill_json(body, &values)
    }
}

/// The start-up check: a configuration that cannot produce a message its provider accepts
/// stops the start, with the key to fix. Returns the parsed bodies for codes and notices.
///
/// - Each body is JSON and names only known variables, and only ones its messages have (a
///   notice has no `{code}`: a body that sends one needs `notice_body_template`).
/// - Each template is for a known kind and language, and its text names only its kind's
///   variables.
/// - A body that sends `{template_id}` has one for every kind (in English at least, which
///   serves a language without its own); a template ID no body sends is refused as a mistake.
/// - `{entity_id}` and `{sender_id}` need their settings.
pub fn check(settings: &SmsGatewaySettings) -> Result<(Value, Value), NotifyError> {
    let body = parse_body("sms.body_template", &settings.body_template)?;
    let (notice_key, notice_body) = match &settings.notice_body_template {
        Some(json) => (
            "sms.notice_body_template",
            parse_body("sms.notice_body_template", json)?,
        ),
        None => ("sms.body_template", body.clone()),
    };
    let notice_kind = MessageKind::Notice(super::Notice::Locked);
    let code_kind = MessageKind::Code(crate::domain::CodePurpose::Login);
    let mut sends_template_id = false;
    for (key, json, kind) in [
        ("sms.body_template", &body, code_kind),
        (notice_key, &notice_body, notice_kind),
    ] {
        for name in json_placeholders(json) {
            if !BODY_VARIABLES.contains(&name.as_str()) {
                return Err(invalid(
                    key,
                    format!(
                        "unknown variable {{{name}}}; the variables are {}",
                        BODY_VARIABLES.map(|v| format!("{{{v}}}")).join(", ")
                    ),
                ));
            }
            if !kind.body_variables().contains(&name.as_str()) {
                return Err(invalid(
                    key,
                    format!(
                        "uses {{{name}}}, which security notices do not have; set sms.notice_body_template for them"
                    ),
                ));
            }
            match name.as_str() {
                "template_id" => sends_template_id = true,
                "entity_id" if settings.entity_id.is_none() => {
                    return Err(invalid(
                        "sms.entity_id",
                        format!("{key} sends {{entity_id}}: set the DLT principal entity ID"),
                    ));
                }
                "sender_id" if settings.sender_id.is_none() => {
                    return Err(invalid(
                        "sms.sender_id",
                        format!("{key} sends {{sender_id}}: set the registered sender ID"),
                    ));
                }
                _ => {}
            }
        }
    }

    for (kind_key, by_lang) in &settings.templates {
        let Some(kind) = MessageKind::ALL.into_iter().find(|k| k.key() == kind_key) else {
            return Err(invalid(
                format!("sms.templates.{kind_key}"),
                format!(
                    "not a kind of message; the kinds are {}",
                    MessageKind::ALL.map(MessageKind::key).join(", ")
                ),
            ));
        };
        for (lang, template) in by_lang {
            let key = format!("sms.templates.{kind_key}.{lang}");
            if Lang::from_code(lang).is_none() {
                return Err(invalid(key, "not a language OneID speaks (en, hi)"));
            }
            if let Some(text) = &template.text
                && let Some(name) = placeholders(text)
                    .into_iter()
                    .find(|name| !kind.text_variables().contains(name))
            {
                let known: Vec<String> = kind
                    .text_variables()
                    .iter()
                    .map(|v| format!("{{{v}}}"))
                    .collect();
                return Err(invalid(
                    format!("{key}.text"),
                    format!(
                        "uses {{{name}}}, which this message does not have; it has {}",
                        known.join(", ")
                    ),
                ));
            }
            match (&template.template_id, sends_template_id) {
                (None, true) => {
                    return Err(invalid(
                        format!("{key}.template_id"),
                        "missing: the gateway body sends {template_id}, so every template needs its ID",
                    ));
                }
                (Some(_), false) => {
                    return Err(invalid(
                        format!("{key}.template_id"),
                        "set, but no gateway body sends {template_id}: it would never reach the provider",
                    ));
                }
                _ => {}
            }
        }
    }
    if sends_template_id {
        for kind in MessageKind::ALL {
            let has = settings
                .templates
                .get(kind.key())
                .is_some_and(|by_lang| by_lang.contains_key(Lang::En.code()));
            if !has {
                return Err(invalid(
                    format!("sms.templates.{}.en.template_id", kind.key()),
                    "missing: the gateway body sends {template_id}, and this message is sent (English serves every language without its own template)",
                ));
            }
        }
    }
    Ok((body, notice_body))
}

/// The texts, as they would be sent (registered or built in, the WebOTP line included), that
/// take more than one SMS, for each kind and language.
pub fn long_texts(settings: &SmsGatewaySettings, sample: &Sample) -> Vec<LongText> {
    let code = "0".repeat(usize::from(sample.code_length));
    let mut long = Vec::new();
    for kind in MessageKind::ALL {
        for lang in Lang::ALL {
            let args = super::sample_args(kind, &code, sample.minutes, &sample.host);
            let built_in = super::message_text(kind, lang, &args);
            // As sent: a language without its own template gets the English one.
            let by_lang = settings.templates.get(kind.key());
            let used_lang = match by_lang {
                Some(by_lang) if !by_lang.contains_key(lang.code()) => Lang::En,
                _ => lang,
            };
            let registered =
                template_for(&settings.templates, kind, lang).and_then(|t| t.text.as_deref());
            let (key, mut text) = match registered {
                Some(text) => {
                    let args: Vec<(&str, &str)> =
                        args.iter().map(|(k, v)| (*k, v.as_str())).collect();
                    (
                        format!("sms.templates.{}.{}.text", kind.key(), used_lang.code()),
                        fill_text(text, &args),
                    )
                }
                None => (
                    format!("{} ({}, built in)", kind.key(), lang.code()),
                    built_in,
                ),
            };
            if matches!(kind, MessageKind::Code(_)) {
                text.push_str(&super::web_otp_line(&sample.host, &code));
            }
            let segments = template::segments(&text);
            if segments.count > 1 {
                long.push(LongText { key, segments });
            }
        }
    }
    long
}

#[async_trait]
impl Sender for SmsGateway {
    fn name(&self) -> &'static str {
        "sms-gateway"
    }

    async fn deliver(&self, envelope: &Envelope) -> Result<(), NotifyError> {
        self.endpoint.post(&self.body_for(envelope)).await
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use figment::{
        Figment,
        providers::{Format, Toml},
    };

    use super::*;
    use crate::{
        config::SmsTemplate,
        domain::{ContactIdentifier, Region, VerificationCode},
        notify::{Channel, code_envelope, notice_envelope},
    };

    const EXAMPLES: [(&str, &str); 2] = [
        ("msg91", include_str!("../../config/sms-msg91.toml")),
        (
            "mobtexting",
            include_str!("../../config/sms-mobtexting.toml"),
        ),
    ];

    fn example(toml: &str) -> SmsGatewaySettings {
        Figment::from(Toml::string(toml))
            .extract_inner("sms")
            .expect("the example parses as the [sms] section")
    }

    fn sample() -> Sample {
        Sample {
            code_length: 6,
            minutes: 10,
            host: "id.example.com".into(),
        }
    }

    /// Every message of one provider example, English and Hindi: `<kind> <lang> <body>` per
    /// line, the body exactly as the gateway receives it.
    fn render(settings: &SmsGatewaySettings) -> String {
        let gateway = SmsGateway::new(settings, &sample()).unwrap();
        let to = ContactIdentifier::parse("+91 98123 45678", Region::default()).unwrap();
        let mut out = String::new();
        for kind in MessageKind::ALL {
            for lang in Lang::ALL {
                let envelope = match kind {
                    MessageKind::Code(purpose) => {
                        let digits = if purpose == crate::domain::CodePurpose::Signup {
                            "4938"
                        } else {
                            "493817"
                        };
                        let code = VerificationCode::parse(digits).unwrap();
                        code_envelope(
                            Channel::Sms,
                            &to,
                            purpose,
                            &code,
                            10,
                            lang,
                            "id.example.com",
                        )
                    }
                    MessageKind::Notice(notice) => {
                        let args = [
                            ("host", "id.example.com".to_owned()),
                            ("browser", "Chrome on Android".to_owned()),
                            ("contact", "a•••@example.com".to_owned()),
                            ("method", "an authenticator app".to_owned()),
                        ];
                        notice_envelope(Channel::Sms, &to, notice, &args, lang)
                    }
                };
                // reqwest's `.json()` writes the body with serde_json, as here.
                let body = serde_json::to_string(&gateway.body_for(&envelope)).unwrap();
                out.push_str(&format!("{} {} {body}\n", kind.key(), lang.code()));
            }
        }
        out
    }

    /// The bodies of both worked provider examples, for every kind of message in English and
    /// Hindi, byte for byte against `tests/golden/sms-<provider>.txt`. After a deliberate
    /// change, `ONEID_BLESS=1 cargo test --lib golden` rewrites the files: read their diff.
    #[test]
    fn golden_provider_bodies_match_byte_for_byte() {
        for (name, toml) in EXAMPLES {
            let rendered = render(&example(toml));
            let path = format!("{}/tests/golden/sms-{name}.txt", env!("CARGO_MANIFEST_DIR"));
            if std::env::var_os("ONEID_BLESS").is_some() {
                std::fs::write(&path, &rendered).unwrap();
            }
            let golden = std::fs::read_to_string(&path).expect("the golden file exists");
            assert_eq!(rendered, golden, "{name}: the bodies differ from {path}");
        }
    }

    #[test]
    fn the_examples_carry_the_dlt_fields_per_kind_and_language() {
        let msg91 = render(&example(EXAMPLES[0].1));
        let line = |all: &str, kind: &str, lang: &str| -> Value {
            let prefix = format!("{kind} {lang} ");
            let body = all.lines().find_map(|l| l.strip_prefix(&prefix)).unwrap();
            serde_json::from_str(body).unwrap()
        };
        let hi = line(&msg91, "reset", "hi");
        assert_eq!(hi["flow_id"], "64f0a1b2c3d4e5f6a7b802a1");
        assert_eq!(hi["recipients"][0]["mobiles"], "919812345678");
        assert_eq!(hi["recipients"][0]["otp"], "493817");
        assert_eq!(hi["sender"], "ONEIDV");
        let notice = line(&msg91, "lock_notice", "en");
        assert!(notice["recipients"][0].get("otp").is_none());

        let mobtexting = render(&example(EXAMPLES[1].1));
        let en = line(&mobtexting, "signup", "en");
        assert_eq!(en["entity_id"], "1101000000000000001");
        assert_eq!(en["template_id"], "1107000000000000001");
        assert_eq!(
            en["message"],
            "4938 is your OneID code to create your account. Valid 10 min. Do not share it. -ONEID\n\n@id.example.com #4938"
        );
        let hi = line(&mobtexting, "signup", "hi");
        assert_eq!(hi["template_id"], "1107000000000000002");
        assert!(
            hi["message"]
                .as_str()
                .unwrap()
                .starts_with("4938 आपका OneID")
        );
    }

    fn settings(body: &str) -> SmsGatewaySettings {
        let mut settings = example(EXAMPLES[1].1);
        settings.body_template = body.into();
        settings
    }

    fn refused_key(settings: &SmsGatewaySettings) -> String {
        match check(settings) {
            Err(NotifyError::Settings { key, .. }) => key,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn bad_configurations_are_refused_naming_the_key() {
        // An unknown variable in the body.
        assert_eq!(
            refused_key(&settings(r#"{"to":"{to}","x":"{template_id}{nonsense}"}"#)),
            "sms.body_template"
        );
        // {code} in a body notices also use.
        let mut s = example(EXAMPLES[0].1);
        s.notice_body_template = None;
        assert_eq!(refused_key(&s), "sms.body_template");
        // A template without its ID while the body sends one.
        let mut s = example(EXAMPLES[1].1);
        s.templates
            .get_mut("unlock")
            .unwrap()
            .get_mut("hi")
            .unwrap()
            .template_id = None;
        assert_eq!(refused_key(&s), "sms.templates.unlock.hi.template_id");
        // A kind with no template at all.
        let mut s = example(EXAMPLES[1].1);
        s.templates.remove("new_browser_notice");
        assert_eq!(
            refused_key(&s),
            "sms.templates.new_browser_notice.en.template_id"
        );
        // A text naming a variable its kind does not have.
        let mut s = example(EXAMPLES[1].1);
        s.templates.get_mut("password_notice").unwrap().insert(
            "en".into(),
            SmsTemplate {
                template_id: Some("1".into()),
                text: Some("{code} is not in a notice".into()),
            },
        );
        assert_eq!(refused_key(&s), "sms.templates.password_notice.en.text");
        // An unknown kind, an unknown language.
        let mut s = example(EXAMPLES[1].1);
        s.templates.insert("welcome".into(), BTreeMap::new());
        assert_eq!(refused_key(&s), "sms.templates.welcome");
        let mut s = example(EXAMPLES[1].1);
        let en = s.templates["login"]["en"].clone();
        s.templates
            .get_mut("login")
            .unwrap()
            .insert("ta".into(), en);
        assert_eq!(refused_key(&s), "sms.templates.login.ta");
        // {entity_id} without the setting.
        let mut s = example(EXAMPLES[1].1);
        s.entity_id = None;
        assert_eq!(refused_key(&s), "sms.entity_id");
        // Template IDs no body sends.
        assert_eq!(
            refused_key(&settings(r#"{"to":"{to}","text":"{text}"}"#)),
            "sms.templates.contact.en.template_id"
        );
        // The generic gateway without templates stays valid.
        let mut plain = settings(r#"{"to":"{to}","text":"{text}"}"#);
        plain.templates.clear();
        plain.entity_id = None;
        assert!(check(&plain).is_ok());
    }

    #[test]
    fn texts_longer_than_one_segment_are_reported_with_their_key() {
        let mobtexting = example(EXAMPLES[1].1);
        let long = long_texts(&mobtexting, &sample());
        // English code texts fit one GSM-7 segment, WebOTP line included.
        assert!(!long.iter().any(|l| {
            l.key.ends_with(".en.text")
                && ["signup", "login", "reset"]
                    .iter()
                    .any(|k| l.key.contains(&format!(".{k}.")))
        }));
        // Hindi is UCS-2, 70 units a segment: with the WebOTP line a code text takes two.
        let hi = long
            .iter()
            .find(|l| l.key == "sms.templates.signup.hi.text")
            .expect("the Hindi sign-up text is reported");
        assert_eq!(hi.segments.encoding, template::Encoding::Ucs2);
        assert_eq!(hi.segments.count, 2);
        // Built-in texts are measured too.
        let mut plain = settings(r#"{"to":"{to}","text":"{text}"}"#);
        plain.templates.clear();
        let built_in = long_texts(&plain, &sample());
        assert!(built_in.iter().any(|l| l.key == "signup (hi, built in)"));
    }
}
