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

/// A file made before OneID created it 0600 (or by someone else's umask) may be readable by
/// other users of the machine: it is tightened to 0600 before a code is written, rather than
/// refused, so development keeps working and no code lands in a readable file.
#[cfg(unix)]
async fn tighten(file: &tokio::fs::File, path: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = file.metadata().await?.permissions().mode();
    if mode & 0o077 != 0 {
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .await?;
        tracing::warn!(outbox = %path.display(), mode = format_args!("{:o}", mode & 0o777), "outbox was readable by others; now 0600");
    }
    Ok(())
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
        let mut options = tokio::fs::OpenOptions::new();
        options.create(true).append(true);
        // The outbox holds live codes: readable by OneID's own user only.
        #[cfg(unix)]
        options.mode(0o600);
        let mut file = options.open(&self.path).await.map_err(failed)?;
        #[cfg(unix)]
        tighten(&file, &self.path).await.map_err(failed)?;
        file.write_all(&bytes).await.map_err(failed)?;
        file.flush().await.map_err(failed)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;
    use crate::{domain::CodePurpose, domain::VerificationCode, notify::Channel};

    fn envelope() -> Envelope {
        Envelope {
            channel: Channel::Sms,
            to: "+919812345678".into(),
            purpose: CodePurpose::Signup,
            notice: None,
            code: Some(VerificationCode::parse("1234").unwrap()),
            lang: crate::i18n::Lang::En,
            args: Vec::new(),
            web_otp: None,
            subject: "s".into(),
            text: "t".into(),
        }
    }

    fn mode(path: &std::path::Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[tokio::test]
    async fn the_outbox_is_created_readable_by_its_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new/outbox.jsonl");
        Outbox::new(path.clone())
            .deliver(&envelope())
            .await
            .unwrap();
        assert_eq!(mode(&path), 0o600);
    }

    #[tokio::test]
    async fn an_existing_outbox_readable_by_others_is_tightened_before_a_code_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.jsonl");
        std::fs::write(&path, "").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        Outbox::new(path.clone())
            .deliver(&envelope())
            .await
            .unwrap();
        assert_eq!(mode(&path), 0o600);
        assert!(std::fs::read_to_string(&path).unwrap().contains("1234"));
    }
}
