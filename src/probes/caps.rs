//! Area `caps`: the capability sets, `no_new_privs` and the seccomp mode of
//! the job process, read from `/proc/self/status`.
//!
//! These are mostly facts: what they break is judged by the areas that need
//! them (identity and idmap read `NoNewPrivs` and the bounding set for the
//! setuid helpers, config decides rootful/rootless from `CAP_SYS_ADMIN`,
//! limits reads `CAP_SYS_RESOURCE`, mounts judges the keyring). The checks
//! here are informational and say which of those consequences apply.

use super::{AreaOut, Findings, Obs};
use crate::formats::status::parse_status;
use crate::host::Host;
use crate::model::{By, Check, Spec};
use crate::remedy::caps::{ADD_HELPER_CAPS, ALLOW_ESCALATION};
use crate::remedy::runner::Executor;
use caps::Capability;
use serde_json::json;

const STATUS: &str = "/proc/self/status";
const CAP_LAST_CAP: &str = "/proc/sys/kernel/cap_last_cap";

/// What `/proc/self/status` says about privileges. All-zero with
/// `known == false` when the file could not be read or parsed: consumers
/// must check `known` before concluding that a capability is absent.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Facts {
    /// The capability lines were read and parsed.
    pub known: bool,
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
    pub bounding: u64,
    pub ambient: u64,
    /// `NoNewPrivs: 1`: setuid bits and file capabilities are ignored on
    /// exec (so `newuidmap` cannot gain `CAP_SETUID`).
    pub no_new_privs: bool,
    /// `Seccomp:` 0 = none, 1 = strict, 2 = filter.
    pub seccomp_mode: u8,
    /// `Seccomp_filters:` (kernels ≥ 5.9), when present.
    pub seccomp_filters: Option<u32>,
    /// The highest capability number the kernel knows
    /// (`/proc/sys/kernel/cap_last_cap`, else the highest this build knows).
    pub last_cap: u8,
    /// Looks like a privileged container: the full bounding set (every
    /// capability up to `last_cap`, so `CAP_SYS_ADMIN` too) and no seccomp.
    pub privileged: bool,
}

impl Facts {
    pub fn has_effective(&self, cap: Capability) -> bool {
        self.effective & cap.bitmask() != 0
    }

    pub fn has_permitted(&self, cap: Capability) -> bool {
        self.permitted & cap.bitmask() != 0
    }

    pub fn has_bounding(&self, cap: Capability) -> bool {
        self.bounding & cap.bitmask() != 0
    }

    pub fn has_ambient(&self, cap: Capability) -> bool {
        self.ambient & cap.bitmask() != 0
    }

    /// Seccomp filter mode (`Seccomp: 2`), as default container profiles set.
    pub fn seccomp_filtered(&self) -> bool {
        self.seccomp_mode != 0
    }

    pub fn effective_names(&self) -> Vec<String> {
        cap_names(self.effective)
    }

    pub fn bounding_names(&self) -> Vec<String> {
        cap_names(self.bounding)
    }

    /// Capabilities up to `last_cap` missing from the bounding set.
    pub fn missing_from_bounding(&self) -> Vec<String> {
        cap_names(full_mask(self.last_cap) & !self.bounding)
    }
}

