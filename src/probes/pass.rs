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
//! ran with `--skip` (marks made after the areas), wrote for real, or is
//! being captured (a capture records every call of every pass).

use super::{Area, Findings, AREAS};
use crate::host::{reached, Touch};
use crate::model::Check;
use serde_json::Value;

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

/// The pass before, and what changed since. Owns that pass's findings:
/// what an area that is taken over found moves into the next pass.
pub struct Earlier<'a> {
    found: Findings,
    pass: Pass,
    changes: &'a [Touch],
    /// By rank: the checks and report fields of each area, moved out of
    /// `found` (which is in report order); `None` when the counts in `pass`
    /// do not add up to `found`, and nothing can be taken over.
    blocks: Option<Vec<Block>>,
}

type Block = (Vec<Check>, Vec<(String, Value)>);

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

impl<'a> Earlier<'a> {
    pub fn new(mut found: Findings, pass: Pass, changes: &'a [Touch]) -> Earlier<'a> {
        let blocks = split(&mut found, &pass);
        Earlier {
            found,
            pass,
            changes,
            blocks,
        }
    }

    /// How many areas, in run order, the next pass takes over: those before
    /// the first one a change reaches.
    pub fn reusable_areas(&self) -> usize {
        if !self.pass.reusable || self.blocks.is_none() {
            return 0;
        }
        self.pass
            .areas
            .iter()
            .position(|a| reached(&a.consulted, self.changes))
            .unwrap_or(self.pass.areas.len())
    }

    /// Takes over the area at `pos` (run order) into `found`: its facts,
    /// checks and report fields as the pass before left them. The caller
    /// decides the plan again after the last one (`Findings::replan`). The
    /// pass before's record of it is carried into `next`, for the round
    /// after.
    pub fn take_over(&mut self, pos: usize, area: &Area, found: &mut Findings, next: &mut Pass) {
        let Some(record) = self.pass.areas.get_mut(pos) else {
            return;
        };
        (area.keep)(&mut self.found, found);
        let block = self
            .blocks
            .as_mut()
            .and_then(|b| b.get_mut(record.rank))
            .map(std::mem::take)
            .unwrap_or_default();
        found.checks.extend(block.0);
        found.report_context.extend(block.1);
        next.areas.push(AreaPass {
            consulted: std::mem::take(&mut record.consulted),
            ..*record
        });
        next.taken += 1;
    }
}

/// Moves the checks and report fields of `found` into one block per area
/// rank, by the counts `pass` recorded; `None` when they do not add up.
fn split(found: &mut Findings, pass: &Pass) -> Option<Vec<Block>> {
    let (checks, fields) = pass
        .areas
        .iter()
        .fold((0, 0), |(c, f), a| (c + a.checks, f + a.fields));
    let mut ranks: Vec<&AreaPass> = pass.areas.iter().collect();
    ranks.sort_by_key(|a| a.rank);
    let one_each = ranks.iter().enumerate().all(|(i, a)| a.rank == i);
    if checks != found.checks.len()
        || fields != found.report_context.len()
        || ranks.len() != AREAS.len()
        || !one_each
    {
        return None;
    }
    let mut all_checks = std::mem::take(&mut found.checks).into_iter();
    let mut all_fields = std::mem::take(&mut found.report_context).into_iter();
    let blocks = ranks
        .iter()
        .map(|a| {
            let checks = all_checks.by_ref().take(a.checks).collect();
            (checks, all_fields.by_ref().take(a.fields).collect())
        })
        .collect();
    Some(blocks)
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
            Earlier::new(found.clone(), full, changes).reusable_areas()
        };
        assert_eq!(at(&[Touch::Path("/etc/a".into())]), 1);
        assert_eq!(at(&[Touch::Env("HOME".into())]), 0);
        assert_eq!(at(&[Touch::Path("/etc/b".into())]), AREAS.len());
        // Counts that do not add up to the findings: nothing is reused.
        assert_eq!(Earlier::new(found, pass, &[]).reusable_areas(), 0);
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
