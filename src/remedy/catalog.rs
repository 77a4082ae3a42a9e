//! Every runner-side remedy, so `explain ID` can show each executor's
//! snippet that a job's own report left out (it shows only its executor's).
//! `tests/docs.rs` checks that no `RunnerFix` constant is missing here.

use super::runner::RunnerFix;
use super::{caps, storage, userns};
use crate::probes::{fuse, lsm};

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
];

/// The remedies a check's report may name, each with every executor.
pub fn for_check(id: &str) -> impl Iterator<Item = &'static RunnerFix> + '_ {
    ALL.iter().copied().filter(move |f| f.id == id)
}
