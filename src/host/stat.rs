//! What `stat(2)` says of a file, in the terms the probes use; shared by
//! the live system (`real.rs`), fixtures and the checked reader.

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    File,
    Dir,
    Symlink,
    Char,
    Block,
    Fifo,
    Socket,
}

impl FileKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::File => "file",
            FileKind::Dir => "dir",
            FileKind::Symlink => "symlink",
            FileKind::Char => "char",
            FileKind::Block => "block",
            FileKind::Fifo => "fifo",
            FileKind::Socket => "socket",
        }
    }

    pub fn parse(s: &str) -> Option<FileKind> {
        [
            FileKind::File,
            FileKind::Dir,
            FileKind::Symlink,
            FileKind::Char,
            FileKind::Block,
            FileKind::Fifo,
            FileKind::Socket,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// The parts of `stat(2)` the probes use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    pub kind: FileKind,
    /// Permission bits including setuid/setgid/sticky (`mode & 0o7777`).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// Device numbers for character and block devices.
    pub rdev: (u32, u32),
    pub size: u64,
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
