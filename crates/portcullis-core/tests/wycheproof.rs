//! Project Wycheproof JOSE vectors run through portcullis' JWS layer
//! ([`Verifier::verify_signature`]) and key-set layer ([`KeySet`], [`StaticJwks`]).
//!
//! The data lives in `tests/data/wycheproof/` at the workspace root (Apache-2.0, see the LICENSE
//! and README there). Every vector is accounted for: it agrees with its label, is not applicable
//! (with the reason counted), or is on one of the explicit lists below with the reason we differ.
//! A listed vector that starts agreeing with its label fails the test, so the lists cannot rot.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

mod common;
use common::audit_log;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis_core::error::KeySourceError;
use portcullis_core::keys::{KeysFuture, Refresh};
use portcullis_core::{Algorithm, KeySet, KeySource, StaticJwks, Verifier};
use secrecy::SecretBox;
use serde_json::{Value, json};

const JWS_FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/data/wycheproof/json_web_signature_test.json"
);
const JWK_FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/data/wycheproof/json_web_key_test.json"
);

const BACKEND: &str = if cfg!(feature = "aws-lc-rs") {
    "aws-lc-rs"
} else {
    "rust-crypto"
};

/// Why a listed vector's outcome differs from its Wycheproof label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// The label is wrong (or assumes a lenient reading RFCs do not require); we are right.
    Mislabelled,
    /// The label is right for a general JOSE library; portcullis is deliberately stricter.
    Policy,
}

/// What portcullis does with a vector.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Accepted,
    /// A stable reason code, or `key_set_refused` / `secret_refused` when the key never loads.
    Rejected(String),
}

impl Outcome {
    fn accepted(&self) -> bool {
        matches!(self, Outcome::Accepted)
    }

    fn describe(&self) -> String {
        match self {
            Outcome::Accepted => "accepted".to_owned(),
            Outcome::Rejected(code) => format!("rejected ({code})"),
        }
    }
}

/// One explicitly listed disagreement with a label.
struct Listed {
    tc_id: u64,
    kind: Kind,
    /// Only exercised where the backend verifies ES512 (P-521).
    needs_es512: bool,
    why: &'static str,
}

const fn listed(tc_id: u64, kind: Kind, why: &'static str) -> Listed {
    Listed {
        tc_id,
        kind,
        needs_es512: false,
        why,
    }
}

const fn listed_es512(tc_id: u64, kind: Kind, why: &'static str) -> Listed {
    Listed {
        tc_id,
        kind,
        needs_es512: true,
        why,
    }
}

