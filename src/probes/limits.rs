//! Area `limits`: the RLIMIT_NOFILE / RLIMIT_NPROC limits of the job and
//! whether it may raise them (`CAP_SYS_RESOURCE`), catalog E6.
//!
//! What `podman build` asks for: its RUN steps get only the explicit
//! ulimits (`[containers] default_ulimits` in containers.conf, `--ulimit`);
//! a value above the hard limit without CAP_SYS_RESOURCE makes the runtime
//! fail (`setrlimit RLIMIT_NOFILE: Operation not permitted`). The config
//! area resolves `default_ulimits` and judges it with [`Facts::allows`].
//! `podman run` also asks for an implicit 1048576 that rootful podman does
//! not clamp (seen with podman 4.3.1 on a host whose hard limit is lower).

use super::{AreaOut, Findings, Obs};
pub use crate::formats::limits::{parse_limits, Limit};
use crate::host::{io_error_name, Host};
use crate::model::{By, Check, Spec};
use caps::Capability;

const LIMITS: &str = "/proc/self/limits";
/// Podman's implicit nofile/nproc for `podman run` (define.RLimitDefaultValue).
pub const PODMAN_DEFAULT: u64 = 1_048_576;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Facts {
    /// `/proc/self/limits` was read and both lines parsed.
    pub known: bool,
    pub nofile: Limit,
    pub nproc: Limit,
    /// CAP_SYS_RESOURCE is effective: limits may be raised above the hard one.
    pub has_sys_resource: bool,
}

impl Facts {
    /// Judges one ulimit podman would set (`nofile=SOFT:HARD` as in
    /// containers.conf `default_ulimits`): `Err(reason)` when the runtime
    /// will fail to set it.
    pub fn allows(&self, spec: &str) -> Result<(), String> {
        let (name, values) = spec
            .split_once('=')
            .ok_or_else(|| format!("{spec:?} is not name=SOFT:HARD"))?;
        let (soft, hard) = values.split_once(':').unwrap_or((values, values));
        let parse = |v: &str| -> Result<Option<u64>, String> {
            match v.trim() {
                "-1" | "unlimited" => Ok(None),
                n => n
                    .parse::<u64>()
                    .map(Some)
                    .map_err(|_| format!("{spec:?}: {n:?} is not a number")),
            }
        };
        let (soft, hard) = (parse(soft)?, parse(hard)?);
        if let (Some(s), Some(h)) = (soft, hard) {
            if s > h {
                return Err(format!("{spec:?}: soft limit above hard limit (EINVAL)"));
            }
        }
        let current = match name.trim() {
            "nofile" => self.nofile,
            "nproc" => self.nproc,
            _ => return Ok(()),
        };
        if !self.known || self.has_sys_resource {
            return Ok(());
        }
        let fits = match hard {
            None => current.hard.is_none(),
            Some(h) => current.hard_allows(h),
        };
        if fits {
            Ok(())
        } else {
            Err(format!(
                "{spec:?} exceeds the hard limit {} and CAP_SYS_RESOURCE is missing",
                Limit::show(current.hard)
            ))
        }
    }
}

pub const SPECS: &[Spec] = &[
    Spec {
        id: "limits.nofile",
        title: "Open-files limit (RLIMIT_NOFILE) versus what podman asks for",
        explain: "The runtime sets each container's RLIMIT_NOFILE. Without CAP_SYS_RESOURCE \
it cannot go above the job's hard limit: crun fails with ``setrlimit `RLIMIT_NOFILE`: \
Operation not permitted`` (runc: `error setting rlimit type 7`). `podman build` RUN steps get \
only explicit ulimits (containers.conf `default_ulimits`, `--ulimit`); `podman run` also asks \
for 1048576, which rootful podman does not lower to the hard limit. Fix: \
`[containers] default_ulimits = []` or values <= the hard limit, `--ulimit host`; or raise the \
container runtime's LimitNOFILE / add SYS_RESOURCE (runner admin).",
        signatures: &["setrlimit `RLIMIT_NOFILE`", "error setting rlimit type 7"],
    },
    Spec {
        id: "limits.nproc",
        title: "Process limit (RLIMIT_NPROC) versus what podman asks for",
        explain: "As for RLIMIT_NOFILE: a ulimit above the job's hard RLIMIT_NPROC without \
CAP_SYS_RESOURCE makes the runtime fail (``setrlimit `RLIMIT_NPROC`: Operation not \
permitted``, runc `error setting rlimit type 6`). Distribution containers.conf files sometimes \
set `default_ulimits = [\"nproc=4194304:4194304\"]`. Fix: `default_ulimits = []` or values \
<= the hard limit; or add SYS_RESOURCE / raise the node limits (runner admin).",
        signatures: &["setrlimit `RLIMIT_NPROC`", "error setting rlimit type 6"],
    },
];

