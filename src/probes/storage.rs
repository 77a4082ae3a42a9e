//! Area `storage`: the store podman will use (driver, graphroot, runroot,
//! mount program), whether it really works here, and the directories
//! podman needs beside it (runtime dir, TMPDIR).
//!
//! The area observes what the driver choice depends on (configured
//! driver and mount program, fuse-overlayfs, native overlay probed where
//! the store lives, podman's version, the kernel); the choice itself is
//! `decide::storage`, which the plan and this area's checks share.

use super::config::StorageConf;
use super::paths::Paths;
use super::{AreaOut, Findings, Obs};
use crate::decide::{EntryKind, PriorEntry, StorageChoice, StorageFacts, PRIOR_DRIVERS};
use crate::host::{io_error_name, Access, FileKind, FsStat, Host, Probe, ProbeResult};
use crate::model::{Action, By, Check, Fix, Spec, Status, OWNED_MARKER};
use crate::remedy::runner::Executor;
use crate::remedy::storage::{
    FASTER_STORE, RUNTIME_DIR_PLACE, STORE_INODES, STORE_LOCAL, STORE_PLACE, STORE_ROOM,
    STORE_SPACE, TMPDIR_PLACE,
};
use serde_json::json;

const OVERLAYFS_MAGIC: u64 = 0x794c_7630;
const NFS_MAGIC: u64 = 0x6969;
const SMB2_MAGIC: u64 = 0xfe53_4d42;
const CIFS_MAGIC: u64 = 0xff53_4d42;
const SMB_MAGIC: u64 = 0x517b;
const FUSE_MAGIC: u64 = 0x6573_5546;
const LOW_SPACE: u64 = 5 << 30;
const TMPFS_MAGIC: u64 = 0x0102_1994;
/// Below these a build fails (ENOSPC): a minimal layer (busybox) takes about
/// 1 MiB and a few dozen inodes in the store plus its blob in TMPDIR, a
/// Debian base about 120 MiB and 10 000 files. The context and the image are
/// unknown, so only room that no real build fits in is an error; a wrong
/// "not ready" is unlikely below 64 MiB or 1000 inodes.
const MIN_BYTES: u64 = 64 << 20;
const MIN_INODES: u64 = 1000;
/// Below this many inodes a larger image may not fit: a warning.
const LOW_INODES: u64 = 10_000;
const CG2_MAX: &str = "/sys/fs/cgroup/memory.max";
const CG2_CURRENT: &str = "/sys/fs/cgroup/memory.current";
const CG1_LIMIT: &str = "/sys/fs/cgroup/memory/memory.limit_in_bytes";
const CG1_USAGE: &str = "/sys/fs/cgroup/memory/memory.usage_in_bytes";

#[derive(Debug, Default, Clone)]
pub struct Facts {
    /// Storage as podman uses it for this user (uid ≠ 0).
    pub per_user: bool,
    /// Effective driver (`overlay`, `vfs`, or another configured one).
    pub driver: String,
    /// Where the driver choice came from.
    pub driver_source: String,
    pub graphroot: String,
    pub runroot: String,
    /// Mount program in use (configured, or picked automatically).
    pub mount_program: Option<String>,
    /// What the driver choice follows from (`decide::storage`); `None`
    /// until the area ran (the plan then keeps podman's defaults).
    pub choice_facts: Option<StorageFacts>,
    /// Native overlay in the graphroot's filesystem: `None` = not probed.
    pub native_overlay: Option<bool>,
    /// `/dev/fuse` opens read-write and fuse-overlayfs is installed.
    pub fuse_usable: bool,
    /// Driver of an existing store under graphroot (from `<driver>-layers`).
    pub existing_driver: Option<String>,
    /// Whether the store as configured works (None = unknown).
    pub works: Option<bool>,
    /// The rootless runtime dir podman will use.
    pub runtime_dir: Option<String>,
}

pub const SPECS: &[Spec] = &[
    Spec {
        id: "storage.driver",
        title: "the storage driver works here",
        explain: "Podman stores layers with overlay (native kernel overlay, or fuse-overlayfs as \
mount_program) or vfs (full copies: slow, large). Native overlay cannot stack on the container's own \
overlay root filesystem and needs kernel >= 5.13 in a user namespace; fuse-overlayfs needs a usable \
/dev/fuse. podrun-doctor picks the fastest driver that really works (probing native overlay by \
mounting it) and writes a storage.conf it owns. Admin-side: an emptyDir/volume at the storage path \
gives native overlay; exposing /dev/fuse enables fuse-overlayfs.",
        signatures: &[
            "'overlay' is not supported over overlayfs",
            "a mount_program is required",
            "backing file system is unsupported for this graph driver",
            "kernel does not support overlay fs",
            "fuse: device not found",
            "fuse-overlayfs: cannot mount",
            "fuse: failed to open /dev/fuse",
            "is not supported over extfs",
        ],
    },
    Spec {
        id: "storage.graphroot",
        title: "graphroot is writable, local and roomy",
        explain: "The graphroot must be writable by the job user (a root-owned /var/lib/containers or \
volume breaks rootless podman), on a local filesystem (NFS/SMB with user namespaces fails), not \
noexec, with room for every layer (vfs copies each layer in full). Fix: point graphroot at a \
writable local volume (emptyDir), or let podrun-doctor relocate it.",
        signatures: &[
            "storage.lock\": permission denied",
            "error creating runtime static files directory",
            "a network file system with user namespaces is not supported",
            "no space left on device",
            "ephemeral-storage",
            "exec user process caused \"permission denied\"",
        ],
    },
    Spec {
        id: "storage.existing",
        title: "no existing store made with another driver",
        explain: "Once libpod's database (graphroot/libpod/bolt_state.db, podman 5's graphroot/db.sql) \
records a graph driver, podman uses that driver whatever storage.conf or STORAGE_DRIVER say (it logs \
`User-selected graph driver … overwritten by graph driver … from database`); only a --storage-driver \
flag that differs fails (`database graph driver … does not match`). podrun-doctor reads the database's \
driver and never switches silently: when it must change the driver it uses a fresh graphroot beside the \
old one; to reclaim the old store run `podman system reset -f`.",
        signatures: &[
            "does not match our graph driver",
            "database configuration mismatch",
            "overwritten by graph driver",
            "does not match our static dir",
        ],
    },
    Spec {
        id: "storage.runtime_dir",
        title: "rootless runtime directory (XDG_RUNTIME_DIR)",
        explain: "Rootless podman keeps its runroot and locks in $XDG_RUNTIME_DIR (or /run/user/$UID, \
else $TMPDIR/storage-run-$UID), which must exist, belong to the user and be mode 0700. An inherited \
value (root's /run/user/0 after su) breaks it. Fix: podrun-doctor exports XDG_RUNTIME_DIR to a private \
0700 directory.",
        signatures: &[
            "XDG_RUNTIME_DIR directory",
            "is not owned by the current user",
            "XDG_RUNTIME_DIR is pointing to a path which is not writable",
            "creating tmpdir: mkdir /run/user",
            "Failed to obtain podman configuration: lstat /run/user",
            "exists and it is not writeable only by the current user",
        ],
    },
    Spec {
        id: "storage.tmpdir",
        title: "TMPDIR (or /var/tmp) is writable",
        explain: "Image blobs are staged in $TMPDIR, default /var/tmp (image_copy_tmp_dir). A read-only \
root filesystem makes every pull and commit fail. Fix: podrun-doctor exports TMPDIR to a writable \
directory; admin-side mount an emptyDir and set TMPDIR in the runner environment.",
        signatures: &[
            "creating a temporary directory: mkdir /var/tmp",
            "writing blob",
        ],
    },
];

fn fs_name(magic: u64) -> &'static str {
    match magic {
        OVERLAYFS_MAGIC => "overlay",
        0x0102_1994 => "tmpfs",
        0xef53 => "ext4",
        0x5846_5342 => "xfs",
        0x9123_683e => "btrfs",
        NFS_MAGIC => "nfs",
        SMB2_MAGIC => "smb2",
        CIFS_MAGIC => "cifs",
        SMB_MAGIC => "smb",
        FUSE_MAGIC => "fuse",
        _ => "other",
    }
}

fn kernel_at_least_5_13(host: &Host) -> bool {
    let rel = host.read("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut it = rel
        .trim()
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|p| p.parse::<u32>().ok());
    match (it.next(), it.next()) {
        (Some(maj), Some(min)) => maj > 5 || (maj == 5 && min >= 13),
        _ => false,
    }
}

/// Usable for the job: exists, owned by it, writable (or creatable).
fn dir_ok(host: &Host, path: &str) -> Result<(), String> {
    match host.stat(path) {
        Ok(st) => {
            if st.uid != host.uid() {
                return Err(format!(
                    "{path} is owned by uid {}, not {}",
                    st.uid,
                    host.uid()
                ));
            }
            host.access(path, Access::Write)
                .map_err(|e| format!("{path} is not writable ({})", io_error_name(&e)))
        }
        Err(_) => {
            let near = host.nearest_existing(path);
            host.access(&near, Access::Write).map_err(|e| {
                format!(
                    "{path} cannot be created: {near} is not writable ({})",
                    io_error_name(&e)
                )
            })
        }
    }
}

/// Memory the job's cgroup may still use (v2 `memory.max`, v1
/// `memory.limit_in_bytes`, minus what is used): a memory-backed tmpfs
/// (an emptyDir with `medium: Memory`) fills it, whatever its size says.
fn memory_left(host: &Host) -> Option<u64> {
    let num = |p: &str| host.read(p).ok()?.trim().parse::<u64>().ok();
    let (limit, used) = match num(CG2_MAX) {
        Some(l) => (l, num(CG2_CURRENT).unwrap_or(0)),
        None => (num(CG1_LIMIT)?, num(CG1_USAGE).unwrap_or(0)),
    };
    Some(limit.saturating_sub(used))
}

/// Room where `path` lives (bytes, inodes), a tmpfs counted against the
/// memory limit. `None` when statfs cannot tell.
fn room(host: &Host, path: &str) -> Option<(u64, Option<u64>)> {
    let s = host.statfs(&host.nearest_existing(path)).ok()?;
    let bytes = match memory_left(host).filter(|_| s.magic == TMPFS_MAGIC) {
        Some(m) => s.free_bytes.min(m),
        None => s.free_bytes,
    };
    Some((bytes, s.free_inodes))
}

/// `Err` when no build fits where `path` lives (see [`MIN_BYTES`]).
fn room_ok(host: &Host, path: &str) -> Result<(), String> {
    let near = host.nearest_existing(path);
    match room(host, path) {
        Some((bytes, _)) if bytes < MIN_BYTES => Err(format!(
            "{near} has only {} KiB free (under {} MiB, counting a memory-backed tmpfs against \
             the memory limit): podman fails with ENOSPC (`no space left on device`)",
            bytes >> 10,
            MIN_BYTES >> 20
        )),
        Some((_, Some(inodes))) if inodes < MIN_INODES => Err(format!(
            "{near} has only {inodes} free inodes (under {MIN_INODES}): podman fails with ENOSPC \
             (`no space left on device`) while it writes the layers"
        )),
        _ => Ok(()),
    }
}

fn writable(host: &Host, path: &str) -> bool {
    let near = host.nearest_existing(path);
    host.access(&near, Access::Write).is_ok()
}

/// A private directory for podman's runtime files, when the environment's
/// is unusable.
fn private_runtime_dir(host: &Host, paths: &Paths) -> Option<String> {
    let uid = host.uid();
    [host.env_nonempty("TMPDIR"), Some("/tmp"), paths.home_set()]
        .into_iter()
        .flatten()
        .map(|d| format!("{}/podrun-run-{uid}", d.trim_end_matches('/')))
        .find(|p| match host.stat(p) {
            Ok(st) => st.uid == uid && st.mode & 0o777 == 0o700,
            Err(_) => writable(host, p),
        })
}

