//! [axum](https://docs.rs/axum) and tower adapter for portcullis.
//!
//! - [`AuthLayer`]: a tower `Layer` that finds the bearer token (the rules of
//!   [`portcullis_core::credential`]), verifies it once with a [`Verifier`](portcullis_core::Verifier), and puts the
//!   principal in the request extensions. Required by default; [`AuthLayer::optional`] lets
//!   requests without a credential through as anonymous (an invalid credential is still rejected).
//! - [`Claims<C>`] and `Option<Claims<C>>`: extractors for the verified token with your claims type.
//! - [`Authenticated`] and `Option<Authenticated>`: the caller as a [`Principal`] (how it
//!   authenticated, scopes, permissions, roles), whatever the kind of credential.
//! - [`require`]: a route layer that checks a [`Requirement`](portcullis_core::authz::Requirement).
//!
//! The layer reads the peer address from axum's `ConnectInfo<SocketAddr>` (serve with
//! `into_make_service_with_connect_info::<SocketAddr>()`) and a TLS client certificate chain from
//! a [`ClientCertificateChain`] request extension. Behind a proxy, set
//! [`AuthLayer::public_url`] or [`AuthLayer::trusted_proxies`] so that the URI the client
//! addressed is known (see [`portcullis_core::request::origin`]).
//!
//! Every decision is made in `portcullis-core`; this crate only translates. Rejections are
//! rendered by a core [`Renderer`] (shared with the actix adapter, so both answer alike): by
//! default status, RFC 6750 `WWW-Authenticate` and a small RFC 9457 `application/problem+json`
//! body with no internal detail.
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use portcullis_axum::{AuthLayer, Claims, require};
//! use portcullis_core::authz::scope;
//! use portcullis_core::Verifier;
//!
//! # fn app(verifier: Verifier) -> Router {
//! Router::new()
//!     .route("/admin", get(|| async { "admin" }).route_layer(require(scope("read:users"))))
//!     .route("/me", get(|claims: Claims<serde_json::Value>| async move {
//!         format!("hello {}", claims.subject().unwrap_or("?"))
//!     }))
//!     .layer(AuthLayer::new(verifier))
//! # }
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod extract;
mod layer;
mod logout;
mod metadata;
mod render;
mod require;
mod view;

pub use extract::{Authenticated, Claims, ClaimsRejection};
pub use layer::{Auth, AuthBody, AuthLayer};
pub use logout::backchannel_logout;
pub use metadata::resource_metadata;
pub use portcullis_core::render::{ProblemJson, Rejection, Renderer};
pub use portcullis_core::request::{ClientCertificateChain, PublicUrl, TrustedProxies};
pub use portcullis_core::{Principal, RequestState};
pub use render::respond;
pub use require::{Require, RequireLayer, require};
