//! Fleet-wide security state for [portcullis](https://docs.rs/portcullis) on Redis, so that N
//! replicas of a service decide alike.
//!
//! [`RedisStore`] is also portcullis-core's
//! [`RevocationStore`]: the fleet's revocations in
//! one sorted set, announced to every replica's mirror by pub/sub (see `docs/fleet.md`).
//!
//! [`RedisStore`] is portcullis-core's DPoP [`ReplayStore`]: each accepted proof is one
//! `SET key 1 NX PX <ttl>` round trip, atomic on the server, so a proof accepted at one replica
//! is a replay at every other. A Redis that does not answer within the command timeout makes the
//! request 503 (`replay_store_unavailable`), never an accept; the connection is re-established
//! in the background, and requests succeed again as soon as Redis does.
//!
//! ```no_run
//! # async fn run(verifier: portcullis_core::Verifier) -> Result<(), portcullis_redis::RedisError> {
//! use portcullis_core::authenticator::Authenticator;
//! use portcullis_core::dpop::DpopPolicy;
//! use portcullis_redis::RedisStore;
//!
//! // AUTH goes in the URL (redis://:password@host:6379/0); rediss:// for TLS, always verified.
//! let store = RedisStore::builder("redis://10.0.0.5:6379/0")
//!     .key_prefix("orders-api:")
//!     .connect()
//!     .await?;
//! let authenticator = Authenticator::new(verifier).dpop(DpopPolicy::default().replay_store(store));
//! # let _ = authenticator;
//! # Ok(()) }
//! ```

mod replay;
mod revocation;
mod store;

pub use store::{
    DEFAULT_COMMAND_TIMEOUT, DEFAULT_CONNECT_TIMEOUT, DEFAULT_KEY_PREFIX, MAX_KEY_PREFIX_LEN,
    RECONNECT_MAX_DELAY, RedisError, RedisStore, RedisStoreBuilder,
};

#[doc(no_inline)]
pub use portcullis_core::dpop::ReplayStore;
#[doc(no_inline)]
pub use portcullis_core::revocation::RevocationStore;
