//! The probes, one module per area. Each area reads the host, returns typed
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
pub mod pass;
pub mod paths;
pub mod storage;
pub mod subid;
pub mod tools;
pub mod userns;

#[cfg(test)]
pub mod testutil;

use crate::decide;
use crate::host::{Host, Probe};
use crate::model::Plan;
use crate::model::{Check, Spec};
use pass::{Earlier, Pass};
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
    /// How podman will run, decided from the facts so far (`absorb`).
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

    /// Records one area's output: its facts in its slot, its checks after
    /// the earlier areas' ones, and the plan decided again from the facts
    /// so far (later areas read `plan`, no area writes it).
    pub fn absorb<F: AreaFacts>(&mut self, out: AreaOut<F>) {
        out.facts.store(self);
        self.checks.extend(out.checks);
        self.report_context.extend(out.report);
        self.replan();
    }

    /// Decides the plan again from the facts so far.
    pub fn replan(&mut self) {
        self.plan = decide::plan(&self.observed());
        // A mapping probe that succeeded overrules idmap's static rules.
        decide::demote(&mut self.checks, self.idmap.map_probe.as_ref());
    }

    /// The facts the plan is decided from.
    pub fn observed(&self) -> decide::Observed<'_> {
        decide::Observed {
            user: self.identity.probed.then_some(decide::User {
                uid: self.identity.uid,
                userns_configured: self.identity.userns_configured,
                sys_admin: self.identity.sys_admin,
            }),
            isolation_env: self
                .mounts
                .probed
                .then_some(self.mounts.isolation_env.as_deref()),
            runtime: self.config.runtime_facts.as_ref(),
            storage: self.storage.choice_facts.as_ref(),
            network: self.network.net_inputs(),
        }
    }
}

/// What one area observed: its typed facts, its own checks and fields for
/// the report's `context` object. An area returns this and writes nothing
/// else: not the plan, not another area's checks.
#[derive(Debug, Default)]
pub struct AreaOut<F> {
    pub facts: F,
    pub checks: Vec<Check>,
    pub report: Map<String, Value>,
}

/// An area's facts know their slot in `Findings`.
pub trait AreaFacts {
    fn store(self, found: &mut Findings);
}

/// What an area works with while it probes: the earlier areas' findings,
/// read-only (through `Deref`), and the checks and report fields it is
/// recording. `found.checks` inside an area is that area's own checks.
pub struct Obs<'a> {
    earlier: &'a Findings,
    pub checks: Vec<Check>,
    pub report_context: Map<String, Value>,
}

impl<'a> Obs<'a> {
    pub fn new(earlier: &'a Findings) -> Obs<'a> {
        Obs {
            earlier,
            checks: Vec::new(),
            report_context: Map::new(),
        }
    }

    /// The area's output, with its facts.
    pub fn finish<F>(&mut self, facts: F) -> AreaOut<F> {
        AreaOut {
            facts,
            checks: std::mem::take(&mut self.checks),
            report: std::mem::take(&mut self.report_context),
        }
    }
}

impl std::ops::Deref for Obs<'_> {
    type Target = Findings;
    fn deref(&self) -> &Findings {
        self.earlier
    }
}

/// One area: a name, its checks' specs, and how to run it into `Findings`.
pub struct Area {
    pub name: &'static str,
    pub specs: &'static [Spec],
    pub probe: fn(&Host, &mut Findings),
    /// Moves the area's facts from one `Findings` to another (a pass
    /// taking an area over from the pass before, `pass::Earlier`).
    pub keep: fn(&mut Findings, &mut Findings),
}

/// The table entry of an area module: its facts go into the `Findings`
/// field of the same name.
macro_rules! areas {
    ($($m:ident),* $(,)?) => {
        $(impl AreaFacts for $m::Facts {
            fn store(self, found: &mut Findings) {
                found.$m = self;
            }
        })*
        /// The areas in the order they run; also the order of the report.
        pub const AREAS: &[Area] = &[$(Area {
            name: stringify!($m),
            specs: $m::SPECS,
            probe: |host, found| {
                let out = $m::probe(host, found);
                found.absorb(out)
            },
            keep: |from, to| to.$m = std::mem::take(&mut from.$m),
        }),*];
    };
}

