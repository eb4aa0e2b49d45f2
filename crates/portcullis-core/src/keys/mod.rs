//! Keys: the JWK model and its validation (`jwk`), parsed key sets ([`KeySet`]), where key sets
//! come from ([`KeySource`]), and the static source ([`StaticJwks`]).

pub(crate) mod jwk;
mod set;
mod source;
mod static_jwks;

pub use set::{KeySet, MAX_KEYS};
pub use source::{KeySource, KeysFuture, Refresh};
pub use static_jwks::StaticJwks;
