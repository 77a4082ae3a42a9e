//! Area `lsm`: AppArmor and SELinux confinement of the job, and the bind
//! mount containers/storage and buildah need (catalog L1, L2).
//!
//! The verdict rests on the functional probe (`Probe::BindMount`: a temp
//! directory bind-mounted onto itself in new mount (and user) namespaces),
//! which AppArmor's `deny mount` and seccomp stop; the profile and label
//! read from `/proc/self/attr` explain it and pick the remedy.

use super::{AreaOut, Findings, Obs};
use crate::host::{io_error_name, Host, Probe, ProbeResult};
use crate::model::{By, Check, Spec};
use crate::remedy::lsm::{APPARMOR_UNCONFINED, SECCOMP_UNCONFINED, SELINUX_MOUNT_TYPE};
use crate::remedy::runner::Executor;
use serde_json::json;

const AA_CURRENT: &str = "/proc/self/attr/apparmor/current";
const ATTR_CURRENT: &str = "/proc/self/attr/current";
const SELINUX_ENFORCE: &str = "/sys/fs/selinux/enforce";

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Facts {
    /// AppArmor profile name (`docker-default`, `cri-containerd.apparmor.d`,
    /// `unconfined`), when AppArmor answered.
    pub apparmor_profile: Option<String>,
    /// `enforce`, `complain`, … (`None` for `unconfined`).
    pub apparmor_mode: Option<String>,
    /// Confined by an enforcing AppArmor profile.
    pub apparmor_confined: bool,
    /// selinuxfs is mounted / readable.
    pub selinux_enabled: bool,
    /// `/sys/fs/selinux/enforce` = 1 (`None` when unreadable).
    pub selinux_enforcing: Option<bool>,
    /// The SELinux context (`system_u:system_r:container_t:s0:c1,c2`).
    pub selinux_label: Option<String>,
    /// Its type (`container_t`, `spc_t`, `container_engine_t`, …).
    pub selinux_type: Option<String>,
    pub bind_mount_probe: Option<ProbeResult>,
    /// The bind mount podman needs works (`None`: unknown).
    pub bind_mount_ok: Option<bool>,
}

/// Parses an AppArmor `current` attribute: `(profile, mode)`.
pub fn parse_apparmor(text: &str) -> Option<(String, Option<String>)> {
    let t = text.trim_matches(|c: char| c.is_whitespace() || c == '\0');
    if t.is_empty() {
        return None;
    }
    match t.rsplit_once(" (") {
        Some((name, mode)) => Some((
            name.to_string(),
            Some(mode.trim_end_matches(')').to_string()),
        )),
        None => Some((t.to_string(), None)),
    }
}

/// An SELinux context `user:role:type:level`: its type.
pub fn selinux_type(label: &str) -> Option<String> {
    let parts: Vec<&str> = label
        .trim_matches(|c: char| c.is_whitespace() || c == '\0')
        .split(':')
        .collect();
    (parts.len() >= 3 && !parts[2].is_empty() && !parts[2].contains(' '))
        .then(|| parts[2].to_string())
}

