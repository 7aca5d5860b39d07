//! The core's modules form layers: none imports a module that imports it back (directly or
//! through others), so each can be read, and replaced, from the bottom up. Checked on the
//! sources themselves, so a new loop fails the build's tests rather than a review.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every top-level module and the files it is made of (`x.rs`, or everything under `x/`).
fn modules(src: &Path) -> BTreeMap<String, Vec<PathBuf>> {
    let mut modules = BTreeMap::new();
    for entry in std::fs::read_dir(src)
        .expect("the core's src folder")
        .flatten()
    {
        let path = entry.path();
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_owned();
        if ["lib", "test_support", "layering"].contains(&name.as_str()) {
            continue;
        }
        let files = modules.entry(name).or_insert_with(Vec::new);
        if path.is_dir() {
            let mut folders = vec![path];
            while let Some(folder) = folders.pop() {
                for inner in std::fs::read_dir(&folder)
                    .expect("a module folder")
                    .flatten()
                {
                    let inner = inner.path();
                    if inner.is_dir() {
                        folders.push(inner);
                    } else if inner.extension().is_some_and(|e| e == "rs") && !tests_only(&inner) {
                        files.push(inner);
                    }
                }
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    modules
}

/// A module's tests in a file of their own (`tests.rs`, `*_tests.rs`): left out as its inline
/// `#[cfg(test)] mod tests` is (tests may reach any module to set a scene).
fn tests_only(file: &Path) -> bool {
    file.file_stem()
        .and_then(|s| s.to_str())
        .is_some_and(|stem| stem == "tests" || stem.ends_with("_tests"))
}

/// The items the crate root re-exports, with the module each comes from (`Change` → `changes`).
fn reexports(lib: &str) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    for line in lib.lines() {
        let Some(rest) = line.trim().strip_prefix("pub use ") else {
            continue;
        };
        let Some((module, items)) = rest.trim_end_matches(';').split_once("::") else {
            continue;
        };
        for item in items.trim_matches(|c| c == '{' || c == '}').split(',') {
            found.insert(item.trim().to_owned(), module.to_owned());
        }
    }
    found
}

/// The first name of each path after `crate::`, in code outside `#[cfg(test)] mod tests`.
fn crate_paths(source: &str) -> Vec<String> {
    let code = source
        .split("#[cfg(test)]\nmod tests")
        .next()
        .unwrap_or_default();
    let mut names = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        let group = if let Some(inner) = rest.strip_prefix('{') {
            inner.split('}').next().unwrap_or_default()
        } else {
            rest.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .next()
                .unwrap_or_default()
        };
        for path in group.split(',') {
            let first = path.trim().split("::").next().unwrap_or_default();
            if !first.is_empty() {
                names.push(first.to_owned());
            }
        }
    }
    names
}

fn import_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let modules = modules(&src);
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("lib.rs");
    let reexports = reexports(&lib);
    let mut graph = BTreeMap::new();
    for (module, files) in &modules {
        let imports: &mut BTreeSet<String> = graph.entry(module.clone()).or_default();
        for file in files {
            let source = std::fs::read_to_string(file).expect("a source file");
            for name in crate_paths(&source) {
                let target = if modules.contains_key(&name) {
                    Some(&name)
                } else {
                    reexports.get(&name)
                };
                if let Some(target) = target.filter(|t| *t != module && modules.contains_key(*t)) {
                    imports.insert(target.clone());
                }
            }
        }
    }
    graph
}

/// A loop through `start`, if there is one: `[start, …, start]`.
fn loop_through(graph: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    let mut paths = vec![vec![start.to_owned()]];
    let mut seen = BTreeSet::new();
    while let Some(path) = paths.pop() {
        let last = path.last().cloned().unwrap_or_default();
        for next in graph.get(&last).into_iter().flatten() {
            if next == start {
                let mut found = path.clone();
                found.push(start.to_owned());
                return Some(found);
            }
            if seen.insert(next.clone()) {
                let mut longer = path.clone();
                longer.push(next.clone());
                paths.push(longer);
            }
        }
    }
    None
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let graph = import_graph();
    assert!(
        graph.get("account").is_some_and(|i| i.contains("sync")),
        "the scan sees imports: {graph:?}"
    );
    for module in graph.keys() {
        if let Some(found) = loop_through(&graph, module) {
            panic!("an import loop: {}", found.join(" → "));
        }
    }
}

#[test]
fn a_loop_is_found_when_there_is_one() {
    let mut graph = BTreeMap::new();
    graph.insert("a".to_owned(), BTreeSet::from(["b".to_owned()]));
    graph.insert("b".to_owned(), BTreeSet::from(["c".to_owned()]));
    graph.insert("c".to_owned(), BTreeSet::from(["a".to_owned()]));
    assert_eq!(
        loop_through(&graph, "a"),
        Some(
            vec!["a", "b", "c", "a"]
                .into_iter()
                .map(String::from)
                .collect()
        )
    );
    assert_eq!(
        crate_paths("use crate::{Change, store::Store};\nuse crate::error::CoreError;"),
        ["Change", "store", "error"]
    );
}
