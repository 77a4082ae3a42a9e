//! The storage driver and mount program podman will use, from what the
//! storage area observed. Rules as in containers/storage
//! (`types/options.go`, `drivers/driver.go`, `drivers/overlay`) for the
//! versions the supported podmans are built with (Debian 12's podman 4.3.1
//! with storage 1.43.0, Debian 13's podman 5.4.2 with storage 1.57.2), and
//! as observed in the matrix:
//!
//! - a configured driver wins; `STORAGE_DRIVER` overrides storage.conf's
//!   (the config area folds both into `configured_driver`);
//! - none configured, rootless, no storage.conf of the user's own
//!   (`getRootlessStorageOpts`): storage 1.43 takes vfs, whatever the
//!   graphroot holds (checked with podman 4.3.1: vfs beside an
//!   `overlay-images` directory, with native overlay working); from
//!   storage 1.47 on it takes the driver of the first graphroot entry, by
//!   name, that ends in `-images` (its name only: a file or FIFO counts), else overlay
//!   when fuse-overlayfs is installed or the kernel is >= 5.13
//!   (`canUseRootlessOverlay`), else vfs;
//! - none configured otherwise (rootful, or a user's storage.conf without
//!   a driver: `drivers.New`): a prior store, the entry `<graphroot>/overlay`
//!   that `stat` finds (links followed), is used, however it fails; `vfs`
//!   is never taken as prior, but from storage 1.47 on it counts as another
//!   store beside overlay, and podman refuses to pick one (`contains several
//!   valid graphdrivers`); without a prior store, native overlay, else
//!   overlay through fuse-overlayfs when it is installed, else vfs;
//! - an overlay store without a mount program, where native overlay fails,
//!   mounts through fuse-overlayfs when it is installed; a mount program
//!   is an overlay option, so any other driver has none.
//!
//! Over all of these, libpod's database: once it records a graph driver,
//! podman uses that one, configured or not (`libpod/runtime.go`, only a
//! `--storage-driver` flag, which a job's `podman build` does not pass,
//! keeps the other; verified with podman 4.3.1: `User-selected graph driver
//! "vfs" overwritten by graph driver "overlay" from database`).
//!
//! Not modelled: prior `btrfs`/`zfs`/`aufs` directories (those drivers need
//! their own filesystem) and `driver_priority`.

/// What an entry of the graphroot turned out to be (links followed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    Dir,
    /// Anything else `stat` found: `file`, `fifo`, `socket`, ….
    Other(String),
    /// `stat` failed (a dangling link, no search permission): the errno.
    Unreadable(String),
}

/// A graphroot entry containers/storage reads as the trace of a prior
/// store: `overlay`, `vfs` or `<driver>-images`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriorEntry {
    pub name: String,
    pub kind: EntryKind,
    /// The entry itself is a symbolic link.
    pub symlink: bool,
}

impl PriorEntry {
    /// `stat` finds something there (what `drivers.New` asks).
    fn exists(&self) -> bool {
        !matches!(self.kind, EntryKind::Unreadable(_))
    }
}

/// The drivers whose directory `drivers.New` scans for, in its priority
/// order; the only two this tool models.
pub const PRIOR_DRIVERS: [&str; 2] = ["overlay", "vfs"];

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
    /// A storage.conf of the user's own (or `CONTAINERS_STORAGE_CONF`)
    /// replaced the rootless defaults: an unset driver then goes to
    /// `drivers.New`, as for root.
    pub own_conf: bool,
    /// The graphroot's entries that name prior stores, in name order.
    pub prior: Vec<PriorEntry>,
    /// libpod's database (path) and the graph driver it records.
    pub database: Option<(String, String)>,
    /// The graphroot's file system is one overlay refuses without a mount
    /// program (drivers/overlay `Init`: overlayfs, aufs, ecryptfs, zfs in
    /// storage 1.43; a network file system for a rootless user).
    pub overlay_refused_by_fs: bool,
}

/// The driver and mount program podman will run with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageChoice {
    pub driver: String,
    pub mount_program: Option<String>,
    /// Podman picked the driver itself (none was configured).
    pub automatic: bool,
    /// The graphroot entry that made the automatic choice.
    pub prior: Option<PriorEntry>,
    /// Prior stores podman refuses to choose between (it fails).
    pub conflict: Vec<String>,
    /// The driver is the one libpod's database (this path) records.
    pub from_database: Option<String>,
}

/// A driver picked automatically, and the entry it was picked from.
struct Auto {
    driver: String,
    prior: Option<PriorEntry>,
    conflict: Vec<String>,
}

