//! The request as core sees it. Each adapter fills one [`RequestView`] per request from its
//! framework's request type; everything core decides (credential, effective URI, request id,
//! gRPC or not) is read from it, so two adapters cannot read a request differently.
//!
//! - [`view`]: the borrowed view itself, and the TLS client certificate chain an adapter passes.
//! - [`origin`]: the URI the client addressed (public base URL, trusted proxies, `Host`).
//! - [`id`]: the request id every audit event of one request carries.

pub(crate) mod context;
pub mod id;
pub mod origin;
pub mod view;

pub use id::RequestId;
pub use origin::{EffectiveUri, PublicUrl, TrustedProxies};
pub use view::{ClientCertificateChain, Headers, RequestView};
