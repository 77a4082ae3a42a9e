//! File operations that cannot be steered by someone else's symlink.
//!
//! The doctor often runs as root in directories a less privileged process
//! prepared (an emptyDir `/builds` is 0777). Every write, mkdir and chmod
//! here walks the path one component at a time with `openat(O_NOFOLLOW |
//! O_DIRECTORY)` from the root prefix (trusted: `/`, or a fixture tree), so
//! no component can be a symlink, and every directory it did not create must
//! belong to root or to the effective uid — a directory of another uid can
//! be swapped under the doctor at any time. Modes and owners are set on the
//! open descriptor (`fchmod`/`fchown`), never through a path.
//!
//! Per-component `openat` is used rather than `openat2(RESOLVE_NO_SYMLINKS)`:
//! the owner of every component has to be checked anyway, and it works on
//! every kernel a job may run on.

use super::sys::FileKind;
use nix::errno::Errno;
use nix::fcntl::{openat, renameat, AtFlags, OFlag};
use nix::sys::stat::{fchmod, fstat, fstatat, mkdirat, FileStat, Mode};
use nix::unistd::{fchown, fsync, unlinkat, Gid, Uid, UnlinkatFlags};
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

const DIR_FLAGS: OFlag = OFlag::O_RDONLY
    .union(OFlag::O_DIRECTORY)
    .union(OFlag::O_NOFOLLOW)
    .union(OFlag::O_CLOEXEC);

/// The most a file read for a rewrite may hold (see `real::READ_LIMIT`).
const REWRITE_LIMIT: u64 = 16 << 20;

fn err(errno: Errno, text: String) -> io::Error {
    io::Error::new(io::Error::from(errno).kind(), text)
}

fn kind_of(st: &FileStat) -> FileKind {
    match st.st_mode & nix::libc::S_IFMT {
        nix::libc::S_IFDIR => FileKind::Dir,
        nix::libc::S_IFLNK => FileKind::Symlink,
        nix::libc::S_IFCHR => FileKind::Char,
        nix::libc::S_IFBLK => FileKind::Block,
        nix::libc::S_IFIFO => FileKind::Fifo,
        nix::libc::S_IFSOCK => FileKind::Socket,
        _ => FileKind::File,
    }
}

/// Root and this process's effective uid are the only owners whose
/// directories cannot be changed under the doctor by someone else.
fn trusted_owner(uid: u32) -> bool {
    uid == 0 || uid == nix::unistd::geteuid().as_raw()
}

/// `/a/b/c` → `["a", "b", "c"]`; `.` and `..` are refused so that a path
/// cannot climb out of the root prefix.
fn components(path: &str) -> io::Result<Vec<&str>> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    if parts.iter().any(|p| *p == "." || *p == "..") {
        return Err(err(
            Errno::EINVAL,
            format!("{path}: a path with `.` or `..` in it is not written to"),
        ));
    }
    Ok(parts)
}

/// Why opening one component failed, in words naming the path.
fn open_problem(dir: &OwnedFd, name: &str, shown: &str, e: Errno) -> io::Error {
    match fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(st) if kind_of(&st) == FileKind::Symlink => err(
            Errno::ELOOP,
            format!("{shown} is a symbolic link; not following it (remove it, or point the job at a directory of its own)"),
        ),
        Ok(st) if kind_of(&st) != FileKind::Dir && e == Errno::ENOTDIR => err(
            Errno::ENOTDIR,
            format!("{shown} exists and is a {}, not a directory", kind_of(&st).as_str()),
        ),
        _ => err(e, format!("{shown}: {}", io::Error::from(e))),
    }
}

/// issue 9: a directory a non-root doctor may write through although
/// another uid owns it: writable through one of the doctor's groups and not
/// by everyone — an OpenShift HOME (`/opt/app-root/src`, 1001:0, g+w) with
/// the job running as an arbitrary uid in group 0. Whoever could swap
/// something under the doctor there can already write there as the doctor
/// can, and a non-root doctor gains nobody any privilege. Root keeps the
/// strict rule: a root doctor writing through a group's directory could be
/// steered into root-only places. See docs/reliability.md.
fn shared_through_group(st: &FileStat, euid: u32, groups: &[u32]) -> bool {
    let mode: u32 = st.st_mode;
    euid != 0 && mode & 0o020 != 0 && mode & 0o002 == 0 && groups.contains(&st.st_gid)
}

fn own_groups() -> Vec<u32> {
    let mut g: Vec<u32> = nix::unistd::getgroups()
        .map(|g| g.into_iter().map(|g| g.as_raw()).collect())
        .unwrap_or_default();
    g.push(nix::unistd::getegid().as_raw());
    g
}

fn check_owner(fd: &OwnedFd, shown: &str) -> io::Result<FileStat> {
    let st = fstat(fd).map_err(io::Error::from)?;
    let euid = nix::unistd::geteuid().as_raw();
    if !trusted_owner(st.st_uid) && !shared_through_group(&st, euid, &own_groups()) {
        return Err(err(
            Errno::EPERM,
            format!(
                "{shown} belongs to uid {}, neither root nor uid {} (this process), and is \
                 not writable through this process's group only: not writing through a \
                 directory someone else controls",
                st.st_uid,
                nix::unistd::geteuid()
            ),
        ));
    }
    Ok(st)
}

/// One directory opened without following links.
pub(crate) struct Dir {
    pub fd: OwnedFd,
    /// Whether this call made the last component.
    pub created: bool,
}

