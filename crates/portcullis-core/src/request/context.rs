//! What the audit events of one request say about it, captured once when it is authenticated.

use std::net::SocketAddr;

use super::id::RequestId;
use super::origin::{PublicUrl, TrustedProxies, resolve};
use super::view::RequestView;
use crate::audit;

/// The request's identity for audit events and rendering, kept in its request state.
#[derive(Debug, Clone)]
pub(crate) struct RequestContext {
    pub(crate) id: RequestId,
    pub(crate) grpc: bool,
    pub(crate) peer: Option<SocketAddr>,
    /// Whether the credential came with the DPoP scheme: rejections then put their `error` on
    /// the DPoP challenge.
    pub(crate) dpop: bool,
    /// Method, path and effective URI: copied only when audit events are recorded, so a server
    /// that does not log them does not pay for them.
    pub(crate) detail: Option<Box<Detail>>,
}

#[derive(Debug, Clone)]
pub(crate) struct Detail {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) uri: String,
}

impl RequestContext {
    pub(crate) fn capture(
        view: &RequestView<'_>,
        public: Option<&PublicUrl>,
        proxies: &TrustedProxies,
    ) -> Self {
        let detail = audit::enabled().then(|| {
            Box::new(Detail {
                method: audit::sanitize(view.method()),
                path: audit::sanitize(view.path()),
                uri: resolve(view, public, proxies)
                    .map_or_else(|_| String::new(), |u| audit::sanitize(&u.to_string())),
            })
        });
        Self {
            id: RequestId::from_headers(view.headers()),
            grpc: view.is_grpc(),
            peer: view.peer_addr(),
            dpop: false,
            detail,
        }
    }
}
