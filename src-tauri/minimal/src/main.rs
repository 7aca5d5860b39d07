//! The smallest Tauri 2 app: one window showing one static page. `cargo bench -p
//! spartex-desktop --bench desktop` measures Spartex Control against it.

fn main() {
    tauri::Builder::default()
        .run(tauri::generate_context!())
        .expect("the minimal app runs");
}
