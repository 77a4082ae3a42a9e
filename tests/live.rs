//! Live tests: the real binary and the real fork-and-try probes on this host.
//!
//! Each test needs something of the host: root (to drop to uid 65534 with
//! `setpriv`/`unshare`), `CAP_SYS_ADMIN` effective with no seccomp filter
//! (the probes succeed only there), newuidmap/newgidmap (package uidmap),
//! setpriv and unshare (package util-linux), and a kernel that allows user
//! namespaces. tests/setup.sh installs the packages and CI runs as root, so
//! there every test runs. A test that lacks what it needs FAILS, naming what
//! is missing and how to provide it (see `need`).
//!
//! The only way not to run them: `PODRUN_LIVE=skip cargo test`. A test that
//! lacks something then prints, past the harness's output capture, that
//! `PODRUN_LIVE=skip` skipped it and why, and returns; a test that has what
//! it needs still runs.

// Test code: a failed expectation is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use podrun_doctor::host::{probes, IdMapLine, Probe};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_podrun-doctor");
const NOBODY: u32 = 65534;

/// Tests that run probes in this process take turns, so the check for
/// left-behind temp dirs (named after this pid) sees only its own.
static IN_PROCESS_PROBES: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn probe_turn() -> std::sync::MutexGuard<'static, ()> {
    IN_PROCESS_PROBES.lock().unwrap_or_else(|e| e.into_inner())
}

/// A line of `/proc/self/status`, trimmed (`CapEff`, `Seccomp`, …).
fn status_field(name: &str) -> Option<String> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .map(|v| v.trim().to_string())
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// `CAP_SYS_ADMIN` effective and no seccomp filter, and what
/// `/proc/self/status` showed.
fn privileged_host() -> (bool, String) {
    let (eff, seccomp) = (status_field("CapEff"), status_field("Seccomp"));
    let sys_admin = eff
        .as_deref()
        .and_then(|v| u64::from_str_radix(v, 16).ok())
        .is_some_and(|eff| eff & (1 << 21) != 0);
    let ok = sys_admin && seccomp.as_deref() == Some("0");
    let found = format!(
        "/proc/self/status has CapEff: {}, Seccomp: {}",
        eff.as_deref().unwrap_or("<none>"),
        seccomp.as_deref().unwrap_or("<none>")
    );
    (ok, found)
}

/// The opt-out variable and the one value it takes.
const OPT_OUT: &str = "PODRUN_LIVE";
const OPT_OUT_SKIP: &str = "skip";

/// Whether a test may go on: `ok` says the host has `what`. Without it the
/// test fails with `how` to provide it, unless `PODRUN_LIVE=skip` opts out:
/// then it says so on the terminal (stderr itself, which the harness does
/// not capture, so a skip is never silent) and the caller returns.
fn need(what: &str, ok: bool, how: &str) -> bool {
    if ok {
        return true;
    }
    let test = std::thread::current().name().unwrap_or("?").to_string();
    match std::env::var(OPT_OUT) {
        Ok(v) if v == OPT_OUT_SKIP => {
            use std::io::Write;
            let line = format!("live: {test} skipped by {OPT_OUT}={v}: needs {what}; {how}\n");
            let _ = std::io::stderr().write_all(line.as_bytes());
            false
        }
        Ok(v) => panic!(
            "{test} needs {what}; {how} ({OPT_OUT}={v:?} is not understood: only \
             {OPT_OUT}={OPT_OUT_SKIP} skips a live test that cannot run)"
        ),
        Err(_) => panic!(
            "{test} needs {what}; {how} (or set {OPT_OUT}={OPT_OUT_SKIP} to skip, with a \
             message, the live tests this host cannot run)"
        ),
    }
}

const AS_ROOT: &str = "run `cargo test` as root, as tests/run.sh does in CI";

fn need_root(why: &str) -> bool {
    need(&format!("root ({why})"), is_root(), AS_ROOT)
}

