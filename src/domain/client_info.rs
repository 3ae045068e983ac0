//! Who is asking, as far as the network can tell: for rate limits and the audit log.

use std::net::IpAddr;

use ipnet::IpNet;

/// The longest user agent kept; anything longer is cut (it is only ever displayed).
const USER_AGENT_MAX: usize = 256;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    /// `None` only when the connection's peer address is unknown (never over TCP).
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

impl ClientInfo {
    /// From the TCP peer, the `X-Forwarded-For` header (believed only through `trusted`
    /// proxies) and the `User-Agent` header.
    pub fn new(
        peer: Option<IpAddr>,
        forwarded_for: Option<&str>,
        user_agent: Option<&str>,
        trusted: &[IpNet],
    ) -> Self {
        Self {
            ip: client_ip(peer, forwarded_for, trusted),
            user_agent: user_agent.map(|ua| {
                ua.chars()
                    .filter(|c| !c.is_control())
                    .take(USER_AGENT_MAX)
                    .collect()
            }),
        }
    }
}

/// Walks `X-Forwarded-For` from the right (the entries our own proxies appended) while the
/// hop is a trusted proxy; the first address that is not is the client. Anything a client
/// wrote itself sits further left and is never reached unless every hop after it is trusted,
/// so a forged header cannot choose the address that is rate-limited.
fn client_ip(
    peer: Option<IpAddr>,
    forwarded_for: Option<&str>,
    trusted: &[IpNet],
) -> Option<IpAddr> {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let mut client = peer?;
    if !is_trusted(&client) {
        return Some(client);
    }
    for hop in forwarded_for.unwrap_or_default().rsplit(',') {
        let Ok(ip) = hop.trim().parse::<IpAddr>() else {
            // A malformed entry: stop at the last address we could trust.
            break;
        };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    Some(client)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client_whatever_the_header_says() {
        let info = ClientInfo::new(Some(ip("203.0.113.7")), Some("198.51.100.1"), None, &[]);
        assert_eq!(info.ip, Some(ip("203.0.113.7")));
    }

    #[test]
    fn through_a_trusted_proxy_the_nearest_untrusted_hop_is_the_client() {
        let trusted = nets(&["10.0.0.0/8"]);
        let info = ClientInfo::new(
            Some(ip("10.0.0.2")),
            Some("1.2.3.4, 203.0.113.7, 10.0.0.9"),
            None,
            &trusted,
        );
        assert_eq!(
            info.ip,
            Some(ip("203.0.113.7")),
            "the forged 1.2.3.4 further left is ignored"
        );
    }

    #[test]
    fn a_header_from_an_untrusted_peer_or_a_malformed_one_is_not_believed() {
        let trusted = nets(&["10.0.0.0/8", "2001:db8::/32"]);
        let direct = ClientInfo::new(Some(ip("203.0.113.7")), Some("10.0.0.1"), None, &trusted);
        assert_eq!(direct.ip, Some(ip("203.0.113.7")));
        let garbage = ClientInfo::new(Some(ip("2001:db8::1")), Some("not-an-ip"), None, &trusted);
        assert_eq!(garbage.ip, Some(ip("2001:db8::1")));
        let missing = ClientInfo::new(Some(ip("10.1.1.1")), None, None, &trusted);
        assert_eq!(missing.ip, Some(ip("10.1.1.1")));
    }

    #[test]
    fn user_agents_are_cut_and_stripped_of_control_characters() {
        let long = format!("Mozilla\r\n{}", "x".repeat(1000));
        let info = ClientInfo::new(None, None, Some(&long), &[]);
        let ua = info.user_agent.unwrap();
        assert_eq!(ua.chars().count(), USER_AGENT_MAX);
        assert!(!ua.contains('\n') && !ua.contains('\r'));
        assert_eq!(info.ip, None);
    }
}
