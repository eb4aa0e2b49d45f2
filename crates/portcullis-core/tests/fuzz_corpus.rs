//! Replays every committed fuzz corpus and regression file through the same entry points as the
//! cargo-fuzz targets, on stable, so CI guards what the fuzzers found. See `docs/fuzzing.md`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code

use std::path::Path;

use portcullis_core::fuzzing;

/// A fuzz target: its corpus directory name and its entry point.
type Target = (&'static str, fn(&[u8]));

const TARGETS: [Target; 18] = [
    ("base64url", fuzzing::base64url),
    ("json_scan", fuzzing::json_scan),
    ("token_response", fuzzing::token_response),
    ("introspection_response", fuzzing::introspection_response),
    ("verify", fuzzing::verify),
    ("verify_structured", fuzzing::verify_structured),
    ("discovery", fuzzing::discovery),
    ("header", fuzzing::header),
    ("jwks", fuzzing::jwks),
    ("requirement_config", fuzzing::requirement_config),
    ("requirement_eval", fuzzing::requirement_eval),
    ("credential", fuzzing::credential),
    ("dpop_proof", fuzzing::dpop_proof),
    ("htu", fuzzing::htu),
    ("dpop_nonce", fuzzing::dpop_nonce),
    ("revocation_wire", fuzzing::revocation_wire),
    ("logout_form", fuzzing::logout_form),
    ("resource_metadata", fuzzing::resource_metadata),
];

fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_corpus_and_regression_file_replays() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut total = 0;
    for (target, run) in TARGETS {
        let corpus = files(&root.join("corpus").join(target));
        assert!(!corpus.is_empty(), "fuzz/corpus/{target} has no seeds");
        for path in corpus
            .iter()
            .chain(files(&root.join("regressions").join(target)).iter())
        {
            let data = std::fs::read(path).expect("read");
            let outcome = std::panic::catch_unwind(|| run(&data));
            assert!(outcome.is_ok(), "{target}: {} fails", path.display());
            total += 1;
        }
    }
    println!("replayed {total} fuzz inputs");
}

#[test]
fn the_valid_seed_tokens_still_verify() {
    // Guards the corpus itself: if the fixed keys or the verifier drift, the seeds would only
    // exercise rejection paths.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/verify");
    let mut valid = 0;
    for path in files(&root) {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        if !name.starts_with("valid-")
            || (name.ends_with("ES512") && !portcullis_core::Algorithm::ES512.is_supported())
        {
            continue;
        }
        let token = std::fs::read_to_string(&path).expect("read");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("rt");
        let keys = portcullis_core::StaticJwks::from_json(fuzzing::JWKS).expect("jwks");
        let verifier = portcullis_core::Verifier::builder()
            .issuer(fuzzing::ISSUER)
            .audience(fuzzing::AUDIENCE)
            .clock(portcullis_core::clock::ManualClock::new(fuzzing::NOW))
            .key_source(keys)
            .build()
            .expect("config");
        assert!(
            runtime
                .block_on(verifier.verify::<serde_json::Value>(&token))
                .is_ok(),
            "{name}"
        );
        valid += 1;
    }
    assert!(valid >= 5, "only {valid} valid seed tokens");
}
