//! Endpoint safety: the server POSTs to whatever Web Push endpoint a client registers, so an
//! endpoint must be `https://` on a public address, or the server could be made to call its
//! own network (SSRF). Checked at registration, and again by the resolver every connection
//! uses, so a name that resolves to a private address later (DNS rebinding) is refused too.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Why an endpoint is refused, in words that say what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointRefused {
    #[error("`endpoint` is not a URL: {0}")]
    NotAUrl(String),
    #[error("`endpoint` must be an https:// URL from the browser's or distributor's push service")]
    NotHttps,
    #[error("`endpoint` has no host")]
    NoHost,
    #[error("`endpoint` points at a loopback, private, link-local or unspecified address ({0}); push services are on the public internet")]
    PrivateAddress(IpAddr),
    #[error("`endpoint`'s host `{0}` does not resolve")]
    Unresolvable(String),
    #[error("`endpoint`'s host `{0}` did not resolve within {LOOKUP_PATIENCE:?}; try again, or check its name servers")]
    LookupTimedOut(String),
}

/// How long a push endpoint's host is given to resolve when it is registered.
pub const LOOKUP_PATIENCE: std::time::Duration = std::time::Duration::from_secs(5);

/// True for addresses a push service can never be at.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_private_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_private_v4(v4),
            None => is_private_v6(v6),
        },
    }
}

fn is_private_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        // 100.64.0.0/10: carrier-grade NAT, inside someone's network.
        || (a == 100 && (64..128).contains(&b))
}

fn is_private_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        // fc00::/7 unique local, fe80::/10 link-local.
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        // An IPv4 address carried in IPv6 reaches that IPv4 address: judged as it.
        || carried_v4(ip).is_some_and(is_private_v4)
}

/// The IPv4 address an IPv6 one carries and reaches: NAT64 (64:ff9b::/96), 6to4 (2002::/16)
/// and the deprecated IPv4-compatible form (::a.b.c.d).
fn carried_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let v4 = |high: u16, low: u16| Ipv4Addr::from((u32::from(high) << 16) | u32::from(low));
    match s {
        [0x64, 0xff9b, 0, 0, 0, 0, high, low] => Some(v4(high, low)),
        [0x2002, high, low, ..] => Some(v4(high, low)),
        [0, 0, 0, 0, 0, 0, high, low] if high != 0 => Some(v4(high, low)),
        _ => None,
    }
}

/// Checks an endpoint as registered: its scheme, and every address its host resolves to.
/// `insecure` (the `--insecure-push-endpoints` flag, for local tests) allows anything.
pub async fn check(endpoint: &str, insecure: bool) -> Result<reqwest::Url, EndpointRefused> {
    let url = reqwest::Url::parse(endpoint).map_err(|e| EndpointRefused::NotAUrl(e.to_string()))?;
    if insecure {
        return match url.scheme() {
            "http" | "https" => Ok(url),
            _ => Err(EndpointRefused::NotHttps),
        };
    }
    if url.scheme() != "https" {
        return Err(EndpointRefused::NotHttps);
    }
    let host = url.host_str().ok_or(EndpointRefused::NoHost)?;
    let port = url.port_or_known_default().unwrap_or(443);
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = literal.parse::<IpAddr>() {
        return if is_private(ip) {
            Err(EndpointRefused::PrivateAddress(ip))
        } else {
            Ok(url)
        };
    }
    let addrs: Vec<SocketAddr> =
        tokio::time::timeout(LOOKUP_PATIENCE, tokio::net::lookup_host((host, port)))
            .await
            .map_err(|_| EndpointRefused::LookupTimedOut(host.to_owned()))?
            .map_err(|_| EndpointRefused::Unresolvable(host.to_owned()))?
            .collect();
    if addrs.is_empty() {
        return Err(EndpointRefused::Unresolvable(host.to_owned()));
    }
    match addrs.iter().find(|addr| is_private(addr.ip())) {
        Some(addr) => Err(EndpointRefused::PrivateAddress(addr.ip())),
        None => Ok(url),
    }
}

