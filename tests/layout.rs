//! The shape of the house (issue 8, docs/architecture.md), checked on the
//! source itself: no two source files import each other, and no production
//! function is longer than a reader takes in at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Longest production function allowed, in lines from `fn` to its brace.
const MAX_FN_LINES: usize = 80;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().map(Result::unwrap) {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The file without its `#[cfg(test)] mod … { … }` blocks and comments.
fn production(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < lines.len() {
        let opens_test_mod = lines[i].trim() == "#[cfg(test)]"
            && lines.get(i + 1).is_some_and(|l| {
                let l = l.trim();
                l.starts_with("mod ") && l.ends_with('{')
            });
        if opens_test_mod {
            let mut depth = 0i32;
            i += 1;
            while i < lines.len() {
                for c in strip(lines[i]).chars() {
                    match c {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        _ => {}
                    }
                }
                i += 1;
                if depth <= 0 {
                    break;
                }
            }
            continue;
        }
        if !lines[i].trim_start().starts_with("//") {
            out.push_str(lines[i]);
        }
        out.push('\n');
        i += 1;
    }
    out
}

/// The module path of a file: `src/probes/config/mod.rs` is
/// `["probes", "config"]`, `src/lib.rs` is `[]`.
fn module_of(file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src()).unwrap().with_extension("");
    let mut m: Vec<String> = rel.iter().map(|c| c.to_string_lossy().into()).collect();
    if matches!(m.last().map(String::as_str), Some("mod" | "lib" | "main")) {
        m.pop();
    }
    m
}

/// The file that holds module `m`, or of its longest prefix that has one.
fn file_of(m: &[String], files: &BTreeMap<Vec<String>, PathBuf>) -> Option<PathBuf> {
    (1..=m.len())
        .rev()
        .find_map(|n| files.get(&m[..n]).cloned())
}

/// Every `crate::…` and `super::…` path a file names, as module paths.
fn named_paths(module: &[String], text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let words: Vec<&str> = text
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .filter(|w| w.starts_with("crate::") || w.starts_with("super::"))
        .collect();
    for w in words {
        let mut parts = w.split("::").filter(|p| !p.is_empty());
        let mut path: Vec<String> = match parts.next() {
            Some("crate") => Vec::new(),
            // `super` of `a/b.rs` and of `a/b/mod.rs` alike is `a`.
            _ => module[..module.len().saturating_sub(1)].to_vec(),
        };
        for p in parts {
            if p == "super" {
                path.pop();
            } else {
                path.push(p.to_string());
            }
        }
        out.push(path);
    }
    out
}

#[test]
fn no_two_source_files_import_each_other() {
    let mut all = Vec::new();
    rust_files(&src(), &mut all);
    let files: BTreeMap<Vec<String>, PathBuf> =
        all.iter().map(|f| (module_of(f), f.clone())).collect();
    let mut edges: BTreeSet<(PathBuf, PathBuf)> = BTreeSet::new();
    for f in &all {
        let text = std::fs::read_to_string(f).unwrap();
        let module = module_of(f);
        for path in named_paths(&module, &production(&text)) {
            if let Some(to) = file_of(&path, &files) {
                // A file may use its parent module's items (`super::Findings`).
                if &to != f && !module.starts_with(&module_of(&to)) {
                    edges.insert((f.clone(), to));
                }
            }
        }
    }
    let mutual: Vec<String> = edges
        .iter()
        .filter(|(a, b)| a < b && edges.contains(&(b.clone(), a.clone())))
        .map(|(a, b)| format!("{} <-> {}", a.display(), b.display()))
        .collect();
    assert!(
        mutual.is_empty(),
        "source files that import each other:\n{}",
        mutual.join("\n")
    );
    assert!(
        edges.len() > 50,
        "the scan found only {} imports",
        edges.len()
    );
}

/// Lines from each `fn` to the brace that closes it (strings, chars and
/// comments stripped well enough for this code base).
fn function_lengths(text: &str) -> Vec<(usize, usize, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim_start();
        let t = t.strip_prefix("pub ").unwrap_or(t);
        let t = t.strip_prefix("pub(crate) ").unwrap_or(t);
        let t = t.strip_prefix("const ").unwrap_or(t);
        let Some(rest) = t.strip_prefix("fn ") else {
            continue;
        };
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let (mut depth, mut started) = (0i32, false);
        for (j, l) in lines.iter().enumerate().skip(i) {
            let code = strip(l);
            if !started && code.trim_end().ends_with(';') {
                break;
            }
            for c in code.chars() {
                match c {
                    '{' => {
                        depth += 1;
                        started = true;
                    }
                    '}' => depth -= 1,
                    _ => {}
                }
            }
            if started && depth <= 0 {
                out.push((j - i + 1, i + 1, name.clone()));
                break;
            }
        }
    }
    out
}

/// A line without its string and char literals and its `//` comment.
fn strip(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                while let Some(d) = chars.next() {
                    match d {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        _ => {}
                    }
                }
            }
            '\'' if matches!(chars.peek(), Some('{' | '}')) => {
                chars.next();
            }
            '/' if chars.peek() == Some(&'/') => break,
            _ => out.push(c),
        }
    }
    out
}

#[test]
fn no_production_function_is_longer_than_a_screen() {
    let mut all = Vec::new();
    rust_files(&src(), &mut all);
    let mut long = Vec::new();
    let mut count = 0;
    for f in &all {
        if f.ends_with("testutil.rs") || f.ends_with("tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(f).unwrap();
        for (n, at, name) in function_lengths(&production(&text)) {
            count += 1;
            if n > MAX_FN_LINES {
                long.push(format!("{}:{at} {name}: {n} lines", f.display()));
            }
        }
    }
    assert!(count > 300, "the scan found only {count} functions");
    assert!(
        long.is_empty(),
        "functions over {MAX_FN_LINES} lines (split them: a dispatcher and one function per check):\n{}",
        long.join("\n")
    );
}
