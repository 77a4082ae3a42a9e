//! Area `identity`: who the job runs as and whether podman can tell.
//!
//! Reads the ids, `/etc/passwd` (parsed here, tolerant of garbage), `USER`,
//! `LOGNAME` and `HOME`, and decides podman's own mode: rootless iff the
//! effective uid is not 0, or uid 0 lacks `CAP_SYS_ADMIN` in its effective
//! set, or `_CONTAINERS_USERNS_CONFIGURED` is set non-empty (catalog L4).
//! It uses the `caps` area's facts when they were read and otherwise reads
//! `/proc/self/status` itself; later areas read both through [`privs`].
//!
//! Fixes: a `HOME` of the job's own (catalog E1, E2) and a passwd entry for
//! an arbitrary OpenShift uid when `/etc/passwd` is writable (catalog U5).

use super::paths::Paths;
use super::{AreaOut, Findings, Obs};
use crate::formats::passwd::{parse_passwd, Passwd, PasswdEntry};
use crate::formats::subid;
use crate::host::{Access, FileKind, Found, Host, ReadProblem, Stat};
use crate::ids::{Gid, Uid};
use crate::model::{Action, By, Check, Spec, Status};
use crate::remedy::identity::{HOME_VOLUME, KNOWN_UID, OPENSHIFT_UID, PASSWD_ENTRY};
use crate::remedy::runner::Executor;
use serde_json::{json, Value};

/// Capability bits used by the identity-related areas.
pub const CAP_SETGID: u32 = 6;
pub const CAP_SETUID: u32 = 7;
pub const CAP_SYS_ADMIN: u32 = 21;
pub const CAP_SETFCAP: u32 = 31;

/// Uids from here up are OpenShift's per-namespace arbitrary uids.
pub const OPENSHIFT_UID_MIN: Uid = Uid(1_000_000_000);

const PASSWD: &str = "/etc/passwd";
const SUBUID: &str = "/etc/subuid";
const STATUS: &str = "/proc/self/status";

#[derive(Debug, Default, Clone)]
pub struct Facts {
    pub uid: Uid,
    pub gid: Gid,
    pub groups: Vec<Gid>,
    /// The passwd name of the uid, when `/etc/passwd` has one.
    pub user: Option<String>,
    /// The home directory of that passwd entry.
    pub passwd_home: Option<String>,
    /// The primary gid of that passwd entry.
    pub passwd_gid: Option<Gid>,
    /// `HOME` as found.
    pub home: Option<String>,
    /// `HOME` is usable by podman as it stands (set, not `/`, an existing
    /// writable directory for a rootless non-root job).
    pub home_ok: bool,
    /// uid ≥ 1000000000, gid 0 and no passwd entry: an OpenShift
    /// `restricted-v2` style arbitrary uid.
    pub openshift_like: bool,
    /// The name a passwd line appended by this tool's fix will carry (only
    /// set when that fix is offered), so sub-id fixes can use the same name.
    pub planned_name: Option<String>,
    /// The `HOME` this tool's fix moves to (only set when one is offered).
    pub planned_home: Option<String>,
    /// `home.set` or `home.writable` is a problem this run's fixes move
    /// HOME for: the user's config and storage directories follow the new
    /// HOME, so later areas' file fixes wait for it.
    pub home_moves: bool,
    /// The name podman looks sub-ids up by: `$USER` when set, else the
    /// passwd name.
    pub podman_user: Option<String>,
    /// Podman's mode (`decide::rootless` of the three facts below).
    pub rootless: bool,
    /// `_CONTAINERS_USERNS_CONFIGURED` is set.
    pub userns_configured: bool,
    /// CAP_SYS_ADMIN is effective (`None`: capabilities unknown).
    pub sys_admin: Option<bool>,
    /// The area ran (the plan's `rootless` is decided from its facts).
    pub probed: bool,
    /// HOME, the XDG directories, the config home and the job directory,
    /// derived once here for every later area.
    pub paths: Paths,
}

impl Facts {
    /// Rootless and not uid 0: podman maps ids through newuidmap/newgidmap
    /// and reads `/etc/subuid`, `/etc/subgid` and `$HOME`.
    pub fn rootless_nonroot(&self) -> bool {
        self.rootless && !self.uid.is_root()
    }

    /// uid 0 without `CAP_SYS_ADMIN`: podman writes the maps itself,
    /// copying `/proc/self/uid_map`.
    pub fn rootless_root(&self) -> bool {
        self.rootless && self.uid.is_root()
    }
}

/// Privileges as the identity areas use them, from the `caps` area (which
/// runs first and is the one reader of `/proc/self/status`); `known` is
/// false when it could not read them.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Privs {
    pub known: bool,
    pub eff: u64,
    pub bnd: u64,
    pub nnp: bool,
    pub seccomp: u32,
}

impl Privs {
    pub fn eff_has(&self, bit: u32) -> bool {
        self.eff & (1u64 << bit) != 0
    }
    pub fn bnd_has(&self, bit: u32) -> bool {
        self.bnd & (1u64 << bit) != 0
    }
}

pub fn privs(found: &Findings) -> Privs {
    let c = &found.caps;
    Privs {
        known: c.known,
        eff: c.effective,
        bnd: c.bounding,
        nnp: c.no_new_privs,
        seccomp: u32::from(c.seccomp_mode),
    }
}

pub const SPECS: &[Spec] = &[
    Spec {
        id: "identity.mode",
        title: "Which of podman's modes applies (rootful, rootless as root, rootless)",
        explain: "Podman decides by itself: it runs rootless when the effective uid is not 0, \
when uid 0 lacks CAP_SYS_ADMIN in its effective set (an unprivileged container), or when \
_CONTAINERS_USERNS_CONFIGURED is set non-empty. A root job in a privileged container runs rootful. \
A non-root job always maps its ids through the setuid helpers newuidmap/newgidmap with the ranges of \
/etc/subuid and /etc/subgid; a root job without CAP_SYS_ADMIN copies /proc/self/uid_map into a new \
user namespace itself and needs no helper (GitLab's root, privileged=false recipe). Which rows of \
the checklist matter follows from this mode. Choose the mode in the runner: `privileged`, \
`allow_privilege_escalation`, `[runners.kubernetes.build_container_security_context] run_as_user`.",
        signatures: &[],
    },
    Spec {
        id: "identity.passwd",
        title: "The job's uid has an /etc/passwd entry",
        explain: "newuidmap looks the caller up with getpwuid() and checks /etc/subuid by that \
name; podman looks sub-ids up by $USER or the passwd name. A uid without an entry (OpenShift \
restricted-v2 assigns random uids ≥ 1000000000; any `run_as_user` the image does not know) gets \
`newuidmap: Cannot determine your user name`, `cannot find UID/GID for user : ...` and only a \
single-id mapping, so any image layer with files owned by other ids fails to unpack. Fix: when \
/etc/passwd is writable (images built with `RUN chmod g=u /etc/passwd /etc/subuid /etc/subgid` for \
OpenShift's gid 0) this tool appends `name:x:UID:GID::HOME:/bin/sh`; otherwise build the image that \
way, or run the job with a uid the image knows: `[runners.kubernetes.build_container_security_context] \
run_as_user = 1000` (on OpenShift with an SCC that allows it, e.g. anyuid; docker executor: \
`user = \"1000\"` under [runners.docker]).",
        signatures: &[
            "newuidmap: Cannot determine your user name",
            "cannot find UID/GID for user :",
            "error determining current user: user: unknown userid",
            "user: unknown userid",
        ],
    },
    Spec {
        id: "identity.passwd_syntax",
        title: "/etc/passwd lines are well-formed",
        explain: "Lines of /etc/passwd that are not `name:pw:uid:gid:gecos:home:shell` with numeric \
ids are skipped by the C library; an entry meant for the job's user on such a line is invisible to \
newuidmap. Fix the file in the image.",
        signatures: &[],
    },
    Spec {
        id: "identity.openshift",
        title: "OpenShift arbitrary uid (restricted-v2 SCC)",
        explain: "A uid ≥ 1000000000 with gid 0 and no passwd entry is how OpenShift's \
restricted-v2 SCC runs pods. That SCC also drops all capabilities, sets no_new_privs and uses the \
runtime seccomp profile, so rootless podman with several ids cannot work there. Remedies: bind the \
runner's service account to the `anyuid` SCC and set `run_as_user = 1000`, or a custom SCC like Red \
Hat's nested-podman example (allowPrivilegeEscalation: true, allowedCapabilities [SETUID, SETGID], \
runAsUser MustRunAs 1000, seLinuxOptions.type container_engine_t, userNamespaceLevel \
RequirePodLevel); build the image with `chmod g=u /etc/passwd /etc/subuid /etc/subgid`. Plain \
Kubernetes: `run_as_user = 1000` in [runners.kubernetes.build_container_security_context]; docker \
executor: `user = \"1000\"` under [runners.docker].",
        signatures: &["newuidmap: Cannot determine your user name"],
    },
    Spec {
        id: "identity.user_env",
        title: "USER and LOGNAME agree with the passwd entry",
        explain: "Podman looks up /etc/subuid and /etc/subgid by $USER first and by the passwd name \
of the uid only when USER is unset, while newuidmap checks the ranges of the real passwd name. An \
inherited USER (root's after `su`, the runner's) makes podman pass ranges newuidmap refuses, or find \
none. Fix: export USER (and LOGNAME) as the passwd name; this tool does that in `env`/`exec`. A \
passwd name that is the uid itself (CRI-O's entries for arbitrary uids) makes podman pass every \
range twice; this tool appends an alias entry when /etc/passwd is writable, else run the job as a \
uid the image knows: `[runners.kubernetes.build_container_security_context] run_as_user = 1000` \
(OpenShift: with an SCC that allows it, e.g. anyuid), docker executor `user = \"1000\"` under \
[runners.docker].",
        signatures: &["cannot find UID/GID for user", "no subuid ranges found for user"],
    },
    Spec {
        id: "home.set",
        title: "HOME is set to a real directory, not `/`",
        explain: "Rootless podman keeps its configuration in $HOME/.config/containers and its images \
in $HOME/.local/share/containers. Kubernetes does not derive HOME from the security-context uid, so \
a job running as a uid the image does not know often has HOME=/ or HOME unset: `mkdir /.local: \
permission denied`, `unable to resolve HOME directory`, and git's `could not lock config file \
//.gitconfig`. Fix (job, `env`/`exec`): this tool exports HOME to a private directory of the job's \
own ($CI_BUILDS_DIR/.podrun-UID/home, else $TMPDIR/podrun-UID/home) and copies the image's \
per-user containers.conf files there. Runner fix: `environment = [\"HOME=/build_home\"]` with an \
emptyDir mounted there (`[[runners.kubernetes.volumes.empty_dir]] name = \"home\" mount_path = \
\"/build_home\"`, Kubernetes and OpenShift), or mount the emptyDir at the image's home; docker \
executor: the same `environment` with /build_home a directory of the job's uid in the image. The runner \
helper's git clone runs before any job script, so its //.gitconfig error needs the runner fix.",
        signatures: &[
            "could not lock config file //.gitconfig",
            "unable to resolve HOME directory",
            "mkdir /.local: permission denied",
            // podman 5 with HOME=/ dies at start, even for `podman --version`:
            "stat /.config: no such file or directory",
            "mkdir /.config: permission denied",
        ],
    },
    Spec {
        id: "home.writable",
        title: "HOME exists, is a directory the job owns and can write",
        explain: "Podman creates $HOME/.config/containers and $HOME/.local/share/containers; a HOME \
that is missing, read-only, or owned by someone else (`/root` for a non-root job) fails with \
`permission denied` or `path \"…/.config\" exists and it is not owned by the current user`. Fix \
(job): this tool exports HOME to a private writable directory, copying the image's per-user \
containers.conf files. Runner fix: `environment = [\"HOME=/build_home\"]` plus an \
emptyDir at that path.",
        signatures: &[
            "exists and it is not owned by the current user",
            "could not lock config file /root/.gitconfig",
            "unable to access '/root/.gitconfig': Permission denied",
            "creating tmpdir: mkdir",
        ],
    },
];