pub fn probe(host: &Host, earlier: &Findings) -> AreaOut<Facts> {
    let found = &mut Obs::new(earlier);
    let mut facts = Facts {
        has_sys_resource: found.caps.has_effective(Capability::CAP_SYS_RESOURCE),
        ..Facts::default()
    };
    let text = match host.read(LIMITS) {
        Ok(t) => t,
        Err(e) => {
            for id in ["limits.nofile", "limits.nproc"] {
                found.checks.push(
                    Check::warn(
                        id,
                        format!(
                            "cannot read {LIMITS} ({}): resource limits unknown",
                            io_error_name(&e)
                        ),
                    )
                    .with("path", LIMITS)
                    .with("errno", io_error_name(&e))
                    .with("probe_ran", false),
                );
            }
            return found.finish(facts);
        }
    };
    let (nofile, nproc) = parse_limits(&text);
    facts.known = nofile.is_some() && nproc.is_some();
    facts.nofile = nofile.unwrap_or_default();
    facts.nproc = nproc.unwrap_or_default();
    for (id, name, lim) in [
        ("limits.nofile", "nofile", nofile),
        ("limits.nproc", "nproc", nproc),
    ] {
        found.checks.push(judge(
            id,
            name,
            lim,
            &facts,
            found.plan.rootless,
            found.caps.known,
        ));
    }
    found.finish(facts)
}

