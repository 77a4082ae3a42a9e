//! issue 10: what an area consulted and what a fix round changed, so that
//! the next round re-runs only from the first area a change can reach.
//!
//! Only for staged runs (`check`, `--dry-run`): there a change is an entry
//! in the staged map or a variable set for later probes, and a staged entry
//! is seen exactly by a lookup of the same path string, or by listing its
//! parent directory (see `Host::read_dir`). Files on disk do not change, and
//! answers of the system are kept for the run (`Host::kept`), so an area
//! that consulted nothing a round changed gives the same output again.

/// One thing consulted or changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Touch {
    /// A lookup of this exact path (read, stat, access, `is_staged`, …).
    Path(String),
    /// The names in this directory.
    Listing(String),
    /// An environment variable.
    Env(String),
    /// Anything at all (a tool run sees the whole environment and disk).
    Everything,
}

impl Touch {
    /// Whether `change` (a staged path or a variable set) can alter the
    /// answer of this consultation.
    pub fn reached_by(&self, change: &Touch) -> bool {
        match (self, change) {
            (Touch::Everything, _) | (_, Touch::Everything) => true,
            (Touch::Path(seen), Touch::Path(made)) => seen == made,
            (Touch::Listing(dir), Touch::Path(made)) => is_child(dir, made),
            (Touch::Env(seen), Touch::Env(set)) => seen == set,
            _ => false,
        }
    }
}

/// Whether `path` is an entry directly in `dir`, as `Host::read_dir`
/// matches staged entries.
fn is_child(dir: &str, path: &str) -> bool {
    path.strip_prefix(dir.trim_end_matches('/'))
        .and_then(|rest| rest.strip_prefix('/'))
        .is_some_and(|name| !name.is_empty() && !name.contains('/'))
}

/// Whether any of `changes` reaches any of `consulted`.
pub fn reached(consulted: &[Touch], changes: &[Touch]) -> bool {
    consulted
        .iter()
        .any(|seen| changes.iter().any(|change| seen.reached_by(change)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> Touch {
        Touch::Path(p.into())
    }

    #[test]
    fn a_path_is_reached_only_by_itself() {
        let conf = path("/etc/containers/containers.conf");
        assert!(conf.reached_by(&path("/etc/containers/containers.conf")));
        // A staged file does not change what a lookup of its parent, a
        // sibling or a longer name answers.
        assert!(!path("/etc/containers").reached_by(&path("/etc/containers/x.conf")));
        assert!(!conf.reached_by(&path("/etc/containers/containers.conf.d")));
        assert!(!conf.reached_by(&Touch::Env("/etc/containers/containers.conf".into())));
    }

    #[test]
    fn a_listing_is_reached_by_a_direct_child_only() {
        let dir = Touch::Listing("/etc/containers/containers.conf.d/".into());
        assert!(dir.reached_by(&path(
            "/etc/containers/containers.conf.d/podrun-runtime.conf"
        )));
        assert!(!dir.reached_by(&path("/etc/containers/containers.conf.d/a/b.conf")));
        assert!(!dir.reached_by(&path("/etc/containers/containers.conf.d")));
        assert!(!dir.reached_by(&path("/etc/containers/containers.conf.dx/a")));
        let root = Touch::Listing("/".into());
        assert!(root.reached_by(&path("/etc")));
        assert!(!root.reached_by(&path("/etc/x")));
    }

    #[test]
    fn variables_match_by_name_and_a_tool_run_by_anything() {
        let home = Touch::Env("HOME".into());
        assert!(home.reached_by(&Touch::Env("HOME".into())));
        assert!(!home.reached_by(&Touch::Env("HOMEDIR".into())));
        assert!(Touch::Everything.reached_by(&Touch::Env("X".into())));
        assert!(path("/x").reached_by(&Touch::Everything));
        assert!(reached(&[home.clone(), path("/a")], &[path("/a")]));
        assert!(!reached(&[home], &[path("/a")]));
        assert!(!reached(&[], &[path("/a")]));
    }
}
