//! The connection to Redis every store of this crate shares: where it is, how long a command
//! may take, and what names its keys.

use std::fmt;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// What every key this crate writes starts with (`portcullis:`), so portcullis' keys never
/// collide with the application's in a shared Redis.
pub const DEFAULT_KEY_PREFIX: &str = "portcullis:";

/// The longest key prefix accepted (64 bytes): a prefix names a service, and every key repeats
/// it.
pub const MAX_KEY_PREFIX_LEN: usize = 64;

/// How long one command may take before the request it serves is answered 503 (250 ms): a
/// Redis on the same network answers in well under a millisecond, so this is a stuck or
/// unreachable Redis, and a DPoP request should not wait longer than a retry would.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_millis(250);

/// How long connecting may take, at start and on each reconnect (2 s).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// The longest wait between reconnect attempts (1 s): Redis coming back is noticed within a
/// second, and a down Redis sees at most one connection attempt per second per replica.
pub const RECONNECT_MAX_DELAY: Duration = Duration::from_secs(1);

/// Why a store could not be built or a command failed. Never shows the URL's password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisError {
    /// The configuration is wrong (a URL that does not parse, an overlong prefix).
    #[error("redis configuration: {0}")]
    Config(&'static str),
    /// Redis did not accept the connection, or refused the credentials.
    #[error("redis unavailable: {0}")]
    Unavailable(String),
}

/// Builds a [`RedisStore`]: `builder(url)`, options, then [`connect`](Self::connect).
///
/// | option | default |
/// |---|---|
/// | [`key_prefix`](Self::key_prefix) | [`DEFAULT_KEY_PREFIX`] |
/// | [`command_timeout`](Self::command_timeout) | [`DEFAULT_COMMAND_TIMEOUT`] |
/// | [`connect_timeout`](Self::connect_timeout) | [`DEFAULT_CONNECT_TIMEOUT`] |
/// | [`tls_root_certificates`](Self::tls_root_certificates) | the system's roots (`rediss://` only) |
pub struct RedisStoreBuilder {
    url: String,
    prefix: String,
    command_timeout: Duration,
    connect_timeout: Duration,
    root_certificates: Option<Vec<u8>>,
}

impl fmt::Debug for RedisStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStoreBuilder")
            .field("prefix", &self.prefix)
            .field("command_timeout", &self.command_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("private_ca", &self.root_certificates.is_some())
            .finish_non_exhaustive()
    }
}

impl RedisStoreBuilder {
    /// For `rediss://`: trust only the CA certificates in `pem` (a private CA, as managed Redis
    /// services and service meshes use), instead of the system's roots.
    pub fn tls_root_certificates(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_certificates = Some(pem.into());
        self
    }

    /// Every key starts with `prefix` (at most [`MAX_KEY_PREFIX_LEN`] bytes): give each service
    /// its own when several share a Redis, and the same one to every replica of a service.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long one command may take (at least 1 ms); past it the request is 503.
    pub fn command_timeout(mut self, timeout: Duration) -> Self {
        self.command_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// How long connecting may take (at least 1 ms).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// Connects and checks that Redis answers (`PING`): a Redis unreachable at start is an
    /// error here, not a 503 on the first request.
    pub async fn connect(self) -> Result<RedisStore, RedisError> {
        if self.prefix.len() > MAX_KEY_PREFIX_LEN {
            return Err(RedisError::Config("the key prefix is longer than 64 bytes"));
        }
        let client = self.client()?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.connect_timeout))
            .set_response_timeout(Some(self.command_timeout))
            .set_max_delay(RECONNECT_MAX_DELAY);
        let connect = client.get_connection_manager_with_config(config);
        let mut connection = tokio::time::timeout(self.connect_timeout, connect)
            .await
            .map_err(|_| RedisError::Unavailable("connecting timed out".into()))?
            .map_err(unavailable)?;
        redis::cmd("PING")
            .query_async::<()>(&mut connection)
            .await
            .map_err(unavailable)?;
        Ok(RedisStore {
            client,
            connection,
            prefix: self.prefix,
            timeout: self.command_timeout,
            connect_timeout: self.connect_timeout,
        })
    }
}

impl RedisStoreBuilder {
    /// The client for the URL: plain, or TLS with certificate and host name verification
    /// always (the redis crate's `#insecure` is refused).
    fn client(&self) -> Result<redis::Client, RedisError> {
        let tls = self.url.starts_with("rediss://");
        if !tls && !self.url.starts_with("redis://") {
            return Err(RedisError::Config("not a redis:// or rediss:// URL"));
        }
        if self.url.contains('#') {
            return Err(RedisError::Config(
                "a URL fragment (such as #insecure, TLS without verification) is refused",
            ));
        }
        if tls {
            tls_provider()?;
        }
        let client = match (&self.root_certificates, tls) {
            (Some(pem), true) => redis::Client::build_with_tls(
                self.url.as_str(),
                redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(pem.clone()),
                },
            ),
            (Some(_), false) => {
                return Err(RedisError::Config(
                    "TLS root certificates given for a plain redis:// URL",
                ));
            }
            (None, _) => redis::Client::open(self.url.as_str()),
        };
        client.map_err(|_| RedisError::Config("not a usable redis URL"))
    }
}

/// Makes sure rustls has a crypto provider before a TLS connection needs one: rustls would
/// panic without it. aws-lc-rs with the `aws-lc-rs` feature; otherwise the application's.
fn tls_provider() -> Result<(), RedisError> {
    if rustls::crypto::CryptoProvider::get_default().is_some() {
        return Ok(());
    }
    #[cfg(feature = "aws-lc-rs")]
    {
        // Losing a race to another installer is fine: a provider is installed either way.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        Ok(())
    }
    #[cfg(not(feature = "aws-lc-rs"))]
    Err(RedisError::Config(
        "rediss:// needs a rustls crypto provider: enable the aws-lc-rs feature or call CryptoProvider::install_default",
    ))
}

/// A Redis error as text without the URL (which may carry a password).
pub(crate) fn unavailable(error: redis::RedisError) -> RedisError {
    let what = match error.kind() {
        redis::ErrorKind::AuthenticationFailed => "authentication failed".to_owned(),
        _ if error.is_timeout() => "timed out".to_owned(),
        _ if error.is_connection_refusal() => "connection refused".to_owned(),
        _ if error.is_io_error() => "connection failed".to_owned(),
        _ => format!("{:?}", error.kind()),
    };
    RedisError::Unavailable(what)
}

/// A connection to one Redis (reconnecting on its own) and the key prefix of one service.
/// Cheap to clone: clones share the connection. It is the DPoP
/// [`ReplayStore`](portcullis_core::dpop::ReplayStore) and the
/// [`RevocationStore`](portcullis_core::revocation::RevocationStore).
#[derive(Clone)]
pub struct RedisStore {
    /// For the subscription, which needs a connection of its own.
    pub(crate) client: redis::Client,
    pub(crate) connection: ConnectionManager,
    pub(crate) prefix: String,
    pub(crate) timeout: Duration,
    pub(crate) connect_timeout: Duration,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// A store on the Redis at `url`: `redis://[:password@]host[:port][/db]`, or `rediss://` for
    /// TLS (certificates and host names always verified, against the system's roots or
    /// [`tls_root_certificates`](RedisStoreBuilder::tls_root_certificates)).
    pub fn builder(url: impl Into<String>) -> RedisStoreBuilder {
        RedisStoreBuilder {
            url: url.into(),
            prefix: DEFAULT_KEY_PREFIX.to_owned(),
            command_timeout: DEFAULT_COMMAND_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            root_certificates: None,
        }
    }
}