/// Opens directory `path` under `root`. With `create = Some(mode)`, missing
/// components are made (the last with `mode`, set with `fchmod` so the
/// umask does not matter; the others 0755). Components that existed must be
/// directories owned by root or by this process.
pub(crate) fn open_dir(root: &Path, path: &str, create: Option<u32>) -> io::Result<Dir> {
    let mut fd = std::fs::File::open(root).map(OwnedFd::from)?;
    let parts = components(path)?;
    let mut created = false;
    let mut shown = String::new();
    for (i, name) in parts.iter().enumerate() {
        shown.push('/');
        shown.push_str(name);
        let last = i + 1 == parts.len();
        created = false;
        let next = match openat(&fd, *name, DIR_FLAGS, Mode::empty()) {
            Ok(next) => next,
            Err(Errno::ENOENT) if create.is_some() => {
                let mode = if last { create.unwrap_or(0o755) } else { 0o755 };
                match mkdirat(&fd, *name, Mode::from_bits_truncate(mode)) {
                    Ok(()) => created = true,
                    // Another run made it first: judged like any existing one.
                    Err(Errno::EEXIST) => {}
                    Err(e) => {
                        return Err(err(
                            e,
                            format!("cannot create {shown}: {}", io::Error::from(e)),
                        ))
                    }
                }
                let next = openat(&fd, *name, DIR_FLAGS, Mode::empty())
                    .map_err(|e| open_problem(&fd, name, &shown, e))?;
                if created {
                    fchmod(&next, Mode::from_bits_truncate(mode)).map_err(io::Error::from)?;
                }
                next
            }
            Err(e) => return Err(open_problem(&fd, name, &shown, e)),
        };
        if !created {
            check_owner(&next, &shown)?;
        }
        fd = next;
    }
    Ok(Dir { fd, created })
}

/// `/a/b/c` → (`/a/b`, `c`).
fn split(path: &str) -> io::Result<(&str, &str)> {
    let trimmed = path.trim_end_matches('/');
    match trimmed.rsplit_once('/') {
        Some((parent, name)) if !name.is_empty() => Ok((parent, name)),
        _ => Err(err(Errno::EINVAL, format!("{path}: not a file path"))),
    }
}

/// Creates directory `path` (and missing parents); only a directory this
/// call made gets `mode`. True when it was made.
pub(crate) fn create_dir(root: &Path, path: &str, mode: u32) -> io::Result<bool> {
    open_dir(root, path, Some(mode)).map(|d| d.created)
}

/// The existing entry `name` in `dir`, not followed: `None` when absent.
fn entry(dir: &OwnedFd, name: &str) -> io::Result<Option<FileStat>> {
    match fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(st) => Ok(Some(st)),
        Err(Errno::ENOENT) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn regular_or_absent(dir: &OwnedFd, name: &str, shown: &str) -> io::Result<Option<FileStat>> {
    match entry(dir, name)? {
        Some(st) if kind_of(&st) == FileKind::Symlink => Err(err(
            Errno::ELOOP,
            format!("{shown} is a symbolic link; not writing through it (remove it and run again)"),
        )),
        Some(st) if kind_of(&st) != FileKind::File => Err(err(
            Errno::EINVAL,
            format!(
                "{shown} is a {}, not a regular file; not writing it",
                kind_of(&st).as_str()
            ),
        )),
        other => Ok(other),
    }
}

/// Opens regular file `name` in `dir` for reading, never following a link
/// and never blocking, and reads it whole.
fn read_in(dir: &OwnedFd, name: &str, shown: &str) -> io::Result<Option<(Vec<u8>, FileStat)>> {
    let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
    if regular_or_absent(dir, name, shown)?.is_none() {
        return Ok(None);
    }
    let fd = match openat(dir, name, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::ENOENT) => return Ok(None),
        Err(e) => return Err(open_problem(dir, name, shown, e)),
    };
    let st = fstat(&fd).map_err(io::Error::from)?;
    if kind_of(&st) != FileKind::File {
        return Err(err(Errno::EINVAL, format!("{shown} is not a regular file")));
    }
    let mut buf = Vec::new();
    std::fs::File::from(fd)
        .take(REWRITE_LIMIT + 1)
        .read_to_end(&mut buf)?;
    if buf.len() as u64 > REWRITE_LIMIT {
        return Err(err(
            Errno::EFBIG,
            format!("{shown} is larger than 16 MiB; not rewriting it"),
        ));
    }
    Ok(Some((buf, st)))
}

/// Reads a file the doctor is about to rewrite, without following a link
/// at any component: `None` when it (or its directory) does not exist.
pub(crate) fn read_no_follow(root: &Path, path: &str) -> io::Result<Option<String>> {
    let (parent, name) = split(path)?;
    let dir = match open_dir(root, parent, None) {
        Ok(d) => d,
        Err(e) if e.raw_os_error() == Some(nix::libc::ENOENT) => return Ok(None),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(read_in(&dir.fd, name, path)?.map(|(b, _)| String::from_utf8_lossy(&b).into_owned()))
}

/// A temp file next to the target: exclusive, never a link, unique per
/// process and call (two runs at once never share one).
fn temp_in(dir: &OwnedFd, name: &str) -> io::Result<(OwnedFd, String)> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static SEQ: AtomicU32 = AtomicU32::new(0);
    let flags =
        OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    // A name left by a dead process of the same pid is skipped, so that
    // EEXIST never comes out of here (it means "already there" to callers).
    loop {
        let tmp = format!(
            ".{name}.podrun-tmp.{}.{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        match openat(dir, tmp.as_str(), flags, Mode::from_bits_truncate(0o600)) {
            Err(Errno::EEXIST) => continue,
            other => return Ok((other?, tmp)),
        }
    }
}

