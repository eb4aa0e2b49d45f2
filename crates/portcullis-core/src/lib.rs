//! Framework-free core of [portcullis](https://docs.rs/portcullis): strict verification of
//! JWT access tokens, key sets, the error model and RFC 6750 challenges.
//!
//! A request is decided in one place:
//! [`Authenticator::authenticate`](authenticator::Authenticator::authenticate). An adapter fills a
//! [`RequestView`] ([`request`]: method, effective URI, headers, peer, client certificate, gRPC
//! or not); the authenticator finds the credential ([`credential`]), verifies it, audits and
//! counts the decision, and returns the [`RequestState`] ([`state`]) whose [`Principal`]
//! ([`principal`]) the extractors and requirements ([`authz`]) read.
//!
//! A token is verified in one place: [`Verifier::verify`] (in [`verifier`]). It runs, in order:
//! the size cap and compact-JWS parsing ([`token`]), the header policy (algorithm allow-list,
//! `crit`, `typ`), key selection from a [`KeySource`] ([`keys`]), the signature check
//! (the `crypto` backends), then the claims policy (`iss`, `aud`, `exp`, `nbf`, `iat`).
//! Every outcome is one audit event (target `portcullis::audit`), and every rejection is an
//! [`AuthError`] whose [`Challenge`] is the RFC 6750 response.
//!
//! ```
//! # #[cfg(feature = "testing")]
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use portcullis_core::{testing::TestIssuer, Verifier};
//!
//! let issuer = TestIssuer::new()?;
//! let verifier = Verifier::builder()
//!     .issuer(issuer.issuer())
//!     .audience(issuer.audience())
//!     .key_source(issuer.static_jwks()?)
//!     .build()?;
//!
//! let token = issuer.token().subject("alice").scope("read:users").sign()?;
//! let verified = verifier.verify::<serde_json::Value>(&token).await?;
//! assert_eq!(verified.subject(), Some("alice"));
//! # Ok(())
//! # }
//! ```
//!
//! # Crypto backends
//!
//! | feature | backend |
//! |---|---|
//! | `aws-lc-rs` (default) | aws-lc-rs; keys are parsed once per key-set version. Adds ES512. |
//! | `rust-crypto` | the pure-Rust RustCrypto crates (`rsa`, `p256`, `p384`, `ed25519-dalek`). |
//!
//! Features are additive: with both enabled, aws-lc-rs verifies. With neither, the crate does not
//! compile (there is no runtime "no provider" panic).
//!
//! The `remote` feature (default) adds [`keys::RemoteJwks`], the JWKS cache with discovery, on
//! reqwest and rustls; `testing` adds the [`testing::TestIssuer`] kit.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(not(any(feature = "aws-lc-rs", feature = "rust-crypto")))]
compile_error!(
    "portcullis-core needs a crypto backend: enable the `aws-lc-rs` feature (default) or `rust-crypto`"
);

#[doc(hidden)]
pub mod adapter;
pub mod audit;
pub mod authenticator;
pub mod authz;
pub mod challenge;
#[cfg(feature = "client")]
pub mod client;
pub mod clock;
pub mod credential;
mod crypto;
pub mod dpop;
pub mod error;
#[cfg(feature = "remote")]
pub mod fetch;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub(crate) mod json;
pub mod keys;
pub mod logout;
#[cfg(any(feature = "client", feature = "fuzzing"))]
// Without `client`, only the fuzz entry points read it, and not every field.
#[cfg_attr(not(feature = "client"), allow(dead_code))]
pub(crate) mod oauth_response;
pub mod principal;
pub mod render;
pub mod request;
pub mod resource_metadata;
pub mod revocation;
#[cfg(feature = "remote")]
pub(crate) mod single_flight;
pub mod state;
#[cfg(feature = "testing")]
pub mod testing;
pub mod token;
pub mod verifier;

pub use challenge::Challenge;
pub use clock::{Clock, SystemClock};
pub use error::{AuthError, ConfigError, Reason};
pub use keys::{KeySet, KeySource, StaticJwks};
pub use principal::{AuthMethod, Principal};
pub use request::RequestView;
pub use state::{Refusal, RequestState};
pub use token::Algorithm;
pub use verifier::{
    IssuerResolver, OpaqueTokens, TokenCache, TokenCacheUsage, TrustedIssuer, Verified, Verifier,
    VerifierBuilder,
};
