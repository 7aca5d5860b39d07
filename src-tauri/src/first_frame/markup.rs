//! What a kept frame may be, and how it goes into the page.

use dom_query::Document;
use spartex_core::store::KeptFrame;

use crate::error::{CommandError, CommandResult};

/// The most markup kept: the dashboard's visible rows are 40–80 KiB.
pub const MAX_BYTES: usize = 256 * 1024;

/// Where the frame goes: the element React mounts into (`ui/index.html`).
const ROOT: &str = r#"<div id="root"></div>"#;

/// The elements a screen of this app draws: markup with any other is refused. Left out on
/// purpose: what runs or loads something (script, iframe, object, embed, use), what changes the
/// page (html, head, body, base, meta, link, style, form), and what the parser reads as raw
/// text (noscript, plaintext, xmp, textarea, title, template).
const ALLOWED: &[&str] = &[
    // HTML
    "a",
    "abbr",
    "article",
    "aside",
    "b",
    "br",
    "button",
    "caption",
    "code",
    "col",
    "colgroup",
    "dd",
    "div",
    "dl",
    "dt",
    "em",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "i",
    "img",
    "input",
    "kbd",
    "label",
    "legend",
    "li",
    "main",
    "mark",
    "meter",
    "nav",
    "ol",
    "optgroup",
    "option",
    "p",
    "pre",
    "progress",
    "s",
    "section",
    "select",
    "small",
    "span",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "time",
    "tr",
    "u",
    "ul",
    "wbr",
    // SVG icons (names lowercased)
    "svg",
    "circle",
    "clippath",
    "defs",
    "desc",
    "ellipse",
    "g",
    "line",
    "lineargradient",
    "path",
    "polygon",
    "polyline",
    "radialgradient",
    "rect",
    "stop",
];

/// The markup to keep of a screen the UI sent: parsed as HTML (html5ever, through dom_query),
/// refused if it holds an element no screen draws or a comment, and written out again from the
/// parsed tree. Written out, its tags close exactly what they open: parsed again inside the
/// frame's wrapper it cannot end the wrapper or `#root`, whatever the UI sent.
pub fn keepable(html: &str) -> CommandResult<String> {
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
    let parsed = Document::fragment(html);
    // A fragment's parser puts its nodes under an <html> element of its own.
    let fragment = parsed.html_root();
    for node in fragment.descendants_it() {
        if node.is_comment() {
            return refuse("A first frame is a screen's markup; it holds no comments.".into());
        }
        if let Some(name) = node.node_name() {
            let name = name.to_ascii_lowercase();
            if !ALLOWED.contains(&name.as_str()) {
                return refuse(format!(
                    "A first frame is a screen's markup; no screen of this app draws a <{name}> element."
                ));
            }
        }
    }
    Ok(fragment.inner_html().to_string())
}

