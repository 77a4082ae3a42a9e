//! Area `cgroups`: which cgroup layout the job sees and what the runtime
//! can do with it (catalog C1–C4).
//!
//! Verified on the development host (systemd "hybrid" layout with
//! `hugetlb` on the v2 hierarchy, podman 4.3.1, crun 1.8.1): every
//! `podman build` RUN step with crun fails with `cgroups in hybrid mode not
//! supported` — rootful and rootless alike — while `BUILDAH_ISOLATION=chroot`
//! (no runtime) builds. A nested unprivileged container on that host sees a
//! pure v1 tmpfs without `unified`, where crun works; rootful podman there
//! (CAP_SYS_ADMIN) fails to create its cgroup on the read-only hierarchies.
//! `cgroup_manager` and `runtime` are resolved by the config area, which
//! reads these facts (`crun_refuses`, `systemd`).

use super::{AreaOut, Findings, Obs};
pub use crate::formats::cgroup::{parse_self_cgroup, CgroupLine};
use crate::host::{io_error_name, Access, Host};
use crate::model::{Action, Check, Plan, Spec};
use serde_json::json;

pub const TMPFS_MAGIC: u64 = 0x0102_1994;
pub const CGROUP2_MAGIC: u64 = 0x6367_7270;
pub const CGROUP1_MAGIC: u64 = 0x0027_e0eb;

const ROOT: &str = "/sys/fs/cgroup";
const UNIFIED: &str = "/sys/fs/cgroup/unified";
const SELF_CGROUP: &str = "/proc/self/cgroup";

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    #[default]
    Unknown,
    V1,
    V2,
    /// tmpfs with v1 hierarchies plus cgroup2 at `/sys/fs/cgroup/unified`.
    Hybrid,
}

impl Version {
    pub fn as_str(self) -> &'static str {
        match self {
            Version::Unknown => "unknown",
            Version::V1 => "v1",
            Version::V2 => "v2",
            Version::Hybrid => "hybrid",
        }
    }
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Facts {
    pub version: Version,
    /// `statfs(/sys/fs/cgroup)` magic, when it answered.
    pub root_magic: Option<u64>,
    /// Controllers on the v2 hierarchy (`cgroup.controllers` of
    /// `/sys/fs/cgroup`, or of `unified` in hybrid mode).
    pub controllers: Vec<String>,
    /// crun's own test: tmpfs root, cgroup2 at `unified`, non-empty
    /// `unified/cgroup.controllers`. crun then refuses every container
    /// (`cgroups in hybrid mode not supported`), before looking at
    /// `cgroups="disabled"`.
    pub hybrid_crun_refuses: bool,
    /// Same as `hybrid_crun_refuses`, the name the config area reads.
    pub crun_refuses: bool,
    /// `/proc/self/cgroup`.
    pub own: Vec<CgroupLine>,
    /// The v2 path (`0::/…`), when there is one.
    pub own_v2_path: Option<String>,
    /// Whether the directory a runtime would create child cgroups in is
    /// writable (`None`: unknown).
    pub own_cgroup_writable: Option<bool>,
    /// `/run/systemd/system` exists: podman's default manager is systemd.
    pub systemd: bool,
}