fn judge(
    id: &'static str,
    name: &str,
    lim: Option<Limit>,
    facts: &Facts,
    rootless: bool,
    caps_known: bool,
) -> Check {
    let Some(lim) = lim else {
        return Check::warn(
            id,
            format!("{LIMITS} has no readable {name} line: the limit is unknown"),
        )
        .with("path", LIMITS)
        .with("probe_ran", false);
    };
    let base = |c: Check| {
        c.with("path", LIMITS)
            .with(
                "soft",
                lim.soft
                    .map_or(serde_json::json!("unlimited"), |v| v.into()),
            )
            .with(
                "hard",
                lim.hard
                    .map_or(serde_json::json!("unlimited"), |v| v.into()),
            )
            .with("cap_sys_resource", facts.has_sys_resource)
    };
    let shown = lim.describe();
    if facts.has_sys_resource {
        return base(Check::ok(
            id,
            format!("{name} {shown}; CAP_SYS_RESOURCE lets the runtime raise it"),
        ));
    }
    if lim.hard_allows(PODMAN_DEFAULT) {
        return base(Check::ok(
            id,
            format!("{name} {shown}: room for podman's default {PODMAN_DEFAULT}"),
        ));
    }
    let sysres = if caps_known {
        "without CAP_SYS_RESOURCE"
    } else {
        "(CAP_SYS_RESOURCE unknown)"
    };
    if rootless {
        base(Check::info(
            id,
            format!(
                "{name} {shown} {sysres}: rootless podman lowers its defaults to it; only an \
                 explicit default_ulimits/--ulimit above {} would fail (judged by config)",
                Limit::show(lim.hard)
            ),
        ))
    } else {
        base(
            Check::warn(
                id,
                format!(
                    "{name} {shown} {sysres}: rootful `podman run` asks for {PODMAN_DEFAULT} \
                     and fails to set it; podman 5 asks the same for every RUN step of a build, \
                     podman 4 does not (config.ulimits judges the build and fixes it)"
                ),
            )
            .fix(
                By::Job,
                format!(
                    "for `podman run`: pass `--ulimit host` or `--ulimit {name}={h}:{h}`, or set \
                     `[containers] default_ulimits = [\"{name}={h}:{h}\"]` in containers.conf; \
                     runner admin: add SYS_RESOURCE (`cap_add`) or raise the runtime's limit",
                    h = Limit::show(lim.hard)
                ),
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;
    use crate::probes::testutil::Fixture;

    const HOST: &str = include_str!("../../tests/fixtures/captured/host/proc/self/limits");
    const NESTED: &str = include_str!("../../tests/fixtures/captured/nested-root/proc/self/limits");
    const FULL_CAPS: &str =
        "CapEff:\t000001ffffffffff\nCapPrm:\t000001ffffffffff\nCapBnd:\t000001ffffffffff\n";

    fn run(limits: &str, status: Option<&str>, rootless: bool) -> Findings {
        let mut f = Fixture::new().file(LIMITS, limits);
        if let Some(s) = status {
            f = f.file("/proc/self/status", s);
        }
        let host = f.host();
        let mut found = Findings::default();
        crate::probes::testutil::given_rootless(&mut found, rootless);
        found.absorb(crate::probes::caps::probe(&host, &found));
        found.absorb(probe(&host, &found));
        found
    }

    #[test]
    fn parses_real_limits() {
        let (nofile, nproc) = parse_limits(HOST);
        assert_eq!(nofile.unwrap().hard, Some(20000));
        assert_eq!(nproc.unwrap().soft, Some(96364));
        let (nofile, nproc) = parse_limits(NESTED);
        assert_eq!(nofile.unwrap().describe(), "1024:1024");
        assert_eq!(nproc.unwrap().describe(), "1024:1024");
        let (nofile, _) = parse_limits("Max open files  unlimited  unlimited  files\n");
        assert_eq!(nofile.unwrap().hard, None);
    }

    #[test]
    fn rootful_without_sys_resource_warns_for_run() {
        // This host: hard nofile 20000, no CAP_SYS_RESOURCE, rootful.
        let status = include_str!("../../tests/fixtures/captured/host/proc/self/status");
        let found = run(HOST, Some(status), false);
        let c = found.check("limits.nofile").unwrap();
        assert_eq!(c.status, Status::Warn);
        assert!(c.summary.contains("podman run"), "{}", c.summary);
        assert!(!c.job_can_fix());
        assert!(c.fix.as_ref().unwrap().text.contains("nofile=20000:20000"));
        assert!(!found.limits.has_sys_resource);
        assert!(found.limits.allows("nofile=1024:1024").is_ok());
        assert!(found.limits.allows("nproc=4194304:4194304").is_err());
        assert!(found.limits.allows("nofile=10:5").is_err());
        assert!(found.limits.allows("core=1:1").is_ok());
    }

    #[test]
    fn rootless_is_clamped_and_sys_resource_is_fine() {
        let found = run(NESTED, None, true);
        assert_eq!(found.check("limits.nproc").unwrap().status, Status::Info);
        let found = run(NESTED, Some(FULL_CAPS), false);
        assert!(found.limits.has_sys_resource);
        assert_eq!(found.check("limits.nofile").unwrap().status, Status::Ok);
        assert!(found.limits.allows("nproc=4194304:4194304").is_ok());
        let big =
            "Max processes  unlimited unlimited processes\nMax open files 1048576 1048576 files\n";
        let found = run(big, None, false);
        assert_eq!(found.check("limits.nofile").unwrap().status, Status::Ok);
        assert_eq!(found.check("limits.nproc").unwrap().status, Status::Ok);
    }

    #[test]
    fn unreadable_limits_are_unknown() {
        let found = run("Max open files  x  y\n", None, false);
        assert!(!found.limits.known);
        let c = found.check("limits.nofile").unwrap();
        assert_eq!(c.status, Status::Warn);
        assert_eq!(c.evidence["probe_ran"], serde_json::json!(false));
        let host = Fixture::new()
            .answer("read_errors", LIMITS, serde_json::json!("EACCES"))
            .host();
        let mut found = Findings::default();
        found.absorb(probe(&host, &found));
        assert!(found
            .check("limits.nproc")
            .unwrap()
            .summary
            .contains("EACCES"));
    }
}