/// The part of [`check`] that needs no lookup: the scheme, and a host given as an address.
/// Run before every send, since connections to literal addresses skip the resolver.
pub fn check_literal(endpoint: &str, insecure: bool) -> Result<(), EndpointRefused> {
    if insecure {
        return Ok(());
    }
    let url = reqwest::Url::parse(endpoint).map_err(|e| EndpointRefused::NotAUrl(e.to_string()))?;
    if url.scheme() != "https" {
        return Err(EndpointRefused::NotHttps);
    }
    match url.host() {
        Some(url::Host::Ipv4(ip)) if is_private(ip.into()) => {
            Err(EndpointRefused::PrivateAddress(ip.into()))
        }
        Some(url::Host::Ipv6(ip)) if is_private(ip.into()) => {
            Err(EndpointRefused::PrivateAddress(ip.into()))
        }
        Some(_) => Ok(()),
        None => Err(EndpointRefused::NoHost),
    }
}

/// The resolver of the Web Push client: the system's, minus every private address.
#[derive(Debug, Clone, Copy, Default)]
pub struct PublicOnlyResolver;

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let resolved = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let public: Vec<SocketAddr> = resolved.filter(|addr| !is_private(addr.ip())).collect();
            if public.is_empty() {
                return Err(format!(
                    "{} resolves only to private addresses; refusing to connect",
                    name.as_str()
                )
                .into());
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn private_plain_and_malformed_endpoints_are_refused() {
        for (endpoint, refused) in [
            ("http://push.example.com/x", EndpointRefused::NotHttps),
            (
                "https://127.0.0.1/x",
                EndpointRefused::PrivateAddress(
                    "127.0.0.1"
                        .parse()
                        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST)),
                ),
            ),
            (
                "https://10.1.2.3/x",
                EndpointRefused::PrivateAddress([10, 1, 2, 3].into()),
            ),
            (
                "https://169.254.169.254/latest",
                EndpointRefused::PrivateAddress([169, 254, 169, 254].into()),
            ),
            (
                "https://[::1]/x",
                EndpointRefused::PrivateAddress(Ipv6Addr::LOCALHOST.into()),
            ),
            (
                "https://[::ffff:192.168.0.1]/x",
                EndpointRefused::PrivateAddress(
                    "::ffff:192.168.0.1"
                        .parse()
                        .unwrap_or(IpAddr::V6(Ipv6Addr::LOCALHOST)),
                ),
            ),
            (
                "https://[fd00::1]/x",
                EndpointRefused::PrivateAddress(
                    "fd00::1".parse().unwrap_or(IpAddr::V6(Ipv6Addr::LOCALHOST)),
                ),
            ),
            (
                "https://0.0.0.0/x",
                EndpointRefused::PrivateAddress(Ipv4Addr::UNSPECIFIED.into()),
            ),
        ] {
            assert_eq!(
                check(endpoint, false).await.err(),
                Some(refused),
                "{endpoint}"
            );
        }
        // An IPv4 address inside an IPv6 one (NAT64, 6to4, IPv4-compatible) is judged as it.
        for carried in ["64:ff9b::a9fe:a9fe", "2002:7f00:1::1", "::10.0.0.1"] {
            let endpoint = format!("https://[{carried}]/x");
            assert!(
                matches!(
                    check(&endpoint, false).await,
                    Err(EndpointRefused::PrivateAddress(_))
                ),
                "{endpoint}"
            );
        }
        assert!(matches!(
            check("not a url", false).await,
            Err(EndpointRefused::NotAUrl(_))
        ));
        assert!(matches!(
            check("https://localhost/x", false).await,
            Err(EndpointRefused::PrivateAddress(_))
        ));
    }

    #[tokio::test]
    async fn a_public_address_passes_and_the_test_flag_lets_loopback_through() {
        assert!(check("https://93.184.215.14/push/abc", false).await.is_ok());
        assert!(check("http://127.0.0.1:9/x", true).await.is_ok());
        assert_eq!(
            check("ftp://127.0.0.1/x", true).await.err(),
            Some(EndpointRefused::NotHttps)
        );
    }
}
