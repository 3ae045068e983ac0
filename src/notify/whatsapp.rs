//! Codes on WhatsApp: the Business Cloud API's authentication-template message, the code as
//! the body's parameter and again as the copy-code button's.
//!
//! Meta's authentication templates have a fixed, pre-approved text ("<code> is your
//! verification code") per language and cannot carry anything else, so only codes go this
//! way; notices stay on SMS.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};

use super::{Envelope, NotifyError, Sender, http::JsonEndpoint};
use crate::{
    config::{WhatsAppSettings, WhatsAppTemplate},
    i18n::Lang,
};

pub struct WhatsAppSender {
    endpoint: JsonEndpoint,
    settings: WhatsAppSettings,
}

impl WhatsAppSender {
    pub fn new(settings: &WhatsAppSettings) -> Result<Self, NotifyError> {
        let bearer = crate::domain::Secret::from(format!("Bearer {}", settings.token.expose()));
        Ok(Self {
            endpoint: JsonEndpoint::new(
                "WhatsApp",
                settings.url.expose().clone(),
                Duration::from_secs(settings.timeout_secs),
                vec![(reqwest::header::AUTHORIZATION, bearer)],
                None,
            )?,
            settings: settings.clone(),
        })
    }

    /// The approved template for `lang`, or the English one (checked present at start).
    fn template(&self, lang: Lang) -> Option<&WhatsAppTemplate> {
        self.settings
            .templates
            .get(lang.code())
            .or_else(|| self.settings.templates.get(Lang::En.code()))
    }

    /// The message for `envelope`; `None` for one without a code.
    pub fn body_for(&self, envelope: &Envelope) -> Option<Value> {
        let code = envelope.code.as_ref()?.expose();
        let template = self.template(envelope.lang)?;
        // Cloud API, "Send authentication templates": the code fills the body's {{1}} and the
        // copy-code button's URL parameter (button index 0).
        Some(json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": envelope.to.trim_start_matches('+'),
            "type": "template",
            "template": {
                "name": template.name,
                "language": { "code": template.language },
                "components": [
                    { "type": "body", "parameters": [ { "type": "text", "text": code } ] },
                    {
                        "type": "button",
                        "sub_type": "url",
                        "index": "0",
                        "parameters": [ { "type": "text", "text": code } ]
                    }
                ]
            }
        }))
    }
}

#[async_trait]
impl Sender for WhatsAppSender {
    fn name(&self) -> &'static str {
        "whatsapp"
    }

    async fn deliver(&self, envelope: &Envelope) -> Result<(), NotifyError> {
        let body = self.body_for(envelope).ok_or_else(|| {
            NotifyError::Failed("WhatsApp carries codes only; a notice goes by SMS".into())
        })?;
        self.endpoint.post(&body).await
    }
}
