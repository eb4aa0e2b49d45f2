//! `rediss://` against a real `redis-server` that speaks only TLS, with a certificate for
//! 127.0.0.1 from a CA made here: trusted through `tls_root_certificates`, the store works;
//! without it (the system's roots) the connection is refused; plain `redis://` to the TLS port
//! fails; `#insecure` (no verification) is refused before any connection.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code

#[path = "common/redis.rs"]
mod common;

use std::time::Duration;

use common::{Redis, TlsFiles};
use portcullis_core::dpop::{Insert, ReplayKey, ReplayStore};
use portcullis_redis::{RedisError, RedisStore};

/// A CA, and a server certificate for 127.0.0.1 signed by it, written to a fresh directory.
fn tls_files(name: &str) -> TlsFiles {
    let dir = std::env::temp_dir().join(format!(
        "portcullis-redis-tls-{name}-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "portcullis test CA");
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, rcgen::KeyPair::generate().unwrap())
        .unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let server = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.join("server.pem"), server.pem()).unwrap();
    std::fs::write(dir.join("server.key"), key.serialize_pem()).unwrap();
    TlsFiles {
        dir,
        ca_pem: ca.pem(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rediss_verifies_the_server_against_the_given_roots() {
    let tls = tls_files("verify");
    let Some(redis) = Redis::start_tls(&tls) else {
        return;
    };
    let url = format!("rediss://127.0.0.1:{}/0", redis.port);
    let store = RedisStore::builder(url.clone())
        .tls_root_certificates(tls.ca_pem.clone())
        .connect()
        .await
        .expect("TLS with the private CA");
    let key = ReplayKey::new("jkt", "jti-tls");
    let ttl = Duration::from_secs(60);
    assert_eq!(
        store.insert_if_absent(&key, ttl).await.ok(),
        Some(Insert::Fresh)
    );
    assert_eq!(
        store.insert_if_absent(&key, ttl).await.ok(),
        Some(Insert::Replayed)
    );

    let untrusted = RedisStore::builder(url.clone())
        .connect_timeout(Duration::from_secs(2))
        .connect()
        .await;
    assert!(
        matches!(untrusted, Err(RedisError::Unavailable(_))),
        "a certificate from an unknown CA: {untrusted:?}"
    );
    let plain = RedisStore::builder(format!("redis://127.0.0.1:{}/0", redis.port))
        .connect_timeout(Duration::from_secs(2))
        .command_timeout(Duration::from_secs(1))
        .connect()
        .await;
    assert!(plain.is_err(), "plain text to a TLS port");
    for refused in [
        RedisStore::builder(format!("{url}#insecure")),
        RedisStore::builder(format!("redis://127.0.0.1:{}/0", redis.port))
            .tls_root_certificates(tls.ca_pem.clone()),
        RedisStore::builder(format!("http://127.0.0.1:{}/0", redis.port)),
    ] {
        assert!(matches!(
            refused.connect().await,
            Err(RedisError::Config(_))
        ));
    }
    let _ = std::fs::remove_dir_all(&tls.dir);
}
