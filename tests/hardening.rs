//! Issue 9, the defects that hurt a user who never meant harm, end to end
//! on fixture trees: a planted symlink must not steer a root doctor's
//! writes, values from the environment must not inject passwd records, and
//! two runs at once must not corrupt anything.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn doctor(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_podrun-doctor"))
        .arg("--root")
        .arg(root)
        .args(args)
        .env_remove("HOME")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn copy_tree(from: &Path, to: &Path) {
    let status = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(status.success());
}

/// A copy of a captured environment, with `edit` applied to its host.json.
fn fixture(name: &str, edit: impl FnOnce(&mut serde_json::Value)) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("env");
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/envs")
            .join(name),
        &tree,
    );
    let file = tree.join("host.json");
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    edit(&mut doc);
    std::fs::write(&file, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    (dir, tree)
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Issue 9 item 1: a `$HOME/.config/containers` symlink made root create
/// its config files in the link's target. Now nothing lands there and the
/// report says why.
#[test]
fn a_planted_config_symlink_is_not_followed_by_a_root_doctor() {
    let (dir, tree) = fixture("deb13-root-default", |_| {});
    let target = dir.path().join("attacker");
    std::fs::create_dir(&target).unwrap();
    std::fs::create_dir_all(tree.join("root/root/.config")).unwrap();
    std::os::unix::fs::symlink(&target, tree.join("root/root/.config/containers")).unwrap();
    let out = doctor(&tree, &["env"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(names(&target), Vec::<String>::new(), "{stderr}");
    assert!(
        stderr.contains("/root/.config/containers is a symbolic link; not following it"),
        "{stderr}"
    );
}

/// Issue 9 item 2: `HOME="/tmp/x<newline>evil::0:0::/root"` in an
/// OpenShift-like job with a group-writable /etc/passwd appended a uid-0
/// account with an empty password. Now the probe never pastes such a HOME:
/// it is a finding shown escaped, HOME moves, and the only line added is
/// the job's own alias with the new HOME, whole and well-formed.
#[test]
fn a_newline_in_home_never_reaches_etc_passwd() {
    let home = "/tmp/x\nevil::0:0::/root";
    let (_dir, tree) = fixture("deb13-openshift-gu-priv", |doc| {
        doc["env"]["HOME"] = home.into();
        doc["tree_owner"] = serde_json::json!({"uid": 1000680000u32, "gid": 0});
    });
    std::fs::create_dir_all(tree.join("root").join(home.trim_start_matches('/'))).unwrap();
    let passwd = tree.join("root/etc/passwd");
    let before = std::fs::read_to_string(&passwd).unwrap();
    let out = doctor(&tree, &["fix"]);
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let after = std::fs::read_to_string(&passwd).unwrap();
    assert!(
        !after.lines().any(|l| l.starts_with("evil:")),
        "a uid-0 account was injected:\n{after}"
    );
    let added = after
        .strip_prefix(before.as_str())
        .expect("lines only appended");
    for line in added.lines() {
        let fields: Vec<&str> = line.split(':').collect();
        assert_eq!(fields.len(), 7, "{line}");
        assert_eq!(fields[2], "1000680000", "{line}");
        assert_eq!(fields[5], "/tmp/podrun-1000680000/home", "{line}");
    }
    assert!(
        text.contains(r#"HOME="/tmp/x\nevil::0:0::/root" contains a control character"#),
        "{text}"
    );
    assert!(
        !text.contains("x\nevil"),
        "the raw newline reached the checklist:\n{text}"
    );
}

/// Two `env` runs at once on the same HOME (20 pairs): every file either
/// absent or whole and ours, no temp file left, a later run changes nothing.
#[test]
fn concurrent_env_runs_on_one_home_corrupt_nothing() {
    for round in 0..20 {
        let (_dir, tree) = fixture("deb13-root-default", |_| {});
        let a = spawn_env(&tree);
        let b = spawn_env(&tree);
        for child in [a, b] {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "round {round}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let confd = tree.join("root/root/.config/containers/containers.conf.d");
        for name in names(&confd) {
            assert!(
                !name.contains("podrun-tmp"),
                "round {round}: temp file left: {name}"
            );
            let text = std::fs::read_to_string(confd.join(&name)).unwrap();
            assert!(
                text.starts_with("# Written by podrun-doctor"),
                "round {round}: {name}: {text}"
            );
        }
        let again = doctor(&tree, &["env"]);
        let stderr = String::from_utf8_lossy(&again.stderr);
        assert!(!stderr.contains("changes made"), "round {round}: {stderr}");
    }
}

fn spawn_env(tree: &Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_podrun-doctor"))
        .arg("--root")
        .arg(tree)
        .arg("env")
        .env_remove("HOME")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Issue 9 item 7: `--json`/`--junit` followed a symlink at the report
/// path (a symlink committed in a merge request is enough). Now the link
/// and its target are left alone, the run says why and exits 2; a regular
/// file is replaced whole.
#[test]
fn a_symlink_at_the_report_path_is_not_followed() {
    let (dir, tree) = fixture("deb13-root-default", |_| {});
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "precious\n").unwrap();
    let json = dir.path().join("podrun-doctor.json");
    let junit = dir.path().join("junit.xml");
    std::os::unix::fs::symlink(&victim, &json).unwrap();
    std::os::unix::fs::symlink(&victim, &junit).unwrap();
    let out = doctor(
        &tree,
        &[
            "check",
            "--json",
            json.to_str().unwrap(),
            "--junit",
            junit.to_str().unwrap(),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("is a symbolic link"), "{stderr}");
    assert!(std::fs::symlink_metadata(&json)
        .unwrap()
        .file_type()
        .is_symlink());
    // A plain file there is replaced, and nothing else is left behind.
    std::fs::remove_file(&json).unwrap();
    std::fs::write(&json, "old").unwrap();
    let out = doctor(&tree, &["check", "--json", json.to_str().unwrap()]);
    assert_ne!(out.status.code(), Some(2));
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert!(doc.is_object());
    assert!(!names(dir.path()).iter().any(|n| n.contains("podrun-tmp")));
}

/// Issue 9 item 6, the OpenShift case: `/etc/passwd` is writable (g=u) but
/// `/etc` is not, so no temp file can be made beside it. The line is then
/// appended in place, whole, once; owner and mode stay. Run as root, which
/// drops to uid 65534 for the doctor (root could write to /etc).
#[test]
fn a_writable_passwd_in_a_closed_etc_is_appended_in_place_whole() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "needs root to run the doctor as another uid: run `cargo test` as root, as tests/run.sh \
         does in CI"
    );
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let (dir, tree) = fixture("deb13-openshift-gu-priv", |_| {});
    let mode =
        |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    mode(dir.path(), 0o755);
    mode(&tree.join("root/etc"), 0o755);
    let etc = tree.join("root/etc");
    for f in ["passwd", "subuid", "subgid"] {
        mode(&etc.join(f), 0o666);
    }
    let before = std::fs::read_to_string(etc.join("passwd")).unwrap();
    let entries_before = names(&etc);
    let run = || {
        Command::new("setpriv")
            .args(["--reuid", "65534", "--regid", "65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_podrun-doctor"))
            .arg("--root")
            .arg(&tree)
            .arg("fix")
            .env_remove("HOME")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let out = run();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let after = std::fs::read_to_string(etc.join("passwd")).unwrap();
    let added = after
        .strip_prefix(before.as_str())
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(
        added, "user1000680000:x:1000680000:0::/tmp/podrun-1000680000/home:/bin/sh\n",
        "{text}"
    );
    assert!(text.contains("appended /etc/passwd"), "{text}");
    assert_eq!(names(&etc), entries_before, "no temp file left");
    let meta = std::fs::metadata(etc.join("passwd")).unwrap();
    assert_eq!((meta.uid(), meta.mode() & 0o7777), (0, 0o666));
    // A second run finds the line and adds nothing.
    run();
    assert_eq!(std::fs::read_to_string(etc.join("passwd")).unwrap(), after);
}

/// Issue 9 item 7: `exec` turned non-UTF-8 argv and environment bytes into
/// U+FFFD. CMD now gets the bytes the doctor was given.
#[test]
fn exec_passes_non_utf8_bytes_through_unchanged() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let (_dir, tree) = fixture("deb13-root-default", |_| {});
    let out = Command::new(env!("CARGO_BIN_EXE_podrun-doctor"))
        .arg("--root")
        .arg(&tree)
        .args([
            "exec",
            "--",
            "/bin/sh",
            "-c",
            "printf '%s|%s' \"$1\" \"$PODRUN_RAW\"",
            "sh",
        ])
        .arg(OsStr::from_bytes(b"a\xff\xfeb"))
        .env("PODRUN_RAW", OsStr::from_bytes(b"\xc3\x28x"))
        .env_remove("HOME")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        out.stdout,
        b"a\xff\xfeb|\xc3\x28x",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Issue 9 item 1, the job directory: uid 1000 plants
/// `ln -s /var/tmp /builds/.podrun-0` in a 0777 `/builds`; root runs
/// `CI_BUILDS_DIR=/builds podrun-doctor env` with /etc/containers and HOME
/// read-only. Root used to export `CONTAINERS_CONF…=/builds/.podrun-0/…`,
/// a path through the link the attacker can later swap. Now neither a
/// file nor an exported path goes through it: the job directory is a
/// private one under the sticky /tmp.
#[test]
fn a_planted_job_dir_symlink_in_a_0777_builds_steers_nothing() {
    let (dir, tree) = fixture("deb13-root-default", |doc| {
        doc["env"]["CI_BUILDS_DIR"] = "/builds".into();
        doc["stat"]["/builds"] =
            serde_json::json!({"kind": "dir", "mode": "0777", "uid": 0, "gid": 0});
        doc["access"]["/etc/containers W"] = "EROFS".into();
        doc["access"]["/root W"] = "EROFS".into();
    });
    let target = dir.path().join("var-tmp");
    std::fs::create_dir(&target).unwrap();
    std::fs::create_dir_all(tree.join("root/builds")).unwrap();
    std::fs::create_dir_all(tree.join("root/tmp")).unwrap();
    std::os::unix::fs::symlink(&target, tree.join("root/builds/.podrun-0")).unwrap();
    let out = doctor(&tree, &["env", "--json", "-"]);
    let exports = String::from_utf8_lossy(&out.stdout);
    let report: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(names(&target), Vec::<String>::new(), "{exports}");
    assert!(!exports.contains("/builds/"), "{exports}");
    let changed: Vec<&str> = report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["path"].as_str())
        .collect();
    assert!(
        !changed.is_empty(),
        "the scenario needs a config fix: {report}"
    );
    assert!(
        changed.iter().all(|p| p.starts_with("/tmp/podrun-0/")),
        "{changed:?}"
    );
    assert!(exports.contains("=/tmp/podrun-0/"), "{exports}");
}

/// The same scenario on the real system, as root, in a private mount
/// namespace (tmpfs over /tmp, /var/tmp, /root and /mnt; /etc/containers
/// bound read-only), with the link planted by uid 1000 itself.
#[test]
fn a_planted_job_dir_symlink_is_not_followed_on_the_real_system() {
    // Never a silent pass: a test that cannot run fails and says why.
    assert!(
        nix::unistd::geteuid().is_root(),
        "needs root (a private mount namespace, a link made by uid 1000): run `cargo test` as \
         root, as tests/run.sh does in CI"
    );
    let have =
        |t: &str| Path::new("/usr/bin").join(t).exists() || Path::new("/bin").join(t).exists();
    assert!(
        have("unshare") && have("setpriv"),
        "unshare/setpriv (util-linux) not installed: tests/setup.sh installs them"
    );
    // Not under /tmp: the namespace covers /tmp with a tmpfs.
    let out_dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let script = r#"set -eu
mount --make-rprivate /
for d in /tmp /var/tmp; do mount -t tmpfs -o mode=1777 tmpfs "$d"; done
mount -t tmpfs -o mode=0700 tmpfs /root
mount -t tmpfs -o mode=0755 tmpfs /mnt
mkdir /mnt/builds && chmod 0777 /mnt/builds
if [ -d /etc/containers ]; then
  mount --bind /etc/containers /etc/containers && mount -o remount,bind,ro /etc/containers
fi
setpriv --reuid 1000 --regid 1000 --clear-groups ln -s /var/tmp /mnt/builds/.podrun-0
HOME=/root CI_BUILDS_DIR=/mnt/builds "$1" env --json "$2/env.json" >"$2/exports" 2>"$2/stderr" || true
ls -A /var/tmp >"$2/var-tmp"
readlink /mnt/builds/.podrun-0 >"$2/link"
"#;
    let status = Command::new("unshare")
        .args(["-m", "sh", "-c", script, "sh"])
        .arg(env!("CARGO_BIN_EXE_podrun-doctor"))
        .arg(out_dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    let read = |n: &str| std::fs::read_to_string(out_dir.path().join(n)).unwrap();
    assert_eq!(read("link").trim(), "/var/tmp", "the link stayed in place");
    assert_eq!(read("var-tmp"), "", "a file was written through the link");
    let exports = read("exports");
    assert!(!exports.contains("/mnt/builds/"), "{exports}");
    let report: serde_json::Value = serde_json::from_str(&read("env.json")).unwrap();
    for c in report["changes"].as_array().unwrap() {
        let p = c["path"].as_str().unwrap();
        assert!(!p.starts_with("/mnt/builds/"), "{p}: {}", read("stderr"));
    }
}
