//! The checks that the configuration files can be read: containers.conf,
//! storage.conf, policy.json, registries.conf.

use super::facts::Facts;
use super::resolution::target_in;
use crate::formats::toml::ParseError;
use crate::host::{Access, Found, Host, ReadProblem};
use crate::model::{Action, By, Check, OWNED_MARKER};
use crate::probes::Obs;
use crate::remedy::conf::replace_chain;
use serde_json::json;

// --- config.containers_conf
/// An unreadable file first (podman dies on it), then a parse error, then a
/// variable naming a file that does not exist.
pub(super) fn containers_conf_check(host: &Host, found: &mut Obs, f: &Facts, missing: &[String]) {
    let check = if let Some(p) = f.unreadable.first() {
        unreadable_conf_check(host, found, f, p)
    } else if let Some((file, e)) = f.parse_errors.first() {
        parse_error_check("config.containers_conf", file, e, "containers.conf")
            .with("files", json!(f.files))
    } else if !missing.is_empty() {
        let var = if f.conf_env.is_some() {
            "CONTAINERS_CONF"
        } else {
            "CONTAINERS_CONF_OVERRIDE"
        };
        Check::error(
            "config.containers_conf",
            format!(
                "{var} names a file that does not exist: {}",
                missing.join(", ")
            ),
        )
        .with("missing", json!(missing))
        .fix(
            By::Image,
            "Point CONTAINERS_CONF / CONTAINERS_CONF_OVERRIDE at an existing file, or unset it.",
        )
    } else {
        let summary = if f.files.is_empty() {
            "no containers.conf files: podman's built-in defaults apply".to_string()
        } else {
            format!("read {}", f.files.join(", "))
        };
        Check::ok("config.containers_conf", summary)
            .with("files", json!(f.files))
            .with("user_dir_read", f.user_dir_read)
            .with("user_dir", json!(f.user_dir))
    };
    found.checks.push(check);
}

// --- config.storage_conf
/// `conf_errors`: how many parse errors containers.conf had (storage.conf's
/// own come after them).
pub(super) fn storage_conf_check(found: &mut Obs, f: &Facts, conf_errors: usize) {
    let sc = &f.storage;
    let check = if let Some(p) = &sc.unreadable {
        let job_dir = found.identity.paths.job_dir.as_deref();
        unreadable_storage_check(job_dir, sc.from_env, p)
    } else if let Some((file, e)) = f.parse_errors.get(conf_errors) {
        parse_error_check("config.storage_conf", file, e, "containers-storage.conf")
    } else {
        let summary = match &sc.file {
            Some(file) => format!("storage.conf: {file}"),
            None => "no storage.conf: containers/storage defaults apply".to_string(),
        };
        Check::ok("config.storage_conf", summary)
            .with("file", json!(sc.file))
            .with("CONTAINERS_STORAGE_CONF", sc.from_env)
            .with("driver", json!(sc.driver))
            .with("STORAGE_DRIVER", sc.driver_from_env)
            .with("graphroot", json!(sc.graphroot))
            .with("runroot", json!(sc.runroot))
            .with("mount_program", json!(sc.mount_program))
            .with("STORAGE_OPTS", sc.storage_opts_env)
    };
    found.checks.push(check);
}

fn parse_error_check(id: &'static str, file: &str, e: &ParseError, what: &str) -> Check {
    Check::error(
        id,
        format!(
            "{file} line {}, column {}: expected {}",
            e.line, e.column, e.message
        ),
    )
    .with("file", file)
    .with("line", e.line)
    .with("column", e.column)
    .with("error", e.message)
    .fix(
        By::Image,
        format!(
            "Fix line {} of {file} (valid TOML, strings in quotes) or remove the file; every podman \
             command fails until then. See `man {what}`.",
            e.line
        ),
    )
}

/// What stood at an unreadable path, in a word or two (evidence).
fn found_word(found: &Found) -> String {
    match found {
        Found::Denied => "not readable (EACCES)".into(),
        Found::NotRegular(kind) => format!("{kind:?}").to_lowercase(),
        Found::TooBig => "too large".into(),
        Found::Loop => "symlink loop".into(),
        Found::Dangling => "dangling symlink".into(),
        Found::NotUtf8 => "not UTF-8".into(),
        Found::Error(e) => e.clone(),
    }
}

/// The image's remedy for a config file a umask-077 build left unreadable.
fn image_remedy(p: &ReadProblem) -> String {
    match p.found {
        Found::Denied => format!(
            "in the image, `chmod 0644 {}` (a file written under umask 077 is 0600)",
            p.path
        ),
        _ => format!(
            "in the image, replace {} with a readable regular file",
            p.path
        ),
    }
}

