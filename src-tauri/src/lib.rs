//! Spartex Control's Tauri shell: commands and events as thin adapters over `spartex-core`,
//! deep links, plus what only a desktop has (notifications with buttons, tray, one instance,
//! remembered window; `cfg(desktop)`). The same library is the phone app's entry point
//! (`mobile_entry_point`); `scripts/check-mobile.sh` type-checks it for Android.

// The window's close and Quit are a desktop's; a phone compiles Quit for the shared commands.
#[cfg_attr(mobile, allow(dead_code))]
mod background;
mod bridge;
// Before `commands`: its macro is used there.
#[macro_use]
mod command_list;
mod commands;
mod error;
mod first_frame;
mod navigation;
// Registration is a phone's; the desktop compiles the rest for its tests and the commands.
#[cfg_attr(desktop, allow(dead_code))]
mod paging;
#[cfg(any(mobile, test))]
mod phone;
// Showing, removing and registering are a phone's; the desktop compiles the rest for its tests.
#[cfg_attr(desktop, allow(dead_code))]
mod push;
pub mod rendering;
mod responses;
mod shutdown;
mod state;
#[cfg(desktop)]
mod tray;
mod window;

#[cfg(test)]
mod bindings;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use spartex_core::{Core, CoreConfig};
use tauri::{Manager, RunEvent};

use crate::state::Shell;

/// When the process started the shell, for the startup figures.
pub struct Launched {
    at: Instant,
    dashboard_read: AtomicBool,
}

impl Launched {
    fn now() -> Launched {
        Launched {
            at: Instant::now(),
            dashboard_read: AtomicBool::new(false),
        }
    }

    fn elapsed(&self) -> Duration {
        self.at.elapsed()
    }

    /// True only for the launch's first dashboard read, the one the startup log times.
    fn first_dashboard_read(&self) -> bool {
        !self.dashboard_read.swap(true, Ordering::Relaxed)
    }

    /// Logs how long after the start `step` was reached; the desktop bench prints these lines
    /// with `SPARTEX_BENCH_VERBOSE=1`, to tell where a launch spends its time.
    pub(crate) fn reached(&self, step: &'static str) {
        tracing::info!(
            target: "spartex::startup",
            step,
            ms = self.elapsed().as_millis() as u64,
            "reached"
        );
    }
}

#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    let launched = Launched::now();
    rendering::choose_painting();
    init_tracing();
    let builder = plugins(tauri::Builder::default());
    #[cfg(desktop)]
    let builder = builder.manage(Shell::new(Core::new(desktop_config())));
    #[cfg(desktop)]
    let builder = builder
        .on_window_event(background::on_window_event)
        .manage(background::ToldStillRunning::default());
    let builder = builder
        .manage(launched)
        .manage(shutdown::Exiting::default())
        .manage(window::Revealed::default())
        .manage(background::QuitAsked::default())
        .manage(push::ShownHere::default())
        .manage(paging::Paging::default())
        .invoke_handler(commands::handler())
        .on_page_load(|webview, payload| {
            let step = match payload.event() {
                tauri::webview::PageLoadEvent::Started => "page load started",
                tauri::webview::PageLoadEvent::Finished => "page load finished",
            };
            webview.state::<Launched>().reached(step);
            // A page with a first frame has its first screen already: the window shows while
            // the UI's scripts are parsed, and gets its size meanwhile.
            if payload.event() == tauri::webview::PageLoadEvent::Finished
                && webview.state::<first_frame::FirstFrame>().served_a_frame()
            {
                window::reveal(webview.app_handle());
            }
        })
        .setup(|app| {
            app.state::<Launched>().reached("setup started");
            // A phone's data folder is the app's own, which only a running app can name.
            #[cfg(mobile)]
            app.manage(Shell::new(Core::new(phone_config(app.handle())?)));
            app.manage(first_frame::FirstFrame::new(&ui_page(app.handle())));
            create_window(app.handle())?;
            setup(app.handle());
            window::reveal_after(app.handle(), window::LATEST_REVEAL);
            app.state::<Launched>().reached("setup done");
            // Opening the cache (its key from the secret store, SQLCipher) runs while the
            // webview starts; the UI's first commands wait for it.
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                let shell = handle.state::<Shell>();
                let last = shell.open_last().await;
                offer_first_frame(&handle, last.as_ref()).await;
                if let Some(account) = last {
                    if let Err(error) = shell.activate(&handle, account).await {
                        tracing::warn!(message = %error.message, "could not resume the last account");
                    }
                }
                shell.mark_restored();
                let launched = handle.state::<Launched>();
                tracing::info!(
                    target: "spartex::startup",
                    ms = launched.elapsed().as_millis() as u64,
                    "restored"
                );
            });
            Ok(())
        });
    let app = match builder.build(tauri::generate_context!()) {
        Ok(app) => {
            app.state::<Launched>().reached("built");
            app
        }
        Err(error) => {
            eprintln!("Spartex Control cannot start: {error}");
            std::process::exit(1);
        }
    };
    app.run(|handle, event| match event {
        // The caches are closed cleanly (a checkpoint, then SQLCipher's teardown) before the
        // exit goes through, without holding the main thread meanwhile (`shutdown`).
        RunEvent::ExitRequested { code, api, .. } => {
            shutdown::on_exit_requested(handle, code, &api)
        }
        RunEvent::Exit => shutdown::on_exit(handle),
        // The Dock icon of an app whose window was closed (`background`).
        #[cfg(target_os = "macos")]
        RunEvent::Reopen { .. } => window::show(handle),
        // A phone brought back from the background: what changed meanwhile is read at once,
        // where the screen showed what the cache held before the phone slept until the
        // socket's silence was noticed (up to 45 s); a phone that was not paged tries again
        // (notifications turned on in its settings meanwhile do not restart the app).
        #[cfg(mobile)]
        RunEvent::Resumed => {
            let handle = handle.clone();
            tauri::async_runtime::spawn(async move {
                let Ok(account) = handle.state::<Shell>().account().await else {
                    return;
                };
                if handle.state::<paging::Paging>().problem().is_some() {
                    if let Err(error) = paging::register(&handle, &account, None).await {
                        tracing::info!(message = %error.message, "still not paged");
                    }
                }
                if let Err(error) = account.sync_now().await {
                    tracing::info!(%error, "could not catch up as the app came back");
                }
            });
        }
        _ => {}
    });
}

