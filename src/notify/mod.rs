//! Delivering verification codes: SMTP for email, an HTTP gateway for SMS, and the outbox file
//! when neither is configured (development and tests).

mod outbox;
mod sms;
mod smtp;

use std::sync::Arc;

use async_trait::async_trait;

pub use outbox::Outbox;
pub use sms::SmsGateway;
pub use smtp::SmtpSender;

use crate::{
    config::Settings,
    domain::{CodePurpose, ContactIdentifier, VerificationCode},
    i18n::Lang,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Sms,
    Email,
}

impl Channel {
    /// The name the outbox, logs and metrics use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sms => "sms",
            Self::Email => "email",
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
    pub subject: String,
    pub text: String,
}

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("message could not be delivered: {0}")]
    Failed(String),
}

/// A transport for one channel.
#[async_trait]
pub trait Sender: Send + Sync {
    /// A short name for logs.
    fn name(&self) -> &'static str;
    async fn deliver(&self, envelope: &Envelope) -> Result<(), NotifyError>;
}

/// Chooses the transport per channel and writes the message in the person's language.
#[derive(Clone)]
pub struct Notifier {
    sms: Arc<dyn Sender>,
    email: Arc<dyn Sender>,
    /// Host for the WebOTP line (`@host #code`) that lets phones offer the code to the page.
    origin_host: String,
}

impl Notifier {
    pub fn new(sms: Arc<dyn Sender>, email: Arc<dyn Sender>, origin_host: String) -> Self {
        Self {
            sms,
            email,
            origin_host,
        }
    }

    /// SMTP and the SMS gateway when configured; each unconfigured channel goes to the outbox.
    pub fn from_settings(settings: &Settings) -> Result<Self, NotifyError> {
        let outbox: Arc<dyn Sender> = Arc::new(Outbox::new(settings.outbox.clone()));
        let email: Arc<dyn Sender> = match &settings.smtp {
            Some(smtp) => Arc::new(SmtpSender::new(smtp)?),
            None => outbox.clone(),
        };
        let sms: Arc<dyn Sender> = match &settings.sms {
            Some(sms) => Arc::new(SmsGateway::new(sms)?),
            None => outbox,
        };
        let (sms, email): (Arc<dyn Sender>, Arc<dyn Sender>) = if settings.demo_echo_codes {
            (Arc::new(EchoToConsole(sms)), Arc::new(EchoToConsole(email)))
        } else {
            (sms, email)
        };

        for (channel, sender) in [("email", &email), ("sms", &sms)] {
            if sender.name() == "outbox" {
                tracing::warn!(channel, outbox = %settings.outbox.display(), "no transport configured: codes go to the development outbox");
            }
        }
        Ok(Self::new(
            sms,
            email,
            settings.issuer.host_str().unwrap_or("localhost").to_owned(),
        ))
    }

    pub async fn send_code(
        &self,
        to: &ContactIdentifier,
        purpose: CodePurpose,
        code: &VerificationCode,
        ttl_minutes: i64,
        lang: Lang,
    ) -> Result<(), NotifyError> {
        let args = [
            ("code", code.expose().to_owned()),
            ("minutes", ttl_minutes.to_string()),
        ];
        let mut text = lang.t_args("code-message-text", &args);
        let (channel, sender) = match to {
            ContactIdentifier::Phone(_) => {
                // WebOTP (https://wicg.github.io/web-otp/): the last line binds the code to our
                // origin, so a phone browser can fill it in and a phishing page cannot.
                text.push_str(&format!("\n\n@{} #{}", self.origin_host, code.expose()));
                (Channel::Sms, &self.sms)
            }
            ContactIdentifier::Email(_) => (Channel::Email, &self.email),
        };
        let envelope = Envelope {
            channel,
            to: to.canonical().to_owned(),
            purpose,
            notice: None,
            code: Some(code.clone()),
            subject: lang.t_args("code-message-subject", &args),
            text,
        };
        let started = std::time::Instant::now();
        let result = sender.deliver(&envelope).await;
        crate::telemetry::code_sent(channel.as_str(), purpose, result.is_ok(), started.elapsed());
        match &result {
            Ok(()) => {
                tracing::info!(to = %to.masked(), ?channel, purpose = purpose.as_str(), via = sender.name(), "verification code sent")
            }
            Err(e) => {
                tracing::warn!(to = %to.masked(), ?channel, purpose = purpose.as_str(), via = sender.name(), error = %e, "verification code not delivered")
            }
        }
        result
    }
}

impl Envelope {
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
}

impl Notice {
    pub const ALL: [Notice; 7] = [
        Self::Locked,
        Self::PasswordChanged,
        Self::ContactAdded,
        Self::ContactChanged,
        Self::ContactRemoved,
        Self::AccountDeleted,
        Self::NewBrowser,
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
        let envelope = Envelope {
            channel,
            to: to.canonical().to_owned(),
            purpose: CodePurpose::Unlock,
            notice: Some(notice),
            code: None,
            subject: lang.t_args(&format!("{label}-subject"), args),
            text: lang.t_args(&format!("{label}-text"), args),
        };
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
