//! Every public constant of `portcullis-core` and `portcullis-redis` (a default, a bound, a name) appears in
//! `docs/configuration.md` with its current value, so the two cannot drift apart: change a
//! constant and this fails until the docs say the new value; add one and this fails until it is
//! documented and listed here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::time::Duration;

use portcullis::client;
use portcullis::fetch;
use portcullis::keys::remote;
use portcullis::logout;
use portcullis::resource_metadata;
use portcullis::revocation;
use portcullis_redis as redis;

/// A constant's value, in every spelling the docs use for it.
enum Value {
    Time(Duration),
    Count(u64),
    Text(&'static str),
    /// A list of names, spelled as the docs list them (`A, B, C`).
    Names(Vec<&'static str>),
}

impl Value {
    fn spellings(&self) -> Vec<String> {
        match *self {
            Value::Time(d) => {
                let s = d.as_secs();
                if d.subsec_nanos() != 0 {
                    return vec![format!("{} ms", d.as_millis())];
                }
                let mut out = vec![format!("{s} s")];
                if s.is_multiple_of(60) {
                    out.push(format!("{} min", s / 60));
                }
                if s.is_multiple_of(3600) {
                    out.push(format!("{} h", s / 3600));
                }
                out
            }
            Value::Count(n) => {
                let mut out = vec![n.to_string(), grouped(n)];
                for (unit, size) in [("KiB", 1024), ("MiB", 1024 * 1024)] {
                    if n.is_multiple_of(size) {
                        out.push(format!("{} {unit}", n / size));
                    }
                }
                out
            }
            Value::Text(t) => vec![format!("`{t}`"), format!("\"{t}\"")],
            Value::Names(ref names) => vec![names.join(", ")],
        }
    }
}

/// `10000` as `10 000`, the docs' thousands separator.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

fn count(n: usize) -> Value {
    Value::Count(u64::try_from(n).expect("fits"))
}

fn constants() -> Vec<(&'static str, Value)> {
    use Value::{Count, Names, Text, Time};
    vec![
        ("DEFAULT_LEEWAY", Time(portcullis::verifier::DEFAULT_LEEWAY)),
        ("MAX_LEEWAY", Time(portcullis::verifier::MAX_LEEWAY)),
        (
            "DEFAULT_MAX_TOKEN_LEN",
            count(portcullis::verifier::DEFAULT_MAX_TOKEN_LEN),
        ),
        (
            "DEFAULT_TOKEN_CACHE_ENTRIES",
            Count(portcullis::verifier::DEFAULT_TOKEN_CACHE_ENTRIES),
        ),
        (
            "DEFAULT_TOKEN_CACHE_BYTES",
            Count(portcullis::verifier::DEFAULT_TOKEN_CACHE_BYTES),
        ),
        (
            "DEFAULT_TOKEN_CACHE_TTL",
            Time(portcullis::verifier::DEFAULT_TOKEN_CACHE_TTL),
        ),
        (
            "RESOLVED_ISSUERS",
            Count(portcullis::verifier::RESOLVED_ISSUERS),
        ),
        ("DEFAULT_TTL", Time(remote::DEFAULT_TTL)),
        ("MIN_TTL", Time(remote::MIN_TTL)),
        ("MAX_TTL", Time(remote::MAX_TTL)),
        ("REFRESH_AHEAD", Time(remote::REFRESH_AHEAD)),
        ("KID_COOLDOWN", Time(remote::KID_COOLDOWN)),
        ("MAX_STALE", Time(remote::MAX_STALE)),
        ("MISSING_KID_MEMORY", Time(remote::MISSING_KID_MEMORY)),
        ("MAX_KEYS", count(portcullis::keys::MAX_KEYS)),
        ("CONNECT_TIMEOUT", Time(fetch::CONNECT_TIMEOUT)),
        ("FETCH_TIMEOUT", Time(fetch::FETCH_TIMEOUT)),
        ("MAX_BODY", count(fetch::MAX_BODY)),
        (
            "MAX_NUMERIC_DATE",
            Count(portcullis::token::claims::MAX_NUMERIC_DATE),
        ),
        (
            "DEFAULT_ROLES_CLAIM",
            Text(portcullis::authz::DEFAULT_ROLES_CLAIM),
        ),
        (
            "DEFAULT_PERMISSIONS_CLAIM",
            Text(portcullis::authz::DEFAULT_PERMISSIONS_CLAIM),
        ),
        ("TARGET", Text(portcullis::audit::TARGET)),
        ("MAX_FIELD", count(portcullis::audit::MAX_FIELD)),
        ("REQUESTS_TOTAL", Text(portcullis::state::REQUESTS_TOTAL)),
        (
            "REQUEST_ID_HEADER",
            Text(portcullis::request::id::REQUEST_ID_HEADER),
        ),
        (
            "MAX_REQUEST_ID_LEN",
            count(portcullis::request::id::MAX_REQUEST_ID_LEN),
        ),
        (
            "DEFAULT_DPOP_ALGORITHMS",
            Names(
                portcullis::dpop::DEFAULT_DPOP_ALGORITHMS
                    .iter()
                    .map(|a| a.name())
                    .collect(),
            ),
        ),
        ("MAX_PROOF_LEN", count(portcullis::dpop::MAX_PROOF_LEN)),
        ("MAX_JTI_LEN", count(portcullis::dpop::MAX_JTI_LEN)),
        ("MAX_HTU_LEN", count(portcullis::dpop::MAX_HTU_LEN)),
        (
            "DEFAULT_PROOF_MAX_AGE",
            Time(portcullis::dpop::DEFAULT_PROOF_MAX_AGE),
        ),
        (
            "MAX_PROOF_MAX_AGE",
            Time(portcullis::dpop::MAX_PROOF_MAX_AGE),
        ),
        (
            "DEFAULT_PROOF_LEEWAY",
            Time(portcullis::dpop::DEFAULT_PROOF_LEEWAY),
        ),
        ("MAX_PROOF_LEEWAY", Time(portcullis::dpop::MAX_PROOF_LEEWAY)),
        (
            "DEFAULT_REPLAY_CAPACITY",
            count(portcullis::dpop::DEFAULT_REPLAY_CAPACITY),
        ),
        (
            "REPLAY_STORE_RETRY_AFTER",
            Time(portcullis::dpop::REPLAY_STORE_RETRY_AFTER),
        ),
        (
            "DEFAULT_NONCE_LIFETIME",
            Time(portcullis::dpop::DEFAULT_NONCE_LIFETIME),
        ),
        (
            "MIN_NONCE_LIFETIME",
            Time(portcullis::dpop::MIN_NONCE_LIFETIME),
        ),
        (
            "MAX_NONCE_LIFETIME",
            Time(portcullis::dpop::MAX_NONCE_LIFETIME),
        ),
        ("MAX_NONCE_LEN", count(portcullis::dpop::MAX_NONCE_LEN)),
        ("NONCE_KEY_LEN", count(portcullis::dpop::NONCE_KEY_LEN)),
        (
            "PROOF_KEY_CACHE_BYTES",
            Count(portcullis::dpop::PROOF_KEY_CACHE_BYTES),
        ),
        (
            "MAX_FORWARDED_ELEMENTS",
            count(portcullis::request::origin::MAX_FORWARDED_ELEMENTS),
        ),
        (
            "MAX_HOST_LEN",
            count(portcullis::request::origin::MAX_HOST_LEN),
        ),
        ("DEFAULT_REFRESH_AHEAD", Time(client::DEFAULT_REFRESH_AHEAD)),
        (
            "DEFAULT_UNKNOWN_LIFETIME",
            Time(client::DEFAULT_UNKNOWN_LIFETIME),
        ),
        ("RETRY_AFTER_FAILURE", Time(client::RETRY_AFTER_FAILURE)),
        ("DEFAULT_POLL_INTERVAL", Time(client::DEFAULT_POLL_INTERVAL)),
        (
            "MAX_REMEMBERED_NONCES",
            count(client::MAX_REMEMBERED_NONCES),
        ),
        ("MAX_CLIENT_NONCE_LEN", count(client::MAX_CLIENT_NONCE_LEN)),
        (
            "DEFAULT_INTROSPECTION_TTL",
            Time(client::DEFAULT_INTROSPECTION_TTL),
        ),
        ("DEFAULT_INACTIVE_TTL", Time(client::DEFAULT_INACTIVE_TTL)),
        (
            "DEFAULT_INTROSPECTION_ENTRIES",
            Count(client::DEFAULT_INTROSPECTION_ENTRIES),
        ),
        ("MAX_OPAQUE_TOKEN_LEN", count(client::MAX_OPAQUE_TOKEN_LEN)),
        ("DEFAULT_KEY_PREFIX", Text(redis::DEFAULT_KEY_PREFIX)),
        ("MAX_KEY_PREFIX_LEN", count(redis::MAX_KEY_PREFIX_LEN)),
        (
            "DEFAULT_COMMAND_TIMEOUT",
            Time(redis::DEFAULT_COMMAND_TIMEOUT),
        ),
        (
            "DEFAULT_CONNECT_TIMEOUT",
            Time(redis::DEFAULT_CONNECT_TIMEOUT),
        ),
        ("RECONNECT_MAX_DELAY", Time(redis::RECONNECT_MAX_DELAY)),
        ("DEFAULT_RETENTION", Time(revocation::DEFAULT_RETENTION)),
        ("MIN_RETENTION", Time(revocation::MIN_RETENTION)),
        ("MAX_RETENTION", Time(revocation::MAX_RETENTION)),
        (
            "DEFAULT_RESYNC_INTERVAL",
            Time(revocation::DEFAULT_RESYNC_INTERVAL),
        ),
        ("MIN_RESYNC_INTERVAL", Time(revocation::MIN_RESYNC_INTERVAL)),
        (
            "DEFAULT_MAX_STALENESS",
            Time(revocation::DEFAULT_MAX_STALENESS),
        ),
        (
            "REVOCATIONS_RETRY_AFTER",
            Time(revocation::REVOCATIONS_RETRY_AFTER),
        ),
        (
            "DEFAULT_REVOCATION_CAPACITY",
            count(revocation::DEFAULT_REVOCATION_CAPACITY),
        ),
        ("MAX_ISSUER_LEN", count(revocation::MAX_ISSUER_LEN)),
        ("MAX_VALUE_LEN", count(revocation::MAX_VALUE_LEN)),
        (
            "BACKCHANNEL_LOGOUT_EVENT",
            Text(logout::BACKCHANNEL_LOGOUT_EVENT),
        ),
        (
            "DEFAULT_LOGOUT_TOKEN_LIFETIME",
            Time(logout::DEFAULT_LOGOUT_TOKEN_LIFETIME),
        ),
        (
            "MAX_LOGOUT_TOKEN_LIFETIME",
            Time(logout::MAX_LOGOUT_TOKEN_LIFETIME),
        ),
        (
            "MAX_LOGOUT_REQUEST_LEN",
            count(logout::MAX_LOGOUT_REQUEST_LEN),
        ),
        ("WELL_KNOWN_PATH", Text(resource_metadata::WELL_KNOWN_PATH)),
        (
            "METADATA_MAX_AGE",
            Time(resource_metadata::METADATA_MAX_AGE),
        ),
        (
            "MAX_SCOPES_SUPPORTED",
            count(resource_metadata::MAX_SCOPES_SUPPORTED),
        ),
    ]
}

fn read(path: &str) -> String {
    let root = env!("CARGO_MANIFEST_DIR");
    std::fs::read_to_string(format!("{root}/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn every_constant_is_documented_with_its_value() {
    let docs = read("docs/configuration.md");
    let mut missing = Vec::new();
    for (name, value) in constants() {
        let quoted = format!("`{name}`");
        let lines: Vec<&str> = docs.lines().filter(|l| l.contains(&quoted)).collect();
        let spellings = value.spellings();
        let found = lines
            .iter()
            .any(|line| spellings.iter().any(|s| line.contains(s.as_str())));
        if !found {
            missing.push(format!(
                "{name} (as one of {spellings:?}) on lines {lines:?}"
            ));
        }
    }
    assert!(
        missing.is_empty(),
        "docs/configuration.md lacks:\n{}",
        missing.join("\n")
    );
}

/// The list above is every public constant of the crate's sources: a new one cannot be added
/// without being documented.
#[test]
fn the_list_is_complete() {
    let listed: Vec<&str> = constants().iter().map(|(n, _)| *n).collect();
    let mut unlisted = Vec::new();
    let root = env!("CARGO_MANIFEST_DIR");
    let mut dirs = vec![
        format!("{root}/crates/portcullis-core/src"),
        format!("{root}/crates/portcullis-redis/src"),
    ];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("src dir") {
            let path = entry.expect("entry").path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if path.is_dir() {
                // The fuzz entry points and the test kit are not configuration.
                if name != "fuzzing" && name != "testing" {
                    dirs.push(path.display().to_string());
                }
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("source");
            for line in text.lines() {
                let Some(rest) = line.strip_prefix("pub const ") else {
                    continue;
                };
                let constant = rest.split(':').next().unwrap_or_default().trim();
                if !listed.contains(&constant) {
                    unlisted.push(format!("{constant} ({})", path.display()));
                }
            }
        }
    }
    assert!(
        unlisted.is_empty(),
        "not listed (nor documented):\n{}",
        unlisted.join("\n")
    );
}