/// The platform's data folder (or `SPARTEX_HOME`) and the OS secret store.
#[cfg(desktop)]
fn desktop_config() -> CoreConfig {
    match CoreConfig::os_default() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("Spartex Control cannot start: {error}");
            std::process::exit(2);
        }
    }
}

/// The app's private data folder (`dirs`, which the core asks on a desktop, knows none on
/// Android) and the OS secret store (the Keychain on iOS; Android has no `keyring` backend yet:
/// mobile/README.md).
#[cfg(mobile)]
fn phone_config(app: &tauri::AppHandle) -> tauri::Result<CoreConfig> {
    Ok(CoreConfig {
        data_dir: app.path().app_local_data_dir()?,
        secrets: std::sync::Arc::new(spartex_core::secret_store::OsSecretStore::new(
            spartex_core::core::SECRET_SERVICE,
        )),
    })
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SPARTEX_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// The plugins, in order: one instance first, so a second launch (or a link opened from
/// elsewhere) goes to the running app before anything else starts.
fn plugins(builder: tauri::Builder<tauri::Wry>) -> tauri::Builder<tauri::Wry> {
    #[cfg(desktop)]
    let builder = builder.plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
        window::show(app);
    }));
    let builder = builder.plugin(tauri_plugin_deep_link::init());
    // A phone's OS owns the app's window; there is no size or place to remember.
    // Not whether it was visible: the window starts hidden and shows itself (`window::reveal`).
    #[cfg(desktop)]
    let builder = builder.plugin(
        tauri_plugin_window_state::Builder::default()
            .with_state_flags(
                tauri_plugin_window_state::StateFlags::all()
                    - tauri_plugin_window_state::StateFlags::VISIBLE,
            )
            .build(),
    );
    // A phone's notifications: the OS's, with remote push (FCM, APNs).
    #[cfg(mobile)]
    let builder = builder.plugin(tauri_plugin_notifications::init());
    builder
}

/// The main window (`tauri.conf.json`, where `create` is false), made here so that its page can
/// carry the first frame (`first_frame`).
fn create_window(app: &tauri::AppHandle) -> tauri::Result<()> {
    let Some(config) = app
        .config()
        .app
        .windows
        .iter()
        .find(|config| config.label == window::MAIN)
    else {
        return Err(tauri::Error::WindowNotFound);
    };
    let serving = app.clone();
    tauri::WebviewWindowBuilder::from_config(app, config)?
        .on_web_resource_request(move |request, response| {
            // A link that launched the app opens its own screen, not the dashboard.
            let wanted = !serving.state::<Shell>().has_route();
            serving
                .state::<first_frame::FirstFrame>()
                .serve(&request, response, wanted);
        })
        .build()?;
    Ok(())
}

/// The UI's page as built, which names the build a first frame belongs to.
fn ui_page(app: &tauri::AppHandle) -> Vec<u8> {
    app.asset_resolver()
        .get("index.html".into())
        .map(|asset| asset.bytes)
        .unwrap_or_default()
}

/// Reads the last account's first frame for the page that is loading.
async fn offer_first_frame(app: &tauri::AppHandle, account: Option<&spartex_core::Account>) {
    let first_frame = app.state::<first_frame::FirstFrame>();
    let frame = match account {
        Some(account) => match account.store().first_frame(first_frame.ui_build()).await {
            Ok(frame) => frame,
            Err(error) => {
                tracing::warn!(%error, "could not read the first frame; launching without one");
                None
            }
        },
        None => None,
    };
    first_frame.offer(frame);
}

fn setup(app: &tauri::AppHandle) {
    // A phone has no tray: the pending count is the approvals tab's badge in the UI.
    #[cfg(desktop)]
    if let Err(error) = tray::create(app) {
        tracing::warn!(%error, "no tray icon on this desktop");
    }
    app.state::<Launched>().reached("tray created");
    #[cfg(mobile)]
    phone::register_notifications(app);
    listen_for_links(app);
}

/// `spartex://approvals/{id}` and `spartex://projects/{id}`, on a desktop from the scheme it
/// registers, on a phone from the intent filter (Android) or URL type (iOS) of the mobile
/// config overlays.
fn listen_for_links(app: &tauri::AppHandle) {
    use tauri_plugin_deep_link::DeepLinkExt;

    // Installed packages register the scheme; a build run from the source tree does it here.
    #[cfg(all(debug_assertions, any(target_os = "linux", windows)))]
    if let Err(error) = app.deep_link().register_all() {
        tracing::warn!(%error, "could not register the spartex:// scheme");
    }
    let deep_links = app.clone();
    app.deep_link().on_open_url(move |event| {
        for url in event.urls() {
            open_link(&deep_links, url.as_str());
        }
    });
    if let Ok(Some(urls)) = app.deep_link().get_current() {
        for url in urls {
            open_link(app, url.as_str());
        }
    }
}

fn open_link(app: &tauri::AppHandle, link: &str) {
    match navigation::route_for_link(link) {
        Some(route) => window::open_route(app, route),
        None => tracing::warn!(link, "ignored a link this app does not open"),
    }
}
