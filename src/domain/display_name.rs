//! The name a person chooses to be shown to apps.

use std::fmt;

use super::ParseError;

#[derive(Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    const MAX_CHARS: usize = 64;

    /// Trims, collapses inner runs of whitespace, and refuses control and formatting characters
    /// that could disguise a name (bidirectional overrides, zero-width joiners stay allowed
    /// because Indic scripts need them).
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        clean_name(input, Self::MAX_CHARS).map(Self)
    }

    pub fn from_stored(value: String) -> Self {
        Self(value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form names are searched by (the `name_key` column): lower case, whitespace collapsed.
    pub fn search_key(&self) -> String {
        Self::key_of(&self.0)
    }

    /// [`Self::search_key`] of what someone typed into a search box, so a prefix of it matches.
    pub fn key_of(input: &str) -> String {
        input
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    }
}

/// A name a person types (theirs, or one they give a passkey): trimmed, inner runs of
/// whitespace collapsed, at most `max_chars` characters, without control and formatting
/// characters that could disguise it (bidirectional overrides; zero-width joiners stay allowed
/// because Indic scripts need them).
pub(super) fn clean_name(input: &str, max_chars: usize) -> Result<String, ParseError> {
    let collapsed = input.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.is_empty() {
        return Err(ParseError::Empty);
    }
    if collapsed.chars().count() > max_chars {
        return Err(ParseError::TooLong);
    }
    let forbidden = |c: char| {
        c.is_control()
            || ('\u{202A}'..='\u{202E}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c)
    };
    if collapsed.chars().any(forbidden) {
        return Err(ParseError::InvalidName);
    }
    Ok(collapsed)
}

impl fmt::Display for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DisplayName({:?})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_collapses_whitespace() {
        assert_eq!(
            DisplayName::parse("  Asha   Devi ").unwrap().as_str(),
            "Asha Devi"
        );
    }

    #[test]
    fn keeps_indic_scripts_with_joiners() {
        assert_eq!(DisplayName::parse("आशा देवी").unwrap().as_str(), "आशा देवी");
        assert!(DisplayName::parse("क्\u{200D}ष").is_ok());
    }

    #[test]
    fn refuses_empty_long_and_disguised_names() {
        assert_eq!(DisplayName::parse("   "), Err(ParseError::Empty));
        assert_eq!(
            DisplayName::parse(&"a".repeat(65)),
            Err(ParseError::TooLong)
        );
        assert_eq!(
            DisplayName::parse("evil\u{202E}gnp.exe"),
            Err(ParseError::InvalidName)
        );
    }
}
