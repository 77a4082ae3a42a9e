//! Area `idmap`: can podman map several ids into its user namespace?
//!
//! A rootless non-root podman runs `newuidmap PID 0 UID 1 1 START COUNT …`
//! (and newgidmap) with the user's sub-id ranges sorted by start; the
//! helpers need setuid root or file capabilities (CAP_SETUID / CAP_SETGID),
//! which `no_new_privs` (Kubernetes `allowPrivilegeEscalation: false`) and a
//! bounding set without SETUID/SETGID make void. A root podman without
//! CAP_SYS_ADMIN writes the maps itself, copying `/proc/self/uid_map`.
//! The functional probe does exactly what podman does and is the truth when
//! it ran; the static checks say why (catalog U6, U7, U8, L4, O1).

use super::identity::{privs, Privs, CAP_SETFCAP, CAP_SETGID, CAP_SETUID};
use super::{AreaOut, Findings, Obs};
use crate::host::{Host, IdMapLine, Probe, ProbeResult};
use crate::ids::{Gid, Uid};
use crate::model::{Action, By, Check, Spec};
use crate::remedy::idmap::{
    CAP_ADD_HELPERS, CAP_ADD_ROOT, NNP, ROOT_RANGES, RUN_AS_GROUP, SETUID_SYS_ADMIN, USERNS_REFUSED,
};
use crate::remedy::runner::Executor;
use serde_json::json;

#[derive(Debug, Default, Clone)]
pub struct Facts {
    /// `newuidmap` and `newgidmap` as found in PATH.
    pub newuidmap: Option<String>,
    pub newgidmap: Option<String>,
    /// Both helpers are setuid root or carry the needed file capability
    /// (`None` when not looked at).
    pub helpers_privileged: Option<bool>,
    /// The maps podman would ask for (inside, outside, count).
    pub uid_map: Vec<IdMapLine>,
    pub gid_map: Vec<IdMapLine>,
    /// The functional probe, when it was attempted.
    pub map_probe: Option<ProbeResult>,
    /// Whether podman's multi-id user namespace works here: `Some` from the
    /// probe (or a certain static blocker), `None` when unknown.
    pub rootless_multi_id_works: Option<bool>,
}

pub const SPECS: &[Spec] = &[
    Spec {
        id: "idmap.helpers",
        title: "newuidmap and newgidmap are installed",
        explain: "A non-root rootless podman needs the shadow helpers newuidmap and newgidmap to map \
its sub-id ranges; without them it fails with `command required for rootless mode with multiple IDs: \
exec: \"newuidmap\": executable file not found in $PATH`. Install them in the image: `uidmap` \
(Debian/Ubuntu), `shadow-utils` (Fedora/RHEL), `shadow-uidmap` (Alpine).",
        signatures: &[
            "command required for rootless mode with multiple IDs",
            "executable file not found in $PATH",
            "finding newuidmap",
        ],
    },
    Spec {
        id: "idmap.helper_privilege",
        title: "newuidmap/newgidmap are setuid root or carry file capabilities",
        explain: "The helpers write another process's uid_map, which needs CAP_SETUID/CAP_SETGID: \
they get it from the setuid bit (Debian) or from file capabilities (Fedora: cap_setuid / \
cap_setgid). Images built by copying or unpacking without xattrs lose the capabilities, and podman \
reports `cannot set up namespace using \"/usr/bin/newuidmap\": should have setuid or have filecaps \
setuid`. A `nosuid` mount voids both. Image fix: `RUN setcap cap_setuid+ep /usr/bin/newuidmap && \
setcap cap_setgid+ep /usr/bin/newgidmap` (or `chmod u+s`), reinstall uidmap/shadow-utils, Fedora: \
`rpm --setcaps shadow-utils` as quay.io/podman/stable does.",
        signatures: &[
            "should have setuid or have filecaps setuid",
            "should have setuid or have filecaps setgid",
            "newuidmap: Could not set caps",
            "newgidmap: Could not set caps",
        ],
    },
    Spec {
        id: "idmap.nnp",
        title: "no_new_privs is off (setuid helpers can gain privileges)",
        explain: "Kubernetes `allowPrivilegeEscalation: false` (GitLab runner \
`allow_privilege_escalation = false`, OpenShift restricted-v2) sets no_new_privs: setuid bits and \
file capabilities are ignored, so newuidmap fails with `write to uid_map failed: Operation not \
permitted` or `Could not set caps`, and rootless podman with several ids is impossible. Runner fix: \
remove `allow_privilege_escalation = false` from [runners.kubernetes] (or set it true); OpenShift: \
an SCC with allowPrivilegeEscalation: true (anyuid, or the nested-podman SCC); docker executor: no \
`no-new-privileges` in `security_opt` under [runners.docker]. Alternatively run the \
job as root without privileged: podman then maps /proc/self/uid_map itself with no setuid helper \
(GitLab's root recipe).",
        signatures: &[
            "newuidmap: Could not set caps",
            "write to uid_map failed: Operation not permitted",
            "cannot set allowPrivilegeEscalation to false and privileged to true",
        ],
    },
    Spec {
        id: "idmap.bounding",
        title: "SETUID/SETGID (and SETFCAP for root) are in the bounding set",
        explain: "A setuid or file-capability helper can only gain capabilities that the bounding \
set allows: OpenShift restricted-v2 and runner `cap_drop` remove SETUID/SETGID, and the helpers then \
fail with `write to uid_map failed: Operation not permitted`. A root job without CAP_SYS_ADMIN \
writes the maps itself and needs CAP_SETUID, CAP_SETGID and (kernel ≥ 5.12, to map uid 0) \
CAP_SETFCAP in its effective set. Runner fix: `cap_add = [\"SETUID\", \"SETGID\"]` (+ \"SETFCAP\" for \
root) in [runners.kubernetes] or [runners.docker], and do not list them in `cap_drop`; OpenShift: \
anyuid or a custom SCC with allowedCapabilities [SETUID, SETGID].",
        signatures: &[
            "write to uid_map failed: Operation not permitted",
            // uid 0 without CAP_SETFCAP (or SETUID/SETGID) copying its own map:
            "cannot write uid_map",
        ],
    },
    Spec {
        id: "idmap.gid",
        title: "the job's gid is the one its passwd entry names",
        explain: "newuidmap and newgidmap check that the process they map belongs to the user and \
group of the caller's passwd entry. A job started with another gid (Kubernetes `runAsGroup: 0`, \
`--user 1000:0`, OpenShift's gid 0) while the image's entry says gid 1000 is refused with `Target \
process is owned by a different user`, and rootless podman cannot map its ids. Appending lines \
cannot help (the helpers take the first entry of the uid). Runner fix: `run_as_group` equal to the \
entry's gid under [runners.kubernetes.pod_security_context] (docker executor: `user = \"UID:GID\"` \
under [runners.docker]); image fix: give the user the job's gid. Found with the scenario matrix.",
        signatures: &["Target process is owned by a different user"],
    },
    Spec {
        id: "idmap.setuid_sys_admin",
        title: "setuid-root helpers have CAP_SYS_ADMIN to write another namespace's uid_map",
        explain: "Debian and Ubuntu ship newuidmap/newgidmap setuid root. Running as euid 0, they are \
not the owner of the user namespace podman just created, and the kernel then requires CAP_SYS_ADMIN \
over the parent namespace for the uid_map write; the setuid exec only grants what the bounding set \
allows. In any container without CAP_SYS_ADMIN in its bounding set (every unprivileged pod, the \
docker executor without privileged) rootless podman fails with `newuidmap: write to uid_map failed: \
Operation not permitted` although the setuid bit, SETUID/SETGID and the ranges are all fine. Helpers \
with file capabilities (`setcap cap_setuid=ep`, as Fedora and quay.io/podman/stable ship them) keep \
the caller's euid, own the namespace, and need no CAP_SYS_ADMIN. Fix in the image: replace the \
setuid bit with file capabilities; or, runner admin: privileged (GitLab's rootless recipe) or \
cap_add SYS_ADMIN. Found with the scenario matrix; the mapping probe confirms it live.",
        signatures: &["write to uid_map failed: Operation not permitted"],
    },
    Spec {
        id: "idmap.map",
        title: "Podman's exact id mapping works (newuidmap/newgidmap in a child)",
        explain: "A forked child creates a user namespace and the helpers map it exactly as podman \
will (inside 0 → own uid, then each sub-id range in order), or, for uid 0 without CAP_SYS_ADMIN, \
the child's maps are written with a copy of /proc/self/uid_map as podman does. Its errno and the \
helper's stderr are the evidence: `write to uid_map failed: Operation not permitted` (no_new_privs, \
missing capabilities, ranges outside the parent namespace, AppArmor userns restriction), `Invalid \
argument` (overlapping ranges). When the probe could not run, the verdict rests on the static checks. \
Runner fixes by cause: user namespaces refused by seccomp: \
`[runners.kubernetes.build_container_security_context.seccomp_profile] type = \"Unconfined\"` \
(OpenShift: an SCC allowing it; docker executor: `security_opt = [\"seccomp:unconfined\"]`), or \
`privileged = true`; root in a user namespace of its own without sub-id ranges: no `hostUsers: false` \
for the build pod (docker executor: `userns_mode = \"host\"`), or privileged.",
        signatures: &[
            "cannot set up namespace using",
            "cannot setup namespace using",
            "write to uid_map failed",
            "write to gid_map failed",
            "newuidmap: uid range",
            "newgidmap: gid range",
        ],
    },
];

