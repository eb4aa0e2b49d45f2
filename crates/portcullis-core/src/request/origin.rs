//! The effective request URI (RFC 9110 §7.1): the URI the client addressed, which is not always
//! the one this server received.
//!
//! In order, the first that applies:
//! 1. a configured [`PublicUrl`]: its scheme and authority, its path prefix, then the request path;
//! 2. when the peer is in the configured [`TrustedProxies`], the proxies' `Forwarded` header
//!    (RFC 7239), else their `X-Forwarded-Proto` / `X-Forwarded-Host`; from any other peer these
//!    headers are ignored, whatever they say;
//! 3. the connection itself: `https` on a TLS connection, else `http`, and the request's
//!    authority (`Host`). This is right for a server exposed directly, and wrong behind a proxy
//!    that is not configured as trusted.
//!
//! Scheme and host are compared case-insensitively and the default port is dropped
//! (RFC 3986 §6.2.2-6.2.3), so `HTTPS://API.example.com:443/x` is `https://api.example.com/x`.

use std::borrow::Cow;
use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

use super::view::{RequestView, values};
use crate::error::{ConfigError, Reason};

/// At most this many `Forwarded` elements (64) are read: more hops than any real proxy chain,
/// and a bound on the work a request can cause.
pub const MAX_FORWARDED_ELEMENTS: usize = 64;

/// The longest host name accepted (253, the DNS limit, RFC 1035 §2.3.4).
pub const MAX_HOST_LEN: usize = 253;

/// The URI the client addressed, without query or fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectiveUri {
    scheme: &'static str,
    authority: String,
    path: String,
}

impl EffectiveUri {
    /// A URI from its parts, the authority validated and normalised as a `Host` header's is.
    pub(crate) fn from_parts(scheme: &'static str, authority: &str, path: &str) -> Option<Self> {
        Some(Self {
            scheme,
            authority: normalize_authority(scheme, authority)?.into_owned(),
            path: path.to_owned(),
        })
    }

    /// `https` or `http`.
    pub fn scheme(&self) -> &'static str {
        self.scheme
    }

    /// Host (lowercase) and port (absent when it is the scheme's default).
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// The path, as received (no percent-decoding), after any public URL prefix.
    pub fn path(&self) -> &str {
        &self.path
    }
}

impl fmt::Display for EffectiveUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}{}", self.scheme, self.authority, self.path)
    }
}

/// The base URL clients use to reach this service, e.g. `https://api.example.com` or, when a
/// proxy strips a prefix before forwarding, `https://example.com/api`. Set it and neither
/// forwarding headers nor `Host` are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl {
    scheme: &'static str,
    authority: String,
    prefix: String,
}

impl PublicUrl {
    /// Parses `scheme://authority[/prefix]` (`http` or `https`; no user info, query or fragment).
    pub fn parse(url: &str) -> Result<Self, ConfigError> {
        let invalid = |why| ConfigError::InvalidValue {
            name: "public_url",
            why,
        };
        let (scheme, rest) = url
            .split_once("://")
            .ok_or(invalid("must be an absolute http(s) URL"))?;
        let scheme = parse_scheme(scheme).ok_or(invalid("the scheme must be http or https"))?;
        if rest.contains(['?', '#', '@']) {
            return Err(invalid("no user info, query or fragment"));
        }
        let (authority, prefix) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let authority =
            normalize_authority(scheme, authority).ok_or(invalid("the host is not valid"))?;
        Ok(Self {
            scheme,
            authority: authority.into_owned(),
            prefix: prefix.trim_end_matches('/').to_owned(),
        })
    }
}