areas!(
    context, tools, caps, identity, limits, userns, subid, idmap, mounts, lsm, cgroups, config,
    fuse, storage, network,
);

/// Every check spec, in report order.
pub fn all_specs() -> impl Iterator<Item = &'static Spec> {
    AREAS.iter().flat_map(|a| a.specs.iter())
}

pub fn spec(id: &str) -> Option<&'static Spec> {
    all_specs().find(|s| s.id == id)
}

/// The fork-and-try probes later areas will ask for, from what is known
/// once `identity` has decided rootless (and `BUILDAH_ISOLATION`, read as
/// `mounts` reads it). A guess that proves wrong costs one idle child,
/// never a wrong answer: answers are matched by `Probe::key`, and an area
/// asking for another probe forks it then. Left out: `UserNsMap` (its maps
/// come from the sub-id areas and may be only staged).
fn independent_probes(host: &Host, found: &Findings) -> Vec<Probe> {
    let rootless = found.plan.rootless;
    let isolation =
        decide::isolation(host.env("BUILDAH_ISOLATION"), rootless).unwrap_or_else(|d| d);
    let mut probes = vec![Probe::BindMount { userns: rootless }];
    let id = &found.identity;
    if rootless && !id.userns_configured && id.sys_admin != Some(true) {
        probes.push(Probe::UserNs);
    }
    if mounts::isolation_uses_runtime(&isolation) {
        probes.push(Probe::ProcMount { userns: rootless });
        probes.push(Probe::Hostname { userns: rootless });
    }
    if isolation == "oci" {
        probes.push(Probe::Keyctl);
    }
    probes.push(Probe::Overlay {
        dir: host.nearest_existing(&default_graphroot(host, found)),
        userns: rootless,
    });
    probes
}

/// The graphroot when no storage.conf names one (as `storage` derives it).
fn default_graphroot(host: &Host, found: &Findings) -> String {
    if host.uid() == 0 {
        return "/var/lib/containers/storage".into();
    }
    let paths = &found.identity.paths;
    let data_home = paths
        .xdg_data_home
        .as_deref()
        .map(|s| s.trim_end_matches('/').to_string())
        .unwrap_or_else(|| {
            let home = paths.home_set().unwrap_or("/").trim_end_matches('/');
            format!("{home}/.local/share")
        });
    format!("{data_home}/containers/storage")
}

/// The order the areas run in: as listed, except that `tools`, whose facts
/// no area before `cgroups` reads, runs right after `identity`, once the
/// probes are prefetched: their children then run while it reads the
/// package database and looks the tools up (issue 10: `mounts` waited
/// ~0.5 ms for the proc-mount probe otherwise).
fn run_order() -> Vec<&'static Area> {
    let is_late = |a: &&Area| a.name == "tools";
    let mut order: Vec<&Area> = AREAS.iter().filter(|a| !is_late(a)).collect();
    let after = order
        .iter()
        .position(|a| a.name == "identity")
        .map_or(0, |i| i + 1);
    let late: Vec<&Area> = AREAS.iter().filter(is_late).collect();
    order.splice(after..after, late);
    order
}

/// Puts what the areas added back in the areas' own order (`AREAS`):
/// `ranks[i]` is the place of the area that added `items[i]`.
fn in_report_order<T>(items: Vec<T>, ranks: &[usize]) -> Vec<T> {
    let mut ranked: Vec<(usize, T)> = ranks.iter().copied().zip(items).collect();
    ranked.sort_by_key(|(rank, _)| *rank);
    ranked.into_iter().map(|(_, item)| item).collect()
}

/// Runs every area. Checks whose id is in `skip` are reported as skipped
/// (the area still runs: later areas may need its facts).
pub fn probe_all(host: &Host, skip: &[String]) -> Findings {
    probe_pass(host, skip, None).0
}

