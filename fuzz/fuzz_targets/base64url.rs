#![no_main]
// The entry point and its invariants live in portcullis_core::fuzzing, shared with the stable
// replay test (crates/portcullis-core/tests/fuzz_corpus.rs).
libfuzzer_sys::fuzz_target!(|data: &[u8]| portcullis_core::fuzzing::base64url(data));
