#!/usr/bin/env bash
# Fuzzes the HTTP API from its own OpenAPI document: starts a real spartex-server with the demo
# world on a fresh SQLite file and a free loopback port, and runs Schemathesis (pinned, in its
# own venv) against GET /api/v1/openapi.json. Fails on any 5xx, any status the document does
# not list for that operation, any answer whose body, content type or headers do not match it,
# any request that breaks the document's constraints yet is accepted, and any route that states
# a token but serves without one. Three passes, about two minutes on two cores: agent routes
# (with an agent's token), people's routes (the owner's), then sign-out (a session of its own).
#
# Usage: bash scripts/api-fuzz.sh
#   SPARTEX_FUZZ_EXAMPLES  cases per operation and phase (default 100)
#   SPARTEX_FUZZ_SEED      replay a run with the seed it printed
#   SPARTEX_FUZZ_REPORT_DIR  keep every request and answer there, as HAR files
#   SPARTEX_SERVER_BIN     a server binary to fuzz instead of building target/debug's
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

venv=$root/.venv-fuzz
requirements=$root/scripts/api-fuzz/requirements.txt
examples=${SPARTEX_FUZZ_EXAMPLES:-100}
# A ceiling for each pass: a run that hangs fails instead of holding CI.
pass_timeout_s=240

# Schemathesis 4.32.5 and every package under it, pinned; reinstalled when the pins change.
if ! cmp -s "$requirements" "$venv/installed-requirements.txt"; then
    echo "==> installing the API fuzzer's pinned Python packages into $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps -r "$requirements"
    cp "$requirements" "$venv/installed-requirements.txt"
fi

server_bin=${SPARTEX_SERVER_BIN:-}
if [[ -z $server_bin ]]; then
    export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
    cargo build --quiet -p spartex-server-bin --locked
    server_bin=$root/target/debug/spartex-server
fi

