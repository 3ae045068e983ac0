//! Email through an SMTP relay (lettre).

use std::time::Duration;

use async_trait::async_trait;
use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, header::ContentType},
    transport::smtp::authentication::Credentials,
};

use super::{Envelope, NotifyError, Sender};
use crate::config::{SmtpSettings, SmtpTls};

pub struct SmtpSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpSender {
    pub fn new(settings: &SmtpSettings) -> Result<Self, NotifyError> {
        let failed =
            |e: lettre::transport::smtp::Error| NotifyError::Failed(format!("SMTP setup: {e}"));
        let builder = match settings.tls {
            SmtpTls::None => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host)
            }
            SmtpTls::Starttls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&settings.host)
                    .map_err(failed)?
            }
            SmtpTls::Tls => {
                AsyncSmtpTransport::<Tokio1Executor>::relay(&settings.host).map_err(failed)?
            }
        };
        let mut builder = builder
            .port(settings.port)
            .timeout(Some(Duration::from_secs(settings.timeout_secs)));
        if let (Some(user), Some(password)) = (&settings.username, &settings.password) {
            builder =
                builder.credentials(Credentials::new(user.clone(), password.expose().to_owned()));
        }
        let from = settings
            .from
            .parse()
            .map_err(|e| NotifyError::Failed(format!("SMTP from address: {e}")))?;
        Ok(Self {
            transport: builder.build(),
            from,
        })
    }
}

#[async_trait]
impl Sender for SmtpSender {
    fn name(&self) -> &'static str {
        "smtp"
    }

    async fn deliver(&self, envelope: &Envelope) -> Result<(), NotifyError> {
        let to: Mailbox = envelope
            .to
            .parse()
            .map_err(|e| NotifyError::Failed(format!("recipient: {e}")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&envelope.subject)
            .header(ContentType::TEXT_PLAIN)
            .body(envelope.text.clone())
            .map_err(|e| NotifyError::Failed(e.to_string()))?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| NotifyError::Failed(format!("SMTP: {e}")))
    }
}