/// Runs the areas, or, given the pass before and what changed since, only
/// those from the first one a change reaches (`pass`), taking the others
/// over. Returns the findings and what the next pass may reuse.
pub fn probe_pass(host: &Host, skip: &[String], mut earlier: Option<Earlier>) -> (Findings, Pass) {
    let mut found = Findings::default();
    // A capture records every pass whole, so that its replay has all it read.
    let reusable = host.is_staging() && skip.is_empty() && !host.is_capturing();
    let mut pass = Pass::new(reusable);
    let reuse = earlier.as_ref().map_or(0, Earlier::reusable_areas);
    let (mut check_ranks, mut context_ranks) = (Vec::new(), Vec::new());
    for (pos, area) in run_order().into_iter().enumerate() {
        let rank = AREAS.iter().position(|a| a.name == area.name).unwrap_or(0);
        match earlier.as_mut().filter(|_| pos < reuse) {
            Some(e) => {
                e.take_over(pos, area, &mut found, &mut pass);
                if pos + 1 == reuse {
                    found.replan();
                }
            }
            None => run_area(host, area, rank, &mut found, &mut pass),
        }
        check_ranks.resize(found.checks.len(), rank);
        context_ranks.resize(found.report_context.len(), rank);
    }
    if !host.stalls().is_empty() {
        pass.not_reusable();
    }
    // Reported in the areas' own order, whatever order they ran in.
    found.checks = in_report_order(std::mem::take(&mut found.checks), &check_ranks);
    let context = std::mem::take(&mut found.report_context)
        .into_iter()
        .collect();
    found.report_context = in_report_order(context, &context_ranks)
        .into_iter()
        .collect();
    for check in &mut found.checks {
        if skip
            .iter()
            .any(|s| s == check.id || check.id.starts_with(&format!("{s}.")))
        {
            check.status = crate::model::Status::Skip;
            check.summary = format!("skipped by --skip ({})", check.summary);
        }
    }
    (found, pass)
}

/// Runs one area into `found`, recording in `pass` what it consulted and
/// added; its checks are marked unsure after a stall (`mark_unsure`).
fn run_area(host: &Host, area: &Area, rank: usize, found: &mut Findings, pass: &mut Pass) {
    let (checks, fields) = (found.checks.len(), found.report_context.len());
    let stalls = host.stalls().len();
    host.consulting();
    (area.probe)(host, found);
    let added = found.report_context.len() - fields;
    pass.ran(rank, host.consulted(), found.checks.len() - checks, added);
    let all = host.stalls();
    let stalled = &all[stalls..];
    let area_checks = &mut found.checks[checks..];
    if !stalled.is_empty() {
        mark_unsure(area_checks, stalled, |_| true);
    } else if !all.is_empty() {
        // A later area may rest on the facts a stall left unknown: what
        // it calls broken is not proven either.
        mark_unsure(area_checks, &all, |c| {
            c.status == crate::model::Status::Error
        });
    }
    if area.name == "identity" {
        // issue 10: rootless is decided: start the later areas' probes
        // together, so they run while the areas read files.
        host.prefetch(&independent_probes(host, found));
    }
}

/// issue 9: an area that met a stall (a call abandoned at its deadline)
/// cannot tell what it would have found, so none of its checks may say
/// "ok" or claim a breakage: each becomes a warning marked `unsure`, which
/// the verdict lists and which keeps "ready" false without failing the job.
fn mark_unsure(checks: &mut [Check], stalled: &[String], which: impl Fn(&Check) -> bool) {
    let mut stalled = stalled.to_vec();
    stalled.dedup();
    let what = stalled.join(", ");
    for c in checks
        .iter_mut()
        .filter(|c| c.status != crate::model::Status::Skip && which(c))
    {
        c.status = crate::model::Status::Warn;
        c.summary = format!(
            "UNSURE: {what} did not answer within the doctor's deadline, so this is not known \
             (podman would hang on it too; repair or unmount what stalled): {}",
            c.summary
        );
        c.evidence
            .insert("unsure".into(), serde_json::json!(stalled));
    }
}

#[cfg(test)]
mod remedy_tests {
    use super::*;
    use crate::model::{By, Status};

    /// Words that make a remedy paste-ready for whoever must act: a runner
    /// configuration key, a node setting, an OpenShift SCC, or an image line.
    const CONCRETE: &[&str] = &[
        "config.toml",
        "[runners.",
        "[[runners.",
        "security_opt",
        "cap_add",
        "devices",
        "privileged",
        "sysctl",
        "SCC",
        "RUN ",
        "Containerfile",
        "apt-get",
        "dnf ",
        "setcap",
        "chmod",
        "containers.conf",
        "storage.conf",
        "/etc/",
        "emptyDir",
        "environment",
        "boot",
        "kernel",
    ];

