//! The whole-tree harness of the `tree` target (fuzz/seed.sh writes its
//! seeds in the same encoding: see `chunks`).

use podrun_doctor::cli::{Args, Command};
use podrun_doctor::host::Host;
use podrun_doctor::run::{run_with, Streams};
use std::path::{Path, PathBuf};

/// The seed environments: rootless, root with fuse and no-new-privileges,
/// and OpenShift's arbitrary uid with a group-writable passwd.
pub const SEEDS: [&str; 3] = [
    "deb13-rootless-priv",
    "deb12-root-fuse-nnp",
    "deb13-openshift-gu-priv",
];

/// Files the areas read that the seeds may lack: the fuzzer can create them.
const EXTRA: &str = include_str!("../tree-files.txt");

/// tests/fixtures/envs, from the fuzz crate (fuzz/) or the top-level
/// package (tests/properties.rs includes this file too).
pub fn envs_dir() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let top = here.join("tests/fixtures/envs");
    if top.is_dir() {
        top
    } else {
        here.join("../tests/fixtures/envs")
    }
}

fn files_under(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        if path.is_dir() {
            files_under(root, &path, out);
        } else if let Ok(rel) = path.strip_prefix(root) {
            out.push(format!("/{}", rel.display()));
        }
    }
}

/// The system paths the fuzzer may write in a seed: the sorted union of
/// its files and [`EXTRA`] (`$HOME` being the seed's HOME).
pub fn files(seed: &Path) -> Vec<String> {
    let root = seed.join("root");
    let mut out = Vec::new();
    files_under(&root, &root, &mut out);
    let home = std::fs::read_to_string(seed.join("host.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["env"]["HOME"].as_str().map(str::to_string))
        .filter(|h| h.starts_with('/'));
    for line in EXTRA.lines().filter(|l| l.starts_with(['/', '$'])) {
        match (line.strip_prefix("$HOME"), &home) {
            (Some(rest), Some(h)) => out.push(format!("{}{rest}", h.trim_end_matches('/'))),
            (Some(_), None) => {}
            (None, _) => out.push(line.to_string()),
        }
    }
    out.sort();
    out.dedup();
    out
}

fn copy_tree(from: &Path, to: &Path) {
    let _ = std::fs::create_dir_all(to);
    let Ok(rd) = std::fs::read_dir(from) else {
        return;
    };
    for e in rd.filter_map(Result::ok) {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            copy_file(&e.path(), &target);
        }
    }
}

/// `fs::copy`, again when interrupted: libFuzzer's `-timeout` watchdog is a
/// SIGALRM every second, and `copy_file_range` does not restart by itself.
fn copy_file(from: &Path, to: &Path) {
    loop {
        match std::fs::copy(from, to) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            r => {
                r.expect("copy a seed file");
                return;
            }
        }
    }
}

/// The chunks of an input: (file index, contents).
fn chunks(mut data: &[u8]) -> Vec<(usize, &[u8])> {
    let mut out = Vec::new();
    while let [sel, lo, hi, rest @ ..] = data {
        let len = usize::from(u16::from_le_bytes([*lo, *hi])).min(rest.len());
        out.push((usize::from(*sel), &rest[..len]));
        data = &rest[len..];
    }
    out
}

/// An input: byte 0 (`mode << 4 | seed`), then `(file index, contents)`.
pub fn encode(head: u8, parts: &[(u8, &[u8])]) -> Vec<u8> {
    let mut out = vec![head];
    for (sel, bytes) in parts {
        let len = bytes.len().min(usize::from(u16::MAX));
        out.push(*sel);
        out.extend_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_le_bytes());
        out.extend_from_slice(&bytes[..len]);
    }
    out
}

/// Runs one input to the end; panics (a finding) on a report missing.
pub fn run(data: &[u8]) {
    let Some((&head, rest)) = data.split_first() else {
        return;
    };
    let seed = envs_dir().join(SEEDS[usize::from(head & 0x0f) % SEEDS.len()]);
    let paths = files(&seed);
    let work = tempfile::tempdir().expect("tempdir");
    copy_tree(&seed, work.path());
    for (sel, bytes) in chunks(rest) {
        let file = work
            .path()
            .join("root")
            .join(paths[sel % paths.len()].trim_start_matches('/'));
        if let Some(parent) = file.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        std::fs::write(&file, bytes).expect("write a fuzzed file");
    }
    let (name, command) = match (head >> 4) % 3 {
        0 => ("check", Command::Check),
        1 => ("env", Command::Env),
        _ => ("exec", Command::Exec(vec!["/bin/true".into()])),
    };
    let root = work.path().to_string_lossy().into_owned();
    let args = Args {
        json: Some("-".into()),
        root: Some(root),
        no_fail: true,
        ..Args::default()
    };
    let host = Host::fixture(work.path()).expect("the seed's host.json loads");
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let outcome = run_with(
        &args,
        &command,
        host,
        &mut out,
        &mut err,
        &mut std::io::empty(),
        Streams::default(),
    );
    // `env --json -` keeps stdout for the exports.
    let json = if name == "env" { &err } else { &out };
    let report: serde_json::Value = serde_json::from_slice(json).unwrap_or_else(|e| {
        panic!(
            "{name}: no JSON report ({e}); stdout {:?} stderr {:?}",
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&err)
        )
    });
    assert!(
        report["verdict"].is_object(),
        "{name}: report without a verdict"
    );
    assert!(
        matches!(outcome.code, 0..=2),
        "{name}: exit code {}",
        outcome.code
    );
    if name == "exec" {
        assert!(outcome.exec.is_some(), "exec with --no-fail must reach CMD");
    }
}
