//! The smallest Tauri 2 app: one window showing one static page. `cargo bench -p
//! spartex-desktop --bench desktop` measures Spartex Control against it. It says on stderr when
//! its page has loaded, which is the floor for any Tauri app's launch time on the machine, and
//! when the page's first frame has been painted (the page tells it, two animation frames after
//! it runs, as Spartex Control's UI does).

use tauri::webview::PageLoadEvent;

#[tauri::command]
fn painted() {
    eprintln!("page painted");
}

fn main() {
    tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![painted])
        .on_page_load(|_, payload| {
            if payload.event() == PageLoadEvent::Finished {
                eprintln!("page loaded");
            }
        })
        .run(tauri::generate_context!())
        .expect("the minimal app runs");
}
