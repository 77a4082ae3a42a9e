//! The binary's command-line contract, run for real against fixture trees.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn doctor() -> Command {
    Command::new(env!("CARGO_BIN_EXE_podrun-doctor"))
}

fn fixture(dir: &Path, host_json: &str) {
    std::fs::create_dir_all(dir.join("root")).unwrap();
    std::fs::write(dir.join("host.json"), host_json).unwrap();
}

fn run(args: &[&str]) -> Output {
    doctor().args(args).stdin(Stdio::null()).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn list_names_every_check_once() {
    let out = run(&["list"]);
    assert_eq!(out.status.code(), Some(0));
    let ids: Vec<String> = stdout(&out)
        .lines()
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(ids.len(), unique.len(), "duplicate ids in {ids:?}");
    for id in &ids {
        assert!(
            id.contains('.') && id == &id.to_lowercase(),
            "id {id:?} is not <area>.<thing>"
        );
    }
}

#[test]
fn usage_errors_exit_2_with_a_hint() {
    let out = run(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unknown command"));
    let out = run(&["--root", "/nonexistent-fixture", "check"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("/nonexistent-fixture/host.json"));
}

#[test]
fn json_report_has_the_v1_shape() {
    let dir = tempfile::tempdir().unwrap();
    fixture(
        dir.path(),
        r#"{"ids": {"uid": 1000, "gid": 1000}, "env": {"CI_JOB_TOKEN": "s3cr3t"}}"#,
    );
    let out = run(&[
        "--root",
        dir.path().to_str().unwrap(),
        "check",
        "--json",
        "-",
    ]);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["schema"], "podrun-doctor/report/v1");
    assert_eq!(v["mode"], "check");
    assert_eq!(v["context"]["uid"], 1000);
    for key in ["user", "home", "ci", "orchestrator", "podman"] {
        assert!(v["context"].get(key).is_some(), "context.{key} missing");
    }
    assert!(v["checks"].is_array());
    assert!(
        v["changes"].as_array().unwrap().is_empty(),
        "check changes nothing"
    );
    for key in [
        "rootless",
        "storage_driver",
        "mount_program",
        "isolation",
        "runtime",
        "network",
    ] {
        assert!(v["plan"].get(key).is_some(), "plan.{key} missing");
    }
    for key in ["ready_before", "ready_after", "blocking"] {
        assert!(v["verdict"].get(key).is_some(), "verdict.{key} missing");
    }
    assert!(v["duration_ms"].as_f64().unwrap() >= 0.0);
    // The human checklist went to stderr, and no secret anywhere.
    assert!(stderr(&out).contains("podrun-doctor"));
    assert!(!stdout(&out).contains("s3cr3t") && !stderr(&out).contains("s3cr3t"));
}

#[test]
fn junit_has_one_case_per_check() {
    let dir = tempfile::tempdir().unwrap();
    fixture(dir.path(), r#"{"ids": {"uid": 0, "gid": 0}}"#);
    let xml = dir.path().join("out.xml");
    let json = dir.path().join("out.json");
    let out = run(&[
        "--root",
        dir.path().to_str().unwrap(),
        "check",
        "--junit",
        xml.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    assert!(matches!(out.status.code(), Some(0 | 1)));
    let xml = std::fs::read_to_string(xml).unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    let checks = v["checks"].as_array().unwrap().len();
    assert_eq!(xml.matches("<testcase ").count(), checks);
    assert!(xml.starts_with("<?xml") && xml.trim_end().ends_with("</testsuites>"));
}

#[test]
fn exec_runs_the_command_in_place() {
    let dir = tempfile::tempdir().unwrap();
    fixture(dir.path(), r#"{"ids": {"uid": 0, "gid": 0}}"#);
    let out = doctor()
        .args([
            "--root",
            dir.path().to_str().unwrap(),
            "exec",
            "--no-fail",
            "--",
            "sh",
            "-c",
            "echo ran $PODRUN_TEST_MARK; exit 7",
        ])
        .env("PODRUN_TEST_MARK", "kept")
        .env_remove("PODRUN_DOCTOR_DONE")
        .output()
        .unwrap();
    // The command's own exit code comes back: the doctor is gone by then.
    assert_eq!(out.status.code(), Some(7));
    assert_eq!(stdout(&out), "ran kept\n");
}

#[test]
fn exec_does_not_run_the_command_when_not_ready_unless_told_to() {
    let dir = tempfile::tempdir().unwrap();
    fixture(dir.path(), r#"{"ids": {"uid": 0, "gid": 0}}"#);
    let root = dir.path().to_str().unwrap();
    let exec = |extra: &[&str], no_fail_env: Option<&str>| {
        let mut cmd = doctor();
        cmd.args(["--root", root, "exec"])
            .args(extra)
            .args(["--", "sh", "-c", "echo ran"])
            .env_remove("PODRUN_DOCTOR_DONE")
            .env_remove("PODRUN_DOCTOR_NO_FAIL");
        if let Some(v) = no_fail_env {
            cmd.env("PODRUN_DOCTOR_NO_FAIL", v);
        }
        cmd.output().unwrap()
    };
    // No podman in an empty tree: NOT READY.
    let out = exec(&[], None);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    assert!(stderr(&out).contains("not running \"sh -c echo ran\": NOT READY, blocked by"));
    assert_eq!(stdout(&exec(&["--no-fail"], None)), "ran\n");
    assert_eq!(stdout(&exec(&[], Some("1"))), "ran\n");
    assert_eq!(exec(&[], Some("0")).status.code(), Some(1));
}

#[test]
fn conventional_options_and_per_command_help() {
    let dir = tempfile::tempdir().unwrap();
    fixture(dir.path(), r#"{"ids": {"uid": 0, "gid": 0}}"#);
    let root = dir.path().to_str().unwrap();
    let out = run(&[
        "--root",
        root,
        "check",
        "--json=-",
        "--color=never",
        "--skip=fuse",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["mode"], "check");
    for c in v["checks"].as_array().unwrap() {
        if c["id"].as_str().unwrap().starts_with("fuse.") {
            assert_eq!(c["status"], "skip", "{c}");
        }
    }
    let version = run(&["-V"]);
    assert_eq!(version.status.code(), Some(0));
    assert_eq!(
        stdout(&version),
        format!("podrun-doctor {}\n", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(stdout(&run(&["--version"])), stdout(&version));
    let helps: Vec<String> = ["check", "fix", "env", "exec", "explain", "list"]
        .iter()
        .map(|c| {
            let out = run(&[c, "-h"]);
            assert_eq!(out.status.code(), Some(0), "{c} -h");
            assert_eq!(stdout(&run(&[c, "--help"])), stdout(&out));
            stdout(&out)
        })
        .collect();
    let mut unique = helps.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), helps.len(), "every command has its own help");
    let typo = run(&["check", "--skip", "fusee"]);
    assert_eq!(typo.status.code(), Some(2));
    assert!(stderr(&typo).contains("\"fusee\"") && stderr(&typo).contains("fuse.device"));
}

#[test]
fn explain_names_the_check_behind_a_podman_log() {
    let list = stdout(&run(&["list"]));
    let Some(first) = list.lines().next() else {
        return;
    };
    let id = first.split_whitespace().next().unwrap();
    let out = run(&["explain", id]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).starts_with(id));
    let out = run(&["explain", "no.such-check"]);
    assert_eq!(out.status.code(), Some(2));

    let mut child = doctor()
        .args(["explain", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"nothing podman ever said\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("No known podman failure"));
}

#[test]
fn colour_only_when_asked_and_never_with_no_color() {
    let dir = tempfile::tempdir().unwrap();
    fixture(dir.path(), r#"{"ids": {"uid": 0, "gid": 0}}"#);
    let root = dir.path().to_str().unwrap();
    let plain = doctor()
        .args(["--root", root, "check"])
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert!(
        !stdout(&plain).contains('\x1b'),
        "not a terminal: no colour"
    );
    let always = doctor()
        .args(["--root", root, "check", "--color", "always"])
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert!(stdout(&always).contains("\x1b["));
    // An explicit flag beats NO_COLOR (no-color.org); auto respects it.
    let forced = doctor()
        .args(["--root", root, "check", "--color", "always"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(stdout(&forced).contains("\x1b["));
    let never = doctor()
        .args(["--root", root, "check", "--color=never"])
        .output()
        .unwrap();
    assert!(!stdout(&never).contains('\x1b'));
    // GitLab renders ANSI colour in job logs: a CI job gets colour on auto.
    let ci = tempfile::tempdir().unwrap();
    fixture(
        ci.path(),
        r#"{"ids": {"uid": 0, "gid": 0}, "env": {"CI": "true"}}"#,
    );
    let ci_root = ci.path().to_str().unwrap();
    let in_ci = doctor()
        .args(["--root", ci_root, "check"])
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert!(stdout(&in_ci).contains("\x1b["), "{}", stdout(&in_ci));
    let in_ci_no_color = doctor()
        .args(["--root", ci_root, "check"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(!stdout(&in_ci_no_color).contains('\x1b'));
}