/// `json_web_signature_test.json`: every vector whose outcome differs from its label.
const JWS_LISTED: &[Listed] = &[
    // RFC 7520 §4.2 (Figure 20) signs with PS384, but the group's JWK pins `"alg":"PS256"`.
    listed(
        346,
        Kind::Mislabelled,
        "we reject (key_mismatch): the JWK pins alg PS256 but the header says PS384; RFC 7517 §4.4 \
         makes a JWK's alg the algorithm intended for the key (RFC 7520 §3.3 has no alg at all)",
    ),
    listed(
        350,
        Kind::Mislabelled,
        "we reject (key_mismatch): same as 346 with key_ops [verify]; the JWK pins PS256, the \
         header says PS384 (RFC 7517 §4.4)",
    ),
    // RFC 7520 §4.3 (Figure 27): the group's JWK says `"alg":"ES521"`, which is not a JWS
    // algorithm (RFC 7518 §3.1 registers ES512 for P-521); RFC 7520 §3.2's key has no alg.
    listed_es512(
        347,
        Kind::Mislabelled,
        "we reject (key_set_refused): the JWK's alg \"ES521\" is not a registered JWS algorithm \
         (RFC 7518 §3.1, the P-521 one is ES512), so the key is refused and nothing verifies",
    ),
    listed_es512(
        351,
        Kind::Mislabelled,
        "we reject (key_set_refused): same as 347 with key_ops [verify]; alg \"ES521\" is not a \
         JWS algorithm (RFC 7518 §3.1)",
    ),
    // Both are byte-for-byte tcId 357 (labelled valid): no padding was added to anything.
    listed(
        367,
        Kind::Mislabelled,
        "we accept: the JWS is byte-identical to valid tcId 357 (there is no '=' anywhere); its \
         MAC verifies over the exact signing input",
    ),
    listed(
        370,
        Kind::Mislabelled,
        "we accept: byte-identical to valid tcId 357 (no padding in the payload either)",
    ),
    // A '?' inserted into a segment: only a decoder that silently drops non-alphabet characters
    // reads the original bytes, and the MAC covers the text without the '?'. 361-364, 366, 369
    // and 371 are the same kind of mutation, labelled invalid.
    listed(
        372,
        Kind::Mislabelled,
        "we reject (bad_base64): '?' is not in the base64url alphabet (RFC 7515 §2, RFC 4648 §5), \
         and the MAC is over the header without it",
    ),
    listed(
        373,
        Kind::Mislabelled,
        "we reject (bad_signature): '?' in the payload is not base64url (RFC 7515 §2), and the \
         MAC covers the signing input without it (RFC 7515 §5.2 step 8 uses the exact text)",
    ),
    // Empty payloads. RFC 7515 §7.1 allows BASE64URL(empty) = "", so these are valid JWS, but
    // compact::split requires three non-empty segments (a JWT's claims are never empty).
    listed(
        259,
        Kind::Policy,
        "we reject (malformed): empty payload segment; portcullis requires three non-empty segments",
    ),
    listed(
        264,
        Kind::Policy,
        "we reject (malformed): empty payload segment (RS384), as 259",
    ),
    listed(
        268,
        Kind::Policy,
        "we reject (malformed): empty payload segment (RS512), as 259",
    ),
    listed(
        272,
        Kind::Policy,
        "we reject (malformed): empty payload segment (PS256), as 259",
    ),
    listed(
        320,
        Kind::Policy,
        "we reject (malformed): empty payload segment (PS384), as 259",
    ),
    listed(
        325,
        Kind::Policy,
        "we reject (malformed): empty payload segment (PS512), as 259",
    ),
];

/// `json_web_key_test.json`: every vector whose outcome differs from its label.
const JWK_LISTED: &[Listed] = &[
    // HMAC secrets only come from `shared_secret`, never from a key set (an RS256 -> HS256
    // confusion needs exactly that path). A set of only `oct` keys is refused at load time. The
    // same secrets configured through `shared_secret` verify these vectors (cross-checked below).
    listed(
        2,
        Kind::Policy,
        "we reject (key_set_refused): HMAC keys are never taken from a key set; the secret \
         verifies it through shared_secret (cross-checked)",
    ),
    listed(
        13,
        Kind::Policy,
        "we reject (key_set_refused): HS256 key in a key set; verifies through shared_secret",
    ),
    listed(
        14,
        Kind::Policy,
        "we reject (key_set_refused): HS384 key in a key set; verifies through shared_secret",
    ),
    listed(
        15,
        Kind::Policy,
        "we reject (key_set_refused): HS512 key in a key set; verifies through shared_secret",
    ),
];

