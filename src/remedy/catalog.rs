//! Every runner-side remedy, so `explain ID` can show each executor's
//! snippet that a job's own report left out (it shows only its executor's).
//! `tests/docs.rs` checks that no `RunnerFix` constant is missing here.

use super::runner::RunnerFix;
use super::{caps, fuse, identity, idmap, lsm, mounts, network, storage, userns};

pub const ALL: &[&RunnerFix] = &[
    &caps::ADD_HELPER_CAPS,
    &caps::ALLOW_ESCALATION,
    &userns::UNCONFINED_SECCOMP,
    &userns::UNCONFINED_SECCOMP_OR_LSM,
    &storage::RUNTIME_DIR_PLACE,
    &storage::TMPDIR_PLACE,
    &storage::STORE_ROOM,
    &storage::STORE_PLACE,
    &storage::STORE_LOCAL,
    &storage::STORE_INODES,
    &storage::STORE_SPACE,
    &fuse::EXPOSE_FUSE,
    &lsm::APPARMOR_UNCONFINED,
    &lsm::SECCOMP_UNCONFINED,
    &lsm::SELINUX_MOUNT_TYPE,
    &network::NETWORKS_VOLUME,
    &network::UTS_SECCOMP,
    &network::NET_TUN,
    &mounts::PROC_UNMASKED,
    &mounts::KEYCTL_SECCOMP,
    &storage::FASTER_STORE,
    &idmap::NNP,
    &idmap::CAP_ADD_HELPERS,
    &idmap::CAP_ADD_ROOT,
    &idmap::RUN_AS_GROUP,
    &idmap::USERNS_REFUSED,
    &idmap::SETUID_SYS_ADMIN,
    &idmap::ROOT_RANGES,
    &identity::HOME_VOLUME,
    &identity::KNOWN_UID,
    &identity::PASSWD_ENTRY,
    &identity::OPENSHIFT_UID,
];

/// The remedies a check's report may name, each with every executor.
pub fn for_check(id: &str) -> impl Iterator<Item = &'static RunnerFix> + '_ {
    ALL.iter().copied().filter(move |f| f.id == id)
}