/// A real directory of `uid` (not a symlink to one: its owner could point
/// it anywhere at any time) that it can write.
fn is_owned_writable_dir(host: &Host, path: &str, uid: Uid) -> bool {
    host.owned_dir_no_follow(path, uid.get()) && host.access(path, Access::Write).is_ok()
}

/// Where this tool would move HOME, with the actions that make it, or why
/// it cannot.
struct HomePlan {
    home: String,
    actions: Vec<Action>,
    text: String,
}

fn plan_home(
    host: &Host,
    uid: Uid,
    passwd_home: Option<&str>,
    paths: &Paths,
) -> Result<HomePlan, String> {
    // The passwd home, when it is good, is the simplest place.
    if let Some(ph) = passwd_home.filter(|h| h.starts_with('/') && *h != "/") {
        if is_owned_writable_dir(host, ph, uid) {
            return Ok(HomePlan {
                home: ph.to_string(),
                actions: vec![Action::SetEnv {
                    key: "HOME".into(),
                    value: ph.to_string(),
                }],
                text: format!("export HOME={ph} (the passwd home, owned and writable)"),
            });
        }
    }
    // The job directory (paths::job_dir) is the one place of the job's own.
    let Some(base) = paths.job_dir.clone() else {
        return Err(
            "neither $CI_BUILDS_DIR, $TMPDIR nor /tmp is a writable directory closed to other \
             uids (world-writable without the sticky bit is refused) for a new HOME"
                .to_string(),
        );
    };
    let home = format!("{base}/home");
    for p in [&base, &home] {
        // lstat: a symlink planted here is foreign, whatever it points to.
        if let Ok(s) = host.lstat(p) {
            if s.kind != FileKind::Dir || s.uid != uid.get() {
                return Err(format!(
                    "{p} exists and is not a directory owned by uid {uid}; not using it"
                ));
            }
        }
    }
    let mut actions = vec![
        Action::CreateDir {
            path: base.clone(),
            mode: 0o700,
        },
        Action::CreateDir {
            path: home.clone(),
            mode: 0o700,
        },
    ];
    let mut text = format!("export HOME={home} (a private directory, mode 0700)");
    if let Some(ph) = passwd_home.filter(|h| *h != home && h.starts_with('/')) {
        if paths.xdg_config_home.is_none() {
            let src = format!("{}/.config/containers", ph.trim_end_matches('/'));
            copy_user_confs(host, &src, &home, &mut actions, &mut text);
        }
    }
    actions.push(Action::SetEnv {
        key: "HOME".into(),
        value: home.clone(),
    });
    Ok(HomePlan {
        home,
        actions,
        text,
    })
}

/// The image's per-user podman config (`*.conf` in `src`) copied into the
/// new HOME, each file read with `read_checked` (a FIFO there must not hang
/// the doctor; an unreadable file is named in `text`, never skipped
/// silently).
fn copy_user_confs(
    host: &Host,
    src: &str,
    home: &str,
    actions: &mut Vec<Action>,
    text: &mut String,
) {
    let mut confs = Vec::new();
    let mut skipped = Vec::new();
    let names = host.read_dir(src).unwrap_or_default();
    for name in names.into_iter().filter(|n| n.ends_with(".conf")) {
        let path = format!("{src}/{name}");
        match host.read_checked(&path) {
            Ok(Some(contents)) => confs.push((name, path, contents)),
            // A directory named *.conf is no config file.
            Err(p) if p.found == Found::NotRegular(FileKind::Dir) => {}
            Err(p) => skipped.push(p.to_string()),
            Ok(None) => {}
        }
    }
    let dst = format!("{home}/.config/containers");
    if !confs.is_empty() {
        for dir in [format!("{home}/.config"), dst.clone()] {
            actions.push(Action::CreateDir {
                path: dir,
                mode: 0o700,
            });
        }
        let copied: Vec<&str> = confs.iter().map(|(_, p, _)| p.as_str()).collect();
        text.push_str(&format!(
            "; copy the image's per-user podman config ({}) there",
            copied.join(", ")
        ));
    }
    for (name, _, contents) in confs {
        actions.push(Action::WriteFile {
            path: format!("{dst}/{name}"),
            contents,
            mode: 0o644,
        });
    }
    if !skipped.is_empty() {
        text.push_str(&format!("; not copied: {}", skipped.join("; ")));
    }
}

/// The HOME move when the job can make it, else the runner's volume.
fn home_fix(check: Check, cx: &Cx) -> Check {
    match cx.home_plan {
        Ok(p) => check.job_fix(p.text.clone(), p.actions.clone()),
        Err(why) => check
            .with("job_fix_impossible", why.clone())
            .fix(By::RunnerAdmin, HOME_VOLUME.text(cx.executor)),
    }
}

pub fn probe(host: &Host, earlier: &Findings) -> AreaOut<Facts> {
    let found = &mut Obs::new(earlier);
    let mut facts = mode_facts(host, found);
    found.checks.push(mode_check(&facts));

    let passwd_text = read_passwd(host);
    let passwd = match &passwd_text {
        Ok(t) => parse_passwd(t),
        Err(_) => Passwd::default(),
    };
    passwd_syntax_check(&passwd, &mut found.checks);
    let entry = passwd.by_uid(facts.uid).cloned();
    facts.user = entry.as_ref().map(|e| e.name.clone());
    facts.passwd_home = entry.as_ref().map(|e| e.home.clone());
    facts.passwd_gid = entry.as_ref().map(|e| e.gid);
    facts.openshift_like = facts.uid >= OPENSHIFT_UID_MIN && facts.gid.is_root() && entry.is_none();

    // HOME analysis comes first: the passwd fix writes the home it plans.
    let home_plan = plan_home(host, facts.uid, facts.passwd_home.as_deref(), &facts.paths);
    let paths = facts.paths.clone();
    let mut cx = Cx {
        host,
        uid: facts.uid,
        gid: facts.gid,
        strict: facts.rootless_nonroot(),
        passwd: &passwd,
        paths: &paths,
        home_env: paths.home.clone(),
        home_kept: None,
        home_plan: &home_plan,
        executor: Executor::of(&found.context),
    };
    let (set_check, writable_check) = home_checks(&cx, &facts);
    // HOME stays when podman can use it as found: the passwd line names it.
    let usable = set_check.status == Status::Ok && writable_check.status == Status::Ok;
    cx.home_kept = cx.home_env.clone().filter(|_| usable);
    facts.home_ok = usable || !cx.strict;
    note_home_move(&cx, &mut facts, [&set_check, &writable_check]);

    let passwd_c = passwd_check(&cx, &passwd_text, entry.as_ref(), &mut facts);
    found.checks.push(passwd_c);
    found.checks.extend(openshift_check(&facts, cx.executor));
    found.checks.push(user_env_check(&cx, &mut facts));
    found.checks.push(set_check);
    found.checks.push(writable_check);

    found
        .report_context
        .insert("user".into(), json!(facts.user.clone()));
    found
        .report_context
        .insert("home".into(), json!(facts.home.clone()));
    found.finish(facts)
}