work=$(mktemp -d)
server_pid=""
cleanup() {
    if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

echo "==> starting spartex-server --demo on a fresh database"
: >"$work/server.log" # exists before the loop below reads it, however late the server starts
# The people's pass sends thousands of writes from one sign-in, where a person's write quota
# (60 at once, then 10 a second) would answer most of them 429 before any handler read them:
# lifted, so the fuzzer reaches the handlers (the document still lists the 429).
SPARTEX_LOG=info "$server_bin" --listen 127.0.0.1:0 --database-url "sqlite://$work/fuzz.db" \
    --demo --demo-pace 0.5 --demo-password spartex-demo \
    --user-write-burst 1000000 --user-writes-per-second 1000000 >"$work/server.log" 2>&1 &
server_pid=$!
base=""
for _ in $(seq 1 600); do
    base=$(sed -n 's/^Demo organisations are ready at \(http[^ ]*\)\. .*/\1/p' "$work/server.log")
    [[ -n $base ]] && break
    if ! kill -0 "$server_pid" 2>/dev/null; then
        cat "$work/server.log" >&2
        echo "api-fuzz: the server exited before it was ready" >&2
        exit 1
    fi
    sleep 0.1
done
[[ -n $base ]] || { cat "$work/server.log" >&2; echo "api-fuzz: the server never got ready" >&2; exit 1; }

# Small JSON calls with the venv's Python, so the script needs nothing beyond python3.
api() { # METHOD PATH TOKEN [BODY] -> prints the answer's JSON
    "$venv/bin/python" - "$base" "$@" <<'PY'
import json, sys, urllib.request
base, method, path, token = sys.argv[1:5]
body = sys.argv[5].encode() if len(sys.argv) > 5 else None
request = urllib.request.Request(base + path, data=body, method=method)
request.add_header("Content-Type", "application/json")
if token:
    request.add_header("Authorization", "Bearer " + token)
with urllib.request.urlopen(request, timeout=30) as response:
    print(response.read().decode())
PY
}
field() { # DOTTED.PATH: prints that field of the JSON on stdin
    "$venv/bin/python" -c 'import json, sys
value = json.load(sys.stdin)
for key in sys.argv[1].split("."):
    value = value[int(key) if key.isdigit() else key]
print(value)' "$1"
}
sign_in() { api POST /api/v1/auth/login "" '{"email":"owner@acme.test","password":"spartex-demo"}' | field access_token; }

# Every credential is taken before fuzzing starts: fuzzed sign-ins may throttle this address.
SPARTEX_FUZZ_USER_TOKEN=$(sign_in)
SPARTEX_FUZZ_LOGOUT_TOKEN=$(sign_in)
# The fuzzed agent works in a project of its own, which the demo's spending cannot pause.
project=$(api POST /api/v1/projects "$SPARTEX_FUZZ_USER_TOKEN" \
    '{"name":"Fuzz","description":"Where scripts/api-fuzz.sh works","budget_usd":1000000}' | field id)
agent=$(api POST "/api/v1/projects/$project/agents" "$SPARTEX_FUZZ_USER_TOKEN" \
    '{"name":"Fuzz","role":"Fuzzer","model":"none"}')
SPARTEX_FUZZ_AGENT_TOKEN=$(field agent_token <<<"$agent")
# Its token is replaced as the people's routes are fuzzed (hooks.py), after the agent pass.
SPARTEX_FUZZ_AGENT="$project $(field agent.id <<<"$agent")"
# The demo's agents ask for approvals as they work; wait for a few to decide (hooks.py).
SPARTEX_FUZZ_APPROVAL_IDS=""
for _ in $(seq 1 60); do
    SPARTEX_FUZZ_APPROVAL_IDS=$(api GET /api/v1/approvals "$SPARTEX_FUZZ_USER_TOKEN" |
        "$venv/bin/python" -c 'import json, sys; print(" ".join(a["id"] for a in json.load(sys.stdin)))')
    [[ $(wc -w <<<"$SPARTEX_FUZZ_APPROVAL_IDS") -ge 3 ]] && break
    sleep 1
done
export SPARTEX_FUZZ_USER_TOKEN SPARTEX_FUZZ_LOGOUT_TOKEN SPARTEX_FUZZ_AGENT_TOKEN SPARTEX_FUZZ_AGENT
export SPARTEX_FUZZ_APPROVAL_IDS
export SPARTEX_FUZZ_HOOKS=$root/scripts/api-fuzz/hooks.py

checks=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance
checks+=,response_headers_conformance,negative_data_rejection,ignored_auth
extra_args=()
[[ -n ${SPARTEX_FUZZ_SEED:-} ]] && extra_args+=(--seed "$SPARTEX_FUZZ_SEED")
[[ -n ${SPARTEX_FUZZ_REPORT_DIR:-} ]] && extra_args+=(--report har --report-dir "$SPARTEX_FUZZ_REPORT_DIR")
failed=()
fuzz() { # NAME FILTER-ARGS...
    local name=$1 status=0
    shift
    echo "==> fuzzing $name"
    # Schemathesis keeps its caches in the working directory: keep them out of the repository.
    (cd "$work" && timeout "$pass_timeout_s" "$venv/bin/schemathesis" \
        --config-file "$root/scripts/api-fuzz/schemathesis.toml" \
        run "$base/api/v1/openapi.json" "$@" \
        --checks "$checks" --phases examples,coverage,fuzzing,stateful \
        --max-examples "$examples" --workers 2 --request-timeout 20 \
        --generation-database none --no-color --output-truncate true "${extra_args[@]}") || status=$?
    if ((status == 124)); then
        failed+=("$name (still running after ${pass_timeout_s} s)")
    elif ((status)); then
        failed+=("$name (schemathesis exited with $status)")
    fi
}

start=$SECONDS
# Agents first: the people's pass pulls the emergency stop, which stops this agent too.
fuzz "the agent-worker routes" --include-path-regex '^/api/v1/agent/'
fuzz "the people's routes" --exclude-path-regex '^/api/v1/(agent/|auth/logout$)'
fuzz "sign-out" --include-path /api/v1/auth/logout

if ! kill -0 "$server_pid" 2>/dev/null; then
    status=0
    wait "$server_pid" || status=$?
    server_pid=""
    failed+=("the server exited during the run, with status $status")
elif grep -q "panicked" "$work/server.log"; then
    failed+=("the server's log shows a panic")
fi
if ((${#failed[@]})); then
    echo "--- the server's log (last 60 lines)" >&2
    tail -n 60 "$work/server.log" >&2
    printf 'api-fuzz: FAILED: %s\n' "${failed[@]}" >&2
    exit 1
fi
echo "==> api-fuzz: no 5xx and no answer outside the document ($((SECONDS - start)) s of fuzzing)"
