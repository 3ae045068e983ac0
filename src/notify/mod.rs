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

/// One message, ready to hand to a transport.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub channel: Channel,
    /// E.164 number or email address.
    pub to: String,
    pub purpose: CodePurpose,
    /// `None` for a notice, which never carries a code (see [`Notifier::send_lock_notice`]).
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
            code: Some(code.clone()),
            subject: lang.t_args("code-message-subject", &args),
            text,
        };
        let result = sender.deliver(&envelope).await;
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
    /// What the message is for, as the outbox and logs name it: the code's purpose, or
    /// `lock-notice`.
    pub fn label(&self) -> &'static str {
        match self.code {
            Some(_) => self.purpose.as_str(),
            None => "lock-notice",
        }
    }
}

impl Notifier {
    /// Tells the owner that their account is locked until unlocked, and how to unlock it: on
    /// `host`, "Unlock with a code" sends a code to this phone or email. The notice holds no
    /// code and no link, so it cannot be turned into a way in and does not look like the
    /// messages phishing sends.
    pub async fn send_lock_notice(
        &self,
        to: &ContactIdentifier,
        host: &str,
        lang: Lang,
    ) -> Result<(), NotifyError> {
        let args = [("host", host.to_owned())];
        let (channel, sender) = match to {
            ContactIdentifier::Phone(_) => (Channel::Sms, &self.sms),
            ContactIdentifier::Email(_) => (Channel::Email, &self.email),
        };
        let envelope = Envelope {
            channel,
            to: to.canonical().to_owned(),
            purpose: CodePurpose::Unlock,
            code: None,
            subject: lang.t_args("lock-notice-subject", &args),
            text: lang.t_args("lock-notice-text", &args),
        };
        let result = sender.deliver(&envelope).await;
        match &result {
            Ok(()) => {
                tracing::info!(to = %to.masked(), ?channel, via = sender.name(), "lock notice sent")
            }
            Err(e) => {
                tracing::warn!(to = %to.masked(), ?channel, via = sender.name(), error = %e, "lock notice not delivered")
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
