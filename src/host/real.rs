//! The real system: plain syscalls through nix.

use super::stat::stat_of;
use super::sys::{Access, CmdOutput, FsStat, Probe, ProbeResult, Stat, Sys};
use super::wait::Deadline;
use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::process::{Command, Stdio};

/// The real system. `budget` and `stalls` make every call that can block
/// in the kernel (a stalled FUSE or NFS mount answers no `stat`) run where
/// a deadline can abandon it (see [`RealSys::bounded`]).
#[derive(Default)]
pub struct RealSys {
    budget: std::sync::Mutex<Deadline>,
    /// What did not answer in time: `stat /home/u`, `podman --version`.
    stalls: std::sync::Mutex<Vec<String>>,
    /// The mount points of the stalled paths: every later call under one
    /// fails at once instead of stalling again.
    stalled_mounts: std::sync::Mutex<Vec<std::path::PathBuf>>,
    /// issue 10: mount points from /proc/self/mountinfo (read once), each
    /// with whether its filesystem is local (see [`LOCAL_FS`]).
    mounts: std::sync::OnceLock<Vec<(std::path::PathBuf, bool)>>,
    /// Open `O_PATH` descriptors of the local mount points used so far:
    /// where a resolution confined to one mount starts.
    mount_fds: std::sync::Mutex<Vec<(std::path::PathBuf, std::sync::Arc<std::os::fd::OwnedFd>)>>,
    /// Probes started side by side and not yet asked for (issue 10).
    started: std::sync::Mutex<super::probes::Started>,
}

/// Filesystems answered from memory or a local disk: a call on them does
/// not stall the way one on FUSE, NFS, CIFS, 9p or autofs can, so it runs
/// inline instead of on an abandonable thread (issue 10: a thread per call
/// was most of a check's CPU time). Anything not listed stays abandonable.
const LOCAL_FS: &[&str] = &[
    "ext2",
    "ext3",
    "ext4",
    "xfs",
    "btrfs",
    "zfs",
    "f2fs",
    "vfat",
    "squashfs",
    "overlay",
    "tmpfs",
    "ramfs",
    "devtmpfs",
    "devpts",
    "proc",
    "sysfs",
    "cgroup",
    "cgroup2",
    "mqueue",
    "securityfs",
    "debugfs",
    "tracefs",
    "bpf",
    "pstore",
    "configfs",
    "hugetlbfs",
    "nsfs",
    "efivarfs",
];

/// Whether `what` may run inline on the file `meta` describes: a read
/// never of a device (its driver may block), an open only of a device
/// whose open returns at once — /dev/fuse (10:229) and /dev/net/tun
/// (10:200), the two the doctor opens — or of no device at all.
fn device_ok(what: &str, meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let kind = meta.file_type();
    let device = kind.is_char_device() || kind.is_block_device();
    match what {
        "read" => !device,
        "open" => {
            let quick = [(10, 229), (10, 200)];
            let rdev = meta.rdev();
            let id = (nix::sys::stat::major(rdev), nix::sys::stat::minor(rdev));
            !device || (kind.is_char_device() && quick.contains(&id))
        }
        _ => true,
    }
}

/// The mount point `path` lives on, from /proc/self/mountinfo (which never
/// stalls): the longest mount point that is a prefix of `path`.
fn mount_point_of(path: &Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    crate::formats::mountinfo::parse_mountinfo(&text)
        .0
        .into_iter()
        .map(|m| std::path::PathBuf::from(m.mount_point))
        .filter(|mp| path.starts_with(mp))
        .max_by_key(|mp| mp.as_os_str().len())
        .filter(|mp| mp != Path::new("/"))
        .unwrap_or_else(|| path.to_path_buf())
}

/// How long one filesystem call may take: local filesystems answer in
/// microseconds; a mount that takes this long is stalled for podman too.
const OP_LIMIT: std::time::Duration = std::time::Duration::from_millis(300);
/// Once the budget is spent, a call still gets this long: fast calls keep
/// answering, only the stalled ones are abandoned at once.
const OP_FLOOR: std::time::Duration = std::time::Duration::from_millis(50);