/// A tool on `PATH` (as a shell would find it), from a Debian `package`.
fn need_tool(name: &str, package: &str) -> Option<PathBuf> {
    let found = tool(name);
    let how = format!("apt-get install {package} (tests/setup.sh installs it)");
    need(&format!("{name} on PATH"), found.is_some(), &how)
        .then_some(found)
        .flatten()
}

fn tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin:/usr/sbin:/sbin".into());
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// A map file normalised to `a b c` lines.
fn normalise_map(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect()
}

fn parse_map(text: &str) -> Vec<IdMapLine> {
    normalise_map(text)
        .iter()
        .filter_map(|l| {
            let n: Vec<u32> = l.split(' ').filter_map(|x| x.parse().ok()).collect();
            match n[..] {
                [inside, outside, count] => Some(IdMapLine {
                    inside,
                    outside,
                    count,
                }),
                _ => None,
            }
        })
        .collect()
}

/// An id map as the report may hold it: one string, a list of lines, a
/// list of `[inside, outside, count]`, or a list of objects.
fn map_from_evidence(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::String(s) => Some(normalise_map(&s.replace(',', "\n"))),
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Some(normalise_map(s).join(" ")),
                Value::Array(n) => Some(
                    n.iter()
                        .map(|x| x.as_u64().map(|x| x.to_string()))
                        .collect::<Option<Vec<_>>>()?
                        .join(" "),
                ),
                Value::Object(o) => Some(format!(
                    "{} {} {}",
                    o.get("inside")?.as_u64()?,
                    o.get("outside")?.as_u64()?,
                    o.get("count")?.as_u64()?
                )),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

/// Runs the binary with a clean environment; gives exit code and report.
fn run_report(prefix: &[&str], bin: &Path) -> (i32, Value) {
    let (program, args) = match prefix.split_first() {
        Some((p, rest)) => (p.to_string(), rest.iter().map(|s| s.to_string()).collect()),
        None => (bin.display().to_string(), Vec::new()),
    };
    let mut cmd = Command::new(program);
    cmd.args(args);
    if !prefix.is_empty() {
        cmd.arg(bin);
    }
    let out = cmd
        .args(["check", "--json", "-"])
        .env_clear()
        .env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        )
        .env("HOME", "/nonexistent")
        .current_dir("/")
        .output()
        .expect("the binary runs");
    let code = out.status.code().expect("the binary exits normally");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "`{prefix:?} check --json -` printed no JSON ({e}); stderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (code, report)
}

/// Every `(check id, evidence key, value)` in a report.
fn evidence(report: &Value) -> Vec<(String, String, Value)> {
    let mut all = Vec::new();
    for c in report["checks"].as_array().into_iter().flatten() {
        let id = c["id"].as_str().unwrap_or("?").to_string();
        if let Some(ev) = c["evidence"].as_object() {
            for (k, v) in ev {
                all.push((id.clone(), k.clone(), v.clone()));
            }
        }
    }
    all
}

/// What the kernel shows for a process started with `prefix` (none: as
/// this test runs): `/proc/self/status` fields and the id maps.
struct Kernel {
    status: Vec<(String, String)>,
    uid_map: Vec<String>,
    gid_map: Vec<String>,
}

impl Kernel {
    fn of(prefix: &[&str]) -> Kernel {
        let cat_bin = tool("cat").expect("cat on PATH (apt-get install coreutils)");
        let cat_bin = cat_bin.to_str().expect("a UTF-8 path");
        let cat = |file: &str| -> String {
            let mut argv: Vec<&str> = prefix.to_vec();
            argv.extend([cat_bin, file]);
            let out = Command::new(argv[0])
                .args(&argv[1..])
                .output()
                .expect("cat runs");
            assert!(out.status.success(), "{argv:?}");
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let status = cat("/proc/self/status")
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.to_string(), v.trim().to_string()))
            .collect();
        Kernel {
            status,
            uid_map: normalise_map(&cat("/proc/self/uid_map")),
            gid_map: normalise_map(&cat("/proc/self/gid_map")),
        }
    }

    fn field(&self, name: &str) -> Option<&str> {
        self.status
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first number of `Uid:`/`Gid:` (the real id).
    fn id(&self, name: &str) -> u32 {
        self.field(name)
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .expect("Uid/Gid in /proc/self/status")
    }

    fn cap_sys_admin(&self) -> bool {
        self.field("CapEff")
            .and_then(|v| u64::from_str_radix(v, 16).ok())
            .is_some_and(|eff| eff & (1 << 21) != 0)
    }
}