/// A containers.conf podman cannot read: every podman command dies
/// (`reading system config …: permission denied`). `CONTAINERS_CONF`
/// replaces the whole chain (podman 4.3 and 5.4 verified), so the job
/// exports a readable file of its own holding what can be read;
/// `CONTAINERS_CONF_OVERRIDE` is only added on top and does not help.
fn unreadable_conf_check(host: &Host, found: &Obs, f: &Facts, p: &ReadProblem) -> Check {
    let c = Check::error(
        "config.containers_conf",
        format!(
            "{p}; podman fails with `reading system config \"{}\"`",
            p.path
        ),
    )
    .with("file", p.path.clone())
    .with("found", found_word(&p.found))
    .with("files", json!(f.files));
    let image = image_remedy(p);
    let by_env = f.conf_env.as_deref() == Some(p.path.as_str())
        || host.env_nonempty("CONTAINERS_CONF_OVERRIDE") == Some(p.path.as_str());
    let route = (!by_env)
        .then(|| replace_chain(&target_in(host, found, &f.settings)))
        .flatten();
    match route {
        Some(r) => c.job_fix(
            format!(
                "Use a readable copy of the rest of the configuration instead ({}: \
                 CONTAINERS_CONF replaces every other containers.conf); for good, {image}",
                r.place
            ),
            r.actions,
        ),
        None if by_env => c.fix(
            By::Image,
            format!("Point the variable at a readable file or unset it; or {image}"),
        ),
        None => c.fix(
            By::Image,
            format!("No directory of the job's own here: {image}"),
        ),
    }
}

/// A storage.conf podman cannot read (`open /etc/containers/storage.conf:
/// permission denied`): the job exports `CONTAINERS_STORAGE_CONF` naming a
/// readable one of its own (verified with podman 5.4); its settings are
/// containers/storage's defaults, which the storage area judges next round.
fn unreadable_storage_check(job_dir: Option<&str>, from_env: bool, p: &ReadProblem) -> Check {
    let c = Check::error(
        "config.storage_conf",
        format!(
            "{p}; podman fails with `open {}: permission denied`",
            p.path
        ),
    )
    .with("file", p.path.clone())
    .with("found", found_word(&p.found));
    let image = image_remedy(p);
    match job_dir.filter(|_| !from_env) {
        Some(dir) => {
            let path = format!("{dir}/storage.conf");
            c.job_fix(
                format!(
                    "Export CONTAINERS_STORAGE_CONF={path}, a readable storage.conf of the job's \
                     own (containers/storage defaults); for good, {image}"
                ),
                vec![
                    Action::WriteFile {
                        path: path.clone(),
                        contents: format!("{OWNED_MARKER}\n[storage]\n"),
                        mode: 0o644,
                    },
                    Action::SetEnv {
                        key: "CONTAINERS_STORAGE_CONF".into(),
                        value: path,
                    },
                ],
            )
        }
        None => c.fix(By::Image, image),
    }
}

pub const ETC_POLICY: &str = "/etc/containers/policy.json";
/// What Debian's containers-common ships as /etc/containers/policy.json.
pub const DEFAULT_POLICY: &str = "{\"default\":[{\"type\":\"insecureAcceptAnything\"}]}\n";
pub(super) const ETC_REGISTRIES: &str = "/etc/containers/registries.conf";

// --- config.policy
/// policy.json, read by containers/image when a build commits its image
/// (`obtaining default signature policy`): `$HOME/.config/containers/
/// policy.json` when it exists, else the system file. An unreadable system
/// file's intent cannot be read by the job either, so the job writes the
/// distribution's default as the user's file, and says so.
pub(super) fn policy_check(host: &Host, found: &mut Obs) {
    let user = found
        .identity
        .paths
        .home_set()
        .map(|h| format!("{}/.config/containers/policy.json", h.trim_end_matches('/')));
    let path = user
        .clone()
        .filter(|u| host.exists(u))
        .unwrap_or_else(|| ETC_POLICY.to_string());
    let check = match host.read_checked(&path) {
        Ok(Some(_)) => Check::ok("config.policy", format!("{path} is readable")),
        Ok(None) => Check::info(
            "config.policy",
            format!("no {path}: podman fails at commit (`open {path}`) unless the image has one"),
        ),
        Err(p) => {
            let c = Check::error(
                "config.policy",
                format!("{p}; the build fails at commit with `obtaining default signature policy`"),
            )
            .with("found", found_word(&p.found));
            let image = image_remedy(&p);
            match user.filter(|u| *u != path && writable_place(host, u)) {
                Some(u) => c.job_fix(
                    format!(
                        "Write {u}, which podman reads before {path}: the job cannot read the \
                         system policy, so it uses the distribution's default ({}); for good, {image}",
                        DEFAULT_POLICY.trim()
                    ),
                    vec![Action::WriteFile {
                        path: u,
                        contents: DEFAULT_POLICY.to_string(),
                        mode: 0o644,
                    }],
                ),
                None => c.fix(By::Image, image),
            }
        }
    };
    found.checks.push(check.with("file", path));
}

// --- config.registries
/// registries.conf is read only to resolve or pull an image: a `FROM
/// scratch` build never reads it (verified with podman 5.4 on a 0600 file),
/// so an unreadable one is a warning, never an error.
pub(super) fn registries_check(host: &Host, found: &mut Obs) {
    let check = match host.read_checked(ETC_REGISTRIES) {
        Err(p) => Check::warn(
            "config.registries",
            format!("{p}; builds that pull (FROM an image) fail, FROM scratch builds do not"),
        )
        .with("found", found_word(&p.found))
        .fix(By::Image, image_remedy(&p)),
        Ok(Some(_)) => Check::ok("config.registries", format!("{ETC_REGISTRIES} is readable")),
        Ok(None) => Check::ok(
            "config.registries",
            format!("no {ETC_REGISTRIES}: short image names are not resolved"),
        ),
    };
    found.checks.push(check.with("file", ETC_REGISTRIES));
}

fn writable_place(host: &Host, path: &str) -> bool {
    let near = host.nearest_existing(path);
    host.is_dir(&near) && host.access(&near, Access::Write).is_ok()
}
