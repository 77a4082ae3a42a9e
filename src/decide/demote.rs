//! When a live probe overrules the static rules: the idmap area's mapping
//! probe does exactly what podman does, so when it succeeded, a static
//! objection to the mapping was wrong (NSS sources, unusual kernels) and
//! stays only as information.

use crate::host::ProbeResult;
use crate::model::{Check, Status};

/// The static checks the mapping probe overrules.
const OVERRULED_BY_MAPPING: &[&str] = &[
    "idmap.helper_privilege",
    "idmap.nnp",
    "idmap.bounding",
    "idmap.setuid_sys_admin",
    "idmap.gid",
];

/// Demotes the static mapping errors to information when `map_probe` (the
/// idmap area's `map_probe` fact) ran and succeeded. Idempotent: a demoted
/// check is no longer an error.
pub fn demote(checks: &mut [Check], map_probe: Option<&ProbeResult>) {
    if !map_probe.is_some_and(|r| r.ran && r.ok) {
        return;
    }
    for c in checks
        .iter_mut()
        .filter(|c| c.status == Status::Error && OVERRULED_BY_MAPPING.contains(&c.id))
    {
        c.status = Status::Info;
        c.summary = format!("{} (but the mapping probe succeeded)", c.summary);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checks() -> Vec<Check> {
        vec![
            Check::error("idmap.nnp", "NoNewPrivs: 1"),
            Check::error("idmap.gid", "gid 0"),
            Check::warn("idmap.bounding", "cannot read CapBnd"),
            Check::error("idmap.map", "fails"),
            Check::error("fuse.device", "no /dev/fuse"),
        ]
    }

    fn statuses(c: &[Check]) -> Vec<Status> {
        c.iter().map(|c| c.status).collect()
    }

    #[test]
    fn a_successful_mapping_probe_overrules_only_the_static_mapping_errors() {
        let mut c = checks();
        demote(&mut c, Some(&ProbeResult::success("")));
        assert_eq!(
            statuses(&c),
            vec![
                Status::Info,
                Status::Info,
                Status::Warn,
                Status::Error,
                Status::Error
            ]
        );
        assert_eq!(
            c[0].summary,
            "NoNewPrivs: 1 (but the mapping probe succeeded)"
        );
        // Again: nothing more changes.
        let once = c.clone();
        demote(&mut c, Some(&ProbeResult::success("")));
        assert_eq!(c, once);
    }

    #[test]
    fn a_failed_or_unrun_probe_leaves_every_check_as_it_is() {
        for probe in [
            None,
            Some(ProbeResult::not_run("dry run")),
            Some(ProbeResult::failure("newuidmap", Some("EPERM".into()), "")),
        ] {
            let mut c = checks();
            demote(&mut c, probe.as_ref());
            assert_eq!(c, checks(), "{probe:?}");
        }
    }
}
