#!/usr/bin/env bash
# Soak: the demo server at its fastest pace for a long run, sampled every 10 s, to show that
# the WAL, memory, file descriptors and the log stay bounded; then a sign-in flood, to show
# that memory stays flat under it. A benchmark, not a test: it prints a table and asserts nothing.
#
# Usage: bash scripts/soak.sh [SECONDS]   (default 600; compare with docs/benchmarks.md, "Soak")
# The server's whole log is left in target/soak-server.log.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-600}
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

cargo build --release --locked -p spartex-server-bin >&2
work=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log="$work/server.log"
target/release/spartex-server --listen "127.0.0.1:$port" --database-url "sqlite://$work/soak.db" \
    --demo --demo-pace 0.01 >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; cp "$log" target/soak-server.log; rm -rf "$work"' EXIT
until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do sleep 0.2; done

size() { stat -c %s "$1" 2>/dev/null || echo 0; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }
fds() { ls "/proc/$pid/fd" | wc -l; }
head_seq() {
    local token
    token=$(curl -sf "http://127.0.0.1:$port/api/v1/auth/login" -H 'content-type: application/json' \
        -d '{"email":"viewer@acme.test","password":"spartex-demo"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
    curl -sf "http://127.0.0.1:$port/api/v1/sync?since=0&limit=1" -H "authorization: Bearer $token" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["head"])'
}

printf '%8s %12s %12s %10s %6s %10s\n' "t (s)" "WAL (KiB)" "DB (KiB)" "RSS (MiB)" "fds" "events"
start=$(date +%s)
max_wal=0
while :; do
    now=$(( $(date +%s) - start ))
    wal=$(size "$work/soak.db-wal")
    (( wal > max_wal )) && max_wal=$wal
    if (( now % 60 < 10 )) || (( now >= duration )); then
        printf '%8d %12d %12d %10d %6d %10s\n' "$now" $((wal / 1024)) $(($(size "$work/soak.db") / 1024)) \
            $(($(rss_kb) / 1024)) "$(fds)" "$(head_seq)"
    fi
    (( now >= duration )) && break
    sleep 10
done
echo "largest WAL seen: $((max_wal / 1024)) KiB"

echo "==> sign-in flood: 3 rounds of 300 concurrent wrong passwords from 50 addresses"
before=$(rss_kb)
for round in 1 2 3; do
    seq 300 | xargs -P 300 -I{} sh -c "curl -s -o /dev/null -w '%{http_code}\n' \
        --interface 127.0.0.\$(( {} % 50 + 2 )) http://127.0.0.1:$port/api/v1/auth/login \
        -H 'content-type: application/json' -d '{\"email\":\"u{}r$round@acme.test\",\"password\":\"guess\"}'" |
        sort | uniq -c | tr '\n' ' '
    echo
done
sleep 2
echo "RSS before the flood: $((before / 1024)) MiB, after: $(($(rss_kb) / 1024)) MiB"

echo "==> the log: $(wc -l <"$log") lines; warnings and errors by message (a repeat shows as a count > 1)"
grep -E ' (WARN|ERROR) ' "$log" | sed -E 's/^[^ ]+ +//' | cut -c1-160 | sort | uniq -c | sort -rn | head -20 || true
