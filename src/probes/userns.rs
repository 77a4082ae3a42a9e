//! Area `userns`: can podman create the user namespace it needs?
//!
//! Reads the parent maps (`/proc/self/uid_map`, `gid_map`: the job may
//! already be inside a user namespace), the node sysctls that switch
//! unprivileged user namespaces off, and tries `unshare(CLONE_NEWUSER)` in
//! a forked child. A seccomp filter refusing `unshare` without
//! CAP_SYS_ADMIN looks like the sysctls being off; the probe plus the
//! sysctls tell them apart (catalog N1, N2, N3). Only blocking when podman
//! needs its own user namespace (rootless); rootful podman does not.

use super::identity::{privs, Privs, CAP_SYS_ADMIN};
use super::{AreaOut, Findings, Obs};
use crate::formats::idmap::parse_id_map;
use crate::host::{Host, IdMapLine, Probe, ProbeResult};
use crate::model::{By, Check, Spec, Status};
use crate::remedy::runner::Executor;
use crate::remedy::userns::{UNCONFINED_SECCOMP, UNCONFINED_SECCOMP_OR_LSM};
use serde_json::json;

pub const UID_MAP: &str = "/proc/self/uid_map";
pub const GID_MAP: &str = "/proc/self/gid_map";
const MAX_USERNS: &str = "/proc/sys/user/max_user_namespaces";
const USERNS_CLONE: &str = "/proc/sys/kernel/unprivileged_userns_clone";
const AA_RESTRICT: &str = "/proc/sys/kernel/apparmor_restrict_unprivileged_userns";
const AA_UNCONFINED: &str = "/proc/sys/kernel/apparmor_restrict_unprivileged_unconfined";

/// The initial user namespace maps every id to itself.
pub const INITIAL_MAP: IdMapLine = IdMapLine {
    inside: 0,
    outside: 0,
    count: u32::MAX,
};

#[derive(Debug, Default, Clone)]
pub struct Facts {
    /// Podman needs a user namespace of its own (it is rootless and
    /// `_CONTAINERS_USERNS_CONFIGURED` is not set).
    pub needed: bool,
    /// The job runs inside a user namespace (its map is not the identity).
    pub in_userns: bool,
    /// `/proc/self/uid_map` / `gid_map` (empty when unreadable).
    pub parent_uid_map: Vec<IdMapLine>,
    pub parent_gid_map: Vec<IdMapLine>,
    pub max_user_namespaces: Option<u64>,
    pub unprivileged_userns_clone: Option<u64>,
    pub apparmor_restrict: Option<u64>,
    pub apparmor_restrict_unconfined: Option<u64>,
    /// Result of the `unshare(CLONE_NEWUSER)` probe; `None` when it did not run.
    pub can_unshare: Option<bool>,
    pub probe: Option<ProbeResult>,
}

impl Facts {
    /// How many ids exist in this namespace.
    pub fn inside_uids(&self) -> u64 {
        self.parent_uid_map.iter().map(|l| u64::from(l.count)).sum()
    }
}

