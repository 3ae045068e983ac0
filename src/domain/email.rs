//! Email addresses, validated and normalised so that uniqueness ignores case and the spelling
//! of the domain, and refused when the mailbox name is built to look like another.

use std::{fmt, str::FromStr};

use unicode_normalization::is_nfkc;
use unicode_security::{GeneralSecurityProfile as _, MixedScript as _};

use super::ParseError;

/// A syntactically valid email address: the mailbox name lower-cased, the domain in its ASCII
/// form (IDNA A-labels, `xn--…`).
///
/// Mailbox names are case-sensitive on paper (RFC 5321 §2.4) and case-insensitive at every
/// provider people actually use; treating `Ravi@Example.com` and `ravi@example.com` as two
/// accounts would only ever help an impersonator. Likewise `ravi@bücher.example` and
/// `ravi@xn--bcher-kva.example` are one mailbox (RFC 5890: U-label and A-label of one domain
/// name). The A-label form is the one kept: it is plain ASCII, so it compares byte for byte,
/// survives every mail system and relying party (the `email` claim), and cannot hide a
/// look-alike character; it is what DNS and SMTP use.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// RFC 5321 §4.5.3.1.3 limits a path to 256 octets, hence 254 for the address itself.
    const MAX_LEN: usize = 254;

    /// An address typed by a person: normalised, and refused when its mailbox name mixes
    /// scripts, uses full-width or other compatibility forms, or hides invisible characters.
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        // Before the syntax check, so that a hidden character is named as such rather than
        // as a malformed address.
        if let Some((local, _)) = input.trim().rsplit_once('@') {
            check_not_confusable(&local.to_lowercase())?;
        }
        let address = canonical(input)?;
        let (_, domain) = address.0.split_once('@').unwrap_or_default();
        let (unicode_domain, result) = idna::domain_to_unicode(domain);
        if result.is_err()
            || !unicode_domain
                .split('.')
                .all(|label| label.is_single_script())
        {
            return Err(ParseError::ConfusableEmail);
        }
        Ok(address)
    }

    /// An address read back from the database: the same canonical form, without the
    /// confusable check, so an account stored before that check existed stays readable (its
    /// owner can still sign in; only new addresses are refused).
    pub fn from_stored(stored: &str) -> Result<Self, ParseError> {
        canonical(stored)
    }

    /// An address typed only to find an existing account (sign-in): canonical, without the
    /// confusable check, for the same reason as [`Email::from_stored`].
    pub fn for_lookup(input: &str) -> Result<Self, ParseError> {
        canonical(input)
    }

    /// The spelling an address with an internationalised domain was stored in before domains
    /// were kept as A-labels (the U-label form), so a lookup finds such an old row too. `None`
    /// for an ASCII domain: lower-cased ASCII is unchanged by IDNA, so the rows of every such
    /// address already hold the canonical form.
    pub fn legacy_form(&self) -> Option<String> {
        let (local, domain) = self.0.split_once('@')?;
        let (unicode, result) = idna::domain_to_unicode(domain);
        (result.is_ok() && unicode != domain).then(|| format!("{local}@{unicode}"))
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

/// Lower-cases the mailbox name, turns the domain into A-labels (UTS #46 processing: it also
/// lower-cases, and maps full-width and other variant forms to their plain letters), and
/// checks the syntax and that the domain is deliverable.
fn canonical(input: &str) -> Result<Email, ParseError> {
    let input = input.trim();
    if input.is_empty() {
        return Err(ParseError::Empty);
    }
    if input.len() > Email::MAX_LEN {
        return Err(ParseError::TooLong);
    }
    let (local, domain) = input.rsplit_once('@').ok_or(ParseError::InvalidEmail)?;
    let domain = idna::domain_to_ascii(domain).map_err(|_| ParseError::InvalidEmail)?;
    let normalised = format!("{}@{domain}", local.to_lowercase());
    // A-labels are longer than U-labels: the limit holds for the form that is kept.
    if normalised.len() > Email::MAX_LEN {
        return Err(ParseError::TooLong);
    }
    let address =
        email_address::EmailAddress::from_str(&normalised).map_err(|_| ParseError::InvalidEmail)?;
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
    Ok(Email(normalised))
}

/// A mailbox name that could pass for another is refused (UTS #39, Unicode Security
/// Mechanisms): `ｒａｖｉ` (full-width, NFKC-unstable), `rav\u{200b}i` (an invisible character,
/// not allowed in identifiers by UTS #39 §3.1), `rаvi` (Cyrillic `а` among Latin letters, mixed
/// scripts per UTS #39 §5.1). Plain ASCII is never confusable with itself this way, and a name
/// wholly in one script (`रवि`, `ravi.kumar`) is fine.
fn check_not_confusable(local: &str) -> Result<(), ParseError> {
    if local.is_ascii() {
        return Ok(());
    }
    let confusable = !is_nfkc(local)
        || local
            .chars()
            .any(|c| !c.is_ascii() && !c.identifier_allowed())
        || !local.is_single_script();
    if confusable {
        Err(ParseError::ConfusableEmail)
    } else {
        Ok(())
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
    fn u_labels_and_a_labels_are_one_address_kept_as_a_labels() {
        let unicode = Email::parse("Ravi@Bücher.Example").unwrap();
        let ascii = Email::parse("ravi@xn--bcher-kva.example").unwrap();
        assert_eq!(unicode, ascii);
        assert_eq!(unicode.as_str(), "ravi@xn--bcher-kva.example");
        assert_eq!(
            unicode.legacy_form().as_deref(),
            Some("ravi@bücher.example"),
            "how such an address was stored before"
        );
        // Full-width letters in the domain are mapped by IDNA to the plain ones.
        assert_eq!(
            Email::parse("asha@ｅｘａｍｐｌｅ.com").unwrap().as_str(),
            "asha@example.com"
        );
        assert_eq!(
            Email::parse("asha@उदाहरण.भारत").unwrap().as_str(),
            "asha@xn--p1b6ci4b4b3a.xn--h2brj9c"
        );
    }

    #[test]
    fn ascii_addresses_are_unchanged_so_stored_rows_need_no_migration() {
        for stored in [
            "ravi.kumar@example.com",
            "asha+oneid@mail.example.co.in",
            "x_y-z@sub-domain.example.org",
        ] {
            let email = Email::parse(stored).unwrap();
            assert_eq!(email.as_str(), stored);
            assert_eq!(email.legacy_form(), None);
            assert_eq!(Email::from_stored(stored).unwrap().as_str(), stored);
        }
    }

    #[test]
    fn confusable_mailbox_names_are_refused() {
        for confusable in [
            "ｒａｖｉ@example.com",     // full-width
            "rav\u{200b}i@example.com", // zero-width space
            "ra\u{ad}vi@example.com",   // soft hyphen
            "r\u{430}vi@example.com",   // Cyrillic a among Latin letters
            "asha@p\u{430}ypal.com",    // the same in the domain
        ] {
            assert_eq!(
                Email::parse(confusable),
                Err(ParseError::ConfusableEmail),
                "{confusable:?}"
            );
        }
        // One script, even a non-Latin one, is fine.
        assert!(Email::parse("रवि@example.com").is_ok());
        assert!(Email::parse("мария@example.com").is_ok());
        assert!(Email::parse("josé.garcía@example.com").is_ok());
        // An address stored before the check stays readable.
        assert!(Email::from_stored("r\u{430}vi@example.com").is_ok());
    }

    #[test]
    fn masks_the_mailbox() {
        let email = Email::parse("ravi@example.com").unwrap();
        assert_eq!(email.masked(), "r***@example.com");
        assert!(!format!("{email:?}").contains("ravi"));
    }
}
