//! Delivering verification codes: SMTP for email; for phone numbers an HTTP SMS gateway and
//! WhatsApp, in the configured order with one failover; the outbox file when no transport is
//! configured (development and tests).

mod http;
mod outbox;
mod sms;
mod smtp;
pub mod template;
mod whatsapp;

use std::sync::Arc;

use async_trait::async_trait;

pub use outbox::Outbox;
pub use sms::{Sample, SmsGateway};
pub use smtp::SmtpSender;
pub use template::MessageKind;
pub use whatsapp::WhatsAppSender;

use crate::{
    config::{PhoneChannel, Settings},
    domain::{CodePurpose, ContactIdentifier, VerificationCode},
    i18n::Lang,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Sms,
    Email,
    Whatsapp,
}

impl Channel {
    /// The name the outbox, logs, metrics and `amr` use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sms => "sms",
            Self::Email => "email",
            Self::Whatsapp => "whatsapp",
        }
    }
}

impl From<PhoneChannel> for Channel {
    fn from(channel: PhoneChannel) -> Self {
        match channel {
            PhoneChannel::Sms => Self::Sms,
            PhoneChannel::Whatsapp => Self::Whatsapp,
        }
    }
}

/// One message, ready to hand to a transport.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub channel: Channel,
    /// E.164 number or email address.
    pub to: String,
    /// The code's purpose; meaningless for a notice.
    pub purpose: CodePurpose,
    /// Set for a security notice, which never carries a code (see [`Notice`]).
    pub notice: Option<Notice>,
    pub code: Option<VerificationCode>,
    pub lang: Lang,
    /// The values the text was written with (`code`, `minutes`; `host`, `browser`), for a
    /// transport that writes its own registered text.
    pub args: Vec<(&'static str, String)>,
    /// For a code to a phone: the WebOTP line that ends the text (see [`web_otp_line`]).
    pub web_otp: Option<String>,
    pub subject: String,
    /// The built-in text, WebOTP line included.
    pub text: String,
}

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("message could not be delivered: {0}")]
    Failed(String),
    #[error("invalid setting `{key}`: {reason}")]
    Settings { key: String, reason: String },
}

/// A transport for one channel.
#[async_trait]
pub trait Sender: Send + Sync {
    /// A short name for logs.
    fn name(&self) -> &'static str;
    async fn deliver(&self, envelope: &Envelope) -> Result<(), NotifyError>;
}

/// What happened to one code: each channel tried, in order, and its outcome.
#[derive(Debug)]
pub struct DeliveryReport {
    pub attempts: Vec<(Channel, Result<(), NotifyError>)>,
}

impl DeliveryReport {
    /// The channel that took the message, if one did.
    pub fn delivered_by(&self) -> Option<Channel> {
        self.attempts
            .iter()
            .find(|(_, outcome)| outcome.is_ok())
            .map(|(channel, _)| *channel)
    }
}

/// WebOTP (https://wicg.github.io/web-otp/): the last line binds the code to our origin, so a
/// phone browser can fill it in and a phishing page cannot.
pub fn web_otp_line(host: &str, code: &str) -> String {
    format!("\n\n@{host} #{code}")
}

/// The values a message of `kind` is written with, for measuring texts at start.
fn sample_args(
    kind: MessageKind,
    code: &str,
    minutes: i64,
    host: &str,
) -> Vec<(&'static str, String)> {
    match kind {
        MessageKind::Code(_) => vec![("code", code.to_owned()), ("minutes", minutes.to_string())],
        MessageKind::Notice(_) => vec![
            ("host", host.to_owned()),
            ("browser", "Chrome on Android".to_owned()),
            ("contact", "+91 ••••• •5678".to_owned()),
        ],
    }
}

