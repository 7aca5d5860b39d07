//! The app's Tauri config is `tauri.conf.json` at the repository root, beside the root
//! `Cargo.toml` that declares this package (the Tauri CLI reads both from there), so tauri-build
//! runs where cargo runs every build script: in the package's folder, the root.

fn main() {
    // Only what tauri-build reads: without a rerun-if-changed line, cargo would rerun this
    // script on a change to any file of the package's folder, the whole repository.
    println!("cargo:rerun-if-changed=tauri.conf.json");
    tauri_build::build()
}
