//! [actix-web](https://docs.rs/actix-web) adapter for portcullis.
//!
//! - [`Authenticate`]: middleware that finds the bearer token (the rules of
//!   [`portcullis_core::credential`]), verifies it once with a
//!   [`Verifier`](portcullis_core::Verifier), and puts the principal in the request extensions.
//!   Required by default; [`Authenticate::optional`] lets requests without a credential through
//!   as anonymous (an invalid credential is still rejected).
//! - [`Claims<C>`]: the verified token with your claims type, as an extractor.
//! - [`Authenticated`]: the caller as a [`Principal`] (how it authenticated, scopes,
//!   permissions, roles), whatever the kind of credential.
//! - [`require`]: middleware for a resource or scope that checks a
//!   [`Requirement`](portcullis_core::authz::Requirement).
//!
//! Every decision is made in `portcullis-core` and rejections are rendered by its
//! [`Renderer`], so this adapter and the axum one answer the
//! same request with the same status, `WWW-Authenticate` and body.
//!
//! The middleware takes the scheme from the server's binding (`HttpServer::bind_rustls..` marks
//! it secure), the peer from the connection, and a TLS client certificate chain from a
//! [`ClientCertificateChain`] stored by `HttpServer::on_connect`. Behind a proxy, set
//! [`Authenticate::public_url`] or [`Authenticate::trusted_proxies`] (see
//! [`portcullis_core::request::origin`]).
//!
//! `Option<Claims<C>>` uses actix-web's own `Option` extractor, which turns *any* extraction
//! failure into `None`: use it only on routes behind an [`Authenticate::optional`] middleware.
//!
//! ```no_run
//! use actix_web::{App, HttpResponse, web};
//! use portcullis_actix::{Authenticate, Claims, require};
//! use portcullis_core::authz::scope;
//! # fn app(verifier: portcullis_core::Verifier) {
//! let app = App::new()
//!     .wrap(Authenticate::new(verifier))
//!     .route("/me", web::get().to(|claims: Claims<serde_json::Value>| async move {
//!         HttpResponse::Ok().body(format!("hello {}", claims.subject().unwrap_or("?")))
//!     }))
//!     .service(
//!         web::resource("/admin")
//!             .wrap(require(scope("read:users")))
//!             .route(web::get().to(|| async { "admin" })),
//!     );
//! # }
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod extract;
mod logout;
mod metadata;
mod middleware;
mod require;
mod view;

pub use extract::{Authenticated, Claims, ClaimsRejection};
pub use logout::backchannel_logout;
pub use metadata::resource_metadata;
pub use middleware::{Authenticate, AuthenticateMiddleware};
pub use portcullis_core::render::{ProblemJson, Rejection, Renderer};
pub use portcullis_core::request::{ClientCertificateChain, PublicUrl, TrustedProxies};
pub use portcullis_core::{Principal, RequestState};
pub use require::{Require, RequireMiddleware, require};
