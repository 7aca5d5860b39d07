//! How the webview paints. On Linux WebKitGTK composites the page through OpenGL. On a machine
//! with no GPU (a VM, a remote desktop, a thin client) that OpenGL is Mesa's software
//! rasteriser: the CPU paints anyway, through a GL layer that, measured on such a machine
//! (`docs/benchmarks.md`), costs the web process about 100 MB and the first frame about 160 ms.
//! There the app asks WebKit for its own CPU painting instead. Whoever sets
//! `WEBKIT_DISABLE_COMPOSITING_MODE` themselves (to `0` or `1`) keeps their choice.

use std::path::Path;

/// The variable WebKitGTK reads: any value but `0` turns its OpenGL compositing off.
pub const COMPOSITING_OFF: &str = "WEBKIT_DISABLE_COMPOSITING_MODE";

/// Picks CPU painting when there is no GPU. Call it first thing in `main`, before any thread
/// starts: it sets an environment variable that WebKit reads when the webview is created.
pub fn choose_painting() {
    if std::env::var_os(COMPOSITING_OFF).is_none() && no_gpu() {
        std::env::set_var(COMPOSITING_OFF, "1");
    }
}

/// Whether the webview paints on the CPU here: because whoever started the app said so, or
/// because there is no GPU.
pub fn paints_on_cpu() -> bool {
    match std::env::var_os(COMPOSITING_OFF) {
        Some(value) => value != "0",
        None => no_gpu(),
    }
}

fn no_gpu() -> bool {
    cfg!(target_os = "linux") && !has_render_node(Path::new("/dev/dri"))
}

/// True when `dri` holds a DRM render node (`renderD128`, …): a GPU that OpenGL can use.
fn has_render_node(dri: &Path) -> bool {
    std::fs::read_dir(dri).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|entry| entry.file_name().to_string_lossy().starts_with("renderD"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_render_node_means_a_gpu() {
        let dri = tempfile::tempdir().expect("a folder");
        std::fs::write(dri.path().join("card0"), b"").expect("a file");
        assert!(
            !has_render_node(dri.path()),
            "a display card alone renders nothing"
        );
        std::fs::write(dri.path().join("renderD128"), b"").expect("a file");
        assert!(has_render_node(dri.path()));
    }

    #[test]
    fn no_dri_folder_means_no_gpu() {
        let dri = tempfile::tempdir().expect("a folder");
        assert!(!has_render_node(&dri.path().join("dri")));
    }
}
