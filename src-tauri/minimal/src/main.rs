//! The smallest Tauri 2 app: one window showing one static page. `cargo bench -p
//! spartex-desktop --bench desktop` measures Spartex Control against it. It says on stderr when
//! its page starts loading and when it has loaded (with the time since `main`, to compare the
//! two shells), which is the floor for any Tauri app's launch time on the machine, and when the
//! page's first frame has been painted (the page tells it, two animation frames after
//! it runs, as Spartex Control's UI does).

use tauri::webview::PageLoadEvent;

#[tauri::command]
fn painted() {
    eprintln!("page painted");
}

fn main() {
    let started = std::time::Instant::now();
    tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![painted])
        .on_page_load(move |_, payload| {
            let step = match payload.event() {
                PageLoadEvent::Started => "started",
                PageLoadEvent::Finished => "loaded",
            };
            eprintln!(
                "page {step} at {} ms since main",
                started.elapsed().as_millis()
            );
        })
        .run(tauri::generate_context!())
        .expect("the minimal app runs");
}
