//! Standard output. Every line goes through [`line`] (as `outln!`), which ends the process
//! quietly when whoever reads the output has gone: `spartex approvals | head -1` closes the
//! pipe after one line, and `println!` would then panic with a backtrace.
//!
//! Rust ignores SIGPIPE, so a closed pipe comes back as a `BrokenPipe` write error; restoring
//! the signal's default would need `unsafe`, which the workspace forbids. Exiting with success
//! (as ripgrep does) is what a pipeline expects: the reader took all it wanted. By the time a
//! command prints, what it did is done and its cache committed, so nothing is lost.

use std::io::Write;

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

/// Writes one line to stdout. When the reader has closed the pipe, exits with success at once
/// (a watch would otherwise go on printing into nothing); any other failure to write, such as a
/// full disk, ends it with an error.
pub fn line(args: std::fmt::Arguments<'_>) {
    let mut stdout = std::io::stdout().lock();
    let written = writeln!(stdout, "{args}").and_then(|()| stdout.flush());
    match written {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => {
            eprintln!("error: could not write the output: {e}");
            std::process::exit(i32::from(crate::exit::FAILURE));
        }
    }
}