/// The ids, podman's mode (`decide::rootless`) and the derived paths.
fn mode_facts(host: &Host, found: &Obs) -> Facts {
    let ids = host.ids().clone();
    let userns_configured = host.env_nonempty("_CONTAINERS_USERNS_CONFIGURED").is_some();
    // The caps area runs before this one.
    let cap_eff = found.caps.known.then_some(found.caps.effective);
    let sys_admin = cap_eff.map(|c| c & (1u64 << CAP_SYS_ADMIN) != 0);
    let rootless = crate::decide::rootless(&crate::decide::User {
        uid: Uid(ids.uid),
        userns_configured,
        sys_admin,
    });
    let paths = Paths::derive(host);
    Facts {
        uid: Uid(ids.uid),
        gid: Gid(ids.gid),
        groups: ids.groups.iter().copied().map(Gid).collect(),
        rootless,
        userns_configured,
        sys_admin,
        probed: true,
        home: paths.home.clone(),
        paths,
        ..Facts::default()
    }
}

/// `/etc/passwd` through the checked reader (issue 9): a FIFO, a
/// directory, a huge or unreadable file is a problem in words, never a
/// hang; a missing file is ENOENT.
fn read_passwd(host: &Host) -> Result<String, ReadProblem> {
    match host.read_checked(PASSWD) {
        Ok(Some(text)) => Ok(text),
        Ok(None) => Err(ReadProblem::new(PASSWD, Found::Error("ENOENT".into()))),
        Err(p) => Err(p),
    }
}

/// What the identity checks share once passwd is read and the HOME
/// relocation is planned.
struct Cx<'a> {
    host: &'a Host,
    uid: Uid,
    gid: Gid,
    /// Rootless and not uid 0: podman needs passwd, sub-ids and HOME.
    strict: bool,
    passwd: &'a Passwd,
    paths: &'a Paths,
    /// `HOME` as found.
    home_env: Option<String>,
    /// `HOME` as found when podman can use it (it is then kept).
    home_kept: Option<String>,
    home_plan: &'a Result<HomePlan, String>,
    /// The executor the job runs under, for runner remedies.
    executor: Executor,
}

/// A HOME podman can use as it stands: absolute, not `/`, an owned
/// writable directory.
fn home_usable(host: &Host, h: &str, uid: Uid) -> bool {
    h.starts_with('/') && h != "/" && is_owned_writable_dir(host, h, uid)
}

/// `identity.mode` (L4): podman's mode and why.
fn mode_check(f: &Facts) -> Check {
    let (uid, rootless, sys_admin) = (f.uid, f.rootless, f.sys_admin);
    let userns_configured = f.userns_configured;
    let mode_summary = if !uid.is_root() {
        format!("uid {uid}: podman runs rootless and maps ids through newuidmap/newgidmap with /etc/subuid and /etc/subgid")
    } else if userns_configured {
        "uid 0 with _CONTAINERS_USERNS_CONFIGURED set: podman runs rootless and assumes it is already in its user namespace".to_string()
    } else {
        match sys_admin {
            Some(true) => "uid 0 with CAP_SYS_ADMIN: podman runs rootful (no user namespace of its own)".to_string(),
            Some(false) => "uid 0 without CAP_SYS_ADMIN: podman runs rootless and copies /proc/self/uid_map into its user namespace (no setuid helper, /etc/subuid unused)".to_string(),
            None => format!("uid 0, capabilities unreadable ({STATUS}): podman treats this as rootful"),
        }
    };
    let mode_status = if uid.is_root() && sys_admin.is_none() {
        Status::Warn
    } else {
        Status::Info
    };
    Check::new("identity.mode", mode_status, mode_summary)
        .with("uid", uid)
        .with("gid", f.gid)
        .with(
            "groups",
            json!(f.groups.iter().map(|g| g.get()).collect::<Vec<_>>()),
        )
        .with("rootless", rootless)
        .with("cap_sys_admin", json!(sys_admin))
        .with("_CONTAINERS_USERNS_CONFIGURED_set", userns_configured)
}

/// `identity.passwd_syntax`: malformed lines are ignored, and said so.
fn passwd_syntax_check(passwd: &Passwd, out: &mut Vec<Check>) {
    if !passwd.bad.is_empty() {
        let lines: Vec<Value> = passwd
            .bad
            .iter()
            .take(20)
            .map(|(n, why)| json!({"line": n, "problem": why}))
            .collect();
        out.push(
            Check::warn(
                "identity.passwd_syntax",
                format!(
                    "{PASSWD} has {} malformed line(s) (first: line {}, {}); they are ignored",
                    passwd.bad.len(),
                    passwd.bad[0].0,
                    passwd.bad[0].1
                ),
            )
            .with("path", PASSWD)
            .with("bad_lines", Value::Array(lines))
            .fix(
                By::Image,
                "Fix /etc/passwd in the image: every line `name:x:uid:gid:gecos:home:shell`.",
            ),
        );
    }
}

/// `identity.passwd`: an entry for the uid (newuidmap needs the name),
/// with the append fix when the file is writable.
fn passwd_check(
    cx: &Cx,
    passwd_text: &Result<String, ReadProblem>,
    entry: Option<&PasswdEntry>,
    facts: &mut Facts,
) -> Check {
    let uid = cx.uid;
    match (passwd_text, entry) {
        (Err(problem), _) => unreadable_passwd_check(problem, cx.strict),
        (Ok(_), Some(e)) => Check::ok(
            "identity.passwd",
            format!("uid {uid} is `{}` in {PASSWD} (home {})", e.name, e.home),
        )
        .with("path", PASSWD)
        .with("name", e.name.clone())
        .with("passwd_gid", e.gid)
        .with("passwd_home", e.home.clone()),
        (Ok(_), None) if !cx.strict => Check::info(
            "identity.passwd",
            format!("uid {uid} has no entry in {PASSWD}; podman does not need one in this mode"),
        )
        .with("path", PASSWD),
        (Ok(_), None) => no_entry_check(cx, facts),
    }
}

/// `/etc/passwd` is missing or no readable regular file: the sentence says
/// what stands there and what to do; nothing is appended to it.
fn unreadable_passwd_check(problem: &ReadProblem, strict: bool) -> Check {
    let errno = crate::host::io_error_name(&std::io::Error::from_raw_os_error(problem.errno()));
    let status = if strict { Status::Error } else { Status::Warn };
    let summary = match &problem.found {
        Found::Error(e) if e == "ENOENT" => {
            format!("cannot read {PASSWD} (ENOENT): newuidmap cannot determine the user name")
        }
        _ => format!("{problem}; until then newuidmap cannot determine the user name"),
    };
    let check = Check::new("identity.passwd", status, summary)
        .with("path", PASSWD)
        .with("errno", errno);
    let check = match &problem.found {
        Found::Error(e) if e == "ENOENT" => check,
        _ => check.with("problem", problem.to_string()),
    };
    check.fix(
        By::Image,
        "Ship a readable /etc/passwd with an entry for the job's uid in the image.",
    )
}

/// No entry for the uid in a rootless job: append one when the file is
/// writable, else the image or runner remedy.
fn no_entry_check(cx: &Cx, facts: &mut Facts) -> Check {
    let (uid, gid) = (cx.uid, cx.gid);
    let name = free_name(cx.passwd, uid);
    let writable = cx.host.access(PASSWD, Access::Write).is_ok();
    let check = Check::error(
        "identity.passwd",
        format!(
            "uid {uid} has no entry in {PASSWD}: newuidmap cannot determine the user name and podman finds no sub-id ranges{}",
            if writable { "" } else { " (and the file is not writable)" }
        ),
    )
    .with("path", PASSWD)
    .with("writable", writable)
    .with("openshift_like", facts.openshift_like);
    if !writable {
        return check.fix(By::Image, PASSWD_ENTRY.text(cx.executor));
    }
    let home = line_home(cx);
    let line = format!("{name}:x:{uid}:{gid}::{}:/bin/sh", home.field);
    facts.planned_name = Some(name.clone());
    let actions = vec![
        Action::AppendLine {
            path: PASSWD.into(),
            line: line.clone(),
        },
        Action::SetEnv {
            key: "USER".into(),
            value: name.clone(),
        },
        Action::SetEnv {
            key: "LOGNAME".into(),
            value: name.clone(),
        },
    ];
    home.note(check).with("planned_line", line.clone()).job_fix(
        format!("append `{line}` to {PASSWD} (it is writable) and export USER={name}"),
        actions,
    )
}

/// `identity.openshift`: an OpenShift arbitrary uid, and the SCC that helps.
fn openshift_check(facts: &Facts, executor: Executor) -> Option<Check> {
    let (uid, gid) = (facts.uid, facts.gid);
    facts.openshift_like.then(|| {
        Check::info(
            "identity.openshift",
            format!("uid {uid} with gid 0 and no passwd entry: an OpenShift arbitrary uid (restricted-v2 SCC)"),
        )
        .with("uid", uid)
        .with("gid", gid)
        .fix(By::RunnerAdmin, OPENSHIFT_UID.text(executor))
    })
}

