//! Renderers: the job-log checklist, the JSON artifact and JUnit XML. They
//! only read a finished [`Report`]; nothing here probes or decides.

pub mod human;
pub mod json;
pub mod junit;

use crate::decide::{Plan, Verdict};
use crate::fix::Change;
use crate::model::{Check, Mode, Status};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// One check as the report shows it: as found, and its status once the
/// fixes are in (`None` when no fixing happened or it is unchanged).
#[derive(Debug, Clone)]
pub struct Row {
    pub check: Check,
    pub status_after: Option<Status>,
}

#[derive(Debug, Clone)]
pub struct Report {
    pub mode: Mode,
    pub dry_run: bool,
    pub duration_ms: f64,
    pub context: Map<String, Value>,
    pub rows: Vec<Row>,
    /// Exports the job needs (`env`/`exec` made them; `fix` asks for them).
    /// `None` (JSON null): the job must unset the variable.
    pub env: BTreeMap<String, Option<String>>,
    pub changes: Vec<Change>,
    pub problems: Vec<String>,
    pub plan: Plan,
    pub verdict: Verdict,
}

/// The area of a check id (`subid` of `subid.overlap`).
pub fn area_of(id: &str) -> &str {
    id.split('.').next().unwrap_or(id)
}

impl Report {
    /// Worst status among checks after fixes: what the exit code reflects.
    pub fn worst_after(&self) -> Status {
        self.rows
            .iter()
            .map(|r| r.status_after.unwrap_or(r.check.status))
            .max()
            .unwrap_or(Status::Ok)
    }

    /// The verdict this mode answers for: as found for `check`, after the
    /// fixes for the others.
    pub fn ready(&self) -> bool {
        match self.mode {
            Mode::Check => self.verdict.ready_before,
            _ => self.verdict.ready_after,
        }
    }

    /// Not ready, yet nothing is proven broken: only unsure checks stand.
    pub fn only_unsure(&self) -> bool {
        !self.ready() && self.verdict.blocking.is_empty() && !self.verdict.unsure.is_empty()
    }

    /// 0 ready, 1 not ready (or a warning under `--strict`). Not ready
    /// only because checks are unsure (nothing blocks, something stalled)
    /// is 0 without `--strict`: the doctor's own uncertainty must not break
    /// a pipeline that may well work; a proven breakage still exits 1.
    pub fn exit_code(&self, strict: bool) -> i32 {
        let only_unsure = self.only_unsure();
        let broken = !self.ready() && !only_unsure;
        if broken || (strict && (only_unsure || self.worst_after() >= Status::Warn)) {
            1
        } else {
            0
        }
    }
}
