#!/usr/bin/env bash
# Starts the reference server with the demo organisations and simulated agents.
# Usage: bash scripts/demo.sh [extra spartex-server flags, e.g. --demo-pace 1]
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .demo
exec cargo run --release --locked -p spartex-server -- \
    --demo --database-url "sqlite://$PWD/.demo/spartex-demo.db" "$@"
