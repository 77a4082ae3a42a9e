//! The live half of the seam: answers that no file in a tree can stand for.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

pub use super::stat::{FileKind, Stat};

/// What `access(2)` is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    Read,
    Write,
    Exec,
}

impl Access {
    pub fn letter(self) -> &'static str {
        match self {
            Access::Read => "R",
            Access::Write => "W",
            Access::Exec => "X",
        }
    }
}

/// The parts of `statfs(2)`/`statvfs(2)` the probes use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsStat {
    /// Filesystem magic (`f_type`), e.g. `0x794c7630` for overlayfs.
    pub magic: u64,
    /// Bytes available to an unprivileged user.
    pub free_bytes: u64,
    /// Inodes available to an unprivileged user (`f_favail`); `None` when
    /// unknown (an old fixture) or when the filesystem has no inode limit.
    pub free_inodes: Option<u64>,
    pub readonly: bool,
    pub nosuid: bool,
    pub noexec: bool,
}

/// What a tool printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmdOutput {
    /// Exit code; `None` when killed by a signal.
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

pub use crate::formats::idmap::IdMapLine;

/// Fork-and-try probes: a child process tries what podman will try, and the
/// doctor's own process never changes namespace or mounts anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// `unshare(CLONE_NEWUSER)` alone.
    UserNs,
    /// A new user namespace mapped exactly as podman maps it: through the
    /// setuid helpers (`helpers = Some((newuidmap, newgidmap))`, arguments
    /// `PID inside outside count …` as podman passes them), or by writing
    /// `uid_map`/`gid_map` directly as podman does for uid 0.
    UserNsMap {
        helpers: Option<(String, String)>,
        uid_map: Vec<IdMapLine>,
        gid_map: Vec<IdMapLine>,
    },
    /// A fresh procfs mounted in new mount and pid namespaces (and a user
    /// namespace when `userns`), as OCI isolation does for every `RUN`.
    ProcMount { userns: bool },
    /// A kernel overlay mount with its upper and work directories made in
    /// `dir` (the file system probed), in a new mount namespace (and user
    /// namespace when `userns`).
    Overlay { dir: String, userns: bool },
    /// A bind mount of a temporary directory onto itself in a new mount
    /// namespace (and user namespace when `userns`): what AppArmor's
    /// `deny mount` stops.
    BindMount { userns: bool },
    /// `keyctl(KEYCTL_JOIN_SESSION_KEYRING)`, which crun does for each
    /// container and default seccomp profiles refuse.
    Keyctl,
    /// `sethostname` in a new UTS namespace (and user namespace when
    /// `userns`), as the runtime does for every RUN step; seccomp profiles
    /// (podman's, Docker's, containerd's) allow it only with CAP_SYS_ADMIN.
    Hostname { userns: bool },
}

impl Probe {
    /// A stable text key for fixtures and evidence.
    pub fn key(&self) -> String {
        fn lines(m: &[IdMapLine]) -> String {
            m.iter()
                .map(|l| format!("{}:{}:{}", l.inside, l.outside, l.count))
                .collect::<Vec<_>>()
                .join(",")
        }
        match self {
            Probe::UserNs => "userns".to_string(),
            Probe::UserNsMap {
                helpers,
                uid_map,
                gid_map,
            } => format!(
                "userns-map {} uid={} gid={}",
                if helpers.is_some() {
                    "helpers"
                } else {
                    "direct"
                },
                lines(uid_map),
                lines(gid_map)
            ),
            Probe::ProcMount { userns } => format!("proc-mount userns={userns}"),
            Probe::Overlay { dir, userns } => format!("overlay {dir} userns={userns}"),
            Probe::BindMount { userns } => format!("bind-mount userns={userns}"),
            Probe::Keyctl => "keyctl".to_string(),
            Probe::Hostname { userns } => format!("hostname userns={userns}"),
        }
    }
}

/// How a probe went. `ran = false` means it could not be attempted at all
/// (fixture without the answer, fork failed): then nothing may be concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeResult {
    pub ran: bool,
    pub ok: bool,
    /// The step that failed (`unshare`, `newuidmap`, `mount`), empty on success.
    pub step: String,
    /// The errno name of the failure, when there is one.
    pub errno: Option<String>,
    /// Anything else worth showing (a helper's stderr, the exact call).
    pub detail: String,
}

impl ProbeResult {
    pub fn success(detail: impl Into<String>) -> ProbeResult {
        ProbeResult {
            ran: true,
            ok: true,
            step: String::new(),
            errno: None,
            detail: detail.into(),
        }
    }

    pub fn failure(step: &str, errno: Option<String>, detail: impl Into<String>) -> ProbeResult {
        ProbeResult {
            ran: true,
            ok: false,
            step: step.to_string(),
            errno,
            detail: detail.into(),
        }
    }

    pub fn not_run(detail: impl Into<String>) -> ProbeResult {
        ProbeResult {
            ran: false,
            ok: false,
            step: String::new(),
            errno: None,
            detail: detail.into(),
        }
    }

    /// Outcome as a short phrase for summaries: `ok`, `EPERM at unshare`.
    pub fn describe(&self) -> String {
        if !self.ran {
            return format!("not run ({})", self.detail);
        }
        if self.ok {
            return "ok".to_string();
        }
        match &self.errno {
            Some(e) => format!("{e} at {}", self.step),
            None => format!("failed at {}", self.step),
        }
    }
}

