//! One JSON POST to a messaging API, with the single retry every HTTP transport shares.

use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue};
use serde_json::Value;

use super::NotifyError;
use crate::domain::{Secret, random_token_of};

/// An HTTP messaging endpoint: where to POST, with which headers, and how long to wait.
pub struct JsonEndpoint {
    /// For messages: `SMS gateway`, `WhatsApp`.
    label: &'static str,
    client: reqwest::Client,
    url: url::Url,
    /// Sent with every request; values are secrets (keys, tokens).
    headers: Vec<(HeaderName, Secret)>,
    /// The endpoint's idempotency header, if it has one (`Idempotency-Key`).
    idempotency_header: Option<HeaderName>,
}

enum Attempt {
    Retry(String),
    GiveUp(String),
}

impl JsonEndpoint {
    pub fn new(
        label: &'static str,
        url: url::Url,
        timeout: Duration,
        headers: Vec<(HeaderName, Secret)>,
        idempotency_header: Option<HeaderName>,
    ) -> Result<Self, NotifyError> {
        for (name, value) in &headers {
            HeaderValue::from_str(value.expose()).map_err(|_| {
                NotifyError::Failed(format!(
                    "{label}: the `{name}` header's value is not a valid header value"
                ))
            })?;
        }
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| NotifyError::Failed(e.to_string()))?;
        Ok(Self {
            label,
            client,
            url,
            headers,
            idempotency_header,
        })
    }

    /// Parses a header name from settings.
    pub fn header_name(label: &str, name: &str) -> Result<HeaderName, NotifyError> {
        HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| NotifyError::Failed(format!("{label} header `{name}`: {e}")))
    }

    /// One retry after a short pause, for transport errors and 5xx/429 only: a 4xx means the
    /// endpoint understood and refused, and asking again would be refused again. A timeout or
    /// a 5xx does not say whether the first attempt was sent, so both attempts carry the same
    /// idempotency key (when the endpoint takes one): the person gets one message, not two,
    /// and we pay for one.
    pub async fn post(&self, body: &Value) -> Result<(), NotifyError> {
        let key = random_token_of(16);
        match self.post_once(body, &key).await {
            Ok(()) => Ok(()),
            Err(Attempt::GiveUp(reason)) => Err(NotifyError::Failed(reason)),
            Err(Attempt::Retry(reason)) => {
                tracing::info!(%reason, endpoint = self.label, "retrying delivery once");
                tokio::time::sleep(Duration::from_millis(250)).await;
                self.post_once(body, &key)
                    .await
                    .map_err(|(Attempt::Retry(r) | Attempt::GiveUp(r))| NotifyError::Failed(r))
            }
        }
    }

    async fn post_once(&self, body: &Value, idempotency_key: &str) -> Result<(), Attempt> {
        let mut request = self.client.post(self.url.clone()).json(body);
        for (name, value) in &self.headers {
            request = request.header(name.clone(), value.expose());
        }
        if let Some(name) = &self.idempotency_header {
            request = request.header(name.clone(), idempotency_key);
        }
        let label = self.label;
        let response = request
            .send()
            .await
            .map_err(|e| Attempt::Retry(format!("{label} unreachable: {}", e.without_url())))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            Err(Attempt::Retry(format!("{label} answered {status}")))
        } else {
            Err(Attempt::GiveUp(format!(
                "{label} refused the message: {status}"
            )))
        }
    }
}
