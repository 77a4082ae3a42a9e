//! Area `fuse`: whether `/dev/fuse` is usable and `fuse-overlayfs` is
//! installed (catalog S2).
//!
//! A missing device is not blocking by itself: the storage area decides
//! whether the configured storage needs it (a `mount_program` of
//! fuse-overlayfs does, native overlay and vfs do not) and reads these facts.

use super::{AreaOut, Findings, Obs};
use crate::host::{io_error_name, FileKind, Host};
use crate::model::{By, Check, Spec};
use crate::remedy::fuse::EXPOSE_FUSE;
use crate::remedy::runner::Executor;
use serde_json::json;

const DEV: &str = "/dev/fuse";
const FILESYSTEMS: &str = "/proc/filesystems";
const FUSE_MAJOR: u32 = 10;
const FUSE_MINOR: u32 = 229;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Facts {
    /// `/dev/fuse` exists as character device 10:229.
    pub device_present: bool,
    /// It opened read-write.
    pub device_usable: bool,
    /// Why it is not usable: `ENOENT` (missing), `EPERM` (device cgroup),
    /// `EACCES` (mode), `ENOTCHR` (something else at that path), ….
    pub errno: Option<String>,
    /// `fuse` is listed in `/proc/filesystems` (`None`: unreadable).
    pub kernel_fuse: Option<bool>,
    /// `fuse-overlayfs` in `PATH`.
    pub fuse_overlayfs: Option<String>,
}

impl Facts {
    /// Opening `/dev/fuse` read-write, as this area found it: the errno
    /// name when it is missing, not the fuse device, or refused.
    pub fn open_result(&self) -> Result<(), String> {
        if self.device_usable {
            Ok(())
        } else {
            Err(self.errno.clone().unwrap_or_else(|| "ENOENT".into()))
        }
    }
}

/// Whether `/proc/filesystems` lists a filesystem type.
pub fn lists_fs(text: &str, name: &str) -> bool {
    text.lines()
        .any(|l| l.split_whitespace().last() == Some(name))
}

pub const SPECS: &[Spec] = &[
    Spec {
        id: "fuse.device",
        title: "/dev/fuse is present and opens read-write",
        explain: "fuse-overlayfs (the image's `mount_program` for overlay on overlay) needs \
/dev/fuse; without it podman fails with `fuse: device not found, try 'modprobe fuse' first`. \
Unprivileged pods get no host devices. ENOENT = not exposed, EPERM = the device cgroup denies \
it, EACCES = file mode. Whether this blocks depends on the storage setup (storage area): \
native overlay on a volume or vfs do not need it. Fix (runner admin): expose the device \
(fuse device plugin + pod_spec `github.com/fuse: 1`, CRI-O annotation \
`io.kubernetes.cri-o.Devices: \"/dev/fuse\"`, docker `devices = [\"/dev/fuse\"]`).",
        signatures: &[
            "fuse: device not found, try 'modprobe fuse' first",
            "fuse-overlayfs: cannot mount: No such file or directory",
            "fuse-overlayfs: cannot mount: No such device",
        ],
    },
    Spec {
        id: "fuse.overlayfs",
        title: "fuse-overlayfs is installed",
        explain: "containers/storage uses fuse-overlayfs as overlay's mount program when it is \
configured, and picks it automatically when native overlay is not possible (graphroot on \
overlay) and it is in PATH. Without it and without native overlay podman falls back to (or \
must be told to use) vfs, which is slow and large. Fix (image): install fuse-overlayfs.",
        signatures: &["exec: \"fuse-overlayfs\": executable file not found"],
    },
];

pub fn probe(host: &Host, earlier: &Findings) -> AreaOut<Facts> {
    let found = &mut Obs::new(earlier);
    let mut facts = Facts {
        fuse_overlayfs: host.which("fuse-overlayfs"),
        ..Facts::default()
    };
    let filesystems = host.read(FILESYSTEMS);
    facts.kernel_fuse = filesystems.as_ref().ok().map(|t| lists_fs(t, "fuse"));
    let check = device_check(host, &mut facts, Executor::of(&found.context));
    found.checks.push(
        check
            .with("path", DEV)
            .with(
                "errno",
                facts.errno.clone().map_or(json!(null), |e| json!(e)),
            )
            .with(
                "kernel_fuse",
                facts.kernel_fuse.map_or(json!(null), |k| json!(k)),
            )
            .with(
                "filesystems",
                match &filesystems {
                    Ok(_) => json!(FILESYSTEMS),
                    Err(e) => json!(format!("{FILESYSTEMS}: {}", io_error_name(e))),
                },
            ),
    );
    found.checks.push(overlayfs_check(&facts));
    found.finish(facts)
}

/// `fuse.device`: the device is there, is 10:229 and opens read-write; the
/// runner remedy for this executor when it does not.
fn device_check(host: &Host, facts: &mut Facts, executor: Executor) -> Check {
    let check = match host.stat(DEV) {
        Err(e) => {
            let errno = io_error_name(&e);
            facts.errno = Some(errno.clone());
            Check::info(
                "fuse.device",
                format!(
                    "{DEV} is {} ({errno}): fuse-overlayfs cannot run here (storage judges \
                     whether that matters)",
                    if errno == "ENOENT" {
                        "not in the container"
                    } else {
                        "not accessible"
                    }
                ),
            )
        }
        Ok(s) if s.kind != FileKind::Char || s.rdev != (FUSE_MAJOR, FUSE_MINOR) => {
            facts.errno = Some("ENOTCHR".into());
            Check::warn(
                "fuse.device",
                format!(
                    "{DEV} is a {} {}:{}, not the character device 10:229",
                    s.kind.as_str(),
                    s.rdev.0,
                    s.rdev.1
                ),
            )
            .with("kind", s.kind.as_str())
            .with("rdev", format!("{}:{}", s.rdev.0, s.rdev.1))
        }
        Ok(_) => {
            facts.device_present = true;
            open_check(host, facts)
        }
    };
    if facts.device_usable {
        check
    } else {
        check.fix(By::RunnerAdmin, EXPOSE_FUSE.text(executor))
    }
}