impl RealSys {
    fn budget(&self) -> Deadline {
        self.budget.lock().map(|b| *b).unwrap_or_default()
    }

    fn stalled(&self, what: String) {
        // Repeats are kept: each area counts the stalls it met.
        if let Ok(mut s) = self.stalls.lock() {
            s.push(what);
        }
    }

    fn mount_table(&self) -> &[(std::path::PathBuf, bool)] {
        self.mounts.get_or_init(|| {
            // std reads a /proc file from 32 bytes up, doubling (8 reads here).
            let bytes = read_bounded(Path::new("/proc/self/mountinfo"), READ_LIMIT);
            let text = String::from_utf8_lossy(&bytes.unwrap_or_default()).into_owned();
            crate::formats::mountinfo::parse_mountinfo(&text)
                .0
                .into_iter()
                .map(|m| {
                    let local = LOCAL_FS.contains(&m.fstype.as_str());
                    (std::path::PathBuf::from(m.mount_point), local)
                })
                .collect()
        })
    }

    /// The mount `path` lives on when it and every mount above it are
    /// local; `None` when any is not, or the path is not plain (`..`
    /// defeats a lexical answer).
    fn local_mount(&self, path: &Path) -> Option<std::path::PathBuf> {
        use std::path::Component;
        if !path
            .components()
            .all(|c| matches!(c, Component::RootDir | Component::Normal(_)))
        {
            return None;
        }
        let mut best: Option<&std::path::PathBuf> = None;
        for (mp, local) in self.mount_table() {
            if path.starts_with(mp) {
                if !local {
                    return None;
                }
                if best.is_none_or(|b| mp.as_os_str().len() >= b.as_os_str().len()) {
                    best = Some(mp);
                }
            }
        }
        best.cloned()
    }

    fn mount_fd(&self, mp: &Path) -> Option<std::sync::Arc<std::os::fd::OwnedFd>> {
        use nix::fcntl::{OFlag, OpenHow, ResolveFlag};
        let mut fds = self.mount_fds.lock().ok()?;
        if let Some((_, fd)) = fds.iter().find(|(p, _)| p == mp) {
            return Some(fd.clone());
        }
        // Every mount above is local (local_mount), so this walk cannot
        // stall; a symlink where mountinfo has a mount point is refused.
        let how = OpenHow::new()
            .flags(OFlag::O_PATH | OFlag::O_CLOEXEC)
            .resolve(ResolveFlag::RESOLVE_NO_SYMLINKS);
        let fd = std::sync::Arc::new(nix::fcntl::openat2(nix::fcntl::AT_FDCWD, mp, how).ok()?);
        fds.push((mp.to_path_buf(), fd.clone()));
        Some(fd)
    }

    /// Whether `what` on `path` can run inline: the path resolves within
    /// one local mount. The resolution is tried with `openat2(O_PATH,
    /// RESOLVE_NO_XDEV)` from that mount's root, so a symlink or a mount
    /// leading elsewhere (one mounted after mountinfo was read, too) fails
    /// with `EXDEV` without touching the other file system, and the call
    /// goes to the abandonable path. A read of a device never runs inline
    /// (its driver may block), an open only of a device known to answer at
    /// once ([`device_ok`]). When every mount is local
    /// ([`RealSys::all_local`]), no confinement is needed.
    fn inline(&self, what: &str, path: &Path) -> bool {
        use nix::errno::Errno;
        use nix::fcntl::{OFlag, OpenHow, ResolveFlag};
        if self.all_local() {
            // No walk can meet a stalling file system: only what a read or
            // an open does to a device matters.
            return !matches!(what, "read" | "open")
                || std::fs::metadata(path).map_or(true, |m| device_ok(what, &m));
        }
        let Some(mp) = self.local_mount(path) else {
            return false;
        };
        let Some(base) = self.mount_fd(&mp) else {
            return false;
        };
        let rel = path.strip_prefix(&mp).unwrap_or(Path::new(""));
        let rel = if rel.as_os_str().is_empty() {
            Path::new(".")
        } else {
            rel
        };
        let how = OpenHow::new()
            .flags(OFlag::O_PATH | OFlag::O_CLOEXEC)
            .resolve(ResolveFlag::RESOLVE_NO_XDEV | ResolveFlag::RESOLVE_NO_MAGICLINKS);
        match nix::fcntl::openat2(&*base, rel, how) {
            Ok(fd) if what == "read" || what == "open" => std::fs::File::from(fd)
                .metadata()
                .is_ok_and(|m| device_ok(what, &m)),
            Ok(_) => true,
            // Elsewhere, a loop or magic link, or no openat2 (old kernel,
            // seccomp): not decided here.
            Err(
                Errno::EXDEV
                | Errno::ELOOP
                | Errno::ENOSYS
                | Errno::EPERM
                | Errno::EINVAL
                | Errno::EAGAIN
                | Errno::E2BIG,
            ) => false,
            // Failed on the local mount (ENOENT, EACCES, ENOTDIR): the call
            // fails the same way, at once.
            Err(_) => true,
        }
    }

