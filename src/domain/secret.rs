//! Secrets that travel through the settings, and the one URL redactor: a secret never shows in
//! `Debug` or `Display` output, so no log line, panic message or error can carry it.

use std::{fmt, ops::Deref, str::FromStr};

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq as _;
use url::Url;

/// A secret from the settings (the key encryption key, a password, a gateway token). `Debug`
/// and `Display` print `<redacted>`; the value is read with [`Secret::expose`] only where it
/// is used. Compared in constant time.
#[derive(Clone, Deserialize, Serialize)]
#[serde(transparent)]
// Serialised as the value itself: the settings loader serialises the defaults to layer the
// file and the environment over them, and a secret given there must survive that round trip.
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that uses it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl Eq for Secret {}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A URL that may carry a password: the database's, Redis's, the SMS gateway's. `Debug` and
/// `Display` show it through [`redact_url`], so the host stays readable in logs and the
/// password never does. It dereferences to the URL itself (a `String`, or a parsed [`Url`])
/// for the code that connects.
#[derive(Clone, Deserialize, Serialize)]
#[serde(transparent)]
pub struct SecretUrl<U = String>(U);

impl<U> SecretUrl<U> {
    pub fn new(url: U) -> Self {
        Self(url)
    }

    /// The URL, password included, for the code that connects.
    pub fn expose(&self) -> &U {
        &self.0
    }
}

impl<U> Deref for SecretUrl<U> {
    type Target = U;

    fn deref(&self) -> &U {
        &self.0
    }
}

impl<U> From<U> for SecretUrl<U> {
    fn from(url: U) -> Self {
        Self(url)
    }
}

impl From<&str> for SecretUrl<String> {
    fn from(url: &str) -> Self {
        Self(url.to_owned())
    }
}

impl<U: FromStr> FromStr for SecretUrl<U> {
    type Err = U::Err;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map(Self)
    }
}

/// Equal when the URLs are: for tests and for telling settings apart, never to check a
/// password someone typed.
impl<U: PartialEq> PartialEq for SecretUrl<U> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl<U: Eq> Eq for SecretUrl<U> {}

impl<U: AsRef<str>> PartialEq<&str> for SecretUrl<U> {
    fn eq(&self, other: &&str) -> bool {
        self.0.as_ref() == *other
    }
}

impl<U: AsRef<str>> fmt::Debug for SecretUrl<U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&redact_url(self.0.as_ref()), f)
    }
}

impl<U: AsRef<str>> fmt::Display for SecretUrl<U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact_url(self.0.as_ref()))
    }
}

/// The URL with its password masked, for messages and logs: `***` in the user part, and every
/// spelling of the password (in the user part or a `password=` parameter, as written and
/// percent-decoded) masked wherever else it occurs. A string that does not parse as a URL
/// keeps only what follows its last `@`.
pub fn redact_url(url: &str) -> String {
    let shown = match Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.rsplit('@').next().unwrap_or_default().to_owned(),
    };
    mask_url_password(shown, url)
}

/// Masks every spelling of `url`'s password that occurs in `message`. Drivers' messages name
/// the host and user, not the password, but a malformed URL can be echoed back in part.
pub fn mask_url_password(message: String, url: &str) -> String {
    mask(message, &url_passwords(url))
}

/// Masks each of `secrets` in `message` (as [`url_passwords`] orders them, longest first).
pub fn mask(mut message: String, secrets: &[String]) -> String {
    for secret in secrets {
        message = message.replace(secret, "***");
    }
    message
}

/// The password of a URL (in the user part or a `password=` parameter), as written and
/// percent-decoded, longest first so no part of a password survives a shorter match. Read
/// from the raw string: libpq accepts URLs a strict parser refuses.
pub fn url_passwords(url: &str) -> Vec<String> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let (before_query, query) = rest.split_once('?').unwrap_or((rest, ""));
    let authority = before_query.split('/').next().unwrap_or_default();
    let mut secrets: Vec<String> = authority
        .rsplit_once('@')
        .and_then(|(user_info, _)| user_info.split_once(':'))
        .map(|(_, password)| password.to_owned())
        .into_iter()
        .chain(
            query
                .split('&')
                .filter_map(|pair| pair.strip_prefix("password="))
                .map(str::to_owned),
        )
        .collect();
    let decoded: Vec<String> = secrets.iter().map(|s| percent_decode(s)).collect();
    secrets.extend(decoded);
    secrets.retain(|s| !s.is_empty());
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    secrets.dedup();
    secrets
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_shows_and_compares_by_value() {
        let secret = Secret::from("hunter2");
        assert_eq!(format!("{secret:?} {secret}"), "<redacted> <redacted>");
        assert_eq!(format!("{:?}", Some(secret.clone())), "Some(<redacted>)");
        assert_eq!(secret.expose(), "hunter2");
        assert_eq!(secret, Secret::new("hunter2".to_owned()));
        assert_ne!(secret, Secret::from("hunter3"));
        assert_ne!(secret, Secret::from("hunter"));
    }

    #[test]
    fn a_secret_reads_and_writes_as_its_plain_value() {
        let secret: Secret = serde_json::from_str("\"hunter2\"").unwrap();
        assert_eq!(secret.expose(), "hunter2");
        assert_eq!(serde_json::to_string(&secret).unwrap(), "\"hunter2\"");
    }

    #[test]
    fn urls_show_their_host_but_never_their_password() {
        for url in [
            "postgres://oneid:hunter2@db:5432/oneid",
            "postgres://oneid@db/oneid?password=hunter2&sslmode=require",
            "postgres://oneid:hunter%32@db/oneid",
            "redis://:hunter2@cache:6379/2",
            "redis//:hunter2@cache",
        ] {
            let shown = redact_url(url);
            assert!(!shown.contains("hunter"), "{shown}");
            let wrapped = SecretUrl::<String>::from(url);
            assert!(!format!("{wrapped:?} {wrapped}").contains("hunter"));
            assert_eq!(wrapped.expose(), url);
        }
        assert_eq!(
            redact_url("redis://user:hunter2@cache:6379/1"),
            "redis://user:***@cache:6379/1"
        );
        assert_eq!(redact_url("redis://cache:6379"), "redis://cache:6379");
        let parsed: SecretUrl<Url> = "https://u:hunter2@sms.example/send".parse().unwrap();
        assert_eq!(parsed.password(), Some("hunter2"));
        assert_eq!(parsed.to_string(), "https://u:***@sms.example/send");
    }

    #[test]
    fn driver_messages_lose_every_spelling_of_the_password() {
        let message = mask_url_password(
            "invalid percent-encoded token: \"hunter%32\", i.e. hunter2".into(),
            "postgres://oneid:hunter%32@db/oneid",
        );
        assert!(!message.contains("hunter"), "{message}");
        assert_eq!(
            url_passwords("postgres://u:p%40ss@db/x?password=other"),
            ["p%40ss", "other", "p@ss"]
        );
    }
}