/// `json_web_key_test.json`: how many keys of each group's set portcullis keeps, and why the
/// others are skipped (the audit `reason`), keyed by the group's first tcId.
const JWK_SETS: &[(u64, usize, Option<&str>)] = &[
    // Mixed symmetric/asymmetric set: the oct key is skipped, the EC key kept.
    (1, 1, Some("symmetric keys are never taken from a key set")),
    (2, 0, Some("symmetric keys are never taken from a key set")),
    // Duplicate kid among oct keys: both skipped for being oct, before kids matter.
    (4, 0, Some("symmetric keys are never taken from a key set")),
    (5, 1, None),
    (6, 0, Some("not a signing key (use)")),
    // The ROCA key (CVE-2017-15361): its private key follows from the public one.
    (
        7,
        0,
        Some("rsa key has the ROCA fingerprint (CVE-2017-15361)"),
    ),
    (8, 0, Some("rsa modulus under 2048 bits")),
    (9, 0, Some("rsa exponent is even or below 3")),
    (10, 0, Some("symmetric keys are never taken from a key set")),
    (11, 0, Some("symmetric keys are never taken from a key set")),
    (12, 0, Some("symmetric keys are never taken from a key set")),
    (13, 0, Some("symmetric keys are never taken from a key set")),
    (14, 0, Some("symmetric keys are never taken from a key set")),
    (15, 0, Some("symmetric keys are never taken from a key set")),
    (16, 0, Some("symmetric keys are never taken from a key set")),
    (17, 0, Some("symmetric keys are never taken from a key set")),
    (18, 0, Some("symmetric keys are never taken from a key set")),
    // alg "ES521" and "ES224" are not JWS algorithms.
    (19, 0, Some("unsupported alg")),
    (20, 0, Some("unsupported alg")),
    (21, 0, Some("not a signing key (use)")),
    (22, 0, Some("ec point not on its curve")),
    // P-384 with 32-byte coordinates.
    (23, 0, Some("ec coordinate has the wrong length")),
    // kty RSA carrying EC members.
    (24, 0, Some("missing key member")),
    // oct keys for A256GCM / A256KW: refused on the alg, which is checked before the kty.
    (25, 0, Some("unsupported alg")),
    (26, 0, Some("unsupported alg")),
];

/// A key source with no keys: lets the HMAC groups allow every asymmetric algorithm too.
#[derive(Debug)]
struct NoKeys(Arc<KeySet>);

impl NoKeys {
    fn new() -> Self {
        let set = KeySet::from_jwks_json(br#"{"keys":[]}"#).expect("an empty JWK Set parses");
        Self(Arc::new(set))
    }
}

impl KeySource for NoKeys {
    fn current(&self) -> Option<Arc<KeySet>> {
        Some(Arc::clone(&self.0))
    }

    fn refresh<'a>(&'a self, _why: Refresh<'a>) -> KeysFuture<'a> {
        let set = Arc::clone(&self.0);
        Box::pin(async move { Ok::<_, KeySourceError>(set) })
    }
}

/// Every asymmetric algorithm the compiled backend verifies.
fn asymmetric_algorithms() -> Vec<Algorithm> {
    Algorithm::ALL
        .into_iter()
        .filter(|a| !a.is_hmac() && a.is_supported())
        .collect()
}

fn hmac_min_len(alg: Algorithm) -> usize {
    match alg {
        Algorithm::HS256 => 32,
        Algorithm::HS384 => 48,
        Algorithm::HS512 => 64,
        other => panic!("{other} is not an HMAC algorithm"),
    }
}

fn secret(bytes: &[u8]) -> SecretBox<[u8]> {
    SecretBox::new(bytes.to_vec().into_boxed_slice())
}

fn load(path: &str) -> Value {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"))
}

fn b64_decode(s: &str, what: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(s)
        .unwrap_or_else(|e| panic!("{what} is not base64url: {e}"))
}

/// The JOSE header of a compact JWS, read leniently (only to classify the vector).
fn header_of(jws: &str) -> Option<serde_json::Map<String, Value>> {
    let segment = jws.split('.').next()?;
    let bytes = URL_SAFE_NO_PAD.decode(segment).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

fn str_field<'a>(v: &'a Value, name: &str) -> Option<&'a str> {
    v.get(name).and_then(Value::as_str)
}

fn tc_id(test: &Value) -> u64 {
    test["tcId"]
        .as_u64()
        .unwrap_or_else(|| panic!("vector without a numeric tcId: {test}"))
}

async fn run(verifier: &Verifier, jws: &str) -> Outcome {
    match verifier.verify_signature(jws).await {
        Ok(header) => {
            // What verify_signature returns must be what the token says.
            let raw = header_of(jws).expect("an accepted JWS has a readable header");
            assert_eq!(
                Some(header.alg.name()),
                raw.get("alg").and_then(Value::as_str)
            );
            assert_eq!(
                header.kid.as_deref(),
                raw.get("kid").and_then(Value::as_str)
            );
            Outcome::Accepted
        }
        Err(e) => Outcome::Rejected(e.reason().code().to_owned()),
    }
}

