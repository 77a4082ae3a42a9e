//! Size blow-ups through the real binary on a fixture tree (issue 9): a
//! 10 MB `storage.conf`, a 100 000-line `/etc/subuid`, 1 MB single lines in
//! the files a user edits. Each run must end within a bounded time and
//! memory, with a finding that names the file, and a report that does not
//! grow with the file (nothing echoes a megabyte back).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod common;
use common::{copy_tree, env_dir};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A debug build on a shared, loaded machine: generous, yet far below a hang.
const DEADLINE: Duration = Duration::from_secs(60);
/// The peak RSS any run may reach, in KiB (the doctor itself needs ~10 MB).
const MAX_RSS_KB: i64 = 256 * 1024;
/// How much larger than its file-less baseline a report may get.
const MAX_REPORT_GROWTH: usize = 16 * 1024;

/// A copy of a captured environment with `path` replaced by `contents`.
fn tree_with(env: &str, path: &str, contents: &[u8]) -> tempfile::TempDir {
    let work = tempfile::tempdir().unwrap();
    copy_tree(&env_dir(env), work.path());
    let file = work.path().join("root").join(path.trim_start_matches('/'));
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, contents).unwrap();
    work
}

struct Run {
    report: Value,
    text: String,
    took: Duration,
}

/// Runs `mode` on the tree, killed at [`DEADLINE`]; checks the peak RSS of
/// every child waited for so far (`RUSAGE_CHILDREN` keeps the largest).
fn run(root: &Path, mode: &str) -> Run {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_podrun-doctor"))
        .args(["--root", root.to_str().unwrap(), mode, "--json", "-"])
        .arg("--no-fail")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut err, &mut buf).unwrap();
        buf
    });
    let mut stdout = Vec::new();
    let out_reader = std::thread::spawn(move || {
        std::io::Read::read_to_end(&mut out, &mut stdout).unwrap();
        stdout
    });
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > DEADLINE {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("{mode} on {} ran past {DEADLINE:?}", root.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = started.elapsed();
    let (stdout, stderr) = (out_reader.join().unwrap(), reader.join().unwrap());
    let rss = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)
        .unwrap()
        .max_rss();
    assert!(
        rss <= MAX_RSS_KB,
        "{mode}: peak RSS {rss} KiB > {MAX_RSS_KB} KiB"
    );
    // `env --json -` keeps stdout for the exports.
    let json = if mode == "env" { &stderr } else { &stdout };
    let text = String::from_utf8_lossy(json).into_owned();
    let report: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "{mode}: not a JSON report ({e}); stderr: {}",
            String::from_utf8_lossy(&stderr)
        )
    });
    Run { report, text, took }
}

/// The checks (warn or error) whose summary or evidence names `path`.
fn findings_naming(report: &Value, path: &str) -> Vec<String> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| matches!(c["status"].as_str(), Some("warn" | "error")))
        .filter(|c| c.to_string().contains(path))
        .map(|c| format!("{}: {}", c["id"], c["summary"]))
        .collect()
}

fn baseline_len(env: &str) -> usize {
    let work = tempfile::tempdir().unwrap();
    copy_tree(&env_dir(env), work.path());
    run(work.path(), "check").text.len()
}

/// Runs `check` and `env` on `env` with `path` holding `contents`: both end
/// in time with a warning or error naming the file, and a small report.
fn blow_up(env: &str, path: &str, contents: &[u8]) -> Vec<String> {
    let base = baseline_len(env);
    let mut named = Vec::new();
    for mode in ["check", "env"] {
        let work = tree_with(env, path, contents);
        let r = run(work.path(), mode);
        named = findings_naming(&r.report, path);
        eprintln!(
            "{env} {mode}: {path} of {} bytes: {:.2?}, report {} bytes, findings {named:?}",
            contents.len(),
            r.took,
            r.text.len()
        );
        assert!(
            !named.is_empty(),
            "{mode}: no warning or error names {path}"
        );
        assert!(
            r.text.len() <= base + MAX_REPORT_GROWTH,
            "{mode}: the report grew from {base} to {} bytes: something echoes the file",
            r.text.len()
        );
    }
    named
}

#[test]
fn a_10_mb_storage_conf_is_a_finding_naming_it() {
    let mut conf = b"[storage]\ndriver = \"overlay\"\n".to_vec();
    while conf.len() < 10_000_000 {
        conf.extend_from_slice(b"# padding a storage.conf far past any real one\n");
    }
    blow_up("deb13-rootless-priv", "/etc/containers/storage.conf", &conf);
    blow_up("deb12-root-fuse-nnp", "/etc/containers/storage.conf", &conf);
}

#[test]
fn a_100_000_line_subuid_is_read_in_bounded_time() {
    // 100 000 other users' ranges, then the job's user's own (uid 1000 in
    // the rootless recipe is `podman`): still found, still judged.
    let original =
        std::fs::read_to_string(env_dir("deb13-rootless-priv").join("root/etc/subuid")).unwrap();
    let mut text = String::new();
    for i in 0..100_000u64 {
        text.push_str(&format!(
            "user{i}:{}:65536\n",
            200_000 + i * 65536 % 4_000_000_000
        ));
    }
    text.push_str(&original);
    let work = tree_with("deb13-rootless-priv", "/etc/subuid", text.as_bytes());
    let r = run(work.path(), "check");
    eprintln!(
        "subuid of {} lines ({} bytes): check {:.2?}",
        text.lines().count(),
        text.len(),
        r.took
    );
    let named: Vec<_> = r.report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c.to_string().contains("/etc/subuid"))
        .collect();
    assert!(!named.is_empty(), "no check names /etc/subuid");
    // Without the user's own line the job needs a fix: it is still planned.
    let others: String = text
        .lines()
        .take(100_000)
        .map(|l| format!("{l}\n"))
        .collect();
    blow_up("deb13-rootless-priv", "/etc/subuid", others.as_bytes());
}

#[test]
fn a_1_mb_line_is_a_finding_naming_the_file_without_echoing_it() {
    let mut line = b"podman:".to_vec();
    line.extend(std::iter::repeat_n(b'9', 1 << 20));
    line.extend_from_slice(b":65536\n");
    blow_up("deb13-rootless-priv", "/etc/subuid", &line);
    let mut passwd = b"podman:x:1000:1000::/home/podman:/bin/sh\nx:x:".to_vec();
    passwd.extend(std::iter::repeat_n(b'1', 1 << 20));
    passwd.extend_from_slice(b":0::/:/bin/sh\n");
    blow_up("deb13-rootless-priv", "/etc/passwd", &passwd);
    let mut conf = b"[engine]\nx = \"".to_vec();
    conf.extend(std::iter::repeat_n(b'a', 1 << 20));
    conf.extend_from_slice(b"\n");
    blow_up(
        "deb13-rootless-priv",
        "/usr/share/containers/containers.conf",
        &conf,
    );
}
