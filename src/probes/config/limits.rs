//! The checks of the limits RUN steps get: `default_ulimits` against the
//! job's hard limits, and podman 4's soft nofile.

use super::facts::Facts;
use super::resolution::target_in;
use crate::host::Host;
use crate::model::Check;
use crate::probes::limits::Limit;
use crate::probes::tools::Version;
use crate::probes::Obs;
use crate::remedy::conf::attach;
use serde_json::json;

pub(super) const LIMITS: &str = "/proc/self/limits";
/// Podman's implicit RLIMIT_NOFILE/NPROC for containers (`define.RLimitDefaultValue`).
const RLIMIT_DEFAULT: u64 = 1_048_576;
/// A soft nofile below this (and below the hard limit) is raised for RUN
/// steps: 1024 is what Docker >= 25 and containerd 2 give; builds that open
/// tens of thousands of files are rare, and the fix is harmless anyway.
const NOFILE_LOW: u64 = 65_536;

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

// --- config.ulimits
pub(super) fn ulimit_check(host: &Host, found: &mut Obs, f: &Facts, podman: Option<Version>) {
    let limits = host.read(LIMITS);
    let (nofile_hard, nproc_hard) = limits
        .as_ref()
        .map(|t| parse_hard_limits(t))
        .unwrap_or((None, None));
    let resource = crate::probes::caps::effective(host, found, caps::Capability::CAP_SYS_RESOURCE);
    let configured: Vec<String> = f
        .get("containers.default_ulimits")
        .and_then(|s| s.value.as_str_array())
        .unwrap_or_default();
    // Rootful podman 5 sets nofile/nproc to 1048576 without clamping (podman
    // 4.3 verified not to for build); rootless clamps to the hard limit.
    let implicit = !found.plan.rootless && crate::probes::tools::podman5(podman);
    let too_high = above_hard(&configured, implicit, nofile_hard, nproc_hard);
    let check = if limits.is_err() {
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
            &within_hard(&configured, nofile_hard, nproc_hard),
            "Keep container ulimits within the job's hard limits",
        )
    };
    found.checks.push(
        check
            .with("default_ulimits", json!(configured))
            .with("source", f.source("containers.default_ulimits"))
            .with("nofile_hard", json!(nofile_hard))
            .with("nproc_hard", json!(nproc_hard))
            .with("cap_sys_resource", resource),
    );
}

/// The limits RUN steps would ask for above the job's hard ones, in words:
/// the configured `default_ulimits`, plus podman 5's implicit nofile/nproc
/// when `implicit`.
fn above_hard(
    configured: &[String],
    implicit: bool,
    nofile_hard: Option<u64>,
    nproc_hard: Option<u64>,
) -> Vec<String> {
    let mut wants: Vec<(String, u64, &'static str)> = configured
        .iter()
        .filter_map(|u| parse_ulimit(u))
        .map(|(name, _soft, hard)| (name, hard, "configured"))
        .collect();
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
    wants
        .iter()
        .filter(|(n, v, _)| hard_of(n).is_some_and(|h| *v > h))
        .map(|(n, v, how)| format!("{n}={v} ({how}) > hard {}", hard_of(n).unwrap_or(0)))
        .collect()
}

/// The drop-in keeping the configured ulimits other than nofile/nproc and
/// setting those two to the hard limits.
fn within_hard(configured: &[String], nofile_hard: Option<u64>, nproc_hard: Option<u64>) -> String {
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
    format!(
        "[containers]\ndefault_ulimits = [\n{}]\n",
        entries
            .iter()
            .map(|e| format!("  \"{e}\",\n"))
            .collect::<String>()
    )
}

// --- config.nofile_soft
/// Podman 4 (buildah 1.28) gives RUN steps the job's own soft nofile; with
/// the soft limit at 1024 (Docker >= 25, containerd 2) a RUN opening more
/// files fails (`deb12-rootless-priv-nofile1024`), although most builds do
/// not. Raising the job's own soft limit does not reach the RUN (verified);
/// `default_ulimits = ["nofile=H:H"]` in a drop-in does (verified, try.sh).
/// The doctor cannot know the Containerfile: an error with the job's fix
/// (env/exec apply it, so no working pipeline is stopped), a warning when
/// no fix can be placed. Podman 5 raises the soft limit itself.
pub(super) fn nofile_soft_check(host: &Host, found: &mut Obs, f: &Facts, podman: Option<Version>) {
    let lim = found.limits.nofile;
    let configured = f
        .get("containers.default_ulimits")
        .and_then(|s| s.value.as_str_array())
        .unwrap_or_default()
        .iter()
        .any(|u| u.trim_start().starts_with("nofile"));
    let low = match (lim.soft, lim.hard) {
        (Some(s), Some(h)) => s < h && s < NOFILE_LOW,
        (Some(s), None) => s < NOFILE_LOW,
        _ => false,
    };
    if !found.limits.known || crate::probes::tools::podman5(podman) || configured || !low {
        found.checks.push(
            Check::ok(
                "config.nofile_soft",
                format!("RUN steps get nofile {}", lim.describe()),
            )
            .with("nofile", lim.describe()),
        );
        return;
    }
    let hard = lim.hard.unwrap_or(RLIMIT_DEFAULT).min(RLIMIT_DEFAULT);
    let body = format!("[containers]\ndefault_ulimits = [\"nofile={hard}:{hard}\"]\n");
    let summary = format!(
        "soft nofile {} (hard {}): podman 4 passes the soft limit to RUN steps, so a RUN that opens \
         more files fails (`Too many open files`)",
        Limit::show(lim.soft),
        Limit::show(lim.hard)
    );
    let c = attach(
        Check::error("config.nofile_soft", summary.clone()),
        host,
        &target_in(host, found, &f.settings),
        "nofile",
        &body,
        "Give RUN steps the hard nofile limit (raising the job's own soft limit does not reach them)",
    );
    let c = if c.job_can_fix() {
        c
    } else {
        // No place for the fix: most builds open few files; do not stop them.
        let mut w = c;
        w.status = crate::model::Status::Warn;
        w
    };
    found
        .checks
        .push(c.with("nofile", lim.describe()).with("podman5", false));
}