/// Asserts what every report must say about the process that wrote it, as
/// the kernel shows it. Returns how many evidence values were compared.
fn assert_agrees(report: &Value, kernel: &Kernel) -> usize {
    let (uid, gid) = (kernel.id("Uid"), kernel.id("Gid"));
    assert_eq!(report["schema"], "podrun-doctor/report/v1");
    assert_eq!(report["context"]["uid"], uid, "context.uid");
    assert_eq!(report["context"]["gid"], gid, "context.gid");
    assert!(report["checks"].is_array());
    assert!(report["verdict"]["ready_before"].is_boolean());
    assert!(report["verdict"]["ready_after"].is_boolean());
    let mut compared = 0;
    for (id, key, v) in evidence(report) {
        let what = format!("{id}: evidence {key} = {v}");
        let text = match &v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        match key.as_str() {
            "uid" if v.is_u64() => assert_eq!(v, uid, "{what}"),
            "gid" if v.is_u64() => assert_eq!(v, gid, "{what}"),
            "cap_sys_admin" if v.is_boolean() => {
                assert_eq!(v, kernel.cap_sys_admin(), "{what}")
            }
            "CapEff" | "CapPrm" | "CapBnd" | "Seccomp" | "NoNewPrivs" => match kernel.field(&key) {
                Some(k) => assert_eq!(text, k, "{what}"),
                None => continue,
            },
            "uid_map" | "/proc/self/uid_map" => match map_from_evidence(&v) {
                Some(m) => assert_eq!(m, kernel.uid_map, "{what}"),
                None => continue,
            },
            "gid_map" | "/proc/self/gid_map" => match map_from_evidence(&v) {
                Some(m) => assert_eq!(m, kernel.gid_map, "{what}"),
                None => continue,
            },
            _ => continue,
        }
        compared += 1;
    }
    compared
}

/// The probe a report names by its key, for the simple keys.
fn probe_from_key(key: &str) -> Option<Probe> {
    let flag = |rest: &str| match rest {
        "userns=true" => Some(true),
        "userns=false" => Some(false),
        _ => None,
    };
    match key.split_once(' ') {
        None if key == "userns" => Some(Probe::UserNs),
        None if key == "keyctl" => Some(Probe::Keyctl),
        Some(("proc-mount", rest)) => Some(Probe::ProcMount {
            userns: flag(rest)?,
        }),
        Some(("bind-mount", rest)) => Some(Probe::BindMount {
            userns: flag(rest)?,
        }),
        Some(("overlay", rest)) => {
            let (dir, f) = rest.rsplit_once(' ')?;
            Some(Probe::Overlay {
                dir: dir.to_string(),
                userns: flag(f)?,
            })
        }
        _ => None,
    }
}

/// The binary in a directory every user can traverse.
fn public_copy() -> (tempfile::TempDir, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let bin = dir.path().join("podrun-doctor");
    std::fs::copy(BIN, &bin).expect("copy the binary");
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    (dir, bin)
}