pub const SPECS: &[Spec] = &[
    Spec {
        id: "cgroups.version",
        title: "cgroup layout: v1, v2 or hybrid",
        explain: "`statfs(/sys/fs/cgroup)`: cgroup2 magic = v2, tmpfs = v1 (or hybrid when \
cgroup2 is also mounted at /sys/fs/cgroup/unified). Podman 5 warns on v1 (`Using cgroups-v1 \
which is deprecated in favor of cgroups-v2 with Podman v5`); the warning is cosmetic and \
PODMAN_IGNORE_CGROUPSV1_WARNING=1 hides it. Podman 6 drops v1: move nodes to v2 \
(`systemd.unified_cgroup_hierarchy=1`).",
        signatures: &[
            "Using cgroups-v1 which is deprecated in favor of cgroups-v2",
            "PODMAN_IGNORE_CGROUPSV1_WARNING",
        ],
    },
    Spec {
        id: "cgroups.hybrid",
        title: "crun refuses a hybrid layout with v2 controllers",
        explain: "In the systemd hybrid layout (tmpfs /sys/fs/cgroup plus cgroup2 at \
/sys/fs/cgroup/unified) with any controller attached to v2, crun fails every container with \
`cgroups in hybrid mode not supported, drop all controllers from cgroupv2` — rootful and \
rootless, whatever `cgroups=` says. config.runtime judges the runtime against this layout. Job \
fixes (podrun-doctor makes them): `[engine] runtime = \"runc\"` in a drop-in when runc is \
installed (keeps OCI isolation), else BUILDAH_ISOLATION=chroot (RUN steps without a runtime). Node \
fix: boot pure v2 (or pure v1).",
        signatures: &["cgroups in hybrid mode not supported"],
    },
    Spec {
        id: "cgroups.own",
        title: "The job's own cgroup and whether the runtime can create cgroups in it",
        explain: "Rootful podman with OCI isolation makes the runtime create a cgroup for every \
RUN step. In an unprivileged container the cgroup hierarchies are mounted read-only, and crun \
fails (`creating cgroup directory …`, runc `mkdir … read-only file system`); on v2 the \
no-internal-processes rule can also refuse controllers (``controller `pids` is not \
available``). Job fix: BUILDAH_ISOLATION=chroot (no runtime, no cgroups); for podman run \
`--cgroups=disabled`. Rootless podman does not need a writable cgroup here.",
        signatures: &[
            "creating cgroup directory",
            "controller `pids` is not available",
            "Failed to add conmon to cgroupfs sandbox cgroup",
        ],
    },
    Spec {
        id: "cgroups.systemd",
        title: "systemd in the job (cgroup manager default)",
        explain: "Without /run/systemd/system podman's built-in default cgroup manager is \
cgroupfs; `cgroup_manager = \"systemd\"` set explicitly (distribution containers.conf) then \
fails with `cannot open sd-bus`. The config area judges the effective setting.",
        signatures: &["cannot open sd-bus"],
    },
];

fn read_controllers(host: &Host, dir: &str) -> Result<Vec<String>, String> {
    let path = format!("{dir}/cgroup.controllers");
    host.read(&path)
        .map(|t| t.split_whitespace().map(str::to_string).collect())
        .map_err(|e| io_error_name(&e))
}

