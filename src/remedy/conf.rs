//! Where and how to give podman a containers.conf setting: a drop-in
//! podman reads, else a file of the job's own exported through an
//! environment variable, else the image's remedy. One function (`route`)
//! with everything it depends on passed in (`Target`).

use crate::formats::toml::{self, Value};
use crate::host::{Access, Host};
use crate::model::{Action, By, Check, OWNED_MARKER};
use std::collections::BTreeMap;

/// The system drop-in directory podman reads.
pub const ETC_CONF_D: &str = "/etc/containers/containers.conf.d";

/// What the route depends on, each named by the caller.
pub struct Target<'a> {
    /// This podman reads the user's containers.conf files (rootless, or
    /// root with podman 5).
    pub user_dir_read: bool,
    /// This podman reads `CONTAINERS_CONF_OVERRIDE` (podman ≥ 4.5).
    pub reads_override: bool,
    /// The job runs as uid 0 (the image's own /etc drop-in directory is
    /// podman's then).
    pub root: bool,
    /// The user's config home (`$XDG_CONFIG_HOME` or `$HOME/.config`).
    pub config_home: Option<&'a str>,
    /// A directory of the job's own for exported files.
    pub job_dir: Option<&'a str>,
    /// Why there is none: candidates another uid got to first.
    pub job_dir_taken: &'a [String],
    /// HOME is about to move this round: a user drop-in waits for it.
    pub home_pending: bool,
    /// The effective configuration, by dotted key (for a `CONTAINERS_CONF`
    /// copy, which replaces every other file).
    pub settings: BTreeMap<&'a str, &'a Value>,
}

/// How a setting reaches podman: the actions and where they write, in words.
pub struct ConfRoute {
    pub actions: Vec<Action>,
    pub place: String,
}

/// Where and how to give podman `toml` (e.g. `[engine]\nruntime = "runc"\n`),
/// in this order: a drop-in podman reads (`dropin_path`); the relocated
/// HOME's drop-in when HOME moves this round; when no such directory is
/// writable (read-only /etc and HOME), a file of the job's own exported
/// through `CONTAINERS_CONF_OVERRIDE` (read last, podman ≥ 4.5), or for
/// older podman `CONTAINERS_CONF` naming a copy of the whole effective
/// configuration plus the new keys. Several fixes share that one file
/// (`Action::MergeConf`). `None` when none of this is possible.
pub fn route(host: &Host, t: &Target, name: &str, toml: &str) -> Option<ConfRoute> {
    if let Some(path) = dropin_path(host, t, name) {
        return Some(ConfRoute {
            place: format!("writes {path}"),
            actions: vec![Action::WriteFile {
                path,
                contents: format!("{OWNED_MARKER}\n{toml}"),
                mode: 0o644,
            }],
        });
    }
    let conf_env = host.env_nonempty("CONTAINERS_CONF");
    if t.home_pending && t.user_dir_read && conf_env.is_none() {
        return Some(ConfRoute {
            place: "a drop-in in the relocated HOME's containers.conf.d, once HOME is moved".into(),
            actions: Vec::new(),
        });
    }
    if let Some(p) = conf_env {
        // CONTAINERS_CONF replaces the chain: only our own file may grow.
        return ours(host, p).then(|| merge(p, toml.to_string(), "CONTAINERS_CONF"));
    }
    let base = t.job_dir?;
    if t.reads_override {
        return match host.env_nonempty("CONTAINERS_CONF_OVERRIDE") {
            Some(p) if ours(host, p) => {
                Some(merge(p, toml.to_string(), "CONTAINERS_CONF_OVERRIDE"))
            }
            Some(_) => None,
            None => Some(merge(
                &format!("{base}/containers-override.conf"),
                toml.to_string(),
                "CONTAINERS_CONF_OVERRIDE",
            )),
        };
    }
    // The whole effective configuration, then the new keys on top.
    let wanted = toml::parse(toml).ok()?;
    let mut all = t.settings.clone();
    for (k, e) in &wanted.entries {
        all.insert(k.as_str(), &e.value);
    }
    let body = toml::render_settings(all)?;
    Some(merge(
        &format!("{base}/containers.conf"),
        body,
        "CONTAINERS_CONF",
    ))
}