/// The page with `frame` inside its root (and the dark theme on the page if the frame was
/// painted in it), or `None` if it has no empty root.
pub fn with_frame(page: &[u8], frame: &KeptFrame) -> Option<Vec<u8>> {
    let page = std::str::from_utf8(page).ok()?;
    let at = page.find(ROOT)?;
    let inside = at + ROOT.len() - "</div>".len();
    let mut framed = String::with_capacity(page.len() + frame.html.len() + 128);
    let head = &page[..inside];
    match (frame.dark, head.find("<html")) {
        (true, Some(html)) => {
            let after = html + "<html".len();
            framed.push_str(&head[..after]);
            framed.push_str(r#" class="dark" style="color-scheme: dark""#);
            framed.push_str(&head[after..]);
        }
        _ => framed.push_str(head),
    }
    framed.push_str(r#"<div data-first-frame inert aria-hidden="true">"#);
    framed.push_str(&frame.html);
    framed.push_str("</div>");
    framed.push_str(&page[inside..]);
    Some(framed.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(html: &str, dark: bool) -> KeptFrame {
        KeptFrame {
            html: html.into(),
            dark,
        }
    }

    fn refused(markup: &str) -> String {
        keepable(markup).expect_err(markup).message
    }

    #[test]
    fn the_frame_goes_inside_the_root_and_the_dark_theme_on_the_page() {
        let page = br#"<html lang="en"><body><div id="root"></div></body></html>"#;
        let light = with_frame(page, &frame("<main>Dashboard</main>", false)).expect("a root");
        assert_eq!(
            String::from_utf8(light).expect("utf-8"),
            r#"<html lang="en"><body><div id="root"><div data-first-frame inert aria-hidden="true"><main>Dashboard</main></div></div></body></html>"#
        );
        let dark = with_frame(page, &frame("<main>Dashboard</main>", true)).expect("a root");
        assert!(String::from_utf8(dark)
            .expect("utf-8")
            .starts_with(r#"<html class="dark" style="color-scheme: dark" lang="en">"#));
    }

    #[test]
    fn a_page_without_an_empty_root_gets_no_frame() {
        assert_eq!(
            with_frame(b"<div id=\"app\"></div>", &frame("<main></main>", false)),
            None
        );
    }

    #[test]
    fn a_screen_as_the_browser_writes_it_is_kept_the_same() {
        let screen = r#"<div class="flex" data-first-frame-placed-rows=""><img src="data:x" alt=""><br><svg viewBox="0 0 1 1" aria-hidden="true"><path d="M0 0"></path><circle r="1"></circle></svg><p title="a > b and <i> &amp; 'q'">Spring Sale &lt;2027&gt;</p><input type="search" value=""><select><option value="all">All</option></select></div>"#;
        // Written out again the same, but for the `<` and `>` of attribute values, which
        // html5ever escapes as browsers now do.
        assert_eq!(
            keepable(screen).expect("a screen's markup"),
            screen.replace("a > b and <i>", "a &gt; b and &lt;i&gt;")
        );
    }

    #[test]
    fn markup_that_would_close_the_frame_and_root_is_kept_closed() {
        // Each of these, pasted as it is, would end the frame's wrapper and #root.
        for markup in [
            r#"<p>kept</p></div></div><a href="/approvals">Approve all</a>"#,
            r#"<a title=x"></div></div><p title=">x</p>"#,
            r#"<p =""></div></div><b ="></b></p>"#,
            "<div><li><div><li></li></div></li></div><a>over</a>",
        ] {
            let kept = keepable(markup).expect(markup);
            let wrapped = format!("<div id=\"root\"><div data-first-frame>{kept}</div></div>");
            let parsed = Document::fragment(wrapped.as_str());
            let root = parsed.html_root();
            let top: Vec<_> = root.element_children();
            assert_eq!(
                top.len(),
                1,
                "{markup} → {kept}: one element, #root, at the top"
            );
            let frames = top[0].element_children();
            assert_eq!(
                frames.len(),
                1,
                "{markup} → {kept}: #root holds the frame only"
            );
        }
    }

    #[test]
    fn only_elements_a_screen_draws_are_kept() {
        for markup in [
            "<main><SCRIPT>alert(1)</SCRIPT></main>",
            r#"<meta http-equiv="refresh" content="0;url=https://example.invalid">"#,
            r#"<iframe src="x"></iframe>"#,
            "<style></style>",
            "<plaintext></plaintext>",
            r#"<svg><use href="x"></use></svg>"#,
            "<div:x></div:x>",
        ] {
            assert!(
                refused(markup).contains("no screen of this app draws"),
                "{markup}: {}",
                refused(markup)
            );
        }
        assert!(refused("<!--></div></div><a>over</a>").contains("comments"));
    }

    #[test]
    fn a_frame_is_of_bounded_size() {
        assert!(refused(&"x".repeat(MAX_BYTES + 1)).contains("at most 256 KiB"));
    }
}
