//! The launch's first frame: the dashboard as the person last saw it, served inside
//! `index.html` so that WebKit paints it with the page's HTML, before the UI's scripts have
//! been parsed and React has rendered (~200 ms on a 2-core machine; `docs/benchmarks.md`,
//! twelfth session). The UI keeps it (`keep_first_frame`) while the dashboard is shown; it lives
//! in the account's encrypted cache, tagged with the build of the UI that drew it, and is wiped
//! with the account. The markup is inert (no clicks, no focus, hidden from screen readers) and
//! React replaces it with the live screen in its first commit.

use std::borrow::Cow;
use std::hash::{Hash, Hasher};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use tauri::http::{header::CONTENT_TYPE, Request, Response};

use crate::error::{CommandError, CommandResult};

/// The most markup kept: the dashboard's visible rows are 40–80 KiB.
pub const MAX_BYTES: usize = 256 * 1024;

/// How long the page's HTML may wait for the cache to be open. It opens ~150 ms after launch,
/// before the page asks (~180 ms), and the page's first reads wait for it anyway.
const LONGEST_WAIT: Duration = Duration::from_millis(300);

/// Where the frame goes: the element React mounts into (`ui/index.html`).
const ROOT: &str = r#"<div id="root"></div>"#;

pub struct FirstFrame {
    ui_build: String,
    slot: Mutex<Slot>,
    settled: Condvar,
}

enum Slot {
    /// The cache is still opening.
    Waiting,
    Ready(Option<String>),
    /// The launch's page has been served, with a frame or without (a reload paints none: it
    /// may be stale by then).
    Served {
        with_frame: bool,
    },
}

impl FirstFrame {
    /// `index_html` is the UI's page as built: its hash names the build (Vite puts the bundle's
    /// content hash in the page).
    pub fn new(index_html: &[u8]) -> FirstFrame {
        let mut hasher = std::hash::DefaultHasher::new();
        index_html.hash(&mut hasher);
        FirstFrame {
            ui_build: format!("{:016x}", hasher.finish()),
            slot: Mutex::new(Slot::Waiting),
            settled: Condvar::new(),
        }
    }

    pub fn ui_build(&self) -> &str {
        &self.ui_build
    }

    /// The frame read from the cache, or none (nobody signed in, nothing kept, another build).
    pub fn offer(&self, frame: Option<String>) {
        let mut slot = self.lock();
        if matches!(*slot, Slot::Waiting) {
            *slot = Slot::Ready(frame);
            self.settled.notify_all();
        }
    }

    /// Puts the frame into the launch's page, once: waits a little for the cache, and leaves
    /// every other response alone.
    pub fn serve(&self, request: &Request<Vec<u8>>, response: &mut Response<Cow<'static, [u8]>>) {
        if !is_the_page(request, response) {
            return;
        }
        let Some(frame) = self.take(LONGEST_WAIT) else {
            return;
        };
        match with_frame(response.body(), &frame) {
            Some(page) => *response.body_mut() = Cow::Owned(page),
            None => {
                tracing::warn!("the UI's page has no empty #root; launching without a first frame")
            }
        }
    }

    fn take(&self, longest_wait: Duration) -> Option<String> {
        let slot = self.lock();
        let (mut slot, _) = self
            .settled
            .wait_timeout_while(slot, longest_wait, |slot| matches!(slot, Slot::Waiting))
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match &mut *slot {
            Slot::Served { .. } => None,
            Slot::Waiting => {
                *slot = Slot::Served { with_frame: false };
                None
            }
            Slot::Ready(frame) => {
                let frame = frame.take();
                *slot = Slot::Served {
                    with_frame: frame.is_some(),
                };
                frame
            }
        }
    }

