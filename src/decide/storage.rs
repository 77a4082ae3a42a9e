//! The storage driver and mount program podman will use, from what the
//! storage area observed. Rules as in containers/storage
//! (`types/options.go`, `drivers/overlay`) and as observed in the matrix:
//!
//! - a configured driver wins; `STORAGE_DRIVER` overrides storage.conf's
//!   (the config area folds both into `configured_driver`);
//! - none configured, rootful: native overlay, else overlay through
//!   fuse-overlayfs when it is installed, else vfs;
//! - none configured, rootless podman 4.x: overlay only when native overlay
//!   works in a user namespace, else vfs (observed with podman 4.3: vfs on
//!   an overlay HOME although fuse-overlayfs was installed);
//! - none configured, rootless podman 5: overlay when fuse-overlayfs is
//!   installed or the kernel is >= 5.13 (`canUseRootlessOverlay`), else vfs;
//! - an overlay store without a mount program, where native overlay fails,
//!   mounts through fuse-overlayfs when it is installed; a mount program
//!   is an overlay option, so any other driver has none.

/// What the driver choice depends on, as the storage area observed it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StorageFacts {
    /// `driver` from storage.conf or `STORAGE_DRIVER`.
    pub configured_driver: Option<String>,
    /// `mount_program` from storage.conf or `STORAGE_OPTS`.
    pub configured_mount_program: Option<String>,
    /// Storage is the user's own (uid != 0): podman's rootless defaults.
    pub per_user: bool,
    /// podman >= 5 (or its version unknown: `tools::podman5`).
    pub podman5: bool,
    /// fuse-overlayfs as found on PATH.
    pub fuse_overlayfs: Option<String>,
    /// The running kernel is >= 5.13 (native overlay in a user namespace).
    pub kernel_5_13: bool,
    /// Native overlay mounted where the graphroot lives (in a user
    /// namespace when rootless); `None` when the probe did not run.
    pub native_overlay: Option<bool>,
}

/// The driver and mount program podman will run with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageChoice {
    pub driver: String,
    pub mount_program: Option<String>,
    /// Podman picked the driver itself (none was configured).
    pub automatic: bool,
}

/// The driver podman picks when none is configured.
fn automatic_driver(f: &StorageFacts) -> &'static str {
    let native = f.native_overlay == Some(true);
    let overlay = match (f.per_user, f.podman5) {
        (true, true) => f.fuse_overlayfs.is_some() || f.kernel_5_13,
        (true, false) => native,
        (false, _) => native || f.fuse_overlayfs.is_some(),
    };
    if overlay {
        "overlay"
    } else {
        "vfs"
    }
}

