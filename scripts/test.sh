#!/usr/bin/env bash
# The whole test suite, as the README gives it: every crate and example, then the integration
# suites once per crypto backend (aws-lc-rs, the default, and rust-crypto), then the doc tests.
# It installs what the suites need: the test OpenID provider's npm packages (tests/idp, pinned
# by its package-lock.json; Node.js itself from Debian's packages when missing and running as
# root) and `redis-server` (Debian's package, when missing and running as root). The tests
# start and stop the provider and their own Redis servers themselves.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== the test OpenID provider (tests/idp: oidc-provider on Node.js)"
if ! command -v npm >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get install -y nodejs npm >/dev/null || { apt-get update >/dev/null && apt-get install -y nodejs npm >/dev/null; }
fi
if [ ! -d tests/idp/node_modules/oidc-provider ]; then
    if command -v npm >/dev/null; then
        npm ci --prefix tests/idp --no-audit --no-fund
    elif [ "${CI:-}" = true ]; then
        echo "npm is required for the IdP tests" >&2
        exit 1
    else
        echo "npm not found: the IdP tests will be skipped (each says so)" >&2
    fi
fi

echo "== redis-server (each Redis test starts its own on a free loopback port)"
if ! command -v redis-server >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get install -y redis-server >/dev/null || { apt-get update >/dev/null && apt-get install -y redis-server >/dev/null; }
fi
if ! command -v redis-server >/dev/null; then
    if [ "${CI:-}" = true ]; then
        echo "redis-server is required for the Redis tests" >&2
        exit 1
    fi
    echo "redis-server not found: the Redis tests will be skipped (each says so)" >&2
fi

echo "== workspace, all features (aws-lc-rs backend)"
# The example binaries are run by tests/examples.rs as the programs users start.
cargo build --workspace --all-features --examples
cargo test --workspace --all-features --all-targets

echo "== portcullis-core on the rust-crypto backend"
cargo test -p portcullis-core --no-default-features --features rust-crypto,testing,client --all-targets

echo "== doc tests"
cargo test --workspace --all-features --doc

echo "== the README's first command, non-interactive"
cargo run -q --example quickstart -- --once > /dev/null