/// Evidence for `cgroups.version`, in the order the report shows it.
type Evidence = Vec<(&'static str, serde_json::Value)>;

pub fn probe(host: &Host, earlier: &Findings) -> AreaOut<Facts> {
    let found = &mut Obs::new(earlier);
    let mut facts = Facts {
        systemd: host.is_dir("/run/systemd/system"),
        ..Facts::default()
    };
    let mut evidence = read_layout(host, &mut facts);
    read_own(host, &mut facts, &mut evidence);
    version_check(host, found, &facts, &evidence);
    hybrid_check(found, &facts);
    own_check(host, found, &mut facts);
    found.checks.push(systemd_check(&facts));
    found.finish(facts)
}

/// The layout from statfs of the cgroup root and of the unified
/// hierarchy, with the v2 controllers (which make crun refuse a hybrid).
fn read_layout(host: &Host, facts: &mut Facts) -> Evidence {
    let root = host.statfs(ROOT);
    facts.root_magic = root.as_ref().ok().map(|s| s.magic);
    let unified_magic = host.statfs(UNIFIED).ok().map(|s| s.magic);
    let mut evidence = vec![
        (
            "statfs_root",
            json!(facts.root_magic.map(|m| format!("0x{m:x}"))),
        ),
        (
            "statfs_unified",
            json!(unified_magic.map(|m| format!("0x{m:x}"))),
        ),
    ];
    match facts.root_magic {
        Some(CGROUP2_MAGIC) => {
            facts.version = Version::V2;
            facts.controllers = read_controllers(host, ROOT).unwrap_or_default();
        }
        Some(TMPFS_MAGIC) if unified_magic == Some(CGROUP2_MAGIC) => {
            facts.version = Version::Hybrid;
            match read_controllers(host, UNIFIED) {
                Ok(c) => {
                    facts.hybrid_crun_refuses = !c.is_empty();
                    facts.controllers = c;
                }
                Err(errno) => evidence.push(("unified_controllers_error", json!(errno))),
            }
        }
        Some(TMPFS_MAGIC) => facts.version = Version::V1,
        Some(CGROUP1_MAGIC) => facts.version = Version::V1,
        _ => {}
    }
    facts.crun_refuses = facts.hybrid_crun_refuses;
    evidence
}

/// The job's own cgroup from `/proc/self/cgroup`, which also tells the
/// version when statfs gave no answer.
fn read_own(host: &Host, facts: &mut Facts, evidence: &mut Evidence) {
    let text = match host.read(SELF_CGROUP) {
        Ok(text) => text,
        Err(e) => {
            evidence.push(("self_cgroup_error", json!(io_error_name(&e))));
            return;
        }
    };
    let (lines, garbage) = parse_self_cgroup(&text);
    facts.own_v2_path = lines
        .iter()
        .find(|l| l.id == 0 && l.controllers.is_empty())
        .map(|l| l.path.clone());
    if facts.version == Version::Unknown && !lines.is_empty() {
        // No statfs answer: fall back on /proc/self/cgroup.
        facts.version = if lines.iter().all(|l| l.id == 0) {
            Version::V2
        } else {
            Version::V1
        };
        evidence.push(("version_from", json!(SELF_CGROUP)));
    }
    if !garbage.is_empty() {
        evidence.push(("self_cgroup_garbage", json!(garbage)));
    }
    facts.own = lines;
}

/// `cgroups.systemd`: which cgroup manager podman defaults to.
fn systemd_check(facts: &Facts) -> Check {
    if facts.systemd {
        Check::info(
            "cgroups.systemd",
            "/run/systemd/system exists: podman defaults to the systemd cgroup manager",
        )
    } else {
        Check::info(
            "cgroups.systemd",
            "no systemd in the job: podman defaults to cgroupfs (an explicit \
             cgroup_manager=\"systemd\" is judged by config)",
        )
    }
    .with("path", "/run/systemd/system")
}

fn version_check(
    host: &Host,
    found: &mut Obs,
    facts: &Facts,
    evidence: &[(&str, serde_json::Value)],
) {
    let mut check = match facts.version {
        Version::Unknown => Check::warn(
            "cgroups.version",
            format!(
                "cannot tell the cgroup layout: statfs({ROOT}) and {SELF_CGROUP} gave no answer"
            ),
        )
        .with("probe_ran", false),
        Version::V2 => Check::ok(
            "cgroups.version",
            format!(
                "cgroup v2 (controllers: {})",
                if facts.controllers.is_empty() {
                    "none".to_string()
                } else {
                    facts.controllers.join(" ")
                }
            ),
        ),
        Version::V1 | Version::Hybrid => v1_check(host, found, facts),
    };
    check = check.with("version", facts.version.as_str());
    for (k, v) in evidence {
        check = check.with(k, v.clone());
    }
    found.checks.push(check);
}

/// `cgroups.version` on v1 or hybrid: podman 5 warns of the deprecation.
fn v1_check(host: &Host, found: &Obs, facts: &Facts) -> Check {
    let layout = if facts.version == Version::V1 {
        "cgroup v1".to_string()
    } else {
        format!(
            "hybrid cgroups (v2 controllers: {})",
            if facts.controllers.is_empty() {
                "none".to_string()
            } else {
                facts.controllers.join(" ")
            }
        )
    };
    // The tools area (run earlier) asked podman once for everyone.
    let major = found.tools.podman_version.map(|v| v.major);
    let ignored = host
        .env_nonempty("PODMAN_IGNORE_CGROUPSV1_WARNING")
        .is_some();
    match major {
        Some(m) if m >= 5 && !ignored => Check::warn(
            "cgroups.version",
            format!("{layout}: podman {m} prints a cgroups-v1 deprecation warning (cosmetic; podman 6 drops v1)"),
        )
        .job_fix(
            "export PODMAN_IGNORE_CGROUPSV1_WARNING=1 to hide the deprecation warning \
             (node admin: boot cgroup v2 before podman 6)",
            vec![Action::SetEnv {
                key: "PODMAN_IGNORE_CGROUPSV1_WARNING".into(),
                value: "1".into(),
            }],
        ),
        _ => Check::info(
            "cgroups.version",
            format!(
                "{layout}{}",
                if ignored { " (PODMAN_IGNORE_CGROUPSV1_WARNING is set)" } else { "" }
            ),
        ),
    }
    .with("podman_major", major.map_or(json!(null), |m| json!(m)))
}

fn hybrid_check(found: &mut Obs, facts: &Facts) {
    let iso = found.plan.isolation.clone();
    let check = if facts.version != Version::Hybrid {
        Check::ok(
            "cgroups.hybrid",
            format!("not a hybrid layout ({})", facts.version.as_str()),
        )
    } else if !facts.hybrid_crun_refuses {
        Check::ok(
            "cgroups.hybrid",
            "hybrid layout without controllers on v2: crun accepts it",
        )
    } else if !super::mounts::isolation_uses_runtime(&iso) {
        Check::info(
            "cgroups.hybrid",
            "hybrid layout with v2 controllers: crun would refuse it, but chroot isolation runs RUN steps without a runtime",
        )
    } else {
        // The runtime is resolved by the config area (after this one): it
        // judges crun against this layout and fixes it (runc, else chroot).
        Check::info(
            "cgroups.hybrid",
            format!(
                "hybrid cgroups with v2 controllers ({}): crun refuses them (`cgroups in hybrid \
                 mode not supported`); config.runtime judges the runtime podman will use",
                facts.controllers.join(" ")
            ),
        )
    };
    found.checks.push(
        check
            .with("path", format!("{UNIFIED}/cgroup.controllers"))
            .with("controllers", facts.controllers.clone())
            .with("isolation", iso),
    );
}

/// The directory a runtime creates child cgroups in, as seen from here.
fn cgroup_dir(host: &Host, facts: &Facts) -> String {
    match facts.version {
        Version::V2 => ROOT.to_string(),
        _ => ["memory", "pids", "cpu", "systemd"]
            .iter()
            .map(|c| format!("{ROOT}/{c}"))
            .find(|d| host.is_dir(d))
            .unwrap_or_else(|| ROOT.to_string()),
    }
}

fn own_check(host: &Host, found: &mut Obs, facts: &mut Facts) {
    let dir = cgroup_dir(host, facts);
    let access = host.access(&dir, Access::Write);
    let ro_mount = found
        .mounts
        .mount_for(&dir)
        .filter(|m| m.mount_point == dir || facts.version == Version::V2)
        .map(|m| m.readonly());
    let writable = match (&access, ro_mount) {
        (_, Some(true)) => Some(false),
        (Ok(()), _) => Some(true),
        (Err(e), _) if e.raw_os_error().is_some() => Some(false),
        _ => None,
    };
    facts.own_cgroup_writable = writable;
    let path = facts
        .own_v2_path
        .clone()
        .or_else(|| facts.own.first().map(|l| l.path.clone()))
        .unwrap_or_else(|| "?".into());
    let access_text = match &access {
        Ok(()) => "ok".to_string(),
        Err(e) => io_error_name(e),
    };
    let check = own_judged(&found.plan, writable, &path, &dir, &access_text);
    found.checks.push(
        check
            .with("path", SELF_CGROUP)
            .with("own", path)
            .with("dir", dir)
            .with("access_w", access_text)
            .with("mount_readonly", ro_mount.map_or(json!(null), |r| json!(r))),
    );
}

/// `cgroups.own` from whether the own cgroup is writable: it matters to
/// rootful RUN steps that use the OCI runtime.
fn own_judged(
    plan: &Plan,
    writable: Option<bool>,
    path: &str,
    dir: &str,
    access_text: &str,
) -> Check {
    let uses_runtime = super::mounts::isolation_uses_runtime(&plan.isolation);
    match writable {
        Some(true) => Check::ok(
            "cgroups.own",
            format!("own cgroup {path}; {dir} is writable"),
        ),
        Some(false) if !plan.rootless && uses_runtime => Check::warn(
            "cgroups.own",
            format!(
                "own cgroup {path}; {dir} is read-only ({access_text}): rootful RUN steps \
                 with {} isolation cannot create their cgroup (`creating cgroup directory`)",
                plan.isolation
            ),
        )
        .job_fix(
            "export BUILDAH_ISOLATION=chroot (RUN steps create no cgroup); runner admin: \
             privileged, or a writable cgroup (cgroupns with delegation)",
            vec![Action::SetEnv {
                key: "BUILDAH_ISOLATION".into(),
                value: "chroot".into(),
            }],
        ),
        Some(false) => Check::info(
            "cgroups.own",
            format!(
                "own cgroup {path}; {dir} is read-only ({access_text}); {}",
                if plan.rootless {
                    "rootless podman does not create cgroups here"
                } else {
                    "chroot isolation creates no cgroup"
                }
            ),
        ),
        None => Check::info(
            "cgroups.own",
            format!("own cgroup {path}; cannot tell whether {dir} is writable ({access_text})"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;
    use crate::probes::testutil::Fixture;

    const HOST_CG: &str = include_str!("../../tests/fixtures/captured/host/proc/self/cgroup");
    const NESTED_CG: &str =
        include_str!("../../tests/fixtures/captured/nested-root/proc/self/cgroup");
    const NESTED_MI: &str =
        include_str!("../../tests/fixtures/captured/nested-root/proc/self/mountinfo");
    const HOST_CTL: &str =
        include_str!("../../tests/fixtures/captured/host/sys/fs/cgroup/unified/cgroup.controllers");

    fn run(f: Fixture, rootless: bool, isolation: &str) -> Findings {
        run_with_podman(f, rootless, isolation, None)
    }

    fn run_with_podman(
        f: Fixture,
        rootless: bool,
        isolation: &str,
        podman: Option<crate::probes::tools::Version>,
    ) -> Findings {
        let host = f.host();
        let mut found = Findings::default();
        found.tools.podman_version = podman;
        crate::probes::testutil::given_rootless(&mut found, rootless);
        crate::probes::testutil::given_isolation(&mut found, isolation);
        found.absorb(crate::probes::mounts::probe(&host, &found));
        crate::probes::testutil::given_isolation(&mut found, isolation);
        found.absorb(probe(&host, &found));
        found
    }

    fn hybrid_host() -> Fixture {
        Fixture::new()
            .file(SELF_CGROUP, HOST_CG)
            .file("/sys/fs/cgroup/unified/cgroup.controllers", HOST_CTL)
            .dir("/sys/fs/cgroup/memory")
            .statfs(ROOT, TMPFS_MAGIC, 1 << 30)
            .statfs(UNIFIED, CGROUP2_MAGIC, 0)
            .access("/sys/fs/cgroup/memory", Access::Write, "ok")
    }

    #[test]
    fn parses_real_self_cgroup() {
        let (l, g) = parse_self_cgroup(HOST_CG);
        assert!(g.is_empty());
        assert_eq!(l.len(), 10);
        assert_eq!(l[0].controllers, vec!["name=systemd"]);
        assert_eq!(l.last().unwrap().path, "/");
        let (l, _) = parse_self_cgroup(NESTED_CG);
        assert!(l[0].path.starts_with("/libpod_parent/libpod-"));
        let (_, g) = parse_self_cgroup("zz\n");
        assert_eq!(g, vec!["zz"]);
    }

    #[test]
    fn this_host_hybrid_crun_refuses() {
        let found = run(hybrid_host(), false, "oci");
        assert_eq!(found.cgroups.version, Version::Hybrid);
        assert!(found.cgroups.crun_refuses);
        assert_eq!(found.cgroups.controllers, vec!["hugetlb"]);
        // The runtime is judged (and fixed) by config.runtime, which runs later.
        let c = found.check("cgroups.hybrid").unwrap();
        assert_eq!(c.status, Status::Info);
        assert!(c.summary.contains("config.runtime"), "{}", c.summary);
        assert!(c.fix.is_none());
        assert_eq!(found.check("cgroups.version").unwrap().status, Status::Info);
        assert_eq!(found.check("cgroups.own").unwrap().status, Status::Ok);
        // After the fix.
        let found = run(hybrid_host(), false, "chroot");
        assert_eq!(found.check("cgroups.hybrid").unwrap().status, Status::Info);
        // Empty unified controllers: crun accepts it.
        let f = hybrid_host().file("/sys/fs/cgroup/unified/cgroup.controllers", "\n");
        let found = run(f, false, "oci");
        assert!(!found.cgroups.crun_refuses);
        assert_eq!(found.check("cgroups.hybrid").unwrap().status, Status::Ok);
    }

    #[test]
    fn podman5_on_v1_warns_and_env_hides_it() {
        let f = Fixture::new()
            .file(SELF_CGROUP, NESTED_CG)
            .statfs(ROOT, TMPFS_MAGIC, 0);
        let podman5 = Some(crate::probes::tools::Version::new(5, 4, 2));
        let found = run_with_podman(f, true, "rootless", podman5);
        let c = found.check("cgroups.version").unwrap();
        assert_eq!(c.status, Status::Warn);
        assert_eq!(
            c.fix.as_ref().unwrap().actions,
            vec![Action::SetEnv {
                key: "PODMAN_IGNORE_CGROUPSV1_WARNING".into(),
                value: "1".into()
            }]
        );
        let f = Fixture::new()
            .env("PODMAN_IGNORE_CGROUPSV1_WARNING", "1")
            .file(SELF_CGROUP, NESTED_CG)
            .statfs(ROOT, TMPFS_MAGIC, 0);
        assert_eq!(
            run_with_podman(f, true, "rootless", podman5)
                .check("cgroups.version")
                .unwrap()
                .status,
            Status::Info
        );
    }

    #[test]
    fn nested_readonly_cgroups_hit_rootful_oci_only() {
        let f = || {
            Fixture::new()
                .file(SELF_CGROUP, NESTED_CG)
                .file("/proc/self/mountinfo", NESTED_MI)
                .dir("/sys/fs/cgroup/memory")
                .statfs(ROOT, TMPFS_MAGIC, 0)
                .access("/sys/fs/cgroup/memory", Access::Write, "EROFS")
        };
        let found = run(f(), false, "oci");
        assert_eq!(found.cgroups.version, Version::V1);
        assert_eq!(found.cgroups.own_cgroup_writable, Some(false));
        let c = found.check("cgroups.own").unwrap();
        assert_eq!(c.status, Status::Warn);
        assert!(c.job_can_fix());
        assert_eq!(
            run(f(), true, "rootless")
                .check("cgroups.own")
                .unwrap()
                .status,
            Status::Info
        );
        assert_eq!(
            run(f(), false, "chroot")
                .check("cgroups.own")
                .unwrap()
                .status,
            Status::Info
        );
    }

    #[test]
    fn v2_and_unknown() {
        let f = Fixture::new()
            .file(SELF_CGROUP, "0::/\n")
            .file(
                "/sys/fs/cgroup/cgroup.controllers",
                "cpuset cpu io memory pids\n",
            )
            .statfs(ROOT, CGROUP2_MAGIC, 0)
            .access(ROOT, Access::Write, "ok")
            .dir("/run/systemd/system");
        let found = run(f, false, "oci");
        assert_eq!(found.cgroups.version, Version::V2);
        assert!(found.cgroups.systemd);
        assert!(found
            .check("cgroups.systemd")
            .unwrap()
            .summary
            .contains("defaults to the systemd cgroup manager"));
        assert_eq!(found.cgroups.own_v2_path.as_deref(), Some("/"));
        assert!(found
            .check("cgroups.version")
            .unwrap()
            .summary
            .contains("pids"));
        let found = run(Fixture::new(), true, "rootless");
        let c = found.check("cgroups.version").unwrap();
        assert_eq!(c.status, Status::Warn);
        assert_eq!(c.evidence["probe_ran"], json!(false));
        assert!(!found.cgroups.systemd);
        assert!(found
            .check("cgroups.systemd")
            .unwrap()
            .summary
            .contains("defaults to cgroupfs"));
    }
}