/// A `CONTAINERS_CONF` of the job's own holding the effective settings
/// podman could read: when a file of the chain is unreadable, only
/// replacing the chain helps (`CONTAINERS_CONF_OVERRIDE` is read on top of
/// it, and podman still dies on the unreadable file). `None` without a
/// directory of the job's own.
pub fn replace_chain(t: &Target) -> Option<ConfRoute> {
    let base = t.job_dir?;
    let body = toml::render_settings(t.settings.clone())?;
    Some(merge(
        &format!("{base}/containers.conf"),
        body,
        "CONTAINERS_CONF",
    ))
}

/// `route`'s fix on `check`, or the image remedy when the job cannot.
pub fn attach(check: Check, host: &Host, t: &Target, name: &str, body: &str, text: &str) -> Check {
    match route(host, t, name, body) {
        Some(route) => check.job_fix(format!("{text} ({})", route.place), route.actions),
        None => check.fix(
            By::Image,
            format!(
                "{text}: no containers.conf drop-in directory podman reads is writable here, nor a \
                 directory for a file of the job's own{}{}; put this in the image's \
                 /etc/containers/containers.conf.d/{name}.conf:\n{body}",
                if host.env_nonempty("CONTAINERS_CONF").is_some() {
                    " (CONTAINERS_CONF replaces all other files: edit that file)"
                } else {
                    ""
                },
                taken_note(t.job_dir_taken),
            ),
        ),
    }
}

/// Why the job has no directory of its own, when another uid took the
/// places this tool would use: the job can point TMPDIR elsewhere.
fn taken_note(taken: &[String]) -> String {
    if taken.is_empty() {
        return String::new();
    }
    format!(
        " ({}: not used, as another user controls it; set TMPDIR to a directory the job owns, \
         or empty that place)",
        taken.join(", ")
    )
}

/// A containers.conf drop-in this tool owns, placed where podman will read
/// it for this user: the user's `containers.conf.d/` when podman reads it,
/// else `/etc/containers/containers.conf.d/` (root: the job container's
/// own /etc) when writable. `None` when `CONTAINERS_CONF` replaces the
/// chain or no such place is writable.
pub fn dropin_path(host: &Host, t: &Target, name: &str) -> Option<String> {
    if host.env_nonempty("CONTAINERS_CONF").is_some() {
        return None;
    }
    let file = format!("podrun-{name}.conf");
    // Not under a HOME about to move: podman would not read it there, and
    // the next round (or run) would write it again under the new one.
    if let Some(home) = t.config_home.filter(|_| t.user_dir_read && !t.home_pending) {
        let dir = format!("{home}/containers/containers.conf.d");
        if writable_place(host, &dir) {
            return Some(format!("{dir}/{file}"));
        }
    }
    if t.root && writable_place(host, ETC_CONF_D) {
        return Some(format!("{ETC_CONF_D}/{file}"));
    }
    None
}

fn ours(host: &Host, path: &str) -> bool {
    host.read(path)
        .map(|t| t.starts_with(OWNED_MARKER))
        .unwrap_or(false)
}

fn merge(path: &str, body: String, key: &str) -> ConfRoute {
    ConfRoute {
        place: format!("writes {path} and exports {key}={path}"),
        actions: vec![
            Action::MergeConf {
                path: path.to_string(),
                toml: body,
            },
            Action::SetEnv {
                key: key.into(),
                value: path.to_string(),
            },
        ],
    }
}

fn writable_place(host: &Host, dir: &str) -> bool {
    let near = host.nearest_existing(dir);
    host.is_dir(&near) && host.access(&near, Access::Write).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_job_dir_is_named_with_the_way_out() {
        assert_eq!(taken_note(&[]), "");
        let note = taken_note(&["/tmp/podrun-0 is a directory of uid 1000".to_string()]);
        assert!(
            note.contains("/tmp/podrun-0 is a directory of uid 1000"),
            "{note}"
        );
        assert!(note.contains("set TMPDIR"), "{note}");
    }
}
