//! Standard output. Every line goes through [`line()`] (as `outln!`), which goes quiet when
//! whoever reads the output has gone: `spartex approvals | head -1` closes the pipe after one
//! line, and `println!` would then panic with a backtrace.
//!
//! Much of what is printed was written by agents and servers (titles, chat, names, errors'
//! messages), and a terminal obeys what it is sent: a `\r` or an escape sequence in a title
//! could rewrite the lines above, move the cursor, or set the clipboard (OSC 52). Every line,
//! on stdout ([`line()`]) and on stderr ([`err_line`], as `errln!`), is [`shown`] first.
//!
//! Rust ignores SIGPIPE, so a closed pipe comes back as a `BrokenPipe` write error; restoring
//! the signal's default would need `unsafe`, which the workspace forbids. Ending with success
//! (as ripgrep does) is what a pipeline expects: the reader took all it wanted. The process is
//! not ended from here: a command finishes (a watch stops its sync first, see
//! [`reader_gone`]) and returns, so no thread is inside SQLite while the process exits. By the
//! time a command prints, what it did is done and its cache committed, so nothing is lost.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static READER_GONE: AtomicBool = AtomicBool::new(false);

/// The reader of standard output has gone: a command that would go on printing (a watch)
/// should stop.
pub fn reader_gone() -> bool {
    READER_GONE.load(Ordering::Relaxed)
}

/// `println!` for the CLI: one line to stdout, exiting quietly once the reader is gone.
macro_rules! outln {
    () => {
        $crate::out::line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::out::line(format_args!($($arg)*))
    };
}
pub(crate) use outln;

/// `eprintln!` for the CLI: one line to stderr, [`shown`] first.
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::out::err_line(format_args!($($arg)*))
    };
}
pub(crate) use errln;

/// `text` fit for a terminal: without control characters (escape sequences, `\r`, C1) nor
/// the format characters that reorder or hide text; its line breaks kept.
pub fn shown(text: &str) -> String {
    spartex_core::rules::plain_text(text, true)
}

/// One line of the server's words in a row of output: [`shown`], its line breaks as spaces,
/// so that it cannot pass for another row.
pub fn one_line(text: &str) -> String {
    spartex_core::rules::plain_text(&text.replace(['\r', '\n'], " "), false)
}

/// JSON output made terminal-safe without changing its data: the characters [`shown`] would
/// drop (C1 controls and format characters, which JSON may carry as they are) written as
/// `\uXXXX` escapes instead. `json` is serde_json's: every other control character is
/// escaped already, and a line break outside a string is layout.
pub fn json_shown(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        let mut utf8 = [0; 4];
        // ASCII: serde_json escapes its control characters inside strings.
        if c.is_ascii() || !shown(c.encode_utf8(&mut utf8)).is_empty() {
            out.push(c);
            continue;
        }
        for unit in c.encode_utf16(&mut [0; 2]) {
            out.push_str(&format!("\\u{unit:04x}"));
        }
    }
    out
}

/// Writes one line to stderr, [`shown`].
pub fn err_line(args: std::fmt::Arguments<'_>) {
    eprintln!("{}", shown(&args.to_string()));
}

/// Writes one line to stdout. Once the reader has closed the pipe, writes nothing more and
/// says so through [`reader_gone`]; any other failure to write, such as a full disk, ends the
/// process with an error.
pub fn line(args: std::fmt::Arguments<'_>) {
    if reader_gone() {
        return;
    }
    let text = shown(&args.to_string());
    let mut stdout = std::io::stdout().lock();
    let written = writeln!(stdout, "{text}").and_then(|()| stdout.flush());
    match written {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            READER_GONE.store(true, Ordering::Relaxed);
        }
        Err(e) => {
            eprintln!("error: could not write the output: {e}");
            std::process::exit(i32::from(crate::exit::FAILURE));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{json_shown, one_line, shown};

    #[test]
    fn what_a_terminal_would_obey_is_taken_out() {
        let title = "Publish\x1b[2K\r\x1b]52;c;ZXZpbA==\x07 the ad\u{9b}2J\u{202e}txt.exe";
        assert_eq!(shown(title), "Publish[2K]52;c;ZXZpbA== the ad2Jtxt.exe");
        assert_eq!(shown("line one\nline two"), "line one\nline two");
        assert_eq!(
            one_line("row\n  abc123  critical  Fake"),
            "row   abc123  critical  Fake"
        );
    }

    #[test]
    fn json_keeps_its_data_and_loses_what_a_terminal_would_obey() {
        let value = serde_json::json!({"title": "a\u{9b}b\u{202e}c\x1bd\re", "tag": "\u{e0041}"});
        let json = serde_json::to_string_pretty(&value).expect("JSON");
        let safe = json_shown(&json);
        assert_eq!(shown(&safe), safe, "nothing left to take out");
        let back: serde_json::Value = serde_json::from_str(&safe).expect("still JSON");
        assert_eq!(back, value, "the same data");
    }
}