/// The fuse device is there: whether it opens read-write, and why not.
fn open_check(host: &Host, facts: &mut Facts) -> Check {
    match host.open_rw(DEV) {
        Ok(()) => {
            facts.device_usable = true;
            Check::ok("fuse.device", format!("{DEV} (10:229) opens read-write"))
        }
        Err(e) => {
            let errno = io_error_name(&e);
            let why = match errno.as_str() {
                "EPERM" => "the device cgroup denies it",
                "EACCES" => "its file mode denies this user",
                "ENXIO" | "ENODEV" => "the fuse module is not loaded on the node",
                _ => "it cannot be opened",
            };
            facts.errno = Some(errno.clone());
            Check::warn(
                "fuse.device",
                format!("{DEV} exists but opening it fails ({errno}): {why}"),
            )
        }
    }
}

/// `fuse.overlayfs`: the mount program is installed.
fn overlayfs_check(facts: &Facts) -> Check {
    let check = match &facts.fuse_overlayfs {
        Some(p) => Check::ok("fuse.overlayfs", format!("fuse-overlayfs at {p}")),
        None => Check::info(
            "fuse.overlayfs",
            "fuse-overlayfs is not in PATH: overlay on an overlay-backed graphroot needs \
             native overlay on a volume, or vfs (storage judges)",
        )
        .fix(
            By::Image,
            "install fuse-overlayfs in the image (`dnf install fuse-overlayfs` / `apt-get \
             install fuse-overlayfs` / `apk add fuse-overlayfs`)",
        ),
    };
    check.with(
        "path",
        facts
            .fuse_overlayfs
            .clone()
            .map_or(json!(null), |p| json!(p)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;
    use crate::probes::testutil::Fixture;

    const FS: &str = include_str!("../../tests/fixtures/captured/nested-root/proc/filesystems");

    fn run(f: Fixture) -> Findings {
        let host = f.host();
        let mut found = Findings::default();
        found.absorb(probe(&host, &found));
        found
    }

    fn with_tool(f: Fixture) -> Fixture {
        f.env("PATH", "/usr/bin")
            .file("/usr/bin/fuse-overlayfs", "")
            .stat("/usr/bin/fuse-overlayfs", "file", 0o755, 0, 0)
    }

    #[test]
    fn parses_real_filesystems() {
        assert!(lists_fs(FS, "fuse"));
        assert!(lists_fs(FS, "overlay"));
        assert!(!lists_fs(FS, "fus"));
        assert!(!lists_fs(FS, "nfs"));
    }

    #[test]
    fn usable_device() {
        let f = with_tool(Fixture::new())
            .file(FILESYSTEMS, FS)
            .answer(
                "stat",
                DEV,
                json!({"kind": "char", "mode": "0666", "major": 10, "minor": 229}),
            )
            .open(DEV, "ok");
        let found = run(f);
        assert!(found.fuse.device_usable);
        assert_eq!(found.fuse.kernel_fuse, Some(true));
        assert_eq!(
            found.fuse.fuse_overlayfs.as_deref(),
            Some("/usr/bin/fuse-overlayfs")
        );
        assert_eq!(found.check("fuse.device").unwrap().status, Status::Ok);
        assert_eq!(found.check("fuse.overlayfs").unwrap().status, Status::Ok);
    }

    #[test]
    fn missing_device_is_info_with_runner_remedy() {
        // As in the captured unprivileged nested container: no /dev/fuse.
        let f = with_tool(Fixture::new())
            .file(FILESYSTEMS, FS)
            .stat_err(DEV, "ENOENT");
        let found = run(f);
        let c = found.check("fuse.device").unwrap();
        assert_eq!(c.status, Status::Info);
        assert_eq!(found.fuse.errno.as_deref(), Some("ENOENT"));
        let fix = c.fix.as_ref().unwrap();
        assert_eq!(fix.by, By::RunnerAdmin);
        assert!(fix.text.contains("github.com/fuse"));
        assert!(fix.text.contains("io.kubernetes.cri-o.Devices"));
        assert!(fix.text.contains("devices = [\"/dev/fuse\"]"));
    }

    #[test]
    fn denied_or_wrong_device_warns() {
        let dev = json!({"kind": "char", "mode": "0666", "major": 10, "minor": 229});
        let f = Fixture::new().answer("stat", DEV, dev).open(DEV, "EPERM");
        let found = run(f);
        let c = found.check("fuse.device").unwrap();
        assert_eq!(c.status, Status::Warn);
        assert!(c.summary.contains("device cgroup"));
        assert!(!found.fuse.device_usable && found.fuse.device_present);
        let f = Fixture::new().file(DEV, "");
        let found = run(f);
        assert_eq!(found.fuse.errno.as_deref(), Some("ENOTCHR"));
        assert_eq!(found.check("fuse.device").unwrap().status, Status::Warn);
        // No fuse-overlayfs: image fix.
        let c = found.check("fuse.overlayfs").unwrap();
        assert_eq!(c.status, Status::Info);
        assert_eq!(c.fix.as_ref().unwrap().by, By::Image);
        assert_eq!(found.fuse.kernel_fuse, None);
    }
}
