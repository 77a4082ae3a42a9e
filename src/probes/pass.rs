//! issue 10: a probing pass after a fix round re-runs only from the first
//! area the round's changes can reach; the areas before it are taken over
//! from the pass before, as they are.
//!
//! Sound because an area's output is a function of what it consults on the
//! host and of the earlier areas' findings: in a staged run (`check`,
//! `--dry-run`) nothing on disk changes and the system's answers are kept
//! (`Host::kept`), so an area none of whose lookups a change reaches
//! (`host::touch`), with every area before it unchanged too, finds the same
//! again. From the first reached area on, every area runs, as it would
//! have. Not reused: a pass that met a stall (its unsure marks span areas),
//! ran with `--skip` (marks made after the areas), or wrote for real.

use super::{Area, Findings, AREAS};
use crate::decide;
use crate::host::{reached, Touch};
use std::ops::Range;

/// What one pass leaves for the next.
#[derive(Debug, Default, Clone)]
pub struct Pass {
    /// In run order: one per area that ran or was taken over.
    areas: Vec<AreaPass>,
    reusable: bool,
    /// How many areas were taken over rather than run.
    taken: usize,
}

#[derive(Debug, Clone)]
struct AreaPass {
    /// The area's place in `AREAS` (report order).
    rank: usize,
    consulted: Vec<Touch>,
    checks: usize,
    fields: usize,
}

/// The pass before, and what changed since.
pub struct Earlier<'a> {
    pub found: &'a Findings,
    pub pass: &'a Pass,
    pub changes: &'a [Touch],
}

impl Pass {
    pub fn new(reusable: bool) -> Pass {
        Pass {
            areas: Vec::new(),
            reusable,
            taken: 0,
        }
    }

    pub fn taken_over(&self) -> usize {
        self.taken
    }

    pub fn not_reusable(&mut self) {
        self.reusable = false;
    }

    /// Records an area that ran: what it consulted, and how many checks and
    /// report fields it added.
    pub fn ran(&mut self, rank: usize, consulted: Vec<Touch>, checks: usize, fields: usize) {
        self.areas.push(AreaPass {
            rank,
            consulted,
            checks,
            fields,
        });
    }
}

impl Earlier<'_> {
    /// How many areas, in run order, the next pass takes over: those before
    /// the first one a change reaches.
    pub fn reusable_areas(&self) -> usize {
        let (checks, fields) = self
            .pass
            .areas
            .iter()
            .fold((0, 0), |(c, f), a| (c + a.checks, f + a.fields));
        let consistent = checks == self.found.checks.len()
            && fields == self.found.report_context.len()
            && self.pass.areas.len() == AREAS.len();
        if !self.pass.reusable || !consistent {
            return 0;
        }
        self.pass
            .areas
            .iter()
            .position(|a| reached(&a.consulted, self.changes))
            .unwrap_or(self.pass.areas.len())
    }

    /// Takes over the area at `pos` (run order) into `found`: its facts,
    /// checks and report fields as the pass before left them, and the plan
    /// decided again as `Findings::absorb` does. The pass before's record
    /// of it is carried into `next`, for the round after.
    pub fn take_over(&self, pos: usize, area: &Area, found: &mut Findings, next: &mut Pass) {
        let Some(record) = self.pass.areas.get(pos) else {
            return;
        };
        (area.keep)(self.found, found);
        let (checks, fields) = self.blocks(record.rank);
        let kept = self.found.checks.get(checks).unwrap_or_default();
        found.checks.extend(kept.iter().cloned());
        let taken = self.found.report_context.iter().skip(fields.start);
        for (key, value) in taken.take(fields.len()) {
            found.report_context.insert(key.clone(), value.clone());
        }
        found.plan = decide::plan(&found.observed());
        decide::demote(&mut found.checks, found.idmap.map_probe.as_ref());
        next.areas.push(record.clone());
        next.taken += 1;
    }

    /// Where the area of `rank` put its checks and report fields in the
    /// pass before's findings, which are in report order.
    fn blocks(&self, rank: usize) -> (Range<usize>, Range<usize>) {
        let (mut checks, mut fields) = (0, 0);
        for a in self.pass.areas.iter().filter(|a| a.rank < rank) {
            checks += a.checks;
            fields += a.fields;
        }
        let own = self.pass.areas.iter().find(|a| a.rank == rank);
        let (n_checks, n_fields) = own.map_or((0, 0), |a| (a.checks, a.fields));
        (checks..checks + n_checks, fields..fields + n_fields)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::host::Host;
    use crate::probes::{probe_all, testutil::env_fixture_dirs};

    /// The oracle: in every fixture environment, the findings a fix loop
    /// ends with (its later passes reusing areas) are exactly what a whole
    /// pass over the same staged host finds, checks, facts, plan and
    /// report fields alike; and reuse does happen somewhere.
    #[test]
    fn a_pass_that_takes_areas_over_finds_what_a_whole_pass_finds() {
        let (mut compared, mut reused) = (0, 0);
        for dir in env_fixture_dirs() {
            let Ok(mut host) = Host::fixture(&dir) else {
                continue;
            };
            host.stage_writes();
            let (_, after, run) = crate::fix::fix_loop(&mut host, &[]);
            let whole = probe_all(&host, &[]);
            assert_eq!(
                format!("{whole:#?}"),
                format!("{after:#?}"),
                "{}: a reusing pass differs from a whole one",
                dir.display()
            );
            compared += 1;
            reused += usize::from(run.areas_taken_over > 0);
        }
        assert!(compared >= 20, "only {compared} fixtures compared");
        assert!(reused > 0, "no fixture applied a fix, so no pass reused");
    }

    /// A change an area consulted re-runs it and every area after it; the
    /// areas before are taken over.
    #[test]
    fn the_first_reached_area_and_all_after_it_run_again() {
        let pass = Pass {
            areas: vec![
                record(0, vec![Touch::Env("HOME".into())], 1),
                record(1, vec![Touch::Path("/etc/a".into())], 0),
                record(2, vec![], 2),
            ],
            reusable: true,
            taken: 0,
        };
        let found = Findings {
            checks: vec![crate::model::Check::ok("x.a", "a"); 3],
            ..Findings::default()
        };
        let at = |changes: &[Touch]| {
            let mut full = pass.clone();
            full.areas
                .extend((3..AREAS.len()).map(|r| record(r, vec![], 0)));
            Earlier {
                found: &found,
                pass: &full,
                changes,
            }
            .reusable_areas()
        };
        assert_eq!(at(&[Touch::Path("/etc/a".into())]), 1);
        assert_eq!(at(&[Touch::Env("HOME".into())]), 0);
        assert_eq!(at(&[Touch::Path("/etc/b".into())]), AREAS.len());
        // Counts that do not add up to the findings: nothing is reused.
        assert_eq!(
            Earlier {
                found: &found,
                pass: &pass,
                changes: &[],
            }
            .reusable_areas(),
            0
        );
    }

    fn record(rank: usize, consulted: Vec<Touch>, checks: usize) -> AreaPass {
        AreaPass {
            rank,
            consulted,
            checks,
            fields: 0,
        }
    }
}