/// The built-in text of `kind` in `lang`.
fn message_text(kind: MessageKind, lang: Lang, args: &[(&'static str, String)]) -> String {
    match kind {
        MessageKind::Code(_) => lang.t_args("code-message-text", args),
        MessageKind::Notice(notice) => lang.t_args(&format!("{}-text", notice.label()), args),
    }
}

/// The message carrying `code` on `channel`: the built-in text, and for SMS the WebOTP line.
pub fn code_envelope(
    channel: Channel,
    to: &ContactIdentifier,
    purpose: CodePurpose,
    code: &VerificationCode,
    ttl_minutes: i64,
    lang: Lang,
    origin_host: &str,
) -> Envelope {
    let args = vec![
        ("code", code.expose().to_owned()),
        ("minutes", ttl_minutes.to_string()),
    ];
    let web_otp = (channel == Channel::Sms).then(|| web_otp_line(origin_host, code.expose()));
    let mut text = message_text(MessageKind::Code(purpose), lang, &args);
    if let Some(line) = &web_otp {
        text.push_str(line);
    }
    Envelope {
        channel,
        to: to.canonical().to_owned(),
        purpose,
        notice: None,
        code: Some(code.clone()),
        lang,
        subject: lang.t_args("code-message-subject", &args),
        args,
        web_otp,
        text,
    }
}

/// The message carrying `notice`, written with `args`.
pub fn notice_envelope(
    channel: Channel,
    to: &ContactIdentifier,
    notice: Notice,
    args: &[(&'static str, String)],
    lang: Lang,
) -> Envelope {
    let label = notice.label();
    Envelope {
        channel,
        to: to.canonical().to_owned(),
        purpose: CodePurpose::Unlock,
        notice: Some(notice),
        code: None,
        lang,
        args: args.to_vec(),
        web_otp: None,
        subject: lang.t_args(&format!("{label}-subject"), args),
        text: message_text(MessageKind::Notice(notice), lang, args),
    }
}

/// Chooses the transport per channel and writes the message in the person's language.
#[derive(Clone)]
pub struct Notifier {
    sms: Arc<dyn Sender>,
    email: Arc<dyn Sender>,
    whatsapp: Option<Arc<dyn Sender>>,
    /// The channels for a code to a phone number, in order (`delivery.phone_channels`).
    phone_channels: Vec<Channel>,
    /// Host for the WebOTP line (`@host #code`) that lets phones offer the code to the page.
    origin_host: String,
}

impl Notifier {
    /// `sms` and `email` only, SMS the one phone channel (the unit tests' notifier).
    pub fn new(sms: Arc<dyn Sender>, email: Arc<dyn Sender>, origin_host: String) -> Self {
        Self {
            sms,
            email,
            whatsapp: None,
            phone_channels: vec![Channel::Sms],
            origin_host,
        }
    }

    /// SMTP, the SMS gateway and WhatsApp when configured; email and SMS go to the outbox when
    /// not. The SMS templates are checked here, so a configuration no provider would accept
    /// stops the start (with the key to fix).
    pub fn from_settings(settings: &Settings) -> Result<Self, NotifyError> {
        let outbox: Arc<dyn Sender> = Arc::new(Outbox::new(settings.outbox.clone()));
        let email: Arc<dyn Sender> = match &settings.smtp {
            Some(smtp) => Arc::new(SmtpSender::new(smtp)?),
            None => outbox.clone(),
        };
        let host = settings.issuer.host_str().unwrap_or("localhost").to_owned();
        let sms: Arc<dyn Sender> = match &settings.sms {
            Some(sms) => {
                let sample = Sample {
                    code_length: settings
                        .codes
                        .signup_length
                        .max(settings.codes.account_length),
                    minutes: settings.codes.ttl_secs / 60,
                    host: host.clone(),
                };
                Arc::new(SmsGateway::new(sms, &sample)?)
            }
            None => outbox,
        };
        let whatsapp: Option<Arc<dyn Sender>> = match &settings.whatsapp {
            Some(whatsapp) => Some(Arc::new(WhatsAppSender::new(whatsapp)?)),
            None => None,
        };
        let echo = |sender: Arc<dyn Sender>| -> Arc<dyn Sender> {
            if settings.demo_echo_codes {
                Arc::new(EchoToConsole(sender))
            } else {
                sender
            }
        };
        let (sms, email, whatsapp) = (echo(sms), echo(email), whatsapp.map(echo));

        for (channel, sender) in [("email", &email), ("sms", &sms)] {
            if sender.name() == "outbox" {
                tracing::warn!(channel, outbox = %settings.outbox.display(), "no transport configured: codes go to the development outbox");
            }
        }
        let phone_channels = settings
            .delivery
            .phone_channels
            .iter()
            .map(|&c| Channel::from(c))
            .collect();
        Ok(Self {
            sms,
            email,
            whatsapp,
            phone_channels,
            origin_host: host,
        })
    }

    /// The channels that carry a code to a phone number, in the configured order.
    pub fn phone_channels(&self) -> &[Channel] {
        &self.phone_channels
    }

    /// The channels a code to `to` is tried on, in order: at most two, the person's choice
    /// (when it is one of the phone channels) first, then the next configured one.
    pub fn route(&self, to: &ContactIdentifier, preferred: Option<Channel>) -> Vec<Channel> {
        match to {
            ContactIdentifier::Email(_) => vec![Channel::Email],
            ContactIdentifier::Phone(_) => {
                let mut route: Vec<Channel> = preferred
                    .filter(|p| self.phone_channels.contains(p))
                    .into_iter()
                    .collect();
                for channel in &self.phone_channels {
                    if !route.contains(channel) {
                        route.push(*channel);
                    }
                }
                route.truncate(2);
                route
            }
        }
    }

    fn sender(&self, channel: Channel) -> Option<&Arc<dyn Sender>> {
        match channel {
            Channel::Sms => Some(&self.sms),
            Channel::Email => Some(&self.email),
            Channel::Whatsapp => self.whatsapp.as_ref(),
        }
    }

    /// Sends `code` along [`Notifier::route`]: the first channel, and when it fails to deliver
    /// (an error, a refusal or a timeout, after its own single retry) the next one once.
    pub async fn send_code(
        &self,
        to: &ContactIdentifier,
        purpose: CodePurpose,
        code: &VerificationCode,
        ttl_minutes: i64,
        lang: Lang,
        preferred: Option<Channel>,
    ) -> DeliveryReport {
        let mut attempts = Vec::new();
        for channel in self.route(to, preferred) {
            let Some(sender) = self.sender(channel) else {
                continue;
            };
            let envelope = code_envelope(
                channel,
                to,
                purpose,
                code,
                ttl_minutes,
                lang,
                &self.origin_host,
            );
            let started = std::time::Instant::now();
            let result = sender.deliver(&envelope).await;
            crate::telemetry::code_sent(
                channel.as_str(),
                purpose,
                result.is_ok(),
                started.elapsed(),
            );
            match &result {
                Ok(()) => {
                    tracing::info!(to = %to.masked(), channel = channel.as_str(), purpose = purpose.as_str(), via = sender.name(), "verification code sent")
                }
                Err(e) => {
                    tracing::warn!(to = %to.masked(), channel = channel.as_str(), purpose = purpose.as_str(), via = sender.name(), error = %e, "verification code not delivered")
                }
            }
            let delivered = result.is_ok();
            attempts.push((channel, result));
            if delivered {
                break;
            }
        }
        DeliveryReport { attempts }
    }
}

impl Envelope {
    /// The kind of message: a code's purpose or a notice.
    pub fn kind(&self) -> MessageKind {
        match self.notice {
            Some(notice) => MessageKind::Notice(notice),
            None => MessageKind::Code(self.purpose),
        }
    }

    /// What the message is for, as the outbox and logs name it: the code's purpose, or the
    /// notice's label (`lock-notice`, `password-notice`, ...).
    pub fn label(&self) -> &'static str {
        match self.notice {
            Some(notice) => notice.label(),
            None => self.purpose.as_str(),
        }
    }
}

/// A security notice: something happened to the account that its owner should know of. A
/// notice holds no code and no link, so it cannot be turned into a way in and does not look
/// like the messages phishing sends; it names the site to open instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// Locked after many failed sign-ins, until unlocked with a code.
    Locked,
    /// The password was changed while signed in.
    PasswordChanged,
    /// A phone number or email was added to the account (sent to the contacts it had).
    ContactAdded,
    /// A phone number or email was replaced (sent to the old one).
    ContactChanged,
    /// A phone number or email was removed (sent to the one removed, and the ones left).
    ContactRemoved,
    /// The account was deleted (sent to the contacts it had, just before they were erased).
    AccountDeleted,
    /// A sign-in from a browser this account had not used before.
    NewBrowser,
    /// A way to prove who you are was added: an authenticator app, a passkey, a new set of
    /// recovery codes (`method` names it).
    SecurityMethodAdded,
    /// A way to prove who you are was removed (`method` names it).
    SecurityMethodRemoved,
    /// A recovery code was used to sign in.
    RecoveryCodeUsed,
}

impl Notice {
    pub const ALL: [Notice; 10] = [
        Self::Locked,
        Self::PasswordChanged,
        Self::ContactAdded,
        Self::ContactChanged,
        Self::ContactRemoved,
        Self::AccountDeleted,
        Self::NewBrowser,
        Self::SecurityMethodAdded,
        Self::SecurityMethodRemoved,
        Self::RecoveryCodeUsed,
    ];

    /// The outbox and log label; also the catalog keys' stem (`<label>-subject`, `-text`).
    pub fn label(self) -> &'static str {
        match self {
            Self::Locked => "lock-notice",
            Self::PasswordChanged => "password-notice",
            Self::ContactAdded => "contact-added-notice",
            Self::ContactChanged => "contact-changed-notice",
            Self::ContactRemoved => "contact-removed-notice",
            Self::AccountDeleted => "deleted-notice",
            Self::NewBrowser => "new-browser-notice",
            Self::SecurityMethodAdded => "method-added-notice",
            Self::SecurityMethodRemoved => "method-removed-notice",
            Self::RecoveryCodeUsed => "recovery-used-notice",
        }
    }
}

impl Notifier {
    /// Sends `notice` to `to` in `lang`. `args` fill the message (`host`, the site to open, is
    /// always given; `browser` for [`Notice::NewBrowser`]).
    pub async fn send_notice(
        &self,
        to: &ContactIdentifier,
        notice: Notice,
        args: &[(&'static str, String)],
        lang: Lang,
    ) -> Result<(), NotifyError> {
        let (channel, sender) = match to {
            ContactIdentifier::Phone(_) => (Channel::Sms, &self.sms),
            ContactIdentifier::Email(_) => (Channel::Email, &self.email),
        };
        let label = notice.label();
        let envelope = notice_envelope(channel, to, notice, args, lang);
        let started = std::time::Instant::now();
        let result = sender.deliver(&envelope).await;
        crate::telemetry::notice_sent(channel.as_str(), label, result.is_ok(), started.elapsed());
        match &result {
            Ok(()) => {
                tracing::info!(to = %to.masked(), ?channel, via = sender.name(), notice = label, "notice sent")
            }
            Err(e) => {
                tracing::warn!(to = %to.masked(), ?channel, via = sender.name(), notice = label, error = %e, "notice not delivered")
            }
        }
        result
    }
}

/// Demo only (`demo_echo_codes`): delivers as usual, then prints the code on standard output
/// so a newcomer trying OneID on their own machine sees it without opening the outbox. It is
/// printed, never logged, and the setting is refused for any non-loopback issuer.
struct EchoToConsole(Arc<dyn Sender>);

#[async_trait]
impl Sender for EchoToConsole {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    async fn deliver(&self, envelope: &Envelope) -> Result<(), NotifyError> {
        self.0.deliver(envelope).await?;
        let Some(code) = &envelope.code else {
            return Ok(());
        };
        println!(
            "[demo] {} code for {}: {}",
            envelope.purpose.as_str(),
            envelope.to,
            code.expose()
        );
        Ok(())
    }
}
