//! SMS through an HTTP gateway: a JSON POST per message.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

use super::{Envelope, NotifyError, Sender};
use crate::{
    config::SmsGatewaySettings,
    domain::{Secret, random_token_of},
};

pub struct SmsGateway {
    client: reqwest::Client,
    url: url::Url,
    auth_header: Option<Secret>,
    /// The gateway's idempotency header, if it has one (`Idempotency-Key`).
    idempotency_header: Option<reqwest::header::HeaderName>,
    template: Value,
}

impl SmsGateway {
    pub fn new(settings: &SmsGatewaySettings) -> Result<Self, NotifyError> {
        let template = serde_json::from_str(&settings.body_template)
            .map_err(|e| NotifyError::Failed(format!("SMS body template: {e}")))?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(settings.timeout_secs))
            .build()
            .map_err(|e| NotifyError::Failed(e.to_string()))?;
        let idempotency_header = settings
            .idempotency_header
            .as_deref()
            .map(|name| {
                reqwest::header::HeaderName::from_bytes(name.as_bytes())
                    .map_err(|e| NotifyError::Failed(format!("SMS idempotency header: {e}")))
            })
            .transpose()?;
        Ok(Self {
            client,
            url: settings.url.expose().clone(),
            auth_header: settings.auth_header.clone(),
            idempotency_header,
            template,
        })
    }

    async fn post_once(&self, body: &Value, idempotency_key: &str) -> Result<(), Attempt> {
        let mut request = self.client.post(self.url.clone()).json(body);
        if let Some(auth) = &self.auth_header {
            request = request.header(reqwest::header::AUTHORIZATION, auth.expose());
        }
        if let Some(name) = &self.idempotency_header {
            request = request.header(name.clone(), idempotency_key);
        }
        let response = request
            .send()
            .await
            .map_err(|e| Attempt::Retry(format!("SMS gateway unreachable: {}", e.without_url())))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            Err(Attempt::Retry(format!("SMS gateway answered {status}")))
        } else {
            Err(Attempt::GiveUp(format!(
                "SMS gateway refused the message: {status}"
            )))
        }
    }
}

enum Attempt {
    Retry(String),
    GiveUp(String),
}

/// 128 random bits, base64url: unique per message, the same for its retry.
fn idempotency_key() -> String {
    random_token_of(16)
}

/// Replaces `{to}` and `{text}` inside every string of the template. Substituting into parsed
/// JSON, not into the raw text, means a message can never break out of its string.
fn fill(template: &Value, to: &str, text: &str) -> Value {
    match template {
        Value::String(s) => Value::String(s.replace("{to}", to).replace("{text}", text)),
        Value::Array(items) => Value::Array(items.iter().map(|v| fill(v, to, text)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), fill(v, to, text)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[async_trait]
impl Sender for SmsGateway {
    fn name(&self) -> &'static str {
        "sms-gateway"
    }

    /// One retry after a short pause, for transport errors and 5xx/429 only: a 4xx means the
    /// gateway understood and refused, and asking again would be refused again. A timeout or a
    /// 5xx does not say whether the first attempt was sent, so both attempts carry the same
    /// idempotency key (when the gateway takes one): the person gets one SMS, not two, and we
    /// pay for one.
    async fn deliver(&self, envelope: &Envelope) -> Result<(), NotifyError> {
        let body = fill(&self.template, &envelope.to, &envelope.text);
        let key = idempotency_key();
        match self.post_once(&body, &key).await {
            Ok(()) => Ok(()),
            Err(Attempt::GiveUp(reason)) => Err(NotifyError::Failed(reason)),
            Err(Attempt::Retry(reason)) => {
                tracing::info!(%reason, "retrying SMS delivery once");
                tokio::time::sleep(Duration::from_millis(250)).await;
                self.post_once(&body, &key)
                    .await
                    .map_err(|(Attempt::Retry(r) | Attempt::GiveUp(r))| NotifyError::Failed(r))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_substitution_stays_inside_strings() {
        let template: Value =
            serde_json::from_str(r#"{"to":"{to}","message":{"body":"{text}"},"n":1}"#).unwrap();
        let filled = fill(
            &template,
            "+919812345678",
            "code \"1234\"\n}, \"evil\": true",
        );
        assert_eq!(filled["to"], "+919812345678");
        assert_eq!(
            filled["message"]["body"],
            "code \"1234\"\n}, \"evil\": true"
        );
        assert_eq!(filled["n"], 1);
        assert!(filled.get("evil").is_none());
    }
}
