//! The launch's first frame: the dashboard as the person last saw it, served inside
//! `index.html` so that WebKit paints it with the page's HTML, before the UI's scripts have run
//! and React has rendered (`docs/benchmarks.md`, twelfth session). The UI keeps it
//! (`keep_first_frame`) while the dashboard is shown; it lives in the account's encrypted
//! cache, tagged with the build of the UI that drew it, and is wiped with the account. The
//! markup is inert (no clicks, no focus, hidden from screen readers) and React replaces it with
//! the live screen in its first commit.

mod markup;

use std::borrow::Cow;
use std::hash::{Hash, Hasher};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use spartex_core::store::KeptFrame;
use tauri::http::{header::CONTENT_TYPE, Request, Response};

pub use markup::keepable;

/// How long the page's HTML may wait for the cache to be open. It opens ~150 ms after launch,
/// before the page asks (~200 ms), and the page's first reads wait for it anyway.
const LONGEST_WAIT: Duration = Duration::from_millis(300);

pub struct FirstFrame {
    ui_build: String,
    slot: Mutex<Slot>,
    settled: Condvar,
}

enum Slot {
    /// The cache is still opening.
    Waiting,
    Ready(Option<KeptFrame>),
    /// The launch's page has been served, with a frame or without (a reload paints none: it
    /// may be stale by then).
    Served {
        with_frame: bool,
    },
}

impl FirstFrame {
    /// `index_html` is the UI's page as built: its hash names the build (Vite puts the bundle's
    /// content hash in the page). The page holds no inline `<style>`: Tauri would give it a new
    /// nonce at each launch, and a nonce in the CSP's `style-src` would also refuse the frame's
    /// `style` attributes.
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
    pub fn offer(&self, frame: Option<KeptFrame>) {
        let mut slot = self.lock();
        if matches!(*slot, Slot::Waiting) {
            *slot = Slot::Ready(frame);
            self.settled.notify_all();
        }
    }

    /// Puts the frame into the launch's page, once, when `wanted` (not for a launch that opens
    /// a link's screen): waits a little for the cache, and leaves every other response alone.
    pub fn serve(
        &self,
        request: &Request<Vec<u8>>,
        response: &mut Response<Cow<'static, [u8]>>,
        wanted: bool,
    ) {
        if !is_the_page(request, response) {
            return;
        }
        if !wanted {
            self.decline();
            return;
        }
        // Tauri answers the page on its async runtime: let its other tasks (the cache opening
        // among them) run on another thread meanwhile.
        let Some(frame) = tokio::task::block_in_place(|| self.take(LONGEST_WAIT)) else {
            return;
        };
        match markup::with_frame(response.body(), &frame) {
            Some(page) => *response.body_mut() = Cow::Owned(page),
            None => {
                tracing::warn!("the UI's page has no empty #root; launching without a first frame")
            }
        }
    }

    /// Whether the launch's page went out with a frame: then the window can show as soon as
    /// the page has loaded, before the UI's scripts have run.
    pub fn served_a_frame(&self) -> bool {
        matches!(*self.lock(), Slot::Served { with_frame: true })
    }

    fn take(&self, longest_wait: Duration) -> Option<KeptFrame> {
        let slot = self.lock();
        let (mut slot, _) = self
            .settled
            .wait_timeout_while(slot, longest_wait, |slot| matches!(slot, Slot::Waiting))
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match &mut *slot {
            Slot::Served { .. } => None,
            Slot::Waiting => {
                tracing::info!(
                    waited_ms = longest_wait.as_millis() as u64,
                    "the cache was not open when the page was served; launching without a first frame"
                );
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

    fn decline(&self) {
        let mut slot = self.lock();
        if !matches!(*slot, Slot::Served { .. }) {
            *slot = Slot::Served { with_frame: false };
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slot> {
        self.slot
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn is_the_page(request: &Request<Vec<u8>>, response: &Response<Cow<'static, [u8]>>) -> bool {
    let path = request.uri().path();
    let html = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/html"));
    html && (path == "/" || path == "/index.html")
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<html><body><div id="root"></div><script type="module" src="/assets/index-abc.js"></script></body></html>"#;

    fn dashboard() -> Option<KeptFrame> {
        Some(KeptFrame {
            html: "<main>Dashboard</main>".into(),
            dark: false,
        })
    }

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
        first_frame.offer(dashboard());

        let (request, mut response) = page_request("/");
        first_frame.serve(&request, &mut response, true);
        assert_eq!(
            body(&response),
            r#"<html><body><div id="root"><div data-first-frame inert aria-hidden="true"><main>Dashboard</main></div></div><script type="module" src="/assets/index-abc.js"></script></body></html>"#
        );
        assert!(first_frame.served_a_frame());

        let (request, mut reloaded) = page_request("/");
        first_frame.serve(&request, &mut reloaded, true);
        assert_eq!(body(&reloaded), PAGE, "a reload paints no old frame");
        assert!(first_frame.served_a_frame(), "the launch's page had one");
    }

    #[test]
    fn only_the_page_is_touched() {
        let first_frame = FirstFrame::new(PAGE.as_bytes());
        first_frame.offer(dashboard());
        let request = Request::builder()
            .uri("tauri://localhost/assets/index-abc.js")
            .body(Vec::new())
            .expect("a request");
        let mut script = Response::builder()
            .header(CONTENT_TYPE, "text/javascript")
            .body(Cow::Borrowed(PAGE.as_bytes()))
            .expect("a response");
        first_frame.serve(&request, &mut script, true);
        assert_eq!(body(&script), PAGE);

        let (request, mut page) = page_request("/index.html");
        first_frame.serve(&request, &mut page, true);
        assert!(
            body(&page).contains("<main>Dashboard</main>"),
            "the frame is still there for the page"
        );
    }

    #[test]
    fn a_launch_that_opens_a_link_gets_no_frame_and_neither_does_a_reload() {
        let first_frame = FirstFrame::new(PAGE.as_bytes());
        first_frame.offer(dashboard());
        let (request, mut linked) = page_request("/");
        first_frame.serve(&request, &mut linked, false);
        assert_eq!(body(&linked), PAGE);

        let (request, mut reloaded) = page_request("/");
        first_frame.serve(&request, &mut reloaded, true);
        assert_eq!(body(&reloaded), PAGE);
        assert!(!first_frame.served_a_frame());
    }

    #[test]
    fn a_page_served_before_the_cache_opened_has_no_frame_and_none_comes_later() {
        let first_frame = FirstFrame::new(PAGE.as_bytes());
        assert_eq!(first_frame.take(Duration::from_millis(1)), None);
        first_frame.offer(dashboard());
        assert_eq!(first_frame.take(Duration::from_millis(1)), None);
        assert!(!first_frame.served_a_frame());
    }

    #[test]
    fn the_page_waits_for_a_cache_that_is_opening() {
        let first_frame = std::sync::Arc::new(FirstFrame::new(PAGE.as_bytes()));
        let opener = first_frame.clone();
        let opened = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            opener.offer(dashboard());
        });
        assert_eq!(first_frame.take(Duration::from_secs(10)), dashboard());
        opened.join().expect("offered");
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
}