    /// Whether every mount of this process is local: then no path can
    /// lead to a stalling file system, and a call needs no `openat2`
    /// confinement (issue 10: that was a third of all system calls, and it
    /// refuses absolute symlinks such as `/var/run`, sending them to a
    /// thread). A mount made while the doctor runs is not seen: a stall
    /// there would need one mounted, and stalled, within those
    /// milliseconds.
    fn all_local(&self) -> bool {
        self.mount_table().iter().all(|(_, local)| *local)
    }

    /// Runs `op` on `path` on a thread that is left behind (blocked in the
    /// kernel) when it does not answer within its limit: the call then
    /// fails with `ETIMEDOUT` and is recorded as a stall, and every later
    /// call under a stalled path fails at once. /proc, /sys and paths that
    /// resolve within a local mount ([`RealSys::inline`]) never stall and
    /// run inline.
    fn bounded<T: Send + 'static>(
        &self,
        what: &str,
        path: std::path::PathBuf,
        op: impl FnOnce(&Path) -> io::Result<T> + Send + 'static,
    ) -> io::Result<T> {
        let timeout = || io::Error::from_raw_os_error(nix::libc::ETIMEDOUT);
        if path.starts_with("/proc") || path.starts_with("/sys") {
            return op(&path);
        }
        let stalled_under = self
            .stalled_mounts
            .lock()
            .ok()
            .is_some_and(|m| m.iter().any(|mp| path.starts_with(mp)));
        if stalled_under {
            return Err(timeout());
        }
        if self.inline(what, &path) {
            return op(&path);
        }
        let limit = self
            .budget()
            .remaining()
            .map_or(OP_LIMIT, |left| left.clamp(OP_FLOOR, OP_LIMIT));
        let (tx, rx) = std::sync::mpsc::channel();
        let p = path.clone();
        let spawned = std::thread::Builder::new()
            .stack_size(64 << 10)
            .spawn(move || {
                let _ = tx.send(op(&p));
            });
        if spawned.is_err() {
            // No thread to spare: nothing is concluded from this call.
            return Err(io::Error::from_raw_os_error(nix::libc::EAGAIN));
        }
        rx.recv_timeout(limit).unwrap_or_else(|_| {
            self.stalled(format!("{what} {}", path.display()));
            if let Ok(mut m) = self.stalled_mounts.lock() {
                m.push(mount_point_of(&path));
            }
            Err(timeout())
        })
    }
}

fn full(root: &Path, path: &str) -> std::path::PathBuf {
    root.join(path.trim_start_matches('/'))
}

/// The most a single file read returns: far above any config file, passwd
/// or /proc table a job container has, and small enough that a path
/// pointing at `/dev/zero` or a huge file cannot exhaust memory.
pub(crate) const READ_LIMIT: u64 = 16 << 20;

