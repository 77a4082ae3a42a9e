//! The job-log checklist, in the manner of `flutter doctor`: one line per
//! area with a mark (✓ ! ✗), a problem's details said once under its area,
//! then who must act on what, each with the snippet to paste. `info` areas
//! fold into one line unless `--verbose`; lines wrap to the terminal width.
//! In GitLab CI the full evidence follows in a collapsed section.

use super::{area_of, Report, Row};
use crate::model::{By, Mode, Status};

#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
    /// Wrap details in GitLab collapsible sections (`GITLAB_CI` set).
    pub gitlab: bool,
    pub quiet: bool,
    /// Show `info` areas one by one instead of folded.
    pub verbose: bool,
    /// Columns to wrap to (100 when not on a terminal).
    pub width: usize,
    /// Seconds since the epoch, for GitLab section markers.
    pub now: u64,
}

/// Columns when the checklist does not go to a terminal (a CI log).
pub const DEFAULT_WIDTH: usize = 100;

fn paint(style: &Style, code: &str, text: &str) -> String {
    if style.color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

fn mark(style: &Style, status: Status) -> String {
    match status {
        Status::Ok => paint(style, "32", "✓"),
        Status::Info => paint(style, "36", "•"),
        Status::Warn => paint(style, "33", "!"),
        Status::Error => paint(style, "1;31", "✗"),
        Status::Skip => paint(style, "2", "-"),
    }
}

/// Greedy word wrap: the first line starts at the caller's column
/// (`first` columns already used), later lines with `indent`. Words
/// longer than the width stay whole (a path or URL must survive a paste).
pub fn wrap(text: &str, width: usize, indent: &str) -> String {
    wrap_from(text, width, indent, 0)
}

fn wrap_from(text: &str, width: usize, indent: &str, first: usize) -> String {
    let mut out = String::new();
    let mut col = first;
    let mut line_start = true;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let len = word.chars().count();
        if !line_start && col + 1 + len > width {
            out.push('\n');
            out.push_str(indent);
            col = indent.chars().count();
            line_start = true;
        }
        if !line_start {
            out.push(' ');
            col += 1;
        }
        out.push_str(word);
        col += len;
        line_start = false;
    }
    out
}

/// `predicted`: the statuses after the fixes are a forecast (`check`,
/// `--dry-run`, bare `fix` with exports left), not something this run did.
/// Returns the mark to show and the text, the found state said once.
fn describe(row: &Row, predicted: bool) -> (Status, String) {
    let found = row.check.status;
    let summary = row.check.summary.clone();
    let Some(after) = row.status_after.filter(|a| *a < found) else {
        return (found, summary);
    };
    let text = match (predicted, after <= Status::Info) {
        (true, true) => format!("{summary} → podrun-doctor can fix this"),
        (true, false) => format!("{summary} → {} after podrun-doctor's fixes", after.as_str()),
        (false, true) => format!("{summary} → fixed"),
        (false, false) => format!("{summary} → {} after the fixes", after.as_str()),
    };
    (if predicted { found } else { after }, text)
}

fn header(report: &Report) -> String {
    let ctx = &report.context;
    let user = ctx
        .get("user")
        .and_then(|v| v.as_str())
        .map(|u| format!(" ({u})"))
        .unwrap_or_default();
    let podman = match (
        ctx.get("podman").and_then(|v| v.as_str()),
        ctx.get("podman_path").and_then(|v| v.as_str()),
    ) {
        (Some(version), _) => format!(", podman {version}"),
        (None, Some(_)) => ", podman (version unknown)".to_string(),
        (None, None) => ", podman not found".to_string(),
    };
    format!(
        "podrun-doctor {} ({}{}): uid {}{user}, {}{podman}",
        env!("CARGO_PKG_VERSION"),
        report.mode.as_str(),
        if report.dry_run { ", dry run" } else { "" },
        ctx.get("uid").and_then(|v| v.as_u64()).unwrap_or(0),
        if report.plan.rootless {
            "rootless"
        } else {
            "rootful"
        },
    )
}

