//! `podrun-doctor`: probes a CI job container the way podman will use it,
//! decides whether `podman build` will work, fixes what the job can fix and
//! reports for people (job log) and machines (JSON, JUnit).
//!
//! Layout: `host` is the one seam to the system; `probes` holds one module
//! per area and returns data; `decide` turns findings into the plan and the
//! verdict; `fix` applies job-side fixes; `report` renders; `run` ties the
//! modes together for `main`.

pub mod cli;
pub mod decide;
pub mod explain;
pub mod fix;
pub mod formats;
pub mod host;
pub mod model;
pub mod probes;
pub mod remedy;
pub mod report;
pub mod run;
pub mod util;
