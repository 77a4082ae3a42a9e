//! Whole environments captured from real job containers
//! (`tests/fixtures/envs/<name>/`, written by `podrun-doctor capture` through
//! `tests/matrix/capture.sh`; see the README there):
//!
//! - each env's `check` verdict must be what real podman did there
//!   (`expected.json`, from the scenario matrix);
//! - its report must match its golden file (`tests/golden/<name>.json`);
//! - the fixing modes must be idempotent on a copy of it, and `check`'s
//!   prediction must be what `env` achieves.
//!
//! `PODRUN_BLESS=1 cargo test --test golden` rewrites the golden files;
//! review the diff like code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A suite that silently runs on zero fixtures asserts nothing.
const MIN_ENVS: usize = 10;
/// Fixtures are committed: keep each one small.
const MAX_ENV_BYTES: u64 = 200 * 1024;

fn envs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/envs")
}

/// The captured environments (directories with a `host.json`), at least
/// [`MIN_ENVS`] of them.
fn envs() -> Vec<PathBuf> {
    let mut all: Vec<PathBuf> = std::fs::read_dir(envs_dir())
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    all.retain(|p| p.join("host.json").is_file());
    all.sort();
    assert!(
        all.len() >= MIN_ENVS,
        "only {} captured environments in {} (at least {MIN_ENVS} expected): \
         see tests/fixtures/envs/README.md",
        all.len(),
        envs_dir().display()
    );
    all
}

fn name_of(env: &Path) -> String {
    env.file_name().unwrap().to_string_lossy().into_owned()
}

/// What real podman did in this environment (`expected.json`).
fn expected(env: &Path) -> Value {
    let path = env.join("expected.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (every captured env needs one)", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()))
}

fn built(expected: &Value, key: &str, name: &str) -> bool {
    match expected[key].as_str() {
        Some("built") => true,
        Some("failed") => false,
        other => panic!("{name}: expected.json {key} is {other:?}, not \"built\" or \"failed\""),
    }
}

fn report(root: &Path, mode: &str) -> (Value, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_podrun-doctor"))
        .args(["--root", root.to_str().unwrap(), mode, "--json", "-"])
        .output()
        .unwrap();
    // `env --json -` keeps stdout for the exports.
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

/// The report without what changes from run to run (the build's version
/// and the time taken). Nothing else may vary: no temp paths, no pids.
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

/// A copy of a fixture to run the fixing modes on: the tree, plus the
/// directories `host.json` says exist (git keeps no empty directories, and
/// the fixes write into some of them, e.g. `/etc/containers`).
fn materialise(env: &Path, to: &Path) {
    copy_tree(env, to);
    let host: Value =
        serde_json::from_str(&std::fs::read_to_string(env.join("host.json")).unwrap()).unwrap();
    if let Some(stat) = host["stat"].as_object() {
        for (path, st) in stat {
            if st["kind"] == "dir" {
                std::fs::create_dir_all(to.join("root").join(path.trim_start_matches('/')))
                    .unwrap();
            }
        }
    }
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let ft = entry.file_type().unwrap();
        if ft.is_dir() {
            files_under(&entry.path(), out);
        } else {
            out.push(entry.path());
        }
    }
}