/// The fix for an unusable runtime directory: a private one of the job's
/// own, else the runner's.
fn runtime_dir_fix(host: &Host, found: &Obs, c: Check) -> Check {
    match private_runtime_dir(host, &found.identity.paths) {
        Some(dir) => c.job_fix(
            format!("export XDG_RUNTIME_DIR={dir} (a private 0700 directory)"),
            vec![
                Action::CreateDir {
                    path: dir.clone(),
                    mode: 0o700,
                },
                Action::SetEnv {
                    key: "XDG_RUNTIME_DIR".into(),
                    value: dir,
                },
            ],
        ),
        None => c.fix(
            By::RunnerAdmin,
            RUNTIME_DIR_PLACE.text(Executor::of(&found.context)),
        ),
    }
}

/// The rootless runtime directory podman will use, judged; `None` for root.
fn runtime_dir_check(host: &Host, found: &mut Obs) -> Option<String> {
    if host.uid() == 0 {
        return None;
    }
    let (dir, check) = match found.identity.paths.xdg_runtime_dir.clone() {
        Some(dir) => {
            let check = xdg_runtime_dir_check(host, found, &dir);
            (dir, check)
        }
        None => unset_runtime_dir_check(host, found),
    };
    found.checks.push(check);
    Some(dir)
}

/// `XDG_RUNTIME_DIR` as set: it must exist, be the user's and writable.
fn xdg_runtime_dir_check(host: &Host, found: &Obs, dir: &str) -> Check {
    let uid = host.uid();
    let problem = match host.stat(dir) {
        Err(e) => Some(format!("does not exist ({})", io_error_name(&e))),
        Ok(st) if st.uid != uid => Some(format!("is owned by uid {}", st.uid)),
        Ok(_) if host.access(dir, Access::Write).is_err() => Some("is not writable".into()),
        Ok(st) if st.mode & 0o077 != 0 => {
            // podman tolerates a wider mode for XDG_RUNTIME_DIR itself.
            let mode = st.mode & 0o7777;
            return Check::info(
                "storage.runtime_dir",
                format!("XDG_RUNTIME_DIR={dir} (mode {mode:o}, not 0700)"),
            )
            .with("XDG_RUNTIME_DIR", dir);
        }
        Ok(_) => None,
    };
    let check = match problem {
        None => Check::ok("storage.runtime_dir", format!("XDG_RUNTIME_DIR={dir}")),
        Some(p) => runtime_dir_fix(
            host,
            found,
            Check::error(
                "storage.runtime_dir",
                format!(
                    "XDG_RUNTIME_DIR={dir} {p}: rootless podman cannot keep its runtime files there"
                ),
            ),
        ),
    };
    check.with("XDG_RUNTIME_DIR", dir)
}

/// `XDG_RUNTIME_DIR` unset: podman takes /run/user/$UID when it is usable,
/// else $TMPDIR/storage-run-$UID, which must then be private to the user.
fn unset_runtime_dir_check(host: &Host, found: &Obs) -> (String, Check) {
    let uid = host.uid();
    let run_user = format!("/run/user/{uid}");
    if let Ok(st) = host.stat(&run_user) {
        if st.uid == uid && host.access(&run_user, Access::Write).is_ok() {
            let check = Check::ok(
                "storage.runtime_dir",
                format!("XDG_RUNTIME_DIR unset; podman uses {run_user}"),
            );
            return (run_user, check);
        }
    }
    let tmp = host
        .env_nonempty("TMPDIR")
        .unwrap_or("/tmp")
        .trim_end_matches('/')
        .to_string();
    let fallback = format!("{tmp}/storage-run-{uid}");
    let verdict = match host.stat(&fallback) {
        Ok(st) if st.uid != uid || st.mode & 0o077 != 0 => Err(format!(
            "{fallback} exists (uid {}, mode {:o}) and is not private to uid {uid}",
            st.uid,
            st.mode & 0o7777
        )),
        Ok(_) => Ok(()),
        Err(_) => dir_ok(host, &fallback),
    };
    let check = match verdict {
        Ok(()) => Check::ok(
            "storage.runtime_dir",
            format!("XDG_RUNTIME_DIR unset; podman uses {fallback}"),
        ),
        Err(p) => runtime_dir_fix(
            host,
            found,
            Check::error(
                "storage.runtime_dir",
                format!("XDG_RUNTIME_DIR unset and {p}"),
            ),
        ),
    };
    let check = check.with("fallback", fallback.clone());
    (fallback, check)
}

fn tmpdir_check(host: &Host, found: &mut Obs, graphroot: &str) {
    let tmp = host
        .env_nonempty("TMPDIR")
        .unwrap_or("/var/tmp")
        .trim_end_matches('/')
        .to_string();
    let writable_now = host.is_dir(&tmp) && host.access(&tmp, Access::Write).is_ok();
    let free = host
        .statfs(&host.nearest_existing(&tmp))
        .ok()
        .map(|s| s.free_bytes);
    // The layer blob is staged here before it is stored: no room, no build.
    let problem = if !writable_now {
        Some(format!(
            "{tmp} is not writable: pulling and committing layers fail"
        ))
    } else {
        room_ok(host, &tmp)
            .err()
            .map(|why| format!("TMPDIR {tmp}: {why}; committing a layer fails"))
    };
    let mut check = match problem {
        None => Check::ok("storage.tmpdir", format!("{tmp} is writable")),
        Some(why) => tmpdir_fix(
            host,
            found,
            Check::error("storage.tmpdir", why),
            &tmp,
            graphroot,
            writable_now,
        ),
    };
    check = check.with("TMPDIR", tmp).with("free_bytes", json!(free));
    found.checks.push(check);
}

/// Another TMPDIR: `/var/tmp` first when the problem is room (verified:
/// `TMPDIR=/var/tmp` builds), else a directory of the job's own.
fn tmpdir_fix(
    host: &Host,
    found: &Obs,
    c: Check,
    tmp: &str,
    graphroot: &str,
    writable_now: bool,
) -> Check {
    let paths = &found.identity.paths;
    let own = paths.job_dir.clone().map(|d| format!("{d}/tmp"));
    let beside = [
        graphroot.to_string(),
        paths.home_set().unwrap_or("/").to_string(),
    ]
    .into_iter()
    .map(|d| {
        let parent = std::path::Path::new(&d)
            .parent()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or(d.clone());
        format!("{}/podrun-tmp", parent.trim_end_matches('/'))
    });
    let var_tmp = writable_now.then(|| "/var/tmp".to_string());
    let candidate = var_tmp
        .into_iter()
        .chain(own)
        .chain(beside)
        .filter(|p| p != tmp)
        .find(|p| writable(host, p) && room_ok(host, p).is_ok());
    match candidate {
        Some(dir) => {
            let mut actions = Vec::new();
            if !host.is_dir(&dir) {
                actions.push(Action::CreateDir {
                    path: dir.clone(),
                    mode: 0o700,
                });
            }
            actions.push(Action::SetEnv {
                key: "TMPDIR".into(),
                value: dir.clone(),
            });
            c.job_fix(format!("export TMPDIR={dir}"), actions)
        }
        None => c.fix(
            By::RunnerAdmin,
            TMPDIR_PLACE.text(Executor::of(&found.context)),
        ),
    }
}

fn existing_driver(host: &Host, graphroot: &str) -> Option<String> {
    let names = host.read_dir(graphroot).ok()?;
    ["overlay", "vfs", "btrfs", "zfs"]
        .into_iter()
        .find(|d| names.iter().any(|n| *n == format!("{d}-layers")))
        .map(str::to_string)
}

/// Where a tool-owned storage.conf goes, and whether an env var is needed.
fn storage_conf_target(host: &Host, paths: &Paths, sc: &StorageConf) -> Option<(String, bool)> {
    let ours = |p: &str| {
        host.read(p)
            .map(|t| t.starts_with(OWNED_MARKER))
            .unwrap_or(false)
    };
    if let Some(p) = host.env_nonempty("CONTAINERS_STORAGE_CONF") {
        if ours(p) {
            return Some((p.to_string(), false));
        }
    }
    let home = paths.config_home.clone();
    if host.uid() != 0 {
        if let Some(h) = &home {
            let user = format!("{h}/containers/storage.conf");
            if !sc.from_env && (!host.exists(&user) || ours(&user)) && writable(host, &user) {
                return Some((user, false));
            }
        }
    } else if !sc.from_env
        && (!host.exists(super::config::ETC_STORAGE) || ours(super::config::ETC_STORAGE))
        && writable(host, super::config::ETC_STORAGE)
    {
        return Some((super::config::ETC_STORAGE.to_string(), false));
    }
    if let Some(p) = host.env_nonempty("CONTAINERS_STORAGE_CONF") {
        // Someone else's file is named there: do not take the variable over.
        if host.exists(p) {
            return None;
        }
    }
    home.map(|h| format!("{h}/containers/podrun-storage.conf"))
        .filter(|p| writable(host, p))
        .or_else(|| paths.job_dir.clone().map(|d| format!("{d}/storage.conf")))
        .map(|p| (p, true))
}

pub fn probe(host: &Host, earlier: &Findings) -> AreaOut<Facts> {
    let found = &mut Obs::new(earlier);
    // --- storage.runtime_dir
    let runtime_dir = runtime_dir_check(host, found);
    let store = observe(host, found, runtime_dir.as_deref());
    // --- storage.driver (its fix moves or switches the store)
    let (works, relocation) = driver_check(host, found, &store);
    // --- storage.graphroot
    graphroot_check(found, &store, relocation);
    // --- storage.existing
    let existing = existing_check(host, found, &store);
    // --- storage.tmpdir
    tmpdir_check(host, found, &store.graphroot);
    found.finish(Facts {
        per_user: store.per_user,
        driver: store.choice.driver.clone(),
        driver_source: String::new(),
        mount_program: store.choice.mount_program.clone(),
        native_overlay: store.facts.native_overlay,
        fuse_usable: store.fuse_usable(),
        existing_driver: existing,
        works,
        runtime_dir,
        graphroot: store.graphroot,
        runroot: store.runroot,
        choice_facts: Some(store.facts),
    })
}

/// The store podman would use here: as configured, as probed, and the
/// driver `decide::storage` picks from that.
struct Store {
    sc: StorageConf,
    per_user: bool,
    /// `$XDG_DATA_HOME`, else `$HOME/.local/share` (no trailing slash).
    data_home: String,
    graphroot: String,
    runroot: String,
    /// The graphroot, or its nearest existing ancestor.
    near: String,
    /// Native overlay mounted at `near`.
    overlay: ProbeResult,
    facts: StorageFacts,
    choice: StorageChoice,
    /// Where the driver choice came from, for the check's text.
    source: String,
    /// `/dev/fuse` as the fuse area (run before this one) opened it.
    fuse_dev: Result<(), String>,
    fs: Option<FsStat>,
    graphroot_ok: Result<(), String>,
    /// A rootless runroot lives in the runtime dir, judged (and moved) by
    /// the runtime_dir check: always `Ok` then.
    runroot_ok: Result<(), String>,
    /// Rootless files that live under HOME wait for the identity area's
    /// HOME relocation (applied in the same round) rather than move elsewhere.
    home_wait: bool,
    /// The graphroot follows HOME (nothing configured points elsewhere).
    follows_home: bool,
}