/// The mask of every capability `0..=last`.
/// Whether `cap` is effective: from the caps area's facts, or, when it
/// could not read them, from `CapEff:` in `/proc/self/status` directly.
pub fn effective(host: &Host, found: &Findings, cap: Capability) -> bool {
    if found.caps.known {
        return found.caps.has_effective(cap);
    }
    host.read("/proc/self/status")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("CapEff:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .is_some_and(|v| v & cap.bitmask() != 0)
}

pub fn full_mask(last: u8) -> u64 {
    if last >= 63 {
        u64::MAX
    } else {
        (1u64 << (u64::from(last) + 1)) - 1
    }
}

/// Names of the bits set in a capability mask (`CAP_SYS_ADMIN`, …), in bit
/// order; bits this build has no name for read `CAP_<n>`.
pub fn cap_names(mask: u64) -> Vec<String> {
    let known = caps::all();
    (0u8..64)
        .filter(|bit| mask & (1u64 << bit) != 0)
        .map(|bit| {
            known
                .iter()
                .find(|c| c.index() == bit)
                .map_or_else(|| format!("CAP_{bit}"), |c| c.to_string())
        })
        .collect()
}

/// Short names for summaries (`SYS_ADMIN` rather than `CAP_SYS_ADMIN`).
fn short(names: &[String]) -> String {
    names
        .iter()
        .map(|n| n.trim_start_matches("CAP_"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub const SPECS: &[Spec] = &[
    Spec {
        id: "caps.effective",
        title: "Effective and permitted capabilities of the job",
        explain: "The capabilities the job process holds right now (CapEff in \
/proc/self/status). Podman counts uid 0 *without* CAP_SYS_ADMIN as rootless: it re-executes \
itself in a user namespace built from /proc/self/uid_map (GitLab's root, privileged=false \
recipe). CAP_SYS_RESOURCE decides whether ulimits above the hard limit can be set, \
CAP_NET_ADMIN/NET_RAW whether rootful bridge networking works. Informational: the areas that \
need a capability judge its absence.",
        signatures: &[],
    },
    Spec {
        id: "caps.bounding",
        title: "Bounding set: what setuid helpers and nested containers can get",
        explain: "The bounding set (CapBnd) limits every capability any process in the \
job can ever gain, including setuid-root newuidmap/newgidmap (which need CAP_SETUID/CAP_SETGID) \
and root mapping uid 0 into a user namespace (CAP_SETFCAP on kernels >= 5.12). OpenShift's \
restricted-v2 SCC drops ALL (CapBnd 0). A full bounding set with no seccomp is what \
`privileged = true` gives. Fix (runner admin), per executor: Kubernetes `cap_add = \
[\"SETUID\", \"SETGID\"]` in [runners.kubernetes] (or a build_container_security_context \
capabilities.add); OpenShift the anyuid SCC or a custom SCC with allowedCapabilities, then that \
cap_add; docker `cap_add` in [runners.docker]; none of them in `cap_drop`.",
        signatures: &["newuidmap: Could not set caps"],
    },
    Spec {
        id: "caps.no_new_privs",
        title: "no_new_privs (allowPrivilegeEscalation: false)",
        explain: "With NoNewPrivs set (Kubernetes `allowPrivilegeEscalation: false`, GitLab \
`allow_privilege_escalation = false`) setuid bits and file capabilities are ignored, so \
newuidmap/newgidmap cannot write a multi-ID uid_map and rootless podman as a non-root user \
fails with `newuidmap: write to uid_map failed: Operation not permitted`. Running the job as \
root (uid 0, no CAP_SYS_ADMIN) avoids the helpers. Fix (runner admin), per executor: \
Kubernetes: drop `allow_privilege_escalation = false` (or set it true) in [runners.kubernetes]; \
OpenShift (restricted-v2 sets it): an SCC with allowPrivilegeEscalation: true (anyuid, or the \
nested-podman SCC), then the same; docker: no `no-new-privileges` in `security_opt` in \
[runners.docker].",
        signatures: &["newuidmap: Could not set caps"],
    },
    Spec {
        id: "caps.seccomp",
        title: "Seccomp mode of the job",
        explain: "A seccomp filter (Seccomp: 2, Docker's default profile or Kubernetes \
RuntimeDefault) refuses unshare/mount/setns/clone with namespace flags unless the container \
has CAP_SYS_ADMIN, and refuses keyctl and (without CAP_SYS_ADMIN) pivot_root always. The \
consequences are probed by userns (user namespace), mounts (proc mount, keyring) and lsm (bind \
mount). Fix (runner admin): `[runners.kubernetes.build_container_security_context.seccomp_profile] \
type = \"Unconfined\"` (or a Localhost profile allowing unshare, clone, mount, umount2, setns, \
keyctl, pivot_root); docker executor `security_opt = [\"seccomp:unconfined\"]`.",
        signatures: &[
            "Error during unshare(CLONE_NEWUSER): Operation not permitted",
            "pivot_root: Operation not permitted",
        ],
    },
];

pub fn probe(host: &Host, earlier: &Findings) -> AreaOut<Facts> {
    let found = &mut Obs::new(earlier);
    let (facts, garbage) = match read_facts(host) {
        Ok(read) => read,
        Err(unknown) => {
            found.checks.push(*unknown);
            return found.finish(Facts::default());
        }
    };
    let uid = host.uid();
    let executor = Executor::of(&found.context);
    found.checks.push(effective_check(&facts, uid, garbage));
    found.checks.push(bounding_check(&facts, executor));
    found.checks.push(no_new_privs_check(&facts, uid, executor));
    found.checks.push(seccomp_check(&facts));
    found.finish(facts)
}

/// The facts from `/proc/self/status` and the lines it could not parse; or
/// the `caps.effective` warning that says why they are unknown.
fn read_facts(host: &Host) -> Result<(Facts, Vec<String>), Box<Check>> {
    let text = host.read(STATUS).map_err(|e| {
        let errno = crate::host::io_error_name(&e);
        Box::new(
            Check::warn(
                "caps.effective",
                format!("cannot read {STATUS} ({errno}): capabilities, no_new_privs and seccomp are unknown"),
            )
            .with("path", STATUS)
            .with("errno", errno)
            .with("probe_ran", false),
        )
    })?;
    let st = parse_status(&text);
    let last_cap = read_last_cap(host);
    let (Some(eff), Some(prm), Some(bnd)) = (st.cap_eff, st.cap_prm, st.cap_bnd) else {
        return Err(Box::new(
            Check::warn(
                "caps.effective",
                format!(
                "{STATUS} has no readable CapEff/CapPrm/CapBnd lines: capabilities are unknown; \
                 check that /proc is a real procfs"
            ),
            )
            .with("path", STATUS)
            .with("garbage", st.garbage)
            .with("probe_ran", false),
        ));
    };
    let facts = Facts {
        known: true,
        effective: eff,
        permitted: prm,
        inheritable: st.cap_inh.unwrap_or(0),
        bounding: bnd,
        ambient: st.cap_amb.unwrap_or(0),
        no_new_privs: st.no_new_privs.unwrap_or(0) != 0,
        seccomp_mode: st.seccomp.map_or(0, |s| u8::try_from(s).unwrap_or(u8::MAX)),
        seccomp_filters: st.seccomp_filters.and_then(|f| u32::try_from(f).ok()),
        last_cap,
        privileged: st.seccomp.unwrap_or(0) == 0
            && bnd & full_mask(last_cap) == full_mask(last_cap),
    };
    Ok((facts, st.garbage))
}

// --- caps.effective
fn effective_check(facts: &Facts, uid: u32, garbage: Vec<String>) -> Check {
    let eff_names = facts.effective_names();
    let all = full_mask(facts.last_cap);
    let mode = if uid != 0 {
        "podman runs rootless (non-root user, through newuidmap/newgidmap)"
    } else if facts.has_effective(Capability::CAP_SYS_ADMIN) {
        "podman runs rootful (uid 0 with CAP_SYS_ADMIN)"
    } else {
        "podman counts uid 0 without CAP_SYS_ADMIN as rootless and maps /proc/self/uid_map itself"
    };
    let summary = if eff_names.is_empty() {
        format!("uid {uid}, no effective capabilities; {mode}")
    } else if facts.effective & all == all {
        format!(
            "uid {uid}, all {} effective; {mode}",
            crate::util::count(eff_names.len() as u64, "capability", "capabilities")
        )
    } else if eff_names.len() > usize::from(facts.last_cap) / 2 {
        // Nearly everything: the few missing ones are what a reader needs.
        let missing = cap_names(all & !facts.effective);
        format!(
            "uid {uid}, all effective capabilities but {}; {mode}",
            short(&missing)
        )
    } else {
        format!(
            "uid {uid}, {} effective capabilities ({}); {mode}",
            eff_names.len(),
            short(&eff_names)
        )
    };
    let check = Check::info("caps.effective", summary)
        .with("path", STATUS)
        .with("uid", uid)
        .with("CapEff", format!("{:016x}", facts.effective))
        .with("CapPrm", format!("{:016x}", facts.permitted))
        .with("CapInh", format!("{:016x}", facts.inheritable))
        .with("CapAmb", format!("{:016x}", facts.ambient))
        .with("effective", eff_names)
        .with("ambient", cap_names(facts.ambient));
    if garbage.is_empty() {
        check
    } else {
        check.with("garbage", garbage)
    }
}

// --- caps.bounding
fn bounding_check(facts: &Facts, executor: Executor) -> Check {
    let missing = facts.missing_from_bounding();
    let helper_missing: Vec<String> = [
        Capability::CAP_SETUID,
        Capability::CAP_SETGID,
        Capability::CAP_SETFCAP,
    ]
    .iter()
    .filter(|c| !facts.has_bounding(**c))
    .map(|c| c.to_string())
    .collect();
    let summary = if facts.privileged {
        "full bounding set and no seccomp: a privileged container".to_string()
    } else if missing.is_empty() {
        format!(
            "full bounding set, but seccomp mode {}: not a privileged container",
            facts.seccomp_mode
        )
    } else if facts.bounding == 0 {
        "empty bounding set (all capabilities dropped, as OpenShift restricted-v2 does): \
         setuid helpers and uid-0 mappings cannot gain any capability"
            .to_string()
    } else if helper_missing.is_empty() {
        format!(
            "bounding set lacks {} (SETUID, SETGID and SETFCAP present)",
            short(&missing)
        )
    } else {
        format!(
            "bounding set lacks {}; without {} the setuid helpers / uid-0 mapping cannot work",
            short(&missing),
            short(&helper_missing)
        )
    };
    // What a missing SETUID/SETGID/SETFCAP breaks depends on the mode:
    // identity and idmap judge it, so this stays informational.
    let check = Check::info("caps.bounding", summary)
        .with("path", STATUS)
        .with("CapBnd", format!("{:016x}", facts.bounding))
        .with("cap_last_cap", u64::from(facts.last_cap))
        .with("missing", missing)
        .with("privileged", facts.privileged);
    if helper_missing.is_empty() {
        return check;
    }
    let quoted = helper_missing
        .iter()
        .map(|n| format!("\"{}\"", n.trim_start_matches("CAP_")))
        .collect::<Vec<_>>()
        .join(", ");
    let text = ADD_HELPER_CAPS.text_with(
        executor,
        &[("caps", &short(&helper_missing)), ("quoted", &quoted)],
    );
    check.fix(By::RunnerAdmin, text)
}

// --- caps.no_new_privs
fn no_new_privs_check(facts: &Facts, uid: u32, executor: Executor) -> Check {
    let check = if !facts.no_new_privs {
        Check::ok(
            "caps.no_new_privs",
            "NoNewPrivs is not set: setuid helpers work",
        )
    } else if uid == 0 {
        Check::info(
            "caps.no_new_privs",
            "NoNewPrivs is set: setuid helpers gain nothing; as uid 0 podman maps \
             /proc/self/uid_map itself and does not need them",
        )
        .fix(By::RunnerAdmin, ALLOW_ESCALATION.text(executor))
    } else {
        Check::info(
            "caps.no_new_privs",
            "NoNewPrivs is set (allowPrivilegeEscalation: false): newuidmap/newgidmap \
             cannot use their setuid bit or file capabilities",
        )
        .fix(By::RunnerAdmin, ALLOW_ESCALATION.text(executor))
    };
    check
        .with("path", STATUS)
        .with("NoNewPrivs", u64::from(facts.no_new_privs))
}

// --- caps.seccomp
fn seccomp_check(facts: &Facts) -> Check {
    let mode_name = match facts.seccomp_mode {
        0 => "disabled",
        1 => "strict",
        2 => "filter",
        _ => "unknown",
    };
    let filters = facts.seccomp_filters.map_or("?".into(), |f| f.to_string());
    let summary = match (
        facts.seccomp_mode,
        facts.has_effective(Capability::CAP_SYS_ADMIN),
    ) {
        (0, _) => "no seccomp filter".to_string(),
        (_, true) => format!(
            "seccomp {mode_name} ({filters} filter(s)) with CAP_SYS_ADMIN: namespaces and mounts \
             are allowed by default profiles, keyctl is not"
        ),
        (_, false) => format!(
            "seccomp {mode_name} ({filters} filter(s)) without CAP_SYS_ADMIN: default profiles \
             refuse unshare, mount, keyctl and pivot_root (probed by userns, mounts and lsm)"
        ),
    };
    let mut check = Check::info("caps.seccomp", summary)
        .with("path", STATUS)
        .with("Seccomp", u64::from(facts.seccomp_mode))
        .with(
            "Seccomp_filters",
            facts.seccomp_filters.map_or(json!(null), |f| json!(f)),
        );
    if facts.seccomp_mode == 0 {
        check.status = crate::model::Status::Ok;
    }
    check
}

fn read_last_cap(host: &Host) -> u8 {
    let fallback = caps::all().iter().map(|c| c.index()).max().unwrap_or(40);
    host.read(CAP_LAST_CAP)
        .ok()
        .and_then(|t| t.trim().parse::<u8>().ok())
        .filter(|n| *n < 64)
        .unwrap_or(fallback)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{By, Status as St};
    use crate::probes::testutil::Fixture;

    /// This very host (a root sandbox without CAP_SYS_RESOURCE).
    const HOST_STATUS: &str = include_str!("../../tests/fixtures/captured/host/proc/self/status");
    /// `podman run --rm --runtime runc` as root, default (podman) seccomp.
    const NESTED_STATUS: &str =
        include_str!("../../tests/fixtures/captured/nested-root/proc/self/status");

    fn run(status: &str, uid: u32) -> Findings {
        let host = Fixture::new()
            .uid(uid)
            .file(STATUS, status)
            .file(CAP_LAST_CAP, "40\n")
            .host();
        let mut found = Findings::default();
        found.absorb(probe(&host, &found));
        found
    }

    #[test]
    fn parses_real_status() {
        let st = parse_status(HOST_STATUS);
        assert_eq!(st.cap_eff, Some(0x1fffeffffff));
        assert_eq!(st.cap_amb, Some(0));
        assert_eq!(st.no_new_privs, Some(0));
        assert_eq!(st.seccomp, Some(0));
        assert!(st.garbage.is_empty());
        let st = parse_status(NESTED_STATUS);
        assert_eq!(st.seccomp, Some(2));
        assert!(st.cap_bnd.is_some());
    }

    #[test]
    fn names_decode() {
        assert_eq!(
            cap_names(Capability::CAP_SYS_ADMIN.bitmask() | Capability::CAP_SETUID.bitmask()),
            vec!["CAP_SETUID", "CAP_SYS_ADMIN"]
        );
        assert_eq!(cap_names(1 << 62), vec!["CAP_62"]);
        assert_eq!(full_mask(40), 0x1ffffffffff);
    }

    #[test]
    fn this_host_is_not_privileged_for_lack_of_sys_resource() {
        let found = run(HOST_STATUS, 0);
        assert!(found.caps.known);
        assert!(found.caps.has_effective(Capability::CAP_SYS_ADMIN));
        assert!(!found.caps.has_effective(Capability::CAP_SYS_RESOURCE));
        assert!(!found.caps.privileged);
        let b = found.check("caps.bounding").unwrap();
        assert!(b.summary.contains("SYS_RESOURCE"), "{}", b.summary);
        assert!(b.fix.is_none());
        assert_eq!(found.check("caps.seccomp").unwrap().status, St::Ok);
    }

    #[test]
    fn privileged_container() {
        let status = "CapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\n\
CapEff:\t000001ffffffffff\nCapBnd:\t000001ffffffffff\nCapAmb:\t0000000000000000\n\
NoNewPrivs:\t0\nSeccomp:\t0\nSeccomp_filters:\t0\n";
        let found = run(status, 0);
        assert!(found.caps.privileged);
        let e = found.check("caps.effective").unwrap();
        assert!(e.summary.contains("rootful"), "{}", e.summary);
        assert!(e.summary.contains("all 41"), "{}", e.summary);
    }

    #[test]
    fn nested_default_container_is_filtered() {
        let found = run(NESTED_STATUS, 0);
        assert_eq!(found.caps.seccomp_mode, 2);
        assert!(!found.caps.privileged);
        assert!(!found.caps.has_effective(Capability::CAP_SYS_ADMIN));
        let s = found.check("caps.seccomp").unwrap();
        assert_eq!(s.status, St::Info);
        assert!(s.summary.contains("without CAP_SYS_ADMIN"), "{}", s.summary);
        let e = found.check("caps.effective").unwrap();
        assert!(
            e.summary.contains("uid 0 without CAP_SYS_ADMIN"),
            "{}",
            e.summary
        );
    }

    #[test]
    fn openshift_restricted() {
        let status = "CapInh:\t0000000000000000\nCapPrm:\t0000000000000000\n\
CapEff:\t0000000000000000\nCapBnd:\t0000000000000000\nCapAmb:\t0000000000000000\n\
NoNewPrivs:\t1\nSeccomp:\t2\nSeccomp_filters:\t1\n";
        let found = run(status, 1000680000);
        assert!(found.caps.no_new_privs);
        let b = found.check("caps.bounding").unwrap();
        assert!(b.summary.contains("empty bounding set"), "{}", b.summary);
        assert_eq!(b.fix.as_ref().unwrap().by, By::RunnerAdmin);
        assert!(b.fix.as_ref().unwrap().text.contains("\"SETUID\""));
        let n = found.check("caps.no_new_privs").unwrap();
        assert_eq!(n.status, St::Info);
        assert!(n.summary.contains("newuidmap"));
        assert_eq!(n.fix.as_ref().unwrap().by, By::RunnerAdmin);
        assert!(found
            .check("caps.effective")
            .unwrap()
            .summary
            .contains("no effective"));
    }

    #[test]
    fn unreadable_or_garbage_status_is_unknown_not_unprivileged() {
        let host = Fixture::new()
            .answer("read_errors", STATUS, json!("EACCES"))
            .host();
        let mut found = Findings::default();
        found.absorb(probe(&host, &found));
        assert!(!found.caps.known);
        let c = found.check("caps.effective").unwrap();
        assert_eq!(c.status, St::Warn);
        assert_eq!(c.evidence["probe_ran"], json!(false));
        assert!(c.summary.contains("EACCES"));

        let found = run("Name:\tsh\nCapEff:\tzz\n", 0);
        assert!(!found.caps.known);
        let c = found.check("caps.effective").unwrap();
        assert_eq!(c.status, St::Warn);
        assert_eq!(c.evidence["garbage"], json!(["CapEff:\tzz"]));
    }

    /// Every executor's snippet names its key, and `explain` names it too,
    /// so a job that sees only its own executor can find the others.
    #[test]
    fn explain_lists_every_executors_remedy() {
        let cases = [
            (
                &ADD_HELPER_CAPS,
                [
                    "[runners.kubernetes]",
                    "allowedCapabilities",
                    "[runners.docker]",
                ],
            ),
            (
                &ALLOW_ESCALATION,
                [
                    "allow_privilege_escalation = false",
                    "allowPrivilegeEscalation: true",
                    "no-new-privileges",
                ],
            ),
        ];
        for (fix, keys) in cases {
            let explain = SPECS.iter().find(|s| s.id == fix.id).unwrap().explain;
            for (snippet, key) in [fix.kubernetes, fix.openshift, fix.docker].iter().zip(keys) {
                assert!(snippet.contains(key), "{}: {snippet}", fix.id);
                assert!(explain.contains(key), "{}: explain lacks {key}", fix.id);
            }
        }
    }

    #[test]
    fn a_job_sees_its_own_executors_snippet_with_the_missing_caps() {
        let status = "CapInh:\t0000000000000000\nCapPrm:\t0000000000000000\n\
CapEff:\t0000000000000000\nCapBnd:\t0000000000000000\nCapAmb:\t0000000000000000\n\
NoNewPrivs:\t1\nSeccomp:\t2\n";
        let host = Fixture::new()
            .uid(1000)
            .file(STATUS, status)
            .file(CAP_LAST_CAP, "40\n")
            .host();
        let docker = crate::probes::context::Facts {
            engine: Some("docker".into()),
            ..Default::default()
        };
        let mut found = Findings {
            context: docker,
            ..Default::default()
        };
        found.absorb(probe(&host, &found));
        let text = found.fix_text("caps.bounding");
        assert!(
            text.contains("`cap_add = [\"SETUID\", \"SETGID\", \"SETFCAP\"]` in [runners.docker]"),
            "{text}"
        );
        assert!(
            !text.contains("[runners.kubernetes]") && !text.contains("SCC"),
            "{text}"
        );
        assert!(text.contains("explain caps.bounding"), "{text}");
        let text = found.fix_text("caps.no_new_privs");
        assert!(text.contains("no-new-privileges") && !text.contains("allow_privilege_escalation"));

        let openshift = crate::probes::context::Facts {
            kubernetes: true,
            openshift: true,
            ..Default::default()
        };
        let mut again = Findings {
            context: openshift,
            ..Default::default()
        };
        again.absorb(probe(&host, &again));
        let text = again.fix_text("caps.bounding");
        assert!(
            text.contains("allowedCapabilities [SETUID, SETGID, SETFCAP]"),
            "{text}"
        );
        assert!(!text.contains("[runners.docker]"), "{text}");
    }
}
