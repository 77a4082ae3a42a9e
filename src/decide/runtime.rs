//! The OCI runtime RUN steps run with, and what the job can do when it
//! cannot run them: a pure function of what the config area observed.
//!
//! The rules, from containers/common `pkg/config` and libpod:
//! - without `[engine] runtime`, the default is the first runtime found of
//!   crun, runc, runj, kata, runsc, ocijail, each at its `[engine.runtimes]`
//!   paths and then on PATH (`EngineConfig.findRuntime`, common 0.50 for
//!   podman 4.3 and today). This tool looks for crun and runc only (a job
//!   image with kata alone is not one it judges): crun when crun is found
//!   or neither is, else runc;
//! - the runtime's executable is the first regular file among its
//!   `[engine.runtimes]` paths, else its name on PATH (libpod
//!   `newConmonOCIRuntime`: `no valid executable found for OCI runtime`);
//!   the area observes that path;
//! - crun refuses the systemd hybrid layout with controllers on v2 (`cgroups
//!   in hybrid mode not supported`), runc accepts it; chroot isolation uses
//!   no runtime at all.

/// What the config area observed about the OCI runtimes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuntimeFacts {
    /// `[engine] runtime` as configured; `None`: podman's default.
    pub configured: Option<String>,
    /// crun and runc are installed (found by the tools area).
    pub crun: bool,
    pub runc: bool,
    /// Where the runtime podman names (`name`) was found, if anywhere.
    pub path: Option<String>,
    /// crun refuses this cgroup layout (hybrid with v2 controllers, as the
    /// cgroups area found it).
    pub crun_refuses_hybrid: bool,
    /// The job can give podman a containers.conf setting naming runc
    /// (`remedy::conf::route` found a place).
    pub runc_settable: bool,
}

/// What becomes of RUN steps with the runtime podman names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice<'a> {
    /// Installed at this path and it takes the cgroup layout.
    Usable { path: &'a str },
    /// crun at this path refuses the hybrid layout; the job configures runc.
    HybridToRunc { path: &'a str },
    /// crun at this path refuses the hybrid layout and runc cannot take its
    /// place: RUN steps need chroot isolation.
    HybridChroot { path: &'a str },
    /// Not installed, nor is any other runtime.
    Missing,
    /// Not installed; the other one installed is crun, which refuses the
    /// hybrid layout: chroot isolation.
    MissingOtherRefuses,
    /// Not installed; the job points podman at the other one installed.
    MissingUseOther(&'static str),
}

/// Podman's default runtime from what is installed (see module docs).
pub fn default_name(crun: bool, runc: bool) -> &'static str {
    if crun || !runc {
        "crun"
    } else {
        "runc"
    }
}

/// The runtime podman names: the configured one, else the default.
pub fn name(f: &RuntimeFacts) -> &str {
    f.configured
        .as_deref()
        .unwrap_or_else(|| default_name(f.crun, f.runc))
}

/// The installed runtime a fix could switch to: runc for crun, else crun.
fn other(f: &RuntimeFacts) -> Option<&'static str> {
    match name(f) {
        "crun" => f.runc.then_some("runc"),
        _ => f.crun.then_some("crun"),
    }
}

/// The runtime's fate; `chroot`: the plan's isolation is chroot (no runtime
/// runs, so the cgroup layout does not matter).
pub fn choose(f: &RuntimeFacts, chroot: bool) -> Choice<'_> {
    let hybrid = f.crun_refuses_hybrid && !chroot;
    // An absolute path counts as crun by its last component.
    let refuses = |n: &str| hybrid && n.rsplit('/').next() == Some("crun");
    match (f.path.as_deref(), other(f)) {
        (Some(path), _) if !refuses(name(f)) => Choice::Usable { path },
        // runc itself must be installed (a crun named by its path has
        // crun as its `other`).
        (Some(path), _) if f.runc && f.runc_settable => Choice::HybridToRunc { path },
        (Some(path), _) => Choice::HybridChroot { path },
        (None, None) => Choice::Missing,
        (None, Some(o)) if refuses(o) => Choice::MissingOtherRefuses,
        (None, Some(o)) => Choice::MissingUseOther(o),
    }
}