/// Reads at most `limit` bytes of a file (a longer file is an `EFBIG`
/// error, never a silently truncated config). The file is opened
/// non-blocking, so a FIFO or a terminal named where a config file belongs
/// gives an error instead of hanging the doctor (regular files and /proc
/// ignore the flag).
pub(crate) fn read_bounded(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    // Room for most files at once; one byte past the limit tells it is over.
    let buf = super::sys::read_up_to(path, limit + 1, super::checked::READ_START)?;
    if buf.len() as u64 > limit {
        return Err(io::Error::from_raw_os_error(nix::libc::EFBIG));
    }
    Ok(buf)
}

pub(crate) fn read_dir_sorted(dir: &Path) -> io::Result<Vec<String>> {
    let mut names = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<io::Result<Vec<_>>>()?;
    names.sort();
    Ok(names)
}

impl Sys for RealSys {
    fn read(&self, root: &Path, path: &str) -> io::Result<Vec<u8>> {
        self.bounded("read", full(root, path), |p| read_bounded(p, READ_LIMIT))
    }

    fn read_dir(&self, root: &Path, path: &str) -> io::Result<Vec<String>> {
        self.bounded("read_dir", full(root, path), read_dir_sorted)
    }

    fn read_head(&self, root: &Path, path: &str, limit: u64) -> io::Result<Vec<u8>> {
        self.bounded("read", full(root, path), move |p| {
            super::sys::read_prefix(p, limit)
        })
    }

    fn stat(&self, root: &Path, path: &str) -> io::Result<Stat> {
        self.bounded("stat", full(root, path), |p| {
            std::fs::metadata(p).map(|m| stat_of(&m))
        })
    }

    fn lstat(&self, root: &Path, path: &str) -> io::Result<Stat> {
        self.bounded("lstat", full(root, path), |p| {
            std::fs::symlink_metadata(p).map(|m| stat_of(&m))
        })
    }

    fn read_checked(&self, root: &Path, path: &str) -> super::checked::Checked {
        let (root_owned, path_owned) = (root.to_path_buf(), path.to_string());
        let r = self.bounded("read", full(root, path), move |_| {
            Ok(super::checked::read_checked(&root_owned, &path_owned))
        });
        r.unwrap_or_else(|e| Err(super::checked::ReadProblem::from_io(path, &e)))
    }

    fn set_budget(&self, budget: Deadline) {
        if let Ok(mut b) = self.budget.lock() {
            *b = budget;
        }
    }