/// Renames `tmp` over `name`; with `create_only`, only if nothing is at
/// `name` (renameat2 `RENAME_NOREPLACE`): a file or link someone put there
/// after the check is never replaced (`EAGAIN`). Where the kernel or the
/// filesystem lacks the flag, a plain rename right after the check.
fn rename_into(dir: &OwnedFd, tmp: &str, name: &str, create_only: bool) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    if create_only {
        let (from, to) = (std::ffi::CString::new(tmp)?, std::ffi::CString::new(name)?);
        let fd = dir.as_raw_fd();
        // SAFETY: renameat2 reads two NUL-terminated strings that outlive
        // the call; musl's libc has no wrapper, hence the raw syscall.
        let rc = unsafe {
            nix::libc::syscall(
                nix::libc::SYS_renameat2,
                fd,
                from.as_ptr(),
                fd,
                to.as_ptr(),
                nix::libc::RENAME_NOREPLACE,
            )
        };
        match Errno::result(rc) {
            Ok(_) => return Ok(()),
            Err(Errno::EEXIST) => {
                return Err(err(
                    Errno::EAGAIN,
                    format!(
                        "{name} appeared while it was being written; not replacing it (run again)"
                    ),
                ))
            }
            Err(Errno::ENOSYS) | Err(Errno::EINVAL) => {}
            Err(e) => return Err(e.into()),
        }
    }
    renameat(dir, tmp, dir, name).map_err(io::Error::from)
}

/// Writes `contents` to a temp file in `dir`, gives it `owner` and `mode`,
/// syncs it and renames it over `name`; `check` runs just before the rename
/// (is the target still what was read?). On any error the temp file is
/// removed and the target is untouched.
fn replace_in(
    dir: &OwnedFd,
    name: &str,
    contents: &[u8],
    mode: u32,
    owner: Option<(u32, u32)>,
    check: impl FnOnce() -> io::Result<()>,
    how: How,
) -> io::Result<()> {
    let (fd, tmp) = temp_in(dir, name)?;
    let result = (|| {
        if let Some((uid, gid)) = owner {
            // Before fchmod: chown clears setuid/setgid bits.
            let st = fstat(&fd)?;
            if st.st_uid != uid || st.st_gid != gid {
                fchown(&fd, Some(Uid::from_raw(uid)), Some(Gid::from_raw(gid)))?;
            }
        }
        fchmod(&fd, Mode::from_bits_truncate(mode))?;
        let mut file = std::fs::File::from(fd);
        file.write_all(contents)?;
        if how.durable {
            file.sync_all()?;
        }
        check()?;
        if !how.durable && !how.create_only {
            // Renaming over an existing file makes ext4 (auto_da_alloc)
            // write the new one out first: 0.5 ms of a 12 ms check when a
            // report is rewritten. A report may be briefly absent instead.
            let _ = unlinkat(dir, name, UnlinkatFlags::NoRemoveDir);
        }
        rename_into(dir, &tmp, name, how.create_only)?;
        // The rename itself is durable only once the directory is synced.
        if how.durable {
            let _ = fsync(dir);
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = unlinkat(dir, tmp.as_str(), UnlinkatFlags::NoRemoveDir);
    }
    result.map_err(|e: io::Error| e)
}

/// How `replace_in` puts the new file in place.
#[derive(Clone, Copy)]
struct How {
    /// Only where nothing is yet (`RENAME_NOREPLACE`).
    create_only: bool,
    /// Synced to disk before and after the rename: a config podman reads
    /// must survive a crash whole; a report the next run rewrites need not
    /// (its two syncs took 2-44 ms on a busy disk).
    durable: bool,
}

/// Writes a file atomically (temp file in the same directory + rename) with
/// `mode`, never wider than the mode of the file it replaces. The parent
/// must exist; no component may be a symlink, and the target must be a
/// regular file of root or this process, or absent. With `expected`, the
/// target must still hold exactly that (`None`: still be absent), read on
/// the same descriptors as the write: a file swapped in after the caller
/// looked at it is never overwritten; one that already holds `contents`
/// (another run was first) gives `AlreadyExists` and is left as it is.
pub(crate) fn write_atomic(
    root: &Path,
    path: &str,
    contents: &str,
    mode: u32,
    expected: Option<Option<&str>>,
) -> io::Result<()> {
    let (parent, name) = split(path)?;
    let dir = open_dir(root, parent, None)?;
    let old = read_in(&dir.fd, name, path)?;
    if let Some((_, st)) = &old {
        if !trusted_owner(st.st_uid) {
            return Err(err(
                Errno::EPERM,
                format!("{path} belongs to uid {}: not replacing it", st.st_uid),
            ));
        }
    }
    let changed = || {
        err(
            Errno::EAGAIN,
            format!("{path} changed while it was being written; not replacing it (run again)"),
        )
    };
    if let Some(expected) = expected {
        let found = old.as_ref().map(|(b, _)| String::from_utf8_lossy(b));
        // A concurrent run that wrote the same thing first is no conflict,
        // but no change of this run's either: `AlreadyExists` tells the
        // caller not to list it (two runs at once list each change once).
        if found.as_deref() == Some(contents) {
            return Err(already_there(path));
        }
        if found.as_deref() != expected {
            return Err(changed());
        }
    }
    let old = old.map(|(_, st)| st);
    let mode = match &old {
        Some(st) => mode & st.st_mode & 0o7777,
        None => mode,
    };
    let same = || match (&old, regular_or_absent(&dir.fd, name, path)?) {
        (None, None) => Ok(()),
        (Some(a), Some(b)) if a.st_ino == b.st_ino => Ok(()),
        _ => Err(changed()),
    };
    let create_only = old.is_none();
    let bytes = contents.as_bytes();
    let how = How {
        create_only,
        durable: true,
    };
    match replace_in(&dir.fd, name, bytes, mode, None, same, how) {
        // Another run's identical file landed between the read and the
        // rename: the same outcome as finding it at the read.
        Err(e) if e.kind() == io::ErrorKind::WouldBlock && holds(&dir.fd, name, path, bytes) => {
            Err(already_there(path))
        }
        other => other.map_err(|e| with_path(e, path)),
    }
}

fn already_there(path: &str) -> io::Error {
    err(
        Errno::EEXIST,
        format!("{path} already holds this content (another run wrote it)"),
    )
}

fn holds(dir: &OwnedFd, name: &str, path: &str, contents: &[u8]) -> bool {
    matches!(read_in(dir, name, path), Ok(Some((b, _))) if b == contents)
}

fn with_path(e: io::Error, path: &str) -> io::Error {
    match e.get_ref() {
        Some(_) => e,
        None => match e.raw_os_error() {
            Some(raw) => err(Errno::from_raw(raw), format!("{path}: {e}")),
            None => e,
        },
    }
}

/// Writes a report (`--json PATH`, `--junit PATH`) where the user asked:
/// a path in the repository checkout, where a merge request may have
/// committed a symlink. The last component is never followed: a symlink or
/// anything but a regular file there is refused; the report is written to
/// a temp file next to it and renamed into place, so a reader never sees
/// half a report.
pub fn write_report(path: &Path, text: &str) -> io::Result<()> {
    let shown = path.display();
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| err(Errno::EINVAL, format!("{shown} is not a file name")))?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let dir = std::fs::File::open(parent).map(OwnedFd::from)?;
    match entry(&dir, name)? {
        Some(st) if kind_of(&st) == FileKind::Symlink => {
            return Err(err(
                Errno::ELOOP,
                format!(
                    "{shown} is a symbolic link (one committed to the repository can point \
                     anywhere): not writing through it; remove it or choose another path"
                ),
            ))
        }
        Some(st) if kind_of(&st) != FileKind::File => {
            return Err(err(
                Errno::EINVAL,
                format!(
                    "{shown} is a {}, not a regular file: not replacing it; choose another path",
                    kind_of(&st).as_str()
                ),
            ))
        }
        _ => {}
    }
    let umask = nix::sys::stat::umask(Mode::from_bits_truncate(0o022));
    nix::sys::stat::umask(umask);
    let mode = 0o644 & !umask.bits();
    let how = How {
        create_only: false,
        durable: false,
    };
    replace_in(&dir, name, text.as_bytes(), mode, None, || Ok(()), how)
}

/// Whether a temp file could not be made because the directory is closed
/// to this process (OpenShift: `/etc/passwd` is g=u, `/etc` is not).
fn dir_closed(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(nix::libc::EACCES) | Some(nix::libc::EPERM)
    )
}

