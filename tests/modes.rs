//! The fixing modes end to end, on fixture trees in a tempdir: bare
//! `podrun-doctor` (fix), `env`, `exec -- CMD` and `--dry-run`.
//!
//! The fixture is a rootless job (uid 1000) whose HOME is `/` (a uid the
//! image does not know, as on Kubernetes or OpenShift): the HOME fix is
//! needed, and it is an environment variable, so bare `podrun-doctor` must
//! point at `eval "$(podrun-doctor env)"`. `tree_owner` makes what the fix
//! engine creates belong to the job, as it would on a real system.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn doctor() -> Command {
    Command::new(env!("CARGO_BIN_EXE_podrun-doctor"))
}

struct Job {
    _dir: tempfile::TempDir,
    dir: PathBuf,
}

impl Job {
    fn root(&self, path: &str) -> PathBuf {
        self.dir.join("root").join(path.trim_start_matches('/'))
    }

    fn run(&self, args: &[&str]) -> Output {
        doctor()
            .arg("--root")
            .arg(&self.dir)
            .args(args)
            .env_remove("HOME")
            .env_remove("PODRUN_DOCTOR_DONE")
            .env_remove("PODRUN_DOCTOR_NO_FAIL")
            .env_remove("CI_JOB_ID")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// Every file and directory under the tree with its contents, to prove
    /// that a run changed nothing.
    fn snapshot(&self) -> Vec<(String, Option<String>)> {
        fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, Option<String>)>) {
            let mut names: Vec<_> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            names.sort();
            for p in names {
                let rel = p.strip_prefix(base).unwrap().display().to_string();
                if p.is_dir() {
                    out.push((rel, None));
                    walk(base, &p, out);
                } else {
                    out.push((rel, Some(std::fs::read_to_string(&p).unwrap_or_default())));
                }
            }
        }
        let mut out = Vec::new();
        let root = self.dir.join("root");
        walk(&root, &root, &mut out);
        out
    }
}