pub const SPECS: &[Spec] = &[
    Spec {
        id: "lsm.apparmor",
        title: "AppArmor profile of the job",
        explain: "Container runtimes confine containers with an AppArmor profile \
(`docker-default`, `cri-containerd.apparmor.d`) whose `deny mount` rule stops \
containers/storage from bind-mounting its graphroot (`flags: 0x1000: permission denied`) even \
inside a user namespace. Whether it bites is probed by lsm.mount. Fix (runner admin): \
AppArmor `Unconfined` for the build container.",
        signatures: &[
            "flags: 0x1000: permission denied",
            "failed to share mount point",
        ],
    },
    Spec {
        id: "lsm.mount",
        title: "Podman can bind-mount (AppArmor `deny mount`, seccomp)",
        explain: "containers/storage and buildah bind-mount directories (MS_BIND, flags \
0x1000) in a private mount namespace for every build. A child process tries exactly that. \
EACCES means an LSM (AppArmor `deny mount`, SELinux) refused it; EPERM usually seccomp or \
missing capabilities. No job-side fix exists: the runner admin must run the build container \
AppArmor-unconfined (or seccomp-unconfined, or privileged). AppArmor: Kubernetes >= 1.30 \
`[runners.kubernetes.build_container_security_context.app_armor_profile] type = \"Unconfined\"`, \
older clusters the annotation `container.apparmor.security.beta.kubernetes.io/build: unconfined`, \
OpenShift an SCC that allows it, docker executor `security_opt = [\"apparmor=unconfined\"]`. \
Seccomp: `[runners.kubernetes.build_container_security_context.seccomp_profile] type = \
\"Unconfined\"`, OpenShift an SCC whose seccompProfiles allow `unconfined`, docker executor \
`security_opt = [\"seccomp:unconfined\"]`.",
        signatures: &[
            "flags: 0x1000: permission denied",
            "remount /, flags: 0x44000: permission denied",
            "failed to share mount point: /: permission denied",
        ],
    },
    Spec {
        id: "lsm.selinux",
        title: "SELinux label of the job (container_t)",
        explain: "Under an enforcing SELinux policy the default container type `container_t` \
may not mount filesystems (AVC `denied { mounton }`), so fuse-overlayfs, overlay and proc \
mounts of nested podman fail; GitLab's unprivileged podman recipe says to disable SELinux on \
the host. Fix (runner admin): `selinux_type = \"spc_t\"` or `container_engine_t` in the build \
container's security context, or `label=disable` on the docker executor.",
        signatures: &[
            "denied { mounton }",
            "to `sys/devices/virtual/powercap`: Permission denied",
        ],
    },
];

pub fn probe(host: &Host, earlier: &Findings) -> AreaOut<Facts> {
    let found = &mut Obs::new(earlier);
    let mut facts = Facts::default();
    let aa_text = host.read(AA_CURRENT);
    let attr_text = host.read(ATTR_CURRENT);
    read_apparmor(&aa_text, &attr_text, &mut facts);
    let enforce = host.read(SELINUX_ENFORCE);
    read_selinux(found, &enforce, &attr_text, &mut facts);
    found
        .checks
        .push(apparmor_check(&facts, &aa_text, &attr_text));
    mount_check(host, found, &mut facts);
    selinux_check(found, &facts, &enforce);
    found.finish(facts)
}

/// AppArmor: the dedicated attribute, else the shared one (when it is not
/// an SELinux context).
fn read_apparmor(
    aa_text: &std::io::Result<String>,
    attr_text: &std::io::Result<String>,
    facts: &mut Facts,
) {
    let aa = match aa_text {
        Ok(t) => parse_apparmor(t),
        Err(_) => match attr_text {
            Ok(t) if selinux_type(t).is_none() => parse_apparmor(t),
            _ => None,
        },
    };
    if let Some((profile, mode)) = aa {
        facts.apparmor_confined = profile != "unconfined" && mode.as_deref() == Some("enforce");
        facts.apparmor_profile = Some(profile);
        facts.apparmor_mode = mode;
    }
}

/// SELinux: selinuxfs (or its mount) and the label of the job.
fn read_selinux(
    found: &Obs,
    enforce: &std::io::Result<String>,
    attr_text: &std::io::Result<String>,
    facts: &mut Facts,
) {
    facts.selinux_enabled =
        enforce.is_ok() || found.mounts.mounts.iter().any(|m| m.fstype == "selinuxfs");
    facts.selinux_enforcing = enforce.as_ref().ok().and_then(|t| match t.trim() {
        "1" => Some(true),
        "0" => Some(false),
        _ => None,
    });
    if let Ok(t) = attr_text {
        if let Some(ty) = selinux_type(t) {
            facts.selinux_label = Some(
                t.trim_matches(|c: char| c.is_whitespace() || c == '\0')
                    .to_string(),
            );
            facts.selinux_type = Some(ty);
            facts.selinux_enabled = true;
        }
    }
}