/// Peers whose forwarding headers are believed: a list of networks (`10.0.0.0/8`, `::1`, ...).
/// Empty by default, so a server reads no forwarding header until told which proxies are its own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Network>);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl TrustedProxies {
    /// Parses a comma-separated list of addresses and CIDR networks; empty entries are skipped.
    pub fn parse(list: &str) -> Result<Self, ConfigError> {
        let invalid = ConfigError::InvalidValue {
            name: "trusted_proxies",
            why: "each entry must be an IP address or a CIDR network (10.0.0.0/8)",
        };
        let mut networks = Vec::new();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (addr, prefix) = entry
                .split_once('/')
                .map_or((entry, None), |(a, p)| (a, Some(p)));
            let addr: IpAddr = addr.parse().map_err(|_| invalid.clone())?;
            let max = if addr.is_ipv4() { 32 } else { 128 };
            let prefix = match prefix {
                None => max,
                Some(p) => p
                    .parse::<u8>()
                    .ok()
                    .filter(|p| *p <= max)
                    .ok_or(invalid.clone())?,
            };
            networks.push(Network {
                addr: addr.to_canonical(),
                prefix,
            });
        }
        Ok(Self(networks))
    }

    /// Whether `peer` is one of the trusted proxies.
    pub fn contains(&self, peer: IpAddr) -> bool {
        let peer = peer.to_canonical();
        self.0.iter().any(|n| n.contains(peer))
    }

    /// Whether no proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Network {
    fn contains(self, ip: IpAddr) -> bool {
        let (net, ip, bits) = match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(i)) => {
                (u128::from(n.to_bits()), u128::from(i.to_bits()), 32)
            }
            (IpAddr::V6(n), IpAddr::V6(i)) => (n.to_bits(), i.to_bits(), 128),
            _ => return false,
        };
        let shift = bits - u32::from(self.prefix);
        shift >= bits || net >> shift == ip >> shift
    }
}

/// The effective request URI of `view` (see the module docs). `Err` when what the rules select
/// is malformed (a trusted proxy's header, the `Host`), or when there is no authority at all.
pub(crate) fn resolve(
    view: &RequestView<'_>,
    public: Option<&PublicUrl>,
    proxies: &TrustedProxies,
) -> Result<EffectiveUri, Reason> {
    let bad = Reason::BadRequestUri;
    let path = if view.path().is_empty() {
        "/"
    } else {
        view.path()
    };
    if let Some(public) = public {
        return Ok(EffectiveUri {
            scheme: public.scheme,
            authority: public.authority.clone(),
            path: format!("{}{path}", public.prefix),
        });
    }
    let trusted = view.peer_addr().is_some_and(|p| proxies.contains(p.ip()));
    let (proto, host) = if trusted {
        forwarded(view, proxies)?
    } else {
        (None, None)
    };
    let scheme = match proto {
        Some(p) => parse_scheme(p).ok_or(bad)?,
        None if view.is_secure() => "https",
        None => "http",
    };
    let host = host.or(view.request_authority()).ok_or(bad)?;
    EffectiveUri::from_parts(scheme, host, path).ok_or(bad)
}

/// `(proto, host)` as the trusted proxies recorded them.
fn forwarded<'a>(
    view: &RequestView<'a>,
    proxies: &TrustedProxies,
) -> Result<(Option<&'a str>, Option<&'a str>), Reason> {
    let headers = view.headers();
    let mut elements = Vec::new();
    for value in values(headers, "forwarded") {
        let value = std::str::from_utf8(value).map_err(|_| Reason::BadRequestUri)?;
        parse_forwarded(value, &mut elements)?;
    }
    if elements.is_empty() {
        let last = |name| {
            values(headers, name)
                .into_iter()
                .rev()
                .filter_map(|v| std::str::from_utf8(v).ok())
                .flat_map(|v| v.rsplit(','))
                .map(str::trim)
                .find(|v| !v.is_empty())
        };
        return Ok((last("x-forwarded-proto"), last("x-forwarded-host")));
    }
    // The rightmost element is our peer's; walk left while each element was itself written by a
    // trusted proxy. The first element whose `for` is not trusted (or the leftmost) was written
    // by the proxy the client spoke to: its proto and host are what the client addressed.
    let mut chosen = None;
    for element in elements.iter().rev() {
        chosen = Some(element);
        let from_trusted = element
            .node
            .and_then(node_ip)
            .is_some_and(|ip| proxies.contains(ip));
        if !from_trusted {
            break;
        }
    }
    Ok(chosen.map_or((None, None), |e| (e.proto, e.host)))
}

#[derive(Default)]
struct Element<'a> {
    node: Option<&'a str>,
    proto: Option<&'a str>,
    host: Option<&'a str>,
}