impl Auto {
    fn plain(driver: &str) -> Auto {
        Auto {
            driver: driver.to_string(),
            prior: None,
            conflict: Vec::new(),
        }
    }
}

/// The driver podman picks when none is configured.
fn automatic(f: &StorageFacts) -> Auto {
    if goes_to_drivers_new(f) {
        drivers_new(f)
    } else {
        rootless_defaults(f)
    }
}

/// Root, or a user whose own storage.conf replaced the rootless defaults,
/// gets an unset driver from `drivers.New` (prior stores, then the
/// priority list, trying overlay first).
fn goes_to_drivers_new(f: &StorageFacts) -> bool {
    !f.per_user || f.own_conf
}

/// `getRootlessStorageOpts` with no driver set (see the module's rules).
fn rootless_defaults(f: &StorageFacts) -> Auto {
    if !f.podman5 {
        return Auto::plain("vfs");
    }
    // The first `-images` name ends the scan, even `-images` itself, whose
    // empty driver name leaves the choice to the rule below.
    let first = f.prior.iter().find(|e| e.name.ends_with("-images"));
    if let Some(e) = first {
        let name = &e.name[..e.name.len() - "-images".len()];
        if !name.is_empty() {
            return Auto {
                driver: name.to_string(),
                prior: Some(e.clone()),
                conflict: Vec::new(),
            };
        }
    }
    let overlay = f.fuse_overlayfs.is_some() || f.kernel_5_13;
    Auto::plain(if overlay { "overlay" } else { "vfs" })
}

/// `drivers.New("")`: a prior store first, then the priority list.
fn drivers_new(f: &StorageFacts) -> Auto {
    // storage 1.43's scan leaves vfs out; from 1.47 it is in the map.
    let found: Vec<&PriorEntry> = f
        .prior
        .iter()
        .filter(|e| PRIOR_DRIVERS.contains(&e.name.as_str()) && e.exists())
        .filter(|e| f.podman5 || e.name != "vfs")
        .collect();
    if let Some(e) = found.iter().find(|e| e.name != "vfs") {
        let conflict = if found.len() > 1 {
            found.iter().map(|e| e.name.clone()).collect()
        } else {
            Vec::new()
        };
        return Auto {
            driver: e.name.clone(),
            prior: Some((*e).clone()),
            conflict,
        };
    }
    let overlay = f.native_overlay == Some(true) || f.fuse_overlayfs.is_some();
    Auto::plain(if overlay { "overlay" } else { "vfs" })
}

/// Whether podman's first command, choosing vfs after overlay, leaves
/// `<graphroot>/overlay` behind for every later one to fail on. Without a
/// driver set, `drivers.New` tries overlay first; overlay's `Init` makes
/// `overlay/l` and then refuses a file system it cannot run on (wrapped
/// `ErrIncompatibleFS`) without removing it, so `New` goes on to vfs. The
/// next command finds `overlay` as a prior store, which must open or fail
/// (`prior storage driver overlay failed: 'overlay' is not supported over
/// overlayfs`: podman 4.3.1 here, `podman info` then `podman build`, row
/// deb12nr-root-priv). Storage 1.43.0 and 1.57.2 alike. A refusal by the
/// mount test instead removes the directory again.
pub fn leaves_overlay_behind(f: &StorageFacts, c: &StorageChoice) -> bool {
    c.automatic
        && c.from_database.is_none()
        && c.prior.is_none()
        && c.driver == "vfs"
        && goes_to_drivers_new(f)
        && f.overlay_refused_by_fs
        && f.fuse_overlayfs.is_none()
        && f.configured_mount_program.is_none()
}

