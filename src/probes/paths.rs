//! The paths podman derives from the environment (HOME, the XDG
//! directories, the user's config home) and the job directory this tool
//! writes into, derived once per probe round by the identity area; every
//! later area reads `found.identity.paths` instead of the environment.

use crate::host::{Access, Host};

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
        Paths {
            home,
            xdg_config_home,
            xdg_data_home: nonempty("XDG_DATA_HOME"),
            xdg_runtime_dir: nonempty("XDG_RUNTIME_DIR"),
            config_home,
            job_dir: job_dir(host),
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
/// The same base the HOME relocation uses. `None` when neither is writable
/// or the directory exists and is not the job's.
pub fn job_dir(host: &Host) -> Option<String> {
    let uid = host.uid();
    let usable = |base: &str| match host.stat(base) {
        Ok(st) => st.uid == uid && host.is_dir(base) && host.access(base, Access::Write).is_ok(),
        Err(_) => host
            .access(&host.nearest_existing(base), Access::Write)
            .is_ok(),
    };
    let builds = host
        .env_nonempty("CI_BUILDS_DIR")
        .filter(|b| b.starts_with('/'))
        .map(|b| b.trim_end_matches('/').to_string())
        .filter(|b| !b.is_empty() && host.is_dir(b) && host.access(b, Access::Write).is_ok())
        .map(|b| format!("{b}/.podrun-{uid}"));
    let tmps = [host.env_nonempty("TMPDIR"), Some("/tmp")]
        .into_iter()
        .flatten()
        .filter(|t| t.starts_with('/'))
        .map(|t| t.trim_end_matches('/').to_string())
        .filter(|t| !t.is_empty() && host.is_dir(t) && host.access(t, Access::Write).is_ok())
        .map(|t| format!("{t}/podrun-{uid}"));
    builds.into_iter().chain(tmps).find(|b| usable(b))
}