    fn remedy_problems(name: &str, found: &Findings) -> Vec<String> {
        let mut bad = Vec::new();
        for c in found.checks.iter().filter(|c| c.status == Status::Error) {
            let Some(fix) = &c.fix else {
                bad.push(format!("{name}: {} has no fix ({})", c.id, c.summary));
                continue;
            };
            if fix.text.trim().is_empty() {
                bad.push(format!("{name}: {} has an empty fix text", c.id));
            }
            if fix.by != By::Job && !CONCRETE.iter().any(|k| fix.text.contains(k)) {
                bad.push(format!(
                    "{name}: {} ({}) names no concrete key: {}",
                    c.id,
                    fix.by.as_str(),
                    fix.text
                ));
            }
        }
        bad
    }

    /// Every blocking finding in every captured hostile environment
    /// (unprivileged, NNP, no fuse, OpenShift restricted, …), as found and
    /// after this tool's own fixes, carries a paste-ready remedy.
    #[test]
    fn every_blocking_finding_names_a_concrete_remedy() {
        let dirs = super::testutil::env_fixture_dirs();
        assert!(!dirs.is_empty(), "no fixtures under tests/fixtures");
        let mut bad = Vec::new();
        for dir in &dirs {
            let name = dir.file_name().unwrap().to_string_lossy().into_owned();
            // Work on a copy: the fix loop writes into the tree.
            let tmp = tempfile::tempdir().unwrap();
            let status = std::process::Command::new("cp")
                .arg("-a")
                .arg(format!("{}/.", dir.display()))
                .arg(tmp.path())
                .status()
                .unwrap();
            assert!(status.success());
            let Ok(mut host) = Host::fixture(tmp.path()) else {
                continue;
            };
            host.stage_writes();
            let (before, after, _) = crate::fix::fix_loop(&mut host, &[]);
            bad.extend(remedy_problems(&name, &before));
            bad.extend(remedy_problems(&format!("{name} (after fixes)"), &after));
        }
        bad.sort();
        bad.dedup();
        assert!(bad.is_empty(), "{}", bad.join("\n"));
    }
}

#[cfg(test)]
mod spec_tests {
    use super::*;

    /// Every check id any area emits, in any captured environment, as found
    /// and after the fixes, has a spec (`list`, `explain ID` and the JUnit
    /// names depend on it).
    #[test]
    fn every_emitted_check_id_has_a_spec() {
        let base = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let mut dirs = Vec::new();
        for sub in ["envs", "captured"] {
            for e in std::fs::read_dir(base.join(sub))
                .into_iter()
                .flatten()
                .flatten()
            {
                if e.path().join("host.json").is_file() {
                    dirs.push(e.path());
                }
            }
        }
        assert!(dirs.len() >= 10, "fixtures missing: {dirs:?}");
        let mut unknown = Vec::new();
        for dir in &dirs {
            let tmp = tempfile::tempdir().unwrap();
            let status = std::process::Command::new("cp")
                .arg("-a")
                .arg(format!("{}/.", dir.display()))
                .arg(tmp.path())
                .status()
                .unwrap();
            assert!(status.success());
            let mut host = Host::fixture(tmp.path()).unwrap();
            host.stage_writes();
            let (before, after, _) = crate::fix::fix_loop(&mut host, &[]);
            for c in before.checks.iter().chain(after.checks.iter()) {
                if spec(c.id).is_none() {
                    unknown.push(format!("{}: {}", dir.display(), c.id));
                }
            }
        }
        unknown.sort();
        unknown.dedup();
        assert!(
            unknown.is_empty(),
            "ids without a spec:\n{}",
            unknown.join("\n")
        );
    }

    #[test]
    fn spec_ids_are_unique_and_belong_to_their_area() {
        let mut seen = std::collections::BTreeSet::new();
        for area in AREAS {
            for s in area.specs {
                assert!(seen.insert(s.id), "duplicate spec id {}", s.id);
                assert!(s.id.contains('.'), "{} is not dotted", s.id);
            }
        }
    }
}