/// The storage podman will use here.
pub fn storage(f: &StorageFacts) -> StorageChoice {
    let auto = match (&f.database, &f.configured_driver) {
        (Some((_, d)), _) | (None, Some(d)) => Auto::plain(d),
        (None, None) => automatic(f),
    };
    let driver = auto.driver;
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
        prior: auto.prior,
        conflict: auto.conflict,
        from_database: f.database.as_ref().map(|(path, _)| path.clone()),
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
    fn rootless_podman4_takes_vfs_whatever_works() {
        // storage 1.43 `getRootlessStorageOpts`: an unset driver is vfs
        // (podman 4.3.1 here: vfs with native overlay working, and with
        // fuse-overlayfs installed, matrix row deb12-rootless-priv).
        let user = facts(true, false);
        assert_eq!(pick(&native(user.clone(), Some(true))), vfs());
        assert_eq!(pick(&native(with_fuse(user.clone()), Some(false))), vfs());
        assert_eq!(pick(&native(with_fuse(user), None)), vfs());
    }

    #[test]
    fn rootless_with_its_own_storage_conf_without_a_driver_goes_to_drivers_new() {
        // The user's storage.conf replaces the defaults: `drivers.New("")`
        // tries overlay (native, else fuse-overlayfs), then vfs.
        let own = StorageFacts {
            own_conf: true,
            ..facts(true, false)
        };
        assert_eq!(pick(&native(own.clone(), Some(true))), overlay(None));
        assert_eq!(
            pick(&native(with_fuse(own.clone()), Some(false))),
            overlay(Some(FUSE))
        );
        assert_eq!(pick(&native(own, Some(false))), vfs());
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

#[cfg(test)]
mod prior_tests {
    use super::*;

    fn entry(name: &str, kind: EntryKind) -> PriorEntry {
        PriorEntry {
            name: name.into(),
            kind,
            symlink: false,
        }
    }

    fn dirs(names: &[&str]) -> Vec<PriorEntry> {
        names.iter().map(|n| entry(n, EntryKind::Dir)).collect()
    }

    /// Rootless (podman 5 when `podman5`), a kernel >= 5.13, with `prior`.
    fn user(podman5: bool, prior: Vec<PriorEntry>) -> StorageFacts {
        StorageFacts {
            per_user: true,
            podman5,
            kernel_5_13: true,
            prior,
            ..StorageFacts::default()
        }
    }

    /// Root, native overlay works, with `prior`.
    fn root(podman5: bool, prior: Vec<PriorEntry>) -> StorageFacts {
        StorageFacts {
            podman5,
            native_overlay: Some(true),
            prior,
            ..StorageFacts::default()
        }
    }

    fn from(c: &StorageChoice) -> (&str, Option<&str>) {
        (c.driver.as_str(), c.prior.as_ref().map(|e| e.name.as_str()))
    }

    /// drivers/overlay `Init` (storage 1.43.0 and 1.57.2) makes
    /// `overlay/l`, then refuses overlayfs, aufs or ecryptfs without a
    /// mount program and leaves it: podman 4.3.1 ran `podman info` on vfs,
    /// then failed `prior storage driver overlay failed` (deb12nr-root-priv).
    #[test]
    fn overlay_refused_by_the_file_system_leaves_its_directory_for_the_next_command() {
        let refused = |f: StorageFacts| StorageFacts {
            native_overlay: Some(false),
            overlay_refused_by_fs: true,
            ..f
        };
        let leaves = |f: &StorageFacts| leaves_overlay_behind(f, &storage(f));
        for podman5 in [false, true] {
            let f = refused(root(podman5, vec![]));
            assert_eq!(from(&storage(&f)), ("vfs", None));
            assert!(leaves(&f), "podman5 {podman5}");
            // Once the directory is there, it is the prior store (an error
            // the store checks report), not a first command's fallback.
            assert!(!leaves(&refused(root(podman5, dirs(&["overlay"])))));
            // fuse-overlayfs becomes overlay's mount program: no refusal.
            let fuse = StorageFacts {
                fuse_overlayfs: Some("/usr/bin/fuse-overlayfs".into()),
                ..f.clone()
            };
            assert!(!leaves(&fuse));
            let set = |driver: &str| StorageFacts {
                configured_driver: Some(driver.into()),
                ..f.clone()
            };
            assert!(
                !leaves(&set("vfs")),
                "a configured driver tries nothing else"
            );
            let db = StorageFacts {
                database: Some(("/db".into(), "vfs".into())),
                ..f.clone()
            };
            assert!(!leaves(&db));
            // A mount test that fails removes the directory again.
            let mount_failed = StorageFacts {
                overlay_refused_by_fs: false,
                ..f
            };
            assert!(!leaves(&mount_failed));
        }
        // Rootless defaults never try overlay to fall back from it; a
        // user's own storage.conf goes to drivers.New like root.
        let user = refused(user(false, vec![]));
        assert!(!leaves(&user));
        let own = StorageFacts {
            own_conf: true,
            ..user
        };
        assert!(leaves(&own));
    }

    #[test]
    fn rootless_podman5_keeps_the_driver_of_an_images_directory() {
        // storage 1.57.2 types/options.go getRootlessStorageOpts: the first
        // `<driver>-images` entry by name wins over canUseRootlessOverlay.
        let c = storage(&user(true, dirs(&["vfs", "vfs-images"])));
        assert_eq!(from(&c), ("vfs", Some("vfs-images")));
        assert!(c.automatic && c.conflict.is_empty());
        // A bare `vfs` directory is not what this rule reads.
        assert_eq!(
            from(&storage(&user(true, dirs(&["vfs"])))),
            ("overlay", None)
        );
        // Both: `overlay-images` sorts first.
        let both = dirs(&["overlay-images", "vfs-images"]);
        assert_eq!(
            from(&storage(&user(true, both))),
            ("overlay", Some("overlay-images"))
        );
        // The name alone counts: a FIFO called vfs-images picks vfs.
        let fifo = vec![entry("vfs-images", EntryKind::Other("fifo".into()))];
        assert_eq!(
            from(&storage(&user(true, fifo))),
            ("vfs", Some("vfs-images"))
        );
        // `-images` ends the scan with no name: the default rule decides.
        let bare = dirs(&["-images", "vfs-images"]);
        assert_eq!(from(&storage(&user(true, bare))), ("overlay", None));
    }

    #[test]
    fn rootless_podman4_ignores_prior_stores() {
        // storage 1.43.0 getRootlessStorageOpts has no prior-store rule.
        let c = storage(&user(false, dirs(&["overlay", "overlay-images"])));
        assert_eq!(from(&c), ("vfs", None));
    }

    #[test]
    fn a_configured_driver_ignores_prior_stores() {
        let f = StorageFacts {
            configured_driver: Some("overlay".into()),
            ..user(true, dirs(&["vfs-images"]))
        };
        assert_eq!(from(&storage(&f)), ("overlay", None));
    }

    #[test]
    fn drivers_new_takes_a_prior_overlay_store_never_a_vfs_one() {
        // drivers/driver.go New: `<root>/overlay` wins even where overlay
        // does not work (its failure is podman's error then).
        for podman5 in [false, true] {
            let f = StorageFacts {
                native_overlay: Some(false),
                ..root(podman5, dirs(&["overlay"]))
            };
            assert_eq!(from(&storage(&f)), ("overlay", Some("overlay")));
            // A vfs directory alone is skipped: the priority list decides.
            let c = storage(&root(podman5, dirs(&["vfs"])));
            assert_eq!(from(&c), ("overlay", None));
            let no_overlay = StorageFacts {
                native_overlay: Some(false),
                ..root(podman5, dirs(&["vfs"]))
            };
            assert_eq!(from(&storage(&no_overlay)), ("vfs", None));
            // An entry stat cannot see is no prior store.
            let gone = vec![entry("overlay", EntryKind::Unreadable("EACCES".into()))];
            let c = storage(&StorageFacts {
                native_overlay: Some(false),
                ..root(podman5, gone)
            });
            assert_eq!(from(&c), ("vfs", None));
        }
    }

    #[test]
    fn overlay_beside_vfs_conflicts_from_storage_1_47() {
        // 1.43 scanPriorDrivers leaves vfs out of the map; 1.47
        // (9ef15e4d4) counts it, and New refuses two prior stores.
        let both = || dirs(&["overlay", "vfs"]);
        let old = storage(&root(false, both()));
        assert_eq!(from(&old), ("overlay", Some("overlay")));
        assert!(old.conflict.is_empty());
        let new = storage(&root(true, both()));
        assert_eq!(from(&new), ("overlay", Some("overlay")));
        assert_eq!(new.conflict, vec!["overlay".to_string(), "vfs".to_string()]);
        // The same rule for a rootless user with a storage.conf of its own.
        let own = StorageFacts {
            own_conf: true,
            ..user(true, both())
        };
        assert_eq!(storage(&own).conflict.len(), 2);
    }
}

#[cfg(test)]
mod database_tests {
    use super::*;

    #[test]
    fn the_database_driver_wins_over_configured_and_prior_stores() {
        // libpod/runtime.go (v4.3.1 l. 1019, v5.4.2 l. 1044): without
        // --storage-driver the database's graph driver replaces storage's.
        let db = ("/s/libpod/bolt_state.db".to_string(), "overlay".to_string());
        let f = StorageFacts {
            configured_driver: Some("vfs".into()),
            per_user: true,
            database: Some(db.clone()),
            prior: vec![PriorEntry {
                name: "vfs-images".into(),
                kind: EntryKind::Dir,
                symlink: false,
            }],
            ..StorageFacts::default()
        };
        let c = storage(&f);
        assert_eq!(c.driver, "overlay");
        assert_eq!(c.from_database.as_deref(), Some(db.0.as_str()));
        assert!(c.prior.is_none() && !c.automatic);
        // No database: the configured driver.
        let none = storage(&StorageFacts {
            database: None,
            ..f
        });
        assert_eq!((none.driver.as_str(), none.from_database), ("vfs", None));
    }
}