#[test]
fn the_report_as_root_has_the_schema_and_agrees_with_the_kernel() {
    if !need_root("the probes and the report as root") {
        return;
    }
    let (code, report) = run_report(&[], Path::new(BIN));
    assert!(code == 0 || code == 1, "exit code {code}");
    let compared = assert_agrees(&report, &Kernel::of(&[]));
    assert!(
        compared > 0,
        "no evidence to compare with the kernel in {report}"
    );
    // Probe outcomes in the report are what the probes say run from here.
    let _turn = probe_turn();
    for c in report["checks"].as_array().into_iter().flatten() {
        let (Some(key), Some(said)) = (
            c["evidence"]["probe"].as_str(),
            c["evidence"]["probe_result"].as_str(),
        ) else {
            continue;
        };
        if let Some(p) = probe_from_key(key) {
            assert_eq!(probes::run(&p).describe(), said, "{}: probe {key}", c["id"]);
        }
    }
    // Exit code and verdict agree.
    let ready = report["verdict"]["ready_before"].as_bool().unwrap();
    assert_eq!(
        code == 0,
        ready,
        "exit code {code} but ready_before {ready}"
    );
}

#[test]
fn the_probes_on_a_privileged_host_succeed_and_leave_nothing_behind() {
    let (privileged, found) = privileged_host();
    let how = format!(
        "{found}: run as root on the host or in a --privileged container (CapEff with bit 21, \
         Seccomp: 0)"
    );
    if !need_root("the probes as root")
        || !need("CAP_SYS_ADMIN and no seccomp filter", privileged, &how)
    {
        return;
    }
    let _turn = probe_turn();
    let ns = |n: &str| std::fs::read_link(format!("/proc/self/ns/{n}")).unwrap();
    let before = (ns("user"), ns("mnt"), ns("pid"));
    let uid_map = parse_map(&std::fs::read_to_string("/proc/self/uid_map").unwrap());
    let gid_map = parse_map(&std::fs::read_to_string("/proc/self/gid_map").unwrap());
    let overlay_dir = tempfile::tempdir().expect("temp dir");
    let dir = overlay_dir.path().display().to_string();
    let all = [
        Probe::UserNs,
        // podman as root without CAP_SYS_ADMIN: copies its own maps.
        Probe::UserNsMap {
            helpers: None,
            uid_map,
            gid_map,
        },
        Probe::UserNsMap {
            helpers: None,
            uid_map: vec![IdMapLine {
                inside: 0,
                outside: 0,
                count: 1,
            }],
            gid_map: vec![IdMapLine {
                inside: 0,
                outside: 0,
                count: 1,
            }],
        },
        Probe::ProcMount { userns: false },
        Probe::ProcMount { userns: true },
        Probe::BindMount { userns: false },
        Probe::BindMount { userns: true },
        Probe::Overlay {
            dir: dir.clone(),
            userns: false,
        },
        Probe::Keyctl,
    ];
    for p in &all {
        let r = probes::run(p);
        assert!(
            r.ran && r.ok,
            "{}: {} ({})",
            p.key(),
            r.describe(),
            r.detail
        );
    }
    // Overlay in a user namespace depends on the filesystem under `dir`
    // (tmpfs needs user xattrs, kernel >= 6.6): it must run and, failing,
    // say where and why.
    let r = probes::run(&Probe::Overlay { dir, userns: true });
    assert!(r.ran, "{}", r.detail);
    assert!(r.ok || (r.step == "mount" && r.errno.is_some()), "{r:?}");

    assert_eq!(
        (ns("user"), ns("mnt"), ns("pid")),
        before,
        "the test process changed namespace"
    );
    // Other processes mount and unmount on this host; ours never appear.
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mountinfo.contains(".podrun-probe-"),
        "a probe mount leaked:\n{mountinfo}"
    );
    let marker = format!("-{}-", std::process::id());
    for d in [std::env::temp_dir(), overlay_dir.path().to_path_buf()] {
        let left: Vec<_> = std::fs::read_dir(&d)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".podrun-probe-") && n.contains(&marker))
            .collect();
        assert!(left.is_empty(), "left behind in {}: {left:?}", d.display());
    }
}