    /// Whether the launch's page went out with a frame: then the window can show as soon as
    /// the page has loaded, before the UI's scripts have run.
    pub fn served_a_frame(&self) -> bool {
        matches!(*self.lock(), Slot::Served { with_frame: true })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slot> {
        self.slot
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// What the UI may keep: the markup of its own screen, never a script.
pub fn check(html: &str) -> CommandResult<()> {
    let refuse = |message: String| {
        Err(CommandError {
            code: spartex_core::ErrorKind::Invalid,
            message,
        })
    };
    if html.len() > MAX_BYTES {
        return refuse(format!(
            "The first frame is {} KiB; at most {} KiB is kept.",
            html.len() / 1024,
            MAX_BYTES / 1024
        ));
    }
    let lowercase = html.to_ascii_lowercase();
    if let Some(tag) = NOT_IN_A_FRAME
        .iter()
        .find(|tag| lowercase.contains(&format!("<{tag}")))
    {
        return refuse(format!(
            "A first frame is the markup of a screen; it may not hold a <{tag}> element."
        ));
    }
    Ok(())
}

/// What a screen's markup never holds and a page must not be made to load or run: scripts,
/// other documents, and what would change the page's address, base or styles. (The page's
/// CSP refuses most of these already; a kept frame is not even offered to it.)
const NOT_IN_A_FRAME: &[&str] = &[
    "script", "iframe", "frame", "object", "embed", "meta", "base", "link", "style",
];

fn is_the_page(request: &Request<Vec<u8>>, response: &Response<Cow<'static, [u8]>>) -> bool {
    let path = request.uri().path();
    let html = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/html"));
    html && (path == "/" || path == "/index.html")
}

/// The page with `frame` inside its root, or `None` if it has no empty root.
fn with_frame(page: &[u8], frame: &str) -> Option<Vec<u8>> {
    let page = std::str::from_utf8(page).ok()?;
    let at = page.find(ROOT)?;
    let inside = at + ROOT.len() - "</div>".len();
    let mut framed = String::with_capacity(page.len() + frame.len() + 64);
    framed.push_str(&page[..inside]);
    framed.push_str(r#"<div data-first-frame inert aria-hidden="true">"#);
    framed.push_str(frame);
    framed.push_str("</div>");
    framed.push_str(&page[inside..]);
    Some(framed.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<html><body><div id="root"></div><script type="module" src="/assets/index-abc.js"></script></body></html>"#;

    fn page_request(path: &str) -> (Request<Vec<u8>>, Response<Cow<'static, [u8]>>) {
        let request = Request::builder()
            .uri(format!("tauri://localhost{path}"))
            .body(Vec::new())
            .expect("a request");
        let response = Response::builder()
            .header(CONTENT_TYPE, "text/html")
            .body(Cow::Borrowed(PAGE.as_bytes()))
            .expect("a response");
        (request, response)
    }

    fn body(response: &Response<Cow<'static, [u8]>>) -> String {
        String::from_utf8(response.body().to_vec()).expect("utf-8")
    }

    #[test]
    fn the_launch_page_carries_the_frame_inside_its_root_once() {
        let first_frame = FirstFrame::new(PAGE.as_bytes());
        first_frame.offer(Some("<main>Dashboard</main>".into()));

        let (request, mut response) = page_request("/");
        first_frame.serve(&request, &mut response);
        assert_eq!(
            body(&response),
            r#"<html><body><div id="root"><div data-first-frame inert aria-hidden="true"><main>Dashboard</main></div></div><script type="module" src="/assets/index-abc.js"></script></body></html>"#
        );

        assert!(first_frame.served_a_frame());

        let (request, mut reloaded) = page_request("/");
        first_frame.serve(&request, &mut reloaded);
        assert_eq!(body(&reloaded), PAGE, "a reload paints no old frame");
        assert!(first_frame.served_a_frame(), "the launch's page had one");
    }

    #[test]
    fn only_the_page_is_touched() {
        let first_frame = FirstFrame::new(PAGE.as_bytes());
        first_frame.offer(Some("<main>Dashboard</main>".into()));
        let request = Request::builder()
            .uri("tauri://localhost/assets/index-abc.js")
            .body(Vec::new())
            .expect("a request");
        let mut script = Response::builder()
            .header(CONTENT_TYPE, "text/javascript")
            .body(Cow::Borrowed(PAGE.as_bytes()))
            .expect("a response");
        first_frame.serve(&request, &mut script);
        assert_eq!(body(&script), PAGE);

        let (request, mut page) = page_request("/index.html");
        first_frame.serve(&request, &mut page);
        assert!(
            body(&page).contains("<main>Dashboard</main>"),
            "the frame is still there for the page"
        );
    }

    #[test]
    fn a_page_served_before_the_cache_opened_has_no_frame_and_none_comes_later() {
        let first_frame = FirstFrame::new(PAGE.as_bytes());
        assert_eq!(first_frame.take(Duration::from_millis(1)), None);
        first_frame.offer(Some("<main>Dashboard</main>".into()));
        assert_eq!(first_frame.take(Duration::from_millis(1)), None);
        assert!(!first_frame.served_a_frame());
    }

    #[test]
    fn the_page_waits_for_a_cache_that_is_opening() {
        let first_frame = std::sync::Arc::new(FirstFrame::new(PAGE.as_bytes()));
        let opener = first_frame.clone();
        let opened = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            opener.offer(Some("<main>Dashboard</main>".into()));
        });
        assert_eq!(
            first_frame.take(Duration::from_secs(10)).as_deref(),
            Some("<main>Dashboard</main>")
        );
        opened.join().expect("offered");
    }

    #[test]
    fn a_page_without_an_empty_root_is_served_as_it_is() {
        assert_eq!(with_frame(b"<div id=\"app\"></div>", "<main/>"), None);
    }

    #[test]
    fn the_build_is_named_by_its_page() {
        assert_eq!(
            FirstFrame::new(b"a").ui_build(),
            FirstFrame::new(b"a").ui_build()
        );
        assert_ne!(
            FirstFrame::new(b"a").ui_build(),
            FirstFrame::new(b"b").ui_build()
        );
    }

    #[test]
    fn a_frame_is_markup_of_bounded_size() {
        assert!(check("<main><p>Dashboard</p></main>").is_ok());
        let script = check("<main><SCRIPT>alert(1)</SCRIPT></main>").expect_err("refused");
        assert!(script.message.contains("<script>"), "{}", script.message);
        let refresh =
            check(r#"<meta http-equiv="refresh" content="0;url=https://example.invalid">"#)
                .expect_err("refused");
        assert!(refresh.message.contains("<meta>"), "{}", refresh.message);
        let huge = check(&"x".repeat(MAX_BYTES + 1)).expect_err("refused");
        assert!(huge.message.contains("at most 256 KiB"), "{}", huge.message);
    }
}