/// Tallies vectors against their labels and an explicit list of disagreements.
struct Ledger<'l> {
    name: &'static str,
    listed: BTreeMap<u64, &'l Listed>,
    seen: BTreeSet<u64>,
    failures: Vec<String>,
    valid_accepted: usize,
    invalid_rejected: usize,
    acceptable_accepted: usize,
    acceptable_rejected: usize,
    listed_counts: BTreeMap<&'static str, usize>,
}

impl<'l> Ledger<'l> {
    fn new(name: &'static str, list: &'l [Listed]) -> Self {
        let mut listed = BTreeMap::new();
        for entry in list {
            assert!(
                listed.insert(entry.tc_id, entry).is_none(),
                "{name}: tcId {} is listed twice",
                entry.tc_id
            );
        }
        Self {
            name,
            listed,
            seen: BTreeSet::new(),
            failures: Vec::new(),
            valid_accepted: 0,
            invalid_rejected: 0,
            acceptable_accepted: 0,
            acceptable_rejected: 0,
            listed_counts: BTreeMap::new(),
        }
    }

    fn record(&mut self, test: &Value, outcome: &Outcome) {
        let id = tc_id(test);
        let label = str_field(test, "result").unwrap_or("<none>");
        let comment = str_field(test, "comment").unwrap_or("");
        let agrees = match label {
            "valid" => outcome.accepted(),
            "invalid" => !outcome.accepted(),
            "acceptable" => true,
            other => {
                self.failures
                    .push(format!("tcId {id}: unknown result label {other:?}"));
                return;
            }
        };
        if let Some(entry) = self.listed.get(&id) {
            self.seen.insert(id);
            if agrees {
                self.failures.push(format!(
                    "tcId {id} ({comment}) is listed as {:?} but now agrees with its label \
                     {label:?} ({}): remove it from the list. Listed because: {}",
                    entry.kind,
                    outcome.describe(),
                    entry.why
                ));
            } else {
                let key = match entry.kind {
                    Kind::Mislabelled => "mislabelled",
                    Kind::Policy => "policy",
                };
                *self.listed_counts.entry(key).or_default() += 1;
                println!(
                    "{} tcId {id} [{:?}] label {label}, portcullis {}: {}",
                    self.name,
                    entry.kind,
                    outcome.describe(),
                    entry.why
                );
            }
            return;
        }
        if !agrees {
            self.failures.push(format!(
                "tcId {id} ({comment}, flags {}): labelled {label}, portcullis {}",
                test["flags"],
                outcome.describe()
            ));
            return;
        }
        match (label, outcome.accepted()) {
            ("valid", _) => self.valid_accepted += 1,
            ("invalid", _) => self.invalid_rejected += 1,
            (_, true) => self.acceptable_accepted += 1,
            (_, false) => self.acceptable_rejected += 1,
        }
    }

    /// Every listed vector must have been exercised (unless it needs ES512 and the backend lacks it).
    fn check_list_exercised(&mut self) {
        for (id, entry) in &self.listed {
            let skipped = entry.needs_es512 && !Algorithm::ES512.is_supported();
            if !skipped && !self.seen.contains(id) {
                self.failures.push(format!(
                    "tcId {id} is listed ({:?}: {}) but was not exercised",
                    entry.kind, entry.why
                ));
            }
        }
    }

    fn count(&self, key: &str) -> usize {
        self.listed_counts.get(key).copied().unwrap_or(0)
    }

    fn agreeing(&self) -> usize {
        self.valid_accepted
            + self.invalid_rejected
            + self.acceptable_accepted
            + self.acceptable_rejected
    }

    fn listed_total(&self) -> usize {
        self.listed_counts.values().sum()
    }

    fn finish(self) {
        assert!(
            self.failures.is_empty(),
            "{} ({BACKEND}): {} disagreement(s) with Wycheproof:\n  {}",
            self.name,
            self.failures.len(),
            self.failures.join("\n  ")
        );
    }
}

