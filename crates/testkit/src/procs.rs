//! The process tree under a pid, from /proc (Linux). Shared by the end-to-end tests (to end
//! everything a test started) and the desktop benchmark (to measure every process of the app).

use std::collections::HashMap;

/// Every process below `root`, children before grandchildren.
pub fn descendants(root: u32) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Some(parent) = parent_of(pid) {
            children.entry(parent).or_default().push(pid);
        }
    }
    let mut found = Vec::new();
    let mut queue = vec![root];
    while let Some(pid) = queue.pop() {
        for child in children.get(&pid).cloned().unwrap_or_default() {
            found.push(child);
            queue.push(child);
        }
    }
    found
}

/// Whether `pid` is still running: a killed process that nobody has reaped yet (a zombie)
/// holds nothing and counts as gone.
pub fn running(pid: u32) -> bool {
    stat_after_name(pid)
        .and_then(|fields| fields.chars().next())
        .is_some_and(|state| !matches!(state, 'Z' | 'X'))
}

fn parent_of(pid: u32) -> Option<u32> {
    // The state, then the parent's pid.
    stat_after_name(pid)?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The fields of `/proc/{pid}/stat` after the process's name, which is in parentheses and may
/// hold spaces.
fn stat_after_name(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Some(stat.get(stat.rfind(')')? + 2..)?.to_owned())
}
