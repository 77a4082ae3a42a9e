//! The paths podman derives from the environment (HOME, the XDG
//! directories, the user's config home) and the job directory this tool
//! writes into, derived once per probe round by the identity area; every
//! later area reads `found.identity.paths` instead of the environment.

use crate::host::{Access, FileKind, Host};

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Paths {
    /// `HOME` as found (possibly empty: identity judges it).
    pub home: Option<String>,
    /// `XDG_CONFIG_HOME`, when set and non-empty.
    pub xdg_config_home: Option<String>,
    /// `XDG_DATA_HOME`, when set and non-empty.
    pub xdg_data_home: Option<String>,
    /// `XDG_RUNTIME_DIR`, when set and non-empty.
    pub xdg_runtime_dir: Option<String>,
    /// The user's config home: `$XDG_CONFIG_HOME` or `$HOME/.config`.
    pub config_home: Option<String>,
    /// See `job_dir`.
    pub job_dir: Option<String>,
    /// Job-directory candidates someone else got to first (a symlink, a
    /// directory of another uid), in words, so a remedy can say why the
    /// job has no directory of its own.
    pub job_dir_taken: Vec<String>,
}

impl Paths {
    pub fn derive(host: &Host) -> Paths {
        let nonempty = |k: &str| host.env_nonempty(k).map(str::to_string);
        let home = host.env("HOME").map(str::to_string);
        let xdg_config_home = nonempty("XDG_CONFIG_HOME");
        let config_home = xdg_config_home
            .as_deref()
            .map(|s| s.trim_end_matches('/').to_string())
            .or_else(|| nonempty("HOME").map(|h| format!("{}/.config", h.trim_end_matches('/'))));
        let (job_dir, job_dir_taken) = find_job_dir(host);
        Paths {
            home,
            xdg_config_home,
            xdg_data_home: nonempty("XDG_DATA_HOME"),
            xdg_runtime_dir: nonempty("XDG_RUNTIME_DIR"),
            config_home,
            job_dir,
            job_dir_taken,
        }
    }

    /// `HOME` when set and non-empty.
    pub fn home_set(&self) -> Option<&str> {
        self.home.as_deref().filter(|h| !h.is_empty())
    }
}

/// A directory of the job's own for files this tool writes outside the
/// image's config directories: `$CI_BUILDS_DIR/.podrun-UID` when the builds
/// directory is writable, else `$TMPDIR/podrun-UID` (or `/tmp/podrun-UID`).
/// The same base the HOME relocation uses. `None` when no parent is safe
/// and writable, or the directory exists and is not the job's.
///
/// Files here are read by path later (podman reads an exported
/// `CONTAINERS_CONF_OVERRIDE` long after this run), so a parent any uid
/// may rename entries in (world-writable without the sticky bit: a
/// Kubernetes emptyDir `/builds` is 0777) is refused, and the candidate is
/// judged without following a link: a symlink planted there is taken as
/// existing and foreign.
pub fn job_dir(host: &Host) -> Option<String> {
    find_job_dir(host).0
}

/// The candidates that exist but are not the job's (see `job_dir`), each
/// with what is there instead; empty once one of them is usable.
pub fn job_dir_taken(host: &Host) -> Vec<String> {
    find_job_dir(host).1
}

/// `job_dir` and `job_dir_taken` in one walk: the candidates in order
/// (under `CI_BUILDS_DIR`, then `TMPDIR`, then `/tmp`, each only under a
/// parent no other uid can rename entries in), up to the first usable one.
fn find_job_dir(host: &Host) -> (Option<String>, Vec<String>) {
    let uid = host.uid();
    let builds = host
        .env_nonempty("CI_BUILDS_DIR")
        .and_then(clean_dir)
        .filter(|b| safe_parent(host, b, uid))
        .map(|b| format!("{b}/.podrun-{uid}"));
    let tmps = [host.env_nonempty("TMPDIR"), Some("/tmp")]
        .into_iter()
        .flatten()
        .filter_map(clean_dir)
        .filter(|t| safe_parent(host, t, uid))
        .map(|t| format!("{t}/podrun-{uid}"));
    let mut taken = Vec::new();
    for c in builds.into_iter().chain(tmps) {
        if usable_candidate(host, &c, uid) {
            return (Some(c), Vec::new());
        }
        if let Ok(st) = host.lstat(&c) {
            let what = if st.kind == FileKind::Symlink {
                "a symlink".to_string()
            } else {
                format!("a {} of uid {}", kind_word(st.kind), st.uid)
            };
            taken.push(format!("{c} is {what}"));
        }
    }
    (None, taken)
}

