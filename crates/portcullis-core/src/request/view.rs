//! [`RequestView`]: the parts of a request core reads, borrowed from the adapter's request.

use std::fmt;
use std::net::SocketAddr;
use std::ops::ControlFlow;
use std::sync::Arc;

/// Header access for core, implemented by each adapter over its framework's header map (they use
/// different `http` crate versions, so core cannot name either type).
pub trait Headers: Sync {
    /// Hands `each` the values of header `name` (given in lowercase ASCII) in order of arrival,
    /// until it answers [`ControlFlow::Break`] or the values run out. One call looks the name up
    /// once, however many values core reads: every request pays for these lookups.
    fn each_value<'s>(&'s self, name: &str, each: &mut dyn FnMut(&'s [u8]) -> ControlFlow<()>);
}

/// Every value of header `name`, in order.
pub(crate) fn values<'a>(headers: &'a dyn Headers, name: &str) -> Vec<&'a [u8]> {
    let mut all = Vec::new();
    headers.each_value(name, &mut |v| {
        all.push(v);
        ControlFlow::Continue(())
    });
    all
}

/// The first values of header `name`, at most `N` of them, without an allocation.
pub(crate) struct Leading<'a, const N: usize> {
    values: [&'a [u8]; N],
    len: usize,
}

impl<'a, const N: usize> Leading<'a, N> {
    pub(crate) fn read(headers: &'a dyn Headers, name: &str) -> Self {
        let mut leading = Self {
            values: [&[]; N],
            len: 0,
        };
        headers.each_value(name, &mut |v| match leading.values.get_mut(leading.len) {
            Some(slot) => {
                *slot = v;
                leading.len += 1;
                if leading.len == N {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            }
            None => ControlFlow::Break(()),
        });
        leading
    }

    /// The values read, in order.
    pub(crate) fn as_slice(&self) -> &[&'a [u8]] {
        self.values.get(..self.len).unwrap_or_default()
    }
}

/// The only value of header `name`: `None` when it is absent or repeated.
pub(crate) fn single<'a>(headers: &'a dyn Headers, name: &str) -> Option<&'a [u8]> {
    match Leading::<2>::read(headers, name).as_slice() {
        [one] => Some(one),
        _ => None,
    }
}

/// The first value of header `name`.
pub(crate) fn first<'a>(headers: &'a dyn Headers, name: &str) -> Option<&'a [u8]> {
    Leading::<1>::read(headers, name)
        .as_slice()
        .first()
        .copied()
}

/// The TLS client certificate chain of a connection, leaf first, each certificate in DER.
///
/// The adapters cannot see TLS: whoever terminates it (a rustls acceptor in front of axum, actix's
/// `on_connect`) puts one of these in the request (axum: request extensions; actix: connection
/// data), and the adapter hands it to core. A connection without one has no client certificate.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientCertificateChain(Arc<[Box<[u8]>]>);

impl ClientCertificateChain {
    /// The chain as the TLS handshake presented it, leaf first.
    pub fn new<I: IntoIterator<Item = Vec<u8>>>(chain: I) -> Self {
        Self(chain.into_iter().map(Vec::into_boxed_slice).collect())
    }

    /// The client's own certificate, if the chain is not empty.
    pub fn leaf(&self) -> Option<&[u8]> {
        self.0.first().map(|c| &c[..])
    }

    /// Every certificate, leaf first.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        self.0.iter().map(|c| &c[..])
    }
}

impl fmt::Debug for ClientCertificateChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCertificateChain")
            .field("certificates", &self.0.len())
            .finish()
    }
}

/// One request as core reads it, filled once by the adapter and borrowed from its request.
///
/// ```
/// use std::ops::ControlFlow;
/// use portcullis_core::request::{Headers, RequestView};
///
/// struct NoHeaders;
/// impl Headers for NoHeaders {
///     fn each_value<'s>(&'s self, _: &str, _: &mut dyn FnMut(&'s [u8]) -> ControlFlow<()>) {}
/// }
///
/// let view = RequestView::new("GET", "/users", &NoHeaders)
///     .query(Some("page=2"))
///     .authority(Some("api.example.com"))
///     .secure(true);
/// assert_eq!(view.path(), "/users");
/// ```
#[derive(Clone, Copy)]
pub struct RequestView<'a> {
    method: &'a str,
    path: &'a str,
    query: Option<&'a str>,
    headers: &'a dyn Headers,
    secure: bool,
    authority: Option<&'a str>,
    peer: Option<SocketAddr>,
    certificates: Option<&'a ClientCertificateChain>,
}

impl fmt::Debug for RequestView<'_> {
    // Headers are left out: they carry the credential.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestView")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("secure", &self.secure)
            .field("authority", &self.authority)
            .field("peer", &self.peer)
            .field("certificates", &self.certificates)
            .finish_non_exhaustive()
    }
}

impl<'a> RequestView<'a> {
    /// A request with this method, path (without the query) and headers; plain HTTP, no peer,
    /// no authority, no client certificate until set.
    pub fn new(method: &'a str, path: &'a str, headers: &'a dyn Headers) -> Self {
        Self {
            method,
            path,
            query: None,
            headers,
            secure: false,
            authority: None,
            peer: None,
            certificates: None,
        }
    }

    /// The raw query string, without `?`.
    pub fn query(mut self, query: Option<&'a str>) -> Self {
        self.query = query.filter(|q| !q.is_empty());
        self
    }

    /// Whether the connection to this server is TLS (the scheme of a directly exposed server).
    pub fn secure(mut self, secure: bool) -> Self {
        self.secure = secure;
        self
    }

    /// The authority of the request target (HTTP/2 `:authority`, an absolute-form target), when
    /// it has one; without it core reads the `Host` header itself, only when it needs it.
    pub fn authority(mut self, authority: Option<&'a str>) -> Self {
        self.authority = authority;
        self
    }

    /// The address of the connection's other end (a proxy, when there is one).
    pub fn peer(mut self, peer: Option<SocketAddr>) -> Self {
        self.peer = peer;
        self
    }

    /// The connection's TLS client certificate chain, if it has one.
    pub fn client_certificates(mut self, chain: Option<&'a ClientCertificateChain>) -> Self {
        self.certificates = chain;
        self
    }

    /// The method, as sent.
    pub fn method(&self) -> &'a str {
        self.method
    }

    /// The path, without the query.
    pub fn path(&self) -> &'a str {
        self.path
    }

    /// The query string, if not empty.
    pub fn query_string(&self) -> Option<&'a str> {
        self.query
    }

    /// The headers.
    pub fn headers(&self) -> &'a dyn Headers {
        self.headers
    }

    /// Whether the connection is TLS.
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// The authority the request named: the request target's, else the `Host` header when it is
    /// sent exactly once (two `Host` headers are ambiguous, RFC 9112 §3.2: none is believed).
    pub fn request_authority(&self) -> Option<&'a str> {
        self.authority
            .or_else(|| single(self.headers, "host").and_then(|h| std::str::from_utf8(h).ok()))
    }

    /// The peer address.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// The TLS client certificate chain.
    pub fn certificates(&self) -> Option<&'a ClientCertificateChain> {
        self.certificates
    }

    /// Whether this is a gRPC request (`content-type: application/grpc...`): its rejections take
    /// the gRPC form.
    pub fn is_grpc(&self) -> bool {
        first(self.headers, "content-type").is_some_and(crate::render::is_grpc)
    }
}
