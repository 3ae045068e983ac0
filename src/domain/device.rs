//! The browser a session runs in, as the person's list of sessions shows it: the long-lived
//! device cookie that tells a browser seen before from a new one, the browser and operating
//! system its user agent names, and its address masked.

use std::{
    fmt,
    net::{IpAddr, Ipv6Addr},
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};

use super::{AccountId, is_token_shaped, random_token};

/// The random value of the device cookie: 256 bits, URL-safe. It proves nothing (it signs no
/// one in); it only lets OneID recognise a browser it has seen, for the "new browser" notice
/// and the "this device" badge. `Debug` never prints it all the same.
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceKey(String);

impl DeviceKey {
    pub fn generate() -> Self {
        Self(random_token())
    }

    /// Reads a cookie value; anything not shaped like one of ours is ignored (a new key is
    /// then set at the next sign-in).
    pub fn from_cookie(value: &str) -> Option<Self> {
        is_token_shaped(value).then(|| Self(value.to_owned()))
    }

    pub fn cookie_value(&self) -> &str {
        &self.0
    }

    /// What the session row of `account` keeps: a digest of the key and the account under its
    /// own label, so a dump of the database gives no cookie to plant in another browser, and
    /// the accounts used in one browser cannot be linked to each other by their digests.
    pub fn digest_for(&self, account: AccountId) -> DeviceDigest {
        let mut digest = Sha256::new();
        digest.update(b"oneid-device\0");
        digest.update(account.get().to_be_bytes());
        digest.update(self.0.as_bytes());
        DeviceDigest(URL_SAFE_NO_PAD.encode(digest.finalize()))
    }
}

impl fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeviceKey(<redacted>)")
    }
}

/// The stored digest of a [`DeviceKey`] (`sessions.device_sha256`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceDigest(String);

impl DeviceDigest {
    pub fn from_stored(stored: String) -> Self {
        Self(stored)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a user agent says about the browser: its name and its operating system, each when
/// known ("Chrome", "Android"). Parsed by `woothee`, whose data is maintained with the browsers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BrowserSummary {
    pub browser: Option<String>,
    pub os: Option<String>,
}

impl BrowserSummary {
    /// Parses a user agent; an absent or unrecognised one gives an empty summary.
    pub fn parse(user_agent: Option<&str>) -> Self {
        let Some(parsed) = user_agent.and_then(|ua| woothee::parser::Parser::new().parse(ua))
        else {
            return Self::default();
        };
        let known = |value: &str| {
            let value = value.trim();
            (!value.is_empty() && value != woothee::woothee::VALUE_UNKNOWN)
                .then(|| value.to_owned())
        };
        Self {
            browser: known(parsed.name),
            os: known(parsed.os),
        }
    }
}

/// An address as the person sees it in their lists: enough to tell their home network from
/// another city's, not enough to point at one line. IPv4 keeps its first two numbers
/// (`203.0.x.x`); IPv6 its first 48 bits, the part a provider routes to one customer site
/// (`2001:db8:85a3::/48`). An IPv4 address mapped into IPv6 is shown as IPv4.
pub fn mask_ip(ip: IpAddr) -> String {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, _, _] = v4.octets();
            format!("{a}.{b}.x.x")
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let prefix = Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0);
            format!("{prefix}/48")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agents_become_a_browser_and_a_system() {
        let chrome_android = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 \
                              (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36";
        assert_eq!(
            BrowserSummary::parse(Some(chrome_android)),
            BrowserSummary {
                browser: Some("Chrome".into()),
                os: Some("Android".into())
            }
        );
        let firefox_windows =
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0";
        let parsed = BrowserSummary::parse(Some(firefox_windows));
        assert_eq!(parsed.browser.as_deref(), Some("Firefox"));
        assert!(parsed.os.unwrap().starts_with("Windows"));
        assert_eq!(BrowserSummary::parse(None), BrowserSummary::default());
        assert_eq!(
            BrowserSummary::parse(Some("xyzzy")),
            BrowserSummary::default(),
            "nothing known"
        );
        assert_eq!(BrowserSummary::parse(Some("")), BrowserSummary::default());
    }

    #[test]
    fn addresses_are_masked_to_a_network() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(mask_ip(ip("203.0.113.7")), "203.0.x.x");
        assert_eq!(
            mask_ip(ip("2001:db8:85a3:8d3:1319:8a2e:370:7348")),
            "2001:db8:85a3::/48"
        );
        assert_eq!(mask_ip(ip("::ffff:198.51.100.9")), "198.51.x.x");
        assert_eq!(mask_ip(ip("::1")), "::/48");
    }

    #[test]
    fn device_keys_parse_digest_and_never_print() {
        let key = DeviceKey::generate();
        let again = DeviceKey::from_cookie(key.cookie_value()).unwrap();
        let (asha, ravi) = (
            AccountId::from_stored(123_456_789),
            AccountId::from_stored(987_654_321),
        );
        assert_eq!(key.digest_for(asha), again.digest_for(asha));
        assert_ne!(key.digest_for(asha), DeviceKey::generate().digest_for(asha));
        assert_ne!(
            key.digest_for(asha),
            key.digest_for(ravi),
            "accounts not linkable"
        );
        assert_ne!(key.digest_for(asha).as_str(), key.cookie_value());
        assert!(!format!("{key:?}").contains(key.cookie_value()));
        for bad in [
            "",
            "short",
            &"x".repeat(44),
            &format!("{}!", &"a".repeat(42)),
        ] {
            assert!(DeviceKey::from_cookie(bad).is_none(), "{bad}");
        }
    }
}
