//! The desktop bench's memory figures: the PSS of an app's processes, and where it is.

use spartex_testkit::procs;

pub struct Pss {
    pub by_process: Vec<(String, u64)>,
}

impl Pss {
    pub fn total(&self) -> u64 {
        self.by_process.iter().map(|(_, kb)| kb * 1024).sum()
    }
}

/// PSS of a process and all its descendants, summed by program name. With
/// `SPARTEX_BENCH_VERBOSE=1`, also where each process's PSS is (its largest mappings).
pub fn pss_tree(root: u32) -> Pss {
    let mut totals: Vec<(String, u64)> = Vec::new();
    let verbose = std::env::var_os("SPARTEX_BENCH_VERBOSE").is_some();
    for pid in std::iter::once(root).chain(procs::descendants(root)) {
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        let comm = comm.trim();
        if verbose {
            print_largest_mappings(pid, comm);
        }
        let kb = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
            .unwrap_or_default()
            .lines()
            .find_map(pss_kb)
            .unwrap_or(0);
        let name = if pid == root { "main process" } else { comm };
        add_to(&mut totals, name, kb);
    }
    Pss { by_process: totals }
}

/// The kB of a `Pss:` line of `smaps` or `smaps_rollup`.
fn pss_kb(line: &str) -> Option<u64> {
    line.strip_prefix("Pss:")
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn add_to(totals: &mut Vec<(String, u64)>, name: &str, kb: u64) {
    match totals.iter_mut().find(|(n, _)| n == name) {
        Some((_, total)) => *total += kb,
        None => totals.push((name.to_owned(), kb)),
    }
}

/// The process's PSS by mapping (anonymous memory, the heap, each file), largest first.
fn print_largest_mappings(pid: u32, comm: &str) {
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap_or_default();
    let mut by_mapping: Vec<(String, u64)> = Vec::new();
    let mut current = String::new();
    for line in smaps.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields
            .first()
            .is_some_and(|f| f.contains('-') && !f.ends_with(':'))
        {
            current = fields.get(5).map_or("[anon]".to_owned(), |name| {
                name.rsplit('/').next().unwrap_or(name).to_owned()
            });
        } else if let Some(kb) = pss_kb(line) {
            add_to(&mut by_mapping, &current, kb);
        }
    }
    by_mapping.sort_by_key(|(_, kb)| std::cmp::Reverse(*kb));
    let largest: Vec<String> = by_mapping
        .iter()
        .take(10)
        .map(|(name, kb)| format!("{name} {:.1}", *kb as f64 / 1024.0))
        .collect();
    eprintln!("PSS of {comm} ({pid}), MiB: {}", largest.join(", "));
}

/// Mebibytes (2^20 bytes), which is what the figures of `docs/benchmarks.md` say as "MB" before
/// 2026-12-03.
pub fn mib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / 1_048_576.0)
}