/// Whether the report's after-states are a forecast rather than done.
fn predicted(report: &Report) -> bool {
    report.mode == Mode::Check
        || report.dry_run
        || (report.mode == Mode::Fix && !report.env.is_empty())
}

/// The area names in report order.
fn areas(report: &Report) -> Vec<&str> {
    let mut areas: Vec<&str> = Vec::new();
    for row in &report.rows {
        let a = area_of(row.check.id);
        if !areas.contains(&a) {
            areas.push(a);
        }
    }
    areas
}

/// One line per area (`info` ones folded unless verbose), and under an
/// area each further problem once.
fn checklist(report: &Report, style: &Style) -> String {
    let predicted = predicted(report);
    let mut out = String::new();
    let mut folded: Vec<&str> = Vec::new();
    for area in areas(report) {
        let rows: Vec<&Row> = report
            .rows
            .iter()
            .filter(|r| area_of(r.check.id) == area)
            .collect();
        let described: Vec<(Status, String, Status)> = rows
            .iter()
            .map(|r| {
                let (shown, text) = describe(r, predicted);
                (shown, text, r.check.status)
            })
            .collect();
        // The headline is the row that was worst as found.
        let Some(head) = (0..rows.len()).max_by_key(|i| (described[*i].2, usize::MAX - i)) else {
            continue;
        };
        let shown = described.iter().map(|d| d.0).max().unwrap_or(Status::Ok);
        if style.quiet && shown < Status::Warn && described[head].2 < Status::Warn {
            continue;
        }
        if shown == Status::Info && described[head].2 <= Status::Info && !style.verbose {
            folded.push(area);
            continue;
        }
        let lead = format!("  {} {area:<9} ", mark(style, shown));
        let lead_cols = 4 + 9 + 1 + area.len().saturating_sub(9);
        out.push_str(&lead);
        out.push_str(&wrap_from(
            &described[head].1,
            style.width,
            "              ",
            lead_cols,
        ));
        out.push('\n');
        for (i, (st, text, found)) in described.iter().enumerate() {
            if i == head || (*found < Status::Warn && !style.verbose) {
                continue;
            }
            out.push_str(&format!("              {} ", mark(style, *st)));
            out.push_str(&wrap_from(text, style.width, "                ", 16));
            out.push('\n');
        }
    }
    if !folded.is_empty() && !style.quiet {
        let n = folded.len();
        let line = format!(
            "{n} {} with notes only ({}): --verbose shows {}",
            if n == 1 { "area" } else { "areas" },
            folded.join(", "),
            if n == 1 { "it" } else { "them" }
        );
        out.push_str(&format!("  {} ", mark(style, Status::Info)));
        out.push_str(&wrap_from(&line, style.width, "    ", 4));
        out.push('\n');
    }
    out
}

/// Who acts on a fix, as a heading.
fn who(by: By, applied: bool, has_actions: bool, predicted: bool) -> &'static str {
    match by {
        By::Job if applied => "Fixed by podrun-doctor in this job:",
        By::Job if has_actions && predicted => {
            "podrun-doctor can fix (`eval \"$(podrun-doctor env)\"` or `podrun-doctor exec --` applies these):"
        }
        By::Job if has_actions => "podrun-doctor could not make these fixes:",
        By::Job => "What the job's script can do:",
        By::Image => "For the image (Containerfile):",
        By::RunnerAdmin => "For the runner admin (config.toml, pod spec):",
        By::NodeAdmin => "For the node admin:",
    }
}