/// The storage podman will use here.
pub fn storage(f: &StorageFacts) -> StorageChoice {
    let driver = match &f.configured_driver {
        Some(d) => d.clone(),
        None => automatic_driver(f).to_string(),
    };
    let mount_program = (driver == "overlay")
        .then(|| {
            f.configured_mount_program.clone().or_else(|| {
                (f.native_overlay == Some(false))
                    .then(|| f.fuse_overlayfs.clone())
                    .flatten()
            })
        })
        .flatten();
    StorageChoice {
        driver,
        mount_program,
        automatic: f.configured_driver.is_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FUSE: &str = "/usr/bin/fuse-overlayfs";

    fn facts(per_user: bool, podman5: bool) -> StorageFacts {
        StorageFacts {
            per_user,
            podman5,
            ..StorageFacts::default()
        }
    }

    fn with_fuse(f: StorageFacts) -> StorageFacts {
        StorageFacts {
            fuse_overlayfs: Some(FUSE.into()),
            ..f
        }
    }

    fn native(f: StorageFacts, works: Option<bool>) -> StorageFacts {
        StorageFacts {
            native_overlay: works,
            ..f
        }
    }

    fn pick(f: &StorageFacts) -> (String, Option<String>) {
        let c = storage(f);
        (c.driver, c.mount_program)
    }

    fn overlay(mp: Option<&str>) -> (String, Option<String>) {
        ("overlay".into(), mp.map(str::to_string))
    }

    fn vfs() -> (String, Option<String>) {
        ("vfs".into(), None)
    }

    #[test]
    fn a_configured_driver_wins_over_what_works() {
        // types/options.go: storage.conf's `driver`, then STORAGE_DRIVER
        // over it; podman does not second-guess either.
        let f = StorageFacts {
            configured_driver: Some("vfs".into()),
            ..native(with_fuse(facts(true, true)), Some(true))
        };
        let c = storage(&f);
        assert_eq!((c.driver.as_str(), c.automatic), ("vfs", false));
        let btrfs = StorageFacts {
            configured_driver: Some("btrfs".into()),
            ..facts(false, false)
        };
        assert_eq!(pick(&btrfs), ("btrfs".into(), None));
    }

    #[test]
    fn a_configured_mount_program_is_kept_for_overlay_only() {
        // `overlay.mount_program` is an overlay option: kept as configured
        // (even where native overlay works), meaningless for vfs.
        let f = StorageFacts {
            configured_driver: Some("overlay".into()),
            configured_mount_program: Some("/opt/fuse-overlayfs".into()),
            ..native(facts(true, true), Some(true))
        };
        assert_eq!(pick(&f), overlay(Some("/opt/fuse-overlayfs")));
        let vfs_conf = StorageFacts {
            configured_driver: Some("vfs".into()),
            ..f
        };
        assert_eq!(pick(&vfs_conf), vfs());
    }

    #[test]
    fn rootful_prefers_native_overlay_then_fuse_then_vfs() {
        // The driver priority list (overlay before vfs); overlay where
        // native fails mounts through fuse-overlayfs when it is installed.
        let root = facts(false, false);
        let c = storage(&native(root.clone(), Some(true)));
        assert_eq!(
            (c.driver.as_str(), c.mount_program, c.automatic),
            ("overlay", None, true)
        );
        assert_eq!(
            pick(&native(with_fuse(root.clone()), Some(false))),
            overlay(Some(FUSE))
        );
        assert_eq!(pick(&native(root.clone(), Some(false))), vfs());
        // Not probed and no fuse-overlayfs: nothing says overlay works.
        assert_eq!(pick(&native(root, None)), vfs());
    }

    #[test]
    fn rootless_podman4_takes_overlay_only_where_native_overlay_works() {
        // Observed with podman 4.3 (storage 1.43): the rootless default is
        // overlay only when it mounts natively in a user namespace; an
        // installed fuse-overlayfs does not make it overlay.
        let user = facts(true, false);
        assert_eq!(pick(&native(user.clone(), Some(true))), overlay(None));
        assert_eq!(pick(&native(with_fuse(user.clone()), Some(false))), vfs());
        assert_eq!(pick(&native(with_fuse(user), None)), vfs());
    }

    #[test]
    fn rootless_podman5_takes_overlay_with_fuse_overlayfs_or_a_new_kernel() {
        // `canUseRootlessOverlay` (types/options_linux.go): fuse-overlayfs
        // on PATH first, else kernel >= 5.13; it does not mount anything.
        let user = facts(true, true);
        assert_eq!(
            pick(&native(with_fuse(user.clone()), Some(false))),
            overlay(Some(FUSE))
        );
        // fuse-overlayfs installed but native overlay works: native.
        assert_eq!(
            pick(&native(with_fuse(user.clone()), Some(true))),
            overlay(None)
        );
        let new_kernel = StorageFacts {
            kernel_5_13: true,
            ..user.clone()
        };
        // Overlay without a mount program even where native fails: the
        // storage check, not the plan, says that breaks.
        assert_eq!(pick(&native(new_kernel, Some(false))), overlay(None));
        assert_eq!(pick(&native(user, Some(true))), vfs());
    }

    #[test]
    fn fuse_overlayfs_is_used_automatically_only_where_native_overlay_failed() {
        // Native overlay not probed: no evidence it fails, no mount program.
        let f = StorageFacts {
            configured_driver: Some("overlay".into()),
            ..with_fuse(facts(false, false))
        };
        assert_eq!(pick(&native(f.clone(), None)), overlay(None));
        assert_eq!(pick(&native(f, Some(false))), overlay(Some(FUSE)));
    }
}
