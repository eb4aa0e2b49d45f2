//! # portcullis
//!
//! Zero-trust request authentication and authorization for Rust services. This facade re-exports
//! [`portcullis_core`]; the web-framework adapters join it behind the `axum` and `actix` features.
//!
//! | feature | what it adds |
//! |---|---|
//! | `aws-lc-rs` (default) | signature verification with aws-lc-rs |
//! | `rust-crypto` | signature verification with the pure-Rust RustCrypto crates |
//! | `remote` (default) | [`keys::RemoteJwks`]: a JWKS cache over HTTPS with OIDC / RFC 8414 discovery |
//! | `axum` | [`axum`]: `AuthLayer`, `Claims<C>` and `Authenticated` extractors and `require(..)` route layers |
//! | `actix` | [`actix`]: `Authenticate` middleware, `Claims<C>` and `Authenticated` extractors and `require(..)` |
//! | `client` | [`client`]: OAuth 2.0 client flows (client credentials with a token cache, login, device, token exchange, introspection, revocation) and outbound middleware |
//! | `testing` | [`testing::TestIssuer`]: keys, token minting, a loopback JWKS server |
//!
//! See [`portcullis_core`] for the request path and [`Verifier`] for every option.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub use portcullis_core::*;

/// The actix-web adapter ([`portcullis_actix`]).
#[cfg(feature = "actix")]
pub mod actix {
    pub use portcullis_actix::*;
}

/// Fleet-wide state on Redis ([`portcullis_redis`]).
#[cfg(feature = "redis")]
pub mod redis {
    pub use portcullis_redis::*;
}

/// The axum / tower adapter ([`portcullis_axum`]).
#[cfg(feature = "axum")]
pub mod axum {
    pub use portcullis_axum::*;
}

/// The README's code blocks, compiled as doc tests so they cannot rot.
#[cfg(all(doctest, feature = "axum", feature = "actix"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// `docs/dpop.md`'s code blocks, compiled as doc tests.
#[cfg(all(doctest, feature = "axum", feature = "client"))]
#[doc = include_str!("../docs/dpop.md")]
pub struct DpopDoctests;

/// `docs/client.md`'s code blocks, compiled as doc tests.
#[cfg(all(doctest, feature = "client"))]
#[doc = include_str!("../docs/client.md")]
pub struct ClientDoctests;

/// `docs/metadata.md`'s code blocks, compiled as doc tests.
#[cfg(all(doctest, feature = "axum", feature = "client"))]
#[doc = include_str!("../docs/metadata.md")]
pub struct MetadataDoctests;

/// `docs/fleet.md`'s code blocks, compiled as doc tests.
#[cfg(all(doctest, feature = "redis"))]
#[doc = include_str!("../docs/fleet.md")]
pub struct FleetDoctests;
