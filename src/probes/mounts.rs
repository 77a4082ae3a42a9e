//! Area `mounts`: the mount table as podman's `RUN` steps meet it.
//!
//! Records and judges `BUILDAH_ISOLATION` (the plan's isolation is
//! `decide::isolation`: how `podman build` runs `RUN`, `oci`, `rootless` or
//! `chroot`), judges whether the fresh `/proc` every OCI-isolated `RUN`
//! mounts can be mounted (masked `/proc`, catalog L3) and whether the
//! runtime can create its session keyring under seccomp (N4). Also reports
//! the propagation of `/` (E4) and a read-only root.

use super::{AreaOut, Findings, Obs};
pub use crate::formats::mountinfo::{parse_mountinfo, proc_submounts, Mount};
use crate::host::{io_error_name, Host, Probe, ProbeResult};
use crate::model::{Action, By, Check, Spec};
use crate::remedy::mounts::{KEYCTL_SECCOMP, PROC_UNMASKED};
use crate::remedy::runner::Executor;
use serde_json::json;

const MOUNTINFO: &str = "/proc/self/mountinfo";

/// What the table says, for later areas (storage reads `mount_for`).
#[derive(Debug, Default, Clone)]
pub struct Facts {
    /// The mount table could be read and parsed.
    pub known: bool,
    pub mounts: Vec<Mount>,
    /// Mount points strictly below `/proc/` (other than binfmt_misc).
    pub proc_submounts: Vec<String>,
    /// The functional proc-mount probe, when it was run.
    pub proc_probe: Option<ProbeResult>,
    /// `podman build` will be able to run `RUN` steps as far as `/proc` goes.
    pub proc_ok: Option<bool>,
    /// `/` carries a `shared:N` propagation tag.
    pub root_shared: bool,
    /// `/` is mounted read-only.
    pub root_readonly: bool,
    /// `BUILDAH_ISOLATION` was set (non-empty) and recognised.
    pub isolation_from_env: bool,
    /// `BUILDAH_ISOLATION` as found (non-empty), for the plan.
    pub isolation_env: Option<String>,
    /// The area ran (the plan's isolation is decided from its facts).
    pub probed: bool,
    /// The isolation this area's later checks assume (`decide::isolation`,
    /// the same value the plan gets).
    pub isolation: String,
    /// The keyctl probe, when it was run (OCI isolation only).
    pub keyctl_probe: Option<ProbeResult>,
}

impl Facts {
    /// The mount a path lives on: the last-mounted entry whose mount point
    /// is the longest prefix of `path`.
    pub fn mount_for(&self, path: &str) -> Option<&Mount> {
        let within = |mp: &str| {
            mp == "/"
                || path == mp
                || path
                    .strip_prefix(mp)
                    .is_some_and(|rest| rest.starts_with('/'))
        };
        self.mounts
            .iter()
            .enumerate()
            .filter(|(_, m)| within(&m.mount_point))
            .max_by_key(|(i, m)| (m.mount_point.len(), *i))
            .map(|(_, m)| m)
    }
}

/// Whether this isolation mounts a fresh `/proc` (and uses the OCI runtime).
pub fn isolation_uses_runtime(isolation: &str) -> bool {
    isolation != "chroot"
}

fn set_isolation_env(value: &str) -> Vec<Action> {
    vec![Action::SetEnv {
        key: "BUILDAH_ISOLATION".into(),
        value: value.into(),
    }]
}