pub const SPECS: &[Spec] = &[
    Spec {
        id: "userns.parent_map",
        title: "The user namespace the job already runs in",
        explain: "/proc/self/uid_map is `0 0 4294967295` in the initial user namespace; anything else \
means the job container itself runs in a user namespace (rootless outer podman or docker, Kubernetes \
`hostUsers: false`, OpenShift user-namespace pods) and only the listed ids exist. Rootless podman can \
then map only those ids, so /etc/subuid ranges must fit inside them (see subid.parent_map).",
        signatures: &[],
    },
    Spec {
        id: "userns.sysctl",
        title: "Node sysctls allow unprivileged user namespaces",
        explain: "`user.max_user_namespaces = 0` or Debian/Ubuntu `kernel.unprivileged_userns_clone = \
0` switch unprivileged user namespaces off for the whole node: podman fails with `cannot clone: \
Operation not permitted`, `user namespaces are not enabled in /proc/sys/user/max_user_namespaces`, \
`cannot re-exec process`. Ubuntu ≥ 23.10 `kernel.apparmor_restrict_unprivileged_userns = 1` lets \
unconfined processes create one but without capabilities in it (`write to uid_map failed: Operation \
not permitted`). Node fix: `sysctl -w user.max_user_namespaces=15000`, \
`kernel.unprivileged_userns_clone=1`, `kernel.apparmor_restrict_unprivileged_userns=0` and \
`kernel.apparmor_restrict_unprivileged_unconfined=0`.",
        signatures: &[
            "user namespaces are not enabled in /proc/sys/user/max_user_namespaces",
            "cannot clone: No space left on device",
            "unshare: write failed /proc/self/uid_map: Operation not permitted",
        ],
    },
    Spec {
        id: "userns.create",
        title: "A user namespace can be created (unshare(CLONE_NEWUSER) in a child)",
        explain: "Rootless podman re-executes itself in a new user namespace before anything else. \
The default seccomp profiles of Docker and containerd/CRI-O (RuntimeDefault) allow `unshare` and \
namespace `clone` only with CAP_SYS_ADMIN, so in an unprivileged job podman fails with `cannot \
clone: Operation not permitted` / `cannot re-exec process` (buildah: `Error during \
unshare(CLONE_NEWUSER): Operation not permitted`) although the node allows user namespaces. Runner \
fix, Kubernetes executor: `[runners.kubernetes.build_container_security_context.seccomp_profile] \
type = \"Unconfined\"` (or a Localhost profile allowing unshare, clone, mount, umount2, setns, keyctl, \
pivot_root); OpenShift: an SCC whose seccompProfiles allow `unconfined`, then the same; docker \
executor: `security_opt = [\"seccomp:unconfined\"]`; or `privileged = true`.",
        signatures: &[
            "cannot clone: Operation not permitted",
            "cannot clone: Invalid argument",
            "cannot re-exec process",
            "Error during unshare(CLONE_NEWUSER): Operation not permitted",
            "Error during unshare(CLONE_NEWUSER)",
        ],
    },
];

fn read_num(host: &Host, path: &str) -> (Option<u64>, Option<String>) {
    match host.read(path) {
        Ok(t) => match t.trim().parse::<u64>() {
            Ok(n) => (Some(n), None),
            Err(_) => (None, Some(format!("unreadable value {:?}", t.trim()))),
        },
        Err(e) => (None, Some(crate::host::io_error_name(&e))),
    }
}

const SYSCTL_FIX: &str =
    "On the nodes: `sysctl -w user.max_user_namespaces=15000` and (Debian/Ubuntu) \
`sysctl -w kernel.unprivileged_userns_clone=1`, persisted in /etc/sysctl.d/.";

