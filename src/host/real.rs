//! The real system: plain syscalls through nix.

use super::sys::{Access, CmdOutput, FileKind, FsStat, Probe, ProbeResult, Stat, Sys};
use std::collections::BTreeMap;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Stdio};

pub struct RealSys;

fn full(root: &Path, path: &str) -> std::path::PathBuf {
    root.join(path.trim_start_matches('/'))
}

pub(crate) fn stat_of(meta: &std::fs::Metadata) -> Stat {
    let ft = meta.file_type();
    let kind = if ft.is_dir() {
        FileKind::Dir
    } else if ft.is_symlink() {
        FileKind::Symlink
    } else if ft.is_char_device() {
        FileKind::Char
    } else if ft.is_block_device() {
        FileKind::Block
    } else if ft.is_fifo() {
        FileKind::Fifo
    } else if ft.is_socket() {
        FileKind::Socket
    } else {
        FileKind::File
    };
    let rdev = meta.rdev();
    Stat {
        kind,
        mode: meta.permissions().mode() & 0o7777,
        uid: meta.uid(),
        gid: meta.gid(),
        rdev: (
            nix::sys::stat::major(rdev) as u32,
            nix::sys::stat::minor(rdev) as u32,
        ),
        size: meta.size(),
    }
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
        std::fs::read(full(root, path))
    }

    fn read_dir(&self, root: &Path, path: &str) -> io::Result<Vec<String>> {
        read_dir_sorted(&full(root, path))
    }

    fn stat(&self, root: &Path, path: &str) -> io::Result<Stat> {
        std::fs::metadata(full(root, path)).map(|m| stat_of(&m))
    }

    fn statfs(&self, root: &Path, path: &str) -> io::Result<FsStat> {
        let p = full(root, path);
        let fs = nix::sys::statfs::statfs(&p).map_err(io::Error::from)?;
        let vfs = nix::sys::statvfs::statvfs(&p).map_err(io::Error::from)?;
        let flags = vfs.flags();
        use nix::sys::statvfs::FsFlags;
        Ok(FsStat {
            magic: fs.filesystem_type().0 as u64,
            free_bytes: (vfs.blocks_available() as u64).saturating_mul(vfs.fragment_size() as u64),
            readonly: flags.contains(FsFlags::ST_RDONLY),
            nosuid: flags.contains(FsFlags::ST_NOSUID),
            noexec: flags.contains(FsFlags::ST_NOEXEC),
        })
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
        nix::unistd::faccessat(
            nix::fcntl::AT_FDCWD,
            &full(root, path),
            flags,
            nix::fcntl::AtFlags::AT_EACCESS,
        )
        .map_err(io::Error::from)
    }

    fn open_rw(&self, root: &Path, path: &str) -> io::Result<()> {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(full(root, path))
            .map(drop)
    }

    fn file_caps(&self, root: &Path, path: &str) -> io::Result<Option<Vec<u8>>> {
        getxattr(&full(root, path), "security.capability")
    }

    fn run(&self, argv: &[&str], env: &BTreeMap<String, String>) -> io::Result<CmdOutput> {
        let (program, args) = argv
            .split_first()
            .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
        let out = Command::new(program)
            .args(args)
            .env_clear()
            .envs(env)
            .stdin(Stdio::null())
            .output()?;
        Ok(CmdOutput {
            status: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    fn probe(&self, _root: &Path, probe: &Probe) -> ProbeResult {
        super::probes::run(probe)
    }
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

    #[test]
    fn stat_and_read_dir_work_on_a_temp_tree() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b"), "x").unwrap();
        std::fs::create_dir(dir.path().join("a")).unwrap();
        let sys = RealSys;
        assert_eq!(sys.read_dir(dir.path(), "/").unwrap(), vec!["a", "b"]);
        assert_eq!(sys.stat(dir.path(), "/a").unwrap().kind, FileKind::Dir);
        assert_eq!(sys.stat(dir.path(), "/b").unwrap().size, 1);
        assert!(sys.file_caps(dir.path(), "/b").unwrap().is_none());
    }
}
