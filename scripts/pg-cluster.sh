#!/usr/bin/env bash
# A private PostgreSQL cluster in a folder, for tests and local runs: no system service, no
# password, reachable on loopback only. Usage:
#
#   bash scripts/pg-cluster.sh start DIR   # initdb (once) and start; prints the postgres:// URL
#   bash scripts/pg-cluster.sh stop DIR    # stops it (the folder stays; delete it to start over)
#
# Debian's server binaries (/usr/lib/postgresql/<newest>/bin; `scripts/install-deps.sh`
# installs the package). initdb refuses to run as root, so as root the cluster belongs to the
# system user `spartex-pg` (created when missing); DIR must then be reachable by that user
# (a folder under /tmp is). Durability is off (fsync, synchronous_commit, full_page_writes):
# this cluster is for data a test can lose.
set -euo pipefail

usage() {
    echo "usage: $0 start|stop DIR" >&2
    exit 2
}
(($# == 2)) || usage
command=$1
mkdir -p "$2"
dir=$(cd "$2" && pwd)
data="$dir/data"

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [[ -z $bin ]]; then
    echo "no PostgreSQL server in /usr/lib/postgresql: run scripts/install-deps.sh (Debian's postgresql)" >&2
    exit 1
fi

# Runs a PostgreSQL binary as the cluster's owner.
as_owner=()
if [[ $(id -u) -eq 0 ]]; then
    owner=spartex-pg
    id -u "$owner" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$owner"
    chown "$owner": "$dir"
    as_owner=(runuser -u "$owner" --)
fi

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

case $command in
start)
    if [[ ! -f $data/PG_VERSION ]]; then
        started=$(date +%s.%N)
        "${as_owner[@]}" "$bin/initdb" --pgdata="$data" --username=postgres --auth=trust \
            --encoding=UTF8 --locale=C --no-instructions >"$dir/initdb.log" 2>&1 || {
            cat "$dir/initdb.log" >&2
            exit 1
        }
        # Loopback and the socket in DIR only, both without a password.
        cat >"$data/pg_hba.conf" <<'EOF'
local all all              trust
host  all all 127.0.0.1/32 trust
host  all all ::1/128      trust
EOF
        echo "initdb took $(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $started }") s" >&2
    fi
    if "${as_owner[@]}" "$bin/pg_ctl" status --pgdata="$data" >/dev/null 2>&1; then
        port=$(sed -n 4p "$data/postmaster.pid")
    else
        port=$(free_port)
        "${as_owner[@]}" "$bin/pg_ctl" start --pgdata="$data" --log="$dir/postgres.log" --wait \
            --options="-c port=$port -c listen_addresses=127.0.0.1 -c unix_socket_directories='$dir' \
                -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
            >/dev/null || {
            cat "$dir/postgres.log" >&2
            exit 1
        }
    fi
    echo "postgres://postgres@127.0.0.1:$port/postgres"
    ;;
stop)
    if [[ -f $data/postmaster.pid ]]; then
        "${as_owner[@]}" "$bin/pg_ctl" stop --pgdata="$data" --mode=fast --wait >/dev/null
    fi
    ;;
*)
    usage
    ;;
esac