/// `identity.user_env`: the name podman looks sub-ids up by (`$USER`)
/// against the passwd name newuidmap checks them by.
fn user_env_check(cx: &Cx, facts: &mut Facts) -> Check {
    let (uid, passwd) = (cx.uid, cx.passwd);
    let user_env = cx.host.env_nonempty("USER").map(str::to_string);
    facts.podman_user = user_env.clone().or_else(|| facts.user.clone());
    let uid_s = uid.to_string();
    // An alias in USER that resolves to our uid (the numeric-name fix below).
    let alias_ok = |u: &str| u != uid_s && passwd.by_name(u).is_some_and(|e| e.uid == uid);
    match (&facts.user, &user_env) {
        (_, _) if !cx.strict => Check::info(
            "identity.user_env",
            "podman does not look up sub-id ranges in this mode",
        )
        .with("USER", json!(user_env)),
        (Some(name), u) if *name == uid_s && !u.as_deref().is_some_and(alias_ok) => {
            numeric_name_check(cx, name, u.as_deref())
        }
        (Some(name), Some(u)) if *name == uid_s => Check::ok(
            "identity.user_env",
            format!("USER={u} is an alias of uid {uid}: podman lists the sub-id ranges once"),
        )
        .with("USER", u.clone())
        .with("passwd_name", name.clone()),
        (Some(name), None) => Check::ok(
            "identity.user_env",
            format!("USER is unset; podman looks uid {uid} up (`{name}`)"),
        ),
        (Some(name), Some(u)) if u == name => Check::ok(
            "identity.user_env",
            format!("USER={u} matches the passwd entry"),
        )
        .with("USER", u.clone()),
        (Some(name), Some(u)) => user_mismatch_check(cx, u, name),
        (None, u) => Check::info(
            "identity.user_env",
            "no passwd entry for the uid: see identity.passwd".to_string(),
        )
        .with("USER", json!(u)),
    }
}

/// USER names another user than the passwd entry: an error when the
/// sub-id ranges podman finds for USER differ from newuidmap's.
fn user_mismatch_check(cx: &Cx, u: &str, name: &str) -> Check {
    let uid = cx.uid;
    // An unreadable /etc/subuid changes no lookup (the subid area reports it).
    let differs = matches!(cx.host.read_checked(SUBUID), Ok(Some(t))
        if subid::lookup_differs(&subid::parse_subid(&t), cx.passwd, u, name, uid));
    let status = if differs { Status::Error } else { Status::Warn };
    Check::new(
        "identity.user_env",
        status,
        format!(
            "USER={u} but uid {uid} is `{name}`: podman looks sub-ids up as `{u}`, newuidmap checks them as `{name}`{}",
            if differs { " and they differ" } else { "" }
        ),
    )
    .with("USER", u)
    .with("passwd_name", name)
    .job_fix(
        format!("export USER={name} LOGNAME={name}"),
        vec![
            Action::SetEnv {
                key: "USER".into(),
                value: name.to_string(),
            },
            Action::SetEnv {
                key: "LOGNAME".into(),
                value: name.to_string(),
            },
        ],
    )
}

/// `home.set` and `home.writable` (not yet pushed: the passwd fixes need
/// to know first whether HOME stays).
fn home_checks(cx: &Cx, facts: &Facts) -> (Check, Check) {
    let set_check = home_set_check(cx, facts);
    let writable_check = match cx.home_env.as_deref() {
        Some(h) if h.starts_with('/') && h != "/" && !has_control(h) => home_writable(cx, h),
        _ => Check::info(
            "home.writable",
            "not checked: HOME is not set to a directory (see home.set)",
        ),
    };
    (set_check, writable_check)
}

/// Whether this run's fixes move HOME, and where to.
fn note_home_move(cx: &Cx, facts: &mut Facts, checks: [&Check; 2]) {
    facts.home_moves = checks
        .iter()
        .any(|c| c.status >= Status::Warn && c.job_can_fix());
    if let Ok(p) = cx.home_plan {
        if checks.iter().any(|c| c.job_can_fix()) {
            facts.planned_home = Some(p.home.clone());
        }
    }
}

/// `home.set`: HOME is set to an absolute directory path other than `/`.
fn home_set_check(cx: &Cx, facts: &Facts) -> Check {
    let (host, uid, strict) = (cx.host, cx.uid, cx.strict);
    match cx.home_env.as_deref() {
        None | Some("") if !strict => Check::info(
            "home.set",
            "HOME is unset (podman does not need it in this mode)",
        ),
        None | Some("") => match facts.passwd_home.as_deref() {
            Some(ph) if home_usable(host, ph, uid) => Check::warn(
                "home.set",
                format!("HOME is unset; podman falls back to the passwd home {ph}, other tools may not"),
            )
            .with("passwd_home", ph)
            .job_fix(
                format!("export HOME={ph}"),
                vec![Action::SetEnv {
                    key: "HOME".into(),
                    value: ph.to_string(),
                }],
            ),
            _ => home_fix(
                Check::error(
                    "home.set",
                    "HOME is unset and there is no usable passwd home: rootless podman has nowhere for its config and storage",
                ),
                cx,
            ),
        },
        Some("/") if strict => home_fix(
            Check::error(
                "home.set",
                "HOME is `/`: rootless podman fails with `mkdir /.local: permission denied`",
            )
            .with("HOME", "/"),
            cx,
        ),
        Some("/") => Check::info(
            "home.set",
            "HOME is `/` (as root this only matters to tools like git)",
        )
        .with("HOME", "/"),
        Some(h) if has_control(h) => control_home_check(cx, h),
        Some(h) if !h.starts_with('/') => {
            let c = Check::new(
                "home.set",
                if strict { Status::Error } else { Status::Warn },
                format!("HOME={h} is not an absolute path"),
            )
            .with("HOME", h);
            if strict {
                home_fix(c, cx)
            } else {
                c
            }
        }
        Some(h) => Check::ok("home.set", format!("HOME={h}")).with("HOME", h),
    }
}

/// A HOME with a control character (a newline, a tab): no pipeline sets
/// one on purpose, and it must never reach /etc/passwd, a config file or
/// the checklist raw. Shown escaped; moved when the job can.
fn control_home_check(cx: &Cx, h: &str) -> Check {
    let c = Check::warn(
        "home.set",
        format!(
            "HOME={} contains a control character: it is not written into /etc/passwd or any \
             config file, and tools that read paths by lines break on it",
            shown(h)
        ),
    )
    .with("HOME", h);
    if cx.strict {
        home_fix(c, cx)
    } else {
        c.fix(
            By::RunnerAdmin,
            "Set HOME to a plain absolute path in the runner's `environment` or the job's variables.",
        )
    }
}

/// `s` for a sentence: as it is, or escaped when it holds control
/// characters (a raw newline would forge a line of the checklist).
fn shown(s: &str) -> String {
    if has_control(s) {
        format!("\"{}\"", s.escape_default())
    } else {
        s.to_string()
    }
}

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

/// The home field of a passwd line this tool appends, and the HOME passed
/// over on the way (`note`).
struct LineHome {
    field: String,
    passed_over: Option<String>,
}

impl LineHome {
    /// Says on the check why HOME itself is not the line's home field.
    fn note(&self, check: Check) -> Check {
        match &self.passed_over {
            Some(why) => check.with("home_not_in_passwd", why.clone()),
            None => check,
        }
    }
}

/// The home field of an appended passwd line: HOME when it is kept, else
/// where this run moves it, else `/tmp`; never a value that is no plain
/// passwd field (a `:` splits the record, a newline starts another one:
/// `HOME="/tmp/x<newline>evil::0:0::/root"` would add a uid-0 account).
fn line_home(cx: &Cx) -> LineHome {
    let planned = cx.home_plan.as_ref().ok().map(|p| p.home.clone());
    let mut passed_over = None;
    for h in cx.home_kept.iter().cloned().chain(planned) {
        match passwd_field_problem(&h) {
            None => {
                return LineHome {
                    field: h,
                    passed_over,
                }
            }
            Some(why) => {
                passed_over.get_or_insert(format!("{} {why}", shown(&h)));
            }
        }
    }
    LineHome {
        field: "/tmp".to_string(),
        passed_over,
    }
}

/// What keeps `value` out of a passwd field, in words.
fn passwd_field_problem(value: &str) -> Option<&'static str> {
    if has_control(value) {
        Some("contains a control character")
    } else if value.contains(':') {
        Some("contains `:`, the passwd field separator")
    } else {
        None
    }
}

/// A name for a passwd line appended for `uid` that no other uid's line
/// uses: `podman`, else `user<uid>`, else `user<uid>_<n>` (a name taken by
/// another uid would resolve to that entry). A name already given to this
/// uid (by an earlier run) is reused, so a second run appends nothing.
fn free_name(passwd: &Passwd, uid: Uid) -> String {
    let free = |n: &str| passwd.by_name(n).is_none_or(|e| e.uid == uid);
    if free("podman") {
        return "podman".to_string();
    }
    let mut n = format!("user{uid}");
    let mut i = 1;
    while !free(&n) {
        n = format!("user{uid}_{i}");
        i += 1;
    }
    n
}

