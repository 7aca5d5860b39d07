//! What the end-to-end tests stand on: the real server (in this process, on a real socket and a
//! real SQLite file, with simulated agents), the real app binary started by tauri-driver (which
//! drives WebKitWebDriver), and a W3C WebDriver client. Each test gets its own data folder and
//! keyring entries; run inside `scripts/test-env.sh` (Xvfb, D-Bus, gnome-keyring, dunst).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
pub use spartex_testkit::demo::{MANAGER, ONCALL};
pub use spartex_testkit::{TestServer, PASSWORD};
use tokio::process::{Child, Command};

/// How long a screen may take to show what it should.
pub const PATIENCE: Duration = Duration::from_secs(30);
/// How long the simulated agents may take to ask for something (they work at [`AGENT_PACE`]).
pub const AGENT_PATIENCE: Duration = Duration::from_secs(120);
const AGENT_PACE: Duration = Duration::from_millis(400);

/// True inside `scripts/test-env.sh`. Outside it there is no display, keyring or notification
/// daemon to run the app with, and the tests say so and end.
pub fn desktop_session() -> bool {
    if std::env::var("SPARTEX_TEST_DESKTOP").as_deref() == Ok("1") {
        return true;
    }
    eprintln!(
        "skipped: the end-to-end tests run the real app and need a desktop session; \
         run them with `bash scripts/test-env.sh cargo nextest run -p spartex-system-tests --test e2e`"
    );
    false
}

/// The kit's server on the wall clock, as the app and its agents live, with the demo agents
/// at work as simulated workers (a step every [`AGENT_PACE`]).
pub async fn demo_server() -> TestServer {
    TestServer::builder()
        .system_clock()
        .workers(AGENT_PACE)
        .start()
        .await
}

impl Drop for App {
    /// Ends the driver, WebKitWebDriver and the app, also when a test fails half-way: a
    /// leftover app would hold the single-instance lock and swallow the next test's launch.
    fn drop(&mut self) {
        if let Some(driver) = self.driver.id() {
            let mut doomed = spartex_testkit::procs::descendants(driver);
            doomed.push(driver);
            kill(&doomed);
        }
    }
}

fn kill(pids: &[u32]) {
    for pid in pids {
        let _ = std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status();
    }
}

/// Kills `pids` and waits until they are gone: the next launch would otherwise hand itself
/// to the one still running (one instance).
async fn end_processes(pids: &[u32]) {
    kill(pids);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while pids.iter().any(|&pid| spartex_testkit::procs::running(pid)) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the app's processes were still there {PATIENCE:?} after being killed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Reads the app's log, passing each line on to the test's stderr as before.
fn keep_log(stderr: tokio::process::ChildStderr) -> Arc<Mutex<String>> {
    use tokio::io::AsyncBufReadExt;
    let log = Arc::new(Mutex::new(String::new()));
    let kept = log.clone();
    tokio::spawn(async move {
        let mut lines = tokio::io::BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            eprintln!("{line}");
            let mut log = kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            log.push_str(&line);
            log.push('\n');
        }
    });
    log
}

/// The real app, started by tauri-driver, with a WebDriver session on its webview.
pub struct App {
    pub client: Client,
    driver: Child,
    /// Taken by [`App::relaunch`] for the next launch.
    home: Option<tempfile::TempDir>,
    secret_service: String,
    /// What the app has logged since this launch (its stderr, also passed on to the test's).
    log: Arc<Mutex<String>>,
    /// Set by [`App::resize`]; screenshots then come from X ([`window_picture`]).
    resized: AtomicBool,
}

impl App {
    /// Starts the app with a fresh data folder and keyring entries of its own.
    pub async fn launch() -> App {
        let home = tempfile::tempdir().expect("a data folder");
        let secret_service = format!("spartex-e2e-{}", uuid::Uuid::new_v4());
        App::launch_with(home, secret_service).await
    }