/// How often an append that met a concurrent change starts over.
const APPEND_TRIES: u64 = 5;

/// Appends `line` (a whole line, without its newline) to the existing file
/// `path` unless it is already there. The new file is written next to the
/// old one and renamed over it, with the old owner and mode, so a full disk
/// or a crash leaves the old file whole. When the directory is closed to
/// this process but the file is not, the line is appended in place with a
/// single `write(2)` and checked afterwards. True when the line was added.
///
/// Other writers (issue 9, tests/races.rs): doctors running at once take
/// turns through `flock` on the file, so a line is never added twice; bytes
/// another program appends to the old file while it is being replaced are
/// carried over to the new one; a file replaced under the doctor makes it
/// start over, a few times, before it gives up saying so.
pub(crate) fn append_line(root: &Path, path: &str, line: &str) -> io::Result<bool> {
    let mut tries = 1;
    loop {
        match append_once(root, path, line) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && tries < APPEND_TRIES => {
                std::thread::sleep(std::time::Duration::from_millis(10 * tries));
                tries += 1;
            }
            other => return other,
        }
    }
}

fn append_once(root: &Path, path: &str, line: &str) -> io::Result<bool> {
    let (parent, name) = split(path)?;
    let dir = open_dir(root, parent, None)?;
    let Some((locked, old, st)) = lock_and_read(&dir.fd, name, path)? else {
        return Err(err(Errno::ENOENT, format!("{path} does not exist")));
    };
    if String::from_utf8_lossy(&old).lines().any(|l| l == line) {
        return Ok(false);
    }
    let sep = if old.is_empty() || old.ends_with(b"\n") {
        ""
    } else {
        "\n"
    };
    let text = format!("{sep}{line}\n");
    let mut whole = old.clone();
    whole.extend_from_slice(text.as_bytes());
    let owner = Some((st.st_uid, st.st_gid));
    let same = || still_there(&dir.fd, name, path, &st);
    match replace_in(
        &dir.fd,
        name,
        &whole,
        st.st_mode & 0o7777,
        owner,
        same,
        How {
            create_only: false,
            durable: true,
        },
    ) {
        Ok(()) => carry_over(&dir.fd, name, path, &locked, st.st_size as u64).map(|()| true),
        Err(e) if dir_closed(&e) => append_in_place(&dir.fd, name, path, &st, text.as_bytes()),
        Err(e) => Err(with_path(e, path)),
    }
}

/// The name still gives the file that was read, not shorter: bytes added
/// at its end since are carried over after the rename.
fn still_there(dir: &OwnedFd, name: &str, path: &str, read: &FileStat) -> io::Result<()> {
    match entry(dir, name)? {
        Some(now) if now.st_ino == read.st_ino && now.st_size >= read.st_size => Ok(()),
        _ => Err(err(
            Errno::EAGAIN,
            format!("{path} changed while it was being extended; not replacing it (run again)"),
        )),
    }
}

