//! The JSON report, schema `podrun-doctor/report/v1` (see docs/report.md).

use super::{Report, Row};
use crate::fix::Change;
use crate::model::Fix;
use serde_core::ser::{Serialize, SerializeMap, Serializer};
#[cfg(test)]
use serde_json::{json, Map, Value};

pub const SCHEMA: &str = "podrun-doctor/report/v1";

/// The report as a `Value` tree: the reference that `render`, which
/// writes the same text without building it, is tested against.
#[cfg(test)]
pub fn to_value(report: &Report) -> Value {
    let checks: Vec<Value> = report
        .rows
        .iter()
        .map(|row| {
            let c = &row.check;
            let mut v = Map::new();
            v.insert("id".into(), json!(c.id));
            v.insert("status".into(), json!(c.status.as_str()));
            if let Some(after) = row.status_after {
                v.insert("status_after".into(), json!(after.as_str()));
            }
            v.insert("summary".into(), json!(c.summary));
            v.insert("evidence".into(), Value::Object(c.evidence.clone()));
            v.insert(
                "fix".into(),
                match &c.fix {
                    Some(f) => json!({"by": f.by.as_str(), "text": f.text, "applied": f.applied}),
                    None => Value::Null,
                },
            );
            Value::Object(v)
        })
        .collect();
    let changes: Vec<Value> = report
        .changes
        .iter()
        .map(|c| json!({"path": c.path, "action": c.action, "check": c.check}))
        .collect();
    json!({
        "schema": SCHEMA,
        "version": env!("CARGO_PKG_VERSION"),
        "mode": report.mode.as_str(),
        "dry_run": report.dry_run,
        "duration_ms": (report.duration_ms * 1000.0).round() / 1000.0,
        "context": Value::Object(report.context.clone()),
        "checks": checks,
        "env": report.env,
        "changes": changes,
        "problems": report.problems,
        "plan": report.plan.to_json(),
        "verdict": report.verdict.to_json(),
    })
}

/// The report as pretty-printed JSON: the same text as `to_value` printed,
/// written straight from the report (issue 10: building the `Value` tree
/// first copied every check's evidence once more).
pub fn render(report: &Report) -> String {
    let mut bytes = Vec::with_capacity(64 * 1024);
    if serde_json::to_writer_pretty(&mut bytes, &Whole(report)).is_err() {
        bytes.clear();
    }
    let mut text = String::from_utf8(bytes).unwrap_or_default();
    text.push('\n');
    text
}

struct Whole<'a>(&'a Report);
struct Rows<'a>(&'a [Row]);
struct CheckJson<'a>(&'a Row);
struct FixJson<'a>(&'a Fix);
struct Changes<'a>(&'a [Change]);
struct ChangeJson<'a>(&'a Change);

impl Serialize for Whole<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        let mut m = s.serialize_map(Some(12))?;
        m.serialize_entry("schema", SCHEMA)?;
        m.serialize_entry("version", env!("CARGO_PKG_VERSION"))?;
        m.serialize_entry("mode", r.mode.as_str())?;
        m.serialize_entry("dry_run", &r.dry_run)?;
        m.serialize_entry("duration_ms", &((r.duration_ms * 1000.0).round() / 1000.0))?;
        m.serialize_entry("context", &r.context)?;
        m.serialize_entry("checks", &Rows(&r.rows))?;
        m.serialize_entry("env", &r.env)?;
        m.serialize_entry("changes", &Changes(&r.changes))?;
        m.serialize_entry("problems", &r.problems)?;
        m.serialize_entry("plan", &r.plan.to_json())?;
        m.serialize_entry("verdict", &r.verdict.to_json())?;
        m.end()
    }
}

impl Serialize for Rows<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(CheckJson))
    }
}

impl Serialize for CheckJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (c, after) = (&self.0.check, self.0.status_after);
        let mut m = s.serialize_map(Some(5 + usize::from(after.is_some())))?;
        m.serialize_entry("id", c.id)?;
        m.serialize_entry("status", c.status.as_str())?;
        if let Some(after) = after {
            m.serialize_entry("status_after", after.as_str())?;
        }
        m.serialize_entry("summary", &c.summary)?;
        m.serialize_entry("evidence", &c.evidence)?;
        m.serialize_entry("fix", &c.fix.as_ref().map(FixJson))?;
        m.end()
    }
}

impl Serialize for FixJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let f = self.0;
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("by", f.by.as_str())?;
        m.serialize_entry("text", &f.text)?;
        m.serialize_entry("applied", &f.applied)?;
        m.end()
    }
}

impl Serialize for Changes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(ChangeJson))
    }
}

impl Serialize for ChangeJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = self.0;
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("path", &c.path)?;
        m.serialize_entry("action", c.action)?;
        m.serialize_entry("check", &c.check)?;
        m.end()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::fix::fix_loop;
    use crate::host::Host;
    use crate::model::Mode;
    use crate::probes::testutil::env_fixture_dirs;

    /// The report written straight from its rows is byte for byte the
    /// `Value` tree printed, in every fixture environment and mode
    /// (changes, exports, unset variables and status_after included).
    #[test]
    fn the_written_report_is_the_value_tree_printed() {
        let mut compared = 0;
        for dir in env_fixture_dirs() {
            for mode in [Mode::Check, Mode::Env] {
                let Ok(mut host) = Host::fixture(&dir) else {
                    continue;
                };
                host.stage_writes();
                let (before, after, mut run) = fix_loop(&mut host, &[]);
                run.changes.push(Change {
                    path: "/etc/x \"quoted\"".into(),
                    action: "created",
                    check: "storage.driver".into(),
                });
                run.env.insert("GONE".into(), None);
                let mut report = crate::run::build_report(&host, mode, false, before, &after, &run);
                report.duration_ms = 4.123_456_7;
                let want = serde_json::to_string_pretty(&to_value(&report)).unwrap() + "\n";
                assert_eq!(render(&report), want, "{}", dir.display());
                compared += 1;
            }
        }
        assert!(compared >= 40, "only {compared} reports compared");
    }
}