/// `lsm.apparmor`: the profile, which lsm.mount's probe judges.
fn apparmor_check(
    facts: &Facts,
    aa_text: &std::io::Result<String>,
    attr_text: &std::io::Result<String>,
) -> Check {
    let err_name = |r: &std::io::Result<String>| match r {
        Ok(_) => json!("ok"),
        Err(e) => json!(io_error_name(e)),
    };
    let check = match (&facts.apparmor_profile, &facts.apparmor_mode) {
        (None, _) => Check::ok("lsm.apparmor", "no AppArmor confinement visible"),
        (Some(p), _) if p == "unconfined" => Check::ok("lsm.apparmor", "AppArmor: unconfined"),
        (Some(p), Some(m)) if facts.apparmor_confined => Check::info(
            "lsm.apparmor",
            format!(
                "AppArmor profile {p} ({m}): container profiles deny mount (probed by lsm.mount)"
            ),
        ),
        (Some(p), m) => Check::info(
            "lsm.apparmor",
            format!(
                "AppArmor profile {p} ({}): not enforcing",
                m.clone().unwrap_or_default()
            ),
        ),
    };
    check
        .with("path", AA_CURRENT)
        .with("read", err_name(aa_text))
        .with("attr_current", err_name(attr_text))
}

fn mount_check(host: &Host, found: &mut Obs, facts: &mut Facts) {
    let userns = found.plan.rootless;
    let probe = Probe::BindMount { userns };
    let result = host.probe(&probe);
    facts.bind_mount_probe = Some(result.clone());
    let check = if result.ran && result.ok {
        facts.bind_mount_ok = Some(true);
        let how = if userns {
            " in a new user namespace"
        } else {
            ""
        };
        Check::ok("lsm.mount", format!("a bind mount works{how}"))
    } else if result.ran && mount_refused(&result, facts) {
        facts.bind_mount_ok = Some(false);
        refused_check(&result, facts, Executor::of(&found.context))
    } else if result.ran {
        facts.bind_mount_ok = None;
        Check::warn(
            "lsm.mount",
            format!(
                "could not test the bind mount: the probe failed before mounting ({}); the \
                 userns area judges that",
                result.describe()
            ),
        )
        .with("probe_ran", false)
    } else {
        not_run_check(&result, facts, Executor::of(&found.context))
    };
    found.checks.push(
        check
            .with("probe", probe.key())
            .with("probe_result", result.describe())
            .with(
                "apparmor_profile",
                facts
                    .apparmor_profile
                    .clone()
                    .map_or(json!(null), |p| json!(p)),
            ),
    );
}

/// Whether the probe's failure is a refused mount (the answer), not a step
/// before it. The bind itself refused: EACCES (an LSM) or EPERM (seccomp,
/// capabilities). Making `/` private is a mount(2) too: AppArmor's `deny
/// mount` answers there already, with EACCES; under an enforcing profile an
/// EPERM there is the same refusal (seccomp or the profile), as podman's own
/// `mount --make-private` / bind of the overlay home meets it.
fn mount_refused(result: &ProbeResult, facts: &Facts) -> bool {
    let errno = result.errno.as_deref();
    match result.step.as_str() {
        "bind-mount" | "mount" => matches!(errno, Some("EACCES" | "EPERM")),
        "make-private" => {
            errno == Some("EACCES") || (facts.apparmor_confined && errno == Some("EPERM"))
        }
        _ => false,
    }
}

