//! Errno names in evidence and fixtures (`"EPERM"`, not `1`), so reports read
//! well and fixtures stay portable between architectures.

use nix::errno::Errno;
use std::io;

/// `"EPERM"` for 1, and so on; unknown numbers read `"E123"`.
pub fn errno_name(raw: i32) -> String {
    let name = format!("{:?}", Errno::from_raw(raw));
    if name == "UnknownErrno" {
        format!("E{raw}")
    } else {
        name
    }
}

/// The errno name of an I/O error, or its kind when it carries no errno.
pub fn io_error_name(err: &io::Error) -> String {
    match err.raw_os_error() {
        Some(raw) => errno_name(raw),
        None => format!("{:?}", err.kind()),
    }
}

/// The I/O error a fixture names (`"EACCES"`); unknown names give `EIO`.
pub fn error_from_name(name: &str) -> io::Error {
    (1..=133)
        .find(|raw| errno_name(*raw) == name)
        .map(io::Error::from_raw_os_error)
        .unwrap_or_else(|| io::Error::from_raw_os_error(Errno::EIO as i32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(errno_name(1), "EPERM");
        assert_eq!(errno_name(13), "EACCES");
        assert_eq!(error_from_name("EROFS").raw_os_error(), Some(30));
        assert_eq!(io_error_name(&error_from_name("ENOENT")), "ENOENT");
    }
}
