//! From findings to the plan podman will run with and the verdict.
//!
//! The probes keep the contract of `probes/mod.rs` (a check is `Error`
//! exactly when it breaks `podman build` as found; its fix is the job's
//! exactly when this tool clears it), so the verdict is an aggregation: a
//! wrong "ready" can only come from a probe that misjudged its area, and
//! each such mistake is fixed where the knowledge lives.

pub use crate::model::Plan;
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
    /// evidence than usual.
    pub unsure: Vec<String>,
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
    let unsure = after
        .iter()
        .filter(|c| c.status == Status::Warn && c.evidence.get("probe_ran") == Some(&json!(false)))
        .map(|c| c.id.to_string())
        .collect();
    Verdict {
        ready_before: blocked_before.is_empty(),
        ready_after: blocked_after.is_empty(),
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
    use crate::model::Check;

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
