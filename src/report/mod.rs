//! Renderers: the job-log checklist, the JSON artifact and JUnit XML. They
//! only read a finished [`Report`]; nothing here probes or decides.

pub mod human;
pub mod json;
pub mod junit;

use crate::decide::{Plan, Verdict};
use crate::fix::Change;
use crate::model::{Check, Status};
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
    pub mode: &'static str,
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

    /// 0 ready, 1 not ready (or a warning under `--strict`).
    pub fn exit_code(&self, strict: bool) -> i32 {
        let ready = match self.mode {
            "check" => self.verdict.ready_before,
            _ => self.verdict.ready_after,
        };
        if !ready || (strict && self.worst_after() >= Status::Warn) {
            1
        } else {
            0
        }
    }
}
