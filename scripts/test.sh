#!/usr/bin/env bash
# Runs every test of the repository, installing what the tests need first (idempotent).
# Usage: bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
# cargo install puts tools here; a fresh machine's PATH may not have it yet.
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

echo "==> UI: lint, type-check, unit tests, build"
npm --prefix ui run lint
npm --prefix ui run typecheck
npm --prefix ui test
# The app embeds ui/dist, so the UI is built before any Rust that links the app.
npm --prefix ui run build

echo "==> format"
cargo fmt --all --check
echo "==> lint"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "==> the core as a phone build links it: without the desktop notifier"
cargo check -p spartex-core --no-default-features --locked
echo "==> the phones: the app type-checked for Android, the pure-Rust crates for iOS"
bash scripts/check-mobile.sh
# A CI machine builds once and keeps nothing: the phone check's own build folder goes now.
if [[ ${CI:-} == true ]]; then rm -rf target/mobile-check; fi
echo "==> one build of every binary and test of the workspace"
# One cargo run for everything below, so that every dependency is built once. Cargo resolves
# features for the packages it is asked for: a `-p` build, or a test run of one package, would
# build most dependencies again with other features (that doubled the disk and the time). The
# tests that start the server, the CLI and the app take them from here (spartex_testkit::cargo_bin).
cargo build --workspace --bins --tests --locked
export SPARTEX_TEST_BIN_DIR="$PWD/target/debug"
echo "==> API fuzzing: the server against its own OpenAPI document"
SPARTEX_SERVER_BIN="$SPARTEX_TEST_BIN_DIR/spartex-server" bash scripts/api-fuzz.sh
echo "==> PostgreSQL: the store conformance suite on a private cluster"
pg_dir=$(mktemp -d /tmp/spartex-pg.XXXXXX)
trap 'bash scripts/pg-cluster.sh stop "$pg_dir"; rm -rf "$pg_dir"' EXIT
# A failure on PostgreSQL is kept for the end, so that it hides none of the other results.
# Each run selects the whole workspace and filters by package, so it reuses the build above.
postgres_failed=0
if SPARTEX_TEST_POSTGRES_URL=$(bash scripts/pg-cluster.sh start "$pg_dir"); then
    export SPARTEX_TEST_POSTGRES_URL
    cargo nextest run --workspace --locked --no-fail-fast --ignore-default-filter \
        -E 'package(spartex-server) & kind(lib) & test(/^store::postgres::/)' || postgres_failed=1
    echo "==> the server's integration suite on PostgreSQL (each test on a database of its own)"
    # Less the three tests of SQLite's WAL file and its checkpoints, which PostgreSQL does not have.
    # With the tests of two instances on one database, which SQLite has no room for.
    SPARTEX_TEST_DATABASE=postgres cargo nextest run --workspace --locked --no-fail-fast \
        --ignore-default-filter \
        -E 'binary_id(spartex-server::server) & not test(/^sqlite_files::/)' \
        || postgres_failed=1
    echo "==> two server processes on one PostgreSQL database, one of them killed; the database away and back"
    cargo nextest run --workspace --locked --no-fail-fast --ignore-default-filter \
        -E 'binary_id(spartex-system-tests::server_binary) & test(/^(failover|outage)::/)' || postgres_failed=1
else
    echo "the private PostgreSQL cluster did not start (see above)" >&2
    postgres_failed=1
fi
# Last, so that the test runner's summary closes the run.
echo "==> tests (in a throwaway desktop session: D-Bus, gnome-keyring, dunst, Xvfb)"
bash scripts/test-env.sh cargo nextest run --workspace --locked --no-fail-fast
if [ "$postgres_failed" -ne 0 ]; then
    echo "FAILED: the PostgreSQL tests above (the rest passed)" >&2
    exit 1
fi