/// RFC 7239 §4: `element *( "," element )`, `element = [pair] *( ";" [pair] )`,
/// `pair = token "=" ( token / quoted-string )`. Quoted values are returned without their quotes;
/// one with a backslash escape is refused (no real proxy writes one in a node or host).
fn parse_forwarded<'a>(value: &'a str, out: &mut Vec<Element<'a>>) -> Result<(), Reason> {
    let bad = Reason::BadRequestUri;
    let mut element = Element::default();
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches([' ', '\t']);
        let name_end = rest.find(['=', ';', ',']).unwrap_or(rest.len());
        let (name, after) = rest.split_at(name_end);
        let name = name.trim_end_matches([' ', '\t']);
        if let Some(after) = after.strip_prefix('=') {
            if name.is_empty() {
                return Err(bad);
            }
            let (value, after) = match after.strip_prefix('"') {
                Some(quoted) => {
                    let end = quoted.find('"').ok_or(bad)?;
                    let (inner, after) = quoted.split_at(end);
                    if inner.contains('\\') {
                        return Err(bad);
                    }
                    (inner, after.strip_prefix('"').unwrap_or(after))
                }
                None => after.split_at(after.find([';', ',', ' ', '\t']).unwrap_or(after.len())),
            };
            let slot = if name.eq_ignore_ascii_case("for") {
                Some(&mut element.node)
            } else if name.eq_ignore_ascii_case("proto") {
                Some(&mut element.proto)
            } else if name.eq_ignore_ascii_case("host") {
                Some(&mut element.host)
            } else {
                None
            };
            // The same parameter twice in one element is ambiguous (RFC 7239 §4).
            if slot.is_some_and(|slot| slot.replace(value).is_some()) {
                return Err(bad);
            }
            rest = after.trim_start_matches([' ', '\t']);
        } else if !name.is_empty() {
            return Err(bad);
        } else {
            rest = after;
        }
        if let Some(next) = rest.strip_prefix(';') {
            rest = next;
        } else if let Some(next) = rest.strip_prefix(',') {
            push(out, std::mem::take(&mut element))?;
            rest = next;
        } else if rest.is_empty() {
            return push(out, element);
        } else {
            return Err(bad);
        }
    }
}

fn push<'a>(out: &mut Vec<Element<'a>>, element: Element<'a>) -> Result<(), Reason> {
    if out.len() >= MAX_FORWARDED_ELEMENTS {
        return Err(Reason::BadRequestUri);
    }
    out.push(element);
    Ok(())
}

/// The IP of a `Forwarded` node (`192.0.2.1`, `192.0.2.1:80`, `[2001:db8::1]:80`); `None` for
/// `unknown`, an obfuscated name, or anything unreadable.
fn node_ip(node: &str) -> Option<IpAddr> {
    if let Some(v6) = node.strip_prefix('[') {
        let (addr, _) = v6.split_once(']')?;
        return addr.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    node.split(':').next()?.parse().ok()
}

fn parse_scheme(scheme: &str) -> Option<&'static str> {
    if scheme.eq_ignore_ascii_case("https") {
        Some("https")
    } else if scheme.eq_ignore_ascii_case("http") {
        Some("http")
    } else {
        None
    }
}

