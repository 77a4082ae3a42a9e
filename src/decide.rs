//! From findings to the plan podman will run with and the verdict.
//!
//! The plan is a pure function of the facts the areas observed
//! (`Observed`); `Findings::absorb` decides it again after every area, so a
//! later area reads the plan as decided from the earlier areas' facts.
//!
//! The probes keep the contract of `probes/mod.rs` (a check is `Error`
//! exactly when it breaks `podman build` as found; its fix is the job's
//! exactly when this tool clears it), so the verdict is an aggregation: a
//! wrong "ready" can only come from a probe that misjudged its area, and
//! each such mistake is fixed where the knowledge lives.

pub use crate::model::Plan;
use crate::model::{Check, Status};
use serde_json::{json, Value};

/// Who runs podman, as the identity area found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct User {
    pub uid: u32,
    /// `_CONTAINERS_USERNS_CONFIGURED` is set (podman re-executed itself in
    /// its own user namespace).
    pub userns_configured: bool,
    /// CAP_SYS_ADMIN is effective; `None` when the capabilities are unknown.
    pub sys_admin: Option<bool>,
}

/// The facts the plan is decided from. `None` where the area that observes
/// it has not run (the plan then keeps podman's defaults).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Observed<'a> {
    pub user: Option<User>,
    /// `BUILDAH_ISOLATION` as found (`Some(None)`: unset).
    pub isolation_env: Option<Option<&'a str>>,
    /// The runtime podman will pick, as the config area resolved it.
    pub runtime: Option<&'a str>,
    /// The storage driver and mount program, as the storage area resolved them.
    pub storage_driver: Option<&'a str>,
    pub mount_program: Option<&'a str>,
    /// The network mode RUN steps get, as the network area resolved it.
    pub network: Option<&'a str>,
}

/// Podman's own notion of rootless: any uid but 0, a re-executed podman,
/// or uid 0 without CAP_SYS_ADMIN (a failure to read the capabilities
/// leaves a root process rootful).
pub fn rootless(user: &User) -> bool {
    user.uid != 0 || user.userns_configured || user.sys_admin == Some(false)
}

/// The isolation `podman build` uses: `BUILDAH_ISOLATION` when it holds a
/// value podman accepts (`default` is `oci`), else the mode's default.
/// `Err(default)` when the variable holds a value podman refuses.
pub fn isolation(env: Option<&str>, rootless: bool) -> Result<String, String> {
    let default = if rootless { "rootless" } else { "oci" };
    let Some(v) = env else {
        return Ok(default.to_string());
    };
    // podman's `--isolation` flag defaults to this variable and takes
    // `default` as `oci` (verified: podman 4.3.1, 5.4.2).
    let lower = match v.to_ascii_lowercase() {
        d if d == "default" => "oci".to_string(),
        l => l,
    };
    if matches!(lower.as_str(), "oci" | "rootless" | "chroot") {
        Ok(lower)
    } else {
        Err(default.to_string())
    }
}

/// The plan from the facts so far.
pub fn plan(o: &Observed) -> Plan {
    let mut plan = Plan::default();
    if let Some(user) = &o.user {
        plan.rootless = rootless(user);
    }
    if let Some(env) = o.isolation_env {
        plan.isolation = isolation(env, plan.rootless).unwrap_or_else(|default| default);
    }
    if let Some(r) = o.runtime {
        plan.runtime = r.to_string();
    }
    if let Some(d) = o.storage_driver {
        plan.storage_driver = d.to_string();
        plan.mount_program = o.mount_program.map(str::to_string);
    }
    if let Some(n) = o.network {
        plan.network = n.to_string();
    }
    plan
}

/// What decides the network of a RUN step (docs/field-notes.md "Which
/// network a RUN step gets").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetInputs<'a> {
    pub rootless: bool,
    pub isolation: &'a str,
    /// containers.conf `[containers] netns`.
    pub netns: Option<&'a str>,
    /// `exec.LookPath("slirp4netns")`: PATH only, not the helper dirs.
    pub slirp4netns_in_path: bool,
    pub podman5: bool,
    /// containers.conf `[network] default_rootless_network_cmd`.
    pub rootless_cmd: Option<&'a str>,
    /// containers.conf `[network] network_backend`.
    pub backend_conf: Option<&'a str>,
    /// `<graphroot>/defaultNetworkBackend`, podman's cached choice.
    pub backend_cached: Option<&'a str>,
    /// The netavark helper binary exists.
    pub netavark: bool,
}