fn kind_word(kind: FileKind) -> &'static str {
    match kind {
        FileKind::Dir => "directory",
        FileKind::File => "file",
        _ => "special file",
    }
}

/// An absolute directory path without a trailing `/` and without control
/// characters (the path goes into exported variables and config files).
fn clean_dir(dir: &str) -> Option<String> {
    let d = dir.trim_end_matches('/');
    (dir.starts_with('/') && !d.is_empty() && !d.chars().any(char::is_control))
        .then(|| d.to_string())
}

/// A parent for the job directory: a writable directory owned by root or
/// by the job's uid that no other uid can rename entries in (not
/// world-writable, or sticky like `/tmp`). The parent itself is the
/// runner's (a mount point, `/tmp`), so a following `stat` is right here.
pub fn safe_parent(host: &Host, dir: &str, uid: u32) -> bool {
    match host.stat(dir) {
        Ok(st) => {
            st.kind == FileKind::Dir
                && (st.uid == 0 || st.uid == uid)
                && !open_to_renames(st.mode)
                && host.access(dir, Access::Write).is_ok()
        }
        Err(_) => false,
    }
}

/// World-writable without the sticky bit: any uid may rename or replace
/// the directory's entries.
pub fn open_to_renames(mode: u32) -> bool {
    mode & 0o002 != 0 && mode & 0o1000 == 0
}

