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
    pub env: BTreeMap<String, String>,
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
            "check" => self.verdict.ready_before,
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

/// A failure-catalog code (`U4`, `L3`, a range `C1–C4`): internal
/// cross-references no user document defines.
fn is_code(word: &str) -> bool {
    let one = |w: &str| {
        let mut c = w.chars();
        matches!(c.next(), Some('A'..='Z'))
            && (2..=3).contains(&w.len())
            && c.all(|d| d.is_ascii_digit())
    };
    word.split('–').all(one)
}

/// Whether a list element is only catalog codes (`catalog O1`, `U5`).
fn is_code_element(element: &str) -> bool {
    let e = element.trim();
    let e = e.strip_prefix("catalog ").unwrap_or(e);
    !e.is_empty() && e.split(' ').all(is_code)
}

/// The text without catalog codes: `(catalog U4)` and `(C1)` go with the
/// space before them, `(masked /proc, L3)` keeps its words, `, catalog E6`
/// goes. Probe texts carry these; the user never sees them.
pub fn strip_codes(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(open) = rest.find('(') {
        let Some(close) = rest[open..].find(')').map(|c| open + c) else {
            break;
        };
        out.push_str(&rest[..open]);
        let inner = &rest[open + 1..close];
        let elements: Vec<&str> = inner.split([',', ';']).collect();
        let kept: Vec<&str> = elements
            .iter()
            .copied()
            .filter(|e| !is_code_element(e))
            .collect();
        if kept.len() == elements.len() || inner.contains('(') {
            out.push_str(&rest[open..=close]);
        } else if kept.is_empty() {
            let trimmed = out.trim_end_matches(' ').len();
            out.truncate(trimmed);
        } else {
            let words: Vec<&str> = kept.iter().map(|e| e.trim()).collect();
            out.push_str(&format!("({})", words.join(", ")));
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    strip_bare_catalog(&out)
}

/// `…, catalog E6.` outside parentheses.
fn strip_bare_catalog(text: &str) -> String {
    let Some(at) = text.find("catalog ") else {
        return text.to_string();
    };
    let tail = &text[at + "catalog ".len()..];
    let end = tail
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == ',' || c == ' ' || c == '–'))
        .unwrap_or(tail.len());
    let list = tail[..end].trim_end_matches([' ', ',']);
    if list.is_empty() || !list.split(", ").all(is_code) {
        return text.to_string();
    }
    let head = text[..at].trim_end_matches([' ', ',', ';']);
    format!("{head}{}", &tail[list.len()..])
}

#[cfg(test)]
mod tests {
    use super::strip_codes;

    #[test]
    fn catalog_codes_never_reach_the_user() {
        let cases = [
            ("layout: v1, v2 or hybrid (C1)", "layout: v1, v2 or hybrid"),
            ("is writable (catalog U5).", "is writable."),
            ("of the job (catalog E1, E2) and", "of the job and"),
            (
                "fresh /proc (masked /proc, L3)",
                "fresh /proc (masked /proc)",
            ),
            ("(cgroup manager default, C3)", "(cgroup manager default)"),
            (
                "or `deny mount`, seccomp; L1)",
                "or `deny mount`, seccomp; L1)",
            ),
            ("needs (catalog C1–C4).", "needs."),
            (
                "lacks CAP_SYS_RESOURCE`), catalog E6.",
                "lacks CAP_SYS_RESOURCE`).",
            ),
            (
                "(7 mounts below it, e.g. /proc/acpi, /proc/bus)",
                "(7 mounts below it, e.g. /proc/acpi, /proc/bus)",
            ),
            ("uid 1000 (podman), 1 of V2", "uid 1000 (podman), 1 of V2"),
        ];
        for (text, want) in cases {
            assert_eq!(strip_codes(text), want, "{text}");
        }
    }
}
