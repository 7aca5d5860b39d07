#!/usr/bin/env bash
# Runs a command inside a throwaway desktop session: a private D-Bus session bus, an unlocked
# gnome-keyring (the Secret Service), an Xvfb display and a dunst notification daemon, with a
# fresh HOME and XDG_RUNTIME_DIR. Sets SPARTEX_TEST_DESKTOP=1, which turns on the tests that
# need the real keyring and notification daemon. Everything it starts is ended afterwards, and
# it exits with the command's exit code.
#
# Usage: bash scripts/test-env.sh cargo nextest run --workspace
#
# It installs nothing: scripts/test.sh installs the packages (dbus, dbus-x11, gnome-keyring,
# dunst, xvfb, xauth, libsecret-tools).
set -euo pipefail

if (($# == 0)); then
    echo "usage: bash scripts/test-env.sh COMMAND [ARGS...]" >&2
    exit 2
fi

for tool in dbus-run-session dbus-send dbus-monitor Xvfb dunst gnome-keyring-daemon; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "test-env: \`$tool\` is missing; run \`bash scripts/test.sh\` once, it installs what the tests need" >&2
        exit 127
    fi
done

# HOME moves below; cargo and rustup must keep finding their toolchains and registry.
export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"

root=$(mktemp -d "${TMPDIR:-/tmp}/spartex-test-env.XXXXXX")
trap 'rm -rf "$root"' EXIT

# The part that runs inside the private session bus. "$1" is $root, the rest is the command.
inner=$(
    cat <<'EOF'
set -uo pipefail
root=$1
shift

pids=()
cleanup() {
    # Services the bus started on demand (portals, at-spi) are ours too: end every client of
    # this private bus, then what we started ourselves.
    local names name pid
    names=$(dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
        org.freedesktop.DBus.ListNames 2>/dev/null | sed -n 's/^ *string "\(:[^"]*\)"$/\1/p')
    for name in $names; do
        pid=$(dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
            org.freedesktop.DBus.GetConnectionUnixProcessID "string:$name" 2>/dev/null |
            sed -n 's/^ *uint32 \([0-9]*\)$/\1/p')
        if [[ -n $pid && $pid != "$$" ]]; then
            pids+=("$pid")
        fi
    done
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null
    done
}
trap cleanup EXIT

# Waits (at most 10 s) until a well-known name has an owner on the session bus.
wait_for_name() {
    local name=$1 pid=$2
    for _ in $(seq 100); do
        if dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
            org.freedesktop.DBus.NameHasOwner "string:$name" 2>/dev/null | grep -q 'boolean true'; then
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "test-env: the process that should own $name died; its log follows" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "test-env: nothing owned $name on the session bus after 10 s" >&2
    return 1
}

export HOME=$root/home XDG_RUNTIME_DIR=$root/runtime NO_AT_BRIDGE=1
mkdir -m 700 "$HOME" "$XDG_RUNTIME_DIR"

# Xvfb picks a free display itself and writes its number to fd 3. The screen is taller than
# any window the tests open (the phone is 390x844), so no part of a window is off-screen.
Xvfb -displayfd 3 -screen 0 1280x1024x24 -nolisten tcp 3>"$root/display" 2>"$root/xvfb.log" &
pids+=($!)
for _ in $(seq 100); do
    [[ -s $root/display ]] && break
    sleep 0.1
done
if [[ ! -s $root/display ]]; then
    echo "test-env: Xvfb did not start:" >&2
    cat "$root/xvfb.log" >&2
    exit 1
fi
export DISPLAY=":$(tr -d '[:space:]' <"$root/display")"

# A fresh login keyring, created and unlocked with a throwaway password.
printf pw | gnome-keyring-daemon --foreground --unlock --components=secrets \
    >"$root/keyring.env" 2>"$root/keyring.log" &
pids+=($!)
wait_for_name org.freedesktop.secrets "${pids[-1]}" || { cat "$root/keyring.log" >&2; exit 1; }

# Notifications stay until they are acted on or closed, as a critical one does anywhere: the
# tests check that the app closes what it no longer needs, which an expiry would hide.
cat >"$root/dunstrc" <<'DUNSTRC'
[global]
    idle_threshold = 0
[urgency_low]
    timeout = 0
[urgency_normal]
    timeout = 0
[urgency_critical]
    timeout = 0
DUNSTRC
dunst -config "$root/dunstrc" >"$root/dunst.log" 2>&1 &
pids+=($!)
wait_for_name org.freedesktop.Notifications "${pids[-1]}" || { cat "$root/dunst.log" >&2; exit 1; }

export SPARTEX_TEST_DESKTOP=1
"$@"
rc=$?
exit "$rc"
EOF
)

# dbus-run-session ends the bus when the command exits; the command's exit code is ours.
dbus-run-session -- bash -c "$inner" test-env "$root" "$@"
