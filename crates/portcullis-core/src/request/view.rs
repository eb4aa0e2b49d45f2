//! [`RequestView`]: the parts of a request core reads, borrowed from the adapter's request.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

/// Header access for core, implemented by each adapter over its framework's header map (they use
/// different `http` crate versions, so core cannot name either type).
pub trait Headers: Sync {
    /// The `index`-th value (from 0, in order of arrival) of the header `name`, given in
    /// lowercase ASCII; `None` past the last one.
    fn value(&self, name: &str, index: usize) -> Option<&[u8]>;
}

/// Every value of header `name`, in order.
pub(crate) fn values<'a>(
    headers: &'a dyn Headers,
    name: &'a str,
) -> impl Iterator<Item = &'a [u8]> {
    (0..).map_while(move |i| headers.value(name, i))
}

/// The only value of header `name`: `None` when it is absent or repeated.
pub(crate) fn single<'a>(headers: &'a dyn Headers, name: &str) -> Option<&'a [u8]> {
    match (headers.value(name, 0), headers.value(name, 1)) {
        (Some(one), None) => Some(one),
        _ => None,
    }
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
/// use portcullis_core::request::{Headers, RequestView};
///
/// struct NoHeaders;
/// impl Headers for NoHeaders {
///     fn value(&self, _: &str, _: usize) -> Option<&[u8]> { None }
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

    /// The authority the request named: the request target's (HTTP/2 `:authority`, absolute
    /// form), else the `Host` header.
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

    /// The authority the request named (see [`authority`](Self::authority)).
    pub fn request_authority(&self) -> Option<&'a str> {
        self.authority
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
        self.headers
            .value("content-type", 0)
            .is_some_and(crate::render::is_grpc)
    }
}
