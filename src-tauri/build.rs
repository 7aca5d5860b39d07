//! The app's Tauri config is `tauri.conf.json` at the repository root (the Tauri CLI finds it
//! there, and `generate_context!` reads the same file), so tauri-build runs from the root too.

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("src-tauri sits in the repository root")
        .to_path_buf();
    println!(
        "cargo:rerun-if-changed={}",
        root.join("tauri.conf.json").display()
    );
    std::env::set_current_dir(&root).expect("the repository root is readable");
    tauri_build::build()
}
