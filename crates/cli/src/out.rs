//! Standard output. Every line goes through [`line`] (as `outln!`), which goes quiet when
//! whoever reads the output has gone: `spartex approvals | head -1` closes the pipe after one
//! line, and `println!` would then panic with a backtrace.
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

/// Writes one line to stdout. Once the reader has closed the pipe, writes nothing more and
/// says so through [`reader_gone`]; any other failure to write, such as a full disk, ends the
/// process with an error.
pub fn line(args: std::fmt::Arguments<'_>) {
    if reader_gone() {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    let written = writeln!(stdout, "{args}").and_then(|()| stdout.flush());
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