/// `host[:port]` lowercased, the scheme's default port dropped; `None` unless the host is a DNS
/// name, an IPv4 address or a bracketed IPv6 address, and the port is a number. An authority
/// already in that form (nearly every one) is borrowed, not copied.
pub(crate) fn normalize_authority<'a>(scheme: &str, raw: &'a str) -> Option<Cow<'a, str>> {
    if raw.bytes().any(|b| b.is_ascii_uppercase()) {
        let lower = raw.to_ascii_lowercase();
        return normalize_authority(scheme, &lower).map(|a| Cow::Owned(a.into_owned()));
    }
    let (host, port) = if raw.starts_with('[') {
        let end = raw.find(']')?;
        let (host, port) = raw.split_at(end + 1);
        host.get(1..end)?.parse::<Ipv6Addr>().ok()?;
        (host, port)
    } else {
        let (host, port) = raw.split_at(raw.find(':').unwrap_or(raw.len()));
        let name = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_');
        if host.is_empty() || host.len() > MAX_HOST_LEN || !host.bytes().all(name) {
            return None;
        }
        (host, port)
    };
    let digits = match port.strip_prefix(':') {
        None if port.is_empty() => None,
        None => return None,
        Some("") => None,
        Some(digits) => Some(digits),
    };
    let port = match digits {
        None => None,
        Some(digits) => Some(digits.parse::<u16>().ok().filter(|_| digits.len() <= 5)?),
    };
    let default = if scheme == "https" { 443 } else { 80 };
    Some(match (port, digits) {
        (Some(p), Some(digits)) if p != default => {
            if digits.len() > 1 && digits.starts_with('0') {
                Cow::Owned(format!("{host}:{p}"))
            } else {
                Cow::Borrowed(raw)
            }
        }
        _ => Cow::Borrowed(host),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::view::Headers;
    use std::ops::ControlFlow;

    struct Map(Vec<(&'static str, &'static str)>);
    impl Headers for Map {
        fn each_value<'s>(&'s self, name: &str, each: &mut dyn FnMut(&'s [u8]) -> ControlFlow<()>) {
            for (_, v) in self.0.iter().filter(|(n, _)| *n == name) {
                if each(v.as_bytes()).is_break() {
                    return;
                }
            }
        }
    }

    fn uri(
        headers: &[(&'static str, &'static str)],
        peer: &str,
        secure: bool,
        proxies: &str,
    ) -> Result<String, Reason> {
        let map = Map(headers.to_vec());
        let view = RequestView::new("GET", "/users", &map)
            .secure(secure)
            .peer(Some(peer.parse().unwrap()));
        let proxies = TrustedProxies::parse(proxies).unwrap();
        resolve(&view, None, &proxies).map(|u| u.to_string())
    }

    const PROXY: &str = "10.0.0.7:4000";
    const CLIENT: &str = "198.51.100.9:5000";

    #[test]
    fn a_direct_server_uses_the_connection() {
        assert_eq!(
            uri(&[("host", "API.Example.com:443")], CLIENT, true, "").unwrap(),
            "https://api.example.com/users"
        );
        assert_eq!(
            uri(&[("host", "api.example.com:8080")], CLIENT, false, "").unwrap(),
            "http://api.example.com:8080/users"
        );
        assert_eq!(
            uri(&[("host", "[::1]:80")], CLIENT, false, "").unwrap(),
            "http://[::1]/users"
        );
        assert_eq!(uri(&[], CLIENT, false, ""), Err(Reason::BadRequestUri));
        // Two `Host` headers name no authority (RFC 9112 §3.2), even when they agree.
        assert_eq!(
            uri(
                &[("host", "a.example"), ("host", "a.example")],
                CLIENT,
                false,
                ""
            ),
            Err(Reason::BadRequestUri)
        );
        // The request target's authority (HTTP/2 `:authority`) wins over `Host`.
        let map = Map(vec![("host", "other.example")]);
        let view = RequestView::new("GET", "/users", &map).authority(Some("api.example.com"));
        let direct = resolve(&view, None, &TrustedProxies::default()).unwrap();
        assert_eq!(direct.to_string(), "http://api.example.com/users");
        for bad in [
            "a b",
            "evil.com/x",
            "host:99999",
            "host:1:2",
            "[::1",
            "[zz]:1",
            "",
        ] {
            let leaked: &'static str = Box::leak(bad.to_owned().into_boxed_str());
            assert_eq!(
                uri(&[("host", leaked)], CLIENT, false, ""),
                Err(Reason::BadRequestUri),
                "{bad}"
            );
        }
    }

    #[test]
    fn forwarding_headers_from_an_untrusted_peer_are_ignored() {
        let spoofed = [
            ("host", "api.example.com"),
            ("x-forwarded-host", "evil.example"),
            ("x-forwarded-proto", "https"),
            ("forwarded", "host=evil.example;proto=https"),
        ];
        // No proxy configured, and a peer outside the configured list: both ignore them.
        assert_eq!(
            uri(&spoofed, CLIENT, false, "").unwrap(),
            "http://api.example.com/users"
        );
        assert_eq!(
            uri(&spoofed, CLIENT, false, "10.0.0.0/8").unwrap(),
            "http://api.example.com/users"
        );
    }

    #[test]
    fn a_trusted_proxy_sets_scheme_and_host() {
        let xf = [
            ("host", "backend:8080"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "spoofed.example, api.example.com"),
        ];
        // X-Forwarded-*: the last value, the one our proxy appended.
        assert_eq!(
            uri(&xf, PROXY, false, "10.0.0.0/8").unwrap(),
            "https://api.example.com/users"
        );
        assert_eq!(
            uri(&xf, PROXY, false, "10.0.0.7").unwrap(),
            "https://api.example.com/users"
        );
        assert_eq!(
            uri(&xf, PROXY, false, "10.0.0.8/32").unwrap(),
            "http://backend:8080/users"
        );
        // Forwarded wins over X-Forwarded-*.
        let both = [
            ("host", "backend"),
            ("x-forwarded-host", "xf.example"),
            (
                "forwarded",
                r#"for=198.51.100.9;proto=https;host="API.example.com:443""#,
            ),
        ];
        assert_eq!(
            uri(&both, PROXY, false, "10.0.0.0/8").unwrap(),
            "https://api.example.com/users"
        );
        // IPv4-mapped peers match IPv4 networks.
        assert_eq!(
            uri(&xf, "[::ffff:10.0.0.7]:1", false, "10.0.0.0/8").unwrap(),
            "https://api.example.com/users"
        );
    }

    #[test]
    fn forwarded_is_walked_from_the_right_through_trusted_hops() {
        // The client forged the first element; the edge proxy (10.0.0.1) appended the second,
        // recording the client's real address; the inner proxy (10.0.0.7, our peer) the third.
        let chain = [
            ("host", "backend"),
            ("forwarded", "for=10.0.0.1;host=evil.example;proto=http"),
            (
                "forwarded",
                r#"for="198.51.100.9:5000";host=api.example.com;proto=https, for=10.0.0.1;host=backend;proto=http"#,
            ),
        ];
        assert_eq!(
            uri(&chain, PROXY, false, "10.0.0.0/8").unwrap(),
            "https://api.example.com/users"
        );
        // Only the inner proxy trusted: the element it appended is the one believed.
        assert_eq!(
            uri(&chain, PROXY, false, "10.0.0.7").unwrap(),
            "http://backend/users"
        );
        let v6 = [(
            "forwarded",
            r#"for="[2001:db8::1]:4711";proto=https;host=a.example"#,
        )];
        assert_eq!(
            uri(&v6, PROXY, false, "10.0.0.0/8").unwrap(),
            "https://a.example/users"
        );
    }

    #[test]
    fn malformed_forwarding_from_a_trusted_proxy_is_refused() {
        for bad in [
            "host=a;host=b",
            "host=\"a",
            "for",
            "proto=ftp",
            "host=\"a\\\"b\"",
            "host=a b=c",
            "=a",
        ] {
            let leaked: &'static str = Box::leak(bad.to_owned().into_boxed_str());
            let h = [("host", "backend"), ("forwarded", leaked)];
            assert_eq!(
                uri(&h, PROXY, false, "10.0.0.0/8"),
                Err(Reason::BadRequestUri),
                "{bad}"
            );
        }
        let many: &'static str = Box::leak(
            vec!["for=10.0.0.1"; MAX_FORWARDED_ELEMENTS + 1]
                .join(",")
                .into_boxed_str(),
        );
        assert_eq!(
            uri(
                &[("host", "b"), ("forwarded", many)],
                PROXY,
                false,
                "10.0.0.0/8"
            ),
            Err(Reason::BadRequestUri)
        );
        let empty_parts = [
            ("host", "b"),
            ("forwarded", "for=10.0.0.1;;proto=https ; host=x.example"),
        ];
        assert_eq!(
            uri(&empty_parts, PROXY, false, "10.0.0.0/8").unwrap(),
            "https://x.example/users"
        );
    }

    #[test]
    fn a_public_url_wins_over_everything() {
        let map = Map(vec![
            ("host", "evil.example"),
            ("x-forwarded-host", "evil.example"),
        ]);
        let view = RequestView::new("GET", "/users", &map)
            .authority(Some("evil.example"))
            .peer(Some(PROXY.parse().unwrap()));
        let public = PublicUrl::parse("HTTPS://Example.com:443/api/").unwrap();
        let proxies = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let uri = resolve(&view, Some(&public), &proxies).unwrap();
        assert_eq!(uri.to_string(), "https://example.com/api/users");
        assert_eq!(
            (uri.scheme(), uri.authority(), uri.path()),
            ("https", "example.com", "/api/users")
        );
        for bad in [
            "example.com",
            "ftp://a",
            "https://a?b",
            "https://u@a",
            "https://a b",
        ] {
            assert!(PublicUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn trusted_proxy_lists_parse_strictly() {
        let p = TrustedProxies::parse(" 10.0.0.0/8, ::1 ,, 192.168.1.0/24").unwrap();
        assert!(p.contains("10.255.0.1".parse().unwrap()));
        assert!(p.contains("::1".parse().unwrap()));
        assert!(!p.contains("11.0.0.1".parse().unwrap()));
        assert!(!p.contains("192.168.2.1".parse().unwrap()));
        assert!(
            TrustedProxies::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        assert!(
            !TrustedProxies::parse("0.0.0.0/0")
                .unwrap()
                .contains("::2".parse().unwrap())
        );
        for bad in ["10.0.0.0/33", "::/129", "example.com", "10.0.0.0/x"] {
            assert!(TrustedProxies::parse(bad).is_err(), "{bad}");
        }
        assert!(TrustedProxies::parse("").unwrap().is_empty());
    }
}
