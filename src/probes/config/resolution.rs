//! Which containers.conf and storage.conf files podman reads, in which
//! order, and what they set (see the area's module docs for the rules):
//! resolution only, no checks.

use super::facts::{Facts, Setting, StorageConf};
use crate::formats::toml::{self, Doc, ParseError};
use crate::host::{Host, ReadProblem};
use crate::probes::paths::Paths;
use crate::probes::tools::Version;
use crate::probes::Findings;
use crate::remedy::conf::Target;
use std::collections::BTreeMap;

pub const SHARE_CONF: &str = "/usr/share/containers/containers.conf";
pub const ETC_CONF: &str = "/etc/containers/containers.conf";
pub use crate::remedy::conf::ETC_CONF_D;
pub const SHARE_STORAGE: &str = "/usr/share/containers/storage.conf";
pub const ETC_STORAGE: &str = "/etc/containers/storage.conf";

/// Whether podman reads the user's containers.conf files: always for a
/// non-root uid; for root only from podman 5 (4.3 verified not to; an
/// unknown version is taken as new).
pub fn user_dir_read(host: &Host, podman: Option<Version>) -> bool {
    host.uid() != 0 || crate::probes::tools::podman5(podman)
}

fn conf_d(host: &Host, dir: &str) -> Vec<String> {
    host.read_dir(dir)
        .unwrap_or_default()
        .into_iter()
        .filter(|n| n.ends_with(".conf"))
        .map(|n| format!("{dir}/{n}"))
        .filter(|p| !host.is_dir(p))
        .collect()
}

/// The containers.conf chain, in podman's order (files may not exist).
pub fn containers_conf_chain(host: &Host, paths: &Paths, podman: Option<Version>) -> Vec<String> {
    let mut chain = Vec::new();
    if let Some(path) = host.env_nonempty("CONTAINERS_CONF") {
        chain.push(path.to_string());
    } else {
        chain.push(SHARE_CONF.to_string());
        chain.push(ETC_CONF.to_string());
        chain.extend(conf_d(host, ETC_CONF_D));
        if user_dir_read(host, podman) {
            if let Some(home) = &paths.config_home {
                let user = format!("{home}/containers/containers.conf");
                chain.push(user.clone());
                chain.extend(conf_d(host, &format!("{user}.d")));
            }
        }
    }
    if let Some(path) = host
        .env_nonempty("CONTAINERS_CONF_OVERRIDE")
        .filter(|_| reads_override(podman))
    {
        chain.push(path.to_string());
    }
    chain
}

/// Whether this podman reads `CONTAINERS_CONF_OVERRIDE`: containers/common
/// added it for podman 4.5 (podman#17895). Verified: podman 4.3.1 ignores it
/// (`podman info` keeps crun with an override naming runc) and honours
/// `CONTAINERS_CONF`. An unknown version is taken as new.
pub fn reads_override(podman: Option<Version>) -> bool {
    podman.is_none_or(|v| v >= Version::new(4, 5, 0))
}

/// The routing target for a containers.conf fix (`remedy::conf`), from
/// the facts: `settings` is the effective configuration (this area's own
/// while it probes, `found.config.settings` for the areas after it).
pub fn conf_target<'a>(
    host: &Host,
    podman: Option<Version>,
    paths: &'a Paths,
    home_pending: bool,
    settings: &'a BTreeMap<String, Setting>,
) -> Target<'a> {
    Target {
        user_dir_read: user_dir_read(host, podman),
        reads_override: reads_override(podman),
        root: host.uid() == 0,
        config_home: paths.config_home.as_deref(),
        job_dir: paths.job_dir.as_deref(),
        job_dir_taken: &paths.job_dir_taken,
        home_pending,
        settings: settings
            .iter()
            .map(|(k, s)| (k.as_str(), &s.value))
            .collect(),
    }
}

/// `conf_target` from the findings so far.
pub fn target_in<'a>(
    host: &Host,
    found: &'a Findings,
    settings: &'a BTreeMap<String, Setting>,
) -> Target<'a> {
    conf_target(
        host,
        found.tools.podman_version,
        &found.identity.paths,
        home_pending(found),
        settings,
    )
}

/// Whether the identity area (run before this one) is about to move HOME:
/// this run's file fixes then wait for it instead of exporting variables
/// for a HOME about to change.
pub fn home_pending(found: &Findings) -> bool {
    found.identity.home_moves
}

/// A config file's text through the checked reader: what cannot be read is
/// kept as a problem (podman fails on the same file), never taken as absent.
pub(super) fn read_text(
    host: &Host,
    path: &str,
    problems: &mut Vec<ReadProblem>,
) -> Option<String> {
    match host.read_checked(path) {
        Ok(text) => text,
        // A dangling symlink is absent, as for podman's `stat`.
        Err(p) if p.found == crate::host::Found::Dangling => None,
        Err(p) => {
            problems.push(p);
            None
        }
    }
}

/// `toml::parse`, once per text for the run: every fix round reads the
/// same files (issue 10: parsing the ~24 KB containers.conf again was a
/// third of the second round). The answer depends on the text alone.
fn parse_once(text: &str) -> Result<Doc, toml::ParseError> {
    type Parsed = Vec<(String, Result<Doc, toml::ParseError>)>;
    thread_local!(static PARSED: std::cell::RefCell<Parsed> = const { std::cell::RefCell::new(Vec::new()) });
    if let Some(known) =
        PARSED.with_borrow(|p| p.iter().find(|(t, _)| t == text).map(|(_, r)| r.clone()))
    {
        return known;
    }
    let parsed = toml::parse(text);
    PARSED.with_borrow_mut(|p| p.push((text.to_string(), parsed.clone())));
    parsed
}