pub const SPECS: &[Spec] = &[
    Spec {
        id: "mounts.mountinfo",
        title: "The mount table (/proc/self/mountinfo) is readable",
        explain: "The doctor reads /proc/self/mountinfo to see masked /proc paths, the \
propagation and read-only state of /, and the filesystem under podman's storage. Without it \
those judgements rest on the functional probes alone.",
        signatures: &[],
    },
    Spec {
        id: "mounts.isolation",
        title: "How `podman build` runs RUN steps (BUILDAH_ISOLATION)",
        explain: "`podman build` runs each RUN step with an isolation: `oci` (the OCI \
runtime, a fresh /proc, a session keyring; the default for rootful podman), `rootless` (the \
runtime with --rootless --no-new-keyring --no-pivot; the default when podman runs rootless, \
including uid 0 without CAP_SYS_ADMIN) or `chroot` (buildah's own wrapper: binds /proc \
instead of mounting it, no runtime, no cgroups). BUILDAH_ISOLATION selects it; an \
unrecognised value makes every build fail. quay.io/podman/stable sets BUILDAH_ISOLATION=chroot.",
        signatures: &[
            "unrecognized $BUILDAH_ISOLATION value",
            "unrecognized isolation type",
        ],
    },
    Spec {
        id: "mounts.proc",
        title: "RUN steps can mount a fresh /proc (masked /proc)",
        explain: "With `oci`/`rootless` isolation every RUN step mounts a new procfs in \
new user and pid namespaces. The kernel refuses that (EPERM) when the /proc the job sees is \
partly covered: unprivileged containers mask /proc/acpi, /proc/kcore, /proc/keys, … and make \
/proc/sys read-only. Job fix: `BUILDAH_ISOLATION=chroot` (chroot isolation binds /proc \
instead of mounting it; still needs a user namespace when rootless). Runner fix: \
privileged, docker `security_opt = [\"systempaths=unconfined\"]`, or Kubernetes \
`procMount: Unmasked`. For `podman run` the image's `volumes = [\"/proc:/proc\"]` in \
containers.conf does the same.",
        signatures: &[
            "mount `proc` to `proc`: Operation not permitted",
            "mount `proc` to `proc`: Permission denied",
        ],
    },
    Spec {
        id: "mounts.keyring",
        title: "The OCI runtime can create a session keyring (keyctl)",
        explain: "With `oci` isolation crun joins a new session keyring for every RUN step \
(keyctl KEYCTL_JOIN_SESSION_KEYRING). Docker's default seccomp profile refuses keyctl with \
EPERM, and crun then fails (`join keyctl`, older: `create keyring`); ENOSYS is tolerated. \
`rootless` isolation passes --no-new-keyring and `chroot` isolation uses no runtime, so only \
rootful builds are hit. Job fix: BUILDAH_ISOLATION=chroot. Runner fix: seccomp Unconfined \
or a profile allowing keyctl. For `podman run`, containers.conf `[containers] keyring = false`.",
        signatures: &["join keyctl", "create keyring"],
    },
    Spec {
        id: "mounts.root_propagation",
        title: "Propagation of the / mount",
        explain: "Rootless podman warns `\"/\" is not a shared mount, this could cause issues \
or missing mounts with rootless containers` when / is private and $container is unset. For \
`podman build` this is cosmetic. Exporting `container=oci` silences it but also makes podman \
move itself into a sub-cgroup; a root job with CAP_SYS_ADMIN may `mount --make-rshared /`.",
        signatures: &["is not a shared mount, this could cause issues or missing mounts"],
    },
    Spec {
        id: "mounts.root_readonly",
        title: "The root filesystem is read-only",
        explain: "A read-only root (Kubernetes `readOnlyRootFilesystem`) leaves /var/tmp, \
/tmp, /run and the default storage paths unwritable unless volumes are mounted there. The \
storage area judges the paths podman will use; set TMPDIR and the storage paths to a \
writable volume (emptyDir).",
        signatures: &["read-only file system"],
    },
];

pub fn probe(host: &Host, earlier: &Findings) -> AreaOut<Facts> {
    let found = &mut Obs::new(earlier);
    let mut facts = Facts::default();

    mountinfo_check(host, found, &mut facts);
    isolation(host, found, &mut facts);
    proc_check(host, found, &mut facts);
    keyring_check(host, found, &mut facts);
    root_checks(host, found, &mut facts);
    found.finish(facts)
}

