#!/usr/bin/env bash
# (Re)generates the Android Studio project, mobile/android (the Tauri CLI's gen/android, a
# symlink to it), with `tauri android init`, then puts back what this repository adds to the
# generated files (mobile/README.md, "The Android project"). Idempotent; the result is what is
# committed, so after a Tauri CLI upgrade run it and review the diff.
#
# Usage: bash scripts/android-init.sh
# Needs the UI's npm packages (the Tauri CLI is a devDependency of ui/). Without an Android SDK
# or NDK it uses Debian's android-sdk folder and a stand-in NDK folder: generating the project
# needs neither, building it needs both (mobile/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ ! -x ui/node_modules/.bin/tauri ]]; then
    echo "android-init: the Tauri CLI is missing; run \`npm --prefix ui ci\`" >&2
    exit 127
fi
export ANDROID_HOME="${ANDROID_HOME:-/usr/lib/android-sdk}"
if [[ -z ${NDK_HOME:-} ]]; then
    ndk=$(ls -d "$ANDROID_HOME"/ndk/*/ 2>/dev/null | sort -V | tail -n 1 || true)
    if [[ -z $ndk ]]; then
        # The CLI only reads the NDK's version while generating the project.
        ndk="${XDG_CACHE_HOME:-$HOME/.cache}/spartex-mobile-stand-in/ndk"
        mkdir -p "$ndk"
        echo "Pkg.Revision = 27.0.12077973" >"$ndk/source.properties"
    fi
    export NDK_HOME="$ndk"
fi

# The CLI writes into gen/android; in this repository that is a symlink to mobile/android. It
# regenerates an existing project through the symlink, and creates a new one only in a real
# folder, which then moves to mobile/.
mkdir -p gen mobile
if [[ -f mobile/android/settings.gradle ]]; then
    [[ -L gen/android ]] || ln -sfn ../mobile/android gen/android
else
    rm -rf gen/android mobile/android
fi
# Run through node, not npm: the generated Gradle task then calls the CLI by its script's path
# (patched below) from the repository root, which has no package.json of its own.
env -u npm_execpath -u npm_lifecycle_event -u PNPM_PACKAGE_NAME \
    node ui/node_modules/@tauri-apps/cli/tauri.js android init --ci --skip-targets-install
if [[ ! -L gen/android ]]; then
    mv gen/android mobile/android
    ln -sfn ../mobile/android gen/android
fi

project=mobile/android
# The launcher icons, from the app's (the template's are Tauri's). `tauri icon` makes every
# platform's sizes; only the Android ones are kept.
icons_out=$(mktemp -d)
node ui/node_modules/@tauri-apps/cli/tauri.js icon icons/icon.png --output "$icons_out" >/dev/null
cp -r "$icons_out"/android/. "$project/app/src/main/res/"
rm -rf "$icons_out"
build_task=$(find "$project/buildSrc" -name BuildTask.kt)
# Gradle's Rust step calls back into the Tauri CLI from the repository root.
sed -i 's|val args = listOf("tauri", "android", "android-studio-script")|val args = listOf("ui/node_modules/@tauri-apps/cli/tauri.js", "android", "android-studio-script")|' "$build_task"
grep -q 'ui/node_modules/@tauri-apps/cli/tauri.js' "$build_task"

# Firebase Cloud Messaging: the Google services Gradle plugin, applied only when the Firebase
# project's google-services.json is in app/ (a build without it runs, without push).
if ! grep -q 'com.google.gms:google-services' "$project/build.gradle.kts"; then
    sed -i 's|^\(\s*\)classpath("org.jetbrains.kotlin:kotlin-gradle-plugin:\(.*\)")$|&\n\1classpath("com.google.gms:google-services:4.4.2")|' "$project/build.gradle.kts"
fi
grep -q 'com.google.gms:google-services' "$project/build.gradle.kts"
if ! grep -q 'Added by scripts/android-init.sh' "$project/app/build.gradle.kts"; then
    cat >>"$project/app/build.gradle.kts" <<'GRADLE'

// Added by scripts/android-init.sh (mobile/README.md).
// Release signing from keystore.properties beside this project's settings.gradle (kept out of
// git): storeFile, storePassword, keyAlias, keyPassword. Without it a release build is unsigned.
val keystoreProperties = Properties().apply {
    val propFile = rootProject.file("keystore.properties")
    if (propFile.exists()) {
        propFile.inputStream().use { load(it) }
    }
}
if (keystoreProperties.containsKey("storeFile")) {
    android {
        signingConfigs {
            create("release") {
                storeFile = file(keystoreProperties.getProperty("storeFile"))
                storePassword = keystoreProperties.getProperty("storePassword")
                keyAlias = keystoreProperties.getProperty("keyAlias")
                keyPassword = keystoreProperties.getProperty("keyPassword")
            }
        }
        buildTypes {
            getByName("release") {
                signingConfig = signingConfigs.getByName("release")
            }
        }
    }
}
// Push through Firebase Cloud Messaging: the Firebase project's google-services.json in this
// folder (kept out of git). Without it the app builds and runs, and registers no FCM token.
if (file("google-services.json").exists()) {
    apply(plugin = "com.google.gms.google-services")
}
GRADLE
fi
if ! grep -qx 'google-services.json' "$project/app/.gitignore"; then
    [[ -z $(tail -c 1 "$project/app/.gitignore") ]] || echo >>"$project/app/.gitignore"
    echo 'google-services.json' >>"$project/app/.gitignore"
fi
# Nothing of the app's data leaves the phone in a backup or a transfer to a new phone: the
# accounts, the cache and its outbox belong to this device (a restored outbox would deliver
# its decisions a second time from another phone). The template's file provider shares the
# whole external storage; the app shares no file, so it keeps the cache folder only.
manifest="$project/app/src/main/AndroidManifest.xml"
if ! grep -q 'android:allowBackup' "$manifest"; then
    sed -i 's|^\(\s*\)<application$|&\n\1    android:allowBackup="false"\n\1    android:fullBackupContent="false"\n\1    android:dataExtractionRules="@xml/data_extraction_rules"|' "$manifest"
fi
grep -q 'android:allowBackup="false"' "$manifest"
cat >"$project/app/src/main/res/xml/data_extraction_rules.xml" <<'XML'
<?xml version="1.0" encoding="utf-8"?>
<!-- Written by scripts/android-init.sh: nothing is backed up or moved to another phone. -->
<data-extraction-rules>
    <cloud-backup>
        <exclude domain="root" />
        <exclude domain="file" />
        <exclude domain="database" />
        <exclude domain="sharedpref" />
        <exclude domain="external" />
    </cloud-backup>
    <device-transfer>
        <exclude domain="root" />
        <exclude domain="file" />
        <exclude domain="database" />
        <exclude domain="sharedpref" />
        <exclude domain="external" />
    </device-transfer>
</data-extraction-rules>
XML
sed -i '/<external-path /d' "$project/app/src/main/res/xml/file_paths.xml"
echo "==> $project is generated; see mobile/README.md to build it"