/// How a JWS group's verifier came out.
enum Setup {
    Ready(Verifier),
    /// The key never loads; every vector is rejected with this code.
    Refused(&'static str),
    /// The group's HMAC key cannot be configured (not HS*, or shorter than RFC 7518 §3.2 allows).
    ShortHmacKey,
}

fn jws_setup(group: &Value) -> Setup {
    let issuer = Verifier::builder()
        .issuer("wycheproof")
        .audience("portcullis");
    if let Some(public) = group.get("public") {
        let kty = str_field(public, "kty").unwrap_or("");
        assert!(
            matches!(kty, "RSA" | "EC" | "OKP"),
            "unexpected public kty {kty:?} in group {}",
            group["comment"]
        );
        let jwks = json!({ "keys": [public] }).to_string();
        let set = KeySet::from_jwks_json(jwks.as_bytes()).unwrap_or_else(|e| {
            panic!("group {}: JWK Set document refused: {e}", group["comment"])
        });
        let source = match StaticJwks::from_json(&jwks) {
            Ok(source) => source,
            Err(_) => {
                assert!(set.is_empty(), "StaticJwks refused a set with usable keys");
                return Setup::Refused("key_set_refused");
            }
        };
        // HS256 is allowed too, under an unrelated secret: the HMAC confusion vector (tcId 31)
        // then reaches the MAC check instead of stopping at the allow-list, and must still fail
        // there, since the public key is never an HMAC secret.
        let mut algs = asymmetric_algorithms();
        algs.push(Algorithm::HS256);
        let verifier = issuer
            .algorithms(algs)
            .key_source(source)
            .shared_secret(Algorithm::HS256, secret(&[0x5a; 32]))
            .build()
            .unwrap_or_else(|e| panic!("group {}: verifier refused: {e}", group["comment"]));
        return Setup::Ready(verifier);
    }

    let private = &group["private"];
    assert_eq!(
        str_field(private, "kty"),
        Some("oct"),
        "a group without a public key must be symmetric: {}",
        group["comment"]
    );
    // An HMAC key is never taken from a key set, whatever it looks like.
    let as_set = json!({ "keys": [private] }).to_string();
    let set = KeySet::from_jwks_json(as_set.as_bytes()).expect("JWK Set document");
    assert!(set.is_empty(), "an oct key was taken from a key set");
    assert!(StaticJwks::from_json(&as_set).is_err());

    let alg = str_field(private, "alg").and_then(Algorithm::from_name);
    let k = b64_decode(str_field(private, "k").unwrap_or(""), "oct k");
    let Some(alg) = alg.filter(|a| a.is_hmac() && k.len() >= hmac_min_len(*a)) else {
        return Setup::ShortHmacKey;
    };
    let mut algs = asymmetric_algorithms();
    algs.push(alg);
    let verifier = issuer
        .algorithms(algs)
        .key_source(NoKeys::new())
        .shared_secret(alg, secret(&k))
        .build()
        .unwrap_or_else(|e| panic!("group {}: verifier refused: {e}", group["comment"]));
    Setup::Ready(verifier)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wycheproof_json_web_signature() {
    let file = load(JWS_FILE);
    let declared = file["numberOfTests"].as_u64().expect("numberOfTests") as usize;
    let groups = file["testGroups"].as_array().expect("testGroups");
    let mut ledger = Ledger::new("wycheproof JWS", JWS_LISTED);
    let (mut total, mut json_serialization, mut short_hmac, mut no_es512) = (0, 0, 0, 0);

    for group in groups {
        let setup = jws_setup(group);
        let tests = group["tests"].as_array().expect("tests");
        for test in tests {
            total += 1;
            let id = tc_id(test);
            let jws = &test["jws"];
            let flags = test["flags"].as_array().cloned().unwrap_or_default();
            let json_flag = flags.iter().any(|f| f == "JsonSerialization");

            if json_flag || !jws.is_string() {
                // portcullis only reads the compact serialization. Passed as a string, a JSON
                // serialization must be rejected like any other malformed token.
                let text = match jws {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                if let Setup::Ready(verifier) = &setup {
                    let outcome = run(verifier, &text).await;
                    assert!(
                        !outcome.accepted(),
                        "tcId {id}: a JSON-serialized JWS was accepted as a compact one"
                    );
                }
                json_serialization += 1;
                continue;
            }
            let jws = jws.as_str().expect("compact JWS is a string");

            let header_alg = header_of(jws)
                .and_then(|h| h.get("alg").and_then(Value::as_str).map(str::to_owned));
            let key_crv = group.get("public").and_then(|p| str_field(p, "crv"));
            let needs_es512 = header_alg.as_deref() == Some("ES512") || key_crv == Some("P-521");
            if needs_es512 && !Algorithm::ES512.is_supported() {
                no_es512 += 1;
                continue;
            }

            let outcome = match &setup {
                Setup::Ready(verifier) => run(verifier, jws).await,
                Setup::Refused(code) => Outcome::Rejected((*code).to_owned()),
                Setup::ShortHmacKey => {
                    short_hmac += 1;
                    continue;
                }
            };
            ledger.record(test, &outcome);
        }
    }
    ledger.check_list_exercised();

    let accounted =
        ledger.agreeing() + ledger.listed_total() + json_serialization + short_hmac + no_es512;
    println!(
        "wycheproof JWS ({BACKEND}): {total} vectors: {} valid accepted, {} invalid rejected, {} \
         acceptable ({} accepted / {} rejected), {json_serialization} not applicable (JSON \
         serialization), {short_hmac} not applicable (short HMAC key), {no_es512} not applicable \
         (ES512 unsupported by backend), {} mislabelled (listed) and {} policy divergences \
         (listed)",
        ledger.valid_accepted,
        ledger.invalid_rejected,
        ledger.acceptable_accepted + ledger.acceptable_rejected,
        ledger.acceptable_accepted,
        ledger.acceptable_rejected,
        ledger.count("mislabelled"),
        ledger.count("policy"),
    );
    assert_eq!(total, declared, "the file declares {declared} vectors");
    let failed = ledger.failures.len();
    ledger.finish();
    assert_eq!(
        accounted + failed,
        total,
        "every vector is counted exactly once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wycheproof_json_web_key() {
    let file = load(JWK_FILE);
    let declared = file["numberOfTests"].as_u64().expect("numberOfTests") as usize;
    let groups = file["testGroups"].as_array().expect("testGroups");
    let mut ledger = Ledger::new("wycheproof JWK", JWK_LISTED);
    let expected_sets: BTreeMap<u64, (usize, Option<&str>)> = JWK_SETS
        .iter()
        .map(|(id, len, why)| (*id, (*len, *why)))
        .collect();
    let (mut total, mut sets_checked, mut refused_sets, mut skipped_keys) = (0, 0, 0, 0);
    let (mut secret_checked, mut secret_skipped) = (0, 0);
    let mut cross_checked = BTreeSet::new();

    for group in groups {
        let tests = group["tests"].as_array().expect("tests");
        let first = tests.first().map(tc_id).expect("a group has vectors");
        // The set a verifier would be given: the public one where the group has it.
        let set_doc = group.get("public").unwrap_or(&group["private"]);
        let keys = set_doc["keys"].as_array().expect("a JWK Set");
        let doc = set_doc.to_string();

        // Key-set layer: which keys are kept, and why the others are skipped.
        let (set, log) = audit_log(|| KeySet::from_jwks_json(doc.as_bytes()));
        let set = set.unwrap_or_else(|e| panic!("tcId {first}: JWK Set document refused: {e}"));
        let (want_len, want_reason) = *expected_sets
            .get(&first)
            .unwrap_or_else(|| panic!("group starting at tcId {first} has no JWK_SETS entry"));
        assert_eq!(
            set.len(),
            want_len,
            "tcId {first} ({}): usable keys; audit log:\n{log}",
            group["comment"]
        );
        if let Some(reason) = want_reason {
            assert!(
                log.contains(reason),
                "tcId {first} ({}): expected a key skipped for {reason:?}; audit log:\n{log}",
                group["comment"]
            );
        }
        sets_checked += 1;
        skipped_keys += keys.len() - set.len();

        let verifier = match StaticJwks::from_json(&doc) {
            Ok(source) => Some(
                Verifier::builder()
                    .issuer("wycheproof")
                    .audience("portcullis")
                    .algorithms(asymmetric_algorithms())
                    .key_source(source)
                    .build()
                    .expect("verifier"),
            ),
            Err(_) => {
                assert!(set.is_empty(), "StaticJwks refused a set with usable keys");
                refused_sets += 1;
                None
            }
        };

        for test in tests {
            total += 1;
            let jws = str_field(test, "jws").expect("compact JWS");
            let outcome = match &verifier {
                Some(v) => run(v, jws).await,
                None => Outcome::Rejected("key_set_refused".to_owned()),
            };
            ledger.record(test, &outcome);

            // Cross-check the supported HMAC path: where the set is only HMAC keys and exactly
            // one has the token's kid, that secret through shared_secret must agree with the
            // label (a short or empty secret is refused by build(), RFC 7518 §3.2).
            let all_hmac = keys.iter().all(|k| {
                str_field(k, "kty") == Some("oct")
                    && str_field(k, "alg")
                        .and_then(Algorithm::from_name)
                        .is_some_and(Algorithm::is_hmac)
            });
            let kid = header_of(jws)
                .and_then(|h| h.get("kid").and_then(Value::as_str).map(str::to_owned));
            let named: Vec<&Value> = keys
                .iter()
                .filter(|k| kid.is_some() && str_field(k, "kid") == kid.as_deref())
                .collect();
            let [key] = named.as_slice() else {
                secret_skipped += usize::from(all_hmac);
                continue;
            };
            if !all_hmac {
                continue;
            }
            let alg = str_field(key, "alg")
                .and_then(Algorithm::from_name)
                .expect("HMAC alg");
            let k = b64_decode(str_field(key, "k").unwrap_or(""), "oct k");
            let via_secret = match Verifier::builder()
                .issuer("wycheproof")
                .audience("portcullis")
                .shared_secret(alg, secret(&k))
                .build()
            {
                Ok(v) => run(&v, jws).await,
                Err(_) => Outcome::Rejected("secret_refused".to_owned()),
            };
            let want = str_field(test, "result") == Some("valid");
            assert_eq!(
                via_secret.accepted(),
                want,
                "tcId {} through shared_secret ({}-byte {alg} secret): {}",
                tc_id(test),
                k.len(),
                via_secret.describe()
            );
            secret_checked += 1;
            cross_checked.insert(tc_id(test));
        }
    }
    ledger.check_list_exercised();
    // The HMAC policy entries claim their secret verifies through shared_secret: it must have.
    for entry in JWK_LISTED.iter().filter(|e| e.kind == Kind::Policy) {
        assert!(
            cross_checked.contains(&entry.tc_id),
            "tcId {} is listed as an HMAC policy divergence but was not cross-checked",
            entry.tc_id
        );
    }

    let accounted = ledger.agreeing() + ledger.listed_total();
    println!(
        "wycheproof JWK ({BACKEND}): {total} vectors: {} valid accepted, {} invalid rejected, {} \
         acceptable ({} accepted / {} rejected), {} mislabelled (listed), {} policy divergences \
         (listed); {sets_checked} key sets checked ({refused_sets} \
         refused outright, {skipped_keys} keys skipped); HMAC \
         cross-check through shared_secret: {secret_checked} agree with the label, \
         {secret_skipped} not applicable (duplicate kid)",
        ledger.valid_accepted,
        ledger.invalid_rejected,
        ledger.acceptable_accepted + ledger.acceptable_rejected,
        ledger.acceptable_accepted,
        ledger.acceptable_rejected,
        ledger.count("mislabelled"),
        ledger.count("policy"),
    );
    assert_eq!(total, declared, "the file declares {declared} vectors");
    assert_eq!(
        sets_checked,
        JWK_SETS.len(),
        "JWK_SETS has an entry per group"
    );
    let failed = ledger.failures.len();
    ledger.finish();
    assert_eq!(
        accounted + failed,
        total,
        "every vector is counted exactly once"
    );
}
