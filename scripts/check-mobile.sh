#!/usr/bin/env bash
# Type-checks the app for the phones, as far as a Debian machine without the Android NDK or
# Xcode can (../shared/design/mobile.md):
#   - the app's library (`spartex-desktop --lib`, the phone's entry point) for Android,
#     `aarch64-linux-android`, with clippy's `-D warnings` like the desktop: so desktop-only
#     code cannot break the phone build unseen, and phone-only code is linted too;
#   - the pure-Rust crates (spartex-api, spartex-policy) for iOS, `aarch64-apple-ios` (the
#     others compile C: ring, SQLCipher, and there is no iOS SDK to stand in for).
# Nothing is linked and no APK or IPA is made. The crates that compile C (ring, SQLCipher's
# amalgamation) are given Debian's clang as a stand-in for the NDK's, with arm64 glibc headers,
# the host's OpenSSL headers and Android's <android/log.h>: their objects are not real Android
# objects, they only let the Rust above them be checked.
#
# Usage: bash scripts/check-mobile.sh    (scripts/install-deps.sh installs what it needs;
#                                          scripts/test.sh runs both)
# Measured on two cores: 7 minutes cold (6m39s for Android), 2 s warm. Its own target folder is
# target/mobile-check, so it never invalidates the desktop build. The app embeds ui/dist
# (tauri::generate_context!), so the UI is built first when it is not.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

stand_in="${SPARTEX_MOBILE_STAND_IN:-${XDG_CACHE_HOME:-$HOME/.cache}/spartex-mobile-stand-in}"
liblog_include="$stand_in/liblog/usr/include/android"
for needed in clang llvm-ar; do
    if ! command -v "$needed" >/dev/null 2>&1; then
        echo "check-mobile: \`$needed\` is missing; run \`bash scripts/install-deps.sh\`" >&2
        exit 127
    fi
done
if [[ ! -f $liblog_include/android/log.h || ! -d /usr/aarch64-linux-gnu/include ]]; then
    echo "check-mobile: the stand-in headers are missing; run \`bash scripts/install-deps.sh\`" >&2
    exit 127
fi
installed_targets=$(rustup target list --installed)
for target in aarch64-linux-android aarch64-apple-ios; do
    if ! grep -qx "$target" <<<"$installed_targets"; then
        echo "check-mobile: the Rust target $target is missing; run \`bash scripts/install-deps.sh\`" >&2
        exit 127
    fi
done

# A sysroot whose usr/include is Debian's arm64 glibc headers, and the host's OpenSSL headers
# (SQLCipher's crypto) in a folder of their own, so no other host header leaks in.
sysroot="$stand_in/sysroot"
if [[ ! -e $sysroot/usr/include ]]; then
    mkdir -p "$sysroot/usr"
    ln -sfn /usr/aarch64-linux-gnu/include "$sysroot/usr/include"
fi
openssl_include="$stand_in/openssl-include"
if [[ ! -f $openssl_include/openssl/opensslconf.h || /usr/include/openssl/ssl.h -nt $openssl_include/openssl/ssl.h ]]; then
    rm -rf "$openssl_include"
    mkdir -p "$openssl_include/openssl"
    cp -p /usr/include/openssl/*.h "$openssl_include/openssl/"
    cp -p "/usr/include/$(gcc -print-multiarch)"/openssl/*.h "$openssl_include/openssl/"
fi

if [[ ! -f ui/dist/index.html ]]; then
    echo "==> the UI, which the app embeds"
    npm --prefix ui run build
fi

export CARGO_TARGET_DIR="$PWD/target/mobile-check"
export CC_aarch64_linux_android=clang
export AR_aarch64_linux_android=llvm-ar
export CFLAGS_aarch64_linux_android="--target=aarch64-linux-android24 --sysroot=$sysroot -isystem $openssl_include -isystem $liblog_include"

echo "==> Android: the app's library (spartex-desktop --lib) for aarch64-linux-android"
cargo clippy --target aarch64-linux-android -p spartex-desktop --lib --locked -- -D warnings
echo "==> iOS: the pure-Rust crates for aarch64-apple-ios"
cargo check --target aarch64-apple-ios -p spartex-api -p spartex-policy --locked
