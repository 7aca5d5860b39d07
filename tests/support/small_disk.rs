//! A small disk of a test's own, shared by the CLI's and the server binary's tests: a real file
//! system that runs out of space, mounted where only the processes under test see it, and
//! never left mounted behind a test that dies.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const MOUNT_PATIENCE: Duration = Duration::from_secs(20);

/// A tmpfs of its own size mounted over a folder, in a user and mount namespace of its own
/// (`unshare`) that a holder process keeps for as long as this value lives. The binary enters
/// it with `nsenter`; the rest of the machine, this test included, never sees the mount, and
/// nothing is left mounted if the test dies.
pub struct SmallDisk {
    holder: Child,
    folder: PathBuf,
}

impl SmallDisk {
    pub async fn over(folder: &Path, size: &str) -> SmallDisk {
        std::fs::create_dir_all(folder).expect("the folder to mount over");
        let mut holder = Command::new("unshare")
            .args([
                "--user",
                "--map-root-user",
                "--mount",
                "--propagation",
                "private",
            ])
            .args([
                "sh",
                "-c",
                r#"mount -t tmpfs -o "size=$1" tmpfs "$2" && echo mounted && exec sleep infinity"#,
            ])
            .arg("sh")
            .arg(size)
            .arg(folder)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("util-linux's unshare runs");
        let mut said = BufReader::new(holder.stdout.take().expect("piped")).lines();
        match tokio::time::timeout(MOUNT_PATIENCE, said.next_line()).await {
            Ok(Ok(Some(line))) if line == "mounted" => {}
            other => {
                let _ = holder.start_kill();
                let output = holder.wait_with_output().await.expect("it ends");
                panic!(
                    "no tmpfs mounted in a namespace of its own ({other:?}): {}\n\
                     These tests need user namespaces: run them as root, or allow unprivileged \
                     ones (`sysctl kernel.unprivileged_userns_clone=1`; on Ubuntu 24.04 also \
                     `kernel.apparmor_restrict_unprivileged_userns=0`; a container needs a \
                     seccomp profile that allows `unshare`).",
                    String::from_utf8_lossy(&output.stderr)
                );
            }
        }
        SmallDisk {
            holder,
            folder: folder.to_owned(),
        }
    }

    /// `nsenter …`: what a command runs under to see this disk.
    pub fn enter(&self) -> Vec<String> {
        let pid = self.holder.id().expect("the holder runs");
        ["nsenter", "--target", &pid.to_string(), "--user", "--mount"]
            .into_iter()
            .chain(["--preserve-credentials", "--"])
            .map(str::to_owned)
            .collect()
    }

    async fn shell(&self, script: &str) -> String {
        let mut command = self.enter();
        command.extend(["sh".into(), "-c".into(), script.into(), "sh".into()]);
        command.push(self.folder.display().to_string());
        let output = Command::new(&command[0])
            .args(&command[1..])
            .output()
            .await
            .expect("nsenter runs");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Writes a file until the disk has no block left.
    pub async fn fill(&self) {
        let free = self
            .shell(r#"dd if=/dev/zero of="$1/filler" bs=64k 2>/dev/null; df --output=avail "$1" | tail -n 1"#)
            .await;
        assert_eq!(free.trim(), "0", "the disk is full");
    }

    pub async fn free(&self) {
        self.shell(r#"rm "$1/filler""#).await;
    }
}
