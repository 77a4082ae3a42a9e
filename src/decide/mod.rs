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

use crate::ids::Uid;
pub use crate::model::Plan;
mod demote;
mod network;
pub mod runtime;
mod storage;
mod verdict;

pub use demote::demote;
pub use network::{network, NetInputs, Network};
pub use storage::{
    leaves_overlay_behind, storage, EntryKind, PriorEntry, StorageChoice, StorageFacts,
    PRIOR_DRIVERS,
};
pub use verdict::{verdict, Verdict};

/// Who runs podman, as the identity area found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct User {
    pub uid: Uid,
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
    /// What the config area observed about the OCI runtimes.
    pub runtime: Option<&'a runtime::RuntimeFacts>,
    /// What the storage driver and mount program follow from, as the
    /// storage area observed it.
    pub storage: Option<&'a StorageFacts>,
    /// What the network of RUN steps is decided from, as the network area
    /// observed it.
    pub network: Option<NetInputs<'a>>,
}

/// Podman's own notion of rootless: any uid but 0, a re-executed podman,
/// or uid 0 without CAP_SYS_ADMIN (a failure to read the capabilities
/// leaves a root process rootful).
pub fn rootless(user: &User) -> bool {
    !user.uid.is_root() || user.userns_configured || user.sys_admin == Some(false)
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
        plan.runtime = runtime::planned(r, plan.isolation == "chroot");
    }
    if let Some(facts) = o.storage {
        let choice = storage(facts);
        plan.storage_driver = choice.driver;
        plan.mount_program = choice.mount_program;
    }
    if let Some(n) = &o.network {
        plan.network = network(n).mode;
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_follows_the_facts() {
        assert_eq!(plan(&Observed::default()), Plan::default());
        let root = User {
            uid: Uid(0),
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
    fn plan_takes_the_storage_choice_once_the_area_ran() {
        // Rootful, native overlay fails, fuse-overlayfs installed.
        let facts = StorageFacts {
            fuse_overlayfs: Some("/usr/bin/fuse-overlayfs".into()),
            native_overlay: Some(false),
            ..StorageFacts::default()
        };
        let p = plan(&Observed {
            storage: Some(&facts),
            ..Observed::default()
        });
        assert_eq!(p.storage_driver, "overlay");
        assert_eq!(p.mount_program.as_deref(), Some("/usr/bin/fuse-overlayfs"));
        let vfs = StorageFacts {
            fuse_overlayfs: None,
            ..facts
        };
        let p = plan(&Observed {
            storage: Some(&vfs),
            ..Observed::default()
        });
        assert_eq!((p.storage_driver.as_str(), p.mount_program), ("vfs", None));
    }
}