#[test]
fn a_newuidmap_refusal_is_reported_with_its_message_and_errno() {
    // newuidmap refuses a range the caller does not own in /etc/subuid; the
    // probe reports the helper's words, not a guess.
    let Some(newuidmap) = need_tool("newuidmap", "uidmap") else {
        return;
    };
    let Some(newgidmap) = need_tool("newgidmap", "uidmap") else {
        return;
    };
    let uid = nix::unistd::geteuid().as_raw();
    let gid = nix::unistd::getegid().as_raw();
    let _turn = probe_turn();
    let line = |inside, outside, count| IdMapLine {
        inside,
        outside,
        count,
    };
    let r = probes::run(&Probe::UserNsMap {
        helpers: Some((
            newuidmap.display().to_string(),
            newgidmap.display().to_string(),
        )),
        uid_map: vec![line(0, uid, 1), line(1, 3_000_000_000, 10)],
        gid_map: vec![line(0, gid, 1), line(1, 3_000_000_000, 10)],
    });
    let how = format!(
        "it did not: {}; the kernel must allow user namespaces (sysctl user.max_user_namespaces \
         > 0; in a container, a seccomp profile that allows unshare(CLONE_NEWUSER))",
        r.detail
    );
    if !need("the mapping probe to run", r.ran, &how) {
        return;
    }
    assert!(!r.ok, "{r:?}");
    assert_eq!(r.step, "newuidmap", "{r:?}");
    assert!(r.detail.contains("newuidmap"), "{}", r.detail);
    assert!(
        r.detail.contains("3000000000 10"),
        "the exact call is shown: {}",
        r.detail
    );
}

#[test]
fn an_unprivileged_user_is_reported_with_its_own_uid_and_the_kernel_id_map() {
    if !need_root(&format!("to switch to uid {NOBODY}")) {
        return;
    }
    let Some(setpriv) = need_tool("setpriv", "util-linux") else {
        return;
    };
    let (_dir, bin) = public_copy();
    let setpriv = setpriv.display().to_string();
    let prefix = [
        setpriv.as_str(),
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
    ];
    let kernel = Kernel::of(&prefix);
    assert_eq!(kernel.id("Uid"), NOBODY);
    let (code, report) = run_report(&prefix, &bin);
    assert!(code == 0 || code == 1, "exit code {code}");
    assert!(
        assert_agrees(&report, &kernel) > 0,
        "nothing compared in {report}"
    );
}

#[test]
fn a_user_in_a_new_user_namespace_is_reported_with_the_namespace_map() {
    if !need_root("unshare --map-user=65534 maps root's uid to it") {
        return;
    }
    let Some(unshare) = need_tool("unshare", "util-linux") else {
        return;
    };
    let (_dir, bin) = public_copy();
    let unshare = unshare.display().to_string();
    let prefix = [
        unshare.as_str(),
        "--user",
        "--map-user=65534",
        "--map-group=65534",
    ];
    let probe = Command::new(&unshare)
        .args(&prefix[1..])
        .arg("true")
        .output();
    let allowed = probe.as_ref().is_ok_and(|o| o.status.success());
    let how = format!(
        "`{unshare} {} true` gave {probe:?}: allow user namespaces (sysctl \
         user.max_user_namespaces > 0; in a container, a seccomp profile that allows \
         unshare(CLONE_NEWUSER))",
        prefix[1..].join(" ")
    );
    if !need("a kernel that allows user namespaces", allowed, &how) {
        return;
    }
    let kernel = Kernel::of(&prefix);
    // The kernel shows the namespace's single line: 65534 inside, our uid outside.
    let me = nix::unistd::geteuid().as_raw();
    assert_eq!(kernel.uid_map, [format!("65534 {me} 1")]);
    let (code, report) = run_report(&prefix, &bin);
    assert!(code == 0 || code == 1, "exit code {code}");
    assert!(
        assert_agrees(&report, &kernel) > 0,
        "nothing compared in {report}"
    );
}
