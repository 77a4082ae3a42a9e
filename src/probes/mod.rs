//! The probes, one module per area. Each area reads the host, records typed
//! facts for the areas after it and for the decision, and emits checks with
//! stable ids. Areas run in a fixed order (`probe_all`), so a later area may
//! read the facts of an earlier one.
//!
//! The contract every area keeps: a check is `Error` exactly when it will
//! make `podman build` fail in the environment as found, `Warn` when it may
//! or will degrade it, and its fix is `By::Job` with actions exactly when
//! this tool's own fixes clear it. The verdict is built on that.

pub mod caps;
pub mod cgroups;
pub mod config;
pub mod context;
pub mod fuse;
pub mod identity;
pub mod idmap;
pub mod limits;
pub mod lsm;
pub mod mounts;
pub mod network;
pub mod storage;
pub mod subid;
pub mod toml;
pub mod tools;
pub mod userns;

#[cfg(test)]
pub mod testutil;

use crate::decide::Plan;
use crate::host::Host;
use crate::model::{Check, Spec};
use serde_json::{Map, Value};

/// Everything the probes found.
#[derive(Debug, Default, Clone)]
pub struct Findings {
    pub context: context::Facts,
    pub tools: tools::Facts,
    pub identity: identity::Facts,
    pub caps: caps::Facts,
    pub limits: limits::Facts,
    pub userns: userns::Facts,
    pub subid: subid::Facts,
    pub idmap: idmap::Facts,
    pub mounts: mounts::Facts,
    pub lsm: lsm::Facts,
    pub cgroups: cgroups::Facts,
    pub config: config::Facts,
    pub fuse: fuse::Facts,
    pub storage: storage::Facts,
    pub network: network::Facts,
    /// How podman will run; each area fills in the fields it owns.
    pub plan: Plan,
    /// Fields for the report's `context` object (`user`, `home`, `ci`,
    /// `orchestrator`, `podman`, …); never an environment value this tool
    /// did not set, except the documented context keys.
    pub report_context: Map<String, Value>,
    pub checks: Vec<Check>,
}

impl Findings {
    pub fn check(&self, id: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.id == id)
    }
}

/// One area: a name, its checks' specs, and its probe function.
pub struct Area {
    pub name: &'static str,
    pub specs: &'static [Spec],
    pub probe: fn(&Host, &mut Findings),
}

/// The areas in the order they run; also the order of the report.
pub const AREAS: &[Area] = &[
    Area {
        name: "context",
        specs: context::SPECS,
        probe: context::probe,
    },
    Area {
        name: "tools",
        specs: tools::SPECS,
        probe: tools::probe,
    },
    Area {
        name: "caps",
        specs: caps::SPECS,
        probe: caps::probe,
    },
    Area {
        name: "identity",
        specs: identity::SPECS,
        probe: identity::probe,
    },
    Area {
        name: "limits",
        specs: limits::SPECS,
        probe: limits::probe,
    },
    Area {
        name: "userns",
        specs: userns::SPECS,
        probe: userns::probe,
    },
    Area {
        name: "subid",
        specs: subid::SPECS,
        probe: subid::probe,
    },
    Area {
        name: "idmap",
        specs: idmap::SPECS,
        probe: idmap::probe,
    },
    Area {
        name: "mounts",
        specs: mounts::SPECS,
        probe: mounts::probe,
    },
    Area {
        name: "lsm",
        specs: lsm::SPECS,
        probe: lsm::probe,
    },
    Area {
        name: "cgroups",
        specs: cgroups::SPECS,
        probe: cgroups::probe,
    },
    Area {
        name: "config",
        specs: config::SPECS,
        probe: config::probe,
    },
    Area {
        name: "fuse",
        specs: fuse::SPECS,
        probe: fuse::probe,
    },
    Area {
        name: "storage",
        specs: storage::SPECS,
        probe: storage::probe,
    },
    Area {
        name: "network",
        specs: network::SPECS,
        probe: network::probe,
    },
];

/// Every check spec, in report order.
pub fn all_specs() -> impl Iterator<Item = &'static Spec> {
    AREAS.iter().flat_map(|a| a.specs.iter())
}

pub fn spec(id: &str) -> Option<&'static Spec> {
    all_specs().find(|s| s.id == id)
}

/// Runs every area. Checks whose id is in `skip` are reported as skipped
/// (the area still runs: later areas may need its facts).
pub fn probe_all(host: &Host, skip: &[String]) -> Findings {
    let mut found = Findings::default();
    for area in AREAS {
        (area.probe)(host, &mut found);
    }
    for check in &mut found.checks {
        if skip
            .iter()
            .any(|s| s == check.id || check.id.starts_with(&format!("{s}.")))
        {
            check.status = crate::model::Status::Skip;
            check.summary = format!("skipped by --skip ({})", check.summary);
        }
    }
    found
}