/// The fixes for every problem as found, grouped by who acts, each with
/// its paste-ready text.
fn fix_block(report: &Report, style: &Style) -> String {
    let predicted = predicted(report);
    let mut groups: Vec<(&'static str, String)> = Vec::new();
    for row in report
        .rows
        .iter()
        .filter(|r| r.check.status >= Status::Warn)
    {
        let Some(fix) = &row.check.fix else { continue };
        let heading = who(fix.by, fix.applied, !fix.actions.is_empty(), predicted);
        let mut entry = format!("    {}:\n", row.check.id);
        for line in fix.text.lines() {
            let indent = format!("      {}", " ".repeat(line.len() - line.trim_start().len()));
            entry.push_str(&indent);
            entry.push_str(&wrap_from(
                line.trim_start(),
                style.width,
                &indent,
                indent.len(),
            ));
            entry.push('\n');
        }
        match groups.iter_mut().find(|(h, _)| *h == heading) {
            Some((_, text)) => text.push_str(&entry),
            None => groups.push((heading, entry)),
        }
    }
    groups
        .iter()
        .map(|(h, text)| format!("  {}\n{text}", paint(style, "1", h)))
        .collect()
}

fn verdict_line(report: &Report, style: &Style) -> String {
    let v = &report.verdict;
    let blocked = || v.blocking.join(", ");
    if report.only_unsure() {
        let text = format!(
            "UNSURE: {} could not be learnt in time (something did not answer, see above); \
             not counted as a failure (--strict makes it one).",
            v.unsure.join(", ")
        );
        return format!("{}\n", paint(style, "1;33", &wrap(&text, style.width, "")));
    }
    let (code, text) = match (v.ready_before, v.ready_after, report.mode) {
        (true, _, _) => ("1;32", "READY: podman build should work as things are.".to_string()),
        (false, true, Mode::Check) if report.env.is_empty() => (
            "1;33",
            "NOT READY as found, READY after fixes: run `podrun-doctor` (its fixes are files only).".to_string(),
        ),
        (false, true, Mode::Check) => (
            "1;33",
            "NOT READY as found, READY after fixes: run `eval \"$(podrun-doctor env)\"` (or `podrun-doctor exec -- CMD`).".to_string(),
        ),
        (false, true, Mode::Fix) if !report.env.is_empty() => (
            "1;33",
            "NOT READY yet: the fixes include environment variables; use `eval \"$(podrun-doctor env)\"` (or `podrun-doctor exec -- CMD`) instead of `podrun-doctor`.".to_string(),
        ),
        (false, true, _) => ("1;32", "READY after the fixes above.".to_string()),
        (false, false, _) => (
            "1;31",
            format!("NOT READY: blocked by {}; see who must act above.", blocked()),
        ),
    };
    format!("{}\n", paint(style, code, &wrap(&text, style.width, "")))
}

pub fn render(report: &Report, style: &Style) -> String {
    let mut out = String::new();
    if !style.quiet {
        out.push_str(&wrap(&header(report), style.width, "  "));
        out.push('\n');
    }
    out.push_str(&checklist(report, style));
    out.push_str(&fix_block(report, style));
    if !report.changes.is_empty() {
        out.push_str(&format!("  {}\n", paint(style, "1", "Changes made:")));
        for c in &report.changes {
            out.push_str(&format!("    {} {} ({})\n", c.action, c.path, c.check));
        }
    }
    for p in &report.problems {
        let lead = format!("  {} ", paint(style, "33", "could not fix:"));
        out.push_str(&lead);
        out.push_str(&wrap_from(p, style.width, "    ", 17));
        out.push('\n');
    }
    out.push_str(&verdict_line(report, style));
    if style.gitlab && !style.quiet {
        out.push_str(&gitlab_section(report, style));
    }
    out
}

/// Full evidence, collapsed: present for whoever needs it, out of the way
/// otherwise.
fn gitlab_section(report: &Report, style: &Style) -> String {
    let mut out = format!(
        "\x1b[0Ksection_start:{}:podrun_doctor_details[collapsed=true]\r\x1b[0Kpodrun-doctor: every check\n",
        style.now
    );
    for row in &report.rows {
        out.push_str(&format!(
            "  {} {}: {} {}\n",
            mark(style, row.status_after.unwrap_or(row.check.status)),
            row.check.id,
            row.check.summary,
            serde_json::Value::Object(row.check.evidence.clone())
        ));
    }
    out.push_str(&format!(
        "\x1b[0Ksection_end:{}:podrun_doctor_details\r\x1b[0K\n",
        style.now
    ));
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
            mode: Mode::Check,
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
            verbose: false,
            width: DEFAULT_WIDTH,
            now: 1_700_000_000,
        }
    }

    #[test]
    fn a_line_per_area_and_details_only_for_problems() {
        let text = render(&report(), &style(false, false, false));
        assert!(text.starts_with(
            "podrun-doctor 0.1.0 (check): uid 1000 (podman), rootless, podman 5.4.2\n"
        ));
        assert!(text.contains("  ✓ fuse      /dev/fuse usable\n"), "{text}");
        assert!(
            text.contains("  ✗ userns    unshare(CLONE_NEWUSER): EPERM\n"),
            "{text}"
        );
        assert!(
            text.contains("  For the runner admin (config.toml, pod spec):\n    userns.clone:\n"),
            "{text}"
        );
        assert!(text.contains("      privileged = true\n"), "{text}");
        // Each problem is said once: its summary is not repeated as a detail.
        assert_eq!(text.matches("unshare(CLONE_NEWUSER): EPERM").count(), 1);
        assert!(!text.contains("runner-admin"), "{text}");
        assert!(text.contains("NOT READY: blocked by userns.clone"));
        assert!(!text.contains('\x1b'), "no colour unless asked");
    }

    #[test]
    fn a_forecast_shows_the_state_as_found_and_a_fixing_run_the_state_left() {
        let checked = render(&report(), &style(false, false, false));
        assert!(
            checked.contains("  ✗ home      HOME / is not writable → podrun-doctor can fix this\n"),
            "{checked}"
        );
        let mut fixed = report();
        fixed.mode = Mode::Env;
        fixed.rows[1].check.fix.as_mut().unwrap().applied = true;
        let text = render(&fixed, &style(false, false, false));
        assert!(
            text.contains("  ✓ home      HOME / is not writable → fixed\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "  Fixed by podrun-doctor in this job:\n    home.writable:\n      export HOME="
            ),
            "{text}"
        );
    }

    #[test]
    fn info_folds_unless_verbose_and_lines_fit_the_width() {
        let mut r = report();
        r.rows.push(Row {
            check: Check::info("limits.nofile", "nofile 20000:20000"),
            status_after: None,
        });
        r.rows.push(Row {
            check: Check::error("subid.entries", "word ".repeat(60)).fix(
                By::NodeAdmin,
                format!("{}\n  key = \"value\"", "long ".repeat(40)),
            ),
            status_after: None,
        });
        let folded = render(&r, &style(false, false, false));
        assert!(
            folded.contains("  • 1 area with notes only (limits): --verbose shows it\n"),
            "{folded}"
        );
        assert!(!folded.contains("nofile"), "{folded}");
        for line in folded.lines() {
            assert!(line.chars().count() <= DEFAULT_WIDTH, "{line:?}");
        }
        assert!(folded.contains("  For the node admin:\n"), "{folded}");
        assert!(folded.contains("\n        key = \"value\"\n"), "{folded}");
        let verbose = render(
            &r,
            &Style {
                verbose: true,
                width: 60,
                ..style(false, false, false)
            },
        );
        assert!(
            verbose.contains("  • limits    nofile 20000:20000\n"),
            "{verbose}"
        );
        for line in verbose.lines() {
            assert!(line.chars().count() <= 60, "{line:?}");
        }
    }

    #[test]
    fn bare_fix_with_exports_left_is_not_ready_yet() {
        let mut r = report();
        r.mode = Mode::Fix;
        r.verdict.ready_after = true;
        r.env
            .insert("HOME".into(), Some("/builds/.podrun-1000/home".into()));
        let text = render(&r, &style(false, false, false));
        assert!(
            text.contains("NOT READY yet: the fixes include environment variables"),
            "{text}"
        );
        assert!(text.contains("→ podrun-doctor can fix this"), "{text}");
        assert!(!text.contains("→ fixed"), "{text}");
    }

    #[test]
    fn colour_and_gitlab_sections_only_when_asked() {
        let text = render(&report(), &style(true, true, false));
        assert!(text.contains("\x1b[1;31m✗\x1b[0m"));
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

    #[test]
    fn wrapping_keeps_long_words_whole() {
        let long = format!("see {} now", "x".repeat(30));
        assert_eq!(
            wrap(&long, 20, "  "),
            format!("see\n  {}\n  now", "x".repeat(30))
        );
    }
}
