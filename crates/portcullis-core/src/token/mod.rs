//! The compact JWS: splitting and decoding (`compact`), the header policy ([`header`]), the
//! algorithm allow-list ([`Algorithm`]) and the registered claims ([`claims`]).

pub(crate) mod alg;
pub mod claims;
pub(crate) mod compact;
pub mod header;

pub use alg::{Algorithm, AlgorithmSet};
pub use claims::NumericDate;
pub use header::{Header, TypPolicy};
