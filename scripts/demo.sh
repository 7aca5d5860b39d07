#!/usr/bin/env bash
# Starts the reference server with the demo organisations and simulated agents, then opens the
# desktop app signed in to Acme Ads as its manager. Installs what it needs first (idempotent).
#
# Usage: bash scripts/demo.sh [--server-only] [--as EMAIL] [--pace SECONDS]
#   --server-only   only the server, on 127.0.0.1:8080 (sign in with the CLI or the app)
#   --as EMAIL      sign the app in as another demo user (owner@, oncall@, viewer@acme.test)
#   --pace SECONDS  how often the simulated agents act (default 3)
#
# Without a display (a headless machine) the app runs under Xvfb in a private desktop session
# and a screenshot of it is written to .demo/app.png every 10 seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

server_only=false
email=manager@acme.test
pace=3
while (($#)); do
    case $1 in
        --server-only) server_only=true ;;
        --as) email=$2; shift ;;
        --pace) pace=$2; shift ;;
        *) echo "demo: unknown option $1 (see the usage at the top of scripts/demo.sh)" >&2; exit 2 ;;
    esac
    shift
done

bash scripts/install-deps.sh
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
mkdir -p .demo
url=http://127.0.0.1:8080

if $server_only; then
    exec cargo run --release --locked -p spartex-server-bin -- \
        --demo --demo-pace "$pace" --database-url "sqlite://$PWD/.demo/spartex-demo.db"
fi

echo "==> building the UI and the release binaries (the first time takes about 25 minutes on a 2-core machine)"
npm --prefix ui run build
cargo build --release --locked -p spartex-server-bin -p spartex -p spartex-desktop --features spartex-desktop/custom-protocol

./target/release/spartex-server --demo --demo-pace "$pace" \
    --database-url "sqlite://$PWD/.demo/spartex-demo.db" >.demo/server.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null' EXIT
for _ in $(seq 100); do
    curl -fsS "$url/healthz" >/dev/null 2>&1 && break
    kill -0 $server 2>/dev/null || { cat .demo/server.log >&2; exit 1; }
    sleep 0.1
done
# The demo sign-ins, once the server has printed them.
for _ in $(seq 100); do
    grep -q 'northwind.test' .demo/server.log && break
    sleep 0.1
done
grep -E '^ *(owner|manager|oncall|viewer) ' .demo/server.log || true

# The demo account lives apart from any real one: its own data folder and keyring entries.
export SPARTEX_HOME=$PWD/.demo/app SPARTEX_SECRET_SERVICE=spartex-control-demo
app_session='
    SPARTEX_PASSWORD=spartex-demo ./target/release/spartex login --server "$0" --email "$1" >/dev/null
    # Closing the window only hides it while signed in: the app keeps running for notifications.
    echo "==> Spartex Control is open, signed in as $1. To stop the demo, quit it from the account menu or with Ctrl+Q (closing its window only hides it), or press Ctrl+C here."
    if [[ -n ${SPARTEX_HEADLESS:-} ]]; then
        ( while sleep 10; do import -window root "$PWD/.demo/app.png" 2>/dev/null; done ) &
    fi
    ./target/release/spartex-control
'
if [[ -n ${DISPLAY:-} && -n ${DBUS_SESSION_BUS_ADDRESS:-} ]]; then
    bash -c "$app_session" "$url" "$email"
else
    echo "==> no desktop here: running the app under Xvfb; see .demo/app.png"
    SPARTEX_HEADLESS=1 bash scripts/test-env.sh bash -c "$app_session" "$url" "$email"
fi
