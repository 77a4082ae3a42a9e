//! Area `config`: podman's effective `containers.conf` and `storage.conf`,
//! resolved in podman's own order, and the settings in them that break a
//! build in a job container (systemd cgroup manager without systemd,
//! journald without a journal, a missing runtime, ulimits above the hard
//! limits, sysctls a nested network namespace refuses).
//!
//! containers.conf order (containers/common `pkg/config/new.go`):
//! `CONTAINERS_CONF` alone if set; else `/usr/share/containers/containers.conf`,
//! `/etc/containers/containers.conf`, `/etc/containers/containers.conf.d/*.conf`,
//! then the user's `$XDG_CONFIG_HOME/containers/containers.conf` (or
//! `$HOME/.config/…`) and its `.d/*.conf`; `CONTAINERS_CONF_OVERRIDE` last.
//! The user files are read for any uid ≠ 0; for uid 0 only by newer podman
//! (verified: podman 4.3 as root ignores them, podman 5.4 reads them).
//!
//! storage.conf (containers/storage `types/options.go`, `types/utils.go`):
//! `CONTAINERS_STORAGE_CONF` if set; rootless (uid ≠ 0): the user's
//! `$XDG_CONFIG_HOME/containers/storage.conf` (or `$HOME/.config/…`) when it
//! exists, else the system file with only `driver`, `rootless_storage_path`
//! and `ignore_chown_errors` kept; root: `/etc/containers/storage.conf`, else
//! `/usr/share/containers/storage.conf`. `STORAGE_DRIVER` and `STORAGE_OPTS`
//! override the file.

use super::paths::Paths;
use super::tools::Version;
use super::{AreaOut, Findings, Obs};
use crate::formats::toml::{self, Doc, ParseError, Value};
use crate::host::Host;
use crate::model::{Action, By, Check, Spec};
use crate::remedy::conf::{attach, route, Target};
use serde_json::json;
use std::collections::BTreeMap;

pub const SHARE_CONF: &str = "/usr/share/containers/containers.conf";
pub const ETC_CONF: &str = "/etc/containers/containers.conf";
pub use crate::remedy::conf::ETC_CONF_D;
pub const SHARE_STORAGE: &str = "/usr/share/containers/storage.conf";
pub const ETC_STORAGE: &str = "/etc/containers/storage.conf";
const SYSTEMD_DIR: &str = "/run/systemd/system";
const JOURNAL_SOCKET: &str = "/run/systemd/journal/socket";
const LIMITS: &str = "/proc/self/limits";
/// Podman's implicit RLIMIT_NOFILE/NPROC for containers (`define.RLimitDefaultValue`).
const RLIMIT_DEFAULT: u64 = 1_048_576;

/// One effective setting and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    pub value: Value,
    pub file: String,
    pub line: usize,
}

/// The storage.conf podman will use, as configured (before podman's
/// built-in defaults; `storage` computes the effective store).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StorageConf {
    /// The file read, if any.
    pub file: Option<String>,
    /// Set through `CONTAINERS_STORAGE_CONF`.
    pub from_env: bool,
    /// The user's own storage.conf (rootless) is the one read.
    pub user_file: bool,
    pub driver: Option<String>,
    /// `STORAGE_DRIVER` set the driver.
    pub driver_from_env: bool,
    pub graphroot: Option<String>,
    pub runroot: Option<String>,
    pub rootless_storage_path: Option<String>,
    pub mount_program: Option<String>,
    pub mountopt: Option<String>,
    pub ignore_chown_errors: Option<String>,
    /// `STORAGE_OPTS` is set (replaces the file's options).
    pub storage_opts_env: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// The OCI runtime the plan names, once resolved: `runtime`, or the
    /// one this tool's fix switches to.
    pub plan_runtime: Option<String>,
    /// containers.conf files podman reads, in order (existing ones only).
    pub files: Vec<String>,
    /// Whether the user's config directory is read by this podman.
    pub user_dir_read: bool,
    /// The user's containers config directory (`$XDG_CONFIG_HOME/containers`).
    pub user_dir: Option<String>,
    /// `CONTAINERS_CONF` replaces the whole chain (drop-ins are not read).
    pub conf_env: Option<String>,
    /// Merged settings, by dotted key (`engine.cgroup_manager`).
    pub settings: BTreeMap<String, Setting>,
    pub storage: StorageConf,
    /// Files that did not parse: (file, error).
    pub parse_errors: Vec<(String, ParseError)>,
    /// Effective `cgroup_manager`, `events_logger`, `runtime`, `netns`.
    pub cgroup_manager: String,
    pub events_logger: String,
    pub runtime: String,
    pub netns: Option<String>,
}

impl Facts {
    pub fn get(&self, key: &str) -> Option<&Setting> {
        self.settings.get(key)
    }

    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(|s| s.value.as_str())
    }
}

pub const SPECS: &[Spec] = &[
    Spec {
        id: "config.containers_conf",
        title: "containers.conf files parse",
        explain: "Podman reads /usr/share/containers/containers.conf, /etc/containers/containers.conf, \
/etc/containers/containers.conf.d/*.conf, the user's $XDG_CONFIG_HOME/containers/containers.conf (or \
$HOME/.config/…) and its containers.conf.d/*.conf (rootless always, root with podman 5), or only \
$CONTAINERS_CONF when set, and $CONTAINERS_CONF_OVERRIDE last. One TOML error anywhere and every podman \
command fails. Fix the line named in the finding, or remove the file.",
        signatures: &[
            "Failed to obtain podman configuration",
            "decode configuration",
            "reading system config",
            "CONTAINERS_CONF file",
        ],
    },
    Spec {
        id: "config.storage_conf",
        title: "storage.conf parses",
        explain: "containers/storage reads $CONTAINERS_STORAGE_CONF, else (rootless) the user's \
$XDG_CONFIG_HOME/containers/storage.conf, else /etc/containers/storage.conf or \
/usr/share/containers/storage.conf. A TOML error there makes podman fail before anything runs. Fix the \
line named in the finding, or remove the file.",
        signatures: &["Failed to decode the keys", "storage.conf", "toml: line"],
    },
    Spec {
        id: "config.cgroup_manager",
        title: "cgroup manager usable without systemd",
        explain: "cgroup_manager = \"systemd\" needs systemd and D-Bus, which a job container does not \
have (/run/systemd/system is missing). Rootful podman then fails (`cannot open sd-bus`); rootless \
podman warns and falls back to cgroupfs. Fix: a containers.conf drop-in with [engine] \
cgroup_manager = \"cgroupfs\" (podrun-doctor writes it).",
        signatures: &[
            "cannot open sd-bus",
            "systemd cgroup flag passed, but systemd support for managing cgroups is not available",
            "The cgroupv2 manager is set to systemd but there is no systemd user session available",
            "Falling back to --cgroup-manager=cgroupfs",
        ],
    },
    Spec {
        id: "config.events_logger",
        title: "events logger usable without journald",
        explain: "events_logger = \"journald\" in a container without /run/systemd/journal/socket makes \
podman log `unable to write system event` for every event (older podman refuses to start). Fix: a \
drop-in with [engine] events_logger = \"file\" (podrun-doctor writes it).",
        signatures: &[
            "unable to write system event",
            "unable to write pod event",
            "Unable to write image event",
            "No support for journald logging",
        ],
    },
    Spec {
        id: "config.runtime",
        title: "configured OCI runtime exists",
        explain: "RUN steps use [engine] runtime (default crun, else runc). A configured runtime that is \
not installed makes every RUN fail; podrun-doctor then writes a drop-in naming the runtime that is \
installed. crun also refuses the systemd hybrid cgroup layout with controllers on v2 (`cgroups in \
hybrid mode not supported`): podrun-doctor then configures runc when it is installed (keeps OCI \
isolation), else exports BUILDAH_ISOLATION=chroot. When /etc and HOME are read-only the setting goes \
into a file of the job's own, exported as CONTAINERS_CONF_OVERRIDE (podman >= 4.5) or as \
CONTAINERS_CONF holding a copy of the whole configuration (older podman ignores the override).",
        signatures: &[
            "default OCI runtime",
            "not found in",
            "no valid executable found for OCI runtime",
            "cgroups in hybrid mode not supported",
        ],
    },
    Spec {
        id: "config.ulimits",
        title: "container ulimits within the job's hard limits",
        explain: "Without CAP_SYS_RESOURCE a process cannot raise a hard limit. [containers] \
default_ulimits above the job's hard limits (and, for rootful podman 5, its implicit nofile/nproc of \
1048576) make crun/runc fail at setrlimit for every RUN. Fix: a drop-in with default_ulimits within the \
hard limits (podrun-doctor writes it), or raise the limits / add SYS_RESOURCE on the runner side.",
        signatures: &[
            "setrlimit `RLIMIT_NOFILE`: Operation not permitted",
            "setrlimit `RLIMIT_NPROC`: Operation not permitted",
            "error setting rlimit type 7: operation not permitted",
            "setrlimit `RLIMIT_NOFILE`: Invalid argument",
        ],
    },
    Spec {
        id: "config.capabilities",
        title: "default capabilities within the bounding set (rootful)",
        explain: "Rootful podman gives every RUN step [containers] default_capabilities (podman's 11 by \
default: CHOWN DAC_OVERRIDE FOWNER FSETID KILL NET_BIND_SERVICE SETFCAP SETGID SETPCAP SETUID \
SYS_CHROOT). A capability the job's bounding set lacks (a runner that drops KILL or NET_BIND_SERVICE) \
cannot be granted: verified with podman 4.3 and 5.4 (chroot isolation), `error setting capabilities \
for process: setting capabilities: operation not permitted`. Rootless podman is not affected (a new \
user namespace starts with a full bounding set). Fix: a drop-in listing only the capabilities the \
bounding set has (podrun-doctor writes it), or cap_add on the runner side.",
        signatures: &[
            "error setting capabilities for process",
            "setting capabilities: operation not permitted",
            "apply caps: operation not permitted",
        ],
    },
    Spec {
        id: "config.sysctls",
        title: "default sysctls settable in a nested container",
        explain: "The shipped default_sysctls = [\"net.ipv4.ping_group_range=0 0\"] is written into each \
container's network namespace; in a nested container /proc/sys is read-only (or gid 0 is not mapped) \
and the write fails. Fix: [containers] default_sysctls = [] in a drop-in (podrun-doctor writes it).",
        signatures: &[
            "ping_group_range",
            "is not allowed in the hosts network namespace",
        ],
    },
];