/// The passwd name is the uid itself (CRI-O and podman add such entries for
/// arbitrary uids): podman's libsubid lookup matches every sub-id line once
/// by name and once by uid, passes each range twice, and newuidmap fails.
/// Fix: an alias entry for the same uid and USER set to it (podman then
/// finds the uid-keyed lines once; newuidmap still checks by the uid).
fn numeric_name_check(cx: &Cx, name: &str, user_env: Option<&str>) -> Check {
    let (host, passwd, uid, gid) = (cx.host, cx.passwd, cx.uid, cx.gid);
    let c = Check::error(
        "identity.user_env",
        format!(
            "the passwd name of uid {uid} is `{name}`, the uid itself: podman (libsubid) finds every \
sub-id line twice, by name and by uid, and newuidmap refuses the overlapping ranges"
        ),
    )
    .with("passwd_name", name)
    .with("USER", json!(user_env));
    if host.access(PASSWD, Access::Write).is_err() {
        return c.fix(By::RunnerAdmin, KNOWN_UID.text(cx.executor));
    }
    let alias = free_name(passwd, uid);
    let home = line_home(cx);
    let line = format!("{alias}:x:{uid}:{gid}::{}:/bin/sh", home.field);
    home.note(c).with("planned_line", line.clone()).job_fix(
        format!("append the alias `{line}` to {PASSWD} and export USER={alias} LOGNAME={alias}"),
        vec![
            Action::AppendLine {
                path: PASSWD.into(),
                line,
            },
            Action::SetEnv {
                key: "USER".into(),
                value: alias.clone(),
            },
            Action::SetEnv {
                key: "LOGNAME".into(),
                value: alias,
            },
        ],
    )
}

/// `home.writable`: podman can use HOME as found. Rootless podman needs
/// neither to own HOME nor to write it (containers/storage `homedir`,
/// containers/common `config`): it needs `$HOME/.config` (unless
/// XDG_CONFIG_HOME is set) to be a directory of the uid or creatable, and
/// `$HOME/.local/share/containers` (unless XDG_DATA_HOME is set) to be a
/// writable directory or creatable. So a root-owned 1777 HOME (GitLab's
/// recipe on an emptyDir) is kept: podman creates both there as the uid.
fn home_writable(cx: &Cx, h: &str) -> Check {
    let (host, uid, strict) = (cx.host, cx.uid, cx.strict);
    // A problem gets the HOME move when podman's mode needs HOME.
    let bad = |c: Check| -> Check {
        let c = c.with("HOME", h);
        if c.status >= Status::Warn && strict {
            home_fix(c, cx)
        } else {
            c
        }
    };
    let sev = if strict { Status::Error } else { Status::Info };
    let st = match host.stat(h) {
        Ok(s) => s,
        Err(e) => {
            let why = crate::host::io_error_name(&e);
            return bad(Check::new(
                "home.writable",
                sev,
                format!("HOME={h} does not exist ({why})"),
            ));
        }
    };
    if st.kind != FileKind::Dir {
        let what = st.kind.as_str();
        return bad(Check::new(
            "home.writable",
            sev,
            format!("HOME={h} is a {what}, not a directory"),
        ));
    }
    let dirs = podman_dirs(h, cx.paths);
    // Without a directory podman derives from HOME (both XDG variables
    // set), or when podman's needs are not judged (root), HOME itself must
    // be writable.
    if dirs.is_empty() || !strict {
        if let Err(e) = host.access(h, Access::Write) {
            return bad(not_writable(sev, h, &st, &e));
        }
    }
    if strict {
        if let Some(problem) = dirs
            .iter()
            .find_map(|(dir, own)| podman_dir_problem(cx, h, &st, dir, *own))
        {
            return bad(problem);
        }
    }
    let summary = if st.uid == uid.get() || !strict {
        format!("HOME={h} is a writable directory")
    } else {
        let names: Vec<&str> = dirs.iter().map(|(d, _)| d.as_str()).collect();
        format!(
            "HOME={h} is owned by uid {} (mode {:o}); podman can use it as uid {uid} ({} \
             are its own or can be created there), so HOME is kept",
            st.uid,
            st.mode,
            names.join(" and ")
        )
    };
    Check::ok("home.writable", summary)
        .with("HOME", h)
        .with("owner", st.uid)
        .with("mode", format!("{:o}", st.mode))
}

/// The directories rootless podman makes under HOME, each with whether it
/// must belong to the uid (`homedir.ConfigHome` refuses a config home of
/// another uid: `path "…/.config" exists and it is not owned by the
/// current user`).
fn podman_dirs(h: &str, paths: &Paths) -> Vec<(String, bool)> {
    let h = h.trim_end_matches('/');
    let mut dirs = Vec::new();
    if paths.xdg_config_home.is_none() {
        dirs.push((format!("{h}/.config"), true));
    }
    if paths.xdg_data_home.is_none() {
        dirs.push((format!("{h}/.local/share/containers"), false));
    }
    dirs
}

/// Why podman cannot use or create `dir` under HOME, as an error check
/// (`None`: it can).
fn podman_dir_problem(cx: &Cx, h: &str, home: &Stat, dir: &str, must_own: bool) -> Option<Check> {
    let (host, uid) = (cx.host, cx.uid);
    let err = |summary: String| Some(Check::error("home.writable", summary));
    match host.stat(dir) {
        Ok(st) if st.kind != FileKind::Dir => err(format!(
            "{dir} exists and is a {}, not a directory: podman cannot use it",
            st.kind.as_str()
        )),
        Ok(st) if must_own && st.uid != uid.get() => err(format!(
            "{dir} exists and is owned by uid {}, not {uid}: podman refuses it",
            st.uid
        ))
        .map(|c| c.with("config_owner", st.uid)),
        Ok(_) if !must_own && host.access(dir, Access::Write).is_err() => err(format!(
            "{dir} exists and is not writable: podman cannot keep its images there"
        )),
        Ok(_) => None,
        Err(_) => {
            let near = host.nearest_existing(dir);
            match host.access(&near, Access::Write) {
                Ok(()) if host.is_dir(&near) => None,
                Err(e) if near == h.trim_end_matches('/') => {
                    Some(not_writable(Status::Error, h, home, &e))
                }
                _ => err(format!(
                    "podman cannot create {dir}: {near} is not a directory it can write"
                )),
            }
        }
    }
}

