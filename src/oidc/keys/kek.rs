//! The key encryption key (KEK): seals private signing keys at rest with AES-256-GCM.

use std::{
    fmt, fs,
    io::{self, Write as _},
    path::Path,
};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use ring::{
    aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey},
    rand::{SecureRandom as _, SystemRandom},
};

use super::{KeyError, KeyId};
use crate::{config::KeySettings, domain::CodeMacKey};

const KEY_LEN: usize = 32;

/// 32 secret bytes. `Debug` never prints them. The second field keeps the raw bytes only to
/// derive purpose keys from them (see [`KeyEncryptionKey::derive`]).
///
/// Each seal draws a fresh random 96-bit nonce: safe for up to 2^32 seals under one key
/// (NIST SP 800-38D §8.3), and a deployment seals a handful of keys a year. That is why ring's
/// `LessSafeKey` (the caller manages nonces) is the right tool here.
///
/// It also yields the keys of other server-side MACs, derived from it with HKDF under their own
/// labels (verification codes: [`CodeMacKey::derive`]; others: [`KeyEncryptionKey::derive`]),
/// so none of them is a second secret to back up.
pub struct KeyEncryptionKey(LessSafeKey, [u8; KEY_LEN], CodeMacKey);

impl KeyEncryptionKey {
    /// The KEK from `keys.encryption_key` if set, otherwise from `keys.encryption_key_file`,
    /// which is created with fresh random bytes (mode 0600) on first start.
    pub fn load_or_create(settings: &KeySettings) -> Result<Self, KeyError> {
        match &settings.encryption_key {
            Some(encoded) => decode(encoded.expose())
                .map(Self::from_bytes)
                .map_err(KeyError::BadEncryptionKey),
            None => load_or_create_file(&settings.encryption_key_file).map(Self::from_bytes),
        }
    }

    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(
            LessSafeKey::new(
                UnboundKey::new(&AES_256_GCM, &bytes).expect("AES-256-GCM takes a 32-byte key"),
            ),
            bytes,
            CodeMacKey::derive(&bytes),
        )
    }

    /// The key verification codes are MAC'd under (see `account::codes`).
    pub fn code_mac_key(&self) -> &CodeMacKey {
        &self.2
    }

    /// A 32-byte key for one `purpose`: HKDF-SHA-256 over the KEK with the purpose as `info`
    /// (RFC 5869 §3.2). Every instance holds the same KEK and so derives the same keys; a key
    /// for one purpose says nothing about another's.
    pub fn derive(&self, purpose: &str) -> [u8; KEY_LEN] {
        let mut key = [0u8; KEY_LEN];
        hkdf::Hkdf::<sha2::Sha256>::new(None, &self.1)
            .expand(purpose.as_bytes(), &mut key)
            .expect("32 bytes is far below HKDF-SHA-256's 8160-byte limit");
        key
    }

    /// `nonce || ciphertext || tag`. The kid is associated data: a sealed key copied into
    /// another row does not open there.
    pub fn seal(&self, kid: &KeyId, plaintext: &[u8]) -> Vec<u8> {
        seal_with(&self.0, kid.as_str().as_bytes(), plaintext)
    }

    /// The plaintext, if `sealed` was sealed under this KEK for this kid and not altered since.
    pub fn open(&self, kid: &KeyId, sealed: &[u8]) -> Result<Vec<u8>, KeyError> {
        open_with(&self.0, kid.as_str().as_bytes(), sealed)
            .ok_or_else(|| KeyError::Unseal { kid: kid.clone() })
    }

    /// A sealing key for other secrets kept at rest for one `purpose` (an authenticator app's
    /// secret): AES-256-GCM under a key derived from the KEK with HKDF under the purpose's own
    /// label (see [`Self::derive`]). Never the KEK's own key, so a secret sealed for a purpose
    /// can never be opened as a signing key, nor a signing key as such a secret, whatever the
    /// associated data.
    pub fn sealer(&self, purpose: SealPurpose) -> SecretSealer {
        SecretSealer::new(self.derive(purpose.label()))
    }
}

/// What a [`SecretSealer`] seals: each purpose has its own key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealPurpose {
    /// The RFC 6238 secret of an account's authenticator app.
    TotpSecret,
}

impl SealPurpose {
    fn label(self) -> &'static str {
        match self {
            Self::TotpSecret => "oneid-seal:totp-secret",
        }
    }
}

/// Seals small secrets at rest for one purpose (see [`KeyEncryptionKey::sealer`]): `nonce ||
/// ciphertext || tag`, the row's identity as associated data so a sealed value copied into
/// another row does not open there. Cheap to clone; `Debug` never prints the key.
#[derive(Clone)]
pub struct SecretSealer([u8; KEY_LEN]);