fn fail_all(problems: Vec<String>) {
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

#[test]
fn captured_environments_are_small_clean_and_tied_to_real_runs() {
    use std::os::unix::fs::PermissionsExt;
    let mut problems = Vec::new();
    for env in envs() {
        let name = name_of(&env);
        let exp = expected(&env);
        for key in ["scenario", "podman", "key_error"] {
            if !exp[key].is_string() {
                problems.push(format!("{name}: expected.json has no string {key:?}"));
            }
        }
        built(&exp, "build_as_found", &name);
        built(&exp, "build_after_fix", &name);
        let mut files = Vec::new();
        files_under(&env, &mut files);
        let mut total = 0;
        for f in &files {
            let meta = std::fs::symlink_metadata(f).unwrap();
            total += meta.len();
            let rel = f.strip_prefix(&env).unwrap().display().to_string();
            if meta.file_type().is_symlink() {
                problems.push(format!("{name}: {rel} is a symlink"));
                continue;
            }
            if meta.permissions().mode() & 0o111 != 0 {
                problems.push(format!("{name}: {rel} is executable"));
            }
            // `/proc/PID/cmdline` separates arguments with NUL; `environ` is never captured.
            if f.file_name().is_some_and(|n| n == "environ") {
                problems.push(format!("{name}: {rel} is a process environment"));
            }
            if f.file_name().is_some_and(|n| n != "cmdline")
                && std::fs::read(f).unwrap().contains(&0)
            {
                problems.push(format!("{name}: {rel} is binary (NUL bytes)"));
            }
        }
        if total > MAX_ENV_BYTES {
            problems.push(format!("{name}: {total} bytes (> {MAX_ENV_BYTES})"));
        }
        // Only the variables the doctor consulted, and never a credential.
        let host: Value =
            serde_json::from_str(&std::fs::read_to_string(env.join("host.json")).unwrap()).unwrap();
        for (k, v) in host["env"].as_object().unwrap() {
            let upper = k.to_ascii_uppercase();
            let secret = ["TOKEN", "PASSWORD", "SECRET", "KEY", "AUTH", "CREDENTIAL"]
                .iter()
                .any(|s| upper.contains(s));
            if secret && v != "<redacted>" {
                problems.push(format!("{name}: host.json env {k} is not redacted"));
            }
        }
    }
    fail_all(problems);
}

#[test]
fn check_verdicts_are_what_real_podman_did() {
    let mut problems = Vec::new();
    for env in envs() {
        let name = name_of(&env);
        let exp = expected(&env);
        let (v, code) = report(&env, "check");
        let before = v["verdict"]["ready_before"].as_bool();
        let after = v["verdict"]["ready_after"].as_bool();
        let want_before = built(&exp, "build_as_found", &name);
        let want_after = built(&exp, "build_after_fix", &name);
        if before != Some(want_before) {
            problems.push(format!(
                "{name}: ready_before={before:?}, but podman build as found: {} ({})",
                exp["build_as_found"], exp["key_error"]
            ));
        }
        if after != Some(want_after) {
            problems.push(format!(
                "{name}: ready_after={after:?}, but podman build after the fixes: {}",
                exp["build_after_fix"]
            ));
        }
        if code != if before == Some(true) { 0 } else { 1 } {
            problems.push(format!(
                "{name}: exit code {code} with ready_before={before:?}"
            ));
        }
    }
    fail_all(problems);
}

#[test]
fn captured_environments_match_their_golden_reports() {
    let golden_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let bless = std::env::var_os("PODRUN_BLESS").is_some();
    let mut stale = Vec::new();
    for env in envs() {
        let name = name_of(&env);
        let (v, _) = report(&env, "check");
        let got = serde_json::to_string_pretty(&stable(v)).unwrap() + "\n";
        let path = golden_dir.join(format!("{name}.json"));
        if bless {
            std::fs::create_dir_all(&golden_dir).unwrap();
            std::fs::write(&path, &got).unwrap();
        } else {
            let want = std::fs::read_to_string(&path).unwrap_or_default();
            if want != got {
                // The first line that differs, to start the review with.
                let line = want
                    .lines()
                    .zip(got.lines())
                    .position(|(a, b)| a != b)
                    .unwrap_or_else(|| want.lines().count().min(got.lines().count()));
                stale.push(format!(
                    "{name} (line {}: {:?})",
                    line + 1,
                    got.lines().nth(line).unwrap_or("<end>")
                ));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "reports differ from tests/golden for:\n{}\nreview, then PODRUN_BLESS=1 cargo test --test golden",
        stale.join("\n")
    );
}

#[test]
fn fixing_twice_changes_nothing_the_second_time() {
    let mut problems = Vec::new();
    for env in envs() {
        let name = name_of(&env);
        let copy = tempfile::tempdir().unwrap();
        materialise(&env, copy.path());
        // The report does not depend on where the tree lies.
        let (checked, _) = report(&env, "check");
        let (checked_copy, _) = report(copy.path(), "check");
        if stable(checked.clone()) != stable(checked_copy) {
            problems.push(format!(
                "{name}: the check report depends on the fixture's path"
            ));
        }
        let (first, _) = report(copy.path(), "env");
        let (second, _) = report(copy.path(), "env");
        if second["changes"] != serde_json::json!([]) {
            problems.push(format!("{name}: second run changed {}", second["changes"]));
        }
        // What `check` predicted is what the fixes achieved.
        if checked["verdict"]["ready_after"] != first["verdict"]["ready_after"] {
            problems.push(format!(
                "{name}: check predicts ready_after={}, env achieves {}",
                checked["verdict"]["ready_after"], first["verdict"]["ready_after"]
            ));
        }
        if checked["env"] != first["env"] {
            problems.push(format!(
                "{name}: check predicts exports {}, env exports {}",
                checked["env"], first["env"]
            ));
        }
    }
    fail_all(problems);
}