/// `mounts.mountinfo`: the mount table, read once for every later check.
fn mountinfo_check(host: &Host, found: &mut Obs, facts: &mut Facts) {
    match host.read(MOUNTINFO) {
        Ok(text) => {
            let (mounts, garbage) = parse_mountinfo(&text);
            if mounts.is_empty() {
                found.checks.push(
                    Check::warn(
                        "mounts.mountinfo",
                        format!(
                            "{MOUNTINFO} has no parseable line: mount checks rest on probes only"
                        ),
                    )
                    .with("path", MOUNTINFO)
                    .with("garbage", garbage.into_iter().take(5).collect::<Vec<_>>()),
                );
            } else {
                facts.known = true;
                facts.proc_submounts = proc_submounts(&mounts);
                facts.mounts = mounts;
                if !garbage.is_empty() {
                    found.checks.push(
                        Check::info(
                            "mounts.mountinfo",
                            format!(
                                "{} line(s) of {MOUNTINFO} did not parse and were skipped",
                                garbage.len()
                            ),
                        )
                        .with("path", MOUNTINFO)
                        .with("garbage", garbage.into_iter().take(5).collect::<Vec<_>>()),
                    );
                }
            }
        }
        Err(e) => {
            found.checks.push(
                Check::warn(
                    "mounts.mountinfo",
                    format!(
                        "cannot read {MOUNTINFO} ({}): masked /proc and the root mount are unknown",
                        io_error_name(&e)
                    ),
                )
                .with("path", MOUNTINFO)
                .with("errno", io_error_name(&e)),
            );
        }
    }
}

/// `mounts.isolation`: what BUILDAH_ISOLATION asks for. The isolation
/// itself is `decide::isolation`; this area records the variable and
/// judges it, and its later checks use the decided value.
fn isolation(host: &Host, found: &mut Obs, facts: &mut Facts) {
    let rootless = found.plan.rootless;
    let env = host.env_nonempty("BUILDAH_ISOLATION");
    facts.probed = true;
    facts.isolation_env = env.map(str::to_string);
    let decided = crate::decide::isolation(env, rootless);
    let check = match (&decided, env) {
        (Ok(lower), Some(_)) => {
            facts.isolation_from_env = true;
            Check::info(
                "mounts.isolation",
                format!("BUILDAH_ISOLATION={lower}: RUN steps use {lower} isolation"),
            )
            .with("BUILDAH_ISOLATION", lower.clone())
        }
        (Err(default), _) => Check::error(
            "mounts.isolation",
            "BUILDAH_ISOLATION holds an unrecognised value: every `podman build` fails \
             with `unrecognized isolation type`",
        )
        .with("accepted", json!(["oci", "rootless", "chroot"]))
        .job_fix(
            format!("export BUILDAH_ISOLATION={default} (the default here)"),
            set_isolation_env(default),
        ),
        (Ok(default), None) => Check::info(
            "mounts.isolation",
            format!(
                "BUILDAH_ISOLATION unset: RUN steps use {default} isolation (podman runs {})",
                if rootless { "rootless" } else { "rootful" }
            ),
        ),
    };
    let isolation = decided.unwrap_or_else(|default| default);
    facts.isolation = isolation.clone();
    found.checks.push(
        check
            .with("isolation", isolation)
            .with("rootless", rootless),
    );
}

fn proc_check(host: &Host, found: &mut Obs, facts: &mut Facts) {
    let iso = facts.isolation.clone();
    let subs = facts.proc_submounts.clone();
    let masked_text = if subs.is_empty() {
        "no mount below /proc".to_string()
    } else {
        format!(
            "/proc is masked ({} below it, e.g. {})",
            crate::util::count(subs.len() as u64, "mount", "mounts"),
            subs.iter().take(3).cloned().collect::<Vec<_>>().join(", ")
        )
    };
    if !isolation_uses_runtime(&iso) {
        facts.proc_ok = Some(true);
        found.checks.push(
            Check::ok(
                "mounts.proc",
                format!("chroot isolation binds /proc instead of mounting it ({masked_text})"),
            )
            .with("isolation", iso)
            .with("proc_submounts", subs),
        );
        return;
    }
    let userns = found.plan.rootless;
    let probe = Probe::ProcMount { userns };
    let result = host.probe(&probe);
    facts.proc_probe = Some(result.clone());
    // The shared evidence first: the report keeps insertion order.
    let base = |c: Check| {
        c.with("isolation", iso.clone())
            .with("probe", probe.key())
            .with("probe_result", result.describe())
            .with("proc_submounts", subs.clone())
    };
    let mut check = proc_probe_check(&result, userns, facts, &masked_text, &base);
    if let Some(f) = check.fix.as_mut() {
        // The job fix is attached; the runner remedy goes into the text.
        let executor = Executor::of(&found.context);
        f.text = format!("{}; or:\n{}", f.text, PROC_UNMASKED.text(executor));
    }
    found.checks.push(check);
}