/// The candidate is absent (this tool creates it) or a real directory of
/// the job's uid that it can write; a symlink is never usable.
fn usable_candidate(host: &Host, path: &str, uid: u32) -> bool {
    match host.lstat(path) {
        Ok(_) => host.owned_dir_no_follow(path, uid) && host.access(path, Access::Write).is_ok(),
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::testutil::Fixture;

    /// Issue 9 item 1: uid 1000 plants `/builds/.podrun-0 -> /var/tmp`; a
    /// following stat saw a root-owned writable directory and root wrote
    /// its override file through the link. The link is now foreign.
    #[test]
    fn a_planted_symlink_is_never_the_job_dir() {
        let host = Fixture::new()
            .env("CI_BUILDS_DIR", "/builds")
            .dir("/builds")
            .stat("/builds", "dir", 0o755, 0, 0)
            .dir("/var/tmp")
            .symlink("/builds/.podrun-0", "../var/tmp")
            .dir("/tmp")
            .stat("/tmp", "dir", 0o1777, 0, 0)
            .host();
        assert!(host.is_dir("/builds/.podrun-0"), "the link resolves");
        assert_eq!(job_dir(&host).as_deref(), Some("/tmp/podrun-0"));
        // Nowhere else to go: no job directory at all rather than the link.
        let host = Fixture::new()
            .env("CI_BUILDS_DIR", "/builds")
            .dir("/builds")
            .stat("/builds", "dir", 0o755, 0, 0)
            .dir("/var/tmp")
            .symlink("/builds/.podrun-0", "../var/tmp")
            .stat_err("/tmp", "ENOENT")
            .host();
        assert_eq!(job_dir(&host), None);
        // And the remedy can say why.
        assert_eq!(
            job_dir_taken(&host),
            vec!["/builds/.podrun-0 is a symlink".to_string()]
        );
    }

    /// tests/races.rs: uid 1000 made `/tmp/podrun-0` first; the job has no
    /// directory of its own and the finding says whose it is.
    #[test]
    fn a_job_dir_of_another_uid_is_named_with_its_owner() {
        let host = Fixture::new()
            .dir("/tmp")
            .stat("/tmp", "dir", 0o1777, 0, 0)
            .dir("/tmp/podrun-0")
            .stat("/tmp/podrun-0", "dir", 0o755, 1000, 1000)
            .host();
        assert_eq!(job_dir(&host), None);
        assert_eq!(
            job_dir_taken(&host),
            vec!["/tmp/podrun-0 is a directory of uid 1000".to_string()]
        );
        // A usable candidate leaves nothing to explain.
        let free = Fixture::new()
            .dir("/tmp")
            .stat("/tmp", "dir", 0o1777, 0, 0)
            .host();
        assert_eq!(job_dir(&free).as_deref(), Some("/tmp/podrun-0"));
        assert!(job_dir_taken(&free).is_empty());
    }

    /// A Kubernetes emptyDir `/builds` is 0777 without the sticky bit: any
    /// uid can rename `.podrun-0` away and put a link in its place after
    /// the run, while podman reads the exported file by path later.
    #[test]
    fn a_world_writable_parent_without_sticky_bit_is_refused() {
        let fx = |mode: u32| {
            Fixture::new()
                .env("CI_BUILDS_DIR", "/builds/")
                .dir("/builds")
                .stat("/builds", "dir", mode, 0, 0)
                .dir("/tmp")
                .stat("/tmp", "dir", 0o1777, 0, 0)
                .host()
        };
        assert_eq!(job_dir(&fx(0o777)).as_deref(), Some("/tmp/podrun-0"));
        assert_eq!(job_dir(&fx(0o1777)).as_deref(), Some("/builds/.podrun-0"));
        assert_eq!(job_dir(&fx(0o755)).as_deref(), Some("/builds/.podrun-0"));
        assert!(open_to_renames(0o777) && open_to_renames(0o40777 & 0o7777));
        assert!(!open_to_renames(0o1777) && !open_to_renames(0o775));
    }

    #[test]
    fn a_parent_of_another_uid_or_with_control_characters_is_refused() {
        // TMPDIR of uid 1000, doctor as root: uid 1000 could swap entries.
        let host = Fixture::new()
            .env("TMPDIR", "/home/u/tmp")
            .dir("/home/u/tmp")
            .stat("/home/u/tmp", "dir", 0o755, 1000, 1000)
            .stat_err("/tmp", "ENOENT")
            .host();
        assert_eq!(job_dir(&host), None);
        // The same directory is the job's own when uid 1000 runs.
        let host = Fixture::new()
            .uid(1000)
            .env("TMPDIR", "/home/u/tmp")
            .dir("/home/u/tmp")
            .stat("/home/u/tmp", "dir", 0o755, 1000, 1000)
            .host();
        assert_eq!(job_dir(&host).as_deref(), Some("/home/u/tmp/podrun-1000"));
        // A newline in TMPDIR never becomes a path this tool exports.
        let host = Fixture::new()
            .uid(1000)
            .env("TMPDIR", "/tmp/x\nevil")
            .dir("/tmp/x\nevil")
            .dir("/tmp")
            .stat("/tmp", "dir", 0o1777, 0, 0)
            .host();
        assert_eq!(job_dir(&host).as_deref(), Some("/tmp/podrun-1000"));
    }

    #[test]
    fn an_existing_job_dir_must_be_a_real_directory_of_the_uid() {
        let fx = || {
            Fixture::new()
                .uid(1000)
                .dir("/tmp/podrun-1000")
                .stat("/tmp", "dir", 0o1777, 0, 0)
        };
        let own = fx()
            .stat("/tmp/podrun-1000", "dir", 0o700, 1000, 1000)
            .host();
        assert_eq!(job_dir(&own).as_deref(), Some("/tmp/podrun-1000"));
        let foreign = fx()
            .stat("/tmp/podrun-1000", "dir", 0o700, 2000, 2000)
            .host();
        assert_eq!(job_dir(&foreign), None);
        let file = Fixture::new()
            .uid(1000)
            .file("/tmp/podrun-1000", "")
            .stat("/tmp", "dir", 0o1777, 0, 0)
            .stat("/tmp/podrun-1000", "file", 0o600, 1000, 1000)
            .host();
        assert_eq!(job_dir(&file), None);
    }
}