/// A rootless podman 5 job, uid 1000 without a passwd home (HOME=/), with
/// everything else podman needs in place (helpers working, fuse, tun), so
/// that the HOME fix is what stands between it and a working build.
fn rootless_home_slash() -> Job {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().to_path_buf();
    let root = base.join("root");
    let write = |p: &str, text: &str| {
        let full = root.join(p.trim_start_matches('/'));
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, text).unwrap();
    };
    for d in ["tmp", "var/tmp", "run", "usr/bin", "usr/sbin"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    write(
        "/etc/passwd",
        "root:x:0:0:root:/root:/bin/sh\npodman:x:1000:1000::/:/bin/sh\n",
    );
    write("/etc/group", "root:x:0:\npodman:x:1000:\n");
    write("/etc/subuid", "podman:1:999\npodman:1001:64535\n");
    write("/etc/subgid", "podman:1:999\npodman:1001:64535\n");
    for bin in [
        "/usr/bin/podman",
        "/usr/bin/crun",
        "/usr/bin/conmon",
        "/usr/bin/newuidmap",
        "/usr/bin/newgidmap",
        "/usr/bin/fuse-overlayfs",
        "/usr/bin/pasta",
        "/usr/bin/slirp4netns",
    ] {
        write(bin, "");
        // Executable, or `which` rightly does not find it.
        use std::os::unix::fs::PermissionsExt;
        let full = root.join(bin.trim_start_matches('/'));
        std::fs::set_permissions(full, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    write(
        "/proc/self/status",
        "Uid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\n\
         CapInh:\t0000000000000000\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\n\
         CapBnd:\t000001ffffffffff\nCapAmb:\t0000000000000000\nNoNewPrivs:\t0\nSeccomp:\t0\n",
    );
    write("/proc/self/uid_map", "         0          0 4294967295\n");
    write("/proc/self/gid_map", "         0          0 4294967295\n");
    write(
        "/proc/self/limits",
        "Limit                     Soft Limit           Hard Limit           Units     \n\
         Max processes             32768                32768                processes \n\
         Max open files            20000                20000                files     \n",
    );
    write("/proc/sys/kernel/osrelease", "6.1.0-28-amd64\n");
    write("/proc/sys/user/max_user_namespaces", "63448\n");
    write("/proc/self/cgroup", "0::/\n");
    write("/sys/fs/cgroup/cgroup.controllers", "cpu memory pids\n");
    write(
        "/proc/self/mountinfo",
        "1 0 0:1 / / rw,relatime - overlay overlay rw\n\
         2 1 0:2 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw\n",
    );
    std::fs::create_dir_all(root.join("dev/net")).unwrap();
    write("/dev/fuse", "");
    write("/dev/net/tun", "");
    let host = serde_json::json!({
        "ids": {"uid": 1000, "gid": 1000, "groups": [1000]},
        "tree_owner": {"uid": 1000, "gid": 1000},
        "env": {
            "HOME": "/",
            "USER": "podman",
            "PATH": "/usr/bin:/usr/sbin:/bin",
            "CI_JOB_TOKEN": "s3cr3t"
        },
        "stat": {
            "/": {"kind": "dir", "mode": 493, "uid": 0, "gid": 0},
            "/usr/bin/newuidmap": {"kind": "file", "mode": 2541, "uid": 0, "gid": 0},
            "/usr/bin/newgidmap": {"kind": "file", "mode": 2541, "uid": 0, "gid": 0}
        },
        "statfs": {
            "/sys/fs/cgroup": {"magic": 1667723888u64, "free_bytes": 0},
            "/tmp": {"magic": 16914836u64, "free_bytes": 21474836480u64}
        },
        "access": {"/ W": "EACCES"},
        "commands": {
            "podman --version": {"status": 0, "stdout": "podman version 5.4.2\n", "stderr": ""}
        }
    });
    std::fs::write(
        base.join("host.json"),
        serde_json::to_string_pretty(&host).unwrap(),
    )
    .unwrap();
    Job {
        _dir: dir,
        dir: base,
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn report(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

const NEW_HOME: &str = "/tmp/podrun-1000/home";

#[test]
fn env_prints_quoted_exports_creates_the_home_and_a_second_run_changes_nothing() {
    let job = rootless_home_slash();
    let json = job.dir.join("env.json");
    let out = job.run(&["env", "--json", json.to_str().unwrap()]);
    let exports = stdout(&out);
    // stdout is only export lines, shell-quoted; the report is on stderr.
    assert!(!exports.is_empty(), "{}", stderr(&out));
    for line in exports.lines() {
        assert!(line.starts_with("export "), "{line:?}");
    }
    assert!(
        exports.contains(&format!("export HOME={NEW_HOME}\n"))
            || exports.contains(&format!("export HOME='{NEW_HOME}'\n")),
        "{exports}"
    );
    assert!(stderr(&out).contains("podrun-doctor"));
    assert!(!exports.contains("s3cr3t") && !stderr(&out).contains("s3cr3t"));
    // The new HOME exists, private.
    let home = job.root(NEW_HOME);
    assert!(home.is_dir());
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&home).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let v = report(&json);
    assert_eq!(v["mode"], "env");
    assert_eq!(v["env"]["HOME"], NEW_HOME);
    let changes = v["changes"].as_array().unwrap();
    assert!(changes.iter().any(|c| c["path"] == NEW_HOME), "{changes:?}");
    let home_set = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "home.set")
        .unwrap();
    assert_eq!(home_set["status"], "error");

    // Second run: same exports, nothing changed on disk.
    let before = job.snapshot();
    let json2 = job.dir.join("env2.json");
    let out2 = job.run(&["env", "--json", json2.to_str().unwrap()]);
    assert_eq!(stdout(&out2), exports);
    let v2 = report(&json2);
    assert!(
        v2["changes"].as_array().unwrap().is_empty(),
        "{}",
        v2["changes"]
    );
    let after: Vec<_> = job
        .snapshot()
        .into_iter()
        .filter(|(p, _)| !p.ends_with(".json"))
        .collect();
    assert_eq!(before, after);
}

#[test]
fn bare_fix_applies_files_and_points_at_eval_env() {
    let job = rootless_home_slash();
    let out = job.run(&[]);
    // Environment fixes are needed: exit 1 and say exactly what to run.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert!(text.contains("eval \"$(podrun-doctor env)\""), "{text}");
    // File fixes were made (the new HOME directory).
    assert!(job.root(NEW_HOME).is_dir());
    // Nothing printed as exports: a child cannot change the job's shell.
    assert!(!stdout(&out).lines().any(|l| l.starts_with("export ")));
    // Nor claimed as done: the checklist says not ready yet.
    assert!(text.contains("NOT READY"), "{text}");
    assert!(!text.contains("READY after the fixes above"), "{text}");
    let json = job.dir.join("fix.json");
    job.run(&["--json", json.to_str().unwrap()]);
    let v = report(&json);
    let home = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "home.set")
        .unwrap();
    assert_eq!(
        home["fix"]["applied"], false,
        "an export the job has not made is not applied"
    );
}

#[test]
fn dry_run_shows_the_plan_and_changes_nothing() {
    let job = rootless_home_slash();
    let before = job.snapshot();
    let json = job.dir.join("dry.json");
    let out = job.run(&["env", "--dry-run", "--json", json.to_str().unwrap()]);
    let exports = stdout(&out);
    assert!(!exports.is_empty(), "{}", stderr(&out));
    for line in exports.lines() {
        assert!(line.starts_with("# export "), "{line:?}");
    }
    assert!(exports.contains("HOME="));
    let v = report(&json);
    assert_eq!(v["dry_run"], true);
    assert!(v["changes"].as_array().unwrap().is_empty());
    assert_eq!(v["env"]["HOME"], NEW_HOME);
    let after: Vec<_> = job
        .snapshot()
        .into_iter()
        .filter(|(p, _)| !p.ends_with(".json"))
        .collect();
    assert_eq!(before, after, "dry run touched the tree");
    assert!(!job.root(NEW_HOME).exists());

    // Same for bare fix and exec.
    let out = job.run(&["--dry-run"]);
    assert!(matches!(out.status.code(), Some(0 | 1)));
    let out = job.run(&["exec", "--dry-run", "--", "sh", "-c", "echo ran"]);
    assert!(!stdout(&out).contains("ran"));
    assert!(stderr(&out).contains("dry run, would exec"));
    let after: Vec<_> = job
        .snapshot()
        .into_iter()
        .filter(|(p, _)| !p.ends_with(".json"))
        .collect();
    assert_eq!(before, after);
}

#[test]
fn exec_runs_the_command_with_the_fixed_environment() {
    let job = rootless_home_slash();
    let out = job.run(&["exec", "--", "sh", "-c", "echo HOME=$HOME; exit 3"]);
    // The command's own exit code and output: the doctor exec'd it in place.
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("HOME={NEW_HOME}\n"));
    assert!(job.root(NEW_HOME).is_dir());
}

#[test]
fn exec_does_not_run_the_command_when_not_ready_unless_no_fail() {
    let job = rootless_home_slash();
    // Make the job unfixable: no podman at all.
    std::fs::remove_file(job.root("/usr/bin/podman")).unwrap();
    let out = job.run(&["exec", "--", "sh", "-c", "echo ran"]);
    assert_eq!(stdout(&out), "", "{}", stderr(&out));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("blocked by tools.podman"),
        "{}",
        stderr(&out)
    );
    let out = job.run(&["exec", "--no-fail", "--", "sh", "-c", "echo ran"]);
    assert_eq!(stdout(&out), "ran\n", "{}", stderr(&out));
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn strict_exec_stops_at_a_warning() {
    let job = rootless_home_slash();
    // Ready after the fixes, with warnings (probes a fixture cannot answer).
    let out = job.run(&["exec", "--", "sh", "-c", "echo ran"]);
    assert_eq!(stdout(&out), "ran\n", "{}", stderr(&out));
    let out = job.run(&["exec", "--strict", "--", "sh", "-c", "echo ran"]);
    assert_eq!(stdout(&out), "");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--strict"), "{}", stderr(&out));
}

/// The marker `env` exported, unquoted.
fn marker_of(exports: &str) -> String {
    let line = exports
        .lines()
        .find(|l| l.starts_with("export PODRUN_DOCTOR_DONE="))
        .unwrap_or_else(|| panic!("no marker in {exports:?}"));
    line["export PODRUN_DOCTOR_DONE=".len()..]
        .trim_matches('\'')
        .to_string()
}

#[test]
fn a_second_doctor_in_the_same_job_reports_the_first_instead_of_fixing_again() {
    let job = rootless_home_slash();
    let in_job = |marker: Option<&str>, job_id: Option<&str>, args: &[&str]| {
        let mut cmd = doctor();
        cmd.arg("--root")
            .arg(&job.dir)
            .args(args)
            .env_remove("PODRUN_DOCTOR_DONE")
            .env_remove("CI_JOB_ID")
            .stdin(Stdio::null());
        if let Some(m) = marker {
            cmd.env("PODRUN_DOCTOR_DONE", m);
        }
        if let Some(id) = job_id {
            cmd.env("CI_JOB_ID", id);
        }
        cmd.output().unwrap()
    };
    let first = in_job(None, Some("4242"), &["env"]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let marker = marker_of(&stdout(&first));
    assert!(
        marker.starts_with("v1 uid=1000 job=4242 pidns="),
        "{marker}"
    );
    let before = job.snapshot();
    let out = in_job(
        Some(&marker),
        Some("4242"),
        &["exec", "--", "sh", "-c", "echo ran"],
    );
    assert_eq!(stdout(&out), "ran\n", "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "podrun-doctor: already ran in this job (env: READY); not probing or fixing again \
         (unset PODRUN_DOCTOR_DONE to run again)\n"
    );
    assert_eq!(job.snapshot(), before, "the guard changes nothing");

    // A stale marker (another job, another uid, no job at all, garbage) is
    // not this job's: the doctor probes.
    let other_job = in_job(Some(&marker), Some("777"), &["env"]);
    assert!(
        stderr(&other_job).contains("✓ home"),
        "{}",
        stderr(&other_job)
    );
    let other_uid = marker.replace("uid=1000", "uid=0");
    for (m, id) in [
        (other_uid.as_str(), Some("4242")),
        (marker.as_str(), None),
        ("1", Some("4242")),
    ] {
        let out = in_job(Some(m), id, &["env"]);
        assert!(
            !stderr(&out).contains("already ran"),
            "{m}: {}",
            stderr(&out)
        );
    }
    // Outside a CI job there is no marker to leave.
    assert!(!stdout(&in_job(None, None, &["env"])).contains("PODRUN_DOCTOR_DONE"));
}

/// `eval "$(podrun-doctor env)"` as GitLab runs it: sh (dash) and bash,
/// with `set -e` (the runner's script) and without (a user's own script).
#[test]
fn not_ready_env_fails_the_eval_in_sh_and_bash_with_or_without_set_e() {
    let job = rootless_home_slash();
    std::fs::remove_file(job.root("/usr/bin/podman")).unwrap();
    let doctor = env!("CARGO_BIN_EXE_podrun-doctor");
    let root = job.dir.to_str().unwrap();
    for shell in ["sh", "bash"] {
        for prelude in ["", "set -e", "set -eo pipefail"] {
            if shell == "sh" && prelude.contains("pipefail") {
                continue;
            }
            let script =
                format!("{prelude}\neval \"$('{doctor}' --root '{root}' env)\"\necho AFTER");
            let out = Command::new(shell)
                .args(["-c", &script])
                .env_remove("PODRUN_DOCTOR_DONE")
                .env_remove("PODRUN_DOCTOR_NO_FAIL")
                .output()
                .unwrap();
            assert_eq!(
                out.status.code(),
                Some(1),
                "{shell} {prelude:?}: {}",
                stderr(&out)
            );
            assert!(!stdout(&out).contains("AFTER"), "{shell} {prelude:?}");
            assert!(
                stderr(&out).contains("NOT READY, blocked by tools.podman; stopping the job here"),
                "{}",
                stderr(&out)
            );
            // --no-fail: the job goes on.
            let script = script.replace(" env)", " env --no-fail)");
            let out = Command::new(shell).args(["-c", &script]).output().unwrap();
            assert_eq!(stdout(&out), "AFTER\n", "{shell} {prelude:?}");
        }
    }
    // A usage error (a typo in --skip) must not let the eval pass either.
    let out = Command::new("sh")
        .args([
            "-c",
            &format!("eval \"$('{doctor}' env --skip fusee)\"; echo AFTER"),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(!stdout(&out).contains("AFTER"));
}

/// The ready case sets the fixes in the job's shell.
#[test]
fn ready_env_exports_in_sh_and_bash() {
    let job = rootless_home_slash();
    let doctor = env!("CARGO_BIN_EXE_podrun-doctor");
    let root = job.dir.to_str().unwrap();
    for shell in ["sh", "bash"] {
        let script =
            format!("set -e\neval \"$('{doctor}' --root '{root}' env)\"\necho \"HOME=$HOME\"");
        let out = Command::new(shell)
            .args(["-c", &script])
            .env_remove("PODRUN_DOCTOR_DONE")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", stderr(&out));
        assert_eq!(stdout(&out), format!("HOME={NEW_HOME}\n"));
    }
}

#[test]
fn exec_still_runs_the_command_when_the_doctor_itself_fails() {
    // Debug builds panic on request; release builds have no such switch.
    let job = rootless_home_slash();
    let root = job.dir.to_str().unwrap().to_string();
    let out = doctor()
        .args(["--root", &root, "exec", "--", "sh", "-c", "echo ran anyway"])
        .env("PODRUN_DOCTOR_TEST_PANIC", "1")
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "ran anyway\n", "{}", stderr(&out));
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("running \"sh -c echo ran anyway\" without its fixes"),
        "{}",
        stderr(&out)
    );
    // --strict: a failing doctor blocks the command.
    let out = doctor()
        .args([
            "--root",
            &root,
            "exec",
            "--strict",
            "--",
            "sh",
            "-c",
            "echo ran anyway",
        ])
        .env("PODRUN_DOCTOR_TEST_PANIC", "1")
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "");
    assert_ne!(out.status.code(), Some(0));
}

/// JUnit in a fixing run: the state left, with the fixes the doctor made
/// in the case output; a skipped case says why. Valid for GitLab's parser.
#[test]
fn junit_after_env_shows_the_fixes_made_and_why_a_case_was_skipped() {
    let job = rootless_home_slash();
    let xml = job.dir.join("env.xml");
    let out = job.run(&["env", "--skip", "fuse", "--junit", xml.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let junit = std::fs::read_to_string(&xml).unwrap();
    let case = |id: &str| {
        let start = junit
            .find(&format!("name=\"{id}\""))
            .unwrap_or_else(|| panic!("no case {id} in {junit}"));
        junit[start..start + junit[start..].find("</testcase>").unwrap()].to_string()
    };
    let home = case("home.set");
    assert!(
        home.contains("<system-out>error as found, ok after the fixes: "),
        "{home}"
    );
    assert!(home.contains("fixed by podrun-doctor: "), "{home}");
    let fuse = case("fuse.device");
    assert!(fuse.contains("<skipped>skipped by --skip ("), "{fuse}");
    assert!(junit.contains(" failures=\"0\" "), "{junit}");
    let xsd = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schema/junit-gitlab.xsd");
    let lint = Command::new("xmllint")
        .args(["--noout", "--schema"])
        .arg(&xsd)
        .arg(&xml)
        .output()
        .expect("xmllint (libxml2-utils, tests/setup.sh)");
    assert!(
        lint.status.success(),
        "{}",
        String::from_utf8_lossy(&lint.stderr)
    );
}

/// A job ready as found whose only export clears a warning: bare `fix`
/// says so and exits 0 (warnings never fail a job).
#[test]
fn bare_fix_does_not_fail_for_an_export_that_only_clears_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let env = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/envs/deb13-rootless-priv");
    let out = Command::new("cp")
        .arg("-a")
        .arg(&env)
        .arg(dir.path().join("job"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let root = dir.path().join("job");
    let json = dir.path().join("fix.json");
    let out = doctor()
        .arg("--root")
        .arg(&root)
        .args(["fix", "--json"])
        .arg(&json)
        .env_remove("PODRUN_DOCTOR_DONE")
        .output()
        .unwrap();
    let v = report(&json);
    assert_eq!(v["verdict"]["ready_before"], true, "{v}");
    assert_eq!(v["env"]["PODMAN_IGNORE_CGROUPSV1_WARNING"], "1", "{v}");
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("READY: podman build should work as things are."));
}

/// An unwritable report is said on stderr; it does not stop the build.
#[test]
fn an_unwritable_report_does_not_block_exec() {
    let job = rootless_home_slash();
    let out = job.run(&[
        "exec",
        "--json",
        "/nonexistent-dir/r.json",
        "--",
        "sh",
        "-c",
        "echo ran",
    ]);
    assert_eq!(stdout(&out), "ran\n", "{}", stderr(&out));
    assert!(stderr(&out).contains("cannot write the JSON report to /nonexistent-dir/r.json"));
}
