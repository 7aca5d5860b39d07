//! The load balancers and reverse proxies whose `X-Forwarded-For` names the client
//! (`--trusted-proxy`): single addresses or ranges, as a cloud balancer's nodes come and go
//! within a subnet and a CDN publishes its ranges.

use std::net::IpAddr;
use std::str::FromStr;

pub use ipnet::IpNet;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn new(ranges: Vec<IpNet>) -> TrustedProxies {
        TrustedProxies(ranges)
    }

    /// Whether `ip` is one of them. An IPv4 peer met on a dual-stack socket
    /// (`::ffff:10.0.0.5`) is its IPv4 address, as it was named.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|range| range.contains(&ip))
    }

    /// The ranges wider than a balancer's own subnet (shorter than /16 for IPv4, /32 for IPv6):
    /// anyone in them could name any client address and hold as many connections as 16
    /// clients, so the server says so at start.
    pub fn too_wide(&self) -> Vec<IpNet> {
        self.0
            .iter()
            .filter(|range| match range {
                IpNet::V4(v4) => v4.prefix_len() < 16,
                IpNet::V6(v6) => v6.prefix_len() < 32,
            })
            .copied()
            .collect()
    }
}

/// A `--trusted-proxy` value that names no proxy, saying what it takes; written as the
/// contract's errors are (`{code, message}`) wherever it is reported as data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustedProxyError {
    #[error("`{value}` is neither an address (10.0.0.5) nor a range (10.0.0.0/16)")]
    NeitherAddressNorRange { value: String },
}

impl TrustedProxyError {
    pub fn code(&self) -> &'static str {
        match self {
            TrustedProxyError::NeitherAddressNorRange { .. } => "neither_address_nor_range",
        }
    }
}

impl serde::Serialize for TrustedProxyError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        crate::error::code_and_message(serializer, self.code(), self.to_string())
    }
}

/// One `--trusted-proxy` value: an address (`10.0.0.5`, `::1`) or a range (`10.0.0.0/16`).
pub fn parse_one(value: &str) -> Result<IpNet, TrustedProxyError> {
    let value = value.trim();
    IpNet::from_str(value)
        .or_else(|_| IpAddr::from_str(value).map(IpNet::from))
        .map_err(|_| TrustedProxyError::NeitherAddressNorRange {
            value: value.to_owned(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(values: &[&str]) -> TrustedProxies {
        TrustedProxies::new(
            values
                .iter()
                .map(|v| parse_one(v).expect("parses"))
                .collect(),
        )
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    #[test]
    fn addresses_and_ranges_are_trusted_and_nothing_else() {
        let trusted = proxies(&["10.0.0.0/16", "192.0.2.7", "2001:db8::/32"]);
        assert!(trusted.contains(ip("10.0.200.1")));
        assert!(trusted.contains(ip("192.0.2.7")));
        assert!(trusted.contains(ip("2001:db8::1")));
        assert!(!trusted.contains(ip("10.1.0.1")));
        assert!(!trusted.contains(ip("192.0.2.8")));
        assert!(!trusted.contains(ip("2001:db9::1")));
    }

    #[test]
    fn an_ipv4_peer_on_a_dual_stack_socket_is_its_ipv4_address() {
        let trusted = proxies(&["10.0.0.5"]);
        assert!(trusted.contains(ip("::ffff:10.0.0.5")));
        assert!(!trusted.contains(ip("::ffff:10.0.0.6")));
    }

    #[test]
    fn ranges_wider_than_a_balancers_subnet_are_named() {
        let trusted = proxies(&[
            "10.0.0.0/16",
            "0.0.0.0/0",
            "10.0.0.0/8",
            "2001:db8::/32",
            "::/0",
        ]);
        let wide: Vec<String> = trusted.too_wide().iter().map(|r| r.to_string()).collect();
        assert_eq!(wide, ["0.0.0.0/0", "10.0.0.0/8", "::/0"]);
    }

    #[test]
    fn a_value_that_is_neither_says_what_it_takes() {
        let said = parse_one("10.0.0.0/33").expect_err("no such range");
        assert!(said.to_string().contains("10.0.0.0/16"), "{said}");
        assert_eq!(
            serde_json::to_value(&said).expect("serializes"),
            serde_json::json!({"code": "neither_address_nor_range", "message": said.to_string()})
        );
        assert!(parse_one("proxy.internal").is_err());
        assert_eq!(parse_one(" ::1 ").map(|n| n.prefix_len()), Ok(128));
    }
}