/// The verdict: no job fix lifts a refused mount; the remedy names the
/// runner setting for the executor the job runs under.
fn refused_check(result: &ProbeResult, facts: &Facts, executor: Executor) -> Check {
    let eacces = result.errno.as_deref() == Some("EACCES");
    let selinux = facts.selinux_enforcing == Some(true) && !facts.apparmor_confined;
    let (cause, fix) = if eacces && selinux {
        (lsm_name(facts), SELINUX_MOUNT_TYPE.text(executor))
    } else if facts.apparmor_confined || eacces {
        (lsm_name(facts), APPARMOR_UNCONFINED.text(executor))
    } else {
        (
            "seccomp or missing capabilities".to_string(),
            SECCOMP_UNCONFINED.text(executor),
        )
    };
    Check::error(
        "lsm.mount",
        format!(
            "a mount is refused ({}, {cause}): podman's storage fails with `mount \
             …/overlay:…/overlay, flags: 0x1000: permission denied` and buildah's RUN mounts the same way",
            result.describe()
        ),
    )
    .fix(By::RunnerAdmin, fix)
}

fn not_run_check(result: &ProbeResult, facts: &Facts, executor: Executor) -> Check {
    let check = Check::warn(
        "lsm.mount",
        if facts.apparmor_confined {
            format!(
                "bind-mount probe did not run ({}); {} is enforcing and container profiles \
                 `deny mount`",
                result.detail,
                lsm_name(facts)
            )
        } else {
            format!("bind-mount probe did not run ({})", result.detail)
        },
    )
    .with("probe_ran", false);
    if facts.apparmor_confined {
        check.fix(By::RunnerAdmin, APPARMOR_UNCONFINED.text(executor))
    } else {
        check
    }
}

/// Who refuses, for the message: the profile, the SELinux type, or "an LSM".
fn lsm_name(facts: &Facts) -> String {
    if facts.apparmor_confined {
        format!(
            "AppArmor profile {}",
            facts.apparmor_profile.clone().unwrap_or_default()
        )
    } else if facts.selinux_enforcing == Some(true) {
        format!(
            "SELinux ({})",
            facts.selinux_type.clone().unwrap_or_default()
        )
    } else {
        "an LSM".to_string()
    }
}