/// `mounts.proc` from the fresh-/proc probe (OCI isolation), setting
/// `proc_ok`; the chroot fix wherever the mount fails or likely will.
fn proc_probe_check(
    result: &ProbeResult,
    userns: bool,
    facts: &mut Facts,
    masked: &str,
    base: &dyn Fn(Check) -> Check,
) -> Check {
    let chroot_fix =
        "export BUILDAH_ISOLATION=chroot (RUN steps then bind /proc instead of mounting it)";
    if result.ran && result.ok {
        facts.proc_ok = Some(true);
        let how = if userns {
            " in a new user namespace"
        } else {
            ""
        };
        return base(Check::ok(
            "mounts.proc",
            format!("a fresh /proc mounts{how} ({masked})"),
        ));
    }
    facts.proc_ok = None;
    if result.ran && result.step != "mount" && !result.step.is_empty() {
        // It failed before the proc mount (the user or pid namespace): the
        // userns area judges that; nothing is known about /proc itself.
        base(Check::warn(
            "mounts.proc",
            format!(
                "could not test the /proc mount: the probe failed earlier ({}); {masked}",
                result.describe()
            ),
        ))
        .with("probe_ran", false)
    } else if result.ran {
        facts.proc_ok = Some(false);
        base(Check::error(
            "mounts.proc",
            format!(
                "RUN steps cannot mount /proc ({}): {masked}; `podman build` fails with \
                 \"mount `proc` to `proc`: Operation not permitted\"",
                result.describe()
            ),
        ))
        .with(
            "errno",
            result.errno.clone().map_or(json!(null), |e| json!(e)),
        )
        .job_fix(chroot_fix, set_isolation_env("chroot"))
    } else if !facts.proc_submounts.is_empty() && (userns || !facts.known) {
        base(Check::warn(
            "mounts.proc",
            format!(
                "{masked}: RUN steps in a user namespace will likely fail to mount /proc \
                 (probe not run: {})",
                result.detail
            ),
        ))
        .with("probe_ran", false)
        .job_fix(chroot_fix, set_isolation_env("chroot"))
    } else {
        base(Check::warn(
            "mounts.proc",
            format!(
                "the /proc mount probe did not run ({}); {masked}",
                result.detail
            ),
        ))
        .with("probe_ran", false)
    }
}

fn keyring_check(host: &Host, found: &mut Obs, facts: &mut Facts) {
    let iso = facts.isolation.clone();
    if iso != "oci" {
        found.checks.push(
            Check::ok(
                "mounts.keyring",
                format!(
                    "{iso} isolation creates no session keyring ({})",
                    if iso == "rootless" {
                        "--no-new-keyring"
                    } else {
                        "no OCI runtime"
                    }
                ),
            )
            .with("isolation", iso),
        );
        return;
    }
    let result = host.probe(&Probe::Keyctl);
    facts.keyctl_probe = Some(result.clone());
    let filtered = found.caps.known && found.caps.seccomp_filtered();
    let check = keyctl_probe_check(&result, filtered, Executor::of(&found.context));
    found.checks.push(
        check
            .with("isolation", iso)
            .with("probe", Probe::Keyctl.key())
            .with("probe_result", result.describe())
            .with("Seccomp", u64::from(found.caps.seccomp_mode)),
    );
}

