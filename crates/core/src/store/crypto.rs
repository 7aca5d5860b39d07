//! SQLCipher's crypto library, where it is OpenSSL: Linux and Windows. Built on a Mac for a Mac
//! or an iPhone, libsqlite3-sys uses CommonCrypto (unless `OPENSSL_DIR` points it at OpenSSL,
//! which this does not cover); Android is only type-checked here, and needs the same call once
//! its SQLCipher is linked against an OpenSSL.
//!
//! By default OpenSSL frees its global state in an `atexit` handler. A connection the process
//! has not closed when it exits (after a panic, at the end of a test, on any exit path that skips
//! `Store::close`) is torn down by its sqlx worker thread while `exit` runs, and a page that thread
//! encrypts or decrypts then uses freed memory: "double free or corruption" or a segfault at exit.
//! Initialised first with `OPENSSL_INIT_NO_ATEXIT` (what `openssl_sys::init` asks for), OpenSSL
//! leaves that state to the operating system, which reclaims it anyway.

/// Runs before SQLCipher first touches OpenSSL (from `connect_options`, which every connection
/// to a cache is made with, and `set_up_crypto` for one made without): the first
/// initialisation decides.
pub(super) fn keep_until_exit() {
    #[cfg(not(any(target_vendor = "apple", target_os = "android")))]
    openssl_sys::init();
}
