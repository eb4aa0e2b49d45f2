//! Property tests (proptest; failures print a reproducible seed): hostile bytes never panic the
//! verifier, and no single-byte change to a valid token ever verifies.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code

use std::sync::LazyLock;

use portcullis_core::testing::TestIssuer;
use portcullis_core::{Algorithm, Verifier};
use proptest::prelude::*;
use serde_json::Value;

struct Fixture {
    verifier: Verifier,
    tokens: Vec<String>,
    runtime: tokio::runtime::Runtime,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let issuer = TestIssuer::new().expect("keys");
    let verifier = issuer.verifier().expect("jwks").build().expect("config");
    let tokens = [
        Algorithm::RS256,
        Algorithm::PS256,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
    ]
    .into_iter()
    .map(|alg| {
        issuer
            .token()
            .alg(alg)
            .scope("read:users")
            .sign()
            .expect("sign")
    })
    .collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("rt");
    Fixture {
        verifier,
        tokens,
        runtime,
    }
});

fn verify(token: &str) -> bool {
    let f = &*FIXTURE;
    f.runtime
        .block_on(f.verifier.verify::<Value>(token))
        .is_ok()
}

#[test]
fn fixture_tokens_verify() {
    for token in &FIXTURE.tokens {
        assert!(verify(token));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_strings_never_panic_or_verify(s in ".{0,600}") {
        prop_assert!(!verify(&s));
    }

    #[test]
    fn arbitrary_segments_never_panic_or_verify(a in "[A-Za-z0-9_-]{0,200}", b in "[A-Za-z0-9_-]{0,300}", c in "[A-Za-z0-9_-]{0,400}") {
        let token = format!("{a}.{b}.{c}");
        prop_assert!(!verify(&token));
    }

    #[test]
    fn any_single_byte_change_is_rejected(which in 0usize..5, pos in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let token = &FIXTURE.tokens[which];
        let mut bytes = token.as_bytes().to_vec();
        let i = pos.index(bytes.len());
        prop_assume!(bytes[i] != byte);
        bytes[i] = byte;
        // Non-UTF-8 cannot even reach the verifier as &str; everything else must be rejected.
        if let Ok(mutated) = String::from_utf8(bytes) {
            prop_assert!(!verify(&mutated), "mutated at {} to {:#04x}", i, byte);
        }
    }
}