/// `mounts.keyring` from the keyctl probe (OCI isolation); without an
/// answer, an active seccomp filter makes the refusal likely.
fn keyctl_probe_check(result: &ProbeResult, seccomp_filtered: bool, executor: Executor) -> Check {
    // The live probe reports ENOSYS as ok (crun tolerates it) with the
    // errno kept, so ENOSYS is looked at first.
    if result.ran && result.errno.as_deref() == Some("ENOSYS") {
        Check::info(
            "mounts.keyring",
            "keyctl returns ENOSYS: crun warns and goes on without a new keyring",
        )
    } else if result.ran && result.ok {
        Check::ok(
            "mounts.keyring",
            "keyctl works: the runtime can join a session keyring",
        )
    } else if result.ran {
        Check::error(
            "mounts.keyring",
            format!(
                "keyctl is refused ({}), as Docker's default seccomp profile does: crun fails \
                 every RUN step with `join keyctl …: Operation not permitted`",
                result.describe()
            ),
        )
        .job_fix(
            format!(
                "export BUILDAH_ISOLATION=chroot (no OCI runtime, no keyring); or:\n{}",
                KEYCTL_SECCOMP.text(executor)
            ),
            set_isolation_env("chroot"),
        )
    } else if seccomp_filtered {
        Check::warn(
            "mounts.keyring",
            format!(
                "seccomp filter active and the keyctl probe did not run ({}): RUN steps may \
                 fail with `join keyctl`",
                result.detail
            ),
        )
        .with("probe_ran", false)
        .job_fix(
            "export BUILDAH_ISOLATION=chroot (no OCI runtime, no keyring)",
            set_isolation_env("chroot"),
        )
    } else {
        Check::info(
            "mounts.keyring",
            format!(
                "keyctl probe did not run ({}); no seccomp filter is active",
                result.detail
            ),
        )
    }
}