/// Opens regular file `name` without following a link or blocking, locks
/// it against other doctors, and reads it once the name is known to still
/// give the locked file.
fn lock_and_read(
    dir: &OwnedFd,
    name: &str,
    path: &str,
) -> io::Result<Option<(std::fs::File, Vec<u8>, FileStat)>> {
    if regular_or_absent(dir, name, path)?.is_none() {
        return Ok(None);
    }
    let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
    let fd = match openat(dir, name, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::ENOENT) => return Ok(None),
        Err(e) => return Err(open_problem(dir, name, path, e)),
    };
    let st = fstat(&fd)?;
    if kind_of(&st) != FileKind::File {
        return Err(err(Errno::EINVAL, format!("{path} is not a regular file")));
    }
    let file = std::fs::File::from(fd);
    lock(&file, path)?;
    still_there(dir, name, path, &st)?;
    let mut buf = Vec::new();
    (&file).take(REWRITE_LIMIT + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > REWRITE_LIMIT {
        return Err(err(
            Errno::EFBIG,
            format!("{path} is larger than 16 MiB; not rewriting it"),
        ));
    }
    // What was read is what is replaced: the size as read, not as stat'ed.
    let mut st = st;
    st.st_size = buf.len() as _;
    Ok(Some((file, buf, st)))
}

/// `flock(LOCK_EX)` without ever blocking: tried for about a second, then
/// `EBUSY` naming the file (not `EAGAIN`: that is retried, and a second per
/// try is too long for the run's budget). A filesystem without flock (`ENOLCK`, some
/// NFS) goes unlocked, as every other writer there does.
fn lock(file: &std::fs::File, path: &str) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    for _ in 0..40 {
        // SAFETY: flock on a descriptor this function borrows; no memory.
        let rc =
            unsafe { nix::libc::flock(file.as_raw_fd(), nix::libc::LOCK_EX | nix::libc::LOCK_NB) };
        match Errno::result(rc) {
            Ok(_) => return Ok(()),
            Err(Errno::EWOULDBLOCK) => std::thread::sleep(std::time::Duration::from_millis(25)),
            Err(Errno::EINTR) => {}
            Err(_) => return Ok(()),
        }
    }
    Err(err(
        Errno::EBUSY,
        format!("{path} stayed locked (flock) by another process for a second; not extending it (run again)"),
    ))
}

/// After the rename: bytes another program appended to the old file since
/// it was read (its descriptor opened before the rename) are appended to
/// the new one, so no writer's line is lost. Looked at twice, a moment
/// apart, for a writer that opened the old file just before the rename.
fn carry_over(
    dir: &OwnedFd,
    name: &str,
    path: &str,
    old: &std::fs::File,
    mut done: u64,
) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    for pass in 0..2 {
        if pass > 0 {
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        let size = fstat(old.as_fd())?.st_size as u64;
        if size <= done {
            continue;
        }
        let mut tail = vec![0u8; (size - done) as usize];
        old.read_exact_at(&mut tail, done)?;
        let flags = OFlag::O_WRONLY | OFlag::O_APPEND | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let fd = openat(dir, name, flags, Mode::empty())
            .map_err(|e| open_problem(dir, name, path, e))?;
        std::fs::File::from(fd).write_all(&tail).map_err(|e| {
            err(
                Errno::from_raw(e.raw_os_error().unwrap_or(nix::libc::EIO)),
                format!("{path}: {} bytes another program appended while the doctor replaced it could not be carried over: {e}", tail.len()),
            )
        })?;
        done = size;
    }
    Ok(())
}

