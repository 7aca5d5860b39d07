//! What a kept frame may be, and how it goes into the page.

use spartex_core::store::KeptFrame;

use crate::error::{CommandError, CommandResult};

/// The most markup kept: the dashboard's visible rows are 40–80 KiB.
pub const MAX_BYTES: usize = 256 * 1024;

/// Where the frame goes: the element React mounts into (`ui/index.html`).
const ROOT: &str = r#"<div id="root"></div>"#;

/// What a screen's markup never holds and a page must not be made to load or run: scripts,
/// other documents, and what would change the page's address, base or styles. (The page's CSP
/// refuses most of these already.)
const NOT_IN_A_FRAME: &[&str] = &[
    "script", "iframe", "frame", "object", "embed", "meta", "base", "link", "style",
];

/// HTML's void elements: they have no end tag.
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
    "wbr",
];

/// What the UI may keep: the markup of its own screen, as the browser serialised it.
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
    let tags = match tags(html) {
        Ok(tags) => tags,
        Err(problem) => {
            return refuse(format!(
                "The first frame is not a screen's markup: {problem}."
            ))
        }
    };
    if let Some(tag) = tags
        .iter()
        .find(|tag| NOT_IN_A_FRAME.contains(&tag.name.as_str()))
    {
        return refuse(format!(
            "A first frame is the markup of a screen; it may not hold a <{}> element.",
            tag.name
        ));
    }
    Ok(())
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

struct Tag {
    name: String,
}

/// The start tags of `html`, checked to close only what they opened: markup that closed more
/// would end the frame's wrapper and `#root`, and stay on the page after React mounts.
fn tags(html: &str) -> Result<Vec<Tag>, String> {
    let mut tags = Vec::new();
    let mut open: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find('<') {
        rest = &rest[at + 1..];
        if let Some(comment) = rest.strip_prefix("!--") {
            let end = comment.find("-->").ok_or("a comment is not closed")?;
            rest = &comment[end + 3..];
            continue;
        }
        let closing = rest.starts_with('/');
        let name: String = rest[usize::from(closing)..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect::<String>()
            .to_ascii_lowercase();
        if name.is_empty() {
            return Err("a '<' that starts no tag".into());
        }
        let end = tag_end(rest).ok_or("a tag is not closed")?;
        let self_closed = rest[..end].ends_with('/');
        rest = &rest[end + 1..];
        if closing {
            match open.pop() {
                Some(opened) if opened == name => {}
                _ => return Err(format!("</{name}> closes an element it did not open")),
            }
        } else {
            if !VOID.contains(&name.as_str()) && !self_closed {
                open.push(name.clone());
            }
            tags.push(Tag { name });
        }
    }
    match open.last() {
        Some(name) => Err(format!("<{name}> is not closed")),
        None => Ok(tags),
    }
}

/// Where the tag starting `rest` ends (its `>`), past quoted attribute values.
fn tag_end(rest: &str) -> Option<usize> {
    let mut quote = None;
    for (at, c) in rest.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return Some(at),
            _ => {}
        }
    }
    None
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
    fn a_screen_as_serialised_is_kept() {
        let screen = r#"<div class="flex"><!-- a comment --><img src="data:x" alt=""><br><svg viewBox="0 0 1 1"><path d="M0 0"></path><circle r="1"/></svg><p title="a > b and <i>">Spring Sale</p><input type="search" value=""></div>"#;
        check(screen).expect("a screen's markup");
    }

    #[test]
    fn markup_that_would_close_the_frame_and_root_is_refused() {
        let escape = check(r#"<p>kept</p></div></div><a href="/approvals">Approve all</a>"#)
            .expect_err("refused");
        assert!(
            escape
                .message
                .contains("</div> closes an element it did not open"),
            "{}",
            escape.message
        );
        let unclosed = check("<div><p>kept</p>").expect_err("refused");
        assert!(
            unclosed.message.contains("<div> is not closed"),
            "{}",
            unclosed.message
        );
        let crossed = check("<div><p></div></p>").expect_err("refused");
        assert!(crossed.message.contains("</div>"), "{}", crossed.message);
    }

    #[test]
    fn scripts_documents_and_page_level_elements_are_refused() {
        let script = check("<main><SCRIPT>alert(1)</SCRIPT></main>").expect_err("refused");
        assert!(script.message.contains("<script>"), "{}", script.message);
        let refresh =
            check(r#"<meta http-equiv="refresh" content="0;url=https://example.invalid">"#)
                .expect_err("refused");
        assert!(refresh.message.contains("<meta>"), "{}", refresh.message);
        for element in [
            "<iframe src=\"x\"></iframe>",
            "<base href=\"x\">",
            "<style></style>",
        ] {
            assert!(check(element).is_err(), "{element}");
        }
    }

    #[test]
    fn a_frame_is_of_bounded_size() {
        let huge = check(&"x".repeat(MAX_BYTES + 1)).expect_err("refused");
        assert!(huge.message.contains("at most 256 KiB"), "{}", huge.message);
    }
}