fn root_checks(host: &Host, found: &mut Obs, facts: &mut Facts) {
    if !facts.known {
        return;
    }
    let Some(root) = facts.mount_for("/").cloned() else {
        found.checks.push(Check::warn(
            "mounts.root_propagation",
            format!("{MOUNTINFO} lists no mount for /"),
        ));
        return;
    };
    facts.root_shared = root.shared();
    facts.root_readonly = root.readonly();
    let container_set = host.env_nonempty("container").is_some();
    let check = if facts.root_shared {
        Check::ok("mounts.root_propagation", "/ is a shared mount")
    } else if !found.plan.rootless {
        Check::info(
            "mounts.root_propagation",
            "/ is a private mount; rootful podman does not check it",
        )
    } else if container_set {
        Check::info(
            "mounts.root_propagation",
            "/ is a private mount; $container is set, so podman does not warn",
        )
    } else {
        Check::warn(
            "mounts.root_propagation",
            "/ is a private mount: rootless podman prints `\"/\" is not a shared mount` \
             (cosmetic for builds)",
        )
        .fix(
            By::Job,
            "ignore the warning; or `export container=oci` (which also makes podman move \
             itself into a sub-cgroup)",
        )
    };
    found.checks.push(
        check
            .with("path", MOUNTINFO)
            .with("optional_fields", root.optional.clone())
            .with("container_env_set", container_set),
    );
    let check = if facts.root_readonly {
        Check::info(
            "mounts.root_readonly",
            "/ is mounted read-only: /var/tmp, /tmp and default storage paths need writable volumes (judged by storage)",
        )
    } else {
        Check::ok("mounts.root_readonly", "/ is mounted read-write")
    };
    found.checks.push(
        check
            .with("fstype", root.fstype.clone())
            .with("options", root.options.join(",")),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;
    use crate::probes::testutil::Fixture;

    const HOST: &str = include_str!("../../tests/fixtures/captured/host/proc/self/mountinfo");
    const NESTED: &str =
        include_str!("../../tests/fixtures/captured/nested-root/proc/self/mountinfo");
    const PRIV: &str =
        include_str!("../../tests/fixtures/captured/nested-privileged/proc/self/mountinfo");

    fn run(f: Fixture, rootless: bool) -> Findings {
        let host = f.host();
        let mut found = Findings::default();
        crate::probes::testutil::given_rootless(&mut found, rootless);
        found.absorb(crate::probes::caps::probe(&host, &found));
        found.absorb(probe(&host, &found));
        found
    }

    fn fail(step: &str, errno: &str) -> ProbeResult {
        ProbeResult::failure(step, Some(errno.into()), "")
    }

    #[test]
    fn parses_real_tables() {
        let (m, g) = parse_mountinfo(HOST);
        assert!(g.is_empty());
        assert_eq!(m.len(), 21);
        let root = m.iter().find(|m| m.mount_point == "/").unwrap();
        assert_eq!(root.fstype, "ext4");
        assert!(!root.shared());
        assert!(proc_submounts(&m).is_empty());
        let netns = m.iter().find(|m| m.mount_point == "/run/netns").unwrap();
        assert!(netns.shared());

        let (m, g) = parse_mountinfo(NESTED);
        assert!(g.is_empty());
        let subs = proc_submounts(&m);
        assert!(subs.contains(&"/proc/keys".to_string()));
        assert!(subs.contains(&"/proc/sys".to_string()));
        let (m, _) = parse_mountinfo(PRIV);
        assert!(proc_submounts(&m).is_empty());
    }

    #[test]
    fn mount_for_picks_longest_latest() {
        let (m, _) = parse_mountinfo(NESTED);
        let f = Facts {
            known: true,
            mounts: m,
            ..Facts::default()
        };
        assert_eq!(
            f.mount_for("/var/lib/containers").unwrap().fstype,
            "overlay"
        );
        assert_eq!(f.mount_for("/etc/hosts").unwrap().fstype, "ext4");
        assert_eq!(f.mount_for("/etc/hostsx").unwrap().fstype, "overlay");
        assert_eq!(
            f.mount_for("/proc/sys/kernel").unwrap().mount_point,
            "/proc/sys"
        );
    }

    #[test]
    fn masked_proc_blocks_oci_and_chroot_fixes_it() {
        let f = Fixture::new()
            .file(MOUNTINFO, NESTED)
            .probe(&Probe::ProcMount { userns: true }, fail("mount", "EPERM"));
        let found = run(f, true);
        assert_eq!(found.plan.isolation, "rootless");
        let c = found.check("mounts.proc").unwrap();
        assert_eq!(c.status, Status::Error);
        assert!(c.summary.contains("/proc is masked"), "{}", c.summary);
        assert!(c.job_can_fix());
        let fix = c.fix.as_ref().unwrap();
        assert_eq!(fix.actions, set_isolation_env("chroot"));
        assert!(fix.text.contains("systempaths=unconfined"));
        // rootless isolation: keyring is not an issue
        assert_eq!(found.check("mounts.keyring").unwrap().status, Status::Ok);

        // After the fix: chroot isolation, no probe needed.
        let f = Fixture::new()
            .env("BUILDAH_ISOLATION", "chroot")
            .file(MOUNTINFO, NESTED)
            .probe(&Probe::ProcMount { userns: true }, fail("mount", "EPERM"));
        let found = run(f, true);
        assert_eq!(found.plan.isolation, "chroot");
        assert_eq!(found.check("mounts.proc").unwrap().status, Status::Ok);
        assert!(found.mounts.isolation_from_env);
    }

    #[test]
    fn privileged_proc_mount_works() {
        let f = Fixture::new()
            .file(MOUNTINFO, PRIV)
            .probe(
                &Probe::ProcMount { userns: false },
                ProbeResult::success(""),
            )
            .probe(&Probe::Keyctl, ProbeResult::success(""));
        let found = run(f, false);
        assert_eq!(found.plan.isolation, "oci");
        assert_eq!(found.check("mounts.proc").unwrap().status, Status::Ok);
        assert_eq!(found.check("mounts.keyring").unwrap().status, Status::Ok);
        assert_eq!(found.mounts.proc_ok, Some(true));
    }

    #[test]
    fn probe_not_run_is_never_ok() {
        let f = Fixture::new().file(MOUNTINFO, NESTED);
        let found = run(f, true);
        let c = found.check("mounts.proc").unwrap();
        assert_eq!(c.status, Status::Warn);
        assert_eq!(c.evidence["probe_ran"], json!(false));
        assert!(c.job_can_fix());
        let f = Fixture::new().file(MOUNTINFO, PRIV);
        let found = run(f, true);
        let c = found.check("mounts.proc").unwrap();
        assert_eq!(c.status, Status::Warn);
        assert!(!c.job_can_fix());
        // failure before the mount step: userns judges it
        let f = Fixture::new()
            .file(MOUNTINFO, NESTED)
            .probe(&Probe::ProcMount { userns: true }, fail("unshare", "EPERM"));
        let c = run(f, true).check("mounts.proc").cloned().unwrap();
        assert_eq!(c.status, Status::Warn);
        assert_eq!(c.evidence["probe_ran"], json!(false));
    }

    #[test]
    fn keyctl_refused_under_oci() {
        let status = "CapEff:\t000001ffffffffff\nCapPrm:\t000001ffffffffff\nCapBnd:\t000001ffffffffff\nNoNewPrivs:\t0\nSeccomp:\t2\n";
        let f = Fixture::new()
            .file("/proc/self/status", status)
            .file(MOUNTINFO, NESTED)
            .probe(
                &Probe::ProcMount { userns: false },
                ProbeResult::success(""),
            )
            .probe(&Probe::Keyctl, fail("keyctl", "EPERM"));
        let found = run(f, false);
        let c = found.check("mounts.keyring").unwrap();
        assert_eq!(c.status, Status::Error);
        assert_eq!(c.fix.as_ref().unwrap().actions, set_isolation_env("chroot"));
        let f = Fixture::new()
            .file("/proc/self/status", status)
            .file(MOUNTINFO, NESTED)
            .probe(
                &Probe::Keyctl,
                ProbeResult {
                    ok: true,
                    ..fail("keyctl", "ENOSYS")
                },
            );
        assert_eq!(
            run(f, false).check("mounts.keyring").unwrap().status,
            Status::Info
        );
        let f = Fixture::new()
            .file("/proc/self/status", status)
            .file(MOUNTINFO, NESTED);
        let c = run(f, false).check("mounts.keyring").cloned().unwrap();
        assert_eq!(c.status, Status::Warn);
        assert_eq!(c.evidence["probe_ran"], json!(false));
    }

    #[test]
    fn bad_isolation_value_is_an_error_the_job_fixes() {
        let f = Fixture::new()
            .env("BUILDAH_ISOLATION", "vm")
            .file(MOUNTINFO, PRIV);
        let found = run(f, true);
        let c = found.check("mounts.isolation").unwrap();
        assert_eq!(c.status, Status::Error);
        assert_eq!(
            c.fix.as_ref().unwrap().actions,
            set_isolation_env("rootless")
        );
        assert!(!format!("{:?}", c.evidence).contains("vm"));
    }

    /// `BUILDAH_ISOLATION=default` is what podman's `--isolation` flag
    /// takes as `oci` (checked with podman 4.3.1 and 5.4.2: the build runs;
    /// `bogus` fails with `unrecognized isolation type`).
    #[test]
    fn default_isolation_value_is_accepted_as_oci() {
        let f = Fixture::new()
            .env("BUILDAH_ISOLATION", "Default")
            .file(MOUNTINFO, PRIV);
        let found = run(f, true);
        let c = found.check("mounts.isolation").unwrap();
        assert_eq!(c.status, Status::Info, "{}", c.summary);
        assert!(c.fix.is_none());
        assert_eq!(found.plan.isolation, "oci");
    }

    #[test]
    fn root_propagation_and_readonly() {
        let f = Fixture::new().file(MOUNTINFO, HOST);
        let found = run(f, true);
        let c = found.check("mounts.root_propagation").unwrap();
        assert_eq!(c.status, Status::Warn);
        assert!(!c.job_can_fix());
        assert_eq!(
            found.check("mounts.root_readonly").unwrap().status,
            Status::Ok
        );
        let ro = "1 0 0:1 / / ro,relatime shared:1 - overlay overlay rw\n";
        let found = run(
            Fixture::new().env("container", "oci").file(MOUNTINFO, ro),
            true,
        );
        assert_eq!(
            found.check("mounts.root_propagation").unwrap().status,
            Status::Ok
        );
        assert!(found.mounts.root_readonly);
        assert_eq!(
            found.check("mounts.root_readonly").unwrap().status,
            Status::Info
        );
    }

    #[test]
    fn unreadable_mountinfo_is_reported() {
        let f = Fixture::new().answer("read_errors", MOUNTINFO, json!("EACCES"));
        let found = run(f, true);
        let c = found.check("mounts.mountinfo").unwrap();
        assert_eq!(c.status, Status::Warn);
        assert!(c.summary.contains("EACCES"));
        assert!(!found.mounts.known);
    }
}