/// HOME itself is not writable where podman or this check needs it to be.
fn not_writable(status: Status, h: &str, st: &Stat, e: &std::io::Error) -> Check {
    Check::new(
        "home.writable",
        status,
        format!(
            "HOME={h} is not writable ({}; owner uid {}, mode {:o})",
            crate::host::io_error_name(e),
            st.uid,
            st.mode
        ),
    )
    .with("owner", st.uid)
    .with("mode", format!("{:o}", st.mode))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::testutil::Fixture;

    /// `/proc/self/status` capability lines (real layout).
    pub(crate) fn status(eff: u64, bnd: u64, nnp: u8, seccomp: u8) -> String {
        format!(
            "Name:\tpodrun-doctor\nUid:\t1000\t1000\t1000\t1000\nCapInh:\t0000000000000000\n\
CapPrm:\t{eff:016x}\nCapEff:\t{eff:016x}\nCapBnd:\t{bnd:016x}\nCapAmb:\t0000000000000000\n\
NoNewPrivs:\t{nnp}\nSeccomp:\t{seccomp}\nSeccomp_filters:\t{}\n",
            u8::from(seccomp != 0)
        )
    }

    /// Docker's default capability set (no SYS_ADMIN), as captured in a
    /// nested container on this host.
    pub(crate) const DOCKER_CAPS: u64 = 0x8004_05fb;
    pub(crate) const ALL_CAPS: u64 = 0x1ff_feff_ffff;

    fn run(host: &Host) -> Findings {
        let mut found = Findings::default();
        found.absorb(crate::probes::caps::probe(host, &found));
        found.absorb(probe(host, &found));
        found
    }

    const PASSWD_UPSTREAM: &str = "root:x:0:0:root:/root:/bin/bash\n\
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n\
podman:x:1000:1000::/home/podman:/bin/bash\n";

    #[test]
    fn parses_real_passwd_and_status() {
        let p = parse_passwd(PASSWD_UPSTREAM);
        assert!(p.bad.is_empty());
        assert_eq!(
            p.by_uid(Uid(1000)).map(|e| e.home.as_str()),
            Some("/home/podman")
        );
        let p = parse_passwd(
            "root:x:0:0:root:/root:/bin/bash\ngarbage line\n+nis\nx:x:abc:0::/:/bin/sh\n",
        );
        assert_eq!(p.entries.len(), 1);
        assert_eq!(p.bad.iter().map(|b| b.0).collect::<Vec<_>>(), vec![2, 4]);
    }

    #[test]
    fn podman_image_user_is_fine() {
        let host = Fixture::new()
            .uid(1000)
            .gid(1000)
            .env("HOME", "/home/podman")
            .file(PASSWD, PASSWD_UPSTREAM)
            .file(STATUS, &status(0, DOCKER_CAPS, 0, 2))
            .dir("/home/podman")
            .stat("/home/podman", "dir", 0o755, 1000, 1000)
            .host();
        let found = run(&host);
        assert!(found.plan.rootless);
        assert_eq!(
            found.check("identity.passwd").map(|c| c.status),
            Some(Status::Ok)
        );
        assert_eq!(found.check("home.set").map(|c| c.status), Some(Status::Ok));
        assert_eq!(
            found.check("home.writable").map(|c| c.status),
            Some(Status::Ok)
        );
        assert_eq!(found.report_context["user"], json!("podman"));
        assert_eq!(found.report_context["home"], json!("/home/podman"));
        assert!(found.identity.home_ok);
        assert!(!found.identity.openshift_like);
    }

    #[test]
    fn podman_mode_rule() {
        let mode = |caps: u64, env: Option<&str>| {
            let mut fx = Fixture::new()
                .file(STATUS, &status(caps, caps, 0, 0))
                .file(PASSWD, PASSWD_UPSTREAM);
            if let Some(v) = env {
                fx = fx.env("_CONTAINERS_USERNS_CONFIGURED", v);
            }
            run(&fx.host()).plan.rootless
        };
        assert!(!mode(ALL_CAPS, None), "root with SYS_ADMIN is rootful");
        assert!(
            mode(DOCKER_CAPS, None),
            "root without SYS_ADMIN is rootless"
        );
        assert!(
            !mode(ALL_CAPS, Some("")),
            "empty _CONTAINERS_USERNS_CONFIGURED does not count"
        );
        assert!(mode(ALL_CAPS, Some("done")));
        // Unreadable status: podman stays rootful and we say we could not tell.
        let found = run(&Fixture::new().file(PASSWD, PASSWD_UPSTREAM).host());
        assert!(!found.plan.rootless);
        assert_eq!(
            found.check("identity.mode").map(|c| c.status),
            Some(Status::Warn)
        );
    }

    #[test]
    fn openshift_uid_with_writable_passwd_gets_an_entry_and_a_home() {
        let host = Fixture::new()
            .uid(1000680000)
            .gid(0)
            .groups(&[0, 1000680000])
            .env("HOME", "/")
            .file(PASSWD, "root:x:0:0:root:/root:/bin/bash\n")
            .file(STATUS, &status(0, 0, 1, 2))
            .dir("/tmp")
            .access(PASSWD, Access::Write, "ok")
            .host();
        let found = run(&host);
        assert!(found.identity.openshift_like);
        assert!(found.check("identity.openshift").is_some());
        let c = found.check("identity.passwd").cloned().unwrap();
        assert_eq!(c.status, Status::Error);
        let fix = c.fix.clone().unwrap();
        assert_eq!(fix.by, By::Job);
        assert_eq!(
            fix.actions[0],
            Action::AppendLine {
                path: PASSWD.into(),
                line: "podman:x:1000680000:0::/tmp/podrun-1000680000/home:/bin/sh".into()
            }
        );
        assert!(fix.actions.contains(&Action::SetEnv {
            key: "USER".into(),
            value: "podman".into()
        }));
        assert_eq!(found.identity.planned_name.as_deref(), Some("podman"));
        let home = found.check("home.set").cloned().unwrap();
        assert_eq!(home.status, Status::Error);
        let acts = home.fix.unwrap().actions;
        assert!(acts.contains(&Action::CreateDir {
            path: "/tmp/podrun-1000680000/home".into(),
            mode: 0o700
        }));
        assert!(acts.contains(&Action::SetEnv {
            key: "HOME".into(),
            value: "/tmp/podrun-1000680000/home".into()
        }));
        assert_eq!(
            found.identity.planned_home.as_deref(),
            Some("/tmp/podrun-1000680000/home")
        );
    }

    #[test]
    fn openshift_uid_with_readonly_passwd_names_image_and_runner_fixes() {
        let host = Fixture::new()
            .uid(1000680000)
            .gid(0)
            .env("HOME", "/")
            .file(
                PASSWD,
                "root:x:0:0:root:/root:/bin/bash\npodman:x:1000:1000::/home/podman:/bin/sh\n",
            )
            .file(STATUS, &status(0, 0, 1, 2))
            .access(PASSWD, Access::Write, "EACCES")
            .host();
        let found = run(&host);
        let c = found.check("identity.passwd").cloned().unwrap();
        assert_eq!(c.status, Status::Error);
        let fix = c.fix.unwrap();
        assert_eq!(fix.by, By::Image);
        assert!(fix
            .text
            .contains("chmod g=u /etc/passwd /etc/subuid /etc/subgid"));
        assert!(fix.text.contains("run_as_user = 1000"));
        assert!(found.identity.planned_name.is_none());
    }

    #[test]
    fn name_taken_falls_back_to_user_uid() {
        let host = Fixture::new()
            .uid(1000680000)
            .env("HOME", "/tmp")
            .file(PASSWD, "podman:x:1000:1000::/home/podman:/bin/sh\n")
            .dir("/tmp")
            .stat("/tmp", "dir", 0o1777, 0, 0)
            .host();
        let found = run(&host);
        let line = found.check("identity.passwd").unwrap().evidence["planned_line"].clone();
        // /tmp is root's, but sticky and writable: podman creates .config and
        // .local there as the uid, so HOME is kept and the line names it.
        assert_eq!(line, json!("user1000680000:x:1000680000:0::/tmp:/bin/sh"));
        let w = found.check("home.writable").unwrap();
        assert_eq!(w.status, Status::Ok, "{}", w.summary);
        assert!(!found.identity.home_moves);
    }

    #[test]
    fn relocated_home_copies_the_image_config_under_builds_dir() {
        let host = Fixture::new()
            .uid(1000)
            .gid(1000)
            .env("HOME", "/")
            .env("CI_BUILDS_DIR", "/builds")
            .file(PASSWD, PASSWD_UPSTREAM)
            .file(
                "/home/podman/.config/containers/containers.conf",
                "[containers]\nvolumes = [\"/proc:/proc\"]\n",
            )
            .file("/home/podman/.config/containers/notes.txt", "x")
            .stat("/home/podman", "dir", 0o755, 0, 0)
            .access("/home/podman", Access::Write, "EACCES")
            .dir("/builds")
            .host();
        let found = run(&host);
        let c = found.check("home.set").cloned().unwrap();
        assert_eq!(c.status, Status::Error);
        let acts = c.fix.unwrap().actions;
        assert!(acts.contains(&Action::CreateDir {
            path: "/builds/.podrun-1000".into(),
            mode: 0o700
        }));
        assert!(acts.contains(&Action::WriteFile {
            path: "/builds/.podrun-1000/home/.config/containers/containers.conf".into(),
            contents: "[containers]\nvolumes = [\"/proc:/proc\"]\n".into(),
            mode: 0o644
        }));
        assert!(!acts
            .iter()
            .any(|a| matches!(a, Action::WriteFile { path, .. } if path.ends_with("notes.txt"))));
        assert_eq!(
            acts.last(),
            Some(&Action::SetEnv {
                key: "HOME".into(),
                value: "/builds/.podrun-1000/home".into()
            })
        );
    }

    #[test]
    fn unset_home_with_good_passwd_home_is_a_warning() {
        let host = Fixture::new()
            .uid(1000)
            .file(PASSWD, PASSWD_UPSTREAM)
            .dir("/home/podman")
            .stat("/home/podman", "dir", 0o700, 1000, 1000)
            .host();
        let found = run(&host);
        let c = found.check("home.set").cloned().unwrap();
        assert_eq!(c.status, Status::Warn);
        assert_eq!(
            c.fix.unwrap().actions,
            vec![Action::SetEnv {
                key: "HOME".into(),
                value: "/home/podman".into()
            }]
        );
    }

    #[test]
    fn missing_home_and_no_writable_place_is_a_runner_fix() {
        let host = Fixture::new()
            .uid(1000)
            .env("HOME", "/home/gone")
            .env("TMPDIR", "/ro")
            .file(PASSWD, "u:x:1000:1000::/home/gone:/bin/sh\n")
            .dir("/ro")
            .access("/ro", Access::Write, "EROFS")
            .host();
        let found = run(&host);
        let c = found.check("home.writable").cloned().unwrap();
        assert_eq!(c.status, Status::Error);
        assert!(c.summary.contains("does not exist"));
        assert_eq!(c.fix.map(|f| f.by), Some(By::RunnerAdmin));
    }

    #[test]
    fn config_dir_owned_by_someone_else_blocks() {
        let host = Fixture::new()
            .uid(1000)
            .env("HOME", "/root")
            .file(PASSWD, PASSWD_UPSTREAM)
            .dir("/root/.config")
            .dir("/tmp")
            .stat("/root", "dir", 0o777, 0, 0)
            .host();
        let found = run(&host);
        let c = found.check("home.writable").unwrap();
        assert_eq!(c.status, Status::Error);
        assert!(c.summary.contains("not 1000"));
        assert!(c.job_can_fix());
    }

    #[test]
    fn garbage_passwd_lines_are_reported_not_fatal() {
        let host = Fixture::new()
            .uid(1000)
            .env("HOME", "/home/podman")
            .file(PASSWD, "root:x:0:0:root:/root:/bin/bash\nthis is not passwd\npodman:x:1000:1000::/home/podman:/bin/bash\n")
            .stat("/home/podman", "dir", 0o700, 1000, 1000)
            .host();
        let found = run(&host);
        let c = found.check("identity.passwd_syntax").unwrap();
        assert_eq!(c.status, Status::Warn);
        assert!(c.summary.contains("line 2"));
        assert_eq!(found.check("identity.passwd").unwrap().status, Status::Ok);
    }

    #[test]
    fn user_env_mismatch() {
        let fx = || {
            Fixture::new()
                .uid(1000)
                .env("HOME", "/home/podman")
                .env("USER", "root")
                .file(PASSWD, PASSWD_UPSTREAM)
                .stat("/home/podman", "dir", 0o700, 1000, 1000)
        };
        // Podman would look up `root`, which has no ranges: they differ.
        let found = run(&fx().file("/etc/subuid", "podman:100000:65536\n").host());
        let c = found.check("identity.user_env").cloned().unwrap();
        assert_eq!(c.status, Status::Error);
        assert!(c.fix.unwrap().actions.contains(&Action::SetEnv {
            key: "USER".into(),
            value: "podman".into()
        }));
        // Same ranges either way: only a warning.
        let found = run(&fx().file("/etc/subuid", "").host());
        assert_eq!(
            found.check("identity.user_env").unwrap().status,
            Status::Warn
        );
    }

    #[test]
    fn an_appended_alias_never_reuses_a_taken_name() {
        let passwd = parse_passwd(
            "root:x:0:0:root:/root:/bin/bash\npodman:x:1000:1000::/home/podman:/bin/bash\n\
user1000680000:x:5:5::/:/bin/sh\n1000680000:*:1000680000:0:container user:/:/bin/sh\n",
        );
        assert_eq!(free_name(&passwd, Uid(1000680000)), "user1000680000_1");
        // The alias an earlier run appended is this uid's own: reused.
        let again =
            parse_passwd("podman:x:1000:1000::/home/podman:/bin/bash\nuser7:x:7:0::/tmp:/bin/sh\n");
        assert_eq!(free_name(&again, Uid(7)), "user7");
        let host = Fixture::new()
            .uid(1000680000)
            .gid(0)
            .env("HOME", "/")
            .file(
                PASSWD,
                "root:x:0:0:root:/root:/bin/bash\npodman:x:1000:1000::/home/podman:/bin/bash\n\
user1000680000:x:5:5::/:/bin/sh\n1000680000:*:1000680000:0:container user:/:/bin/sh\n",
            )
            .file("/etc/subuid", "1000680000:100000:65536\n")
            .dir("/tmp")
            .host();
        let found = run(&host);
        let c = found.check("identity.user_env").cloned().unwrap();
        let line = c.evidence["planned_line"].as_str().unwrap().to_string();
        assert!(line.starts_with("user1000680000_1:x:1000680000:"), "{line}");
    }

    #[test]
    fn numeric_passwd_name_gets_an_alias() {
        // The entry podman/CRI-O add for an arbitrary uid (captured in a nested run).
        let passwd =
            "root:x:0:0:root:/root:/bin/bash\npodman:x:1000:1000::/home/podman:/bin/bash\n\
1000680000:*:1000680000:0:container user:/:/bin/sh\n";
        let host = Fixture::new()
            .uid(1000680000)
            .gid(0)
            .env("HOME", "/")
            .file(PASSWD, passwd)
            .file("/etc/subuid", "1000680000:100000:65536\n")
            .dir("/tmp")
            .host();
        let found = run(&host);
        let c = found.check("identity.user_env").cloned().unwrap();
        assert_eq!(c.status, Status::Error);
        let acts = c.fix.unwrap().actions;
        assert_eq!(
            acts[0],
            Action::AppendLine {
                path: PASSWD.into(),
                line: "user1000680000:x:1000680000:0::/tmp/podrun-1000680000/home:/bin/sh".into()
            }
        );
        assert!(acts.contains(&Action::SetEnv {
            key: "USER".into(),
            value: "user1000680000".into()
        }));
        // After the fix: USER is the alias, which resolves to the uid.
        let host = Fixture::new()
            .uid(1000680000)
            .gid(0)
            .env("HOME", "/tmp")
            .env("USER", "user1000680000")
            .file(
                PASSWD,
                &format!("{passwd}user1000680000:x:1000680000:0::/tmp:/bin/sh\n"),
            )
            .dir("/tmp")
            .host();
        let found = run(&host);
        assert_eq!(found.check("identity.user_env").unwrap().status, Status::Ok);
    }

    /// GitLab's recipe: the pipeline sets HOME=/my_custom_dir, a root-owned
    /// 1777 emptyDir. Podman builds with it (matrix row
    /// deb13-rootless-priv-customhome), so it is kept: no move, no fix.
    fn custom_home(mode: u32) -> Fixture {
        Fixture::new()
            .uid(1000)
            .gid(1000)
            .env("HOME", "/my_custom_dir")
            .file(PASSWD, PASSWD_UPSTREAM)
            .file(STATUS, &status(ALL_CAPS, ALL_CAPS, 0, 0))
            .dir("/home/podman")
            .stat("/home/podman", "dir", 0o755, 1000, 1000)
            .dir("/my_custom_dir")
            .stat("/my_custom_dir", "dir", mode, 0, 0)
            .dir("/tmp")
            .stat("/tmp", "dir", 0o1777, 0, 0)
    }

    #[test]
    fn a_pipeline_home_podman_can_use_is_kept_although_root_owns_it() {
        for mode in [0o1777, 0o777] {
            let found = run(&custom_home(mode).host());
            let w = found.check("home.writable").unwrap();
            assert_eq!(w.status, Status::Ok, "{:o}: {}", mode, w.summary);
            assert!(w.summary.contains("HOME is kept"), "{}", w.summary);
            assert!(w.fix.is_none());
            assert_eq!(found.check("home.set").unwrap().status, Status::Ok);
            assert!(!found.identity.home_moves);
            assert_eq!(found.identity.planned_home, None);
            assert!(found.identity.home_ok);
        }
    }

    #[test]
    fn a_pipeline_home_podman_cannot_use_moves_with_the_reason() {
        // A .config of root's there: podman refuses it (homedir.ConfigHome).
        let found = run(&custom_home(0o1777)
            .dir("/my_custom_dir/.config")
            .stat("/my_custom_dir/.config", "dir", 0o755, 0, 0)
            .host());
        let w = found.check("home.writable").unwrap();
        assert_eq!(w.status, Status::Error);
        assert!(
            w.summary
                .contains("/my_custom_dir/.config exists and is owned by uid 0"),
            "{}",
            w.summary
        );
        assert!(found.identity.home_moves);
        assert_eq!(found.identity.planned_home.as_deref(), Some("/home/podman"));
        // A .local podman cannot create share/containers in.
        let found = run(&custom_home(0o1777)
            .dir("/my_custom_dir/.local")
            .stat("/my_custom_dir/.local", "dir", 0o755, 0, 0)
            .access("/my_custom_dir/.local", Access::Write, "EACCES")
            .host());
        let w = found.check("home.writable").unwrap();
        assert_eq!(w.status, Status::Error);
        assert!(
            w.summary
                .contains("cannot create /my_custom_dir/.local/share/containers"),
            "{}",
            w.summary
        );
        assert!(w.job_can_fix());
        // Read-only and nothing there yet: HOME itself is named.
        let found = run(&custom_home(0o755)
            .access("/my_custom_dir", Access::Write, "EACCES")
            .host());
        let w = found.check("home.writable").unwrap();
        assert_eq!(w.status, Status::Error);
        assert!(
            w.summary
                .starts_with("HOME=/my_custom_dir is not writable (EACCES"),
            "{}",
            w.summary
        );
    }

    #[test]
    fn a_readonly_home_with_podmans_dirs_in_place_is_usable() {
        let found = run(&custom_home(0o755)
            .access("/my_custom_dir", Access::Write, "EROFS")
            .dir("/my_custom_dir/.config")
            .stat("/my_custom_dir/.config", "dir", 0o700, 1000, 1000)
            .dir("/my_custom_dir/.local/share/containers")
            .stat(
                "/my_custom_dir/.local/share/containers",
                "dir",
                0o700,
                1000,
                1000,
            )
            .host());
        let w = found.check("home.writable").unwrap();
        assert_eq!(w.status, Status::Ok, "{}", w.summary);
        assert!(!found.identity.home_moves);
    }

    /// A passwd home or a job directory that is a symlink is never taken
    /// as the uid's own, whatever it points to.
    #[test]
    fn symlinked_homes_are_not_planned_into() {
        let host = Fixture::new()
            .uid(1000)
            .env("HOME", "/")
            .file(PASSWD, PASSWD_UPSTREAM)
            .dir("/data/podman")
            .stat("/data/podman", "dir", 0o700, 1000, 1000)
            .symlink("/home/podman", "../data/podman")
            .dir("/tmp")
            .stat("/tmp", "dir", 0o1777, 0, 0)
            .host();
        let found = run(&host);
        assert_eq!(
            found.identity.planned_home.as_deref(),
            Some("/tmp/podrun-1000/home")
        );
        let host = Fixture::new()
            .uid(1000)
            .env("HOME", "/")
            .file(PASSWD, "u:x:1000:1000::/nonexistent:/bin/sh\n")
            .dir("/tmp/podrun-1000")
            .stat("/tmp/podrun-1000", "dir", 0o700, 1000, 1000)
            .dir("/elsewhere")
            .stat("/elsewhere", "dir", 0o700, 1000, 1000)
            .symlink("/tmp/podrun-1000/home", "../../elsewhere")
            .stat("/tmp", "dir", 0o1777, 0, 0)
            .host();
        let found = run(&host);
        let c = found.check("home.set").unwrap();
        assert_eq!(c.fix.as_ref().map(|f| f.by), Some(By::RunnerAdmin));
        assert!(c.evidence["job_fix_impossible"]
            .as_str()
            .unwrap()
            .contains("/tmp/podrun-1000/home exists and is not a directory owned by uid 1000"));
    }

    /// Issue 9 item 2 at the probe: a HOME with a newline is shown escaped,
    /// moved, and never pasted into the planned passwd line.
    #[test]
    fn a_home_with_a_control_character_is_a_finding_never_a_passwd_field() {
        let home = "/tmp/x\nevil::0:0::/root";
        let host = Fixture::new()
            .uid(1000680000)
            .gid(0)
            .env("HOME", home)
            .file(PASSWD, "root:x:0:0:root:/root:/bin/bash\n")
            .dir(home)
            .stat(home, "dir", 0o700, 1000680000, 0)
            .dir("/tmp")
            .stat("/tmp", "dir", 0o1777, 0, 0)
            .access(PASSWD, Access::Write, "ok")
            .host();
        let found = run(&host);
        let set = found.check("home.set").unwrap();
        assert_eq!(set.status, Status::Warn);
        assert!(
            set.summary.contains(r#""/tmp/x\nevil::0:0::/root""#),
            "{}",
            set.summary
        );
        assert!(set.job_can_fix());
        for c in &found.checks {
            assert!(!c.summary.contains('\n'), "{}: {}", c.id, c.summary);
        }
        let line = found.check("identity.passwd").unwrap().evidence["planned_line"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(
            line,
            "podman:x:1000680000:0::/tmp/podrun-1000680000/home:/bin/sh"
        );
        assert_eq!(
            found.identity.planned_home.as_deref(),
            Some("/tmp/podrun-1000680000/home")
        );
    }

    /// A HOME with `:` is a fine path for podman (kept) but no passwd
    /// field: the line names the relocation place and says why.
    #[test]
    fn a_home_with_a_colon_is_kept_but_not_written_into_passwd() {
        let home = "/builds/a:b";
        let host = Fixture::new()
            .uid(1000680000)
            .gid(0)
            .env("HOME", home)
            .file(PASSWD, "root:x:0:0:root:/root:/bin/bash\n")
            .dir(home)
            .stat(home, "dir", 0o700, 1000680000, 0)
            .dir("/tmp")
            .stat("/tmp", "dir", 0o1777, 0, 0)
            .access(PASSWD, Access::Write, "ok")
            .host();
        let found = run(&host);
        assert_eq!(found.check("home.writable").unwrap().status, Status::Ok);
        assert!(!found.identity.home_moves);
        let c = found.check("identity.passwd").unwrap();
        assert_eq!(
            c.evidence["planned_line"],
            json!("podman:x:1000680000:0::/tmp/podrun-1000680000/home:/bin/sh")
        );
        assert_eq!(
            c.evidence["home_not_in_passwd"],
            json!("/builds/a:b contains `:`, the passwd field separator")
        );
        assert_eq!(passwd_field_problem("/home/podman"), None);
        assert!(passwd_field_problem("/a\tb").is_some());
    }

    /// Copying the image's per-user config reads each file with
    /// `read_checked`: a FIFO there is named, not opened or copied.
    #[test]
    fn a_fifo_in_the_image_config_is_named_not_copied() {
        let host = Fixture::new()
            .uid(1000)
            .gid(1000)
            .env("HOME", "/")
            .file(PASSWD, PASSWD_UPSTREAM)
            .file(
                "/home/podman/.config/containers/containers.conf",
                "[engine]\n",
            )
            .file("/home/podman/.config/containers/storage.conf", "")
            .stat(
                "/home/podman/.config/containers/storage.conf",
                "fifo",
                0o644,
                1000,
                1000,
            )
            .stat("/home/podman", "dir", 0o755, 0, 0)
            .access("/home/podman", Access::Write, "EACCES")
            .dir("/tmp")
            .stat("/tmp", "dir", 0o1777, 0, 0)
            .host();
        let found = run(&host);
        let fix = found.check("home.set").unwrap().fix.clone().unwrap();
        assert!(fix
            .actions
            .iter()
            .any(|a| matches!(a, Action::WriteFile { path, .. }
            if path == "/tmp/podrun-1000/home/.config/containers/containers.conf")));
        assert!(!fix
            .actions
            .iter()
            .any(|a| matches!(a, Action::WriteFile { path, .. }
            if path.ends_with("storage.conf"))));
        assert!(
            fix.text
                .contains("not copied: /home/podman/.config/containers/storage.conf is a FIFO"),
            "{}",
            fix.text
        );
    }

    /// Issue 9: what stands at /etc/passwd instead of a readable file is
    /// named (file, what was found, next step), never read blocking and
    /// never appended to.
    #[test]
    fn a_fifo_directory_or_unreadable_passwd_is_named_and_never_appended_to() {
        let rootless = |f: Fixture| {
            f.uid(1000)
                .gid(1000)
                .env("HOME", "/home/podman")
                .access(PASSWD, Access::Write, "ok")
        };
        let fifo = Fixture::new().dir("/etc");
        nix::unistd::mkfifo(
            &fifo.root_path(PASSWD),
            nix::sys::stat::Mode::from_bits_truncate(0o644),
        )
        .unwrap();
        let dir = Fixture::new().dir(PASSWD);
        let denied = Fixture::new().file(PASSWD, PASSWD_UPSTREAM).answer(
            "read_errors",
            PASSWD,
            json!("EACCES"),
        );
        let huge = Fixture::new().file(PASSWD, PASSWD_UPSTREAM).answer(
            "stat",
            PASSWD,
            json!({"kind": "file", "mode": "0644", "size": 5u64 << 30}),
        );
        for (f, found_words, errno) in [
            (fifo, "is a FIFO (named pipe), not a regular file", "EINVAL"),
            (dir, "is a directory, not a regular file", "EISDIR"),
            (denied, "cannot be read by this user (EACCES)", "EACCES"),
            (huge, "is larger than 4 MiB", "EFBIG"),
        ] {
            let host = rootless(f).host();
            let found = run(&host);
            let c = found.check("identity.passwd").cloned().unwrap();
            assert_eq!(c.status, Status::Error, "{}", c.summary);
            assert!(c.summary.starts_with("/etc/passwd "), "{}", c.summary);
            assert!(c.summary.contains(found_words), "{}", c.summary);
            assert!(c
                .summary
                .contains("newuidmap cannot determine the user name"));
            assert_eq!(c.evidence["errno"], json!(errno));
            let fix = c.fix.unwrap();
            assert_eq!(fix.by, By::Image);
            assert!(fix.actions.is_empty());
            assert!(found.identity.user.is_none() && found.identity.planned_name.is_none());
        }
        // Missing: as before.
        let host = rootless(Fixture::new()).host();
        let c = run(&host).check("identity.passwd").cloned().unwrap();
        assert_eq!(
            c.summary,
            "cannot read /etc/passwd (ENOENT): newuidmap cannot determine the user name"
        );
    }

    /// The engine's append (fix.rs `AppendLine` goes through
    /// `Host::append_line`) refuses a target that is no regular file, and
    /// leaves it as it was.
    #[test]
    fn appending_to_a_passwd_that_is_no_regular_file_is_refused() {
        let line = "podman:x:1000680000:0::/tmp:/bin/sh";
        let fifo = Fixture::new().dir("/etc");
        nix::unistd::mkfifo(
            &fifo.root_path(PASSWD),
            nix::sys::stat::Mode::from_bits_truncate(0o666),
        )
        .unwrap();
        let host = fifo.host();
        let e = host.append_line(PASSWD, line).unwrap_err().to_string();
        assert!(
            e.contains("/etc/passwd") && e.contains("regular file"),
            "{e}"
        );
        let kind = std::fs::symlink_metadata(host.dir().join("root/etc/passwd")).unwrap();
        assert!(std::os::unix::fs::FileTypeExt::is_fifo(&kind.file_type()));
        let host = Fixture::new().dir(PASSWD).host();
        let e = host.append_line(PASSWD, line).unwrap_err().to_string();
        assert!(e.contains("/etc/passwd"), "{e}");
        assert!(host.dir().join("root/etc/passwd").is_dir());
    }

    /// Runner remedies show the job's executor only (remedy::identity).
    #[test]
    fn runner_remedies_follow_the_executor() {
        let host = Fixture::new()
            .uid(1000680000)
            .gid(0)
            .env("HOME", "/")
            .file(PASSWD, "root:x:0:0:root:/root:/bin/bash\n")
            .file(STATUS, &status(0, 0, 1, 2))
            .access(PASSWD, Access::Write, "EACCES")
            .host();
        let mut found = Findings::default();
        found.context.engine = Some("docker".into());
        found.absorb(crate::probes::caps::probe(&host, &found));
        found.absorb(probe(&host, &found));
        let text = |id: &str| found.check(id).unwrap().fix.clone().unwrap().text;
        let passwd = text("identity.passwd");
        assert!(passwd.contains("chmod g=u /etc/passwd"), "{passwd}");
        assert!(passwd.contains("user = \"1000\"") && !passwd.contains("runners.kubernetes"));
        assert!(passwd.contains("explain identity.passwd"));
        let scc = text("identity.openshift");
        assert!(
            scc.contains("[runners.docker]") && !scc.contains("anyuid"),
            "{scc}"
        );
    }
}
