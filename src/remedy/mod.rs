//! Remedies apart from the areas that find the problems: how a
//! containers.conf setting reaches podman (`conf`). An area decides that a
//! setting is the fix; this room decides where it is written and how.

pub mod conf;
pub mod idmap;
pub mod runner;
pub mod storage;
