//! The side-by-side peer of `server_load`: the seed's FastAPI + uvicorn stack
//! (`shared/peers/fastapi/app.py`), installed in its own virtual environment under the target
//! folder and started as a child process (one uvicorn worker, a fresh SQLite file).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, ensure, Context};

use crate::process::{free_port, ChildServer};

/// What `pip` installs into the peer's venv. A change here reinstalls it.
const REQUIREMENTS: [&str; 2] = ["fastapi==0.165.0", "uvicorn[standard]==0.55.0"];
/// Records, inside the venv, the requirement line it was installed with.
const MARKER: &str = "spartex-bench-requirements.txt";
const SKIP_HINT: &str = "set SPARTEX_BENCH_PEER=off to run without the peer";

/// The peer's app and the venv to run it with.
pub struct Peer {
    app: PathBuf,
    venv: PathBuf,
}

fn workspace_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

/// Finds the peer's app: `None` when `SPARTEX_BENCH_PEER=off`.
pub fn locate() -> anyhow::Result<Option<Peer>> {
    let switch = crate::env_or("SPARTEX_BENCH_PEER", "on")?;
    match switch.trim().to_ascii_lowercase().as_str() {
        "off" => return Ok(None),
        "on" | "" => {}
        other => bail!("SPARTEX_BENCH_PEER must be `on` or `off`, not `{other}`"),
    }
    let root = workspace_root();
    let app = match std::env::var_os("SPARTEX_BENCH_PEER_APP") {
        Some(path) => PathBuf::from(path),
        None => root.join("../shared/peers/fastapi/app.py"),
    };
    let app = app.canonicalize().unwrap_or(app);
    ensure!(
        app.is_file(),
        "the FastAPI peer's app is not at {} (looked there because {}); point \
         SPARTEX_BENCH_PEER_APP at its app.py, or {SKIP_HINT}",
        app.display(),
        if std::env::var_os("SPARTEX_BENCH_PEER_APP").is_some() {
            "SPARTEX_BENCH_PEER_APP says so"
        } else {
            "that is <workspace>/../shared/peers/fastapi/app.py"
        }
    );
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    };
    Ok(Some(Peer {
        app,
        venv: target.join("bench-peer-venv"),
    }))
}

impl Peer {
    pub fn app(&self) -> &Path {
        &self.app
    }

    /// Makes the venv and installs the pinned requirements, unless the marker file says it
    /// already holds them. Blocking: call it before the measurements.
    pub fn install(&self) -> anyhow::Result<()> {
        let wanted = REQUIREMENTS.join(" ");
        let python = self.venv.join("bin/python");
        let marker = self.venv.join(MARKER);
        let uvicorn = self.venv.join("bin/uvicorn");
        let installed = std::fs::read_to_string(&marker).unwrap_or_default();
        if python.is_file() && uvicorn.is_file() && installed.trim() == wanted {
            println!(
                "FastAPI peer: venv {} already holds {wanted}",
                self.venv.display()
            );
            return Ok(());
        }
        if !python.is_file() {
            println!(
                "FastAPI peer: making its venv: python3 -m venv {}",
                self.venv.display()
            );
            let status = Command::new("python3")
                .args(["-m", "venv"])
                .arg(&self.venv)
                .status()
                .with_context(|| {
                    format!(
                        "could not run `python3` to make the peer's venv: install Python 3 \
                         (with its venv module) on PATH, or {SKIP_HINT}"
                    )
                })?;
            ensure!(
                status.success() && python.is_file(),
                "`python3 -m venv {}` failed ({status}): install Python's venv module \
                 (Debian: apt-get install python3-venv), remove that folder, and run again; or \
                 {SKIP_HINT}",
                self.venv.display()
            );
        }
        // A changed or interrupted install must not look finished.
        let _ = std::fs::remove_file(&marker);
        println!(
            "FastAPI peer: {}/bin/pip install {wanted}",
            self.venv.display()
        );
        let status = Command::new(self.venv.join("bin/pip"))
            .args(["install", "--disable-pip-version-check"])
            .args(REQUIREMENTS)
            .status()
            .context("could not run the venv's pip")?;
        ensure!(
            status.success() && uvicorn.is_file(),
            "`pip install {wanted}` into {} failed ({status}): check the network or the pip \
             index (PIP_INDEX_URL), or delete that folder to start over; or {SKIP_HINT}",
            self.venv.display()
        );
        std::fs::write(&marker, format!("{wanted}\n"))
            .with_context(|| format!("could not write {}", marker.display()))?;
        Ok(())
    }

    /// Starts uvicorn on a free port with one worker, cwd = the app's folder and its database
    /// in `dir`.
    pub fn spawn(&self, dir: &Path) -> anyhow::Result<ChildServer> {
        let folder = self.app.parent().context("the peer's app has no folder")?;
        let module = self
            .app
            .file_stem()
            .and_then(|s| s.to_str())
            .context("the peer's app file name is not text")?;
        let port = free_port()?;
        let mut command = Command::new(self.venv.join("bin/uvicorn"));
        command
            .arg(format!("{module}:app"))
            .args(["--host", "127.0.0.1", "--port"])
            .arg(port.to_string())
            .args(["--log-level", "warning"])
            .current_dir(folder)
            .env("PEER_DB", dir.join("peer.db"))
            // Leave the shared peers folder as it is: no __pycache__.
            .env("PYTHONDONTWRITEBYTECODE", "1");
        ChildServer::spawn("FastAPI peer", command, port, dir.join("peer.log"))
    }
}