/// `userns.parent_map`: the id maps of the namespace the job runs in
/// (recorded in `facts` for the subid and idmap areas).
fn parent_map_check(host: &Host, facts: &mut Facts) -> Check {
    let mut map_problems = Vec::new();
    for (path, slot) in [
        (UID_MAP, &mut facts.parent_uid_map),
        (GID_MAP, &mut facts.parent_gid_map),
    ] {
        match host.read(path) {
            Ok(t) => match parse_id_map(&t) {
                Ok(m) if !m.is_empty() => *slot = m,
                Ok(_) => map_problems.push(format!("{path} is empty")),
                Err(e) => map_problems.push(format!("{path}: {e}")),
            },
            Err(e) => map_problems.push(format!("{path}: {}", crate::host::io_error_name(&e))),
        }
    }
    facts.in_userns = !facts.parent_uid_map.is_empty() && facts.parent_uid_map != [INITIAL_MAP];
    let lines = |m: &[IdMapLine]| {
        json!(m
            .iter()
            .map(|l| format!("{} {} {}", l.inside, l.outside, l.count))
            .collect::<Vec<_>>())
    };
    if !map_problems.is_empty() {
        Check::warn(
            "userns.parent_map",
            format!("cannot read the id maps: {}", map_problems.join("; ")),
        )
        .with("problems", json!(map_problems))
    } else if facts.in_userns {
        Check::info(
            "userns.parent_map",
            format!(
                "the job runs inside a user namespace with {} ({})",
                crate::util::count(facts.inside_uids(), "uid", "uids"),
                facts
                    .parent_uid_map
                    .iter()
                    .map(|l| format!("{} {} {}", l.inside, l.outside, l.count))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .with("uid_map", lines(&facts.parent_uid_map))
        .with("gid_map", lines(&facts.parent_gid_map))
    } else {
        Check::info(
            "userns.parent_map",
            "the job runs in the initial user namespace (all ids exist)",
        )
        .with("uid_map", lines(&facts.parent_uid_map))
    }
}

pub fn probe(host: &Host, earlier: &Findings) -> AreaOut<Facts> {
    let found = &mut Obs::new(earlier);
    let p = privs(found);
    let configured = found.identity.userns_configured;
    let needed = found.plan.rootless && !configured && !(p.known && p.eff_has(CAP_SYS_ADMIN));
    let mut facts = Facts {
        needed,
        ..Facts::default()
    };
    found.checks.push(parent_map_check(host, &mut facts));
    let max_err = read_sysctls(host, &mut facts);
    // The functional probe, only where podman would create a namespace.
    let result = needed.then(|| host.probe(&Probe::UserNs));
    facts.can_unshare = result.as_ref().filter(|r| r.ran).map(|r| r.ok);
    found.checks.push(sysctl_check(&facts, max_err));
    let executor = Executor::of(&found.context);
    found.checks.push(create_check(
        result.as_ref(),
        &facts,
        &p,
        configured,
        executor,
    ));
    facts.probe = result;
    found.finish(facts)
}

/// The node sysctls into `facts`; why `max_user_namespaces` is unreadable.
fn read_sysctls(host: &Host, facts: &mut Facts) -> Option<String> {
    let (max, max_err) = read_num(host, MAX_USERNS);
    facts.max_user_namespaces = max;
    facts.unprivileged_userns_clone = read_num(host, USERNS_CLONE).0;
    facts.apparmor_restrict = read_num(host, AA_RESTRICT).0;
    facts.apparmor_restrict_unconfined = read_num(host, AA_UNCONFINED).0;
    max_err
}

/// A sysctl switches unprivileged user namespaces off for the node.
fn sysctl_off(facts: &Facts) -> bool {
    facts.max_user_namespaces == Some(0) || facts.unprivileged_userns_clone == Some(0)
}

// --- userns.sysctl
fn sysctl_check(facts: &Facts, max_err: Option<String>) -> Check {
    let (max, clone, aa) = (
        facts.max_user_namespaces,
        facts.unprivileged_userns_clone,
        facts.apparmor_restrict,
    );
    let mut bits = Vec::new();
    if let Some(m) = max {
        bits.push(format!("user.max_user_namespaces={m}"));
    }
    if let Some(c) = clone {
        bits.push(format!("kernel.unprivileged_userns_clone={c}"));
    }
    if let Some(a) = aa {
        bits.push(format!("kernel.apparmor_restrict_unprivileged_userns={a}"));
    }
    let desc = if bits.is_empty() {
        format!("sysctls unreadable ({})", max_err.unwrap_or_default())
    } else {
        bits.join(", ")
    };
    let (needed, probe_ok) = (facts.needed, facts.can_unshare == Some(true));
    let check = if sysctl_off(facts) && needed && !probe_ok {
        Check::error(
            "userns.sysctl",
            format!("{desc}: unprivileged user namespaces are switched off on the node"),
        )
        .fix(By::NodeAdmin, SYSCTL_FIX)
    } else if sysctl_off(facts) {
        Check::info(
            "userns.sysctl",
            format!(
                "{desc}: unprivileged user namespaces are off on the node{}",
                if needed {
                    ", but the probe created one"
                } else {
                    " (podman does not need one here)"
                }
            ),
        )
    } else if aa == Some(1) && needed {
        Check::info(
            "userns.sysctl",
            format!("{desc}: unconfined processes get no capabilities in a new user namespace (idmap.map shows whether that bites)"),
        )
    } else {
        Check::ok("userns.sysctl", desc)
    };
    check
        .with("max_user_namespaces", json!(max))
        .with("unprivileged_userns_clone", json!(clone))
        .with("apparmor_restrict_unprivileged_userns", json!(aa))
        .with(
            "apparmor_restrict_unprivileged_unconfined",
            json!(facts.apparmor_restrict_unconfined),
        )
}

// --- userns.create
fn create_check(
    result: Option<&ProbeResult>,
    facts: &Facts,
    p: &Privs,
    configured: bool,
    executor: Executor,
) -> Check {
    match result {
        None => Check::info(
            "userns.create",
            if configured {
                "_CONTAINERS_USERNS_CONFIGURED is set: podman assumes it already runs in its user namespace"
            } else {
                "podman runs rootful here and creates no user namespace of its own"
            },
        ),
        Some(r) if r.ran && r.ok => Check::ok("userns.create", "a child created a user namespace"),
        Some(r) if r.ran => refused_check(r, facts, p, executor),
        Some(r) => {
            let mut c = Check::warn(
                "userns.create",
                format!(
                    "the unshare probe did not run ({}); {}",
                    r.detail,
                    if p.seccomp == 2 && !p.eff_has(CAP_SYS_ADMIN) {
                        "a seccomp filter without CAP_SYS_ADMIN often refuses it"
                    } else {
                        "nothing in the files says it is refused"
                    }
                ),
            )
            .with("probe_ran", false);
            if sysctl_off(facts) {
                c.status = Status::Error;
                c = c.fix(By::NodeAdmin, SYSCTL_FIX);
            }
            c
        }
    }
}

/// `userns.create` when the child's `unshare` failed: the node's sysctls,
/// a seccomp filter, or (unknown) the runner's confinement.
fn refused_check(r: &ProbeResult, facts: &Facts, p: &Privs, executor: Executor) -> Check {
    let errno = r.errno.clone().unwrap_or_default();
    let seccomp_likely = p.known && p.seccomp == 2 && !p.eff_has(CAP_SYS_ADMIN);
    let c = Check::error(
        "userns.create",
        format!("unshare(CLONE_NEWUSER) failed: {}", r.describe()),
    )
    .with("errno", errno.clone())
    .with("step", r.step.clone())
    .with("detail", r.detail.clone())
    .with("seccomp", p.seccomp);
    if sysctl_off(facts) || errno == "ENOSPC" {
        c.with("cause", "node sysctl")
            .fix(By::NodeAdmin, SYSCTL_FIX)
    } else if seccomp_likely && errno == "EPERM" {
        c.with(
            "cause",
            "seccomp filter refuses unshare without CAP_SYS_ADMIN",
        )
        .fix(By::RunnerAdmin, UNCONFINED_SECCOMP.text(executor))
    } else {
        c.fix(By::RunnerAdmin, UNCONFINED_SECCOMP_OR_LSM.text(executor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::identity;
    use crate::probes::testutil::Fixture;

    const DOCKER_CAPS: u64 = 0x8004_05fb;
    const ALL_CAPS: u64 = 0x1ff_feff_ffff;

    fn status(eff: u64, seccomp: u8) -> String {
        format!("CapPrm:\t{eff:016x}\nCapEff:\t{eff:016x}\nCapBnd:\t{eff:016x}\nNoNewPrivs:\t0\nSeccomp:\t{seccomp}\n")
    }

    fn job(uid: u32, eff: u64, seccomp: u8) -> Fixture {
        Fixture::new()
            .uid(uid)
            .file(
                "/etc/passwd",
                "root:x:0:0::/root:/bin/sh\npodman:x:1000:1000::/home/podman:/bin/sh\n",
            )
            .file("/proc/self/status", &status(eff, seccomp))
            .file(UID_MAP, "         0          0 4294967295\n")
            .file(GID_MAP, "         0          0 4294967295\n")
            .file(MAX_USERNS, "63396\n")
    }

    fn run(host: &Host) -> Findings {
        let mut found = Findings::default();
        found.absorb(crate::probes::caps::probe(host, &found));
        found.absorb(identity::probe(host, &found));
        found.absorb(probe(host, &found));
        found
    }

    #[test]
    fn real_maps_parse() {
        // This host (initial namespace), a nested rootless podman, k8s hostUsers: false.
        let host = parse_id_map("         0          0 4294967295\n").unwrap_or_default();
        assert_eq!(host, vec![INITIAL_MAP]);
        let nested =
            parse_id_map("         0       1000          1\n         1     100000      65536\n")
                .unwrap_or_default();
        assert_eq!(nested.len(), 2);
        let k8s = parse_id_map("         0  833617920      65536\n").unwrap_or_default();
        assert_eq!(k8s[0].outside, 833617920);
    }

    #[test]
    fn seccomp_refusal_names_the_runner_keys() {
        let host = job(1000, 0, 2)
            .probe(
                &Probe::UserNs,
                ProbeResult::failure("unshare", Some("EPERM".into()), ""),
            )
            .host();
        let found = run(&host);
        let c = found.check("userns.create").unwrap();
        assert_eq!(c.status, Status::Error);
        let fix = c.fix.as_ref().unwrap();
        assert_eq!(fix.by, By::RunnerAdmin);
        assert!(fix.text.contains("seccomp_profile] type = \"Unconfined\""));
        assert!(fix.text.contains("security_opt = [\"seccomp:unconfined\"]"));
        assert_eq!(found.userns.can_unshare, Some(false));
        assert_eq!(found.check("userns.sysctl").unwrap().status, Status::Ok);
    }

    #[test]
    fn sysctl_off_is_a_node_fix() {
        let host = job(1000, 0, 0)
            .file(MAX_USERNS, "0\n")
            .probe(
                &Probe::UserNs,
                ProbeResult::failure("unshare", Some("ENOSPC".into()), ""),
            )
            .host();
        let found = run(&host);
        assert_eq!(found.check("userns.sysctl").unwrap().status, Status::Error);
        let c = found.check("userns.create").unwrap();
        assert_eq!(c.status, Status::Error);
        assert_eq!(c.fix.as_ref().map(|f| f.by), Some(By::NodeAdmin));
        // Debian's switch.
        let host = job(1000, 0, 0).file(USERNS_CLONE, "0\n").host();
        let found = run(&host);
        assert_eq!(found.check("userns.create").unwrap().status, Status::Error);
    }

    #[test]
    fn probe_success_and_not_run() {
        let found = run(&job(1000, 0, 2)
            .probe(&Probe::UserNs, ProbeResult::success(""))
            .host());
        assert_eq!(found.check("userns.create").unwrap().status, Status::Ok);
        assert_eq!(found.userns.can_unshare, Some(true));
        let found = run(&job(1000, 0, 2).host());
        let c = found.check("userns.create").unwrap();
        assert_eq!(c.status, Status::Warn);
        assert_eq!(c.evidence["probe_ran"], json!(false));
        assert_eq!(found.userns.can_unshare, None);
    }

    #[test]
    fn rootful_needs_no_user_namespace() {
        let found = run(&job(0, ALL_CAPS, 0).file(MAX_USERNS, "0\n").host());
        assert!(!found.userns.needed);
        assert_eq!(found.check("userns.create").unwrap().status, Status::Info);
        assert_eq!(found.check("userns.sysctl").unwrap().status, Status::Info);
        // Root without SYS_ADMIN does need one.
        let found = run(&job(0, DOCKER_CAPS, 2).host());
        assert!(found.userns.needed);
    }

    #[test]
    fn nested_map_is_reported() {
        let host = job(1000, 0, 2)
            .file(UID_MAP, "         0     100000      65536\n")
            .file(GID_MAP, "         0     100000      65536\n")
            .host();
        let found = run(&host);
        assert!(found.userns.in_userns);
        assert_eq!(found.userns.inside_uids(), 65536);
        assert!(found
            .check("userns.parent_map")
            .unwrap()
            .summary
            .contains("65536 uids"));
        let found = run(&job(1000, 0, 2).file(UID_MAP, "0 0\n").host());
        assert_eq!(
            found.check("userns.parent_map").unwrap().status,
            Status::Warn
        );
    }

    #[test]
    fn seccomp_fix_follows_the_executor_and_explain_lists_all() {
        let host = job(1000, 0, 2)
            .probe(
                &Probe::UserNs,
                ProbeResult::failure("unshare", Some("EPERM".into()), ""),
            )
            .host();
        let kubernetes = crate::probes::context::Facts {
            kubernetes: true,
            ..Default::default()
        };
        let mut found = Findings {
            context: kubernetes,
            ..Default::default()
        };
        found.absorb(crate::probes::caps::probe(&host, &found));
        found.absorb(identity::probe(&host, &found));
        found.absorb(probe(&host, &found));
        let text = found.fix_text("userns.create");
        assert!(
            text.contains("seccomp_profile] type = \"Unconfined\""),
            "{text}"
        );
        assert!(
            !text.contains("seccomp:unconfined") && !text.contains("SCC"),
            "{text}"
        );
        assert!(text.contains("explain userns.create"), "{text}");

        let explain = SPECS
            .iter()
            .find(|s| s.id == "userns.create")
            .unwrap()
            .explain;
        for fix in [&UNCONFINED_SECCOMP, &UNCONFINED_SECCOMP_OR_LSM] {
            assert_eq!(fix.id, "userns.create");
            for (snippet, key) in [fix.kubernetes, fix.openshift, fix.docker].iter().zip([
                "seccomp_profile] type = \"Unconfined\"",
                "seccompProfiles allow `unconfined`",
                "security_opt = [\"seccomp:unconfined\"]",
            ]) {
                assert!(snippet.contains(key) && explain.contains(key), "{key}");
            }
        }
    }
}
