//! The checks of what podman gives each RUN step's container:
//! `default_capabilities` against the bounding set, `default_sysctls`
//! against a read-only /proc/sys.

use super::facts::Facts;
use super::resolution::target_in;
use crate::formats::toml;
use crate::host::Host;
use crate::model::Check;
use crate::probes::Obs;
use crate::remedy::conf::attach;
use serde_json::json;

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

// --- config.capabilities
pub(super) fn capabilities_check(host: &Host, found: &mut Obs, f: &Facts) {
    let configured = f
        .get("containers.default_capabilities")
        .and_then(|s| s.value.as_str_array());
    let src = f.source("containers.default_capabilities");
    let wanted: Vec<String> =
        configured.unwrap_or_else(|| DEFAULT_CAPABILITIES.iter().map(|c| c.to_string()).collect());
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
            let body = keep_only(&wanted, &missing);
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

/// A capability name's bit (`chown`, `CAP_CHOWN`); `None` when unknown.
fn bit(name: &str) -> Option<u64> {
    let upper = name.trim().to_ascii_uppercase();
    let full = if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    };
    full.parse::<caps::Capability>().ok().map(|c| c.bitmask())
}

/// The drop-in listing the wanted capabilities but the missing ones.
fn keep_only(wanted: &[String], missing: &[&String]) -> String {
    let keep: Vec<&String> = wanted.iter().filter(|c| !missing.contains(c)).collect();
    format!(
        "[containers]\ndefault_capabilities = [\n{}]\n",
        keep.iter()
            .map(|c| format!("  {},\n", toml::quote(c)))
            .collect::<String>()
    )
}

// --- config.sysctls
pub(super) fn sysctl_check(host: &Host, found: &mut Obs, f: &Facts) {
    let sysctls = f
        .get("containers.default_sysctls")
        .and_then(|s| s.value.as_str_array())
        .unwrap_or_default();
    let src = f.source("containers.default_sysctls");
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