impl Store {
    /// fuse-overlayfs is installed and `/dev/fuse` opens.
    fn fuse_usable(&self) -> bool {
        self.facts.fuse_overlayfs.is_some() && self.fuse_dev.is_ok()
    }
}

/// Podman's graphroot and runroot for uid `uid`, as configured or by default.
fn roots(
    sc: &StorageConf,
    uid: u32,
    data_home: &str,
    runtime_dir: Option<&str>,
) -> (String, String) {
    let per_user = uid != 0;
    let graphroot = match (&sc.graphroot, &sc.rootless_storage_path) {
        (Some(g), _) => g.clone(),
        (None, Some(r)) if per_user => r.clone(),
        (None, _) if per_user => format!("{data_home}/containers/storage"),
        (None, _) => "/var/lib/containers/storage".into(),
    };
    let runroot = match &sc.runroot {
        Some(r) => r.clone(),
        None if per_user => match runtime_dir {
            Some(dir) => format!("{dir}/containers"),
            None => format!("/tmp/storage-run-{uid}/containers"),
        },
        None => "/run/containers/storage".into(),
    };
    (graphroot, runroot)
}

/// The graphroot's entries containers/storage reads as prior stores, in
/// name order: `-images` names as listed (a graphroot that cannot be listed
/// has none, as for storage's `ReadDir`), `overlay` and `vfs` as `stat`
/// finds them.
fn prior_entries(host: &Host, graphroot: &str) -> Vec<PriorEntry> {
    let listed = host.read_dir(graphroot).unwrap_or_default();
    let root = graphroot.trim_end_matches('/');
    let mut names: Vec<String> = listed
        .iter()
        .filter(|n| n.ends_with("-images"))
        .cloned()
        .collect();
    for d in PRIOR_DRIVERS {
        let seen = listed.iter().any(|n| n == d);
        let there = host.lstat(&format!("{root}/{d}"));
        if seen || there.as_ref().err().and_then(|e| e.raw_os_error()) != Some(nix::libc::ENOENT) {
            names.push(d.to_string());
        }
    }
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let path = format!("{root}/{name}");
            let kind = match host.stat(&path) {
                Ok(st) if st.kind == FileKind::Dir => EntryKind::Dir,
                Ok(st) => EntryKind::Other(st.kind.as_str().to_string()),
                Err(e) => EntryKind::Unreadable(io_error_name(&e)),
            };
            let symlink = matches!(host.lstat(&path), Ok(st) if st.kind == FileKind::Symlink);
            PriorEntry {
                name,
                kind,
                symlink,
            }
        })
        .collect()
}

/// libpod's database under `graphroot` and the graph driver it records,
/// which podman uses whatever storage picks (`decide::storage`). Bolt
/// (podman 4, and 5 where the file exists) keeps `graph-driver-name`'s
/// value right before the next key, `graph-root`; sqlite's DBConfig row
/// keeps GraphDriver right before VolumeDir (`<graphroot>/volumes` by
/// default; checked on a db.sql podman 5.4.2 made). `None` when neither is
/// there or the driver cannot be found.
fn database_driver(host: &Host, graphroot: &str, podman5: bool) -> Option<(String, String)> {
    let [bolt, sql @ ..] = database_files(graphroot);
    if host.lstat(&bolt).is_ok() {
        let driver = search_database(host, &bolt, bolt_driver)?;
        return Some((bolt, driver));
    }
    let sql = sql
        .into_iter()
        .find(|p| host.lstat(p).is_ok())
        .filter(|_| podman5)?;
    let volumes = format!("{}/volumes", graphroot.trim_end_matches('/'));
    let driver = search_database(host, &sql, |bytes| sqlite_driver(bytes, &volumes))?;
    Some((sql, driver))
}

/// Where libpod keeps its database under `graphroot`: bolt first, then
/// sqlite, which podman 5.4 keeps in the graphroot itself (seen in the
/// matrix) rather than in `libpod/`.
fn database_files(graphroot: &str) -> [String; 3] {
    let root = graphroot.trim_end_matches('/');
    [
        format!("{root}/libpod/bolt_state.db"),
        format!("{root}/db.sql"),
        format!("{root}/libpod/db.sql"),
    ]
}

/// The databases record their configuration when they are made, so it is
/// in their first pages: the head (32 KiB) is searched first (issue 10: a 512 KiB
/// bolt file read whole, as text, was over 1 ms), the whole file (within
/// the read limit) only when the head does not settle it. `find` gives
/// `Some(answer)` once the bytes settle it (`Some(None)`: no driver).
fn search_database(
    host: &Host,
    path: &str,
    find: impl Fn(&[u8]) -> Option<Option<&'static str>>,
) -> Option<String> {
    const HEAD: u64 = 32 * 1024;
    // A FIFO, device or directory is no database: never read one.
    if !matches!(host.stat(path), Ok(st) if st.kind == FileKind::File) {
        return None;
    }
    let head = host.read_head(path, HEAD).ok()?;
    let settled = match find(&head) {
        Some(answer) => answer,
        None if (head.len() as u64) < HEAD => None,
        None => find(&host.read_head(path, 16 << 20).ok()?).flatten(),
    };
    settled.map(str::to_string)
}

/// Bolt: the value between the first `graph-driver-name` and the
/// `graph-root` after it, when that is a driver name (podman 4.3 may
/// leave it empty). Settled once both keys are in `bytes`.
fn bolt_driver(bytes: &[u8]) -> Option<Option<&'static str>> {
    let key = find_bytes(bytes, b"graph-driver-name")?;
    let rest = &bytes[key + b"graph-driver-name".len()..];
    let value = &rest[..find_bytes(rest, b"graph-root")?];
    Some(
        KNOWN_DRIVERS
            .iter()
            .copied()
            .find(|d| d.as_bytes() == value),
    )
}

/// sqlite: the driver name right before the first `<graphroot>/volumes`
/// that has one; settled only by finding one.
fn sqlite_driver(bytes: &[u8], volumes: &str) -> Option<Option<&'static str>> {
    let needle = volumes.as_bytes();
    let mut from = 0;
    while let Some(at) = find_bytes(&bytes[from..], needle) {
        let head = &bytes[..from + at];
        if let Some(d) = KNOWN_DRIVERS.iter().find(|d| head.ends_with(d.as_bytes())) {
            return Some(Some(d));
        }
        from += at + 1;
    }
    None
}