    fn stalls(&self) -> Vec<String> {
        self.stalls.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn on_stalled_mount(&self, root: &Path, path: &str) -> bool {
        let p = full(root, path);
        self.stalled_mounts
            .lock()
            .ok()
            .is_some_and(|m| m.iter().any(|mp| p.starts_with(mp)))
    }

    fn statfs(&self, root: &Path, path: &str) -> io::Result<FsStat> {
        self.bounded("statfs", full(root, path), statfs_of)
    }
    fn access(&self, root: &Path, path: &str, mode: Access) -> io::Result<()> {
        use nix::unistd::AccessFlags;
        let flags = match mode {
            Access::Read => AccessFlags::R_OK,
            Access::Write => AccessFlags::W_OK,
            Access::Exec => AccessFlags::X_OK,
        };
        // faccessat with AT_EACCESS: judged with the effective ids, as
        // podman (running as this process) will be.
        self.bounded("access", full(root, path), move |p| {
            nix::unistd::faccessat(
                nix::fcntl::AT_FDCWD,
                p,
                flags,
                nix::fcntl::AtFlags::AT_EACCESS,
            )
            .map_err(io::Error::from)
        })
    }

    /// A `/dev/fuse` whose open blocks (a stand-in, a wedged driver) is
    /// abandoned at the deadline like a stalled mount.
    fn open_rw(&self, root: &Path, path: &str) -> io::Result<()> {
        self.bounded("open", full(root, path), |p| {
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(p)
                .map(drop)
        })
    }

    fn file_caps(&self, root: &Path, path: &str) -> io::Result<Option<Vec<u8>>> {
        self.bounded("getxattr", full(root, path), |p| {
            getxattr(p, "security.capability")
        })
    }

    fn run(&self, argv: &[&str], env: &BTreeMap<String, String>) -> io::Result<CmdOutput> {
        self.run_within(argv, env, Deadline::unlimited())
    }

    fn probe(&self, _root: &Path, probe: &Probe) -> ProbeResult {
        super::probes::run(probe)
    }

    /// The tool leads its own process group, so that at the deadline it is
    /// killed with everything it started.
    fn run_within(
        &self,
        argv: &[&str],
        env: &BTreeMap<String, String>,
        budget: Deadline,
    ) -> io::Result<CmdOutput> {
        use std::os::unix::process::CommandExt;
        let (program, args) = argv
            .split_first()
            .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
        // A program that hung once in this run would hang again.
        let hung = format!("run {program} ");
        if self.stalls().iter().any(|s| s.starts_with(&hung)) {
            self.stalled(format!("run {}", argv.join(" ")));
            return Err(io::Error::from_raw_os_error(nix::libc::ETIMEDOUT));
        }
        let child = Command::new(program)
            .args(args)
            .env_clear()
            .envs(env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()?;
        let r = output_within(child, budget.within(RUN_DEADLINE));
        if matches!(&r, Err(e) if e.raw_os_error() == Some(nix::libc::ETIMEDOUT)) {
            self.stalled(format!("run {}", argv.join(" ")));
        }
        r
    }

    fn probe_within(&self, _root: &Path, probe: &Probe, budget: Deadline) -> ProbeResult {
        // A spent budget still gives a probe a moment: one that answers at
        // once is not lost, a stalled one costs only this.
        let budget = budget.at_least(std::time::Duration::from_millis(150));
        let r = super::probes::run_within(probe, budget);
        if r.step == "timeout" || r.detail.contains("did not finish within") {
            self.stalled(format!("probe {}", probe.key()));
        }
        r
    }

    fn prefetch(&self, _root: &Path, probes: &[Probe], budget: Deadline) {
        let started = super::probes::Started::start(probes, budget);
        // The earlier set (its answers no one asked for) is collected as it
        // drops, outside the lock.
        let earlier = self
            .started
            .lock()
            .map(|mut s| std::mem::replace(&mut *s, started));
        drop(earlier);
    }

    fn prefetched(&self, probe: &Probe) -> Option<ProbeResult> {
        self.started.lock().ok()?.take(probe)
    }
}

fn statfs_of(p: &Path) -> io::Result<FsStat> {
    let fs = nix::sys::statfs::statfs(p).map_err(io::Error::from)?;
    let vfs = nix::sys::statvfs::statvfs(p).map_err(io::Error::from)?;
    let flags = vfs.flags();
    use nix::sys::statvfs::FsFlags;
    Ok(FsStat {
        magic: fs.filesystem_type().0 as u64,
        free_bytes: (vfs.blocks_available() as u64).saturating_mul(vfs.fragment_size() as u64),
        // Filesystems without an inode table (btrfs, overlay of one) say 0 files.
        free_inodes: (vfs.files() > 0).then_some(vfs.files_available() as u64),
        readonly: flags.contains(FsFlags::ST_RDONLY),
        nosuid: flags.contains(FsFlags::ST_NOSUID),
        noexec: flags.contains(FsFlags::ST_NOEXEC),
    })
}

/// How long a tool may take to answer (`podman --version` and the like
/// answer in well under a second): a hung tool must not hang the doctor.
const RUN_DEADLINE: std::time::Duration = std::time::Duration::from_secs(20);

/// Collects a child's output, killing it (and its process group) when it
/// outlives `deadline` (`ETIMEDOUT`). The child's exit is waited for
/// exactly (a pidfd, see `wait`). Output is read on threads so that a
/// chatty child cannot block on a full pipe; after a timeout they are left
/// behind, as a process that left the group may hold the pipes open.
fn output_within(mut child: std::process::Child, deadline: Deadline) -> io::Result<CmdOutput> {
    use nix::sys::wait::WaitStatus;
    use std::io::Read;
    fn drain(pipe: Option<impl Read + Send + 'static>) -> std::sync::mpsc::Receiver<Vec<u8>> {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.by_ref().take(READ_LIMIT).read_to_end(&mut buf);
            }
            let _ = tx.send(buf);
        });
        rx
    }
    let out = drain(child.stdout.take());
    let err = drain(child.stderr.take());
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let status = match super::wait::wait_child(pid, deadline) {
        Some(WaitStatus::Exited(_, code)) => Some(code),
        Some(_) => None,
        None if deadline.expired() => {
            return Err(io::Error::from_raw_os_error(nix::libc::ETIMEDOUT))
        }
        None => return Err(io::Error::from_raw_os_error(nix::libc::ECHILD)),
    };
    // The group is gone; the pipes close unless a process left it.
    let left = deadline
        .remaining()
        .unwrap_or_default()
        .max(std::time::Duration::from_secs(1));
    let stdout = out.recv_timeout(left).unwrap_or_default();
    let stderr = err.recv_timeout(left).unwrap_or_default();
    Ok(CmdOutput {
        status,
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    })
}