fn read_conf(host: &Host, path: &str, f: &mut Facts) -> Option<Doc> {
    let text = read_text(host, path, &mut f.unreadable)?;
    match parse_once(&text) {
        Ok(doc) => Some(doc),
        Err(e) => {
            f.parse_errors.push((path.to_string(), e));
            None
        }
    }
}

/// Reads the containers.conf chain in podman's order into `f` (files,
/// merged settings, parse errors, unreadable files); returns the files a
/// variable names that do not exist (podman refuses those).
pub(super) fn read_containers_conf(
    host: &Host,
    paths: &Paths,
    podman: Option<Version>,
    f: &mut Facts,
) -> Vec<String> {
    let mut missing_required = Vec::new();
    let chain = containers_conf_chain(host, paths, podman);
    for (i, path) in chain.iter().enumerate() {
        let required = (f.conf_env.as_deref() == Some(path.as_str()) && i == 0)
            || host.env_nonempty("CONTAINERS_CONF_OVERRIDE") == Some(path.as_str());
        if !host.exists(path) {
            if required {
                missing_required.push(path.clone());
            }
            continue;
        }
        f.files.push(path.clone());
        if let Some(doc) = read_conf(host, path, f) {
            for (key, entry) in doc.entries {
                let setting = Setting {
                    value: entry.value,
                    file: path.clone(),
                    line: entry.line,
                };
                f.settings.insert(key, setting);
            }
        }
    }
    missing_required
}

/// Resolves storage.conf as containers/storage does (see module docs):
/// which file, what it sets, then the environment on top. A file that does
/// not parse adds to `parse_errors`.
pub(super) fn resolve_storage(
    host: &Host,
    paths: &Paths,
    parse_errors: &mut Vec<(String, ParseError)>,
) -> StorageConf {
    let (mut sc, system_only) = storage_file(host, paths);
    if let Some(file) = sc.file.clone() {
        let mut problems = Vec::new();
        if let Some(text) = read_text(host, &file, &mut problems) {
            match parse_once(&text) {
                Ok(doc) => storage_from_doc(&mut sc, &doc, system_only),
                Err(e) => parse_errors.push((file, e)),
            }
        }
        sc.unreadable = problems.pop();
    }
    storage_from_env(host, &mut sc);
    sc
}

/// The storage.conf containers/storage reads, and whether it is the system
/// file read by a rootless user (who keeps only a few of its keys).
fn storage_file(host: &Host, paths: &Paths) -> (StorageConf, bool) {
    let mut sc = StorageConf::default();
    if let Some(p) = host.env_nonempty("CONTAINERS_STORAGE_CONF") {
        sc.from_env = true;
        sc.file = Some(p.to_string());
        return (sc, false);
    }
    let per_user = host.uid() != 0;
    let user = paths
        .config_home
        .as_ref()
        .map(|h| format!("{h}/containers/storage.conf"));
    if let Some(u) = user.filter(|u| per_user && host.exists(u)) {
        sc.user_file = true;
        sc.file = Some(u);
        return (sc, false);
    }
    let sys = if host.exists(ETC_STORAGE) {
        ETC_STORAGE
    } else {
        SHARE_STORAGE
    };
    if host.exists(sys) {
        sc.file = Some(sys.to_string());
    }
    (sc, per_user)
}

fn storage_from_doc(sc: &mut StorageConf, doc: &Doc, system_only: bool) {
    let s = |k: &str| doc.str(k).map(str::to_string);
    sc.driver = s("storage.driver");
    sc.rootless_storage_path = s("storage.rootless_storage_path");
    let chown = s("storage.options.overlay.ignore_chown_errors")
        .or_else(|| s("storage.options.ignore_chown_errors"));
    if system_only {
        // Rootless without a file of its own: only these survive.
        sc.ignore_chown_errors = chown.filter(|_| sc.driver.as_deref() == Some("overlay"));
        return;
    }
    sc.graphroot = s("storage.graphroot");
    sc.runroot = s("storage.runroot");
    sc.mount_program =
        s("storage.options.overlay.mount_program").or_else(|| s("storage.options.mount_program"));
    sc.mountopt = s("storage.options.overlay.mountopt").or_else(|| s("storage.options.mountopt"));
    sc.ignore_chown_errors = chown;
}

/// `STORAGE_DRIVER` and `STORAGE_OPTS` override the file.
fn storage_from_env(host: &Host, sc: &mut StorageConf) {
    if let Some(d) = host.env_nonempty("STORAGE_DRIVER") {
        sc.driver = Some(d.to_string());
        sc.driver_from_env = true;
    }
    if sc.driver.as_deref() == Some("overlay2") {
        sc.driver = Some("overlay".into());
    }
    let Some(opts) = host.env("STORAGE_OPTS") else {
        return;
    };
    sc.storage_opts_env = true;
    sc.mount_program = None;
    sc.mountopt = None;
    for o in opts.split(',') {
        let o = o.trim().trim_start_matches("overlay.");
        if let Some(v) = o.strip_prefix("mount_program=") {
            sc.mount_program = Some(v.to_string());
        } else if let Some(v) = o.strip_prefix("mountopt=") {
            sc.mountopt = Some(v.to_string());
        } else if let Some(v) = o.strip_prefix("ignore_chown_errors=") {
            sc.ignore_chown_errors = Some(v.to_string());
        }
    }
}
