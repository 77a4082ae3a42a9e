//! Pure parsers and renderers of the files and outputs the probes read:
//! no `Host`, no `Check`, each a `parse(&str)` that never fails loudly, so
//! each can be tested and fuzzed on its own.

pub mod cgroup;
pub mod idmap;
pub mod limits;
pub mod mountinfo;
pub mod passwd;
pub mod status;
pub mod subid;
pub mod toml;
pub mod version;
