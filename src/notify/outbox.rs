//! The development notifier: appends each message as one JSON line to a file.

use std::path::PathBuf;

use async_trait::async_trait;
use tokio::{io::AsyncWriteExt, sync::Mutex};

use super::{Envelope, NotifyError, Sender};

/// One line per message:
/// `{"channel":"sms","to":"+919812345678","purpose":"signup","code":"1234","text":"...","sent_at":"..."}`.
pub struct Outbox {
    path: PathBuf,
    /// Serialises writers so lines never interleave.
    lock: Mutex<()>,
}

impl Outbox {
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            lock: Mutex::new(()),
        }
    }
}

#[derive(serde::Serialize)]
struct Line<'a> {
    channel: super::Channel,
    to: &'a str,
    purpose: &'a str,
    code: &'a str,
    subject: &'a str,
    text: &'a str,
    sent_at: String,
}

#[async_trait]
impl Sender for Outbox {
    fn name(&self) -> &'static str {
        "outbox"
    }

    async fn deliver(&self, envelope: &Envelope) -> Result<(), NotifyError> {
        let line = Line {
            channel: envelope.channel,
            to: &envelope.to,
            purpose: envelope.label(),
            code: envelope.code.as_ref().map_or("", |c| c.expose()),
            subject: &envelope.subject,
            text: &envelope.text,
            sent_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        };
        let mut bytes =
            serde_json::to_vec(&line).map_err(|e| NotifyError::Failed(e.to_string()))?;
        bytes.push(b'\n');
        let failed =
            |e: std::io::Error| NotifyError::Failed(format!("outbox {}: {e}", self.path.display()));
        let _guard = self.lock.lock().await;
        if let Some(folder) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            tokio::fs::create_dir_all(folder).await.map_err(failed)?;
        }
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .await
            .map_err(failed)?;
        file.write_all(&bytes).await.map_err(failed)?;
        file.flush().await.map_err(failed)
    }
}