fn selinux_check(found: &mut Obs, facts: &Facts, enforce: &std::io::Result<String>) {
    let executor = Executor::of(&found.context);
    let enforce_ev = match enforce {
        Ok(t) => json!(t.trim()),
        Err(e) => json!(io_error_name(e)),
    };
    let ty = facts.selinux_type.clone().unwrap_or_default();
    let confined_type = matches!(ty.as_str(), "container_t" | "container_init_t");
    let check = if !facts.selinux_enabled {
        Check::ok("lsm.selinux", "SELinux is not active")
    } else if confined_type && facts.selinux_enforcing != Some(false) {
        // The mount probe decides lsm.mount; fuse/overlay/proc mounts are not
        // probed here, so this stays a warning.
        Check::warn(
            "lsm.selinux",
            format!(
                "SELinux type {ty} ({}): container_t may not mount filesystems, so fuse, overlay \
                 and proc mounts of nested podman are likely denied",
                match facts.selinux_enforcing {
                    Some(true) => "enforcing",
                    _ => "enforcement unknown",
                }
            ),
        )
        .fix(By::RunnerAdmin, SELINUX_MOUNT_TYPE.text(executor))
    } else if facts.selinux_enforcing == Some(false) {
        Check::info("lsm.selinux", format!("SELinux permissive (type {ty})"))
    } else {
        Check::info(
            "lsm.selinux",
            format!(
                "SELinux type {}",
                if ty.is_empty() { "unknown" } else { &ty }
            ),
        )
    };
    found.checks.push(
        check
            .with("path", ATTR_CURRENT)
            .with(
                "label",
                facts
                    .selinux_label
                    .clone()
                    .map_or(json!(null), |l| json!(l)),
            )
            .with("enforce", enforce_ev),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;
    use crate::probes::testutil::Fixture;

    fn run(f: Fixture, rootless: bool) -> Findings {
        let host = f.host();
        let mut found = Findings::default();
        crate::probes::testutil::given_rootless(&mut found, rootless);
        found.absorb(crate::probes::mounts::probe(&host, &found));
        found.absorb(probe(&host, &found));
        found
    }

    fn fail(step: &str, errno: &str) -> ProbeResult {
        ProbeResult::failure(step, Some(errno.into()), "")
    }

    #[test]
    fn parses_labels() {
        assert_eq!(
            parse_apparmor("docker-default (enforce)\n"),
            Some(("docker-default".into(), Some("enforce".into())))
        );
        assert_eq!(
            parse_apparmor("unconfined\n"),
            Some(("unconfined".into(), None))
        );
        assert_eq!(parse_apparmor("\0"), None);
        assert_eq!(
            selinux_type("system_u:system_r:container_t:s0:c123,c456\0").as_deref(),
            Some("container_t")
        );
        assert_eq!(selinux_type("docker-default (enforce)"), None);
    }

    #[test]
    fn this_host_has_no_lsm() {
        // Real answers on the development host: both attributes fail.
        let f = Fixture::new()
            .answer("read_errors", ATTR_CURRENT, json!("EINVAL"))
            .probe(
                &Probe::BindMount { userns: false },
                ProbeResult::success(""),
            );
        let found = run(f, false);
        assert_eq!(found.check("lsm.apparmor").unwrap().status, Status::Ok);
        assert_eq!(found.check("lsm.selinux").unwrap().status, Status::Ok);
        assert_eq!(found.check("lsm.mount").unwrap().status, Status::Ok);
        assert_eq!(found.lsm.bind_mount_ok, Some(true));
    }

    #[test]
    fn docker_default_denies_mount() {
        let f = Fixture::new()
            .file(AA_CURRENT, "docker-default (enforce)\n")
            .probe(
                &Probe::BindMount { userns: true },
                fail("bind-mount", "EACCES"),
            );
        let found = run(f, true);
        assert!(found.lsm.apparmor_confined);
        assert_eq!(found.check("lsm.apparmor").unwrap().status, Status::Info);
        let c = found.check("lsm.mount").unwrap();
        assert_eq!(c.status, Status::Error);
        assert!(c.summary.contains("docker-default"), "{}", c.summary);
        let fix = c.fix.as_ref().unwrap();
        assert_eq!(fix.by, By::RunnerAdmin);
        assert!(fix.text.contains("apparmor=unconfined"));
        assert!(fix.text.contains("type = \"Unconfined\""));
    }

    #[test]
    fn apparmor_refusing_make_private_is_the_answer() {
        // The VM lane (Debian 6.1, podman 4.3 outer engine): root job under
        // containers-default; AppArmor refuses already at making / private.
        for errno in ["EACCES", "EPERM"] {
            let f = Fixture::new()
                .file(AA_CURRENT, "containers-default-0.50.1 (enforce)\n")
                .probe(
                    &Probe::BindMount { userns: true },
                    fail("make-private", errno),
                );
            let found = run(f, true);
            let c = found.check("lsm.mount").unwrap();
            assert_eq!(c.status, Status::Error, "{errno}: {}", c.summary);
            assert_eq!(found.lsm.bind_mount_ok, Some(false));
            assert!(
                c.summary.contains("containers-default-0.50.1"),
                "{}",
                c.summary
            );
            let fix = c.fix.as_ref().unwrap();
            assert_eq!(fix.by, By::RunnerAdmin);
            assert!(fix.text.contains("appArmorProfile"), "{}", fix.text);
        }
    }

    #[test]
    fn remedy_follows_the_executor() {
        let docker = APPARMOR_UNCONFINED.text(Executor::Docker);
        assert!(docker.contains("security_opt = [\"apparmor=unconfined\"]"));
        assert!(!docker.contains("appArmorProfile"));
        let k8s = APPARMOR_UNCONFINED.text(Executor::Kubernetes);
        assert!(k8s.contains("appArmorProfile: {type: Unconfined}"));
        assert!(k8s.contains("container.apparmor.security.beta.kubernetes.io/build"));
        assert!(!k8s.contains("security_opt"));
        for fix in [SECCOMP_UNCONFINED, SELINUX_MOUNT_TYPE] {
            let docker = fix.text(Executor::Docker);
            assert!(docker.contains("security_opt") && !docker.contains("runners.kubernetes"));
            let ocp = fix.text(Executor::OpenShift);
            assert!(
                ocp.contains("SCC") && !ocp.contains("security_opt"),
                "{ocp}"
            );
            assert!(ocp.contains(&format!("explain {}", fix.id)));
        }
        // A job under the docker executor sees only its SELinux snippet.
        let f = Fixture::new()
            .file(ATTR_CURRENT, "system_u:system_r:container_t:s0:c1,c2\0")
            .answer("read_errors", AA_CURRENT, json!("ENOENT"))
            .file(SELINUX_ENFORCE, "1");
        let host = f.host();
        let mut found = Findings::default();
        found.context.engine = Some("docker".into());
        found.absorb(probe(&host, &found));
        let text = found.fix_text("lsm.selinux");
        assert!(
            text.contains("label=disable") && !text.contains("spc_t"),
            "{text}"
        );
    }

    #[test]
    fn make_private_eperm_without_lsm_stays_a_warning() {
        // Without an enforcing profile an EPERM before the bind is the
        // kernel's (capabilities), judged by the userns area.
        let f = Fixture::new().probe(
            &Probe::BindMount { userns: false },
            fail("make-private", "EPERM"),
        );
        let c = run(f, false).check("lsm.mount").cloned().unwrap();
        assert_eq!(c.status, Status::Warn);
        // Refused before the mount namespace exists: never the answer.
        let f = Fixture::new()
            .file(AA_CURRENT, "docker-default (enforce)\n")
            .probe(&Probe::BindMount { userns: true }, fail("unshare", "EPERM"));
        let c = run(f, true).check("lsm.mount").cloned().unwrap();
        assert_eq!(c.status, Status::Warn);
    }

    #[test]
    fn probe_not_run_or_failing_early_is_a_warning() {
        let f = Fixture::new().file(AA_CURRENT, "cri-containerd.apparmor.d (enforce)\n");
        let c = run(f, true).check("lsm.mount").cloned().unwrap();
        assert_eq!(c.status, Status::Warn);
        assert_eq!(c.evidence["probe_ran"], json!(false));
        assert_eq!(c.fix.as_ref().unwrap().by, By::RunnerAdmin);
        let f = Fixture::new().probe(&Probe::BindMount { userns: true }, fail("unshare", "EPERM"));
        let c = run(f, true).check("lsm.mount").cloned().unwrap();
        assert_eq!(c.status, Status::Warn);
        assert!(c.fix.is_none());
        let f = Fixture::new().probe(
            &Probe::BindMount { userns: true },
            fail("bind-mount", "EPERM"),
        );
        let c = run(f, true).check("lsm.mount").cloned().unwrap();
        assert_eq!(c.status, Status::Error);
        assert!(c.fix.as_ref().unwrap().text.contains("seccomp"));
    }

    #[test]
    fn selinux_container_t_enforcing() {
        let f = Fixture::new()
            .file(ATTR_CURRENT, "system_u:system_r:container_t:s0:c1,c2\0")
            .answer("read_errors", AA_CURRENT, json!("ENOENT"))
            .file(SELINUX_ENFORCE, "1")
            .probe(&Probe::BindMount { userns: true }, fail("mount", "EACCES"));
        let found = run(f, true);
        assert_eq!(found.lsm.selinux_type.as_deref(), Some("container_t"));
        assert!(found.lsm.apparmor_profile.is_none());
        let s = found.check("lsm.selinux").unwrap();
        assert_eq!(s.status, Status::Warn);
        assert!(s.fix.as_ref().unwrap().text.contains("spc_t"));
        let m = found.check("lsm.mount").unwrap();
        assert_eq!(m.status, Status::Error);
        assert!(m.fix.as_ref().unwrap().text.contains("selinux_type"));
        let f = Fixture::new()
            .file(ATTR_CURRENT, "system_u:system_r:spc_t:s0\0")
            .file(SELINUX_ENFORCE, "1");
        assert_eq!(
            run(f, true).check("lsm.selinux").unwrap().status,
            Status::Info
        );
    }
}
