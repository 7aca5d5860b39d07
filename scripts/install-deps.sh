#!/usr/bin/env bash
# Installs what building, running and testing Spartex Control needs on Debian, idempotently:
# system packages (only the missing ones), the UI's npm packages (from ui/package-lock.json),
# and the Rust tools the tests use. Usage: bash scripts/install-deps.sh
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
    # Building: C toolchain, OpenSSL and D-Bus headers, the WebKitGTK stack Tauri renders with.
    build-essential pkg-config libssl-dev libdbus-1-dev
    libwebkit2gtk-4.1-dev libsoup-3.0-dev libjavascriptcoregtk-4.1-dev libgtk-3-dev
    libayatana-appindicator3-dev librsvg2-dev
    # Node.js and npm for the UI, when the machine has none.
    $(command -v npm >/dev/null 2>&1 || echo nodejs npm)
    # A desktop session for tests and headless runs: D-Bus, the Secret Service, a notification
    # daemon, an X server; WebKitWebDriver for the end-to-end tests; ImageMagick for screenshots
    # and xdotool to find and resize the app's window through X, as a window manager would.
    dbus dbus-x11 gnome-keyring libsecret-tools dunst xvfb xauth at-spi2-core
    webkit2gtk-driver imagemagick xdotool desktop-file-utils curl
    # PostgreSQL's server binaries: the PostgreSQL store's tests run a private cluster of them
    # (scripts/pg-cluster.sh), not the system service the package also sets up.
    postgresql
    # unshare and nsenter: the CLI's full-disk tests mount a small tmpfs in a namespace of their own.
    util-linux
    # Python with venv for the API fuzz test (scripts/api-fuzz.sh pins Schemathesis in a venv).
    python3 python3-venv
    # The phone type-check (scripts/check-mobile.sh): Debian's clang stands in for the Android
    # NDK's C compiler, with the arm64 glibc headers (../shared/design/mobile.md).
    clang llvm libc6-dev-arm64-cross
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

# Rust itself, by rustup's stable channel, on a machine that has none; a machine with cargo keeps
# its own. The scripts that call this one look in ~/.cargo/bin too.
cargo_bin="${CARGO_HOME:-$HOME/.cargo}/bin"
if ! command -v cargo >/dev/null 2>&1; then
    [[ -x $cargo_bin/cargo ]] || {
        echo "==> installing Rust (rustup, stable, minimal profile)"
        curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
    }
    export PATH="$cargo_bin:$PATH"
fi
# The workspace's rust-version (Cargo.toml): an older toolchain is brought up to stable.
rust_minor=$(rustc --version | sed -E 's/^rustc 1\.([0-9]+).*/\1/')
needed_minor=$(sed -nE 's/^rust-version = "1\.([0-9]+)".*/\1/p' Cargo.toml)
if ((rust_minor < needed_minor)); then
    echo "==> rustc 1.$rust_minor is older than the workspace's 1.$needed_minor; updating the stable toolchain"
    rustup toolchain install stable --profile minimal && rustup default stable
fi

if [[ ! -d ui/node_modules ]] || [[ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]]; then
    echo "==> installing the UI's npm packages"
    npm --prefix ui ci --no-audit --no-fund
fi

if ! cargo nextest --version >/dev/null 2>&1; then
    echo "==> installing cargo-nextest"
    cargo install --locked cargo-nextest
fi
if ! command -v tauri-driver >/dev/null 2>&1; then
    echo "==> installing tauri-driver"
    cargo install --locked tauri-driver
fi
# The phone type-check: Rust's targets, and Android's <android/log.h> (from Debian's
# android-liblog-dev, unpacked into a cache folder: installing it would pull Android's runtime
# libraries into the host).
installed_targets=$(rustup target list --installed)
for target in aarch64-linux-android aarch64-apple-ios; do
    grep -qx "$target" <<<"$installed_targets" || rustup target add "$target"
done
stand_in="${SPARTEX_MOBILE_STAND_IN:-${XDG_CACHE_HOME:-$HOME/.cache}/spartex-mobile-stand-in}"
if [[ ! -f $stand_in/liblog/usr/include/android/android/log.h ]]; then
    echo "==> unpacking android-liblog-dev's headers into $stand_in/liblog"
    mkdir -p "$stand_in/download"
    (cd "$stand_in/download" && apt-get download android-liblog-dev >/dev/null)
    dpkg -x "$(ls -t "$stand_in"/download/android-liblog-dev_*.deb | head -n 1)" "$stand_in/liblog"
fi

rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt clippy
