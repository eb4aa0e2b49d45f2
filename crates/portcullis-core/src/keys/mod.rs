//! Keys: the JWK model and its validation (`jwk`), parsed key sets ([`KeySet`]), where key sets
//! come from ([`KeySource`]), the static source ([`StaticJwks`]) and, with the `remote` feature,
//! the JWKS cache with discovery ([`RemoteJwks`]).

#[cfg(feature = "remote")]
pub(crate) mod discovery;
pub(crate) mod jwk;
#[cfg(any(feature = "remote", feature = "fuzzing"))]
pub(crate) mod metadata;
#[cfg(feature = "remote")]
pub mod remote;
mod set;
mod source;
mod static_jwks;

#[cfg(feature = "remote")]
pub use remote::{RemoteJwks, RemoteJwksBuilder};
pub use set::{KeySet, MAX_KEYS};
pub use source::{KeySource, KeySourceHealth, KeysFuture, Refresh};
pub use static_jwks::StaticJwks;