/// Whether podman reads the user's containers.conf files: always for a
/// non-root uid; for root only from podman 5 (4.3 verified not to; an
/// unknown version is taken as new).
pub fn user_dir_read(host: &Host, podman: Option<Version>) -> bool {
    host.uid() != 0 || super::tools::podman5(podman)
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

/// A file that could not be read (too big, a FIFO, …) as a parse error on
/// line 0, so that it is named in a finding instead of being skipped.
fn unreadable(p: &crate::host::ReadProblem) -> ParseError {
    ParseError {
        line: 0,
        message: p.to_string(),
        text: String::new(),
    }
}

fn read_conf(host: &Host, path: &str, f: &mut Facts) -> Option<Doc> {
    let text = match host.read_checked(path) {
        Ok(text) => text?,
        Err(p) => {
            f.parse_errors.push((path.to_string(), unreadable(&p)));
            return None;
        }
    };
    match toml::parse(&text) {
        Ok(doc) => Some(doc),
        Err(e) => {
            f.parse_errors.push((path.to_string(), e));
            None
        }
    }
}

/// Resolves storage.conf as containers/storage does (see module docs).
fn resolve_storage(host: &Host, paths: &Paths, f: &mut Facts) -> Option<(String, Doc)> {
    let per_user = host.uid() != 0;
    let mut sc = StorageConf::default();
    let mut chosen: Option<(String, Doc)> = None;
    let mut system_only = false;
    if let Some(p) = host.env_nonempty("CONTAINERS_STORAGE_CONF") {
        sc.from_env = true;
        sc.file = Some(p.to_string());
    } else {
        let user = paths
            .config_home
            .as_ref()
            .map(|h| format!("{h}/containers/storage.conf"));
        if let Some(u) = user.filter(|u| per_user && host.exists(u)) {
            sc.user_file = true;
            sc.file = Some(u);
        } else {
            let sys = if host.exists(ETC_STORAGE) {
                ETC_STORAGE
            } else {
                SHARE_STORAGE
            };
            if host.exists(sys) {
                sc.file = Some(sys.to_string());
            }
            system_only = per_user;
        }
    }
    if let Some(file) = sc.file.clone() {
        match host.read_checked(&file) {
            Ok(Some(text)) => match toml::parse(&text) {
                Ok(doc) => chosen = Some((file, doc)),
                Err(e) => f.parse_errors.push((file, e)),
            },
            Ok(None) => {}
            Err(p) => f.parse_errors.push((file, unreadable(&p))),
        }
    }
    if let Some((_, doc)) = &chosen {
        let s = |k: &str| doc.str(k).map(str::to_string);
        sc.driver = s("storage.driver");
        sc.rootless_storage_path = s("storage.rootless_storage_path");
        let chown = s("storage.options.overlay.ignore_chown_errors")
            .or_else(|| s("storage.options.ignore_chown_errors"));
        if system_only {
            // Rootless without a file of its own: only these survive.
            sc.ignore_chown_errors = chown.filter(|_| sc.driver.as_deref() == Some("overlay"));
        } else {
            sc.graphroot = s("storage.graphroot");
            sc.runroot = s("storage.runroot");
            sc.mount_program = s("storage.options.overlay.mount_program")
                .or_else(|| s("storage.options.mount_program"));
            sc.mountopt =
                s("storage.options.overlay.mountopt").or_else(|| s("storage.options.mountopt"));
            sc.ignore_chown_errors = chown;
        }
    }
    if let Some(d) = host.env_nonempty("STORAGE_DRIVER") {
        sc.driver = Some(d.to_string());
        sc.driver_from_env = true;
    }
    if sc.driver.as_deref() == Some("overlay2") {
        sc.driver = Some("overlay".into());
    }
    if let Some(opts) = host.env("STORAGE_OPTS") {
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
    f.storage = sc;
    chosen
}

/// Hard limits from `/proc/self/limits`: (nofile, nproc); `None` = unlimited
/// or unreadable.
pub fn parse_hard_limits(text: &str) -> (Option<u64>, Option<u64>) {
    let hard = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l[name.len()..].split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    (hard("Max open files"), hard("Max processes"))
}

/// `nofile=1024:2048` → ("nofile", soft, hard); `-1`/`unlimited` as u64::MAX.
pub fn parse_ulimit(s: &str) -> Option<(String, u64, u64)> {
    let (name, vals) = s.split_once('=')?;
    let num = |v: &str| -> Option<u64> {
        match v.trim() {
            "-1" | "unlimited" => Some(u64::MAX),
            n => n.parse().ok(),
        }
    };
    let (soft, hard) = match vals.split_once(':') {
        Some((a, b)) => (num(a)?, num(b)?),
        None => (num(vals)?, num(vals)?),
    };
    Some((name.trim().to_string(), soft, hard))
}

fn has_sys_resource(host: &Host, found: &Findings) -> bool {
    if found.caps.known {
        return found.caps.has_effective(caps::Capability::CAP_SYS_RESOURCE);
    }
    // caps area found nothing: read CapEff ourselves (bit 24).
    host.read("/proc/self/status")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("CapEff:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .is_some_and(|v| v & (1 << 24) != 0)
}

fn parse_error_check(id: &'static str, file: &str, e: &ParseError, what: &str) -> Check {
    if e.line == 0 {
        // Not read at all: the message says what was found and what to do.
        return Check::error(id, e.message.clone())
            .with("file", file)
            .with("error", e.message.clone())
            .fix(By::Image, format!("{} (see `man {what}`)", e.message));
    }
    Check::error(
        id,
        format!("{file} line {}: {} — found {:?}", e.line, e.message, e.text),
    )
    .with("file", file)
    .with("line", e.line)
    .with("found", e.text.clone())
    .with("error", e.message.clone())
    .fix(
        By::Image,
        format!(
            "Fix line {} of {file} (valid TOML, strings in quotes) or remove the file; every podman \
             command fails until then. See `man {what}`.",
            e.line
        ),
    )
}

pub fn probe(host: &Host, earlier: &Findings) -> AreaOut<Facts> {
    let found = &mut Obs::new(earlier);
    let podman = found.tools.podman_version;
    let mut f = Facts {
        user_dir_read: user_dir_read(host, podman),
        user_dir: found
            .identity
            .paths
            .config_home
            .as_ref()
            .map(|h| format!("{h}/containers")),
        conf_env: host.env_nonempty("CONTAINERS_CONF").map(str::to_string),
        ..Facts::default()
    };

    // found.plan.rootless is podman's own rule, decided by the identity area.

    // containers.conf chain
    let chain = containers_conf_chain(host, &found.identity.paths, podman);
    let mut missing_required = Vec::new();
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
        if let Some(doc) = read_conf(host, path, &mut f) {
            for (key, entry) in doc.entries {
                f.settings.insert(
                    key,
                    Setting {
                        value: entry.value,
                        file: path.clone(),
                        line: entry.line,
                    },
                );
            }
        }
    }
    let conf_errors: Vec<(String, ParseError)> = f.parse_errors.clone();
    if let Some((file, e)) = conf_errors.first() {
        found.checks.push(
            parse_error_check("config.containers_conf", file, e, "containers.conf")
                .with("files", json!(f.files)),
        );
    } else if !missing_required.is_empty() {
        found.checks.push(
            Check::error(
                "config.containers_conf",
                format!(
                    "{} names a file that does not exist: {}",
                    if f.conf_env.is_some() {
                        "CONTAINERS_CONF"
                    } else {
                        "CONTAINERS_CONF_OVERRIDE"
                    },
                    missing_required.join(", ")
                ),
            )
            .with("missing", json!(missing_required))
            .fix(
                By::Image,
                "Point CONTAINERS_CONF / CONTAINERS_CONF_OVERRIDE at an existing file, or unset it.",
            ),
        );
    } else {
        found.checks.push(
            Check::ok(
                "config.containers_conf",
                if f.files.is_empty() {
                    "no containers.conf files: podman's built-in defaults apply".to_string()
                } else {
                    format!("read {}", f.files.join(", "))
                },
            )
            .with("files", json!(f.files))
            .with("user_dir_read", f.user_dir_read)
            .with("user_dir", json!(f.user_dir)),
        );
    }

    // storage.conf
    let before = f.parse_errors.len();
    resolve_storage(host, &found.identity.paths, &mut f);
    if let Some((file, e)) = f.parse_errors.get(before).cloned() {
        found.checks.push(parse_error_check(
            "config.storage_conf",
            &file,
            &e,
            "containers-storage.conf",
        ));
    } else {
        let sc = &f.storage;
        found.checks.push(
            Check::ok(
                "config.storage_conf",
                match &sc.file {
                    Some(file) => format!("storage.conf: {file}"),
                    None => "no storage.conf: containers/storage defaults apply".to_string(),
                },
            )
            .with("file", json!(sc.file))
            .with("CONTAINERS_STORAGE_CONF", sc.from_env)
            .with("driver", json!(sc.driver))
            .with("STORAGE_DRIVER", sc.driver_from_env)
            .with("graphroot", json!(sc.graphroot))
            .with("runroot", json!(sc.runroot))
            .with("mount_program", json!(sc.mount_program))
            .with("STORAGE_OPTS", sc.storage_opts_env),
        );
    }

    let systemd = host.exists(SYSTEMD_DIR);
    let rootless = found.plan.rootless;

    // cgroup_manager
    f.cgroup_manager = f
        .get_str("engine.cgroup_manager")
        .map(str::to_string)
        .unwrap_or_else(|| if systemd { "systemd" } else { "cgroupfs" }.into());
    let src = |f: &Facts, k: &str| {
        f.get(k)
            .map(|s| format!("{}:{}", s.file, s.line))
            .unwrap_or_else(|| "built-in default".into())
    };
    let cm_src = src(&f, "engine.cgroup_manager");
    let check = if f.cgroup_manager == "systemd" && !systemd {
        let c = if rootless {
            Check::warn(
                "config.cgroup_manager",
                format!(
                    "cgroup_manager = \"systemd\" ({cm_src}) without systemd: rootless podman warns and \
                     falls back to cgroupfs"
                ),
            )
        } else {
            Check::error(
                "config.cgroup_manager",
                format!(
                    "cgroup_manager = \"systemd\" ({cm_src}) but {SYSTEMD_DIR} is missing: rootful podman \
                     fails with `cannot open sd-bus`"
                ),
            )
        };
        attach(
            c,
            host,
            &target_in(host, found, &f.settings),
            "cgroup-manager",
            "[engine]\ncgroup_manager = \"cgroupfs\"\n",
            "Use the cgroupfs cgroup manager",
        )
    } else {
        Check::ok(
            "config.cgroup_manager",
            format!("cgroup_manager = {:?} ({cm_src})", f.cgroup_manager),
        )
    };
    found.checks.push(
        check
            .with("value", f.cgroup_manager.clone())
            .with("source", cm_src)
            .with("systemd_running", systemd),
    );

    // events_logger
    let journal = host.exists(JOURNAL_SOCKET);
    f.events_logger = f
        .get_str("engine.events_logger")
        .map(str::to_string)
        .unwrap_or_else(|| {
            if systemd && journal {
                "journald"
            } else {
                "file"
            }
            .into()
        });
    let ev_src = src(&f, "engine.events_logger");
    let check = if f.events_logger == "journald" && !journal {
        attach(
            Check::warn(
                "config.events_logger",
                format!(
                    "events_logger = \"journald\" ({ev_src}) but {JOURNAL_SOCKET} is missing: podman \
                     logs `unable to write system event` errors"
                ),
            ),
            host,
            &target_in(host, found, &f.settings),
            "events-logger",
            "[engine]\nevents_logger = \"file\"\n",
            "Log podman events to a file",
        )
    } else {
        Check::ok(
            "config.events_logger",
            format!("events_logger = {:?} ({ev_src})", f.events_logger),
        )
    };
    found.checks.push(
        check
            .with("value", f.events_logger.clone())
            .with("source", ev_src)
            .with("journal_socket", journal),
    );

    // runtime
    runtime_check(host, found, &mut f);

    // ulimits
    ulimit_check(host, found, &f, podman);

    // netns (for the network area)
    f.netns = f.get_str("containers.netns").map(str::to_string);

    // sysctls
    sysctl_check(host, found, &f);

    // default capabilities
    capabilities_check(host, found, &f);

    found.finish(f)
}

fn runtime_check(host: &Host, found: &mut Obs, f: &mut Facts) {
    let configured = f.get_str("engine.runtime").map(str::to_string);
    let src = f
        .get("engine.runtime")
        .map(|s| format!("{}:{}", s.file, s.line))
        .unwrap_or_else(|| "built-in default".into());
    let t = &found.tools;
    let default = if t.crun.is_some() || t.runc.is_none() {
        "crun"
    } else {
        "runc"
    };
    let name = configured.clone().unwrap_or_else(|| default.to_string());
    // The runtime's paths from [engine.runtimes], else PATH.
    let listed = f
        .get(&format!("engine.runtimes.{name}"))
        .and_then(|s| s.value.as_str_array());
    let path = if name.starts_with('/') {
        host.exists(&name).then(|| name.clone())
    } else {
        listed
            .unwrap_or_default()
            .into_iter()
            .find(|p| host.exists(p))
            .or_else(|| match name.as_str() {
                "crun" => t.crun.clone(),
                "runc" => t.runc.clone(),
                other => host.which(other),
            })
    };
    f.runtime = name.clone();
    let mut plan_runtime = name.clone();
    let other = match name.as_str() {
        "crun" => t.runc.as_ref().map(|_| "runc"),
        _ => t.crun.as_ref().map(|_| "crun"),
    };
    // crun refuses the hybrid cgroup layout with v2 controllers (cgroups
    // area, which runs first); chroot isolation uses no runtime at all.
    let hybrid = found.cgroups.crun_refuses && found.plan.isolation != "chroot";
    let refuses = |n: &str| hybrid && n.rsplit('/').next() == Some("crun");
    let chroot = |c: Check, why: &str| {
        c.job_fix(
            format!(
                "export BUILDAH_ISOLATION=chroot (RUN steps without a runtime; {why}); node admin: \
                 boot pure cgroup v2 (`systemd.unified_cgroup_hierarchy=1`)"
            ),
            vec![Action::SetEnv {
                key: "BUILDAH_ISOLATION".into(),
                value: "chroot".into(),
            }],
        )
    };
    let to_runc = |c: Check, text: &str| {
        route(
            host,
            &target_in(host, found, &f.settings),
            "runtime",
            "[engine]\nruntime = \"runc\"\n",
        )
        .map(|route| c.job_fix(format!("{text} ({})", route.place), route.actions))
    };
    let hybrid_text = "crun fails every RUN step with `cgroups in hybrid mode not supported`";
    let mut check = match (&path, other) {
        (Some(p), _) if !refuses(&name) => Check::ok(
            "config.runtime",
            format!("OCI runtime {name} at {p} ({src})"),
        ),
        (Some(p), _) => {
            let c = Check::error(
                "config.runtime",
                format!(
                    "OCI runtime {name} at {p} ({src}), but the cgroup layout is hybrid with v2 \
                     controllers: {hybrid_text}"
                ),
            );
            match other.map(|_| to_runc(c.clone(), "Use runc, which accepts the hybrid layout")) {
                Some(Some(fixed)) => {
                    plan_runtime = "runc".into();
                    fixed
                }
                _ => chroot(c, "runc is not installed or cannot be configured here"),
            }
        }
        (None, None) => Check::error(
            "config.runtime",
            format!("OCI runtime {name:?} ({src}) is not installed and no other runtime is"),
        )
        .fix(By::Image, "Install crun (or runc) in the job image."),
        (None, Some(o)) if refuses(o) => chroot(
            Check::error(
                "config.runtime",
                format!(
                    "OCI runtime {name:?} ({src}) is not installed; crun is, but {hybrid_text}"
                ),
            ),
            "or install runc",
        ),
        (None, Some(o)) => {
            plan_runtime = o.to_string();
            attach(
                Check::error(
                    "config.runtime",
                    format!("OCI runtime {name:?} ({src}) is not installed; {o} is"),
                ),
                host,
                &target_in(host, found, &f.settings),
                "runtime",
                &format!("[engine]\nruntime = \"{o}\"\n"),
                &format!("Use the installed runtime {o}"),
            )
        }
    };
    f.plan_runtime = Some(plan_runtime);
    if found.cgroups.crun_refuses {
        check = check.with("crun_refuses_hybrid_cgroups", true);
    }
    found.checks.push(
        check
            .with("runtime", name)
            .with("source", src)
            .with("path", json!(path)),
    );
}

fn ulimit_check(host: &Host, found: &mut Obs, f: &Facts, podman: Option<Version>) {
    let limits = host.read(LIMITS);
    let (nofile_hard, nproc_hard) = limits
        .as_ref()
        .map(|t| parse_hard_limits(t))
        .unwrap_or((None, None));
    let resource = has_sys_resource(host, found);
    let configured: Vec<String> = f
        .get("containers.default_ulimits")
        .and_then(|s| s.value.as_str_array())
        .unwrap_or_default();
    let src = f
        .get("containers.default_ulimits")
        .map(|s| format!("{}:{}", s.file, s.line))
        .unwrap_or_else(|| "built-in default".into());
    let mut wants: Vec<(String, u64, &'static str)> = Vec::new();
    for u in &configured {
        if let Some((name, _soft, hard)) = parse_ulimit(u) {
            wants.push((name, hard, "configured"));
        }
    }
    // Rootful podman 5 sets nofile/nproc to 1048576 without clamping (podman
    // 4.3 verified not to for build); rootless clamps to the hard limit.
    let implicit = !found.plan.rootless && super::tools::podman5(podman);
    for name in ["nofile", "nproc"] {
        if implicit && !wants.iter().any(|(n, _, _)| n == name) {
            wants.push((name.to_string(), RLIMIT_DEFAULT, "implicit"));
        }
    }
    let hard_of = |n: &str| match n {
        "nofile" => nofile_hard,
        "nproc" => nproc_hard,
        _ => None,
    };
    let too_high: Vec<String> = wants
        .iter()
        .filter(|(n, v, _)| hard_of(n).is_some_and(|h| *v > h))
        .map(|(n, v, how)| format!("{n}={v} ({how}) > hard {}", hard_of(n).unwrap_or(0)))
        .collect();
    let mut check = if limits.is_err() {
        Check::warn("config.ulimits", format!("cannot read {LIMITS}")).with("probe_ran", false)
    } else if too_high.is_empty() || resource {
        Check::ok(
            "config.ulimits",
            if too_high.is_empty() {
                "container ulimits are within the hard limits".to_string()
            } else {
                "ulimits above the hard limits, but CAP_SYS_RESOURCE allows raising them"
                    .to_string()
            },
        )
    } else {
        let mut entries: Vec<String> = configured
            .iter()
            .filter(|u| parse_ulimit(u).is_some_and(|(n, _, _)| n != "nofile" && n != "nproc"))
            .cloned()
            .collect();
        for (name, hard) in [("nofile", nofile_hard), ("nproc", nproc_hard)] {
            if let Some(h) = hard {
                entries.push(format!("{name}={h}:{h}"));
            }
        }
        let body = format!(
            "[containers]\ndefault_ulimits = [\n{}]\n",
            entries
                .iter()
                .map(|e| format!("  \"{e}\",\n"))
                .collect::<String>()
        );
        attach(
            Check::error(
                "config.ulimits",
                format!(
                    "RUN steps would ask for {} without CAP_SYS_RESOURCE: setrlimit fails",
                    too_high.join(", ")
                ),
            ),
            host,
            &target_in(host, found, &f.settings),
            "ulimits",
            &body,
            "Keep container ulimits within the job's hard limits",
        )
    };
    check = check
        .with("default_ulimits", json!(configured))
        .with("source", src)
        .with("nofile_hard", json!(nofile_hard))
        .with("nproc_hard", json!(nproc_hard))
        .with("cap_sys_resource", resource);
    found.checks.push(check);
}

/// Podman's built-in `default_capabilities` (containers/common).
pub const DEFAULT_CAPABILITIES: &[&str] = &[
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

fn capabilities_check(host: &Host, found: &mut Obs, f: &Facts) {
    let configured = f
        .get("containers.default_capabilities")
        .and_then(|s| s.value.as_str_array());
    let src = f
        .get("containers.default_capabilities")
        .map(|s| format!("{}:{}", s.file, s.line))
        .unwrap_or_else(|| "built-in default".into());
    let wanted: Vec<String> =
        configured.unwrap_or_else(|| DEFAULT_CAPABILITIES.iter().map(|c| c.to_string()).collect());
    let bit = |name: &str| -> Option<u64> {
        let upper = name.trim().to_ascii_uppercase();
        let full = if upper.starts_with("CAP_") {
            upper
        } else {
            format!("CAP_{upper}")
        };
        full.parse::<caps::Capability>().ok().map(|c| c.bitmask())
    };
    let check = if found.plan.rootless {
        Check::ok(
            "config.capabilities",
            "rootless: RUN steps get their capabilities inside a new user namespace, whatever the \
             job's bounding set",
        )
    } else if !found.caps.known {
        Check::info(
            "config.capabilities",
            "cannot compare default_capabilities with the bounding set (capabilities unread)",
        )
    } else {
        let missing: Vec<&String> = wanted
            .iter()
            .filter(|c| bit(c).is_some_and(|b| found.caps.bounding & b == 0))
            .collect();
        if missing.is_empty() {
            Check::ok(
                "config.capabilities",
                format!("default_capabilities ({src}) are all in the bounding set"),
            )
        } else {
            let keep: Vec<&String> = wanted.iter().filter(|c| !missing.contains(c)).collect();
            let body = format!(
                "[containers]\ndefault_capabilities = [\n{}]\n",
                keep.iter()
                    .map(|c| format!("  {},\n", toml::quote(c)))
                    .collect::<String>()
            );
            let names: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
            attach(
                Check::error(
                    "config.capabilities",
                    format!(
                        "default_capabilities ({src}) name {} which the job's bounding set lacks: \
                         rootful RUN steps fail with `setting capabilities: operation not permitted`",
                        names.join(", ")
                    ),
                )
                .with("missing", json!(names)),
                host,
                &target_in(host, found, &f.settings),
                "capabilities",
                &body,
                "Give RUN steps only the capabilities the job has",
            )
        }
    };
    found.checks.push(
        check
            .with("default_capabilities", json!(wanted))
            .with("source", src)
            .with("bounding", format!("{:016x}", found.caps.bounding)),
    );
}

fn sysctl_check(host: &Host, found: &mut Obs, f: &Facts) {
    let sysctls = f
        .get("containers.default_sysctls")
        .and_then(|s| s.value.as_str_array())
        .unwrap_or_default();
    let src = f
        .get("containers.default_sysctls")
        .map(|s| format!("{}:{}", s.file, s.line))
        .unwrap_or_else(|| "built-in default".into());
    let ping = sysctls.iter().any(|s| s.contains("ping_group_range"));
    let host_net = f.netns.as_deref() == Some("host");
    let proc_sys_ro = host
        .statfs("/proc/sys/net")
        .map(|s| s.readonly)
        .unwrap_or(false);
    let check = if ping && !host_net && proc_sys_ro {
        attach(
            Check::warn(
                "config.sysctls",
                format!(
                    "default_sysctls sets net.ipv4.ping_group_range ({src}) and /proc/sys is read-only \
                     here: containers with a private network may fail to start"
                ),
            ),
            host,
            &target_in(host, found, &f.settings),
            "sysctls",
            "[containers]\ndefault_sysctls = []\n",
            "Drop the default sysctls",
        )
    } else {
        Check::ok(
            "config.sysctls",
            if sysctls.is_empty() {
                "no default sysctls".to_string()
            } else {
                format!("default_sysctls = {sysctls:?} ({src})")
            },
        )
    };
    found.checks.push(
        check
            .with("default_sysctls", json!(sysctls))
            .with("proc_sys_readonly", proc_sys_ro)
            .with("netns", json!(f.netns)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::Access;
    use crate::model::{Status, OWNED_MARKER};
    use crate::probes::paths::job_dir;
    use crate::probes::testutil::Fixture;

    /// Where a drop-in goes for this podman, with the paths as derived.
    fn dropin_path(host: &Host, podman: Option<Version>, name: &str) -> Option<String> {
        let paths = Paths::derive(host);
        let settings = BTreeMap::new();
        let t = conf_target(host, podman, &paths, false, &settings);
        crate::remedy::conf::dropin_path(host, &t, name)
    }

    fn with_podman(host: &Host, v: Version) -> Findings {
        let mut found = crate::probes::testutil::with_paths(host);
        found.tools.podman_version = Some(v);
        found.tools.crun = Some("/usr/bin/crun".into());
        // The areas config reads: capabilities and podman's mode.
        found.absorb(crate::probes::caps::probe(host, &found));
        found.absorb(crate::probes::identity::probe(host, &found));
        found.absorb(probe(host, &found));
        found
    }

    const LIMITS_1024: &str =
        "Limit                     Soft Limit           Hard Limit           Units     \n\
Max processes             1024                 1024                 processes \n\
Max open files            1024                 1024                 files     \n";

    #[test]
    fn real_debian_containers_conf_parses() {
        let Ok(text) = std::fs::read_to_string(SHARE_CONF) else {
            return;
        };
        let host = Fixture::new()
            .uid(1000)
            .env("HOME", "/home/podman")
            .file(SHARE_CONF, &text)
            .host();
        let found = with_podman(&host, Version::new(4, 3, 1));
        assert!(found.config.parse_errors.is_empty());
        assert_eq!(
            found.config.get("containers.default_sysctls").unwrap().file,
            SHARE_CONF
        );
    }

    #[test]
    fn resolution_order_and_env_overrides() {
        let fx = Fixture::new()
            .uid(1000)
            .env("HOME", "/home/podman")
            .env("XDG_CONFIG_HOME", "/cfg")
            .file(
                SHARE_CONF,
                "[engine]\nevents_logger = \"journald\"\nruntime = \"crun\"\n",
            )
            .file(ETC_CONF, "[engine]\nevents_logger = \"file\"\n")
            .file(
                "/etc/containers/containers.conf.d/10-a.conf",
                "[engine]\ncgroup_manager = \"systemd\"\n",
            )
            .file(
                "/etc/containers/containers.conf.d/20-b.conf",
                "[engine]\ncgroup_manager = \"cgroupfs\"\n",
            )
            .file("/etc/containers/containers.conf.d/ignored.txt", "garbage")
            .file(
                "/cfg/containers/containers.conf",
                "[containers]\nnetns = \"host\"\n",
            )
            .file(
                "/cfg/containers/containers.conf.d/x.conf",
                "[containers]\nnetns = \"private\"\n",
            )
            .file(
                "/home/podman/.config/containers/containers.conf",
                "this is ignored = because XDG_CONFIG_HOME wins",
            );
        let host = fx.host();
        let found = with_podman(&host, Version::new(4, 3, 1));
        let c = &found.config;
        assert!(c.parse_errors.is_empty(), "{:?}", c.parse_errors);
        assert_eq!(c.events_logger, "file");
        assert_eq!(c.get("engine.events_logger").unwrap().file, ETC_CONF);
        assert_eq!(c.cgroup_manager, "cgroupfs");
        assert_eq!(c.netns.as_deref(), Some("private"));
        assert_eq!(c.files.len(), 6);
        assert!(found.plan.rootless);

        // CONTAINERS_CONF replaces all; OVERRIDE comes last.
        let host = Fixture::new()
            .uid(1000)
            .env("HOME", "/home/podman")
            .env("CONTAINERS_CONF", "/only.conf")
            .env("CONTAINERS_CONF_OVERRIDE", "/over.conf")
            .file(ETC_CONF, "[engine]\ncgroup_manager = \"systemd\"\n")
            .file(
                "/only.conf",
                "[engine]\ncgroup_manager = \"systemd\"\nevents_logger = \"journald\"\n",
            )
            .file("/over.conf", "[engine]\nevents_logger = \"file\"\n")
            .host();
        let found = with_podman(&host, Version::new(5, 4, 2));
        assert_eq!(found.config.files, vec!["/only.conf", "/over.conf"]);
        assert_eq!(found.config.events_logger, "file");
        // systemd without systemd, rootless: warn; no drop-in possible.
        let cm = found.check("config.cgroup_manager").unwrap();
        assert_eq!(cm.status, Status::Warn);
        assert_eq!(cm.fix.as_ref().unwrap().by, By::Image);
        assert!(cm.fix.as_ref().unwrap().text.contains("CONTAINERS_CONF"));
    }

    #[test]
    fn root_reads_user_config_only_with_podman_5() {
        let fx = || {
            Fixture::new()
                .env("HOME", "/root")
                .file(
                    "/root/.config/containers/containers.conf",
                    "[engine]\nevents_logger = \"none\"\n",
                )
                .dir("/etc/containers/containers.conf.d")
        };
        let host = fx().host();
        let found = with_podman(&host, Version::new(4, 3, 1));
        assert_eq!(found.config.events_logger, "file");
        assert_eq!(
            dropin_path(&host, Some(Version::new(4, 3, 1)), "x").as_deref(),
            Some("/etc/containers/containers.conf.d/podrun-x.conf")
        );
        let host = fx().host();
        let found = with_podman(&host, Version::new(5, 4, 2));
        assert_eq!(found.config.events_logger, "none");
        assert_eq!(
            dropin_path(&host, Some(Version::new(5, 4, 2)), "x").as_deref(),
            Some("/root/.config/containers/containers.conf.d/podrun-x.conf")
        );
    }

    #[test]
    fn dropin_path_rootless_and_unwritable() {
        let host = Fixture::new()
            .uid(1000)
            .env("HOME", "/home/podman")
            .dir("/home/podman")
            .host();
        assert_eq!(
            dropin_path(&host, None, "cgroup-manager").as_deref(),
            Some("/home/podman/.config/containers/containers.conf.d/podrun-cgroup-manager.conf")
        );
        let host = Fixture::new()
            .uid(1000)
            .env("HOME", "/")
            .access("/", Access::Write, "EACCES")
            .host();
        assert_eq!(dropin_path(&host, None, "x"), None);
    }

    #[test]
    fn garbage_conf_is_an_error_naming_file_and_line() {
        let host = Fixture::new()
            .uid(1000)
            .env("HOME", "/home/podman")
            .file(ETC_CONF, "[engine]\n\ncgroup_manager = cgroupfs\n")
            .file(ETC_STORAGE, "[storage\n")
            .host();
        let found = with_podman(&host, Version::new(5, 4, 2));
        let c = found.check("config.containers_conf").unwrap();
        assert_eq!(c.status, Status::Error);
        assert!(
            c.summary.contains("/etc/containers/containers.conf line 3"),
            "{}",
            c.summary
        );
        assert!(c.summary.contains("cgroup_manager = cgroupfs"));
        assert_eq!(c.fix.as_ref().unwrap().by, By::Image);
        let s = found.check("config.storage_conf").unwrap();
        assert_eq!(s.status, Status::Error);
        assert!(s.summary.contains("line 1"));
    }

    #[test]
    fn ping_group_range_on_a_read_only_proc_sys_is_dropped_by_a_dropin() {
        let fixture = || {
            Fixture::new()
                .uid(1000)
                .gid(1000)
                .env("HOME", "/home/podman")
                .dir("/home/podman")
                .stat("/home/podman", "dir", 0o755, 1000, 1000)
                .file(
                    "/usr/share/containers/containers.conf",
                    "[containers]\ndefault_sysctls = [\n  \"net.ipv4.ping_group_range=0 0\",\n]\n",
                )
        };
        let ro = fixture()
            .answer(
                "statfs",
                "/proc/sys/net",
                json!({"magic": "0x9fa0", "free_bytes": 0, "readonly": true}),
            )
            .host();
        let found = with_podman(&ro, Version::new(5, 4, 2));
        let c = found.check("config.sysctls").unwrap();
        assert_eq!(c.status, Status::Warn);
        assert!(
            c.summary
                .contains("/usr/share/containers/containers.conf:2"),
            "{}",
            c.summary
        );
        match &c.fix.as_ref().unwrap().actions[..] {
            [Action::WriteFile { path, contents, .. }, ..] => {
                assert_eq!(
                    path,
                    "/home/podman/.config/containers/containers.conf.d/podrun-sysctls.conf"
                );
                assert!(contents.contains("default_sysctls = []"));
            }
            other => panic!("{other:?}"),
        }
        // A writable /proc/sys (privileged) needs nothing.
        let rw = fixture()
            .answer(
                "statfs",
                "/proc/sys/net",
                json!({"magic": "0x9fa0", "free_bytes": 0, "readonly": false}),
            )
            .host();
        let c = with_podman(&rw, Version::new(5, 4, 2));
        assert_eq!(c.check("config.sysctls").unwrap().status, Status::Ok);
    }

    #[test]
    fn rootful_systemd_manager_is_an_error_with_a_dropin() {
        let host = Fixture::new()
            .env("HOME", "/root")
            .file("/proc/self/status", "CapEff:\t000001ffffffffff\n")
            .file(
                ETC_CONF,
                "[engine]\ncgroup_manager = \"systemd\"\nevents_logger = \"journald\"\n",
            )
            .dir("/root")
            .host();
        let found = with_podman(&host, Version::new(4, 3, 1));
        assert!(!found.plan.rootless);
        let c = found.check("config.cgroup_manager").unwrap();
        assert_eq!(c.status, Status::Error);
        assert!(c.job_can_fix());
        match &c.fix.as_ref().unwrap().actions[0] {
            Action::WriteFile { path, contents, .. } => {
                assert_eq!(
                    path,
                    "/etc/containers/containers.conf.d/podrun-cgroup-manager.conf"
                );
                assert!(contents.starts_with(OWNED_MARKER));
                assert!(contents.contains("cgroup_manager = \"cgroupfs\""));
                assert!(toml::parse(contents).is_ok());
            }
            other => panic!("{other:?}"),
        }
        let e = found.check("config.events_logger").unwrap();
        assert_eq!(e.status, Status::Warn);
        assert!(e.job_can_fix());
    }

    #[test]
    fn ulimits_above_hard_limits() {
        // Configured nproc above the hard limit, rootless, no CAP_SYS_RESOURCE.
        let host = Fixture::new()
            .uid(1000)
            .env("HOME", "/home/podman")
            .dir("/home/podman")
            .file(LIMITS, LIMITS_1024)
            .file("/proc/self/status", "CapEff:\t0000000000000000\n")
            .file(
                ETC_CONF,
                "[containers]\ndefault_ulimits = [\n \"nproc=4194304:4194304\",\n \"core=0:0\",\n]\n",
            )
            .host();
        let found = with_podman(&host, Version::new(4, 3, 1));
        let c = found.check("config.ulimits").unwrap();
        assert_eq!(c.status, Status::Error, "{}", c.summary);
        let Action::WriteFile { contents, .. } = &c.fix.as_ref().unwrap().actions[0] else {
            panic!()
        };
        let doc = toml::parse(contents).unwrap();
        let v = doc
            .get("containers.default_ulimits")
            .unwrap()
            .value
            .as_str_array()
            .unwrap();
        assert_eq!(v, vec!["core=0:0", "nofile=1024:1024", "nproc=1024:1024"]);

        // Rootful podman 5 with the implicit 1048576 and no SYS_RESOURCE
        // (observed: `setrlimit RLIMIT_NOFILE: Operation not permitted`).
        let host = Fixture::new()
            .env("HOME", "/root")
            .dir("/root")
            .file(LIMITS, LIMITS_1024)
            .file("/proc/self/status", "CapEff:\t000001fffeffffff\n")
            .host();
        let found = with_podman(&host, Version::new(5, 4, 2));
        assert!(!found.plan.rootless);
        let c = found.check("config.ulimits").unwrap();
        assert_eq!(c.status, Status::Error);
        assert!(c.job_can_fix());
        // Same with podman 4.3: observed to work.
        let host = Fixture::new()
            .env("HOME", "/root")
            .file(LIMITS, LIMITS_1024)
            .file("/proc/self/status", "CapEff:\t000001fffeffffff\n")
            .host();
        let found = with_podman(&host, Version::new(4, 3, 1));
        assert_eq!(found.check("config.ulimits").unwrap().status, Status::Ok);
    }

    #[test]
    fn runtime_missing_switches_to_the_installed_one() {
        let host = Fixture::new()
            .uid(1000)
            .env("HOME", "/home/podman")
            .dir("/home/podman")
            .file(ETC_CONF, "[engine]\nruntime = \"crun\"\n")
            .host();
        let mut found = crate::probes::testutil::with_paths(&host);
        found.tools.runc = Some("/usr/sbin/runc".into());
        found.absorb(probe(&host, &found));
        let c = found.check("config.runtime").unwrap();
        assert_eq!(c.status, Status::Error);
        assert!(c.job_can_fix());
        assert_eq!(found.plan.runtime, "runc");
        // Default with only runc installed: runc, fine.
        let host = Fixture::new().uid(1000).env("HOME", "/h").host();
        let mut found = crate::probes::testutil::with_paths(&host);
        found.tools.runc = Some("/usr/sbin/runc".into());
        found.absorb(probe(&host, &found));
        assert_eq!(found.check("config.runtime").unwrap().status, Status::Ok);
        assert_eq!(found.plan.runtime, "runc");
    }

    #[test]
    fn storage_conf_resolution() {
        // Rootless without a user file: the system file's driver survives,
        // its mount_program and graphroot do not.
        let sys = "[storage]\ndriver = \"overlay\"\ngraphroot = \"/var/lib/containers/storage\"\n\
                   [storage.options.overlay]\nmount_program = \"/usr/bin/fuse-overlayfs\"\n";
        let host = Fixture::new()
            .uid(1000)
            .env("HOME", "/home/podman")
            .file(ETC_STORAGE, sys)
            .host();
        let found = with_podman(&host, Version::new(5, 4, 2));
        let s = &found.config.storage;
        assert_eq!(s.file.as_deref(), Some(ETC_STORAGE));
        assert_eq!(s.driver.as_deref(), Some("overlay"));
        assert_eq!(s.mount_program, None);
        assert_eq!(s.graphroot, None);
        // Root: everything from the system file.
        let host = Fixture::new().file(ETC_STORAGE, sys).host();
        let found = with_podman(&host, Version::new(5, 4, 2));
        assert_eq!(
            found.config.storage.mount_program.as_deref(),
            Some("/usr/bin/fuse-overlayfs")
        );
        // The user's file wins, STORAGE_DRIVER wins over it.
        let host = Fixture::new()
            .uid(1000)
            .env("HOME", "/home/podman")
            .env("STORAGE_DRIVER", "vfs")
            .file(ETC_STORAGE, sys)
            .file(
                "/home/podman/.config/containers/storage.conf",
                "[storage]\ndriver = \"overlay\"\n[storage.options]\nmount_program = \"/x\"\n",
            )
            .host();
        let found = with_podman(&host, Version::new(5, 4, 2));
        let s = &found.config.storage;
        assert!(s.user_file);
        assert_eq!(s.driver.as_deref(), Some("vfs"));
        assert!(s.driver_from_env);
        assert_eq!(s.mount_program.as_deref(), Some("/x"));
        // CONTAINERS_STORAGE_CONF.
        let host = Fixture::new()
            .uid(1000)
            .env("HOME", "/home/podman")
            .env("CONTAINERS_STORAGE_CONF", "/s.conf")
            .file("/s.conf", "[storage]\ndriver = \"vfs\"\n")
            .host();
        let found = with_podman(&host, Version::new(5, 4, 2));
        assert!(found.config.storage.from_env);
        assert_eq!(found.config.storage.driver.as_deref(), Some("vfs"));
    }

    /// Root with read-only /etc and HOME, writable /tmp (podman --read-only:
    /// tmpfs on /tmp, /var/tmp and /run), as in the deb12-root-priv-readonly
    /// scenario.
    fn readonly_root() -> Fixture {
        Fixture::new()
            .env("HOME", "/root")
            .file("/proc/self/status", "CapEff:\t000001ffffffffff\n")
            .file(
                SHARE_CONF,
                "[containers]\ndefault_sysctls = [\n  \"net.ipv4.ping_group_range=0 0\",\n]\n",
            )
            .file(
                ETC_CONF,
                "[engine]\ncgroup_manager = \"systemd\"\n[engine.runtimes]\nrunc = [\"/usr/sbin/runc\"]\n",
            )
            .dir("/root")
            .dir("/tmp")
            .access("/etc/containers", Access::Write, "EROFS")
            .access("/root", Access::Write, "EROFS")
    }

    fn job_fix_actions(c: &Check) -> &[Action] {
        let fix = c.fix.as_ref().expect("a fix");
        assert_eq!(fix.by, By::Job, "{}", fix.text);
        &fix.actions
    }

    #[test]
    fn readonly_etc_podman4_exports_containers_conf_with_the_whole_chain() {
        let host = readonly_root().host();
        assert_eq!(dropin_path(&host, Some(Version::new(4, 3, 1)), "x"), None);
        assert_eq!(job_dir(&host).as_deref(), Some("/tmp/podrun-0"));
        let found = with_podman(&host, Version::new(4, 3, 1));
        let c = found.check("config.cgroup_manager").unwrap();
        assert_eq!(c.status, Status::Error);
        let actions = job_fix_actions(c);
        let Action::MergeConf { path, toml: body } = &actions[0] else {
            panic!("{actions:?}")
        };
        assert_eq!(path, "/tmp/podrun-0/containers.conf");
        assert_eq!(
            actions[1],
            Action::SetEnv {
                key: "CONTAINERS_CONF".into(),
                value: "/tmp/podrun-0/containers.conf".into()
            }
        );
        // CONTAINERS_CONF replaces every other file: the copy keeps them.
        let doc = toml::parse(body).unwrap();
        assert_eq!(doc.str("engine.cgroup_manager"), Some("cgroupfs"));
        assert_eq!(
            doc.get("containers.default_sysctls")
                .unwrap()
                .value
                .as_str_array(),
            Some(vec!["net.ipv4.ping_group_range=0 0".to_string()])
        );
        assert_eq!(
            doc.get("engine.runtimes.runc")
                .unwrap()
                .value
                .as_str_array(),
            Some(vec!["/usr/sbin/runc".to_string()])
        );
        assert!(c
            .fix
            .as_ref()
            .unwrap()
            .text
            .contains("CONTAINERS_CONF=/tmp/podrun-0"));
    }

    #[test]
    fn readonly_etc_podman5_exports_an_override_and_4_3_ignores_one() {
        let host = readonly_root().host();
        let found = with_podman(&host, Version::new(5, 4, 2));
        let actions = job_fix_actions(found.check("config.cgroup_manager").unwrap());
        assert_eq!(
            actions,
            &[
                Action::MergeConf {
                    path: "/tmp/podrun-0/containers-override.conf".into(),
                    toml: "[engine]\ncgroup_manager = \"cgroupfs\"\n".into()
                },
                Action::SetEnv {
                    key: "CONTAINERS_CONF_OVERRIDE".into(),
                    value: "/tmp/podrun-0/containers-override.conf".into()
                }
            ]
        );
        // Once exported, podman 5 reads it last; podman 4.3 does not read it
        // at all (verified: `podman info` keeps crun under an override
        // naming runc).
        let over = "/tmp/podrun-0/containers-override.conf";
        let body = format!("{OWNED_MARKER}\n[engine]\ncgroup_manager = \"cgroupfs\"\n");
        let host = readonly_root()
            .env("CONTAINERS_CONF_OVERRIDE", over)
            .file(over, &body)
            .host();
        let found = with_podman(&host, Version::new(5, 4, 2));
        assert_eq!(found.config.cgroup_manager, "cgroupfs");
        assert_eq!(
            found.check("config.cgroup_manager").unwrap().status,
            Status::Ok
        );
        let found = with_podman(&host, Version::new(4, 3, 1));
        assert_eq!(found.config.cgroup_manager, "systemd");
        assert!(!found.config.files.contains(&over.to_string()));
    }

    #[test]
    fn a_foreign_containers_conf_variable_is_not_taken_over() {
        // CONTAINERS_CONF names someone else's file: only the image can fix.
        let host = readonly_root()
            .env("CONTAINERS_CONF", "/etc/containers/containers.conf")
            .host();
        let found = with_podman(&host, Version::new(5, 4, 2));
        let c = found.check("config.cgroup_manager").unwrap();
        assert_eq!(c.status, Status::Error);
        assert_eq!(c.fix.as_ref().unwrap().by, By::Image);
        // Same for an override that is not ours, and when /tmp is read-only too.
        let host = readonly_root()
            .env(
                "CONTAINERS_CONF_OVERRIDE",
                "/etc/containers/containers.conf",
            )
            .host();
        let found = with_podman(&host, Version::new(5, 4, 2));
        assert_eq!(
            found
                .check("config.cgroup_manager")
                .unwrap()
                .fix
                .as_ref()
                .unwrap()
                .by,
            By::Image
        );
        let host = readonly_root()
            .access("/tmp", Access::Write, "EROFS")
            .host();
        assert_eq!(job_dir(&host), None);
        let found = with_podman(&host, Version::new(5, 4, 2));
        let fix = found
            .check("config.cgroup_manager")
            .unwrap()
            .fix
            .clone()
            .unwrap();
        assert_eq!(fix.by, By::Image);
        assert!(fix
            .text
            .contains("/etc/containers/containers.conf.d/cgroup-manager.conf"));
    }

    #[test]
    fn job_dir_prefers_a_writable_builds_dir() {
        let host = Fixture::new()
            .uid(1000)
            .env("CI_BUILDS_DIR", "/builds")
            .dir("/builds")
            .dir("/tmp")
            .host();
        assert_eq!(job_dir(&host).as_deref(), Some("/builds/.podrun-1000"));
        let host = Fixture::new()
            .uid(1000)
            .env("CI_BUILDS_DIR", "/builds")
            .env("TMPDIR", "/scratch/")
            .dir("/builds")
            .dir("/scratch")
            .access("/builds", Access::Write, "EROFS")
            .host();
        assert_eq!(job_dir(&host).as_deref(), Some("/scratch/podrun-1000"));
        // An existing base of another user is not used.
        let host = Fixture::new()
            .uid(1000)
            .dir("/tmp/podrun-1000")
            .stat("/tmp/podrun-1000", "dir", 0o700, 0, 0)
            .host();
        assert_eq!(job_dir(&host), None);
    }

    fn hybrid(found: &mut Findings) {
        found.cgroups.crun_refuses = true;
        found.cgroups.hybrid_crun_refuses = true;
    }

    #[test]
    fn hybrid_cgroups_switch_crun_to_runc_when_installed() {
        // Observed on this project's host (podman 4.3.1, crun 1.8.1, hybrid
        // with hugetlb on v2): `podman build --runtime crun` fails with
        // `cgroups in hybrid mode not supported`; after `podrun-doctor env`
        // wrote this drop-in, the same build with a RUN step succeeded.
        let host = Fixture::new()
            .env("HOME", "/root")
            .file("/proc/self/status", "CapEff:\t000001ffffffffff\n")
            .dir("/etc/containers")
            .host();
        let mut found = crate::probes::testutil::with_paths(&host);
        found.tools.podman_version = Some(Version::new(4, 3, 1));
        found.tools.crun = Some("/usr/bin/crun".into());
        found.tools.runc = Some("/usr/sbin/runc".into());
        hybrid(&mut found);
        found.absorb(probe(&host, &found));
        let c = found.check("config.runtime").unwrap();
        assert_eq!(c.status, Status::Error);
        assert!(c.summary.contains("cgroups in hybrid mode not supported"));
        let actions = job_fix_actions(c);
        let Action::WriteFile { path, contents, .. } = &actions[0] else {
            panic!("{actions:?}")
        };
        assert_eq!(
            path,
            "/etc/containers/containers.conf.d/podrun-runtime.conf"
        );
        assert!(contents.contains("runtime = \"runc\""));
        assert_eq!(found.plan.runtime, "runc");

        // Once the drop-in is there: runc, fine.
        let host = Fixture::new()
            .env("HOME", "/root")
            .file("/proc/self/status", "CapEff:\t000001ffffffffff\n")
            .file(path, contents)
            .host();
        let mut found = crate::probes::testutil::with_paths(&host);
        found.tools.podman_version = Some(Version::new(4, 3, 1));
        found.tools.crun = Some("/usr/bin/crun".into());
        found.tools.runc = Some("/usr/sbin/runc".into());
        hybrid(&mut found);
        found.absorb(probe(&host, &found));
        assert_eq!(found.check("config.runtime").unwrap().status, Status::Ok);
        assert_eq!(found.plan.runtime, "runc");
    }

    #[test]
    fn hybrid_cgroups_without_runc_use_chroot_and_chroot_needs_nothing() {
        let host = Fixture::new()
            .uid(1000)
            .env("HOME", "/home/podman")
            .dir("/home/podman")
            .host();
        let mut found = crate::probes::testutil::with_paths(&host);
        found.tools.crun = Some("/usr/bin/crun".into());
        hybrid(&mut found);
        found.absorb(probe(&host, &found));
        let c = found.check("config.runtime").unwrap();
        assert_eq!(c.status, Status::Error);
        assert_eq!(
            job_fix_actions(c),
            &[Action::SetEnv {
                key: "BUILDAH_ISOLATION".into(),
                value: "chroot".into()
            }]
        );
        let mut found = crate::probes::testutil::with_paths(&host);
        found.tools.crun = Some("/usr/bin/crun".into());
        hybrid(&mut found);
        crate::probes::testutil::given_isolation(&mut found, "chroot");
        found.absorb(probe(&host, &found));
        assert_eq!(found.check("config.runtime").unwrap().status, Status::Ok);
        // Not hybrid: crun is fine.
        let mut found = crate::probes::testutil::with_paths(&host);
        found.tools.crun = Some("/usr/bin/crun".into());
        found.absorb(probe(&host, &found));
        assert_eq!(found.check("config.runtime").unwrap().status, Status::Ok);
    }

    #[test]
    fn default_capabilities_outside_the_bounding_set() {
        // Observed: deb12/deb13, outer `--cap-add=SYS_ADMIN --cap-drop=KILL,NET_BIND_SERVICE`
        // (CapBnd 00000000802401db), rootful chroot RUN: `error setting
        // capabilities for process: setting capabilities: operation not
        // permitted`; with this drop-in the same build succeeds.
        let host = Fixture::new()
            .env("HOME", "/root")
            .dir("/etc/containers")
            .host();
        let mut found = crate::probes::testutil::with_paths(&host);
        found.tools.podman_version = Some(Version::new(4, 3, 1));
        found.caps.known = true;
        found.caps.bounding = 0x0000_0000_8024_01db;
        found.caps.effective = 0x0000_0000_8024_01db;
        crate::probes::testutil::given_rootless(&mut found, false);
        // config computes rootless from CapEff through the caps facts.
        found.absorb(probe(&host, &found));
        assert!(!found.plan.rootless);
        let c = found.check("config.capabilities").unwrap();
        assert_eq!(c.status, Status::Error, "{}", c.summary);
        assert!(
            c.summary.contains("KILL, NET_BIND_SERVICE"),
            "{}",
            c.summary
        );
        let Action::WriteFile { path, contents, .. } = &job_fix_actions(c)[0] else {
            panic!()
        };
        assert!(path.ends_with("podrun-capabilities.conf"));
        let doc = toml::parse(contents).unwrap();
        let caps = doc
            .get("containers.default_capabilities")
            .unwrap()
            .value
            .as_str_array()
            .unwrap();
        assert_eq!(caps.len(), 9);
        assert!(!caps.iter().any(|c| c == "KILL" || c == "NET_BIND_SERVICE"));
        assert!(caps.iter().any(|c| c == "SYS_CHROOT"));

        // Configured list with CAP_ prefixes, all present: fine.
        let host = Fixture::new()
            .env("HOME", "/root")
            .file(
                ETC_CONF,
                "[containers]\ndefault_capabilities = [\"CAP_CHOWN\", \"setuid\"]\n",
            )
            .host();
        let mut found = crate::probes::testutil::with_paths(&host);
        found.caps.known = true;
        found.caps.bounding = 0x0000_0000_8024_01db;
        found.caps.effective = 0x0000_0000_8024_01db;
        found.absorb(probe(&host, &found));
        assert_eq!(
            found.check("config.capabilities").unwrap().status,
            Status::Ok
        );

        // Rootless: a new user namespace starts with a full bounding set
        // (verified: the RUN step's CapBnd shows KILL again).
        let host = Fixture::new().uid(1000).env("HOME", "/h").host();
        let mut found = crate::probes::testutil::with_paths(&host);
        found.caps.known = true;
        found.caps.bounding = 0x1db;
        found.absorb(probe(&host, &found));
        assert_eq!(
            found.check("config.capabilities").unwrap().status,
            Status::Ok
        );
    }

    #[test]
    fn ulimit_and_limits_parsers() {
        assert_eq!(
            parse_ulimit("nofile=1024:2048"),
            Some(("nofile".into(), 1024, 2048))
        );
        assert_eq!(
            parse_ulimit("nproc=-1"),
            Some(("nproc".into(), u64::MAX, u64::MAX))
        );
        assert_eq!(parse_ulimit("garbage"), None);
        let real =
            "Limit                     Soft Limit           Hard Limit           Units     \n\
Max cpu time              unlimited            unlimited            seconds   \n\
Max processes             96364                96364                processes \n\
Max open files            1024                 20000                files     \n";
        assert_eq!(parse_hard_limits(real), (Some(20000), Some(96364)));
        assert_eq!(
            parse_hard_limits(
                "Max open files            unlimited            unlimited            files\n"
            ),
            (None, None)
        );
    }
}