/// Where `needle` (not empty) first occurs in `hay`.
fn find_bytes(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let (first, rest) = needle.split_first()?;
    let mut from = 0;
    while let Some(i) = hay.get(from..)?.iter().position(|b| b == first) {
        let at = from + i;
        if hay.get(at + 1..at + needle.len()) == Some(rest) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// What the storage area works from (see [`Store`]).
fn observe(host: &Host, found: &Obs, runtime_dir: Option<&str>) -> Store {
    let sc = found.config.storage.clone();
    let per_user = host.uid() != 0;
    let paths = &found.identity.paths;
    let home = paths.home_set().unwrap_or("/").trim_end_matches('/');
    let data_home = paths
        .xdg_data_home
        .as_deref()
        .map(|s| s.trim_end_matches('/').to_string())
        .unwrap_or_else(|| format!("{home}/.local/share"));
    let (graphroot, runroot) = roots(&sc, host.uid(), &data_home, runtime_dir);
    let podman5 = super::tools::podman5(found.tools.podman_version);
    let near = host.nearest_existing(&graphroot);
    let overlay = host.probe(&Probe::Overlay {
        dir: near.clone(),
        userns: found.plan.rootless,
    });
    let fs = host.statfs(&near).ok();
    let facts = StorageFacts {
        overlay_refused_by_fs: fs
            .as_ref()
            .is_some_and(|s| overlay_refuses(s.magic, podman5, per_user)),
        configured_driver: sc.driver.clone(),
        configured_mount_program: sc.mount_program.clone(),
        per_user,
        podman5,
        fuse_overlayfs: found.tools.fuse_overlayfs.clone(),
        kernel_5_13: kernel_at_least_5_13(host),
        native_overlay: overlay.ran.then_some(overlay.ok),
        own_conf: per_user && (sc.user_file || (sc.from_env && sc.file.is_some())),
        prior: prior_entries(host, &graphroot),
        database: database_driver(host, &graphroot, podman5),
    };
    let choice = crate::decide::storage(&facts);
    let source = match (choice.automatic, sc.driver_from_env) {
        _ if choice.from_database.is_some() => {
            format!(
                "libpod's database {}",
                choice.from_database.clone().unwrap_or_default()
            )
        }
        (true, _) => match &choice.prior {
            Some(e) => format!("podman's automatic choice, from {graphroot}/{}", e.name),
            None => "podman's automatic choice".to_string(),
        },
        (false, true) => "STORAGE_DRIVER".to_string(),
        (false, false) => sc.file.clone().unwrap_or_default(),
    };
    let graphroot_ok = dir_ok(host, &graphroot).and_then(|()| room_ok(host, &graphroot));
    let runroot_ok = if per_user {
        Ok(())
    } else {
        dir_ok(host, &runroot)
    };
    let home_wait = per_user && !sc.from_env && super::config::home_pending(found);
    let follows_home = per_user
        && sc.graphroot.is_none()
        && sc.rootless_storage_path.is_none()
        && paths.xdg_data_home.is_none();
    Store {
        fs,
        fuse_dev: found.fuse.open_result(),
        sc,
        per_user,
        data_home,
        graphroot,
        runroot,
        near,
        overlay,
        facts,
        choice,
        source,
        graphroot_ok,
        runroot_ok,
        home_wait,
        follows_home,
    }
}

/// A file system overlay's `Init` refuses without a mount program
/// (drivers/overlay: aufs, overlayfs, ecryptfs, and zfs in storage 1.43;
/// for a rootless user also a network file system).
fn overlay_refuses(magic: u64, podman5: bool, rootless: bool) -> bool {
    const AUFS: u64 = 0x6175_6673;
    const ECRYPTFS: u64 = 0xf15f;
    const ZFS: u64 = 0x2fc1_2fc1;
    let network = matches!(magic, NFS_MAGIC | SMB2_MAGIC | CIFS_MAGIC | SMB_MAGIC);
    matches!(magic, AUFS | OVERLAYFS_MAGIC | ECRYPTFS)
        || (magic == ZFS && !podman5)
        || (network && rootless)
}

/// Drivers containers/storage registers on Linux (`drivers/register`).
const KNOWN_DRIVERS: [&str; 5] = ["overlay", "vfs", "btrfs", "zfs", "aufs"];

/// Why the store the driver was picked for cannot be opened: several
/// prior stores, an unknown driver name, or no directory where the
/// driver keeps its store (podman: `mkdir …: not a directory`).
fn prior_problem(host: &Host, st: &Store) -> Option<String> {
    let (c, root) = (&st.choice, st.graphroot.trim_end_matches('/'));
    if !c.conflict.is_empty() {
        return Some(format!(
            "{root} holds stores of several drivers ({}): podman refuses to pick one (`{root} \
             contains several valid graphdrivers`)",
            c.conflict.join(", ")
        ));
    }
    if let Some(e) = c.prior.as_ref() {
        if !KNOWN_DRIVERS.contains(&c.driver.as_str()) {
            return Some(format!(
                "{root}/{} names driver `{}`, which podman does not have (`failed to GetDriver \
                 graph {}`)",
                e.name, c.driver, c.driver
            ));
        }
    }
    let (path, what) = blocking_entry(host, root, &c.driver)?;
    Some(format!(
        "{path} is {what}, not a directory: podman keeps its {} store there and cannot open it",
        c.driver
    ))
}

/// The first entry a `driver` store keeps under `root` that is there but
/// no directory, and what it is.
fn blocking_entry(host: &Host, root: &str, driver: &str) -> Option<(String, String)> {
    let root = root.trim_end_matches('/');
    ["", "-images", "-layers", "-containers"]
        .iter()
        .map(|suffix| format!("{root}/{driver}{suffix}"))
        .find_map(|p| {
            let what = match (host.lstat(&p), host.stat(&p)) {
                (Err(e), _) if e.raw_os_error() == Some(nix::libc::ENOENT) => return None,
                (Err(e), _) => format!("something lstat cannot reach ({})", io_error_name(&e)),
                (Ok(_), Ok(s)) if s.kind == FileKind::Dir => return None,
                (Ok(l), Ok(s)) if l.kind == FileKind::Symlink => {
                    format!("a symlink to a {}", s.kind.as_str())
                }
                (Ok(_), Ok(s)) => format!("a {}", s.kind.as_str()),
                (Ok(_), Err(e)) => format!("a symlink leading nowhere ({})", io_error_name(&e)),
            };
            Some((p, what))
        })
}

/// Whether the chosen store works: `None` when that cannot be told.
fn judge_driver(host: &Host, st: &Store) -> (Option<bool>, String) {
    if let Some(why) = prior_problem(host, st) {
        return (Some(false), why);
    }
    let fuse_bin = st.facts.fuse_overlayfs.as_ref();
    match (st.choice.driver.as_str(), &st.choice.mount_program) {
        ("vfs", _) => (Some(true), "vfs works everywhere (slowly)".into()),
        ("overlay", Some(mp)) => {
            if !host.exists(mp) && fuse_bin != Some(mp) {
                (Some(false), format!("mount_program {mp} is not installed"))
            } else if let Err(e) = &st.fuse_dev {
                (
                    Some(false),
                    format!("overlay through {mp} needs /dev/fuse, which cannot be opened ({e})"),
                )
            } else {
                (Some(true), format!("overlay through {mp}"))
            }
        }
        ("overlay", None) => match st.facts.native_overlay {
            Some(true) => (Some(true), "native overlay works here (probed)".into()),
            Some(false) => (
                Some(false),
                format!(
                    "native overlay fails on {} ({}) and fuse-overlayfs is not installed",
                    st.near,
                    st.overlay.describe()
                ),
            ),
            None => (
                None,
                format!("native overlay probe did not run ({})", st.overlay.detail),
            ),
        },
        (other, _) => (
            None,
            format!("driver {other} is not judged by podrun-doctor"),
        ),
    }
}

/// The storage.driver check as found, before any fix.
fn driver_status(st: &Store, works: Option<bool>, why: String) -> Check {
    let (driver, source) = (&st.choice.driver, &st.source);
    match works {
        Some(true) if driver == "vfs" => Check::warn(
            "storage.driver",
            format!("vfs storage ({source}): every layer is a full copy, slow and large"),
        ),
        Some(true) => Check::ok("storage.driver", format!("{why} ({source})")),
        Some(false) => Check::error(
            "storage.driver",
            format!("{driver} storage will fail: {why}"),
        ),
        None => Check::warn("storage.driver", why).with("probe_ran", st.overlay.ran),
    }
}

/// The storage.driver check of a vfs fallback that only the first podman
/// command gets (`decide::leaves_overlay_behind`).
fn first_command_only(st: &Store) -> Check {
    let root = st.graphroot.trim_end_matches('/');
    let fs = st
        .fs
        .as_ref()
        .map_or("the file system", |s| fs_name(s.magic));
    Check::warn(
        "storage.driver",
        format!(
            "vfs storage ({}) for the first podman command only: trying overlay first, it leaves \
             {root}/overlay behind ({fs} refuses overlay without a mount program), and every \
             later podman command fails on it (`prior storage driver overlay failed`)",
            st.source
        ),
    )
    .with("leaves_behind", format!("{root}/overlay"))
}

/// The fastest driver that really works here (and its mount program).
fn fastest(st: &Store) -> (&'static str, Option<String>) {
    if st.facts.native_overlay == Some(true) {
        ("overlay", None)
    } else if st.fuse_usable() {
        ("overlay", st.facts.fuse_overlayfs.clone())
    } else {
        ("vfs", None)
    }
}

/// The storage.driver check; returns whether the store works and the fix
/// that moves or switches it, which the graphroot check shares.
fn driver_check(host: &Host, found: &mut Obs, st: &Store) -> (Option<bool>, Option<Fix>) {
    let (works, why) = judge_driver(host, st);
    let leaves_behind = crate::decide::leaves_overlay_behind(&st.facts, &st.choice);
    let mut check = match works {
        Some(true) if leaves_behind => first_command_only(st),
        _ => driver_status(st, works, why),
    };
    let best = fastest(st);
    let needs_fix = works == Some(false)
        || (st.choice.driver == "vfs" && best.0 != "vfs")
        || leaves_behind
        || (st.graphroot_ok.is_err() && !(st.home_wait && st.follows_home))
        || st.runroot_ok.is_err();
    if needs_fix {
        let new = new_store(host, found, st, best);
        check = store_fix(host, found, st, check, &new);
        if works == Some(false) && new.driver == "vfs" {
            check = faster_hint(check, Executor::of(&found.context));
        }
    }
    let relocation = check.fix.clone().filter(|_| needs_fix);
    found.checks.push(driver_evidence(check, st));
    (works, relocation)
}

fn driver_evidence(check: Check, st: &Store) -> Check {
    check
        .with("driver", st.choice.driver.clone())
        .with("source", st.source.clone())
        .with("graphroot", st.graphroot.clone())
        .with("runroot", st.runroot.clone())
        .with("mount_program", json!(st.choice.mount_program))
        .with("decided_by", json!(decided_by(st)))
        .with("prior_entries", prior_evidence(&st.facts.prior))
        .with("native_overlay_probe", st.overlay.describe())
        .with(
            "fuse_device",
            match &st.fuse_dev {
                Ok(()) => "ok".to_string(),
                Err(e) => e.clone(),
            },
        )
        .with("fuse_overlayfs", json!(st.facts.fuse_overlayfs))
        .with(
            "backing_fs",
            json!(st.fs.as_ref().map(|s| fs_name(s.magic))),
        )
}

/// What made the choice, as a path: libpod's database, else the graphroot
/// entry the automatic choice was made from.
fn decided_by(st: &Store) -> Option<String> {
    let root = st.graphroot.trim_end_matches('/');
    let prior = st.choice.prior.as_ref();
    (st.choice.from_database.clone()).or_else(|| prior.map(|e| format!("{root}/{}", e.name)))
}

/// Each prior-store entry and what it is: `vfs-images: dir`.
fn prior_evidence(prior: &[PriorEntry]) -> serde_json::Value {
    let kind = |e: &PriorEntry| match &e.kind {
        EntryKind::Dir => "dir".to_string(),
        EntryKind::Other(k) => k.clone(),
        EntryKind::Unreadable(errno) => format!("unreadable ({errno})"),
    };
    prior
        .iter()
        .map(|e| {
            let link = if e.symlink { "symlink to " } else { "" };
            format!("{}: {link}{}", e.name, kind(e))
        })
        .collect()
}

/// Where and how the store goes when the fix moves or switches it.
struct NewStore {
    root: String,
    /// The runroot to write; `None`: a rootless runroot follows the
    /// runtime directory, which the runtime_dir check may move this round.
    runroot: Option<String>,
    driver: &'static str,
    mount_program: Option<String>,
}

impl NewStore {
    fn what(&self) -> String {
        match &self.mount_program {
            Some(mp) => format!("overlay through {mp}"),
            None if self.driver == "overlay" => "native overlay".to_string(),
            None => "vfs".to_string(),
        }
    }
}

/// The store the fix sets up: the graphroot kept unless it is unusable,
/// never one holding another driver's store.
fn new_store(
    host: &Host,
    found: &Obs,
    st: &Store,
    best: (&'static str, Option<String>),
) -> NewStore {
    let own = found.identity.paths.job_dir.clone();
    let mut root = if st.graphroot_ok.is_ok() {
        st.graphroot.clone()
    } else {
        let mine = format!("{}/containers/storage", st.data_home);
        st.per_user
            .then_some(mine)
            .into_iter()
            .chain(own.as_ref().map(|d| format!("{d}/storage")))
            .find(|p| dir_ok(host, p).is_ok() && room_ok(host, p).is_ok())
            .unwrap_or_else(|| st.graphroot.clone())
    };
    // The driver that works is judged where the store will live.
    let native_there = root != st.graphroot && {
        let there = host.nearest_existing(&root);
        let p = host.probe(&Probe::Overlay {
            dir: there,
            userns: found.plan.rootless,
        });
        p.ran && p.ok
    };
    let (driver, mount_program) = if native_there {
        ("overlay", None)
    } else {
        best
    };
    if existing_driver(host, &root).is_some_and(|e| e != driver)
        || blocking_entry(host, &root, driver).is_some()
    {
        root = format!("{}-{driver}", root.trim_end_matches('/'));
    }
    let runroot = match &st.runroot_ok {
        Ok(()) => st.runroot.clone(),
        Err(_) => own
            .map(|d| format!("{d}/runroot"))
            .filter(|p| dir_ok(host, p).is_ok())
            .unwrap_or_else(|| st.runroot.clone()),
    };
    NewStore {
        root,
        runroot: (!st.per_user || st.sc.runroot.is_some()).then_some(runroot),
        driver,
        mount_program,
    }
}

/// The fix that sets up `new`: a storage.conf of this tool's own where one
/// can be written, else the image's or the runner's.
fn store_fix(host: &Host, found: &Obs, st: &Store, check: Check, new: &NewStore) -> Check {
    let what = new.what();
    // Moving the store only helps where it finds room.
    if let Err(why) = room_ok(host, &new.root) {
        let text = STORE_ROOM.text_with(Executor::of(&found.context), &[("why", &why)]);
        return check.fix(By::RunnerAdmin, text);
    }
    if st.home_wait {
        return check.job_fix(
            format!("Use {what}: a storage.conf in the relocated HOME, written once HOME is moved"),
            Vec::new(),
        );
    }
    // The renderer refuses only keys with dots in a segment or raw values;
    // these are fixed keys and quoted strings.
    let body = crate::remedy::storage::storage_conf(
        new.driver,
        &new.root,
        new.runroot.as_deref(),
        new.mount_program.as_deref(),
    )
    .unwrap_or_default();
    match storage_conf_target(host, &found.identity.paths, &st.sc) {
        Some((path, env)) => {
            let text = format!("Use {what} with graphroot {} (writes {path})", new.root);
            check.job_fix(text, conf_actions(&path, env, &body, &st.sc))
        }
        None => check.fix(
            By::Image,
            format!("Use {what}: write this storage.conf in the image (no writable place here):\n{body}"),
        ),
    }
}

/// Writing a storage.conf of this tool's own at `path`.
fn conf_actions(path: &str, env: bool, body: &str, sc: &StorageConf) -> Vec<Action> {
    let mut actions = vec![Action::WriteFile {
        path: path.to_string(),
        contents: format!("{OWNED_MARKER}\n{body}"),
        mode: 0o644,
    }];
    if env {
        actions.push(Action::SetEnv {
            key: "CONTAINERS_STORAGE_CONF".into(),
            value: path.to_string(),
        });
    }
    // STORAGE_OPTS replaces the file's options, and vfs refuses overlay ones
    // (`vfs driver does not support overlay.mount_program options`, row
    // storage-opts-fuse).
    if sc.storage_opts_env {
        actions.push(Action::UnsetEnv {
            key: "STORAGE_OPTS".into(),
        });
    }
    actions
}

/// A job's switch to vfs also names the admin's route to something faster.
fn faster_hint(mut check: Check, executor: Executor) -> Check {
    if let Some(f) = check.fix.as_mut().filter(|f| f.by == By::Job) {
        f.text = format!("{}.\n{}", f.text, FASTER_STORE.text(executor));
    }
    check
}

/// The storage.graphroot check (and the rootful runroot's): ownership,
/// filesystem, room. The driver check's relocation is its fix too.
fn graphroot_check(found: &mut Obs, st: &Store, relocation: Option<Fix>) {
    let executor = Executor::of(&found.context);
    let graphroot = &st.graphroot;
    let mut gr = match (&st.graphroot_ok, &st.runroot_ok) {
        (Err(p), _) => Check::error("storage.graphroot", format!("graphroot unusable: {p}")),
        (Ok(()), Err(p)) if !st.per_user => Check::error(
            "storage.graphroot",
            format!("graphroot {graphroot} is usable, but the runroot is not: {p}"),
        ),
        _ => Check::ok(
            "storage.graphroot",
            format!("graphroot {graphroot} is usable"),
        ),
    };
    if gr.status == Status::Error && st.home_wait && st.follows_home && relocation.is_none() {
        gr = gr.job_fix(
            "The store follows HOME, which podrun-doctor moves to a private writable directory \
             (home.set / home.writable)",
            Vec::new(),
        );
    } else if gr.status == Status::Error {
        gr = match relocation {
            Some(fix) => Check {
                fix: Some(fix),
                ..gr
            },
            None => gr.fix(By::RunnerAdmin, STORE_PLACE.text(executor)),
        };
    }
    if let Some(s) = &st.fs {
        gr = fs_warning(gr, s, graphroot, executor)
            .with("fs", fs_name(s.magic))
            .with("free_bytes", s.free_bytes)
            .with("free_inodes", json!(s.free_inodes))
            .with("noexec", s.noexec)
            .with("readonly", s.readonly);
    }
    found.checks.push(
        gr.with("graphroot", graphroot.clone())
            .with("runroot", st.runroot.clone())
            .with("nearest_existing", st.near.clone()),
    );
}

/// A graphroot that is usable but sits where builds suffer: a network
/// filesystem, noexec, few inodes, little room. Only a check below `Warn`
/// is replaced.
fn fs_warning(gr: Check, s: &FsStat, graphroot: &str, executor: Executor) -> Check {
    if gr.status >= Status::Warn {
        return gr;
    }
    let name = fs_name(s.magic);
    let warn = |text: String| Check::warn("storage.graphroot", text);
    if matches!(s.magic, NFS_MAGIC | SMB2_MAGIC | CIFS_MAGIC | SMB_MAGIC) {
        warn(format!(
            "graphroot {graphroot} is on {name}: network filesystems break with user namespaces"
        ))
        .fix(By::RunnerAdmin, STORE_LOCAL.text(executor))
    } else if s.noexec {
        warn(format!(
            "graphroot {graphroot} is on a noexec mount: RUN steps cannot execute"
        ))
    } else if let Some(inodes) = s.free_inodes.filter(|i| *i < LOW_INODES) {
        warn(format!(
            "only {inodes} inodes free under {graphroot}: an image of many files may not fit"
        ))
        .fix(By::RunnerAdmin, STORE_INODES.text(executor))
    } else if s.free_bytes < LOW_SPACE {
        warn(format!(
            "only {} MiB free under {graphroot}",
            s.free_bytes >> 20
        ))
        .fix(By::RunnerAdmin, STORE_SPACE.text(executor))
    } else {
        gr
    }
}

/// The storage.existing check: what the graphroot holds, and whose driver
/// podman will use. libpod's database overrides the configured driver
/// (`decide::storage`); a database whose driver cannot be read leaves the
/// choice unsure. Returns the driver of the store found under graphroot.
fn existing_check(host: &Host, found: &mut Obs, st: &Store) -> Option<String> {
    let (graphroot, driver) = (&st.graphroot, &st.choice.driver);
    let existing = existing_driver(host, graphroot);
    let root = graphroot.trim_end_matches('/');
    let db = database_files(graphroot)
        .into_iter()
        .find(|p| host.exists(p));
    let other_store =
        |e: &String| e != driver && host.read_dir(&format!("{root}/{driver}-layers")).is_err();
    let ex = match (&st.facts.database, &existing, &db) {
        (Some((path, d)), _, _) => database_check(st, path, d),
        (None, Some(e), Some(d)) if other_store(e) => Check::warn(
            "storage.existing",
            format!(
                "{graphroot} holds a {e} store and libpod's database {d}, whose graph driver \
                 podrun-doctor cannot read: podman uses the database's driver (most likely {e}), \
                 not {driver}"
            ),
        )
        .fix(
            By::Image,
            format!(
                "Keep the driver consistent across jobs, or clear the store: `podman system reset -f` \
                 (deletes its images), or use STORAGE_DRIVER={e}."
            ),
        ),
        (_, Some(e), _) => Check::info(
            "storage.existing",
            format!("existing {e} store under {graphroot}"),
        ),
        (_, None, _) => Check::ok("storage.existing", "no existing store"),
    };
    found.checks.push(
        ex.with("existing_driver", json!(existing))
            .with("database", json!(db))
            .with(
                "database_driver",
                json!(st.facts.database.as_ref().map(|d| &d.1)),
            ),
    );
    existing
}

/// The database's driver is podman's; a configured other one is ignored
/// (podman logs `User-selected graph driver … overwritten`).
fn database_check(st: &Store, path: &str, d: &str) -> Check {
    match &st.facts.configured_driver {
        Some(c) if c != d => Check::warn(
            "storage.existing",
            format!(
                "{} sets driver {c}, but libpod's database {path} records {d}: podman uses {d} \
                 (`User-selected graph driver \"{c}\" overwritten by graph driver \"{d}\" from \
                 database`)",
                if st.sc.driver_from_env { "STORAGE_DRIVER" } else { "storage.conf" }
            ),
        )
        .fix(
            By::Image,
            format!(
                "To use {c}, clear the store (`podman system reset -f`, deletes its images) or point \
                 graphroot at a fresh directory."
            ),
        ),
        _ => Check::info(
            "storage.existing",
            format!("libpod's database {path} records driver {d}: podman uses it"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::ProbeResult;
    use crate::model::Status;
    use crate::probes::testutil::Fixture;
    use crate::probes::tools::Version;

    /// `/dev/fuse` as the fuse area stats it: the character device 10:229.
    fn fuse_char() -> serde_json::Value {
        json!({"kind": "char", "mode": "0666", "major": 10, "minor": 229})
    }

    fn run(host: &Host, podman: Version, fuse: bool) -> Findings {
        let mut found = Findings::default();
        found.tools.podman_version = Some(podman);
        found.tools.crun = Some("/usr/bin/crun".into());
        if fuse {
            found.tools.fuse_overlayfs = Some("/usr/bin/fuse-overlayfs".into());
        }
        found.absorb(crate::probes::caps::probe(host, &found));
        found.absorb(crate::probes::identity::probe(host, &found));
        found.absorb(crate::probes::config::probe(host, &found));
        found.absorb(crate::probes::fuse::probe(host, &found));
        found.absorb(probe(host, &found));
        found
    }

    fn rootless() -> Fixture {
        Fixture::new()
            .uid(1000)
            .gid(1000)
            .env("HOME", "/home/podman")
            .env("XDG_RUNTIME_DIR", "/run/user/1000")
            .dir("/home/podman")
            .stat("/home/podman", "dir", 0o755, 1000, 1000)
            .stat("/run/user/1000", "dir", 0o700, 1000, 1000)
            .dir("/var/tmp")
            .file("/proc/sys/kernel/osrelease", "6.1.0-28-amd64\n")
            .statfs("/home/podman", OVERLAYFS_MAGIC, 50 << 30)
    }

    fn overlay_probe(dir: &str, ok: bool) -> (Probe, ProbeResult) {
        (
            Probe::Overlay {
                dir: dir.into(),
                userns: true,
            },
            if ok {
                ProbeResult::success("")
            } else {
                ProbeResult::failure("mount", Some("EINVAL".into()), "")
            },
        )
    }

    #[test]
    fn podman5_rootless_on_overlay_with_unusable_fuse_fails_and_switches_to_vfs() {
        // Observed: deb13 --privileged --user 1000, /dev/fuse 0600 root.
        let (p, r) = overlay_probe("/home/podman", false);
        let host = rootless()
            .probe(&p, r)
            .answer("stat", "/dev/fuse", fuse_char())
            .open("/dev/fuse", "EACCES")
            .host();
        let found = run(&host, Version::new(5, 4, 2), true);
        let c = found.check("storage.driver").unwrap();
        assert_eq!(c.status, Status::Error, "{}", c.summary);
        assert!(c.summary.contains("/dev/fuse"));
        let fix = c.fix.as_ref().unwrap();
        assert_eq!(fix.by, By::Job);
        let Action::WriteFile { path, contents, .. } = &fix.actions[0] else {
            panic!()
        };
        assert_eq!(path, "/home/podman/.config/containers/storage.conf");
        assert!(contents.contains("driver = \"vfs\""));
        assert!(crate::formats::toml::parse(contents).is_ok());
        assert_eq!(
            found.plan.mount_program.as_deref(),
            Some("/usr/bin/fuse-overlayfs")
        );
    }

    #[test]
    fn podman4_rootless_picks_vfs_by_itself() {
        // Observed: deb12 --privileged --user 1000 → driver vfs.
        let (p, r) = overlay_probe("/home/podman", false);
        let host = rootless()
            .probe(&p, r)
            .answer("stat", "/dev/fuse", fuse_char())
            .open("/dev/fuse", "EACCES")
            .host();
        let found = run(&host, Version::new(4, 3, 1), true);
        let c = found.check("storage.driver").unwrap();
        assert_eq!(c.status, Status::Warn);
        assert_eq!(found.plan.storage_driver, "vfs");
        assert!(c.fix.is_none());
    }

    #[test]
    fn fuse_usable_upgrades_vfs_to_fuse_overlayfs() {
        let fuse_but_no_native_overlay = || {
            let (p, r) = overlay_probe("/home/podman", false);
            rootless()
                .probe(&p, r)
                .answer("stat", "/dev/fuse", fuse_char())
                .answer("stat", "/dev/fuse", fuse_char())
                .open("/dev/fuse", "ok")
                .file("/usr/bin/fuse-overlayfs", "")
                .host()
        };
        let host = fuse_but_no_native_overlay();
        let found = run(&host, Version::new(4, 3, 1), true);
        let c = found.check("storage.driver").unwrap();
        assert_eq!(c.status, Status::Warn);
        let Action::WriteFile { contents, .. } = &c.fix.as_ref().unwrap().actions[0] else {
            panic!()
        };
        assert!(contents.contains("mount_program = \"/usr/bin/fuse-overlayfs\""));
        // With podman 5 overlay+fuse is picked automatically and works.
        let host = fuse_but_no_native_overlay();
        let found = run(&host, Version::new(5, 4, 2), true);
        assert_eq!(found.check("storage.driver").unwrap().status, Status::Ok);
    }

    #[test]
    fn configured_mount_program_without_fuse_is_s2() {
        let (_, r) = overlay_probe("/var/lib/containers/storage", true);
        let p = Probe::Overlay {
            dir: "/var/lib/containers/storage".into(),
            userns: false,
        };
        let host = Fixture::new()
            .env("HOME", "/root")
            .file("/proc/self/status", "CapEff:\t000001ffffffffff\n")
            .file(
                crate::probes::config::ETC_STORAGE,
                "[storage]\ndriver = \"overlay\"\n[storage.options.overlay]\nmount_program = \"/usr/bin/fuse-overlayfs\"\n",
            )
            .file("/usr/bin/fuse-overlayfs", "")
            .dir("/var/lib/containers/storage")
            .dir("/var/tmp")
            .probe(&p, r)
            .open("/dev/fuse", "ENOENT")
            .host();
        let found = run(&host, Version::new(4, 3, 1), true);
        let c = found.check("storage.driver").unwrap();
        assert_eq!(c.status, Status::Error);
        assert!(c.summary.contains("ENOENT"));
        let fix = c.fix.as_ref().unwrap();
        let Action::WriteFile { path, contents, .. } = &fix.actions[0] else {
            panic!()
        };
        // The image's own /etc/containers/storage.conf is not ours: env + own file.
        assert_ne!(path, crate::probes::config::ETC_STORAGE);
        assert!(fix
            .actions
            .iter()
            .any(|a| matches!(a, Action::SetEnv { key, .. } if key == "CONTAINERS_STORAGE_CONF")));
        assert!(contents.contains("driver = \"overlay\"") && !contents.contains("mount_program"));
    }

    #[test]
    fn storage_opts_naming_a_missing_mount_program_is_unset_by_the_fix() {
        // Row deb13nr-rootless-priv-storage-opts-fuse: with storage.conf
        // saying vfs but STORAGE_OPTS kept, podman fails with `vfs driver
        // does not support overlay.mount_program options`.
        let (_, r) = overlay_probe("/var/lib/containers/storage", false);
        let p = Probe::Overlay {
            dir: "/var/lib/containers/storage".into(),
            userns: false,
        };
        let host = Fixture::new()
            .env("HOME", "/root")
            .env(
                "STORAGE_OPTS",
                "overlay.mount_program=/usr/bin/fuse-overlayfs",
            )
            .file("/proc/self/status", "CapEff:\t000001ffffffffff\n")
            .dir("/var/lib/containers/storage")
            .dir("/var/tmp")
            .probe(&p, r)
            .host();
        let found = run(&host, Version::new(5, 4, 2), true);
        let c = found.check("storage.driver").unwrap();
        assert_eq!(c.status, Status::Error, "{}", c.summary);
        let fix = c.fix.as_ref().unwrap();
        assert!(
            fix.actions
                .iter()
                .any(|a| matches!(a, Action::UnsetEnv { key } if key == "STORAGE_OPTS")),
            "{:?}",
            fix.actions
        );
    }

    #[test]
    fn native_overlay_not_probed_is_unsure() {
        let host = rootless().host();
        let found = run(&host, Version::new(4, 3, 1), false);
        let c = found.check("storage.driver").unwrap();
        // podman 4 rootless without a native answer: vfs (works), never an Ok overlay.
        assert_ne!(found.plan.storage_driver, "overlay");
        assert!(c.status >= Status::Warn);
    }

    #[test]
    fn runtime_dir_of_another_user_is_fixed() {
        let (p, r) = overlay_probe("/home/podman", true);
        let host = rootless()
            .env("XDG_RUNTIME_DIR", "/run/user/0")
            .stat("/run/user/0", "dir", 0o700, 0, 0)
            .dir("/tmp")
            .probe(&p, r)
            .host();
        let found = run(&host, Version::new(5, 4, 2), false);
        let c = found.check("storage.runtime_dir").unwrap();
        assert_eq!(c.status, Status::Error);
        let fix = c.fix.as_ref().unwrap();
        assert!(fix.actions.contains(&Action::CreateDir {
            path: "/tmp/podrun-run-1000".into(),
            mode: 0o700
        }));
        assert!(fix.actions.contains(&Action::SetEnv {
            key: "XDG_RUNTIME_DIR".into(),
            value: "/tmp/podrun-run-1000".into()
        }));
        assert_eq!(found.check("storage.driver").unwrap().status, Status::Ok);
    }

    #[test]
    fn root_owned_graphroot_for_rootless_and_existing_store() {
        let (p, r) = overlay_probe("/home/podman/.local/share/containers/storage", true);
        let host = rootless()
            .dir("/home/podman/.local/share/containers/storage/vfs-layers")
            .dir("/home/podman/.local/share/containers/storage/libpod")
            .file(
                "/home/podman/.local/share/containers/storage/libpod/bolt_state.db",
                "",
            )
            .stat(
                "/home/podman/.local/share/containers/storage",
                "dir",
                0o700,
                1000,
                1000,
            )
            .probe(&p, r)
            .host();
        let found = run(&host, Version::new(5, 4, 2), false);
        // Existing vfs store and a database whose driver cannot be read:
        // podman takes the database's driver, most likely vfs (unsure).
        let e = found.check("storage.existing").unwrap();
        assert_eq!(e.status, Status::Warn, "{}", e.summary);
        assert!(e
            .fix
            .as_ref()
            .unwrap()
            .text
            .contains("podman system reset -f"));

        let p = Probe::Overlay {
            dir: "/var/lib/containers/storage".into(),
            userns: true,
        };
        let host = rootless()
            .file(
                crate::probes::config::ETC_STORAGE,
                "[storage]\ndriver = \"vfs\"\n",
            )
            .file(
                "/home/podman/.config/containers/storage.conf",
                "[storage]\ndriver = \"vfs\"\ngraphroot = \"/var/lib/containers/storage\"\n",
            )
            .stat("/var/lib/containers/storage", "dir", 0o700, 0, 0)
            .probe(&p, ProbeResult::failure("mount", Some("EPERM".into()), ""))
            .dir("/home/podman/.local/share")
            .host();
        let found = run(&host, Version::new(5, 4, 2), false);
        let g = found.check("storage.graphroot").unwrap();
        assert_eq!(g.status, Status::Error);
        let d = found.check("storage.driver").unwrap();
        let fix = d.fix.as_ref().unwrap();
        // The user's own storage.conf is not ours: env + our own file.
        assert!(fix
            .actions
            .iter()
            .any(|a| matches!(a, Action::SetEnv { key, .. } if key == "CONTAINERS_STORAGE_CONF")));
        let Action::WriteFile { contents, .. } = &fix.actions[0] else {
            panic!()
        };
        assert!(
            contents.contains("graphroot = \"/home/podman/.local/share/containers/storage\""),
            "{contents}"
        );
    }

    /// Root with a read-only root filesystem and tmpfs on /tmp, /var/tmp and
    /// /run (podman run --read-only), as in deb12-root-priv-readonly:
    /// `creating runtime static files directory: mkdir /var/lib/containers:
    /// read-only file system`.
    fn readonly_root() -> Fixture {
        Fixture::new()
            .env("HOME", "/root")
            .file("/proc/self/status", "CapEff:\t000001ffffffffff\n")
            .dir("/root")
            .dir("/var/lib")
            .dir("/etc/containers")
            .dir("/tmp")
            .dir("/var/tmp")
            .dir("/run")
            .access("/var/lib", Access::Write, "EROFS")
            .access("/etc/containers", Access::Write, "EROFS")
            .access("/root", Access::Write, "EROFS")
            .statfs("/var/lib", OVERLAYFS_MAGIC, 50 << 30)
            .statfs("/tmp", 0x0102_1994, 20 << 30)
            .probe(
                &Probe::Overlay {
                    dir: "/var/lib".into(),
                    userns: false,
                },
                ProbeResult::failure("mkdir", Some("EROFS".into()), ""),
            )
            .probe(
                &Probe::Overlay {
                    dir: "/tmp".into(),
                    userns: false,
                },
                ProbeResult::success(""),
            )
            .answer("stat", "/dev/fuse", fuse_char())
            .open("/dev/fuse", "ok")
    }

    #[test]
    fn readonly_root_relocates_the_store_to_a_dir_of_the_jobs_own() {
        let host = readonly_root().host();
        let found = run(&host, Version::new(4, 3, 1), true);
        assert!(!found.plan.rootless);
        let g = found.check("storage.graphroot").unwrap();
        assert_eq!(g.status, Status::Error, "{}", g.summary);
        assert!(g.summary.contains("/var/lib is not writable (EROFS)"));
        let fix = g.fix.as_ref().unwrap();
        assert_eq!(fix.by, By::Job, "{}", fix.text);
        let Action::WriteFile { path, contents, .. } = &fix.actions[0] else {
            panic!("{:?}", fix.actions)
        };
        assert_eq!(path, "/tmp/podrun-0/storage.conf");
        assert_eq!(
            fix.actions[1],
            Action::SetEnv {
                key: "CONTAINERS_STORAGE_CONF".into(),
                value: "/tmp/podrun-0/storage.conf".into()
            }
        );
        let doc = crate::formats::toml::parse(contents).unwrap();
        assert_eq!(doc.str("storage.graphroot"), Some("/tmp/podrun-0/storage"));
        // Native overlay works on the tmpfs where the store will live.
        assert_eq!(doc.str("storage.driver"), Some("overlay"));
        assert_eq!(doc.str("storage.options.overlay.mount_program"), None);
        assert_eq!(doc.str("storage.runroot"), Some("/run/containers/storage"));

        // After the fix (the variable exported, the file written): usable.
        let host = readonly_root()
            .env("CONTAINERS_STORAGE_CONF", path)
            .file(path, contents)
            .statfs("/tmp/podrun-0", 0x0102_1994, 20 << 30)
            .probe(
                &Probe::Overlay {
                    dir: "/tmp/podrun-0".into(),
                    userns: false,
                },
                ProbeResult::success(""),
            )
            .host();
        let found = run(&host, Version::new(4, 3, 1), true);
        let g = found.check("storage.graphroot").unwrap();
        assert_eq!(g.status, Status::Ok, "{} {:?}", g.summary, g.evidence);
        let d = found.check("storage.driver").unwrap();
        assert_eq!(d.status, Status::Ok, "{} {:?}", d.summary, d.evidence);
        assert_eq!(found.storage.graphroot, "/tmp/podrun-0/storage");
    }

    #[test]
    fn readonly_run_moves_the_rootful_runroot_too() {
        let host = readonly_root()
            .access("/run", Access::Write, "EROFS")
            .host();
        let found = run(&host, Version::new(4, 3, 1), true);
        let fix = found
            .check("storage.graphroot")
            .unwrap()
            .fix
            .clone()
            .unwrap();
        let Action::WriteFile { contents, .. } = &fix.actions[0] else {
            panic!()
        };
        assert!(
            contents.contains("runroot = \"/tmp/podrun-0/runroot\""),
            "{contents}"
        );
    }

    #[test]
    fn nowhere_to_relocate_names_the_runner_fix() {
        let host = readonly_root()
            .access("/tmp", Access::Write, "EROFS")
            .host();
        let found = run(&host, Version::new(4, 3, 1), true);
        let g = found.check("storage.graphroot").unwrap();
        assert_eq!(g.status, Status::Error);
        let fix = g.fix.as_ref().unwrap();
        assert_ne!(fix.by, By::Job);
        assert!(
            fix.text.contains("storage.conf") || fix.text.contains("emptyDir"),
            "{}",
            fix.text
        );
    }

    #[test]
    fn switching_driver_never_reuses_a_store_of_another_driver() {
        // Rootful, native overlay fails, no fuse: the fix is vfs. The
        // graphroot holds an overlay store: the new store goes beside it.
        let root = "/var/lib/containers/storage";
        let host = Fixture::new()
            .env("HOME", "/root")
            .file("/proc/self/status", "CapEff:\t000001ffffffffff\n")
            .file(
                crate::probes::config::ETC_STORAGE,
                "[storage]\ndriver = \"overlay\"\n",
            )
            .dir(&format!("{root}/overlay-layers"))
            .dir("/var/tmp")
            .probe(
                &Probe::Overlay {
                    dir: root.into(),
                    userns: false,
                },
                ProbeResult::failure("mount", Some("EINVAL".into()), ""),
            )
            .open("/dev/fuse", "ENOENT")
            .host();
        let found = run(&host, Version::new(4, 3, 1), false);
        let c = found.check("storage.driver").unwrap();
        assert_eq!(c.status, Status::Error, "{}", c.summary);
        let fix = c.fix.as_ref().unwrap();
        let Action::WriteFile { contents, .. } = &fix.actions[0] else {
            panic!()
        };
        assert!(contents.contains("driver = \"vfs\""));
        assert!(
            contents.contains(&format!("graphroot = \"{root}-vfs\"")),
            "{contents}"
        );
    }

    #[test]
    fn readonly_tmpdir_gets_a_writable_one() {
        let (p, r) = overlay_probe("/home/podman", true);
        let host = rootless()
            .access("/var/tmp", Access::Write, "EROFS")
            .probe(&p, r)
            .host();
        let found = run(&host, Version::new(5, 4, 2), false);
        let c = found.check("storage.tmpdir").unwrap();
        assert_eq!(c.status, Status::Error);
        assert!(c.job_can_fix());
    }

    /// A statfs answer with inodes, as capture records it.
    fn statfs_inodes(f: Fixture, path: &str, magic: u64, bytes: u64, inodes: u64) -> Fixture {
        f.answer(
            "statfs",
            path,
            json!({"magic": format!("0x{magic:x}"), "free_bytes": bytes, "free_inodes": inodes}),
        )
    }

    fn room_fixture(bytes: u64, inodes: u64) -> Fixture {
        let f = rootless()
            .dir("/home/podman/.local/share/containers")
            .stat("/home/podman/.local/share/containers", "dir", 0o1777, 0, 0)
            .dir("/tmp")
            .stat("/tmp", "dir", 0o1777, 0, 0)
            .statfs("/tmp", OVERLAYFS_MAGIC, 50 << 30)
            .statfs("/var/tmp", OVERLAYFS_MAGIC, 50 << 30);
        statfs_inodes(
            f,
            "/home/podman/.local/share/containers",
            TMPFS_MAGIC,
            bytes,
            inodes,
        )
    }

    fn store_fix_root(c: &Check) -> Option<String> {
        c.fix.as_ref()?.actions.iter().find_map(|a| match a {
            Action::WriteFile { contents, .. } => crate::formats::toml::parse(contents)
                .ok()?
                .str("storage.graphroot")
                .map(str::to_string),
            _ => None,
        })
    }

    #[test]
    fn little_room_names_only_the_jobs_executor() {
        // 1 GiB free: a build fits, a large one may not (a warning whose
        // remedy is the runner's, shown for the executor the job runs under).
        let host = room_fixture(1 << 30, 100_000).host();
        let mut found = run(&host, Version::new(5, 4, 2), false);
        found.context.engine = Some("docker".into());
        let again = probe(&host, &found);
        let c = again
            .checks
            .iter()
            .find(|c| c.id == "storage.graphroot")
            .unwrap();
        assert_eq!(c.status, Status::Warn, "{c:?}");
        let fix = c.fix.as_ref().unwrap();
        assert_eq!(fix.by, By::RunnerAdmin);
        assert!(fix.text.contains("[runners.docker]"), "{}", fix.text);
        assert!(!fix.text.contains("ephemeral_storage"), "{}", fix.text);
        assert!(
            fix.text.contains("explain storage.graphroot"),
            "{}",
            fix.text
        );
    }

    #[test]
    fn graphroot_without_room_moves_to_the_job_dir() {
        for (bytes, inodes, what) in [(1 << 20, 100_000, "KiB free"), (256 << 20, 64, "inodes")] {
            let host = room_fixture(bytes, inodes).host();
            let found = run(&host, Version::new(5, 4, 2), false);
            let c = found.check("storage.graphroot").unwrap();
            assert_eq!(c.status, Status::Error, "{c:?}");
            assert!(c.summary.contains(what), "{}", c.summary);
            assert!(c.job_can_fix(), "{c:?}");
            let root = store_fix_root(c).unwrap();
            assert!(root.starts_with("/tmp/"), "{root}");
        }
    }

    #[test]
    fn graphroot_room_counts_a_tmpfs_against_the_memory_limit() {
        let host = room_fixture(8 << 30, 1 << 20)
            .file(CG2_MAX, "33554432\n")
            .file(CG2_CURRENT, "1048576\n")
            .host();
        let found = run(&host, Version::new(5, 4, 2), false);
        let c = found.check("storage.graphroot").unwrap();
        assert_eq!(c.status, Status::Error, "{c:?}");
        // The same tmpfs with room in memory too: fine; few inodes only warn.
        let host = room_fixture(8 << 30, 5000).host();
        let found = run(&host, Version::new(5, 4, 2), false);
        let c = found.check("storage.graphroot").unwrap();
        assert_eq!(c.status, Status::Warn, "{c:?}");
    }

    #[test]
    fn tmpdir_without_room_moves_to_var_tmp() {
        let (p, r) = overlay_probe("/home/podman", true);
        let f = rootless()
            .env("TMPDIR", "/smalltmp")
            .dir("/smalltmp")
            .stat("/smalltmp", "dir", 0o1777, 0, 0)
            .statfs("/var/tmp", OVERLAYFS_MAGIC, 50 << 30)
            .probe(&p, r);
        let host = statfs_inodes(f, "/smalltmp", TMPFS_MAGIC, 1 << 20, 1000).host();
        let found = run(&host, Version::new(5, 4, 2), false);
        let c = found.check("storage.tmpdir").unwrap();
        assert_eq!(c.status, Status::Error, "{c:?}");
        assert_eq!(
            c.fix.as_ref().unwrap().actions,
            vec![Action::SetEnv {
                key: "TMPDIR".into(),
                value: "/var/tmp".into()
            }]
        );
    }

    /// How a graphroot entry is planted in a fixture.
    #[derive(Clone, Copy)]
    enum Plant {
        Dir,
        Fifo,
        /// A symlink to a directory beside it.
        Link,
        /// stat and lstat fail with EACCES.
        Hidden,
    }

    /// `fx` with `entries` planted in `root`, listed as a capture lists them.
    fn plant(mut fx: Fixture, root: &str, entries: &[(&str, Plant)]) -> Fixture {
        let mut names: Vec<&str> = entries.iter().map(|e| e.0).collect();
        names.sort_unstable();
        fx = fx.dir(root).answer("dirs", root, json!(names));
        for (name, how) in entries {
            let path = format!("{root}/{name}");
            fx = match how {
                Plant::Dir => fx.dir(&path),
                Plant::Fifo => fx.stat(&path, "fifo", 0o644, 1000, 1000),
                Plant::Link => fx
                    .dir(&format!("{root}/{name}.d"))
                    .symlink(&path, &format!("{name}.d")),
                Plant::Hidden => {
                    fx.stat_err(&path, "EACCES")
                        .answer("lstat", &path, json!("EACCES"))
                }
            };
        }
        fx
    }

    const USER_STORE: &str = "/home/podman/.local/share/containers/storage";
    const ROOT_STORE: &str = "/var/lib/containers/storage";

    /// The storage.driver check: (status, driver, decided_by).
    fn driver_of(found: &Findings) -> (Status, String, Option<String>) {
        let c = found.check("storage.driver").unwrap();
        let ev = |k: &str| {
            c.evidence
                .get(k)
                .and_then(|v| v.as_str())
                .map(str::to_string)
        };
        (c.status, ev("driver").unwrap(), ev("decided_by"))
    }

    /// Rootless, native overlay works, kernel 6.1, no fuse-overlayfs.
    fn rootless_with(entries: &[(&str, Plant)], podman: Version) -> Findings {
        let (p, r) = overlay_probe(USER_STORE, true);
        let fx = plant(
            rootless().stat(USER_STORE, "dir", 0o700, 1000, 1000),
            USER_STORE,
            entries,
        );
        run(&fx.probe(&p, r).host(), podman, false)
    }

    #[test]
    fn rootless_prior_stores_are_read_as_each_podman_reads_them() {
        use Plant::*;
        let p4 = Version::new(4, 3, 1);
        let p5 = Version::new(5, 4, 2);
        let at = |n: &str| Some(format!("{USER_STORE}/{n}"));
        let vfs = |by: Option<String>| (Status::Warn, "vfs".to_string(), by);
        let overlay = |by: Option<String>| (Status::Ok, "overlay".to_string(), by);
        let cases: &[(&str, &[(&str, Plant)], _, _)] = &[
            ("no prior store", &[], vfs(None), overlay(None)),
            ("overlay dir", &[("overlay", Dir)], vfs(None), overlay(None)),
            ("vfs dir", &[("vfs", Dir)], vfs(None), overlay(None)),
            (
                "vfs-images only",
                &[("vfs-images", Dir)],
                vfs(None),
                vfs(at("vfs-images")),
            ),
            (
                "both stores",
                &[
                    ("overlay", Dir),
                    ("overlay-images", Dir),
                    ("vfs", Dir),
                    ("vfs-images", Dir),
                ],
                vfs(None),
                overlay(at("overlay-images")),
            ),
            (
                "vfs-images a symlink",
                &[("vfs-images", Link)],
                vfs(None),
                vfs(at("vfs-images")),
            ),
        ];
        for (what, entries, want4, want5) in cases {
            let got4 = driver_of(&rootless_with(entries, p4));
            assert_eq!(&got4, want4, "podman 4.3, {what}");
            let got5 = driver_of(&rootless_with(entries, p5));
            assert_eq!(&got5, want5, "podman 5.4, {what}");
        }
        let link = rootless_with(&[("vfs-images", Link)], p5);
        let ev = &link.check("storage.driver").unwrap().evidence;
        assert_eq!(ev["prior_entries"], json!(["vfs-images: symlink to dir"]));
    }

    #[test]
    fn a_broken_images_entry_is_named_never_a_crash() {
        // podman 5 picks vfs from the name alone, then cannot open it
        // (row deb13-priorfifo-rootless-priv).
        for (how, found) in [(Plant::Fifo, "is a fifo"), (Plant::Hidden, "(EACCES)")] {
            let p5 = rootless_with(&[("vfs-images", how)], Version::new(5, 4, 2));
            let c = p5.check("storage.driver").unwrap();
            assert_eq!(c.status, Status::Error, "{}", c.summary);
            assert!(
                c.summary.contains(&format!("{USER_STORE}/vfs-images")),
                "{}",
                c.summary
            );
            assert!(c.summary.contains(found), "{}", c.summary);
            assert_eq!(driver_of(&p5).2, Some(format!("{USER_STORE}/vfs-images")));
            // The fix writes the driver out, in a graphroot without the entry.
            let fix = c.fix.as_ref().expect("a fix");
            let Some(Action::WriteFile { contents, .. }) = fix.actions.first() else {
                panic!("{fix:?}")
            };
            assert!(contents.contains("driver = "), "{contents}");
            // podman 4 takes vfs without looking, and fails on it the
            // same (row deb12-priorfifo-rootless-priv).
            let p4 = rootless_with(&[("vfs-images", how)], Version::new(4, 3, 1));
            assert_eq!(driver_of(&p4), (Status::Error, "vfs".into(), None));
            let c = p4.check("storage.driver").unwrap();
            assert!(c.summary.contains(found), "{}", c.summary);
        }
    }

    /// Root, native overlay works.
    fn rootful_with(entries: &[(&str, Plant)], podman: Version) -> Findings {
        let fx = Fixture::new()
            .env("HOME", "/root")
            .file("/proc/self/status", "CapEff:\t000001ffffffffff\n")
            .dir("/var/tmp")
            .probe(
                &Probe::Overlay {
                    dir: ROOT_STORE.into(),
                    userns: false,
                },
                ProbeResult::success(""),
            );
        run(&plant(fx, ROOT_STORE, entries).host(), podman, false)
    }

    /// Root on an overlay file system without fuse-overlayfs: podman's
    /// first command runs on vfs but leaves /var/lib/containers/storage/overlay
    /// for the next to fail on (podman 4.3.1: `podman info`, then `podman
    /// build` failed `prior storage driver overlay failed`). A warning, as
    /// the first command works; the job fix sets vfs before any runs.
    #[test]
    fn overlay_refused_by_an_overlay_root_is_pinned_to_vfs_before_it_leaves_its_directory() {
        for podman in [Version::new(4, 3, 1), Version::new(5, 4, 2)] {
            let fx = Fixture::new()
                .env("HOME", "/root")
                .file("/proc/self/status", "CapEff:\t000001ffffffffff\n")
                .dir("/var/tmp")
                .dir(ROOT_STORE)
                .statfs(ROOT_STORE, OVERLAYFS_MAGIC, 50 << 30)
                .probe(
                    &Probe::Overlay {
                        dir: ROOT_STORE.into(),
                        userns: false,
                    },
                    ProbeResult::failure("mount", Some("EINVAL".into()), ""),
                );
            let found = run(&fx.host(), podman, false);
            let c = found.check("storage.driver").unwrap();
            assert_eq!(c.status, Status::Warn, "{}", c.summary);
            assert!(
                c.summary.contains("first podman command only"),
                "{}",
                c.summary
            );
            assert_eq!(
                c.evidence["leaves_behind"],
                json!(format!("{ROOT_STORE}/overlay"))
            );
            let fix = c.fix.as_ref().expect("a fix");
            assert_eq!(fix.by, By::Job, "{}", fix.text);
            let writes_vfs = fix.actions.iter().any(|a| {
                matches!(a, Action::WriteFile { contents, .. } if contents.contains("driver = \"vfs\""))
            });
            assert!(writes_vfs, "{:?}", fix.actions);
        }
    }

    #[test]
    fn rootful_prior_stores_follow_drivers_new_of_each_version() {
        use Plant::*;
        let at = |n: &str| Some(format!("{ROOT_STORE}/{n}"));
        for podman in [Version::new(4, 3, 1), Version::new(5, 4, 2)] {
            let overlay = |by| (Status::Ok, "overlay".to_string(), by);
            assert_eq!(driver_of(&rootful_with(&[], podman)), overlay(None));
            let prior = rootful_with(&[("overlay", Dir)], podman);
            assert_eq!(driver_of(&prior), overlay(at("overlay")));
            // vfs is never taken as a prior store.
            assert_eq!(
                driver_of(&rootful_with(&[("vfs", Dir)], podman)),
                overlay(None)
            );
            // An entry stat cannot reach is none either, but overlay, taken
            // from the priority list, cannot make its directory there.
            let hidden = rootful_with(&[("overlay", Hidden)], podman);
            assert_eq!(driver_of(&hidden), (Status::Error, "overlay".into(), None));
            let c = hidden.check("storage.driver").unwrap();
            assert!(
                c.summary
                    .contains("/overlay is something lstat cannot reach (EACCES)"),
                "{}",
                c.summary
            );
            // A FIFO is: overlay is picked and cannot open it.
            let fifo = rootful_with(&[("overlay", Fifo)], podman);
            let c = fifo.check("storage.driver").unwrap();
            assert_eq!(c.status, Status::Error, "{}", c.summary);
            assert!(c.summary.contains("/overlay is a fifo"), "{}", c.summary);
        }
        // overlay beside vfs: 1.43 takes overlay, 1.57 refuses both.
        let both: &[(&str, Plant)] = &[("overlay", Dir), ("vfs", Dir)];
        let old = rootful_with(both, Version::new(4, 3, 1));
        assert_eq!(
            driver_of(&old),
            (Status::Ok, "overlay".into(), at("overlay"))
        );
        let new = rootful_with(both, Version::new(5, 4, 2));
        let c = new.check("storage.driver").unwrap();
        assert_eq!(c.status, Status::Error, "{}", c.summary);
        assert!(
            c.summary.contains("several valid graphdrivers"),
            "{}",
            c.summary
        );
        assert!(c.summary.contains("overlay, vfs"), "{}", c.summary);
        // The fix names the driver, so podman scans no more.
        let fix = c.fix.as_ref().expect("a fix");
        assert!(fix.text.contains("native overlay"), "{}", fix.text);
    }

    /// The bytes around `graph-driver-name` in a bolt_state.db podman
    /// 4.3.1 made here (graphroot under /tmp/st5.c), lossy as read.
    fn bolt_with(driver: &str, root: &str) -> String {
        format!(
            "\u{0}\u{0}\u{0}4\u{0}\u{0}\u{0}graph-driver-name{driver}graph-root{root}oslinuxrun-root/run/user/1000/containersstatic-dir{root}/libpod"
        )
    }

    /// The DBConfig record of a db.sql podman 5.4.2 made (deb13 rootless).
    fn sqlite_with(driver: &str, root: &str) -> String {
        format!(
            "\u{0}\u{81}i\u{1}\n\u{0}\t\u{17}sMeM\u{1b}ulinux{root}/libpod/tmp/storage-run-1000/libpod/tmp{root}/tmp/storage-run-1000/containers{driver}{root}/volumes\r\u{0}\u{0}"
        )
    }

    /// issue 10: the database's head is searched first, the whole file
    /// when the record lies further in or straddles the head's end.
    #[test]
    fn the_database_record_is_found_past_the_head_and_across_its_end() {
        let bolt = format!("{USER_STORE}/libpod/bolt_state.db");
        let record = bolt_with("vfs", USER_STORE);
        let key_at = record.find("graph-driver-name").unwrap();
        for pad in [0, 32 * 1024 - key_at - 5, 32 * 1024 - 3, 200 * 1024] {
            let body = format!("{}{record}", "\u{0}".repeat(pad));
            let host = rootless().file(&bolt, &body).host();
            let found = database_driver(&host, USER_STORE, false);
            assert_eq!(found, Some((bolt.clone(), "vfs".into())), "pad {pad}");
        }
        let host = rootless().file(&bolt, &"x".repeat(70 * 1024)).host();
        assert_eq!(database_driver(&host, USER_STORE, false), None);
        // A FIFO or a link to an endless device where the database should
        // be is never read (no hang, no 16 MiB of zeros).
        let fifo = rootless().dir(&format!("{USER_STORE}/libpod"));
        nix::unistd::mkfifo(&fifo.root_path(&bolt), nix::sys::stat::Mode::S_IRWXU).unwrap();
        assert_eq!(database_driver(&fifo.host(), USER_STORE, false), None);
        let zero = rootless().symlink(&bolt, "/dev/zero");
        assert_eq!(database_driver(&zero.host(), USER_STORE, false), None);
        // What decides is the kind stat gives, not what a read would find.
        let not_regular = rootless()
            .file(&bolt, &bolt_with("vfs", USER_STORE))
            .stat(&bolt, "fifo", 0o600, 1000, 1000);
        assert_eq!(
            database_driver(&not_regular.host(), USER_STORE, false),
            None
        );
        // An empty driver in the head settles it: nothing more is read.
        let empty = format!("{}{}", bolt_with("", USER_STORE), "x".repeat(70 * 1024));
        let host = rootless().file(&bolt, &empty).host();
        assert_eq!(database_driver(&host, USER_STORE, false), None);
    }

    #[test]
    fn bytes_are_found_where_they_first_occur() {
        assert_eq!(find_bytes(b"abcabd", b"abd"), Some(3));
        assert_eq!(find_bytes(b"aab", b"ab"), Some(1));
        assert_eq!(find_bytes(b"ab", b"abc"), None);
        assert_eq!(find_bytes(b"", b"a"), None);
        assert_eq!(find_bytes(b"abc", b""), None);
        let bolt = |b: &[u8]| bolt_driver(b);
        assert_eq!(
            bolt(b"graph-driver-nameoverlaygraph-root/x"),
            Some(Some("overlay"))
        );
        // Settled: podman 4.3 left it empty, or it names no driver.
        assert_eq!(bolt(b"graph-driver-namegraph-root/x"), Some(None));
        assert_eq!(bolt(b"graph-driver-nameoverlay2graph-root/x"), Some(None));
        // Not settled: the key's value runs past these bytes.
        assert_eq!(bolt(b"xxgraph-driver-nameover"), None);
        let sqlite = |b: &[u8]| sqlite_driver(b, "/r/volumes");
        assert_eq!(sqlite(b"/r/volumes..vfs/r/volumes"), Some(Some("vfs")));
        assert_eq!(sqlite(b"/r/volumes"), None);
    }

    #[test]
    fn libpods_database_names_the_driver_podman_uses() {
        // libpod/runtime.go: the database's graph driver overrides storage's
        // choice and a configured driver (podman 4.3.1 here: `User-selected
        // graph driver "vfs" overwritten by graph driver "overlay" from
        // database`, with STORAGE_DRIVER=vfs and with storage.conf).
        let bolt = format!("{USER_STORE}/libpod/bolt_state.db");
        let p4 = Version::new(4, 3, 1);
        let found = rootless_with(&[("overlay-images", Plant::Dir)], p4);
        assert_eq!(driver_of(&found).1, "vfs", "no database yet: 4.3 takes vfs");
        let with_db = |podman: Version, file: &str, body: String, conf: Option<&str>| {
            let (p, r) = overlay_probe(USER_STORE, true);
            let mut fx = rootless()
                .stat(USER_STORE, "dir", 0o700, 1000, 1000)
                .dir(&format!("{USER_STORE}/overlay-layers"))
                .file(file, &body)
                .probe(&p, r);
            if let Some(c) = conf {
                fx = fx.file("/home/podman/.config/containers/storage.conf", c);
            }
            run(&fx.host(), podman, false)
        };
        let found = with_db(p4, &bolt, bolt_with("overlay", USER_STORE), None);
        assert_eq!(
            driver_of(&found),
            (Status::Ok, "overlay".into(), Some(bolt.clone()))
        );
        let e = found.check("storage.existing").unwrap();
        assert_eq!(e.status, Status::Info, "{}", e.summary);
        // A configured vfs is overwritten: a warning naming both.
        let conf = "[storage]\ndriver = \"vfs\"\n";
        let found = with_db(p4, &bolt, bolt_with("overlay", USER_STORE), Some(conf));
        assert_eq!(driver_of(&found).1, "overlay");
        let e = found.check("storage.existing").unwrap();
        assert_eq!(e.status, Status::Warn, "{}", e.summary);
        assert!(
            e.summary
                .contains("overwritten by graph driver \"overlay\""),
            "{}",
            e.summary
        );
        // podman 5.4's sqlite database sits in the graphroot itself.
        let sql = format!("{USER_STORE}/db.sql");
        let p5 = Version::new(5, 4, 2);
        let found = with_db(p5, &sql, sqlite_with("vfs", USER_STORE), None);
        assert_eq!(
            driver_of(&found),
            (Status::Warn, "vfs".into(), Some(sql.clone()))
        );
        // podman 4 has no sqlite backend; garbage names no driver.
        let found = with_db(p4, &sql, sqlite_with("overlay", USER_STORE), None);
        assert_eq!(driver_of(&found).2, None);
        let found = with_db(p4, &bolt, bolt_with("zzz", USER_STORE), None);
        assert_eq!(driver_of(&found).2, None);
    }
}
