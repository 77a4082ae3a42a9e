//! Whole environments captured from real job containers
//! (`tests/fixtures/envs/<name>/`, written by `podrun-doctor capture`):
//! the report of each must match its golden file, and the fixing modes
//! must be idempotent on a copy of each.
//!
//! `PODRUN_BLESS=1 cargo test --test golden` rewrites the golden files;
//! review the diff like code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn envs() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/envs");
    let mut all: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    all.retain(|p| p.join("host.json").is_file());
    all.sort();
    all
}

fn report(root: &Path, mode: &str) -> (Value, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_podrun-doctor"))
        .args(["--root", root.to_str().unwrap(), mode, "--json", "-"])
        .output()
        .unwrap();
    let text = if mode == "env" {
        &out.stderr
    } else {
        &out.stdout
    };
    let v: Value = serde_json::from_slice(text).unwrap_or_else(|e| {
        panic!(
            "{}: {mode}: not JSON ({e}): {}",
            root.display(),
            String::from_utf8_lossy(text)
        )
    });
    (v, out.status.code().unwrap_or(-1))
}

/// The report without what changes from run to run.
fn stable(mut v: Value) -> Value {
    let obj = v.as_object_mut().unwrap();
    obj.remove("duration_ms");
    obj.remove("version");
    v
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        let ft = entry.file_type().unwrap();
        if ft.is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else if ft.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path()).unwrap(), &target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn captured_environments_match_their_golden_reports() {
    let golden_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let bless = std::env::var_os("PODRUN_BLESS").is_some();
    let mut stale = Vec::new();
    for env in envs() {
        let name = env.file_name().unwrap().to_string_lossy().into_owned();
        let (v, code) = report(&env, "check");
        let ready = v["verdict"]["ready_before"].as_bool().unwrap();
        assert_eq!(
            code,
            if ready { 0 } else { 1 },
            "{name}: exit code vs verdict"
        );
        let got = serde_json::to_string_pretty(&stable(v)).unwrap() + "\n";
        let path = golden_dir.join(format!("{name}.json"));
        if bless {
            std::fs::write(&path, &got).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(got.as_str()) {
            stale.push(name);
        }
    }
    assert!(
        stale.is_empty(),
        "reports differ from tests/golden for {stale:?}; review, then PODRUN_BLESS=1"
    );
}

#[test]
fn fixing_twice_changes_nothing_the_second_time() {
    for env in envs() {
        let name = env.file_name().unwrap().to_string_lossy().into_owned();
        let copy = tempfile::tempdir().unwrap();
        copy_tree(&env, copy.path());
        let (first, _) = report(copy.path(), "env");
        let (second, _) = report(copy.path(), "env");
        assert_eq!(
            second["changes"],
            serde_json::json!([]),
            "{name}: second run changed {}",
            second["changes"]
        );
        // What `check` predicted is what the fixes achieved.
        let (checked, _) = report(&env, "check");
        assert_eq!(
            checked["verdict"]["ready_after"], first["verdict"]["ready_after"],
            "{name}: check's prediction differs from env's outcome"
        );
        assert_eq!(
            checked["env"], first["env"],
            "{name}: check's predicted exports differ from env's"
        );
    }
}
