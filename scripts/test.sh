#!/usr/bin/env bash
# The whole test suite, as the README gives it: every crate and example, then the integration
# suites once per crypto backend (aws-lc-rs, the default, and rust-crypto), then the doc tests.
# It installs nothing today; later suites that need services start them from here.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== workspace, all features (aws-lc-rs backend)"
# The example binaries are run by tests/examples.rs as the programs users start.
cargo build --workspace --all-features --examples
cargo test --workspace --all-features --all-targets

echo "== portcullis-core on the rust-crypto backend"
cargo test -p portcullis-core --no-default-features --features rust-crypto,testing --all-targets

echo "== doc tests"
cargo test --workspace --all-features --doc

echo "== the README's first command, non-interactive"
cargo run -q --example quickstart -- --once > /dev/null