    /// Quits the app and starts it again on the same data folder and keyring entries, as a
    /// person reopening it does.
    pub async fn relaunch(mut self) -> App {
        // The app and WebKitWebDriver, found while the driver still holds them.
        let helpers = self
            .driver
            .id()
            .map(spartex_testkit::procs::descendants)
            .unwrap_or_default();
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill().await;
        end_processes(&helpers).await;
        let home = self.home.take().expect("the app's data folder");
        let secret_service = std::mem::take(&mut self.secret_service);
        drop(self);
        App::launch_with(home, secret_service).await
    }

    /// Waits until the app has logged a line holding `needle` since this launch.
    pub async fn until_logged(&self, what: &str, needle: &str) {
        self.until(what, PATIENCE, || async {
            self.logged(needle).then_some(())
        })
        .await
    }

    /// Whether the app has logged a line holding `needle` since this launch.
    pub fn logged(&self, needle: &str) -> bool {
        self.log
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .contains(needle)
    }

    async fn launch_with(home: tempfile::TempDir, secret_service: String) -> App {
        // Only plain HTTP to the local driver, but the client builder wants a provider chosen.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let port = free_port();
        let mut driver = Command::new(tauri_driver())
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &free_port().to_string(),
            ])
            .env("SPARTEX_HOME", home.path())
            .env("SPARTEX_SECRET_SERVICE", &secret_service)
            .env("SPARTEX_LOG", "info,spartex::first_frame=debug")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("tauri-driver starts (`cargo install --locked tauri-driver`)");
        let log = keep_log(driver.stderr.take().expect("the driver's stderr"));
        let capabilities = json!({
            "browserName": "wry",
            "tauri:options": { "application": app_binary() },
        });
        let capabilities = match capabilities {
            serde_json::Value::Object(map) => map,
            _ => unreachable!(),
        };
        let url = format!("http://127.0.0.1:{port}");
        let deadline = tokio::time::Instant::now() + PATIENCE;
        let client = loop {
            let attempt = tokio::time::timeout(
                PATIENCE,
                ClientBuilder::rustls()
                    .expect("a WebDriver client")
                    .capabilities(capabilities.clone())
                    .connect(&url),
            )
            .await
            .unwrap_or_else(|_| {
                panic!("no WebDriver session within {PATIENCE:?}: did the app start? (its log is above)")
            });
            match attempt {
                Ok(client) => break client,
                Err(error) if tokio::time::Instant::now() < deadline => {
                    if let Ok(Some(status)) = driver.try_wait() {
                        panic!("tauri-driver exited ({status}) before a session started");
                    }
                    let _ = error;
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Err(error) => panic!("a WebDriver session on the app: {error}"),
            }
        };
        App {
            client,
            driver,
            home: Some(home),
            secret_service,
            log,
            resized: AtomicBool::new(false),
        }
    }

    /// The app's data folder (`SPARTEX_HOME`) and its keyring service, for a `spartex` command
    /// run beside it on the same accounts.
    pub fn home_and_secret_service(&self) -> (&std::path::Path, &str) {
        let home = self.home.as_ref().expect("the app's data folder");
        (home.path(), &self.secret_service)
    }

    /// The app's own process (tauri-driver started it, beside WebKitWebDriver).
    pub fn process(&self) -> u32 {
        let driver = self.driver.id().expect("tauri-driver runs");
        spartex_testkit::procs::descendants(driver)
            .into_iter()
            .find(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/comm"))
                    .is_ok_and(|name| name.trim() == "spartex-control")
            })
            .expect("the app runs under tauri-driver")
    }

    pub async fn quit(self) {
        let _ = self.client.clone().close().await;
        // Drop ends the driver and everything it started.
    }

    /// The element with `data-testid`, once it is there.
    pub async fn wait_for(&self, test_id: &str) -> Element {
        self.wait_for_css(&by_test_id(test_id)).await
    }

    pub async fn wait_for_css(&self, css: &str) -> Element {
        match self
            .client
            .wait()
            .at_most(PATIENCE)
            .every(Duration::from_millis(100))
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(error) => {
                self.screenshot(&format!("failure-{}", sanitize(css))).await;
                panic!("`{css}` did not appear within {PATIENCE:?}: {error}")
            }
        }
    }

    pub async fn all(&self, css: &str) -> Vec<Element> {
        self.client
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_default()
    }

    pub async fn click(&self, test_id: &str) {
        self.wait_for(test_id)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {test_id}: {e}"));
    }

    pub async fn click_css(&self, css: &str) {
        self.wait_for_css(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Presses and holds the element for `held`, as a thumb would. The press lands on the
    /// element's centre, so the element is first scrolled to the middle of the view. A press
    /// the driver refuses (the element was re-rendered under it, say) is tried again on the
    /// element as it is now; the caller's assertions say whether the hold did what it should.
    pub async fn hold(&self, test_id: &str, held: Duration) {
        let mut element = self.wait_for(test_id).await;
        for attempt in 1..=3 {
            let error = match self.press_and_hold(element, held).await {
                Ok(()) => return,
                Err(error) => error,
            };
            eprintln!("press and hold {test_id}, attempt {attempt}: {error:?}");
            let _ = self.client.release_actions().await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            match self.all(&by_test_id(test_id)).await.into_iter().next() {
                Some(now) if attempt < 3 => element = now,
                _ => {
                    self.screenshot(&format!("failure-hold-{}", sanitize(test_id)))
                        .await;
                    panic!("press and hold {test_id}: {error:?}");
                }
            }
        }
    }

    async fn press_and_hold(
        &self,
        element: Element,
        held: Duration,
    ) -> Result<(), fantoccini::error::CmdError> {
        use fantoccini::actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_LEFT};
        let target = serde_json::to_value(&element).expect("an element reference");
        self.client
            .execute(
                "arguments[0].scrollIntoView({block: 'center'});",
                vec![target],
            )
            .await?;
        let press = MouseActions::new("thumb".into())
            .then(PointerAction::MoveToElement {
                element,
                duration: None,
                x: 0.0,
                y: 0.0,
            })
            .then(PointerAction::Down {
                button: MOUSE_BUTTON_LEFT,
            })
            .then(PointerAction::Pause { duration: held })
            .then(PointerAction::Up {
                button: MOUSE_BUTTON_LEFT,
            });
        self.client.perform_actions(press).await?;
        // The next action sequence starts from a released pointer.
        self.client.release_actions().await
    }

    pub async fn type_into(&self, test_id: &str, text: &str) {
        let field = self.wait_for(test_id).await;
        field.clear().await.ok();
        field
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("type into {test_id}: {e}"));
    }

    /// Waits until `check` finds what it looks for, and returns it.
    pub async fn until<T, F, Fut>(&self, what: &str, patience: Duration, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            if let Some(found) = check().await {
                return found;
            }
            if tokio::time::Instant::now() > deadline {
                self.screenshot(&format!("failure-{}", sanitize(what)))
                    .await;
                panic!("{what}: not within {patience:?}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Waits until the `data-testid` element's attribute `name` reads `expected`.
    pub async fn wait_for_attr(&self, test_id: &str, name: &str, expected: &str) {
        let css = by_test_id(test_id);
        let what = format!("{test_id} with {name}=\"{expected}\"");
        self.until(&what, PATIENCE, || async {
            (self.attr(&css, name).await.as_deref() == Some(expected)).then_some(())
        })
        .await
    }

    /// Waits for the stop on screen to end; returns how: `completed` or `partial`.
    pub async fn stop_outcome(&self) -> String {
        self.until("the stop ends", PATIENCE, || async {
            let status = self
                .attr(&by_test_id("stop-progress"), "data-status")
                .await?;
            (status == "completed" || status == "partial").then_some(status)
        })
        .await
    }

    /// The attribute of the first element matching `css`, if there is one.
    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        let element = self.client.find(Locator::Css(css)).await.ok()?;
        element.attr(name).await.ok().flatten()
    }

    /// Waits a moment for the approval `id` to be the one open; false (and says which one is)
    /// when another opened instead.
    pub async fn opened_approval(&self, id: &str) -> bool {
        let detail = "[data-testid=\"approval-detail\"]";
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let open = self.attr(detail, "data-approval-id").await;
            if open.as_deref() == Some(id) {
                return true;
            }
            if tokio::time::Instant::now() > deadline {
                eprintln!("clicked approval {id}, but {open:?} is open; looking again");
                return false;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// At phone width an open approval's detail replaces the list: goes back to the list.
    pub async fn back_to_approval_list(&self) {
        if self.all("[data-testid=\"approval-item\"]").await.is_empty() {
            self.click("nav-approvals").await;
        }
    }

    pub async fn text(&self, css: &str) -> Option<String> {
        let element = self.client.find(Locator::Css(css)).await.ok()?;
        element.text().await.ok()
    }

    /// Saves what the webview shows to `target/e2e-screenshots/NAME.png`, and to
    /// `docs/screenshots/` when `SPARTEX_UPDATE_SCREENSHOTS=1`.
    pub async fn screenshot(&self, name: &str) {
        let png = if self.resized.load(Ordering::Relaxed) {
            window_picture().await
        } else {
            let webview = tokio::time::timeout(PATIENCE, self.client.screenshot()).await;
            webview.ok().and_then(Result::ok)
        };
        let Some(png) = png else {
            eprintln!("could not take the screenshot {name}");
            return;
        };
        let root = repository_root();
        let mut folders = vec![root.join("target/e2e-screenshots")];
        if std::env::var("SPARTEX_UPDATE_SCREENSHOTS").as_deref() == Ok("1")
            && !name.starts_with("failure-")
        {
            folders.push(root.join("docs/screenshots"));
        }
        for folder in folders {
            std::fs::create_dir_all(&folder).expect("a screenshot folder");
            std::fs::write(folder.join(format!("{name}.png")), &png).expect("a screenshot");
        }
    }

    /// Scrolls the element `test_id` to the top of its scrolling container, for a screenshot.
    pub async fn scroll_to(&self, test_id: &str) {
        let script = "document.querySelector(arguments[0]).scrollIntoView({block: 'start'})";
        let _ = self
            .client
            .execute(script, vec![json!(by_test_id(test_id))])
            .await;
    }

    /// Closes the toasts on screen, so a screenshot shows what is under them.
    pub async fn dismiss_toasts(&self) {
        let script =
            "document.querySelectorAll('[data-testid=\"toast\"] button').forEach((b) => b.click())";
        let _ = self.client.execute(script, vec![]).await;
    }

    /// Resizes the window the way a window manager does, through X (`xdotool`), and waits for
    /// the page to have the new width; later screenshots come from X too ([`window_picture`]).
    /// WebDriver's resize is not used: after it, WebKitGTK's automation answered no further
    /// screenshot of a window that started hidden, as this one does.
    pub async fn resize(&self, width: u32, height: u32) {
        // The window shows itself once its first screen is ready, which may be after the
        // session begins; `search --onlyvisible` finds nothing until then.
        self.until("the window on screen", PATIENCE, || async {
            let resized = Command::new("xdotool")
                .args(FIND_THE_WINDOW)
                .args(["windowsize", "--sync", "%@"])
                .args([width.to_string(), height.to_string()])
                .stderr(Stdio::null())
                .status()
                .await
                .expect("xdotool, from scripts/install-deps.sh");
            resized.success().then_some(())
        })
        .await;
        self.resized.store(true, Ordering::Relaxed);
        let what = format!("the page at {width} px wide");
        self.until(&what, PATIENCE, || async {
            let inner = self
                .client
                .execute("return window.innerWidth", vec![])
                .await;
            (inner.ok()?.as_u64()? == u64::from(width)).then_some(())
        })
        .await;
    }
}

/// The app's window title, as `xdotool search --name` matches it.
const TITLE: &str = "^Spartex Control$";

/// `xdotool` arguments that find the app's window once it is on screen, by its title.
const FIND_THE_WINDOW: [&str; 4] = ["search", "--onlyvisible", "--name", TITLE];

/// The X id of the app's window while it is on screen.
pub async fn window_on_screen() -> Option<u32> {
    first_window(&FIND_THE_WINDOW).await
}

/// The first window `xdotool search ARGS` finds.
async fn first_window(search: &[&str]) -> Option<u32> {
    let found = Command::new("xdotool")
        .args(search)
        .output()
        .await
        .expect("xdotool, from scripts/install-deps.sh");
    String::from_utf8(found.stdout)
        .ok()?
        .lines()
        .next()?
        .parse()
        .ok()
}

/// Every window on screen, with its name and process, to say what a test found instead.
pub async fn windows_on_screen() -> String {
    let found = Command::new("xdotool")
        .args(["search", "--onlyvisible", "--name", "."])
        .output()
        .await
        .expect("xdotool, from scripts/install-deps.sh");
    let mut said = String::new();
    for window in String::from_utf8_lossy(&found.stdout).lines() {
        let about = |what: &'static str| {
            let window = window.to_owned();
            async move {
                let out = Command::new("xdotool").args([what, &window]).output().await;
                out.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
                    .unwrap_or_default()
            }
        };
        let (name, pid) = (about("getwindowname").await, about("getwindowpid").await);
        said.push_str(&format!("{window} {name:?} pid {pid}; "));
    }
    said
}

impl App {
    /// The X id of this app's own window while it is on screen: by its process too, since
    /// a notification on screen can carry the app's name as its title.
    pub async fn window_on_screen(&self) -> Option<u32> {
        let pid = self.process().to_string();
        first_window(&[
            "search",
            "--all",
            "--onlyvisible",
            "--pid",
            &pid,
            "--name",
            TITLE,
        ])
        .await
    }
}

/// Asks the window `window` to close, as a window manager does for its close button: the
/// `WM_DELETE_WINDOW` message of ICCCM, which GTK takes without a window manager running.
pub fn ask_to_close(window: u32) {
    use x11rb::connection::Connection;
    use x11rb::protocol::xproto::{ClientMessageEvent, ConnectionExt, EventMask};

    let (x, _) = x11rb::connect(None).expect("the X display of scripts/test-env.sh");
    let atom = |name: &[u8]| {
        x.intern_atom(false, name)
            .expect("an atom asked for")
            .reply()
            .expect("an atom")
            .atom
    };
    let (protocols, delete) = (atom(b"WM_PROTOCOLS"), atom(b"WM_DELETE_WINDOW"));
    let message = ClientMessageEvent::new(
        32,
        window,
        protocols,
        [delete, x11rb::CURRENT_TIME, 0, 0, 0],
    );
    x.send_event(false, window, EventMask::NO_EVENT, message)
        .expect("the close request sent");
    x.flush().expect("the close request delivered");
    // A round trip before the connection is dropped: closed straight after a flush, the X
    // server sometimes discarded the request unread (2 in 300 on an idle Xvfb), and the test
    // waited for a close the app was never asked for.
    x.get_input_focus()
        .expect("a round trip asked for")
        .reply()
        .expect("the X server read the close request");
}

/// The app's window as X shows it, as a PNG (ImageMagick's `import`), for a resized window:
/// after any resize of a window that started hidden, WebKitGTK's automation screenshot waits
/// for a frame it never presents, though the window itself repaints. X's picture also shows
/// what lies over the window, such as notifications, so an unresized one is taken by WebDriver.
async fn window_picture() -> Option<Vec<u8>> {
    let window = window_on_screen().await?.to_string();
    let import = Command::new("import")
        .args(["-window", &window, "png:-"])
        .output();
    let picture = tokio::time::timeout(PATIENCE, import).await.ok()?.ok()?;
    (picture.status.success() && !picture.stdout.is_empty()).then_some(picture.stdout)
}

pub fn by_test_id(test_id: &str) -> String {
    format!("[data-testid=\"{test_id}\"]")
}

fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(60)
        .collect()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the repository root")
        .to_path_buf()
}

/// The app, built for this test run (a debug build embeds `ui/dist`: build the UI first).
pub fn app_binary() -> PathBuf {
    spartex_testkit::cargo_bin("spartex-desktop", "spartex-control")
}

fn tauri_driver() -> PathBuf {
    if let Some(found) = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("tauri-driver"))
            .find(|candidate| candidate.is_file())
    }) {
        return found;
    }
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cargo")
        });
    cargo_home.join("bin/tauri-driver")
}