/// What a helper binary carries.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct HelperPriv {
    pub setuid_root: bool,
    /// Permitted file capabilities (decoded), when the xattr exists.
    pub file_caps: Option<u64>,
    /// v3 xattr root id (namespaced file capabilities).
    pub rootid: Option<u32>,
    pub nosuid_mount: bool,
    pub problem: Option<String>,
}

impl HelperPriv {
    pub fn has(&self, bit: u32) -> bool {
        !self.nosuid_mount
            && (self.setuid_root || self.file_caps.is_some_and(|c| c & (1u64 << bit) != 0))
    }
}

/// Decodes a `security.capability` xattr (`vfs_cap_data` v1/v2/v3):
/// returns (permitted, rootid), or why it could not.
pub fn decode_vfs_caps(raw: &[u8]) -> Result<(u64, Option<u32>), String> {
    let word = |i: usize| -> Option<u32> {
        raw.get(i * 4..i * 4 + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let magic = word(0).ok_or_else(|| {
        format!(
            "{}, too short",
            crate::util::count(raw.len() as u64, "byte", "bytes")
        )
    })?;
    match magic & 0xFF00_0000 {
        0x0100_0000 => Ok((u64::from(word(1).ok_or("v1 truncated")?), None)),
        0x0200_0000 => {
            let lo = word(1).ok_or("v2 truncated")?;
            let hi = word(3).ok_or("v2 truncated")?;
            Ok((u64::from(lo) | (u64::from(hi) << 32), None))
        }
        0x0300_0000 => {
            let lo = word(1).ok_or("v3 truncated")?;
            let hi = word(3).ok_or("v3 truncated")?;
            Ok((u64::from(lo) | (u64::from(hi) << 32), word(5)))
        }
        v => Err(format!("unknown vfs_cap_data revision 0x{v:08x}")),
    }
}

/// The `VFS_CAP_FLAGS_EFFECTIVE` bit of a `security.capability` xattr:
/// the permitted capabilities become effective at exec.
pub fn vfs_caps_effective(raw: &[u8]) -> bool {
    raw.first().is_some_and(|b| b & 0x01 != 0)
}

fn helper_priv(host: &Host, path: &str) -> HelperPriv {
    let mut hp = HelperPriv::default();
    match host.stat(path) {
        Ok(s) => hp.setuid_root = s.uid == 0 && s.mode & 0o4000 != 0,
        Err(e) => hp.problem = Some(format!("stat: {}", crate::host::io_error_name(&e))),
    }
    match host.file_caps(path) {
        Ok(Some(raw)) => match decode_vfs_caps(&raw) {
            // Without the effective flag (`cap_setuid=p`) a helper that does
            // not raise its capabilities itself (shadow's don't) gets none.
            Ok(_) if !vfs_caps_effective(&raw) => {
                hp.problem = Some(
                    "security.capability lacks the effective flag (cap_setuid=p, not =ep)".into(),
                );
            }
            Ok((p, rootid)) => {
                hp.file_caps = Some(p);
                hp.rootid = rootid;
            }
            Err(e) => hp.problem = Some(format!("security.capability: {e}")),
        },
        Ok(None) => {}
        Err(e) => {
            let name = crate::host::io_error_name(&e);
            if name != "ENODATA" && name != "EOPNOTSUPP" {
                hp.problem = Some(format!("security.capability: {name}"));
            }
        }
    }
    if let Ok(fs) = host.statfs(path) {
        hp.nosuid_mount = fs.nosuid;
    }
    hp
}

/// Podman's map for a rootless non-root user: 0 → own id, then the ranges
/// (sorted by start) at consecutive inside ids from 1.
pub fn podman_map(own: u32, ranges: &[(u64, u64)]) -> Vec<IdMapLine> {
    let mut out = vec![IdMapLine {
        inside: 0,
        outside: own,
        count: 1,
    }];
    let mut inside: u64 = 1;
    for &(s, c) in ranges {
        out.push(IdMapLine {
            inside: u32::try_from(inside).unwrap_or(u32::MAX),
            outside: u32::try_from(s).unwrap_or(u32::MAX),
            count: u32::try_from(c).unwrap_or(u32::MAX),
        });
        inside += c;
    }
    out
}

/// What podman writes for uid 0 without CAP_SYS_ADMIN: a copy of the
/// parent's map, split when it holds 4294967295 (runtimes look for it).
pub fn copied_map(parent: &[IdMapLine]) -> Vec<IdMapLine> {
    if parent.iter().any(|l| l.count == u32::MAX) {
        return vec![
            IdMapLine {
                inside: 0,
                outside: 0,
                count: 1,
            },
            IdMapLine {
                inside: 1,
                outside: 1,
                count: u32::MAX - 1,
            },
        ];
    }
    parent.to_vec()
}

fn map_text(m: &[IdMapLine]) -> String {
    m.iter()
        .map(|l| format!("{} {} {}", l.inside, l.outside, l.count))
        .collect::<Vec<_>>()
        .join(" ")
}

const HELPER_PRIV_FIX: &str =
    "In the image: `RUN setcap cap_setuid+ep /usr/bin/newuidmap && setcap \
cap_setgid+ep /usr/bin/newgidmap` (or `chmod u+s` on both); or reinstall uidmap (Debian/Ubuntu) / \
shadow-utils; Fedora images: `rpm --setcaps shadow-utils` (what quay.io/podman/stable does).";

/// Linux bit number of CAP_SYS_ADMIN.
const CAP_SYS_ADMIN: u32 = 21;

const HELPERS_INSTALL_FIX: &str = "Install the helpers in the image: `apt-get install -y uidmap` \
(Debian/Ubuntu), `dnf install -y shadow-utils` (Fedora/RHEL), `apk add shadow-uidmap` (Alpine).";

/// The static checks of a non-root job, then the mapping probe.
pub fn probe(host: &Host, earlier: &Findings) -> AreaOut<Facts> {
    let found = &mut Obs::new(earlier);
    let p = privs(found);
    let executor = Executor::of(&found.context);
    let mut facts = Facts::default();
    if !found.userns.needed {
        found.checks.push(not_needed_check(found.plan.rootless));
        return found.finish(facts);
    }
    if found.identity.uid.is_root() {
        return root_path(host, found, p, facts);
    }
    facts.newuidmap = host.which("newuidmap");
    facts.newgidmap = host.which("newgidmap");
    let (helpers, missing) = helpers_check(&facts);
    found.checks.push(helpers);
    let privilege = helper_privilege_check(host, &facts);
    facts.helpers_privileged = privilege.ok;
    found.checks.extend(privilege.check);
    let (nnp, nnp_bad) = nnp_check(&p, executor);
    found.checks.push(nnp);
    let (bounding, bnd_bad) = bounding_check(&p, executor);
    found.checks.push(bounding);
    let (pw_gid, uid, gid) = (
        found.identity.passwd_gid,
        found.identity.uid,
        found.identity.gid,
    );
    let gid_mismatch = gid_check(pw_gid, uid, gid, executor, &mut found.checks);
    let sys_admin_bad = setuid_sys_admin_check(&p, privilege.setuid_only, executor, found);
    let static_blockers: Vec<&str> = [
        (!missing.is_empty(), "idmap.helpers"),
        (privilege.ok == Some(false), "idmap.helper_privilege"),
        (nnp_bad, "idmap.nnp"),
        (bnd_bad, "idmap.bounding"),
        (sys_admin_bad, "idmap.setuid_sys_admin"),
        (gid_mismatch.is_some(), "idmap.gid"),
    ]
    .iter()
    .filter(|(b, _)| *b)
    .map(|(_, n)| *n)
    .collect();
    map_check(host, found, facts, &static_blockers)
}

/// `idmap.map` when podman maps nothing itself.
fn not_needed_check(rootless: bool) -> Check {
    Check::info(
        "idmap.map",
        if rootless {
            "_CONTAINERS_USERNS_CONFIGURED is set: podman maps no ids itself"
        } else {
            "podman runs rootful here and maps no ids"
        },
    )
}

/// What `idmap.helper_privilege` found.
struct HelperState {
    /// Both helpers can gain what they need (`None`: a helper is missing).
    ok: Option<bool>,
    /// They can only through the setuid bit (no file capabilities).
    setuid_only: bool,
    check: Option<Check>,
}

/// `idmap.helper_privilege` (U7): setuid root or file capabilities.
fn helper_privilege_check(host: &Host, facts: &Facts) -> HelperState {
    let (Some(u), Some(g)) = (&facts.newuidmap, &facts.newgidmap) else {
        return HelperState {
            ok: None,
            setuid_only: false,
            check: None,
        };
    };
    let hu = helper_priv(host, u);
    let hg = helper_priv(host, g);
    let ok = hu.has(CAP_SETUID) && hg.has(CAP_SETGID);
    // A setuid-root helper runs with euid 0, which is not the owner of the
    // user namespace it maps, so the kernel (map_write) wants CAP_SYS_ADMIN
    // over the parent namespace — capped by the bounding set. Helpers with
    // file capabilities keep the caller's euid (the owner) and need none.
    let caps_of = |h: &HelperPriv, bit: u32| h.file_caps.is_some_and(|c| c & (1u64 << bit) != 0);
    let setuid_only = ok && !(caps_of(&hu, CAP_SETUID) && caps_of(&hg, CAP_SETGID));
    let ev = |h: &HelperPriv| {
        json!({"setuid_root": h.setuid_root,
               "file_caps": h.file_caps.map(|c| format!("0x{c:x}")),
               "rootid": h.rootid, "nosuid_mount": h.nosuid_mount, "problem": h.problem})
    };
    let how = |h: &HelperPriv, cap: &'static str| if h.setuid_root { "setuid root" } else { cap };
    let c = if ok {
        Check::ok(
            "idmap.helper_privilege",
            format!(
                "{u}: {}; {g}: {}",
                how(&hu, "cap_setuid"),
                how(&hg, "cap_setgid")
            ),
        )
    } else {
        let nosuid = hu.nosuid_mount || hg.nosuid_mount;
        Check::error(
            "idmap.helper_privilege",
            if nosuid {
                format!("{u} / {g} sit on a nosuid mount: setuid bits and file capabilities are ignored")
            } else {
                format!("{u} / {g} are neither setuid root nor carry cap_setuid/cap_setgid: podman reports `should have setuid or have filecaps setuid`")
            },
        )
        .fix(By::Image, HELPER_PRIV_FIX)
    };
    HelperState {
        ok: Some(ok),
        setuid_only,
        check: Some(c.with("newuidmap", ev(&hu)).with("newgidmap", ev(&hg))),
    }
}

/// `idmap.setuid_sys_admin`: setuid helpers without CAP_SYS_ADMIN (seen on
/// every Debian/Ubuntu image in an unprivileged container: `write to
/// uid_map failed: EPERM`). Whether it rules the mapping out.
fn setuid_sys_admin_check(
    p: &Privs,
    setuid_only: bool,
    executor: Executor,
    found: &mut Obs,
) -> bool {
    let bad = p.known && setuid_only && !p.bnd_has(CAP_SYS_ADMIN);
    if setuid_only && p.known {
        found.checks.push(if bad {
            Check::error(
                "idmap.setuid_sys_admin",
                "newuidmap/newgidmap are setuid root and CAP_SYS_ADMIN is not in the bounding set: \
                 the kernel refuses their uid_map write (`write to uid_map failed: Operation not permitted`)",
            )
            .with("cap_bnd", format!("{:016x}", p.bnd))
            .fix(By::Image, SETUID_SYS_ADMIN.text(executor))
        } else {
            Check::ok(
                "idmap.setuid_sys_admin",
                "setuid-root helpers, and CAP_SYS_ADMIN is in the bounding set",
            )
        });
    }
    bad
}

/// `idmap.map` for a non-root job: newuidmap/newgidmap in a child, with
/// the user's ranges, exactly as podman will call them.
fn map_check(
    host: &Host,
    found: &mut Obs,
    mut facts: Facts,
    static_blockers: &[&str],
) -> AreaOut<Facts> {
    let (uid, gid) = (found.identity.uid, found.identity.gid);
    let staged = ["/etc/subuid", "/etc/subgid", "/etc/passwd"]
        .iter()
        .any(|f| host.is_staged(f));
    let subid = &found.subid;
    if !subid.usable {
        facts.rootless_multi_id_works = Some(false);
        found.checks.push(
            Check::info(
                "idmap.map",
                "not attempted: the sub-id ranges are not usable (see subid.* and identity.passwd)",
            )
            .with("static_blockers", json!(static_blockers)),
        );
        return found.finish(facts);
    }
    facts.uid_map = podman_map(uid.get(), subid.uid_ranges());
    facts.gid_map = podman_map(gid.get(), subid.gid_ranges());
    let cmd = format!(
        "newuidmap PID {}; newgidmap PID {}",
        map_text(&facts.uid_map),
        map_text(&facts.gid_map)
    );
    let result = match (&facts.newuidmap, &facts.newgidmap) {
        (Some(u), Some(g)) if !staged => host.probe(&Probe::UserNsMap {
            helpers: Some((u.clone(), g.clone())),
            uid_map: facts.uid_map.clone(),
            gid_map: facts.gid_map.clone(),
        }),
        (Some(_), Some(_)) => ProbeResult::not_run(
            "dry run: the fixed /etc/subuid, /etc/subgid or /etc/passwd are not on disk for the helpers to read",
        ),
        _ => ProbeResult::not_run("helpers missing"),
    };
    let check = judge(&result, static_blockers, found, &cmd, false);
    conclude(found, facts, result, check, !static_blockers.is_empty())
}

/// `idmap.nnp` (U8): NoNewPrivs keeps the helpers from gaining privilege.
/// Also whether it is set.
fn nnp_check(p: &Privs, executor: Executor) -> (Check, bool) {
    let nnp_bad = p.known && p.nnp;
    let check = if !p.known {
        Check::warn("idmap.nnp", "cannot read NoNewPrivs from /proc/self/status")
            .with("probe_ran", false)
    } else if nnp_bad {
        Check::error(
            "idmap.nnp",
            "NoNewPrivs: 1 (allowPrivilegeEscalation: false): newuidmap/newgidmap cannot gain privileges, so podman cannot map several ids",
        )
        .with("no_new_privs", true)
        .fix(By::RunnerAdmin, NNP.text(executor))
    } else {
        Check::ok("idmap.nnp", "NoNewPrivs: 0").with("no_new_privs", false)
    };
    (check, nnp_bad)
}

/// `idmap.bounding` (U8): SETUID and SETGID in the bounding set. Also
/// whether one is missing.
fn bounding_check(p: &Privs, executor: Executor) -> (Check, bool) {
    let bnd_missing: Vec<&str> = [(CAP_SETUID, "SETUID"), (CAP_SETGID, "SETGID")]
        .iter()
        .filter(|(b, _)| !p.bnd_has(*b))
        .map(|(_, n)| *n)
        .collect();
    let bnd_bad = p.known && !bnd_missing.is_empty();
    let check = if !p.known {
        Check::warn(
            "idmap.bounding",
            "cannot read CapBnd from /proc/self/status",
        )
        .with("probe_ran", false)
    } else if bnd_bad {
        Check::error(
            "idmap.bounding",
            format!(
                "CAP_{} missing from the bounding set: the helpers cannot gain it",
                bnd_missing.join(", CAP_")
            ),
        )
        .with("cap_bnd", format!("{:016x}", p.bnd))
        .fix(By::RunnerAdmin, CAP_ADD_HELPERS.text(executor))
    } else {
        Check::ok(
            "idmap.bounding",
            "CAP_SETUID and CAP_SETGID are in the bounding set",
        )
        .with("cap_bnd", format!("{:016x}", p.bnd))
    };
    (check, bnd_bad)
}

/// `idmap.helpers` (U6): newuidmap and newgidmap are installed. Also the
/// missing ones.
fn helpers_check(facts: &Facts) -> (Check, Vec<&'static str>) {
    let missing: Vec<&str> = [
        ("newuidmap", &facts.newuidmap),
        ("newgidmap", &facts.newgidmap),
    ]
    .iter()
    .filter(|(_, p)| p.is_none())
    .map(|(n, _)| *n)
    .collect();
    let check = if missing.is_empty() {
        Check::ok(
            "idmap.helpers",
            format!(
                "{} and {}",
                facts.newuidmap.clone().unwrap_or_default(),
                facts.newgidmap.clone().unwrap_or_default()
            ),
        )
    } else {
        Check::error(
            "idmap.helpers",
            format!(
                "{} not found in PATH: rootless podman cannot map more than one id",
                missing.join(" and ")
            ),
        )
        .with("missing", json!(missing))
        .fix(By::Image, HELPERS_INSTALL_FIX)
    };
    (check, missing)
}

/// The `run_as_group` remedy for this executor, with the ids filled in.
fn run_as_group_fix(executor: Executor, uid: Uid, gid: Gid, pw_gid: Gid) -> String {
    let (uid, gid, pw_gid) = (uid.to_string(), gid.to_string(), pw_gid.to_string());
    RUN_AS_GROUP.text_with(
        executor,
        &[("uid", &uid), ("gid", &gid), ("pw_gid", &pw_gid)],
    )
}

/// `idmap.gid`: the job's gid against its passwd entry's (OpenShift-style
/// `run_as_group = 0`): the helpers refuse with `Target process is owned by
/// a different user`. Also the passwd gid when they differ.
fn gid_check(
    passwd_gid: Option<Gid>,
    uid: Uid,
    gid: Gid,
    executor: Executor,
    out: &mut Vec<Check>,
) -> Option<Gid> {
    let pw_gid = passwd_gid.filter(|&pw| pw != gid)?;
    out.push(
        Check::error(
            "idmap.gid",
            format!(
                "the job runs with gid {gid} but the passwd entry of uid {uid} says gid {pw_gid}: \
                 newuidmap/newgidmap refuse with `Target process is owned by a different user`"
            ),
        )
        .with("gid", gid)
        .with("passwd_gid", pw_gid)
        .fix(
            By::RunnerAdmin,
            run_as_group_fix(executor, uid, gid, pw_gid),
        ),
    );
    Some(pw_gid)
}

/// Records the mapping's outcome: the probe's when it ran, else "fails"
/// when a static rule rules it out, else unknown. (A successful probe
/// overrules the static errors: `decide::demote`.)
fn conclude(
    found: &mut Obs,
    mut facts: Facts,
    result: ProbeResult,
    check: Check,
    blocked: bool,
) -> AreaOut<Facts> {
    facts.rootless_multi_id_works = if result.ran {
        Some(result.ok)
    } else if blocked {
        Some(false)
    } else {
        None
    };
    facts.map_probe = Some(result);
    found.checks.push(check);
    found.finish(facts)
}

/// Who fixes a failed or ruled-out mapping, and how: the first static
/// blocker's remedy, else what the probe's failure points at.
fn map_fix(result: &ProbeResult, blockers: &[&str], found: &Findings, root: bool) -> (By, String) {
    let executor = Executor::of(&found.context);
    let has = |id: &str| blockers.contains(&id);
    let caps = if root { CAP_ADD_ROOT } else { CAP_ADD_HELPERS };
    let id = &found.identity;
    if has("idmap.nnp") {
        (By::RunnerAdmin, NNP.text(executor))
    } else if has("idmap.bounding") {
        (By::RunnerAdmin, caps.text(executor))
    } else if has("idmap.helper_privilege") {
        (By::Image, HELPER_PRIV_FIX.to_string())
    } else if has("idmap.helpers") {
        (By::Image, HELPERS_INSTALL_FIX.to_string())
    } else if has("idmap.gid") {
        let pw_gid = id.passwd_gid.unwrap_or(id.gid);
        let fix = run_as_group_fix(executor, id.uid, id.gid, pw_gid);
        (By::RunnerAdmin, fix)
    } else if has("idmap.setuid_sys_admin") {
        (By::Image, SETUID_SYS_ADMIN.text(executor))
    } else if found.userns.apparmor_restrict == Some(1) {
        (
            By::NodeAdmin,
            "On the nodes: `sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 \
kernel.apparmor_restrict_unprivileged_unconfined=0`, or an AppArmor profile with a `userns,` rule for \
the build container."
                .to_string(),
        )
    } else if root {
        (By::RunnerAdmin, CAP_ADD_ROOT.text(executor))
    } else if result.step == "unshare" {
        // The user namespace itself was refused (seccomp, sysctls): the
        // mapping never got a chance; userns.create names the cause.
        (By::RunnerAdmin, USERNS_REFUSED.text(executor))
    } else {
        (
            By::Image,
            "In the image (Containerfile), give the user ranges inside the ids the pod maps and \
helpers that can write them, e.g. `RUN printf 'podman:1:999\\npodman:1001:64535\\n' | tee /etc/subuid \
/etc/subgid && setcap cap_setuid=ep /usr/bin/newuidmap && setcap cap_setgid=ep /usr/bin/newgidmap`; \
the helper's own error is in the evidence (`detail`)."
                .to_string(),
        )
    }
}

/// `idmap.map` from the probe's result and the static blockers: the probe
/// is the truth when it ran; unprobed, a blocker rules it out, and without
/// one it is unproven, never ok.
fn judge(
    result: &ProbeResult,
    static_blockers: &[&str],
    found: &Findings,
    cmd: &str,
    root: bool,
) -> Check {
    let base = |c: Check| {
        c.with("call", cmd.to_string())
            .with("probe_ran", result.ran)
            .with("step", result.step.clone())
            .with("errno", json!(result.errno))
            .with("detail", result.detail.clone())
    };
    if result.ran && result.ok {
        return base(Check::ok(
            "idmap.map",
            if root {
                "a child mapped a copy of /proc/self/uid_map and gid_map, as podman will"
            } else {
                "newuidmap/newgidmap mapped the user's ranges in a child, as podman will"
            },
        ));
    }
    let (by, fix) = map_fix(result, static_blockers, found, root);
    if result.ran {
        let detail = if result.detail.is_empty() {
            String::new()
        } else {
            format!(" ({})", result.detail)
        };
        return base(
            Check::error(
                "idmap.map",
                format!("podman's id mapping fails: {}{detail}", result.describe()),
            )
            .fix(by, fix),
        );
    }
    if !static_blockers.is_empty() {
        return base(
            Check::error(
                "idmap.map",
                format!(
                    "the mapping probe did not run ({}), and {} rule(s) it out",
                    result.detail,
                    static_blockers.join(", ")
                ),
            )
            .fix(by, fix),
        );
    }
    base(Check::warn(
        "idmap.map",
        format!(
            "the mapping probe did not run ({}); nothing in the files rules it out, but it is not proven",
            result.detail
        ),
    ))
}

/// `idmap.bounding` for root without CAP_SYS_ADMIN: podman writes the maps
/// itself and needs SETUID, SETGID and SETFCAP effective. Also whether one
/// is missing.
fn root_caps_check(p: &Privs, executor: Executor) -> (Check, bool) {
    let need: Vec<&str> = [
        (CAP_SETUID, "SETUID"),
        (CAP_SETGID, "SETGID"),
        (CAP_SETFCAP, "SETFCAP"),
    ]
    .iter()
    .filter(|(b, _)| !p.eff_has(*b))
    .map(|(_, n)| *n)
    .collect();
    let bad = p.known && !need.is_empty();
    let check = if !p.known {
        Check::warn(
            "idmap.bounding",
            "cannot read CapEff from /proc/self/status",
        )
        .with("probe_ran", false)
    } else if bad {
        Check::error(
            "idmap.bounding",
            format!(
                "root without CAP_{}: podman cannot write the maps of its user namespace",
                need.join(", CAP_")
            ),
        )
        .with("cap_eff", format!("{:016x}", p.eff))
        .fix(By::RunnerAdmin, CAP_ADD_ROOT.text(executor))
    } else {
        Check::ok(
            "idmap.bounding",
            "root with CAP_SETUID, CAP_SETGID and CAP_SETFCAP: podman can write its maps itself",
        )
        .with("cap_eff", format!("{:016x}", p.eff))
    };
    (check, bad)
}

/// uid 0 without CAP_SYS_ADMIN: podman copies the parent's maps itself.
fn root_path(host: &Host, found: &mut Obs, p: Privs, mut facts: Facts) -> AreaOut<Facts> {
    let (caps, bad) = root_caps_check(&p, Executor::of(&found.context));
    found.checks.push(caps);
    if p.known && p.nnp {
        found.checks.push(Check::info(
            "idmap.nnp",
            "NoNewPrivs: 1 does not matter as root: podman uses no setuid helper here",
        ));
    }
    let parent_u = found.userns.parent_uid_map.clone();
    let parent_g = found.userns.parent_gid_map.clone();
    if parent_u.is_empty() || parent_g.is_empty() {
        found.checks.push(
            Check::warn(
                "idmap.map",
                "cannot read /proc/self/uid_map or gid_map to copy",
            )
            .with("probe_ran", false),
        );
        return found.finish(facts);
    }
    facts.uid_map = copied_map(&parent_u);
    facts.gid_map = copied_map(&parent_g);
    let cmd = format!(
        "write uid_map {}; gid_map {}",
        map_text(&facts.uid_map),
        map_text(&facts.gid_map)
    );
    let result = host.probe(&Probe::UserNsMap {
        helpers: None,
        uid_map: facts.uid_map.clone(),
        gid_map: facts.gid_map.clone(),
    });
    if result.ran && !result.ok && !bad {
        // Podman's second choice when the copy fails (a job container in a
        // user namespace of its own, like Kubernetes hostUsers: false):
        // newuidmap with root's own ranges from /etc/subuid and /etc/subgid.
        let check = root_subid_path(host, found, &mut facts, &result);
        found.checks.push(check);
        return found.finish(facts);
    }
    let blockers: Vec<&str> = if bad { vec!["idmap.bounding"] } else { vec![] };
    let check = judge(&result, &blockers, found, &cmd, true);
    conclude(found, facts, result, check, bad)
}

/// Root whose copied maps were refused: podman maps through newuidmap
/// with root's sub-id ranges when there are any, else falls back to a
/// single id (and the first foreign-owned file fails with `lchown …
/// invalid argument`). The job can add the ranges itself: root may append
/// to /etc/subuid and /etc/subgid, with ranges inside the ids it has.
fn root_subid_path(host: &Host, found: &Findings, facts: &mut Facts, copy: &ProbeResult) -> Check {
    let read = |path: &str| {
        host.read(path)
            .map(|t| super::subid::parse_subid(&t))
            .unwrap_or_default()
    };
    let ranges = |file: &super::subid::SubIdFile| -> Vec<(u64, u64)> {
        file.ranges_for(Some("root"), Some(Uid::ROOT))
            .iter()
            .map(|l| (l.start, l.count))
            .collect()
    };
    let (subuid, subgid) = (read("/etc/subuid"), read("/etc/subgid"));
    let (uids, gids) = (ranges(&subuid), ranges(&subgid));
    let copy_text = format!(
        "copying /proc/self/uid_map is refused ({})",
        copy.describe()
    );
    facts.newuidmap = host.which("newuidmap");
    facts.newgidmap = host.which("newgidmap");
    let helpers = facts.newuidmap.clone().zip(facts.newgidmap.clone());
    if !uids.is_empty() && !gids.is_empty() {
        facts.uid_map = podman_map(0, &uids);
        facts.gid_map = podman_map(0, &gids);
        return root_ranges_probe(host, found, facts, helpers).with("copy", copy_text);
    }
    facts.rootless_multi_id_works = Some(false);
    let base = Check::error(
        "idmap.map",
        format!(
            "{copy_text}, and root has no ranges in /etc/subuid and /etc/subgid: podman falls back to \
             a single id (`Using rootless single mapping`), and the first file owned by another id \
             fails with `lchown … invalid argument`"
        ),
    )
    .with("copy_errno", json!(copy.errno))
    .with("copy_step", copy.step.clone());
    root_ranges_fix(host, found, base, [&subuid, &subgid], helpers.is_some())
}

/// `idmap.map` for root with sub-id ranges: newuidmap/newgidmap with them,
/// as podman will call them (`facts` holds the maps).
fn root_ranges_probe(
    host: &Host,
    found: &Findings,
    facts: &mut Facts,
    helpers: Option<(String, String)>,
) -> Check {
    let staged = ["/etc/subuid", "/etc/subgid"]
        .iter()
        .any(|f| host.is_staged(f));
    let result = match &helpers {
        Some(h) if !staged => host.probe(&Probe::UserNsMap {
            helpers: Some(h.clone()),
            uid_map: facts.uid_map.clone(),
            gid_map: facts.gid_map.clone(),
        }),
        Some(_) => ProbeResult::not_run(
            "dry run: the added ranges are not on disk for the helpers to read",
        ),
        None => ProbeResult::not_run("newuidmap/newgidmap not installed"),
    };
    let cmd = format!(
        "newuidmap PID {}; newgidmap PID {}",
        map_text(&facts.uid_map),
        map_text(&facts.gid_map)
    );
    let blockers: Vec<&str> = if helpers.is_none() {
        vec!["idmap.helpers"]
    } else {
        vec![]
    };
    facts.rootless_multi_id_works = result.ran.then_some(result.ok);
    let check = judge(&result, &blockers, found, &cmd, false);
    facts.map_probe = Some(result);
    check
}

/// The remedy for root without ranges: the job appends ranges inside the
/// ids this container has (but 0, root itself) when it can, else the
/// image or the runner must.
fn root_ranges_fix(
    host: &Host,
    found: &Findings,
    base: Check,
    [subuid, subgid]: [&super::subid::SubIdFile; 2],
    helpers: bool,
) -> Check {
    let inside = super::subid::inside_spans(&found.userns.parent_uid_map);
    let inside_g = super::subid::inside_spans(&found.userns.parent_gid_map);
    let want = super::subid::WANTED - 1;
    // Ids no other owner's line holds, when there are enough; in a
    // 65536-id namespace the image's user usually holds them all, and
    // sharing is harmless there: newuidmap reads only the caller's lines
    // (the same rule as subid.entries).
    let propose = |spans: &[super::subid::Span], taken: &super::subid::SubIdFile| {
        let taken: Vec<super::subid::Span> =
            taken.lines.iter().map(|l| (l.start, l.end())).collect();
        let free = super::subid::propose(&super::subid::minus(spans, &taken), 0, want, true);
        if free.iter().map(|(_, c)| c).sum::<u64>() >= super::subid::ENOUGH {
            free
        } else {
            super::subid::propose(spans, 0, want, true)
        }
    };
    let (new_u, new_g) = (propose(&inside, subuid), propose(&inside_g, subgid));
    let writable = ["/etc/subuid", "/etc/subgid"]
        .iter()
        .all(|f| host.access(f, crate::host::Access::Write).is_ok());
    let enough = |r: &[(u64, u64)]| r.iter().map(|(_, c)| c).sum::<u64>() >= super::subid::ENOUGH;
    if !(helpers && writable && enough(&new_u) && enough(&new_g)) {
        return base.fix(By::Image, ROOT_RANGES.text(Executor::of(&found.context)));
    }
    let line = |(s, c): &(u64, u64)| format!("root:{s}:{c}");
    let append = |path: &str, ranges: &[(u64, u64)]| -> Vec<Action> {
        ranges
            .iter()
            .map(|r| Action::AppendLine {
                path: path.into(),
                line: line(r),
            })
            .collect()
    };
    let mut actions = append("/etc/subuid", &new_u);
    actions.extend(append("/etc/subgid", &new_g));
    let shown: Vec<String> = new_u.iter().map(line).collect();
    base.job_fix(
        format!(
            "Append {} to /etc/subuid and /etc/subgid: podman then maps root's ranges through \
             newuidmap",
            shown.join(", ")
        ),
        actions,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;
    use crate::probes::testutil::Fixture;
    use crate::probes::{identity, subid, userns};

    const DOCKER_CAPS: u64 = 0x8004_05fb;
    const RANGES: &str = "podman:1:999\npodman:1001:64535\n";

    fn status(eff: u64, bnd: u64, nnp: u8) -> String {
        format!("CapPrm:\t{eff:016x}\nCapEff:\t{eff:016x}\nCapBnd:\t{bnd:016x}\nNoNewPrivs:\t{nnp}\nSeccomp:\t2\n")
    }

    fn helpers_probe() -> Probe {
        Probe::UserNsMap {
            helpers: Some(("/usr/bin/newuidmap".into(), "/usr/bin/newgidmap".into())),
            uid_map: podman_map(1000, &[(1, 999), (1001, 64535)]),
            gid_map: podman_map(1000, &[(1, 999), (1001, 64535)]),
        }
    }

    /// uid 1000 in the nested container captured on this host.
    fn job(bnd: u64, nnp: u8) -> Fixture {
        Fixture::new()
            .uid(1000)
            .gid(1000)
            .env("HOME", "/home/podman")
            .env("PATH", "/usr/bin")
            .file(
                "/etc/passwd",
                "podman:x:1000:1000::/home/podman:/bin/bash\n",
            )
            .file("/proc/self/status", &status(0, bnd, nnp))
            .file("/proc/self/uid_map", "         0     100000      65536\n")
            .file("/proc/self/gid_map", "         0     100000      65536\n")
            .file("/etc/subuid", RANGES)
            .file("/etc/subgid", RANGES)
            .stat("/home/podman", "dir", 0o700, 1000, 1000)
            .file("/usr/bin/newuidmap", "")
            .file("/usr/bin/newgidmap", "")
            .stat("/usr/bin/newuidmap", "file", 0o4755, 0, 0)
            .stat("/usr/bin/newgidmap", "file", 0o4755, 0, 0)
            .probe(&Probe::UserNs, ProbeResult::success(""))
    }

    fn run(host: &Host) -> Findings {
        let mut found = Findings::default();
        found.absorb(crate::probes::caps::probe(host, &found));
        found.absorb(identity::probe(host, &found));
        found.absorb(userns::probe(host, &found));
        found.absorb(subid::probe(host, &found));
        found.absorb(probe(host, &found));
        found
    }

    fn st(found: &Findings, id: &str) -> Option<Status> {
        found.check(id).map(|c| c.status)
    }

    #[test]
    fn podman_order() {
        let m = podman_map(1000, &[(1, 999), (1001, 64535)]);
        // What podman ran in the nested container on this host.
        assert_eq!(map_text(&m), "0 1000 1 1 1 999 1000 1001 64535");
        let c = copied_map(
            &crate::formats::idmap::parse_id_map("0 0 4294967295\n").unwrap_or_default(),
        );
        assert_eq!(map_text(&c), "0 0 1 1 1 4294967294");
        let nested =
            crate::formats::idmap::parse_id_map("0 1000 1\n1 100000 65536\n").unwrap_or_default();
        assert_eq!(copied_map(&nested), nested);
    }

    #[test]
    fn decodes_file_capabilities() {
        // Real xattr of gst-ptp-helper on this host: cap_net_bind_service,cap_net_admin.
        let raw = [
            1u8, 0, 0, 2, 0, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        assert_eq!(decode_vfs_caps(&raw), Ok((0x1400, None)));
        // cap_setuid+ep, v3 with a root id.
        let raw = [
            1u8, 0, 0, 3, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xa0, 0x86, 1, 0,
        ];
        assert_eq!(decode_vfs_caps(&raw), Ok((0x80, Some(100000))));
        assert!(vfs_caps_effective(&raw));
        let mut permitted_only = raw;
        permitted_only[0] = 0;
        assert!(!vfs_caps_effective(&permitted_only));
        assert!(decode_vfs_caps(&[1, 2]).is_err());
        assert!(decode_vfs_caps(&[0, 0, 0, 9]).is_err());
    }

    #[test]
    fn probe_success_is_the_truth() {
        let host = job(DOCKER_CAPS, 0)
            .probe(&helpers_probe(), ProbeResult::success(""))
            .host();
        let found = run(&host);
        assert_eq!(st(&found, "idmap.map"), Some(Status::Ok));
        assert_eq!(found.idmap.rootless_multi_id_works, Some(true));
        assert_eq!(found.idmap.helpers_privileged, Some(true));
        assert_eq!(st(&found, "idmap.helper_privilege"), Some(Status::Ok));
    }

    #[test]
    fn probe_failure_is_reported_with_its_errno() {
        let host = job(DOCKER_CAPS, 0)
            .probe(
                &helpers_probe(),
                ProbeResult::failure(
                    "newuidmap",
                    Some("EPERM".into()),
                    "newuidmap: write to uid_map failed: Operation not permitted",
                ),
            )
            .host();
        let found = run(&host);
        let c = found.check("idmap.map").unwrap();
        assert_eq!(c.status, Status::Error);
        assert!(c.summary.contains("EPERM at newuidmap"));
        assert_eq!(c.evidence["call"], json!("newuidmap PID 0 1000 1 1 1 999 1000 1001 64535; newgidmap PID 0 1000 1 1 1 999 1000 1001 64535"));
        assert_eq!(found.idmap.rootless_multi_id_works, Some(false));
    }

    #[test]
    fn no_new_privs_blocks_and_says_who_fixes_it() {
        let host = job(DOCKER_CAPS, 1)
            .probe(
                &helpers_probe(),
                ProbeResult::failure("newuidmap", Some("EPERM".into()), ""),
            )
            .host();
        let found = run(&host);
        assert_eq!(st(&found, "idmap.nnp"), Some(Status::Error));
        let c = found.check("idmap.map").unwrap();
        assert_eq!(c.status, Status::Error);
        let fix = c.fix.as_ref().unwrap();
        assert_eq!(fix.by, By::RunnerAdmin);
        assert!(fix.text.contains("allow_privilege_escalation"));
        assert!(fix.text.contains("root recipe"));
    }

    #[test]
    fn missing_capabilities_in_the_bounding_set() {
        let found = run(&job(0, 0).host());
        let c = found.check("idmap.bounding").unwrap();
        assert_eq!(c.status, Status::Error);
        assert!(c
            .fix
            .as_ref()
            .unwrap()
            .text
            .contains("cap_add = [\"SETUID\", \"SETGID\"]"));
        // Probe not answered: the static blocker still makes it an error.
        assert_eq!(st(&found, "idmap.map"), Some(Status::Error));
        assert_eq!(found.idmap.rootless_multi_id_works, Some(false));
    }

    #[test]
    fn helpers_without_privilege() {
        let fx = job(DOCKER_CAPS, 0)
            .stat("/usr/bin/newuidmap", "file", 0o755, 0, 0)
            .stat("/usr/bin/newgidmap", "file", 0o755, 0, 0);
        let found = run(&fx.host());
        let c = found.check("idmap.helper_privilege").unwrap();
        assert_eq!(c.status, Status::Error);
        assert!(c
            .fix
            .as_ref()
            .unwrap()
            .text
            .contains("setcap cap_setuid+ep /usr/bin/newuidmap"));
        // The same binaries with file capabilities are fine.
        let fx = job(DOCKER_CAPS, 0)
            .stat("/usr/bin/newuidmap", "file", 0o755, 0, 0)
            .stat("/usr/bin/newgidmap", "file", 0o755, 0, 0)
            .file_caps(
                "/usr/bin/newuidmap",
                "0100000280000000000000000000000000000000",
            )
            .file_caps(
                "/usr/bin/newgidmap",
                "0100000240000000000000000000000000000000",
            );
        let found = run(&fx.host());
        assert_eq!(st(&found, "idmap.helper_privilege"), Some(Status::Ok));
    }

    #[test]
    fn missing_helpers() {
        let fx = job(DOCKER_CAPS, 0).env("PATH", "/nowhere");
        let found = run(&fx.host());
        let c = found.check("idmap.helpers").unwrap();
        assert_eq!(c.status, Status::Error);
        assert!(c.fix.as_ref().unwrap().text.contains("uidmap"));
        assert_eq!(st(&found, "idmap.map"), Some(Status::Error));
    }

    const WITH_SYS_ADMIN: u64 = DOCKER_CAPS | 1 << CAP_SYS_ADMIN;

    #[test]
    fn unanswered_probe_is_never_ok() {
        let found = run(&job(WITH_SYS_ADMIN, 0).host());
        let c = found.check("idmap.map").unwrap();
        assert_eq!(c.status, Status::Warn);
        assert_eq!(c.evidence["probe_ran"], json!(false));
        assert_eq!(found.idmap.rootless_multi_id_works, None);
    }

    #[test]
    fn setuid_helpers_without_sys_admin_are_ruled_out_even_unprobed() {
        // The matrix's deb13-openshift-gu-fuse: a dry run cannot probe the
        // helpers, and the kernel will refuse them here anyway.
        let mut host = job(DOCKER_CAPS, 0)
            .file("/etc/subuid", "")
            .file("/etc/subgid", "")
            .host();
        host.stage_writes();
        host.append("/etc/subuid", RANGES).unwrap();
        host.append("/etc/subgid", RANGES).unwrap();
        let found = run(&host);
        assert_eq!(st(&found, "idmap.setuid_sys_admin"), Some(Status::Error));
        let c = found.check("idmap.map").unwrap();
        assert_eq!(c.status, Status::Error);
        assert_eq!(c.fix.as_ref().unwrap().by, By::Image);
        assert!(c
            .fix
            .as_ref()
            .unwrap()
            .text
            .contains("setcap cap_setuid=ep"));
        assert_eq!(found.idmap.rootless_multi_id_works, Some(false));
    }

    #[test]
    fn file_capability_helpers_need_no_sys_admin() {
        // vfs_cap_data v2: magic+flags, permitted CAP_SETUID|CAP_SETGID (bits 6, 7), effective bit.
        let caps = "01000002c0000000000000000000000000000000";
        let found = run(&job(DOCKER_CAPS, 0)
            .stat("/usr/bin/newuidmap", "file", 0o755, 0, 0)
            .stat("/usr/bin/newgidmap", "file", 0o755, 0, 0)
            .file_caps("/usr/bin/newuidmap", caps)
            .file_caps("/usr/bin/newgidmap", caps)
            .host());
        assert_eq!(st(&found, "idmap.helper_privilege"), Some(Status::Ok));
        assert_eq!(st(&found, "idmap.setuid_sys_admin"), None);
        assert_eq!(
            st(&found, "idmap.map"),
            Some(Status::Warn),
            "unprobed, nothing rules it out"
        );
    }

    #[test]
    fn staged_fixes_are_not_probed_through_the_helpers() {
        let mut host = job(WITH_SYS_ADMIN, 0)
            .file("/etc/subuid", "")
            .file("/etc/subgid", "")
            .probe(
                &helpers_probe(),
                ProbeResult::failure("newuidmap", Some("EPERM".into()), ""),
            )
            .host();
        host.stage_writes();
        host.append("/etc/subuid", RANGES).unwrap();
        host.append("/etc/subgid", RANGES).unwrap();
        let found = run(&host);
        assert!(found.subid.usable);
        let c = found.check("idmap.map").unwrap();
        assert_eq!(c.status, Status::Warn);
        assert!(c.summary.contains("dry run"));
    }

    #[test]
    fn root_without_sys_admin_copies_the_map() {
        let probe = Probe::UserNsMap {
            helpers: None,
            uid_map: copied_map(&[crate::host::IdMapLine {
                inside: 0,
                outside: 100000,
                count: 65536,
            }]),
            gid_map: copied_map(&[crate::host::IdMapLine {
                inside: 0,
                outside: 100000,
                count: 65536,
            }]),
        };
        let fx = job(DOCKER_CAPS, 1)
            .uid(0)
            .gid(0)
            .file("/proc/self/status", &status(DOCKER_CAPS, DOCKER_CAPS, 1))
            .probe(&probe, ProbeResult::success(""));
        let found = run(&fx.host());
        assert_eq!(st(&found, "idmap.map"), Some(Status::Ok));
        assert_eq!(st(&found, "idmap.bounding"), Some(Status::Ok));
        assert_eq!(st(&found, "idmap.nnp"), Some(Status::Info));
        assert!(found.check("idmap.helpers").is_none());
        // Without SETFCAP podman cannot map uid 0.
        let fx = job(0, 0).uid(0).file(
            "/proc/self/status",
            &status(DOCKER_CAPS & !(1 << 31), DOCKER_CAPS, 0),
        );
        let found = run(&fx.host());
        assert_eq!(st(&found, "idmap.bounding"), Some(Status::Error));
        assert_eq!(st(&found, "idmap.map"), Some(Status::Error));
    }

    #[test]
    fn root_in_a_user_namespace_gets_its_own_ranges_when_the_copy_is_refused() {
        // The matrix's deb13-userns-root-fuse (hostUsers: false): copying
        // "0 100000 65536" is refused from inside; root's ranges fix it.
        let parent = [crate::host::IdMapLine {
            inside: 0,
            outside: 100000,
            count: 65536,
        }];
        let copy = Probe::UserNsMap {
            helpers: None,
            uid_map: copied_map(&parent),
            gid_map: copied_map(&parent),
        };
        let refused = || {
            job(DOCKER_CAPS, 0)
                .uid(0)
                .gid(0)
                .file("/proc/self/status", &status(DOCKER_CAPS, DOCKER_CAPS, 0))
                .probe(
                    &copy,
                    ProbeResult::failure("uid_map", Some("EPERM".into()), ""),
                )
        };
        let found = run(&refused().host());
        let c = found.check("idmap.map").unwrap();
        assert_eq!(c.status, Status::Error);
        assert!(
            c.summary.contains("Using rootless single mapping"),
            "{}",
            c.summary
        );
        // podman's user holds every id but its own: sharing them is fine.
        let fix = c.fix.as_ref().unwrap();
        assert_eq!(
            fix.actions,
            vec![
                Action::AppendLine {
                    path: "/etc/subuid".into(),
                    line: "root:1:65535".into()
                },
                Action::AppendLine {
                    path: "/etc/subgid".into(),
                    line: "root:1:65535".into()
                },
            ]
        );

        // With the ranges in place podman uses newuidmap, and the probe decides.
        let with_ranges = "podman:1:999\npodman:1001:64535\nroot:1:65535\n";
        let helpers = Probe::UserNsMap {
            helpers: Some(("/usr/bin/newuidmap".into(), "/usr/bin/newgidmap".into())),
            uid_map: podman_map(0, &[(1, 65535)]),
            gid_map: podman_map(0, &[(1, 65535)]),
        };
        let fx = refused()
            .file("/etc/subuid", with_ranges)
            .file("/etc/subgid", with_ranges)
            .probe(&helpers, ProbeResult::success(""));
        let found = run(&fx.host());
        let c = found.check("idmap.map").unwrap();
        assert_eq!(c.status, Status::Ok, "{}", c.summary);
        assert_eq!(found.idmap.rootless_multi_id_works, Some(true));
    }

    #[test]
    fn a_gid_other_than_the_passwd_entrys_is_refused_by_the_helpers() {
        // The matrix's deb13-userns-outsidegu-allcaps (`--user 1000:0`):
        // newuidmap says "Target process is owned by a different user".
        let found = run(&job(WITH_SYS_ADMIN, 0).gid(0).host());
        let c = found.check("idmap.gid").unwrap();
        assert_eq!(c.status, Status::Error);
        assert!(c.fix.as_ref().unwrap().text.contains("run_as_group = 1000"));
        assert_eq!(st(&found, "idmap.map"), Some(Status::Error));
        assert_eq!(
            found.check("idmap.map").unwrap().fix.as_ref().unwrap().by,
            By::RunnerAdmin
        );
        // The same job with its own group has no such finding.
        let found = run(&job(WITH_SYS_ADMIN, 0).host());
        assert!(found.check("idmap.gid").is_none());
    }

    #[test]
    fn rootful_maps_nothing() {
        let fx = job(0, 0).uid(0).file(
            "/proc/self/status",
            &status(0x1ff_feff_ffff, 0x1ff_feff_ffff, 0),
        );
        let found = run(&fx.host());
        assert_eq!(st(&found, "idmap.map"), Some(Status::Info));
    }
}