/// The runtime the plan names: the one podman names, or the one the job's
/// fix switches to.
pub fn planned(f: &RuntimeFacts, chroot: bool) -> String {
    match choose(f, chroot) {
        Choice::HybridToRunc { .. } => "runc".into(),
        Choice::MissingUseOther(o) => o.into(),
        _ => name(f).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(configured: Option<&str>, crun: bool, runc: bool, path: Option<&str>) -> RuntimeFacts {
        RuntimeFacts {
            configured: configured.map(str::to_string),
            crun,
            runc,
            path: path.map(str::to_string),
            ..RuntimeFacts::default()
        }
    }

    #[test]
    fn the_default_is_crun_then_runc() {
        // findRuntime: crun first, then runc.
        assert_eq!(default_name(true, true), "crun");
        assert_eq!(default_name(false, true), "runc");
        // Neither found: this tool names crun (podman has no runtime).
        assert_eq!(default_name(false, false), "crun");
        // A configured runtime wins over the search.
        assert_eq!(name(&facts(Some("runc"), true, true, None)), "runc");
        assert_eq!(name(&facts(None, false, true, None)), "runc");
    }

    #[test]
    fn an_installed_runtime_is_used() {
        let f = facts(None, true, false, Some("/usr/bin/crun"));
        assert_eq!(
            choose(&f, false),
            Choice::Usable {
                path: "/usr/bin/crun"
            }
        );
        assert_eq!(planned(&f, false), "crun");
    }

    #[test]
    fn crun_on_hybrid_cgroups_switches_to_runc_when_it_can() {
        // crun refuses the hybrid layout; runc takes it.
        let mut f = facts(None, true, true, Some("/usr/bin/crun"));
        f.crun_refuses_hybrid = true;
        f.runc_settable = true;
        let path = "/usr/bin/crun";
        assert_eq!(choose(&f, false), Choice::HybridToRunc { path });
        assert_eq!(planned(&f, false), "runc");
        // No place for the setting: chroot isolation, the plan keeps crun.
        f.runc_settable = false;
        assert_eq!(choose(&f, false), Choice::HybridChroot { path });
        assert_eq!(planned(&f, false), "crun");
        // runc not installed.
        let mut f = facts(None, true, false, Some(path));
        f.crun_refuses_hybrid = true;
        f.runc_settable = true;
        assert_eq!(choose(&f, false), Choice::HybridChroot { path });
        // crun configured by its path, runc not installed: not runc either.
        let mut f = facts(Some(path), true, false, Some(path));
        f.crun_refuses_hybrid = true;
        f.runc_settable = true;
        assert_eq!(choose(&f, false), Choice::HybridChroot { path });
        assert_eq!(planned(&f, false), path);
        // chroot isolation runs no runtime: crun is fine.
        assert_eq!(choose(&f, true), Choice::Usable { path });
        // runc itself accepts the hybrid layout.
        let mut f = facts(Some("runc"), true, true, Some("/usr/bin/runc"));
        f.crun_refuses_hybrid = true;
        assert!(matches!(choose(&f, false), Choice::Usable { .. }));
    }

    #[test]
    fn a_missing_runtime_switches_to_the_installed_one() {
        // libpod: `no valid executable found for OCI runtime`.
        let f = facts(Some("crun"), false, true, None);
        assert_eq!(choose(&f, false), Choice::MissingUseOther("runc"));
        assert_eq!(planned(&f, false), "runc");
        let f = facts(Some("runc"), true, false, None);
        assert_eq!(choose(&f, false), Choice::MissingUseOther("crun"));
        assert_eq!(planned(&f, false), "crun");
        // Nothing installed: the plan names what podman names.
        let f = facts(None, false, false, None);
        assert_eq!(choose(&f, false), Choice::Missing);
        assert_eq!(planned(&f, false), "crun");
        // The installed crun refuses the hybrid layout.
        let mut f = facts(Some("runc"), true, false, None);
        f.crun_refuses_hybrid = true;
        assert_eq!(choose(&f, false), Choice::MissingOtherRefuses);
        assert_eq!(planned(&f, false), "runc");
        assert_eq!(choose(&f, true), Choice::MissingUseOther("crun"));
    }
}
