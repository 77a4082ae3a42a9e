//! The JSON report, schema `podrun-doctor/report/v1` (see docs/report.md).

use super::Report;
use serde_json::{json, Map, Value};

pub const SCHEMA: &str = "podrun-doctor/report/v1";

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

pub fn render(report: &Report) -> String {
    let mut text = serde_json::to_string_pretty(&to_value(report)).unwrap_or_default();
    text.push('\n');
    text
}
