//! What every benchmark server shares: where to listen, where the key set is, and the issuer and
//! audience every `/protected` route checks.

use std::path::PathBuf;

/// `iss` of the minted tokens.
pub const ISSUER: &str = "https://issuer.bench/";
/// `aud` of the minted tokens.
pub const AUDIENCE: &str = "https://api.bench";

/// `BENCH_ADDR`, default `127.0.0.1:8080`.
pub fn addr() -> String {
    std::env::var("BENCH_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".into())
}

/// `BENCH_DATA`, default `bench/data` (written by the `mint` binary).
pub fn data_dir() -> PathBuf {
    std::env::var_os("BENCH_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/data")))
}

/// The public key set as JSON text.
pub fn jwks() -> String {
    let path = data_dir().join("jwks.json");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run the mint binary first)", path.display()))
}

/// One raw aws-lc-rs check of a compact JWS's signature under `key` (the floor servers' whole
/// work): no header, claims or time is looked at.
pub fn raw_check(key: &aws_lc_rs::signature::ParsedPublicKey, jws: &str) -> bool {
    use base64::Engine as _;
    jws.rsplit_once('.')
        .and_then(|(input, sig)| {
            let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(sig)
                .ok()?;
            Some(key.verify_sig(input.as_bytes(), &sig).is_ok())
        })
        .unwrap_or(false)
}
