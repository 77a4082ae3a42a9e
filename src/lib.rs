//! `podrun-doctor`: probes a CI job container the way podman will use it,
//! decides whether `podman build` will work, fixes what the job can fix and
//! reports for people (job log) and machines (JSON, JUnit).
//!
//! Layout (docs/architecture.md): `host` is the one seam to the system;
//! `formats` turns text into data; `probes` holds one observing module per
//! area; `decide` turns the facts into the plan and the verdict; `remedy`
//! says where a fix goes; `fix` applies job-side fixes; `report` renders;
//! `run` ties the modes together for `main`; `alloc` is the static build's
//! allocator.

pub mod alloc;
pub mod cli;
pub mod decide;
pub mod explain;
pub mod fix;
pub mod formats;
pub mod host;
pub mod ids;
pub mod model;
pub mod probes;
pub mod remedy;
pub mod report;
pub mod run;
pub mod util;
