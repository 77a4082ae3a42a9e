//! Reading a file the doctor examines (config files, `/etc/subuid`,
//! `/etc/passwd`) so that nothing found at the path can hang it, exhaust its
//! memory or pass for an absent file: the type is checked before the open
//! and again on the open descriptor, the open never blocks, the size is
//! capped, and every refusal is a [`ReadProblem`] that says in words what
//! was found and what to do.
//!
//! The last component may be a symlink (images link config files into
//! place); what it points to must still be a regular file.

use super::stat::FileKind;
use std::fmt;
use std::io::{self, Read};
use std::path::Path;

/// The first read of a file: a config file, passwd or /proc table fits
/// (through `take`, std knows no size and starts with a 32-byte read,
/// doubling: 8 reads for a mountinfo).
pub(crate) const READ_START: usize = 8 << 10;

/// The most read of one file: far above any config or passwd file.
pub const CHECKED_LIMIT: u64 = 4 << 20;

/// What stood where a readable regular file was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// A FIFO, socket, device or directory.
    NotRegular(FileKind),
    /// Larger than [`CHECKED_LIMIT`].
    TooBig,
    /// `EACCES`/`EPERM`: not readable by this process.
    Denied,
    /// `ELOOP`: a symlink loop.
    Loop,
    /// A symlink to nothing.
    Dangling,
    /// Bytes that are not UTF-8.
    NotUtf8,
    /// Any other errno, by name.
    Error(String),
}

/// Why a file could not be read, as a sentence for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadProblem {
    pub path: String,
    pub found: Found,
}

/// What [`read_checked`] gives: the bytes, `None` when nothing is there.
pub type Checked = Result<Option<Vec<u8>>, ReadProblem>;

fn kind_words(kind: FileKind) -> &'static str {
    match kind {
        FileKind::Fifo => "a FIFO (named pipe)",
        FileKind::Socket => "a socket",
        FileKind::Char => "a character device",
        FileKind::Block => "a block device",
        FileKind::Dir => "a directory",
        FileKind::Symlink => "a symbolic link",
        FileKind::File => "a regular file",
    }
}

impl fmt::Display for ReadProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.path;
        match &self.found {
            Found::NotRegular(kind) => write!(
                f,
                "{p} is {}, not a regular file: podman would hang or fail reading it too; \
                 replace it with a regular file or remove it",
                kind_words(*kind)
            ),
            Found::TooBig => write!(
                f,
                "{p} is larger than {} MiB, far more than any such file holds: not read; \
                 check what wrote it, or remove it",
                CHECKED_LIMIT >> 20
            ),
            Found::Denied => write!(
                f,
                "{p} exists but cannot be read by this user (EACCES): podman running as this \
                 user cannot read it either; make it readable (chmod a+r) or remove it"
            ),
            Found::Loop => write!(
                f,
                "{p} is a symbolic link that loops (ELOOP): fix the link or remove it"
            ),
            Found::Dangling => write!(
                f,
                "{p} is a symbolic link to nothing: fix the link or remove it"
            ),
            Found::NotUtf8 => write!(
                f,
                "{p} is not UTF-8 text: podman cannot parse it either; rewrite it as UTF-8"
            ),
            Found::Error(errno) if errno == "ETIMEDOUT" => write!(
                f,
                "{p} did not answer within the doctor's deadline (a stalled FUSE or NFS mount, \
                 or a file whose open blocks): podman would hang on it too; unmount or repair \
                 the filesystem it is on"
            ),
            Found::Error(errno) => write!(
                f,
                "{p} cannot be read ({errno}): check the file and the filesystem it is on"
            ),
        }
    }
}

impl std::error::Error for ReadProblem {}

impl ReadProblem {
    pub fn new(path: &str, found: Found) -> ReadProblem {
        ReadProblem {
            path: path.to_string(),
            found,
        }
    }

    /// The errno this problem stands for (for capture and old callers).
    pub fn errno(&self) -> i32 {
        use nix::libc;
        match &self.found {
            Found::NotRegular(FileKind::Dir) => libc::EISDIR,
            Found::NotRegular(_) => libc::EINVAL,
            Found::TooBig => libc::EFBIG,
            Found::Denied => libc::EACCES,
            Found::Loop => libc::ELOOP,
            Found::Dangling => libc::ENOENT,
            Found::NotUtf8 => libc::EILSEQ,
            Found::Error(name) => super::error_from_name(name)
                .raw_os_error()
                .unwrap_or(libc::EIO),
        }
    }

    pub(crate) fn from_io(path: &str, e: &io::Error) -> ReadProblem {
        let found = match e.raw_os_error() {
            Some(nix::libc::EACCES) | Some(nix::libc::EPERM) => Found::Denied,
            Some(nix::libc::ELOOP) => Found::Loop,
            Some(nix::libc::EFBIG) => Found::TooBig,
            Some(nix::libc::EISDIR) => Found::NotRegular(FileKind::Dir),
            _ => Found::Error(super::io_error_name(e)),
        };
        ReadProblem::new(path, found)
    }
}

