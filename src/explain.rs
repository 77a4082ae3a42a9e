//! `explain`: what a check means, and which checks explain a failed job's
//! podman log.

use crate::model::Spec;
use crate::probes::{all_specs, AREAS};
use crate::remedy::catalog;

/// Text for `explain ID` (or an area name); `None` when unknown.
pub fn explain_id(id: &str) -> Option<String> {
    let specs: Vec<&Spec> = match all_specs().find(|s| s.id == id) {
        Some(s) => vec![s],
        None => AREAS
            .iter()
            .find(|a| a.name == id)
            .map(|a| a.specs.iter().collect())?,
    };
    Some(
        specs
            .iter()
            .map(|s| format_spec(s))
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

fn format_spec(s: &Spec) -> String {
    let mut out = format!("{}: {}\n\n", s.id, s.title);
    for line in s.explain.lines() {
        out.push_str(&format!("  {line}\n"));
    }
    for fix in catalog::for_check(s.id) {
        out.push_str("\n  Runner side, for every executor:\n");
        for line in fix.catalog_text().lines() {
            out.push_str(&format!("    {line}\n"));
        }
    }
    out
}

/// One match of a log line against a check's known error texts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogMatch {
    pub id: &'static str,
    pub line: String,
}

/// The checks whose known error texts appear in `log`, in report order,
/// each with the first line that matched.
pub fn match_log(log: &str) -> Vec<LogMatch> {
    all_specs()
        .filter_map(|s| {
            log.lines()
                .find(|line| s.signatures.iter().any(|sig| line.contains(sig)))
                .map(|line| LogMatch {
                    id: s.id,
                    line: line.trim().to_string(),
                })
        })
        .collect()
}

/// The report for `explain -`.
pub fn explain_log(log: &str) -> (String, bool) {
    let matches = match_log(log);
    if matches.is_empty() {
        return (
            "No known podman failure found in the log. Run `podrun-doctor check` in the same job for a full diagnosis.\n"
                .to_string(),
            false,
        );
    }
    let mut out = String::new();
    for m in &matches {
        out.push_str(&format!("log: {}\n", m.line));
        if let Some(text) = explain_id(m.id) {
            out.push_str(&text);
        }
        out.push('\n');
    }
    (out, true)
}
