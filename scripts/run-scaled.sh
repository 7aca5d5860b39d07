#!/usr/bin/env bash
# Two server instances on one PostgreSQL database, the shape of a scaled deployment (README,
# "Running several instances (PostgreSQL)"): a private cluster in a temporary folder
# (scripts/pg-cluster.sh), the server built once, both with --demo: the demo organisations
# are seeded once, and the simulated agents run on whichever instance leads. Ctrl-C stops both instances and the cluster, and
# deletes the cluster's folder. Needs `scripts/install-deps.sh` first (Debian's postgresql).
#
# Usage: bash scripts/run-scaled.sh
#   PORT_1, PORT_2   the instances' ports on 127.0.0.1 (default 8787 and 8788)
# Each instance's log is in target/run-scaled-PORT.log.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
ports=("${PORT_1:-8787}" "${PORT_2:-8788}")

cargo build -p spartex-server-bin --locked
server="${CARGO_TARGET_DIR:-target}/debug/spartex-server"
mkdir -p target
logs=("target/run-scaled-${ports[0]}.log" "target/run-scaled-${ports[1]}.log")

pg_dir=""
pids=()
# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [[ -n $pg_dir ]]; then
        bash scripts/pg-cluster.sh stop "$pg_dir" || true
        rm -rf "$pg_dir"
    fi
}
trap cleanup EXIT
# Ctrl-C ends the script, which runs the cleanup above.
trap 'exit 130' INT TERM

# Under /tmp: as root the cluster belongs to `spartex-pg`, which must reach the folder.
pg_dir=$(mktemp -d /tmp/spartex-pg.XXXXXX)
admin_url=$(bash scripts/pg-cluster.sh start "$pg_dir")
# The same cluster, another database: the first instance creates it and migrates it.
database_url="${admin_url%/postgres}/spartex"

# Starts instance N (0 or 1) with more flags and waits until it answers; its log is shown if
# it stops instead.
start_instance() {
    local port=${ports[$1]} log=${logs[$1]}
    shift
    "$server" --listen "127.0.0.1:$port" --database-url "$database_url" "$@" >"$log" 2>&1 &
    pids+=($!)
    for _ in $(seq 600); do
        curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return
        kill -0 "${pids[-1]}" 2>/dev/null || { cat "$log" >&2; exit 1; }
        sleep 0.1
    done
    echo "the instance on port $port did not answer within 60 s; see $log" >&2
    exit 1
}

start_instance 0 --demo
# The demo sign-ins, once the first instance has seeded them (before the second starts, so
# the second finds the database ready).
until grep -q 'northwind.test' "${logs[0]}"; do
    kill -0 "${pids[0]}" 2>/dev/null || { cat "${logs[0]}" >&2; exit 1; }
    sleep 0.1
done
start_instance 1 --demo

cat <<EOF

Two instances of one server, on $database_url:
  http://127.0.0.1:${ports[0]}   (seeded the demo organisations)
  http://127.0.0.1:${ports[1]}
The simulated agents run on the instance that leads (its log says so); stop it and the other
takes them over within seconds.
Sign in on either with a demo user; a write on one reaches the sockets of both:
EOF
grep -E '^ *(owner|manager|oncall|viewer) ' "${logs[0]}" || true
cat <<EOF
For example, the CLI on the second instance (the app: the same URL in its "Server" field):
  spartex login --server http://127.0.0.1:${ports[1]} --email oncall@acme.test
Logs: ${logs[*]}. Ctrl-C stops both instances and the cluster.
EOF

# Until Ctrl-C, or until an instance stops on its own.
wait -n "${pids[@]}" || true
echo "an instance stopped; see its log" >&2
exit 1
