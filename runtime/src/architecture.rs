//! The invariants of ARCHITECTURE.md that the code's shape can break, checked
//! by reading the source: the top-level modules form no two-way edges,
//! `config` depends on nothing else in the crate and reads the environment in
//! one place, no file grows past 600 lines without saying why, the code map
//! names every module, and no test sleeps on a thread.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The longest a file may be without a `// Over 600 lines:` comment giving the reason.
const MAX_LINES: usize = 600;

fn sources() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The top-level module a source file belongs to (`None` for the crate root and the binary).
fn top_module(path: &Path) -> Option<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let relative = path.strip_prefix(&src).unwrap();
    let first = relative.components().next()?.as_os_str().to_str()?.trim_end_matches(".rs").to_string();
    (first != "lib" && first != "main" && first != "architecture").then_some(first)
}

/// The code of a file that is compiled outside tests, without comments.
fn production_code(text: &str) -> String {
    let code = text.split("\n#[cfg(test)]\nmod tests").next().unwrap_or("");
    code.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

/// The top-level modules `code` names through `crate::`: `crate::x::…` and
/// each item of `use crate::{x::…, y, …}`.
fn named_modules(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let ident = |s: &str| s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect::<String>();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let after = &rest[i + "crate::".len()..];
        if let Some(group) = after.strip_prefix('{') {
            // Items at the group's top level, up to its closing brace.
            let (mut depth, mut item_start) = (0usize, 0usize);
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        out.insert(ident(group[item_start..j].trim()));
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.insert(ident(group[item_start..j].trim()));
                        item_start = j + 1;
                    }
                    _ => {}
                }
            }
        } else {
            out.insert(ident(after));
        }
        rest = after;
    }
    out.remove("");
    out
}

/// Top-level module → the top-level modules its production code names.
fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let files = sources();
    let tops: BTreeSet<String> = files.iter().filter_map(|f| top_module(f)).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let Some(top) = top_module(file) else { continue };
        let code = production_code(&std::fs::read_to_string(file).unwrap());
        let entry = graph.entry(top.clone()).or_default();
        entry.extend(named_modules(&code).into_iter().filter(|m| *m != top && tops.contains(m)));
    }
    graph
}

#[test]
fn the_reader_sees_modules_named_in_paths_and_use_groups() {
    let code = "use crate::{config::{A, B}, store};\nfn f() { crate::clock::unix_now(); }";
    let named: Vec<String> = named_modules(code).into_iter().collect();
    assert_eq!(named, ["clock", "config", "store"]);
}

#[test]
fn no_two_top_level_modules_depend_on_each_other() {
    let graph = module_graph();
    assert!(graph.len() > 10, "the reader found the modules: {graph:?}");
    let mut both_ways = Vec::new();
    for (a, deps) in &graph {
        for b in deps {
            if a < b && graph.get(b).is_some_and(|d| d.contains(a)) {
                both_ways.push(format!("{a} <-> {b}"));
            }
        }
    }
    assert!(both_ways.is_empty(), "two-way edges between top-level modules: {both_ways:?}\n{graph:#?}");
}

#[test]
fn config_depends_on_nothing_else_in_the_crate() {
    let graph = module_graph();
    assert_eq!(graph.get("config"), Some(&BTreeSet::new()), "config must stay a leaf: {graph:#?}");
}

#[test]
fn no_file_is_over_600_lines_without_saying_why() {
    let long: Vec<String> = sources()
        .into_iter()
        .filter_map(|f| {
            let text = std::fs::read_to_string(&f).unwrap();
            let lines = text.lines().count();
            let explained = text.lines().any(|l| l.trim_start().starts_with("// Over 600 lines:"));
            (lines > MAX_LINES && !explained).then(|| format!("{} ({lines} lines)", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "split these by concern, or say why they cannot be: {long:?}");
}

#[test]
fn the_code_map_names_every_module() {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../ARCHITECTURE.md")).unwrap();
    // Every name the document writes in backticks, and each part of a path or list so written.
    let mut named = BTreeSet::new();
    for (i, quoted) in doc.split('`').enumerate() {
        if i % 2 == 1 {
            named.insert(quoted.to_string());
            named.extend(quoted.split([' ', ',', '(', ')', '/', ':']).map(str::to_string));
        }
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let missing: Vec<String> = sources()
        .iter()
        .filter_map(|f| {
            let relative = f.strip_prefix(&src).unwrap();
            let file = relative.file_name()?.to_str()?;
            if file == "lib.rs" || file == "main.rs" {
                return None;
            }
            let name = if file == "mod.rs" {
                relative.parent()?.file_name()?.to_str()?.to_string()
            } else {
                file.trim_end_matches(".rs").to_string()
            };
            let found = [name.clone(), format!("{name}.rs")].iter().any(|n| named.contains(n));
            (!found).then(|| relative.display().to_string())
        })
        .collect();
    assert!(missing.is_empty(), "ARCHITECTURE.md's code map does not name: {missing:?}");
}

#[test]
fn config_reads_the_environment_only_in_overrides_from_env() {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/config");
    let mut readers = Vec::new();
    for file in sources().into_iter().filter(|f| f.starts_with(&config)) {
        let code = production_code(&std::fs::read_to_string(&file).unwrap());
        let mut function = String::new();
        for line in code.lines() {
            if let Some(at) = line.find("fn ") {
                function = line[at + 3..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            }
            if line.contains("std::env::") && function != "from_env" {
                readers.push(format!("{} in fn {function}", file.display()));
            }
        }
    }
    assert!(readers.is_empty(), "config parsing must not read the environment: {readers:?}");
}

#[test]
fn config_touches_the_filesystem_only_in_files_rs() {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/config");
    let calls = ["std::fs", "fs::", ".is_file()", ".is_dir()", ".exists()", "path::absolute", "read_dir", "metadata("];
    let mut touching = Vec::new();
    for file in sources().into_iter().filter(|f| f.starts_with(&config) && !f.ends_with("files.rs")) {
        let code = production_code(&std::fs::read_to_string(&file).unwrap());
        for call in calls.iter().filter(|c| code.contains(**c)) {
            touching.push(format!("{} uses {call}", file.display()));
        }
    }
    assert!(touching.is_empty(), "parsing is pure; look at files in config/files.rs only: {touching:?}");
}

#[test]
fn no_test_sleeps_on_a_thread() {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests");
    let mut sleepers = Vec::new();
    for dir in [tests.join("src"), tests.join("tests")] {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            if text.contains("thread::sleep") {
                sleepers.push(entry.path().display().to_string());
            }
        }
    }
    assert!(sleepers.is_empty(), "wait on a readiness signal, not a sleeping thread: {sleepers:?}");
}
