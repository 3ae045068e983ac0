//! The name a person gives one of their passkeys ("Phone", "Work laptop"), shown in the
//! account console so they can tell them apart.

use std::fmt;

use super::{ParseError, display_name::clean_name};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyName(String);

impl PasskeyName {
    /// The most characters a name may have (the `passkeys.name` column checks it too).
    pub const MAX_CHARS: usize = 64;

    /// The same rules as a display name: trimmed, whitespace collapsed, 1-64 characters, no
    /// control or bidirectional-override characters.
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        clean_name(input, Self::MAX_CHARS).map(Self)
    }

    pub fn from_stored(value: String) -> Self {
        Self(value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PasskeyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_trimmed_bounded_and_plain() {
        assert_eq!(
            PasskeyName::parse("  Work   laptop ").unwrap().as_str(),
            "Work laptop"
        );
        assert_eq!(PasskeyName::parse("   "), Err(ParseError::Empty));
        assert_eq!(
            PasskeyName::parse(&"a".repeat(65)),
            Err(ParseError::TooLong)
        );
        assert!(PasskeyName::parse(&"फ़".repeat(32)).is_ok());
        assert_eq!(
            PasskeyName::parse("evil\u{202E}txt"),
            Err(ParseError::InvalidName)
        );
    }
}