/// The network a RUN step gets: `mode` is `host`, `none`, `pasta`,
/// `slirp4netns` or `bridge`; `backend` (`netavark`, `cni`) for a bridge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    pub mode: String,
    pub backend: Option<String>,
}

/// Buildah's rule: chroot isolation and `netns = "host"` share the job's
/// network; rootless isolation without slirp4netns in PATH falls back to
/// the host network (only slirp4netns is looked for, on 4.3 and 5.4 alike);
/// otherwise rootless gets a helper (4.x slirp4netns, 5.x the configured
/// command, pasta by default) and rootful a bridge of the network backend.
pub fn network(n: &NetInputs) -> Network {
    let plain = |mode: &str| Network {
        mode: mode.to_string(),
        backend: None,
    };
    let named = n
        .netns
        .map(|v| v.split(':').next().unwrap_or(v))
        .filter(|v| matches!(*v, "host" | "none" | "pasta" | "slirp4netns"));
    if n.isolation == "chroot" {
        return plain("host");
    }
    if let Some(mode) = named {
        return plain(mode);
    }
    if n.rootless {
        if n.isolation == "rootless" && !n.slirp4netns_in_path {
            return plain("host");
        }
        return plain(match (n.podman5, n.rootless_cmd) {
            (false, _) => "slirp4netns",
            (true, Some("slirp4netns")) => "slirp4netns",
            (true, _) => "pasta",
        });
    }
    Network {
        mode: "bridge".into(),
        backend: Some(backend(n).into()),
    }
}

/// containers/common `NetworkBackend`: the setting, else the cached choice,
/// else (4.x) CNI when the netavark binary is missing; 5.x knows only
/// netavark (a cached `cni` is migrated).
fn backend(n: &NetInputs) -> &'static str {
    let pick = n.backend_conf.or(n.backend_cached).map(str::trim);
    match pick {
        _ if n.podman5 => "netavark",
        Some("cni") => "cni",
        Some("netavark") => "netavark",
        _ if n.netavark => "netavark",
        _ => "cni",
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub ready_before: bool,
    pub ready_after: bool,
    /// Ids of the checks that still block after the fixes (or, when the
    /// fixes clear everything, those that blocked before them).
    pub blocking: Vec<String>,
    /// Checks whose probe could not run, so the verdict rests on less
    /// evidence than usual, and (issue 9) checks of an area where a call
    /// was abandoned at its deadline (evidence `unsure`): while one of
    /// those stands, the doctor cannot say "ready".
    pub unsure: Vec<String>,
}

/// Checks an abandoned call left unknown (see `probes::mark_unsure`).
fn stalled(checks: &[Check]) -> Vec<String> {
    checks
        .iter()
        .filter(|c| c.evidence.contains_key("unsure"))
        .map(|c| c.id.to_string())
        .collect()
}

fn blocking(checks: &[Check]) -> Vec<String> {
    checks
        .iter()
        .filter(|c| c.is_blocking())
        .map(|c| c.id.to_string())
        .collect()
}

/// `before` are the checks as found; `after` the checks probed again once
/// every fix was applied (or simulated).
pub fn verdict(before: &[Check], after: &[Check]) -> Verdict {
    let blocked_before = blocking(before);
    let blocked_after = blocking(after);
    let (stalled_before, stalled_after) = (stalled(before), stalled(after));
    let mut unsure: Vec<String> = after
        .iter()
        .filter(|c| c.status == Status::Warn && c.evidence.get("probe_ran") == Some(&json!(false)))
        .map(|c| c.id.to_string())
        .collect();
    for id in stalled_before.iter().chain(&stalled_after) {
        if !unsure.contains(id) {
            unsure.push(id.clone());
        }
    }
    Verdict {
        ready_before: blocked_before.is_empty() && stalled_before.is_empty(),
        ready_after: blocked_after.is_empty() && stalled_after.is_empty(),
        blocking: if blocked_after.is_empty() {
            blocked_before
        } else {
            blocked_after
        },
        unsure,
    }
}