/// `getxattr(2)` without a dependency: std has no xattr API, and nix 0.30
/// none either, so this one call goes straight to libc.
fn getxattr(path: &Path, name: &str) -> io::Result<Option<Vec<u8>>> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let cpath = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let cname = CString::new(name).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let mut buf = vec![0u8; 64];
    // SAFETY: both strings are NUL-terminated and live for the call; the
    // buffer pointer and its length describe memory we own.
    let n = unsafe {
        nix::libc::getxattr(
            cpath.as_ptr(),
            cname.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if n < 0 {
        let err = io::Error::last_os_error();
        return match err.raw_os_error() {
            Some(nix::libc::ENODATA) | Some(nix::libc::ENOTSUP) => Ok(None),
            _ => Err(err),
        };
    }
    buf.truncate(n as usize);
    Ok(Some(buf))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::FileKind;

    #[test]
    fn stat_and_read_dir_work_on_a_temp_tree() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b"), "x").unwrap();
        std::fs::create_dir(dir.path().join("a")).unwrap();
        let sys = RealSys::default();
        assert_eq!(sys.read_dir(dir.path(), "/").unwrap(), vec!["a", "b"]);
        assert_eq!(sys.stat(dir.path(), "/a").unwrap().kind, FileKind::Dir);
        assert_eq!(sys.stat(dir.path(), "/b").unwrap().size, 1);
        assert!(sys.file_caps(dir.path(), "/b").unwrap().is_none());
    }

    #[test]
    fn a_tool_that_hangs_is_killed_and_its_output_is_kept_otherwise() {
        let env: BTreeMap<String, String> =
            [("PATH".to_string(), "/usr/bin:/bin".to_string())].into();
        let out = RealSys::default()
            .run(&["sh", "-c", "echo out; echo err >&2; exit 3"], &env)
            .unwrap();
        assert_eq!(out.status, Some(3));
        assert_eq!(out.stdout, "out\n");
        assert_eq!(out.stderr, "err\n");
        let child = Command::new("sleep")
            .arg("30")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        let deadline = Deadline::after(std::time::Duration::from_millis(200));
        let err = output_within(child, deadline).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(nix::libc::ETIMEDOUT));
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    /// The real mount table with one more mount, not local, elsewhere: the
    /// doctor in a job container with an NFS or FUSE mount somewhere.
    fn with_a_remote_mount() -> RealSys {
        let sys = RealSys::default();
        let mut table = sys.mount_table().to_vec();
        table.push(("/podrun-test-remote".into(), false));
        let confined = RealSys::default();
        let _ = confined.mounts.set(table);
        confined
    }

    /// issue 10: with a mount not known to be local anywhere, calls run
    /// inline only where their path resolves within one local mount; a
    /// symlink into another mount, `..`, an open of anything but a quick
    /// device, or a path under that mount keeps the abandonable thread.
    #[test]
    fn only_calls_confined_to_a_local_mount_run_inline() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), "x").unwrap();
        std::os::unix::fs::symlink("/proc/self/status", dir.path().join("out")).unwrap();
        std::os::unix::fs::symlink("f", dir.path().join("in")).unwrap();
        let sys = with_a_remote_mount();
        let f = dir.path().join("f");
        assert!(!sys.all_local());
        // On NFS or FUSE nothing runs inline and the test would prove nothing.
        assert!(
            sys.local_mount(&f).is_some(),
            "the temp dir {} is not on a local mount (NFS or FUSE?): set TMPDIR to a local \
             filesystem",
            dir.path().display()
        );
        assert!(sys.inline("stat", &f));
        assert!(sys.inline("stat", &dir.path().join("in")));
        // Absent on a local mount: fails at once, inline.
        assert!(sys.inline("stat", &dir.path().join("absent")));
        assert!(!sys.inline("stat", &dir.path().join("out")));
        assert!(sys.inline("open", &f), "a regular file opens at once");
        assert!(!sys.inline("stat", &dir.path().join("x/../f")));
        assert!(!sys.inline("stat", Path::new("/podrun-test-remote/x")));
        assert_eq!(sys.stat(dir.path(), "/out").unwrap().kind, FileKind::File);
        let remote = RealSys::default();
        let _ = remote
            .mounts
            .set(vec![(std::path::PathBuf::from("/"), false)]);
        assert!(!remote.inline("stat", &f));
        assert_eq!(remote.stat(dir.path(), "/f").unwrap().size, 1);
    }

    /// issue 10: when every mount is local, every call runs inline but a
    /// read of a device and an open of a device not known to answer at
    /// once (/dev/fuse and /dev/net/tun are).
    #[test]
    fn with_every_mount_local_only_devices_are_kept_apart() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), "x").unwrap();
        std::os::unix::fs::symlink("/proc/self/status", dir.path().join("out")).unwrap();
        let sys = RealSys::default();
        let table = sys.mount_table().iter().map(|(p, _)| (p.clone(), true));
        let _ = sys.mounts.set(table.collect());
        assert!(sys.all_local());
        for what in ["stat", "read", "open", "read_dir"] {
            assert!(sys.inline(what, &dir.path().join("f")), "{what}");
            assert!(sys.inline(what, &dir.path().join("out")), "{what}");
            assert!(sys.inline(what, &dir.path().join("absent")), "{what}");
        }
        assert!(sys.inline("stat", Path::new("/dev/null")));
        assert!(!sys.inline("read", Path::new("/dev/null")));
        assert!(
            !sys.inline("open", Path::new("/dev/null")),
            "1:3 is not known"
        );
        for quick in ["/dev/fuse", "/dev/net/tun"] {
            if let Ok(m) = std::fs::metadata(quick) {
                use std::os::unix::fs::FileTypeExt;
                assert!(m.file_type().is_char_device());
                assert!(sys.inline("open", Path::new(quick)), "{quick}");
                assert!(!sys.inline("read", Path::new(quick)), "{quick}");
            }
        }
    }

    /// A config path that names a FIFO, a device that never ends or a huge
    /// file gives an error at once; the doctor neither hangs nor fills
    /// memory.
    #[test]
    fn reads_are_bounded_and_never_block() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let sys = RealSys::default();
        // No writer: a blocking open would wait forever; non-blocking reads
        // an empty pipe at once.
        assert_eq!(sys.read(dir.path(), "/fifo").unwrap(), b"");
        let err = read_bounded(Path::new("/dev/zero"), 1 << 20).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(nix::libc::EFBIG));
        std::fs::write(dir.path().join("big"), vec![b'x'; 4097]).unwrap();
        assert!(read_bounded(&dir.path().join("big"), 4096).is_err());
        assert_eq!(
            read_bounded(&dir.path().join("big"), 4097).unwrap().len(),
            4097
        );
        // /proc files (size 0 in stat) are read in full.
        assert!(!sys
            .read(Path::new("/"), "/proc/self/status")
            .unwrap()
            .is_empty());
    }
}
