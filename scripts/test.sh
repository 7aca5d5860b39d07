#!/usr/bin/env bash
# Runs every test of the workspace, installing what the tests need first (idempotent).
# Usage: bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages that builds and tests need. Only installed when something is missing.
# The keyring and notification tests run in a real desktop session (scripts/test-env.sh):
# D-Bus, gnome-keyring (Secret Service), dunst (notifications) and Xvfb (which dunst needs).
packages=(
    build-essential pkg-config libssl-dev libdbus-1-dev
    dbus dbus-x11 gnome-keyring dunst xvfb xauth libsecret-tools
)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
    echo "==> installing ${missing[*]}"
    sudo_cmd=""; [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}"
fi

if ! cargo nextest --version >/dev/null 2>&1; then
    echo "==> installing cargo-nextest"
    cargo install --locked cargo-nextest
fi
rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt clippy

echo "==> format"
cargo fmt --all --check
echo "==> lint"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "==> tests (in a throwaway D-Bus session with gnome-keyring and dunst)"
bash scripts/test-env.sh cargo nextest run --workspace --locked --no-fail-fast