impl Verdict {
    pub fn to_json(&self) -> Value {
        json!({
            "ready_before": self.ready_before,
            "ready_after": self.ready_after,
            "blocking": self.blocking,
            "unsure": self.unsure,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Check;

    #[test]
    fn plan_follows_the_facts() {
        assert_eq!(plan(&Observed::default()), Plan::default());
        let root = User {
            uid: 0,
            userns_configured: false,
            sys_admin: Some(true),
        };
        let o = Observed {
            user: Some(root),
            isolation_env: Some(None),
            ..Observed::default()
        };
        let p = plan(&o);
        assert!(!p.rootless);
        assert_eq!(p.isolation, "oci");
        let no_admin = User {
            sys_admin: Some(false),
            ..root
        };
        assert!(rootless(&no_admin));
        assert!(!rootless(&User {
            sys_admin: None,
            ..root
        }));
        assert_eq!(isolation(None, true), Ok("rootless".into()));
        assert_eq!(isolation(Some("Default"), true), Ok("oci".into()));
        assert_eq!(isolation(Some("CHROOT"), false), Ok("chroot".into()));
        assert_eq!(isolation(Some("bogus"), true), Err("rootless".into()));
    }

    #[test]
    fn network_follows_buildah() {
        let base = NetInputs {
            rootless: true,
            isolation: "rootless",
            slirp4netns_in_path: true,
            podman5: true,
            netavark: true,
            ..NetInputs::default()
        };
        let mode = |n: NetInputs| network(&n).mode;
        assert_eq!(mode(base), "pasta");
        assert_eq!(
            mode(NetInputs {
                rootless_cmd: Some("slirp4netns"),
                ..base
            }),
            "slirp4netns"
        );
        // No slirp4netns in PATH: host network, on 4.x and 5.x, pasta or not.
        let noslirp = NetInputs {
            slirp4netns_in_path: false,
            ..base
        };
        assert_eq!(mode(noslirp), "host");
        assert_eq!(
            mode(NetInputs {
                podman5: false,
                ..noslirp
            }),
            "host"
        );
        // Only rootless isolation falls back.
        assert_eq!(
            mode(NetInputs {
                isolation: "oci",
                ..noslirp
            }),
            "pasta"
        );
        assert_eq!(
            mode(NetInputs {
                podman5: false,
                ..base
            }),
            "slirp4netns"
        );
        assert_eq!(
            mode(NetInputs {
                isolation: "chroot",
                ..base
            }),
            "host"
        );
        assert_eq!(
            mode(NetInputs {
                netns: Some("host"),
                ..base
            }),
            "host"
        );
        assert_eq!(
            mode(NetInputs {
                netns: Some("slirp4netns:mtu=1500"),
                ..base
            }),
            "slirp4netns"
        );
        // Rootful: 4.x without the netavark helper takes CNI.
        let root = NetInputs {
            rootless: false,
            isolation: "oci",
            podman5: false,
            netavark: false,
            ..base
        };
        let bridge = |n: NetInputs| network(&n).backend.unwrap();
        assert_eq!(mode(root), "bridge");
        assert_eq!(bridge(root), "cni");
        assert_eq!(
            bridge(NetInputs {
                netavark: true,
                ..root
            }),
            "netavark"
        );
        assert_eq!(
            bridge(NetInputs {
                netavark: true,
                backend_cached: Some("cni\n"),
                ..root
            }),
            "cni"
        );
        assert_eq!(
            bridge(NetInputs {
                backend_conf: Some("netavark"),
                ..root
            }),
            "netavark"
        );
        assert_eq!(
            bridge(NetInputs {
                podman5: true,
                backend_cached: Some("cni"),
                ..root
            }),
            "netavark"
        );
    }

    #[test]
    fn ready_only_without_errors() {
        let before = vec![
            Check::ok("a.b", "fine"),
            Check::error("home.writable", "no"),
            Check::warn("c.d", "meh"),
        ];
        let after = vec![Check::ok("a.b", "fine"), Check::warn("c.d", "meh")];
        let v = verdict(&before, &after);
        assert!(!v.ready_before);
        assert!(v.ready_after);
        assert_eq!(v.blocking, vec!["home.writable"]);
        let v = verdict(&before, &before);
        assert!(!v.ready_after);
    }
}
