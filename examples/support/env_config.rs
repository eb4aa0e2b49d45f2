//! Configuration of the resource-server examples, from environment variables only. A missing or
//! invalid variable is one clear line on stderr and a non-zero exit.

use std::process::exit;
use std::time::Duration;

use portcullis::keys::RemoteJwks;
use portcullis::{Algorithm, Verifier};

/// The verifier and port the environment describes.
pub(crate) struct Config {
    pub(crate) verifier: Verifier,
    pub(crate) keys: RemoteJwks,
    pub(crate) port: u16,
}

fn fail(variable: &str, why: &str) -> ! {
    eprintln!("error: {variable}: {why}");
    exit(2)
}

fn required(variable: &str) -> String {
    match std::env::var(variable) {
        Ok(v) if !v.trim().is_empty() => v,
        _ => fail(variable, "required (see the example's header comment)"),
    }
}

/// Reads `PORTCULLIS_ISSUER`, `PORTCULLIS_AUDIENCE`, `PORTCULLIS_JWKS_URL`,
/// `PORTCULLIS_ALGORITHMS`, `PORTCULLIS_REQUIRE_AT_JWT` and `PORT`. Call inside the runtime.
pub(crate) async fn from_env() -> Config {
    let issuer = required("PORTCULLIS_ISSUER");
    let audience = required("PORTCULLIS_AUDIENCE");
    let keys = match std::env::var("PORTCULLIS_JWKS_URL") {
        Ok(url) if !url.trim().is_empty() => RemoteJwks::builder(url.trim()).build(),
        _ => RemoteJwks::discover(issuer.clone()).build(),
    }
    .unwrap_or_else(|e| fail("PORTCULLIS_JWKS_URL", &e.to_string()));
    let mut builder = Verifier::builder()
        .issuer(issuer)
        .audience(audience)
        .key_source(keys.clone());
    if let Ok(list) = std::env::var("PORTCULLIS_ALGORITHMS") {
        let algorithms: Vec<Algorithm> = list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|name| {
                Algorithm::from_name(name).unwrap_or_else(|| {
                    fail(
                        "PORTCULLIS_ALGORITHMS",
                        &format!("unknown algorithm {name:?}"),
                    )
                })
            })
            .collect();
        builder = builder.algorithms(algorithms);
    }
    match std::env::var("PORTCULLIS_REQUIRE_AT_JWT").as_deref() {
        Ok("true") => builder = builder.require_at_jwt(),
        Ok("false") | Ok("") | Err(_) => {}
        Ok(_) => fail("PORTCULLIS_REQUIRE_AT_JWT", "must be true or false"),
    }
    let port = match std::env::var("PORT") {
        Ok(p) => p
            .trim()
            .parse()
            .unwrap_or_else(|_| fail("PORT", "must be a port number")),
        Err(_) => 3000,
    };
    let verifier = builder
        .build()
        .unwrap_or_else(|e| fail("PORTCULLIS_*", &e.to_string()));
    // Fail at start-up, not on the first request, if the issuer's keys cannot be fetched.
    if let Err(e) = tokio::time::timeout(Duration::from_secs(15), keys.warm_up())
        .await
        .unwrap_or_else(|_| fail("PORTCULLIS_JWKS_URL", "timed out fetching keys"))
    {
        fail(
            if std::env::var("PORTCULLIS_JWKS_URL").is_ok() {
                "PORTCULLIS_JWKS_URL"
            } else {
                "PORTCULLIS_ISSUER"
            },
            &format!("cannot fetch keys: {e}"),
        );
    }
    Config {
        verifier,
        keys,
        port,
    }
}