fn regular(path: &str, meta: &std::fs::Metadata) -> Result<(), ReadProblem> {
    let kind = super::stat::stat_of(meta).kind;
    if kind != FileKind::File {
        return Err(ReadProblem::new(path, Found::NotRegular(kind)));
    }
    if meta.len() > CHECKED_LIMIT {
        return Err(ReadProblem::new(path, Found::TooBig));
    }
    Ok(())
}

/// Reads `path` under `root` (see the module comment). `Ok(None)` when
/// nothing is there.
pub fn read_checked(root: &Path, path: &str) -> Checked {
    use std::os::unix::fs::OpenOptionsExt;
    let full = root.join(path.trim_start_matches('/'));
    // Type first, by path: opening a device or a FIFO can have effects.
    let meta = match std::fs::metadata(&full) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return match std::fs::symlink_metadata(&full) {
                Ok(_) => Err(ReadProblem::new(path, Found::Dangling)),
                Err(_) => Ok(None),
            };
        }
        Err(e) => return Err(ReadProblem::from_io(path, &e)),
    };
    regular(path, &meta)?;
    // Then on the descriptor: the path may have been swapped since.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK | nix::libc::O_CLOEXEC)
        .open(&full)
        .map_err(|e| ReadProblem::from_io(path, &e))?;
    let meta = file
        .metadata()
        .map_err(|e| ReadProblem::from_io(path, &e))?;
    regular(path, &meta)?;
    let size = usize::try_from(meta.len())
        .unwrap_or(0)
        .min(CHECKED_LIMIT as usize);
    let mut buf = Vec::with_capacity(size.max(READ_START));
    file.take(CHECKED_LIMIT + 1)
        .read_to_end(&mut buf)
        .map_err(|e| ReadProblem::from_io(path, &e))?;
    if buf.len() as u64 > CHECKED_LIMIT {
        return Err(ReadProblem::new(path, Found::TooBig));
    }
    Ok(Some(buf))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn found(root: &Path, path: &str) -> Found {
        read_checked(root, path).unwrap_err().found
    }

    #[test]
    fn hostile_files_are_typed_problems_within_no_time() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let started = std::time::Instant::now();
        nix::unistd::mkfifo(
            &root.join("fifo"),
            nix::sys::stat::Mode::from_bits_truncate(0o644),
        )
        .unwrap();
        assert_eq!(found(root, "/fifo"), Found::NotRegular(FileKind::Fifo));
        std::fs::create_dir(root.join("dir")).unwrap();
        assert_eq!(found(root, "/dir"), Found::NotRegular(FileKind::Dir));
        let _sock = std::os::unix::net::UnixListener::bind(root.join("sock")).unwrap();
        assert_eq!(found(root, "/sock"), Found::NotRegular(FileKind::Socket));
        std::os::unix::fs::symlink("/dev/zero", root.join("zero")).unwrap();
        assert_eq!(found(root, "/zero"), Found::NotRegular(FileKind::Char));
        std::os::unix::fs::symlink("loop", root.join("loop")).unwrap();
        assert_eq!(found(root, "/loop"), Found::Loop);
        std::os::unix::fs::symlink("nowhere", root.join("dangling")).unwrap();
        assert_eq!(found(root, "/dangling"), Found::Dangling);
        std::fs::write(root.join("big"), vec![b'#'; CHECKED_LIMIT as usize + 1]).unwrap();
        assert_eq!(found(root, "/big"), Found::TooBig);
        assert_eq!(read_checked(root, "/absent").unwrap(), None);
        std::fs::write(root.join("ok.conf"), "a = 1\n").unwrap();
        std::os::unix::fs::symlink("ok.conf", root.join("linked.conf")).unwrap();
        assert_eq!(
            read_checked(root, "/linked.conf").unwrap().unwrap(),
            b"a = 1\n"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        let text = read_checked(root, "/fifo").unwrap_err().to_string();
        assert!(
            text.starts_with("/fifo is a FIFO (named pipe), not a regular file"),
            "{text}"
        );
        assert!(text.contains("remove it"), "{text}");
    }

    #[test]
    fn an_unreadable_file_is_denied_not_absent() {
        let denied = io::Error::from_raw_os_error(nix::libc::EACCES);
        assert_eq!(ReadProblem::from_io("/f", &denied).found, Found::Denied);
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("storage.conf");
        std::fs::write(&f, "x").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o000)).unwrap();
        let got = without_dac_override(|| found(dir.path(), "/storage.conf"));
        assert_eq!(got, Found::Denied);
    }

    /// Runs `f` without the capabilities that let root read a mode 000
    /// file, so the denial is seen as root too (CI runs as root). They are
    /// per thread: only this test's thread loses them, and gets them back.
    fn without_dac_override<T>(f: impl FnOnce() -> T) -> T {
        use caps::{CapSet, Capability};
        let dac = [
            Capability::CAP_DAC_OVERRIDE,
            Capability::CAP_DAC_READ_SEARCH,
        ];
        let held: Vec<_> = dac
            .into_iter()
            .filter(|c| caps::has_cap(None, CapSet::Effective, *c).unwrap())
            .collect();
        for c in &held {
            caps::drop(None, CapSet::Effective, *c).unwrap();
        }
        let out = f();
        for c in &held {
            caps::raise(None, CapSet::Effective, *c).unwrap();
        }
        out
    }
}
