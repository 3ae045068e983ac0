//! Email addresses, validated and normalised so that uniqueness ignores case.

use std::{fmt, str::FromStr};

use super::ParseError;

/// A syntactically valid email address, lower-cased.
///
/// Mailbox names are case-sensitive on paper (RFC 5321 §2.4) and case-insensitive at every
/// provider people actually use; treating `Ravi@Example.com` and `ravi@example.com` as two
/// accounts would only ever help an impersonator.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// RFC 5321 §4.5.3.1.3 limits a path to 256 octets, hence 254 for the address itself.
    const MAX_LEN: usize = 254;

    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(ParseError::Empty);
        }
        if input.len() > Self::MAX_LEN {
            return Err(ParseError::TooLong);
        }
        let normalised = input.to_lowercase();
        let address = email_address::EmailAddress::from_str(&normalised)
            .map_err(|_| ParseError::InvalidEmail)?;
        let domain = address.domain();
        // Deliverable addresses on the public internet have a dotted domain name, not an IP literal
        // or a bare host name.
        let deliverable = domain.contains('.')
            && !domain.starts_with('[')
            && domain
                .split('.')
                .all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'));
        if !deliverable || address.display_part() != "" {
            return Err(ParseError::InvalidEmail);
        }
        Ok(Self(normalised))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `r***@example.com`.
    pub fn masked(&self) -> String {
        let (local, domain) = self.0.split_once('@').unwrap_or((&self.0, ""));
        let first: String = local.chars().take(1).collect();
        format!("{first}***@{domain}")
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_whitespace() {
        assert_eq!(
            Email::parse("  Ravi.Kumar@Example.COM ").unwrap().as_str(),
            "ravi.kumar@example.com"
        );
    }

    #[test]
    fn accepts_plus_addressing_and_subdomains() {
        assert!(Email::parse("asha+oneid@mail.example.co.in").is_ok());
    }

    #[test]
    fn refuses_malformed_addresses() {
        for bad in [
            "ravi",
            "ravi@",
            "@example.com",
            "ravi@localhost",
            "ravi@[127.0.0.1]",
            "a b@example.com",
            "Ravi <ravi@example.com>",
            "ravi@-example.com",
        ] {
            assert_eq!(Email::parse(bad), Err(ParseError::InvalidEmail), "{bad:?}");
        }
        assert_eq!(Email::parse(" "), Err(ParseError::Empty));
        assert_eq!(
            Email::parse(&format!("{}@example.com", "a".repeat(250))),
            Err(ParseError::TooLong)
        );
    }

    #[test]
    fn masks_the_mailbox() {
        let email = Email::parse("ravi@example.com").unwrap();
        assert_eq!(email.masked(), "r***@example.com");
        assert!(!format!("{email:?}").contains("ravi"));
    }
}
