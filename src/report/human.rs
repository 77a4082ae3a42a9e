//! The job-log checklist: a line per area, details only for what is wrong,
//! colour only on a terminal (never with NO_COLOR), and the full details in
//! a collapsed GitLab section when running in GitLab CI.

use super::{area_of, Report, Row};
use crate::model::Status;

#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
    /// Wrap details in GitLab collapsible sections (`GITLAB_CI` set).
    pub gitlab: bool,
    pub quiet: bool,
    /// Seconds since the epoch, for GitLab section markers.
    pub now: u64,
}

fn paint(style: &Style, code: &str, text: &str) -> String {
    if style.color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

fn mark(style: &Style, status: Status) -> String {
    match status {
        Status::Ok => paint(style, "32", "ok  "),
        Status::Info => paint(style, "36", "info"),
        Status::Warn => paint(style, "33", "warn"),
        Status::Error => paint(style, "1;31", "FAIL"),
        Status::Skip => paint(style, "2", "skip"),
    }
}

fn effective(row: &Row) -> Status {
    row.status_after.unwrap_or(row.check.status)
}

/// `predicted`: the statuses after the fixes are a forecast (`check`,
/// `--dry-run`), not something this run did.
fn detail_lines(row: &Row, predicted: bool) -> Vec<String> {
    let c = &row.check;
    let mut lines = vec![format!("{}: {}", c.id, c.summary)];
    if let Some(after) = row.status_after {
        if after != c.status {
            let when = if predicted { "would be" } else { "now" };
            lines.push(format!("  {when} {} after the fixes", after.as_str()));
        }
    }
    if let Some(fix) = &c.fix {
        let who = match (fix.by.as_str(), fix.applied) {
            ("job", true) => "fixed by podrun-doctor".to_string(),
            ("job", false) if fix.actions.is_empty() => "what the job can do".to_string(),
            ("job", false) => "podrun-doctor can fix this".to_string(),
            (by, _) => format!("fix for the {by}"),
        };
        lines.push(format!("  {who}:"));
        lines.extend(fix.text.lines().map(|l| format!("    {l}")));
    }
    lines
}

pub fn render(report: &Report, style: &Style) -> String {
    let mut out = String::new();
    let ctx = &report.context;
    let who = format!(
        "uid {}{}",
        ctx.get("uid").and_then(|v| v.as_u64()).unwrap_or(0),
        ctx.get("user")
            .and_then(|v| v.as_str())
            .map(|u| format!(" ({u})"))
            .unwrap_or_default()
    );
    let podman = match (
        ctx.get("podman").and_then(|v| v.as_str()),
        ctx.get("podman_path").and_then(|v| v.as_str()),
    ) {
        (Some(version), _) => format!(", podman {version}"),
        (None, Some(_)) => ", podman (version unknown)".to_string(),
        (None, None) => ", podman not found".to_string(),
    };
    if !style.quiet {
        out.push_str(&format!(
            "podrun-doctor {} ({}{}): {}, {}{}\n",
            env!("CARGO_PKG_VERSION"),
            report.mode,
            if report.dry_run { ", dry run" } else { "" },
            who,
            if report.plan.rootless {
                "rootless"
            } else {
                "rootful"
            },
            podman
        ));
    }
    // One line per area, in report order.
    let mut areas: Vec<&str> = Vec::new();
    for row in &report.rows {
        let a = area_of(row.check.id);
        if !areas.contains(&a) {
            areas.push(a);
        }
    }
    // A forecast: nothing was done (check, --dry-run), or bare `fix` left
    // exports the job still has to make.
    let predicted = report.mode == "check"
        || report.dry_run
        || (report.mode == "fix" && !report.env.is_empty());
    for area in &areas {
        let rows: Vec<&Row> = report
            .rows
            .iter()
            .filter(|r| area_of(r.check.id) == *area)
            .collect();
        let worst = rows
            .iter()
            .map(|r| effective(r))
            .max()
            .unwrap_or(Status::Ok);
        let worst_before = rows
            .iter()
            .map(|r| r.check.status)
            .max()
            .unwrap_or(Status::Ok);
        // A forecast shows the state as found; a fixing run the state left.
        let shown = if predicted { worst_before } else { worst };
        if style.quiet && shown < Status::Warn {
            continue;
        }
        let headline = rows
            .iter()
            .filter(|r| r.check.status == worst_before)
            .map(|r| r.check.summary.as_str())
            .next()
            .unwrap_or("");
        let fixed = match (worst < worst_before, predicted) {
            (false, _) => "",
            (true, true) => " (podrun-doctor can fix this)",
            (true, false) => " (fixed)",
        };
        out.push_str(&format!(
            "  {} {:<9} {headline}{fixed}\n",
            mark(style, shown),
            area
        ));
        for row in rows.iter().filter(|r| r.check.status >= Status::Warn) {
            for line in detail_lines(row, predicted) {
                out.push_str(&format!("         {line}\n"));
            }
        }
    }
    if !report.changes.is_empty() {
        out.push_str("  changes made:\n");
        for c in &report.changes {
            out.push_str(&format!("    {} {} ({})\n", c.action, c.path, c.check));
        }
    }
    for p in &report.problems {
        out.push_str(&format!("  {} {p}\n", paint(style, "33", "could not fix:")));
    }
    let v = &report.verdict;
    let verdict = match (v.ready_before, v.ready_after, report.mode) {
        (true, _, _) => paint(style, "1;32", "READY: podman build should work as things are."),
        (false, true, "check") if report.env.is_empty() => paint(
            style,
            "1;33",
            "NOT READY as found, READY after fixes: run `podrun-doctor` (its fixes are files only).",
        ),
        (false, true, "check") => paint(
            style,
            "1;33",
            "NOT READY as found, READY after fixes: run `eval \"$(podrun-doctor env)\"` (or `podrun-doctor exec -- CMD`).",
        ),
        (false, true, "fix") if !report.env.is_empty() => paint(
            style,
            "1;33",
            "NOT READY yet: the fixes include environment variables; use `eval \"$(podrun-doctor env)\"` (or `podrun-doctor exec -- CMD`) instead of `podrun-doctor`.",
        ),
        (false, true, _) => paint(style, "1;32", "READY after the fixes above."),
        (false, false, _) => paint(
            style,
            "1;31",
            &format!("NOT READY: blocked by {}; see the fixes above.", v.blocking.join(", ")),
        ),
    };
    out.push_str(&format!("{verdict}\n"));
    if style.gitlab && !style.quiet {
        // Full evidence, collapsed: present for whoever needs it, out of the way otherwise.
        out.push_str(&format!(
            "\x1b[0Ksection_start:{}:podrun_doctor_details[collapsed=true]\r\x1b[0Kpodrun-doctor: every check\n",
            style.now
        ));
        for row in &report.rows {
            out.push_str(&format!(
                "  {} {}: {} {}\n",
                mark(style, effective(row)),
                row.check.id,
                row.check.summary,
                serde_json::Value::Object(row.check.evidence.clone())
            ));
        }
        out.push_str(&format!(
            "\x1b[0Ksection_end:{}:podrun_doctor_details\r\x1b[0K\n",
            style.now
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide::{Plan, Verdict};
    use crate::model::{By, Check};
    use serde_json::json;

    fn report() -> Report {
        let rows = vec![
            Row {
                check: Check::ok("fuse.device", "/dev/fuse usable"),
                status_after: None,
            },
            Row {
                check: Check::error("home.writable", "HOME / is not writable")
                    .fix(By::Job, "export HOME=/builds/.podrun-1000/home"),
                status_after: Some(Status::Ok),
            },
            Row {
                check: Check::error("userns.clone", "unshare(CLONE_NEWUSER): EPERM")
                    .fix(By::RunnerAdmin, "[runners.kubernetes]\nprivileged = true"),
                status_after: None,
            },
        ];
        let mut context = serde_json::Map::new();
        context.insert("uid".into(), json!(1000));
        context.insert("user".into(), json!("podman"));
        context.insert("podman".into(), json!("5.4.2"));
        Report {
            mode: "check",
            dry_run: false,
            duration_ms: 1.0,
            context,
            rows,
            env: Default::default(),
            changes: vec![],
            problems: vec![],
            plan: Plan::default(),
            verdict: Verdict {
                ready_before: false,
                ready_after: false,
                blocking: vec!["userns.clone".into()],
                unsure: vec![],
            },
        }
    }

    fn style(color: bool, gitlab: bool, quiet: bool) -> Style {
        Style {
            color,
            gitlab,
            quiet,
            now: 1_700_000_000,
        }
    }

    #[test]
    fn a_line_per_area_and_details_only_for_problems() {
        let text = render(&report(), &style(false, false, false));
        assert!(text.starts_with(
            "podrun-doctor 0.1.0 (check): uid 1000 (podman), rootless, podman 5.4.2\n"
        ));
        assert!(
            text.contains("  ok   fuse      /dev/fuse usable\n"),
            "{text}"
        );
        assert!(
            text.contains("  FAIL userns    unshare(CLONE_NEWUSER): EPERM\n"),
            "{text}"
        );
        assert!(text.contains("fix for the runner-admin:\n"));
        assert!(text.contains("    privileged = true\n"));
        assert!(
            !text.contains("fuse.device:"),
            "no details for what is fine"
        );
        assert!(text.contains("NOT READY: blocked by userns.clone"));
        assert!(!text.contains('\x1b'), "no colour unless asked");
    }

    #[test]
    fn a_forecast_shows_the_state_as_found_and_a_fixing_run_the_state_left() {
        let checked = render(&report(), &style(false, false, false));
        assert!(
            checked
                .contains("  FAIL home      HOME / is not writable (podrun-doctor can fix this)\n"),
            "{checked}"
        );
        assert!(checked.contains("  would be ok after the fixes\n"));
        let mut fixed = report();
        fixed.mode = "env";
        let text = render(&fixed, &style(false, false, false));
        assert!(
            text.contains("  ok   home      HOME / is not writable (fixed)\n"),
            "{text}"
        );
        assert!(text.contains("  now ok after the fixes\n"));
    }

    #[test]
    fn bare_fix_with_exports_left_is_not_ready_yet() {
        let mut r = report();
        r.mode = "fix";
        r.verdict.ready_after = true;
        r.env
            .insert("HOME".into(), "/builds/.podrun-1000/home".into());
        let text = render(&r, &style(false, false, false));
        assert!(
            text.contains("NOT READY yet: the fixes include environment variables"),
            "{text}"
        );
        assert!(text.contains("(podrun-doctor can fix this)"), "{text}");
        assert!(!text.contains("(fixed)"), "{text}");
    }

    #[test]
    fn colour_and_gitlab_sections_only_when_asked() {
        let text = render(&report(), &style(true, true, false));
        assert!(text.contains("\x1b[1;31mFAIL\x1b[0m"));
        assert!(text.contains("section_start:1700000000:podrun_doctor_details[collapsed=true]"));
        assert!(text.contains("section_end:1700000000:podrun_doctor_details"));
    }

    #[test]
    fn quiet_prints_only_problems() {
        let text = render(&report(), &style(false, false, true));
        assert!(!text.contains("fuse"));
        assert!(text.contains("userns"));
        assert!(!text.starts_with("podrun-doctor 0.1.0"));
    }
}
