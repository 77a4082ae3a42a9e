//! Remedies apart from the areas that find the problems: how a
//! containers.conf setting reaches podman (`conf`). An area decides that a
//! setting is the fix; this room decides where it is written and how.

pub mod caps;
pub mod catalog;
pub mod conf;
pub mod fuse;
pub mod identity;
pub mod idmap;
pub mod lsm;
pub mod mounts;
pub mod network;
pub mod runner;
pub mod storage;
pub mod userns;
