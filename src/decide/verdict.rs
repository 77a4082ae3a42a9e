//! The verdict: ready before and after the fixes, what blocks, and what
//! rests on too little evidence to say "ready".

use crate::model::{Check, Status};
use serde_json::{json, Value};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub ready_before: bool,
    pub ready_after: bool,
    /// Ids of the checks that still block after the fixes (or, when the
    /// fixes clear everything, those that blocked before them).
    pub blocking: Vec<String>,
    /// Checks whose probe could not run, so the verdict rests on less
    /// evidence than usual, and (issue 9) checks of an area where a call
    /// was abandoned at its deadline (evidence `unsure`): while one of
    /// those stands, the doctor cannot say "ready".
    pub unsure: Vec<String>,
}

/// Checks an abandoned call left unknown (see `probes::mark_unsure`).
fn stalled(checks: &[Check]) -> Vec<String> {
    checks
        .iter()
        .filter(|c| c.evidence.contains_key("unsure"))
        .map(|c| c.id.to_string())
        .collect()
}

fn blocking(checks: &[Check]) -> Vec<String> {
    checks
        .iter()
        .filter(|c| c.is_blocking())
        .map(|c| c.id.to_string())
        .collect()
}

/// `before` are the checks as found; `after` the checks probed again once
/// every fix was applied (or simulated).
pub fn verdict(before: &[Check], after: &[Check]) -> Verdict {
    let blocked_before = blocking(before);
    let blocked_after = blocking(after);
    let (stalled_before, stalled_after) = (stalled(before), stalled(after));
    let mut unsure: Vec<String> = after
        .iter()
        .filter(|c| c.status == Status::Warn && c.evidence.get("probe_ran") == Some(&json!(false)))
        .map(|c| c.id.to_string())
        .collect();
    for id in stalled_before.iter().chain(&stalled_after) {
        if !unsure.contains(id) {
            unsure.push(id.clone());
        }
    }
    Verdict {
        ready_before: blocked_before.is_empty() && stalled_before.is_empty(),
        ready_after: blocked_after.is_empty() && stalled_after.is_empty(),
        blocking: if blocked_after.is_empty() {
            blocked_before
        } else {
            blocked_after
        },
        unsure,
    }
}

impl Verdict {
    pub fn to_json(&self) -> Value {
        json!({
            "ready_before": self.ready_before,
            "ready_after": self.ready_after,
            "blocking": self.blocking,
            "unsure": self.unsure,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_only_without_errors() {
        let before = vec![
            Check::ok("a.b", "fine"),
            Check::error("home.writable", "no"),
            Check::warn("c.d", "meh"),
        ];
        let after = vec![Check::ok("a.b", "fine"), Check::warn("c.d", "meh")];
        let v = verdict(&before, &after);
        assert!(!v.ready_before);
        assert!(v.ready_after);
        assert_eq!(v.blocking, vec!["home.writable"]);
        let v = verdict(&before, &before);
        assert!(!v.ready_after);
    }
}