/// A sealed value did not open: altered, sealed for another row, or under another key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a sealed secret did not open")]
pub struct Unsealed;

impl SecretSealer {
    fn new(key: [u8; KEY_LEN]) -> Self {
        Self(key)
    }

    fn key(&self) -> LessSafeKey {
        LessSafeKey::new(
            UnboundKey::new(&AES_256_GCM, &self.0).expect("AES-256-GCM takes a 32-byte key"),
        )
    }

    /// Seals `plaintext` bound to `aad` (the row it belongs to).
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        seal_with(&self.key(), aad, plaintext)
    }

    /// The plaintext, if `sealed` was sealed by this sealer for `aad` and not altered since.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, Unsealed> {
        open_with(&self.key(), aad, sealed).ok_or(Unsealed)
    }
}

impl fmt::Debug for SecretSealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretSealer(<redacted>)")
    }
}

/// `nonce || ciphertext || tag` under `key`, with a fresh random nonce (see
/// [`KeyEncryptionKey`] on why random nonces are safe at this volume).
fn seal_with(key: &LessSafeKey, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .expect("the operating system's random source failed");
    let mut body = plaintext.to_vec();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(aad),
        &mut body,
    )
    .expect("AES-GCM seals anything shorter than 64 GiB");
    let mut sealed = nonce.to_vec();
    sealed.append(&mut body);
    sealed
}

fn open_with(key: &LessSafeKey, aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
    let (nonce, body) = sealed.split_at_checked(NONCE_LEN)?;
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    let mut buffer = body.to_vec();
    let plaintext_len = key
        .open_in_place(nonce, Aad::from(aad), &mut buffer)
        .ok()?
        .len();
    buffer.truncate(plaintext_len);
    Some(buffer)
}

impl fmt::Debug for KeyEncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyEncryptionKey(<redacted>)")
    }
}

/// Base64url, padded or not, surrounding whitespace ignored (files end with a newline).
fn decode(encoded: &str) -> Result<[u8; KEY_LEN], &'static str> {
    let bytes = URL_SAFE_NO_PAD
        .decode(encoded.trim().trim_end_matches('='))
        .map_err(|_| "must be base64url (A-Z a-z 0-9 - _)")?;
    bytes
        .try_into()
        .map_err(|_| "must decode to exactly 32 bytes")
}

fn load_or_create_file(path: &Path) -> Result<[u8; KEY_LEN], KeyError> {
    let file_error = |reason: String| KeyError::KeyFile {
        path: path.to_owned(),
        reason,
    };
    match fs::read_to_string(path) {
        Ok(text) => {
            warn_if_readable_by_others(path);
            decode(&text).map_err(|reason| file_error(reason.to_owned()))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => match create_file(path) {
            Ok(bytes) => {
                tracing::info!(path = %path.display(), "generated a new key encryption key; back it up with the database");
                Ok(bytes)
            }
            // Another instance created it between our read and our create: use theirs.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                decode(&fs::read_to_string(path).map_err(|e| file_error(e.to_string()))?)
                    .map_err(|reason| file_error(reason.to_owned()))
            }
            Err(e) => Err(file_error(format!("cannot create it: {e}"))),
        },
        Err(e) => Err(file_error(e.to_string())),
    }
}

/// Writes 32 fresh random bytes, base64url, to a file that must not exist yet. The text form
/// can be copied into `ONEID_KEYS__ENCRYPTION_KEY` unchanged.
fn create_file(path: &Path) -> io::Result<[u8; KEY_LEN]> {
    if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(folder)?;
    }
    let mut bytes = [0u8; KEY_LEN];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| io::Error::other("the operating system's random source failed"))?;
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(format!("{}\n", URL_SAFE_NO_PAD.encode(bytes)).as_bytes())?;
    file.sync_all()?;
    Ok(bytes)
}

fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if let Ok(meta) = fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(path = %path.display(), "the key encryption key file is readable by other users; chmod 600 it");
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kid(value: &str) -> KeyId {
        KeyId::from_stored(value.to_owned())
    }

    fn settings(file: &Path, key: Option<&str>) -> KeySettings {
        KeySettings {
            encryption_key: key.map(Into::into),
            encryption_key_file: file.to_owned(),
            rotate_after_days: 90,
            publish_retired_for_secs: 86_400,
        }
    }

    #[test]
    fn seal_and_open_round_trip_with_a_fresh_nonce_each_time() {
        let kek = KeyEncryptionKey::from_bytes([7; 32]);
        let a = kek.seal(&kid("k1"), b"private key");
        let b = kek.seal(&kid("k1"), b"private key");
        assert_ne!(a, b, "nonces must differ");
        assert_eq!(a.len(), NONCE_LEN + b"private key".len() + 16);
        assert_eq!(kek.open(&kid("k1"), &a).unwrap(), b"private key");
        assert_eq!(kek.open(&kid("k1"), &b).unwrap(), b"private key");
    }

    #[test]
    fn tampering_a_wrong_kid_or_a_wrong_key_is_detected() {
        let kek = KeyEncryptionKey::from_bytes([7; 32]);
        let sealed = kek.seal(&kid("k1"), b"private key");
        for i in 0..sealed.len() {
            let mut tampered = sealed.clone();
            tampered[i] ^= 0x01;
            assert!(
                matches!(
                    kek.open(&kid("k1"), &tampered),
                    Err(KeyError::Unseal { .. })
                ),
                "byte {i} flipped unnoticed"
            );
        }
        assert!(
            kek.open(&kid("k2"), &sealed).is_err(),
            "opened under another kid"
        );
        assert!(
            KeyEncryptionKey::from_bytes([8; 32])
                .open(&kid("k1"), &sealed)
                .is_err(),
            "opened under another KEK"
        );
        assert!(kek.open(&kid("k1"), &sealed[..sealed.len() - 1]).is_err());
        assert!(kek.open(&kid("k1"), &sealed[..5]).is_err());
        assert!(kek.open(&kid("k1"), &[]).is_err());
    }

    #[test]
    fn a_sealed_secret_and_a_signing_key_never_open_as_each_other() {
        let kek = KeyEncryptionKey::from_bytes([7; 32]);
        let sealer = kek.sealer(SealPurpose::TotpSecret);
        let secret = sealer.seal(b"k1", b"totp secret");
        assert_eq!(sealer.open(b"k1", &secret).unwrap(), b"totp secret");
        // The same associated data under the KEK's own key (as a signing key) does not open.
        assert!(kek.open(&kid("k1"), &secret).is_err());
        let signing = kek.seal(&kid("k1"), b"private key");
        assert_eq!(sealer.open(b"k1", &signing), Err(Unsealed));
        // Bound to its row, and to its KEK.
        assert_eq!(sealer.open(b"k2", &secret), Err(Unsealed));
        let other = KeyEncryptionKey::from_bytes([8; 32]).sealer(SealPurpose::TotpSecret);
        assert_eq!(other.open(b"k1", &secret), Err(Unsealed));
        assert_eq!(sealer.open(b"k1", &secret[..10]), Err(Unsealed));
        assert_eq!(format!("{sealer:?}"), "SecretSealer(<redacted>)");
    }

    #[test]
    fn the_key_file_is_created_once_private_and_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("nested/keys.secret");
        let first = KeyEncryptionKey::load_or_create(&settings(&file, None)).unwrap();
        let sealed = first.seal(&kid("k"), b"secret");
        let second = KeyEncryptionKey::load_or_create(&settings(&file, None)).unwrap();
        assert_eq!(second.open(&kid("k"), &sealed).unwrap(), b"secret");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(
                fs::metadata(&file).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        // The file's text is the form the setting takes.
        let text = fs::read_to_string(&file).unwrap();
        let from_setting = KeyEncryptionKey::load_or_create(&settings(
            &dir.path().join("unused"),
            Some(text.trim()),
        ))
        .unwrap();
        assert_eq!(from_setting.open(&kid("k"), &sealed).unwrap(), b"secret");
        assert!(
            !dir.path().join("unused").exists(),
            "the file is not touched when the setting is given"
        );
    }

    #[test]
    fn a_bad_setting_names_the_key_and_its_variable() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("keys.secret");
        for bad in [
            "",
            "too-short",
            &URL_SAFE_NO_PAD.encode([1u8; 31]),
            &URL_SAFE_NO_PAD.encode([1u8; 33]),
            "not base64 at all!!",
        ] {
            let err = KeyEncryptionKey::load_or_create(&settings(&file, Some(bad)))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("keys.encryption_key") && err.contains("ONEID_KEYS__ENCRYPTION_KEY"),
                "{err}"
            );
        }
        let padded = base64::engine::general_purpose::URL_SAFE.encode([1u8; 32]);
        KeyEncryptionKey::load_or_create(&settings(&file, Some(&padded))).unwrap();
    }

    #[test]
    fn a_corrupt_key_file_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("keys.secret");
        fs::write(&file, "garbage\n").unwrap();
        let err = KeyEncryptionKey::load_or_create(&settings(&file, None))
            .unwrap_err()
            .to_string();
        assert!(err.contains("keys.secret"), "{err}");
        assert_eq!(
            fs::read_to_string(&file).unwrap(),
            "garbage\n",
            "an existing file is never overwritten"
        );
    }

    #[test]
    fn debug_is_redacted() {
        assert_eq!(
            format!("{:?}", KeyEncryptionKey::from_bytes([7; 32])),
            "KeyEncryptionKey(<redacted>)"
        );
    }
}
