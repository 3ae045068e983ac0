//! The opaque, stable subject identifier (`sub`) that tokens carry.

use std::fmt;

use super::random_token_of;

/// 128 random bits, URL-safe. Unlike the account ID it is never shown to people and never
/// changes, so relying parties can key their records on it (OIDC Core §5.7).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Subject(String);

impl Subject {
    pub fn generate() -> Self {
        Self(random_token_of(16))
    }

    pub fn from_stored(value: String) -> Self {
        Self(value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Subject({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_url_safe_and_distinct() {
        let a = Subject::generate();
        assert_eq!(a.as_str().len(), 22);
        assert!(
            a.as_str()
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_ne!(a, Subject::generate());
    }
}