/// Live system calls. `root` is the tree the host reads from; `path` is
/// always the system path. Implementations must not panic.
pub trait Sys {
    fn read(&self, root: &Path, path: &str) -> io::Result<Vec<u8>>;
    fn read_dir(&self, root: &Path, path: &str) -> io::Result<Vec<String>>;
    fn stat(&self, root: &Path, path: &str) -> io::Result<Stat>;
    fn statfs(&self, root: &Path, path: &str) -> io::Result<FsStat>;
    fn access(&self, root: &Path, path: &str, mode: Access) -> io::Result<()>;
    fn open_rw(&self, root: &Path, path: &str) -> io::Result<()>;
    fn file_caps(&self, root: &Path, path: &str) -> io::Result<Option<Vec<u8>>>;
    fn run(&self, argv: &[&str], env: &BTreeMap<String, String>) -> io::Result<CmdOutput>;
    fn probe(&self, root: &Path, probe: &Probe) -> ProbeResult;

    /// At most the first `limit` bytes of a file (issue 10: a search in a
    /// file that may be large, libpod's database, reads the head first).
    fn read_head(&self, root: &Path, path: &str, limit: u64) -> io::Result<Vec<u8>> {
        read_prefix(&root.join(path.trim_start_matches('/')), limit)
    }

    /// `lstat(2)`: the entry itself, a symlink not followed. (Added with a
    /// default so that every `Sys` gets it without change.)
    fn lstat(&self, root: &Path, path: &str) -> io::Result<Stat> {
        std::fs::symlink_metadata(root.join(path.trim_start_matches('/')))
            .map(|m| super::stat::stat_of(&m))
    }

    /// A read that cannot block or blow up (see `checked.rs`).
    fn read_checked(&self, root: &Path, path: &str) -> super::checked::Checked {
        super::checked::read_checked(root, path)
    }

    /// issue 9: every later call ends by `budget` (fixtures answer at once).
    fn set_budget(&self, _budget: super::Deadline) {}
    /// What did not answer within its deadline so far (`stat /home/u`,
    /// `run podman --version`): checks resting on them are unsure.
    fn stalls(&self) -> Vec<String> {
        Vec::new()
    }
    /// Whether `path` lies on a mount that already stalled: the fix
    /// engine's no-follow walks (which cannot run on a thread) refuse it.
    fn on_stalled_mount(&self, _root: &Path, _path: &str) -> bool {
        false
    }

    /// [`Sys::run`] within the run's budget (fixtures answer at once).
    fn run_within(
        &self,
        argv: &[&str],
        env: &BTreeMap<String, String>,
        _budget: super::Deadline,
    ) -> io::Result<CmdOutput> {
        self.run(argv, env)
    }
    /// [`Sys::probe`] within the run's budget (fixtures answer at once).
    fn probe_within(&self, root: &Path, probe: &Probe, _budget: super::Deadline) -> ProbeResult {
        self.probe(root, probe)
    }
    /// issue 10: starts `probes` side by side, each answered by
    /// [`Sys::prefetched`] when asked; what an earlier call started and no
    /// one asked for is dropped. Fixtures (the default) answer each probe
    /// when asked, so they keep doing just that.
    fn prefetch(&self, _root: &Path, _probes: &[Probe], _budget: super::Deadline) {}
    /// The answer of a probe [`Sys::prefetch`] started, waited for now;
    /// `None` when none was started (or it was taken already).
    fn prefetched(&self, _probe: &Probe) -> Option<ProbeResult> {
        None
    }
    /// One open file, its size and a reader of it at any offset
    /// (`read(offset, len)`: at most `len` bytes), handed to `each`: a
    /// binary's ELF headers and build information without reading tens of
    /// megabytes, or a search of a sorted package database, a few small
    /// windows through one open, all from one file even when dpkg replaces
    /// it meanwhile (it writes a new one and renames it over). Both the
    /// real system and fixtures are trees under `root`, hence one default.
    fn read_windows(
        &self,
        root: &Path,
        path: &str,
        each: &mut dyn FnMut(u64, &super::version::ReadAt),
    ) -> io::Result<()> {
        use std::os::unix::fs::{FileExt, OpenOptionsExt};
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_NONBLOCK)
            .open(root.join(path.trim_start_matches('/')))?;
        let size = file.metadata()?.len();
        let read = |offset: u64, len: usize| {
            let mut buf = vec![0u8; len];
            let mut got = 0;
            while got < len {
                match file.read_at(&mut buf[got..], offset.checked_add(got as u64)?) {
                    Ok(0) => break,
                    Ok(n) => got += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => return None,
                }
            }
            buf.truncate(got);
            Some(buf)
        };
        each(size, &read);
        Ok(())
    }
    /// A file from its start, at most `limit` bytes, handed to `each` in
    /// pieces of up to 64 KiB read into one buffer: a ~1 MB package
    /// database costs no buffer of its size (the fresh pages of one were a
    /// third of its reading).
    fn read_pieces(
        &self,
        root: &Path,
        path: &str,
        limit: u64,
        each: &mut dyn FnMut(&[u8]),
    ) -> io::Result<()> {
        use std::io::Read;
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_NONBLOCK)
            .open(root.join(path.trim_start_matches('/')))?
            .take(limit);
        let mut buf = vec![0u8; 64 << 10];
        loop {
            match file.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => each(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// At most `limit` bytes from the start of the file at `path` (a head is
/// read whole: room for it at once, up to 64 KiB).
pub(crate) fn read_prefix(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let room = usize::try_from(limit).unwrap_or(usize::MAX).min(64 * 1024);
    read_up_to(path, limit, room)
}

/// At most `limit` bytes from the start of the file at `path`, opened
/// without blocking on a FIFO, into a buffer that starts with `room`
/// (through `take`, std knows no size and would start with a 32-byte read,
/// doubling: 8 reads for a mountinfo).
pub(crate) fn read_up_to(path: &Path, limit: u64, room: usize) -> io::Result<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK)
        .open(path)?;
    let mut buf = Vec::with_capacity(room);
    file.take(limit).read_to_end(&mut buf)?;
    Ok(buf)
}