/// The fallback when no file can be made next to `name`: one `write(2)` of
/// the whole line in append mode (concurrent appenders cannot interleave
/// inside it), then a check that exactly these bytes landed at the end; a
/// short write is cut back off, so a reader never sees half a line.
pub(crate) fn append_in_place(
    dir: &OwnedFd,
    name: &str,
    path: &str,
    read: &FileStat,
    text: &[u8],
) -> io::Result<bool> {
    use std::os::unix::fs::FileExt;
    let flags =
        OFlag::O_RDWR | OFlag::O_APPEND | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
    let fd =
        openat(dir, name, flags, Mode::empty()).map_err(|e| open_problem(dir, name, path, e))?;
    let st = fstat(&fd)?;
    // Grown is fine (O_APPEND writes at the end; other doctors are locked
    // out, so nobody added this line since); replaced or shrunk is not.
    if st.st_ino != read.st_ino || st.st_size < read.st_size || kind_of(&st) != FileKind::File {
        return Err(err(
            Errno::EAGAIN,
            format!("{path} changed while it was being extended; not appending (run again)"),
        ));
    }
    let file = std::fs::File::from(fd);
    let start = st.st_size as u64;
    let written = nix::unistd::write(file.as_fd(), text);
    let short = match written {
        Ok(n) if n == text.len() => None,
        Ok(n) => Some((n, io::Error::from(Errno::ENOSPC))),
        Err(e) => Some((0, io::Error::from(e))),
    };
    if let Some((n, e)) = short {
        // Cut back only our own bytes: nobody wrote after them.
        if n > 0 && fstat(file.as_fd()).map(|s| s.st_size as u64) == Ok(start + n as u64) {
            let _ = file.set_len(start);
        }
        return Err(err(
            Errno::from_raw(e.raw_os_error().unwrap_or(nix::libc::EIO)),
            format!("cannot append to {path}: {e}; the file was left as it was"),
        ));
    }
    file.sync_all()?;
    // O_APPEND put the bytes at the end as it was at the write: find them.
    let end = nix::unistd::lseek(file.as_fd(), 0, nix::unistd::Whence::SeekCur)? as u64;
    let mut back = vec![0u8; text.len()];
    file.read_exact_at(&mut back, end - text.len() as u64)?;
    if back != text {
        return Err(err(
            Errno::EIO,
            format!("{path}: the appended line did not read back"),
        ));
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};

    fn dir_stat(uid: u32, gid: u32, mode: u32) -> FileStat {
        // SAFETY: FileStat (libc::stat) is plain data; all zeroes is valid.
        let mut st: FileStat = unsafe { std::mem::zeroed() };
        st.st_uid = uid;
        st.st_gid = gid;
        st.st_mode = (nix::libc::S_IFDIR | mode) as _;
        st
    }

    #[test]
    fn an_openshift_home_is_writable_through_group_0_for_a_non_root_doctor_only() {
        // /opt/app-root/src: 1001:0 drwxrwxr-x, the job an arbitrary uid in group 0.
        let home = dir_stat(1001, 0, 0o775);
        assert!(shared_through_group(&home, 1000660000, &[0]));
        // Root keeps the strict rule, whatever its groups.
        assert!(!shared_through_group(&home, 0, &[0]));
        // Not through a group the doctor is not in.
        assert!(!shared_through_group(&home, 1000660000, &[1000660000]));
        // Not without group write, and never when everyone may write.
        assert!(!shared_through_group(
            &dir_stat(1001, 0, 0o755),
            1000660000,
            &[0]
        ));
        assert!(!shared_through_group(
            &dir_stat(1001, 0, 0o777),
            1000660000,
            &[0]
        ));
        assert!(!shared_through_group(
            &dir_stat(1001, 0, 0o1777),
            1000660000,
            &[0]
        ));
    }

    #[test]
    fn no_component_is_ever_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let elsewhere = dir.path().join("elsewhere");
        std::fs::create_dir_all(root.join("builds")).unwrap();
        std::fs::create_dir(&elsewhere).unwrap();
        symlink(&elsewhere, root.join("builds/.podrun-0")).unwrap();
        let e = create_dir(&root, "/builds/.podrun-0/home", 0o700).unwrap_err();
        assert!(
            e.to_string()
                .contains("/builds/.podrun-0 is a symbolic link"),
            "{e}"
        );
        let e = write_atomic(&root, "/builds/.podrun-0/x.conf", "x", 0o644, None).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        // A link as the last component is not written through either.
        std::fs::create_dir(root.join("etc")).unwrap();
        std::fs::write(elsewhere.join("target"), "theirs\n").unwrap();
        symlink(elsewhere.join("target"), root.join("etc/subuid")).unwrap();
        assert!(append_line(&root, "/etc/subuid", "a:1:2").is_err());
        assert!(write_atomic(&root, "/etc/subuid", "x", 0o644, None).is_err());
        assert!(read_no_follow(&root, "/etc/subuid").is_err());
        assert_eq!(
            std::fs::read_to_string(elsewhere.join("target")).unwrap(),
            "theirs\n"
        );
        assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 1);
    }

    #[test]
    fn modes_are_set_on_what_was_made_and_never_widened() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        assert!(create_dir(root, "/a/b", 0o700).unwrap());
        let mode = |p: &str| {
            std::fs::metadata(root.join(p))
                .unwrap()
                .permissions()
                .mode()
                & 0o7777
        };
        assert_eq!(mode("a/b"), 0o700);
        assert_eq!(mode("a"), 0o755);
        // An existing directory keeps its mode.
        std::fs::set_permissions(root.join("a/b"), std::fs::Permissions::from_mode(0o750)).unwrap();
        assert!(!create_dir(root, "/a/b", 0o700).unwrap());
        assert_eq!(mode("a/b"), 0o750);
        write_atomic(root, "/a/f", "one", 0o600, None).unwrap();
        write_atomic(root, "/a/f", "two", 0o644, Some(Some("one"))).unwrap();
        assert_eq!(mode("a/f"), 0o600);
        std::fs::write(root.join("a/passwd"), "root:x:0:0::/root:/bin/sh\n").unwrap();
        std::fs::set_permissions(
            root.join("a/passwd"),
            std::fs::Permissions::from_mode(0o664),
        )
        .unwrap();
        assert!(append_line(root, "/a/passwd", "u:x:1:1::/h:/bin/sh").unwrap());
        assert!(!append_line(root, "/a/passwd", "u:x:1:1::/h:/bin/sh").unwrap());
        assert_eq!(mode("a/passwd"), 0o664);
        assert_eq!(
            std::fs::read_to_string(root.join("a/passwd")).unwrap(),
            "root:x:0:0::/root:/bin/sh\nu:x:1:1::/h:/bin/sh\n"
        );
        let names: Vec<_> = std::fs::read_dir(root.join("a"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 3, "no temp file left: {names:?}");
    }

    /// Issue 9: a target replaced between the engine's check and its write
    /// (a file of someone else's, or a symlink) is never overwritten.
    #[test]
    fn a_target_swapped_after_the_check_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("ours.conf"), "# ours\n").unwrap();
        // The engine saw "# ours"; someone put their own file there since.
        std::fs::write(root.join("ours.conf"), "theirs\n").unwrap();
        let e =
            write_atomic(root, "/ours.conf", "# new\n", 0o644, Some(Some("# ours\n"))).unwrap_err();
        assert!(
            e.to_string().contains("changed while it was being written"),
            "{e}"
        );
        assert_eq!(
            std::fs::read_to_string(root.join("ours.conf")).unwrap(),
            "theirs\n"
        );
        // Absent when checked, present now: not overwritten either.
        let e = write_atomic(root, "/ours.conf", "# new\n", 0o644, Some(None)).unwrap_err();
        assert!(e.to_string().contains("changed"), "{e}");
        // A symlink swapped in: refused, its target untouched.
        std::fs::remove_file(root.join("ours.conf")).unwrap();
        std::fs::write(root.join("victim"), "v\n").unwrap();
        symlink(root.join("victim"), root.join("ours.conf")).unwrap();
        assert!(write_atomic(root, "/ours.conf", "# new\n", 0o644, Some(None)).is_err());
        assert_eq!(std::fs::read_to_string(root.join("victim")).unwrap(), "v\n");
        assert_eq!(names(root), vec!["ours.conf", "victim"]);
    }

    /// Issue 9, tests/races.rs: another program appends to /etc/passwd
    /// (`>>`, one write per line) while the doctor replaces the file. Its
    /// lines written between the doctor's read and its rename were lost
    /// with the old file, or the doctor gave up ("changed while it was
    /// being extended"). Now every append lands and nothing is lost.
    #[test]
    fn an_appender_racing_the_replacement_loses_no_line() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        std::fs::write(root.join("passwd"), "root:x:0:0::/root:/bin/sh\n").unwrap();
        let other = {
            let file = root.join("passwd");
            std::thread::spawn(move || {
                use std::os::unix::fs::OpenOptionsExt;
                let mut f = std::fs::OpenOptions::new()
                    .append(true)
                    .custom_flags(nix::libc::O_CLOEXEC)
                    .open(&file)
                    .unwrap();
                for i in 0..3000 {
                    // A fresh open now and then, as `>>` in a loop does.
                    if i % 10 == 0 {
                        f = std::fs::OpenOptions::new()
                            .append(true)
                            .open(&file)
                            .unwrap();
                    }
                    f.write_all(format!("o{i}:x:{i}:0::/:/bin/false\n").as_bytes())
                        .unwrap();
                }
            })
        };
        for i in 0..40 {
            let line = format!("d{i}:x:{}:0::/:/bin/sh", 100000 + i);
            assert!(append_line(&root, "/passwd", &line).unwrap(), "{line}");
        }
        other.join().unwrap();
        let text = std::fs::read_to_string(root.join("passwd")).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for i in 0..3000 {
            let want = format!("o{i}:x:{i}:0::/:/bin/false");
            assert_eq!(lines.iter().filter(|l| **l == want).count(), 1, "{want}");
        }
        for i in 0..40 {
            let want = format!("d{i}:x:{}:0::/:/bin/sh", 100000 + i);
            assert_eq!(lines.iter().filter(|l| **l == want).count(), 1, "{want}");
        }
        assert_eq!(lines.len(), 3041);
        assert_eq!(names(&root), vec!["passwd"]);
    }

    /// Doctors appending the same line at once add it once and none fails:
    /// they take turns (flock) and a later one finds the line.
    #[test]
    fn doctors_appending_one_line_at_once_add_it_once() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        for round in 0..20 {
            std::fs::write(root.join("subuid"), "root:100000:65536\n").unwrap();
            let threads: Vec<_> = (0..6)
                .map(|_| {
                    let root = root.clone();
                    std::thread::spawn(move || append_line(&root, "/subuid", "job:200000:65536"))
                })
                .collect();
            let added: Vec<bool> = threads
                .into_iter()
                .map(|t| t.join().unwrap().unwrap())
                .collect();
            assert_eq!(added.iter().filter(|a| **a).count(), 1, "round {round}");
            assert_eq!(
                std::fs::read_to_string(root.join("subuid")).unwrap(),
                "root:100000:65536\njob:200000:65536\n",
                "round {round}"
            );
        }
    }

    /// A lock someone never lets go costs about a second, once, and says so.
    #[test]
    fn a_file_locked_by_another_process_is_left_after_a_second() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("passwd"), "root:x:0:0::/root:/bin/sh\n").unwrap();
        let held = std::fs::File::open(dir.path().join("passwd")).unwrap();
        let held = nix::fcntl::Flock::lock(held, nix::fcntl::FlockArg::LockExclusive).unwrap();
        let start = std::time::Instant::now();
        let e = append_line(dir.path(), "/passwd", "u:x:1:1::/h:/bin/sh").unwrap_err();
        let took = start.elapsed();
        assert!(
            e.to_string().contains("/passwd stayed locked (flock)"),
            "{e}"
        );
        assert!(took < std::time::Duration::from_millis(2500), "{took:?}");
        drop(held);
        assert!(append_line(dir.path(), "/passwd", "u:x:1:1::/h:/bin/sh").unwrap());
    }

    /// Two runs that both found the file absent: the second finds the first
    /// one's identical content, which is no conflict and no change of its own.
    #[test]
    fn identical_content_written_first_by_another_run_is_already_there() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write_atomic(root, "/x.conf", "# same\n", 0o644, Some(None)).unwrap();
        let e = write_atomic(root, "/x.conf", "# same\n", 0o644, Some(None)).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists, "{e}");
        assert_eq!(
            std::fs::read_to_string(root.join("x.conf")).unwrap(),
            "# same\n"
        );
    }

    /// A file someone puts at the name in the last moment, after the
    /// check and before the rename (a group-writable HOME shared with
    /// another uid), is not replaced by a file the doctor creates.
    #[test]
    fn a_file_planted_just_before_the_rename_is_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let fd = open_dir(dir.path(), "/", None).unwrap().fd;
        let planted = dir.path().join("x.conf");
        let plant = || {
            std::fs::write(&planted, "theirs\n").unwrap();
            Ok(())
        };
        let how = How {
            create_only: true,
            durable: true,
        };
        let e = replace_in(&fd, "x.conf", b"ours\n", 0o644, None, plant, how).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock, "{e}");
        assert!(
            e.to_string()
                .contains("appeared while it was being written"),
            "{e}"
        );
        assert_eq!(std::fs::read_to_string(&planted).unwrap(), "theirs\n");
        assert_eq!(names(dir.path()), vec!["x.conf"]);
    }

    /// A report (not durable) unlinks what is at its name before the
    /// rename: a symlink planted there after the check is removed itself,
    /// never written through, and the report lands whole.
    #[test]
    fn a_symlink_planted_before_a_report_lands_is_replaced_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let fd = open_dir(dir.path(), "/", None).unwrap().fd;
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious\n").unwrap();
        let report = dir.path().join("r.json");
        std::fs::write(&report, "old\n").unwrap();
        let plant = || {
            std::fs::remove_file(&report).unwrap();
            std::os::unix::fs::symlink(&victim, &report).unwrap();
            Ok(())
        };
        let how = How {
            create_only: false,
            durable: false,
        };
        replace_in(&fd, "r.json", b"{}\n", 0o644, None, plant, how).unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
        let meta = std::fs::symlink_metadata(&report).unwrap();
        assert!(meta.file_type().is_file());
        assert_eq!(std::fs::read_to_string(&report).unwrap(), "{}\n");
        assert_eq!(names(dir.path()), vec!["r.json", "victim"]);
    }

    #[test]
    fn a_fifo_is_refused_at_once_instead_of_hanging() {
        let dir = tempfile::tempdir().unwrap();
        nix::unistd::mkfifo(&dir.path().join("subuid"), Mode::from_bits_truncate(0o666)).unwrap();
        let e = append_line(dir.path(), "/subuid", "a:1:2").unwrap_err();
        assert!(
            e.to_string().contains("is a fifo, not a regular file"),
            "{e}"
        );
    }

    #[test]
    fn a_directory_of_another_uid_is_not_written_through() {
        // Only root can give a directory away; CI runs as root. Never a silent pass.
        assert!(
            nix::unistd::geteuid().is_root(),
            "needs root to chown a directory to uid 1000: run `cargo test` as root, as \
             tests/run.sh does in CI"
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("theirs")).unwrap();
        std::os::unix::fs::chown(dir.path().join("theirs"), Some(1000), Some(1000)).unwrap();
        let e = write_atomic(dir.path(), "/theirs/x", "x", 0o644, None).unwrap_err();
        assert!(e.to_string().contains("/theirs belongs to uid 1000"), "{e}");
        assert_eq!(
            std::fs::metadata(dir.path().join("theirs")).unwrap().uid(),
            1000
        );
    }

    /// Issue 9 item 6: on ENOSPC the sub-id append left a truncated line.
    /// Runs the half below in a private mount namespace (root only: only
    /// root can mount the tiny tmpfs; CI runs as root).
    #[test]
    fn a_full_disk_leaves_system_files_whole() {
        assert!(
            nix::unistd::geteuid().is_root(),
            "needs root to mount a tmpfs in a private mount namespace: run `cargo test` as \
             root, as tests/run.sh does in CI"
        );
        let out = std::process::Command::new("unshare")
            .args(["-m", "--propagation", "private"])
            .arg(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "host::safe::tests::full_disk_inside_a_mount_namespace",
            ])
            .args(["--ignored", "--nocapture", "--test-threads=1"])
            .output()
            .expect("unshare runs (apt-get install util-linux)");
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{text}");
        assert!(text.contains("1 passed"), "{text}");
    }

    #[test]
    #[ignore = "run by a_full_disk_leaves_system_files_whole in its own mount namespace"]
    fn full_disk_inside_a_mount_namespace() {
        use nix::mount::{mount, MsFlags};
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        mount(
            Some("tmpfs"),
            root,
            Some("tmpfs"),
            MsFlags::empty(),
            Some("size=64k"),
        )
        .unwrap();
        std::fs::create_dir(root.join("etc")).unwrap();
        // 40 KiB of ranges: a whole second copy cannot fit in 64 KiB.
        let ranges: String = (0..2000)
            .map(|i| format!("u{i:05}:{}:65536\n", 100000 + i))
            .collect();
        std::fs::write(root.join("etc/subuid"), &ranges).unwrap();
        let e = append_line(root, "/etc/subuid", "podman:1:999").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::StorageFull, "{e}");
        assert_eq!(
            std::fs::read_to_string(root.join("etc/subuid")).unwrap(),
            ranges
        );
        assert_eq!(names(&root.join("etc")), vec!["subuid"]);

        // In place (the directory closed to the job): the filesystem full to
        // the last page, the single write fails and the file stays whole.
        let page = vec![b'#'; 4096];
        std::fs::write(root.join("etc/passwd"), &page).unwrap();
        let mut filler = std::fs::File::create(root.join("filler")).unwrap();
        while filler.write_all(&page).is_ok() {}
        drop(filler);
        let dirfd = open_dir(root, "/etc", None).unwrap().fd;
        let st = fstatat(&dirfd, "passwd", AtFlags::AT_SYMLINK_NOFOLLOW).unwrap();
        let e = append_in_place(
            &dirfd,
            "passwd",
            "/etc/passwd",
            &st,
            b"u:x:1:1::/h:/bin/sh\n",
        )
        .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::StorageFull, "{e}");
        assert_eq!(std::fs::read(root.join("etc/passwd")).unwrap(), page);
        drop(dirfd);
        nix::mount::umount(root).unwrap();
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}
